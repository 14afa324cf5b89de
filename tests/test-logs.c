/* SPDX-License-Identifier: MIT */
/* The file side of `pidvisor logs` (src/cli/logs.c): the last lines of a log, and following
 * it across rotations by the daemon's log module (src/daemon/logfile.c). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/logs.h"
#include "daemon/logfile.h"
#include "testlib.h"

#define T 1795731000123456ULL
#define TS "2026-11-26T22:10:00.123456Z"

static char *dir, *path;

static void setup(void) {
        dir = pv_test_mkdtemp();
        ck_assert_int_ne(asprintf(&path, "%s/svc.log", dir), -1);
}

static void teardown(void) {
        pv_test_rmtree(dir);
        free(dir);
        free(path);
}


/* What logs_tail(p, n) prints (a NUL-free file assumed). */
static char *tail(const char *p, unsigned n, int *r) {
        char *buf = NULL;
        size_t size = 0;
        FILE *out = open_memstream(&buf, &size);

        ck_assert_ptr_nonnull(out);
        *r = logs_tail(p, n, out);
        ck_assert_int_eq(fclose(out), 0);
        return buf;
}

static void assert_tail(const char *p, unsigned n, const char *want) {
        int r;
        char *got = tail(p, n, &r);

        ck_assert_int_eq(r, 0);
        ck_assert_msg(strcmp(got, want) == 0, "tail -n %u: got\n\"%s\"\nwant\n\"%s\"", n, got, want);
        free(got);
}

START_TEST(test_tail_lines) {
        pv_test_write_file(path, "1\n2\n3\n4\n5\n", 0644);
        assert_tail(path, 3, "3\n4\n5\n");
        assert_tail(path, 1, "5\n");
        assert_tail(path, 0, "");
        assert_tail(path, 5, "1\n2\n3\n4\n5\n");
        assert_tail(path, 10, "1\n2\n3\n4\n5\n");
        /* An unterminated last line is a line. */
        pv_test_write_file(path, "a\nb\nc", 0644);
        assert_tail(path, 1, "c");
        assert_tail(path, 2, "b\nc");
        assert_tail(path, 3, "a\nb\nc");
        /* Empty lines are lines. */
        pv_test_write_file(path, "\n\nx\n\n", 0644);
        assert_tail(path, 2, "x\n\n");
        assert_tail(path, 4, "\n\nx\n\n");
        pv_test_write_file(path, "", 0644);
        assert_tail(path, 3, "");
}
END_TEST

START_TEST(test_tail_takes_rotated_file) {
        char *p1 = pv_test_fmt("%s.1", path), *p2 = pv_test_fmt("%s.2", path);

        pv_test_write_file(p2, "never\n", 0644);
        pv_test_write_file(p1, "o1\no2\no3\no4\n", 0644);
        pv_test_write_file(path, "c1\nc2\n", 0644);
        assert_tail(path, 2, "c1\nc2\n");
        assert_tail(path, 3, "o4\nc1\nc2\n");
        assert_tail(path, 6, "o1\no2\no3\no4\nc1\nc2\n");
        assert_tail(path, 100, "o1\no2\no3\no4\nc1\nc2\n");
        /* An empty current file. */
        pv_test_write_file(path, "", 0644);
        assert_tail(path, 2, "o3\no4\n");
        /* A rotated file that ends in a record cut short: it gets its newline. */
        pv_test_write_file(p1, "o1\no2 cut sh", 0644);
        pv_test_write_file(path, "c1\n", 0644);
        assert_tail(path, 2, "o2 cut sh\nc1\n");
        /* path.1 the same file as path (rotated between the two opens): not printed twice. */
        ck_assert_int_eq(unlink(p1), 0);
        ck_assert_int_eq(link(path, p1), 0);
        assert_tail(path, 5, "c1\n");
        free(p1);
        free(p2);
}
END_TEST

