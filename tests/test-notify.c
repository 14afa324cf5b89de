/* SPDX-License-Identifier: MIT */
/* notify_parse: one sd_notify datagram into a struct notify_msg (../shared/PROTOCOLS.md).
 * Every known key with its exact value, the defaults of what is absent, the message-level
 * rules (blank lines, trailing newline, one trailing NUL, embedded NUL, empty) and the
 * exact `why` text of each refusal. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/notify.h"
#include "testlib.h"

#define N_ELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Parses len bytes of buf; fails the test unless the result is r.  On success the message
 * is in *m (free with notify_msg_done); `why` is returned. */
static const char *parse_n(const char *buf, size_t len, int r, struct notify_msg *m) {
        const char *why = "untouched";
        struct notify_msg tmp;
        int got;

        memset(&tmp, 0xA5, sizeof(tmp));
        got = notify_parse(buf, len, &tmp, &why);
        ck_assert_msg(got == r, "notify_parse(\"%.*s\") returned %d (%s), expected %d", (int)len, buf, got,
                      got < 0 ? strerror(-got) : "ok", r);
        if (r == 0) {
                ck_assert_msg(why == NULL, "why is \"%s\" on success, expected NULL", why);
                *m = tmp;
        } else
                ck_assert_msg(why != NULL, "no reason given for the refusal of \"%.*s\"", (int)len, buf);
        return why;
}

static void parse_ok(const char *s, struct notify_msg *m) {
        parse_n(s, strlen(s), 0, m);
}

/* Refused with -EINVAL, and exactly this reason. */
static void parse_refused(const char *buf, size_t len, const char *expected_why) {
        struct notify_msg m;
        const char *why = parse_n(buf, len, -EINVAL, &m);

        ck_assert_msg(!strcmp(why, expected_why), "\"%.*s\": why \"%s\", expected \"%s\"", (int)len, buf, why,
                      expected_why);
}

static void refused(const char *s, const char *expected_why) {
        parse_refused(s, strlen(s), expected_why);
}

/* Nothing set but what the test expects: every field at its "absent" value. */
static void assert_defaults_except(const struct notify_msg *m, const char *except) {
#define UNLESS(name) if (!strstr(except, " " name " "))
        UNLESS("ready") ck_assert(!m->ready);
        UNLESS("reloading") ck_assert(!m->reloading);
        UNLESS("stopping") ck_assert(!m->stopping);
        UNLESS("watchdog") ck_assert(!m->watchdog);
        UNLESS("watchdog_trigger") ck_assert(!m->watchdog_trigger);
        UNLESS("fdstore") ck_assert(!m->fdstore);
        UNLESS("fdstore_remove") ck_assert(!m->fdstore_remove);
        UNLESS("barrier") ck_assert(!m->barrier);
        UNLESS("status") ck_assert_ptr_null(m->status);
        UNLESS("errno") ck_assert_int_eq(m->errno_value, -1);
        UNLESS("mainpid") ck_assert_int_eq(m->mainpid, 0);
        UNLESS("extend") ck_assert_uint_eq(m->extend_timeout, USEC_INFINITY);
        UNLESS("watchdog_usec") ck_assert_uint_eq(m->watchdog_usec, USEC_INFINITY);
        UNLESS("fdname") ck_assert_ptr_null(m->fdname);
        UNLESS("unknown") ck_assert_uint_eq(m->n_unknown, 0);
#undef UNLESS
}

/* ---- flags ---- */

START_TEST(test_ready) {
        struct notify_msg m;

        parse_ok("READY=1", &m);
        ck_assert(m.ready);
        assert_defaults_except(&m, " ready ");
        notify_msg_done(&m);
}
END_TEST

START_TEST(test_ready_0_ignored) {
        struct notify_msg m;

        /* There is no READY=0: accepted, and nothing happens. */
        parse_ok("READY=0", &m);
        assert_defaults_except(&m, "");
        notify_msg_done(&m);

        /* Nor does a later READY=0 take back a READY=1, or another value count as 1. */
        parse_ok("READY=1\nREADY=0", &m);
        ck_assert(m.ready);
        notify_msg_done(&m);
        parse_ok("READY=11\nREADY=yes\nREADY=\nREADY= 1", &m);
        ck_assert(!m.ready);
        notify_msg_done(&m);
}
END_TEST

