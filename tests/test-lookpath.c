/* SPDX-License-Identifier: MIT */
/* pv_lookpath: Go's exec.LookPath, including the 1.19 refusal of the current directory. */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pidvisor/spawn.h>

#include "testlib.h"

/* A directory made once per case in the runner process (an unchecked fixture), so that it
 * is removed even when a test fails; every test makes its own directories inside it. */
static char *base;

static void base_setup(void) {
        base = pv_test_mkdtemp();
        ck_assert_int_eq(chmod(base, 0755), 0);
}

static void base_teardown(void) {
        pv_test_rmtree(base);
        free(base);
        base = NULL;
}

static char *join(const char *a, const char *b) {
        char *p;

        ck_assert_int_ne(asprintf(&p, "%s/%s", a, b), -1);
        return p;
}

static char *cat3(const char *a, const char *b, const char *c) {
        char *p;

        ck_assert_int_ne(asprintf(&p, "%s%s%s", a, b, c), -1);
        return p;
}

/* A fresh 0755 directory under base. */
static char *newdir(void) {
        char *p = join(base, "d.XXXXXX");

        ck_assert_msg(mkdtemp(p), "mkdtemp %s: %s", p, strerror(errno));
        ck_assert_int_eq(chmod(p, 0755), 0);
        return p;
}

static char *prog(const char *dir, const char *name, int mode) {
        char *p = join(dir, name);

        pv_test_write_file(p, "#!/bin/sh\nexit 0\n", mode);
        return p;
}

static char *subdir(const char *dir, const char *name) {
        char *p = join(dir, name);

        ck_assert_msg(mkdir(p, 0755) == 0, "mkdir %s: %s", p, strerror(errno));
        return p;
}

/* Looks name up and checks success with the expected result. */
static void expect_found(const char *name, const char *list, const char *want) {
        struct pv_error e = { 0 };
        char *got = NULL;
        int r = pv_lookpath(name, list, &got, &e);

        ck_assert_msg(r == 0, "lookpath(\"%s\", \"%s\") = %d (%s), want %s", name,
                      list ? list : "(null)", r, e.message, want);
        ck_assert_str_eq(got, want);
        ck_assert_int_eq(e.code, 0); /* err is only filled on failure */
        free(got);
}

/* Checks failure with the expected code and exact message, and that *ret is untouched. */
static void expect_error(const char *name, const char *list, int code, const char *message) {
        struct pv_error e = { 0 };
        char sentinel[] = "untouched";
        char *got = sentinel;
        int r = pv_lookpath(name, list, &got, &e);

        ck_assert_msg(r == code, "lookpath(\"%s\", \"%s\") = %d (%s), want %d", name,
                      list ? list : "(null)", r, r == 0 ? got : e.message, code);
        ck_assert_int_eq(e.code, code);
        ck_assert_str_eq(e.message, message);
        ck_assert_ptr_eq(got, sentinel);
        /* The same answer without an error to fill. */
        ck_assert_int_eq(pv_lookpath(name, list, &got, NULL), code);
        ck_assert_ptr_eq(got, sentinel);
}

static const char *not_found(const char *name) {
        static char buf[256];

        snprintf(buf, sizeof(buf), "\"%s\": executable file not found in $PATH", name);
        return buf;
}

START_TEST(test_found) {
        char *d = newdir(), *p = prog(d, "prog", 0755);

        expect_found("prog", d, p);
        free(p);
        free(d);
}
END_TEST

START_TEST(test_first_match_wins) {
        char *d1 = newdir(), *d2 = newdir(), *p1 = prog(d1, "prog", 0755),
             *p2 = prog(d2, "prog", 0755);
        char *l12 = cat3(d1, ":", d2), *l21 = cat3(d2, ":", d1);

        expect_found("prog", l12, p1);
        expect_found("prog", l21, p2);
        free(l12);
        free(l21);
        free(p1);
        free(p2);
        free(d1);
        free(d2);
}
END_TEST

START_TEST(test_skips_missing_dirs) {
        char *d = newdir(), *p = prog(d, "prog", 0755);
        char *gone = join(base, "no-such-dir"), *l1 = cat3(gone, ":", d);

        expect_found("prog", l1, p);
        free(l1);
        free(gone);
        free(p);
        free(d);
}
END_TEST

START_TEST(test_skips_non_executable) {
        char *d1 = newdir(), *d2 = newdir();
        char *p1 = prog(d1, "prog", 0644), *p2 = prog(d2, "prog", 0755);
        char *l12 = cat3(d1, ":", d2);

        /* Mode 0644 has no execute bit: skipped (even by root), the search goes on. */
        expect_found("prog", l12, p2);
        expect_error("prog", d1, -ENOENT, not_found("prog"));
        free(l12);
        free(p1);
        free(p2);
        free(d1);
        free(d2);
}
END_TEST

