/* SPDX-License-Identifier: MIT */
/* Integration tests of `pidvisor run`'s confinement flags (docs/run.md): each flag is
 * shown to take effect on a real program (the fixture, python3, sh), with the other side
 * where it proves something (the escape works without the flag), and each bad value
 * fails with one line naming the flag.  Harness: runlib.c.  Root only: they all set up
 * namespaces, credentials or cgroups.
 *
 * Limits: on this machine memory, pids and cpu are cgroup v1 controllers (v2 has only
 * hugetlb), so the limits go through v1; the checks read /proc/PID/cgroup, which shows
 * either. */
#include "runlib.h"
#include "testlib.h"

#include <pidvisor/pidvisor.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PYTHON "/usr/bin/python3"
/* ptrace(PTRACE_TRACEME): harmless when allowed (0), the classic escape step else. */
#define PTRACE_PY "import ctypes; r = ctypes.CDLL(None).syscall(101, 0, 0, 0, 0); print('ptrace', r)"
/* mount(2) of a tmpfs on /tmp: the errno's name when it fails. */
#define MOUNT_PY                                                                                   \
        "import ctypes, errno\n"                                                                   \
        "libc = ctypes.CDLL(None, use_errno=True)\n"                                               \
        "r = libc.mount(b'none', b'/tmp', b'tmpfs', 0, None)\n"                                    \
        "print('mount', r if r == 0 else errno.errorcode[ctypes.get_errno()])\n"

extern char **environ;

/* The test's environment plus one assignment. */
static char **env_plus(const char *assignment) {
        size_t n = 0;
        char **env;

        while (environ[n])
                n++;
        env = calloc(n + 2, sizeof(char *));
        ck_assert_ptr_nonnull(env);
        memcpy(env, environ, n * sizeof(char *));
        env[n] = (char *)assignment;
        return env;
}

static bool contains(const char *haystack, const char *needle) {
        return strstr(haystack, needle) != NULL;
}

static void expect_stderr_has(struct run *r, const char *text) {
        ck_assert_msg(contains(buf_str(&r->ebuf), text), "%s: stderr \"%s\" lacks \"%s\"\nstdout: \"%s\"",
                      r->cmdline, buf_str(&r->ebuf), text, buf_str(&r->obuf));
}

static void expect_stdout_has(struct run *r, const char *text) {
        ck_assert_msg(contains(buf_str(&r->obuf), text), "%s: stdout \"%s\" lacks \"%s\"\nstderr: \"%s\"",
                      r->cmdline, buf_str(&r->obuf), text, buf_str(&r->ebuf));
}

static char *read_file(const char *path) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        char *s;

        if (fd < 0)
                return NULL;
        s = pv_test_read_all(fd);
        close(fd);
        return s;
}

/* ======================================================================================
 * Help and bad values.
 * ====================================================================================== */

static const char *const flags[] = {
        "--policy",       "--syscall-filter", "--syscall-errno", "--cap",          "--no-new-privs",
        "--private-network", "--private-ipc", "--private-tmp",   "--private-pids", "--private-users",
        "--protect-system", "--read-only",    "--read-write",    "--inaccessible", "--hostname",
        "--memory-max",   "--tasks-max",      "--cpu-quota",     "--no-require-limits", "159",
};

START_TEST(test_help_lists_flags) {
        struct run r;

        run_pv(&r, NULL, "run", "--help", NULL);
        expect_exit(&r, 0);
        for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
                expect_stdout_has(&r, flags[i]);
        run_done(&r);
}
END_TEST

/* A bad value of each flag: exit 125, one line naming the flag, nothing run. */
static const struct {
        const char *flag, *value, *says;
} bad[] = {
        { "--policy", "pvtest-nosuch", "no " },
        { "--syscall-filter", "pvtest_nosuchcall", "unknown system call \"pvtest_nosuchcall\"" },
        { "--syscall-filter", "@pvtest-nosuchgroup", "unknown group @pvtest-nosuchgroup" },
        { "--syscall-filter", "read:EPERM", "use --syscall-errno" },
        { "--syscall-filter", "", "expected a value" },
        { "--cap", "CAP_PVTEST", "unknown capability \"CAP_PVTEST\"" },
        { "--protect-system", "maybe", "expected yes, full, strict or no" },
        { "--read-only", "relative/path", "expected an absolute path" },
        { "--read-write", "/pvtest-nonexistent", "No such file or directory" },
        { "--inaccessible", "/pvtest-nonexistent", "No such file or directory" },
        { "--hostname", "-dash", "expected 1 to 64 letters" },
        { "--hostname", "a_b", "expected 1 to 64 letters" },
        { "--hostname", "x2345678901234567890123456789012345678901234567890123456789012345", "expected 1 to 64" },
        { "--memory-max", "0", "invalid value \"0\"" },
        { "--memory-max", "12Q", "invalid value \"12Q\"" },
        { "--memory-max", "101%", "invalid value \"101%\"" },
        { "--tasks-max", "many", "invalid value \"many\"" },
        { "--tasks-max", "0", "invalid value \"0\"" },
        { "--cpu-quota", "20", "invalid value \"20\"" },
        { "--cpu-quota", "0%", "invalid value \"0%\"" },
        { "--user", "nobody:pvtest-nosuchgroup", "unknown group \"pvtest-nosuchgroup\"" },
        { "--user", "pvtest-nosuchuser", "unknown user \"pvtest-nosuchuser\"" },
        { "--user", "nobody:", "expected USER or USER:GROUP" },
};