/* Each flag key sets its own field and no other; "=0" and other values set nothing. */
START_TEST(test_flags) {
        static const struct {
                const char *msg, *field;
        } cases[] = {
                { "RELOADING=1", " reloading " },     { "STOPPING=1", " stopping " },
                { "WATCHDOG=1", " watchdog " },       { "WATCHDOG=trigger", " watchdog_trigger " },
                { "FDSTORE=1", " fdstore " },         { "FDSTOREREMOVE=1", " fdstore_remove " },
                { "BARRIER=1", " barrier " },         { "RELOADING=0", "" },
                { "STOPPING=0", "" },                 { "WATCHDOG=0", "" },
                { "WATCHDOG=Trigger", "" },           { "WATCHDOG=triggered", "" },
                { "FDSTORE=0", "" },                  { "FDSTOREREMOVE=0", "" },
                { "BARRIER=0", "" },
        };

        for (size_t i = 0; i < N_ELEM(cases); i++) {
                struct notify_msg m;

                parse_ok(cases[i].msg, &m);
                if (!strcmp(cases[i].field, " reloading "))
                        ck_assert_msg(m.reloading, "%s", cases[i].msg);
                else if (!strcmp(cases[i].field, " stopping "))
                        ck_assert_msg(m.stopping, "%s", cases[i].msg);
                else if (!strcmp(cases[i].field, " watchdog "))
                        ck_assert_msg(m.watchdog, "%s", cases[i].msg);
                else if (!strcmp(cases[i].field, " watchdog_trigger "))
                        ck_assert_msg(m.watchdog_trigger, "%s", cases[i].msg);
                else if (!strcmp(cases[i].field, " fdstore "))
                        ck_assert_msg(m.fdstore, "%s", cases[i].msg);
                else if (!strcmp(cases[i].field, " fdstore_remove "))
                        ck_assert_msg(m.fdstore_remove, "%s", cases[i].msg);
                else if (!strcmp(cases[i].field, " barrier "))
                        ck_assert_msg(m.barrier, "%s", cases[i].msg);
                assert_defaults_except(&m, cases[i].field);
                notify_msg_done(&m);
        }
}
END_TEST

/* Keys that share a prefix are not confused: WATCHDOG vs WATCHDOG_USEC, FDSTORE vs
 * FDSTOREREMOVE, and a key must be followed by '=' exactly. */
START_TEST(test_key_prefixes) {
        struct notify_msg m;

        parse_ok("WATCHDOG_USEC=1", &m);
        ck_assert(!m.watchdog);
        ck_assert_uint_eq(m.watchdog_usec, 1);
        assert_defaults_except(&m, " watchdog_usec ");
        notify_msg_done(&m);

        parse_ok("FDSTOREREMOVE=1", &m);
        ck_assert(!m.fdstore && m.fdstore_remove);
        notify_msg_done(&m);

        parse_ok("READYX=1\nREADY\nready=1\n READY=1\nSTATUSX=foo\nWATCHDOGS=1", &m);
        assert_defaults_except(&m, " unknown ");
        ck_assert_uint_eq(m.n_unknown, 6);
        notify_msg_done(&m);
}
END_TEST

/* ---- STATUS= ---- */

START_TEST(test_status) {
        struct notify_msg m;

        parse_ok("STATUS=Serving 12 clients", &m);
        ck_assert_str_eq(m.status, "Serving 12 clients");
        assert_defaults_except(&m, " status ");
        notify_msg_done(&m);
        ck_assert_ptr_null(m.status); /* notify_msg_done resets what it freed */
        ck_assert_ptr_null(m.fdname);

        /* Empty: a status that clears the old one, not an absent one. */
        parse_ok("STATUS=", &m);
        ck_assert_ptr_nonnull(m.status);
        ck_assert_str_eq(m.status, "");
        notify_msg_done(&m);

        /* Only the first '=' separates the key. */
        parse_ok("STATUS=a=b==c=", &m);
        ck_assert_str_eq(m.status, "a=b==c=");
        notify_msg_done(&m);

        /* UTF-8 and control bytes other than newline are kept as they are. */
        parse_ok("STATUS=d\xc3\xa9j\xc3\xa0 vu\t\x01!", &m);
        ck_assert_str_eq(m.status, "d\xc3\xa9j\xc3\xa0 vu\t\x01!");
        notify_msg_done(&m);
}
END_TEST

