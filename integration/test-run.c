/* SPDX-License-Identifier: MIT */
/* Integration tests of `pidvisor run`.
 *
 * The built binary ($PV_BIN) is started with pv_spawn() (stdin on /dev/null unless a test
 * needs a pipe, stdout and stderr on pipes, every other descriptor of the test closed), and
 * runs the fixture program ($PV_FIXTURE), whose output comes back through pidvisor's own
 * stdout since the child inherits it.  Every read and wait has a deadline: a test that
 * would hang fails instead, after killing pidvisor.  Check runs each test in a process
 * group of its own and kills that group afterwards, so nothing outlives a failed test. */
#include "runlib.h"
#include "testlib.h"

#include <pidvisor/pidvisor.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The argument of `fixture rlimit RESOURCE`. */
static const char *resource_arg(int resource, char *buf, size_t size) {
        snprintf(buf, size, "%d", resource);
        return buf;
}

/* ======================================================================================
 * The command line of the pidvisor binary itself.
 * ====================================================================================== */

START_TEST(test_help) {
        struct run r;

        run_pv(&r, NULL, "--help", NULL);
        expect_exit(&r, 0);
        expect_stderr(&r, "");
        ck_assert_msg(strstr(buf_str(&r.obuf), "run"), "usage lacks the run command: \"%s\"",
                      buf_str(&r.obuf));
        run_done(&r);
}
END_TEST

START_TEST(test_run_help) {
        static const char *const options[] = { "--cwd",  "--env",   "--clear-env",
                                               "--user", "--group", "--rlimit" };
        struct run r;

        run_pv(&r, NULL, "run", "--help", NULL);
        expect_exit(&r, 0);
        expect_stderr(&r, "");
        for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
                ck_assert_msg(strstr(buf_str(&r.obuf), options[i]),
                              "run --help does not mention %s: \"%s\"", options[i],
                              buf_str(&r.obuf));
        run_done(&r);
}
END_TEST

/* --help stops there: the command after it does not run. */
START_TEST(test_run_help_runs_nothing) {
        struct run r;

        run_pv(&r, NULL, "run", "--help", "--", FIX, "echo", "RAN", NULL);
        expect_exit(&r, 0);
        ck_assert_msg(!strstr(buf_str(&r.obuf), "RAN"), "the command ran: \"%s\"",
                      buf_str(&r.obuf));
        run_done(&r);
}
END_TEST

START_TEST(test_version) {
        const char *out;
        struct run r;

        run_pv(&r, NULL, "--version", NULL);
        expect_exit(&r, 0);
        expect_stderr(&r, "");
        out = buf_str(&r.obuf);
        ck_assert_msg(strncmp(out, "pidvisor ", 9) == 0, "version \"%s\"", out);
        ck_assert_msg(strchr(out, '\n') && strchr(out, '\n')[1] == 0,
                      "version is not one line: \"%s\"", out);
#ifdef PIDVISOR_VERSION
        ck_assert_msg(strstr(out, PIDVISOR_VERSION), "version \"%s\" lacks %s", out,
                      PIDVISOR_VERSION);
#endif
        run_done(&r);
}
END_TEST

/* No command, or an unknown one: usage on stderr, exit 2. */
START_TEST(test_usage_errors) {
        struct run r;

        if (_i == 0)
                run_pv(&r, NULL, NULL);
        else
                run_pv(&r, NULL, "frobnicate-pvtest", "x", NULL);
        expect_exit(&r, 2);
        expect_stdout(&r, "");
        ck_assert_msg(r.ebuf.len > 0, "%s: nothing on stderr", r.cmdline);
        run_done(&r);
}
END_TEST

/* ======================================================================================
 * Exit statuses.
 * ====================================================================================== */

static const int exit_codes[] = { 0, 1, 3, 125, 126, 127, 255 };

START_TEST(test_exit_code) {
        int code = exit_codes[_i];
        char arg[16];
        struct run r;

        snprintf(arg, sizeof(arg), "%d", code);
        run_pv(&r, NULL, "run", "--", FIX, "exit", arg, NULL);
        expect_exit(&r, code);
        expect_stdout(&r, "");
        expect_stderr(&r, "");
        run_done(&r);
}
END_TEST

/* Killed by signal N: pidvisor exits (it is not itself killed) with 128+N. */
static const int raised[] = { SIGKILL, SIGTERM, SIGINT, SIGUSR1 };

START_TEST(test_killed_by_signal) {
        int sig = raised[_i];
        char arg[16];
        struct run r;

        snprintf(arg, sizeof(arg), "%d", sig);
        run_pv(&r, NULL, "run", "--", FIX, "raise", arg, NULL);
        expect_exit(&r, 128 + sig);
        expect_stdout(&r, "");
        run_done(&r);
}
END_TEST

/* A core-dumping signal too (core dumps disabled through --rlimit, to leave no core). */
START_TEST(test_killed_by_sigabrt) {
        struct run r;
        char arg[16];

        snprintf(arg, sizeof(arg), "%d", SIGABRT);
        run_pv(&r, NULL, "run", "--rlimit", "CORE=0", "--", FIX, "raise", arg, NULL);
        expect_exit(&r, 128 + SIGABRT);
        run_done(&r);
}
END_TEST

/* ======================================================================================
 * Arguments and stdio.
 * ====================================================================================== */

START_TEST(test_args_verbatim) {
        struct run r;

        run_pv(&r, NULL, "run", "--", FIX, "echo", "a b", "", "*", "$HOME", "--", "-x", NULL);
        expect_ok(&r, "a b  * $HOME -- -x\n");
        run_done(&r);
}
END_TEST

/* Without "--", the command still starts at the first non-option... */
START_TEST(test_no_double_dash) {
        struct run r;

        run_pv(&r, NULL, "run", FIX, "echo", "hello", NULL);
        expect_ok(&r, "hello\n");
        run_done(&r);
}
END_TEST

/* ...and everything after it belongs to the command, even what looks like options of
 * pidvisor's (no GNU getopt permutation). */
START_TEST(test_options_after_command) {
        struct run r;

        run_pv(&r, NULL, "run", FIX, "echo", "--cwd", "/nonexistent-pvtest", "--env", "A=1",
               "--help", "-x", NULL);
        expect_ok(&r, "--cwd /nonexistent-pvtest --env A=1 --help -x\n");
        run_done(&r);
}
END_TEST

