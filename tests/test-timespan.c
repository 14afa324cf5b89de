/* SPDX-License-Identifier: MIT */
/* parse_timespan / format_timespan: systemd.time(7) spans. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "daemon/timeutil.h"
#include "testlib.h"

#define MSEC USEC_PER_MSEC
#define SEC USEC_PER_SEC
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define WEEK (7 * DAY)
#define MONTH (2629800 * SEC)
#define YEAR (31557600 * SEC)

static const struct {
        const char *in;
        usec_t usec;
} good[] = {
        { "0", 0 },
        { "5", 5 * SEC }, /* no unit: seconds */
        { "5s", 5 * SEC },
        { "250ms", 250 * MSEC },
        { "1min 30s", 90 * SEC },
        { "1min30s", 90 * SEC },
        { "1m30s", 90 * SEC },
        { "1.5s", 1500 * MSEC },
        { "1.5", 1500 * MSEC },
        { ".5s", 500 * MSEC },
        { "0.5ms", 500 },
        { "2h", 2 * HOUR },
        { "3hr", 3 * HOUR },
        { "1 hour", HOUR },
        { "2 hours", 2 * HOUR },
        { "1d", DAY },
        { "2 days", 2 * DAY },
        { "1day", DAY },
        { "1w", WEEK },
        { "2weeks", 2 * WEEK },
        { "1 week", WEEK },
        { "1M", MONTH },
        { "1month", MONTH },
        { "2 months", 2 * MONTH },
        { "1y", YEAR },
        { "1year", YEAR },
        { "2years", 2 * YEAR },
        { "1.5y", YEAR + YEAR / 2 },
        { "100us", 100 },
        { "100usec", 100 },
        { "100\xc2\xb5s", 100 },
        { "100\xce\xbcs", 100 },
        { "10msec", 10 * MSEC },
        { "5sec", 5 * SEC },
        { "1second", SEC },
        { "3 seconds", 3 * SEC },
        { "2min", 2 * MIN },
        { "2 minutes", 2 * MIN },
        { "1minute", MIN },
        { "5 s", 5 * SEC },
        { "  5s  ", 5 * SEC },
        { "\t1min\t30s\n", 90 * SEC },
        { "1h 1min 1s 1ms 1us", HOUR + MIN + SEC + MSEC + 1 },
        { "1 2", 3 * SEC }, /* systemd adds bare terms up */
        { "1.0000001s", SEC }, /* below a microsecond is dropped */
        { "1.25h", HOUR + 15 * MIN },
        { "0.000001s", 1 },
        { "12.34s.56", 12 * SEC + 340 * MSEC + 560 * MSEC },
        { "infinity", USEC_INFINITY },
        { "  infinity ", USEC_INFINITY },
        { "584542y", 584542 * YEAR },
};

static const struct {
        const char *in;
        int error;
} bad[] = {
        { "", -EINVAL },
        { "   ", -EINVAL },
        { "s", -EINVAL },
        { "ms", -EINVAL },
        { "5x", -EINVAL },
        { "5ss", -EINVAL },
        { "5secs", -EINVAL },
        { "-5s", -EINVAL },
        { "+5s", -EINVAL },
        { "1.", -EINVAL },
        { "1.s", -EINVAL },
        { "1.2.3", -EINVAL },
        { "5 s x", -EINVAL },
        { "abc", -EINVAL },
        { "infinityx", -EINVAL },
        { "infinity 5", -EINVAL },
        { "5s infinity", -EINVAL },
        { "inf", -EINVAL },
        { "1S", -EINVAL },
        { "1H", -EINVAL },
        { "0x10", -EINVAL },
        { "1e3", -EINVAL },
        { "18446744073709551615", -ERANGE },
        { "99999999999999999999", -ERANGE },
        { "1000000y", -ERANGE },
        { "584543y", -ERANGE },
        { "584542y 584542y", -ERANGE },
};

START_TEST(test_parse_good) {
        usec_t t = 12345;
        int r = parse_timespan(good[_i].in, &t);

        ck_assert_msg(r == 0, "\"%s\": %d", good[_i].in, r);
        ck_assert_msg(t == good[_i].usec, "\"%s\": %" PRIu64 " != %" PRIu64, good[_i].in, t,
                      good[_i].usec);
}
END_TEST

START_TEST(test_parse_bad) {
        usec_t t = 12345;
        int r = parse_timespan(bad[_i].in, &t);

        ck_assert_msg(r == bad[_i].error, "\"%s\": %d, expected %d", bad[_i].in, r,
                      bad[_i].error);
        ck_assert_msg(t == 12345, "\"%s\": out-param written on failure", bad[_i].in);
}
END_TEST