START_TEST(test_status_last_wins) {
        struct notify_msg m;

        parse_ok("STATUS=one\nREADY=1\nSTATUS=two\nSTATUS=three", &m);
        ck_assert_str_eq(m.status, "three");
        ck_assert(m.ready);
        notify_msg_done(&m);

        parse_ok("STATUS=one\nSTATUS=", &m);
        ck_assert_str_eq(m.status, "");
        notify_msg_done(&m);
}
END_TEST

/* A full-size datagram (NOTIFY_BUFFER_MAX): the size limit is the socket's business. */
START_TEST(test_status_long) {
        char *buf = malloc(NOTIFY_BUFFER_MAX + 1);
        struct notify_msg m;

        ck_assert_ptr_nonnull(buf);
        memcpy(buf, "STATUS=", 7);
        memset(buf + 7, 'x', NOTIFY_BUFFER_MAX - 7);
        buf[NOTIFY_BUFFER_MAX] = 0;
        parse_n(buf, NOTIFY_BUFFER_MAX, 0, &m);
        ck_assert_uint_eq(strlen(m.status), NOTIFY_BUFFER_MAX - 7);
        ck_assert(m.status[0] == 'x' && m.status[NOTIFY_BUFFER_MAX - 8] == 'x');
        notify_msg_done(&m);
        free(buf);
}
END_TEST

/* ---- numbers ---- */

START_TEST(test_errno) {
        static const struct {
                const char *msg;
                int value;
        } ok[] = { { "ERRNO=0", 0 }, { "ERRNO=2", 2 }, { "ERRNO=110", 110 }, { "ERRNO=4095", 4095 },
                   { "ERRNO=007", 7 } };
        static const char *const bad[] = { "ERRNO=4096", "ERRNO=-1", "ERRNO=", "ERRNO=abc",
                                           "ERRNO=2x", "ERRNO= 2", "ERRNO=+2", "ERRNO=99999999999999999999999",
                                           "ERRNO=18446744073709551617" };

        for (size_t i = 0; i < N_ELEM(ok); i++) {
                struct notify_msg m;

                parse_ok(ok[i].msg, &m);
                ck_assert_msg(m.errno_value == ok[i].value, "%s: errno_value %d", ok[i].msg, m.errno_value);
                assert_defaults_except(&m, " errno ");
                notify_msg_done(&m);
        }
        for (size_t i = 0; i < N_ELEM(bad); i++)
                refused(bad[i], "ERRNO= is not a number from 0 to 4095");
}
END_TEST

START_TEST(test_mainpid) {
        static const char *const bad[] = { "MAINPID=0",          "MAINPID=-1",  "MAINPID=-42",
                                           "MAINPID=2147483648", "MAINPID=",    "MAINPID=12ab",
                                           "MAINPID=abc",        "MAINPID= 12", "MAINPID=4294967338",
                                           "MAINPID=99999999999999999999999" };
        struct notify_msg m;

        parse_ok("MAINPID=4242", &m);
        ck_assert_int_eq(m.mainpid, 4242);
        assert_defaults_except(&m, " mainpid ");
        notify_msg_done(&m);
        parse_ok("MAINPID=1", &m);
        ck_assert_int_eq(m.mainpid, 1);
        notify_msg_done(&m);
        parse_ok("MAINPID=2147483647", &m);
        ck_assert_int_eq(m.mainpid, INT32_MAX);
        notify_msg_done(&m);

        for (size_t i = 0; i < N_ELEM(bad); i++)
                refused(bad[i], "MAINPID= is not a valid pid");
}
END_TEST

START_TEST(test_extend_timeout) {
        struct notify_msg m;

        parse_ok("EXTEND_TIMEOUT_USEC=5000000", &m);
        ck_assert_uint_eq(m.extend_timeout, 5000000);
        assert_defaults_except(&m, " extend ");
        notify_msg_done(&m);
        parse_ok("EXTEND_TIMEOUT_USEC=0", &m);
        ck_assert_uint_eq(m.extend_timeout, 0);
        notify_msg_done(&m);
        parse_ok("EXTEND_TIMEOUT_USEC=18446744073709551614", &m);
        ck_assert_uint_eq(m.extend_timeout, UINT64_MAX - 1);
        notify_msg_done(&m);

        refused("EXTEND_TIMEOUT_USEC=", "EXTEND_TIMEOUT_USEC= is not a number");
        refused("EXTEND_TIMEOUT_USEC=5s", "EXTEND_TIMEOUT_USEC= is not a number");
        refused("EXTEND_TIMEOUT_USEC=-1", "EXTEND_TIMEOUT_USEC= is not a number");
        refused("EXTEND_TIMEOUT_USEC=18446744073709551616", "EXTEND_TIMEOUT_USEC= is not a number");
}
END_TEST