START_TEST(test_stdin_inherited) {
        static const char text[] = "line one\nline two\n";
        struct run_opts o = { .stdin_pipe = true };
        struct run r;

        start_pv(&r, &o, "run", "--", FIX, "cat", NULL);
        ck_assert_int_ge(r.in, 0);
        ck_assert_int_eq(write(r.in, text, strlen(text)), (ssize_t)strlen(text));
        finish(&r); /* closes stdin */
        expect_ok(&r, text);
        run_done(&r);
}
END_TEST

START_TEST(test_stderr_inherited) {
        struct run r;

        run_pv(&r, NULL, "run", "--", FIX, "echo-err", "on", "stderr", NULL);
        expect_exit(&r, 0);
        expect_stdout(&r, "");
        expect_stderr(&r, "on stderr\n");
        run_done(&r);
}
END_TEST

/* The child's 0, 1 and 2 are pidvisor's own: the same /dev/null and the same pipes (not
 * pipes of pidvisor's that it copies from). */
START_TEST(test_stdio_same_files) {
        char expected[128];
        struct stat st;
        struct run r;
        int fd = _i;

        start_pv(&r, NULL, "run", "--", FIX, "fd", fd == 0 ? "0" : fd == 1 ? "1" : "2", NULL);
        if (fd == 0)
                snprintf(expected, sizeof(expected), "open cloexec=0 /dev/null\n");
        else {
                ck_assert_int_eq(fstat(fd == 1 ? r.out : r.err, &st), 0);
                snprintf(expected, sizeof(expected), "open cloexec=0 pipe:[%llu]\n",
                         (unsigned long long)st.st_ino);
        }
        finish(&r);
        expect_ok(&r, expected);
        run_done(&r);
}
END_TEST

/* ======================================================================================
 * Signals.
 * ====================================================================================== */

static const int forwarded[] = { SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGTERM };

/* Each forwarded signal reaches the child, and pidvisor keeps running; SIGTERM then ends
 * the fixture, which exits 0. */
START_TEST(test_forward_signal) {
        int sig = forwarded[_i];
        char got[32], expected[64];
        struct run r;

        start_pv(&r, NULL, "run", "--", FIX, "ready-wait", NULL);
        read_until(&r, "ready\n");
        send_signal(&r, sig);
        snprintf(got, sizeof(got), "got %d\n", sig);
        read_until(&r, got);
        if (sig != SIGTERM) {
                still_running(&r, 100);
                send_signal(&r, SIGTERM);
                read_until(&r, "got 15\n");
                snprintf(expected, sizeof(expected), "ready\ngot %d\ngot 15\n", sig);
        } else
                snprintf(expected, sizeof(expected), "ready\ngot 15\n");
        finish(&r);
        expect_ok(&r, expected);
        run_done(&r);
}
END_TEST

/* All of them, one after the other, in one run. */
START_TEST(test_forward_signal_sequence) {
        struct buf expected = { 0 };
        struct run r;

        buf_append(&expected, "ready\n", 6);
        start_pv(&r, NULL, "run", "--", FIX, "ready-wait", NULL);
        read_until(&r, "ready\n");
        for (int round = 0; round < 2; round++)
                for (size_t i = 0; i + 1 < sizeof(forwarded) / sizeof(forwarded[0]); i++) {
                        char got[32];

                        snprintf(got, sizeof(got), "got %d\n", forwarded[i]);
                        send_signal(&r, forwarded[i]);
                        read_until(&r, got);
                        buf_append(&expected, got, strlen(got));
                }
        send_signal(&r, SIGTERM);
        read_until(&r, "got 15\n");
        buf_append(&expected, "got 15\n", 7);
        finish(&r);
        expect_ok(&r, buf_str(&expected));
        free(expected.data);
        run_done(&r);
}
END_TEST

/* A forwarded signal that kills the child (default action) makes pidvisor exit 128+N. */
static const int fatal_forwarded[] = { SIGHUP, SIGINT, SIGTERM, SIGUSR1, SIGUSR2 };

START_TEST(test_forwarded_signal_kills_child) {
        int sig = fatal_forwarded[_i];
        struct run r;

        start_pv(&r, NULL, "run", "--", FIX, "sleep", "60", NULL);
        find_child(&r, "sleep");
        send_signal(&r, sig);
        finish(&r);
        expect_exit(&r, 128 + sig);
        expect_stdout(&r, "");
        run_done(&r);
}
END_TEST

/* SIGKILL cannot be forwarded, but the child killed directly: pidvisor exits 137. */
START_TEST(test_child_killed_directly) {
        struct run r;
        pid_t child;

        start_pv(&r, NULL, "run", "--", FIX, "ready-wait", NULL);
        read_until(&r, "ready\n");
        child = find_child(&r, "ready-wait");
        ck_assert_int_eq(kill(child, SIGKILL), 0);
        finish(&r);
        expect_exit(&r, 137);
        expect_stdout(&r, "ready\n");
        run_done(&r);
}
END_TEST

/* A child ignoring SIGTERM: pidvisor passes it on and keeps waiting, it does not die. */
START_TEST(test_sigterm_ignored_by_child) {
        struct run r;
        pid_t child;

        start_pv(&r, NULL, "run", "--", FIX, "ignore-term", NULL);
        read_until(&r, "ready\n");
        send_signal(&r, SIGTERM);
        still_running(&r, 300);
        child = find_child(&r, "ignore-term");
        ck_assert_int_eq(kill(child, SIGKILL), 0);
        finish(&r);
        expect_exit(&r, 137);
        expect_stdout(&r, "ready\n");
        run_done(&r);
}
END_TEST

/* A stopped (then continued) child is not an exit. */
START_TEST(test_child_stopped_and_continued) {
        int64_t deadline;
        struct run r;
        char state = 0;
        pid_t child;

        start_pv(&r, NULL, "run", "--", FIX, "ready-wait", NULL);
        read_until(&r, "ready\n");
        child = find_child(&r, "ready-wait");
        ck_assert_int_eq(kill(child, SIGSTOP), 0);
        deadline = now_ms() + DEADLINE_MS;
        while (proc_ppid(child, &state) > 0 && state != 'T' && now_ms() < deadline)
                sleep_ms(5);
        ck_assert_msg(state == 'T', "the child did not stop (state %c)", state);
        still_running(&r, 300);
        ck_assert_int_eq(kill(child, SIGCONT), 0);
        still_running(&r, 100);
        send_signal(&r, SIGUSR1);
        read_until(&r, "got 10\n");
        send_signal(&r, SIGTERM);
        read_until(&r, "got 15\n");
        finish(&r);
        expect_ok(&r, "ready\ngot 10\ngot 15\n");
        run_done(&r);
}
END_TEST

