/* SPDX-License-Identifier: MIT */
/* Restart policy: exit classification, the Restart= table, prevent/force, the
 * RestartSteps= backoff, jitter and the start limit.  Configs are built by hand. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "daemon/restart.h"
#include "testlib.h"

#define MS USEC_PER_MSEC
#define SEC USEC_PER_SEC

/* The defaults unit.c documents, written out by hand. */
static struct unit_config config(void) {
        return (struct unit_config){
                .name = (char *)"test",
                .start_limit_interval = 10 * SEC,
                .start_limit_burst = 5,
                .restart = RESTART_NO,
                .restart_sec = 100 * MS,
                .restart_steps = 0,
                .restart_max_delay = USEC_INFINITY,
                .umask = 0022,
                .kill_signal = SIGTERM,
                .timeout_stop = 90 * SEC,
        };
}

static void add_status(struct exit_status_set *s, int status) {
        s->status[status / 64] |= UINT64_C(1) << (status % 64);
}

static void add_signal(struct exit_status_set *s, int sig) {
        s->signal |= UINT64_C(1) << (sig - 1);
}

/* ---- exit_cause_classify ---- */

START_TEST(test_classify_defaults) {
        struct unit_config u = config();

        ck_assert_int_eq(exit_cause_classify(&u, false, 0), EXIT_CAUSE_CLEAN);
        ck_assert_int_eq(exit_cause_classify(&u, false, 1), EXIT_CAUSE_UNCLEAN_CODE);
        ck_assert_int_eq(exit_cause_classify(&u, false, 3), EXIT_CAUSE_UNCLEAN_CODE);
        ck_assert_int_eq(exit_cause_classify(&u, false, 255), EXIT_CAUSE_UNCLEAN_CODE);
        /* The four signals a daemon may leave unhandled. */
        ck_assert_int_eq(exit_cause_classify(&u, true, SIGHUP), EXIT_CAUSE_CLEAN);
        ck_assert_int_eq(exit_cause_classify(&u, true, SIGINT), EXIT_CAUSE_CLEAN);
        ck_assert_int_eq(exit_cause_classify(&u, true, SIGTERM), EXIT_CAUSE_CLEAN);
        ck_assert_int_eq(exit_cause_classify(&u, true, SIGPIPE), EXIT_CAUSE_CLEAN);
        ck_assert_int_eq(exit_cause_classify(&u, true, SIGKILL), EXIT_CAUSE_UNCLEAN_SIGNAL);
        ck_assert_int_eq(exit_cause_classify(&u, true, SIGABRT), EXIT_CAUSE_UNCLEAN_SIGNAL);
        ck_assert_int_eq(exit_cause_classify(&u, true, SIGSEGV), EXIT_CAUSE_UNCLEAN_SIGNAL);
        ck_assert_int_eq(exit_cause_classify(&u, true, SIGUSR1), EXIT_CAUSE_UNCLEAN_SIGNAL);
        /* Exit status 1 and signal 1 (SIGHUP) are different things. */
        ck_assert_int_eq(exit_cause_classify(&u, false, SIGHUP), EXIT_CAUSE_UNCLEAN_CODE);
        ck_assert_int_eq(exit_cause_classify(&u, false, SIGTERM), EXIT_CAUSE_UNCLEAN_CODE);
}
END_TEST

START_TEST(test_classify_success_exit_status) {
        struct unit_config u = config();

        add_status(&u.success_status, 3);
        add_signal(&u.success_status, SIGUSR1);

        ck_assert_int_eq(exit_cause_classify(&u, false, 3), EXIT_CAUSE_CLEAN);
        ck_assert_int_eq(exit_cause_classify(&u, true, SIGUSR1), EXIT_CAUSE_CLEAN);
        ck_assert_int_eq(exit_cause_classify(&u, false, 0), EXIT_CAUSE_CLEAN);
        /* Only those: neighbours stay unclean, and the status set is not the signal set. */
        ck_assert_int_eq(exit_cause_classify(&u, false, 2), EXIT_CAUSE_UNCLEAN_CODE);
        ck_assert_int_eq(exit_cause_classify(&u, false, 4), EXIT_CAUSE_UNCLEAN_CODE);
        ck_assert_int_eq(exit_cause_classify(&u, true, SIGUSR2), EXIT_CAUSE_UNCLEAN_SIGNAL);
        ck_assert_int_eq(exit_cause_classify(&u, true, 3 /* SIGQUIT */),
                         EXIT_CAUSE_UNCLEAN_SIGNAL);
        ck_assert_int_eq(exit_cause_classify(&u, false, SIGUSR1), EXIT_CAUSE_UNCLEAN_CODE);
        /* Defaults still hold. */
        ck_assert_int_eq(exit_cause_classify(&u, true, SIGTERM), EXIT_CAUSE_CLEAN);

        /* A status past 64 lives in another word of the set. */
        add_status(&u.success_status, 200);
        ck_assert_int_eq(exit_cause_classify(&u, false, 200), EXIT_CAUSE_CLEAN);
        ck_assert_int_eq(exit_cause_classify(&u, false, 201), EXIT_CAUSE_UNCLEAN_CODE);
}
END_TEST

