/* SPDX-License-Identifier: MIT */
/* Compiled policies installed in forked children.  Escape attempts are made with harmless
 * bad arguments (bubblewrap's probe): without the filter the kernel answers them (EFAULT,
 * EINVAL, ESRCH, ENOSYS of a kernel built without the feature, or success), under the
 * filter the policy's errno or a SIGSYS kill answers.  Both sides are checked in the same
 * run.  Then real programs (sh, ls, python3, python3 -m http.server) must still work
 * under each shipped policy and under Docker's default profile. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <pidvisor/policy.h>

#include "testlib.h"

#define PYTHON "/usr/bin/python3"

static struct pv_seccomp_program *compile(const char *name, unsigned flags) {
        struct pv_policy *p = NULL;
        struct pv_seccomp_program *prog = NULL;
        struct pv_error err;
        char *path = NULL;

        if (strcmp(name, "docker") == 0) {
                const char *src = getenv("PV_SOURCE_ROOT");
                ck_assert_ptr_nonnull(src);
                path = pv_test_fmt("%s/tests/data/docker-default.json", src);
        }
        ck_assert_msg(pv_policy_load(path ? path : name, NULL, &p, &err) == 0, "%s: %s", name,
                      err.message);
        ck_assert_msg(pv_policy_compile(p, flags, &prog, &err) == 0, "%s: %s", name, err.message);
        pv_policy_free(p);
        free(path);
        return prog;
}

/* In a child: no_new_privs and the filter; returns seccomp(2)'s result or -errno. */
static int install(const struct pv_seccomp_program *prog) {
        long r;

        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return -errno;
        r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, prog->flags, &prog->fprog);
        return r < 0 ? -errno : (int)r;
}

/* Leaves a child that may be under a filter.  Not _exit(): a sanitizer runtime prepares
 * every call of a noreturn function with system calls of its own (sigaltstack), which a
 * tight filter refuses, and then deadlocks reporting that. */
static void child_exit(int code) {
        for (;;)
                syscall(SYS_exit_group, code);
}

struct outcome {
        bool killed; /* by SIGSYS */
        int err;     /* 0: the call succeeded */
};

/* Runs fn in a child, under prog when not NULL. */
static struct outcome probe(const struct pv_seccomp_program *prog, long (*fn)(void)) {
        struct outcome o = { 0 };
        int status;
        pid_t pid = fork();

        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                long r;

                if (prog && install(prog) < 0)
                        child_exit(250);
                errno = 0;
                r = fn();
                child_exit(r < 0 ? (errno > 0 && errno < 250 ? errno : 251) : 0);
        }
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        if (WIFSIGNALED(status)) {
                ck_assert_msg(WTERMSIG(status) == SIGSYS, "probe died of signal %d", WTERMSIG(status));
                o.killed = true;
        } else {
                ck_assert_msg(WEXITSTATUS(status) < 250, "probe child failed (%d)", WEXITSTATUS(status));
                o.err = WEXITSTATUS(status);
        }
        return o;
}