/* pidvisor's own signal handling does not leak into the child: nothing blocked, nothing
 * ignored, as pidvisor itself was started (pv_spawn resets both). */
START_TEST(test_child_signal_mask_clean) {
        static const char *const lines[] = { "SigBlk:\t0000000000000000\n",
                                             "SigIgn:\t0000000000000000\n" };
        struct run r;

        run_pv(&r, NULL, "run", "--", FIX, "sigmask", NULL);
        expect_exit(&r, 0);
        for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
                ck_assert_msg(strstr(buf_str(&r.obuf), lines[i]), "child's %.6s is not empty:\n%s",
                              lines[i], buf_str(&r.obuf));
        run_done(&r);
}
END_TEST

/* ======================================================================================
 * Environment.
 * ====================================================================================== */

static char *const base_env[] = { "PATH=/usr/bin:/bin", "PVTEST_A=alpha", "PVTEST_B=beta",
                                  NULL };

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lines of text, sorted, joined again. */
static char *sorted_lines(const char *text) {
        char *copy = strdup(text), *save = NULL, *line, *lines[256];
        struct buf out = { 0 };
        size_t n = 0;

        ck_assert_ptr_nonnull(copy);
        for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                ck_assert_uint_lt(n, 256);
                lines[n++] = line;
        }
        qsort(lines, n, sizeof(lines[0]), cmp_str);
        buf_append(&out, "", 0);
        for (size_t i = 0; i < n; i++) {
                buf_append(&out, lines[i], strlen(lines[i]));
                buf_append(&out, "\n", 1);
        }
        free(copy);
        return out.data;
}

static void expect_env(struct run *r, const char *expected_unsorted) {
        char *got = sorted_lines(buf_str(&r->obuf));
        char *want = sorted_lines(expected_unsorted);

        expect_exit(r, 0);
        expect_stderr(r, "");
        ck_assert_msg(strcmp(got, want) == 0, "%s: environment\n%s\nexpected\n%s", r->cmdline,
                      got, want);
        free(got);
        free(want);
}

/* Without options, the child gets pidvisor's environment exactly: nothing added. */
START_TEST(test_env_inherited) {
        struct run_opts o = { .envp = base_env };
        struct run r;

        run_pv(&r, &o, "run", "--", FIX, "env", NULL);
        expect_env(&r, "PATH=/usr/bin:/bin\nPVTEST_A=alpha\nPVTEST_B=beta\n");
        run_done(&r);
}
END_TEST

START_TEST(test_env_set) {
        struct run_opts o = { .envp = base_env };
        struct run r;

        run_pv(&r, &o, "run", "--env", "PVTEST_C=gamma", "--env", "PVTEST_D=", "--", FIX, "env",
               NULL);
        expect_env(&r, "PATH=/usr/bin:/bin\nPVTEST_A=alpha\nPVTEST_B=beta\nPVTEST_C=gamma\n"
                       "PVTEST_D=\n");
        run_done(&r);
}
END_TEST

/* Overriding replaces the variable (no second entry), and the last --env wins. */
START_TEST(test_env_override) {
        struct run_opts o = { .envp = base_env };
        struct run r;

        run_pv(&r, &o, "run", "--env", "PVTEST_A=first", "--env", "PVTEST_A=second", "--", FIX,
               "env", NULL);
        expect_env(&r, "PATH=/usr/bin:/bin\nPVTEST_A=second\nPVTEST_B=beta\n");
        run_done(&r);
}
END_TEST

/* The value is everything after the first '='. */
START_TEST(test_env_value_with_equals) {
        struct run_opts o = { .envp = base_env };
        struct run r;

        run_pv(&r, &o, "run", "--env", "PVTEST_E=x=y=z", "--env", "PVTEST_F=a b", "--", FIX,
               "env", NULL);
        expect_env(&r, "PATH=/usr/bin:/bin\nPVTEST_A=alpha\nPVTEST_B=beta\nPVTEST_E=x=y=z\n"
                       "PVTEST_F=a b\n");
        run_done(&r);
}
END_TEST

START_TEST(test_clear_env) {
        struct run_opts o = { .envp = base_env };
        struct run r;

        run_pv(&r, &o, "run", "--clear-env", "--", FIX, "env", NULL);
        expect_ok(&r, "");
        run_done(&r);
}
END_TEST

START_TEST(test_clear_env_then_set) {
        struct run_opts o = { .envp = base_env };
        struct run r;

        run_pv(&r, &o, "run", "--clear-env", "--env", "ONLY=1", "--env", "PVTEST_A=new", "--",
               FIX, "env", NULL);
        expect_env(&r, "ONLY=1\nPVTEST_A=new\n");
        run_done(&r);
}
END_TEST

/* ======================================================================================
 * Working directory and umask.
 * ====================================================================================== */

START_TEST(test_cwd) {
        char *dir = tmpdir_real();
        char *expected = path_join(dir, "");
        struct run r;

        expected[strlen(expected) - 1] = '\n'; /* "DIR\n" */
        run_pv(&r, NULL, "run", "--cwd", dir, "--", FIX, "cwd", NULL);
        expect_ok(&r, expected);
        run_done(&r);
        pv_test_rmtree(dir);
        free(expected);
        free(dir);
}
END_TEST

/* A relative --cwd is relative to pidvisor's own working directory. */
START_TEST(test_cwd_relative) {
        char *dir = tmpdir_real();
        char *sub = path_join(dir, "sub");
        char *expected = path_join(sub, "");
        struct run_opts o = { .cwd = dir };
        struct run r;

        ck_assert_int_eq(mkdir(sub, 0755), 0);
        expected[strlen(expected) - 1] = '\n';
        run_pv(&r, &o, "run", "--cwd", "sub", "--", FIX, "cwd", NULL);
        expect_ok(&r, expected);
        run_done(&r);
        pv_test_rmtree(dir);
        free(expected);
        free(sub);
        free(dir);
}
END_TEST

