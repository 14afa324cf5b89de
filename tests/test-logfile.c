/* SPDX-License-Identifier: MIT */
/* Services' log files (src/daemon/logfile.c): the record format, escaping, long lines,
 * rotation, and what happens when writing or rotating fails. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/logfile.h"
#include "testlib.h"

/* 2026-11-26T22:10:00.123456Z */
#define T 1795731000123456ULL
#define TS "2026-11-26T22:10:00.123456Z"
#define PREFIX_LEN (sizeof(TS " stdout: ") - 1)
/* Text room of a record: the line limit less prefix and newline. */
#define ROOM (LOGFILE_LINE_MAX - PREFIX_LEN - 1)
#define CONT LOGFILE_CONTINUED
#define CONT_LEN (sizeof(CONT) - 1)

static char *dir;

static void setup(void) {
        umask(022);
        dir = pv_test_mkdtemp();
}

static void teardown(void) {
        pv_test_rmtree(dir);
        free(dir);
        dir = NULL;
}


/* The file's contents, or NULL if it does not exist. */
static char *slurp(const char *path, size_t *len) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        char *s;

        if (fd < 0) {
                ck_assert_msg(errno == ENOENT, "open %s: %s", path, strerror(errno));
                return NULL;
        }
        s = pv_test_read_all(fd);
        close(fd);
        if (len)
                *len = strlen(s); /* tests that mean NULs pass len-aware checks */
        return s;
}

/* Checks the contents of dir/name (NULL: it does not exist); frees want. */
static void assert_file(const char *name, char *want) {
        char *path = pv_test_fmt("%s/%s", dir, name), *got = slurp(path, NULL);

        if (!want)
                ck_assert_msg(!got, "%s exists, holding \"%s\"", name, got);
        else {
                ck_assert_msg(got, "%s does not exist", name);
                size_t at = 0;
                while (got[at] && got[at] == want[at])
                        at++;
                ck_assert_msg(strcmp(got, want) == 0,
                              "%s holds %zu bytes, want %zu; from byte %zu:\n\"%.300s\"\nwant\n\"%.300s\"", name,
                              strlen(got), strlen(want), at, got + at, want + at);
        }
        free(got);
        free(path);
        free(want);
}

/* Concatenates the strings up to NULL, freeing them. */
static char *join(char *first, ...) {
        size_t len = 0, at = 0;
        va_list ap;
        char *s, *out;

        va_start(ap, first);
        for (s = first; s; s = va_arg(ap, char *))
                len += strlen(s);
        va_end(ap);
        out = malloc(len + 1);
        ck_assert_ptr_nonnull(out);
        va_start(ap, first);
        for (s = first; s; s = va_arg(ap, char *)) {
                memcpy(out + at, s, strlen(s));
                at += strlen(s);
                free(s);
        }
        va_end(ap);
        out[at] = 0;
        return out;
}

static struct logfile *open_log(const char *name, uint64_t max_bytes, unsigned keep) {
        struct logfile *lf = NULL;
        char *error = NULL;
        int r = logfile_open(dir, name, max_bytes, keep, &lf, &error);

        ck_assert_msg(r == 0, "logfile_open: %d %s", r, error ? error : "");
        ck_assert_ptr_null(error);
        return lf;
}

static int put(struct logfile *lf, const char *text) {
        return logfile_write(lf, T, "stdout", text, strlen(text));
}

static char *rec(const char *text) {
        return pv_test_fmt(TS " stdout: %s\n", text);
}

START_TEST(test_record_format) {
        struct logfile *lf = open_log("svc", 0, 0);
        char *want = pv_test_fmt("%s/svc.log", dir);

        ck_assert_str_eq(logfile_path(lf), want);
        ck_assert_int_eq(logfile_write(lf, T, "stdout", "hello world", 11), 0);
        ck_assert_int_eq(logfile_write(lf, T + 1, "stderr", "warning: x", 10), 0);
        ck_assert_int_eq(logfile_write(lf, T + 876544, "stdout", "", 0), 0);
        ck_assert_int_eq(logfile_write(lf, 0, "stderr", "epoch", 5), 0);
        ck_assert_int_eq(logfile_write(lf, 951782400000007ULL, "stdout", "leap day", 8), 0);
        ck_assert_int_eq(logfile_dropped(lf), 0);
        logfile_close(lf);
        assert_file("svc.log", strdup(TS " stdout: hello world\n"
                                      "2026-11-26T22:10:00.123457Z stderr: warning: x\n"
                                      "2026-11-26T22:10:01.000000Z stdout: \n"
                                      "1970-01-01T00:00:00.000000Z stderr: epoch\n"
                                      "2000-02-29T00:00:00.000007Z stdout: leap day\n"));
        free(want);
}
END_TEST

START_TEST(test_escaping) {
        struct logfile *lf = open_log("svc", 0, 0);

        ck_assert_int_eq(put(lf, "tab\there"), 0);
        ck_assert_int_eq(put(lf, "\x01\x1b[31mred\x1b[0m"), 0);
        ck_assert_int_eq(logfile_write(lf, T, "stdout", "two\nlines", 9), 0);
        ck_assert_int_eq(logfile_write(lf, T, "stdout", "nul\0byte", 8), 0);
        ck_assert_int_eq(put(lf, "del\x7f"), 0);
        ck_assert_int_eq(put(lf, "caf\xc3\xa9 \xff\xfe bytes \x80"), 0);
        ck_assert_int_eq(put(lf, "back\\x41slash"), 0);
        ck_assert_int_eq(put(lf, "crlf\r"), 0);
        ck_assert_int_eq(put(lf, "two cr\r\r"), 0);
        ck_assert_int_eq(put(lf, "\rleading"), 0);
        ck_assert_int_eq(put(lf, "mid\rdle"), 0);
        ck_assert_int_eq(put(lf, "\r"), 0);
        ck_assert_int_eq(put(lf, "\x1f\x20"), 0);
        logfile_close(lf);
        assert_file("svc.log",
                    join(rec("tab\there"), rec("\\x01\\x1b[31mred\\x1b[0m"), rec("two\\x0alines"), rec("nul\\x00byte"),
                         rec("del\\x7f"), rec("caf\xc3\xa9 \xff\xfe bytes \x80"), rec("back\\x41slash"), rec("crlf"),
                         rec("two cr\\x0d"), rec("\\x0dleading"), rec("mid\\x0ddle"), rec(""), rec("\\x1f "), NULL));
}
END_TEST

static char *repeat(char c, size_t n) {
        char *s = malloc(n + 1);

        ck_assert_ptr_nonnull(s);
        memset(s, c, n);
        s[n] = 0;
        return s;
}

/* Writes text and checks that the file then holds exactly the records whose texts are
 * `pieces` (NULL-terminated, freed here); every line at most LOGFILE_LINE_MAX bytes. */