static long p_ptrace(void) {
        return syscall(SYS_ptrace, 2 /* PTRACE_PEEKDATA */, 0x7ffffff0, 0, 0);
}
static long p_mount(void) {
        return syscall(SYS_mount, "", "/nonexistent-pidvisor", "bogusfs", 0, NULL);
}
static long p_kexec_load(void) {
        return syscall(SYS_kexec_load, 0, 0, NULL, 0xffff0000ul);
}
static long p_init_module(void) {
        return syscall(SYS_init_module, NULL, 0, "");
}
static long p_bpf(void) {
        return syscall(SYS_bpf, 0xffff, NULL, 0);
}
static long p_keyctl(void) {
        return syscall(SYS_keyctl, 9999, 0, 0, 0, 0);
}
static long p_unshare_user(void) {
        return syscall(SYS_unshare, CLONE_NEWUSER);
}
static long p_io_uring_setup(void) {
        return syscall(SYS_io_uring_setup, 0, NULL);
}
static long p_personality(void) {
        return syscall(SYS_personality, ADDR_NO_RANDOMIZE);
}
static long p_clone3(void) {
        return syscall(SYS_clone3, NULL, 0);
}
/* A system call libseccomp 2.5.4 does not know (statmount, 457 on x86_64, Linux 6.8). */
static long p_newer(void) {
        return syscall(457, NULL, NULL, 0, 0);
}
/* Known to libseccomp, allowed by no shipped policy: the default action. */
static long p_syslog(void) {
        return syscall(SYS_syslog, 10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
}
/* getpid through the i386 ABI */
static long p_int80(void) {
        long r;
        __asm__ volatile("int $0x80" : "=a"(r) : "a"(20) : "memory", "r8", "r9", "r10", "r11");
        if (r < 0) {
                errno = (int)-r;
                return -1;
        }
        return r;
}
/* getpid through the x32 ABI */
static long p_x32(void) {
        return syscall(0x40000000 | SYS_getpid);
}

struct escape {
        const char *name;
        long (*fn)(void);
};

static const struct escape escapes[] = {
        { "ptrace", p_ptrace },
        { "mount", p_mount },
        { "kexec_load", p_kexec_load },
        { "init_module", p_init_module },
        { "bpf", p_bpf },
        { "keyctl", p_keyctl },
        { "unshare(CLONE_NEWUSER)", p_unshare_user },
        { "io_uring_setup", p_io_uring_setup },
        { "int 0x80 (i386)", p_int80 },
        { "x32 getpid", p_x32 },
};

/* Without the policy the kernel answers (no kill); under it, a kill or the policy's
 * errno, which must differ from the kernel's own answer. */
static void expect_denied(const char *policy, const struct pv_seccomp_program *prog,
                          const struct escape *e) {
        struct outcome bare = probe(NULL, e->fn), under = probe(prog, e->fn);

        ck_assert_msg(!bare.killed, "%s without a policy was killed", e->name);
        ck_assert_msg(under.killed || ((under.err == EPERM || under.err == ENOSYS) && under.err != bare.err),
                      "%s under %s: %s (without: %s)", e->name, policy,
                      under.killed ? "killed" : under.err ? strerrorname_np(under.err) : "allowed",
                      bare.err ? strerrorname_np(bare.err) : "allowed");
}

static void check_escapes(const char *policy) {
        struct pv_seccomp_program *prog = compile(policy, 0);

        for (size_t i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++)
                expect_denied(policy, prog, &escapes[i]);
        /* clone3 answers ENOSYS (libc falls back to clone); without, EINVAL for size 0 */
        struct outcome bare = probe(NULL, p_clone3), under = probe(prog, p_clone3);
        ck_assert_int_eq(bare.err, EINVAL);
        ck_assert_msg(!under.killed && under.err == ENOSYS, "clone3 under %s", policy);
        pv_seccomp_program_free(prog);
}

START_TEST(test_escapes_default) {
        check_escapes("default");
}
END_TEST

START_TEST(test_escapes_server) {
        check_escapes("server");
}
END_TEST

START_TEST(test_escapes_strict) {
        check_escapes("strict");
}
END_TEST

START_TEST(test_specifics) {
        struct pv_seccomp_program *def = compile("default", 0), *server = compile("server", 0),
                                  *strict = compile("strict", 0);
        struct outcome o;

        /* the foreign ABIs kill, whatever the default action */
        ck_assert(probe(def, p_int80).killed);
        ck_assert(probe(def, p_x32).killed);
        ck_assert(!probe(NULL, p_int80).killed);
        /* escapes that server kills rather than answering */
        ck_assert(probe(server, p_ptrace).killed);
        ck_assert(probe(server, p_mount).killed);
        ck_assert(probe(server, p_bpf).killed);
        ck_assert_int_eq(probe(server, p_io_uring_setup).err, ENOSYS);
        ck_assert_int_eq(probe(def, p_io_uring_setup).err, EPERM);
        /* personality: harmless personas only under default */
        ck_assert_int_eq(probe(NULL, p_personality).err, 0);
        ck_assert_int_eq(probe(def, p_personality).err, EPERM);
        /* forward compatibility: a number above libseccomp's table answers ENOSYS in an
         * allow-list, a known syscall no rule allows gets the default action */
        o = probe(def, p_newer);
        ck_assert_msg(!o.killed && o.err == ENOSYS, "newer syscall under default");
        o = probe(strict, p_newer);
        ck_assert_msg(!o.killed && o.err == ENOSYS, "newer syscall under strict");
        ck_assert_int_eq(probe(NULL, p_syslog).err, 0);
        ck_assert_int_eq(probe(def, p_syslog).err, EPERM);
        ck_assert(probe(strict, p_syslog).killed);
        pv_seccomp_program_free(def);
        pv_seccomp_program_free(server);
        pv_seccomp_program_free(strict);
}
END_TEST

START_TEST(test_language_behaviour) {
        struct pv_policy *p = NULL;
        struct pv_seccomp_program *prog = NULL;
        struct pv_error err;
        static const char text[] =
                "default errno EACCES\n"
                "allow exit_group\n"
                "allow socket(arg0 == AF_UNIX)\n"
                "errno ENOTSUP bpf\n"
                "kill keyctl\n";

        ck_assert_int_eq(pv_policy_parse_string("t.policy", text, strlen(text), NULL, &p, &err), 0);
        ck_assert_int_eq(pv_policy_compile(p, 0, &prog, &err), 0);
        ck_assert_int_eq(probe(prog, p_bpf).err, ENOTSUP);
        ck_assert(probe(prog, p_keyctl).killed);
        ck_assert_int_eq(probe(prog, p_ptrace).err, EACCES);
        pv_seccomp_program_free(prog);
        pv_policy_free(p);
}
END_TEST

static int send_fd(int sock, int fd) {
        char c = 'x';
        struct iovec iov = { &c, 1 };
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } u = { 0 };
        struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                            .msg_controllen = sizeof(u.buf) };
        struct cmsghdr *h = CMSG_FIRSTHDR(&m);

        h->cmsg_level = SOL_SOCKET;
        h->cmsg_type = SCM_RIGHTS;
        h->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(h), &fd, sizeof(int));
        return sendmsg(sock, &m, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock) {
        char c;
        struct iovec iov = { &c, 1 };
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } u;
        struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                            .msg_controllen = sizeof(u.buf) };
        struct cmsghdr *h;
        int fd;

        if (recvmsg(sock, &m, MSG_CMSG_CLOEXEC) != 1 || !(h = CMSG_FIRSTHDR(&m)))
                return -1;
        memcpy(&fd, CMSG_DATA(h), sizeof(int));
        return fd;
}