START_TEST(test_parse_null) {
        usec_t t = 7;

        ck_assert_int_eq(parse_timespan(NULL, &t), -EINVAL);
        ck_assert_uint_eq(t, 7);
}
END_TEST

static const struct {
        usec_t usec;
        const char *out;
} formats[] = {
        { 0, "0" },
        { USEC_INFINITY, "infinity" },
        { 1, "1us" },
        { 999, "999us" },
        { MSEC, "1ms" },
        { 250 * MSEC, "250ms" },
        { SEC, "1s" },
        { 1500 * MSEC, "1s 500ms" },
        { 90 * SEC, "1min 30s" },
        { 100 * MSEC, "100ms" },
        { 90 * MIN, "1h 30min" },
        { HOUR + 1, "1h 1us" },
        { DAY, "1d" },
        { 8 * DAY, "1w 1d" },
        { 30 * DAY, "4w 2d" },
        { MONTH, "1month" },
        { YEAR, "1y" },
        { YEAR + MONTH + WEEK + DAY + HOUR + MIN + SEC + MSEC + 1,
          "1y 1month 1w 1d 1h 1min 1s 1ms 1us" },
};

START_TEST(test_format) {
        char buf[128];

        memset(buf, 'x', sizeof(buf));
        ck_assert_ptr_eq(format_timespan(buf, sizeof(buf), formats[_i].usec), buf);
        ck_assert_str_eq(buf, formats[_i].out);
}
END_TEST

START_TEST(test_format_small_buffer) {
        char buf[6];

        /* "1min 30s" does not fit: whole units only, never half a number. */
        ck_assert_str_eq(format_timespan(buf, sizeof(buf), 90 * SEC), "1min");
        ck_assert_str_eq(format_timespan(buf, 4, USEC_INFINITY), "inf");
        ck_assert_str_eq(format_timespan(buf, 2, 0), "0");
        buf[0] = 'z';
        format_timespan(buf, 0, 90 * SEC); /* touches nothing */
        ck_assert_int_eq(buf[0], 'z');
}
END_TEST

static const usec_t round_trips[] = {
        0,
        1,
        999,
        MSEC,
        1500 * MSEC,
        90 * SEC,
        3661 * SEC + 1,
        7 * DAY + 1,
        YEAR + MONTH + WEEK + DAY + HOUR + MIN + SEC + MSEC + 1,
        123456789012345,
        USEC_INFINITY - 1,
        USEC_INFINITY,
};

START_TEST(test_round_trip) {
        char buf[128];
        usec_t t = 0;

        format_timespan(buf, sizeof(buf), round_trips[_i]);
        ck_assert_msg(parse_timespan(buf, &t) == 0, "\"%s\" does not parse", buf);
        ck_assert_msg(t == round_trips[_i], "\"%s\" -> %" PRIu64 ", expected %" PRIu64, buf, t,
                      round_trips[_i]);
}
END_TEST

/* Text -> µs -> text gives the canonical spelling. */
START_TEST(test_canonical) {
        static const char *const in[][2] = {
                { "90", "1min 30s" },    { "1min30s", "1min 30s" }, { "0.25s", "250ms" },
                { "1.5s", "1s 500ms" },  { "60min", "1h" },         { "infinity", "infinity" },
                { "0ms", "0" },          { "86400s", "1d" },
        };
        char buf[64];

        for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
                usec_t t;

                ck_assert_int_eq(parse_timespan(in[i][0], &t), 0);
                ck_assert_str_eq(format_timespan(buf, sizeof(buf), t), in[i][1]);
        }
}
END_TEST

int main(void) {
        Suite *s = pv_test_suite("timespan");
        TCase *tc = pv_test_case("parse");

        tcase_add_loop_test(tc, test_parse_good, 0, (int)(sizeof(good) / sizeof(good[0])));
        tcase_add_loop_test(tc, test_parse_bad, 0, (int)(sizeof(bad) / sizeof(bad[0])));
        tcase_add_test(tc, test_parse_null);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("format");
        tcase_add_loop_test(tc, test_format, 0, (int)(sizeof(formats) / sizeof(formats[0])));
        tcase_add_test(tc, test_format_small_buffer);
        tcase_add_loop_test(tc, test_round_trip, 0,
                            (int)(sizeof(round_trips) / sizeof(round_trips[0])));
        tcase_add_test(tc, test_canonical);
        pv_test_add(s, tc, NULL);
        return pv_test_main(s);
}
