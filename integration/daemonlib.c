/* SPDX-License-Identifier: MIT */
/* Helpers for the integration suites of `pidvisor daemon`; see daemonlib.h. */
#include "daemonlib.h"

#include "testlib.h"

#include <dirent.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char *suite_root;

/* ---- time ---- */

int64_t dl_now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void dl_sleep_ms(int ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static int remaining(int64_t deadline) {
        int64_t r = deadline - dl_now_ms();

        return r < 0 ? 0 : (int)r;
}

/* ---- the suite ---- */

void dl_suite_begin(const char *name) {
        const char *tmp = getenv("TMPDIR");

        if (asprintf(&suite_root, "%s/pvtest-%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", name) < 0 ||
            !mkdtemp(suite_root) || chmod(suite_root, 0755) < 0 || setenv("TMPDIR", suite_root, 1) < 0) {
                fprintf(stderr, "cannot create a temporary directory: %s\n", strerror(errno));
                exit(EXIT_FAILURE);
        }
}

const char *dl_root(void) {
        return suite_root ? suite_root : "/nonexistent";
}

/* Whether a NUL-separated /proc file mentions the needle. */
static bool proc_file_mentions(pid_t pid, const char *file, const char *needle) {
        char path[64], buf[65536];
        size_t len = 0, nlen = strlen(needle);
        ssize_t n;
        int fd;

        snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
                len += (size_t)n;
        close(fd);
        for (size_t i = 0; i + nlen <= len; i++)
                if (memcmp(buf + i, needle, nlen) == 0)
                        return true;
        return false;
}

static void describe_pid(pid_t pid, char *out, size_t size) {
        char path[64];
        size_t len = 0;
        ssize_t n;
        int fd;

        snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
        out[0] = 0;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return;
        n = read(fd, out, size - 1);
        close(fd);
        len = n > 0 ? (size_t)n : 0;
        out[len] = 0;
        for (size_t i = 0; i + 1 < len; i++)
                if (!out[i])
                        out[i] = ' ';
}

void dl_suite_end(void) {
        DIR *proc;
        struct dirent *de;
        int killed = 0;

        if (!suite_root)
                return;
        /* Anything that still mentions the suite's directory (a daemon's options, a
         * fixture's file argument, the tag of the units' environment) is a leftover. */
        proc = opendir("/proc");
        while (proc && (de = readdir(proc))) {
                pid_t pid = (pid_t)atoi(de->d_name);
                char what[512];

                if (pid <= 0 || pid == getpid())
                        continue;
                if (!proc_file_mentions(pid, "cmdline", suite_root) && !proc_file_mentions(pid, "environ", suite_root))
                        continue;
                describe_pid(pid, what, sizeof(what));
                fprintf(stderr, "WARNING: left over after the suite, killing pid %d: %s\n", (int)pid, what);
                kill(pid, SIGKILL);
                killed++;
        }
        if (proc)
                closedir(proc);
        if (killed)
                dl_sleep_ms(200);
        pv_test_rmtree(suite_root);
        free(suite_root);
        suite_root = NULL;
}

/* ---- paths and files ---- */

/* A program the tests run (as a service, perhaps with a private /tmp): see
 * pv_test_visible_program(). */
static const char *env_path(const char *name) {
        const char *p = getenv(name);

        ck_assert_msg(p && *p, "%s is not set (run the tests through meson test)", name);
        return pv_test_visible_program(p);
}

const char *dl_bin(void) {
        return env_path("PV_BIN");
}

const char *dl_fixture(void) {
        return env_path("PV_FIXTURE");
}

const char *dl_enosys(void) {
        return env_path("PV_ENOSYS");
}

char *dl_path(const struct dl_daemon *d, const char *name) {
        char *p;

        ck_assert_int_ne(asprintf(&p, "%s/%s", d->dir, name), -1);
        return p;
}

char *dl_read_file(const char *path) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        size_t len = 0, cap = 4096;
        char *buf;

        if (fd < 0)
                return NULL;
        buf = malloc(cap);
        ck_assert_ptr_nonnull(buf);
        for (;;) {
                ssize_t n;

                if (cap - len < 1024) {
                        cap *= 2;
                        buf = realloc(buf, cap);
                        ck_assert_ptr_nonnull(buf);
                }
                n = read(fd, buf + len, cap - len - 1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                len += (size_t)n;
        }
        close(fd);
        buf[len] = 0;
        return buf;
}

char *dl_public_fixture(struct dl_daemon *d) {
        char *dst = dl_path(d, "pv-fixture"), *data;
        int in = open(dl_fixture(), O_RDONLY | O_CLOEXEC), out;
        struct stat st;
        ssize_t n;

        ck_assert_msg(in >= 0, "open %s: %s", dl_fixture(), strerror(errno));
        ck_assert_int_eq(fstat(in, &st), 0);
        out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
        ck_assert_msg(out >= 0, "open %s: %s", dst, strerror(errno));
        data = malloc(65536);
        ck_assert_ptr_nonnull(data);
        while ((n = read(in, data, 65536)) > 0)
                ck_assert_int_eq(write(out, data, (size_t)n), n);
        ck_assert_int_eq(n, 0);
        ck_assert_int_eq(fchmod(out, 0755), 0);
        close(out);
        close(in);
        free(data);
        ck_assert_int_eq(chmod(d->dir, 0755), 0);
        return dst;
}

/* ---- the daemon ---- */

void dl_init(struct dl_daemon *d) {
        memset(d, 0, sizeof(*d));
        d->pid = -1;
        d->pidfd = -1;
        d->dir = pv_test_mkdtemp();
        ck_assert_int_eq(chmod(d->dir, 0755), 0);
        d->units = dl_path(d, "units");
        d->state = dl_path(d, "state");
        d->sock = dl_path(d, "sock");
        d->log = dl_path(d, "daemon.log");
        d->out = dl_path(d, "daemon.out");
        ck_assert_int_eq(mkdir(d->units, 0755), 0);
}

void dl_write_unit(struct dl_daemon *d, const char *name, const char *fmt, ...) {
        char *path, *text, *full;
        va_list ap;

        va_start(ap, fmt);
        ck_assert_int_ne(vasprintf(&text, fmt, ap), -1);
        va_end(ap);
        ck_assert_int_ne(asprintf(&path, "%s/%s.service", d->units, name), -1);
        ck_assert_int_ne(asprintf(&full, "%s%s# daemonlib: lets the suite find leftovers\n"
                                         "[Service]\nEnvironment=PVTEST_TAG=%s\n",
                                  text, text[0] && text[strlen(text) - 1] != '\n' ? "\n" : "", dl_root()),
                         -1);
        pv_test_write_file(path, full, 0644);
        free(full);
        free(text);
        free(path);
}

void dl_remove_unit(struct dl_daemon *d, const char *name) {
        char *path;

        ck_assert_int_ne(asprintf(&path, "%s/%s.service", d->units, name), -1);
        ck_assert_msg(unlink(path) == 0, "unlink %s: %s", path, strerror(errno));
        free(path);
}

static void print_file(const char *title, const char *path) {
        char *text = dl_read_file(path);
        size_t len = text ? strlen(text) : 0;
        const size_t max = 48 * 1024;

        fprintf(stderr, "---- %s (%s)%s ----\n", title, path, len > max ? ", last 48 KiB" : "");
        if (text)
                fputs(len > max ? text + len - max : text, stderr);
        else
                fprintf(stderr, "(cannot read: %s)\n", strerror(errno));
        fprintf(stderr, "---- end of %s ----\n", title);
        free(text);
}

void dl_fail_at(const char *file, int line, struct dl_daemon *d, const char *fmt, ...) {
        char msg[4096];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        fprintf(stderr, "FAILURE: %s\n", msg);
        if (d && d->dir) {
                print_file("daemon log", d->log);
                print_file("daemon stdout", d->out);
        }
        fflush(stderr);
        _ck_assert_failed(file, line, "Failed", "%s", msg);
        abort(); /* not reached */
}

static void ping_until_ready(struct dl_daemon *d) {
        int64_t deadline = dl_now_ms() + DL_DEADLINE_MS;

        for (;;) {
                struct dl_conn c;

                if (dl_exited(d)) {
                        char *log = dl_read_file(d->log), *err = log ? strstr(log, ": error: ") : NULL;
                        dl_fail(d, "the daemon exited at start (wait status 0x%x)%s%.*s", d->wstatus, err ? ":" : "",
                                err ? (int)strcspn(err + 1, "\n") : 0, err ? err + 1 : "");
                }
                if (dl_try_connect(d->sock, &c) == 0) {
                        char *line;

                        if (dl_send_raw(&c, "{\"id\":0,\"cmd\":\"ping\"}\n", 22) &&
                            (line = dl_recv_line(&c, remaining(deadline)))) {
                                bool ok = strstr(line, "\"ok\":true") != NULL;
                                free(line);
                                dl_close(&c);
                                if (ok)
                                        return;
                                dl_fail(d, "the daemon does not answer a ping with ok");
                        }
                        dl_close(&c);
                }
                if (dl_now_ms() > deadline)
                        dl_fail(d, "the daemon did not answer on %s within %d ms", d->sock, DL_DEADLINE_MS);
                dl_sleep_ms(5);
        }
}

void dl_start_full(struct dl_daemon *d, const char *const *prefix, const char *const *extra) {
        const char *argv[64];
        size_t n = 0;
        pid_t parent = getpid(), pid;

        for (size_t i = 0; prefix && prefix[i]; i++)
                argv[n++] = prefix[i];
        argv[n++] = dl_bin();
        argv[n++] = "daemon";
        argv[n++] = "--units";
        argv[n++] = d->units;
        argv[n++] = "--state-dir";
        argv[n++] = d->state;
        argv[n++] = "--socket";
        argv[n++] = d->sock;
        for (size_t i = 0; extra && extra[i]; i++) {
                ck_assert_uint_lt(n, sizeof(argv) / sizeof(argv[0]) - 1);
                argv[n++] = extra[i];
        }
        argv[n] = NULL;

        fflush(NULL);
        pid = fork();
        ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
        if (pid == 0) {
                sigset_t none;
                int fd;

                /* Out of Check's process group (which it SIGKILLs after the test), and
                 * told to stop (SIGTERM: it stops its services) when the test is gone. */
                setpgid(0, 0);
                prctl(PR_SET_PDEATHSIG, SIGTERM);
                if (getppid() != parent)
                        _exit(127);
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                if (d->nofile > 0) {
                        struct rlimit rl = { (rlim_t)d->nofile, (rlim_t)d->nofile };
                        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                                _exit(127);
                }
                signal(SIGPIPE, SIG_DFL);
                fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (fd < 0 || dup2(fd, 0) < 0)
                        _exit(127);
                fd = open(d->out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
                if (fd < 0 || dup2(fd, 1) < 0)
                        _exit(127);
                fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
                if (fd < 0 || dup2(fd, 2) < 0)
                        _exit(127);
                syscall(SYS_close_range, 3U, ~0U, 0U);
                setenv("PIDVISOR_SOCKET", d->sock, 1);
                execv(argv[0], (char *const *)argv);
                dprintf(2, "daemonlib: execv %s: %s\n", argv[0], strerror(errno));
                _exit(127);
        }
        d->pid = pid;
        d->pidfd = dl_pidfd_open(pid);
        d->exited = false;
        ping_until_ready(d);
}

void dl_start(struct dl_daemon *d, ...) {
        const char *extra[32] = { "--log-level", "debug" };
        size_t n = 2;
        const char *a;
        va_list ap;

        va_start(ap, d);
        while ((a = va_arg(ap, const char *))) {
                ck_assert_uint_lt(n, sizeof(extra) / sizeof(extra[0]) - 1);
                extra[n++] = a;
        }
        va_end(ap);
        extra[n] = NULL;
        dl_start_full(d, NULL, extra);
}

bool dl_exited(struct dl_daemon *d) {
        int st;

        if (d->exited || d->pid <= 0)
                return true;
        if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
                d->exited = true;
                d->wstatus = st;
                if (d->pidfd >= 0)
                        close(d->pidfd);
                d->pidfd = -1;
        }
        return d->exited;
}

bool dl_wait_exit(struct dl_daemon *d, int timeout_ms) {
        int64_t deadline = dl_now_ms() + timeout_ms;

        while (!dl_exited(d)) {
                struct pollfd p = { .fd = d->pidfd, .events = POLLIN };
                int left = remaining(deadline);

                if (left == 0)
                        return false;
                if (poll(&p, 1, left) < 0 && errno != EINTR)
                        ck_abort_msg("poll: %s", strerror(errno));
        }
        return true;
}

int dl_stop(struct dl_daemon *d, int timeout_ms) {
        if (dl_exited(d))
                return d->wstatus;
        kill(d->pid, SIGTERM);
        if (dl_wait_exit(d, timeout_ms))
                return d->wstatus;
        kill(d->pid, SIGKILL);
        dl_wait_exit(d, 5000);
        return -1;
}

/* The cgroup the daemon said it put its services under, or NULL. */
static char *daemon_cgroup(struct dl_daemon *d) {
        static const char needle[] = "cgroups: services run in cgroup v2 below ";
        char *log = dl_read_file(d->log), *p, *res = NULL;

        for (p = log; p && (p = strstr(p, needle)); p += sizeof(needle) - 1) {
                free(res);
                res = strndup(p + sizeof(needle) - 1, strcspn(p + sizeof(needle) - 1, "\n"));
        }
        free(log);
        return res;
}

void dl_done(struct dl_daemon *d) {
        bool was_running = !dl_exited(d);
        int st = dl_stop(d, 10000);
        char *cg;

        if (was_running && st == -1)
                dl_fail(d, "the daemon did not exit within 10 s of SIGTERM (killed)");
        if (was_running && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
                dl_fail(d, "the daemon did not exit 0 after SIGTERM (wait status 0x%x)", st);
        /* A daemon that stopped cleanly leaves no cgroup behind. */
        cg = was_running ? daemon_cgroup(d) : NULL;
        if (cg && access(cg, F_OK) == 0) {
                char cmd[600];
                snprintf(cmd, sizeof(cmd), "ls -R %s >&2; cat %s/*/cgroup.procs >&2", cg, cg);
                fprintf(stderr, "left behind:\n");
                (void)!system(cmd);
                dl_fail(d, "the daemon exited but left its cgroup %s behind", cg);
        }
        free(cg);
        pv_test_rmtree(d->dir);
        free(d->dir);
        free(d->units);
        free(d->state);
        free(d->sock);
        free(d->log);
        free(d->out);
        memset(d, 0, sizeof(*d));
        d->pid = -1;
        d->pidfd = -1;
}

/* ---- the CLI ---- */

static void append(char **buf, size_t *len, const char *data, size_t n) {
        *buf = realloc(*buf, *len + n + 1);
        ck_assert_ptr_nonnull(*buf);
        memcpy(*buf + *len, data, n);
        *len += n;
        (*buf)[*len] = 0;
}

static struct dl_cli cli_run_v(struct dl_daemon *d, va_list ap) {
        const char *argv[64];
        struct dl_cli r = { .code = -1 };
        size_t n = 0, olen = 0, elen = 0;
        int po[2], pe[2], pidfd, st;
        bool oeof = false, eeof = false, exited = false;
        int64_t start = dl_now_ms(), deadline = start + DL_DEADLINE_MS;
        pid_t parent = getpid(), pid;
        const char *a;

        argv[n++] = dl_bin();
        while ((a = va_arg(ap, const char *))) {
                ck_assert_uint_lt(n, sizeof(argv) / sizeof(argv[0]) - 1);
                argv[n++] = a;
        }
        argv[n] = NULL;
        r.out = calloc(1, 1);
        r.err = calloc(1, 1);
        ck_assert(r.out && r.err);
        ck_assert_int_eq(pipe2(po, O_CLOEXEC), 0);
        ck_assert_int_eq(pipe2(pe, O_CLOEXEC), 0);
        fflush(NULL);
        pid = fork();
        ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
        if (pid == 0) {
                int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

                prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (getppid() != parent)
                        _exit(127);
                signal(SIGPIPE, SIG_DFL);
                if (fd < 0 || dup2(fd, 0) < 0 || dup2(po[1], 1) < 0 || dup2(pe[1], 2) < 0)
                        _exit(127);
                setenv("PIDVISOR_SOCKET", d->sock, 1);
                execv(argv[0], (char *const *)argv);
                _exit(127);
        }
        close(po[1]);
        close(pe[1]);
        pidfd = dl_pidfd_open(pid);
        while (!oeof || !eeof || !exited) {
                struct pollfd p[3] = {
                        { .fd = oeof ? -1 : po[0], .events = POLLIN },
                        { .fd = eeof ? -1 : pe[0], .events = POLLIN },
                        { .fd = exited ? -1 : pidfd, .events = POLLIN },
                };
                int ret = poll(p, 3, remaining(deadline));
                char chunk[4096];
                ssize_t k;

                if (ret < 0 && errno == EINTR)
                        continue;
                ck_assert_msg(ret >= 0, "poll: %s", strerror(errno));
                if (ret == 0) {
                        kill(pid, SIGKILL);
                        waitpid(pid, &st, 0);
                        close(po[0]);
                        close(pe[0]);
                        close(pidfd);
                        r.code = -1;
                        r.ms = dl_now_ms() - start;
                        return r;
                }
                if (p[0].revents) {
                        k = read(po[0], chunk, sizeof(chunk));
                        if (k <= 0)
                                oeof = true;
                        else
                                append(&r.out, &olen, chunk, (size_t)k);
                }
                if (p[1].revents) {
                        k = read(pe[0], chunk, sizeof(chunk));
                        if (k <= 0)
                                eeof = true;
                        else
                                append(&r.err, &elen, chunk, (size_t)k);
                }
                if (p[2].revents) {
                        ck_assert_int_eq(waitpid(pid, &st, 0), pid);
                        exited = true;
                        r.ms = dl_now_ms() - start;
                        r.code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
                }
        }
        close(po[0]);
        close(pe[0]);
        close(pidfd);
        return r;
}

struct dl_cli dl_cli_run(struct dl_daemon *d, ...) {
        struct dl_cli r;
        va_list ap;

        va_start(ap, d);
        r = cli_run_v(d, ap);
        va_end(ap);
        return r;
}

void dl_cli_done(struct dl_cli *r) {
        free(r->out);
        free(r->err);
        r->out = r->err = NULL;
}

void dl_cli_ok(struct dl_daemon *d, ...) {
        struct dl_cli r;
        va_list ap;

        va_start(ap, d);
        r = cli_run_v(d, ap);
        va_end(ap);
        if (r.code != 0)
                dl_fail(d, "the CLI exited %d\nstdout: \"%s\"\nstderr: \"%s\"", r.code, r.out, r.err);
        dl_cli_done(&r);
}

/* ---- the control socket ---- */

int dl_try_connect(const char *sock, struct dl_conn *c) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        memset(c, 0, sizeof(*c));
        c->fd = -1;
        ck_assert_uint_lt(strlen(sock), sizeof(sa.sun_path));
        strcpy(sa.sun_path, sock);
        c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_msg(c->fd >= 0, "socket: %s", strerror(errno));
        if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                int r = -errno;
                close(c->fd);
                c->fd = -1;
                return r;
        }
        return 0;
}

