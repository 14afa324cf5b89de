/* SPDX-License-Identifier: MIT */
#include <pidvisor/process.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

int pv_process_open(pid_t pid, struct pv_process *ret, struct pv_error *err) {
        int fd;

        if (pid <= 0)
                return pv_error_setf(err, -EINVAL, "pidfd_open: invalid pid %d", (int)pid);
        fd = RET_NERRNO(syscall(SYS_pidfd_open, pid, 0));
        if (fd < 0)
                return pv_error_set(err, fd, "pidfd_open %d", (int)pid);
        /* pidfd_open always sets O_CLOEXEC. */
        *ret = (struct pv_process){ .pid = pid, .pidfd = fd };
        return 0;
}

int pv_process_signal(const struct pv_process *p, int sig, struct pv_error *err) {
        int r;

        if (!p || p->pidfd < 0)
                return pv_error_setf(err, -EBADF, "signal: process handle released");
        r = RET_NERRNO(syscall(SYS_pidfd_send_signal, p->pidfd, sig, NULL, 0));
        if (r < 0) {
                char name[32];
                return pv_error_set(err, r, "pidfd_send_signal %s to %d",
                                    pv_signal_name(sig, name, sizeof(name)), (int)p->pid);
        }
        return 0;
}

int pv_process_wait(const struct pv_process *p, int flags, struct pv_exit *ret,
                    struct pv_error *err) {
        siginfo_t si;
        int r;

        if (!p || p->pidfd < 0)
                return pv_error_setf(err, -EBADF, "wait: process handle released");
        for (;;) {
                memset(&si, 0, sizeof(si));
                r = RET_NERRNO(waitid((idtype_t)P_PIDFD, (id_t)p->pidfd, &si,
                                      WEXITED | ((flags & PV_WAIT_NOHANG) ? WNOHANG : 0)));
                if (r != -EINTR)
                        break;
        }
        if (r < 0)
                return pv_error_set(err, r, "waitid %d", (int)p->pid);
        if (si.si_pid == 0)
                return -EAGAIN; /* WNOHANG and still running: not an error to report */

        if (ret) {
                *ret = (struct pv_exit){ .pid = si.si_pid };
                if (si.si_code == CLD_EXITED)
                        ret->status = si.si_status;
                else {
                        ret->signaled = true;
                        ret->signal = si.si_status;
                        ret->core_dumped = si.si_code == CLD_DUMPED;
                }
        }
        return 0;
}

void pv_process_release(struct pv_process *p) {
        if (!p)
                return;
        p->pidfd = safe_close(p->pidfd);
        p->pidfd = -1;
}

int pv_exit_code(const struct pv_exit *e) {
        return e->signaled ? 128 + e->signal : e->status;
}

char *pv_exit_describe(const struct pv_exit *e, char *buf, size_t size) {
        char name[32];

        if (e->signaled)
                snprintf(buf, size, "killed by %s%s", pv_signal_name(e->signal, name, sizeof(name)),
                         e->core_dumped ? " (core dumped)" : "");
        else
                snprintf(buf, size, "exited %d", e->status);
        return buf;
}
