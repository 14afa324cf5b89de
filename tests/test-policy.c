/* SPDX-License-Identifier: MIT */
/* Seccomp policies without installing them: the language (errors with positions, unknown
 * names, groups, includes and cycles, argument conditions, arch), the Docker/OCI JSON
 * importer, the compiled program's flags, the cache and syscall names.  Installing and
 * running programs under the policies is test-policy-seccomp.c. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pidvisor/policy.h>

#include "testlib.h"

#define DOCKER_DEFAULT_REL "/tests/data/docker-default.json"

static const char *policy_dir(void) {
        const char *d = getenv("PIDVISOR_POLICY_DIR");
        ck_assert_msg(d && *d, "PIDVISOR_POLICY_DIR is not set (run through meson test)");
        return d;
}

static char *docker_default(void) {
        const char *src = getenv("PV_SOURCE_ROOT");
        ck_assert_msg(src && *src, "PV_SOURCE_ROOT is not set");
        return pv_test_fmt("%s%s", src, DOCKER_DEFAULT_REL);
}

/* Parses text as the policy "t.policy" (or name), returns the policy or NULL with err. */
static struct pv_policy *parse_as(const char *name, const char *text, struct pv_error *err) {
        struct pv_policy_options o = { .dir = policy_dir() };
        struct pv_policy *p = NULL;
        int r;

        pv_error_clear(err);
        r = pv_policy_parse_string(name, text, strlen(text), &o, &p, err);
        ck_assert_msg((r < 0) == (p == NULL), "r=%d with p=%p", r, (void *)p);
        if (r < 0)
                ck_assert_int_eq(r, err->code);
        return p;
}

static struct pv_policy *parse(const char *text) {
        struct pv_error err;
        struct pv_policy *p = parse_as("t.policy", text, &err);

        ck_assert_msg(p, "parse failed: %s\n--- policy:\n%s", err.message, text);
        return p;
}

static void expect_error(const char *text, const char *want) {
        struct pv_error err;
        struct pv_policy *p = parse_as("t.policy", text, &err);

        ck_assert_msg(!p, "parsed, want error \"%s\":\n%s", want, text);
        ck_assert_msg(strstr(err.message, want), "error \"%s\", want \"%s\"\n--- policy:\n%s",
                      err.message, want, text);
}

static char *dump(const struct pv_policy *p) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(pv_policy_dump(p, f), 0);
        fclose(f);
        return buf;
}

/* The dump line for syscall `name` whose action starts with `act`, else NULL. */
static bool has_rule(const char *d, const char *act, const char *name_and_conds) {
        const char *line = d;

        while (line && *line) {
                const char *end = strchr(line, '\n');
                size_t alen = strlen(act), len = end ? (size_t)(end - line) : strlen(line);
                char l[1024];

                snprintf(l, sizeof(l), "%.*s", (int)len, line);
                if (strncmp(l, act, alen) == 0 && l[alen] == ' ') {
                        const char *n = l + alen;
                        while (*n == ' ')
                                n++;
                        size_t nlen = strlen(name_and_conds);
                        if (strncmp(n, name_and_conds, nlen) == 0 && (n[nlen] == ' ' || !n[nlen]))
                                return true;
                }
                line = end ? end + 1 : NULL;
        }
        return false;
}

#define EXPECT_RULE(d, act, name)                                                              \
        ck_assert_msg(has_rule(d, act, name), "no rule \"%s %s\" in:\n%.2000s", act, name, d)
#define EXPECT_NO_RULE(d, act, name)                                                           \
        ck_assert_msg(!has_rule(d, act, name), "unexpected rule \"%s %s\" in:\n%.2000s", act, name, d)

struct want {
        const char *act, *rule;
};

/* Parses text and checks that its dump has each wanted rule. */
static void expect_rules(const char *text, const struct want *w, size_t n) {
        struct pv_policy *p = parse(text);
        char *d = dump(p);

        for (size_t i = 0; i < n; i++)
                EXPECT_RULE(d, w[i].act, w[i].rule);
        free(d);
        pv_policy_free(p);
}

#define EXPECT_RULES(text, ...)                                                                \
        do {                                                                                   \
                static const struct want _w[] = { __VA_ARGS__ };                               \
                expect_rules((text), _w, sizeof(_w) / sizeof(_w[0]));                          \
        } while (0)

START_TEST(test_minimal) {
        struct pv_policy *p = parse("# nothing but a default\ndefault allow\n");
        int e = -1;

        ck_assert_int_eq(pv_policy_default_action(p, &e), PV_SECCOMP_ALLOW);
        ck_assert_int_eq(e, 0);
        ck_assert(!pv_policy_is_allowlist(p));
        pv_policy_free(p);

        p = parse("default errno EACCES");
        ck_assert_int_eq(pv_policy_default_action(p, &e), PV_SECCOMP_ERRNO);
        ck_assert_int_eq(e, EACCES);
        ck_assert(pv_policy_is_allowlist(p));
        pv_policy_free(p);

        p = parse("default kill\n");
        ck_assert_int_eq(pv_policy_default_action(p, NULL), PV_SECCOMP_KILL_PROCESS);
        pv_policy_free(p);
        p = parse("default kill-thread\n");
        ck_assert_int_eq(pv_policy_default_action(p, NULL), PV_SECCOMP_KILL_THREAD);
        pv_policy_free(p);
        p = parse("default trap\n");
        ck_assert_int_eq(pv_policy_default_action(p, NULL), PV_SECCOMP_TRAP);
        pv_policy_free(p);
        p = parse("default log\n");
        ck_assert_int_eq(pv_policy_default_action(p, NULL), PV_SECCOMP_LOG);
        ck_assert(!pv_policy_is_allowlist(p));
        pv_policy_free(p);
}
END_TEST