static void check_split(const char *text, size_t len, char **pieces) {
        struct logfile *lf = open_log("split", 0, 0);
        char *path = pv_test_fmt("%s/split.log", dir), *got;
        size_t want_len = 0, at = 0;

        ck_assert_int_eq(logfile_write(lf, T, "stdout", text, len), 0);
        logfile_close(lf);
        got = slurp(path, NULL);
        ck_assert_ptr_nonnull(got);
        for (size_t i = 0; pieces[i]; i++) {
                size_t n = strlen(pieces[i]), line;
                char *nl = strchr(got + at, '\n');

                ck_assert_msg(nl, "record %zu missing", i);
                line = (size_t)(nl - (got + at));
                ck_assert_uint_le(line + 1, LOGFILE_LINE_MAX);
                ck_assert_msg(strncmp(got + at, TS " stdout: ", PREFIX_LEN) == 0, "record %zu: no prefix", i);
                ck_assert_msg(line == PREFIX_LEN + n && memcmp(got + at + PREFIX_LEN, pieces[i], n) == 0,
                              "record %zu: got %zu bytes ending \"%s\", want %zu ending \"%s\"", i, line - PREFIX_LEN,
                              line > 20 ? nl - 20 : got + at, n, n > 20 ? pieces[i] + n - 20 : pieces[i]);
                at += line + 1;
                want_len = at;
                free(pieces[i]);
        }
        ck_assert_uint_eq(strlen(got), want_len);
        ck_assert_int_eq(unlink(path), 0);
        free(got);
        free(path);
}

/* n bytes of s, then the continuation mark. */
static char *cut(const char *s, size_t n) {
        return pv_test_fmt("%.*s%s", (int)n, s, CONT);
}

START_TEST(test_long_line_boundary) {
        char *a = repeat('a', ROOM + 1), *s;

        /* The text room: exactly one full record, 16 KiB with its newline. */
        ck_assert_uint_eq(PREFIX_LEN + ROOM + 1, LOGFILE_LINE_MAX);
        check_split(a, ROOM, (char *[]){ strdup(a + 1), NULL });
        /* One byte more: a first record ending in the mark, as full as the limit allows. */
        check_split(a, ROOM + 1, (char *[]){ cut(a, ROOM - CONT_LEN), strdup("aaaaa"), NULL });
        /* A trailing \r does not count: it is dropped first. */
        s = pv_test_fmt("%s\r", a + 1);
        check_split(s, ROOM + 1, (char *[]){ strdup(a + 1), NULL });
        free(s);

        /* An escape is never cut: "\x01" takes 4 bytes of room. */
        s = pv_test_fmt("%.*s\x01", (int)(ROOM - 4), a);
        check_split(s, ROOM - 3, (char *[]){ pv_test_fmt("%.*s\\x01", (int)(ROOM - 4), a), NULL });
        free(s);
        s = pv_test_fmt("%.*s\x01", (int)(ROOM - 1), a);
        check_split(s, ROOM, (char *[]){ cut(a, ROOM - CONT_LEN), strdup("aaa\\x01"), NULL });
        free(s);
        /* The cut after ROOM-5 'a's would fall inside "\x01": it moves before it. */
        s = pv_test_fmt("%.*s\x01zzzzzz", (int)(ROOM - 5), a);
        check_split(s, ROOM + 2, (char *[]){ cut(a, ROOM - 5), strdup("\\x01zzzzzz"), NULL });
        free(s);

        /* A line of escapes only: 4 bytes each, as many as fit. */
        s = repeat('\x01', 5000);
        {
                size_t first = (ROOM - CONT_LEN) / 4;
                char *p1 = malloc(4 * first + CONT_LEN + 1), *p2 = malloc(4 * (5000 - first) + 1);

                for (size_t i = 0; i < 5000; i++)
                        memcpy(i < first ? p1 + 4 * i : p2 + 4 * (i - first), "\\x01", 4);
                memcpy(p1 + 4 * first, CONT, CONT_LEN + 1);
                p2[4 * (5000 - first)] = 0;
                check_split(s, 5000, (char *[]){ p1, p2, NULL });
        }
        free(s);

        /* Nor is a UTF-8 sequence: "é" would straddle the cut. */
        s = pv_test_fmt("%.*s\xc3\xa9" "bcdef", (int)(ROOM - CONT_LEN - 1), a);
        check_split(s, strlen(s), (char *[]){ cut(a, ROOM - CONT_LEN - 1), strdup("\xc3\xa9" "bcdef"), NULL });
        free(s);
        /* A 4-byte sequence cut after its first, second or third byte. */
        for (int k = 1; k <= 3; k++) {
                s = pv_test_fmt("%.*s\xf0\x9f\x98\x80tail", (int)(ROOM - CONT_LEN - k), a);
                check_split(s, strlen(s),
                            (char *[]){ cut(a, ROOM - CONT_LEN - k), strdup("\xf0\x9f\x98\x80tail"), NULL });
                free(s);
        }
        /* Stray continuation bytes are not UTF-8 to protect: cut where the room ends. */
        s = repeat('\x80', ROOM + 1);
        check_split(s, ROOM + 1, (char *[]){ cut(s, ROOM - CONT_LEN), strdup("\x80\x80\x80\x80\x80"), NULL });
        free(s);
        free(a);
}
END_TEST

START_TEST(test_partial_lines) {
        struct logfile *lf = open_log("svc", 0, 0);
        char *a = repeat('a', ROOM + 1);

        /* A line in two calls: the first record says it goes on. */
        ck_assert_int_eq(logfile_write_partial(lf, T, "stdout", "abc", 3), 0);
        ck_assert_int_eq(logfile_write(lf, T, "stdout", "def\r", 4), 0);
        /* Nothing for an empty piece; a \r in a piece is not the line's end. */
        ck_assert_int_eq(logfile_write_partial(lf, T, "stderr", "", 0), 0);
        ck_assert_int_eq(logfile_write_partial(lf, T, "stderr", "x\r", 2), 0);
        ck_assert_int_eq(logfile_write(lf, T, "stderr", "", 0), 0);
        /* A piece longer than a record: every record is marked. */
        ck_assert_int_eq(logfile_write_partial(lf, T, "stdout", a, ROOM + 1), 0);
        ck_assert_int_eq(logfile_write(lf, T, "stdout", "end", 3), 0);
        logfile_close(lf);
        memcpy(a + ROOM - CONT_LEN, CONT, CONT_LEN + 1);
        assert_file("svc.log", join(rec("abc" CONT), rec("def"), strdup(TS " stderr: x\\x0d" CONT "\n"),
                                    strdup(TS " stderr: \n"), rec(a), rec("aaaaa" CONT), rec("end"), NULL));
        free(a);
}
END_TEST

