/* SPDX-License-Identifier: MIT */
/* Signal names (pv_signal_name, pv_signal_from_name) and exits in words (pv_exit_describe,
 * pv_exit_code). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <pidvisor/process.h>

#include "testlib.h"

#define ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

static void expect_name(int sig, const char *want) {
        char buf[32];
        const char *got;

        memset(buf, 'X', sizeof(buf));
        got = pv_signal_name(sig, buf, sizeof(buf));
        ck_assert_ptr_eq(got, buf);
        ck_assert_msg(strcmp(got, want) == 0, "pv_signal_name(%d) = \"%s\", want \"%s\"", sig,
                      got, want);
}

static void expect_number(const char *name, int want) {
        int got = pv_signal_from_name(name);

        ck_assert_msg(got == want, "pv_signal_from_name(\"%s\") = %d, want %d", name, got, want);
}

START_TEST(test_signal_name_classic) {
        expect_name(SIGTERM, "SIGTERM");
        expect_name(15, "SIGTERM");
        expect_name(SIGHUP, "SIGHUP");
        expect_name(SIGKILL, "SIGKILL");
        expect_name(SIGSEGV, "SIGSEGV");
        expect_name(SIGCHLD, "SIGCHLD");
        expect_name(SIGSTKFLT, "SIGSTKFLT");
        expect_name(SIGSYS, "SIGSYS");
}
END_TEST

START_TEST(test_signal_name_realtime) {
        char want[32];

        expect_name(SIGRTMIN, "SIGRTMIN");
        expect_name(SIGRTMIN + 1, "SIGRTMIN+1");
        expect_name(SIGRTMIN + 3, "SIGRTMIN+3");
        snprintf(want, sizeof(want), "SIGRTMIN+%d", SIGRTMAX - SIGRTMIN);
        expect_name(SIGRTMAX, want);
}
END_TEST

START_TEST(test_signal_name_unknown) {
        char want[32];

        expect_name(0, "signal 0");
        expect_name(200, "signal 200");
        expect_name(-1, "signal -1");
        snprintf(want, sizeof(want), "signal %d", SIGRTMAX + 1);
        expect_name(SIGRTMAX + 1, want);
}
END_TEST

START_TEST(test_signal_name_truncates) {
        char buf[5];

        memset(buf, 'X', sizeof(buf));
        ck_assert_str_eq(pv_signal_name(SIGTERM, buf, sizeof(buf)), "SIGT");
        memset(buf, 'X', sizeof(buf));
        ck_assert_str_eq(pv_signal_name(SIGRTMIN + 3, buf, sizeof(buf)), "SIGR");
}
END_TEST

START_TEST(test_signal_from_name) {
        expect_number("TERM", SIGTERM);
        expect_number("SIGTERM", SIGTERM);
        expect_number("sigterm", SIGTERM);
        expect_number("term", SIGTERM);
        expect_number("SigKill", SIGKILL);
        expect_number("15", 15);
        expect_number("9", 9);
        expect_number("1", 1);
        expect_number("RTMIN", SIGRTMIN);
        expect_number("SIGRTMIN", SIGRTMIN);
        expect_number("RTMIN+2", SIGRTMIN + 2);
        expect_number("SIGRTMIN+2", SIGRTMIN + 2);
        expect_number("sigrtmin+0", SIGRTMIN);
        expect_number("RTMAX", SIGRTMAX);
        expect_number("RTMAX-1", SIGRTMAX - 1);
        expect_number("SIGRTMAX-1", SIGRTMAX - 1);
        /* The whole real-time range, from either end. */
        {
                char buf[32];

                snprintf(buf, sizeof(buf), "RTMIN+%d", SIGRTMAX - SIGRTMIN);
                expect_number(buf, SIGRTMAX);
                snprintf(buf, sizeof(buf), "RTMAX-%d", SIGRTMAX - SIGRTMIN);
                expect_number(buf, SIGRTMIN);
                snprintf(buf, sizeof(buf), "%d", SIGRTMAX);
                expect_number(buf, SIGRTMAX);
        }
}
END_TEST

