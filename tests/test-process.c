/* SPDX-License-Identifier: MIT */
/* pv_process_*: handles that cannot reach a recycled pid. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pidvisor/pidvisor.h>

#include "testlib.h"

static struct pv_process spawn_fixture(const char *a1, const char *a2) {
        char *argv[] = { (char *)pv_test_fixture(), (char *)a1, (char *)a2, NULL };
        struct pv_spawn_attr attr;
        struct pv_error err = { 0 };
        struct pv_process p = PV_PROCESS_NULL;

        pv_spawn_attr_init(&attr);
        attr.argv = argv;
        ck_assert_msg(pv_spawn(&attr, &p, NULL, &err) == 0, "spawn: %s", err.message);
        return p;
}

START_TEST(test_wait_exit_status) {
        struct pv_process p = spawn_fixture("exit", "7");
        struct pv_exit ex;
        char buf[64];

        ck_assert_int_eq(pv_process_wait(&p, 0, &ex, NULL), 0);
        ck_assert(!ex.signaled);
        ck_assert_int_eq(ex.status, 7);
        ck_assert_int_eq(ex.pid, p.pid);
        ck_assert_str_eq(pv_exit_describe(&ex, buf, sizeof(buf)), "exited 7");
        ck_assert_int_eq(pv_exit_code(&ex), 7);
        pv_process_release(&p);
}
END_TEST

START_TEST(test_wait_signaled) {
        struct pv_process p = spawn_fixture("raise", "9");
        struct pv_exit ex;

        ck_assert_int_eq(pv_process_wait(&p, 0, &ex, NULL), 0);
        ck_assert(ex.signaled);
        ck_assert_int_eq(ex.signal, SIGKILL);
        ck_assert(!ex.core_dumped);
        ck_assert_int_eq(pv_exit_code(&ex), 137);
        pv_process_release(&p);
}
END_TEST

static const char *core_dump_missing(void) {
        static char reason[256];
        FILE *f = fopen("/proc/sys/kernel/core_pattern", "re");
        char pat[128] = "";

        if (!f)
                return "cannot read /proc/sys/kernel/core_pattern";
        if (!fgets(pat, sizeof(pat), f))
                pat[0] = 0;
        fclose(f);
        if (pat[0] == '|') {
                snprintf(reason, sizeof(reason),
                         "core_pattern pipes to a helper (%.60s): whether a dump happens is "
                         "its choice", pat);
                return reason;
        }
        return NULL;
}

START_TEST(test_wait_core_dumped) {
        char *argv[] = { (char *)pv_test_fixture(), "raise", "6", NULL };
        struct pv_rlimit core = { RLIMIT_CORE, { RLIM_INFINITY, RLIM_INFINITY } };
        char *dir = pv_test_mkdtemp();
        struct pv_spawn_attr attr;
        struct pv_error err = { 0 };
        struct pv_process p;
        struct pv_exit ex;
        char buf[64];

        pv_spawn_attr_init(&attr);
        attr.argv = argv;
        attr.cwd = dir;
        attr.rlimits = &core;
        attr.n_rlimits = 1;
        ck_assert_msg(pv_spawn(&attr, &p, NULL, &err) == 0, "%s", err.message);
        ck_assert_int_eq(pv_process_wait(&p, 0, &ex, NULL), 0);
        ck_assert(ex.signaled);
        ck_assert_int_eq(ex.signal, SIGABRT);
        ck_assert(ex.core_dumped);
        ck_assert_str_eq(pv_exit_describe(&ex, buf, sizeof(buf)), "killed by SIGABRT (core dumped)");
        pv_process_release(&p);
        pv_test_rmtree(dir);
        free(dir);
}
END_TEST

START_TEST(test_wait_twice) {
        struct pv_process p = spawn_fixture("exit", "0");
        struct pv_error err = { 0 };
        struct pv_exit ex;

        ck_assert_int_eq(pv_process_wait(&p, 0, &ex, NULL), 0);
        ck_assert_int_eq(pv_process_wait(&p, 0, &ex, &err), -ECHILD);
        ck_assert_int_eq(err.code, -ECHILD);
        ck_assert_ptr_nonnull(strstr(err.message, "No child processes"));
        pv_process_release(&p);
}
END_TEST

START_TEST(test_wait_nohang) {
        struct pv_process p = spawn_fixture("sleep", "30");
        struct pv_exit ex;

        ck_assert_int_eq(pv_process_wait(&p, PV_WAIT_NOHANG, &ex, NULL), -EAGAIN);
        ck_assert_int_eq(pv_process_signal(&p, SIGTERM, NULL), 0);
        ck_assert_int_eq(pv_process_wait(&p, 0, &ex, NULL), 0);
        ck_assert(ex.signaled);
        ck_assert_int_eq(ex.signal, SIGTERM);
        pv_process_release(&p);
}
END_TEST

START_TEST(test_wait_not_a_child) {
        struct pv_process parent;
        struct pv_exit ex;

        ck_assert_int_eq(pv_process_open(getppid(), &parent, NULL), 0);
        ck_assert_int_eq(pv_process_wait(&parent, PV_WAIT_NOHANG, &ex, NULL), -ECHILD);
        pv_process_release(&parent);
}
END_TEST

START_TEST(test_open_running_and_signal) {
        struct pv_process p = spawn_fixture("sleep", "30"), q;
        struct pv_exit ex;

        ck_assert_int_eq(pv_process_open(p.pid, &q, NULL), 0);
        ck_assert_int_eq(q.pid, p.pid);
        ck_assert_int_ne(q.pidfd, p.pidfd);
        ck_assert_int_ne(fcntl(q.pidfd, F_GETFD) & FD_CLOEXEC, 0);
        /* A second handle signals the same process; the first one waits for it. */
        ck_assert_int_eq(pv_process_signal(&q, SIGKILL, NULL), 0);
        ck_assert_int_eq(pv_process_wait(&p, 0, &ex, NULL), 0);
        ck_assert_int_eq(ex.signal, SIGKILL);
        pv_process_release(&q);
        pv_process_release(&p);
}
END_TEST