START_TEST(test_long_line_many_records) {
        size_t len = 100000, at = 0, n_records = 0, got_len = 0;
        char *text = malloc(len), *path = pv_test_fmt("%s/big.log", dir), *got, *joined = malloc(len + 1);
        struct logfile *lf = open_log("big", 0, 0);
        size_t joined_len = 0;

        for (size_t i = 0; i < len; i++)
                text[i] = (char)('a' + i % 26);
        ck_assert_int_eq(logfile_write(lf, T, "stdout", text, len), 0);
        logfile_close(lf);
        got = slurp(path, &got_len);
        while (at < got_len) {
                char *nl = memchr(got + at, '\n', got_len - at);
                size_t line = (size_t)(nl - (got + at)), body = line - PREFIX_LEN;
                bool last;

                ck_assert_ptr_nonnull(nl);
                ck_assert_uint_le(line + 1, LOGFILE_LINE_MAX);
                last = nl + 1 == got + got_len;
                if (!last) {
                        ck_assert_uint_eq(line + 1, LOGFILE_LINE_MAX);
                        ck_assert(memcmp(nl - CONT_LEN, CONT, CONT_LEN) == 0);
                        body -= CONT_LEN;
                }
                memcpy(joined + joined_len, got + at + PREFIX_LEN, body);
                joined_len += body;
                at += line + 1;
                n_records++;
        }
        ck_assert_uint_eq(n_records, (len + ROOM - CONT_LEN - 1) / (ROOM - CONT_LEN));
        ck_assert_uint_eq(joined_len, len);
        ck_assert(memcmp(joined, text, len) == 0);
        free(text);
        free(joined);
        free(got);
        free(path);
}
END_TEST

START_TEST(test_bad_arguments) {
        struct logfile *lf = NULL;
        char *error = NULL, *stream = repeat('s', 65);

        ck_assert_int_eq(logfile_open(dir, "a/b", 0, 0, &lf, &error), -EINVAL);
        ck_assert_str_eq(error, "invalid log file name a/b: Invalid argument");
        free(error);
        ck_assert_int_eq(logfile_open(dir, "..", 0, 0, &lf, NULL), -EINVAL);
        ck_assert_int_eq(logfile_open(dir, "", 0, 0, &lf, NULL), -EINVAL);
        ck_assert_ptr_null(lf);

        lf = open_log("svc", 0, 0);
        ck_assert_int_eq(logfile_write(lf, T, stream, "x", 1), -EINVAL);
        stream[64] = 0;
        ck_assert_int_eq(logfile_write(lf, T, stream, "x", 1), 0);
        logfile_close(lf);
        logfile_close(NULL);
        free(stream);
}
END_TEST

/* --- rotation -------------------------------------------------------------------------------- */

/* "record-NNN": 10 bytes of text, a 47-byte record. */
#define R 47
static const char *nth(int i) {
        static char buf[32];
        snprintf(buf, sizeof(buf), "record-%03d", i);
        return buf;
}

static char *recs(int from, int to) {
        char *s = strdup("");

        for (int i = from; i <= to; i++) {
                char *r = rec(nth(i)), *t = pv_test_fmt("%s%s", s, r);
                free(r);
                free(s);
                s = t;
        }
        return s;
}

START_TEST(test_rotation_boundary) {
        struct logfile *lf = open_log("svc", 3 * R, 2);
        char *r1 = rec(nth(1));

        ck_assert_uint_eq(strlen(r1), R);
        free(r1);
        for (int i = 1; i <= 3; i++)
                ck_assert_int_eq(put(lf, nth(i)), 0);
        /* Exactly max_bytes: no rotation. */
        assert_file("svc.log", recs(1, 3));
        assert_file("svc.log.1", NULL);
        ck_assert_int_eq(put(lf, nth(4)), 0);
        assert_file("svc.log", recs(4, 4));
        assert_file("svc.log.1", recs(1, 3));
        logfile_close(lf);

        /* One byte more than fits: rotates first, the record goes whole into the new file. */
        teardown();
        setup();
        lf = open_log("svc", 3 * R, 2);
        ck_assert_int_eq(put(lf, nth(1)), 0);
        ck_assert_int_eq(put(lf, nth(2)), 0);
        ck_assert_int_eq(put(lf, "record-0003"), 0);
        assert_file("svc.log", rec("record-0003"));
        assert_file("svc.log.1", recs(1, 2));
        logfile_close(lf);

        /* A record larger than max_bytes: into an empty file as it is (no empty rotation),
         * and the next one rotates. */
        teardown();
        setup();
        lf = open_log("svc", 10, 2);
        ck_assert_int_eq(put(lf, nth(1)), 0);
        assert_file("svc.log", recs(1, 1));
        assert_file("svc.log.1", NULL);
        ck_assert_int_eq(put(lf, nth(2)), 0);
        assert_file("svc.log", recs(2, 2));
        assert_file("svc.log.1", recs(1, 1));
        logfile_close(lf);
}
END_TEST

/* Batching (one write per pipe read) keeps records, their order and every rotation
 * boundary exactly as unbatched writes do: nothing reaches the file before end, and what
 * was gathered goes to the right file. */
START_TEST(test_batching) {
        struct logfile *lf = open_log("svc", 2 * R, 3);
        struct stat st;
        char *path = pv_test_fmt("%s/svc.log", dir);

        logfile_begin(lf);
        ck_assert_int_eq(put(lf, nth(1)), 0);
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_int_eq(st.st_size, 0); /* gathered, not written yet */
        for (int i = 2; i <= 11; i++)
                ck_assert_int_eq(put(lf, nth(i)), 0);
        ck_assert_int_eq(logfile_end(lf), 0);
        assert_file("svc.log", recs(11, 11));
        assert_file("svc.log.1", recs(9, 10));
        assert_file("svc.log.2", recs(7, 8));
        assert_file("svc.log.3", recs(5, 6));
        assert_file("svc.log.4", NULL);
        /* After end, writes are immediate again. */
        ck_assert_int_eq(put(lf, nth(12)), 0);
        assert_file("svc.log", recs(11, 12));
        logfile_close(lf);
        free(path);

        /* More than a batch holds: flushed on the way, nothing lost or reordered. */
        teardown();
        setup();
        lf = open_log("svc", 0, 0);
        logfile_begin(lf);
        for (int i = 1; i <= 2000; i++)
                ck_assert_int_eq(put(lf, nth(i % 1000)), 0);
        logfile_close(lf); /* closing ends the batch */
        {
                char *a = recs(1, 999), *b = recs(0, 999), *c = recs(0, 0), *want = pv_test_fmt("%s%s%s", a, b, c);
                assert_file("svc.log", want);
                free(a);
                free(b);
                free(c);
        }
}
END_TEST

START_TEST(test_rotation_never) {
        struct logfile *lf = open_log("svc", 0, 3);

        for (int i = 1; i <= 50; i++)
                ck_assert_int_eq(put(lf, nth(i)), 0);
        logfile_close(lf);
        assert_file("svc.log", recs(1, 50));
        assert_file("svc.log.1", NULL);
}
END_TEST

/* One record per file (max_bytes = R), six records: five rotations. */
static void check_keep(unsigned keep) {
        struct logfile *lf = open_log("svc", R, keep);

        for (int i = 1; i <= 6; i++)
                ck_assert_int_eq(put(lf, nth(i)), 0);
        logfile_close(lf);
        assert_file("svc.log", recs(6, 6));
        for (unsigned i = 1; i <= keep + 1; i++) {
                char *name = pv_test_fmt("svc.log.%u", i);
                assert_file(name, i <= keep ? recs(6 - (int)i, 6 - (int)i) : NULL);
                free(name);
        }
}

START_TEST(test_keep_0) {
        check_keep(0);
}
END_TEST

