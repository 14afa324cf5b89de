/* SPDX-License-Identifier: MIT */
/* `pidvisor run --policy` and `--syscall-filter`: the policy is compiled with its kills
 * turned into user notifications (PV_POLICY_NOTIFY_KILLS), so that a violation reaches
 * pidvisor run on the listener, which kills the process and says which system call did
 * it.  docs/run.md, "Seccomp". */
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/policy-query.h"
#include "lib/util.h"

/* What the child does between installing the filter and running the program (spawn.h):
 * with a listener it passes it to us (sendmsg) and closes its copy, then execve; on a
 * failure, sendto and exit_group.  A notification for one of these would wait for us
 * while we wait for the execve: where the policy may kill one of them, its kills stay
 * the kernel's own (SIGSYS) instead of notifications. */
static const char *const before_exec[] = { "sendmsg", "close", "execve", "sendto", "exit_group", NULL };

int run_seccomp_prepare(struct run_seccomp *s, const char *policy_arg, struct pv_policy *from_filter,
                        uint64_t caps) {
        struct pv_policy *p = from_filter;
        struct pv_policy_options opts = { .caps = caps };
        struct pv_error err = { 0 };
        const char *flag = policy_arg ? "--policy" : "--syscall-filter";
        struct seccomp_notif_sizes sz;
        int r = 0;

        *s = (struct run_seccomp){ .listener = -EBADF };
        if (!policy_arg && !from_filter)
                return 0;
        if (policy_arg) {
                if (pv_policy_load_opts(policy_arg, &opts, &p, &err) < 0)
                        return run_fail(EXIT_RUN_FAILED, "--policy: %s", err.message);
                for (size_t i = 0; i < pv_policy_n_warnings(p); i++)
                        run_warn("--policy: %s", pv_policy_warning(p, i));
        }
        s->no_notify_because = policy_first_killed_native(p, (const char *const *)before_exec);
        s->notify = !s->no_notify_because;
        if (pv_policy_compile(p, s->notify ? PV_POLICY_NOTIFY_KILLS : 0, &s->prog, &err) < 0) {
                r = run_fail(EXIT_RUN_FAILED, "%s: %s", flag, err.message);
                goto out;
        }
        if (s->notify) {
                if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz) < 0) {
                        r = run_fail(EXIT_RUN_FAILED, "%s: seccomp user notification: %s", flag, strerror(errno));
                        goto out;
                }
                s->notif_size = sz.seccomp_notif > sizeof(struct seccomp_notif) ? sz.seccomp_notif
                                                                               : sizeof(struct seccomp_notif);
                s->resp_size = sz.seccomp_notif_resp > sizeof(struct seccomp_notif_resp)
                                       ? sz.seccomp_notif_resp
                                       : sizeof(struct seccomp_notif_resp);
                s->req = calloc(1, s->notif_size);
                s->resp = calloc(1, s->resp_size);
                if (!s->req || !s->resp) {
                        r = run_fail(EXIT_RUN_FAILED, "out of memory");
                        goto out;
                }
        }
out:
        pv_policy_free(p);
        return r;
}

/* The thread group of a thread (the notification names the thread), and its pid in its
 * own pid namespace (the last NSpid field), from /proc. */
static pid_t tgid_of(pid_t tid, pid_t *ret_nspid) {
        char path[64], line[256];
        pid_t tgid = -1;
        FILE *f;

        *ret_nspid = -1;
        snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
        f = fopen(path, "re");
        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f)) {
                if (strncmp(line, "Tgid:", 5) == 0)
                        tgid = (pid_t)atoi(line + 5);
                else if (strncmp(line, "NSpid:", 6) == 0) {
                        char *last = strrchr(line, '\t');
                        *ret_nspid = (pid_t)atoi(last ? last + 1 : line + 6);
                }
        }
        fclose(f);
        return tgid;
}

static void comm_of(pid_t pid, char *buf, size_t size) {
        char path[64];
        ssize_t n;
        int fd;

        snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        n = fd >= 0 ? read(fd, buf, size - 1) : -1;
        safe_close(fd);
        buf[n > 0 ? n : 0] = 0;
        buf[strcspn(buf, "\n")] = 0;
}

static void handle_one(struct run_seccomp *s, const struct pv_process *child, bool private_pids) {
        struct seccomp_notif *req = s->req;
        struct seccomp_notif_resp *resp = s->resp;
        struct pv_process p = PV_PROCESS_NULL;
        char name[64], comm[32] = "";
        pid_t nspid, tgid = tgid_of((pid_t)req->pid, &nspid);
        bool killed = false;

        pv_seccomp_syscall_name(req->data.arch, req->data.nr, name, sizeof(name));
        /* The pid must still be the caller's: the notification is still pending. */
        if (tgid > 0 && pv_process_open(tgid, &p, NULL) == 0 &&
            ioctl(s->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &req->id) == 0) {
                comm_of(tgid, comm, sizeof(comm));
                killed = pv_process_signal(&p, SIGKILL, NULL) == 0;
        }
        pv_process_release(&p);
        /* Killed, it will not see the answer; if it could not be, it gets EPERM rather than
         * what it asked for. */
        memset(resp, 0, s->resp_size);
        resp->id = req->id;
        resp->error = -EPERM;
        (void)ioctl(s->listener, SECCOMP_IOCTL_NOTIF_SEND, resp);

        if (killed && (private_pids ? nspid == 2 : tgid == child->pid)) {
                s->main_killed = true;
                snprintf(s->main_syscall, sizeof(s->main_syscall), "%s", name);
        } else if (killed)
                run_warn("pid %d (%s) killed by seccomp (syscall %s)", (int)tgid, comm, name);
        else
                run_warn("pid %d made system call %s, which the policy kills, but could not be killed; "
                         "it was answered EPERM", (int)req->pid, name);
}

void run_seccomp_handle(struct run_seccomp *s, const struct pv_process *child, bool private_pids) {
        for (;;) {
                struct pollfd pfd = { .fd = s->listener, .events = POLLIN };

                if (poll(&pfd, 1, 0) <= 0)
                        return;
                if (pfd.revents & (POLLHUP | POLLERR | POLLNVAL) && !(pfd.revents & POLLIN)) {
                        /* Every process under the filter is gone. */
                        s->listener = safe_close(s->listener);
                        return;
                }
                memset(s->req, 0, s->notif_size);
                if (ioctl(s->listener, SECCOMP_IOCTL_NOTIF_RECV, s->req) < 0) {
                        if (errno == EINTR || errno == ENOENT)
                                continue; /* ENOENT: the caller is gone already */
                        run_warn("reading the seccomp listener: %s", strerror(errno));
                        s->listener = safe_close(s->listener);
                        return;
                }
                handle_one(s, child, private_pids);
        }
}

void run_seccomp_done(struct run_seccomp *s) {
        pv_seccomp_program_free(s->prog);
        safe_close(s->listener);
        free(s->req);
        free(s->resp);
        *s = (struct run_seccomp){ .listener = -EBADF };
}
