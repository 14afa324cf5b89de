/* SPDX-License-Identifier: MIT */
/* pv_rlimit_from_name, pv_rlimit_to_name, pv_rlimit_parse: systemd's LimitXXX= syntax. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include <pidvisor/spawn.h>

#include "testlib.h"

#define ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
        const char *name;
        int resource;
} table[] = {
        { "CPU", RLIMIT_CPU },
        { "FSIZE", RLIMIT_FSIZE },
        { "DATA", RLIMIT_DATA },
        { "STACK", RLIMIT_STACK },
        { "CORE", RLIMIT_CORE },
        { "RSS", RLIMIT_RSS },
        { "NPROC", RLIMIT_NPROC },
        { "NOFILE", RLIMIT_NOFILE },
        { "MEMLOCK", RLIMIT_MEMLOCK },
        { "AS", RLIMIT_AS },
        { "LOCKS", RLIMIT_LOCKS },
        { "SIGPENDING", RLIMIT_SIGPENDING },
        { "MSGQUEUE", RLIMIT_MSGQUEUE },
        { "NICE", RLIMIT_NICE },
        { "RTPRIO", RLIMIT_RTPRIO },
        { "RTTIME", RLIMIT_RTTIME },
};

static void lower(char *dst, const char *src, size_t size) {
        size_t i;

        for (i = 0; src[i] && i + 1 < size; i++)
                dst[i] = (char)tolower((unsigned char)src[i]);
        dst[i] = 0;
}

static void expect_name(const char *name, int resource) {
        int r = pv_rlimit_from_name(name);

        ck_assert_msg(r == resource, "pv_rlimit_from_name(\"%s\") = %d, want %d", name, r,
                      resource);
}

START_TEST(test_from_name_all) {
        char buf[64], low[32];

        ck_assert_uint_eq(ELEMENTS(table), RLIM_NLIMITS);
        for (size_t i = 0; i < ELEMENTS(table); i++) {
                const char *n = table[i].name;
                int res = table[i].resource;

                lower(low, n, sizeof(low));
                expect_name(n, res);
                expect_name(low, res);
                snprintf(buf, sizeof(buf), "RLIMIT_%s", n);
                expect_name(buf, res);
                snprintf(buf, sizeof(buf), "rlimit_%s", low);
                expect_name(buf, res);
                snprintf(buf, sizeof(buf), "Limit%s", n);
                expect_name(buf, res);
                snprintf(buf, sizeof(buf), "Limit%s", low);
                expect_name(buf, res);
        }
        expect_name("NoFile", RLIMIT_NOFILE);
        expect_name("Rlimit_NoFile", RLIMIT_NOFILE);
}
END_TEST

START_TEST(test_from_name_unknown) {
        static const char *const bad[] = {
                "", "FOO", "RLIMIT_", "Limit", "NOFILEX", "NOFIL", " NOFILE", "NOFILE ",
                "RLIMIT_FOO", "LimitFOO", "RLIMIT_RLIMIT_NOFILE", "LimitLimitNOFILE",
                "RLIMIT_LimitNOFILE", "LimitRLIMIT_NOFILE", "16", "7",
        };

        for (size_t i = 0; i < ELEMENTS(bad); i++)
                expect_name(bad[i], -EINVAL);
        ck_assert_int_eq(pv_rlimit_from_name(NULL), -EINVAL);
}
END_TEST

START_TEST(test_to_name) {
        for (size_t i = 0; i < ELEMENTS(table); i++) {
                const char *n = pv_rlimit_to_name(table[i].resource);

                ck_assert_ptr_nonnull(n);
                ck_assert_str_eq(n, table[i].name);
                ck_assert_int_eq(pv_rlimit_from_name(n), table[i].resource);
        }
        ck_assert_ptr_null(pv_rlimit_to_name(-1));
        ck_assert_ptr_null(pv_rlimit_to_name(RLIM_NLIMITS));
        ck_assert_ptr_null(pv_rlimit_to_name(1000));
        ck_assert_ptr_null(pv_rlimit_to_name(INT_MIN));
        ck_assert_ptr_null(pv_rlimit_to_name(INT_MAX));
}
END_TEST

static void expect_parse(const char *value, rlim_t cur, rlim_t max) {
        struct pv_error e = { 0 };
        struct rlimit rl = { 7, 7 };
        int r = pv_rlimit_parse(value, &rl, &e);

        ck_assert_msg(r == 0, "parse \"%s\" = %d (%s)", value, r, e.message);
        ck_assert_msg(rl.rlim_cur == cur && rl.rlim_max == max,
                      "parse \"%s\" = %llu:%llu, want %llu:%llu", value,
                      (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max,
                      (unsigned long long)cur, (unsigned long long)max);
        ck_assert_int_eq(e.code, 0);
}

enum { SYNTAX, ORDER };

static void expect_parse_error(const char *value, int code, int kind) {
        struct pv_error e = { 0 };
        struct rlimit rl = { 7, 7 };
        char msg[256];
        int r = pv_rlimit_parse(value, &rl, &e);

        ck_assert_msg(r == code, "parse \"%s\" = %d (%llu:%llu), want %d", value, r,
                      (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max, code);
        ck_assert_int_eq(e.code, code);
        if (kind == SYNTAX)
                snprintf(msg, sizeof(msg),
                         "invalid resource limit \"%s\": expected N, SOFT:HARD or infinity", value);
        else
                snprintf(msg, sizeof(msg),
                         "invalid resource limit \"%s\": soft limit above hard limit", value);
        ck_assert_str_eq(e.message, msg);
        ck_assert_msg(rl.rlim_cur == 7 && rl.rlim_max == 7, "parse \"%s\" wrote the result",
                      value);
        ck_assert_int_eq(pv_rlimit_parse(value, &rl, NULL), code);
}

START_TEST(test_parse_valid) {
        expect_parse("100", 100, 100);
        expect_parse("0", 0, 0);
        expect_parse("10:20", 10, 20);
        expect_parse("20:20", 20, 20);
        expect_parse("0:0", 0, 0);
        expect_parse("infinity", RLIM_INFINITY, RLIM_INFINITY);
        expect_parse("unlimited", RLIM_INFINITY, RLIM_INFINITY);
        expect_parse("5:infinity", 5, RLIM_INFINITY);
        expect_parse("5:unlimited", 5, RLIM_INFINITY);
        expect_parse("infinity:infinity", RLIM_INFINITY, RLIM_INFINITY);
        expect_parse("unlimited:infinity", RLIM_INFINITY, RLIM_INFINITY);
        /* The largest finite value, one below RLIM_INFINITY. */
        expect_parse("18446744073709551614", RLIM_INFINITY - 1, RLIM_INFINITY - 1);
        expect_parse("1:18446744073709551614", 1, RLIM_INFINITY - 1);
}
END_TEST