START_TEST(test_bad_value) {
        struct run r;

        run_pv(&r, NULL, "run", bad[_i].flag, bad[_i].value, "--", FIX, "echo", "RAN", NULL);
        expect_error(&r, 125, bad[_i].flag, bad[_i].says, NULL);
        run_done(&r);
}
END_TEST

/* Combinations that make no sense are refused, naming both flags. */
START_TEST(test_bad_combinations) {
        struct run r;

        run_pv(&r, NULL, "run", "--policy", "server", "--syscall-filter", "read", "--", FIX, "echo", "RAN", NULL);
        expect_error(&r, 125, "--policy", "--syscall-filter", NULL);
        run_done(&r);
        run_pv(&r, NULL, "run", "--syscall-errno", "EPERM", "--", FIX, "echo", "RAN", NULL);
        expect_error(&r, 125, "--syscall-errno", "--syscall-filter", NULL);
        run_done(&r);
        run_pv(&r, NULL, "run", "--syscall-filter", "~ptrace", "--syscall-errno", "EPVTEST", "--", FIX, "echo",
               "RAN", NULL);
        expect_error(&r, 125, "--syscall-errno", "EPVTEST", NULL);
        run_done(&r);
        run_pv(&r, NULL, "run", "--user", "nobody:daemon", "--group", "daemon", "--", FIX, "echo", "RAN", NULL);
        expect_error(&r, 125, "--user", "--group", NULL);
        run_done(&r);
        /* A policy file with a typo: its file:line:col. */
        {
                char *dir = pv_test_mkdtemp(), *file = path_join(dir, "typo.policy");

                pv_test_write_file(file, "default allow\nkill ptrace, pvtest_typo\n", 0644);
                run_pv(&r, NULL, "run", "--policy", file, "--", FIX, "echo", "RAN", NULL);
                expect_error(&r, 125, "--policy", "typo.policy:2:", "pvtest_typo", NULL);
                run_done(&r);
                pv_test_rmtree(dir);
                free(file);
                free(dir);
        }
}
END_TEST

/* ======================================================================================
 * Namespaces.
 * ====================================================================================== */

/* Only lo, up, and TCP over it works; without the flag the host's interfaces show. */
START_TEST(test_private_network) {
        struct run r;

        run_pv(&r, NULL, "run", "--private-network", "--", FIX, "net", NULL);
        expect_ok(&r, "lo\nlo up\ntcp ok\n");
        run_done(&r);
        run_pv(&r, NULL, "run", "--", FIX, "ns", "net", NULL);
        {
                char *own = NULL, link[128];
                ssize_t n = readlink("/proc/self/ns/net", link, sizeof(link) - 1);

                ck_assert_int_gt(n, 0);
                link[n] = 0;
                own = pv_test_fmt("%s\n", link);
                expect_ok(&r, own);
                run_done(&r);
                run_pv(&r, NULL, "run", "--private-network", "--", FIX, "ns", "net", NULL);
                expect_exit(&r, 0);
                ck_assert_msg(strcmp(buf_str(&r.obuf), own) != 0, "--private-network: the same net namespace %s",
                              own);
                free(own);
        }
        run_done(&r);
}
END_TEST

START_TEST(test_private_ipc) {
        char link[128], *own;
        ssize_t n = readlink("/proc/self/ns/ipc", link, sizeof(link) - 1);
        struct run r;

        ck_assert_int_gt(n, 0);
        link[n] = 0;
        own = pv_test_fmt("%s\n", link);
        run_pv(&r, NULL, "run", "--", FIX, "ns", "ipc", NULL);
        expect_ok(&r, own);
        run_done(&r);
        run_pv(&r, NULL, "run", "--private-ipc", "--", FIX, "ns", "ipc", NULL);
        expect_exit(&r, 0);
        ck_assert_msg(strncmp(buf_str(&r.obuf), "ipc:[", 5) == 0 && strcmp(buf_str(&r.obuf), own) != 0,
                      "--private-ipc: \"%s\" (ours %s)", buf_str(&r.obuf), own);
        run_done(&r);
        free(own);
}
END_TEST

START_TEST(test_hostname) {
        char own[128], *want;
        struct run r;

        ck_assert_int_eq(gethostname(own, sizeof(own)), 0);
        run_pv(&r, NULL, "run", "--hostname", "pvtest-box.example", "--", FIX, "hostname", NULL);
        expect_ok(&r, "pvtest-box.example\n");
        run_done(&r);
        /* Ours is untouched. */
        run_pv(&r, NULL, "run", "--", FIX, "hostname", NULL);
        want = pv_test_fmt("%s\n", own);
        expect_ok(&r, want);
        free(want);
        run_done(&r);
}
END_TEST

/* A fresh, empty /tmp that nobody else sees, gone afterwards. */
START_TEST(test_private_tmp) {
        char *name = pv_test_fmt("/tmp/pvtest-private-%d", (int)getpid()), *want;
        struct run r;

        unlink(name);
        pv_test_write_file(name, "outside\n", 0644);
        run_pv(&r, NULL, "run", "--private-tmp", "--", "/bin/sh", "-c",
               "ls -A /tmp | wc -l; stat -c %a /tmp; echo inside > /tmp/pvtest-in && cat /tmp/pvtest-in", NULL);
        expect_ok(&r, "0\n1777\ninside\n");
        run_done(&r);
        ck_assert_msg(access("/tmp/pvtest-in", F_OK) < 0, "the private /tmp's file is visible outside");
        /* Without the flag, the host's /tmp. */
        run_pv(&r, NULL, "run", "--", FIX, "read-file", name, NULL);
        want = pv_test_fmt("read 8 bytes\n");
        expect_ok(&r, want);
        run_done(&r);
        unlink(name);
        free(want);
        free(name);
}
END_TEST

