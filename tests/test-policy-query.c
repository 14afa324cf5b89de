/* SPDX-License-Identifier: MIT */
/* policy-query.c: whether a policy may kill a native system call, as `pidvisor run`
 * asks before turning kills into notifications (a notified call before execve would
 * wait forever). */
#include <stdlib.h>
#include <string.h>

#include <pidvisor/policy.h>

#include "lib/policy-query.h"
#include "testlib.h"

static struct pv_policy *parse_as(const char *name, const char *text) {
        struct pv_policy_options o = { .dir = getenv("PIDVISOR_POLICY_DIR") };
        struct pv_error err = { 0 };
        struct pv_policy *p = NULL;

        ck_assert_msg(o.dir && *o.dir, "PIDVISOR_POLICY_DIR is not set (run through meson test)");
        ck_assert_msg(pv_policy_parse_string(name, text, strlen(text), &o, &p, &err) == 0, "%s: %s", text,
                      err.message);
        return p;
}

static struct pv_policy *parse(const char *text) {
        return parse_as("t.policy", text);
}

static struct pv_policy *load(const char *name) {
        struct pv_error err = { 0 };
        struct pv_policy *p = NULL;

        ck_assert_msg(pv_policy_load(name, NULL, &p, &err) == 0, "%s: %s", name, err.message);
        return p;
}

/* An unconditional rule decides; the default covers what no rule names. */
START_TEST(test_unconditional) {
        struct pv_policy *p = parse("default allow\nkill ptrace\nerrno EPERM mount\n");

        ck_assert(policy_may_kill_native(p, "ptrace"));
        ck_assert(!policy_may_kill_native(p, "mount"));
        ck_assert(!policy_may_kill_native(p, "sendmsg"));
        pv_policy_free(p);

        p = parse("default kill-process\nallow read, write, sendmsg\nkill-thread close\n");
        ck_assert(!policy_may_kill_native(p, "sendmsg"));
        ck_assert(policy_may_kill_native(p, "close"));
        ck_assert(policy_may_kill_native(p, "execve"));
        ck_assert_str_eq(policy_first_killed_native(p, (const char *const[]){ "read", "execve", "close", NULL }),
                         "execve");
        ck_assert_ptr_null(policy_first_killed_native(p, (const char *const[]){ "read", "write", NULL }));
        pv_policy_free(p);
}
END_TEST

/* Conditional rules: their actions may apply, and so may the default for the rest. */
START_TEST(test_conditional) {
        struct pv_policy *p = parse("default allow\nkill socket(arg0 == AF_PACKET)\n");

        ck_assert(policy_may_kill_native(p, "socket"));
        pv_policy_free(p);
        p = parse("default kill-process\nallow socket(arg0 == AF_UNIX)\n");
        ck_assert(policy_may_kill_native(p, "socket"));
        pv_policy_free(p);
        p = parse("default errno EPERM\nallow socket(arg0 == AF_UNIX)\n");
        ck_assert(!policy_may_kill_native(p, "socket"));
        pv_policy_free(p);
}
END_TEST

/* A policy that does not admit the native ABI kills every native call. */
START_TEST(test_foreign_arch_only) {
        struct pv_policy *p = parse("arch i386\ndefault allow\n");

        ck_assert(policy_may_kill_native(p, "read"));
        pv_policy_free(p);
}
END_TEST

/* The shipped policies leave what pidvisor run's child does before execve alone. */
START_TEST(test_shipped) {
        static const char *const before_exec[] = { "sendmsg", "close", "execve", "sendto", "exit_group", NULL };
        static const char *const names[] = { "default", "server", "strict" };

        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                struct pv_policy *p = load(names[i]);
                const char *k = policy_first_killed_native(p, before_exec);

                ck_assert_msg(!k, "%s kills %s", names[i], k);
                if (i > 0)
                        ck_assert_msg(policy_may_kill_native(p, "ptrace"), "%s does not kill ptrace", names[i]);
                pv_policy_free(p);
        }
}
END_TEST

/* A Docker/OCI profile's table. */
START_TEST(test_json) {
        struct pv_policy *p = parse_as("t.json", "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": ["
                                                 "{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_KILL\"},"
                                                 "{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\"}]}");

        ck_assert(policy_may_kill_native(p, "getppid"));
        ck_assert(!policy_may_kill_native(p, "read"));
        ck_assert(!policy_may_kill_native(p, "write"));
        pv_policy_free(p);
}
END_TEST

int main(void) {
        Suite *s = pv_test_suite("policy-query");
        TCase *tc = pv_test_case("may-kill");

        tcase_add_test(tc, test_unconditional);
        tcase_add_test(tc, test_conditional);
        tcase_add_test(tc, test_foreign_arch_only);
        tcase_add_test(tc, test_shipped);
        tcase_add_test(tc, test_json);
        pv_test_add(s, tc, NULL);
        return pv_test_main(s);
}
