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
#ifdef __SSE2__
#include <emmintrin.h>
#endif

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
        char *batch;         /* records not written yet: the shared buffer, while batching */
        size_t batch_len;
        logfile_drop_hook_t drop_hook; /* gets each record that did not reach the file whole */
        void *drop_data;
        uint64_t time_sec;   /* the second time_text was formatted for, +1 (0: none) */
        char time_text[32];  /* "2026-11-26T22:10:00" */
        size_t time_len;
};

/* Records gathered while batching are written together: one write() per BATCH_MAX of
 * records instead of one per line.  The buffer is shared by every log file: the daemon has
 * one thread and batches one file at a time (logfile_begin .. logfile_end), so it costs
 * BATCH_MAX once, allocated at the first batch, and nothing per service.  A file that
 * begins a batch while another holds the buffer writes its records one by one. */
#define BATCH_MAX (256 * 1024)
static char *batch_buf;
static struct logfile *batch_owner;

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

void logfile_save(const struct logfile *lf, struct logfile_saved *ret) {
        *ret = (struct logfile_saved){
                .fd = lf->fd,
                .path = lf->path,
                .max_bytes = lf->max_bytes,
                .keep = lf->keep,
                .size = lf->size,
                .rotate_at = lf->rotate_at,
                .dropped = lf->dropped,
                .unreported = lf->unreported,
                .drop_errno = lf->drop_errno,
                .mid_line = lf->mid_line,
                .reopen = lf->reopen,
        };
}

int logfile_restore(const struct logfile_saved *saved, struct logfile **ret) {
        _cleanup_close_ int fd = saved->fd;
        struct logfile *lf;

        if (fd < 0 || !saved->path)
                return -EBADF;
        lf = calloc(1, sizeof(*lf));
        if (!lf)
                return -ENOMEM;
        *lf = (struct logfile){
                .fd = TAKE_FD(fd),
                .path = strdup(saved->path),
                .max_bytes = saved->max_bytes,
                .keep = saved->keep,
                .size = saved->size,
                .rotate_at = saved->rotate_at,
                .dropped = saved->dropped,
                .unreported = saved->unreported,
                .drop_errno = saved->drop_errno,
                .mid_line = saved->mid_line,
                .reopen = saved->reopen,
        };
        if (!lf->path) {
                logfile_close(lf);
                return -ENOMEM;
        }
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

/* Bytes of records at rec, len long, that did not all reach the file (written did): the
 * rest is counted as dropped, and each record that did not reach the file whole goes to
 * the drop hook. */
static void drop(struct logfile *lf, const char *rec, size_t len, size_t written, int r) {
        const char *p = rec + written, *end = rec + len;

        lf->dropped += len - written;
        lf->unreported += len - written;
        lf->drop_errno = -r;
        if (!lf->drop_hook)
                return;
        while (p > rec && p[-1] != '\n') /* from the start of the record that was cut */
                p--;
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                size_t n = (size_t)((nl ? nl : end) - p);

                lf->drop_hook(lf->drop_data, p, n);
                p += n + 1;
        }
}

/* Writes what was gathered; a failure drops it (counted, and noted in the file later). */
static int flush_batch(struct logfile *lf) {
        size_t written;
        int r;

        if (lf->batch_len == 0)
                return 0;
        r = write_all(lf, lf->batch, lf->batch_len, &written);
        if (r < 0)
                drop(lf, lf->batch, lf->batch_len, written, r);
        lf->batch_len = 0;
        return r;
}

void logfile_begin(struct logfile *lf) {
        if (lf->batching || batch_owner)
                return; /* already, or another file holds the buffer: one write per record */
        if (!batch_buf && !(batch_buf = malloc(BATCH_MAX)))
                return; /* without memory, one write per record */
        batch_owner = lf;
        lf->batch = batch_buf;
        lf->batching = true;
}

int logfile_end(struct logfile *lf) {
        int r;

        if (!lf->batching)
                return 0;
        r = flush_batch(lf);
        lf->batching = false;
        lf->batch = NULL;
        batch_owner = NULL;
        return r;
}