/* CMD is pid 2 under pidvisor's init (pid 1, whose command line is pidvisor's), its exit
 * status comes through, a death by signal N as 128+N, and a forwarded SIGTERM reaches it
 * through the init. */
START_TEST(test_private_pids) {
        struct run r;

        run_pv(&r, NULL, "run", "--private-pids", "--", FIX, "pid-info", NULL);
        expect_ok(&r, "pid 2 ppid 1\n");
        run_done(&r);
        run_pv(&r, NULL, "run", "--private-pids", "--", PYTHON, "-c",
               "import os; print(os.getpid(), open('/proc/1/cmdline').read().split('\\0')[1])", NULL);
        expect_ok(&r, "2 run\n");
        run_done(&r);
        run_pv(&r, NULL, "run", "--private-pids", "--", FIX, "exit", "7", NULL);
        expect_exit(&r, 7);
        run_done(&r);
        run_pv(&r, NULL, "run", "--private-pids", "--", FIX, "raise", "15", NULL);
        expect_exit(&r, 128 + SIGTERM);
        run_done(&r);
        /* An orphan is reaped by the init; CMD's own status wins. */
        run_pv(&r, NULL, "run", "--private-pids", "--", FIX, "orphan-zombie", "3", NULL);
        expect_exit(&r, 3);
        expect_stdout(&r, "orphan ppid=1\nreaped\n");
        run_done(&r);

        start_pv(&r, NULL, "run", "--private-pids", "--", FIX, "ready-wait", NULL);
        read_until(&r, "ready\n");
        send_signal(&r, SIGUSR1);
        read_until(&r, "got 10\n");
        send_signal(&r, SIGTERM);
        finish(&r);
        expect_ok(&r, "ready\ngot 10\ngot 15\n");
        run_done(&r);
}
END_TEST

START_TEST(test_private_users) {
        char *dir, *fix = public_fixture(&dir);
        struct run r;

        run_pv(&r, NULL, "run", "--private-users", "--", FIX, "userns", NULL);
        expect_ok(&r, "uid_map 0 0 1\ngid_map 0 0 1\nsetgroups deny\nuid=0 euid=0 gid=0 egid=0 groups=\n");
        run_done(&r);
        run_pv(&r, NULL, "run", "--private-users", "--user", "nobody:nogroup", "--", fix, "userns", NULL);
        expect_ok(&r, "uid_map 0 0 1\nuid_map 65534 65534 1\ngid_map 0 0 1\ngid_map 65534 65534 1\n"
                      "setgroups deny\nuid=65534 euid=65534 gid=65534 egid=65534 groups=65534\n");
        run_done(&r);
        pv_test_rmtree(dir);
        free(fix);
        free(dir);
}
END_TEST

/* ======================================================================================
 * Credentials.
 * ====================================================================================== */

static const char only_bind_service[] = "CapInh:\t0000000000000400\nCapPrm:\t0000000000000400\n"
                                        "CapEff:\t0000000000000400\nCapBnd:\t0000000000000400\n"
                                        "CapAmb:\t0000000000000400\n";

/* The goal case: as nobody with CAP_NET_BIND_SERVICE only, port 80 binds and every set
 * shows that one capability; without --cap, nobody cannot bind it.  (A private network,
 * so that no server of the machine holds the port.) */
START_TEST(test_cap_nobody_binds_80) {
        char *dir, *fix = public_fixture(&dir);
        struct run r;

        run_pv(&r, NULL, "run", "--cap", "CAP_NET_BIND_SERVICE", "--user", "nobody", "--", fix, "status", NULL);
        expect_exit(&r, 0);
        expect_stdout_has(&r, only_bind_service);
        expect_stdout_has(&r, "NoNewPrivs:\t0\n");
        run_done(&r);
        run_pv(&r, NULL, "run", "--private-network", "--cap", "cap_net_bind_service", "--user", "nobody", "--", fix,
               "bind-port", "80", NULL);
        expect_ok(&r, "bind 80 ok\n");
        run_done(&r);
        run_pv(&r, NULL, "run", "--private-network", "--user", "nobody", "--", fix, "bind-port", "80", NULL);
        expect_ok(&r, "bind 80: Permission denied\n");
        run_done(&r);
        pv_test_rmtree(dir);
        free(fix);
        free(dir);
}
END_TEST