START_TEST(test_parse_soft_above_hard) {
        expect_parse_error("infinity:5", -EINVAL, ORDER);
        expect_parse_error("20:10", -EINVAL, ORDER);
        expect_parse_error("unlimited:0", -EINVAL, ORDER);
}
END_TEST

START_TEST(test_parse_syntax) {
        static const char *const bad[] = {
                "", ":", "abc", "-1", "1:", ":1", "1:2:3", " 1", "1 ", "+1", "0x10", "1.5",
                "Infinity", "INFINITY", "inf", "infinity:", ":infinity", "1k", "5:-1", "1::2",
        };

        for (size_t i = 0; i < ELEMENTS(bad); i++)
                expect_parse_error(bad[i], -EINVAL, SYNTAX);
}
END_TEST

START_TEST(test_parse_range) {
        /* Too large for rlim_t, or RLIM_INFINITY spelled as a number. */
        expect_parse_error("99999999999999999999999", -ERANGE, SYNTAX);
        expect_parse_error("18446744073709551615", -ERANGE, SYNTAX);
        expect_parse_error("18446744073709551616", -ERANGE, SYNTAX);
        expect_parse_error("1:99999999999999999999999", -ERANGE, SYNTAX);
        expect_parse_error("99999999999999999999999:1", -ERANGE, SYNTAX);
}
END_TEST

START_TEST(test_parse_null) {
        struct pv_error e = { 0 };
        struct rlimit rl = { 7, 7 };

        ck_assert_int_eq(pv_rlimit_parse(NULL, &rl, &e), -EINVAL);
        ck_assert_int_eq(e.code, -EINVAL);
        ck_assert_str_eq(e.message, "missing resource limit value");
        ck_assert_int_eq(rl.rlim_cur, 7);
        ck_assert_int_eq(pv_rlimit_parse(NULL, &rl, NULL), -EINVAL);
}
END_TEST

int main(void) {
        Suite *s = pv_test_suite("rlimit");
        TCase *tc;

        tc = pv_test_case("names");
        tcase_add_test(tc, test_from_name_all);
        tcase_add_test(tc, test_from_name_unknown);
        tcase_add_test(tc, test_to_name);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("parse");
        tcase_add_test(tc, test_parse_valid);
        tcase_add_test(tc, test_parse_soft_above_hard);
        tcase_add_test(tc, test_parse_syntax);
        tcase_add_test(tc, test_parse_range);
        tcase_add_test(tc, test_parse_null);
        pv_test_add(s, tc, NULL);

        return pv_test_main(s);
}