START_TEST(test_keep_1) {
        check_keep(1);
}
END_TEST

START_TEST(test_keep_3) {
        check_keep(3);
        /* More records than files: each file holds what it should. */
        teardown();
        setup();
        struct logfile *lf = open_log("svc", 2 * R, 3);
        for (int i = 1; i <= 11; i++)
                ck_assert_int_eq(put(lf, nth(i)), 0);
        logfile_close(lf);
        assert_file("svc.log", recs(11, 11));
        assert_file("svc.log.1", recs(9, 10));
        assert_file("svc.log.2", recs(7, 8));
        assert_file("svc.log.3", recs(5, 6));
        assert_file("svc.log.4", NULL);
}
END_TEST

START_TEST(test_reopen_appends) {
        struct logfile *lf = open_log("svc", 2 * R, 1);

        ck_assert_int_eq(put(lf, nth(1)), 0);
        logfile_close(lf);
        /* The size already there counts towards max_bytes. */
        lf = open_log("svc", 2 * R, 1);
        ck_assert_int_eq(put(lf, nth(2)), 0);
        assert_file("svc.log", recs(1, 2));
        ck_assert_int_eq(put(lf, nth(3)), 0);
        assert_file("svc.log", recs(3, 3));
        assert_file("svc.log.1", recs(1, 2));
        logfile_close(lf);
}
END_TEST

/* The descriptor flags of the one we have open on path. */
static int fd_flags_of(const char *path) {
        for (int fd = 0; fd < 1024; fd++) {
                char link[64], target[4200];
                ssize_t n;

                snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
                n = readlink(link, target, sizeof(target) - 1);
                if (n < 0)
                        continue;
                target[n] = 0;
                if (strcmp(target, path) == 0)
                        return fcntl(fd, F_GETFD);
        }
        ck_abort_msg("no descriptor open on %s", path);
        return -1;
}

START_TEST(test_open_creates_directory) {
        char *sub = pv_test_fmt("%s/a/b/c", dir), *path = pv_test_fmt("%s/svc.log", sub);
        struct logfile *lf = NULL;
        char *error = NULL;
        struct stat st;

        ck_assert_int_eq(logfile_open(sub, "svc", 0, 0, &lf, &error), 0);
        ck_assert_str_eq(logfile_path(lf), path);
        ck_assert_int_eq(stat(sub, &st), 0);
        ck_assert(S_ISDIR(st.st_mode));
        ck_assert_int_eq(st.st_mode & 07777, 0755);
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_int_eq(st.st_mode & 07777, 0640);
        ck_assert_int_eq(fd_flags_of(path) & FD_CLOEXEC, FD_CLOEXEC);
        logfile_close(lf);
        free(sub);
        free(path);
}
END_TEST

/* Makes dir unwritable for us: as root, by becoming nobody (dir is 0700, root's). */
static void lose_access(void) {
        if (geteuid() == 0)
                ck_assert_int_eq(seteuid(65534), 0);
        else
                ck_assert_int_eq(chmod(dir, 0500), 0);
}

static void regain_access(void) {
        if (getuid() == 0)
                ck_assert_int_eq(seteuid(0), 0);
        else
                ck_assert_int_eq(chmod(dir, 0700), 0);
}

START_TEST(test_open_errors) {
        char *sub = pv_test_fmt("%s/sub/deeper", dir), *want, *error = NULL, *file = pv_test_fmt("%s/file", dir);
        struct logfile *lf = NULL;
        int r1, r2;
        char *e1 = NULL, *e2 = NULL;

        lose_access();
        r1 = logfile_open(dir, "svc", 0, 0, &lf, &e1);
        r2 = logfile_open(sub, "svc", 0, 0, &lf, &e2);
        regain_access();
        ck_assert_int_eq(r1, -EACCES);
        want = pv_test_fmt("cannot open log file %s/svc.log: Permission denied", dir);
        ck_assert_str_eq(e1, want);
        free(want);
        ck_assert_int_eq(r2, -EACCES);
        want = pv_test_fmt("cannot create log directory %s: Permission denied", sub);
        ck_assert_str_eq(e2, want);
        free(want);
        ck_assert_ptr_null(lf);

        /* Not a regular file: a FIFO must not hang the daemon in open(). */
        want = pv_test_fmt("%s/fifo.log", dir);
        ck_assert_int_eq(mkfifo(want, 0600), 0);
        ck_assert_int_eq(logfile_open(dir, "fifo", 0, 0, &lf, &error), -ENXIO);
        free(want);
        want = pv_test_fmt("cannot open log file %s/fifo.log: not a regular file", dir);
        ck_assert_str_eq(error, want);
        free(want);
        free(error);
        error = NULL;
        ck_assert_ptr_null(lf);

        /* A file where the directory should be. */
        pv_test_write_file(file, "", 0644);
        ck_assert_int_eq(logfile_open(file, "svc", 0, 0, &lf, &error), -ENOTDIR);
        want = pv_test_fmt("cannot open log file %s/svc.log: Not a directory", file);
        ck_assert_str_eq(error, want);
        free(want);
        free(error);
        free(e1);
        free(e2);
        free(sub);
        free(file);
}
END_TEST

START_TEST(test_rotation_fails) {
        struct logfile *lf = open_log("svc", 2 * R, 1);
        int r[7];

        ck_assert_int_eq(put(lf, nth(1)), 0);
        ck_assert_int_eq(put(lf, nth(2)), 0);
        lose_access();
        r[3] = put(lf, nth(3)); /* rotation refused: written anyway, to the same file */
        r[4] = put(lf, nth(4)); /* not retried before another max_bytes */
        r[5] = put(lf, nth(5)); /* retried, refused again */
        regain_access();
        r[6] = put(lf, nth(6));
        ck_assert_int_eq(r[3], -EACCES);
        ck_assert_int_eq(r[4], 0);
        ck_assert_int_eq(r[5], -EACCES);
        ck_assert_int_eq(r[6], 0);
        ck_assert_int_eq(logfile_dropped(lf), 0);
        assert_file("svc.log", recs(1, 6));
        assert_file("svc.log.1", NULL);
        ck_assert_int_eq(put(lf, nth(7)), 0); /* 7 records > 2 * 2R: rotates now */
        assert_file("svc.log", recs(7, 7));
        assert_file("svc.log.1", recs(1, 6));
        logfile_close(lf);
}
END_TEST

START_TEST(test_rotation_shift_blocked) {
        struct logfile *lf = open_log("svc", R, 2);
        char *d2 = pv_test_fmt("%s/svc.log.2", dir), *x = pv_test_fmt("%s/x", d2);

        ck_assert_int_eq(put(lf, nth(1)), 0);
        ck_assert_int_eq(put(lf, nth(2)), 0);
        /* svc.log.1 cannot become svc.log.2 (a non-empty directory): the shift stops, and
         * svc.log is not moved over svc.log.1. */
        ck_assert_int_eq(mkdir(d2, 0755), 0);
        ck_assert_int_eq(mkdir(x, 0755), 0);
        ck_assert_int_eq(put(lf, nth(3)), -EISDIR);
        assert_file("svc.log.1", recs(1, 1));
        assert_file("svc.log", recs(2, 3));
        ck_assert_int_eq(rmdir(x), 0);
        ck_assert_int_eq(rmdir(d2), 0);
        /* Retried after another max_bytes, and then it works. */
        ck_assert_int_eq(put(lf, nth(4)), 0);
        assert_file("svc.log.2", recs(1, 1));
        assert_file("svc.log.1", recs(2, 3));
        assert_file("svc.log", recs(4, 4));
        ck_assert_int_eq(logfile_dropped(lf), 0);
        logfile_close(lf);
        free(d2);
        free(x);
}
END_TEST