/* As root, the bounding set is what limits: the same single capability; "" is none. */
START_TEST(test_cap_root) {
        struct run r;

        run_pv(&r, NULL, "run", "--cap", "CAP_NET_BIND_SERVICE", "--", FIX, "status", NULL);
        expect_exit(&r, 0);
        expect_stdout_has(&r, only_bind_service);
        run_done(&r);
        run_pv(&r, NULL, "run", "--cap", "", "--", FIX, "status", NULL);
        expect_exit(&r, 0);
        expect_stdout_has(&r, "CapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n"
                              "CapBnd:\t0000000000000000\nCapAmb:\t0000000000000000\n");
        run_done(&r);
        /* A capability pidvisor run does not hold is not given: named, an error; in a
         * "~" list, left out.  (The outer run takes CAP_SYS_TIME from the inner one.) */
        run_pv(&r, NULL, "run", "--cap", "~CAP_SYS_TIME", "--", pv_bin(), "run", "--cap", "CAP_SYS_TIME", "--", FIX,
               "echo", "RAN", NULL);
        expect_error(&r, 125, "--cap \"CAP_SYS_TIME\": cap_sys_time is not ours to give", NULL);
        run_done(&r);
        run_pv(&r, NULL, "run", "--cap", "~CAP_SYS_TIME", "--", pv_bin(), "run", "--cap", "~CAP_SYS_ADMIN", "--", FIX,
               "status", NULL);
        expect_exit(&r, 0);
        {
                char *out = strstr(buf_str(&r.obuf), "CapBnd:\t");
                unsigned long long bnd = out ? strtoull(out + 8, NULL, 16) : 0;

                ck_assert_msg(bnd && !(bnd & (1ULL << 25)) && !(bnd & (1ULL << 21)) && (bnd & (1ULL << 10)),
                              "CapBnd %llx: expected CAP_NET_BIND_SERVICE without CAP_SYS_TIME and CAP_SYS_ADMIN", bnd);
        }
        run_done(&r);
        /* Root without CAP_DAC_OVERRIDE cannot read a file of mode 0000 that is not its own. */
        {
                char *dir = pv_test_mkdtemp(), *file = path_join(dir, "secret");

                pv_test_write_file(file, "x", 0);
                ck_assert_int_eq(chown(file, 65534, 65534), 0);
                run_pv(&r, NULL, "run", "--", FIX, "read-file", file, NULL);
                expect_ok(&r, "read 1 bytes\n");
                run_done(&r);
                run_pv(&r, NULL, "run", "--cap", "~CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH", "--", FIX, "read-file", file,
                       NULL);
                expect_ok(&r, "read: Permission denied\n");
                run_done(&r);
                pv_test_rmtree(dir);
                free(file);
                free(dir);
        }
}
END_TEST

START_TEST(test_no_new_privs) {
        struct run r;

        run_pv(&r, NULL, "run", "--", FIX, "status", NULL);
        expect_stdout_has(&r, "NoNewPrivs:\t0\n");
        run_done(&r);
        run_pv(&r, NULL, "run", "--no-new-privs", "--", FIX, "status", NULL);
        expect_exit(&r, 0);
        expect_stdout_has(&r, "NoNewPrivs:\t1\nSeccomp:\t0\n");
        run_done(&r);
}
END_TEST

/* --user U:G: that group as the gid and only group. */
START_TEST(test_user_colon_group) {
        char *dir, *fix = public_fixture(&dir), *want;
        struct group *gr = getgrnam("daemon");
        struct run r;

        ck_assert_ptr_nonnull(gr);
        want = pv_test_fmt("uid=65534 euid=65534 gid=%u egid=%u groups=%u\n", (unsigned)gr->gr_gid,
                           (unsigned)gr->gr_gid, (unsigned)gr->gr_gid);
        run_pv(&r, NULL, "run", "--user", "nobody:daemon", "--", fix, "ids", NULL);
        expect_ok(&r, want);
        run_done(&r);
        free(want);
        pv_test_rmtree(dir);
        free(fix);
        free(dir);
}
END_TEST

/* ======================================================================================
 * The file system.
 * ====================================================================================== */

/* strict: writing /usr (or /etc, /var) fails with EROFS, except a --read-write path. */
START_TEST(test_protect_system_strict) {
        char *dir = tmpdir_real(), *file = path_join(dir, "w");
        char *want;
        struct run r;

        run_pv(&r, NULL, "run", "--protect-system", "strict", "--", FIX, "write-file", "/usr/pvtest-strict", NULL);
        expect_ok(&r, "Read-only file system\n");
        run_done(&r);
        ck_assert_msg(access("/usr/pvtest-strict", F_OK) < 0, "/usr/pvtest-strict was created");
        run_pv(&r, NULL, "run", "--protect-system", "strict", "--", FIX, "access-w", "/usr", "/etc", "/var", dir, NULL);
        want = pv_test_fmt("/usr: Read-only file system\n/etc: Read-only file system\n/var: Read-only file system\n"
                           "%s: Read-only file system\n", dir);
        expect_ok(&r, want);
        free(want);
        run_done(&r);
        run_pv(&r, NULL, "run", "--protect-system", "strict", "--read-write", dir, "--", FIX, "write-file", file, NULL);
        expect_ok(&r, "ok\n");
        run_done(&r);
        /* The other side: writable without the flag. */
        run_pv(&r, NULL, "run", "--", FIX, "access-w", "/usr", "/etc", NULL);
        expect_ok(&r, "/usr ok\n/etc ok\n");
        run_done(&r);
        pv_test_rmtree(dir);
        free(file);
        free(dir);
}
END_TEST

/* yes: /usr read-only, /etc not; full: /etc too. */
START_TEST(test_protect_system_yes_full) {
        struct run r;

        run_pv(&r, NULL, "run", "--protect-system", "yes", "--", FIX, "access-w", "/usr", "/etc", NULL);
        expect_ok(&r, "/usr: Read-only file system\n/etc ok\n");
        run_done(&r);
        run_pv(&r, NULL, "run", "--protect-system", "full", "--", FIX, "access-w", "/usr", "/etc", NULL);
        expect_ok(&r, "/usr: Read-only file system\n/etc: Read-only file system\n");
        run_done(&r);
        run_pv(&r, NULL, "run", "--protect-system", "no", "--", FIX, "access-w", "/usr", NULL);
        expect_ok(&r, "/usr ok\n");
        run_done(&r);
}
END_TEST

