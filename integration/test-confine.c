/* SPDX-License-Identifier: MIT */
/* Confined services in a real `pidvisor daemon` (issue 5; docs/sandbox.md), seen through
 * `status` and what the service itself can do:
 *
 * - escapes: under each shipped policy (SeccompPolicy=default, server, strict) a service
 *   tries mount, ptrace, kexec_load, init_module, bpf, keyctl, unshare(CLONE_NEWUSER),
 *   io_uring_setup, a 32-bit call through int 0x80, an x32 call, a personality change and
 *   clone3 (tests/fixtures/pv-escape, one attempt per service, its answer written to a
 *   file).  The same attempt by a service without a policy reaches the kernel (an error
 *   of the kernel's own or success), in the same test; under the policy it gets the
 *   policy's errno, or the process is killed and status names the call.
 * - violations: a kill fails the unit at once (SeccompViolation=fail, even with
 *   Restart=always) and is not restarted; with SeccompViolation=restart it follows
 *   Restart= with its backoff, each exit in the history and in the events.
 * - programs: python3 -m http.server under default, server and Docker's profile, the C
 *   server pv-upserver under server, a /bin/sh script under every shipped policy.
 * - privileges: User=nobody with CAP_NET_BIND_SERVICE serves on 127.0.0.1:80 and holds
 *   only that capability (/proc/PID/status, getpcaps); without it the bind is refused;
 *   NoNewPrivileges=.
 * - namespaces: PrivateNetwork=, PrivateTmp=, ProtectSystem=, ReadWritePaths=,
 *   ReadOnlyPaths=, InaccessiblePaths=, PrivatePIDs=, Hostname=, PrivateUsers=,
 *   PrivateIPC=.
 * - SystemCallFilter=: deny-lists, allow-lists, SystemCallErrorNumber=,
 *   SystemCallArchitectures=, an unknown name as a load error at file:line.
 *
 * Everything here needs root and runs on this machine; nothing skips. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "daemonlib.h"
#include "testlib.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#define PYTHON "/usr/bin/python3"
#define GETPCAPS "/usr/sbin/getpcaps"

/* ---- helpers ---- */

/* Formatted strings that live until the end of the test (tf_done), so that building a
 * unit's name or a path in an argument leaks nothing (the sanitized build checks). */
static char *tf_pool[1024];
static size_t tf_n;

static char *tf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *tf(const char *fmt, ...) {
        va_list ap;
        char *s;

        ck_assert_uint_lt(tf_n, sizeof(tf_pool) / sizeof(tf_pool[0]));
        va_start(ap, fmt);
        ck_assert_int_ge(vasprintf(&s, fmt, ap), 0);
        va_end(ap);
        return tf_pool[tf_n++] = s;
}

static void tf_done(void) {
        while (tf_n > 0)
                free(tf_pool[--tf_n]);
}

static const char *env_path(const char *name) {
        const char *p = getenv(name);

        ck_assert_msg(p && *p, "%s is not set (run the tests through meson test)", name);
        return p;
}

static const char *escape_bin(void) {
        return env_path("PV_ESCAPE");
}

/* Docker's default profile, beside the repository (as tests/test-policy-seccomp.c finds it). */
static char *docker_profile(void) {
        const char *root = getenv("PV_SOURCE_ROOT");
        char *p;

        if (asprintf(&p, "%s/tests/data/docker-default.json", root ? root : "(PV_SOURCE_ROOT is not set)") < 0)
                abort();
        return p;
}

/* A copy of an executable that every user may run: DIR/name. */
static char *public_copy(struct dl_daemon *d, const char *src, const char *name) {
        char *dst = dl_path(d, name);
        int in = open(src, O_RDONLY | O_CLOEXEC), out;
        ssize_t n;
        char buf[65536];

        ck_assert_msg(in >= 0, "open %s: %s", src, strerror(errno));
        out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
        ck_assert_msg(out >= 0, "open %s: %s", dst, strerror(errno));
        while ((n = read(in, buf, sizeof(buf))) > 0)
                ck_assert_int_eq(write(out, buf, (size_t)n), n);
        ck_assert_int_eq(n, 0);
        ck_assert_int_eq(fchmod(out, 0755), 0);
        close(out);
        close(in);
        return dst;
}

static char *script(struct dl_daemon *d, const char *name, const char *text) {
        char *path = dl_path(d, name);

        pv_test_write_file(path, text, 0755);
        return path;
}

/* Waits until the file holds the needle (or anything, for NULL); returns it whole. */
static char *wait_file(struct dl_daemon *d, const char *path, const char *needle, int timeout_ms) {
        int64_t deadline = dl_now_ms() + timeout_ms;

        for (;;) {
                char *s = dl_read_file(path);
                if (s && (needle ? strstr(s, needle) != NULL : *s != 0))
                        return s;
                if (dl_now_ms() > deadline)
                        dl_fail(d, "%s does not hold \"%s\" within %d ms; it holds \"%s\"", path,
                                needle ? needle : "anything", timeout_ms, s ? s : "(missing)");
                free(s);
                dl_sleep_ms(10);
        }
}

static void expect_text(struct dl_daemon *d, const char *what, const char *got, const char *want) {
        dl_assert(d, got && !strcmp(got, want), "%s:\n--- got ---\n%s--- expected ---\n%s", what, got ? got : "(none)\n",
                  want);
}

/* Starts a service; the reply (a start can fail) is not looked at. */
static void start(struct dl_daemon *d, const char *name) {
        json_decref(dl_request(d, "start", json_pack("{s:s}", "name", name)));
}

static bool has_ended(json_t *svc, void *arg) {
        const char *st = dl_str(svc, "state");

        (void)arg;
        return (!strcmp(st, "inactive") || !strcmp(st, "failed")) && json_array_size(json_object_get(svc, "history")) > 0;
}

/* Waits until the service ran and is down (inactive or failed, with an exit recorded). */
static json_t *wait_ended(struct dl_daemon *d, const char *name) {
        return dl_wait_status(d, name, DL_DEADLINE_MS, "down after a run", has_ended, NULL);
}

static bool history_has(json_t *svc, void *arg) {
        return json_array_size(json_object_get(svc, "history")) >= (size_t)(uintptr_t)arg;
}

/* The cause of the n-th newest exit ("" if there is none). */
static const char *cause(json_t *svc, size_t n) {
        return dl_str(json_array_get(json_object_get(svc, "history"), n), "cause");
}

static pid_t main_pid(struct dl_daemon *d, const char *name) {
        json_t *svc = dl_wait_state(d, name, "running", DL_DEADLINE_MS);
        pid_t pid = (pid_t)dl_int(svc, "pid");

        json_decref(svc);
        dl_assert(d, pid > 0, "%s has no pid", name);
        return pid;
}

/* The value of a line of /proc/PID/status ("Field:\tvalue"), without the tab. */
static char *proc_status(struct dl_daemon *d, pid_t pid, const char *field) {
        char *path = tf("/proc/%d/status", (int)pid), *s = dl_read_file(path), *key, *p, *v;

        dl_assert(d, s != NULL, "cannot read %s", path);
        key = tf("\n%s:", field);
        p = strstr(s, key);
        dl_assert(d, p != NULL, "%s has no %s line", path, field);
        p += strlen(key);
        p += strspn(p, " \t");
        v = strndup(p, strcspn(p, "\n"));
        ck_assert_ptr_nonnull(v);
        free(s);
        return v;
}

static void expect_proc_status(struct dl_daemon *d, pid_t pid, const char *field, const char *want) {
        char *v = proc_status(d, pid, field);

        dl_assert(d, !strcmp(v, want), "pid %d: %s is \"%s\", expected \"%s\"", (int)pid, field, v, want);
        free(v);
}

/* Runs argv, returns its stdout (owned); fails the test unless it exits 0. */
static char *capture(struct dl_daemon *d, char *const argv[]) {
        int pfd[2], st;
        pid_t pid;
        char *out;

        ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                dup2(pfd[1], 1);
                execv(argv[0], argv);
                _exit(127);
        }
        close(pfd[1]);
        out = pv_test_read_all(pfd[0]);
        close(pfd[0]);
        ck_assert_int_eq(waitpid(pid, &st, 0), pid);
        dl_assert(d, WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s exited with wait status 0x%x", argv[0], st);
        return out;
}