/* Without --cwd the child works where pidvisor does. */
START_TEST(test_cwd_inherited) {
        char *dir = tmpdir_real();
        char *expected = path_join(dir, "");
        struct run_opts o = { .cwd = dir };
        struct run r;

        expected[strlen(expected) - 1] = '\n';
        run_pv(&r, &o, "run", "--", FIX, "cwd", NULL);
        expect_ok(&r, expected);
        run_done(&r);
        pv_test_rmtree(dir);
        free(expected);
        free(dir);
}
END_TEST

/* pidvisor leaves the umask alone. */
static const mode_t masks[] = { 027, 0, 077, 022 };

START_TEST(test_umask_unchanged) {
        struct run_opts o = { .set_umask = true, .mask = masks[_i] };
        char expected[16];
        struct run r;

        snprintf(expected, sizeof(expected), "%04o\n", (unsigned)masks[_i]);
        run_pv(&r, &o, "run", "--cwd", "/", "--env", "X=1", "--", FIX, "umask", NULL);
        expect_ok(&r, expected);
        run_done(&r);
}
END_TEST

/* ======================================================================================
 * Resource limits.
 * ====================================================================================== */

START_TEST(test_rlimit_soft_hard) {
        char res[16];
        struct run r;

        run_pv(&r, NULL, "run", "--rlimit", "NOFILE=100:200", "--", FIX, "rlimit",
               resource_arg(RLIMIT_NOFILE, res, sizeof(res)), NULL);
        expect_ok(&r, "100:200\n");
        run_done(&r);
}
END_TEST

/* One value sets both; names are case-insensitive. */
START_TEST(test_rlimit_single_value) {
        char res[16];
        struct run r;

        run_pv(&r, NULL, "run", "--rlimit", "nofile=150", "--", FIX, "rlimit",
               resource_arg(RLIMIT_NOFILE, res, sizeof(res)), NULL);
        expect_ok(&r, "150:150\n");
        run_done(&r);
}
END_TEST

/* Several --rlimit options all apply (here, shown one per run). */
START_TEST(test_rlimit_several) {
        char res[16];
        struct run r;

        run_pv(&r, NULL, "run", "--rlimit", "NOFILE=64:128", "--rlimit", "CORE=0:4096", "--",
               FIX, "rlimit", resource_arg(RLIMIT_CORE, res, sizeof(res)), NULL);
        expect_ok(&r, "0:4096\n");
        run_done(&r);
        run_pv(&r, NULL, "run", "--rlimit", "NOFILE=64:128", "--rlimit", "CORE=0:4096", "--",
               FIX, "rlimit", resource_arg(RLIMIT_NOFILE, res, sizeof(res)), NULL);
        expect_ok(&r, "64:128\n");
        run_done(&r);
}
END_TEST

/* A later --rlimit for the same resource wins. */
START_TEST(test_rlimit_last_wins) {
        char res[16];
        struct run r;

        run_pv(&r, NULL, "run", "--rlimit", "NOFILE=100:200", "--rlimit", "NOFILE=50:60", "--",
               FIX, "rlimit", resource_arg(RLIMIT_NOFILE, res, sizeof(res)), NULL);
        expect_ok(&r, "50:60\n");
        run_done(&r);
}
END_TEST

/* "infinity", on either side.  pidvisor starts with a finite soft CPU limit, so that
 * raising it shows.  (Not RLIMIT_CORE: a sanitized fixture lowers its own.) */
START_TEST(test_rlimit_infinity) {
        struct rlimit rl = { .rlim_cur = 1000, .rlim_max = RLIM_INFINITY };
        char res[16];
        struct run r;

        ck_assert_int_eq(setrlimit(RLIMIT_CPU, &rl), 0);
        resource_arg(RLIMIT_CPU, res, sizeof(res));
        run_pv(&r, NULL, "run", "--", FIX, "rlimit", res, NULL);
        expect_ok(&r, "1000:infinity\n");
        run_done(&r);
        run_pv(&r, NULL, "run", "--rlimit", "CPU=infinity", "--", FIX, "rlimit", res, NULL);
        expect_ok(&r, "infinity:infinity\n");
        run_done(&r);
        run_pv(&r, NULL, "run", "--rlimit", "cpu=500:infinity", "--", FIX, "rlimit", res, NULL);
        expect_ok(&r, "500:infinity\n");
        run_done(&r);
}
END_TEST

/* Raising a hard limit needs CAP_SYS_RESOURCE unless it already is unlimited. */
static const char *need_cpu_unlimited(void) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_CPU, &rl) == 0 && rl.rlim_max == RLIM_INFINITY)
                return NULL;
        return "the hard RLIMIT_CPU is not unlimited";
}

/* ======================================================================================
 * Looking the command up in $PATH.
 * ====================================================================================== */

/* A temporary directory holding `name` as a symlink to the fixture. */
static char *dir_with_tool(const char *name) {
        char *dir = tmpdir_real();
        char *tool = path_join(dir, name);

        ck_assert_msg(symlink(FIX, tool) == 0, "symlink %s: %s", tool, strerror(errno));
        free(tool);
        return dir;
}

static char *env_entry(const char *name, const char *value) {
        char *e;

        ck_assert_int_ne(asprintf(&e, "%s=%s", name, value), -1);
        return e;
}

START_TEST(test_path_lookup) {
        char *dir = dir_with_tool("pvtest-tool");
        char *path = env_entry("PATH", dir);
        char *envp[] = { path, NULL };
        struct run_opts o = { .envp = envp };
        struct run r;

        run_pv(&r, &o, "run", "--", "pvtest-tool", "echo", "found", NULL);
        expect_ok(&r, "found\n");
        run_done(&r);
        pv_test_rmtree(dir);
        free(path);
        free(dir);
}
END_TEST

/* The lookup uses pidvisor's own $PATH, not the one given to the child, and works with
 * --clear-env. */
