/* SPDX-License-Identifier: MIT */
/* pv_spawn: what the child gets, and how each failure is reported. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pidvisor/pidvisor.h>

#include "testlib.h"

/* Runs the fixture with args, stdout captured through a pipe; returns its output and
 * checks the exit status. */
static char *run_capture(struct pv_spawn_attr *attr, int want_status) {
        struct pv_error err = { 0 };
        struct pv_process p;
        struct pv_exit ex;
        int pipes[3];
        char *out;

        attr->stdio[1] = (struct pv_stdio){ .kind = PV_STDIO_PIPE };
        ck_assert_msg(pv_spawn(attr, &p, pipes, &err) == 0, "spawn: %s", err.message);
        ck_assert_int_eq(pipes[0], -1);
        ck_assert_int_ge(pipes[1], 0);
        ck_assert_int_eq(pipes[2], -1);
        out = pv_test_read_all(pipes[1]);
        close(pipes[1]);
        ck_assert_int_eq(pv_process_wait(&p, 0, &ex, NULL), 0);
        ck_assert_msg(!ex.signaled && ex.status == want_status, "exit: signaled=%d status=%d",
                      ex.signaled, ex.signaled ? ex.signal : ex.status);
        pv_process_release(&p);
        return out;
}

#define FIXTURE_ARGV(...) ((char *[]){ (char *)pv_test_fixture(), __VA_ARGS__, NULL })

static void attr_for(struct pv_spawn_attr *a, char **argv) {
        pv_spawn_attr_init(a);
        a->argv = argv;
}

static void assert_output(struct pv_spawn_attr *a, const char *want) {
        char *out = run_capture(a, 0);
        ck_assert_str_eq(out, want);
        free(out);
}

/* No child of ours is left, dead or alive. */
static void assert_no_children(void) {
        siginfo_t si = { 0 };
        int r = waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT);
        ck_assert_msg(r < 0 && errno == ECHILD, "a child is left behind (pid %d)", (int)si.si_pid);
}

static int count_fds(void) {
        int n = 0;
        for (int fd = 0; fd < 1024; fd++)
                if (fcntl(fd, F_GETFD) >= 0)
                        n++;
        return n;
}

static void assert_spawn_fails(struct pv_spawn_attr *a, int code, const char *op, const char *msg) {
        struct pv_error err = { 0 };
        struct pv_process p = PV_PROCESS_NULL;
        int before = count_fds();

        ck_assert_int_eq(pv_spawn(a, &p, (int[3]){ 0 }, &err), code);
        ck_assert_int_eq(err.code, code);
        ck_assert_msg(strcmp(err.message, msg) == 0, "message \"%s\", expected \"%s\"", err.message, msg);
        if (op)
                ck_assert_str_eq(err.op, op);
        else
                ck_assert_ptr_null(err.op);
        ck_assert_int_eq(p.pidfd, -1); /* untouched on failure */
        ck_assert_int_eq(count_fds(), before);
        assert_no_children();
}

START_TEST(test_argv_and_status) {
        struct pv_spawn_attr a;
        struct pv_error err = { 0 };
        struct pv_process p;
        struct pv_exit ex;
        char *out;

        attr_for(&a, FIXTURE_ARGV("echo", "one", "two words", ""));
        out = run_capture(&a, 0);
        ck_assert_str_eq(out, "one two words \n");
        free(out);

        attr_for(&a, FIXTURE_ARGV("exit", "42"));
        ck_assert_int_eq(pv_spawn(&a, &p, NULL, &err), 0);
        ck_assert_int_gt(p.pid, 0);
        ck_assert_int_ge(p.pidfd, 0);
        ck_assert_int_ne(fcntl(p.pidfd, F_GETFD) & FD_CLOEXEC, 0);
        ck_assert_int_eq(pv_process_wait(&p, 0, &ex, NULL), 0);
        ck_assert_int_eq(ex.status, 42);
        pv_process_release(&p);
}
END_TEST

START_TEST(test_envp_exact) {
        struct pv_spawn_attr a;

        attr_for(&a, FIXTURE_ARGV("env"));
        a.envp = (char *[]){ "A=1", "B=two words", NULL };
        assert_output(&a, "A=1\nB=two words\n");

        a.envp = (char *[]){ NULL };
        assert_output(&a, "");
}
END_TEST