/* Connects to 127.0.0.1:port (retrying while nothing listens yet), sends the request,
 * returns everything the server wrote until it closed. */
static char *tcp_ask(struct dl_daemon *d, int port, const char *request, int timeout_ms) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                                 .sin_port = htons((uint16_t)port) };
        int64_t deadline = dl_now_ms() + timeout_ms;
        size_t len = 0, cap = 4096;
        char *buf = malloc(cap);
        int fd;

        ck_assert_ptr_nonnull(buf);
        for (;;) {
                fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                ck_assert_int_ge(fd, 0);
                if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
                        break;
                dl_assert(d, errno == ECONNREFUSED, "connect 127.0.0.1:%d: %s", port, strerror(errno));
                close(fd);
                if (dl_now_ms() > deadline)
                        dl_fail(d, "nothing listens on 127.0.0.1:%d after %d ms", port, timeout_ms);
                dl_sleep_ms(20);
        }
        ck_assert_int_eq(write(fd, request, strlen(request)), (ssize_t)strlen(request));
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                ssize_t n;
                int64_t left = deadline - dl_now_ms();

                dl_assert(d, left > 0 && poll(&p, 1, (int)left) == 1, "127.0.0.1:%d did not answer in time", port);
                if (cap - len < 1024) {
                        cap *= 2;
                        buf = realloc(buf, cap);
                        ck_assert_ptr_nonnull(buf);
                }
                n = read(fd, buf + len, cap - len - 1);
                if (n <= 0)
                        break;
                len += (size_t)n;
        }
        close(fd);
        buf[len] = 0;
        return buf;
}

/* ---- escape attempts under each shipped policy ---- */

/* What pv-escape tries, and what the kernel may answer when no policy stands between:
 * an error of its own (this kernel has no kexec, no modules and no x32) or success.
 * Never EPERM, so that a policy's EPERM cannot pass for the kernel's. */
static const struct attempt {
        const char *name;
        const char *bare; /* acceptable answers without a policy, separated by spaces */
} attempts[] = {
        { "mount", "ENOENT ENODEV" },
        { "ptrace", "ESRCH" },
        { "kexec_load", "EINVAL ENOSYS" },
        { "init_module", "EFAULT ENOEXEC EINVAL ENOSYS" },
        { "bpf", "EINVAL" },
        { "keyctl", "EOPNOTSUPP" },
        { "unshare-user", "ok" },
        { "io_uring_setup", "EFAULT EINVAL" },
        { "int80", "ok" },
        { "x32", "ok ENOSYS" },
        { "personality", "ok" },
        { "clone3", "EINVAL" },
};
#define N_ATTEMPTS (sizeof(attempts) / sizeof(attempts[0]))

/* Under each policy, in the order of attempts[]: an errno name, or "kill:SYSCALL" for a
 * kill that status must name so (docs/policy.md, "Shipped policies"). */
static const char *const under_default[N_ATTEMPTS] = {
        "EPERM", "EPERM", "EPERM", "EPERM", "EPERM", "EPERM", "EPERM", "EPERM",
        "kill:getpid (i386)", "kill:getpid (x32)", "EPERM", "ENOSYS",
};
static const char *const under_server[N_ATTEMPTS] = {
        "kill:mount", "kill:ptrace", "kill:kexec_load", "kill:init_module", "kill:bpf", "EPERM", "EPERM", "ENOSYS",
        "kill:getpid (i386)", "kill:getpid (x32)", "EPERM", "ENOSYS",
};
static const char *const under_strict[N_ATTEMPTS] = {
        "kill:mount", "kill:ptrace", "kill:kexec_load", "kill:init_module", "kill:bpf", "EPERM", "EPERM", "ENOSYS",
        "kill:getpid (i386)", "kill:getpid (x32)", "kill:personality", "ENOSYS",
};

static bool word_in(const char *word, const char *list) {
        size_t n = strlen(word);

        for (const char *p = list; (p = strstr(p, word)); p += n)
                if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == 0))
                        return true;
        return false;
}

/* The answer pv-escape wrote after "NAME trying", or NULL if it wrote none (killed). */
static char *answer_of(struct dl_daemon *d, const char *file, const char *name) {
        char *text = dl_read_file(file), *trying = tf("%s trying\n", name), *rest, *ans;

        dl_assert(d, text && !strncmp(text, trying, strlen(trying)), "%s: \"%s\" (expected a first line \"%s\")", file,
                  text ? text : "(missing)", trying);
        rest = text + strlen(trying);
        if (!*rest) {
                ans = NULL;
        } else {
                dl_assert(d, !strncmp(rest, name, strlen(name)) && rest[strlen(name)] == ' ', "%s: \"%s\"", file, text);
                rest += strlen(name) + 1;
                ans = strndup(rest, strcspn(rest, "\n"));
                dl_assert(d, !strcmp(rest + strlen(ans), "\n"), "%s holds more than one attempt: \"%s\"", file, text);
        }
        free(text);
        return ans;
}

static void check_escapes(const char *policy, const char *const expect[N_ATTEMPTS]) {
        struct dl_daemon d;
        char *bare_out[N_ATTEMPTS], *pol_out[N_ATTEMPTS];

        dl_init(&d);
        for (size_t i = 0; i < N_ATTEMPTS; i++) {
                const char *a = attempts[i].name;
                bare_out[i] = dl_path(&d, tf("bare-%s.out", a));
                pol_out[i] = dl_path(&d, tf("%s-%s.out", policy, a));
                dl_write_unit(&d, tf("bare-%s", a), "[Service]\nExecStart=%s %s %s\n", escape_bin(), a,
                              bare_out[i]);
                /* Restart=on-failure: a kill would be restarted if it counted as a crash. */
                dl_write_unit(&d, tf("%s-%s", policy, a),
                              "[Service]\nExecStart=%s %s %s\nRestart=on-failure\nRestartSec=100ms\n"
                              "[X-Pidvisor]\nSeccompPolicy=%s\n",
                              escape_bin(), a, pol_out[i], policy);
        }
        dl_start(&d, "--log-level", "info", NULL);
        for (size_t i = 0; i < N_ATTEMPTS; i++) {
                start(&d, tf("bare-%s", attempts[i].name));
                start(&d, tf("%s-%s", policy, attempts[i].name));
        }

        for (size_t i = 0; i < N_ATTEMPTS; i++) {
                const struct attempt *a = &attempts[i];
                char *name = tf("%s-%s", policy, a->name), *bare, *under;
                json_t *svc;

                /* Without the policy the call reaches the kernel. */
                svc = wait_ended(&d, tf("bare-%s", a->name));
                dl_assert(&d, !strcmp(dl_str(svc, "state"), "inactive") && !strcmp(cause(svc, 0), "exited 0"),
                          "%s without a policy: %s", a->name, json_dumps(svc, JSON_COMPACT));
                json_decref(svc);
                bare = answer_of(&d, bare_out[i], a->name);
                dl_assert(&d, bare && word_in(bare, a->bare), "%s without a policy answered %s, expected one of: %s",
                          a->name, bare ? bare : "nothing (killed)", a->bare);

                /* Under it: the policy's errno, or a kill named in status. */
                svc = wait_ended(&d, name);
                under = answer_of(&d, pol_out[i], a->name);
                if (!strncmp(expect[i], "kill:", 5)) {
                        char *want = tf("killed by seccomp (syscall %s)", expect[i] + 5);
                        dl_assert(&d, !under, "%s under %s answered %s, expected a kill (without: %s)", a->name, policy,
                                  under, bare);
                        dl_assert(&d, !strcmp(dl_str(svc, "state"), "failed") && !strcmp(cause(svc, 0), want) &&
                                              !strcmp(dl_str(svc, "last_exit"), want) &&
                                              !strncmp(dl_str(svc, "reason"), want, strlen(want)) &&
                                              dl_int(svc, "restarts") == 0,
                                  "%s under %s: expected failed, \"%s\": %s", a->name, policy, want,
                                  json_dumps(svc, JSON_COMPACT));
                } else {
                        dl_assert(&d, under && !strcmp(under, expect[i]),
                                  "%s under %s answered %s, expected %s (without: %s)", a->name, policy,
                                  under ? under : "nothing (killed)", expect[i], bare);
                        dl_assert(&d, strcmp(under, bare) != 0, "%s: the policy's answer is the kernel's", a->name);
                        dl_assert(&d, !strcmp(dl_str(svc, "state"), "inactive") && !strcmp(cause(svc, 0), "exited 0"),
                                  "%s under %s: %s", a->name, policy, json_dumps(svc, JSON_COMPACT));
                }
                json_decref(svc);
                free(bare);
                free(under);
        }

        /* Three times RestartSec= later, no killed unit was started again. */
        dl_sleep_ms(300);
        for (size_t i = 0; i < N_ATTEMPTS; i++) {
                json_t *svc;
                char *ans;

                if (strncmp(expect[i], "kill:", 5))
                        continue;
                svc = dl_status(&d, tf("%s-%s", policy, attempts[i].name));
                dl_assert(&d, !strcmp(dl_str(svc, "state"), "failed") && dl_int(svc, "restarts") == 0 &&
                                      json_array_size(json_object_get(svc, "history")) == 1,
                          "%s under %s was restarted: %s", attempts[i].name, policy, json_dumps(svc, JSON_COMPACT));
                json_decref(svc);
                ans = answer_of(&d, pol_out[i], attempts[i].name); /* still one "trying" line */
                dl_assert(&d, !ans, "%s under %s: %s", attempts[i].name, policy, ans);
        }
        for (size_t i = 0; i < N_ATTEMPTS; i++) {
                free(bare_out[i]);
                free(pol_out[i]);
        }
        dl_done(&d);
        tf_done();
}