START_TEST(test_errors_have_positions) {
        static const struct {
                const char *text, *want;
        } cases[] = {
                { "allow read\n", "t.policy:1: no default action" },
                { "default errno EPERM\nallow ptrace2\n", "t.policy:2:7: unknown system call \"ptrace2\"" },
                { "default kill\nallow read, wirte\n", "t.policy:2:13: unknown system call \"wirte\"" },
                { "default kill\nallow socket(arg0 = 1)\n", "t.policy:2:19: \"=\" is not an operator" },
                { "default kill\nallow socket(arg6 == 1)\n", "t.policy:2:14: expected arg0 ... arg5" },
                { "default kill\nallow socket(arg0 == AF_BOGUS)\n", "t.policy:2:22: unknown constant \"AF_BOGUS\"" },
                { "default kill\nallow read(arg0 > 1 && arg0 < 5)\n", "t.policy:2:24: a second comparison of arg0" },
                { "default kill\nallow @nosuchgroup\n", "t.policy:2:7: unknown group @nosuchgroup" },
                { "default kill\ndefault allow\n", "t.policy:2:1: a second default (the first is line 1)" },
                { "default errno EBOGUS\n", "t.policy:1:15: unknown errno name \"EBOGUS\"" },
                { "default kill\nfrobnicate read\n", "t.policy:2:1: unknown keyword \"frobnicate\"" },
                { "default kill\narch x86_64 sparc\n", "t.policy:2:13: unknown architecture \"sparc\"" },
                { "default kill\nallow @default(arg0 == 1)\n", "t.policy:2:15: conditions apply to one system call" },
                { "default kill\nallow read(arg2 & O_WRONLY == 3)\n", "t.policy:2:28: value 0x3 has bits outside the mask 0x1" },
                { "default kill\nallow read(arg2 & 3 > 1)\n", "t.policy:2:21: a mask compares with == only" },
                { "default kill\nallow socket(arg0 == -1)\n", "t.policy:2:22: negative numbers are not supported" },
                { "default kill\nallow read $\n", "t.policy:2:12: unexpected character '$'" },
                { "default kill\nallow read(arg0 == 1\n", "t.policy:3:1: expected &&, || or \")\", found end of file" },
                { "default kill\nallow read(arg0 == 99999999999999999999)\n", "t.policy:2:20: invalid number" },
                { "default kill\nallow\n", "t.policy:2:6: expected a system call or @group, found end of line" },
                { "default kill\nerrno read\n", "t.policy:2:7: unknown errno name \"read\"" },
                { "default kill\nssb maybe\n", "t.policy:2:5: ssb takes \"kernel\" or \"allow\"" },
                { "default kill\ninclude\n", "t.policy:2:8: include needs a policy name or path" },
                { "default kill\ninclude no-such-policy\n", "t.policy:2:9: include \"no-such-policy\"" },
                { "default kill\nallow read write\nerrno EPERM write(arg0 == 1)\n",
                  "t.policy:3:13: write: a conditional errno EPERM rule cannot follow the unconditional allow "
                  "of t.policy:2: what the conditions do not match would get the default action, not allow; "
                  "write the allow cases as conditions instead (e.g. `allow write(arg0 != ...)`)" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                expect_error(cases[i].text, cases[i].want);
}
END_TEST

START_TEST(test_nul_byte_is_an_error) {
        static const char text[] = "default kill\nallow read\0write\n";
        struct pv_policy *p = NULL;
        struct pv_error err;
        int r = pv_policy_parse_string("t.policy", text, sizeof(text) - 1, NULL, &p, &err);

        ck_assert_int_eq(r, -EINVAL);
        ck_assert_msg(strstr(err.message, "t.policy:2:11: unexpected byte 0x00"), "%s", err.message);
}
END_TEST

START_TEST(test_lists_and_continuation) {
        static const char text[] = "default errno EPERM\n"
                                   "allow read write, close\t,dup\n"
                                   "allow openat,\n"
                                   "      fstat,   # a comment inside the list\n"
                                   "      lseek\n"
                                   "allow mmap \\\n munmap\n";
        struct pv_policy *p = parse(text);
        char *d = dump(p);

        ck_assert_msg(strstr(d, "t.policy:4"), "%.2000s", d); /* fstat's position */
        free(d);
        pv_policy_free(p);
        EXPECT_RULES(text, { "allow", "read" }, { "allow", "write" }, { "allow", "close" },
                     { "allow", "dup" }, { "allow", "openat" }, { "allow", "fstat" },
                     { "allow", "lseek" }, { "allow", "munmap" });
}
END_TEST

START_TEST(test_actions) {
        EXPECT_RULES("default errno EPERM\n"
                     "allow read\nlog write\nkill ptrace\nkill-thread mount\n"
                     "kill-process umount2\ntrap kexec_load\nerrno ENOSYS clone3\n"
                     "errno 13 chroot\n",
                     { "allow", "read" }, { "log", "write" }, { "kill-process", "ptrace" },
                     { "kill-thread", "mount" }, { "kill-process", "umount2" },
                     { "trap", "kexec_load" }, { "errno ENOSYS", "clone3" },
                     { "errno EACCES", "chroot" });
}
END_TEST

START_TEST(test_args) {
        struct pv_policy *p;
        char *d;

        EXPECT_RULES("default kill\n"
                     "allow socket(arg0 == AF_UNIX || arg0 == AF_INET6 && arg1 & SOCK_CLOEXEC == SOCK_CLOEXEC)\n"
                     "allow openat(arg2 & O_WRONLY|O_RDWR == 0)\n"
                     "allow mmap(arg2 != PROT_EXEC), mprotect(arg2 <= 3), read(arg0 < 3),\n"
                     "      write(arg0 >= 1 && arg2 > 0), close(arg0 == 0x10 || arg0 == 017)\n"
                     "allow personality(arg0 == UNAME26|PER_LINUX32)\n",
                     { "allow", "socket(arg0 == 0x1)" },
                     { "allow", "socket(arg0 == 0xa && arg1 & 0x80000 == 0x80000)" },
                     { "allow", "openat(arg2 & 0x3 == 0)" }, { "allow", "mmap(arg2 != 0x4)" },
                     { "allow", "mprotect(arg2 <= 0x3)" }, { "allow", "read(arg0 < 0x3)" },
                     { "allow", "write(arg0 >= 0x1 && arg2 > 0)" }, { "allow", "close(arg0 == 0x10)" },
                     { "allow", "close(arg0 == 0xf)" }, { "allow", "personality(arg0 == 0x20008)" });

        /* conditions are kept in argument order, so that equal rules are one rule */
        p = parse("default kill\nallow write(arg2 > 0 && arg0 == 1)\nallow write(arg0 == 1 && arg2 > 0)\n");
        d = dump(p);
        EXPECT_RULE(d, "allow", "write(arg0 == 0x1 && arg2 > 0)");
        ck_assert_ptr_null(strstr(strstr(d, "write(") + 1, "write("));
        free(d);
        pv_policy_free(p);
}
END_TEST

START_TEST(test_merge_semantics) {
        /* an unconditional rule replaces what came before for the syscall */
        struct pv_policy *p = parse("default errno EPERM\n"
                                    "allow @basic-io\n"
                                    "kill write\n"
                                    "allow socket(arg0 == AF_UNIX)\n"
                                    "allow socket(arg0 == AF_INET)\n"
                                    "allow socket\n"
                                    "allow close\n"
                                    "allow close(arg0 == 3)\n");
        char *d = dump(p);

        EXPECT_RULE(d, "kill-process", "write");
        EXPECT_NO_RULE(d, "allow", "write");
        EXPECT_RULE(d, "allow", "socket"); /* unconditional now */
        EXPECT_NO_RULE(d, "allow", "socket(arg0 == 0x1)");
        /* a conditional rule with the same action narrows an unconditional one */
        EXPECT_RULE(d, "allow", "close(arg0 == 0x3)");
        EXPECT_NO_RULE(d, "allow", "close");
        free(d);
        pv_policy_free(p);
}
END_TEST

START_TEST(test_groups) {
        struct pv_policy *p = parse("default kill\nallow @basic-io, @system-service\n");
        char *d = dump(p);

        EXPECT_RULE(d, "allow", "read");
        EXPECT_RULE(d, "allow", "execve"); /* @system-service includes @default */
        EXPECT_RULE(d, "allow", "rt_sigaction"); /* and @signal */
        EXPECT_NO_RULE(d, "allow", "ptrace");
        EXPECT_NO_RULE(d, "allow", "mount");
        /* the later line replaced @basic-io's rules for the syscalls they share */
        ck_assert_msg(strstr(d, "@system-service") && !strstr(d, "@basic-io"), "%.2000s", d);
        free(d);
        pv_policy_free(p);
}
END_TEST

/* Every shipped group loads: its members are all known to libseccomp (a typo in the data
 * would be an error), and the ones the issue names exist. */
START_TEST(test_shipped_groups) {
        static const char *const names[] = {
                "system-service", "basic-io", "file-system", "io-event", "ipc", "network-io",
                "process", "signal", "timer", "privileged", "mount", "module", "raw-io",
                "reboot", "swap", "clock", "cpu-emulation", "debug", "obsolete", "resources",
                "aio", "chown", "keyring", "memlock", "pkey", "setuid", "sync", "default",
                "known", "sandbox",
        };
        static const struct {
                const char *group, *member;
        } members[] = {
                { "mount", "mount" },         { "mount", "pivot_root" },  { "module", "init_module" },
                { "module", "finit_module" }, { "reboot", "kexec_load" }, { "reboot", "reboot" },
                { "swap", "swapon" },         { "debug", "ptrace" },      { "keyring", "keyctl" },
                { "privileged", "bpf" },      { "privileged", "chroot" }, { "raw-io", "iopl" },
                { "clock", "settimeofday" },  { "process", "clone3" },    { "aio", "io_uring_setup" },
                { "network-io", "socket" },   { "signal", "signalfd4" },
        };

        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                char *text = pv_test_fmt("default kill\nallow @%s\n", names[i]);
                struct pv_policy *p = parse(text);
                pv_policy_free(p);
                free(text);
        }
        for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
                char *text = pv_test_fmt("default kill\nallow @%s\n", members[i].group);
                struct pv_policy *p = parse(text);
                char *d = dump(p);
                EXPECT_RULE(d, "allow", members[i].member);
                free(d);
                free(text);
                pv_policy_free(p);
        }
}
END_TEST