void dl_connect(struct dl_daemon *d, struct dl_conn *c) {
        int r = dl_try_connect(d->sock, c);

        if (r < 0)
                dl_fail(d, "connect %s: %s", d->sock, strerror(-r));
}

void dl_close(struct dl_conn *c) {
        if (c->fd >= 0)
                close(c->fd);
        free(c->buf);
        memset(c, 0, sizeof(*c));
        c->fd = -1;
}

bool dl_send_raw(struct dl_conn *c, const char *data, size_t len) {
        int64_t deadline = dl_now_ms() + DL_DEADLINE_MS;

        while (len > 0) {
                ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN) {
                        struct pollfd p = { .fd = c->fd, .events = POLLOUT };
                        if (poll(&p, 1, remaining(deadline)) == 0) {
                                c->error = ETIMEDOUT;
                                return false;
                        }
                        continue;
                }
                if (n < 0) {
                        c->error = errno;
                        return false;
                }
                data += n;
                len -= (size_t)n;
        }
        return true;
}

void dl_send_line(struct dl_daemon *d, struct dl_conn *c, const char *line) {
        size_t len = strlen(line);
        char *full = malloc(len + 2);

        ck_assert_ptr_nonnull(full);
        memcpy(full, line, len);
        full[len] = '\n';
        full[len + 1] = 0;
        if (!dl_send_raw(c, full, len + 1))
                dl_fail(d, "sending \"%s\": %s", line, strerror(c->error));
        free(full);
}