START_TEST(test_escapes_default) {
        check_escapes("default", under_default);
}
END_TEST

START_TEST(test_escapes_server) {
        check_escapes("server", under_server);
}
END_TEST

START_TEST(test_escapes_strict) {
        check_escapes("strict", under_strict);
}
END_TEST

/* ---- what a violation does to the unit ---- */

/* SeccompViolation=fail (the default) fails the unit at once even with Restart=always;
 * SeccompViolation=restart restarts it with Restart='s backoff (200, 400, 800 ms here),
 * each exit in the history, and each shown in the events as it happens. */
START_TEST(test_violation_restart) {
        struct dl_daemon d;
        struct dl_conn c;
        char *fail_out, *again_out, *text;
        json_t *svc, *hist, *init;
        const char *want = "killed by seccomp (syscall ptrace)";
        static const int delays_ms[] = { 200, 400, 800 };
        struct dl_cli r;
        int seen = 0;

        dl_init(&d);
        fail_out = dl_path(&d, "fail.out");
        again_out = dl_path(&d, "again.out");
        dl_write_unit(&d, "fail",
                      "[Service]\nExecStart=%s ptrace %s\nRestart=always\nRestartSec=100ms\n"
                      "[X-Pidvisor]\nSeccompPolicy=server\n",
                      escape_bin(), fail_out);
        dl_write_unit(&d, "again",
                      "[Service]\nExecStart=%s ptrace %s\nRestart=always\nRestartSec=200ms\nRestartSteps=2\n"
                      "RestartMaxDelaySec=800ms\n[X-Pidvisor]\nSeccompPolicy=server\nSeccompViolation=restart\n",
                      escape_bin(), again_out);
        dl_start(&d, "--log-level", "info", NULL);
        dl_connect(&d, &c);
        init = dl_subscribe(&d, &c);
        json_decref(init);
        start(&d, "again");
        start(&d, "fail");

        /* restart: each kill is an auto-restart event that names the call */
        while (seen < 3) {
                json_t *ev = dl_next_event(&d, &c, "again", 5000);
                const char *st = dl_str(ev, "state");
                if (!strcmp(st, "auto-restart")) {
                        dl_assert(&d, !strncmp(dl_str(ev, "reason"), want, strlen(want)) &&
                                              !strcmp(dl_str(ev, "last_exit"), want),
                                  "event: %s", json_dumps(ev, JSON_COMPACT));
                        seen++;
                } else
                        dl_assert(&d, !strcmp(st, "running") || !strcmp(st, "starting"), "event: %s",
                                  json_dumps(ev, JSON_COMPACT));
                json_decref(ev);
        }
        svc = dl_wait_status(&d, "again", 5000, "with 4 exits", history_has, (void *)(uintptr_t)4);
        dl_cli_ok(&d, "stop", "again", NULL);
        hist = json_object_get(svc, "history");
        for (size_t i = 0; i < 4; i++)
                dl_assert(&d, !strcmp(cause(svc, i), want), "exit %zu: %s", i, json_dumps(svc, JSON_COMPACT));
        dl_assert(&d, dl_int(svc, "restarts") >= 3, "restarts: %s", json_dumps(svc, JSON_COMPACT));
        /* newest first: exit k+1 came RestartSec * 2^k after exit k, give or take a spawn */
        for (int k = 0; k < 3; k++) {
                long long newer = dl_int(json_array_get(hist, (size_t)(2 - k)), "time");
                long long older = dl_int(json_array_get(hist, (size_t)(3 - k)), "time");
                long long gap_ms = (newer - older) / 1000;
                dl_assert(&d, gap_ms >= delays_ms[k] * 95 / 100 && gap_ms < delays_ms[k] + 1500,
                          "restart %d came %lld ms after the kill, expected %d ms: %s", k + 1, gap_ms, delays_ms[k],
                          json_dumps(svc, JSON_COMPACT));
        }
        json_decref(svc);
        text = dl_read_file(again_out);
        dl_assert(&d, text && !strncmp(text, "ptrace trying\nptrace trying\nptrace trying\nptrace trying\n", 56) &&
                              !strstr(text, "ESRCH") && !strstr(text, "EPERM"),
                  "again.out: %s", text);
        free(text);

        /* fail: one kill, then failed for good, whatever Restart= says */
        svc = dl_wait_state(&d, "fail", "failed", DL_DEADLINE_MS);
        dl_assert(&d, !strcmp(cause(svc, 0), want) && !strcmp(dl_str(svc, "reason"), "killed by seccomp (syscall ptrace) (seccomp)"),
                  "fail: %s", json_dumps(svc, JSON_COMPACT));
        json_decref(svc);
        dl_sleep_ms(500);
        svc = dl_status(&d, "fail");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "failed") && dl_int(svc, "restarts") == 0 &&
                              json_array_size(json_object_get(svc, "history")) == 1,
                  "fail was restarted: %s", json_dumps(svc, JSON_COMPACT));
        json_decref(svc);
        text = dl_read_file(fail_out);
        expect_text(&d, "fail.out", text, "ptrace trying\n");
        free(text);
        r = dl_cli_run(&d, "status", "fail", NULL);
        dl_assert(&d, r.code == 0 && strstr(r.out, "killed by seccomp (syscall ptrace)"), "status text:\n%s", r.out);
        dl_cli_done(&r);

        dl_close(&c);
        free(fail_out);
        free(again_out);
        dl_done(&d);
        tf_done();
}
END_TEST

/* ---- real programs under the shipped policies ---- */

/* python3 -m http.server serves a file under default, server and Docker's profile. */
START_TEST(test_http_server) {
        static const char *const policies[] = { "default", "server", NULL /* docker */ };
        struct dl_daemon d;
        char *www, *docker = docker_profile();
        int ports[3];

        dl_init(&d);
        www = dl_path(&d, "www");
        ck_assert_int_eq(mkdir(www, 0755), 0);
        pv_test_write_file(tf("%s/hello.txt", www), "hello from a confined server\n", 0644);
        for (int i = 0; i < 3; i++) {
                ports[i] = dl_free_port();
                dl_write_unit(&d, tf("http%d", i),
                              "[Service]\nExecStart=" PYTHON " -m http.server %d --bind 127.0.0.1 --directory %s\n"
                              "[X-Pidvisor]\nSeccompPolicy=%s\n",
                              ports[i], www, policies[i] ? policies[i] : docker);
        }
        dl_start(&d, "--log-level", "info", NULL);
        for (int i = 0; i < 3; i++)
                start(&d, tf("http%d", i));
        for (int i = 0; i < 3; i++) {
                const char *name = tf("http%d", i), *pol = policies[i] ? policies[i] : "docker-default.json";
                pid_t pid = main_pid(&d, name);
                char *resp = tcp_ask(&d, ports[i], "GET /hello.txt HTTP/1.0\r\nHost: localhost\r\n\r\n", 15000);

                dl_assert(&d, !strncmp(resp, "HTTP/1.0 200", 12) && strstr(resp, "\r\n\r\nhello from a confined server\n"),
                          "python3 -m http.server under %s answered:\n%s", pol, resp);
                free(resp);
                expect_proc_status(&d, pid, "Seccomp", "2"); /* it really runs under a filter */
                expect_proc_status(&d, pid, "NoNewPrivs", "1");
                dl_assert(&d, main_pid(&d, name) == pid, "http.server under %s restarted", pol);
        }
        free(www);
        free(docker);
        dl_done(&d);
        tf_done();
}
END_TEST

