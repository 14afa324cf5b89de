/* SPDX-License-Identifier: MIT */
/* The service side of sd_notify and socket activation in libpidvisor
 * (<pidvisor/notify.h>): what goes on the wire to $NOTIFY_SOCKET (payload, credentials,
 * descriptors), the transports it refuses, and pv_listen_fds*() on the $LISTEN_*
 * variables (../shared/PROTOCOLS.md).
 *
 * The receiving end is a real AF_UNIX datagram socket with SO_PASSCRED, as a manager's.
 * The pv_listen_fds cases run in a process forked inside the test, since they take over
 * descriptors 3 and 4 (which Check may be using in the test process); that process
 * reports a failure as text on a pipe and a non-zero exit. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <pidvisor/notify.h>

#include "testlib.h"

#define N_ELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- a receiving socket, as the manager's ---- */

struct receiver {
        int fd;
        char *dir;                   /* for a path socket, else NULL */
        char env[sizeof(((struct sockaddr_un *)0)->sun_path) + 1]; /* the $NOTIFY_SOCKET value */
};

static void receiver_bind(struct receiver *r, struct sockaddr_un *sa, socklen_t len) {
        int one = 1;

        r->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        ck_assert_msg(r->fd >= 0, "socket: %s", strerror(errno));
        ck_assert_msg(bind(r->fd, (struct sockaddr *)sa, len) == 0, "bind %s: %s", r->env, strerror(errno));
        ck_assert_int_eq(setsockopt(r->fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);
}

/* A socket bound to DIR/notify; $NOTIFY_SOCKET names it. */
static void receiver_path(struct receiver *r) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        memset(r, 0, sizeof(*r));
        r->dir = pv_test_mkdtemp();
        ck_assert_int_lt(snprintf(r->env, sizeof(r->env), "%s/notify", r->dir), (int)sizeof(sa.sun_path));
        strcpy(sa.sun_path, r->env);
        receiver_bind(r, &sa, sizeof(sa));
        ck_assert_int_eq(setenv("NOTIFY_SOCKET", r->env, 1), 0);
}

/* An abstract socket "\0pvtest-notify-PID-N" (exactly that long); $NOTIFY_SOCKET is
 * "@pvtest-notify-PID-N". */
static void receiver_abstract(struct receiver *r) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct timespec ts;
        size_t len;

        memset(r, 0, sizeof(*r));
        clock_gettime(CLOCK_MONOTONIC, &ts);
        snprintf(r->env, sizeof(r->env), "@pvtest-notify-%d-%ld", (int)getpid(), (long)ts.tv_nsec);
        len = strlen(r->env);
        memcpy(sa.sun_path, r->env, len);
        sa.sun_path[0] = 0;
        receiver_bind(r, &sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
        ck_assert_int_eq(setenv("NOTIFY_SOCKET", r->env, 1), 0);
}

static void receiver_done(struct receiver *r) {
        close(r->fd);
        pv_test_rmtree(r->dir);
        free(r->dir);
        r->dir = NULL;
}

struct datagram {
        char data[8192];
        size_t len;
        bool have_cred;
        struct ucred cred;
        int fds[16];
        size_t n_fds;
        bool truncated;
};

/* Receives one datagram within 5 s; fails the test on timeout. */
static void receive(struct receiver *r, struct datagram *d) {
        union {
                struct cmsghdr h;
                char b[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * 16)];
        } control;
        struct iovec iov = { d->data, sizeof(d->data) - 1 };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
                             .msg_controllen = sizeof(control) };
        struct pollfd p = { .fd = r->fd, .events = POLLIN };
        ssize_t n;

        memset(d, 0, sizeof(*d));
        ck_assert_msg(poll(&p, 1, 5000) == 1, "no datagram on %s within 5 s", r->env);
        n = recvmsg(r->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        ck_assert_msg(n >= 0, "recvmsg: %s", strerror(errno));
        d->len = (size_t)n;
        d->data[d->len] = 0;
        d->truncated = (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                if (c->cmsg_level != SOL_SOCKET)
                        continue;
                if (c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len == CMSG_LEN(sizeof(struct ucred))) {
                        memcpy(&d->cred, CMSG_DATA(c), sizeof(struct ucred));
                        d->have_cred = true;
                } else if (c->cmsg_type == SCM_RIGHTS) {
                        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                        ck_assert_uint_le(d->n_fds + k, N_ELEM(d->fds));
                        memcpy(d->fds + d->n_fds, CMSG_DATA(c), k * sizeof(int));
                        d->n_fds += k;
                }
        }
}

