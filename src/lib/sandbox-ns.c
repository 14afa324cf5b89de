/* SPDX-License-Identifier: MIT */
/* Namespaces of a confined child: `lo` in a new network namespace, the maps of a user
 * namespace, and pidvisor's init in a new pid namespace. */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/close_range.h>

#include "util.h"

/* ---- loopback (child) ---- */

int ns_loopback_up(int *step) {
        struct ifreq ifr;
        int fd, e;

        *step = 0;
        fd = (int)syscall(SYS_socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        memset(&ifr, 0, sizeof(ifr));
        memcpy(ifr.ifr_name, "lo", 3);
        *step = 1;
        if (syscall(SYS_ioctl, fd, SIOCGIFFLAGS, &ifr) < 0)
                goto fail;
        ifr.ifr_flags |= IFF_UP;
        *step = 2;
        if (syscall(SYS_ioctl, fd, SIOCSIFFLAGS, &ifr) < 0)
                goto fail;
        close(fd);
        return 0;
fail:
        e = errno;
        close(fd);
        return -e;
}

/* ---- user namespace maps (parent) ---- */

static int write_proc(pid_t pid, const char *file, const char *text, struct pv_error *err) {
        char path[64];
        size_t len = strlen(text);
        ssize_t n;
        int fd;

        snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return pv_error_set(err, negerrno(), "user namespace: open \"%s\"", path);
        n = write(fd, text, len);
        if (n != (ssize_t)len) {
                int r = n < 0 ? negerrno() : -EIO;
                close(fd);
                return pv_error_set(err, r, "user namespace: writing \"%.*s\" to \"%s\"",
                                    (int)strcspn(text, "\n"), text, path);
        }
        close(fd);
        return 0;
}

int ns_write_id_maps(pid_t pid, uid_t uid, gid_t gid, struct pv_error *err) {
        char map[64];
        int r;

        /* systemd's PrivateUsers=yes: root and the service's own ids, to themselves. */
        r = write_proc(pid, "setgroups", "deny\n", err);
        if (r < 0)
                return r;
        if (uid == 0)
                snprintf(map, sizeof(map), "0 0 1\n");
        else
                snprintf(map, sizeof(map), "0 0 1\n%u %u 1\n", (unsigned)uid, (unsigned)uid);
        r = write_proc(pid, "uid_map", map, err);
        if (r < 0)
                return r;
        if (gid == 0)
                snprintf(map, sizeof(map), "0 0 1\n");
        else
                snprintf(map, sizeof(map), "0 0 1\n%u %u 1\n", (unsigned)gid, (unsigned)gid);
        return write_proc(pid, "gid_map", map, err);
}

/* ---- the pid namespace's init (child) ---- */

static const int forwarded[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2 };

void ns_init_sigset(sigset_t *set) {
        sigemptyset(set);
        sigaddset(set, SIGCHLD);
        for (size_t i = 0; i < ELEMENTSOF(forwarded); i++)
                sigaddset(set, forwarded[i]);
}

/* Raw system calls only: this runs in a child of a possibly multi-threaded parent, for
 * as long as the service does.  The signals are blocked (so that, as a pid 1, it does
 * not have them ignored: the kernel drops a signal to a namespace's init that has no
 * handler for it, unless it is blocked) and taken with rt_sigtimedwait. */
_Noreturn void ns_init_run(pid_t service) {
        sigset_t set;

        /* Nothing of the parent's stays open here: no pipe of the service's is held open
         * by its init, no listening socket, no report socket. */
        syscall(SYS_close_range, 0U, ~0U, 0);
        ns_init_sigset(&set);
        for (;;) {
                siginfo_t si;
                long sig = syscall(SYS_rt_sigtimedwait, &set, &si, NULL, (size_t)(_NSIG / 8));

                if (sig < 0)
                        continue; /* EINTR */
                if (sig != SIGCHLD) {
                        syscall(SYS_kill, service, (int)sig);
                        continue;
                }
                for (;;) {
                        int status = 0;
                        long pid = syscall(SYS_wait4, -1, &status, WNOHANG | __WALL, NULL);

                        if (pid <= 0)
                                break;
                        if (pid != service)
                                continue;
                        /* The service is gone: so is the namespace, and every process left
                         * in it is killed by the kernel as this one exits. */
                        syscall(SYS_exit_group,
                                WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
                }
        }
}