/* The C fixture server (pv-upserver) under server answers "TAG PID" from the pid status
 * shows, twice (the accept loop goes on). */
START_TEST(test_c_server) {
        struct dl_daemon d;
        int port = dl_free_port();
        pid_t pid;
        char *want;

        dl_init(&d);
        dl_write_unit(&d, "up", "[Service]\nExecStart=%s --bind 127.0.0.1:%d --tag confined\n[X-Pidvisor]\nSeccompPolicy=server\n",
                      env_path("PV_UPSERVER"), port);
        dl_start(&d, "--log-level", "info", NULL);
        dl_cli_ok(&d, "start", "up", NULL);
        pid = main_pid(&d, "up");
        want = tf("confined %d\n", (int)pid);
        for (int i = 0; i < 2; i++) {
                char *resp = tcp_ask(&d, port, "hello\n", DL_DEADLINE_MS);
                expect_text(&d, "pv-upserver's answer", resp, want);
                free(resp);
        }
        expect_proc_status(&d, pid, "Seccomp", "2");
        dl_cli_ok(&d, "stop", "up", NULL);
        dl_done(&d);
        tf_done();
}
END_TEST

/* A shell script with the usual tools (subshells, pipes, a background job, a here
 * document, mktemp, tr, sort, grep, cut) runs to its end under every shipped policy. */
static const char sh_script[] = "set -eu\n"
                                "out=$1\n"
                                "d=$(mktemp -d)\n"
                                "echo hello > \"$d/f\"\n"
                                "cat \"$d/f\" | tr a-z A-Z > \"$d/g\"\n"
                                "ls -l \"$d\" > /dev/null\n"
                                "n=0; for i in 1 2 3; do n=$((n + i)); done\n"
                                "( sleep 0.05; echo bg > \"$d/bg\" ) &\n"
                                "wait\n"
                                "sort -r > \"$d/sorted\" <<EOF\n"
                                "a\n"
                                "b\n"
                                "EOF\n"
                                "first=$(head -n 1 \"$d/sorted\")\n"
                                "seccomp=$(grep '^Seccomp:' /proc/self/status | tr -d ' \\t' | cut -d: -f2)\n"
                                "echo \"$(cat \"$d/g\") $n $(cat \"$d/bg\") $first seccomp=$seccomp\" > \"$out\"\n"
                                "rm -r \"$d\"\n"
                                "echo done >> \"$out\"\n";

START_TEST(test_shell) {
        static const char *const policies[] = { "default", "server", "strict" };
        struct dl_daemon d;
        char *sh;

        dl_init(&d);
        sh = script(&d, "script.sh", sh_script);
        for (int i = 0; i < 3; i++)
                dl_write_unit(&d, tf("sh-%s", policies[i]),
                              "[Service]\nExecStart=/bin/sh %s %s/sh-%s.out\n[X-Pidvisor]\nSeccompPolicy=%s\n", sh, d.dir,
                              policies[i], policies[i]);
        dl_start(&d, "--log-level", "info", NULL);
        for (int i = 0; i < 3; i++)
                start(&d, tf("sh-%s", policies[i]));
        for (int i = 0; i < 3; i++) {
                json_t *svc = wait_ended(&d, tf("sh-%s", policies[i]));
                char *out = dl_read_file(tf("%s/sh-%s.out", d.dir, policies[i]));

                dl_assert(&d, !strcmp(dl_str(svc, "state"), "inactive") && !strcmp(cause(svc, 0), "exited 0"),
                          "sh under %s: %s", policies[i], json_dumps(svc, JSON_COMPACT));
                expect_text(&d, tf("the script's output under %s", policies[i]), out,
                            "HELLO 6 bg b seccomp=2\ndone\n");
                free(out);
                json_decref(svc);
        }
        free(sh);
        dl_done(&d);
        tf_done();
}
END_TEST

/* ---- privileges ---- */

/* Port 80 on 127.0.0.1, or (if something else has it now) the first free port below 1024:
 * either needs CAP_NET_BIND_SERVICE. */
static int privileged_port(void) {
        for (int port = 80; port < 1024; port++) {
                struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                                         .sin_port = htons((uint16_t)port) };
                int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, r;

                ck_assert_int_ge(fd, 0);
                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
                r = bind(fd, (struct sockaddr *)&a, sizeof(a));
                close(fd);
                if (r == 0)
                        return port;
        }
        ck_abort_msg("no free port below 1024");
        return -1;
}

/* The goal case: a service as nobody that binds port 80 with CAP_NET_BIND_SERVICE and
 * holds nothing else, in any set.  The same program as nobody without it is refused. */
START_TEST(test_bind_port_80) {
        struct dl_daemon d;
        char *server = NULL, *fixture, *want, *out, *caps;
        int port = privileged_port();
        pid_t pid;

        dl_init(&d);
        server = public_copy(&d, env_path("PV_UPSERVER"), "pv-upserver");
        fixture = dl_public_fixture(&d);
        dl_write_unit(&d, "web",
                      "[Service]\nExecStart=%s --bind 127.0.0.1:%d --tag nobody\nUser=nobody\n"
                      "AmbientCapabilities=CAP_NET_BIND_SERVICE\nCapabilityBoundingSet=CAP_NET_BIND_SERVICE\n",
                      server, port);
        dl_write_unit(&d, "nocap", "[Service]\nExecStart=%s bind-port %d\nUser=nobody\nStandardOutput=file:%s/nocap.out\n",
                      fixture, port, d.dir);
        /* root, with the capability out of its bounding set (in a network namespace of its
         * own, where the port is free): refused too; and without that, allowed */
        dl_write_unit(&d, "rootbnd",
                      "[Service]\nExecStart=%s bind-port %d\nCapabilityBoundingSet=~CAP_NET_BIND_SERVICE\n"
                      "PrivateNetwork=yes\nStandardOutput=file:%s/rootbnd.out\n",
                      fixture, port, d.dir);
        dl_write_unit(&d, "root", "[Service]\nExecStart=%s bind-port %d\nPrivateNetwork=yes\nStandardOutput=file:%s/root.out\n",
                      fixture, port, d.dir);
        dl_start(&d, "--log-level", "info", NULL);
        dl_cli_ok(&d, "start", "web", NULL);
        pid = main_pid(&d, "web");
        want = tf("nobody %d\n", (int)pid);
        out = tcp_ask(&d, port, "hello\n", DL_DEADLINE_MS);
        expect_text(&d, tf("the answer on 127.0.0.1:%d", port), out, want);
        free(out);
        expect_proc_status(&d, pid, "Uid", "65534\t65534\t65534\t65534");
        expect_proc_status(&d, pid, "Gid", "65534\t65534\t65534\t65534");
        expect_proc_status(&d, pid, "CapInh", "0000000000000400");
        expect_proc_status(&d, pid, "CapPrm", "0000000000000400");
        expect_proc_status(&d, pid, "CapEff", "0000000000000400");
        expect_proc_status(&d, pid, "CapBnd", "0000000000000400");
        expect_proc_status(&d, pid, "CapAmb", "0000000000000400");
        caps = capture(&d, (char *const[]){ GETPCAPS, tf("%d", (int)pid), NULL });
        expect_text(&d, "getpcaps", caps, tf("%d: cap_net_bind_service=eip\n", (int)pid));
        free(caps);

        for (int i = 0; i < 3; i++) {
                static const char *const names[] = { "nocap", "rootbnd", "root" };
                json_t *svc;
                start(&d, names[i]);
                svc = wait_ended(&d, names[i]);
                json_decref(svc);
                out = dl_read_file(tf("%s/%s.out", d.dir, names[i]));
                expect_text(&d, names[i], out,
                            i < 2 ? tf("bind %d: Permission denied\n", port) : tf("bind %d ok\n", port));
                free(out);
        }
        dl_cli_ok(&d, "stop", "web", NULL);
        free(server);
        free(fixture);
        dl_done(&d);
        tf_done();
}
END_TEST