/* --read-only, a --read-write hole below it, --inaccessible (an empty 0000 directory over
 * the real one), and a missing path with '-' ignored. */
START_TEST(test_paths) {
        char *dir = tmpdir_real(), *sub = path_join(dir, "sub"), *hidden = path_join(dir, "hidden");
        char *f1 = path_join(dir, "f"), *f2 = path_join(sub, "f"), *secret = path_join(hidden, "secret");
        char *missing = pv_test_fmt("-%s/pvtest-missing", dir), *want;
        struct run r;

        ck_assert_int_eq(mkdir(sub, 0755), 0);
        ck_assert_int_eq(mkdir(hidden, 0755), 0);
        pv_test_write_file(secret, "secret\n", 0644);
        pv_test_write_file(f1, "", 0644);
        pv_test_write_file(f2, "", 0644);

        run_pv(&r, NULL, "run", "--read-only", dir, "--read-write", sub, "--read-only", missing, "--", FIX,
               "access-w", f1, f2, NULL);
        want = pv_test_fmt("%s: Read-only file system\n%s ok\n", f1, f2);
        expect_ok(&r, want);
        free(want);
        run_done(&r);
        run_pv(&r, NULL, "run", "--read-only", dir, "--", FIX, "write-file", f1, NULL);
        expect_ok(&r, "Read-only file system\n");
        run_done(&r);
        run_pv(&r, NULL, "run", "--", FIX, "write-file", f1, NULL);
        expect_ok(&r, "ok\n");
        run_done(&r);

        run_pv(&r, NULL, "run", "--inaccessible", hidden, "--", FIX, "ls", hidden, NULL);
        expect_ok(&r, "\n");
        run_done(&r);
        run_pv(&r, NULL, "run", "--inaccessible", hidden, "--", FIX, "stat", hidden, NULL);
        expect_ok(&r, "mode 0000 dir\n");
        run_done(&r);
        run_pv(&r, NULL, "run", "--inaccessible", hidden, "--", FIX, "read-file", secret, NULL);
        expect_ok(&r, "read: No such file or directory\n");
        run_done(&r);
        /* The other side. */
        run_pv(&r, NULL, "run", "--", FIX, "ls", hidden, NULL);
        expect_ok(&r, "secret\n");
        run_done(&r);

        pv_test_rmtree(dir);
        free(missing);
        free(secret);
        free(f1);
        free(f2);
        free(sub);
        free(hidden);
        free(dir);
}
END_TEST

/* ======================================================================================
 * Seccomp.
 * ====================================================================================== */

/* --policy server: ptrace kills the program, pidvisor names the call and exits 159;
 * without the policy ptrace(TRACEME) works. */
START_TEST(test_policy_kills_ptrace) {
        struct run r;

        run_pv(&r, NULL, "run", "--", PYTHON, "-c", PTRACE_PY, NULL);
        expect_ok(&r, "ptrace 0\n");
        run_done(&r);
        run_pv(&r, NULL, "run", "--policy", "server", "--", PYTHON, "-c", PTRACE_PY, NULL);
        expect_exit(&r, 159);
        expect_stdout(&r, "");
        expect_stderr(&r, "pidvisor run: killed by seccomp (syscall ptrace)\n");
        run_done(&r);
        /* The same through a policy file given by path, and in a pid namespace (the
         * command is then pid 2, the init is not under the filter). */
        {
                char *path = pv_test_fmt("%s/policy/server.policy", getenv("PV_SOURCE_ROOT"));

                run_pv(&r, NULL, "run", "--policy", path, "--private-pids", "--", PYTHON, "-c", PTRACE_PY, NULL);
                expect_exit(&r, 159);
                expect_stderr(&r, "pidvisor run: killed by seccomp (syscall ptrace)\n");
                run_done(&r);
                free(path);
        }
}
END_TEST

/* What the server policy leaves allowed works under it: a shell script, python, the
 * fixture; nothing leaks (the listener is ours only). */
START_TEST(test_policy_allows_normal_work) {
        struct run r;

        run_pv(&r, NULL, "run", "--policy", "server", "--", "/bin/sh", "-c", "echo $((6 * 7)) | cat", NULL);
        expect_ok(&r, "42\n");
        run_done(&r);
        run_pv(&r, NULL, "run", "--policy", "default", "--", PYTHON, "-c", "import json; print(json.dumps([1]))", NULL);
        expect_ok(&r, "[1]\n");
        run_done(&r);
        run_pv(&r, NULL, "run", "--policy", "server", "--", FIX, "fds", NULL);
        expect_ok(&r, "0 1 2\n");
        run_done(&r);
        run_pv(&r, NULL, "run", "--policy", "server", "--", FIX, "status", NULL);
        expect_stdout_has(&r, "NoNewPrivs:\t1\nSeccomp:\t2\n");
        run_done(&r);
}
END_TEST

/* A process the command started is killed and named on the spot; the command goes on and
 * its own exit status is ours. */