/* Nothing waiting on the socket (within 100 ms). */
static void assert_nothing_received(struct receiver *r) {
        struct pollfd p = { .fd = r->fd, .events = POLLIN };

        ck_assert_msg(poll(&p, 1, 100) == 0, "a datagram arrived on %s, expected none", r->env);
}

static void assert_payload(const struct datagram *d, const char *expected) {
        ck_assert_msg(!d->truncated, "the datagram was truncated");
        ck_assert_msg(d->len == strlen(expected) && memcmp(d->data, expected, d->len) == 0,
                      "received %zu bytes \"%.*s\", expected %zu bytes \"%s\"", d->len, (int)d->len, d->data,
                      strlen(expected), expected);
}

static void assert_own_credentials(const struct datagram *d) {
        ck_assert_msg(d->have_cred, "no SCM_CREDENTIALS with the datagram");
        ck_assert_int_eq(d->cred.pid, getpid());
        ck_assert_uint_eq(d->cred.uid, getuid());
        ck_assert_uint_eq(d->cred.gid, getgid());
}

/* ---- pv_notify ---- */

START_TEST(test_notify_unset) {
        ck_assert_int_eq(unsetenv("NOTIFY_SOCKET"), 0);
        ck_assert_int_eq(pv_notify(false, "READY=1"), 0);
        ck_assert_int_eq(pv_notify(true, "READY=1"), 0);
        ck_assert_int_eq(pv_notifyf(false, "STATUS=%d", 1), 0);
        /* Set but empty: not supervised either. */
        ck_assert_int_eq(setenv("NOTIFY_SOCKET", "", 1), 0);
        ck_assert_int_eq(pv_notify(false, "READY=1"), 0);
}
END_TEST

START_TEST(test_notify_path_socket) {
        struct receiver r;
        struct datagram d;
        const char *e;

        receiver_path(&r);
        ck_assert_int_eq(pv_notify(false, "READY=1\nSTATUS=Serving 3 clients"), 1);
        receive(&r, &d);
        /* Exactly the text: no NUL, no newline added. */
        assert_payload(&d, "READY=1\nSTATUS=Serving 3 clients");
        assert_own_credentials(&d);
        ck_assert_uint_eq(d.n_fds, 0);
        /* Kept for the next message. */
        e = getenv("NOTIFY_SOCKET");
        ck_assert_ptr_nonnull(e);
        ck_assert_str_eq(e, r.env);

        /* One datagram per call, in order. */
        ck_assert_int_eq(pv_notify(false, "WATCHDOG=1"), 1);
        ck_assert_int_eq(pv_notify(false, "STATUS=second"), 1);
        receive(&r, &d);
        assert_payload(&d, "WATCHDOG=1");
        receive(&r, &d);
        assert_payload(&d, "STATUS=second");
        assert_nothing_received(&r);
        receiver_done(&r);
}
END_TEST

/* A full-size message (PIPE_BUF, the manager's limit) goes out whole. */
START_TEST(test_notify_large) {
        static char text[4097];
        struct receiver r;
        struct datagram d;

        memcpy(text, "STATUS=", 7);
        for (size_t i = 7; i < 4096; i++)
                text[i] = (char)('a' + i % 26);
        text[4096] = 0;
        receiver_path(&r);
        ck_assert_int_eq(pv_notify(false, text), 1);
        receive(&r, &d);
        assert_payload(&d, text);
        receiver_done(&r);
}
END_TEST

START_TEST(test_notify_abstract_socket) {
        struct receiver r;
        struct datagram d;

        receiver_abstract(&r);
        ck_assert_int_eq(pv_notify(false, "READY=1"), 1);
        receive(&r, &d);
        assert_payload(&d, "READY=1");
        assert_own_credentials(&d);
        receiver_done(&r);
}
END_TEST