START_TEST(test_skips_directory) {
        char *d1 = newdir(), *d2 = newdir();
        char *s = subdir(d1, "prog"), *p2 = prog(d2, "prog", 0755);
        char *l12 = cat3(d1, ":", d2);

        /* A directory has execute bits but is no program. */
        expect_found("prog", l12, p2);
        expect_error("prog", d1, -ENOENT, not_found("prog"));
        free(l12);
        free(s);
        free(p2);
        free(d1);
        free(d2);
}
END_TEST

START_TEST(test_symlink) {
        char *d1 = newdir(), *d2 = newdir(), *target = prog(d1, "real", 0755);
        char *link = join(d2, "prog"), *dangling = join(d1, "prog");
        char *l12 = cat3(d1, ":", d2);

        /* A dangling link is skipped; a link to a program is found under its own name. */
        ck_assert_int_eq(symlink(target, link), 0);
        ck_assert_int_eq(symlink("/nonexistent/pv-target", dangling), 0);
        expect_found("prog", l12, link);
        free(l12);
        free(link);
        free(dangling);
        free(target);
        free(d1);
        free(d2);
}
END_TEST

START_TEST(test_not_found) {
        char *d1 = newdir(), *d2 = newdir(), *l12 = cat3(d1, ":", d2);
        char *other = prog(d1, "other", 0755);

        expect_error("prog", l12, -ENOENT, not_found("prog"));
        expect_error("prog", d1, -ENOENT, not_found("prog"));
        free(other);
        free(l12);
        free(d1);
        free(d2);
}
END_TEST

START_TEST(test_slash_is_not_searched) {
        char *d = newdir(), *s = subdir(d, "sub"), *p = prog(s, "prog", 0755);
        char *ro = prog(d, "plain", 0644), *dirpath = subdir(d, "adir");
        char *missing = join(d, "missing"), msg[1024];
        char *empty = newdir();

        /* An executable path is answered as it is, as a new string. */
        expect_found(p, "/nonexistent", p);
        expect_found(p, "", p);

        snprintf(msg, sizeof(msg), "\"%s\": Permission denied", ro);
        expect_error(ro, "", -EACCES, msg);
        snprintf(msg, sizeof(msg), "\"%s\": Is a directory", dirpath);
        expect_error(dirpath, "", -EISDIR, msg);
        snprintf(msg, sizeof(msg), "\"%s\": No such file or directory", missing);
        expect_error(missing, "", -ENOENT, msg);

        /* "sub/prog" is relative to the working directory, never to a PATH entry; given
         * explicitly, a relative path is accepted. */
        ck_assert_int_eq(chdir(empty), 0);
        expect_error("sub/prog", d, -ENOENT, "\"sub/prog\": No such file or directory");
        ck_assert_int_eq(chdir(d), 0);
        expect_found("sub/prog", empty, "sub/prog");
        expect_found("./sub/prog", "", "./sub/prog");

        free(empty);
        free(missing);
        free(dirpath);
        free(ro);
        free(p);
        free(s);
        free(d);
}
END_TEST

START_TEST(test_empty_path_list) {
        char *d = newdir(), *p = prog(d, "prog", 0755);

        /* "" has no entries at all: not even the current directory is looked at. */
        ck_assert_int_eq(chdir(d), 0);
        expect_error("prog", "", -ENOENT, not_found("prog"));
        free(p);
        free(d);
}
END_TEST

START_TEST(test_dot_is_refused) {
        char *d = newdir(), *p = prog(d, "prog", 0755), *empty = newdir(), *other = newdir();
        char *po = prog(other, "prog", 0755);
        char *lead = cat3(":", empty, ""), *trail = cat3(empty, ":", "");
        char *mid1 = cat3(empty, "::", other), *first = cat3(other, ":", "");
        char *sub = subdir(d, "bin"), *ps = prog(sub, "tool", 0755);
        const char *msg = "\"prog\" resolves to executable in current directory (./prog); "
                          "give its path explicitly";

        ck_assert_int_eq(chdir(d), 0);
        /* An empty entry (leading, trailing, in the middle, or the whole of ":") is "." */
        expect_error("prog", lead, -EACCES, msg);
        expect_error("prog", trail, -EACCES, msg);
        expect_error("prog", ":", -EACCES, msg);
        /* ... and is refused even when a later entry has the program. */
        expect_error("prog", mid1, -EACCES, msg);
        /* An earlier absolute entry wins before "." is reached. */
        expect_found("prog", first, po);
        /* A relative entry resolves in the current directory as well. */
        expect_error("tool", "bin", -EACCES,
                     "\"tool\" resolves to executable in current directory (bin/tool); give its "
                     "path explicitly");
        /* "." with nothing there: not found. */
        ck_assert_int_eq(chdir(empty), 0);
        expect_error("prog", lead, -ENOENT, not_found("prog"));

        free(ps);
        free(sub);
        free(lead);
        free(trail);
        free(mid1);
        free(first);
        free(po);
        free(other);
        free(empty);
        free(p);
        free(d);
}
END_TEST