START_TEST(test_watchdog_usec) {
        struct notify_msg m;

        parse_ok("WATCHDOG_USEC=2000000", &m);
        ck_assert_uint_eq(m.watchdog_usec, 2000000);
        assert_defaults_except(&m, " watchdog_usec ");
        notify_msg_done(&m);
        parse_ok("WATCHDOG_USEC=0", &m);
        ck_assert_uint_eq(m.watchdog_usec, 0);
        notify_msg_done(&m);

        refused("WATCHDOG_USEC=", "WATCHDOG_USEC= is not a number");
        refused("WATCHDOG_USEC=1.5", "WATCHDOG_USEC= is not a number");
        refused("WATCHDOG_USEC=infinity", "WATCHDOG_USEC= is not a number");
}
END_TEST

/* ---- FDNAME= ---- */

START_TEST(test_fdname) {
        char name[300], msg[400];
        struct notify_msg m;

        parse_ok("FDNAME=web-80_tls.sock", &m);
        ck_assert_str_eq(m.fdname, "web-80_tls.sock");
        assert_defaults_except(&m, " fdname ");
        notify_msg_done(&m);

        /* Printable ASCII including '=', space and '~'; the last one given wins. */
        parse_ok("FDNAME=first\nFDNAME=a=b c~", &m);
        ck_assert_str_eq(m.fdname, "a=b c~");
        notify_msg_done(&m);

        /* 255 characters are fine, 256 are not. */
        memset(name, 'n', 255);
        name[255] = 0;
        snprintf(msg, sizeof(msg), "FDNAME=%s", name);
        parse_ok(msg, &m);
        ck_assert_uint_eq(strlen(m.fdname), 255);
        ck_assert_str_eq(m.fdname, name);
        notify_msg_done(&m);
        snprintf(msg, sizeof(msg), "FDNAME=%sn", name);
        refused(msg, "FDNAME= empty or longer than 255");

        refused("FDNAME=", "FDNAME= empty or longer than 255");
        refused("FDNAME=a:b", "FDNAME= with a control character or ':'");
        refused("FDNAME=:", "FDNAME= with a control character or ':'");
        refused("FDNAME=a\tb", "FDNAME= with a control character or ':'");
        refused("FDNAME=a\x1b[0m", "FDNAME= with a control character or ':'");
        refused("FDNAME=del\x7f", "FDNAME= with a control character or ':'");
        refused("FDNAME=caf\xc3\xa9", "FDNAME= with a control character or ':'");
}
END_TEST

/* ---- whole messages ---- */

START_TEST(test_many_assignments) {
        struct notify_msg m;

        parse_ok("READY=1\nSTATUS=Serving 10 clients\nMAINPID=42\nERRNO=2\nWATCHDOG=1\n"
                 "EXTEND_TIMEOUT_USEC=3000000\nWATCHDOG_USEC=750000\nRELOADING=1\nSTOPPING=1\n"
                 "FDSTORE=1\nFDNAME=db\nBARRIER=1\nX_PIDVISOR_HELLO=1\nMONOTONIC_USEC=123",
                 &m);
        ck_assert(m.ready && m.watchdog && m.reloading && m.stopping && m.fdstore && m.barrier);
        ck_assert(!m.watchdog_trigger && !m.fdstore_remove);
        ck_assert_str_eq(m.status, "Serving 10 clients");
        ck_assert_int_eq(m.mainpid, 42);
        ck_assert_int_eq(m.errno_value, 2);
        ck_assert_uint_eq(m.extend_timeout, 3000000);
        ck_assert_uint_eq(m.watchdog_usec, 750000);
        ck_assert_str_eq(m.fdname, "db");
        ck_assert_uint_eq(m.n_unknown, 2);
        notify_msg_done(&m);
}
END_TEST

START_TEST(test_blank_lines_and_trailing_newline) {
        struct notify_msg m;

        parse_ok("\n\nREADY=1\n\n\nSTATUS=up\n", &m);
        ck_assert(m.ready);
        ck_assert_str_eq(m.status, "up");
        assert_defaults_except(&m, " ready status ");
        notify_msg_done(&m);

        /* The newline ends the value: it is not part of it. */
        parse_ok("STATUS=up\n", &m);
        ck_assert_str_eq(m.status, "up");
        notify_msg_done(&m);
        parse_ok("READY=1\n", &m);
        ck_assert(m.ready);
        notify_msg_done(&m);
}
END_TEST