START_TEST(test_rotation_cannot_create) {
        struct logfile *lf = open_log("svc", R, 2);
        struct rlimit rl;
        int fds[256], n = 0, r2, r3;

        ck_assert_int_eq(put(lf, nth(1)), 0);
        /* No descriptor left: the rename works, the new file cannot be opened. */
        ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
        rl.rlim_cur = 64;
        ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
        while (n < (int)(sizeof(fds) / sizeof(fds[0]))) {
                int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (fd < 0) {
                        ck_assert_int_eq(errno, EMFILE);
                        break;
                }
                fds[n++] = fd;
        }
        ck_assert_int_gt(n, 0);
        r2 = put(lf, nth(2));
        close(fds[--n]);
        r3 = put(lf, nth(3));
        while (n > 0) /* the checks below open files too */
                close(fds[--n]);
        ck_assert_int_eq(r2, -EMFILE);
        ck_assert_int_eq(r3, 0);
        ck_assert_int_eq(logfile_dropped(lf), 0);
        /* Record 2 went to the file it had, now svc.log.1; record 3 to a new svc.log. */
        assert_file("svc.log.1", recs(1, 2));
        assert_file("svc.log", recs(3, 3));
        logfile_close(lf);
}
END_TEST

/* --- a full disk ------------------------------------------------------------------------------ */

/* RLIMIT_FSIZE stands in for a full disk: past the limit, write() is partial, then fails
 * with EFBIG (SIGXFSZ ignored).  It runs in a child of its own, so that the limit cannot
 * touch Check's files; the child reports the return values through a pipe. */
enum { N_RESULTS = 12 };

static void fsize_limit(rlim_t cur) {
        struct rlimit rl = { cur, RLIM_INFINITY };
        if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
                _exit(3);
}

static void full_disk_child(int out) {
        int64_t v[N_RESULTS];
        struct logfile *lf = NULL;
        int i = 0;

        signal(SIGXFSZ, SIG_IGN);
        if (logfile_open(dir, "svc", 0, 0, &lf, NULL) < 0)
                _exit(2);
        fsize_limit(2 * R + 6);
        v[i++] = put(lf, nth(1));
        v[i++] = put(lf, nth(2));
        v[i++] = put(lf, nth(3)); /* 6 bytes fit, 41 dropped */
        v[i++] = put(lf, nth(4)); /* the notice cannot be written: 47 more dropped */
        v[i++] = (int64_t)logfile_dropped(lf);
        fsize_limit(RLIM_INFINITY);
        v[i++] = put(lf, nth(5));
        v[i++] = (int64_t)logfile_dropped(lf);
        /* A second gap reports its own bytes only; no cut record this time. */
        fsize_limit(2 * R + 6 + 1 + 72 + R);
        v[i++] = put(lf, nth(6));
        v[i++] = (int64_t)logfile_dropped(lf);
        fsize_limit(RLIM_INFINITY);
        v[i++] = put(lf, nth(7));
        v[i++] = (int64_t)logfile_dropped(lf);
        v[i++] = put(lf, nth(8));
        logfile_close(lf);
        if (write(out, v, sizeof(v)) != sizeof(v))
                _exit(4);
        _exit(0);
}

START_TEST(test_full_disk) {
        int64_t v[N_RESULTS];
        int p[2], status;
        char *r3, *notice1, *notice2;
        pid_t pid;

        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                close(p[0]);
                full_disk_child(p[1]);
        }
        close(p[1]);
        ck_assert_int_eq(read(p[0], v, sizeof(v)), sizeof(v));
        close(p[0]);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_int_eq(status, 0);

        ck_assert_int_eq(v[0], 0);
        ck_assert_int_eq(v[1], 0);
        ck_assert_int_eq(v[2], -EFBIG);
        ck_assert_int_eq(v[3], -EFBIG);
        ck_assert_int_eq(v[4], 41 + 47);
        ck_assert_int_eq(v[5], 0);
        ck_assert_int_eq(v[6], 41 + 47);
        ck_assert_int_eq(v[7], -EFBIG);
        ck_assert_int_eq(v[8], 41 + 47 + 47);
        ck_assert_int_eq(v[9], 0);
        ck_assert_int_eq(v[10], 41 + 47 + 47);
        ck_assert_int_eq(v[11], 0);

        /* Record 3 as far as it got, ended by a newline, then the notice. */
        r3 = rec(nth(3));
        r3[6] = 0;
        notice1 = strdup(TS " pidvisor: 88 bytes dropped (File too large)\n");
        notice2 = strdup(TS " pidvisor: 47 bytes dropped (File too large)\n");
        ck_assert_uint_eq(strlen(notice1), 72);
        assert_file("svc.log", join(recs(1, 2), r3, strdup("\n"), notice1, recs(5, 5), notice2, recs(7, 8), NULL));
}
END_TEST

/* The notice is a record like any other: it can trigger a rotation, and it goes first in
 * the new file. */
static void full_disk_rotation_child(int out) {
        int64_t v[3];
        struct logfile *lf = NULL;

        signal(SIGXFSZ, SIG_IGN);
        if (logfile_open(dir, "svc", 2 * R, 1, &lf, NULL) < 0)
                _exit(2);
        v[0] = put(lf, nth(1));
        fsize_limit(R);
        v[1] = put(lf, nth(2));
        fsize_limit(RLIM_INFINITY);
        v[2] = put(lf, nth(3));
        logfile_close(lf);
        if (write(out, v, sizeof(v)) != sizeof(v))
                _exit(4);
        _exit(0);
}

START_TEST(test_full_disk_then_rotation) {
        int64_t v[3];
        int p[2], status;
        pid_t pid;

        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                close(p[0]);
                full_disk_rotation_child(p[1]);
        }
        close(p[1]);
        ck_assert_int_eq(read(p[0], v, sizeof(v)), sizeof(v));
        close(p[0]);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_int_eq(status, 0);
        ck_assert_int_eq(v[0], 0);
        ck_assert_int_eq(v[1], -EFBIG);
        ck_assert_int_eq(v[2], 0);
        /* 47 + 72 + 47 > 94: rotated before the notice. */
        assert_file("svc.log.1", recs(1, 1));
        assert_file("svc.log", join(strdup(TS " pidvisor: 47 bytes dropped (File too large)\n"), recs(3, 3), NULL));
}
END_TEST

/* --- many lines at once (logfile_write_lines) --------------------------------------------- */

static int put_lines(struct logfile *lf, uint64_t t, const char *stream, const char *text) {
        return logfile_write_lines(lf, t, stream, text, strlen(text));
}

