/* SPDX-License-Identifier: MIT */
#pragma once

/* `pidvisor upgrade NAME`: hot restart (docs/upgrade.md).
 *
 *   1. listeners: the daemon's [Socket] ones (HotRestart=socket), or copies taken out of
 *      the running instance with pidfd_getfd (takeover, transparent);
 *   2. the successor is spawned through the service's normal start path with them at
 *      fd 3.. (LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES), and the old instance's stdout and
 *      stderr pipes, so that both write to the same log;
 *   3. it is ready on READY=1 (Type=notify), a NotificationFD= line, or ReadyCheck=;
 *      within UpgradeTimeoutSec=, else it is killed and the old instance goes on;
 *   4. the old instance gets DrainSignal= and DrainTimeoutSec=, then SIGKILL.
 * The listening sockets are never closed meanwhile: their accept queues survive.
 *
 * While an upgrade runs, s->proc is the successor and up->old the old instance. */

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <pidvisor/pidvisor.h>

#include "loop.h"
#include "timeutil.h"

struct service;
struct conn;

struct upgrade {
        struct service *s;
        struct conn *conn; /* who asked, answered at the end; NULL once gone */
        json_t *id;
        enum { UPGRADE_STARTING, UPGRADE_DRAINING } phase;
        int mode;                     /* enum hot_restart */
        struct pv_process old;        /* the instance being replaced */
        bool old_not_child;
        pid_t old_session;            /* its session, for its stragglers */
        struct loop_event old_ev;
        struct pv_listener *moved;    /* taken listeners (takeover, transparent) */
        size_t n_moved;
        int out_fd[2];                /* the old instance's stdout/stderr write ends */
        struct loop_event timer_ev;   /* UpgradeTimeoutSec=, then DrainTimeoutSec= */
        struct loop_event check_ev;   /* ReadyCheck= */
        int drain_signal;
        usec_t drain_timeout;
        usec_t t_begin, t_spawned, t_ready, t_drain; /* CLOCK_MONOTONIC */
        usec_t manager_usec;          /* time spent in the daemon's own handlers */
        char error[512];              /* why it failed, once it has */
        struct intercept *ic;         /* transparent: the successor's seccomp listener */
};

/* Starts an upgrade; the reply goes to (c, id) when it is over.  On a refusal (not
 * running, one already under way, nothing to move, spawn failed) returns a negative
 * errno with *why, and nothing changed. */
int upgrade_begin(struct service *s, struct conn *c, json_t *id, char *why, size_t why_size);

/* Hooks of the service's state machine (service.c). */
bool upgrade_successor_exited(struct service *s, const char *cause); /* true: handled */
void upgrade_successor_ready(struct service *s);
bool upgrade_awaits_ready(const struct service *s);
void upgrade_abort(struct service *s, const char *why); /* stop: the old instance goes too */
void upgrade_drop_conn(struct service *s, struct conn *c);
void upgrade_free(struct service *s);
json_t *upgrade_json(const struct service *s);

/* KeepListeners=: copies of the running instance's listeners, taken a moment
 * (ReadyCheck= delay, 500 ms by default) after it started. */
void upgrade_keep_listeners_later(struct service *s);
/* HotRestart=takeover: the listeners the next main process gets after the [Socket] ones:
 * those of an upgrade under way, else the kept ones.  NULL and 0 for none. */
const struct pv_listener *upgrade_passed_listeners(const struct service *s, size_t *n);

/* Transparent mode: whether the next spawn needs its binds intercepted (an upgrade's
 * successor, or a crash-restart with KeepListeners=); the intercept of that spawn, to
 * offer the listeners to; and its report that a bind was answered. */
bool upgrade_wants_binds(const struct service *s);
struct intercept;
void upgrade_intercept_started(struct service *s, struct intercept *ic);
void upgrade_bind_answered(struct service *s, struct intercept *ic);
/* After a re-exec (reexec.c): the old instance's watch, the timers (deadlines, 0: not
 * armed), and KeepListeners='s (keep). */
void upgrade_restore_watches(struct service *s, usec_t timer, usec_t check, usec_t keep);

/* Crash recovery (recover.c): an upgrade's old instance that still runs after the daemon
 * that started the upgrade died (old is taken).  UPGRADE_DRAINING: the drain goes on to
 * its deadline (t_drain + drain_timeout).  UPGRADE_STARTING: whether the successor (the
 * adopted main process) got ready is unknown, so it is killed and the old instance is the
 * main process again. */
void upgrade_adopt_old(struct service *s, struct pv_process *old, int phase, usec_t t_drain, usec_t drain_timeout,
                       int drain_signal);

/* The old instance's output pipes for the successor (step 2). */
void upgrade_share_output(struct service *s, struct pv_stdio stdio[3]);
