/* SPDX-License-Identifier: MIT */
/* struct pv_error (pv_error_set, pv_error_setf, pv_error_clear) and parse_long. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <pidvisor/error.h>

#include "lib/util.h"
#include "testlib.h"

/* An error as a caller would find it after an earlier failure: every field dirty. */
static void dirty(struct pv_error *e) {
        memset(e->message, 'X', sizeof(e->message));
        e->code = -EBUSY;
        e->op = "stale";
}

START_TEST(test_set_appends_errno_text) {
        struct pv_error e;

        dirty(&e);
        ck_assert_int_eq(pv_error_set(&e, -ENOENT, "chdir \"%s\"", "/nope"), -ENOENT);
        ck_assert_int_eq(e.code, -ENOENT);
        ck_assert_ptr_null(e.op);
        ck_assert_str_eq(e.message, "chdir \"/nope\": No such file or directory");

        dirty(&e);
        ck_assert_int_eq(pv_error_set(&e, -EACCES, "open %s (%d)", "/x", 3), -EACCES);
        ck_assert_int_eq(e.code, -EACCES);
        ck_assert_ptr_null(e.op);
        ck_assert_str_eq(e.message, "open /x (3): Permission denied");
}
END_TEST

START_TEST(test_setf_has_no_errno_text) {
        struct pv_error e;

        dirty(&e);
        ck_assert_int_eq(pv_error_setf(&e, -EINVAL, "bad value %d for \"%s\"", 7, "k"), -EINVAL);
        ck_assert_int_eq(e.code, -EINVAL);
        ck_assert_ptr_null(e.op);
        ck_assert_str_eq(e.message, "bad value 7 for \"k\"");
}
END_TEST

START_TEST(test_later_set_replaces_earlier) {
        struct pv_error e;

        dirty(&e);
        pv_error_set(&e, -ENOENT, "a rather long first message about %s", "something");
        ck_assert_int_eq(pv_error_setf(&e, -EPERM, "short"), -EPERM);
        ck_assert_int_eq(e.code, -EPERM);
        ck_assert_str_eq(e.message, "short");
}
END_TEST

START_TEST(test_null_err_returns_code) {
        ck_assert_int_eq(pv_error_set(NULL, -ENOENT, "chdir \"%s\"", "/nope"), -ENOENT);
        ck_assert_int_eq(pv_error_setf(NULL, -EINVAL, "bad %d", 1), -EINVAL);
        ck_assert_int_eq(pv_error_set(NULL, -E2BIG, "x"), -E2BIG);
        pv_error_clear(NULL);
}
END_TEST

/* The error with room behind it, to see that nothing is written past the message. */
static struct {
        struct pv_error e;
        char guard[1024];
} g;

static void check_guard(void) {
        for (size_t i = 0; i < sizeof(g.guard); i++)
                ck_assert_msg(g.guard[i] == 'G', "wrote %zu bytes past the end of the message",
                              i + 1);
}

START_TEST(test_truncation_stays_terminated) {
        char long_text[PV_ERROR_MAX + 100];
        char expect[PV_ERROR_MAX];
        struct pv_error *e = &g.e;

        memset(g.guard, 'G', sizeof(g.guard));
        memset(long_text, 'a', sizeof(long_text) - 1);
        long_text[sizeof(long_text) - 1] = 0;

        /* Longer than the buffer: cut at PV_ERROR_MAX - 1, no errno text. */
        dirty(e);
        ck_assert_int_eq(pv_error_set(e, -ENOENT, "%s", long_text), -ENOENT);
        ck_assert_int_eq(e->code, -ENOENT);
        ck_assert_uint_eq(strlen(e->message), PV_ERROR_MAX - 1);
        ck_assert_int_eq(e->message[PV_ERROR_MAX - 1], 0);
        ck_assert_int_eq(strspn(e->message, "a"), PV_ERROR_MAX - 1);

        dirty(e);
        ck_assert_int_eq(pv_error_setf(e, -EINVAL, "%s", long_text), -EINVAL);
        ck_assert_uint_eq(strlen(e->message), PV_ERROR_MAX - 1);
        ck_assert_int_eq(strspn(e->message, "a"), PV_ERROR_MAX - 1);

        /* Exactly filling the buffer: nothing appended. */
        dirty(e);
        long_text[PV_ERROR_MAX - 1] = 0;
        pv_error_set(e, -ENOENT, "%s", long_text);
        ck_assert_uint_eq(strlen(e->message), PV_ERROR_MAX - 1);
        ck_assert_int_eq(strspn(e->message, "a"), PV_ERROR_MAX - 1);

        /* The errno text itself is cut: 505 + ": No s" = 511 characters. */
        dirty(e);
        long_text[505] = 0;
        pv_error_set(e, -ENOENT, "%s", long_text);
        memset(expect, 'a', 505);
        strcpy(expect + 505, ": No s");
        ck_assert_uint_eq(strlen(expect), PV_ERROR_MAX - 1);
        ck_assert_str_eq(e->message, expect);

        /* One short of the limit: only the terminator fits after the text. */
        dirty(e);
        long_text[505] = 'a';
        long_text[PV_ERROR_MAX - 2] = 0;
        pv_error_set(e, -ENOENT, "%s", long_text);
        memset(expect, 'a', PV_ERROR_MAX - 2);
        strcpy(expect + PV_ERROR_MAX - 2, ":");
        ck_assert_str_eq(e->message, expect);
        check_guard();
}
END_TEST