START_TEST(test_path_is_pidvisors) {
        char *dir = dir_with_tool("pvtest-tool");
        char *path = env_entry("PATH", dir);
        char *envp[] = { path, NULL };
        struct run_opts o = { .envp = envp };
        struct run r;

        run_pv(&r, &o, "run", "--env", "PATH=/nonexistent-pvtest", "--", "pvtest-tool", "env",
               "PATH", NULL);
        expect_ok(&r, "/nonexistent-pvtest\n");
        run_done(&r);
        run_pv(&r, &o, "run", "--clear-env", "--", "pvtest-tool", "env", NULL);
        expect_ok(&r, "");
        run_done(&r);
        pv_test_rmtree(dir);
        free(path);
        free(dir);
}
END_TEST

/* $PATH in order, skipping a file that is not executable and a directory of that name. */
START_TEST(test_path_skips_non_executables) {
        char *first = tmpdir_real(), *second = tmpdir_real(), *third = dir_with_tool("pvtest-tool");
        char *plain = path_join(first, "pvtest-tool"), *subdir = path_join(second, "pvtest-tool");
        char *path, *envp[2];
        struct run_opts o = { .envp = envp };
        struct run r;

        pv_test_write_file(plain, "#!/bin/sh\necho WRONG\n", 0644);
        ck_assert_int_eq(mkdir(subdir, 0755), 0);
        ck_assert_int_ne(asprintf(&path, "PATH=/nonexistent-pvtest:%s:%s:%s", first, second,
                                  third),
                         -1);
        envp[0] = path;
        envp[1] = NULL;
        run_pv(&r, &o, "run", "--", "pvtest-tool", "echo", "right", NULL);
        expect_ok(&r, "right\n");
        run_done(&r);
        pv_test_rmtree(first);
        pv_test_rmtree(second);
        pv_test_rmtree(third);
        free(plain);
        free(subdir);
        free(path);
        free(first);
        free(second);
        free(third);
}
END_TEST

/* As Go since 1.19: a match found through a relative $PATH entry ("." or an empty one) is
 * refused, so the file in the working directory does not run. */
static char *const relative_paths[] = { "PATH=.", "PATH=/nonexistent-pvtest:",
                                              "PATH=:/nonexistent-pvtest" };

START_TEST(test_path_relative_entry_refused) {
        char *dir = dir_with_tool("pvtest-tool");
        char *envp[] = { relative_paths[_i], NULL };
        struct run_opts o = { .envp = envp, .cwd = dir };
        struct run r;

        run_pv(&r, &o, "run", "--", "pvtest-tool", "echo", "RAN", NULL);
        ck_assert_msg(exited_normally(&r) && r.status.status >= 125 && r.status.status <= 127,
                      "%s with %s: exit %d, expected 125..127; stdout \"%s\" stderr \"%s\"",
                      r.cmdline, relative_paths[_i], r.status.status, buf_str(&r.obuf),
                      buf_str(&r.ebuf));
        expect_stdout(&r, "");
        ck_assert_msg(strstr(buf_str(&r.ebuf), "pvtest-tool"), "stderr \"%s\"",
                      buf_str(&r.ebuf));
        run_done(&r);
        pv_test_rmtree(dir);
        free(dir);
}
END_TEST

/* A name with a '/' is never searched: "./tool" is relative to pidvisor's directory. */
START_TEST(test_relative_command_path) {
        char *dir = dir_with_tool("pvtest-tool");
        char *envp[] = { "PATH=/nonexistent-pvtest", NULL };
        struct run_opts o = { .envp = envp, .cwd = dir };
        struct run r;

        run_pv(&r, &o, "run", "--", "./pvtest-tool", "echo", "relative", NULL);
        expect_ok(&r, "relative\n");
        run_done(&r);
        pv_test_rmtree(dir);
        free(dir);
}
END_TEST

/* ======================================================================================
 * pidvisor's own failures.
 * ====================================================================================== */

START_TEST(test_not_found_in_path) {
        char *dir = tmpdir_real();
        char *path = env_entry("PATH", dir);
        char *envp[] = { path, NULL };
        struct run_opts o = { .envp = envp };
        struct run r;

        run_pv(&r, &o, "run", "--", "no-such-cmd-pvtest", "x", NULL);
        expect_error(&r, 127, "\"no-such-cmd-pvtest\"", "executable file not found in $PATH",
                     NULL);
        run_done(&r);
        pv_test_rmtree(dir);
        free(path);
        free(dir);
}
END_TEST

/* As exec.LookPath(""): not found (the wording of the message is not fixed). */
START_TEST(test_empty_command) {
        struct run r;

        run_pv(&r, NULL, "run", "--", "", "x", NULL);
        expect_error(&r, 127, NULL);
        run_done(&r);
}
END_TEST

START_TEST(test_missing_binary) {
        struct run r;

        run_pv(&r, NULL, "run", "--", "/nonexistent-pvtest/prog", "x", NULL);
        expect_error(&r, 127, "\"/nonexistent-pvtest/prog\"", "No such file or directory", NULL);
        run_done(&r);
}
END_TEST

START_TEST(test_not_executable) {
        char *dir = tmpdir_real();
        char *file = path_join(dir, "file");
        char quoted[4200];
        struct run r;

        pv_test_write_file(file, "#!/bin/sh\necho RAN\n", 0644);
        snprintf(quoted, sizeof(quoted), "\"%s\"", file);
        run_pv(&r, NULL, "run", "--", file, NULL);
        expect_error(&r, 126, quoted, "Permission denied", NULL);
        run_done(&r);
        pv_test_rmtree(dir);
        free(file);
        free(dir);
}
END_TEST

START_TEST(test_directory_as_command) {
        char *dir = tmpdir_real();
        char quoted[4200];
        struct run r;

        snprintf(quoted, sizeof(quoted), "\"%s\"", dir);
        run_pv(&r, NULL, "run", "--", dir, NULL);
        expect_error(&r, 126, quoted, NULL);
        run_done(&r);
        pv_test_rmtree(dir);
        free(dir);
}
END_TEST

/* An executable file the kernel cannot run (no #! line, not ELF): no shell fallback. */
START_TEST(test_exec_format_error) {
        char *dir = tmpdir_real();
        char *file = path_join(dir, "garbage");
        char quoted[4200];
        struct run r;

        pv_test_write_file(file, "echo RAN\n", 0755);
        snprintf(quoted, sizeof(quoted), "\"%s\"", file);
        run_pv(&r, NULL, "run", "--", file, NULL);
        expect_error(&r, 126, quoted, "Exec format error", NULL);
        run_done(&r);
        pv_test_rmtree(dir);
        free(file);
        free(dir);
}
END_TEST

