/* SPDX-License-Identifier: MIT */
#pragma once

/* The event loop: one thread, one io_uring (or, where io_uring is forbidden, epoll).
 *
 * Every source is a `struct loop_event` embedded in its owner.  Arming is one-shot: the
 * handler runs once per arm and the owner re-arms if it wants more.  Three kinds:
 *   - poll:  fd readiness (POLLIN/POLLOUT); the handler gets the revents mask;
 *   - child: a pidfd's exit; the loop reaps the child and the handler finds the
 *            siginfo from loop_child_info() (IORING_OP_WAITID where the kernel has it, else a poll
 *            of the pidfd followed by waitid(P_PIDFD, WNOHANG));
 *   - timer: a CLOCK_MONOTONIC deadline (IORING_OP_TIMEOUT with IORING_TIMEOUT_ABS;
 *            one timerfd on the epoll backend).
 * Disarming is immediate from the owner's point of view: once loop_disarm() returns, the
 * handler will not run for that arm, and the owner may free the event.  A child watch
 * disarmed after the child has already exited may still have reaped it on io_uring
 * (the WAITID and its cancellation race in the kernel), so the supervisor disarms child
 * watches only at teardown, never to hand a live child to someone else.  Whatever the
 * kernel still writes for an in-flight request goes into loop-owned memory (a slot), so
 * an owner never has to wait for a cancellation to complete.
 * No polling interval, no timeout on the wait itself: an idle loop sleeps in the kernel. */

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "timeutil.h"

struct loop;
struct loop_event;

/* res: revents (poll), 0 (child exited and reaped; see loop_child_info()), 0 (timer fired), or a
 * negative errno when the request itself failed. */
typedef void (*loop_handler_t)(struct loop_event *ev, int res);

struct loop_event {
        loop_handler_t handler;
        void *data;     /* the owner */
        /* private */
        uint32_t slot;  /* 0: not armed */
};

enum loop_backend {
        LOOP_IO_URING,
        LOOP_EPOLL,
};

/* force_epoll: skip io_uring (tests, and users who want it).  *why_epoll explains a
 * fallback (static text), or NULL. */
int loop_new(struct loop **ret, bool force_epoll, const char **why_epoll);
void loop_free(struct loop *l);
enum loop_backend loop_backend(const struct loop *l);
bool loop_has_waitid(const struct loop *l); /* IORING_OP_WAITID in use */
const char *loop_backend_name(const struct loop *l);

static inline void loop_event_init(struct loop_event *ev, loop_handler_t h, void *data) {
        *ev = (struct loop_event){ .handler = h, .data = data };
}
static inline bool loop_event_armed(const struct loop_event *ev) {
        return ev->slot != 0;
}

int loop_poll(struct loop *l, struct loop_event *ev, int fd, uint32_t events);
int loop_child(struct loop *l, struct loop_event *ev, int pidfd);
/* In a child event's handler: how the child ended.  Not kept in every event (a service has
 * seven of them and one child watch); valid until the handler returns. */
const siginfo_t *loop_child_info(const struct loop *l);
/* deadline_monotonic must be > 0; a deadline in the past fires on the next turn. */
int loop_timer(struct loop *l, struct loop_event *ev, usec_t deadline_monotonic);
/* Hands an armed watch over to another event (its own handler and data then receive
 * the completion), without cancelling anything: a child already reaped by an in-flight
 * IORING_OP_WAITID keeps its status.  `to` is disarmed first; `from` ends disarmed. */
void loop_event_move(struct loop *l, struct loop_event *from, struct loop_event *to);
/* Closes a descriptor that came from someone untrusted (sd_notify's SCM_RIGHTS) off the
 * loop's thread where io_uring can (its close may block); a plain close on epoll. */
void loop_close_async(struct loop *l, int fd);
/* Cancels an armed event (no-op when it is not armed). */
void loop_disarm(struct loop *l, struct loop_event *ev);

/* The deadline an armed timer event waits for, or 0 when ev is not an armed timer (to
 * save it across a re-exec). */
usec_t loop_timer_deadline(const struct loop *l, const struct loop_event *ev);

/* Before execve: IORING_OP_WAITID reaps the child in the kernel when it completes, so a
 * watch in flight across an exec could take an exit with it.  Cancels every one in
 * flight and waits (at most 1 s) until the kernel has answered each; a watch that had
 * reaped its child meanwhile runs its handler as usual, as does any other completion.
 * Until loop_unpark_children(), new child watches are held back (armed, not submitted),
 * so that every exit stays a zombie for the next program to wait for.  The epoll backend
 * and the poll+waitid watches never reap in the kernel: nothing to do there.  0, or a
 * negative errno (everything unparked again). */
int loop_park_children(struct loop *l);
/* The exec did not happen: the held-back watches are submitted. */
void loop_unpark_children(struct loop *l);

/* Runs until loop_quit(); returns 0 or a fatal negative errno. */
int loop_run(struct loop *l);
void loop_quit(struct loop *l);

/* Counters, for tests and benchmarks. */
struct loop_stats {
        uint64_t wakeups;     /* times the loop returned from the kernel */
        uint64_t dispatched;  /* handlers run */
};
void loop_get_stats(const struct loop *l, struct loop_stats *ret);
