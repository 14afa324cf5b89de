/* SPDX-License-Identifier: MIT */
/* strv_* string arrays and the env_assign/env_unset environment-block helpers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strv.h"
#include "testlib.h"

/* Checks that v holds exactly the given strings, in order, then NULL. */
static void expect_strv(char *const *v, const char *const *want, size_t n) {
        ck_assert_ptr_nonnull(v);
        ck_assert_uint_eq(strv_length(v), n);
        for (size_t i = 0; i < n; i++)
                ck_assert_msg(v[i] && strcmp(v[i], want[i]) == 0, "[%zu] = \"%s\", want \"%s\"",
                              i, v[i] ? v[i] : "(null)", want[i]);
        ck_assert_ptr_null(v[n]);
}

#define EXPECT_STRV(v, ...)                                                                    \
        do {                                                                                   \
                static const char *const _w[] = { __VA_ARGS__ };                               \
                expect_strv((v), _w, sizeof(_w) / sizeof(_w[0]));                              \
        } while (0)

/* A malloc'd environment block, as env_assign expects to grow. */
static char **env_of(const char *const *items, size_t n) {
        char **v = calloc(n + 1, sizeof(char *));

        ck_assert_ptr_nonnull(v);
        for (size_t i = 0; i < n; i++) {
                v[i] = strdup(items[i]);
                ck_assert_ptr_nonnull(v[i]);
        }
        return v;
}

#define ENV(...)                                                                               \
        ({                                                                                     \
                static const char *const _i[] = { __VA_ARGS__ };                               \
                env_of(_i, sizeof(_i) / sizeof(_i[0]));                                        \
        })

START_TEST(test_length) {
        char *empty[] = { NULL };
        char *three[] = { "a", "", "c", NULL };

        ck_assert_uint_eq(strv_length(NULL), 0);
        ck_assert_uint_eq(strv_length(empty), 0);
        ck_assert_uint_eq(strv_length(three), 3);
}
END_TEST

START_TEST(test_copy) {
        char *src[] = { "a", "", "c=d", NULL };
        char **c = strv_copy(src);

        EXPECT_STRV(c, "a", "", "c=d");
        /* A deep copy: new strings, not the caller's pointers. */
        for (size_t i = 0; i < 3; i++)
                ck_assert_ptr_ne(c[i], src[i]);
        c[0][0] = 'z';
        ck_assert_str_eq(src[0], "a");
        strv_free(c);
}
END_TEST

START_TEST(test_copy_empty) {
        char *empty[] = { NULL };
        char **c = strv_copy(NULL);

        ck_assert_ptr_nonnull(c);
        ck_assert_ptr_null(c[0]);
        strv_free(c);
        c = strv_copy(empty);
        ck_assert_ptr_nonnull(c);
        ck_assert_ptr_ne(c, empty);
        ck_assert_ptr_null(c[0]);
        strv_free(c);
        strv_free(NULL);
}
END_TEST

START_TEST(test_env_assign_adds_and_replaces) {
        char **env = NULL;
        char buf[] = "B=2";

        ck_assert_int_eq(env_assign(&env, "A=1"), 0);
        EXPECT_STRV(env, "A=1");
        ck_assert_int_eq(env_assign(&env, buf), 0);
        EXPECT_STRV(env, "A=1", "B=2");
        /* The block holds its own copy. */
        buf[2] = '9';
        EXPECT_STRV(env, "A=1", "B=2");
        /* Replaced in place, keeping the order. */
        ck_assert_int_eq(env_assign(&env, "A=3"), 0);
        EXPECT_STRV(env, "A=3", "B=2");
        /* An empty value is a value; a value may hold '='. */
        ck_assert_int_eq(env_assign(&env, "B="), 0);
        EXPECT_STRV(env, "A=3", "B=");
        ck_assert_int_eq(env_assign(&env, "A=x=y"), 0);
        EXPECT_STRV(env, "A=x=y", "B=");
        ck_assert_int_eq(env_assign(&env, "A=z"), 0);
        EXPECT_STRV(env, "A=z", "B=");
        strv_free(env);
}
END_TEST

START_TEST(test_env_assign_exact_key) {
        char **env = ENV("KEY=1");

        /* KEY2 and KEY are different keys, whichever comes first. */
        ck_assert_int_eq(env_assign(&env, "KEY2=1"), 0);
        EXPECT_STRV(env, "KEY=1", "KEY2=1");
        ck_assert_int_eq(env_assign(&env, "KEY2=5"), 0);
        EXPECT_STRV(env, "KEY=1", "KEY2=5");
        ck_assert_int_eq(env_assign(&env, "KE=0"), 0);
        EXPECT_STRV(env, "KEY=1", "KEY2=5", "KE=0");
        ck_assert_int_eq(env_assign(&env, "KEY=7"), 0);
        EXPECT_STRV(env, "KEY=7", "KEY2=5", "KE=0");
        ck_assert_int_eq(env_assign(&env, "key=8"), 0); /* keys are case-sensitive */
        EXPECT_STRV(env, "KEY=7", "KEY2=5", "KE=0", "key=8");
        strv_free(env);
}
END_TEST

START_TEST(test_env_assign_invalid) {
        char **env = ENV("A=1");

        ck_assert_int_eq(env_assign(&env, "noequals"), -EINVAL);
        ck_assert_int_eq(env_assign(&env, "=v"), -EINVAL);
        ck_assert_int_eq(env_assign(&env, "="), -EINVAL);
        ck_assert_int_eq(env_assign(&env, ""), -EINVAL);
        ck_assert_int_eq(env_assign(&env, "A"), -EINVAL);
        EXPECT_STRV(env, "A=1");
        strv_free(env);
}
END_TEST

START_TEST(test_env_unset) {
        char **env = ENV("A=1", "KEY2=2", "KEY=3", "C=4");

        ck_assert(env_unset(env, "KEY"));
        EXPECT_STRV(env, "A=1", "KEY2=2", "C=4");
        ck_assert(!env_unset(env, "KEY"));
        ck_assert(!env_unset(env, "KEY2=2")); /* a key, not an assignment */
        ck_assert(!env_unset(env, "KEY3"));
        ck_assert(!env_unset(env, "K"));
        ck_assert(!env_unset(env, ""));
        EXPECT_STRV(env, "A=1", "KEY2=2", "C=4");
        ck_assert(env_unset(env, "C")); /* the last one */
        EXPECT_STRV(env, "A=1", "KEY2=2");
        ck_assert(env_unset(env, "A")); /* the first one */
        EXPECT_STRV(env, "KEY2=2");
        ck_assert(env_unset(env, "KEY2"));
        ck_assert_ptr_nonnull(env);
        ck_assert_ptr_null(env[0]);
        ck_assert(!env_unset(env, "KEY2"));
        ck_assert(!env_unset(NULL, "A"));
        /* Still a usable block. */
        ck_assert_int_eq(env_assign(&env, "N=1"), 0);
        EXPECT_STRV(env, "N=1");
        strv_free(env);
}
END_TEST

int main(void) {
        Suite *s = pv_test_suite("strv");
        TCase *tc;

        tc = pv_test_case("strv");
        tcase_add_test(tc, test_length);
        tcase_add_test(tc, test_copy);
        tcase_add_test(tc, test_copy_empty);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("env");
        tcase_add_test(tc, test_env_assign_adds_and_replaces);
        tcase_add_test(tc, test_env_assign_exact_key);
        tcase_add_test(tc, test_env_assign_invalid);
        tcase_add_test(tc, test_env_unset);
        pv_test_add(s, tc, NULL);

        return pv_test_main(s);
}
