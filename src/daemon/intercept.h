/* SPDX-License-Identifier: MIT */
#pragma once

/* Seccomp user notifications of a service's processes: the daemon answers system calls
 * that a service's filter sends to it (SECCOMP_RET_USER_NOTIF).
 *
 *  - transparent hot restart (issue 6): bind() of an address the old instance listens
 *    on gets the old instance's socket installed at the bound descriptor number
 *    (SECCOMP_IOCTL_NOTIF_ADDFD with SECCOMP_ADDFD_FLAG_SETFD) and answers 0; unlink()
 *    of a listening unix socket's path answers 0 without removing it; anything else
 *    continues in the kernel (SECCOMP_USER_NOTIF_FLAG_CONTINUE);
 *  - policy kills (issue 5): a call the policy kills comes here instead, so that the
 *    daemon knows which call it was; the process is killed and the service's exit
 *    reads "killed by seccomp (syscall NAME)".
 *
 * One struct intercept per listener (one per started instance that has a filter with
 * a listener).  It lives as long as some process holds the filter, i.e. until the
 * listener reports POLLHUP, because a filter whose listener is gone makes every call
 * it would notify fail with ENOSYS: a transparent service's later binds would break. */

#include <stdbool.h>
#include <stddef.h>

#include <linux/filter.h>
#include <pidvisor/pidvisor.h>

#include "loop.h"

struct service;

struct intercept {
        struct service *s;
        int fd; /* the listener */
        struct loop_event ev;
        pid_t pid; /* the main process it was made for, for messages */
        bool kills; /* PV_POLICY_NOTIFY_KILLS: every other notification is a policy kill */
        /* transparent: the listeners offered, and where each went */
        struct pv_listener *offer; /* copies (own descriptors); NULL once the upgrade is over */
        size_t n_offer;
        int *installed_at;  /* the successor's fd number per listener, -1: not yet */
        int *wanted_flags;  /* O_NONBLOCK of the successor's own socket, per listener */
        size_t n_installed;
        struct intercept *next;
};

/* A filter for HotRestart=transparent without a policy: bind, unlink and unlinkat of
 * the native ABI go to the listener, everything else is allowed. */
const struct sock_fprog *intercept_transparent_filter(void);

/* Starts answering notifications on listener fd (taken). */
int intercept_add(struct service *s, int fd, pid_t pid, bool kills, struct intercept **ret);
/* Listeners for `ic` to install where its processes bind their addresses; NULL, 0 when
 * the upgrade is over (binds then continue as they are). */
void intercept_offer(struct intercept *ic, const struct pv_listener *l, size_t n);
/* After the old instance is gone: the shared sockets get the O_NONBLOCK flag the
 * successor's own sockets had (the open file description is shared, so the old
 * instance's flag was in force until now). */
void intercept_restore_flags(struct intercept *ic);
void intercept_free_all(struct service *s);
