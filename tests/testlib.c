/* SPDX-License-Identifier: MIT */
#include "testlib.h"

#include <errno.h>
#include <stdint.h>
#include <limits.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *suite_name = "?";
static int n_skipped;
static int n_missing_failed;

/* Check's TCase is opaque and has no name getter; remember names for SKIP lines. */
static struct {
        TCase *tc;
        const char *name;
} cases[128];
static size_t n_cases;

Suite *pv_test_suite(const char *name) {
        suite_name = name;
        return suite_create(name);
}

TCase *pv_test_case(const char *name) {
        TCase *tc = tcase_create(name);
        tcase_set_timeout(tc, 30);
        if (n_cases < sizeof(cases) / sizeof(cases[0]))
                cases[n_cases++] = (typeof(cases[0])){ tc, name };
        return tc;
}

static const char *case_name(TCase *tc) {
        for (size_t i = 0; i < n_cases; i++)
                if (cases[i].tc == tc)
                        return cases[i].name;
        return "?";
}

void pv_test_add(Suite *s, TCase *tc, const char *missing) {
        const char *e = getenv("PIDVISOR_TEST_MUST_WORK");

        if (!missing) {
                suite_add_tcase(s, tc);
                return;
        }
        /* Check cannot report a skipped case, so we count it ourselves; the TCase is
         * never handed to the runner, which would free it. */
        if (e && strcmp(e, "1") == 0) {
                printf("FAIL %s/%s: cannot run: %s (PIDVISOR_TEST_MUST_WORK=1)\n", suite_name,
                       case_name(tc), missing);
                n_missing_failed++;
        } else {
                printf("SKIP %s/%s: %s\n", suite_name, case_name(tc), missing);
                n_skipped++;
        }
}

const char *pv_test_need_root(void) {
        cap_flag_value_t v = CAP_CLEAR;
        cap_t caps;

        if (geteuid() != 0)
                return "needs root";
        caps = cap_get_proc();
        if (!caps)
                return "cannot read capabilities";
        if (cap_get_flag(caps, CAP_SYS_ADMIN, CAP_EFFECTIVE, &v) < 0)
                v = CAP_CLEAR;
        cap_free(caps);
        return v == CAP_SET ? NULL : "needs CAP_SYS_ADMIN";
}

int pv_test_main(Suite *s) {
        SRunner *sr = srunner_create(s);
        int run, failed;

        srunner_set_fork_status(sr, CK_FORK);
        srunner_run_all(sr, CK_NORMAL);
        run = srunner_ntests_run(sr);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);

        printf("PVTEST suite=%s passed=%d failed=%d skipped=%d\n", suite_name, run - failed,
               failed + n_missing_failed, n_skipped);
        fflush(stdout);
        return failed + n_missing_failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* A program under /tmp cannot be executed by a child with a private /tmp (PrivateTmp=,
 * private_tmp): a build in a clone under /tmp (CI may put it there) would fail those
 * tests for the wrong reason.  Such a program is copied once to /var/tmp, under a name
 * made from its path, and the copy is used (refreshed when the build changed it). */
const char *pv_test_visible_program(const char *path) {
        static char copies[8][PATH_MAX];
        static char origs[8][PATH_MAX];
        static size_t n;
        char dir[PATH_MAX], tmp[PATH_MAX + 16], *dst;
        struct stat src_st, dst_st;
        uint32_t h = 2166136261u;
        const char *base;
        int in = -1, out = -1;

        if (strncmp(path, "/tmp/", 5) != 0)
                return path;
        for (size_t i = 0; i < n; i++)
                if (!strcmp(origs[i], path))
                        return copies[i];
        ck_assert_msg(n < 8, "too many programs to copy out of /tmp");
        for (const char *c = path; *c; c++)
                h = (h ^ (uint8_t)*c) * 16777619u;
        base = strrchr(path, '/') + 1;
        snprintf(dir, sizeof(dir), "/var/tmp/pvtest-%u-%08x", (unsigned)getuid(), h);
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                ck_abort_msg("mkdir %s: %s", dir, strerror(errno));
        dst = copies[n];
        if (snprintf(dst, PATH_MAX, "%s/%s", dir, base) >= PATH_MAX)
                ck_abort_msg("path too long: %s", base);
        ck_assert_msg(stat(path, &src_st) == 0, "stat %s: %s", path, strerror(errno));
        if (stat(dst, &dst_st) != 0 || dst_st.st_size != src_st.st_size || dst_st.st_mtime < src_st.st_mtime) {
                char buf[65536];
                ssize_t r;

                if (snprintf(tmp, sizeof(tmp), "%s.%d", dst, (int)getpid()) >= (int)sizeof(tmp))
                        ck_abort_msg("path too long: %s", dst);
                in = open(path, O_RDONLY | O_CLOEXEC);
                out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
                ck_assert_msg(in >= 0 && out >= 0, "copying %s to %s: %s", path, tmp, strerror(errno));
                while ((r = read(in, buf, sizeof(buf))) > 0)
                        ck_assert_int_eq(write(out, buf, (size_t)r), r);
                close(in);
                close(out);
                ck_assert_msg(rename(tmp, dst) == 0, "rename %s: %s", tmp, strerror(errno));
        }
        snprintf(origs[n], PATH_MAX, "%s", path);
        n++;
        return dst;
}

const char *pv_test_fixture(void) {
        const char *p = getenv("PV_FIXTURE");

        ck_assert_msg(p && *p, "PV_FIXTURE is not set (run the tests through meson test)");
        return pv_test_visible_program(p);
}

char *pv_test_read_all(int fd) {
        size_t size = 0, cap = 4096;
        char *buf = malloc(cap);

        ck_assert_ptr_nonnull(buf);
        for (;;) {
                ssize_t n;

                if (cap - size < 1024) {
                        cap *= 2;
                        buf = realloc(buf, cap);
                        ck_assert_ptr_nonnull(buf);
                }
                n = read(fd, buf + size, cap - size - 1);
                if (n < 0 && errno == EINTR)
                        continue;
                ck_assert_msg(n >= 0, "read: %s", strerror(errno));
                if (n == 0)
                        break;
                size += (size_t)n;
        }
        buf[size] = 0;
        return buf;
}

char *pv_test_mkdtemp(void) {
        const char *tmp = getenv("TMPDIR");
        char *path;

        ck_assert_int_ne(asprintf(&path, "%s/pvtest.XXXXXX", tmp && *tmp ? tmp : "/tmp"), -1);
        ck_assert_msg(mkdtemp(path), "mkdtemp %s: %s", path, strerror(errno));
        return path;
}

char *pv_test_fmt(const char *fmt, ...) {
        va_list ap;
        char *s;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&s, fmt, ap);
        va_end(ap);
        ck_assert_int_ge(n, 0);
        return s;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

void pv_test_rmtree(const char *path) {
        if (path)
                nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void pv_test_write_file(const char *path, const char *text, int mode) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        size_t len = strlen(text);

        ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
        ck_assert_msg(write(fd, text, len) == (ssize_t)len, "write %s: %s", path, strerror(errno));
        ck_assert_int_eq(fchmod(fd, (mode_t)mode), 0);
        close(fd);
}