/* An abstract name is its exact bytes: one that is a prefix of a bound name is not it. */
START_TEST(test_notify_abstract_exact_name) {
        struct receiver r;
        char shorter[sizeof(r.env)];
        int ret;

        receiver_abstract(&r);
        snprintf(shorter, sizeof(shorter), "%.*s", (int)strlen(r.env) - 1, r.env);
        ck_assert_int_eq(setenv("NOTIFY_SOCKET", shorter, 1), 0);
        ret = pv_notify(false, "READY=1");
        ck_assert_msg(ret == -ECONNREFUSED || ret == -ENOENT, "pv_notify to unbound %s: %d, expected -ECONNREFUSED",
                      shorter, ret);
        assert_nothing_received(&r);
        receiver_done(&r);
}
END_TEST

START_TEST(test_notify_unset_environment) {
        struct receiver r;
        struct datagram d;

        receiver_path(&r);
        ck_assert_int_eq(pv_notify(true, "READY=1"), 1);
        ck_assert_ptr_null(getenv("NOTIFY_SOCKET"));
        receive(&r, &d);
        assert_payload(&d, "READY=1");
        /* Gone: the next call is not supervised any more. */
        ck_assert_int_eq(pv_notify(false, "STATUS=x"), 0);
        assert_nothing_received(&r);
        receiver_done(&r);

        /* Removed on a failure too. */
        ck_assert_int_eq(setenv("NOTIFY_SOCKET", "vsock:2:1234", 1), 0);
        ck_assert_int_eq(pv_notify(true, "READY=1"), -EAFNOSUPPORT);
        ck_assert_ptr_null(getenv("NOTIFY_SOCKET"));
        ck_assert_int_eq(setenv("NOTIFY_SOCKET", "/nonexistent/pidvisor/notify", 1), 0);
        ck_assert_int_lt(pv_notify(true, "READY=1"), 0);
        ck_assert_ptr_null(getenv("NOTIFY_SOCKET"));
}
END_TEST

START_TEST(test_notify_unsupported_address) {
        static const char *const values[] = { "notify.sock", "run/notify", "./notify", "vsock:2:1234",
                                              "vsock-stream:2:1234", "vsock-dgram:1:99", "vsock::1234" };

        for (size_t i = 0; i < N_ELEM(values); i++) {
                int r;

                ck_assert_int_eq(setenv("NOTIFY_SOCKET", values[i], 1), 0);
                r = pv_notify(false, "READY=1");
                ck_assert_msg(r == -EAFNOSUPPORT, "NOTIFY_SOCKET=%s: %d (%s), expected -EAFNOSUPPORT", values[i], r,
                              r < 0 ? strerror(-r) : "sent");
                ck_assert_str_eq(getenv("NOTIFY_SOCKET"), values[i]);
        }
}
END_TEST

START_TEST(test_notify_no_listener) {
        struct receiver r;
        char path[4096];
        int ret;

        /* No such file. */
        receiver_path(&r);
        snprintf(path, sizeof(path), "%s/absent", r.dir);
        ck_assert_int_eq(setenv("NOTIFY_SOCKET", path, 1), 0);
        ret = pv_notify(false, "READY=1");
        ck_assert_msg(ret == -ENOENT, "to a missing path: %d (%s), expected -ENOENT", ret,
                      ret < 0 ? strerror(-ret) : "sent");

        /* A socket file whose socket is closed. */
        close(r.fd);
        r.fd = -1;
        ck_assert_int_eq(setenv("NOTIFY_SOCKET", r.env, 1), 0);
        ret = pv_notify(false, "READY=1");
        ck_assert_msg(ret == -ECONNREFUSED, "to a stale socket file: %d (%s), expected -ECONNREFUSED", ret,
                      ret < 0 ? strerror(-ret) : "sent");
        ret = pv_notify_with_fds(false, "FDSTORE=1", (int[]){ 0 }, 1);
        ck_assert_msg(ret == -ECONNREFUSED, "with fds to a stale socket file: %d, expected -ECONNREFUSED", ret);
        pv_test_rmtree(r.dir);
        free(r.dir);
}
END_TEST

START_TEST(test_notify_null_state) {
        struct receiver r;

        receiver_path(&r);
        ck_assert_int_eq(pv_notify(false, NULL), -EINVAL);
        assert_nothing_received(&r);
        receiver_done(&r);
}
END_TEST