START_TEST(test_clear) {
        struct pv_error e;

        dirty(&e);
        pv_error_set(&e, -ENOENT, "x");
        e.op = "chdir";
        pv_error_clear(&e);
        ck_assert_int_eq(e.code, 0);
        ck_assert_ptr_null(e.op);
        ck_assert_str_eq(e.message, "");
}
END_TEST

START_TEST(test_parse_long_valid) {
        long v;

        v = -1;
        ck_assert_int_eq(parse_long("0", 0, 10, &v), 0);
        ck_assert_int_eq(v, 0);
        ck_assert_int_eq(parse_long("42", 0, 100, &v), 0);
        ck_assert_int_eq(v, 42);
        ck_assert_int_eq(parse_long("-42", -100, 100, &v), 0);
        ck_assert_int_eq(v, -42);
        ck_assert_int_eq(parse_long("10", 0, 10, &v), 0); /* bounds are inclusive */
        ck_assert_int_eq(v, 10);
        ck_assert_int_eq(parse_long("-5", -5, 0, &v), 0);
        ck_assert_int_eq(v, -5);
        ck_assert_int_eq(parse_long("9223372036854775807", LONG_MIN, LONG_MAX, &v), 0);
        ck_assert_int_eq(v, LONG_MAX);
        ck_assert_int_eq(parse_long("-9223372036854775808", LONG_MIN, LONG_MAX, &v), 0);
        ck_assert_int_eq(v, LONG_MIN);
}
END_TEST

START_TEST(test_parse_long_range) {
        long v = 1234;

        ck_assert_int_eq(parse_long("11", 0, 10, &v), -ERANGE);
        ck_assert_int_eq(parse_long("-1", 0, 10, &v), -ERANGE);
        ck_assert_int_eq(parse_long("-6", -5, 0, &v), -ERANGE);
        ck_assert_int_eq(parse_long("9223372036854775808", LONG_MIN, LONG_MAX, &v), -ERANGE);
        ck_assert_int_eq(parse_long("-9223372036854775809", LONG_MIN, LONG_MAX, &v), -ERANGE);
        ck_assert_int_eq(parse_long("99999999999999999999999", 0, LONG_MAX, &v), -ERANGE);
        ck_assert_int_eq(v, 1234); /* untouched on failure */
}
END_TEST

START_TEST(test_parse_long_junk) {
        static const char *const junk[] = {
                "12x", "", " 1", "+1", "-", "x", "1 ", "0x10", "1.0", "--1", "- 1", "1-",
        };
        long v = 1234;

        for (size_t i = 0; i < ELEMENTSOF(junk); i++)
                ck_assert_msg(parse_long(junk[i], LONG_MIN, LONG_MAX, &v) == -EINVAL,
                              "parse_long(\"%s\") did not answer -EINVAL", junk[i]);
        ck_assert_int_eq(parse_long(NULL, LONG_MIN, LONG_MAX, &v), -EINVAL);
        ck_assert_int_eq(v, 1234);
}
END_TEST

/* "A whole decimal number": strtol() skips any isspace() prefix, so every kind of
 * leading white space must be refused, not only ' '. */
START_TEST(test_parse_long_leading_whitespace) {
        static const char *const junk[] = { "\t1", "\n1", "\v1", "\f1", "\r1", " \t1" };
        long v = 1234;

        for (size_t i = 0; i < ELEMENTSOF(junk); i++)
                ck_assert_msg(parse_long(junk[i], LONG_MIN, LONG_MAX, &v) == -EINVAL,
                              "parse_long(\"\\x%02x1\") accepted leading white space (got %ld)",
                              (unsigned char)junk[i][0], v);
}
END_TEST

int main(void) {
        Suite *s = pv_test_suite("error");
        TCase *tc;

        tc = pv_test_case("error");
        tcase_add_test(tc, test_set_appends_errno_text);
        tcase_add_test(tc, test_setf_has_no_errno_text);
        tcase_add_test(tc, test_later_set_replaces_earlier);
        tcase_add_test(tc, test_null_err_returns_code);
        tcase_add_test(tc, test_truncation_stays_terminated);
        tcase_add_test(tc, test_clear);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("parse_long");
        tcase_add_test(tc, test_parse_long_valid);
        tcase_add_test(tc, test_parse_long_range);
        tcase_add_test(tc, test_parse_long_junk);
        tcase_add_test(tc, test_parse_long_leading_whitespace);
        pv_test_add(s, tc, NULL);

        return pv_test_main(s);
}