START_TEST(test_policy_kills_grandchild) {
        struct run r;

        run_pv(&r, NULL, "run", "--policy", "server", "--", "/bin/sh", "-c",
               PYTHON " -c '" PTRACE_PY "'; echo after $?", NULL);
        expect_exit(&r, 0);
        expect_stdout(&r, "after 137\n");
        expect_stderr_has(&r, "pidvisor run: warning: pid ");
        expect_stderr_has(&r, " (python3) killed by seccomp (syscall ptrace)\n");
        run_done(&r);
}
END_TEST

/* A Docker/OCI JSON profile: its kill is named, its errno answers. */
START_TEST(test_policy_json) {
        char *dir = pv_test_mkdtemp(), *file = path_join(dir, "profile.json");
        struct run r;

        pv_test_write_file(file,
                           "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [\n"
                           " {\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_KILL_PROCESS\"},\n"
                           " {\"names\": [\"mkdir\", \"mkdirat\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 13}]}\n",
                           0644);
        run_pv(&r, NULL, "run", "--policy", file, "--", FIX, "getppid", NULL);
        expect_exit(&r, 159);
        expect_stderr(&r, "pidvisor run: killed by seccomp (syscall getppid)\n");
        run_done(&r);
        run_pv(&r, NULL, "run", "--policy", file, "--", PYTHON, "-c",
               "import os\ntry: os.mkdir('/pvtest-never')\nexcept OSError as e: print(e.strerror)", NULL);
        expect_ok(&r, "Permission denied\n");
        run_done(&r);
        pv_test_rmtree(dir);
        free(file);
        free(dir);
}
END_TEST

/* --syscall-filter ~@mount: mount kills; with --syscall-errno EPERM it answers EPERM;
 * without the filter (in a mount namespace of its own) it works. */
START_TEST(test_syscall_filter_deny_mount) {
        struct run r;

        run_pv(&r, NULL, "run", "--private-tmp", "--", PYTHON, "-c", MOUNT_PY, NULL);
        expect_ok(&r, "mount 0\n");
        run_done(&r);
        run_pv(&r, NULL, "run", "--private-tmp", "--syscall-filter", "~@mount", "--", PYTHON, "-c", MOUNT_PY, NULL);
        expect_exit(&r, 159);
        expect_stdout(&r, "");
        expect_stderr(&r, "pidvisor run: killed by seccomp (syscall mount)\n");
        run_done(&r);
        run_pv(&r, NULL, "run", "--private-tmp", "--syscall-filter", "~@mount", "--syscall-errno", "EPERM", "--", PYTHON,
               "-c", MOUNT_PY, NULL);
        expect_ok(&r, "mount EPERM\n");
        run_done(&r);
        /* Lines accumulate as SystemCallFilter= lines do: a later allow takes mount out. */
        run_pv(&r, NULL, "run", "--private-tmp", "--syscall-filter", "~@mount ptrace", "--syscall-filter", "mount", "--",
               PYTHON, "-c", MOUNT_PY, NULL);
        expect_ok(&r, "mount 0\n");
        run_done(&r);
}
END_TEST

/* An allow-list: what it allows works, the rest kills with its name. */
START_TEST(test_syscall_filter_allow_list) {
        struct run r;

        run_pv(&r, NULL, "run", "--syscall-filter", "@system-service", "--", FIX, "echo", "fine", NULL);
        expect_ok(&r, "fine\n");
        run_done(&r);
        run_pv(&r, NULL, "run", "--syscall-filter", "@system-service", "--", PYTHON, "-c", PTRACE_PY, NULL);
        expect_exit(&r, 159);
        expect_stderr(&r, "pidvisor run: killed by seccomp (syscall ptrace)\n");
        run_done(&r);
}
END_TEST

/* An allow-list without sendmsg: the kills stay the kernel's (a notification of the
 * child's own sendmsg before execve would deadlock), so the call cannot be named, which
 * the message says; the exit code is the same. */
START_TEST(test_syscall_filter_kernel_kill) {
        struct run r;

        run_pv(&r, NULL, "run", "--syscall-filter", "@default @basic-io", "--", "/bin/true", NULL);
        expect_exit(&r, 159);
        expect_stdout(&r, "");
        expect_stderr_has(&r, "pidvisor run: killed by seccomp (SIGSYS");
        expect_stderr_has(&r, "sendmsg");
        run_done(&r);
}
END_TEST

/* ======================================================================================
 * Resource limits (a transient cgroup).
 * ====================================================================================== */

static const char hog_py[] = "b = b'x' * (200 << 20)\nprint('allocated')\n";

/* --memory-max 32M: a 200 MB allocation is OOM-killed; without it the program gets it. */
START_TEST(test_memory_max) {
        struct run r;

        run_pv(&r, NULL, "run", "--", PYTHON, "-c", hog_py, NULL);
        expect_ok(&r, "allocated\n");
        run_done(&r);
        run_pv(&r, NULL, "run", "--memory-max", "32M", "--", PYTHON, "-c", hog_py, NULL);
        expect_exit(&r, 128 + SIGKILL);
        expect_stdout(&r, "");
        expect_stderr(&r, "pidvisor run: killed by the OOM killer (--memory-max 32M)\n");
        run_done(&r);
}
END_TEST

static const char forker_py[] = "import os, time\n"
                                "n, err = 0, 0\n"
                                "while n < 50:\n"
                                "    try:\n"
                                "        pid = os.fork()\n"
                                "    except OSError as e:\n"
                                "        err = e.errno\n"
                                "        break\n"
                                "    if pid == 0:\n"
                                "        time.sleep(30)\n"
                                "        os._exit(0)\n"
                                "    n += 1\n"
                                "print(n, err)\n";

