/* SPDX-License-Identifier: MIT */
#pragma once

/* The error a libpidvisor call leaves for its caller.
 *
 * Every function returns 0 (or a documented non-negative value) on success and a negative
 * errno on failure.  Where an errno alone would not tell a user what went wrong (which
 * file, which step), the function also takes an optional `struct pv_error *` as its last
 * argument and fills it exactly once, at the place that failed.  The caller owns it (on
 * the stack is fine); no global state is ever touched. */

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

#define PV_ERROR_MAX 512

struct pv_error {
        int code;                   /* negative errno, 0 while unset */
        const char *op;             /* the failed operation where a caller may act on it,
                                     * e.g. "execve" or "chdir" from pv_spawn; else NULL */
        char message[PV_ERROR_MAX]; /* e.g. `chdir "/nope": No such file or directory` */
};

/* Fills err (when not NULL) with code and the formatted text followed by ": " and
 * strerror(-code); returns code so that `return pv_error_set(err, r, ...)` reads well. */
int pv_error_set(struct pv_error *err, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Like pv_error_set, without appending the errno text. */
int pv_error_setf(struct pv_error *err, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

void pv_error_clear(struct pv_error *err);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