START_TEST(test_listen_pid) {
        struct pv_spawn_attr a;
        struct pv_error err = { 0 };
        struct pv_process p;
        char want[64], *out;
        int pipes[3];

        attr_for(&a, FIXTURE_ARGV("env"));
        a.envp = (char *[]){ "A=1", "LISTEN_PID=1", "LISTEN_FDS=1", NULL };
        a.set_listen_pid = true;
        a.stdio[1].kind = PV_STDIO_PIPE;
        ck_assert_int_eq(pv_spawn(&a, &p, pipes, &err), 0);
        out = pv_test_read_all(pipes[1]);
        close(pipes[1]);
        snprintf(want, sizeof(want), "A=1\nLISTEN_FDS=1\nLISTEN_PID=%d\n", (int)p.pid);
        ck_assert_str_eq(out, want);
        free(out);
        ck_assert_int_eq(pv_process_wait(&p, 0, NULL, NULL), 0);
        pv_process_release(&p);
}
END_TEST

START_TEST(test_envp_inherited) {
        struct pv_spawn_attr a;

        ck_assert_int_eq(setenv("PV_SPAWN_MARKER", "inherited", 1), 0);
        attr_for(&a, FIXTURE_ARGV("env", "PV_SPAWN_MARKER"));
        assert_output(&a, "inherited\n");
}
END_TEST

START_TEST(test_cwd_and_umask) {
        char *dir = pv_test_mkdtemp(), want[4200];
        struct pv_spawn_attr a;

        attr_for(&a, FIXTURE_ARGV("cwd"));
        a.cwd = dir;
        snprintf(want, sizeof(want), "%s\n", dir);
        assert_output(&a, want);

        umask(022);
        attr_for(&a, FIXTURE_ARGV("umask"));
        assert_output(&a, "0022\n");
        a.umask = 0077;
        assert_output(&a, "0077\n");
        pv_test_rmtree(dir);
        free(dir);
}
END_TEST

START_TEST(test_lookpath_bare_name) {
        char *copy = strdup(pv_test_fixture());
        struct pv_spawn_attr a;

        ck_assert_int_eq(setenv("PATH", dirname(copy), 1), 0);
        attr_for(&a, (char *[]){ "pv-fixture", "echo", "found", NULL });
        assert_output(&a, "found\n");
        free(copy);
}
END_TEST

START_TEST(test_fail_bad_cwd) {
        struct pv_spawn_attr a;

        attr_for(&a, FIXTURE_ARGV("exit", "0"));
        a.cwd = "/nope/not/here";
        assert_spawn_fails(&a, -ENOENT, "chdir", "chdir \"/nope/not/here\": No such file or directory");
}
END_TEST

START_TEST(test_fail_missing_binary) {
        struct pv_spawn_attr a;

        attr_for(&a, (char *[]){ "/nonexistent/prog", NULL });
        assert_spawn_fails(&a, -ENOENT, "execve",
                           "execve \"/nonexistent/prog\": No such file or directory");

        ck_assert_int_eq(setenv("PATH", "/nonexistent-dir", 1), 0);
        attr_for(&a, (char *[]){ "no-such-program-here", NULL });
        assert_spawn_fails(&a, -ENOENT, "lookpath",
                           "\"no-such-program-here\": executable file not found in $PATH");
}
END_TEST

START_TEST(test_fail_not_executable) {
        char *dir = pv_test_mkdtemp(), file[4200], want[4300];
        struct pv_spawn_attr a;

        snprintf(file, sizeof(file), "%s/data", dir);
        pv_test_write_file(file, "#!/bin/sh\nexit 0\n", 0644);
        attr_for(&a, (char *[]){ file, NULL });
        snprintf(want, sizeof(want), "execve \"%s\": Permission denied", file);
        assert_spawn_fails(&a, -EACCES, "execve", want);

        /* A directory as the binary. */
        attr_for(&a, (char *[]){ dir, NULL });
        snprintf(want, sizeof(want), "execve \"%s\": Permission denied", dir);
        assert_spawn_fails(&a, -EACCES, "execve", want);

        /* Executable bits but no valid format and no #! line. */
        pv_test_write_file(file, "\x01\x02garbage", 0755);
        attr_for(&a, (char *[]){ file, NULL });
        snprintf(want, sizeof(want), "execve \"%s\": Exec format error", file);
        assert_spawn_fails(&a, -ENOEXEC, "execve", want);
        pv_test_rmtree(dir);
        free(dir);
}
END_TEST