/* --tasks-max 5: the command and 4 children, the 5th fork fails with EAGAIN; the children
 * left sleeping are killed with the cgroup when the command exits. */
START_TEST(test_tasks_max) {
        char *want = pv_test_fmt("4 %d\n", EAGAIN);
        struct run r;

        run_pv(&r, NULL, "run", "--tasks-max", "5", "--", PYTHON, "-c", forker_py, NULL);
        expect_exit(&r, 0);
        expect_stdout(&r, want);
        expect_stderr(&r, "pidvisor run: warning: killed 4 processes the command left running in its cgroup\n");
        run_done(&r);
        free(want);
}
END_TEST

/* --cpu-quota 20%: a busy loop gets about a fifth of a CPU. */
START_TEST(test_cpu_quota) {
        static const char busy_py[] = "import time\n"
                                      "t, c = time.monotonic(), time.process_time()\n"
                                      "while time.monotonic() - t < 1.5: pass\n"
                                      "print('%.3f' % ((time.process_time() - c) / (time.monotonic() - t)))\n";
        double share;
        struct run r;

        run_pv(&r, NULL, "run", "--cpu-quota", "20%", "--", PYTHON, "-c", busy_py, NULL);
        expect_exit(&r, 0);
        share = atof(buf_str(&r.obuf));
        printf("--cpu-quota 20%%: the busy loop got %.1f%% of a CPU\n", share * 100);
        /* Slack: a shared machine can only make it less. */
        ck_assert_msg(share <= 0.30 && share >= 0.05, "the busy loop got %.1f%% of a CPU under --cpu-quota 20%%",
                      share * 100);
        run_done(&r);
}
END_TEST

/* The mount point of the cgroup hierarchy holding `controller` (v1), or NULL. */
static char *v1_mount(const char *controller) {
        char *mi = read_file("/proc/self/mountinfo"), *found = NULL;

        ck_assert_ptr_nonnull(mi);
        for (char *save = NULL, *l = strtok_r(mi, "\n", &save); l && !found; l = strtok_r(NULL, "\n", &save)) {
                char mnt[1024], fstype[64], opts[512];
                const char *dash = strstr(l, " - ");
                if (!dash || sscanf(dash + 3, "%63s %*s %511s", fstype, opts) != 2 || strcmp(fstype, "cgroup"))
                        continue;
                for (char *s2 = NULL, *o = strtok_r(opts, ",", &s2); o; o = strtok_r(NULL, ",", &s2))
                        if (!strcmp(o, controller) && sscanf(l, "%*s %*s %*s %*s %1023s", mnt) == 1)
                                found = strdup(mnt);
        }
        free(mi);
        return found;
}

/* The cgroup path of pid in the hierarchy whose line names `controller`. */
static char *cgroup_of(pid_t pid, const char *controller) {
        char *path = pv_test_fmt("/proc/%d/cgroup", (int)pid), *text = read_file(path), *found = NULL;

        ck_assert_msg(text, "%s unreadable", path);
        for (char *save = NULL, *l = strtok_r(text, "\n", &save); l && !found; l = strtok_r(NULL, "\n", &save)) {
                char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (!c2)
                        continue;
                *c2 = 0;
                for (char *s2 = NULL, *w = strtok_r(c1 + 1, ",", &s2); w && !found; w = strtok_r(NULL, ",", &s2))
                        if (!strcmp(w, controller))
                                found = strdup(c2 + 1);
        }
        free(text);
        free(path);
        return found;
}

