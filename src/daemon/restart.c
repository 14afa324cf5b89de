/* SPDX-License-Identifier: MIT */
/* Restart policy: Restart=, RestartPreventExitStatus=/RestartForceExitStatus=, the
 * RestartSteps=/RestartMaxDelaySec= backoff with RestartJitter=, and
 * StartLimitIntervalSec=/StartLimitBurst=.  The formulas and the systemd sources they
 * follow are in docs/restart.md. */
#include "restart.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>

enum exit_cause exit_cause_classify(const struct unit_config *u, bool signaled, int code) {
        /* systemd's is_clean_exit(..., EXIT_CLEAN_DAEMON, &success_status). */
        if (!signaled) {
                if (code == 0 || exit_status_set_has_status(&u->success_status, code))
                        return EXIT_CAUSE_CLEAN;
                return EXIT_CAUSE_UNCLEAN_CODE;
        }
        switch (code) {
        case SIGHUP:
        case SIGINT:
        case SIGTERM:
        case SIGPIPE:
                return EXIT_CAUSE_CLEAN;
        default:
                if (exit_status_set_has_signal(&u->success_status, code))
                        return EXIT_CAUSE_CLEAN;
                return EXIT_CAUSE_UNCLEAN_SIGNAL;
        }
}

/* systemd's exit_status_set_test(): a status counts only for a process that exited, a
 * signal only for one that was killed. */
static bool exit_status_set_test(const struct exit_status_set *s, bool signaled, int code) {
        return signaled ? exit_status_set_has_signal(s, code) : exit_status_set_has_status(s, code);
}

/* systemd.service(5)'s Restart= table. */
static bool restart_table(enum restart_mode m, enum exit_cause c) {
        switch (m) {
        case RESTART_NO:
                return false;
        case RESTART_ALWAYS:
                return true;
        case RESTART_ON_SUCCESS:
                return c == EXIT_CAUSE_CLEAN;
        case RESTART_ON_FAILURE:
                return c != EXIT_CAUSE_CLEAN;
        case RESTART_ON_ABNORMAL:
                return c == EXIT_CAUSE_UNCLEAN_SIGNAL || c == EXIT_CAUSE_TIMEOUT ||
                       c == EXIT_CAUSE_WATCHDOG;
        case RESTART_ON_ABORT:
                return c == EXIT_CAUSE_UNCLEAN_SIGNAL;
        case RESTART_ON_WATCHDOG:
                return c == EXIT_CAUSE_WATCHDOG;
        }
        return false;
}

bool restart_wanted(const struct unit_config *u, enum exit_cause cause, bool signaled, int code) {
        /* A policy kill restarts only where the unit says so, then as a crash by signal
         * would (with its backoff). */
        if (cause == EXIT_CAUSE_SECCOMP) {
                if (!u->seccomp_violation_restart)
                        return false;
                cause = EXIT_CAUSE_UNCLEAN_SIGNAL;
        }
        /* Same order as systemd's service_shall_restart(): prevent, then force, then the
         * table. */
        if (exit_status_set_test(&u->restart_prevent, signaled, code))
                return false;
        if (exit_status_set_test(&u->restart_force, signaled, code))
                return true;
        return restart_table(u->restart, cause);
}

/* systemd's service_restart_usec_next() (v254 and later):
 *     r_i = r_0 * (r_n / r_0) ^ ((i - 1) / n)   for 1 < i <= n,  r_n for i > n. */
static usec_t restart_delay_base(const struct unit_config *u, unsigned n) {
        usec_t r0 = u->restart_sec, rmax = u->restart_max_delay;
        long double v;

        if (n <= 1 || u->restart_steps == 0 || r0 == 0 || rmax == USEC_INFINITY || r0 >= rmax)
                return r0;
        if (n > u->restart_steps)
                return rmax;

        v = (long double)r0 * powl((long double)rmax / (long double)r0,
                                   (long double)(n - 1) / (long double)u->restart_steps);
        /* Mathematically below rmax for n <= steps; keep rounding from crossing it. */
        if (!(v < (long double)rmax))
                return rmax;
        if (v < (long double)r0)
                return r0;
        return (usec_t)v;
}

usec_t restart_delay(const struct unit_config *u, unsigned n, double random01) {
        usec_t d = restart_delay_base(u, n);
        long double j = u->restart_jitter, r = random01, cut;

        if (d == 0 || d == USEC_INFINITY)
                return d;
        /* Written so that NaN lands here too. */
        if (!(j > 0) || !(r > 0))
                return d;
        if (j > 1)
                j = 1;
        if (r > 1)
                r = 1;

        cut = (long double)d * j * r;
        if (!(cut < (long double)d))
                return 0;
        return d - (usec_t)cut;
}

bool start_limit_admit(struct start_limit *l, const struct unit_config *u, usec_t now) {
        usec_t interval = u->start_limit_interval;
        unsigned burst = u->start_limit_burst, k = 0;
        usec_t *p;

        if (interval == 0 || burst == 0)
                return true;

        /* Keep only the starts inside (now - interval, now].  A time after `now` (which a
         * monotonic clock never gives) is kept rather than trusted to be old. */
        for (unsigned i = 0; i < l->n; i++)
                if (l->starts[i] > now || now - l->starts[i] < interval)
                        l->starts[k++] = l->starts[i];
        l->n = k;

        if (l->n >= burst) {
                /* A reload may have lowered the burst: keep the newest `burst` only. */
                if (l->n > burst) {
                        for (unsigned i = 0; i < burst; i++)
                                l->starts[i] = l->starts[l->n - burst + i];
                        l->n = burst;
                }
                return false;
        }

        /* The array holds `burst` slots; the burst may have changed since it was made, so
         * size it again (same size: realloc returns at once).  Starts are rare. */
        p = realloc(l->starts, (size_t)burst * sizeof(*p));
        if (!p)
                /* Out of memory: admit without recording.  Refusing would fail a healthy
                 * unit because of the daemon's own trouble. */
                return true;
        l->starts = p;
        l->starts[l->n++] = now;
        return true;
}

void start_limit_reset(struct start_limit *l) {
        l->n = 0;
}

void start_limit_done(struct start_limit *l) {
        free(l->starts);
        l->starts = NULL;
        l->n = 0;
}

const char *exit_cause_to_string(enum exit_cause c) {
        switch (c) {
        case EXIT_CAUSE_CLEAN:
                return "clean";
        case EXIT_CAUSE_UNCLEAN_CODE:
                return "exit-code";
        case EXIT_CAUSE_UNCLEAN_SIGNAL:
                return "signal";
        case EXIT_CAUSE_TIMEOUT:
                return "timeout";
        case EXIT_CAUSE_WATCHDOG:
                return "watchdog";
        case EXIT_CAUSE_SECCOMP:
                return "seccomp";
        }
        return NULL;
}
