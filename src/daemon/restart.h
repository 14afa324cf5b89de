/* SPDX-License-Identifier: MIT */
#pragma once

/* When a service that ended is started again, and after how long.  Pure functions: the
 * supervisor feeds them what happened and gets decisions back. */

#include <stdbool.h>
#include <stdint.h>

#include "timeutil.h"
#include "unit.h"

/* How a run ended, in systemd's terms (the rows of systemd.service(5)'s Restart= table). */
enum exit_cause {
        EXIT_CAUSE_CLEAN,           /* exit 0, SuccessExitStatus=, or SIGHUP/INT/TERM/PIPE */
        EXIT_CAUSE_UNCLEAN_CODE,    /* any other exit status */
        EXIT_CAUSE_UNCLEAN_SIGNAL,  /* any other signal, core dump or not */
        EXIT_CAUSE_TIMEOUT,         /* a start/stop timeout killed it */
        EXIT_CAUSE_WATCHDOG,        /* the watchdog killed it */
        EXIT_CAUSE_SECCOMP,         /* its seccomp policy killed it (SeccompViolation=) */
};

/* signaled: whether it was killed by `code` as a signal; else `code` is its exit status. */
enum exit_cause exit_cause_classify(const struct unit_config *u, bool signaled, int code);

/* Restart= x cause, then RestartPreventExitStatus= (wins: no restart) and
 * RestartForceExitStatus= (restart whatever Restart= says).  A stop asked for by a user
 * never gets here. */
bool restart_wanted(const struct unit_config *u, enum exit_cause cause, bool signaled, int code);

/* The delay before restart number n (n = 1 for the first restart since the counter was
 * last reset), with systemd 254's RestartSteps=/RestartMaxDelaySec= exponential growth,
 * then RestartJitter=: the delay is drawn uniformly from [d * (1 - jitter), d] using
 * `random01` (a number in [0, 1), so the caller controls randomness). */
usec_t restart_delay(const struct unit_config *u, unsigned n, double random01);

/* StartLimitIntervalSec= / StartLimitBurst=: a ring of the last `burst` start times. */
struct start_limit {
        usec_t *starts; /* CLOCK_MONOTONIC µs, oldest first, at most burst */
        unsigned n;
};

/* Records a start at `now`; returns false (and records nothing) if this start would be
 * the burst+1-th within the interval, i.e. the unit must enter `failed`.  Interval 0 or
 * burst 0 disables the limit. */
bool start_limit_admit(struct start_limit *l, const struct unit_config *u, usec_t now);
void start_limit_reset(struct start_limit *l);
void start_limit_done(struct start_limit *l);

const char *exit_cause_to_string(enum exit_cause c);