/* ---- restart_wanted: the Restart= table ---- */

/* A representative ending for each row, as the supervisor would report it. */
static const struct {
        enum exit_cause cause;
        bool signaled;
        int code;
} rows[] = {
        { EXIT_CAUSE_CLEAN, false, 0 },
        { EXIT_CAUSE_UNCLEAN_CODE, false, 1 },
        { EXIT_CAUSE_UNCLEAN_SIGNAL, true, SIGKILL },
        { EXIT_CAUSE_TIMEOUT, true, SIGTERM },
        { EXIT_CAUSE_WATCHDOG, true, SIGABRT },
};

static const enum restart_mode columns[] = {
        RESTART_NO,          RESTART_ALWAYS,   RESTART_ON_SUCCESS, RESTART_ON_FAILURE,
        RESTART_ON_ABNORMAL, RESTART_ON_ABORT, RESTART_ON_WATCHDOG,
};

/* systemd.service(5), table 2, copied cell by cell: rows as above, columns
 * no always on-success on-failure on-abnormal on-abort on-watchdog. */
static const bool table[5][7] = {
        /* clean          */ { 0, 1, 1, 0, 0, 0, 0 },
        /* unclean code   */ { 0, 1, 0, 1, 0, 0, 0 },
        /* unclean signal */ { 0, 1, 0, 1, 1, 1, 0 },
        /* timeout        */ { 0, 1, 0, 1, 1, 0, 0 },
        /* watchdog       */ { 0, 1, 0, 1, 1, 0, 1 },
};

static const char *const column_names[] = {
        "no", "always", "on-success", "on-failure", "on-abnormal", "on-abort", "on-watchdog",
};

START_TEST(test_restart_table) {
        unsigned checked = 0;

        for (size_t r = 0; r < 5; r++)
                for (size_t c = 0; c < 7; c++) {
                        struct unit_config u = config();
                        bool got;

                        u.restart = columns[c];
                        got = restart_wanted(&u, rows[r].cause, rows[r].signaled, rows[r].code);
                        ck_assert_msg(got == table[r][c], "Restart=%s, cause %s: got %d, want %d",
                                      column_names[c], exit_cause_to_string(rows[r].cause), got,
                                      table[r][c]);
                        checked++;
                }
        ck_assert_uint_eq(checked, 35);
}
END_TEST

/* Each row decided by classify rather than given: the two functions together. */
START_TEST(test_restart_table_classified) {
        struct unit_config u = config();

        for (size_t c = 0; c < 7; c++) {
                u.restart = columns[c];
                for (size_t r = 0; r < 3; r++) {
                        enum exit_cause cause = exit_cause_classify(&u, rows[r].signaled,
                                                                    rows[r].code);

                        ck_assert_int_eq(cause, rows[r].cause);
                        ck_assert(restart_wanted(&u, cause, rows[r].signaled, rows[r].code) ==
                                  table[r][c]);
                }
        }
}
END_TEST

/* ---- RestartPreventExitStatus= / RestartForceExitStatus= ---- */

