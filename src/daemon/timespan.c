/* SPDX-License-Identifier: MIT */
/* Time spans as systemd.time(7) writes them: "5s", "1min 30s", "1.5h", "infinity". */
#include "timeutil.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "conf-parse.h"
#include "lib/util.h"

#define USEC_PER_MINUTE (60 * USEC_PER_SEC)
#define USEC_PER_HOUR (60 * USEC_PER_MINUTE)
#define USEC_PER_DAY (24 * USEC_PER_HOUR)
#define USEC_PER_WEEK (7 * USEC_PER_DAY)
#define USEC_PER_MONTH (2629800 * USEC_PER_SEC) /* 30.44 days */
#define USEC_PER_YEAR (31557600 * USEC_PER_SEC) /* 365.25 days */

/* Every spelling parse_timespan() takes; the longest one that matches wins, so "ms" is
 * never read as "m" followed by junk. */
static const struct {
        const char *suffix;
        usec_t usec;
} parse_units[] = {
        { "us", 1 },
        { "usec", 1 },
        { "\xc2\xb5s", 1 }, /* U+00B5 MICRO SIGN */
        { "\xce\xbcs", 1 }, /* U+03BC GREEK SMALL LETTER MU */
        { "ms", USEC_PER_MSEC },
        { "msec", USEC_PER_MSEC },
        { "s", USEC_PER_SEC },
        { "sec", USEC_PER_SEC },
        { "second", USEC_PER_SEC },
        { "seconds", USEC_PER_SEC },
        { "m", USEC_PER_MINUTE },
        { "min", USEC_PER_MINUTE },
        { "minute", USEC_PER_MINUTE },
        { "minutes", USEC_PER_MINUTE },
        { "h", USEC_PER_HOUR },
        { "hr", USEC_PER_HOUR },
        { "hour", USEC_PER_HOUR },
        { "hours", USEC_PER_HOUR },
        { "d", USEC_PER_DAY },
        { "day", USEC_PER_DAY },
        { "days", USEC_PER_DAY },
        { "w", USEC_PER_WEEK },
        { "week", USEC_PER_WEEK },
        { "weeks", USEC_PER_WEEK },
        { "M", USEC_PER_MONTH },
        { "month", USEC_PER_MONTH },
        { "months", USEC_PER_MONTH },
        { "y", USEC_PER_YEAR },
        { "year", USEC_PER_YEAR },
        { "years", USEC_PER_YEAR },
};

/* The units format_timespan() prints, largest first. */
static const struct {
        const char *suffix;
        usec_t usec;
} format_units[] = {
        { "y", USEC_PER_YEAR },  { "month", USEC_PER_MONTH }, { "w", USEC_PER_WEEK },
        { "d", USEC_PER_DAY },   { "h", USEC_PER_HOUR },      { "min", USEC_PER_MINUTE },
        { "s", USEC_PER_SEC },   { "ms", USEC_PER_MSEC },     { "us", 1 },
};

static bool is_space(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static const char *skip_space(const char *p) {
        while (is_space(*p))
                p++;
        return p;
}

/* The unit at p, if any: its length and multiplier. */
static size_t match_unit(const char *p, usec_t *ret) {
        size_t best = 0;

        for (size_t i = 0; i < ELEMENTSOF(parse_units); i++) {
                size_t n = strlen(parse_units[i].suffix);

                if (n > best && strncmp(p, parse_units[i].suffix, n) == 0) {
                        best = n;
                        *ret = parse_units[i].usec;
                }
        }
        return best;
}

static int add_usec(usec_t *sum, usec_t v) {
        if (v >= USEC_INFINITY - *sum)
                return -ERANGE;
        *sum += v;
        return 0;
}

int parse_timespan_with_unit(const char *s, usec_t default_unit, usec_t *ret) {
        const char *p;
        usec_t sum = 0;
        bool any = false;

        if (!s)
                return -EINVAL;
        p = skip_space(s);
        if (strncmp(p, "infinity", 8) == 0) {
                if (*skip_space(p + 8))
                        return -EINVAL;
                *ret = USEC_INFINITY;
                return 0;
        }

        for (;;) {
                const char *num, *frac = NULL;
                usec_t whole = 0, mult = default_unit;
                size_t n_frac = 0, ul;
                int r;

                p = skip_space(p);
                if (!*p)
                        break;

                /* A term: digits, an optional fraction, an optional unit (white space may
                 * come before the unit).  At least one digit on either side of the dot. */
                num = p;
                for (; is_digit(*p); p++) {
                        if (whole > (UINT64_MAX - 9) / 10)
                                return -ERANGE;
                        whole = whole * 10 + (usec_t)(*p - '0');
                }
                if (*p == '.') {
                        frac = ++p;
                        while (is_digit(*p))
                                p++;
                        n_frac = (size_t)(p - frac);
                        if (n_frac == 0)
                                return -EINVAL; /* "3." or "3.s" */
                } else if (p == num)
                        return -EINVAL; /* not a number: "-1", "s", "1 s x" */

                ul = match_unit(skip_space(p), &mult);
                if (ul > 0)
                        p = skip_space(p) + ul;
                else if (*p && !is_space(*p))
                        return -EINVAL; /* "5x", "1.2.3" */

                /* Exact: anything below USEC_INFINITY parses, so every value that
                 * format_timespan() prints comes back. */
                if (whole > USEC_INFINITY / mult)
                        return -ERANGE;
                r = add_usec(&sum, whole * mult);
                if (r < 0)
                        return r;
                /* Each fractional digit is worth a tenth of the one before; digits below
                 * a microsecond are dropped. */
                for (usec_t m = mult / 10; n_frac > 0 && m > 0; n_frac--, frac++, m /= 10) {
                        r = add_usec(&sum, (usec_t)(*frac - '0') * m);
                        if (r < 0)
                                return r;
                }
                any = true;
        }
        if (!any)
                return -EINVAL;
        *ret = sum;
        return 0;
}

int parse_timespan(const char *s, usec_t *ret) {
        return parse_timespan_with_unit(s, USEC_PER_SEC, ret);
}

char *format_timespan(char *buf, size_t size, usec_t t) {
        size_t len = 0;

        if (size == 0)
                return buf;
        if (t == USEC_INFINITY) {
                snprintf(buf, size, "infinity");
                return buf;
        }
        if (t == 0) {
                snprintf(buf, size, "0");
                return buf;
        }

        buf[0] = 0;
        for (size_t i = 0; i < ELEMENTSOF(format_units) && t > 0; i++) {
                int k;

                if (t < format_units[i].usec)
                        continue;
                k = snprintf(buf + len, size - len, "%s%" PRIu64 "%s", len > 0 ? " " : "",
                             t / format_units[i].usec, format_units[i].suffix);
                if (k < 0 || (size_t)k >= size - len) {
                        buf[len] = 0; /* no room: drop the partial unit */
                        break;
                }
                len += (size_t)k;
                t %= format_units[i].usec;
        }
        return buf;
}
