/* SPDX-License-Identifier: MIT */
/* EnvironmentFile= parsing (src/daemon/envfile.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/manager.h"
#include "lib/strv.h"
#include "testlib.h"

/* want_error_suffix: what follows "EnvironmentFile=PATH" in the error, or NULL. */
static char **load(const char *text, int want_r, const char *want_error_suffix) {
        char *dir = pv_test_mkdtemp(), path[4200], *error = NULL;
        char **env = strv_copy(NULL);
        int r;

        snprintf(path, sizeof(path), "%s/env", dir);
        pv_test_write_file(path, text, 0644);
        r = env_file_load(path, &env, &error);
        ck_assert_msg(r == want_r, "env_file_load: %d (%s), want %d", r, error ? error : "-", want_r);
        if (want_error_suffix) {
                char want[4400];
                snprintf(want, sizeof(want), "EnvironmentFile=%s%s", path, want_error_suffix);
                ck_assert_ptr_nonnull(error);
                ck_assert_str_eq(error, want);
        } else
                ck_assert_ptr_null(error);
        free(error);
        pv_test_rmtree(dir);
        free(dir);
        return env;
}

static void assert_env(char **env, const char *const *want) {
        size_t n = 0;

        for (; want[n]; n++) {
                ck_assert_ptr_nonnull(env[n]);
                ck_assert_str_eq(env[n], want[n]);
        }
        ck_assert_ptr_null(env[n]);
        strv_free(env);
}

START_TEST(test_plain) {
        assert_env(load("A=1\nB = two words  \n\n# comment\n; comment\n  C=3\n", 0, NULL),
                   (const char *[]){ "A=1", "B=two words", "C=3", NULL });
}
END_TEST

START_TEST(test_quotes_and_escapes) {
        assert_env(load("A='single $x \\n'\nB=\"double \\\"q\\\" \\$x \\\\ \\n\"\nexport C=e\n", 0, NULL),
                   (const char *[]){ "A=single $x \\n", "B=double \"q\" $x \\ \\n", "C=e", NULL });
}
END_TEST

START_TEST(test_continuation_and_override) {
        assert_env(load("A=one \\\ntwo\nA=again\nB=\"x\\\ny\"\n", 0, NULL),
                   (const char *[]){ "A=again", "B=xy", NULL });
}
END_TEST

START_TEST(test_empty_value_and_no_newline) {
        assert_env(load("A=\nB=last", 0, NULL), (const char *[]){ "A=", "B=last", NULL });
}
END_TEST

START_TEST(test_errors) {
        strv_free(load("A=1\nnot an assignment\n", -EINVAL, ":2: expected NAME=VALUE"));
        strv_free(load("1A=1\n", -EINVAL, ":1: expected NAME=VALUE"));
        strv_free(load("A-B=1\n", -EINVAL, ":1: expected NAME=VALUE"));
}
END_TEST

START_TEST(test_missing_file) {
        char **env = strv_copy(NULL), *error = NULL;

        ck_assert_int_eq(env_file_load("/nonexistent/pv-env", &env, &error), -ENOENT);
        ck_assert_str_eq(error, "EnvironmentFile=/nonexistent/pv-env: No such file or directory");
        free(error);
        strv_free(env);
}
END_TEST

int main(void) {
        Suite *s = pv_test_suite("envfile");
        TCase *tc = pv_test_case("parse");

        tcase_add_test(tc, test_plain);
        tcase_add_test(tc, test_quotes_and_escapes);
        tcase_add_test(tc, test_continuation_and_override);
        tcase_add_test(tc, test_empty_value_and_no_newline);
        tcase_add_test(tc, test_errors);
        tcase_add_test(tc, test_missing_file);
        pv_test_add(s, tc, NULL);
        return pv_test_main(s);
}