START_TEST(test_trailing_nul) {
        static const char one[] = "READY=1\nSTATUS=ok";       /* sizeof counts the NUL */
        static const char with_nl[] = "READY=1\nSTATUS=ok\n";
        static const char two[] = "READY=1\0";                /* two trailing NULs */
        struct notify_msg m;

        parse_n(one, sizeof(one), 0, &m);
        ck_assert(m.ready);
        ck_assert_str_eq(m.status, "ok");
        ck_assert_uint_eq(m.n_unknown, 0);
        notify_msg_done(&m);
        parse_n(with_nl, sizeof(with_nl), 0, &m);
        ck_assert_str_eq(m.status, "ok");
        notify_msg_done(&m);

        parse_refused(two, sizeof(two), "embedded NUL");
}
END_TEST

START_TEST(test_embedded_nul) {
        static const char a[] = "READY=1\0STATUS=x";
        static const char b[] = "\0READY=1";
        static const char c[] = "STATUS=a\0b\n";

        /* sizeof - 1: without the terminating NUL of the literal. */
        parse_refused(a, sizeof(a) - 1, "embedded NUL");
        parse_refused(b, sizeof(b) - 1, "embedded NUL");
        parse_refused(c, sizeof(c) - 1, "embedded NUL");
        /* With it too: one trailing NUL does not excuse an inner one. */
        parse_refused(a, sizeof(a), "embedded NUL");
}
END_TEST

START_TEST(test_empty) {
        parse_refused("", 0, "empty message");
        parse_refused("\0", 1, "empty message"); /* a lone trailing NUL leaves nothing */
}
END_TEST

START_TEST(test_unknown_keys_counted) {
        struct notify_msg m;

        parse_ok("X_MYAPP_PHASE=2\nBUSERROR=org.freedesktop.DBus.Error.Failed\nREADY=1\nnoequals\n=value\n"
                 "MAINPIDFDID=77\nEXIT_STATUS=3",
                 &m);
        ck_assert(m.ready);
        ck_assert_uint_eq(m.n_unknown, 6);
        assert_defaults_except(&m, " ready unknown ");
        notify_msg_done(&m);

        parse_ok("FOO=bar", &m);
        ck_assert_uint_eq(m.n_unknown, 1);
        assert_defaults_except(&m, " unknown ");
        notify_msg_done(&m);
}
END_TEST

/* A malformed known key refuses the whole message, wherever it is, and what was parsed
 * before it is freed (the sanitizer's leak check covers this). */
START_TEST(test_bad_value_refuses_whole_message) {
        refused("STATUS=kept?\nFDNAME=ok\nERRNO=nope\nREADY=1", "ERRNO= is not a number from 0 to 4095");
        refused("READY=1\nSTATUS=x\nMAINPID=0", "MAINPID= is not a valid pid");
        refused("FDNAME=a\nSTATUS=s\nFDNAME=b:c", "FDNAME= with a control character or ':'");
        /* The first bad assignment names the reason. */
        refused("WATCHDOG_USEC=x\nERRNO=x", "WATCHDOG_USEC= is not a number");
}
END_TEST

int main(void) {
        Suite *s = pv_test_suite("notify");
        TCase *tc = pv_test_case("keys");

        tcase_add_test(tc, test_ready);
        tcase_add_test(tc, test_ready_0_ignored);
        tcase_add_test(tc, test_flags);
        tcase_add_test(tc, test_key_prefixes);
        tcase_add_test(tc, test_status);
        tcase_add_test(tc, test_status_last_wins);
        tcase_add_test(tc, test_status_long);
        tcase_add_test(tc, test_errno);
        tcase_add_test(tc, test_mainpid);
        tcase_add_test(tc, test_extend_timeout);
        tcase_add_test(tc, test_watchdog_usec);
        tcase_add_test(tc, test_fdname);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("message");
        tcase_add_test(tc, test_many_assignments);
        tcase_add_test(tc, test_blank_lines_and_trailing_newline);
        tcase_add_test(tc, test_trailing_nul);
        tcase_add_test(tc, test_embedded_nul);
        tcase_add_test(tc, test_empty);
        tcase_add_test(tc, test_unknown_keys_counted);
        tcase_add_test(tc, test_bad_value_refuses_whole_message);
        pv_test_add(s, tc, NULL);

        return pv_test_main(s);
}