void logfile_set_drop_hook(struct logfile *lf, logfile_drop_hook_t hook, void *data) {
        lf->drop_hook = hook;
        lf->drop_data = data;
}

/* A record of len bytes would have to go into a new file: the file (with what is gathered)
 * is not empty, and the record would take it past rotate_at. */
static bool rotation_due(const struct logfile *lf, size_t len) {
        uint64_t size = lf->size + lf->batch_len;

        return lf->max_bytes && size > 0 && size + len + lf->mid_line > lf->rotate_at;
}

/* Writes one complete record, "the gap" notice first if bytes were dropped before. */
static int emit(struct logfile *lf, uint64_t usec, const char *rec, size_t len) {
        char notice[256];
        size_t n = 0, written;
        int r, rotated;

        if (lf->batching) {
                /* Gathered unless something must happen first: a full batch, a rotation
                 * due, a reopen, or a gap to note before this record. */
                bool due = rotation_due(lf, len);
                if (lf->batch_len + len > BATCH_MAX || due || lf->reopen || lf->unreported) {
                        r = flush_batch(lf);
                        if (r < 0) {
                                drop(lf, rec, len, 0, r);
                                return r;
                        }
                }
                if (!due && !lf->reopen && !lf->unreported && len <= BATCH_MAX) {
                        /* memmove: rec may be in the batch buffer already (add_built). */
                        memmove(lf->batch + lf->batch_len, rec, len);
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
                        drop(lf, rec, len, 0, r);
                        return r;
                }
                lf->unreported = 0;
        }
        r = write_all(lf, rec, len, &written);
        if (r < 0) {
                drop(lf, rec, len, written, r);
                return r;
        }
        return rotated;
}

/* A record of len bytes, just built at the end of the batch: it stays there, unless
 * something must happen before it (a rotation, a reopen, a gap to note): then what was
 * gathered before it is written, and it goes the way of any record. */
static int add_built(struct logfile *lf, uint64_t usec, size_t len) {
        char *rec = lf->batch + lf->batch_len;
        int r;

        if (!lf->reopen && !lf->unreported && !rotation_due(lf, len)) {
                lf->batch_len += len;
                return 0;
        }
        r = flush_batch(lf);
        if (r < 0) {
                drop(lf, rec, len, 0, r);
                return r;
        }
        return emit(lf, usec, rec, len);
}

/* --- records ------------------------------------------------------------------------------ */

/* "TIME STREAM: ", at most PREFIX_MAX bytes. */
#define PREFIX_MAX (32 + STREAM_MAX + 3)

static size_t format_prefix(struct logfile *lf, char *buf, uint64_t usec, const char *stream, size_t stream_len) {
        size_t n = format_time(lf, buf, 32, usec);

        buf[n++] = ' ';
        memcpy(buf + n, stream, stream_len);
        n += stream_len;
        buf[n++] = ':';
        buf[n++] = ' ';
        return n;
}

static bool must_escape(unsigned char c) {
        return (c < 0x20 && c != '\t') || c == 0x7f;
}

/* The bytes of w (8 bytes of text, in memory order) that must be looked at one by one: a
 * control character (tab, newline and \r included) or DEL.  Each such byte has its high bit
 * set in the answer; the lowest one flagged is exact (borrows can only flag bytes above a
 * true one), so on a little-endian machine it is the first such byte of the text. */
static inline uint64_t special_bytes(uint64_t w) {
        const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
        uint64_t del = w ^ (0x7f * ones);

        return (((w - 0x20 * ones) & ~w) | ((del - ones) & ~del)) & highs;
}

#ifdef __SSE2__
/* The same for 16 bytes, one bit per byte, bit i for byte i: exact. */
static inline unsigned special_bytes16(__m128i v) {
        __m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v); /* v <= 0x1f */
        __m128i del = _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f));

        return (unsigned)_mm_movemask_epi8(_mm_or_si128(ctl, del));
}
#endif

