/* SPDX-License-Identifier: MIT */
/* The harness of the `pidvisor run` suites (runlib.h). */
#include "runlib.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

int64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sleep_ms(int ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

const char *pv_bin(void) {
        const char *p = getenv("PV_BIN");

        ck_assert_msg(p && *p, "PV_BIN is not set (run the tests through meson test)");
        return p;
}

/* ---- A growing, always NUL-terminated buffer. ---- */

void buf_append(struct buf *b, const char *p, size_t n) {
        if (b->len + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 256;

                while (b->len + n + 1 > cap)
                        cap *= 2;
                b->data = realloc(b->data, cap);
                ck_assert_ptr_nonnull(b->data);
                b->cap = cap;
        }
        memcpy(b->data + b->len, p, n);
        b->len += n;
        b->data[b->len] = 0;
}

const char *buf_str(const struct buf *b) {
        return b->data ? b->data : "";
}

/* ---- One run of pidvisor. ---- */

static const struct run_opts default_opts = { .envp = NULL };

void start_pv_v(struct run *r, const struct run_opts *o, va_list ap) {
        const char *argv[64];
        struct pv_spawn_attr attr;
        struct pv_error e = { 0 };
        int pipes[3] = { -1, -1, -1 };
        size_t n = 0, len = 0;
        const char *a;
        int ret;

        if (!o)
                o = &default_opts;
        memset(r, 0, sizeof(*r));
        r->proc = PV_PROCESS_NULL;
        r->in = r->out = r->err = -1;

        argv[n++] = pv_bin();
        while ((a = va_arg(ap, const char *))) {
                ck_assert_uint_lt(n, sizeof(argv) / sizeof(argv[0]) - 1);
                argv[n++] = a;
        }
        argv[n] = NULL;
        for (size_t i = 0; i < n && len < sizeof(r->cmdline); i++) {
                int w = snprintf(r->cmdline + len, sizeof(r->cmdline) - len, "%s%s",
                                 i ? " " : "", i ? argv[i] : "pidvisor");
                if (w < 0)
                        break;
                len += (size_t)w;
        }

        pv_spawn_attr_init(&attr);
        attr.path = argv[0];
        attr.argv = (char *const *)argv;
        attr.envp = o->envp;
        attr.cwd = o->cwd;
        attr.umask = o->set_umask ? (int)o->mask : -1;
        attr.stdio[0].kind = o->stdin_pipe ? PV_STDIO_PIPE : PV_STDIO_NULL;
        attr.stdio[1].kind = PV_STDIO_PIPE;
        attr.stdio[2].kind = PV_STDIO_PIPE;
        attr.close_other_fds = true;

        ret = pv_spawn(&attr, &r->proc, pipes, &e);
        ck_assert_msg(ret == 0, "pv_spawn %s: %s (%d)", argv[0], e.message, ret);
        r->in = pipes[0];
        r->out = pipes[1];
        r->err = pipes[2];
        ck_assert_int_ge(r->out, 0);
        ck_assert_int_ge(r->err, 0);
}

/* Starts `pidvisor ARGS...`; the argument list ends with NULL. */
void start_pv(struct run *r, const struct run_opts *o, ...) {
        va_list ap;

        va_start(ap, o);
        start_pv_v(r, o, ap);
        va_end(ap);
}

void run_kill(struct run *r) {
        if (!r->exited && r->proc.pidfd >= 0)
                pv_process_signal(&r->proc, SIGKILL, NULL);
}

void fail_run(struct run *r, const char *what) {
        run_kill(r);
        ck_abort_msg("%s: %s\nstdout so far: \"%s\"\nstderr so far: \"%s\"", r->cmdline, what,
                     buf_str(&r->obuf), buf_str(&r->ebuf));
}

static void reap(struct run *r) {
        struct pv_error e = { 0 };
        int ret = pv_process_wait(&r->proc, PV_WAIT_NOHANG, &r->status, &e);

        if (ret == -EAGAIN)
                return;
        ck_assert_msg(ret == 0, "waiting for pidvisor: %s", e.message);
        r->exited = true;
        r->exited_at = now_ms();
}

static void drain(int fd, struct buf *b, bool *eof) {
        char chunk[4096];
        ssize_t n = read(fd, chunk, sizeof(chunk));

        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                return;
        ck_assert_msg(n >= 0, "read from pidvisor: %s", strerror(errno));
        if (n == 0)
                *eof = true;
        else
                buf_append(b, chunk, (size_t)n);
}

/* Waits up to timeout_ms for something to happen (output, EOF, exit) and takes it in.
 * Returns false on timeout. */
bool pump(struct run *r, int timeout_ms) {
        struct pollfd p[3];
        int n = 0, io = -1, ie = -1, ip = -1, ret;

        if (!r->out_eof) {
                io = n;
                p[n++] = (struct pollfd){ .fd = r->out, .events = POLLIN };
        }
        if (!r->err_eof) {
                ie = n;
                p[n++] = (struct pollfd){ .fd = r->err, .events = POLLIN };
        }
        if (!r->exited) {
                ip = n;
                p[n++] = (struct pollfd){ .fd = r->proc.pidfd, .events = POLLIN };
        }
        if (n == 0)
                return true;
        ret = poll(p, (nfds_t)n, timeout_ms < 0 ? 0 : timeout_ms);
        if (ret < 0 && errno == EINTR)
                return true;
        ck_assert_msg(ret >= 0, "poll: %s", strerror(errno));
        if (ret == 0)
                return false;
        if (io >= 0 && p[io].revents)
                drain(r->out, &r->obuf, &r->out_eof);
        if (ie >= 0 && p[ie].revents)
                drain(r->err, &r->ebuf, &r->err_eof);
        if (ip >= 0 && p[ip].revents)
                reap(r);
        return true;
}

/* Reads stdout and stderr to their end and waits for pidvisor to exit. */
void finish(struct run *r) {
        int64_t deadline = now_ms() + DEADLINE_MS;

        if (r->in >= 0) {
                close(r->in);
                r->in = -1;
        }
        while (!r->out_eof || !r->err_eof || !r->exited) {
                int64_t d = r->exited ? r->exited_at + AFTER_EXIT_MS : deadline;

                if (d > deadline)
                        d = deadline;
                if (!pump(r, (int)(d - now_ms())) || now_ms() > d)
                        fail_run(r, r->exited ? "pidvisor exited, but its stdout or stderr "
                                                "stayed open (a descendant left running?)"
                                              : "pidvisor did not exit in time");
        }
}

void run_pv(struct run *r, const struct run_opts *o, ...) {
        va_list ap;

        va_start(ap, o);
        start_pv_v(r, o, ap);
        va_end(ap);
        finish(r);
}

/* Reads pidvisor's stdout until `text` shows up after what earlier calls consumed. */
void read_until(struct run *r, const char *text) {
        int64_t deadline = now_ms() + DEADLINE_MS;
        char what[256];

        for (;;) {
                const char *found = strstr(buf_str(&r->obuf) + r->consumed, text);

                if (found) {
                        r->consumed = (size_t)(found - r->obuf.data) + strlen(text);
                        return;
                }
                snprintf(what, sizeof(what), "waiting for \"%s\" on stdout: %s", text,
                         r->out_eof ? "stdout closed" : "timed out");
                if (r->out_eof || !pump(r, (int)(deadline - now_ms())) || now_ms() > deadline)
                        fail_run(r, what);
        }
}

/* Asserts that pidvisor is still running after ms milliseconds (taking in output). */
void still_running(struct run *r, int ms) {
        int64_t deadline = now_ms() + ms;

        while (now_ms() < deadline) {
                pump(r, (int)(deadline - now_ms()));
                if (r->exited) {
                        char d[128];

                        pv_exit_describe(&r->status, d, sizeof(d));
                        fail_run(r, d);
                }
        }
}

void run_done(struct run *r) {
        run_kill(r);
        if (r->in >= 0)
                close(r->in);
        if (r->out >= 0)
                close(r->out);
        if (r->err >= 0)
                close(r->err);
        pv_process_release(&r->proc);
        free(r->obuf.data);
        free(r->ebuf.data);
        memset(r, 0, sizeof(*r));
}

void send_signal(struct run *r, int sig) {
        ck_assert_msg(kill(r->proc.pid, sig) == 0, "kill %d: %s", (int)r->proc.pid,
                      strerror(errno));
}

/* ---- Assertions on a finished run. ---- */

void expect_exit(struct run *r, int code) {
        char d[128];

        ck_assert(r->exited);
        pv_exit_describe(&r->status, d, sizeof(d));
        ck_assert_msg(!r->status.signaled && r->status.status == code,
                      "%s: %s, expected exited %d\nstdout: \"%s\"\nstderr: \"%s\"", r->cmdline,
                      d, code, buf_str(&r->obuf), buf_str(&r->ebuf));
}

void expect_stdout(struct run *r, const char *text) {
        ck_assert_msg(strcmp(buf_str(&r->obuf), text) == 0,
                      "%s: stdout \"%s\", expected \"%s\"\nstderr: \"%s\"", r->cmdline,
                      buf_str(&r->obuf), text, buf_str(&r->ebuf));
}

void expect_stderr(struct run *r, const char *text) {
        ck_assert_msg(strcmp(buf_str(&r->ebuf), text) == 0,
                      "%s: stderr \"%s\", expected \"%s\"\nstdout: \"%s\"", r->cmdline,
                      buf_str(&r->ebuf), text, buf_str(&r->obuf));
}

/* Exit 0, this stdout, nothing on stderr. */
void expect_ok(struct run *r, const char *out) {
        expect_exit(r, 0);
        expect_stdout(r, out);
        expect_stderr(r, "");
}

/* One of pidvisor's own failures: exit code, nothing on stdout (the command did not run),
 * exactly one line `pidvisor run: ...` on stderr containing each of the texts given. */
void expect_error(struct run *r, int code, ...) {
        const char *err = buf_str(&r->ebuf);
        const char *nl = strchr(err, '\n');
        const char *s;
        va_list ap;

        expect_exit(r, code);
        expect_stdout(r, "");
        ck_assert_msg(strncmp(err, "pidvisor run: ", 14) == 0,
                      "%s: stderr \"%s\" does not start with \"pidvisor run: \"", r->cmdline, err);
        ck_assert_msg(nl && nl[1] == 0, "%s: stderr \"%s\" is not exactly one line", r->cmdline,
                      err);
        va_start(ap, code);
        while ((s = va_arg(ap, const char *)))
                ck_assert_msg(strstr(err, s), "%s: stderr \"%s\" lacks \"%s\"", r->cmdline, err,
                              s);
        va_end(ap);
}

bool exited_normally(const struct run *r) {
        return r->exited && !r->status.signaled;
}

/* ---- Processes, seen through /proc. ---- */

/* The ppid from /proc/PID/stat, or -1. */
pid_t proc_ppid(pid_t pid, char *state) {
        char path[64], line[1024];
        const char *p;
        int ppid = -1;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        f = fopen(path, "re");
        if (!f)
                return -1;
        if (!fgets(line, sizeof(line), f))
                line[0] = 0;
        fclose(f);
        p = strrchr(line, ')');
        if (!p || sscanf(p + 1, " %c %d", state, &ppid) != 2)
                return -1;
        return (pid_t)ppid;
}

/* argv[1] of pid (the fixture's sub-command once it is exec'd), or "" */
void proc_arg1(pid_t pid, char *buf, size_t size) {
        char path[64], cmdline[4096];
        ssize_t n = 0;
        size_t l;
        int fd;

        buf[0] = 0;
        snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return;
        n = read(fd, cmdline, sizeof(cmdline) - 1);
        close(fd);
        if (n <= 0)
                return;
        cmdline[n] = 0;
        l = strlen(cmdline);
        if ((ssize_t)l + 1 < n)
                snprintf(buf, size, "%s", cmdline + l + 1);
}

/* The child of `parent` running the fixture's sub-command `arg1` (that is, past its
 * execve); fails the test if none shows up in time. */
pid_t find_child(struct run *r, const char *arg1) {
        int64_t deadline = now_ms() + DEADLINE_MS;

        while (now_ms() < deadline) {
                DIR *d = opendir("/proc");
                struct dirent *de;
                pid_t found = 0;

                ck_assert_ptr_nonnull(d);
                while (!found && (de = readdir(d))) {
                        char state, a1[256];
                        pid_t pid = (pid_t)atoi(de->d_name);

                        if (pid <= 0 || proc_ppid(pid, &state) != r->proc.pid)
                                continue;
                        proc_arg1(pid, a1, sizeof(a1));
                        if (strcmp(a1, arg1) == 0)
                                found = pid;
                }
                closedir(d);
                if (found)
                        return found;
                pump(r, 10);
                if (r->exited)
                        fail_run(r, "pidvisor exited while looking for its child");
        }
        fail_run(r, "no child running the fixture showed up");
        return -1;
}

/* ---- Files. ---- */

char *path_join(const char *dir, const char *name) {
        char *p;

        ck_assert_int_ne(asprintf(&p, "%s/%s", dir, name), -1);
        return p;
}

/* A fresh temporary directory by its canonical name (the child's getcwd() answers that). */
char *tmpdir_real(void) {
        char *dir = pv_test_mkdtemp();
        char *real = realpath(dir, NULL);

        ck_assert_ptr_nonnull(real);
        free(dir);
        return real;
}

void copy_file(const char *from, const char *to, mode_t mode) {
        char chunk[65536];
        int in = open(from, O_RDONLY | O_CLOEXEC);
        int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        ssize_t n;

        ck_assert_msg(in >= 0, "open %s: %s", from, strerror(errno));
        ck_assert_msg(out >= 0, "open %s: %s", to, strerror(errno));
        while ((n = read(in, chunk, sizeof(chunk))) > 0)
                ck_assert_int_eq(write(out, chunk, (size_t)n), n);
        ck_assert_int_eq(n, 0);
        ck_assert_int_eq(fchmod(out, mode), 0);
        close(in);
        ck_assert_int_eq(close(out), 0);
}

/* A copy of the fixture that any user may run: the build tree may not be reachable. */
char *public_fixture(char **dir) {
        char *fix;

        *dir = tmpdir_real();
        ck_assert_int_eq(chmod(*dir, 0755), 0);
        fix = path_join(*dir, "pv-fixture");
        copy_file(FIX, fix, 0755);
        return fix;
}