static void write_at(const char *dir, const char *name, const char *text) {
        char *path = pv_test_fmt("%s/%s", dir, name);
        pv_test_write_file(path, text, 0644);
        free(path);
}

static int load_in(const char *dir, const char *name, struct pv_policy **p, struct pv_error *err) {
        return pv_policy_load(name, dir, p, err);
}

START_TEST(test_group_files) {
        char *dir = pv_test_mkdtemp(), *g = pv_test_fmt("%s/groups", dir);
        struct pv_policy *p = NULL;
        struct pv_error err;

        ck_assert_int_eq(mkdir(g, 0755), 0);
        write_at(g, "a.group", "# a\n@b read\n");
        write_at(g, "b.group", "write, @a\n");
        write_at(g, "c.group", "read\nwrite fooo_bar\n");
        write_at(g, "d.group", "@c\n");
        write_at(g, "ok.group", "read,write\n@ok2\n");
        write_at(g, "ok2.group", "close\n");
        write_at(dir, "cycle.policy", "default kill\nallow @a\n");
        write_at(dir, "unknown.policy", "default kill\nallow @d\n");
        write_at(dir, "ok.policy", "default kill\nallow @ok\n");
        write_at(dir, "bad.policy", "default kill\nallow @../x\n");

        ck_assert_int_lt(load_in(dir, "cycle", &p, &err), 0);
        ck_assert_msg(strstr(err.message, "b.group:1:8: group @a includes itself"), "%s", err.message);
        ck_assert_int_lt(load_in(dir, "unknown", &p, &err), 0);
        ck_assert_msg(strstr(err.message, "c.group:2:7: unknown system call \"fooo_bar\" in group @c"),
                      "%s", err.message);
        ck_assert_int_lt(load_in(dir, "bad", &p, &err), 0);
        ck_assert_msg(strstr(err.message, "invalid group name"), "%s", err.message);
        ck_assert_int_eq(load_in(dir, "ok", &p, &err), 0);
        char *d = dump(p);
        EXPECT_RULE(d, "allow", "read");
        EXPECT_RULE(d, "allow", "close");
        free(d);
        pv_policy_free(p);
        pv_test_rmtree(dir);
        free(dir);
        free(g);
}
END_TEST