/* NoNewPrivileges=yes is the process's NoNewPrivs flag; without it (and without a
 * policy, which implies it) the flag is off. */
START_TEST(test_no_new_privs) {
        struct dl_daemon d;
        char *out;

        dl_init(&d);
        dl_write_unit(&d, "nnp", "[Service]\nExecStart=/bin/grep NoNewPrivs /proc/self/status\nNoNewPrivileges=yes\n"
                                 "StandardOutput=file:%s/nnp.out\n", d.dir);
        dl_write_unit(&d, "plain", "[Service]\nExecStart=/bin/grep NoNewPrivs /proc/self/status\n"
                                   "StandardOutput=file:%s/plain.out\n", d.dir);
        dl_start(&d, "--log-level", "info", NULL);
        start(&d, "nnp");
        start(&d, "plain");
        json_decref(wait_ended(&d, "nnp"));
        json_decref(wait_ended(&d, "plain"));
        out = dl_read_file(tf("%s/nnp.out", d.dir));
        expect_text(&d, "NoNewPrivileges=yes", out, "NoNewPrivs:\t1\n");
        free(out);
        out = dl_read_file(tf("%s/plain.out", d.dir));
        expect_text(&d, "no NoNewPrivileges=", out, "NoNewPrivs:\t0\n");
        free(out);
        dl_done(&d);
        tf_done();
}
END_TEST

/* ---- namespaces ---- */

/* Runs one unit to its end (exit 0) and returns what it wrote to stdout. */
static char *run_unit(struct dl_daemon *d, const char *name) {
        char *path = tf("%s/%s.out", d->dir, name), *out;
        json_t *svc;

        start(d, name);
        svc = wait_ended(d, name);
        dl_assert(d, !strcmp(cause(svc, 0), "exited 0"), "%s: %s", name, json_dumps(svc, JSON_COMPACT));
        json_decref(svc);
        out = dl_read_file(path);
        dl_assert(d, out != NULL, "%s wrote nothing", name);
        return out;
}

static char *self_ns(const char *name) {
        char *path = tf("/proc/self/ns/%s", name), target[256], *ret;
        ssize_t n = readlink(path, target, sizeof(target) - 1);

        ck_assert_int_gt(n, 0);
        target[n] = 0;
        ck_assert_int_ge(asprintf(&ret, "%s\n", target), 0);
        return ret;
}

/* PrivateNetwork=: only lo, up, and TCP over it works; PrivateIPC=: an IPC namespace of
 * its own; Hostname=: a UTS namespace with that name, the host's name unchanged. */
START_TEST(test_network_ipc_hostname) {
        struct dl_daemon d;
        struct utsname before, after;
        char *out, *host;

        ck_assert_int_eq(uname(&before), 0);
        dl_init(&d);
        dl_write_unit(&d, "net", "[Service]\nExecStart=%s net\nPrivateNetwork=yes\nStandardOutput=file:%s/net.out\n",
                      dl_fixture(), d.dir);
        dl_write_unit(&d, "netns", "[Service]\nExecStart=%s ns net\nPrivateNetwork=yes\nStandardOutput=file:%s/netns.out\n",
                      dl_fixture(), d.dir);
        dl_write_unit(&d, "ipc", "[Service]\nExecStart=%s ns ipc\nPrivateIPC=yes\nStandardOutput=file:%s/ipc.out\n",
                      dl_fixture(), d.dir);
        dl_write_unit(&d, "noipc", "[Service]\nExecStart=%s ns ipc\nStandardOutput=file:%s/noipc.out\n", dl_fixture(),
                      d.dir);
        dl_write_unit(&d, "uts", "[Service]\nExecStart=%s hostname\nHostname=pv-sandbox\nStandardOutput=file:%s/uts.out\n",
                      dl_fixture(), d.dir);
        dl_start(&d, "--log-level", "info", NULL);

        out = run_unit(&d, "net");
        expect_text(&d, "PrivateNetwork=yes: interfaces", out, "lo\nlo up\ntcp ok\n");
        free(out);
        /* (the host has more than lo, so the list above means something) */
        host = dl_read_file("/proc/net/dev");
        {
                int lines = 0;
                for (const char *p = host; p && *p; p++)
                        lines += *p == '\n';
                dl_assert(&d, lines >= 4, "the host has only lo? /proc/net/dev:\n%s", host);
        }
        free(host);
        out = run_unit(&d, "netns");
        host = self_ns("net");
        dl_assert(&d, strncmp(out, "net:[", 5) == 0 && strcmp(out, host) != 0, "network namespace %s, the host's %s", out,
                  host);
        free(out);
        free(host);

        host = self_ns("ipc");
        out = run_unit(&d, "ipc");
        dl_assert(&d, strncmp(out, "ipc:[", 5) == 0 && strcmp(out, host) != 0, "PrivateIPC=: %s, the host's %s", out, host);
        free(out);
        out = run_unit(&d, "noipc");
        expect_text(&d, "without PrivateIPC=", out, host);
        free(out);
        free(host);

        out = run_unit(&d, "uts");
        expect_text(&d, "Hostname=", out, "pv-sandbox\n");
        free(out);
        ck_assert_int_eq(uname(&after), 0);
        dl_assert(&d, !strcmp(before.nodename, after.nodename), "the host's name changed to %s", after.nodename);
        dl_done(&d);
        tf_done();
}
END_TEST

/* PrivateTmp=: an empty /tmp (mode 1777) that the host and other services do not see,
 * and that sees nothing of the host's. */
START_TEST(test_private_tmp) {
        struct dl_daemon d;
        char *tag = tf("pvtest-confine-%d", (int)getpid()), *host_file, *theirs, *out;
        json_t *svc;

        dl_init(&d);
        host_file = tf("/tmp/%s-host", tag);
        theirs = tf("/tmp/%s-written", tag);
        pv_test_write_file(host_file, "the host's\n", 0644);
        /* inline: the suite's directory is in the host's /tmp, which the service does not see */
        dl_write_unit(&d, "holder",
                      "[Service]\nExecStart=/bin/sh -c 'echo mine > /tmp/%s-holder; exec sleep 60'\nPrivateTmp=yes\n", tag);
        dl_write_unit(&d, "tmp",
                      "[Service]\nExecStart=/bin/sh -c 'echo before; ls -A /tmp; echo after; echo private > %s; ls -A /tmp; "
                      "%s stat /tmp'\nPrivateTmp=yes\nStandardOutput=file:%s/tmp.out\n",
                      theirs, dl_fixture(), d.dir);
        dl_start(&d, "--log-level", "info", NULL);
        dl_cli_ok(&d, "start", "holder", NULL);
        (void)main_pid(&d, "holder");
        dl_sleep_ms(100); /* its file is written */
        out = run_unit(&d, "tmp");
        expect_text(&d, "PrivateTmp=yes", out, tf("before\nafter\n%s-written\nmode 1777 dir\n", tag));
        free(out);
        dl_assert(&d, access(theirs, F_OK) < 0 && errno == ENOENT, "%s is in the host's /tmp", theirs);
        dl_assert(&d, access(tf("/tmp/%s-holder", tag), F_OK) < 0, "the holder's file is in the host's /tmp");
        svc = dl_status(&d, "holder");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "running"), "holder: %s", json_dumps(svc, JSON_COMPACT));
        json_decref(svc);
        dl_cli_ok(&d, "stop", "holder", NULL);
        unlink(host_file);
        unlink(theirs);
        dl_done(&d);
        tf_done();
}
END_TEST