START_TEST(test_prevent) {
        struct unit_config u = config();

        u.restart = RESTART_ALWAYS;
        add_status(&u.restart_prevent, 7);
        add_signal(&u.restart_prevent, SIGABRT);

        ck_assert(!restart_wanted(&u, EXIT_CAUSE_UNCLEAN_CODE, false, 7));
        ck_assert(!restart_wanted(&u, EXIT_CAUSE_UNCLEAN_SIGNAL, true, SIGABRT));
        /* The watchdog killed it with SIGABRT: still prevented. */
        ck_assert(!restart_wanted(&u, EXIT_CAUSE_WATCHDOG, true, SIGABRT));
        /* Others follow Restart=always. */
        ck_assert(restart_wanted(&u, EXIT_CAUSE_UNCLEAN_CODE, false, 8));
        ck_assert(restart_wanted(&u, EXIT_CAUSE_CLEAN, false, 0));
        ck_assert(restart_wanted(&u, EXIT_CAUSE_UNCLEAN_SIGNAL, true, SIGKILL));
        /* Exit status 6 is not the signal SIGABRT (6), and signal 7 (SIGBUS) is not
         * status 7. */
        ck_assert(restart_wanted(&u, EXIT_CAUSE_UNCLEAN_CODE, false, SIGABRT));
        ck_assert(restart_wanted(&u, EXIT_CAUSE_UNCLEAN_SIGNAL, true, 7));

        /* Status 0 can be listed too. */
        add_status(&u.restart_prevent, 0);
        ck_assert(!restart_wanted(&u, EXIT_CAUSE_CLEAN, false, 0));
}
END_TEST

START_TEST(test_force) {
        struct unit_config u = config();

        add_status(&u.restart_force, 42);
        add_signal(&u.restart_force, SIGUSR2);
        add_status(&u.restart_force, 0);

        for (size_t c = 0; c < 7; c++) {
                u.restart = columns[c];
                ck_assert_msg(restart_wanted(&u, EXIT_CAUSE_UNCLEAN_CODE, false, 42),
                              "Restart=%s", column_names[c]);
                ck_assert_msg(restart_wanted(&u, EXIT_CAUSE_UNCLEAN_SIGNAL, true, SIGUSR2),
                              "Restart=%s", column_names[c]);
                ck_assert_msg(restart_wanted(&u, EXIT_CAUSE_CLEAN, false, 0), "Restart=%s",
                              column_names[c]);
        }

        /* Not listed: Restart= decides. */
        u.restart = RESTART_NO;
        ck_assert(!restart_wanted(&u, EXIT_CAUSE_UNCLEAN_CODE, false, 43));
        ck_assert(!restart_wanted(&u, EXIT_CAUSE_UNCLEAN_SIGNAL, true, SIGUSR1));
        /* Signal 42 is not status 42. */
        ck_assert(!restart_wanted(&u, EXIT_CAUSE_UNCLEAN_SIGNAL, true, 42));
        u.restart = RESTART_ON_SUCCESS;
        ck_assert(!restart_wanted(&u, EXIT_CAUSE_UNCLEAN_CODE, false, 43));
}
END_TEST

START_TEST(test_prevent_beats_force) {
        struct unit_config u = config();

        add_status(&u.restart_prevent, 9);
        add_status(&u.restart_force, 9);
        add_signal(&u.restart_prevent, SIGSEGV);
        add_signal(&u.restart_force, SIGSEGV);
        add_status(&u.restart_force, 10);

        for (size_t c = 0; c < 7; c++) {
                u.restart = columns[c];
                ck_assert_msg(!restart_wanted(&u, EXIT_CAUSE_UNCLEAN_CODE, false, 9),
                              "Restart=%s", column_names[c]);
                ck_assert_msg(!restart_wanted(&u, EXIT_CAUSE_UNCLEAN_SIGNAL, true, SIGSEGV),
                              "Restart=%s", column_names[c]);
                ck_assert_msg(restart_wanted(&u, EXIT_CAUSE_UNCLEAN_CODE, false, 10),
                              "Restart=%s", column_names[c]);
        }
}
END_TEST

/* ---- restart_delay: RestartSteps= / RestartMaxDelaySec= ---- */

/* RestartSec=100ms RestartSteps=5 RestartMaxDelaySec=10s, by hand (docs/restart.md):
 * 100000 * 100^((n-1)/5), truncated to whole µs. */
START_TEST(test_backoff_worked_example) {
        static const usec_t want[] = { 100000,  251188,   630957,  1584893,
                                       3981071, 10000000, 10000000 };
        struct unit_config u = config();

        u.restart_sec = 100 * MS;
        u.restart_steps = 5;
        u.restart_max_delay = 10 * SEC;
        for (unsigned n = 1; n <= 7; n++)
                ck_assert_msg(restart_delay(&u, n, 0.0) == want[n - 1],
                              "n=%u: got %llu, want %llu", n,
                              (unsigned long long)restart_delay(&u, n, 0.0),
                              (unsigned long long)want[n - 1]);
        /* And far beyond the last step. */
        ck_assert_uint_eq(restart_delay(&u, 1000, 0.0), 10 * SEC);
        ck_assert_uint_eq(restart_delay(&u, UINT32_MAX, 0.0), 10 * SEC);
        /* n = 0 (no restart counted yet) is treated as the first. */
        ck_assert_uint_eq(restart_delay(&u, 0, 0.0), 100 * MS);
}
END_TEST