START_TEST(test_includes) {
        char *dir = pv_test_mkdtemp(), *sub = pv_test_fmt("%s/sub", dir);
        struct pv_policy *p = NULL;
        struct pv_error err;
        char *d;

        ck_assert_int_eq(mkdir(sub, 0755), 0);
        write_at(dir, "base.policy",
                 "default errno EPERM\narch native\nallow read write close\nallow socket(arg0 == AF_UNIX)\n");
        write_at(dir, "top.policy", "include base\nallow socket(arg0 == AF_INET)\nkill write\n");
        write_at(dir, "override.policy", "include base\ndefault kill-process\n");
        write_at(dir, "a.policy", "default allow\n");
        write_at(dir, "b.policy", "default kill\n");
        write_at(dir, "conflict.policy", "include a\ninclude b\nallow read\n");
        write_at(dir, "resolved.policy", "include a\ninclude b\ndefault trap\n");
        write_at(dir, "c1.policy", "default kill\ninclude c2\n");
        write_at(dir, "c2.policy", "include c1\n");
        write_at(dir, "self.policy", "default kill\ninclude self\n");
        write_at(sub, "x.policy", "allow getpid\ninclude ../y.policy\n");
        write_at(dir, "y.policy", "allow gettid\n");
        write_at(dir, "path.policy", "default kill\ninclude sub/x.policy\n");

        ck_assert_int_eq(load_in(dir, "top", &p, &err), 0);
        ck_assert_int_eq(pv_policy_default_action(p, NULL), PV_SECCOMP_ERRNO);
        d = dump(p);
        EXPECT_RULE(d, "allow", "read");
        EXPECT_RULE(d, "kill-process", "write");
        /* the including file's rule replaces the included file's rules for socket */
        EXPECT_RULE(d, "allow", "socket(arg0 == 0x2)");
        EXPECT_NO_RULE(d, "allow", "socket(arg0 == 0x1)");
        free(d);
        pv_policy_free(p);

        ck_assert_int_eq(load_in(dir, "override", &p, &err), 0);
        ck_assert_int_eq(pv_policy_default_action(p, NULL), PV_SECCOMP_KILL_PROCESS);
        pv_policy_free(p);

        ck_assert_int_lt(load_in(dir, "conflict", &p, &err), 0);
        ck_assert_msg(strstr(err.message, "conflict.policy:1: the included files disagree on the "
                                          "default action"),
                      "%s", err.message);
        ck_assert_int_eq(load_in(dir, "resolved", &p, &err), 0);
        ck_assert_int_eq(pv_policy_default_action(p, NULL), PV_SECCOMP_TRAP);
        pv_policy_free(p);

        ck_assert_int_eq(load_in(dir, "c1", &p, &err), -ELOOP);
        ck_assert_msg(strstr(err.message, "c2.policy:1:9: include cycle"), "%s", err.message);
        ck_assert_int_eq(load_in(dir, "self", &p, &err), -ELOOP);

        ck_assert_int_eq(load_in(dir, "path", &p, &err), 0);
        d = dump(p);
        EXPECT_RULE(d, "allow", "getpid");
        EXPECT_RULE(d, "allow", "gettid");
        free(d);
        pv_policy_free(p);

        /* a path given to load, and a NAME that does not exist */
        char *path = pv_test_fmt("%s/top.policy", dir);
        ck_assert_int_eq(pv_policy_load(path, dir, &p, &err), 0);
        pv_policy_free(p);
        free(path);
        ck_assert_int_eq(load_in(dir, "nope", &p, &err), -ENOENT);
        ck_assert_msg(strstr(err.message, "no "), "%s", err.message);

        pv_test_rmtree(dir);
        free(dir);
        free(sub);
}
END_TEST