START_TEST(test_open_reaped) {
        struct pv_process p = spawn_fixture("exit", "0"), q;
        struct pv_error err = { 0 };
        pid_t pid = p.pid;

        ck_assert_int_eq(pv_process_wait(&p, 0, NULL, NULL), 0);
        pv_process_release(&p);
        ck_assert_int_eq(pv_process_open(pid, &q, &err), -ESRCH);
        ck_assert_int_eq(err.code, -ESRCH);
        ck_assert_ptr_nonnull(strstr(err.message, "No such process"));
        ck_assert_int_eq(pv_process_open(0, &q, NULL), -EINVAL);
        ck_assert_int_eq(pv_process_open(-5, &q, NULL), -EINVAL);
}
END_TEST

START_TEST(test_signal_after_exit) {
        struct pv_process p = spawn_fixture("exit", "0");
        struct pv_error err = { 0 };

        ck_assert_int_eq(pv_process_wait(&p, 0, NULL, NULL), 0);
        ck_assert_int_eq(pv_process_signal(&p, SIGTERM, &err), -ESRCH);
        ck_assert_ptr_nonnull(strstr(err.message, "SIGTERM"));
        pv_process_release(&p);
}
END_TEST

START_TEST(test_release) {
        struct pv_process p = spawn_fixture("exit", "0");
        int fd = p.pidfd;

        ck_assert_int_eq(pv_process_wait(&p, 0, NULL, NULL), 0);
        pv_process_release(&p);
        ck_assert_int_eq(p.pidfd, -1);
        ck_assert_int_eq(fcntl(fd, F_GETFD), -1); /* closed */
        pv_process_release(&p);                   /* twice is fine */
        pv_process_release(NULL);
        ck_assert_int_eq(pv_process_signal(&p, SIGTERM, NULL), -EBADF);
        ck_assert_int_eq(pv_process_wait(&p, 0, NULL, NULL), -EBADF);
}
END_TEST

/* The point of pidfds: after a child is reaped, its pid is handed to a new process (made
 * deterministic here in a fresh pid namespace by setting ns_last_pid), and the stale
 * handle can neither signal nor wait for that new process, while kill(pid) would. */
