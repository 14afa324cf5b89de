/* SPDX-License-Identifier: MIT */
#include <pidvisor/error.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

__attribute__((format(printf, 4, 0)))
static void vset(struct pv_error *err, int code, bool with_errno, const char *fmt, va_list ap) {
        int n;

        err->code = code;
        err->op = NULL;
        n = vsnprintf(err->message, sizeof(err->message), fmt, ap);
        if (n < 0)
                n = 0;
        if (with_errno && (size_t)n < sizeof(err->message))
                snprintf(err->message + n, sizeof(err->message) - (size_t)n, ": %s",
                         strerror(code < 0 ? -code : code));
}

int pv_error_set(struct pv_error *err, int code, const char *fmt, ...) {
        va_list ap;

        if (err) {
                va_start(ap, fmt);
                vset(err, code, true, fmt, ap);
                va_end(ap);
        }
        return code;
}

int pv_error_setf(struct pv_error *err, int code, const char *fmt, ...) {
        va_list ap;

        if (err) {
                va_start(ap, fmt);
                vset(err, code, false, fmt, ap);
                va_end(ap);
        }
        return code;
}

void pv_error_clear(struct pv_error *err) {
        if (err) {
                err->code = 0;
                err->op = NULL;
                err->message[0] = 0;
        }
}

int parse_long(const char *s, long min, long max, long *ret) {
        char *end;
        long v;

        /* strtol skips any leading white space and takes a '+': a "whole number" may
         * start with a digit or '-' only (a user named "\t0" must not become root). */
        if (!s || !(isdigit((unsigned char)s[0]) || (s[0] == '-' && isdigit((unsigned char)s[1]))))
                return -EINVAL;
        errno = 0;
        v = strtol(s, &end, 10);
        if (*end)
                return -EINVAL;
        if (errno == ERANGE || v < min || v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}