START_TEST(test_arch) {
        struct pv_policy *p = parse("default kill\nallow read\n");
        char *d = dump(p);

        ck_assert_msg(strstr(d, "\narch x86_64    # native"), "%.2000s", d);
        free(d);
        pv_policy_free(p);

        p = parse("default kill\narch x86_64 x32 i386\nallow read\n");
        d = dump(p);
        ck_assert_msg(strstr(d, "\narch x86_64 x32 i386\n"), "%.2000s", d);
        free(d);
        pv_policy_free(p);

        /* socketcall and arm_fadvise64_64 do not exist on x86_64: not an error */
        struct pv_seccomp_program *prog;
        struct pv_error err;
        p = parse("default kill\narch native\nallow socketcall arm_fadvise64_64 read\n");
        ck_assert_int_eq(pv_policy_compile(p, 0, &prog, &err), 0);
        pv_seccomp_program_free(prog);
        pv_policy_free(p);
        p = parse("default kill\narch i386 x86_64\nallow socketcall\n");
        ck_assert_int_eq(pv_policy_compile(p, 0, &prog, &err), 0);
        pv_seccomp_program_free(prog);
        pv_policy_free(p);
}
END_TEST

START_TEST(test_shipped_policies) {
        static const char *const names[] = { "default", "server", "strict" };

        for (size_t i = 0; i < 3; i++) {
                struct pv_policy *p = NULL;
                struct pv_seccomp_program *prog = NULL;
                struct pv_error err;
                char *d;

                ck_assert_msg(pv_policy_load(names[i], NULL, &p, &err) == 0, "%s: %s", names[i],
                              err.message);
                ck_assert(pv_policy_is_allowlist(p));
                ck_assert_uint_eq(pv_policy_n_warnings(p), 0);
                ck_assert_msg(pv_policy_compile(p, 0, &prog, &err) == 0, "%s", err.message);
                ck_assert_uint_gt(prog->fprog.len, 50);
                d = dump(p);
                ck_assert_msg(strstr(d, "\narch x86_64    # native"), "%.2000s", d);
                EXPECT_RULE(d, "errno ENOSYS", "clone3");
                EXPECT_NO_RULE(d, "allow", "ptrace");
                EXPECT_NO_RULE(d, "allow", "io_uring_setup");
                EXPECT_NO_RULE(d, "allow", "keyctl");
                EXPECT_NO_RULE(d, "allow", "unshare");
                EXPECT_NO_RULE(d, "allow", "mount");
                EXPECT_NO_RULE(d, "allow", "bpf");
                EXPECT_NO_RULE(d, "allow", "clone");
                EXPECT_RULE(d, "allow", "clone(arg0 & 0x7e020000 == 0)");
                free(d);
                pv_seccomp_program_free(prog);
                pv_policy_free(p);
        }
}
END_TEST

START_TEST(test_json_docker_default) {
        char *path = docker_default();
        struct pv_policy *p = NULL;
        struct pv_seccomp_program *prog;
        struct pv_error err;
        char *d;
        int e;

        ck_assert_msg(pv_policy_load(path, NULL, &p, &err) == 0, "%s", err.message);
        ck_assert_int_eq(pv_policy_default_action(p, &e), PV_SECCOMP_ERRNO);
        ck_assert_int_eq(e, EPERM);
        d = dump(p);
        ck_assert_msg(strstr(d, "\narch x86_64 i386 x32\n"), "%.2000s", d); /* archMap */
        EXPECT_RULE(d, "errno ENOSYS", "clone3");
        EXPECT_RULE(d, "allow", "clone(arg0 & 0x7e020000 == 0)");
        EXPECT_RULE(d, "allow", "socket(arg0 < 0x26)");
        EXPECT_RULE(d, "allow", "personality(arg0 == 0xffffffff)");
        EXPECT_RULE(d, "allow", "ptrace"); /* minKernel 4.8 */
        EXPECT_RULE(d, "allow", "arch_prctl"); /* includes.arches amd64 */
        EXPECT_NO_RULE(d, "allow", "s390_pci_mmio_read");
        EXPECT_NO_RULE(d, "allow", "mount"); /* includes.caps CAP_SYS_ADMIN */
        EXPECT_NO_RULE(d, "allow", "reboot");
        /* what it leaves out is reported */
        ck_assert_uint_eq(pv_policy_n_warnings(p), 2);
        ck_assert_msg(strstr(pv_policy_warning(p, 0), "need capabilities"), "%s", pv_policy_warning(p, 0));
        ck_assert_msg(strstr(pv_policy_warning(p, 1), "statmount"), "%s", pv_policy_warning(p, 1));
        ck_assert_int_eq(pv_policy_compile(p, 0, &prog, &err), 0);
        pv_seccomp_program_free(prog);
        free(d);
        pv_policy_free(p);

        /* with CAP_SYS_ADMIN held, clone is allowed outright and clone3 too */
        struct pv_policy_options o = { .caps = 1ull << 21 /* CAP_SYS_ADMIN */ };
        ck_assert_int_eq(pv_policy_load_opts(path, &o, &p, &err), 0);
        d = dump(p);
        EXPECT_RULE(d, "allow", "clone");
        EXPECT_RULE(d, "allow", "clone3");
        EXPECT_RULE(d, "allow", "mount");
        free(d);
        pv_policy_free(p);

        /* an older kernel than minKernel leaves ptrace out */
        o = (struct pv_policy_options){ .kernel_release = "4.4.0-generic" };
        ck_assert_int_eq(pv_policy_load_opts(path, &o, &p, &err), 0);
        d = dump(p);
        EXPECT_NO_RULE(d, "allow", "ptrace");
        free(d);
        pv_policy_free(p);
        free(path);
}
END_TEST