/* Builds the record of the line at s (it ends at the first '\n', or at end) at dst: the
 * prefix, the text escaped, the newline; one trailing \r is dropped.  Text is copied 8
 * bytes at a time while none needs a look.  dst must have room for LOGFILE_LINE_MAX + 8
 * bytes.  Returns the record's length and sets *next past the line's newline; returns 0
 * (nothing consumed) if the text does not fit in one record. */
static size_t build_line(char *dst, const char *prefix, size_t prefix_len, const char *s, const char *end,
                         const char **next) {
        static const char hex[] = "0123456789abcdef";
        char *t = dst + prefix_len, *tmax = dst + LOGFILE_LINE_MAX - 1;

        if (prefix_len <= 64)
                memcpy(dst, prefix, 64); /* a fixed size: a few moves, not a call */
        else
                memcpy(dst, prefix, prefix_len);
        for (;;) {
                unsigned char c;

#ifdef __SSE2__
                /* 16 bytes at a time where the machine has it (every x86-64 does). */
                while (end - s >= 16 && tmax - t >= 16) {
                        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);
                        unsigned m = special_bytes16(v);

                        _mm_storeu_si128((__m128i *)(void *)t, v);
                        if (m) {
                                size_t k = (size_t)__builtin_ctz(m);
                                s += k;
                                t += k;
                                goto look;
                        }
                        s += 16;
                        t += 16;
                }
#endif
                while (end - s >= 8 && tmax - t >= 8) {
                        uint64_t w, m;

                        memcpy(&w, s, 8);
                        memcpy(t, &w, 8);
                        m = special_bytes(w);
                        if (m) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
                                size_t k = (size_t)__builtin_ctzll(m) / 8;
                                s += k;
                                t += k;
#endif
                                break;
                        }
                        s += 8;
                        t += 8;
                }
#ifdef __SSE2__
        look:
#endif
                if (s == end)
                        break;
                c = (unsigned char)*s;
                if (!must_escape(c)) {
                        if (t == tmax)
                                return 0;
                        *t++ = (char)c;
                        s++;
                        continue;
                }
                if (c == '\n') {
                        s++;
                        break;
                }
                if (c == '\r' && (s + 1 == end || s[1] == '\n')) {
                        s += s + 1 == end ? 1 : 2;
                        break;
                }
                if (tmax - t < 4)
                        return 0;
                t[0] = '\\';
                t[1] = 'x';
                t[2] = hex[c >> 4];
                t[3] = hex[c & 15];
                t += 4;
                s++;
        }
        *t++ = '\n';
        *next = s;
        return (size_t)(t - dst);
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

/* r so far and q, the answer for one more record: a drop matters more than a rotation that
 * failed (see logfile_write()). */
static int merge(const struct logfile *lf, uint64_t dropped_before, int r, int q) {
        if (lf->dropped > dropped_before)
                return q;
        return q < 0 && r == 0 ? q : r;
}

/* One line (any bytes but a newline), as one record or several, each starting with the
 * prefix: the general way, for lines too long for one record and pieces of lines. */
static int write_text(struct logfile *lf, uint64_t realtime_usec, const char *prefix_text, size_t prefix,
                      const char *line, size_t len, bool partial) {
        char rec[LOGFILE_LINE_MAX];
        size_t room = sizeof(rec) - prefix - 1; /* the newline */
        int r = 0;

        if (partial && len == 0)
                return 0;
        memcpy(rec, prefix_text, prefix);
        if (!partial && len > 0 && line[len - 1] == '\r')
                len--;
        do {
                size_t k = fit(line, len, room), n;
                bool more = k < len;
                uint64_t before = lf->dropped;

                if (more)
                        k = utf8_cut(line, fit(line, len, room - CONTINUED_LEN));
                n = prefix + escape(rec + prefix, line, k);
                if (more || partial) {
                        memcpy(rec + n, LOGFILE_CONTINUED, CONTINUED_LEN);
                        n += CONTINUED_LEN;
                }
                rec[n++] = '\n';
                r = merge(lf, before, r, emit(lf, realtime_usec, rec, n));
                line += k;
                len -= k;
        } while (len > 0);
        return r;
}