START_TEST(test_bad_cwd) {
        struct run r;

        run_pv(&r, NULL, "run", "--cwd", "/nonexistent-pvtest", "--", FIX, "echo", "RAN", NULL);
        expect_error(&r, 125, "chdir \"/nonexistent-pvtest\": No such file or directory", NULL);
        run_done(&r);
}
END_TEST

START_TEST(test_cwd_is_a_file) {
        char *dir = tmpdir_real();
        char *file = path_join(dir, "file");
        char expected[4200];
        struct run r;

        pv_test_write_file(file, "", 0644);
        snprintf(expected, sizeof(expected), "chdir \"%s\": Not a directory", file);
        run_pv(&r, NULL, "run", "--cwd", file, "--", FIX, "echo", "RAN", NULL);
        expect_error(&r, 125, expected, NULL);
        run_done(&r);
        pv_test_rmtree(dir);
        free(file);
        free(dir);
}
END_TEST

START_TEST(test_unknown_user) {
        struct run r;

        run_pv(&r, NULL, "run", "--user", "pvtest-nosuchuser", "--", FIX, "echo", "RAN", NULL);
        expect_error(&r, 125, "unknown user \"pvtest-nosuchuser\"", NULL);
        run_done(&r);
}
END_TEST

START_TEST(test_unknown_group) {
        struct run r;

        run_pv(&r, NULL, "run", "--group", "pvtest-nosuchgroup", "--", FIX, "echo", "RAN", NULL);
        expect_error(&r, 125, "\"pvtest-nosuchgroup\"", NULL);
        run_done(&r);
}
END_TEST

/* Bad --rlimit arguments: a bad number, a missing value, an unknown name, soft > hard. */
static const char *const bad_rlimits[] = { "NOFILE=abc",   "NOFILE=",      "NOFILE",
                                           "=100",         "NOSUCH=100",   "NOFILE=10:abc",
                                           "NOFILE=10:",   "NOFILE=-1",    "NOFILE=200:100",
                                           "NOFILE=1:2:3" };

START_TEST(test_bad_rlimit) {
        struct run r;

        run_pv(&r, NULL, "run", "--rlimit", bad_rlimits[_i], "--", FIX, "echo", "RAN", NULL);
        expect_error(&r, 125, NULL);
        run_done(&r);
}
END_TEST

START_TEST(test_unknown_option) {
        struct run r;

        run_pv(&r, NULL, "run", "--bogus-pvtest", "--", FIX, "echo", "RAN", NULL);
        expect_error(&r, 125, "bogus-pvtest", NULL);
        run_done(&r);
}
END_TEST

/* An option missing its argument (at the end of the command line). */
static const char *const arg_options[] = { "--cwd", "--env", "--user", "--group", "--rlimit" };

START_TEST(test_option_missing_argument) {
        struct run r;

        run_pv(&r, NULL, "run", arg_options[_i], NULL);
        expect_error(&r, 125, NULL);
        run_done(&r);
}
END_TEST

/* No command: 125 (an error of pidvisor's) or 2 (usage); nothing runs, stderr says why. */
START_TEST(test_no_command) {
        struct run r;

        if (_i == 0)
                run_pv(&r, NULL, "run", NULL);
        else if (_i == 1)
                run_pv(&r, NULL, "run", "--", NULL);
        else
                run_pv(&r, NULL, "run", "--cwd", "/", "--env", "A=1", NULL);
        ck_assert_msg(exited_normally(&r) && (r.status.status == 125 || r.status.status == 2),
                      "%s: exit %d, expected 125 or 2", r.cmdline, r.status.status);
        expect_stdout(&r, "");
        ck_assert_msg(r.ebuf.len > 0, "%s: nothing on stderr", r.cmdline);
        run_done(&r);
}
END_TEST

/* ======================================================================================
 * Nothing left behind, nothing leaked.
 * ====================================================================================== */

/* With the test as a child subreaper, whatever pidvisor left behind (an unreaped zombie or
 * a running orphan) would become the test's child once pidvisor is gone. */
static void expect_no_descendants(const char *when) {
        siginfo_t si = { 0 };
        int ret = waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT | __WALL);

        ck_assert_msg(ret < 0 && errno == ECHILD,
                      "%s: a descendant of pidvisor is left (%s %d)", when,
                      ret == 0 && si.si_pid ? "zombie" : "running, or error", (int)si.si_pid);
}

START_TEST(test_no_zombie_or_orphan) {
        struct run r;
        char state;
        pid_t child;

        ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);

        /* the child ends by a forwarded signal */
        start_pv(&r, NULL, "run", "--", FIX, "ready-wait", NULL);
        read_until(&r, "ready\n");
        child = find_child(&r, "ready-wait");
        send_signal(&r, SIGTERM);
        finish(&r);
        expect_ok(&r, "ready\ngot 15\n");
        ck_assert_msg(proc_ppid(child, &state) < 0 && kill(child, 0) < 0 && errno == ESRCH,
                      "child %d still exists after pidvisor exited", (int)child);
        expect_no_descendants("after a forwarded SIGTERM");
        run_done(&r);

        /* the child killed directly */
        start_pv(&r, NULL, "run", "--", FIX, "ready-wait", NULL);
        read_until(&r, "ready\n");
        child = find_child(&r, "ready-wait");
        ck_assert_int_eq(kill(child, SIGKILL), 0);
        finish(&r);
        expect_exit(&r, 137);
        ck_assert_msg(kill(child, 0) < 0 && errno == ESRCH, "child %d still exists", (int)child);
        expect_no_descendants("after the child was killed");
        run_done(&r);

        /* plain exits, and setup failures in the child */
        run_pv(&r, NULL, "run", "--", FIX, "exit", "7", NULL);
        expect_exit(&r, 7);
        expect_no_descendants("after exit 7");
        run_done(&r);
        run_pv(&r, NULL, "run", "--cwd", "/nonexistent-pvtest", "--", FIX, "exit", "0", NULL);
        expect_exit(&r, 125);
        expect_no_descendants("after a failed chdir");
        run_done(&r);
        run_pv(&r, NULL, "run", "--", "/nonexistent-pvtest/prog", NULL);
        expect_exit(&r, 127);
        expect_no_descendants("after a missing command");
        run_done(&r);
}
END_TEST