START_TEST(test_backoff_other_steps) {
        struct unit_config u = config();

        /* 1s to 16s in 4 steps: ratio 16, each step doubles exactly. */
        u.restart_sec = 1 * SEC;
        u.restart_steps = 4;
        u.restart_max_delay = 16 * SEC;
        ck_assert_uint_eq(restart_delay(&u, 1, 0), 1 * SEC);
        ck_assert_uint_eq(restart_delay(&u, 2, 0), 2 * SEC);
        ck_assert_uint_eq(restart_delay(&u, 3, 0), 4 * SEC);
        ck_assert_uint_eq(restart_delay(&u, 4, 0), 8 * SEC);
        ck_assert_uint_eq(restart_delay(&u, 5, 0), 16 * SEC);

        /* One step: the first restart gets RestartSec=, every later one the maximum. */
        u.restart_steps = 1;
        ck_assert_uint_eq(restart_delay(&u, 1, 0), 1 * SEC);
        ck_assert_uint_eq(restart_delay(&u, 2, 0), 16 * SEC);
}
END_TEST

START_TEST(test_backoff_disabled) {
        struct unit_config u = config();

        /* RestartSteps=0 (the default). */
        u.restart_sec = 250 * MS;
        u.restart_steps = 0;
        u.restart_max_delay = 10 * SEC;
        for (unsigned n = 1; n <= 10; n++)
                ck_assert_uint_eq(restart_delay(&u, n, 0), 250 * MS);

        /* RestartMaxDelaySec=infinity (the default). */
        u.restart_steps = 5;
        u.restart_max_delay = USEC_INFINITY;
        for (unsigned n = 1; n <= 10; n++)
                ck_assert_uint_eq(restart_delay(&u, n, 0), 250 * MS);

        /* RestartSec= >= RestartMaxDelaySec=. */
        u.restart_max_delay = 250 * MS;
        for (unsigned n = 1; n <= 10; n++)
                ck_assert_uint_eq(restart_delay(&u, n, 0), 250 * MS);
        u.restart_max_delay = 100 * MS;
        for (unsigned n = 1; n <= 10; n++)
                ck_assert_uint_eq(restart_delay(&u, n, 0), 250 * MS);
}
END_TEST

START_TEST(test_backoff_zero) {
        struct unit_config u = config();

        /* RestartSec=0: restart at once, every time; there is nothing to grow from
         * (systemd returns RestartSec= before looking at the steps). */
        u.restart_sec = 0;
        u.restart_steps = 5;
        u.restart_max_delay = 10 * SEC;
        for (unsigned n = 1; n <= 8; n++)
                ck_assert_uint_eq(restart_delay(&u, n, 0), 0);
        u.restart_jitter = 1.0;
        ck_assert_uint_eq(restart_delay(&u, 3, 0.5), 0);
}
END_TEST

/* ---- RestartJitter= ---- */

START_TEST(test_jitter_bounds) {
        struct unit_config u = config();
        usec_t d, got;

        u.restart_sec = 1 * SEC;
        u.restart_jitter = 0.5;
        d = 1 * SEC;

        ck_assert_uint_eq(restart_delay(&u, 1, 0.0), d);
        got = restart_delay(&u, 1, 0.999);
        /* d - d * 0.5 * 0.999 = 500500 µs, give or take the rounding of 0.999. */
        ck_assert_uint_ge(got, 500499);
        ck_assert_uint_le(got, 500501);
        ck_assert_uint_eq(restart_delay(&u, 1, 0.5), 750000);

        /* The whole range stays in [d(1-j), d]. */
        for (int i = 0; i < 1000; i++) {
                got = restart_delay(&u, 1, i / 1000.0);
                ck_assert_uint_le(got, d);
                ck_assert_uint_ge(got, d / 2);
        }

        /* No jitter: exactly d whatever the draw. */
        u.restart_jitter = 0;
        ck_assert_uint_eq(restart_delay(&u, 1, 0.0), d);
        ck_assert_uint_eq(restart_delay(&u, 1, 0.5), d);
        ck_assert_uint_eq(restart_delay(&u, 1, 0.999), d);

        /* Full jitter: [0, d]. */
        u.restart_jitter = 1;
        ck_assert_uint_eq(restart_delay(&u, 1, 0.25), 750000);
        /* d * (1 - 0.999) = 1000 µs; 0.999 is a hair below in binary. */
        got = restart_delay(&u, 1, 0.999);
        ck_assert_uint_ge(got, 1000);
        ck_assert_uint_le(got, 1001);
}
END_TEST