START_TEST(test_notifyf) {
        struct receiver r;
        struct datagram d;
        char big[5000];

        receiver_path(&r);
        ck_assert_int_eq(pv_notifyf(false, "STATUS=%d clients, %s (%05.1f%%)\nMAINPID=%ld", 12, "busy", 87.25,
                                    (long)getpid()),
                         1);
        receive(&r, &d);
        {
                char expected[128];
                snprintf(expected, sizeof(expected), "STATUS=12 clients, busy (087.2%%)\nMAINPID=%ld", (long)getpid());
                assert_payload(&d, expected);
        }
        ck_assert_ptr_nonnull(getenv("NOTIFY_SOCKET"));

        /* Longer than any fixed buffer a formatter might use. */
        memset(big, 'z', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        ck_assert_int_eq(pv_notifyf(false, "STATUS=%.3000s", big), 1);
        receive(&r, &d);
        ck_assert_uint_eq(d.len, 7 + 3000);
        ck_assert(!memcmp(d.data, "STATUS=zzz", 10) && d.data[d.len - 1] == 'z');

        ck_assert_int_eq(pv_notifyf(true, "READY=%d", 1), 1);
        ck_assert_ptr_null(getenv("NOTIFY_SOCKET"));
        receive(&r, &d);
        assert_payload(&d, "READY=1");
        receiver_done(&r);
}
END_TEST

static bool same_file(int a, int b) {
        struct stat sa, sb;

        ck_assert_int_eq(fstat(a, &sa), 0);
        ck_assert_int_eq(fstat(b, &sb), 0);
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

START_TEST(test_notify_with_fds) {
        struct receiver r;
        struct datagram d;
        int p[2], q[2], fds[2];
        char buf[16];

        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        ck_assert_int_eq(pipe2(q, O_CLOEXEC), 0);
        receiver_path(&r);
        fds[0] = p[1];
        fds[1] = q[0];
        ck_assert_int_eq(pv_notify_with_fds(false, "FDSTORE=1\nFDNAME=pipes", fds, 2), 1);
        receive(&r, &d);
        assert_payload(&d, "FDSTORE=1\nFDNAME=pipes");
        assert_own_credentials(&d);
        ck_assert_uint_eq(d.n_fds, 2);
        /* New descriptors for the same pipes, in the order given. */
        ck_assert(d.fds[0] != p[1] && d.fds[1] != q[0]);
        ck_assert(same_file(d.fds[0], p[1]) && same_file(d.fds[1], q[0]));
        ck_assert(!same_file(d.fds[0], q[0]));
        /* Written through the received one, read at our end. */
        ck_assert_int_eq(write(d.fds[0], "hello", 5), 5);
        ck_assert_int_eq(read(p[0], buf, sizeof(buf)), 5);
        ck_assert(!memcmp(buf, "hello", 5));
        ck_assert_int_eq(write(q[1], "back", 4), 4);
        ck_assert_int_eq(read(d.fds[1], buf, sizeof(buf)), 4);
        ck_assert(!memcmp(buf, "back", 4));
        /* Ours stay open: passing them does not close them. */
        ck_assert_int_ge(fcntl(p[1], F_GETFD), 0);
        ck_assert_int_ge(fcntl(q[0], F_GETFD), 0);
        for (size_t i = 0; i < d.n_fds; i++)
                close(d.fds[i]);

        /* No fds: a plain message, without SCM_RIGHTS. */
        ck_assert_int_eq(pv_notify_with_fds(false, "READY=1", NULL, 0), 1);
        receive(&r, &d);
        assert_payload(&d, "READY=1");
        ck_assert_uint_eq(d.n_fds, 0);

        /* With unset_environment. */
        ck_assert_int_eq(pv_notify_with_fds(true, "FDSTORE=1", fds, 1), 1);
        ck_assert_ptr_null(getenv("NOTIFY_SOCKET"));
        receive(&r, &d);
        ck_assert_uint_eq(d.n_fds, 1);
        ck_assert(same_file(d.fds[0], p[1]));
        close(d.fds[0]);

        receiver_done(&r);
        close(p[0]);
        close(p[1]);
        close(q[0]);
        close(q[1]);
}
END_TEST

/* The kernel takes at most 253 descriptors per message (SCM_MAX_FD). */
START_TEST(test_notify_with_too_many_fds) {
        static int fds[254];
        struct receiver r;

        for (size_t i = 0; i < N_ELEM(fds); i++)
                fds[i] = 0;
        receiver_path(&r);
        ck_assert_int_eq(pv_notify_with_fds(false, "FDSTORE=1", fds, 254), -E2BIG);
        assert_nothing_received(&r);
        receiver_done(&r);
}
END_TEST

/* ---- pv_listen_fds, in a child of the test ---- */

static int report_fd = -1;

static void child_fail(int line, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void child_fail(int line, const char *fmt, ...) {
        va_list ap;

        dprintf(report_fd, "line %d: ", line);
        va_start(ap, fmt);
        vdprintf(report_fd, fmt, ap);
        va_end(ap);
        _exit(1);
}
#define CHILD_ASSERT(cond, ...)                              \
        do {                                                 \
                if (!(cond))                                 \
                        child_fail(__LINE__, __VA_ARGS__); \
        } while (0)

/* Runs fn in a forked process; fails the test with its report unless it exits 0. */
static void run_in_child(void (*fn)(void)) {
        int p[2], st;
        pid_t pid;
        char *text;

        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        fflush(NULL);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                /* Far from 3 and 4, which the child will take over. */
                report_fd = fcntl(p[1], F_DUPFD_CLOEXEC, 100);
                if (report_fd < 0)
                        _exit(3);
                fn();
                _exit(0);
        }
        close(p[1]);
        text = pv_test_read_all(p[0]);
        close(p[0]);
        ck_assert_int_eq(waitpid(pid, &st, 0), pid);
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child failed (wait status 0x%x): %s", st, text);
        free(text);
}

/* Pipes at fds 3 and 4 (3: a read end, 4: a write end of another pipe), without
 * FD_CLOEXEC, as a manager leaves them; fd 5 also open without FD_CLOEXEC, not passed. */
static int pipe_ends[2][2];

static void place_fds(void) {
        for (int i = 0; i < 2; i++) {
                int tmp[2];
                CHILD_ASSERT(pipe(tmp) == 0, "pipe: %s", strerror(errno));
                /* Move out of the way of 3..5 first. */
                pipe_ends[i][0] = fcntl(tmp[0], F_DUPFD_CLOEXEC, 50);
                pipe_ends[i][1] = fcntl(tmp[1], F_DUPFD_CLOEXEC, 50);
                close(tmp[0]);
                close(tmp[1]);
        }
        CHILD_ASSERT(dup2(pipe_ends[0][0], 3) == 3 && dup2(pipe_ends[1][1], 4) == 4 &&
                             dup2(pipe_ends[0][1], 5) == 5,
                     "dup2: %s", strerror(errno));
        for (int fd = 3; fd <= 5; fd++)
                CHILD_ASSERT(fcntl(fd, F_GETFD) == 0, "fd %d flags %d before the call", fd, fcntl(fd, F_GETFD));
}

static bool cloexec(int fd) {
        int f = fcntl(fd, F_GETFD);

        CHILD_ASSERT(f >= 0, "fd %d: %s", fd, strerror(errno));
        return f & FD_CLOEXEC;
}

static void set_listen_env(pid_t pid, const char *fds, const char *names) {
        char p[32];

        snprintf(p, sizeof(p), "%d", (int)pid);
        CHILD_ASSERT(setenv("LISTEN_PID", p, 1) == 0, "setenv");
        if (fds)
                CHILD_ASSERT(setenv("LISTEN_FDS", fds, 1) == 0, "setenv");
        else
                unsetenv("LISTEN_FDS");
        if (names)
                CHILD_ASSERT(setenv("LISTEN_FDNAMES", names, 1) == 0, "setenv");
        else
                unsetenv("LISTEN_FDNAMES");
        CHILD_ASSERT(setenv("LISTEN_PIDFDID", "12345", 1) == 0, "setenv");
}

static void assert_listen_env(bool present, bool with_names) {
        static const char *const vars[] = { "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "LISTEN_PIDFDID" };

        for (size_t i = 0; i < N_ELEM(vars); i++) {
                bool want = present && (with_names || strcmp(vars[i], "LISTEN_FDNAMES"));
                CHILD_ASSERT(!!getenv(vars[i]) == want, "%s is %s, expected it %s", vars[i],
                             getenv(vars[i]) ? getenv(vars[i]) : "unset", want ? "set" : "unset");
        }
}

static void child_listen_fds_ours(void) {
        int r;

        place_fds();
        set_listen_env(getpid(), "2", NULL);
        r = pv_listen_fds(false);
        CHILD_ASSERT(r == 2, "pv_listen_fds: %d, expected 2", r);
        CHILD_ASSERT(cloexec(3) && cloexec(4), "fds 3 and 4 lack FD_CLOEXEC after pv_listen_fds");
        CHILD_ASSERT(!cloexec(5), "fd 5 (not passed) got FD_CLOEXEC");
        assert_listen_env(true, false);
        /* The fds themselves are untouched: still the pipes they were. */
        CHILD_ASSERT(write(4, "x", 1) == 1, "write to fd 4: %s", strerror(errno));
        CHILD_ASSERT(write(5, "y", 1) == 1, "write to fd 5: %s", strerror(errno));
        {
                char c = 0;
                CHILD_ASSERT(read(3, &c, 1) == 1 && c == 'y', "read from fd 3");
                CHILD_ASSERT(read(pipe_ends[1][0], &c, 1) == 1 && c == 'x', "read from the other end of fd 4");
        }

        /* Again, removing the environment. */
        r = pv_listen_fds(true);
        CHILD_ASSERT(r == 2, "pv_listen_fds(true): %d, expected 2", r);
        assert_listen_env(false, false);
        /* Nothing left to claim. */
        r = pv_listen_fds(false);
        CHILD_ASSERT(r == 0, "pv_listen_fds after the environment was removed: %d", r);
}

START_TEST(test_listen_fds_ours) {
        run_in_child(child_listen_fds_ours);
}
END_TEST

static void child_listen_fds_other_pid(void) {
        pid_t other = getppid();
        int r;

        place_fds();
        set_listen_env(other, "2", "a:b");
        r = pv_listen_fds(false);
        CHILD_ASSERT(r == 0, "LISTEN_PID of another process: %d, expected 0", r);
        CHILD_ASSERT(!cloexec(3) && !cloexec(4), "fds of another process were changed");
        assert_listen_env(true, true);
        {
                char **names = (char **)&r; /* a sentinel: must stay as it is */
                r = pv_listen_fds_with_names(false, &names);
                CHILD_ASSERT(r == 0, "with names, LISTEN_PID of another process: %d", r);
                CHILD_ASSERT(names == (char **)&r, "names was set although no fds are ours");
        }
        r = pv_listen_fds(true);
        CHILD_ASSERT(r == 0, "pv_listen_fds(true): %d", r);
        assert_listen_env(false, false);
        CHILD_ASSERT(!cloexec(3) && !cloexec(4), "fds of another process were changed");

        /* No LISTEN_PID at all. */
        unsetenv("LISTEN_PID");
        CHILD_ASSERT(setenv("LISTEN_FDS", "2", 1) == 0, "setenv");
        r = pv_listen_fds(true);
        CHILD_ASSERT(r == 0, "without LISTEN_PID: %d", r);
        assert_listen_env(false, false);
        /* LISTEN_PID ours but no LISTEN_FDS. */
        set_listen_env(getpid(), NULL, NULL);
        r = pv_listen_fds(true);
        CHILD_ASSERT(r == 0, "without LISTEN_FDS: %d", r);
        assert_listen_env(false, false);
        CHILD_ASSERT(!cloexec(3) && !cloexec(4), "fds changed without LISTEN_FDS");
}

START_TEST(test_listen_fds_other_pid) {
        run_in_child(child_listen_fds_other_pid);
}
END_TEST

static void child_listen_fds_junk(void) {
        static const char *const junk[] = { "two", "", "2x", "-1", " 2", "+2", "0x2", "99999999999999999999" };

        place_fds();
        for (size_t i = 0; i < N_ELEM(junk); i++) {
                int r;

                set_listen_env(getpid(), junk[i], "a:b");
                r = pv_listen_fds(false);
                CHILD_ASSERT(r == -EINVAL, "LISTEN_FDS=\"%s\": %d, expected -EINVAL", junk[i], r);
                assert_listen_env(true, true);
                r = pv_listen_fds(true);
                CHILD_ASSERT(r == -EINVAL, "LISTEN_FDS=\"%s\" (unset_environment): %d, expected -EINVAL", junk[i], r);
                assert_listen_env(false, false);
        }
        /* A junk LISTEN_PID is as malformed. */
        CHILD_ASSERT(setenv("LISTEN_PID", "me", 1) == 0 && setenv("LISTEN_FDS", "2", 1) == 0, "setenv");
        CHILD_ASSERT(pv_listen_fds(true) == -EINVAL, "LISTEN_PID=me: not -EINVAL");
        assert_listen_env(false, false);
}

START_TEST(test_listen_fds_junk) {
        run_in_child(child_listen_fds_junk);
}
END_TEST

/* sd_listen_fds(3): "n <= 0 ... -EINVAL" (PROTOCOLS.md, "What a client does", step 3):
 * a manager never sets LISTEN_FDS=0, so it is malformed, not "no fds". */
static void child_listen_fds_zero(void) {
        int r;

        set_listen_env(getpid(), "0", NULL);
        r = pv_listen_fds(true);
        CHILD_ASSERT(r == -EINVAL, "LISTEN_FDS=0: %d, expected -EINVAL as sd_listen_fds", r);
        assert_listen_env(false, false);
}

START_TEST(test_listen_fds_zero) {
        run_in_child(child_listen_fds_zero);
}
END_TEST

static void free_names(char **names) {
        for (size_t i = 0; names && names[i]; i++)
                free(names[i]);
        free(names);
}

static void child_listen_fds_names(void) {
        char **names = NULL;
        int r;

        place_fds();
        set_listen_env(getpid(), "2", "a:b");
        r = pv_listen_fds_with_names(false, &names);
        CHILD_ASSERT(r == 2, "LISTEN_FDNAMES=a:b: %d, expected 2", r);
        CHILD_ASSERT(names && names[0] && names[1] && !names[2], "not two names and a NULL");
        CHILD_ASSERT(!strcmp(names[0], "a") && !strcmp(names[1], "b"), "names \"%s\", \"%s\"", names[0], names[1]);
        CHILD_ASSERT(cloexec(3) && cloexec(4), "fds 3 and 4 lack FD_CLOEXEC");
        assert_listen_env(true, true);
        free_names(names);
        names = NULL;

        r = pv_listen_fds_with_names(true, &names);
        CHILD_ASSERT(r == 2, "again with unset_environment: %d", r);
        CHILD_ASSERT(names && !strcmp(names[0], "a") && !strcmp(names[1], "b") && !names[2], "names");
        assert_listen_env(false, false);
        free_names(names);
        names = NULL;

        /* The special names go through as they are. */
        set_listen_env(getpid(), "2", "stored:connection");
        r = pv_listen_fds_with_names(true, &names);
        CHILD_ASSERT(r == 2 && names && !strcmp(names[0], "stored") && !strcmp(names[1], "connection") && !names[2],
                     "stored:connection: %d", r);
        free_names(names);
        names = NULL;

        /* One fd, one name. */
        set_listen_env(getpid(), "1", "http");
        r = pv_listen_fds_with_names(true, &names);
        CHILD_ASSERT(r == 1 && names && !strcmp(names[0], "http") && !names[1], "one name: %d", r);
        assert_listen_env(false, false);
        free_names(names);
}

START_TEST(test_listen_fds_names) {
        run_in_child(child_listen_fds_names);
}
END_TEST

static void child_listen_fds_names_absent(void) {
        char **names = NULL;
        int r;

        place_fds();
        set_listen_env(getpid(), "2", NULL);
        r = pv_listen_fds_with_names(false, &names);
        CHILD_ASSERT(r == 2, "without LISTEN_FDNAMES: %d, expected 2", r);
        CHILD_ASSERT(names && names[0] && names[1] && !names[2], "not two names and a NULL");
        CHILD_ASSERT(!strcmp(names[0], "unknown") && !strcmp(names[1], "unknown"), "names \"%s\", \"%s\"", names[0],
                     names[1]);
        CHILD_ASSERT(cloexec(3) && cloexec(4), "fds 3 and 4 lack FD_CLOEXEC");
        assert_listen_env(true, false);
        free_names(names);
        names = NULL;
        r = pv_listen_fds_with_names(true, &names);
        CHILD_ASSERT(r == 2 && names && !strcmp(names[1], "unknown"), "again: %d", r);
        assert_listen_env(false, false);
        free_names(names);
}

START_TEST(test_listen_fds_names_absent) {
        run_in_child(child_listen_fds_names_absent);
}
END_TEST

static void child_listen_fds_names_mismatch(void) {
        static const char *const bad[] = { "a", "a:b:c", "", ":a:b", "a:b:c:d:e" };

        place_fds();
        for (size_t i = 0; i < N_ELEM(bad); i++) {
                char **names = (char **)bad; /* a sentinel: must stay as it is */
                int r;

                set_listen_env(getpid(), "2", bad[i]);
                r = pv_listen_fds_with_names(false, &names);
                CHILD_ASSERT(r == -EINVAL, "LISTEN_FDS=2 LISTEN_FDNAMES=\"%s\": %d, expected -EINVAL", bad[i], r);
                CHILD_ASSERT(names == (char **)bad, "LISTEN_FDNAMES=\"%s\": names set on an error", bad[i]);
                assert_listen_env(true, true);
                r = pv_listen_fds_with_names(true, &names);
                CHILD_ASSERT(r == -EINVAL, "LISTEN_FDNAMES=\"%s\" (unset_environment): %d, expected -EINVAL", bad[i],
                             r);
                assert_listen_env(false, false);
        }
}

START_TEST(test_listen_fds_names_mismatch) {
        run_in_child(child_listen_fds_names_mismatch);
}
END_TEST

/* sd_listen_fds_with_names() splits on every ':' (EXTRACT_DONT_COALESCE_SEPARATORS): a
 * trailing one is one more, empty, name, so "a:b:" is three names for two fds. */
static void child_listen_fds_names_trailing_colon(void) {
        char **names = NULL;
        int r;

        place_fds();
        set_listen_env(getpid(), "2", "a:b:");
        r = pv_listen_fds_with_names(true, &names);
        CHILD_ASSERT(r == -EINVAL, "LISTEN_FDS=2 LISTEN_FDNAMES=\"a:b:\": %d (names \"%s\", \"%s\"), expected -EINVAL",
                     r, r > 0 && names ? names[0] : "", r > 0 && names ? names[1] : "");
        assert_listen_env(false, false);
}

START_TEST(test_listen_fds_names_trailing_colon) {
        run_in_child(child_listen_fds_names_trailing_colon);
}
END_TEST

int main(void) {
        Suite *s = pv_test_suite("notify-client");
        TCase *tc = pv_test_case("notify");

        tcase_add_test(tc, test_notify_unset);
        tcase_add_test(tc, test_notify_path_socket);
        tcase_add_test(tc, test_notify_large);
        tcase_add_test(tc, test_notify_abstract_socket);
        tcase_add_test(tc, test_notify_abstract_exact_name);
        tcase_add_test(tc, test_notify_unset_environment);
        tcase_add_test(tc, test_notify_unsupported_address);
        tcase_add_test(tc, test_notify_no_listener);
        tcase_add_test(tc, test_notify_null_state);
        tcase_add_test(tc, test_notifyf);
        tcase_add_test(tc, test_notify_with_fds);
        tcase_add_test(tc, test_notify_with_too_many_fds);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("listen-fds");
        tcase_add_test(tc, test_listen_fds_ours);
        tcase_add_test(tc, test_listen_fds_other_pid);
        tcase_add_test(tc, test_listen_fds_junk);
        tcase_add_test(tc, test_listen_fds_zero);
        tcase_add_test(tc, test_listen_fds_names);
        tcase_add_test(tc, test_listen_fds_names_absent);
        tcase_add_test(tc, test_listen_fds_names_mismatch);
        tcase_add_test(tc, test_listen_fds_names_trailing_colon);
        pv_test_add(s, tc, NULL);

        return pv_test_main(s);
}