START_TEST(test_fail_bad_arguments) {
        struct pv_spawn_attr a;
        struct pv_error err = { 0 };
        struct pv_process p;

        pv_spawn_attr_init(&a);
        ck_assert_int_eq(pv_spawn(&a, &p, NULL, &err), -EINVAL);
        ck_assert_str_eq(err.message, "spawn: no argv[0]");
        attr_for(&a, FIXTURE_ARGV("exit", "0"));
        a.stdio[1].kind = PV_STDIO_PIPE;
        ck_assert_int_eq(pv_spawn(&a, &p, NULL, &err), -EINVAL);
        attr_for(&a, FIXTURE_ARGV("exit", "0"));
        a.fds = (int[]){ -1 };
        a.n_fds = 1;
        assert_spawn_fails(&a, -EBADF, NULL, "spawn: extra descriptor 0 is -1");
        assert_no_children();
}
END_TEST

START_TEST(test_stdio_kinds) {
        char *dir = pv_test_mkdtemp(), file[4200], *text;
        struct pv_spawn_attr a;
        struct pv_error err = { 0 };
        struct pv_process p;
        int pipes[3], fd;

        /* /dev/null on stdin. */
        attr_for(&a, FIXTURE_ARGV("fd", "0"));
        a.stdio[0].kind = PV_STDIO_NULL;
        assert_output(&a, "open cloexec=0 /dev/null\n");

        /* Closed stdin. */
        a.stdio[0].kind = PV_STDIO_CLOSE;
        assert_output(&a, "closed\n");

        /* stdout into a file, stderr into /dev/null. */
        snprintf(file, sizeof(file), "%s/out", dir);
        attr_for(&a, FIXTURE_ARGV("echo", "to file"));
        a.stdio[1] = (struct pv_stdio){ .kind = PV_STDIO_FILE, .path = file,
                                        .flags = O_WRONLY | O_CREAT | O_TRUNC, .mode = 0600 };
        a.stdio[2].kind = PV_STDIO_NULL;
        ck_assert_int_eq(pv_spawn(&a, &p, NULL, &err), 0);
        ck_assert_int_eq(pv_process_wait(&p, 0, NULL, NULL), 0);
        pv_process_release(&p);
        fd = open(file, O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        text = pv_test_read_all(fd);
        ck_assert_str_eq(text, "to file\n");
        free(text);
        close(fd);

        /* A file that cannot be opened fails in the parent, naming the stream. */
        a.stdio[1].path = "/nope/out";
        assert_spawn_fails(&a, -ENOENT, NULL, "stdout: open \"/nope/out\": No such file or directory");

        /* stdin and stderr as pipes: what goes in comes out. */
        attr_for(&a, FIXTURE_ARGV("cat"));
        a.stdio[0].kind = PV_STDIO_PIPE;
        a.stdio[1] = (struct pv_stdio){ .kind = PV_STDIO_FD, .fd = 2 };
        a.stdio[2].kind = PV_STDIO_PIPE;
        ck_assert_int_eq(pv_spawn(&a, &p, pipes, &err), 0);
        ck_assert_int_eq(pipes[1], -1);
        ck_assert_int_eq(write(pipes[0], "hello\n", 6), 6);
        close(pipes[0]);
        /* stdout went to our stderr (fd 2); the child's stderr pipe stays empty. */
        text = pv_test_read_all(pipes[2]);
        ck_assert_str_eq(text, "");
        free(text);
        close(pipes[2]);
        ck_assert_int_eq(pv_process_wait(&p, 0, NULL, NULL), 0);
        pv_process_release(&p);

        attr_for(&a, FIXTURE_ARGV("cat"));
        a.stdio[0].kind = PV_STDIO_PIPE;
        a.stdio[1].kind = PV_STDIO_PIPE;
        ck_assert_int_eq(pv_spawn(&a, &p, pipes, &err), 0);
        ck_assert_int_ne(fcntl(pipes[0], F_GETFD) & FD_CLOEXEC, 0);
        ck_assert_int_ne(fcntl(pipes[1], F_GETFD) & FD_CLOEXEC, 0);
        ck_assert_int_eq(write(pipes[0], "round trip\n", 11), 11);
        close(pipes[0]);
        text = pv_test_read_all(pipes[1]);
        ck_assert_str_eq(text, "round trip\n");
        free(text);
        close(pipes[1]);
        ck_assert_int_eq(pv_process_wait(&p, 0, NULL, NULL), 0);
        pv_process_release(&p);
        pv_test_rmtree(dir);
        free(dir);
}
END_TEST

/* Sixteen pipes whose write ends are placed at 3..18 in reversed order: their numbers
 * sit in the target range, so sources collide with slots (and one maps onto itself). */
START_TEST(test_fd_mapping_collisions) {
        enum { K = 16 };
        int rd[K], wr[K], map[K], pipes[3];
        struct pv_spawn_attr a;
        struct pv_error err = { 0 };
        struct pv_process p;
        char want[32], *text;
        int collisions = 0;

        for (int i = 0; i < K; i++) {
                int fds[2];
                ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
                rd[i] = fds[0];
                wr[i] = fds[1];
        }
        for (int j = 0; j < K; j++)
                map[j] = wr[K - 1 - j];
        /* Make one source equal to its own slot, if one falls in range. */
        for (int j = 0; j < K; j++)
                for (int m = 0; m < K; m++)
                        if (map[m] == 3 + j && m != j) {
                                int t = map[j];
                                map[j] = map[m];
                                map[m] = t;
                                goto swapped;
                        }
swapped:
        for (int j = 0; j < K; j++)
                if (map[j] >= 3 && map[j] < 3 + K)
                        collisions++;
        ck_assert_msg(collisions > 0, "the test did not create a collision");

        attr_for(&a, FIXTURE_ARGV("write-fds", "16"));
        a.fds = map;
        a.n_fds = K;
        a.stdio[1].kind = PV_STDIO_PIPE;
        ck_assert_int_eq(pv_spawn(&a, &p, pipes, &err), 0);
        close(pipes[1]);
        ck_assert_int_eq(pv_process_wait(&p, 0, NULL, NULL), 0);
        pv_process_release(&p);
        for (int i = 0; i < K; i++)
                close(wr[i]);
        for (int j = 0; j < K; j++) {
                int idx = -1;
                for (int i = 0; i < K; i++)
                        if (wr[i] == map[j])
                                idx = i;
                text = pv_test_read_all(rd[idx]);
                snprintf(want, sizeof(want), "fd %d\n", 3 + j);
                ck_assert_msg(strcmp(text, want) == 0, "pipe for slot %d got \"%s\"", 3 + j, text);
                free(text);
        }
        for (int i = 0; i < K; i++)
                close(rd[i]);
}
END_TEST

START_TEST(test_fd_mapping_stdio_and_cloexec) {
        int fds[2], pipes[3];
        struct pv_spawn_attr a;
        struct pv_error err = { 0 };
        struct pv_process p;
        char *text;

        ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
        /* The same source at stdout and at fd 3, and fd 3 reported inheritable. */
        attr_for(&a, FIXTURE_ARGV("fd", "3"));
        a.stdio[1] = (struct pv_stdio){ .kind = PV_STDIO_FD, .fd = fds[1] };
        a.fds = (int[]){ fds[1] };
        a.n_fds = 1;
        ck_assert_int_eq(pv_spawn(&a, &p, pipes, &err), 0);
        close(fds[1]);
        text = pv_test_read_all(fds[0]);
        ck_assert_msg(strncmp(text, "open cloexec=0 pipe:[", 21) == 0, "got \"%s\"", text);
        free(text);
        close(fds[0]);
        ck_assert_int_eq(pv_process_wait(&p, 0, NULL, NULL), 0);
        pv_process_release(&p);
}
END_TEST

START_TEST(test_close_other_fds) {
        struct pv_spawn_attr a;
        int leak = dup(0); /* no O_CLOEXEC: a descriptor a caller forgot */
        char want[64], *out;

        ck_assert_int_ge(leak, 3);
        attr_for(&a, FIXTURE_ARGV("fd", "0"));
        snprintf(want, sizeof(want), "%d", leak);
        a.argv = FIXTURE_ARGV("fd", want);
        out = run_capture(&a, 0);
        ck_assert_msg(strncmp(out, "open cloexec=0", 14) == 0, "the leak is not visible: %s", out);
        free(out);

        a.close_other_fds = true;
        assert_output(&a, "closed\n");

        /* Mapped descriptors survive close_other_fds. */
        a.argv = FIXTURE_ARGV("fd", "3");
        a.fds = (int[]){ leak };
        a.n_fds = 1;
        out = run_capture(&a, 0);
        ck_assert_msg(strncmp(out, "open cloexec=0", 14) == 0, "fd 3: %s", out);
        free(out);
        close(leak);
}
END_TEST

/* close_other_fds with sources far above the slots: on the vfork path the child shares
 * our table (CLONE_FILES) and unshares only what it needs, which must neither lose a
 * high source nor touch our own descriptors. */
START_TEST(test_close_other_fds_high_sources) {
        int fds[2], high, pipes[3], before = count_fds();
        struct pv_spawn_attr a;
        struct pv_process p;
        char *text;

        ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
        high = fcntl(fds[1], F_DUPFD_CLOEXEC, 700);
        ck_assert_int_ge(high, 700);
        attr_for(&a, FIXTURE_ARGV("write-fds", "2"));
        a.fds = (int[]){ high, high };
        a.n_fds = 2;
        a.close_other_fds = true;
        a.stdio[1].kind = PV_STDIO_PIPE;
        ck_assert_int_eq(pv_spawn(&a, &p, pipes, NULL), 0);
        close(pipes[1]);
        ck_assert_int_eq(pv_process_wait(&p, 0, NULL, NULL), 0);
        pv_process_release(&p);
        /* Our descriptors are all still there and ours. */
        ck_assert_int_ge(fcntl(high, F_GETFD), 0);
        ck_assert_int_ge(fcntl(fds[0], F_GETFD), 0);
        close(high);
        close(fds[1]);
        text = pv_test_read_all(fds[0]);
        ck_assert_str_eq(text, "fd 3\nfd 4\n");
        free(text);
        close(fds[0]);
        ck_assert_int_eq(count_fds(), before);
}
END_TEST

/* Descriptors at chosen numbers (s6's notification-fd): beyond the extra fds' slots, the
 * numbers between left alone; a taken or too low number is refused. */
START_TEST(test_fd_map) {
        int a[2], b[2], pipes[3];
        struct pv_spawn_attr at;
        struct pv_error err = { 0 };
        struct pv_process p;
        char *text;

        ck_assert_int_eq(pipe2(a, O_CLOEXEC), 0);
        ck_assert_int_eq(pipe2(b, O_CLOEXEC), 0);
        attr_for(&at, FIXTURE_ARGV("write-fd", "9", "nine"));
        at.fds = (int[]){ a[1] };
        at.n_fds = 1;
        at.fd_map = (struct pv_fd_map[]){ { .fd = b[1], .target = 9 } };
        at.n_fd_map = 1;
        at.close_other_fds = true;
        at.stdio[1].kind = PV_STDIO_PIPE;
        ck_assert_msg(pv_spawn(&at, &p, pipes, &err) == 0, "%s", err.message);
        close(pipes[1]);
        ck_assert_int_eq(pv_process_wait(&p, 0, NULL, NULL), 0);
        pv_process_release(&p);
        close(b[1]);
        text = pv_test_read_all(b[0]);
        ck_assert_str_eq(text, "nine");
        free(text);

        /* Slot 3 is the extra fd's: a map onto it, or below, is refused. */
        at.fd_map = (struct pv_fd_map[]){ { .fd = a[1], .target = 3 } };
        {
                char want[128];
                snprintf(want, sizeof(want), "spawn: descriptor %d cannot go to 3 (taken, or not in 4..1023)", a[1]);
                assert_spawn_fails(&at, -EINVAL, NULL, want);
        }
        close(a[0]);
        close(a[1]);
        close(b[0]);
}
END_TEST

START_TEST(test_rlimits) {
        struct pv_spawn_attr a;
        char res[16];
        struct pv_rlimit l[] = {
                { RLIMIT_NOFILE, { 100, 200 } },
                { RLIMIT_CORE, { 0, RLIM_INFINITY } },
        };

        snprintf(res, sizeof(res), "%d", RLIMIT_NOFILE);
        attr_for(&a, FIXTURE_ARGV("rlimit", res));
        a.rlimits = l;
        a.n_rlimits = 2;
        assert_output(&a, "100:200\n");
        snprintf(res, sizeof(res), "%d", RLIMIT_CORE);
        a.argv = FIXTURE_ARGV("rlimit", res);
        assert_output(&a, "0:infinity\n");

        /* Above fs.nr_open: refused even for root, and the step is named. */
        l[0].limit = (struct rlimit){ 1 << 30, 1 << 30 };
        assert_spawn_fails(&a, -EPERM, "setrlimit", "setrlimit NOFILE: Operation not permitted");
}
END_TEST

START_TEST(test_new_session) {
        struct pv_spawn_attr a;

        attr_for(&a, FIXTURE_ARGV("sid"));
        assert_output(&a, "member\n");
        a.new_session = true;
        assert_output(&a, "leader\n");
}
END_TEST

START_TEST(test_signals_reset) {
        struct pv_spawn_attr a;
        sigset_t set;

        /* A parent that ignores one signal and blocks another must not pass either on. */
        signal(SIGUSR1, SIG_IGN);
        signal(SIGPIPE, SIG_IGN);
        sigemptyset(&set);
        sigaddset(&set, SIGUSR2);
        sigaddset(&set, SIGTERM);
        sigprocmask(SIG_BLOCK, &set, NULL);
        attr_for(&a, FIXTURE_ARGV("sigmask"));
        assert_output(&a, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n"
                          "SigCgt:\t0000000000000000\n");
}
END_TEST

START_TEST(test_credentials) {
        struct pv_spawn_attr a;

        attr_for(&a, FIXTURE_ARGV("ids"));
        a.set_groups = true;
        a.groups = (gid_t[]){ 65534, 1 };
        a.n_groups = 2;
        a.set_gid = true;
        a.gid = 65534;
        a.set_uid = true;
        a.uid = 65534;
        assert_output(&a, "uid=65534 euid=65534 gid=65534 egid=65534 groups=1,65534\n");

        /* Only a gid: the uid stays. */
        attr_for(&a, FIXTURE_ARGV("ids"));
        a.set_gid = true;
        a.gid = 4242;
        a.set_groups = true;
        a.groups = NULL;
        a.n_groups = 0;
        assert_output(&a, "uid=0 euid=0 gid=4242 egid=4242 groups=\n");
}
END_TEST

START_TEST(test_no_fd_leak_in_parent) {
        struct pv_spawn_attr a;
        int before = count_fds();
        char *out;

        attr_for(&a, FIXTURE_ARGV("echo", "x"));
        a.stdio[0].kind = PV_STDIO_NULL;
        a.stdio[2].kind = PV_STDIO_NULL;
        for (int i = 0; i < 20; i++) {
                out = run_capture(&a, 0);
                free(out);
        }
        ck_assert_int_eq(count_fds(), before);
        assert_no_children();
}
END_TEST

/* Where cgroup v2 is mounted, or NULL. */
static char *cgroup2_mount(void) {
        FILE *f = fopen("/proc/self/mountinfo", "re");
        char line[4096], *found = NULL;

        if (!f)
                return NULL;
        while (!found && fgets(line, sizeof(line), f)) {
                char mnt[4096], fstype[64];
                const char *dash = strstr(line, " - ");
                if (!dash || sscanf(dash + 3, "%63s", fstype) != 1 || strcmp(fstype, "cgroup2"))
                        continue;
                if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1)
                        found = strdup(mnt);
        }
        fclose(f);
        return found;
}