/* Every line of one call gets the call's time and stream; the next call formats its own. */
START_TEST(test_lines_prefix) {
        struct logfile *lf = open_log("svc", 0, 0);

        ck_assert_int_eq(put_lines(lf, T, "stdout", "one\ntwo\n\nfour\n"), 0);
        /* Another read: a later time, and the other stream. */
        ck_assert_int_eq(put_lines(lf, T + 1, "stderr", "five\nsix"), 0);
        /* The same time again, the first stream: the prefix is not the last one's. */
        ck_assert_int_eq(put_lines(lf, T + 1, "stdout", "seven\n"), 0);
        /* A whole second later: the date part changes too. */
        ck_assert_int_eq(put_lines(lf, T + 1000000, "stdout", "eight\n"), 0);
        ck_assert_int_eq(logfile_write_lines(lf, T, "stdout", "", 0), 0);
        ck_assert_int_eq(logfile_write_lines(lf, T, "stdout", NULL, 0), 0);
        ck_assert_int_eq(logfile_dropped(lf), 0);
        logfile_close(lf);
        assert_file("svc.log", join(rec("one"), rec("two"), rec(""), rec("four"),
                                    strdup("2026-11-26T22:10:00.123457Z stderr: five\n"),
                                    strdup("2026-11-26T22:10:00.123457Z stderr: six\n"),
                                    strdup("2026-11-26T22:10:00.123457Z stdout: seven\n"),
                                    strdup("2026-11-26T22:10:01.123456Z stdout: eight\n"), NULL));
}
END_TEST

START_TEST(test_lines_bad_arguments) {
        struct logfile *lf = open_log("svc", 0, 0);
        char *stream = repeat('s', 65);

        ck_assert_int_eq(logfile_write_lines(lf, T, stream, "x\n", 2), -EINVAL);
        ck_assert_int_eq(logfile_write_lines(lf, T, "stdout", NULL, 2), -EINVAL);
        logfile_close(lf);
        assert_file("svc.log", strdup(""));
        free(stream);
}
END_TEST

START_TEST(test_lines_escapes) {
        struct logfile *lf = open_log("svc", 0, 0);
        static const char text[] = "tab\there\n"
                                   "\x01\x1b[31mred\x1b[0m\n"
                                   "nul\0byte\n"
                                   "del\x7f\n"
                                   "caf\xc3\xa9 \xff\xfe bytes \x80\n"
                                   "back\\x41slash\n"
                                   "crlf\r\n"
                                   "two cr\r\r\n"
                                   "\rleading\n"
                                   "mid\rdle\n"
                                   "\r\n"
                                   "\x1f\x20\n"
                                   /* Past the 16- and 8-byte steps: a late escape, a late tab. */
                                   "0123456789abcdef0123456789ab\x1b\n"
                                   "0123456789abcdef01234567\tx\n"
                                   "last, with a trailing cr\r";

        ck_assert_int_eq(logfile_write_lines(lf, T, "stdout", text, sizeof(text) - 1), 0);
        logfile_close(lf);
        assert_file("svc.log",
                    join(rec("tab\there"), rec("\\x01\\x1b[31mred\\x1b[0m"), rec("nul\\x00byte"), rec("del\\x7f"),
                         rec("caf\xc3\xa9 \xff\xfe bytes \x80"), rec("back\\x41slash"), rec("crlf"), rec("two cr\\x0d"),
                         rec("\\x0dleading"), rec("mid\\x0ddle"), rec(""), rec("\\x1f "),
                         rec("0123456789abcdef0123456789ab\\x1b"), rec("0123456789abcdef01234567\tx"),
                         rec("last, with a trailing cr"), NULL));
}
END_TEST

/* The record of n bytes of s, marked as continued. */
static char *rec_cut(const char *s, size_t n) {
        char *c = cut(s, n), *r = rec(c);

        free(c);
        return r;
}

/* A line that just fits one record takes the fast way; one byte (or one escape) more
 * takes the general one, split with the continuation mark; the lines around them stay in
 * order. */
START_TEST(test_lines_long) {
        char *a = repeat('a', 3 * ROOM), *text;
        struct logfile *lf = open_log("svc", 0, 0);

        text = pv_test_fmt("short\n%.*s\nmiddle\n%.*s\n%.*s\x01\n%.*s\nend\n", (int)ROOM, a, (int)(ROOM + 1), a,
                           (int)(ROOM - 3), a, (int)(2 * ROOM + 7), a);
        ck_assert_int_eq(put_lines(lf, T, "stdout", text), 0);
        logfile_close(lf);
        assert_file("svc.log",
                    join(rec("short"), rec(a + 2 * ROOM), rec("middle"), rec_cut(a, ROOM - CONT_LEN), rec("aaaaa"),
                         rec_cut(a, ROOM - CONT_LEN), rec("a\\x01"), rec_cut(a, ROOM - CONT_LEN),
                         rec_cut(a, ROOM - CONT_LEN), rec(a + 3 * ROOM - (2 * ROOM + 7 - 2 * (ROOM - CONT_LEN))),
                         rec("end"), NULL));
        free(text);
        free(a);
}
END_TEST

/* A small pseudo-random generator, so that a failure can be replayed. */
static uint32_t rnd_state;
static uint32_t rnd(void) {
        rnd_state ^= rnd_state << 13;
        rnd_state ^= rnd_state >> 17;
        rnd_state ^= rnd_state << 5;
        return rnd_state;
}

/* Lines that take every path of the record builder: plain runs of every length around its
 * 8- and 16-byte steps, each byte that needs a look at every offset, CRLF endings, lines
 * around the record limit and far over it, UTF-8 at the cuts.  Returns the length. */
static size_t make_text(char *buf, size_t cap, uint32_t seed) {
        static const char special[] = "\t\r\x00\x01\x1b\x1f\x7f"; /* no newline */
        static const unsigned char lead[] = { 0xc3, 0xe2, 0xf0 };
        size_t len = 0;

        rnd_state = seed;
        while (len + 3 * LOGFILE_LINE_MAX < cap) {
                uint32_t kind = rnd() % 100;
                size_t n = kind < 90 ? rnd() % 90 : kind < 95 ? ROOM - 40 + rnd() % 80 : rnd() % (3 * ROOM);

                for (size_t i = 0; i < n; i++) {
                        uint32_t x = rnd() % 64;
                        char c = x < 2    ? special[rnd() % (sizeof(special) - 1)]
                                 : x < 3  ? (char)lead[rnd() % sizeof(lead)] /* starts a UTF-8 sequence */
                                 : x < 5  ? (char)(0x80 + rnd() % 64)
                                          : (char)(0x20 + rnd() % 0x5f);
                        buf[len++] = c;
                }
                if (kind % 7 == 0)
                        buf[len++] = '\r';
                buf[len++] = '\n';
        }
        if (rnd() % 2) /* a last line without its newline */
                for (int i = 0; i < 20; i++)
                        buf[len++] = (char)('a' + i);
        return len;
}

/* The lines of text[0..len), each written with logfile_write(): what logfile_write_lines()
 * must give. */