/* Kills enforced through user notification: the supervisor learns which syscall it was. */
START_TEST(test_notify_kills) {
        struct pv_seccomp_program *prog = compile("server", PV_POLICY_NOTIFY_KILLS);
        struct seccomp_notif req;
        struct seccomp_notif_resp resp;
        int sv[2], status, listener;
        char name[64];
        pid_t pid;

        ck_assert(prog->flags & SECCOMP_FILTER_FLAG_NEW_LISTENER);
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                int fd = install(prog);
                if (fd < 0 || send_fd(sv[1], fd) < 0)
                        child_exit(250);
                close(fd);
                errno = 0;
                child_exit(p_ptrace() < 0 ? errno : 0);
        }
        listener = recv_fd(sv[0]);
        ck_assert_int_ge(listener, 0);
        memset(&req, 0, sizeof(req));
        ck_assert_int_eq(ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req), 0);
        ck_assert_int_eq(req.pid, pid);
        ck_assert_str_eq(pv_seccomp_syscall_name(req.data.arch, req.data.nr, name, sizeof(name)), "ptrace");
        resp = (struct seccomp_notif_resp){ .id = req.id, .error = -EHOSTDOWN };
        ck_assert_int_eq(ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp), 0);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status));
        ck_assert_int_eq(WEXITSTATUS(status), EHOSTDOWN);
        close(listener);
        close(sv[0]);
        close(sv[1]);
        pv_seccomp_program_free(prog);
}
END_TEST