static int write_line(struct logfile *lf, uint64_t realtime_usec, const char *stream, const char *line, size_t len,
                      bool partial) {
        char prefix[PREFIX_MAX];
        size_t stream_len = strlen(stream), n;

        if (stream_len > STREAM_MAX || (len > 0 && !line))
                return -EINVAL;
        n = format_prefix(lf, prefix, realtime_usec, stream, stream_len);
        return write_text(lf, realtime_usec, prefix, n, line, len, partial);
}

int logfile_write(struct logfile *lf, uint64_t realtime_usec, const char *stream, const char *line, size_t len) {
        return write_line(lf, realtime_usec, stream, line, len, false);
}

int logfile_write_partial(struct logfile *lf, uint64_t realtime_usec, const char *stream, const char *line,
                          size_t len) {
        return write_line(lf, realtime_usec, stream, line, len, true);
}

/* The records of the lines from *text on, built straight into the batch for as long as
 * nothing has to happen between two of them: the batch has room for one more record, no
 * rotation is due, there is no gap to note and no file to reopen.  Stops at a line that
 * does not fit one record, and moves *text past the lines it took. */
static void build_lines(struct logfile *lf, const char *prefix, size_t prefix_len, const char **text,
                        const char *end) {
        /* Copies: the compiler cannot keep lf's fields in registers across writes through
         * char pointers. */
        const uint64_t size = lf->size, rotate_at = lf->max_bytes ? lf->rotate_at : UINT64_MAX,
                       mid_line = lf->mid_line;
        char *batch = lf->batch;
        size_t len = lf->batch_len;
        const char *p = *text;

        if (lf->reopen || lf->unreported)
                return;
        while (p < end && len <= BATCH_MAX - LOGFILE_LINE_MAX - 8) {
                const char *next;
                size_t k = build_line(batch + len, prefix, prefix_len, p, end, &next);

                if (k == 0 || (size + len > 0 && size + len + k + mid_line > rotate_at))
                        break; /* too long, or a rotation first: the caller's way */
                len += k;
                p = next;
        }
        lf->batch_len = len;
        *text = p;
}

int logfile_write_lines(struct logfile *lf, uint64_t realtime_usec, const char *stream, const char *text,
                        size_t len) {
        char prefix[PREFIX_MAX];
        const char *p, *end;
        size_t stream_len = strlen(stream), n;
        bool own = !lf->batching;
        int r = 0;

        if (stream_len > STREAM_MAX || (len > 0 && !text))
                return -EINVAL;
        if (len == 0)
                return 0;
        p = text;
        end = text + len;
        /* Every line of the call has the same time: the prefix is formatted once. */
        n = format_prefix(lf, prefix, realtime_usec, stream, stream_len);
        if (own)
                logfile_begin(lf);
        while (p < end) {
                uint64_t before = lf->dropped;
                const char *nl, *next;
                size_t k;

                if (lf->batching) {
                        if (BATCH_MAX - lf->batch_len < LOGFILE_LINE_MAX + 8)
                                r = merge(lf, before, r, flush_batch(lf));
                        build_lines(lf, prefix, n, &p, end);
                        if (p == end)
                                break;
                        if (BATCH_MAX - lf->batch_len < LOGFILE_LINE_MAX + 8)
                                continue; /* full: written first */
                        /* A rotation, a gap to note or a reopen comes first: the record
                         * goes the way of any record. */
                        k = build_line(lf->batch + lf->batch_len, prefix, n, p, end, &next);
                        if (k > 0) {
                                r = merge(lf, before, r, add_built(lf, realtime_usec, k));
                                p = next;
                                continue;
                        }
                }
                /* Longer than one record (or no batch): the general way. */
                nl = memchr(p, '\n', (size_t)(end - p));
                k = (size_t)((nl ? nl : end) - p);
                r = merge(lf, before, r, write_text(lf, realtime_usec, prefix, n, p, k, false));
                p += k + (nl != NULL);
        }
        if (own) {
                uint64_t before = lf->dropped;
                r = merge(lf, before, r, logfile_end(lf));
        }
        return r;
}