/* ProtectSystem=strict: /usr, /etc and the rest are read-only (EROFS), a ReadWritePaths=
 * directory is writable; yes: /usr only; full: /usr and /etc. */
START_TEST(test_protect_system) {
        struct dl_daemon d;
        char *tag = tf("pvtest-confine-%d", (int)getpid()), *rw, *out, *want;

        dl_init(&d);
        rw = dl_path(&d, "rw");
        ck_assert_int_eq(mkdir(rw, 0755), 0);
        dl_write_unit(&d, "strict",
                      "[Service]\nExecStart=/bin/sh -c '%1$s write-file /usr/%2$s; %1$s write-file /etc/%2$s; "
                      "%1$s write-file %3$s/rw/file; %1$s write-file %3$s/not-rw'\n"
                      "ProtectSystem=strict\nReadWritePaths=%3$s/rw\nStandardOutput=file:%3$s/strict.out\n",
                      dl_fixture(), tag, d.dir);
        dl_write_unit(&d, "yes", "[Service]\nExecStart=%s access-w /usr /etc %s\nProtectSystem=yes\nStandardOutput=file:%s/yes.out\n",
                      dl_fixture(), d.dir, d.dir);
        dl_write_unit(&d, "full", "[Service]\nExecStart=%s access-w /usr /etc %s\nProtectSystem=full\nStandardOutput=file:%s/full.out\n",
                      dl_fixture(), d.dir, d.dir);
        dl_start(&d, "--log-level", "info", NULL);

        out = run_unit(&d, "strict");
        expect_text(&d, "ProtectSystem=strict", out,
                    "Read-only file system\nRead-only file system\nok\nRead-only file system\n");
        free(out);
        out = dl_read_file(tf("%s/file", rw));
        expect_text(&d, "the file written through ReadWritePaths=", out, "x");
        free(out);
        dl_assert(&d, access(tf("%s/not-rw", d.dir), F_OK) < 0, "a file was written outside ReadWritePaths=");
        dl_assert(&d, access(tf("/usr/%s", tag), F_OK) < 0 && access(tf("/etc/%s", tag), F_OK) < 0,
                  "a file was written in /usr or /etc");

        out = run_unit(&d, "yes");
        want = tf("/usr: Read-only file system\n/etc ok\n%s ok\n", d.dir);
        expect_text(&d, "ProtectSystem=yes", out, want);
        free(out);
        out = run_unit(&d, "full");
        want = tf("/usr: Read-only file system\n/etc: Read-only file system\n%s ok\n", d.dir);
        expect_text(&d, "ProtectSystem=full", out, want);
        free(out);
        /* in case one got through: the host must not keep it */
        unlink(tf("/usr/%s", tag));
        unlink(tf("/etc/%s", tag));
        free(rw);
        dl_done(&d);
        tf_done();
}
END_TEST

/* InaccessiblePaths=: a directory shows empty with mode 0000 (root may look in, nobody
 * is refused), a file is empty with mode 0000; ReadOnlyPaths=: readable, not writable;
 * the host keeps its files. */
START_TEST(test_paths) {
        struct dl_daemon d;
        char *secret, *ro, *out, *want, *fixture;

        dl_init(&d);
        fixture = dl_public_fixture(&d);
        secret = dl_path(&d, "secret");
        ro = dl_path(&d, "ro");
        ck_assert_int_eq(mkdir(secret, 0755), 0);
        ck_assert_int_eq(mkdir(ro, 0755), 0);
        pv_test_write_file(tf("%s/data", secret), "do not read\n", 0644);
        pv_test_write_file(tf("%s/secret.txt", d.dir), "do not read either\n", 0644);
        pv_test_write_file(tf("%s/existing", ro), "read me\n", 0644);
        dl_write_unit(&d, "paths",
                      "[Service]\nExecStart=/bin/sh -c '%1$s ls %2$s/secret; %1$s stat %2$s/secret; "
                      "%1$s read-file %2$s/secret.txt; %1$s stat %2$s/secret.txt; %1$s write-file %2$s/secret/new; "
                      "%1$s read-file %2$s/ro/existing; %1$s write-file %2$s/ro/new; %1$s write-file %2$s/free'\n"
                      "InaccessiblePaths=%2$s/secret %2$s/secret.txt\nReadOnlyPaths=%2$s/ro\n"
                      "StandardOutput=file:%2$s/paths.out\n",
                      fixture, d.dir);
        dl_write_unit(&d, "nobody",
                      "[Service]\nExecStart=/bin/sh -c '%1$s ls %2$s/secret; %1$s read-file %2$s/secret.txt'\n"
                      "User=nobody\nInaccessiblePaths=%2$s/secret %2$s/secret.txt\nStandardOutput=file:%2$s/nobody.out\n",
                      fixture, d.dir);
        dl_write_unit(&d, "nobody-free",
                      "[Service]\nExecStart=/bin/sh -c '%1$s ls %2$s/secret; %1$s read-file %2$s/secret.txt'\n"
                      "User=nobody\nStandardOutput=file:%2$s/nobody-free.out\n",
                      fixture, d.dir);
        dl_start(&d, "--log-level", "info", NULL);

        out = run_unit(&d, "paths");
        expect_text(&d, "InaccessiblePaths= and ReadOnlyPaths= as root", out,
                    "\nmode 0000 dir\nread 0 bytes\nmode 0000 file\nRead-only file system\n"
                    "read 8 bytes\nRead-only file system\nok\n");
        free(out);
        out = run_unit(&d, "nobody");
        expect_text(&d, "InaccessiblePaths= as nobody", out, "ls: Permission denied\nread: Permission denied\n");
        free(out);
        out = run_unit(&d, "nobody-free");
        expect_text(&d, "the same paths as nobody, not hidden", out, "data\nread 19 bytes\n");
        free(out);
        /* the host's view is untouched */
        out = dl_read_file(tf("%s/data", secret));
        expect_text(&d, "the host's secret/data", out, "do not read\n");
        free(out);
        dl_assert(&d, access(tf("%s/new", ro), F_OK) < 0, "a file was written below ReadOnlyPaths=");
        want = dl_read_file(tf("%s/free", d.dir));
        expect_text(&d, "a file written outside the listed paths", want, "x");
        free(want);
        free(secret);
        free(ro);
        free(fixture);
        dl_done(&d);
        tf_done();
}
END_TEST

/* PrivatePIDs=yes: the service is pid 2 under pidvisor's init (status shows the init's
 * pid, which is 1 inside); an orphaned child is reaped by that init; the service's exit
 * status (or 128+N for a signal) is the unit's; `pidvisor stop` reaches the service. */
START_TEST(test_private_pids) {
        struct dl_daemon d;
        char *out, *nspid;
        json_t *svc;
        pid_t pid;

        dl_init(&d);
        dl_write_unit(&d, "info", "[Service]\nExecStart=%s pid-info\nStandardOutput=file:%s/info.out\n"
                                  "[X-Pidvisor]\nPrivatePIDs=yes\n",
                      dl_fixture(), d.dir);
        dl_write_unit(&d, "orphan", "[Service]\nExecStart=%s orphan-zombie 7\nStandardOutput=file:%s/orphan.out\n"
                                    "[X-Pidvisor]\nPrivatePIDs=yes\n",
                      dl_fixture(), d.dir);
        dl_write_unit(&d, "signal", "[Service]\nExecStart=%s raise 10\n[X-Pidvisor]\nPrivatePIDs=yes\n", dl_fixture());
        dl_write_unit(&d, "stopme", "[Service]\nExecStart=%s ready-wait\nStandardOutput=file:%s/stopme.out\n"
                                    "[X-Pidvisor]\nPrivatePIDs=yes\n",
                      dl_fixture(), d.dir);
        dl_start(&d, "--log-level", "info", NULL);

        out = run_unit(&d, "info");
        expect_text(&d, "pid-info under PrivatePIDs=yes", out, "pid 2 ppid 1\n");
        free(out);

        start(&d, "orphan");
        svc = wait_ended(&d, "orphan");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "failed") && !strcmp(cause(svc, 0), "exited 7"),
                  "orphan: %s", json_dumps(svc, JSON_COMPACT));
        json_decref(svc);
        out = dl_read_file(tf("%s/orphan.out", d.dir));
        expect_text(&d, "orphan-zombie under PrivatePIDs=yes", out, "orphan ppid=1\nreaped\n");
        free(out);

        start(&d, "signal");
        svc = wait_ended(&d, "signal");
        dl_assert(&d, !strcmp(cause(svc, 0), "exited 138"), "a service killed by SIGUSR1 under its init: %s",
                  json_dumps(svc, JSON_COMPACT));
        json_decref(svc);

        dl_cli_ok(&d, "start", "stopme", NULL);
        pid = main_pid(&d, "stopme");
        free(wait_file(&d, tf("%s/stopme.out", d.dir), "ready\n", DL_DEADLINE_MS));
        nspid = proc_status(&d, pid, "NSpid");
        dl_assert(&d, !strcmp(nspid, tf("%d\t1", (int)pid)), "status names pid %d, whose NSpid is \"%s\"",
                  (int)pid, nspid);
        free(nspid);
        dl_cli_ok(&d, "stop", "stopme", NULL);
        svc = dl_status(&d, "stopme");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "inactive") && strstr(cause(svc, 0), "exited 0"),
                  "stopme after stop: %s", json_dumps(svc, JSON_COMPACT));
        json_decref(svc);
        out = dl_read_file(tf("%s/stopme.out", d.dir));
        expect_text(&d, "the service got SIGTERM from its init", out, "ready\ngot 15\n");
        free(out);
        dl_done(&d);
        tf_done();
}
END_TEST

