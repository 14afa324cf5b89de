/* SPDX-License-Identifier: MIT */
/* `pidvisor logs NAME [-n N] [-f]`: a service's log file (docs/logs.md), found by asking
 * the daemon, printed from its last lines and, with -f, followed across rotations. */
#include "logs.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "lib/util.h"

/* --- reading ------------------------------------------------------------------------------- */

struct reader {
        FILE *out;
        int fd; /* the file being followed */
        int last; /* the last byte printed, -1 before the first */
};

static bool same_file(const struct stat *a, const struct stat *b) {
        return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Prints what fd has from its offset to its end. */
static int copy_to_eof(struct reader *rd, int fd) {
        char buf[65536];

        for (;;) {
                ssize_t n = read(fd, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return negerrno();
                if (n == 0)
                        break;
                if (fwrite(buf, 1, (size_t)n, rd->out) != (size_t)n)
                        return negerrno();
                rd->last = (unsigned char)buf[n - 1];
        }
        return fflush(rd->out) == 0 ? 0 : negerrno();
}

/* Between two files: a record that a failed write cut short in the older one gets its
 * newline here, so that it does not run into the next file's first line. */
static void end_line(struct reader *rd) {
        if (rd->last >= 0 && rd->last != '\n') {
                fputc('\n', rd->out);
                rd->last = '\n';
        }
}

/* Where the last n lines of fd start, and how many lines that is (fewer than n when the
 * file has fewer).  The newline that ends the file does not start a line. */
static int tail_start(int fd, unsigned n, off_t *start, unsigned *found) {
        char buf[65536];
        struct stat st;
        unsigned lines = 0;
        off_t pos;

        if (fstat(fd, &st) < 0)
                return negerrno();
        pos = st.st_size;
        *start = pos;
        *found = 0;
        if (n == 0 || pos == 0)
                return 0;
        while (pos > 0) {
                size_t chunk = pos < (off_t)sizeof(buf) ? (size_t)pos : sizeof(buf);
                ssize_t got;

                pos -= (off_t)chunk;
                got = pread(fd, buf, chunk, pos);
                if (got < 0 && errno == EINTR) {
                        pos += (off_t)chunk;
                        continue;
                }
                if (got < 0)
                        return negerrno();
                /* A file that shrank under us: what pread found is what there is. */
                for (size_t i = (size_t)got; i-- > 0;) {
                        if (buf[i] != '\n' || pos + (off_t)i == st.st_size - 1)
                                continue;
                        if (++lines == n) {
                                *start = pos + (off_t)i + 1;
                                *found = n;
                                return 0;
                        }
                }
        }
        *start = 0;
        *found = lines + 1;
        return 0;
}

static int open_read(const char *path) {
        return RET_NERRNO(open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY));
}

static int open_rotated(const char *path, unsigned i) {
        char *p;
        int fd;

        if (asprintf(&p, "%s.%u", path, i) < 0)
                return -ENOMEM;
        fd = open_read(p);
        free(p);
        return fd;
}

/* Opens path, prints its last n lines (with older ones from path.1 if needed) and returns
 * the descriptor, at the end of the file. */
static int tail_open(struct reader *rd, const char *path, unsigned n, int *ret) {
        _cleanup_close_ int fd = -EBADF, older = -EBADF;
        unsigned found;
        off_t start;
        int r;

        fd = open_read(path);
        if (fd < 0)
                return fd;
        r = tail_start(fd, n, &start, &found);
        if (r < 0)
                return r;
        if (found < n)
                older = open_rotated(path, 1);
        if (older >= 0) {
                struct stat a, b;
                unsigned found_older;
                off_t start_older;

                /* Rotated since we opened fd? Then path.1 is fd itself. */
                if (fstat(fd, &a) == 0 && fstat(older, &b) == 0 && !same_file(&a, &b) &&
                    tail_start(older, n - found, &start_older, &found_older) == 0 &&
                    lseek(older, start_older, SEEK_SET) >= 0) {
                        r = copy_to_eof(rd, older);
                        if (r < 0)
                                return r;
                        end_line(rd);
                }
        }
        if (lseek(fd, start, SEEK_SET) < 0)
                return negerrno();
        r = copy_to_eof(rd, fd);
        if (r < 0)
                return r;
        *ret = TAKE_FD(fd);
        return 0;
}

int logs_tail(const char *path, unsigned n, FILE *out) {
        struct reader rd = { .out = out, .fd = -EBADF, .last = -1 };
        int r = tail_open(&rd, path, n, &rd.fd);

        safe_close(rd.fd);
        return r;
}

/* --- following ------------------------------------------------------------------------------ */

static int timespec_cmp(const struct timespec *a, const struct timespec *b) {
        if (a->tv_sec != b->tv_sec)
                return a->tv_sec < b->tv_sec ? -1 : 1;
        return a->tv_nsec < b->tv_nsec ? -1 : a->tv_nsec > b->tv_nsec;
}

/* The file written after `old` (which is no longer path): the oldest rotated file that is
 * newer than old, else path itself.  Rotated files are path.1 (newest) .. path.K, so the
 * walk goes up from .1 until it meets old, or two numbers in a row are missing (one can be,
 * for a moment, while a rotation shifts them).  A file whose last write is older than
 * old's is a leftover (e.g. from a larger keep=), not a successor. */
static int successor(const char *path, const struct stat *old, int *ret) {
        _cleanup_close_ int best = -EBADF;
        unsigned misses = 0;

        for (unsigned i = 1; i < 100000 && misses < 2; i++) {
                _cleanup_close_ int fd = open_rotated(path, i);
                struct stat st;

                if (fd < 0 || fstat(fd, &st) < 0) {
                        misses++;
                        continue;
                }
                misses = 0;
                if (same_file(&st, old))
                        break;
                if (timespec_cmp(&st.st_mtim, &old->st_mtim) < 0)
                        continue;
                /* Higher numbers are older: the last one seen is the oldest. */
                safe_close(best);
                best = TAKE_FD(fd);
        }
        if (best < 0) {
                struct stat st;

                best = open_read(path);
                if (best < 0)
                        return best;
                if (fstat(best, &st) == 0 && same_file(&st, old))
                        return -ENOENT; /* path became old again; nothing new yet */
        }
        *ret = TAKE_FD(best);
        return 0;
}

/* Prints what was appended since the last call, following rotations: when path is no
 * longer the file we read, that file is read to its end first (the daemon never writes to
 * it again once a new path exists), then each file that came after it. */
static int catch_up(struct reader *rd, const char *path) {
        for (;;) {
                struct stat cur, old;
                int r, next;

                r = copy_to_eof(rd, rd->fd);
                if (r < 0)
                        return r;
                if (fstat(rd->fd, &old) < 0)
                        return negerrno();
                if (stat(path, &cur) < 0) {
                        if (errno == ENOENT)
                                return 0; /* moved away, not created again yet: IN_CREATE will tell */
                        return negerrno();
                }
                if (same_file(&cur, &old)) {
                        off_t pos = lseek(rd->fd, 0, SEEK_CUR);
                        if (pos > cur.st_size && lseek(rd->fd, 0, SEEK_SET) == 0)
                                continue; /* truncated by someone: read it again from the start */
                        return 0;
                }
                /* Rotated: the old file is final now, but may have grown since the read
                 * above. */
                r = copy_to_eof(rd, rd->fd);
                if (r < 0)
                        return r;
                if (fstat(rd->fd, &old) < 0)
                        return negerrno();
                r = successor(path, &old, &next);
                if (r == -ENOENT)
                        return 0;
                if (r < 0)
                        return r;
                end_line(rd);
                safe_close(rd->fd);
                rd->fd = next;
        }
}

/* Reads the inotify events there are; *relevant if one concerns `base` (or the queue
 * overflowed), *gone if the directory's watch went away. */
static int read_events(int ifd, const char *base, bool *relevant, bool *gone) {
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

        for (;;) {
                ssize_t n = read(ifd, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return errno == EAGAIN ? 0 : negerrno();
                for (char *p = buf; p < buf + n;) {
                        const struct inotify_event *ev = (const struct inotify_event *)p;

                        if (ev->mask & IN_Q_OVERFLOW)
                                *relevant = true;
                        if (ev->mask & IN_IGNORED)
                                *gone = true;
                        if (ev->len > 0 && strcmp(ev->name, base) == 0)
                                *relevant = true;
                        p += sizeof(*ev) + ev->len;
                }
        }
}

int logs_follow(const char *path, unsigned n, FILE *out, volatile sig_atomic_t *stop) {
        struct reader rd = { .out = out, .fd = -EBADF, .last = -1 };
        _cleanup_close_ int ifd = -EBADF;
        _cleanup_free_ char *dir = strdup(path);
        const char *base;
        sigset_t waitmask;
        char *slash;
        int r;

        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (slash) {
                base = path + (slash - dir) + 1;
                if (slash == dir)
                        slash[1] = 0;
                else
                        *slash = 0;
        } else {
                base = path;
                strcpy(dir, ".");
        }
        ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (ifd < 0)
                return negerrno();
        /* Watch first, then open: nothing written in between can go unnoticed. */
        if (inotify_add_watch(ifd, dir, IN_MODIFY | IN_CREATE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE) < 0)
                return negerrno();
        r = tail_open(&rd, path, n, &rd.fd);
        if (r < 0)
                return r;

        sigprocmask(SIG_SETMASK, NULL, &waitmask);
        sigdelset(&waitmask, SIGINT);
        sigdelset(&waitmask, SIGTERM);
        while (!*stop) {
                struct pollfd pfd = { .fd = ifd, .events = POLLIN };
                bool relevant = false, gone = false;

                if (ppoll(&pfd, 1, NULL, &waitmask) < 0) {
                        if (errno == EINTR)
                                continue;
                        r = negerrno();
                        break;
                }
                r = read_events(ifd, base, &relevant, &gone);
                if (r < 0)
                        break;
                if (relevant || gone) {
                        r = catch_up(&rd, path);
                        if (r < 0)
                                break;
                }
                if (gone) {
                        /* The watch went away (the file system was unmounted): no more
                         * events can come.  (Removing the directory does not do this while
                         * we hold a file in it open.) */
                        r = -ESTALE;
                        break;
                }
        }
        safe_close(rd.fd);
        return r;
}

/* --- the command --------------------------------------------------------------------------- */

static const char usage[] =
        "Usage: pidvisor logs NAME [-n N] [-f]\n"
        "\n"
        "Prints the last lines of a service's log file (the daemon says where it is), one\n"
        "record per line: TIME STREAM: TEXT.\n"
        "\n"
        "Options:\n"
        "  -n, --lines N   print the last N lines (default 10; 0: none), taking older ones\n"
        "                  from NAME.log.1 if the current file has fewer\n"
        "  -f, --follow    then print what is written, across rotations, until interrupted\n"
        "  -h, --help      show this help\n";

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig) {
        stop_requested = 1;
}

/* Asks the daemon for the service's log file (a `status` request).  Returns the path, or
 * NULL after printing why. */
static char *ask_log_file(const char *name) {
        json_t *res = cli_request("status", json_pack("{s:s}", "name", name));
        const char *path = json_string_value(json_object_get(res, "log_file"));
        char *ret = NULL;

        if (!res)
                return NULL;
        if (!path || path[0] != '/')
                fprintf(stderr, "pidvisor logs: %s has written nothing yet (no log file)\n", name);
        else if (!(ret = strdup(path)))
                fprintf(stderr, "pidvisor logs: out of memory\n");
        json_decref(res);
        return ret;
}

int cli_logs(int argc, char **argv) {
        static const struct option longopts[] = {
                { "lines", required_argument, NULL, 'n' },
                { "follow", no_argument, NULL, 'f' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_free_ char *path = NULL;
        const char *name;
        bool follow = false;
        unsigned n = 10;
        int c, r;

        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":n:fh", longopts, NULL)) != -1) {
                long v;

                switch (c) {
                case 'n':
                        if (parse_long(optarg, 0, INT_MAX, &v) < 0) {
                                fprintf(stderr, "pidvisor logs: -n \"%s\": expected a number of lines\n", optarg);
                                return 2;
                        }
                        n = (unsigned)v;
                        break;
                case 'f':
                        follow = true;
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return 0;
                case ':':
                        fprintf(stderr, "pidvisor logs: %s needs a value\n", argv[optind - 1]);
                        return 2;
                default:
                        fprintf(stderr, "pidvisor logs: unknown option \"%s\"\n", argv[optind - 1]);
                        return 2;
                }
        }
        if (optind != argc - 1) {
                fputs(usage, stderr);
                return 2;
        }
        name = argv[optind];
        path = ask_log_file(name);
        if (!path)
                return 1;

        if (follow) {
                struct sigaction sa = { .sa_handler = on_stop_signal };
                sigset_t mask;

                /* Blocked except while logs_follow() waits, so that neither signal can
                 * arrive between its check of the flag and its wait. */
                sigemptyset(&mask);
                sigaddset(&mask, SIGINT);
                sigaddset(&mask, SIGTERM);
                sigprocmask(SIG_BLOCK, &mask, NULL);
                sigaction(SIGINT, &sa, NULL);
                sigaction(SIGTERM, &sa, NULL);
                r = logs_follow(path, n, stdout, &stop_requested);
        } else
                r = logs_tail(path, n, stdout);
        if (r == -ENOENT) {
                fprintf(stderr, "pidvisor logs: %s: no log file %s (has the service ever run?)\n", name, path);
                return 1;
        }
        if (r == -ESTALE) {
                fprintf(stderr, "pidvisor logs: %s: the log directory went away\n", path);
                return 1;
        }
        if (r < 0) {
                fprintf(stderr, "pidvisor logs: %s: %s\n", path, strerror(-r));
                return 1;
        }
        return 0;
}