char *dl_recv_line(struct dl_conn *c, int timeout_ms) {
        int64_t deadline = dl_now_ms() + timeout_ms;

        for (;;) {
                char *nl = c->buf ? memchr(c->buf, '\n', c->len) : NULL;
                struct pollfd p = { .fd = c->fd, .events = POLLIN };
                ssize_t n;
                int ret;

                if (nl) {
                        size_t linelen = (size_t)(nl - c->buf);
                        char *line = strndup(c->buf, linelen);
                        ck_assert_ptr_nonnull(line);
                        memmove(c->buf, nl + 1, c->len - linelen - 1);
                        c->len -= linelen + 1;
                        return line;
                }
                if (c->eof)
                        return NULL;
                ret = poll(&p, 1, remaining(deadline));
                if (ret < 0 && errno == EINTR)
                        continue;
                ck_assert_msg(ret >= 0, "poll: %s", strerror(errno));
                if (ret == 0)
                        return NULL;
                if (c->cap - c->len < 4096) {
                        c->cap = c->cap ? c->cap * 2 : 16384;
                        c->buf = realloc(c->buf, c->cap);
                        ck_assert_ptr_nonnull(c->buf);
                }
                n = recv(c->fd, c->buf + c->len, c->cap - c->len, MSG_DONTWAIT);
                if (n < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                if (n <= 0) {
                        c->eof = true;
                        c->error = n < 0 ? errno : 0;
                        continue;
                }
                c->len += (size_t)n;
        }
}

json_t *dl_recv_json(struct dl_daemon *d, struct dl_conn *c, int timeout_ms) {
        char *line = dl_recv_line(c, timeout_ms);
        json_error_t err;
        json_t *o;

        if (!line)
                dl_fail(d, "no reply line within %d ms (%s)", timeout_ms,
                        c->eof ? (c->error ? strerror(c->error) : "the daemon closed the connection") : "timeout");
        o = json_loads(line, 0, &err);
        if (!o)
                dl_fail(d, "invalid JSON from the daemon: %s: \"%s\"", err.text, line);
        free(line);
        return o;
}

static json_t *request_timeout(struct dl_daemon *d, const char *cmd, json_t *args, int timeout_ms) {
        json_t *req = json_pack("{s:i, s:s}", "id", 1, "cmd", cmd), *reply;
        struct dl_conn c;
        char *s;

        if (args)
                json_object_set_new(req, "args", args);
        s = json_dumps(req, JSON_COMPACT);
        ck_assert_ptr_nonnull(s);
        json_decref(req);
        dl_connect(d, &c);
        dl_send_line(d, &c, s);
        reply = dl_recv_json(d, &c, timeout_ms);
        dl_close(&c);
        free(s);
        return reply;
}

json_t *dl_request(struct dl_daemon *d, const char *cmd, json_t *args) {
        return request_timeout(d, cmd, args, DL_DEADLINE_MS);
}

json_t *dl_call(struct dl_daemon *d, const char *cmd, json_t *args) {
        json_t *reply = dl_request(d, cmd, args), *result;

        if (!json_is_true(json_object_get(reply, "ok"))) {
                char *s = json_dumps(reply, JSON_COMPACT);
                dl_fail(d, "request \"%s\" failed: %s", cmd, s);
        }
        result = json_incref(json_object_get(reply, "result"));
        json_decref(reply);
        return result;
}

json_t *dl_status(struct dl_daemon *d, const char *name) {
        return dl_call(d, "status", json_pack("{s:s}", "name", name));
}

json_t *dl_list_find(struct dl_daemon *d, const char *name) {
        json_t *res = dl_call(d, "list", NULL), *svc, *found = NULL;
        size_t i;

        json_array_foreach(json_object_get(res, "services"), i, svc)
                if (!strcmp(dl_str(svc, "name"), name))
                        found = json_incref(svc);
        json_decref(res);
        return found;
}

json_t *dl_wait_status(struct dl_daemon *d, const char *name, int timeout_ms, const char *what,
                       bool (*pred)(json_t *svc, void *arg), void *arg) {
        int64_t deadline = dl_now_ms() + timeout_ms;
        char *last = NULL;

        for (;;) {
                json_t *reply = dl_request(d, "status", json_pack("{s:s}", "name", name));
                json_t *svc = json_object_get(reply, "result");

                free(last);
                last = json_dumps(reply, JSON_COMPACT);
                if (json_is_true(json_object_get(reply, "ok")) && pred(svc, arg)) {
                        json_incref(svc);
                        json_decref(reply);
                        free(last);
                        return svc;
                }
                json_decref(reply);
                if (dl_now_ms() > deadline)
                        dl_fail(d, "%s: not %s within %d ms; last status: %s", name, what, timeout_ms, last);
                dl_sleep_ms(10);
        }
}

static bool state_is(json_t *svc, void *arg) {
        return !strcmp(dl_str(svc, "state"), arg);
}

json_t *dl_wait_state(struct dl_daemon *d, const char *name, const char *state, int timeout_ms) {
        char what[64];

        snprintf(what, sizeof(what), "in state %s", state);
        return dl_wait_status(d, name, timeout_ms, what, state_is, (void *)state);
}

json_t *dl_subscribe(struct dl_daemon *d, struct dl_conn *c) {
        json_t *reply, *res;

        dl_connect(d, c);
        dl_send_line(d, c, "{\"id\":\"ev\",\"cmd\":\"events\"}");
        reply = dl_recv_json(d, c, DL_DEADLINE_MS);
        if (!json_is_true(json_object_get(reply, "ok")))
                dl_fail(d, "events: %s", json_dumps(reply, JSON_COMPACT));
        res = json_incref(json_object_get(reply, "result"));
        json_decref(reply);
        return res;
}

json_t *dl_next_event(struct dl_daemon *d, struct dl_conn *c, const char *name, int timeout_ms) {
        int64_t deadline = dl_now_ms() + timeout_ms;

        for (;;) {
                json_t *e = dl_recv_json(d, c, remaining(deadline));

                if (!strcmp(dl_str(e, "name"), name))
                        return e;
                json_decref(e);
        }
}

const char *dl_str(json_t *o, const char *key) {
        const char *s = json_string_value(json_object_get(o, key));

        return s ? s : "";
}

long long dl_int(json_t *o, const char *key) {
        json_t *v = json_object_get(o, key);

        return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

/* ---- processes ---- */

pid_t dl_read_pid_file(struct dl_daemon *d, const char *path, int timeout_ms) {
        int64_t deadline = dl_now_ms() + timeout_ms;

        for (;;) {
                char *text = dl_read_file(path);

                if (text) {
                        pid_t pid = (pid_t)atoi(text);
                        free(text);
                        if (pid > 0)
                                return pid;
                }
                if (dl_now_ms() > deadline)
                        dl_fail(d, "%s did not appear within %d ms", path, timeout_ms);
                dl_sleep_ms(5);
        }
}

int dl_pidfd_open(pid_t pid) {
        int fd = (int)syscall(SYS_pidfd_open, pid, 0);

        ck_assert_msg(fd >= 0, "pidfd_open %d: %s", (int)pid, strerror(errno));
        return fd;
}

bool dl_pidfd_wait_exit(int pidfd, int timeout_ms) {
        struct pollfd p = { .fd = pidfd, .events = POLLIN };
        int64_t deadline = dl_now_ms() + timeout_ms;

        for (;;) {
                int ret = poll(&p, 1, remaining(deadline));

                if (ret < 0 && errno == EINTR)
                        continue;
                ck_assert_msg(ret >= 0, "poll: %s", strerror(errno));
                return ret > 0;
        }
}

long long dl_proc_status_field(pid_t pid, const char *field) {
        char path[64], line[256];
        size_t flen = strlen(field);
        long long v = -1;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
        f = fopen(path, "re");
        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f))
                if (!strncmp(line, field, flen) && line[flen] == ':') {
                        v = strtoll(line + flen + 1, NULL, 10);
                        break;
                }
        fclose(f);
        return v;
}

