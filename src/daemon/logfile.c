/* SPDX-License-Identifier: MIT */
/* A service's output in DIR/NAME.log: records, rotation, drops (see logfile.h and
 * docs/logs.md). */
#include "logfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/util.h"

#define STREAM_MAX 64
#define CONTINUED_LEN (sizeof(LOGFILE_CONTINUED) - 1)

struct logfile {
        int fd;
        char *path; /* DIR/NAME.log */
        uint64_t max_bytes;
        unsigned keep;
        uint64_t size;       /* of the file fd refers to */
        uint64_t rotate_at;  /* rotate before a record would take size past this */
        uint64_t dropped;    /* since open */
        uint64_t unreported; /* dropped bytes the file does not show yet */
        int drop_errno;      /* why the last record was dropped */
        bool mid_line;       /* the file ends in a record cut short by a failed write */
        bool reopen;         /* fd is no longer DIR/NAME.log: a rotation failed half-way */
        bool batching;       /* between logfile_begin() and logfile_end() */
        char *batch;         /* records not written yet (BATCH_MAX), while batching */
        size_t batch_len;
        uint64_t time_sec;   /* the second time_text was formatted for, +1 (0: none) */
        char time_text[32];  /* "2026-11-26T22:10:00" */
        size_t time_len;
};

/* Records gathered while batching are written together: one write() per read of a pipe
 * instead of one per line. */
#define BATCH_MAX (64 * 1024)

/* O_NONBLOCK only for the open: a FIFO put where the log should be must not hang the
 * daemon (it fails with ENXIO, or is refused below). */
static int open_append(const char *path) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0640);
        struct stat st;

        if (fd < 0 || fstat(fd, &st) < 0)
                return negerrno();
        if (!S_ISREG(st.st_mode))
                return -EINVAL;
        if (fcntl(fd, F_SETFL, O_APPEND) < 0)
                return negerrno();
        /* Long-lived, like the daemon's other per-service descriptors: kept above the low
         * numbers, which a spawn copies (see DAEMON_FD_HIGH in manager.h). */
        return fd_move_above(TAKE_FD(fd), 512);
}

/* mkdir -p, 0755 for each directory it creates. */
static int mkdir_parents(const char *dir) {
        _cleanup_free_ char *copy = NULL;
        char *slash;
        int r;

        if (mkdir(dir, 0755) == 0 || errno == EEXIST)
                return 0;
        if (errno != ENOENT)
                return negerrno();
        copy = strdup(dir);
        if (!copy)
                return -ENOMEM;
        slash = strrchr(copy, '/');
        while (slash && slash > copy && slash[-1] == '/')
                slash--;
        if (!slash || slash == copy)
                return -ENOENT;
        *slash = 0;
        r = mkdir_parents(copy);
        if (r < 0)
                return r;
        return mkdir(dir, 0755) == 0 || errno == EEXIST ? 0 : negerrno();
}

static void set_error(char **error_text, const char *what, const char *path, int r) {
        if (error_text && asprintf(error_text, "%s %s: %s", what, path, strerror(-r)) < 0)
                *error_text = NULL;
}

int logfile_open(const char *dir, const char *name, uint64_t max_bytes, unsigned keep, struct logfile **ret,
                 char **error_text) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *path = NULL;
        struct logfile *lf;
        struct stat st;
        int r;

        if (!dir || !*dir || !name || !*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..")) {
                set_error(error_text, "invalid log file name", name ? name : "(null)", -EINVAL);
                return -EINVAL;
        }
        if (asprintf(&path, "%s/%s.log", dir, name) < 0) {
                path = NULL;
                return -ENOMEM;
        }
        r = mkdir_parents(dir);
        if (r < 0) {
                set_error(error_text, "cannot create log directory", dir, r);
                return r;
        }
        fd = open_append(path);
        if (fd == -EINVAL || fd == -ENXIO) {
                /* A FIFO (ENXIO: no reader), socket or device where the file should be. */
                if (error_text && asprintf(error_text, "cannot open log file %s: not a regular file", path) < 0)
                        *error_text = NULL;
                return fd;
        }
        if (fd < 0) {
                set_error(error_text, "cannot open log file", path, fd);
                return fd;
        }
        if (fstat(fd, &st) < 0) {
                r = negerrno();
                set_error(error_text, "cannot open log file", path, r);
                return r;
        }
        lf = calloc(1, sizeof(*lf));
        if (!lf)
                return -ENOMEM;
        *lf = (struct logfile){
                .fd = TAKE_FD(fd),
                .path = TAKE_PTR(path),
                .max_bytes = max_bytes,
                .keep = keep,
                .size = (uint64_t)st.st_size,
                .rotate_at = max_bytes,
        };
        *ret = lf;
        return 0;
}

