/* SPDX-License-Identifier: MIT */
#pragma once

/* The daemon's log: one line per message on stderr, "pidvisor: LEVEL: text".  The level
 * names are syslog's; --log-level picks the lowest that is printed. */

#include <stdarg.h>
#include <stddef.h>

enum log_level {
        LOG_LEVEL_ERROR,
        LOG_LEVEL_WARNING,
        LOG_LEVEL_NOTICE,
        LOG_LEVEL_INFO,
        LOG_LEVEL_DEBUG,
};

extern enum log_level log_max_level;

int log_level_from_string(const char *s); /* -EINVAL if unknown */
void log_full(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Writes raw bytes to the log (a service's output line), prefixed with `prefix`. */
void log_raw_line(const char *prefix, const char *line, size_t len);

#define log_error(...) log_full(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(...) log_full(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_notice(...) log_full(LOG_LEVEL_NOTICE, __VA_ARGS__)
#define log_info(...) log_full(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_full(LOG_LEVEL_DEBUG, __VA_ARGS__)