char dl_proc_state(pid_t pid, pid_t *ppid) {
        char path[64], buf[1024], *p;
        char state = '?';
        int pp = 0;
        ssize_t n;
        int fd;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return '?';
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
                return '?';
        buf[n] = 0;
        p = strrchr(buf, ')');
        if (p && sscanf(p + 1, " %c %d", &state, &pp) != 2)
                state = '?';
        if (ppid)
                *ppid = (pid_t)pp;
        return state;
}

int dl_count_zombies_of(pid_t ppid) {
        DIR *proc = opendir("/proc");
        struct dirent *de;
        int n = 0;

        ck_assert_ptr_nonnull(proc);
        while ((de = readdir(proc))) {
                pid_t pid = (pid_t)atoi(de->d_name), pp = 0;

                if (pid > 0 && dl_proc_state(pid, &pp) == 'Z' && pp == ppid)
                        n++;
        }
        closedir(proc);
        return n;
}

int dl_log_count(struct dl_daemon *d, const char *needle) {
        char *text = dl_read_file(d->log);
        int n = 0;

        for (const char *p = text; p && (p = strstr(p, needle)); p += strlen(needle))
                n++;
        free(text);
        return n;
}

void dl_wait_log(struct dl_daemon *d, const char *needle, int timeout_ms) {
        int64_t deadline = dl_now_ms() + timeout_ms;

        while (dl_log_count(d, needle) == 0) {
                if (dl_now_ms() > deadline)
                        dl_fail(d, "the daemon log does not show \"%s\" within %d ms", needle, timeout_ms);
                dl_sleep_ms(10);
        }
}

int dl_free_port(void) {
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