START_TEST(test_tail_large) {
        /* Lines that straddle the 64 KiB blocks read from the end. */
        size_t n = 30000;
        FILE *f = fopen(path, "we");
        char *want;

        ck_assert_ptr_nonnull(f);
        for (size_t i = 0; i < n; i++)
                fprintf(f, "line %zu %.*s\n", i, (int)(i % 40), "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
        ck_assert_int_eq(fclose(f), 0);
        for (unsigned k = 1; k <= 25000; k = k * 3 + 7) {
                char *buf = NULL;
                size_t size = 0;
                FILE *m = open_memstream(&buf, &size);

                for (size_t i = n - k; i < n; i++)
                        fprintf(m, "line %zu %.*s\n", i, (int)(i % 40), "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
                ck_assert_int_eq(fclose(m), 0);
                want = buf;
                assert_tail(path, k, want);
                free(want);
        }
}
END_TEST

START_TEST(test_tail_missing) {
        int r;
        char *got = tail(path, 10, &r);

        ck_assert_int_eq(r, -ENOENT);
        ck_assert_str_eq(got, "");
        free(got);
}
END_TEST

/* --- following ---------------------------------------------------------------------------------- */

struct follow_case {
        uint64_t max_bytes;
        unsigned keep;
        int records;
        bool lockstep;    /* the writer waits for each record to come out before the next */
        bool slow_reader; /* a small pipe nobody reads until everything is written */
        bool stale;       /* svc.log.1 and .2 left over from an earlier keep= */
};

static volatile sig_atomic_t stop;

static void on_term(int sig) {
        stop = 1;
}

struct sink {
        int fd;
        char *buf;
        size_t len, cap;
};

/* Reads from the follower until `want` bytes came, or 10 s pass without progress. */
static bool sink_until(struct sink *s, size_t want) {
        while (s->len < want) {
                struct pollfd p = { .fd = s->fd, .events = POLLIN };
                ssize_t n;

                if (poll(&p, 1, 10000) <= 0)
                        return false;
                if (s->cap - s->len < 65536) {
                        s->cap = s->cap * 2 + 65536;
                        s->buf = realloc(s->buf, s->cap);
                        if (!s->buf)
                                return false;
                }
                n = read(s->fd, s->buf + s->len, s->cap - s->len);
                if (n <= 0)
                        return false;
                s->len += (size_t)n;
        }
        return true;
}

static char *line_text(int i) {
        static const char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
        static char buf[256];
        int n = snprintf(buf, sizeof(buf), "line %d ", i), len = n + (i * 37) % 90;

        for (int k = n; k < len; k++)
                buf[k] = chars[(i + k) % 36];
        buf[len] = 0;
        return buf;
}

/* The writer, in a child: writes the records through the log module, reads what the
 * follower prints, compares, and stops the follower with SIGTERM. */
static int follow_child(const struct follow_case *c, int in, pid_t follower) {
        struct sink s = { .fd = in };
        char *want = NULL;
        size_t want_len = 0;
        FILE *w = open_memstream(&want, &want_len);
        struct logfile *lf = NULL;
        const char *first = TS " stdout: start\n";
        int ok = 1;

        fputs(first, w);
        fflush(w);
        if (!sink_until(&s, strlen(first))) {
                fprintf(stderr, "follower printed no tail\n");
                return 2;
        }
        if (logfile_open(dir, "svc", c->max_bytes, c->keep, &lf, NULL) < 0)
                return 3;
        for (int i = 1; i <= c->records; i++) {
                const char *text = line_text(i);

                if (logfile_write(lf, T, "stdout", text, strlen(text)) < 0)
                        return 4;
                fprintf(w, TS " stdout: %s\n", text);
                fflush(w);
                if (c->lockstep && !sink_until(&s, want_len)) {
                        fprintf(stderr, "record %d never came out\n", i);
                        ok = 0;
                        break;
                }
        }
        logfile_close(lf);
        if (ok && !sink_until(&s, want_len))
                fprintf(stderr, "only %zu of %zu bytes came out\n", s.len, want_len);
        fclose(w);
        if (s.len != want_len || memcmp(s.buf, want, want_len) != 0) {
                size_t at = 0;
                while (at < s.len && at < want_len && s.buf[at] == want[at])
                        at++;
                fprintf(stderr,
                        "follower printed %zu bytes, want %zu; they differ at %zu: got \"%.80s\", want \"%.80s\"\n",
                        s.len, want_len, at, at < s.len ? s.buf + at : "", at < want_len ? want + at : "");
                ok = 0;
        }
        free(want);
        free(s.buf);
        kill(follower, SIGTERM);
        return ok ? 0 : 1;
}

static void run_follow(const struct follow_case *c) {
        struct sigaction sa = { .sa_handler = on_term };
        struct logfile *lf = NULL;
        sigset_t mask;
        int p[2], status, r;
        pid_t pid;
        FILE *out;

        ck_assert_int_eq(logfile_open(dir, "svc", 0, 0, &lf, NULL), 0);
        ck_assert_int_eq(logfile_write(lf, T, "stdout", "start", 5), 0);
        logfile_close(lf);
        if (c->stale)
                for (int i = 1; i <= 2; i++) {
                        char *p_i = pv_test_fmt("%s.%d", path, i);
                        struct timespec old[2] = { { 1600000000, 0 }, { 1600000000, 0 } };

                        pv_test_write_file(p_i, "stale\n", 0640);
                        ck_assert_int_eq(utimensat(AT_FDCWD, p_i, old, 0), 0);
                        free(p_i);
                }

        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        if (c->slow_reader)
                ck_assert_int_ge(fcntl(p[1], F_SETPIPE_SZ, 4096), 4096);
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        ck_assert_int_eq(sigprocmask(SIG_BLOCK, &mask, NULL), 0);
        ck_assert_int_eq(sigaction(SIGTERM, &sa, NULL), 0);
        signal(SIGPIPE, SIG_IGN);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                close(p[1]);
                _exit(follow_child(c, p[0], getppid()));
        }
        close(p[0]);
        out = fdopen(p[1], "w");
        ck_assert_ptr_nonnull(out);
        r = logs_follow(path, 1, out, &stop);
        fclose(out);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the writer failed: status 0x%x", status);
        ck_assert_int_eq(r, 0);
}

START_TEST(test_follow_lockstep_keep_1) {
        run_follow(&(struct follow_case){ .max_bytes = 600, .keep = 1, .records = 150, .lockstep = true });
}
END_TEST

START_TEST(test_follow_lockstep_keep_0) {
        /* keep=0 deletes the old file: the follower still has it open and reads it to its end. */
        run_follow(&(struct follow_case){ .max_bytes = 600, .keep = 0, .records = 150, .lockstep = true });
}
END_TEST

START_TEST(test_follow_stale_rotated_files) {
        /* keep=0 now, but files from an earlier keep= are still there, older than the
         * file followed: they are not what came after it. */
        run_follow(&(struct follow_case){
                .max_bytes = 600, .keep = 0, .records = 100, .lockstep = true, .stale = true });
}
END_TEST

START_TEST(test_follow_lockstep_no_rotation) {
        run_follow(&(struct follow_case){ .max_bytes = 0, .keep = 0, .records = 150, .lockstep = true });
}
END_TEST

START_TEST(test_follow_racing) {
        /* The writer does not wait: the follower sees rotations while it reads, maybe
         * several at once; all of it fits in the pipe. */
        run_follow(&(struct follow_case){ .max_bytes = 500, .keep = 1000, .records = 300 });
}
END_TEST

START_TEST(test_follow_slow_reader) {
        /* The follower blocks on its output while the log rotates many times under it: it
         * must find the rotated files in between (svc.log.N) by their inodes. */
        run_follow(&(struct follow_case){ .max_bytes = 700, .keep = 1000, .records = 600, .slow_reader = true });
}
END_TEST

START_TEST(test_follow_missing) {
        ck_assert_int_eq(logs_follow(path, 10, stdout, &stop), -ENOENT);
}
END_TEST

int main(void) {
        Suite *s = pv_test_suite("logs");
        TCase *t = pv_test_case("tail"), *f = pv_test_case("follow");

        tcase_add_checked_fixture(t, setup, teardown);
        tcase_add_test(t, test_tail_lines);
        tcase_add_test(t, test_tail_takes_rotated_file);
        tcase_add_test(t, test_tail_large);
        tcase_add_test(t, test_tail_missing);
        pv_test_add(s, t, NULL);

        tcase_add_checked_fixture(f, setup, teardown);
        tcase_add_test(f, test_follow_lockstep_keep_1);
        tcase_add_test(f, test_follow_lockstep_keep_0);
        tcase_add_test(f, test_follow_stale_rotated_files);
        tcase_add_test(f, test_follow_lockstep_no_rotation);
        tcase_add_test(f, test_follow_racing);
        tcase_add_test(f, test_follow_slow_reader);
        tcase_add_test(f, test_follow_missing);
        pv_test_add(s, f, NULL);
        return pv_test_main(s);
}
