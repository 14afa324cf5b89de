/* SPDX-License-Identifier: MIT */
/* pv_user_lookup, pv_group_lookup, pv_user_done. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pidvisor/spawn.h>

#include "testlib.h"

static bool has_group(const struct pv_user *u, gid_t g) {
        for (size_t i = 0; i < u->n_groups; i++)
                if (u->groups[i] == g)
                        return true;
        return false;
}

static void expect_user(const char *name, uid_t uid, gid_t gid) {
        struct pv_error e = { 0 };
        struct pv_user u = { 0 };
        int r = pv_user_lookup(name, &u, &e);

        ck_assert_msg(r == 0, "user \"%s\": %d (%s)", name, r, e.message);
        ck_assert_int_eq(e.code, 0);
        ck_assert_uint_eq(u.uid, uid);
        ck_assert_uint_eq(u.gid, gid);
        ck_assert_ptr_nonnull(u.groups);
        ck_assert_uint_ge(u.n_groups, 1);
        ck_assert_msg(has_group(&u, gid), "user \"%s\": primary gid %u not among its %zu groups",
                      name, (unsigned)gid, u.n_groups);
        pv_user_done(&u);
        ck_assert_ptr_null(u.groups);
        ck_assert_uint_eq(u.n_groups, 0);
}

static void expect_user_error(const char *name, int code, const char *message) {
        struct pv_error e = { 0 };
        struct pv_user u = { .uid = 77, .gid = 77, .groups = NULL, .n_groups = 0 };
        int r = pv_user_lookup(name, &u, &e);

        ck_assert_msg(r == code, "user \"%s\": %d (uid %u), want %d", name, r, (unsigned)u.uid,
                      code);
        ck_assert_int_eq(e.code, code);
        ck_assert_str_eq(e.message, message);
        ck_assert_uint_eq(u.uid, 77);
        ck_assert_uint_eq(u.gid, 77);
        ck_assert_ptr_null(u.groups);
        ck_assert_int_eq(pv_user_lookup(name, &u, NULL), code);
}

static void expect_group(const char *name, gid_t gid) {
        struct pv_error e = { 0 };
        gid_t g = 77;
        int r = pv_group_lookup(name, &g, &e);

        ck_assert_msg(r == 0, "group \"%s\": %d (%s)", name, r, e.message);
        ck_assert_int_eq(e.code, 0);
        ck_assert_uint_eq(g, gid);
}

static void expect_group_error(const char *name, int code, const char *message) {
        struct pv_error e = { 0 };
        gid_t g = 77;
        int r = pv_group_lookup(name, &g, &e);

        ck_assert_msg(r == code, "group \"%s\": %d (gid %u), want %d", name, r, (unsigned)g, code);
        ck_assert_int_eq(e.code, code);
        ck_assert_str_eq(e.message, message);
        ck_assert_uint_eq(g, 77);
        ck_assert_int_eq(pv_group_lookup(name, &g, NULL), code);
}

/* A uid (or gid) from 4242 up that has no entry in the user (group) database. */
static unsigned free_uid(void) {
        for (unsigned id = 4242; id < 100000; id++)
                if (!getpwuid(id))
                        return id;
        ck_abort_msg("no free uid");
        return 0;
}

static unsigned free_gid(void) {
        for (unsigned id = 4242; id < 100000; id++)
                if (!getgrgid(id))
                        return id;
        ck_abort_msg("no free gid");
        return 0;
}

START_TEST(test_user_root) {
        expect_user("root", 0, 0);
        expect_user("0", 0, 0);
}
END_TEST

START_TEST(test_user_nobody) {
        ck_assert_msg(getpwnam("nobody"), "this system has no user \"nobody\"");
        expect_user("nobody", 65534, 65534);
        expect_user("65534", 65534, 65534);
}
END_TEST

START_TEST(test_user_daemon_matches_passwd) {
        struct passwd *pw = getpwnam("daemon");
        uid_t uid;
        gid_t gid;
        char num[32];

        ck_assert_msg(pw, "this system has no user \"daemon\"");
        uid = pw->pw_uid;
        gid = pw->pw_gid;
        expect_user("daemon", uid, gid);
        snprintf(num, sizeof(num), "%u", (unsigned)uid);
        expect_user(num, uid, gid);
}
END_TEST