START_TEST(test_json_semantics) {
        struct pv_policy *p;
        struct pv_error err;
        char *d;

        /* defaultErrnoRet; errnoRet defaulting to EPERM; several args AND; the same
         * index twice ORs (runc); SCMP_ACT_KILL is kill-thread */
        p = parse_as("t.json",
                     "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 38,"
                     " \"architectures\": [\"SCMP_ARCH_X86_64\"],"
                     " \"syscalls\": ["
                     "  {\"names\": [\"read\", \"write\"], \"action\": \"SCMP_ACT_ALLOW\"},"
                     "  {\"names\": [\"chroot\"], \"action\": \"SCMP_ACT_ERRNO\"},"
                     "  {\"names\": [\"socket\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": ["
                     "     {\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"},"
                     "     {\"index\": 1, \"value\": 2, \"valueTwo\": 2, \"op\": \"SCMP_CMP_MASKED_EQ\"}]},"
                     "  {\"names\": [\"close\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": ["
                     "     {\"index\": 0, \"value\": 3, \"op\": \"SCMP_CMP_EQ\"},"
                     "     {\"index\": 0, \"value\": 4, \"op\": \"SCMP_CMP_EQ\"}]},"
                     "  {\"name\": \"ptrace\", \"action\": \"SCMP_ACT_KILL\"},"
                     "  {\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 13}"
                     "]}",
                     &err);
        ck_assert_msg(p, "%s", err.message);
        d = dump(p);
        ck_assert_msg(strstr(d, "default errno ENOSYS"), "%.2000s", d);
        EXPECT_RULE(d, "allow", "read");
        EXPECT_RULE(d, "errno EPERM", "chroot");
        EXPECT_RULE(d, "allow", "socket(arg0 == 0x1 && arg1 & 0x2 == 0x2)");
        EXPECT_RULE(d, "allow", "close(arg0 == 0x3)");
        EXPECT_RULE(d, "allow", "close(arg0 == 0x4)");
        EXPECT_RULE(d, "kill-thread", "ptrace");
        EXPECT_RULE(d, "errno EACCES", "mount");
        ck_assert_msg(strstr(d, "t.json syscalls[4]"), "%.2000s", d);
        free(d);
        pv_policy_free(p);

        static const struct {
                const char *text, *want;
        } bad[] = {
                { "{\"defaultAction\": ", "t.json:1:" },
                { "[]", "t.json: expected a JSON object" },
                { "{\"defaultAction\": \"SCMP_ACT_FROB\"}", "unknown action \"SCMP_ACT_FROB\"" },
                { "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], "
                  "\"action\": \"SCMP_ACT_ALLOW\", \"errnoRet\": 1}]}",
                  "t.json: syscalls[0]: errnoRet is only valid with SCMP_ACT_ERRNO" },
                { "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], "
                  "\"action\": \"SCMP_ACT_TRACE\"}]}",
                  "SCMP_ACT_TRACE is not supported" },
                { "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"architectures\": [\"SCMP_ARCH_Z80\"]}",
                  "unknown architecture SCMP_ARCH_Z80" },
                { "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"ptrace\", "
                  "\"mountt\"], \"action\": \"SCMP_ACT_ERRNO\"}]}",
                  "t.json: syscalls[0]: unknown system call \"mountt\" in a rule that denies" },
                { "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], "
                  "\"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 6, \"value\": 1, \"op\": "
                  "\"SCMP_CMP_EQ\"}]}]}",
                  "args[0].index: expected 0 ... 5" },
                { "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], "
                  "\"action\": \"SCMP_ACT_ALLOW\", \"includes\": {\"kernel\": 1}}]}",
                  "includes.kernel is not supported" },
                { "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], "
                  "\"action\": \"SCMP_ACT_ALLOW\"}, {\"names\": [\"read\"], \"action\": \"SCMP_ACT_LOG\"}]}",
                  "t.json: syscalls[1]: read: log here, but allow in t.json syscalls[0]" },
                { "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"listenerPath\": \"/x\"}",
                  "listenerPath is not supported" },
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                p = parse_as("t.json", bad[i].text, &err);
                ck_assert_msg(!p, "parsed: %s", bad[i].text);
                ck_assert_msg(strstr(err.message, bad[i].want), "error \"%s\", want \"%s\"",
                              err.message, bad[i].want);
        }

        /* unknown names in an allow rule are left out with a warning; an unknown key too */
        p = parse_as("t.json",
                     "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"frob\": 1, \"syscalls\": [{\"names\": "
                     "[\"read\", \"readd\"], \"action\": \"SCMP_ACT_ALLOW\"}]}",
                     &err);
        ck_assert_msg(p, "%s", err.message);
        ck_assert_uint_eq(pv_policy_n_warnings(p), 2);
        ck_assert_msg(strstr(pv_policy_warning(p, 0), "unknown key \"frob\""), "%s", pv_policy_warning(p, 0));
        ck_assert_msg(strstr(pv_policy_warning(p, 1), "readd"), "%s", pv_policy_warning(p, 1));
        pv_policy_free(p);
}
END_TEST

static bool has_ret(const struct pv_seccomp_program *prog, uint32_t action) {
        for (unsigned i = 0; i < prog->fprog.len; i++)
                if (prog->fprog.filter[i].code == (BPF_RET | BPF_K) &&
                    (prog->fprog.filter[i].k & SECCOMP_RET_ACTION_FULL) == action)
                        return true;
        return false;
}

START_TEST(test_compile_flags) {
        struct pv_policy *p = parse("default kill\nallow read\nkill-thread write\n");
        struct pv_seccomp_program *prog, *prog2;
        struct pv_error err;

        ck_assert_int_eq(pv_policy_compile(p, 0, &prog, &err), 0);
        ck_assert_uint_eq(prog->flags, 0);
        ck_assert(has_ret(prog, SECCOMP_RET_KILL_PROCESS));
        ck_assert(has_ret(prog, SECCOMP_RET_KILL_THREAD));
        ck_assert(!has_ret(prog, SECCOMP_RET_USER_NOTIF));
        /* the forward-compatibility prefix: ENOSYS for numbers above libseccomp's table */
        ck_assert(has_ret(prog, SECCOMP_RET_ERRNO));

        ck_assert_int_eq(pv_policy_compile(p, PV_POLICY_NOTIFY_KILLS | PV_POLICY_SSB_ALLOW, &prog2, &err), 0);
        ck_assert_uint_eq(prog2->flags, SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_SPEC_ALLOW);
        /* Kills jump to one tail: notify, except for the calls of pv_spawn's handshake
         * (execve, sendmsg, close...), which kill outright: the only KILL left is the
         * tail's last instruction. */
        ck_assert(!has_ret(prog2, SECCOMP_RET_KILL_THREAD));
        ck_assert(has_ret(prog2, SECCOMP_RET_USER_NOTIF));
        for (unsigned i = 0; i + 1 < prog2->fprog.len; i++)
                ck_assert(!(prog2->fprog.filter[i].code == (BPF_RET | BPF_K) &&
                            (prog2->fprog.filter[i].k & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_KILL_PROCESS));
        ck_assert_uint_eq(prog2->fprog.filter[prog2->fprog.len - 1].code, BPF_RET | BPF_K);
        ck_assert_uint_eq(prog2->fprog.filter[prog2->fprog.len - 1].k, SECCOMP_RET_KILL_PROCESS);
        ck_assert_uint_ne(prog->hash, prog2->hash);
        pv_seccomp_program_free(prog);
        pv_seccomp_program_free(prog2);
        pv_policy_free(p);

        p = parse("default kill\nssb allow\nallow read\n");
        ck_assert_int_eq(pv_policy_compile(p, 0, &prog, &err), 0);
        ck_assert_uint_eq(prog->flags, SECCOMP_FILTER_FLAG_SPEC_ALLOW);
        pv_seccomp_program_free(prog);
        pv_policy_free(p);

        /* a deny-list has no forward-compatibility prefix */
        p = parse("default allow\nkill ptrace\n");
        ck_assert_int_eq(pv_policy_compile(p, 0, &prog, &err), 0);
        ck_assert(!has_ret(prog, SECCOMP_RET_ERRNO));
        pv_seccomp_program_free(prog);
        pv_policy_free(p);
}
END_TEST

START_TEST(test_cache) {
        struct pv_policy *a = parse("default kill\nallow read write\n");
        struct pv_policy *b = parse("# the same, written otherwise\ndefault kill-process\nallow write\nallow read\n");
        struct pv_policy *c = parse("default kill\nallow read\n");
        struct pv_seccomp_program *pa, *pb, *pc, *pn;
        struct pv_policy_cache *cache;
        struct pv_error err;

        ck_assert_int_eq(pv_policy_cache_new(&cache), 0);
        ck_assert_int_eq(pv_policy_cache_get(cache, a, 0, &pa, &err), 0);
        ck_assert_int_eq(pv_policy_cache_get(cache, b, 0, &pb, &err), 0);
        ck_assert_ptr_eq(pa, pb);
        ck_assert_int_eq(pv_policy_cache_get(cache, c, 0, &pc, &err), 0);
        ck_assert_ptr_ne(pa, pc);
        ck_assert_int_eq(pv_policy_cache_get(cache, a, PV_POLICY_NOTIFY_KILLS, &pn, &err), 0);
        ck_assert_ptr_ne(pa, pn);
        ck_assert_uint_eq(pv_policy_cache_size(cache), 3);
        pv_seccomp_program_free(pc);
        ck_assert_uint_eq(pv_policy_cache_prune(cache), 1);
        ck_assert_uint_eq(pv_policy_cache_size(cache), 2);
        pv_seccomp_program_free(pa);
        pv_seccomp_program_free(pb);
        /* a program outlives the cache while referenced */
        pv_policy_cache_free(cache);
        ck_assert_uint_gt(pn->fprog.len, 0);
        pv_seccomp_program_free(pn);
        pv_policy_free(a);
        pv_policy_free(b);
        pv_policy_free(c);
}
END_TEST

START_TEST(test_syscall_names) {
        char buf[64];

        ck_assert_str_eq(pv_seccomp_syscall_name(0, 101, buf, sizeof(buf)), "ptrace");
        ck_assert_str_eq(pv_seccomp_syscall_name(AUDIT_ARCH_X86_64, 165, buf, sizeof(buf)), "mount");
        ck_assert_str_eq(pv_seccomp_syscall_name(AUDIT_ARCH_I386, 26, buf, sizeof(buf)), "ptrace (i386)");
        ck_assert_str_eq(pv_seccomp_syscall_name(AUDIT_ARCH_X86_64, 0x40000000 | 39, buf, sizeof(buf)),
                         "getpid (x32)");
        ck_assert_str_eq(pv_seccomp_syscall_name(0, 9999, buf, sizeof(buf)), "syscall 9999");
        ck_assert_str_eq(pv_seccomp_syscall_name(AUDIT_ARCH_AARCH64, 117, buf, sizeof(buf)), "ptrace (aarch64)");
}
END_TEST

START_TEST(test_undecided) {
        struct pv_policy *p = parse("default allow\nerrno EPERM ptrace, mount\nallow read\n");
        char **u = NULL;
        bool getpid = false, ptrace = false, read = false;

        ck_assert_int_eq(pv_policy_undecided(p, &u), 0);
        for (size_t i = 0; u[i]; i++) {
                /* names only the kernel knows are syscalls, not compat helpers */
                ck_assert_msg(u[i][0] != '?' || (!strchr(u[i], '.') && strncmp(u[i], "?ia32_", 6)),
                              "%s", u[i]);
                getpid = getpid || !strcmp(u[i], "getpid");
                ptrace = ptrace || !strcmp(u[i], "ptrace");
                read = read || !strcmp(u[i], "read");
                free(u[i]);
        }
        free(u);
        ck_assert(getpid);
        ck_assert(!ptrace && !read);
        pv_policy_free(p);
}
END_TEST

START_TEST(test_pfc) {
        struct pv_policy *p = NULL;
        struct pv_error err;
        char path[] = "/tmp/pvtest-pfc.XXXXXX";
        int fd = mkstemp(path);

        ck_assert_int_ge(fd, 0);
        unlink(path);
        ck_assert_int_eq(pv_policy_load("default", NULL, &p, &err), 0);
        ck_assert_int_eq(pv_policy_export_pfc(p, 0, fd, &err), 0);
        lseek(fd, 0, SEEK_SET);
        char *text = pv_test_read_all(fd);
        ck_assert_msg(strstr(text, "newer than libseccomp's table"), "%s", text);
        ck_assert_msg(strstr(text, "ERRNO(38)"), "%s", text);
        ck_assert_msg(strstr(text, "pseudo filter code start"), "%s", text);
        free(text);
        close(fd);
        pv_policy_free(p);
}
END_TEST

/* Runs `pidvisor ARGS...` with stdout and stderr captured; returns the exit status. */
static int run_cli(char *const argv[], char **out) {
        int pfd[2], status;
        pid_t pid;

        ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                dup2(pfd[1], 1);
                dup2(pfd[1], 2);
                execv(argv[0], argv);
                _exit(127);
        }
        close(pfd[1]);
        *out = pv_test_read_all(pfd[0]);
        close(pfd[0]);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status));
        return WEXITSTATUS(status);
}