enum {
        REUSE_OK = 0,
        REUSE_SPAWN_A = 10,
        REUSE_WAIT_A,
        REUSE_NS_LAST_PID,
        REUSE_SPAWN_B,
        REUSE_NOT_REUSED,
        REUSE_SIGNAL_REACHED,
        REUSE_WAIT_REACHED,
        REUSE_B_HURT,
        REUSE_RAW_KILL_MISSED,
};

static int pid_reuse_scenario(void) {
        struct pv_process a, b;
        struct pv_exit ex;
        char num[32];
        int fd, len;

        a = spawn_fixture("exit", "0");
        if (a.pidfd < 0)
                return REUSE_SPAWN_A;
        if (pv_process_wait(&a, 0, &ex, NULL) < 0)
                return REUSE_WAIT_A;

        fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
        len = snprintf(num, sizeof(num), "%d", (int)a.pid - 1);
        if (fd < 0 || write(fd, num, (size_t)len) != len)
                return REUSE_NS_LAST_PID;
        close(fd);

        b = spawn_fixture("sleep", "30");
        if (b.pidfd < 0)
                return REUSE_SPAWN_B;
        if (b.pid != a.pid)
                return REUSE_NOT_REUSED;

        if (pv_process_signal(&a, SIGKILL, NULL) != -ESRCH)
                return REUSE_SIGNAL_REACHED;
        if (pv_process_wait(&a, PV_WAIT_NOHANG, &ex, NULL) != -ECHILD)
                return REUSE_WAIT_REACHED;
        if (pv_process_wait(&b, PV_WAIT_NOHANG, &ex, NULL) != -EAGAIN)
                return REUSE_B_HURT;
        /* The hazard we avoid: the bare pid now names b. */
        if (kill(a.pid, 0) != 0)
                return REUSE_RAW_KILL_MISSED;
        pv_process_signal(&b, SIGKILL, NULL);
        pv_process_wait(&b, 0, &ex, NULL);
        return REUSE_OK;
}

START_TEST(test_pid_reuse_safety) {
        int status;
        pid_t outer;

        /* The unshare happens in a child of the test: a process whose pid namespace for
         * children has lost its init cannot fork any more, and the test process must
         * (LeakSanitizer forks at exit). */
        outer = fork();
        ck_assert_int_ge(outer, 0);
        if (outer == 0) {
                pid_t init;

                if (unshare(CLONE_NEWPID) < 0)
                        _exit(100);
                init = fork();
                if (init < 0)
                        _exit(101);
                if (init == 0)
                        _exit(pid_reuse_scenario()); /* pid 1 of the new namespace */
                if (waitpid(init, &status, 0) != init || !WIFEXITED(status))
                        _exit(102);
                _exit(WEXITSTATUS(status));
        }
        ck_assert_int_eq(waitpid(outer, &status, 0), outer);
        ck_assert_msg(WIFEXITED(status), "scenario died: status %#x", status);
        ck_assert_msg(WEXITSTATUS(status) != 100, "unshare(CLONE_NEWPID) failed");
        ck_assert_msg(WEXITSTATUS(status) == REUSE_OK, "pid reuse scenario failed at step %d",
                      WEXITSTATUS(status));
}
END_TEST

int main(void) {
        Suite *s = pv_test_suite("process");
        TCase *tc = pv_test_case("wait");

        tcase_add_test(tc, test_wait_exit_status);
        tcase_add_test(tc, test_wait_signaled);
        tcase_add_test(tc, test_wait_twice);
        tcase_add_test(tc, test_wait_nohang);
        tcase_add_test(tc, test_wait_not_a_child);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("core-dump");
        tcase_add_test(tc, test_wait_core_dumped);
        pv_test_add(s, tc, core_dump_missing());

        tc = pv_test_case("handle");
        tcase_add_test(tc, test_open_running_and_signal);
        tcase_add_test(tc, test_open_reaped);
        tcase_add_test(tc, test_signal_after_exit);
        tcase_add_test(tc, test_release);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("pid-reuse");
        tcase_add_test(tc, test_pid_reuse_safety);
        pv_test_add(s, tc, pv_test_need_root());

        return pv_test_main(s);
}