/* Only 0, 1 and 2 in the child: pidvisor's own descriptors (pidfd, signalfd, pipes,
 * files read to look things up) are all close-on-exec. */
START_TEST(test_no_fd_leak) {
        struct run r;

        if (_i == 0)
                run_pv(&r, NULL, "run", "--", FIX, "fds", NULL);
        else if (_i == 1)
                run_pv(&r, NULL, "run", "--cwd", "/", "--env", "A=1", "--", FIX, "fds", NULL);
        else
                run_pv(&r, NULL, "run", "--clear-env", "--rlimit", "NOFILE=100:200", "--rlimit",
                       "CORE=0", "--", FIX, "fds", NULL);
        expect_ok(&r, "0 1 2\n");
        run_done(&r);
}
END_TEST

START_TEST(test_no_fd_leak_path_lookup) {
        char *dir = dir_with_tool("pvtest-tool");
        char *path = env_entry("PATH", dir);
        char *envp[] = { path, NULL };
        struct run_opts o = { .envp = envp };
        struct run r;

        run_pv(&r, &o, "run", "--", "pvtest-tool", "fds", NULL);
        expect_ok(&r, "0 1 2\n");
        run_done(&r);
        pv_test_rmtree(dir);
        free(path);
        free(dir);
}
END_TEST

/* ======================================================================================
 * Credentials (root only).
 * ====================================================================================== */

static int cmp_gid(const void *a, const void *b) {
        gid_t x = *(const gid_t *)a, y = *(const gid_t *)b;

        return x < y ? -1 : x > y;
}

/* What `fixture ids` prints for uid/gid and these supplementary groups (the kernel keeps
 * them sorted). */
static void ids_line(char *buf, size_t size, uid_t uid, gid_t gid, gid_t *groups, size_t n) {
        size_t len;

        qsort(groups, n, sizeof(gid_t), cmp_gid);
        len = (size_t)snprintf(buf, size, "uid=%u euid=%u gid=%u egid=%u groups=", (unsigned)uid,
                               (unsigned)uid, (unsigned)gid, (unsigned)gid);
        for (size_t i = 0; i < n && len < size; i++)
                len += (size_t)snprintf(buf + len, size - len, i ? ",%u" : "%u",
                                        (unsigned)groups[i]);
        if (len < size)
                snprintf(buf + len, size - len, "\n");
}

/* nobody's own ids line, from the user database. */
static void nobody_ids(char *buf, size_t size) {
        struct passwd *pw = getpwnam("nobody");
        gid_t groups[256];
        int n = 256;

        ck_assert_ptr_nonnull(pw);
        ck_assert_int_ge(getgrouplist("nobody", pw->pw_gid, groups, &n), 0);
        ids_line(buf, size, pw->pw_uid, pw->pw_gid, groups, (size_t)n);
}

static const char *need_root_nobody_daemon(void) {
        const char *missing = pv_test_need_root();
        struct passwd *pw;
        struct group *gr;

        if (missing)
                return missing;
        pw = getpwnam("nobody");
        if (!pw || pw->pw_uid != 65534)
                return "no user nobody with uid 65534";
        gr = getgrnam("daemon");
        if (!gr)
                return "no group daemon";
        if (gr->gr_gid == pw->pw_gid)
                return "group daemon is nobody's primary group";
        return NULL;
}

START_TEST(test_user_by_name) {
        char *dir, *fix = public_fixture(&dir);
        struct run_opts o = { .cwd = dir };
        char expected[1024];
        struct run r;

        nobody_ids(expected, sizeof(expected));
        run_pv(&r, &o, "run", "--user", "nobody", "--", fix, "ids", NULL);
        expect_ok(&r, expected);
        run_done(&r);
        pv_test_rmtree(dir);
        free(fix);
        free(dir);
}
END_TEST

START_TEST(test_user_by_uid) {
        char *dir, *fix = public_fixture(&dir);
        struct run_opts o = { .cwd = dir };
        char expected[1024];
        struct run r;

        nobody_ids(expected, sizeof(expected));
        run_pv(&r, &o, "run", "--user", "65534", "--", fix, "ids", NULL);
        expect_ok(&r, expected);
        run_done(&r);
        pv_test_rmtree(dir);
        free(fix);
        free(dir);
}
END_TEST

/* --group alone: the uid stays, the gid changes and the supplementary groups are [G];
 * by name or by number. */
START_TEST(test_group_only) {
        char *dir, *fix = public_fixture(&dir);
        struct run_opts o = { .cwd = dir };
        struct group *gr = getgrnam("daemon");
        char expected[1024], number[32];
        struct run r;
        gid_t g;

        ck_assert_ptr_nonnull(gr);
        g = gr->gr_gid;
        snprintf(number, sizeof(number), "%u", (unsigned)g);
        ids_line(expected, sizeof(expected), getuid(), g, &g, 1);
        run_pv(&r, &o, "run", "--group", "daemon", "--", fix, "ids", NULL);
        expect_ok(&r, expected);
        run_done(&r);
        run_pv(&r, &o, "run", "--group", number, "--", fix, "ids", NULL);
        expect_ok(&r, expected);
        run_done(&r);
        pv_test_rmtree(dir);
        free(fix);
        free(dir);
}
END_TEST

/* --user and --group: the user's uid, the group as gid and only supplementary group. */
START_TEST(test_user_and_group) {
        char *dir, *fix = public_fixture(&dir);
        struct run_opts o = { .cwd = dir };
        struct group *gr = getgrnam("daemon");
        char expected[1024];
        gid_t g;
        struct run r;

        ck_assert_ptr_nonnull(gr);
        g = gr->gr_gid;
        ids_line(expected, sizeof(expected), 65534, g, &g, 1);
        run_pv(&r, &o, "run", "--user", "nobody", "--group", "daemon", "--", fix, "ids", NULL);
        expect_ok(&r, expected);
        run_done(&r);
        /* the order of the options does not matter */
        run_pv(&r, &o, "run", "--group", "daemon", "--user", "nobody", "--", fix, "ids", NULL);
        expect_ok(&r, expected);
        run_done(&r);
        pv_test_rmtree(dir);
        free(fix);
        free(dir);
}
END_TEST