START_TEST(test_cli) {
        char *bin = getenv("PV_BIN"), *dir = pv_test_mkdtemp(), *out;
        char *bad = pv_test_fmt("%s/bad.policy", dir), *deny = pv_test_fmt("%s/deny.policy", dir);

        ck_assert_ptr_nonnull(bin);
        pv_test_write_file(bad, "default kill\nallow read,\n   ptrace2\n", 0644);
        pv_test_write_file(deny, "default allow\nerrno EPERM ptrace\n", 0644);

        ck_assert_int_eq(run_cli((char *[]){ bin, "policy", "check", bad, NULL }, &out), 1);
        ck_assert_msg(strstr(out, "bad.policy:3:4: unknown system call \"ptrace2\""), "%s", out);
        free(out);
        ck_assert_int_eq(run_cli((char *[]){ bin, "policy", "check", "server", NULL }, &out), 0);
        ck_assert_msg(strstr(out, "server: ok, allow-list policy"), "%s", out);
        free(out);
        ck_assert_int_eq(run_cli((char *[]){ bin, "policy", "check", deny, NULL }, &out), 0);
        ck_assert_msg(strstr(out, "no rule decides") && strstr(out, "\n  getpid\n") &&
                      !strstr(out, "\n  ptrace\n"), "%.2000s", out);
        free(out);
        ck_assert_int_eq(run_cli((char *[]){ bin, "policy", "show", "strict", NULL }, &out), 0);
        ck_assert_msg(strstr(out, "default kill-process") && strstr(out, "strict.policy:"), "%.2000s", out);
        free(out);
        ck_assert_int_eq(run_cli((char *[]){ bin, "policy", "show", "--bpf", "default", NULL }, &out), 0);
        ck_assert_msg(strstr(out, "ERRNO(38)") && strstr(out, "pseudo filter code"), "%.2000s", out);
        free(out);
        ck_assert_int_eq(run_cli((char *[]){ bin, "policy", "frob", NULL }, &out), 2);
        free(out);
        pv_test_rmtree(dir);
        free(dir);
        free(bad);
        free(deny);
}
END_TEST