void logfile_close(struct logfile *lf) {
        if (!lf)
                return;
        logfile_end(lf);
        free(lf->batch);
        safe_close(lf->fd);
        free(lf->path);
        free(lf);
}

uint64_t logfile_dropped(const struct logfile *lf) {
        return lf->dropped;
}

const char *logfile_path(const struct logfile *lf) {
        return lf->path;
}

/* --- the file: rotation, writing -------------------------------------------------------- */

static void use_fd(struct logfile *lf, int fd) {
        struct stat st;

        safe_close(lf->fd);
        lf->fd = fd;
        lf->size = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
        lf->rotate_at = lf->max_bytes;
        lf->mid_line = false;
        lf->reopen = false;
}

/* NAME.log.(keep-1) -> NAME.log.keep ... NAME.log -> NAME.log.1 (or unlink NAME.log when
 * keep is 0), then a fresh NAME.log.  A rename that fails stops the shift where it is, so
 * that no rotated file is ever overwritten by the next one down; the current file is then
 * kept and written on. */
static int rotate(struct logfile *lf) {
        size_t size = strlen(lf->path) + 16;
        _cleanup_free_ char *from = malloc(size), *to = malloc(size);
        int fd;

        if (!from || !to)
                return -ENOMEM;
        if (lf->keep == 0) {
                if (unlink(lf->path) < 0 && errno != ENOENT)
                        return negerrno();
        } else {
                for (unsigned i = lf->keep; i > 1; i--) {
                        snprintf(from, size, "%s.%u", lf->path, i - 1);
                        snprintf(to, size, "%s.%u", lf->path, i);
                        if (rename(from, to) < 0 && errno != ENOENT)
                                return negerrno();
                }
                snprintf(to, size, "%s.1", lf->path);
                if (rename(lf->path, to) < 0)
                        return negerrno();
        }
        /* From here on fd is no longer DIR/NAME.log. */
        lf->reopen = true;
        fd = open_append(lf->path);
        if (fd < 0)
                return fd;
        use_fd(lf, fd);
        return 0;
}

/* Before writing `len` more bytes: rotates if due, or reopens DIR/NAME.log after a
 * rotation that could not create it.  Returns the rotation's error, if any. */
static int prepare(struct logfile *lf, size_t len) {
        int r;

        if (lf->reopen) {
                int fd = open_append(lf->path);
                if (fd < 0)
                        return fd;
                use_fd(lf, fd);
        }
        if (lf->max_bytes == 0 || lf->size == 0 || lf->size + len <= lf->rotate_at)
                return 0;
        r = rotate(lf);
        if (r < 0 && !lf->reopen)
                /* Nothing moved: go on with this file, try again after another max_bytes. */
                lf->rotate_at = lf->size + lf->max_bytes;
        return r;
}

/* write() until done; a partial write is retried for the rest.  Returns 0 or -errno with
 * *written set to what did reach the file. */
static int write_all(struct logfile *lf, const char *buf, size_t len, size_t *written) {
        size_t done = 0;
        int r = 0;

        while (done < len) {
                ssize_t n = write(lf->fd, buf + done, len - done);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        r = n < 0 ? negerrno() : -EIO;
                        break;
                }
                done += (size_t)n;
        }
        if (done > 0) {
                lf->size += done;
                lf->mid_line = buf[done - 1] != '\n';
        }
        *written = done;
        return r;
}