/* Still no leaked descriptor with the user database read. */
START_TEST(test_user_no_fd_leak) {
        char *dir, *fix = public_fixture(&dir);
        struct run_opts o = { .cwd = dir };
        struct run r;

        run_pv(&r, &o, "run", "--user", "nobody", "--group", "daemon", "--", fix, "fds", NULL);
        expect_ok(&r, "0 1 2\n");
        run_done(&r);
        pv_test_rmtree(dir);
        free(fix);
        free(dir);
}
END_TEST

/* Forwarding still works once the child runs as another user. */
START_TEST(test_user_signals_forwarded) {
        char *dir, *fix = public_fixture(&dir);
        struct run_opts o = { .cwd = dir };
        struct run r;

        start_pv(&r, &o, "run", "--user", "nobody", "--", fix, "ready-wait", NULL);
        read_until(&r, "ready\n");
        send_signal(&r, SIGUSR2);
        read_until(&r, "got 12\n");
        send_signal(&r, SIGTERM);
        read_until(&r, "got 15\n");
        finish(&r);
        expect_ok(&r, "ready\ngot 12\ngot 15\n");
        run_done(&r);
        pv_test_rmtree(dir);
        free(fix);
        free(dir);
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

int main(void) {
        Suite *s = pv_test_suite("run");
        const char *tmp = getenv("TMPDIR");
        char *root = NULL;
        TCase *tc;
        int ret;

        /* Every temporary file of the run under one directory, removed at the end even
         * when a failed test could not clean up after itself.  Searchable by all, for the
         * fixture copies that run as nobody. */
        if (asprintf(&root, "%s/pvtest-run.XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0 ||
            !mkdtemp(root) || chmod(root, 0755) < 0 || setenv("TMPDIR", root, 1) < 0) {
                fprintf(stderr, "cannot create a temporary directory: %s\n", strerror(errno));
                return EXIT_FAILURE;
        }

        tc = pv_test_case("cli");
        tcase_add_test(tc, test_help);
        tcase_add_test(tc, test_run_help);
        tcase_add_test(tc, test_run_help_runs_nothing);
        tcase_add_test(tc, test_version);
        tcase_add_loop_test(tc, test_usage_errors, 0, 2);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("exit");
        tcase_add_loop_test(tc, test_exit_code, 0, N(exit_codes));
        tcase_add_loop_test(tc, test_killed_by_signal, 0, N(raised));
        tcase_add_test(tc, test_killed_by_sigabrt);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("args");
        tcase_add_test(tc, test_args_verbatim);
        tcase_add_test(tc, test_no_double_dash);
        tcase_add_test(tc, test_options_after_command);
        tcase_add_test(tc, test_stdin_inherited);
        tcase_add_test(tc, test_stderr_inherited);
        tcase_add_loop_test(tc, test_stdio_same_files, 0, 3);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("signals");
        tcase_add_loop_test(tc, test_forward_signal, 0, N(forwarded));
        tcase_add_test(tc, test_forward_signal_sequence);
        tcase_add_loop_test(tc, test_forwarded_signal_kills_child, 0, N(fatal_forwarded));
        tcase_add_test(tc, test_child_killed_directly);
        tcase_add_test(tc, test_sigterm_ignored_by_child);
        tcase_add_test(tc, test_child_stopped_and_continued);
        tcase_add_test(tc, test_child_signal_mask_clean);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("env");
        tcase_add_test(tc, test_env_inherited);
        tcase_add_test(tc, test_env_set);
        tcase_add_test(tc, test_env_override);
        tcase_add_test(tc, test_env_value_with_equals);
        tcase_add_test(tc, test_clear_env);
        tcase_add_test(tc, test_clear_env_then_set);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("cwd-umask");
        tcase_add_test(tc, test_cwd);
        tcase_add_test(tc, test_cwd_relative);
        tcase_add_test(tc, test_cwd_inherited);
        tcase_add_loop_test(tc, test_umask_unchanged, 0, N(masks));
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("rlimit");
        tcase_add_test(tc, test_rlimit_soft_hard);
        tcase_add_test(tc, test_rlimit_single_value);
        tcase_add_test(tc, test_rlimit_several);
        tcase_add_test(tc, test_rlimit_last_wins);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("rlimit-infinity");
        tcase_add_test(tc, test_rlimit_infinity);
        pv_test_add(s, tc, need_cpu_unlimited());

        tc = pv_test_case("path");
        tcase_add_test(tc, test_path_lookup);
        tcase_add_test(tc, test_path_is_pidvisors);
        tcase_add_test(tc, test_path_skips_non_executables);
        tcase_add_loop_test(tc, test_path_relative_entry_refused, 0, N(relative_paths));
        tcase_add_test(tc, test_relative_command_path);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("errors");
        tcase_add_test(tc, test_not_found_in_path);
        tcase_add_test(tc, test_empty_command);
        tcase_add_test(tc, test_missing_binary);
        tcase_add_test(tc, test_not_executable);
        tcase_add_test(tc, test_directory_as_command);
        tcase_add_test(tc, test_exec_format_error);
        tcase_add_test(tc, test_bad_cwd);
        tcase_add_test(tc, test_cwd_is_a_file);
        tcase_add_test(tc, test_unknown_user);
        tcase_add_test(tc, test_unknown_group);
        tcase_add_loop_test(tc, test_bad_rlimit, 0, N(bad_rlimits));
        tcase_add_test(tc, test_unknown_option);
        tcase_add_loop_test(tc, test_option_missing_argument, 0, N(arg_options));
        tcase_add_loop_test(tc, test_no_command, 0, 3);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("cleanup");
        tcase_add_test(tc, test_no_zombie_or_orphan);
        tcase_add_loop_test(tc, test_no_fd_leak, 0, 3);
        tcase_add_test(tc, test_no_fd_leak_path_lookup);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("user");
        tcase_add_test(tc, test_user_by_name);
        tcase_add_test(tc, test_user_by_uid);
        tcase_add_test(tc, test_group_only);
        tcase_add_test(tc, test_user_and_group);
        tcase_add_test(tc, test_user_no_fd_leak);
        tcase_add_test(tc, test_user_signals_forwarded);
        pv_test_add(s, tc, need_root_nobody_daemon());

        ret = pv_test_main(s);
        pv_test_rmtree(root);
        free(root);
        return ret;
}