/* PrivateUsers=yes: a user namespace mapping root and the service's own ids to
 * themselves, setgroups denied. */
START_TEST(test_private_users) {
        struct dl_daemon d;
        char *out, *fixture;

        dl_init(&d);
        fixture = dl_public_fixture(&d);
        dl_write_unit(&d, "root", "[Service]\nExecStart=%s userns\nPrivateUsers=yes\nStandardOutput=file:%s/root.out\n",
                      fixture, d.dir);
        dl_write_unit(&d, "nobody",
                      "[Service]\nExecStart=%s userns\nUser=nobody\nPrivateUsers=yes\nStandardOutput=file:%s/nobody.out\n",
                      fixture, d.dir);
        dl_write_unit(&d, "host", "[Service]\nExecStart=%s userns\nStandardOutput=file:%s/host.out\n", fixture, d.dir);
        dl_start(&d, "--log-level", "info", NULL);
        out = run_unit(&d, "root");
        expect_text(&d, "PrivateUsers=yes as root", out,
                    "uid_map 0 0 1\ngid_map 0 0 1\nsetgroups deny\nuid=0 euid=0 gid=0 egid=0 groups=\n");
        free(out);
        out = run_unit(&d, "nobody");
        expect_text(&d, "PrivateUsers=yes as nobody", out,
                    "uid_map 0 0 1\nuid_map 65534 65534 1\ngid_map 0 0 1\ngid_map 65534 65534 1\nsetgroups deny\n"
                    "uid=65534 euid=65534 gid=65534 egid=65534 groups=65534\n");
        free(out);
        out = run_unit(&d, "host");
        expect_text(&d, "without PrivateUsers=", out,
                    "uid_map 0 0 4294967295\ngid_map 0 0 4294967295\nsetgroups allow\nuid=0 euid=0 gid=0 egid=0 groups=\n");
        free(out);
        free(fixture);
        dl_done(&d);
        tf_done();
}
END_TEST

/* ---- SystemCallFilter= ---- */

START_TEST(test_system_call_filter) {
        struct dl_daemon d;
        json_t *svc;
        char *out, *want;
        struct dl_cli r;

        dl_init(&d);
        /* deny-lists: kill by default, SystemCallErrorNumber= instead */
        dl_write_unit(&d, "deny-kill", "[Service]\nExecStart=%s mount %s/deny-kill.out\nSystemCallFilter=~@mount\n",
                      escape_bin(), d.dir);
        dl_write_unit(&d, "deny-errno",
                      "[Service]\nExecStart=%s mount %s/deny-errno.out\nSystemCallFilter=~@mount\nSystemCallErrorNumber=EPERM\n",
                      escape_bin(), d.dir);
        /* a deny-list leaves the other ABIs alone unless SystemCallArchitectures= says */
        dl_write_unit(&d, "deny-int80", "[Service]\nExecStart=%s int80 %s/deny-int80.out\nSystemCallFilter=~@mount\n",
                      escape_bin(), d.dir);
        dl_write_unit(&d, "native-int80",
                      "[Service]\nExecStart=%s int80 %s/native-int80.out\nSystemCallFilter=~@mount\n"
                      "SystemCallArchitectures=native\n",
                      escape_bin(), d.dir);
        /* allow-lists: python3 runs under @system-service; anything else is killed, or
         * answers SystemCallErrorNumber= */
        dl_write_unit(&d, "allow-py",
                      "[Service]\nExecStart=" PYTHON " -c 'import os, socket, subprocess, json; "
                      "s = socket.socket(); s.bind((\"127.0.0.1\", 0)); "
                      "out = subprocess.run([\"/bin/echo\", \"child\"], capture_output=True).stdout.decode(); "
                      "print(json.dumps([out.strip(), os.getpid() > 1]))'\n"
                      "SystemCallFilter=@system-service\nStandardOutput=file:%s/allow-py.out\n",
                      d.dir);
        dl_write_unit(&d, "allow-kill", "[Service]\nExecStart=%s mount %s/allow-kill.out\nSystemCallFilter=@system-service\n",
                      escape_bin(), d.dir);
        dl_write_unit(&d, "allow-errno",
                      "[Service]\nExecStart=%s bpf %s/allow-errno.out\nSystemCallFilter=@system-service\n"
                      "SystemCallErrorNumber=EPERM\n",
                      escape_bin(), d.dir);
        /* several lines accumulate; an unknown name is an error at its line */
        dl_write_unit(&d, "typo", "[Service]\nExecStart=/bin/true\nSystemCallFilter=@system-service\n"
                                  "SystemCallFilter=read fork2\n");
        dl_write_unit(&d, "nopolicy", "[Service]\nExecStart=/bin/true\n[X-Pidvisor]\nSeccompPolicy=no-such-policy\n");
        dl_start(&d, "--log-level", "info", NULL);

        start(&d, "deny-kill");
        svc = wait_ended(&d, "deny-kill");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "failed") && !strcmp(cause(svc, 0), "killed by seccomp (syscall mount)"),
                  "~@mount: %s", json_dumps(svc, JSON_COMPACT));
        json_decref(svc);
        out = dl_read_file(tf("%s/deny-kill.out", d.dir));
        expect_text(&d, "~@mount", out, "mount trying\n");
        free(out);

        out = run_unit(&d, "deny-errno");
        expect_text(&d, "~@mount with SystemCallErrorNumber=EPERM", out, "mount trying\nmount EPERM\n");
        free(out);

        out = run_unit(&d, "deny-int80");
        expect_text(&d, "int 0x80 under ~@mount", out, "int80 trying\nint80 ok\n");
        free(out);
        start(&d, "native-int80");
        svc = wait_ended(&d, "native-int80");
        dl_assert(&d, !strcmp(cause(svc, 0), "killed by seccomp (syscall getpid (i386))"),
                  "int 0x80 under SystemCallArchitectures=native: %s", json_dumps(svc, JSON_COMPACT));
        json_decref(svc);

        out = run_unit(&d, "allow-py");
        expect_text(&d, "python3 under @system-service", out, "[\"child\", true]\n");
        free(out);
        start(&d, "allow-kill");
        svc = wait_ended(&d, "allow-kill");
        dl_assert(&d, !strcmp(cause(svc, 0), "killed by seccomp (syscall mount)"), "mount under @system-service: %s",
                  json_dumps(svc, JSON_COMPACT));
        json_decref(svc);
        out = run_unit(&d, "allow-errno");
        expect_text(&d, "bpf under @system-service with SystemCallErrorNumber=EPERM", out, "bpf trying\nbpf EPERM\n");
        free(out);

        svc = dl_status(&d, "typo");
        want = tf("%s/typo.service:4: SystemCallFilter=: invalid value \"read fork2\" (unknown system call \"fork2\"",
                           d.units);
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "failed") && !strncmp(dl_str(svc, "load_error"), want, strlen(want)),
                  "typo: %s", json_dumps(svc, JSON_COMPACT));
        json_decref(svc);
        svc = dl_status(&d, "nopolicy");
        want = tf("%s/nopolicy.service:4: SeccompPolicy=: ", d.units);
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "failed") && !strncmp(dl_str(svc, "load_error"), want, strlen(want)) &&
                              strstr(dl_str(svc, "load_error"), "no-such-policy"),
                  "nopolicy: %s", json_dumps(svc, JSON_COMPACT));
        json_decref(svc);
        r = dl_cli_run(&d, "start", "typo", NULL);
        dl_assert(&d, r.code != 0 && strstr(r.err, "typo.service:4"), "start typo: %d %s", r.code, r.err);
        dl_cli_done(&r);
        dl_done(&d);
        tf_done();
}
END_TEST