START_TEST(test_signal_from_name_invalid) {
        static const char *const bad[] = {
                "", "FOO", "0", "65", "RTMIN+99", "RTMAX-99", "SIG", "SIGSIGTERM", "15x", "-15",
                " 15", "+15", "TERM ", " TERM", "RTMIN+", "RTMIN-1", "RTMAX+1", "RTMIN+-1",
                "RTMIN++1", "RTMIN+ 1", "RTMAX-", "SIGRTMIN2", "signal 15", "999999999999999999999",
        };
        char buf[32];

        for (size_t i = 0; i < ELEMENTS(bad); i++)
                expect_number(bad[i], -EINVAL);
        snprintf(buf, sizeof(buf), "RTMIN+%d", SIGRTMAX - SIGRTMIN + 1);
        expect_number(buf, -EINVAL);
        snprintf(buf, sizeof(buf), "RTMAX-%d", SIGRTMAX - SIGRTMIN + 1);
        expect_number(buf, -EINVAL);
        snprintf(buf, sizeof(buf), "%d", SIGRTMAX + 1);
        expect_number(buf, -EINVAL);
        ck_assert_int_eq(pv_signal_from_name(NULL), -EINVAL);
}
END_TEST

/* Every name pv_signal_name gives reads back as the same signal. */
START_TEST(test_signal_round_trip) {
        for (int sig = 1; sig <= SIGRTMAX; sig++) {
                char buf[32];

                pv_signal_name(sig, buf, sizeof(buf));
                if (strncmp(buf, "SIG", 3) != 0)
                        continue; /* glibc's reserved 32 and 33 have no name */
                expect_number(buf, sig);
                expect_number(buf + 3, sig);
        }
}
END_TEST

static void expect_exit(struct pv_exit ex, const char *want, int code) {
        char buf[64];

        memset(buf, 'X', sizeof(buf));
        ck_assert_ptr_eq(pv_exit_describe(&ex, buf, sizeof(buf)), buf);
        ck_assert_str_eq(buf, want);
        ck_assert_int_eq(pv_exit_code(&ex), code);
}

START_TEST(test_exit_describe) {
        expect_exit((struct pv_exit){ .status = 0 }, "exited 0", 0);
        expect_exit((struct pv_exit){ .status = 3 }, "exited 3", 3);
        expect_exit((struct pv_exit){ .status = 255 }, "exited 255", 255);
        expect_exit((struct pv_exit){ .signaled = true, .signal = SIGSEGV, .core_dumped = true },
                    "killed by SIGSEGV (core dumped)", 128 + SIGSEGV);
        expect_exit((struct pv_exit){ .signaled = true, .signal = SIGKILL }, "killed by SIGKILL",
                    137);
        expect_exit((struct pv_exit){ .signaled = true, .signal = SIGTERM }, "killed by SIGTERM",
                    143);
        expect_exit((struct pv_exit){ .signaled = true, .signal = SIGRTMIN + 1 },
                    "killed by SIGRTMIN+1",
                    128 + SIGRTMIN + 1);
        /* status is not looked at for a signal, nor the signal for an exit. */
        expect_exit((struct pv_exit){ .signaled = true, .signal = SIGKILL, .status = 5 },
                    "killed by SIGKILL", 137);
        expect_exit((struct pv_exit){ .status = 4, .signal = SIGKILL, .core_dumped = true },
                    "exited 4", 4);
}
END_TEST

START_TEST(test_exit_describe_truncates) {
        struct pv_exit ex = { .signaled = true, .signal = SIGSEGV, .core_dumped = true };
        char buf[8];

        memset(buf, 'X', sizeof(buf));
        ck_assert_str_eq(pv_exit_describe(&ex, buf, sizeof(buf)), "killed ");
}
END_TEST

int main(void) {
        Suite *s = pv_test_suite("names");
        TCase *tc;

        tc = pv_test_case("signals");
        tcase_add_test(tc, test_signal_name_classic);
        tcase_add_test(tc, test_signal_name_realtime);
        tcase_add_test(tc, test_signal_name_unknown);
        tcase_add_test(tc, test_signal_name_truncates);
        tcase_add_test(tc, test_signal_from_name);
        tcase_add_test(tc, test_signal_from_name_invalid);
        tcase_add_test(tc, test_signal_round_trip);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("exits");
        tcase_add_test(tc, test_exit_describe);
        tcase_add_test(tc, test_exit_describe_truncates);
        pv_test_add(s, tc, NULL);

        return pv_test_main(s);
}