START_TEST(test_ssb_flag_installs) {
        struct pv_seccomp_program *prog = compile("default", PV_POLICY_SSB_ALLOW);
        struct outcome o;

        ck_assert(prog->flags & SECCOMP_FILTER_FLAG_SPEC_ALLOW);
        o = probe(prog, p_syslog); /* the child fails with 250 if install refused the flag */
        ck_assert_int_eq(o.err, EPERM);
        pv_seccomp_program_free(prog);
}
END_TEST

/* Runs argv under prog (or none) with stdout+stderr captured; returns the wait status. */
static int run(const struct pv_seccomp_program *prog, char *const argv[], char **out) {
        int pfd[2], status;
        pid_t pid;

        ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                dup2(pfd[1], 1);
                dup2(pfd[1], 2);
                if (prog && install(prog) < 0)
                        child_exit(126);
                execv(argv[0], argv);
                child_exit(127);
        }
        close(pfd[1]);
        *out = pv_test_read_all(pfd[0]);
        close(pfd[0]);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        return status;
}

static void expect_runs(const char *policy, const struct pv_seccomp_program *prog,
                        char *const argv[], const char *want) {
        char *out;
        int status = run(prog, argv, &out);

        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                      "%s under %s: %s %d; output:\n%s", argv[0], policy,
                      WIFSIGNALED(status) ? "killed by signal" : "exit status",
                      WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), out);
        ck_assert_msg(!want || strstr(out, want), "%s under %s: output lacks \"%s\":\n%s", argv[0],
                      policy, want, out);
        free(out);
}

static void check_programs(const char *policy) {
        struct pv_seccomp_program *prog = compile(policy, 0);
        char *sh[] = { "/bin/sh", "-c",
                       "set -e; d=$(mktemp -d); echo hello > \"$d/f\"; cat \"$d/f\"; "
                       "ls -l \"$d\" > /dev/null; for i in 1 2 3; do n=$((i * 2)); done; "
                       "x=$(echo sub | tr a-z A-Z); echo \"$x $n\"; sleep 0.01; rm -r \"$d\"",
                       NULL };
        char *ls[] = { "/bin/ls", "-la", "/", "/proc/self/", NULL };
        char *py[] = { PYTHON, "-c",
                       "import hashlib, json, os, socket, subprocess, tempfile, threading\n"
                       "r = subprocess.run(['/bin/echo', 'child'], capture_output=True, check=True)\n"
                       "t = threading.Thread(target=lambda: None); t.start(); t.join()\n"
                       "with tempfile.TemporaryDirectory() as d:\n"
                       "    open(os.path.join(d, 'x'), 'w').write('y')\n"
                       "a, b = socket.socketpair(); a.send(b'p'); assert b.recv(1) == b'p'\n"
                       "print(r.stdout.decode().strip(), hashlib.sha256(b'x').hexdigest()[:8], json.dumps([1]))\n",
                       NULL };

        expect_runs(policy, prog, sh, "hello\nSUB 6");
        expect_runs(policy, prog, ls, "..");
        expect_runs(policy, prog, py, "child 2d711642 [1]");
        pv_seccomp_program_free(prog);
}

static const char *need_python(void) {
        return access(PYTHON, X_OK) == 0 ? NULL : "needs " PYTHON;
}

START_TEST(test_programs_default) {
        check_programs("default");
}
END_TEST