static void write_each(struct logfile *lf, uint64_t t, const char *text, size_t len) {
        const char *p = text, *end = text + len;

        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                size_t n = (size_t)((nl ? nl : end) - p);

                ck_assert_int_eq(logfile_write(lf, t, "stdout", p, n), 0);
                p += n + 1;
        }
}

/* Where text[0..len) may be cut into reads for logfile_write_lines(): after a newline. */
static size_t next_cut(const char *text, size_t len, size_t from, size_t step) {
        const char *nl;

        if (from + step >= len)
                return len;
        nl = memchr(text + from + step, '\n', len - from - step);
        return nl ? (size_t)(nl - text) + 1 : len;
}

static void check_same_files(const char *a, const char *b, unsigned keep) {
        for (unsigned i = 0; i <= keep + 1; i++) {
                char *pa = i ? pv_test_fmt("%s/%s.%u", dir, a, i) : pv_test_fmt("%s/%s", dir, a);
                char *pb = i ? pv_test_fmt("%s/%s.%u", dir, b, i) : pv_test_fmt("%s/%s", dir, b);
                char *ga = slurp(pa, NULL), *gb = slurp(pb, NULL);

                ck_assert_msg(!ga == !gb, "%s %s, %s %s", pa, ga ? "exists" : "does not exist", pb,
                              gb ? "exists" : "does not exist");
                if (ga) {
                        size_t at = 0;
                        while (ga[at] && ga[at] == gb[at])
                                at++;
                        ck_assert_msg(strcmp(ga, gb) == 0, "%s and %s differ at byte %zu of %zu/%zu: \"%.80s\" / \"%.80s\"",
                                      pa, pb, at, strlen(ga), strlen(gb), ga + at, gb + at);
                }
                free(ga);
                free(gb);
                free(pa);
                free(pb);
        }
}

/* The same text as one record per logfile_write() and as whole reads through
 * logfile_write_lines(), batched or not, cut into reads of several sizes: the files are
 * the same, byte for byte. */
START_TEST(test_lines_same_as_one_by_one) {
        size_t cap = 600 * 1024, len;
        char *text = malloc(cap);

        ck_assert_ptr_nonnull(text);
        for (uint32_t seed = 1; seed <= 4; seed++) {
                struct logfile *ref = open_log("ref", 0, 0), *lf = open_log("lines", 0, 0);
                size_t step = seed == 1 ? cap : seed == 2 ? 1 : seed == 3 ? 4000 : 70000;

                len = make_text(text, cap, seed);
                write_each(ref, T, text, len);
                for (size_t at = 0, to; at < len; at = to) {
                        to = next_cut(text, len, at, step);
                        if (seed % 2)
                                logfile_begin(lf);
                        ck_assert_int_eq(logfile_write_lines(lf, T, "stdout", text + at, to - at), 0);
                        if (seed % 2)
                                ck_assert_int_eq(logfile_end(lf), 0);
                }
                logfile_close(ref);
                logfile_close(lf);
                check_same_files("ref.log", "lines.log", 0);
                teardown();
                setup();
        }
        free(text);
}
END_TEST

/* Rotation with the records of whole reads gathered in a batch: the boundaries are where
 * single writes put them (a record is never split between files, an empty file is never
 * rotated, a record larger than max_bytes goes alone into a new file). */
START_TEST(test_lines_rotation_boundary) {
        struct logfile *lf = open_log("svc", 2 * R, 3);
        char *text = NULL;

        for (int i = 1; i <= 11; i++) {
                char *t = pv_test_fmt("%s%s\n", text ? text : "", nth(i));
                free(text);
                text = t;
        }
        logfile_begin(lf);
        ck_assert_int_eq(put_lines(lf, T, "stdout", text), 0);
        ck_assert_int_eq(logfile_end(lf), 0);
        assert_file("svc.log", recs(11, 11));
        assert_file("svc.log.1", recs(9, 10));
        assert_file("svc.log.2", recs(7, 8));
        assert_file("svc.log.3", recs(5, 6));
        assert_file("svc.log.4", NULL);
        logfile_close(lf);
        free(text);

        /* Exactly max_bytes: no rotation; one byte over: rotated before the record. */
        teardown();
        setup();
        lf = open_log("svc", 3 * R, 2);
        logfile_begin(lf);
        ck_assert_int_eq(put_lines(lf, T, "stdout", "record-001\nrecord-002\nrecord-003\n"), 0);
        ck_assert_int_eq(put_lines(lf, T, "stdout", "record-0004\nrecord-005\n"), 0);
        ck_assert_int_eq(logfile_end(lf), 0);
        assert_file("svc.log", join(rec("record-0004"), rec("record-005"), NULL));
        assert_file("svc.log.1", recs(1, 3));
        logfile_close(lf);

        /* Records larger than max_bytes, each alone in its file. */
        teardown();
        setup();
        lf = open_log("svc", 10, 5);
        logfile_begin(lf);
        ck_assert_int_eq(put_lines(lf, T, "stdout", "record-001\nrecord-002\nrecord-003"), 0);
        ck_assert_int_eq(logfile_end(lf), 0);
        assert_file("svc.log", recs(3, 3));
        assert_file("svc.log.1", recs(2, 2));
        assert_file("svc.log.2", recs(1, 1));
        logfile_close(lf);
}
END_TEST

/* Many reads of lines of every length, long ones included, with rotation, in batches of
 * several reads: the files are the same as with one write per record. */
START_TEST(test_lines_rotation_same_as_one_by_one) {
        size_t cap = 400 * 1024, len;
        char *text = malloc(cap);
        struct logfile *ref = open_log("ref", 50000, 4), *lf = open_log("lines", 50000, 4);

        ck_assert_ptr_nonnull(text);
        len = make_text(text, cap, 7);
        write_each(ref, T, text, len);
        logfile_begin(lf);
        for (size_t at = 0, to, n = 0; at < len; at = to, n++) {
                to = next_cut(text, len, at, 3000);
                ck_assert_int_eq(logfile_write_lines(lf, T, "stdout", text + at, to - at), 0);
                if (n % 5 == 4) { /* a wakeup reads several times, then ends its batch */
                        ck_assert_int_eq(logfile_end(lf), 0);
                        logfile_begin(lf);
                }
        }
        ck_assert_int_eq(logfile_end(lf), 0);
        logfile_close(ref);
        logfile_close(lf);
        check_same_files("ref.log", "lines.log", 4);
        free(text);
}
END_TEST

/* The batch buffer is one for all files: a second file that begins a batch meanwhile
 * writes record by record, and gets the buffer once the first has ended its batch. */