START_TEST(test_user_unknown) {
        char num[32], msg[64];

        expect_user_error("pv-no-such-user", -ESRCH, "unknown user \"pv-no-such-user\"");
        /* A numeric uid without a passwd entry: there is no gid to take from it. */
        snprintf(num, sizeof(num), "%u", free_uid());
        snprintf(msg, sizeof(msg), "unknown user \"%s\"", num);
        expect_user_error(num, -ESRCH, msg);
        /* (uid_t)-1 is no uid, and a negative number is no uid either. */
        expect_user_error("4294967295", -ESRCH, "unknown user \"4294967295\"");
        expect_user_error("-1", -ESRCH, "unknown user \"-1\"");
}
END_TEST

START_TEST(test_user_padded_number_is_a_name) {
        /* Only a whole number is a uid: " 0" or "0 " names a user called that, and no
         * such user exists.  It must never resolve to root. */
        expect_user_error(" 0", -ESRCH, "unknown user \" 0\"");
        expect_user_error("0 ", -ESRCH, "unknown user \"0 \"");
        expect_user_error("+0", -ESRCH, "unknown user \"+0\"");
        expect_user_error("0x0", -ESRCH, "unknown user \"0x0\"");
        expect_user_error("\t0", -ESRCH, "unknown user \"\t0\"");
        expect_user_error("\n0", -ESRCH, "unknown user \"\n0\"");
}
END_TEST

START_TEST(test_user_empty) {
        expect_user_error("", -EINVAL, "empty user name");
        expect_user_error(NULL, -EINVAL, "empty user name");
}
END_TEST

START_TEST(test_user_done) {
        struct pv_user u = { 0 };

        pv_user_done(NULL);
        pv_user_done(&u); /* an empty one */
        ck_assert_int_eq(pv_user_lookup("root", &u, NULL), 0);
        pv_user_done(&u);
        ck_assert_ptr_null(u.groups);
        ck_assert_uint_eq(u.n_groups, 0);
        pv_user_done(&u); /* twice is fine */
}
END_TEST

START_TEST(test_group_by_name) {
        struct group *gr;
        gid_t daemon_gid;

        expect_group("root", 0);
        gr = getgrnam("daemon");
        ck_assert_msg(gr, "this system has no group \"daemon\"");
        daemon_gid = gr->gr_gid;
        expect_group("daemon", daemon_gid);
}
END_TEST

START_TEST(test_group_numeric) {
        char num[32];

        expect_group("0", 0);
        expect_group("1", 1);
        expect_group("65534", 65534);
        /* Any number, even one without an entry, as chown and setpriv take it. */
        snprintf(num, sizeof(num), "%u", free_gid());
        expect_group(num, (gid_t)strtoul(num, NULL, 10));
        expect_group("4294967294", 4294967294u);
}
END_TEST

START_TEST(test_group_unknown) {
        expect_group_error("pv-no-such-group", -ESRCH, "unknown group \"pv-no-such-group\"");
        expect_group_error("4294967295", -ESRCH, "unknown group \"4294967295\"");
        expect_group_error("-1", -ESRCH, "unknown group \"-1\"");
}
END_TEST

START_TEST(test_group_padded_number_is_a_name) {
        /* As for users: only a whole number is a gid, never root's by accident. */
        expect_group_error(" 0", -ESRCH, "unknown group \" 0\"");
        expect_group_error("0 ", -ESRCH, "unknown group \"0 \"");
        expect_group_error("+0", -ESRCH, "unknown group \"+0\"");
        expect_group_error("\t0", -ESRCH, "unknown group \"\t0\"");
        expect_group_error("\n0", -ESRCH, "unknown group \"\n0\"");
}
END_TEST

START_TEST(test_group_empty) {
        expect_group_error("", -EINVAL, "empty group name");
        expect_group_error(NULL, -EINVAL, "empty group name");
}
END_TEST

int main(void) {
        Suite *s = pv_test_suite("user");
        TCase *tc;

        tc = pv_test_case("user");
        tcase_add_test(tc, test_user_root);
        tcase_add_test(tc, test_user_nobody);
        tcase_add_test(tc, test_user_daemon_matches_passwd);
        tcase_add_test(tc, test_user_unknown);
        tcase_add_test(tc, test_user_padded_number_is_a_name);
        tcase_add_test(tc, test_user_empty);
        tcase_add_test(tc, test_user_done);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("group");
        tcase_add_test(tc, test_group_by_name);
        tcase_add_test(tc, test_group_numeric);
        tcase_add_test(tc, test_group_unknown);
        tcase_add_test(tc, test_group_padded_number_is_a_name);
        tcase_add_test(tc, test_group_empty);
        pv_test_add(s, tc, NULL);

        return pv_test_main(s);
}