/* "2026-11-26T22:10:00.123456Z"; the date and time are formatted once per second. */
static size_t format_time(struct logfile *lf, char *buf, size_t size, uint64_t usec) {
        uint64_t sec = usec / 1000000;
        unsigned us = (unsigned)(usec % 1000000);
        size_t n;

        if (lf->time_sec != sec + 1) {
                time_t t = (time_t)sec;
                struct tm tm;
                if (!gmtime_r(&t, &tm))
                        memset(&tm, 0, sizeof(tm));
                lf->time_len = strftime(lf->time_text, sizeof(lf->time_text), "%Y-%m-%dT%H:%M:%S", &tm);
                lf->time_sec = sec + 1;
        }
        n = lf->time_len < size ? lf->time_len : 0;
        memcpy(buf, lf->time_text, n);
        if (n + 9 <= size) {
                buf[n++] = '.';
                for (int i = 5; i >= 0; i--, us /= 10)
                        buf[n + (size_t)i] = (char)('0' + us % 10);
                n += 6;
                buf[n++] = 'Z';
        }
        return n;
}

/* Writes what was gathered; a failure drops it (counted, and noted in the file later). */
static int flush_batch(struct logfile *lf) {
        size_t written;
        int r;

        if (lf->batch_len == 0)
                return 0;
        r = write_all(lf, lf->batch, lf->batch_len, &written);
        if (r < 0) {
                lf->dropped += lf->batch_len - written;
                lf->unreported += lf->batch_len - written;
                lf->drop_errno = -r;
        }
        lf->batch_len = 0;
        return r;
}

void logfile_begin(struct logfile *lf) {
        if (!lf->batch)
                lf->batch = malloc(BATCH_MAX);
        lf->batching = lf->batch != NULL; /* without memory, one write per record */
}

int logfile_end(struct logfile *lf) {
        int r = flush_batch(lf);
        lf->batching = false;
        return r;
}

/* Writes one complete record, "the gap" notice first if bytes were dropped before. */
static int emit(struct logfile *lf, uint64_t usec, const char *rec, size_t len) {
        char notice[256];
        size_t n = 0, written;
        int r, rotated;

        if (lf->batching) {
                /* Gathered unless something must happen first: a full batch, a rotation
                 * due, a reopen, or a gap to note before this record. */
                bool due = lf->max_bytes && lf->size + lf->batch_len > 0 &&
                           lf->size + lf->batch_len + len + lf->mid_line > lf->rotate_at;
                if (lf->batch_len + len > BATCH_MAX || due || lf->reopen || lf->unreported) {
                        r = flush_batch(lf);
                        if (r < 0) {
                                lf->dropped += len;
                                lf->unreported += len;
                                return r;
                        }
                }
                if (!due && !lf->reopen && !lf->unreported && len <= BATCH_MAX) {
                        memcpy(lf->batch + lf->batch_len, rec, len);
                        lf->batch_len += len;
                        return 0;
                }
        }
        if (lf->unreported) {
                n = format_time(lf, notice, sizeof(notice) - 1, usec);
                n += (size_t)snprintf(notice + n, sizeof(notice) - 1 - n, " pidvisor: %llu bytes dropped (%s)\n",
                                      (unsigned long long)lf->unreported, strerror(lf->drop_errno));
                if (n > sizeof(notice) - 2)
                        n = sizeof(notice) - 2;
        }
        rotated = prepare(lf, n + len + lf->mid_line);
        if (n) {
                if (lf->mid_line) {
                        /* End the record that a failed write cut short. */
                        memmove(notice + 1, notice, n);
                        notice[0] = '\n';
                        n++;
                }
                r = write_all(lf, notice, n, &written);
                if (r < 0) {
                        /* The record must not come before the notice: it is dropped too. */
                        lf->dropped += len;
                        lf->unreported += len;
                        lf->drop_errno = -r;
                        return r;
                }
                lf->unreported = 0;
        }
        r = write_all(lf, rec, len, &written);
        if (r < 0) {
                lf->dropped += len - written;
                lf->unreported += len - written;
                lf->drop_errno = -r;
                return r;
        }
        return rotated;
}