static const char *cgroup_missing(void) {
        char *m = cgroup2_mount();
        const char *why = m ? (access(m, W_OK) == 0 ? NULL : "cgroup2 is not writable") :
                              "no cgroup2 mount";
        free(m);
        return why;
}

START_TEST(test_cgroup) {
        char *mnt = cgroup2_mount(), dir[4200], want[4300], own[4096] = "", line[4200];
        FILE *f = fopen("/proc/self/cgroup", "re");
        struct pv_spawn_attr a;
        int fd;

        ck_assert_ptr_nonnull(f);
        while (fgets(line, sizeof(line), f))
                if (strncmp(line, "0::", 3) == 0)
                        sscanf(line + 3, "%4095s", own);
        fclose(f);
        snprintf(dir, sizeof(dir), "%s%s/pvtest-spawn-%d", mnt, strcmp(own, "/") ? own : "",
                 (int)getpid());
        ck_assert_msg(mkdir(dir, 0755) == 0, "mkdir %s: %s", dir, strerror(errno));
        fd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);

        attr_for(&a, (char *[]){ "/bin/cat", "/proc/self/cgroup", NULL });
        a.cgroup_fd = fd;
        snprintf(want, sizeof(want), "0::%s/pvtest-spawn-%d\n", strcmp(own, "/") ? own : "",
                 (int)getpid());
        {
                char *out = run_capture(&a, 0), *l0 = strstr(out, "0::");
                ck_assert_msg(l0 && strcmp(l0, want) == 0, "child's cgroup: %s", out);
                free(out);
        }
        close(fd);
        ck_assert_int_eq(rmdir(dir), 0);
        free(mnt);
}
END_TEST


