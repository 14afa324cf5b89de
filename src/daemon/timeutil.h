/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdint.h>
#include <time.h>

typedef uint64_t usec_t;
#define USEC_INFINITY ((usec_t)UINT64_MAX)
#define USEC_PER_MSEC ((usec_t)1000)
#define USEC_PER_SEC ((usec_t)1000000)

static inline usec_t now_usec(clockid_t clock) {
        struct timespec ts;
        clock_gettime(clock, &ts);
        return (usec_t)ts.tv_sec * USEC_PER_SEC + (usec_t)ts.tv_nsec / 1000;
}

/* systemd time spans: "5s", "250ms", "1min 30s", "2h", "1.5s", "100" (seconds when no
 * unit is given, as systemd's *Sec= keys), "infinity".  Units: us usec µs, ms msec,
 * s sec second seconds, m min minute minutes, h hr hour hours, d day days, w week weeks,
 * M month months (30.44 d), y year years (365.25 d).  -EINVAL on junk, -ERANGE on
 * overflow. */
int parse_timespan(const char *s, usec_t *ret);

/* "1min 30s", "250ms", "infinity", "0"; returns buf. */
char *format_timespan(char *buf, size_t size, usec_t t);