/* --- records ------------------------------------------------------------------------------ */

static bool must_escape(unsigned char c) {
        return (c < 0x20 && c != '\t') || c == 0x7f;
}

/* How many bytes of s[0..n) fit in cap bytes once escaped. */
static size_t fit(const char *s, size_t n, size_t cap) {
        size_t i, w = 0;

        for (i = 0; i < n; i++) {
                size_t e = must_escape((unsigned char)s[i]) ? 4 : 1;
                if (w + e > cap)
                        break;
                w += e;
        }
        return i;
}

static bool utf8_continuation(unsigned char c) {
        return (c & 0xc0) == 0x80;
}

/* A cut before s[k] that would split a UTF-8 sequence moves back to the sequence's start
 * (never to 0), so that both records stay valid UTF-8 when the line was. */
static size_t utf8_cut(const char *s, size_t k) {
        if (!utf8_continuation((unsigned char)s[k]))
                return k;
        for (size_t j = k; j > 0 && k - j < 3;) {
                unsigned char c = (unsigned char)s[--j];
                size_t seq;

                if (utf8_continuation(c))
                        continue;
                seq = c >= 0xf8 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
                return j > 0 && j + seq > k ? j : k;
        }
        return k;
}

static size_t escape(char *out, const char *s, size_t n) {
        static const char hex[] = "0123456789abcdef";
        size_t w = 0;

        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];
                if (must_escape(c)) {
                        out[w++] = '\\';
                        out[w++] = 'x';
                        out[w++] = hex[c >> 4];
                        out[w++] = hex[c & 15];
                } else
                        out[w++] = (char)c;
        }
        return w;
}

static int write_line(struct logfile *lf, uint64_t realtime_usec, const char *stream, const char *line, size_t len,
                      bool partial) {
        char rec[LOGFILE_LINE_MAX];
        size_t prefix, room, stream_len = strlen(stream);
        int r = 0;

        if (stream_len > STREAM_MAX || (len > 0 && !line))
                return -EINVAL;
        if (partial && len == 0)
                return 0;
        prefix = format_time(lf, rec, 64, realtime_usec);
        rec[prefix++] = ' ';
        memcpy(rec + prefix, stream, stream_len);
        prefix += stream_len;
        rec[prefix++] = ':';
        rec[prefix++] = ' ';
        room = sizeof(rec) - prefix - 1; /* the newline */

        if (!partial && len > 0 && line[len - 1] == '\r')
                len--;
        if (!partial && len <= room) {
                /* The common line: short and plain, one scan and one copy. */
                size_t i = 0;
                while (i < len && !must_escape((unsigned char)line[i]))
                        i++;
                if (i == len) {
                        memcpy(rec + prefix, line, len);
                        rec[prefix + len] = '\n';
                        return emit(lf, realtime_usec, rec, prefix + len + 1);
                }
        }
        do {
                size_t k = fit(line, len, room), n;
                bool more = k < len;
                uint64_t before;
                int q;

                if (more)
                        k = utf8_cut(line, fit(line, len, room - CONTINUED_LEN));
                n = prefix + escape(rec + prefix, line, k);
                if (more || partial) {
                        memcpy(rec + n, LOGFILE_CONTINUED, CONTINUED_LEN);
                        n += CONTINUED_LEN;
                }
                rec[n++] = '\n';
                before = lf->dropped;
                q = emit(lf, realtime_usec, rec, n);
                /* A drop matters more than a rotation that failed. */
                if (lf->dropped > before)
                        r = q;
                else if (q < 0 && r == 0)
                        r = q;
                line += k;
                len -= k;
        } while (len > 0);
        return r;
}

int logfile_write(struct logfile *lf, uint64_t realtime_usec, const char *stream, const char *line, size_t len) {
        return write_line(lf, realtime_usec, stream, line, len, false);
}

int logfile_write_partial(struct logfile *lf, uint64_t realtime_usec, const char *stream, const char *line,
                          size_t len) {
        return write_line(lf, realtime_usec, stream, line, len, true);
}
