/* SPDX-License-Identifier: MIT */
#pragma once

/* The service side of systemd's protocols, without libsystemd: readiness and status for
 * a manager that set $NOTIFY_SOCKET (pidvisor, or systemd itself), and the sockets a
 * manager passed with $LISTEN_FDS.  Wire-compatible with sd_notify(3) and
 * sd_listen_fds(3). */

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

#define PV_LISTEN_FDS_START 3

/* Sends `state` ("READY=1", "STATUS=loading\nREADY=1", ...) as one datagram to
 * $NOTIFY_SOCKET (a path, or '@' for an abstract socket).  Returns 1 when sent, 0 when
 * $NOTIFY_SOCKET is not set (not supervised: not an error), or a negative errno.
 * unset_environment removes $NOTIFY_SOCKET afterwards, so that children do not inherit
 * it. */
int pv_notify(bool unset_environment, const char *state);
int pv_notifyf(bool unset_environment, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Same, passing descriptors along (FDSTORE=1). */
int pv_notify_with_fds(bool unset_environment, const char *state, const int *fds, size_t n_fds);

/* The number of descriptors passed from fd 3 on, if $LISTEN_PID names this process; 0
 * otherwise.  Sets close-on-exec on them.  -EINVAL for a malformed $LISTEN_FDS.
 * unset_environment removes LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES and LISTEN_PIDFDID. */
int pv_listen_fds(bool unset_environment);
/* Same, and *names gets one allocated string per fd from $LISTEN_FDNAMES ("unknown" when
 * it is absent), NULL-terminated; free each and the array.  -EINVAL if the count of names
 * does not match. */
int pv_listen_fds_with_names(bool unset_environment, char ***names);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