int main(void) {
        Suite *s = pv_test_suite("policy");
        TCase *tc;

        tc = pv_test_case("language");
        tcase_add_test(tc, test_minimal);
        tcase_add_test(tc, test_errors_have_positions);
        tcase_add_test(tc, test_nul_byte_is_an_error);
        tcase_add_test(tc, test_lists_and_continuation);
        tcase_add_test(tc, test_actions);
        tcase_add_test(tc, test_args);
        tcase_add_test(tc, test_merge_semantics);
        tcase_add_test(tc, test_arch);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("groups-includes");
        tcase_add_test(tc, test_groups);
        tcase_add_test(tc, test_shipped_groups);
        tcase_add_test(tc, test_group_files);
        tcase_add_test(tc, test_includes);
        tcase_add_test(tc, test_shipped_policies);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("json");
        tcase_add_test(tc, test_json_docker_default);
        tcase_add_test(tc, test_json_semantics);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("compile");
        tcase_add_test(tc, test_compile_flags);
        tcase_add_test(tc, test_cache);
        tcase_add_test(tc, test_syscall_names);
        tcase_add_test(tc, test_undecided);
        tcase_add_test(tc, test_pfc);
        tcase_add_test(tc, test_cli);
        pv_test_add(s, tc, NULL);

        return pv_test_main(s);
}