START_TEST(test_jitter_never_above_cap) {
        struct unit_config u = config();

        u.restart_sec = 100 * MS;
        u.restart_steps = 5;
        u.restart_max_delay = 10 * SEC;
        u.restart_jitter = 0.2;

        /* At the cap, the jitter only takes away. */
        ck_assert_uint_eq(restart_delay(&u, 6, 0.0), 10 * SEC);
        ck_assert_uint_eq(restart_delay(&u, 6, 0.5), 9 * SEC);
        /* 10 s - 10 s * 0.2 * 0.999 = 8002000 µs, give or take the rounding of 0.999. */
        ck_assert_uint_ge(restart_delay(&u, 9, 0.999), 8002000 - 1);
        ck_assert_uint_le(restart_delay(&u, 9, 0.999), 8002000 + 1);
        /* On a step: d(1 - 0.2 * 0.5) of 3981071 = 3582963.9, rounded up. */
        ck_assert_uint_eq(restart_delay(&u, 5, 0.5), 3582964);
        for (unsigned n = 1; n <= 8; n++)
                for (int i = 0; i < 100; i++)
                        ck_assert_uint_le(restart_delay(&u, n, i / 100.0), 10 * SEC);
}
END_TEST

/* ---- StartLimitIntervalSec= / StartLimitBurst= ---- */

START_TEST(test_start_limit_burst) {
        struct unit_config u = config(); /* 10 s, 5 */
        struct start_limit l = { 0 };

        for (usec_t t = 1; t <= 5; t++)
                ck_assert_msg(start_limit_admit(&l, &u, t * SEC), "start %llu",
                              (unsigned long long)t);
        ck_assert_uint_eq(l.n, 5);
        /* The 6th within 10 s is refused, and not recorded. */
        ck_assert(!start_limit_admit(&l, &u, 6 * SEC));
        ck_assert_uint_eq(l.n, 5);
        ck_assert(!start_limit_admit(&l, &u, 11 * SEC - 1));
        /* At 11 s the start at 1 s is exactly 10 s old: outside (now - 10 s, now]. */
        ck_assert(start_limit_admit(&l, &u, 11 * SEC));
        ck_assert_uint_eq(l.n, 5);
        /* The window is now 2,3,4,5,11: full again until 2 s ages out at 12 s. */
        ck_assert(!start_limit_admit(&l, &u, 11 * SEC + 500 * MS));
        ck_assert(start_limit_admit(&l, &u, 12 * SEC));
        /* A long quiet spell forgets everything. */
        ck_assert(start_limit_admit(&l, &u, 100 * SEC));
        ck_assert_uint_eq(l.n, 1);
        start_limit_done(&l);
        ck_assert_ptr_null(l.starts);
        ck_assert_uint_eq(l.n, 0);
}
END_TEST

START_TEST(test_start_limit_fast) {
        struct unit_config u = config();
        struct start_limit l = { 0 };

        u.start_limit_interval = 10 * SEC;
        u.start_limit_burst = 3;
        /* All at the same instant. */
        ck_assert(start_limit_admit(&l, &u, 5 * SEC));
        ck_assert(start_limit_admit(&l, &u, 5 * SEC));
        ck_assert(start_limit_admit(&l, &u, 5 * SEC));
        ck_assert(!start_limit_admit(&l, &u, 5 * SEC));
        ck_assert(!start_limit_admit(&l, &u, 15 * SEC - 1));
        ck_assert(start_limit_admit(&l, &u, 15 * SEC));
        start_limit_done(&l);
}
END_TEST

START_TEST(test_start_limit_disabled) {
        struct unit_config u = config();
        struct start_limit l = { 0 };

        u.start_limit_interval = 0;
        for (int i = 0; i < 100; i++)
                ck_assert(start_limit_admit(&l, &u, SEC));
        ck_assert_uint_eq(l.n, 0);
        ck_assert_ptr_null(l.starts); /* nothing allocated while disabled */

        u.start_limit_interval = 10 * SEC;
        u.start_limit_burst = 0;
        for (int i = 0; i < 100; i++)
                ck_assert(start_limit_admit(&l, &u, SEC));
        ck_assert_uint_eq(l.n, 0);
        start_limit_done(&l);
}
END_TEST

