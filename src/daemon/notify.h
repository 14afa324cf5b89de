/* SPDX-License-Identifier: MIT */
#pragma once

/* sd_notify messages (../shared/PROTOCOLS.md): the pure part, parsing one datagram.
 * The daemon's socket handling and what each message does live in manager.c/service.c. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "timeutil.h"

#define NOTIFY_BUFFER_MAX 4096 /* PIPE_BUF, as systemd */

struct notify_msg {
        bool ready, reloading, stopping, watchdog, watchdog_trigger, fdstore, fdstore_remove,
                barrier;
        char *status;          /* STATUS= (allocated), or NULL; a STATUS= that is not
                                * UTF-8 is ignored (counted in n_unknown), as systemd does */
        int errno_value;       /* ERRNO=, -1 if absent */
        int64_t mainpid;       /* MAINPID=, 0 if absent */
        usec_t extend_timeout; /* EXTEND_TIMEOUT_USEC=, USEC_INFINITY if absent */
        usec_t watchdog_usec;  /* WATCHDOG_USEC=, USEC_INFINITY if absent */
        char *fdname;          /* FDNAME= (allocated), or NULL */
        unsigned n_unknown;    /* assignments we do not know (ignored, as systemd does) */
};

/* Parses one datagram: newline-separated KEY=VALUE assignments.  -EINVAL for what
 * systemd rejects as a whole (embedded NUL other than one trailing, not UTF-8-clean
 * control bytes are kept as they are) and for malformed values of known keys, with a
 * reason in *why (static text). */
int notify_parse(const char *buf, size_t len, struct notify_msg *ret, const char **why);
void notify_msg_done(struct notify_msg *m);

/* Whether s[0..len) is valid UTF-8 (no overlongs, no surrogates, at most U+10FFFF). */
bool utf8_valid(const char *s, size_t len);
/* The longest prefix of s no longer than max that does not cut a UTF-8 sequence. */
size_t utf8_prefix(const char *s, size_t len, size_t max);
