/* SPDX-License-Identifier: MIT */
#pragma once

/* Internal helpers shared by libpidvisor, the daemon and the CLI: ownership (cleanup
 * attributes, TAKE_FD/TAKE_PTR) and the errno boundary. */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))

static inline void freep(void *p) {
        free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

/* Closes fd if it is valid; returns -EBADF so that `fd = safe_close(fd)` resets it. */
static inline int safe_close(int fd) {
        if (fd >= 0) {
                int saved = errno;
                close(fd);
                errno = saved;
        }
        return -EBADF;
}
static inline void closep(int *fd) {
        safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

static inline void close_pair(int p[2]) {
        p[0] = safe_close(p[0]);
        p[1] = safe_close(p[1]);
}
static inline void close_pairp(int (*p)[2]) {
        close_pair(*p);
}
#define _cleanup_close_pair_ _cleanup_(close_pairp)

#define TAKE_PTR(p)                                                                            \
        ({                                                                                     \
                typeof(p) _p = (p);                                                            \
                (p) = NULL;                                                                    \
                _p;                                                                            \
        })
#define TAKE_FD(fd)                                                                            \
        ({                                                                                     \
                int _fd = (fd);                                                                \
                (fd) = -EBADF;                                                                 \
                _fd;                                                                           \
        })

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

/* The errno boundary: libc's -1/errno becomes a negative errno, exactly once. */
static inline int negerrno(void) {
        return errno > 0 ? -errno : -EIO;
}
#define RET_NERRNO(expr)                                                                       \
        ({                                                                                     \
                long _r = (long)(expr);                                                        \
                _r < 0 ? negerrno() : (int)_r;                                                 \
        })

/* Moves fd to the lowest free number >= min, close-on-exec, closing the original; returns
 * the new number, or fd itself where that is impossible (RLIMIT_NOFILE below min). */
static inline int fd_move_above(int fd, int min) {
        int n = fd >= 0 && fd < min ? fcntl(fd, F_DUPFD_CLOEXEC, min) : -1;

        if (n < 0)
                return fd;
        close(fd);
        return n;
}

/* Parses a whole decimal number within [min, max]; -EINVAL or -ERANGE. */
int parse_long(const char *s, long min, long max, long *ret);