START_TEST(test_lines_shared_batch) {
        struct logfile *one = open_log("one", 0, 0), *two = open_log("two", 0, 0);
        char *p1 = pv_test_fmt("%s/one.log", dir), *p2 = pv_test_fmt("%s/two.log", dir);
        struct stat st;

        logfile_begin(one);
        logfile_begin(two);
        ck_assert_int_eq(put_lines(two, T, "stdout", "two-a\n"), 0);
        ck_assert_int_eq(put_lines(one, T, "stdout", "one-a\n"), 0);
        ck_assert_int_eq(stat(p2, &st), 0);
        ck_assert_int_eq(st.st_size, strlen(TS " stdout: two-a\n")); /* written at once */
        ck_assert_int_eq(stat(p1, &st), 0);
        ck_assert_int_eq(st.st_size, 0); /* gathered */
        ck_assert_int_eq(logfile_end(two), 0);
        ck_assert_int_eq(logfile_end(one), 0);
        ck_assert_int_eq(stat(p1, &st), 0);
        ck_assert_int_eq(st.st_size, strlen(TS " stdout: one-a\n"));

        logfile_begin(two);
        ck_assert_int_eq(put_lines(two, T, "stdout", "two-b\n"), 0);
        ck_assert_int_eq(stat(p2, &st), 0);
        ck_assert_int_eq(st.st_size, strlen(TS " stdout: two-a\n")); /* gathered now */
        logfile_close(two); /* ends the batch, and frees the buffer for others */
        logfile_begin(one);
        ck_assert_int_eq(put_lines(one, T, "stdout", "one-b\n"), 0);
        ck_assert_int_eq(stat(p1, &st), 0);
        ck_assert_int_eq(st.st_size, strlen(TS " stdout: one-a\n"));
        logfile_close(one);
        assert_file("one.log", join(rec("one-a"), rec("one-b"), NULL));
        assert_file("two.log", join(rec("two-a"), rec("two-b"), NULL));
        free(p1);
        free(p2);
}
END_TEST

/* A batch that cannot be written: every record that did not reach the file whole goes to
 * the drop hook (the one cut short too), and the count is of the bytes missing. */
struct hook_log {
        char text[1024];
        size_t len;
        int calls;
};

static void hook(void *data, const char *record, size_t len) {
        struct hook_log *h = data;

        if (h->len + len + 1 < sizeof(h->text)) {
                memcpy(h->text + h->len, record, len);
                h->len += len;
                h->text[h->len++] = '|';
        }
        h->calls++;
}

static void drop_hook_child(int out) {
        struct hook_log h = { .len = 0 };
        int64_t v[6];
        struct logfile *lf = NULL;
        char *text = NULL;

        signal(SIGXFSZ, SIG_IGN);
        if (logfile_open(dir, "svc", 0, 0, &lf, NULL) < 0)
                _exit(2);
        logfile_set_drop_hook(lf, hook, &h);
        for (int i = 1; i <= 6; i++) {
                char *t = pv_test_fmt("%s%s\n", text ? text : "", nth(i));
                free(text);
                text = t;
        }
        fsize_limit(2 * R + 6);
        logfile_begin(lf);
        v[0] = put_lines(lf, T, "stdout", text); /* gathered: nothing written yet */
        v[1] = logfile_end(lf);                  /* 2 records and 6 bytes fit */
        v[2] = (int64_t)logfile_dropped(lf);
        v[3] = h.calls;
        fsize_limit(RLIM_INFINITY);
        v[4] = put_lines(lf, T, "stdout", "after\n");
        v[5] = h.calls;
        logfile_close(lf);
        free(text);
        if (write(out, v, sizeof(v)) != sizeof(v) || write(out, &h, sizeof(h)) != sizeof(h))
                _exit(4);
        _exit(0);
}

START_TEST(test_lines_drop_hook) {
        struct hook_log h;
        int64_t v[6];
        int p[2], status;
        char *r3, *want;
        pid_t pid;

        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                close(p[0]);
                drop_hook_child(p[1]);
        }
        close(p[1]);
        ck_assert_int_eq(read(p[0], v, sizeof(v)), sizeof(v));
        ck_assert_int_eq(read(p[0], &h, sizeof(h)), sizeof(h));
        close(p[0]);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_int_eq(status, 0);

        ck_assert_int_eq(v[0], 0);
        ck_assert_int_eq(v[1], -EFBIG);
        ck_assert_int_eq(v[2], 6 * R - (2 * R + 6));
        ck_assert_int_eq(v[3], 4); /* records 3 (cut short) to 6 */
        ck_assert_int_eq(v[4], 0);
        ck_assert_int_eq(v[5], 4); /* the notice is not a record of the service's */
        want = join(rec(nth(3)), rec(nth(4)), rec(nth(5)), rec(nth(6)), NULL);
        for (char *c = want; *c; c++)
                if (*c == '\n')
                        *c = '|';
        ck_assert_uint_eq(h.len, strlen(want));
        ck_assert(memcmp(h.text, want, h.len) == 0);
        free(want);

        r3 = rec(nth(3));
        r3[6] = 0;
        assert_file("svc.log",
                    join(recs(1, 2), r3, pv_test_fmt("\n" TS " pidvisor: %d bytes dropped (File too large)\n", 6 * R - (2 * R + 6)),
                         rec("after"), NULL));
}
END_TEST

int main(void) {
        Suite *s = pv_test_suite("logfile");
        TCase *records = pv_test_case("records"), *rotation = pv_test_case("rotation"),
              *errors = pv_test_case("errors"), *lines = pv_test_case("lines");

        tcase_add_checked_fixture(records, setup, teardown);
        tcase_add_test(records, test_record_format);
        tcase_add_test(records, test_escaping);
        tcase_add_test(records, test_long_line_boundary);
        tcase_add_test(records, test_partial_lines);
        tcase_add_test(records, test_long_line_many_records);
        tcase_add_test(records, test_bad_arguments);
        pv_test_add(s, records, NULL);

        tcase_add_checked_fixture(rotation, setup, teardown);
        tcase_add_test(rotation, test_rotation_boundary);
        tcase_add_test(rotation, test_rotation_never);
        tcase_add_test(rotation, test_batching);
        tcase_add_test(rotation, test_keep_0);
        tcase_add_test(rotation, test_keep_1);
        tcase_add_test(rotation, test_keep_3);
        tcase_add_test(rotation, test_reopen_appends);
        pv_test_add(s, rotation, NULL);

        tcase_add_checked_fixture(lines, setup, teardown);
        tcase_add_test(lines, test_lines_prefix);
        tcase_add_test(lines, test_lines_bad_arguments);
        tcase_add_test(lines, test_lines_escapes);
        tcase_add_test(lines, test_lines_long);
        tcase_add_test(lines, test_lines_same_as_one_by_one);
        tcase_add_test(lines, test_lines_rotation_boundary);
        tcase_add_test(lines, test_lines_rotation_same_as_one_by_one);
        tcase_add_test(lines, test_lines_shared_batch);
        tcase_add_test(lines, test_lines_drop_hook);
        pv_test_add(s, lines, NULL);

        tcase_add_checked_fixture(errors, setup, teardown);
        tcase_add_test(errors, test_open_creates_directory);
        tcase_add_test(errors, test_open_errors);
        tcase_add_test(errors, test_rotation_fails);
        tcase_add_test(errors, test_rotation_shift_blocked);
        tcase_add_test(errors, test_rotation_cannot_create);
        tcase_add_test(errors, test_full_disk);
        tcase_add_test(errors, test_full_disk_then_rotation);
        pv_test_add(s, errors, NULL);
        return pv_test_main(s);
}