START_TEST(test_start_limit_reset) {
        struct unit_config u = config();
        struct start_limit l = { 0 };

        for (int i = 0; i < 5; i++)
                ck_assert(start_limit_admit(&l, &u, SEC));
        ck_assert(!start_limit_admit(&l, &u, SEC));
        start_limit_reset(&l);
        ck_assert_uint_eq(l.n, 0);
        for (int i = 0; i < 5; i++)
                ck_assert(start_limit_admit(&l, &u, SEC));
        ck_assert(!start_limit_admit(&l, &u, SEC));
        start_limit_done(&l);
        /* Done twice, and admitting after done, are fine. */
        start_limit_done(&l);
        ck_assert(start_limit_admit(&l, &u, SEC));
        start_limit_done(&l);
}
END_TEST

START_TEST(test_start_limit_burst_changes) {
        struct unit_config u = config();
        struct start_limit l = { 0 };

        /* A reload raises the burst from 2 to 4: the array must grow (ASan checks). */
        u.start_limit_burst = 2;
        ck_assert(start_limit_admit(&l, &u, 1 * SEC));
        ck_assert(start_limit_admit(&l, &u, 2 * SEC));
        ck_assert(!start_limit_admit(&l, &u, 3 * SEC));
        u.start_limit_burst = 4;
        ck_assert(start_limit_admit(&l, &u, 3 * SEC));
        ck_assert(start_limit_admit(&l, &u, 4 * SEC));
        ck_assert(!start_limit_admit(&l, &u, 5 * SEC));
        ck_assert_uint_eq(l.n, 4);

        /* And lowers it to 2: the newest two (3 s, 4 s) decide. */
        u.start_limit_burst = 2;
        ck_assert(!start_limit_admit(&l, &u, 5 * SEC));
        ck_assert_uint_eq(l.n, 2);
        ck_assert_uint_eq(l.starts[0], 3 * SEC);
        ck_assert_uint_eq(l.starts[1], 4 * SEC);
        ck_assert(start_limit_admit(&l, &u, 13 * SEC));
        start_limit_done(&l);
}
END_TEST

/* ---- names ---- */

START_TEST(test_exit_cause_to_string) {
        ck_assert_str_eq(exit_cause_to_string(EXIT_CAUSE_CLEAN), "clean");
        ck_assert_str_eq(exit_cause_to_string(EXIT_CAUSE_UNCLEAN_CODE), "exit-code");
        ck_assert_str_eq(exit_cause_to_string(EXIT_CAUSE_UNCLEAN_SIGNAL), "signal");
        ck_assert_str_eq(exit_cause_to_string(EXIT_CAUSE_TIMEOUT), "timeout");
        ck_assert_str_eq(exit_cause_to_string(EXIT_CAUSE_WATCHDOG), "watchdog");
        ck_assert_ptr_null(exit_cause_to_string((enum exit_cause)99));
}
END_TEST

int main(void) {
        Suite *s = pv_test_suite("restart");
        TCase *tc = pv_test_case("classify");

        tcase_add_test(tc, test_classify_defaults);
        tcase_add_test(tc, test_classify_success_exit_status);
        tcase_add_test(tc, test_exit_cause_to_string);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("restart-wanted");
        tcase_add_test(tc, test_restart_table);
        tcase_add_test(tc, test_restart_table_classified);
        tcase_add_test(tc, test_prevent);
        tcase_add_test(tc, test_force);
        tcase_add_test(tc, test_prevent_beats_force);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("delay");
        tcase_add_test(tc, test_backoff_worked_example);
        tcase_add_test(tc, test_backoff_other_steps);
        tcase_add_test(tc, test_backoff_disabled);
        tcase_add_test(tc, test_backoff_zero);
        tcase_add_test(tc, test_jitter_bounds);
        tcase_add_test(tc, test_jitter_never_above_cap);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("start-limit");
        tcase_add_test(tc, test_start_limit_burst);
        tcase_add_test(tc, test_start_limit_fast);
        tcase_add_test(tc, test_start_limit_disabled);
        tcase_add_test(tc, test_start_limit_reset);
        tcase_add_test(tc, test_start_limit_burst_changes);
        pv_test_add(s, tc, NULL);

        return pv_test_main(s);
}