/* ---- kills outside the main process's plain case ---- */

/* A process of the service other than the main one (here a child per attempt) is killed
 * alone: the daemon logs which call it made, and the service goes on (its exit is its
 * own).  Every attempt is made in the same run, so this also shows all of server's kills
 * and errnos side by side. */
START_TEST(test_kill_of_a_child) {
        struct dl_daemon d;
        json_t *svc;
        char *out;

        dl_init(&d);
        dl_write_unit(&d, "kids", "[Service]\nExecStart=%s all %s/kids.out\n[X-Pidvisor]\nSeccompPolicy=server\n",
                      escape_bin(), d.dir);
        dl_start(&d, "--log-level", "info", NULL);
        start(&d, "kids");
        svc = wait_ended(&d, "kids");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "inactive") && !strcmp(cause(svc, 0), "exited 0"),
                  "kids: %s", json_dumps(svc, JSON_COMPACT));
        json_decref(svc);
        out = dl_read_file(tf("%s/kids.out", d.dir));
        for (size_t i = 0; i < N_ATTEMPTS; i++) {
                const char *a = attempts[i].name, *e = under_server[i];
                bool kill = !strncmp(e, "kill:", 5);
                char *line = tf("%s trying\n%s %s\n", a, a, kill ? "killed by signal 9" : e);

                dl_assert(&d, out && strstr(out, line), "kids.out lacks \"%s\":\n%s", line, out);
                if (kill) {
                        const char *said = tf("killed by seccomp (syscall %s)", e + 5);
                        dl_wait_log(&d, said, DL_DEADLINE_MS);
                        dl_assert(&d, dl_log_count(&d, said) == 1, "the daemon's log says \"%s\" %d times", said,
                                  dl_log_count(&d, said));
                }
        }
        free(out);
        dl_done(&d);
        tf_done();
}
END_TEST

/* Under PrivatePIDs=yes the process pidvisor started is the namespace's init, and the
 * policy kills the service below it: status must still name the call, and the kill is
 * not a plain failure (SeccompViolation=fail, not restarted by Restart=on-failure). */
START_TEST(test_kill_under_private_pids) {
        struct dl_daemon d;
        json_t *svc;
        char *out;

        dl_init(&d);
        dl_write_unit(&d, "pp",
                      "[Service]\nExecStart=%s ptrace %s/pp.out\nRestart=on-failure\nRestartSec=100ms\n"
                      "[X-Pidvisor]\nSeccompPolicy=server\nPrivatePIDs=yes\n",
                      escape_bin(), d.dir);
        dl_start(&d, "--log-level", "info", NULL);
        start(&d, "pp");
        svc = dl_wait_status(&d, "pp", DL_DEADLINE_MS, "with an exit", history_has, (void *)(uintptr_t)1);
        dl_assert(&d, !strcmp(cause(svc, 0), "killed by seccomp (syscall ptrace)"),
                  "a kill under PrivatePIDs=yes reads \"%s\": %s", cause(svc, 0), json_dumps(svc, JSON_COMPACT));
        json_decref(svc);
        dl_sleep_ms(300);
        svc = dl_status(&d, "pp");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "failed") && dl_int(svc, "restarts") == 0,
                  "a kill under PrivatePIDs=yes was restarted: %s", json_dumps(svc, JSON_COMPACT));
        json_decref(svc);
        out = dl_read_file(tf("%s/pp.out", d.dir));
        expect_text(&d, "pp.out", out, "ptrace trying\n");
        free(out);
        dl_done(&d);
        tf_done();
}
END_TEST

/* An ExecStartPre= command runs under the unit's policy too; its kill must read as one
 * ("ExecStartPre= 1 killed by seccomp (syscall mount)"), not as a SIGKILL crash. */
START_TEST(test_kill_in_exec_start_pre) {
        struct dl_daemon d;
        json_t *svc;
        const char *want = "ExecStartPre= 1 killed by seccomp (syscall mount)";

        dl_init(&d);
        dl_write_unit(&d, "pre",
                      "[Service]\nExecStartPre=%s mount %s/pre.out\nExecStart=%s sleep 60\nRestart=on-failure\n"
                      "RestartSec=100ms\n[X-Pidvisor]\nSeccompPolicy=server\n",
                      escape_bin(), d.dir, dl_fixture());
        dl_start(&d, "--log-level", "info", NULL);
        start(&d, "pre");
        svc = dl_wait_status(&d, "pre", DL_DEADLINE_MS, "with an exit", history_has, (void *)(uintptr_t)1);
        dl_assert(&d, !strcmp(cause(svc, 0), want), "a kill in ExecStartPre= reads \"%s\", expected \"%s\": %s",
                  cause(svc, 0), want, json_dumps(svc, JSON_COMPACT));
        json_decref(svc);
        dl_sleep_ms(300);
        svc = dl_status(&d, "pre");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "failed") && dl_int(svc, "restarts") == 0,
                  "a kill in ExecStartPre= was restarted: %s", json_dumps(svc, JSON_COMPACT));
        json_decref(svc);
        dl_done(&d);
        tf_done();
}
END_TEST

static const char *need_root(void) {
        return pv_test_need_root();
}

static const char *need_python(void) {
        const char *missing = pv_test_need_root();
        static char why[512];
        char *docker;

        if (missing)
                return missing;
        if (access(PYTHON, X_OK) < 0)
                return "no " PYTHON;
        docker = docker_profile();
        if (access(docker, R_OK) < 0) {
                snprintf(why, sizeof(why), "no Docker profile at %s", docker);
                free(docker);
                return why;
        }
        free(docker);
        return NULL;
}

static const char *need_getpcaps(void) {
        const char *missing = pv_test_need_root();

        if (missing)
                return missing;
        return access(GETPCAPS, X_OK) < 0 ? "no " GETPCAPS " (libcap2-bin)" : NULL;
}

int main(void) {
        Suite *s = pv_test_suite("confine");
        TCase *tc;
        int ret;

        dl_suite_begin("confine");

        tc = pv_test_case("escapes");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_escapes_default);
        tcase_add_test(tc, test_escapes_server);
        tcase_add_test(tc, test_escapes_strict);
        pv_test_add(s, tc, need_root());

        tc = pv_test_case("violations");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_violation_restart);
        tcase_add_test(tc, test_kill_of_a_child);
        tcase_add_test(tc, test_kill_under_private_pids);
        tcase_add_test(tc, test_kill_in_exec_start_pre);
        pv_test_add(s, tc, need_root());

        tc = pv_test_case("programs");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_http_server);
        tcase_add_test(tc, test_c_server);
        tcase_add_test(tc, test_shell);
        pv_test_add(s, tc, need_python());

        tc = pv_test_case("privileges");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_bind_port_80);
        tcase_add_test(tc, test_no_new_privs);
        pv_test_add(s, tc, need_getpcaps());

        tc = pv_test_case("namespaces");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_network_ipc_hostname);
        tcase_add_test(tc, test_private_tmp);
        tcase_add_test(tc, test_protect_system);
        tcase_add_test(tc, test_paths);
        tcase_add_test(tc, test_private_pids);
        tcase_add_test(tc, test_private_users);
        pv_test_add(s, tc, need_root());

        tc = pv_test_case("filter");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_system_call_filter);
        pv_test_add(s, tc, need_python());

        ret = pv_test_main(s);
        dl_suite_end();
        return ret;
}