START_TEST(test_programs_server) {
        check_programs("server");
}
END_TEST

START_TEST(test_programs_strict) {
        check_programs("strict");
}
END_TEST

START_TEST(test_programs_docker) {
        check_programs("docker");
}
END_TEST

static int free_port(void) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(a);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port;

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
        ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
        port = ntohs(a.sin_port);
        close(fd);
        return port;
}

/* python3 -m http.server under the policy serves one request. */
static void check_http_server(const char *policy) {
        struct pv_seccomp_program *prog = compile(policy, 0);
        char *dir = pv_test_mkdtemp(), *index = pv_test_fmt("%s/index.html", dir);
        char port[16], buf[4096];
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int fd = -1, status;
        size_t got = 0;
        pid_t pid;

        pv_test_write_file(index, "served under seccomp\n", 0644);
        snprintf(port, sizeof(port), "%d", free_port());
        a.sin_port = htons((uint16_t)atoi(port));
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                char *argv[] = { PYTHON, "-m", "http.server", port, "--bind", "127.0.0.1",
                                 "--directory", dir, NULL };
                int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
                dup2(null, 1);
                dup2(null, 2);
                if (install(prog) < 0)
                        child_exit(126);
                execv(argv[0], argv);
                child_exit(127);
        }
        for (int i = 0; i < 200; i++) {
                fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                ck_assert_int_ge(fd, 0);
                if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
                        break;
                close(fd);
                fd = -1;
                ck_assert_msg(waitpid(pid, &status, WNOHANG) == 0, "http.server under %s exited (%d)",
                              policy, status);
                nanosleep(&(struct timespec){ 0, 50 * 1000 * 1000 }, NULL);
        }
        ck_assert_msg(fd >= 0, "http.server under %s never listened", policy);
        static const char req[] = "GET /index.html HTTP/1.0\r\nHost: localhost\r\n\r\n";
        ck_assert_int_eq(write(fd, req, sizeof(req) - 1), (ssize_t)(sizeof(req) - 1));
        for (;;) {
                ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
                if (n <= 0)
                        break;
                got += (size_t)n;
        }
        buf[got] = 0;
        close(fd);
        kill(pid, SIGTERM);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(strstr(buf, " 200 ") && strstr(buf, "served under seccomp"),
                      "http.server under %s answered:\n%s", policy, buf);
        /* it ended on our SIGTERM, not on a seccomp kill */
        ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "status %d", status);
        pv_test_rmtree(dir);
        free(dir);
        free(index);
        pv_seccomp_program_free(prog);
}

START_TEST(test_http_default) {
        check_http_server("default");
}
END_TEST

START_TEST(test_http_server) {
        check_http_server("server");
}
END_TEST

START_TEST(test_http_docker) {
        check_http_server("docker");
}
END_TEST

int main(void) {
        Suite *s = pv_test_suite("policy-seccomp");
        const char *root = pv_test_need_root();
        TCase *tc;

        tc = pv_test_case("escapes");
        tcase_add_test(tc, test_escapes_default);
        tcase_add_test(tc, test_escapes_server);
        tcase_add_test(tc, test_escapes_strict);
        tcase_add_test(tc, test_specifics);
        tcase_add_test(tc, test_language_behaviour);
        tcase_add_test(tc, test_notify_kills);
        tcase_add_test(tc, test_ssb_flag_installs);
        /* without the filter, mount and unshare must reach the kernel as root */
        pv_test_add(s, tc, root);

        tc = pv_test_case("programs");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_programs_default);
        tcase_add_test(tc, test_programs_server);
        tcase_add_test(tc, test_programs_strict);
        tcase_add_test(tc, test_programs_docker);
        tcase_add_test(tc, test_http_default);
        tcase_add_test(tc, test_http_server);
        tcase_add_test(tc, test_http_docker);
        pv_test_add(s, tc, need_python());

        return pv_test_main(s);
}
