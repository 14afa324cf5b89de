/* SPDX-License-Identifier: MIT */
#pragma once

/* Processes as file descriptors.
 *
 * A `struct pv_process` is a {pid, pidfd} pair.  Every operation goes through the pidfd,
 * so once the process has been reaped and its pid recycled, the handle can never reach
 * the new owner of that pid: signalling answers -ESRCH, waiting answers -ECHILD. */

#include <stdbool.h>
#include <sys/types.h>

#include <pidvisor/error.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

struct pv_process {
        pid_t pid;
        int pidfd; /* -1 once released */
};

#define PV_PROCESS_NULL ((struct pv_process){ .pid = 0, .pidfd = -1 })

/* How a process ended. */
struct pv_exit {
        pid_t pid;
        bool signaled;     /* killed by a signal (then `signal` is set) */
        int status;        /* exit status when !signaled */
        int signal;        /* terminating signal when signaled */
        bool core_dumped;  /* when signaled */
};

/* Opens a handle on a running process with pidfd_open().  A pid that does not exist
 * (including one that has exited and been reaped) answers -ESRCH. */
int pv_process_open(pid_t pid, struct pv_process *ret, struct pv_error *err);

/* pidfd_send_signal().  -ESRCH once the process has exited. */
int pv_process_signal(const struct pv_process *p, int sig, struct pv_error *err);

enum {
        PV_WAIT_NOHANG = 1 << 0, /* answer -EAGAIN instead of blocking while it runs */
};

/* waitid(P_PIDFD, WEXITED) and reaps the child.  Only a child of the caller can be
 * waited for (-ECHILD otherwise, and also for a second wait on the same child).
 * With PV_WAIT_NOHANG, -EAGAIN while the process is still running.  EINTR is retried. */
int pv_process_wait(const struct pv_process *p, int flags, struct pv_exit *ret,
                    struct pv_error *err);

/* Closes the pidfd (does not signal or wait).  Accepts a released or NULL handle. */
void pv_process_release(struct pv_process *p);

/* A process's exit in words: "exited 0", "exited 3", "killed by SIGSEGV (core dumped)".
 * Returns buf. */
char *pv_exit_describe(const struct pv_exit *e, char *buf, size_t size);

/* The shell's convention for an exit: the status, or 128+N when killed by signal N. */
int pv_exit_code(const struct pv_exit *e);

/* "SIGTERM" for 15, "SIGRTMIN+3", or "signal 99" for unknown numbers.  Never NULL. */
const char *pv_signal_name(int sig, char *buf, size_t size);
/* Parses "TERM", "SIGTERM", "15", "SIGRTMIN+2"; returns the number or -EINVAL. */
int pv_signal_from_name(const char *s);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