static bool ends_with(const char *s, const char *suffix) {
        size_t a = strlen(s), b = strlen(suffix);

        return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* The command is born in pidvisor-run-PID of each hierarchy, pidvisor itself is back in
 * its own; what the command leaves running is killed at its exit, and the directories go. */
START_TEST(test_limits_placement_and_cleanup) {
        static const char *const ctls[] = { "memory", "pids", "cpu" };
        char *script = pv_test_fmt("sleep 60 & echo $!; exec %s ready-wait", FIX), *suffix, *dirs[3];
        struct run r;
        pid_t child, sleeper;
        char state;

        start_pv(&r, NULL, "run", "--memory-max", "256M", "--tasks-max", "100", "--cpu-quota", "50%", "--", "/bin/sh",
                 "-c", script, NULL);
        read_until(&r, "ready\n");
        sleeper = (pid_t)atoi(buf_str(&r.obuf));
        ck_assert_int_gt(sleeper, 0);
        child = find_child(&r, "ready-wait");
        suffix = pv_test_fmt("/pidvisor-run-%d", (int)r.proc.pid);
        for (int i = 0; i < 3; i++) {
                char *mine = cgroup_of(child, ctls[i]), *its = cgroup_of(sleeper, ctls[i]),
                     *pv = cgroup_of(r.proc.pid, ctls[i]), *mnt = v1_mount(ctls[i]);
                int64_t deadline = now_ms() + DEADLINE_MS;

                ck_assert_msg(mine && ends_with(mine, suffix), "%s: the command is in \"%s\"", ctls[i], mine);
                ck_assert_msg(its && !strcmp(its, mine), "%s: what it forked is in \"%s\"", ctls[i], its);
                /* pidvisor run leaves right after the spawn returns; on a busy machine the
                 * command may be this far before it is scheduled again. */
                while (pv && ends_with(pv, suffix) && now_ms() < deadline) {
                        free(pv);
                        sleep_ms(5);
                        pv = cgroup_of(r.proc.pid, ctls[i]);
                }
                if (!pv || ends_with(pv, suffix))
                        fail_run(&r, pv_test_fmt("%s: pidvisor run stayed in \"%s\"", ctls[i], pv));
                ck_assert_ptr_nonnull(mnt);
                dirs[i] = pv_test_fmt("%s%s", mnt, mine);
                ck_assert_msg(access(dirs[i], F_OK) == 0, "%s: %s", dirs[i], strerror(errno));
                free(mine);
                free(its);
                free(pv);
                free(mnt);
        }
        send_signal(&r, SIGTERM);
        finish(&r);
        expect_exit(&r, 0);
        expect_stderr(&r, "pidvisor run: warning: killed 1 process the command left running in its cgroup\n");
        ck_assert_msg(proc_ppid(sleeper, &state) < 0 || state == 'Z', "the leftover sleep %d still runs",
                      (int)sleeper);
        for (int i = 0; i < 3; i++) {
                ck_assert_msg(access(dirs[i], F_OK) < 0 && errno == ENOENT, "%s is left behind", dirs[i]);
                free(dirs[i]);
        }
        run_done(&r);
        free(suffix);
        free(script);
}
END_TEST

/* A limit that no cgroup can enforce (the test setting hides the controller) fails the
 * run, naming the flag; --no-require-limits runs without it, saying so. */
START_TEST(test_limits_unavailable) {
        char **env = env_plus("PIDVISOR_TEST_CGROUP_HIDE=memory");
        struct run_opts o = { .envp = env };
        struct run r;

        run_pv(&r, &o, "run", "--memory-max", "32M", "--", FIX, "echo", "RAN", NULL);
        expect_error(&r, 125, "--memory-max 32M cannot be enforced: no memory controller",
                     "--no-require-limits", NULL);
        run_done(&r);
        run_pv(&r, &o, "run", "--memory-max", "32M", "--no-require-limits", "--", FIX, "echo", "RAN", NULL);
        expect_exit(&r, 0);
        expect_stdout(&r, "RAN\n");
        expect_stderr_has(&r, "pidvisor run: warning: --memory-max 32M not enforced: no memory controller");
        run_done(&r);
        /* The others still are. */
        run_pv(&r, &o, "run", "--memory-max", "32M", "--tasks-max", "5", "--no-require-limits", "--", PYTHON, "-c",
               forker_py, NULL);
        expect_exit(&r, 0);
        {
                char *want = pv_test_fmt("4 %d\n", EAGAIN);
                expect_stdout(&r, want);
                free(want);
        }
        run_done(&r);
        free(env);
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

int main(void) {
        Suite *s = pv_test_suite("run-sandbox");
        const char *tmp = getenv("TMPDIR");
        const char *root_needed = pv_test_need_root();
        char *root = NULL;
        TCase *tc;
        int ret;

        /* Every temporary file of the run under one directory, searchable by all (for
         * the fixture copies that run as nobody), removed at the end. */
        if (asprintf(&root, "%s/pvtest-run-sandbox.XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0 || !mkdtemp(root) ||
            chmod(root, 0755) < 0 || setenv("TMPDIR", root, 1) < 0) {
                fprintf(stderr, "cannot create a temporary directory: %s\n", strerror(errno));
                return EXIT_FAILURE;
        }

        tc = pv_test_case("cli");
        tcase_add_test(tc, test_help_lists_flags);
        tcase_add_loop_test(tc, test_bad_value, 0, N(bad));
        tcase_add_test(tc, test_bad_combinations);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("namespaces");
        tcase_add_test(tc, test_private_network);
        tcase_add_test(tc, test_private_ipc);
        tcase_add_test(tc, test_hostname);
        tcase_add_test(tc, test_private_tmp);
        tcase_add_test(tc, test_private_pids);
        tcase_add_test(tc, test_private_users);
        pv_test_add(s, tc, root_needed);

        tc = pv_test_case("credentials");
        tcase_add_test(tc, test_cap_nobody_binds_80);
        tcase_add_test(tc, test_cap_root);
        tcase_add_test(tc, test_no_new_privs);
        tcase_add_test(tc, test_user_colon_group);
        pv_test_add(s, tc, root_needed);

        tc = pv_test_case("filesystem");
        tcase_add_test(tc, test_protect_system_strict);
        tcase_add_test(tc, test_protect_system_yes_full);
        tcase_add_test(tc, test_paths);
        pv_test_add(s, tc, root_needed);

        tc = pv_test_case("seccomp");
        tcase_add_test(tc, test_policy_kills_ptrace);
        tcase_add_test(tc, test_policy_allows_normal_work);
        tcase_add_test(tc, test_policy_kills_grandchild);
        tcase_add_test(tc, test_policy_json);
        tcase_add_test(tc, test_syscall_filter_deny_mount);
        tcase_add_test(tc, test_syscall_filter_allow_list);
        tcase_add_test(tc, test_syscall_filter_kernel_kill);
        pv_test_add(s, tc, root_needed);

        tc = pv_test_case("limits");
        tcase_add_test(tc, test_memory_max);
        tcase_add_test(tc, test_tasks_max);
        tcase_add_test(tc, test_cpu_quota);
        tcase_add_test(tc, test_limits_placement_and_cleanup);
        tcase_add_test(tc, test_limits_unavailable);
        pv_test_add(s, tc, root_needed);

        ret = pv_test_main(s);
        pv_test_rmtree(root);
        free(root);
        return ret;
}