/* Under pv-enosys (the spawn-clone-fallback test), clone3 must really answer ENOSYS: the
 * rest of the suite passing then proves the clone(CLONE_PIDFD) fallback. */
START_TEST(test_fallback_is_forced) {
        errno = 0;
        ck_assert_int_eq(syscall(SYS_clone3, NULL, 0), -1);
        ck_assert_msg(errno == ENOSYS, "clone3 answered %s, not ENOSYS: the filter is missing",
                      strerror(errno));
}
END_TEST

int main(void) {
        Suite *s = pv_test_suite(getenv("PV_ENOSYS_ACTIVE") ? "spawn-clone-fallback" : "spawn");
        TCase *tc = pv_test_case("basic");

        tcase_add_test(tc, test_argv_and_status);
        tcase_add_test(tc, test_envp_exact);
        tcase_add_test(tc, test_envp_inherited);
        tcase_add_test(tc, test_listen_pid);
        tcase_add_test(tc, test_cwd_and_umask);
        tcase_add_test(tc, test_lookpath_bare_name);
        tcase_add_test(tc, test_new_session);
        tcase_add_test(tc, test_signals_reset);
        tcase_add_test(tc, test_rlimits);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("failures");
        tcase_add_test(tc, test_fail_bad_cwd);
        tcase_add_test(tc, test_fail_missing_binary);
        tcase_add_test(tc, test_fail_not_executable);
        tcase_add_test(tc, test_fail_bad_arguments);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("fds");
        tcase_add_test(tc, test_stdio_kinds);
        tcase_add_test(tc, test_fd_mapping_collisions);
        tcase_add_test(tc, test_fd_mapping_stdio_and_cloexec);
        tcase_add_test(tc, test_close_other_fds);
        tcase_add_test(tc, test_close_other_fds_high_sources);
        tcase_add_test(tc, test_fd_map);
        tcase_add_test(tc, test_no_fd_leak_in_parent);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("cgroup");
        tcase_add_test(tc, test_cgroup);
        pv_test_add(s, tc, pv_test_need_root() ? pv_test_need_root() : cgroup_missing());

        tc = pv_test_case("credentials");
        tcase_add_test(tc, test_credentials);
        pv_test_add(s, tc, pv_test_need_root());

        if (getenv("PV_ENOSYS_ACTIVE")) {
                tc = pv_test_case("fallback");
                tcase_add_test(tc, test_fallback_is_forced);
                pv_test_add(s, tc, NULL);
        }
        return pv_test_main(s);
}
