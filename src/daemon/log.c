/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

enum log_level log_max_level = LOG_LEVEL_INFO;

static const char *const names[] = {
        [LOG_LEVEL_ERROR] = "error", [LOG_LEVEL_WARNING] = "warning", [LOG_LEVEL_NOTICE] = "notice",
        [LOG_LEVEL_INFO] = "info",   [LOG_LEVEL_DEBUG] = "debug",
};

int log_level_from_string(const char *s) {
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                if (strcmp(s, names[i]) == 0)
                        return (int)i;
        return -EINVAL;
}

void log_full(enum log_level level, const char *fmt, ...) {
        char buf[2048];
        va_list ap;
        int n;

        if (level > log_max_level)
                return;
        n = snprintf(buf, sizeof(buf), "pidvisor: %s: ", names[level]);
        va_start(ap, fmt);
        n += vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
        va_end(ap);
        if (n > (int)sizeof(buf) - 2)
                n = (int)sizeof(buf) - 2;
        buf[n++] = '\n';
        /* One write per line, so lines from concurrent writers do not interleave. */
        (void)!write(STDERR_FILENO, buf, (size_t)n);
}

void log_raw_line(const char *prefix, const char *line, size_t len) {
        struct iovec iov[3] = {
                { (void *)prefix, strlen(prefix) },
                { (void *)line, len },
                { "\n", 1 },
        };
        (void)!writev(STDERR_FILENO, iov, 3);
}