START_TEST(test_null_uses_environment) {
        char *d1 = newdir(), *d2 = newdir(), *p = prog(d2, "prog", 0755);
        char *l = cat3(d1, ":", d2);

        ck_assert_int_eq(setenv("PATH", l, 1), 0);
        expect_found("prog", NULL, p);
        ck_assert_int_eq(setenv("PATH", d1, 1), 0);
        expect_error("prog", NULL, -ENOENT, not_found("prog"));
        /* No $PATH at all: no entries, the current directory is not searched. */
        ck_assert_int_eq(unsetenv("PATH"), 0);
        ck_assert_int_eq(chdir(d2), 0);
        expect_error("prog", NULL, -ENOENT, not_found("prog"));
        free(l);
        free(p);
        free(d1);
        free(d2);
}
END_TEST

START_TEST(test_empty_name) {
        char *d = newdir(), *s = subdir(d, "x");

        /* "" must not find d + "/" (a directory) nor anything else. */
        expect_error("", d, -ENOENT, "empty program name");
        expect_error(NULL, d, -ENOENT, "empty program name");
        free(s);
        free(d);
}
END_TEST

/* As an unprivileged user, faccessat() decides: a file only its (other) owner may
 * execute is skipped.  Runs as nobody when started as root. */
START_TEST(test_unprivileged) {
        char *d1 = newdir(), *d2 = newdir(), *d3 = newdir();
        char *p1 = prog(d1, "prog", 0644), *p2 = prog(d2, "prog", 0700), *p3 = prog(d3, "prog", 0755);
        char *l = NULL;
        bool was_root = geteuid() == 0;

        ck_assert_int_ne(asprintf(&l, "%s:%s:%s", d1, d2, d3), -1);
        if (was_root) {
                ck_assert_int_eq(setgroups(0, NULL), 0);
                ck_assert_int_eq(setresgid(65534, 65534, 65534), 0);
                ck_assert_int_eq(setresuid(65534, 65534, 65534), 0);
                ck_assert_msg(access(d3, X_OK) == 0, "%s is not reachable as nobody", d3);
                /* root's 0700 program is not ours to run. */
                expect_found("prog", l, p3);
        } else {
                expect_found("prog", l, p2);
        }
        expect_error("prog", d1, -ENOENT, not_found("prog"));
        free(l);
        free(p1);
        free(p2);
        free(p3);
        free(d1);
        free(d2);
        free(d3);
}
END_TEST

/* root may execute a file with any execute bit set; such a file is a program for it. */
START_TEST(test_root_any_x_bit) {
        char *d1 = newdir(), *d2 = newdir(), *p1 = prog(d1, "prog", 0010), *p2 = prog(d2, "prog", 0755);
        char *l = cat3(d1, ":", d2);

        expect_found("prog", l, p1);
        free(l);
        free(p1);
        free(p2);
        free(d1);
        free(d2);
}
END_TEST

int main(void) {
        Suite *s = pv_test_suite("lookpath");
        TCase *tc;

        tc = pv_test_case("lookpath");
        tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
        tcase_add_test(tc, test_found);
        tcase_add_test(tc, test_first_match_wins);
        tcase_add_test(tc, test_skips_missing_dirs);
        tcase_add_test(tc, test_skips_non_executable);
        tcase_add_test(tc, test_skips_directory);
        tcase_add_test(tc, test_symlink);
        tcase_add_test(tc, test_not_found);
        tcase_add_test(tc, test_slash_is_not_searched);
        tcase_add_test(tc, test_empty_path_list);
        tcase_add_test(tc, test_dot_is_refused);
        tcase_add_test(tc, test_null_uses_environment);
        tcase_add_test(tc, test_empty_name);
        tcase_add_test(tc, test_unprivileged);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("lookpath-root");
        tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
        tcase_add_test(tc, test_root_any_x_bit);
        pv_test_add(s, tc, geteuid() == 0 ? NULL : "needs root");

        return pv_test_main(s);
}
