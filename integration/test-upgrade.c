/* SPDX-License-Identifier: MIT */
/* `pidvisor upgrade` (hot restart, issue 6) against a real daemon, under load.
 *
 * The server is tests/fixtures/pv-upserver (answers "TAG PID", drains on SIGTERM); the
 * load is tests/fixtures/pv-load (closed loop, K connections, every failure counted by
 * kind).  Each mode runs 50 upgrades in a row while the load runs and must see zero
 * failed requests, with every successor's pid among the answers (it really served);
 * the same load against a naive restart of a self-binding server must see failures, so
 * that a zero above means something. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "daemonlib.h"
#include "testlib.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define N_UPGRADES 50

static const char *upserver(void) {
        const char *p = getenv("PV_UPSERVER");
        ck_assert_msg(p && *p, "PV_UPSERVER is not set (run through meson test)");
        return p;
}

static const char *loader(void) {
        const char *p = getenv("PV_LOAD");
        ck_assert_msg(p && *p, "PV_LOAD is not set (run through meson test)");
        return p;
}

struct load {
        pid_t pid;
        char *out;
};

/* pv-load against addr (127.0.0.1:PORT or a unix path), closed loop, `conns`
 * connections, HTTP requests when http; its summary goes to DIR/load.json. */
static void load_start_addr(struct dl_daemon *d, struct load *l, const char *addr, int conns, bool http) {
        char k[16];
        int fd;

        snprintf(k, sizeof(k), "%d", conns);
        l->out = dl_path(d, "load.json");
        l->pid = fork();
        ck_assert_int_ge(l->pid, 0);
        if (l->pid == 0) {
                fd = open(l->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                if (fd < 0 || dup2(fd, 1) < 0)
                        _exit(127);
                execl(loader(), "pv-load", "--addr", addr, "--conns", k, "--duration-ms", "120000",
                      http ? "--http" : (char *)NULL, (char *)NULL);
                _exit(127);
        }
        dl_sleep_ms(200); /* it is connecting before anything happens */
}

static void load_start(struct dl_daemon *d, struct load *l, int port, int conns) {
        char addr[64];

        snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
        load_start_addr(d, l, addr, conns, false);
}

/* Stops the load and returns its summary (owned). */
static json_t *load_stop(struct dl_daemon *d, struct load *l) {
        json_error_t jerr;
        json_t *j;
        char *text;
        int st;

        kill(l->pid, SIGTERM);
        ck_assert_int_eq(waitpid(l->pid, &st, 0), l->pid);
        dl_assert(d, WIFEXITED(st) && WEXITSTATUS(st) == 0, "pv-load ended with status 0x%x", st);
        text = dl_read_file(l->out);
        dl_assert(d, text, "no output from pv-load");
        j = json_loads(text, 0, &jerr);
        dl_assert(d, j, "pv-load printed \"%s\": %s", text, jerr.text);
        free(text);
        free(l->out);
        return j;
}

static long long jnum(json_t *o, const char *k) {
        return json_integer_value(json_object_get(o, k));
}

/* "refused 0, reset_before 3, ..." for messages. */
static char *failures_text(json_t *load) {
        static const char *const kinds[] = { "refused", "connect_error", "slow_connect", "reset_before", "reset_mid",
                                             "closed_empty", "short", "timeout", "wrong" };
        char *buf = malloc(512);
        size_t n = 0;

        for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
                n += (size_t)snprintf(buf + n, 512 - n, "%s%s %lld", i ? ", " : "", kinds[i], jnum(load, kinds[i]));
        return buf;
}

/* Whether "TAG PID" of this pid is among the answers. */
static bool answered_by(json_t *load, const char *tag, long long pid) {
        char key[64];
        snprintf(key, sizeof(key), "%s %lld", tag, pid);
        return jnum(json_object_get(load, "answers"), key) > 0;
}

/* The upgrade reply's result, through the control socket. */
static json_t *upgrade(struct dl_daemon *d, const char *name) {
        return dl_call(d, "upgrade", json_pack("{s:s}", "name", name));
}

/* N_UPGRADES upgrades under load: nothing fails, and each successor served. */
static void upgrades_under_load(void (*write_unit)(struct dl_daemon *d, int port), const char *mode) {
        struct dl_daemon d;
        struct load l;
        long long pids[N_UPGRADES + 1];
        json_t *svc, *load;
        int port = dl_free_port();
        char *fails;

        dl_init(&d);
        write_unit(&d, port);
        dl_start(&d, "--log-level", "info", NULL);
        dl_cli_ok(&d, "start", "web", NULL);
        svc = dl_status(&d, "web");
        pids[0] = dl_int(svc, "pid");
        json_decref(svc);

        load_start(&d, &l, port, 8);
        for (int i = 1; i <= N_UPGRADES; i++) {
                json_t *r = upgrade(&d, "web");
                dl_assert(&d, jnum(r, "old_pid") == pids[i - 1], "upgrade %d replaced pid %lld, expected %lld", i,
                          jnum(r, "old_pid"), pids[i - 1]);
                dl_assert(&d, !strcmp(dl_str(r, "mode"), mode), "mode %s, expected %s", dl_str(r, "mode"), mode);
                dl_assert(&d, json_array_size(json_object_get(r, "listeners")) == 1, "%zu listeners moved",
                          json_array_size(json_object_get(r, "listeners")));
                pids[i] = jnum(r, "new_pid");
                dl_assert(&d, pids[i] > 0 && pids[i] != pids[i - 1], "new pid %lld", pids[i]);
                json_decref(r);
                dl_sleep_ms(50); /* the successor serves alone for a moment */
        }
        dl_sleep_ms(200);
        load = load_stop(&d, &l);
        fails = failures_text(load);
        dl_assert(&d, jnum(load, "failed") == 0, "%lld of %lld requests failed during %d upgrades (%s)",
                  jnum(load, "failed"), jnum(load, "requests"), N_UPGRADES, fails);
        dl_assert(&d, jnum(load, "requests") > 1000, "only %lld requests: the load did not run", jnum(load, "requests"));
        for (int i = 0; i <= N_UPGRADES; i++)
                dl_assert(&d, answered_by(load, "v", pids[i]), "instance %d (pid %lld) never answered a request", i,
                          pids[i]);
        fprintf(stderr, "upgrade %s: %d upgrades, %lld requests, 0 failed\n", mode, N_UPGRADES,
                jnum(load, "requests"));
        free(fails);
        json_decref(load);

        svc = dl_status(&d, "web");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "running") && dl_int(svc, "pid") == pids[N_UPGRADES],
                  "state %s pid %lld, expected running pid %lld", dl_str(svc, "state"), dl_int(svc, "pid"),
                  pids[N_UPGRADES]);
        dl_assert(&d, dl_int(svc, "restarts") == 0, "%lld restarts: an upgrade counted as a crash",
                  dl_int(svc, "restarts"));
        json_decref(svc);
        /* Every old instance drained and was reaped: no zombie, no straggler. */
        dl_assert(&d, dl_count_zombies_of(d.pid) == 0, "zombies left");
        {
                char *path = dl_path(&d, "state/logs/web.log"), *text = dl_read_file(path);
                int drained = 0;
                for (const char *p = text; p && (p = strstr(p, " drained")); p++)
                        drained++;
                dl_assert(&d, drained == N_UPGRADES, "%d old instances wrote that they drained, expected %d",
                          drained, N_UPGRADES);
                free(text);
                free(path);
        }
        dl_cli_ok(&d, "stop", "web", NULL);
        dl_done(&d);
}

/* HotRestart=takeover: the server bound its own socket; the daemon takes it out. */
static void takeover_unit(struct dl_daemon *d, int port) {
        dl_write_unit(d, "web", "[Service]\nExecStart=%s --bind 127.0.0.1:%d --tag v\n"
                      "[X-Pidvisor]\nHotRestart=takeover\nReadyCheck=delay 100ms\n", upserver(), port);
}

START_TEST(test_takeover_under_load) {
        upgrades_under_load(takeover_unit, "takeover");
}
END_TEST

/* HotRestart=socket (the default with [Socket]): the daemon's own listener. */
static void socket_unit(struct dl_daemon *d, int port) {
        dl_write_unit(d, "web", "[Service]\nExecStart=%s --tag v\n[Socket]\nListenStream=127.0.0.1:%d\n"
                      "[X-Pidvisor]\nReadyCheck=delay 100ms\n", upserver(), port);
}

START_TEST(test_socket_under_load) {
        upgrades_under_load(socket_unit, "socket");
}
END_TEST

/* Type=notify: the successor is ready when it says READY=1, not after a delay. */
static void notify_unit(struct dl_daemon *d, int port) {
        dl_write_unit(d, "web", "[Service]\nType=notify\nExecStart=%s --bind 127.0.0.1:%d --tag v --notify\n"
                      "[X-Pidvisor]\nHotRestart=takeover\n", upserver(), port);
}

START_TEST(test_notify_takeover_under_load) {
        upgrades_under_load(notify_unit, "takeover");
}
END_TEST

/* ---- transparent: services that know nothing of LISTEN_FDS ---- */

/* HotRestart=transparent: pv-upserver binds its own socket every time; the successor's
 * bind() is answered with the old instance's listener. */
static void transparent_unit(struct dl_daemon *d, int port) {
        dl_write_unit(d, "web", "[Service]\nExecStart=%s --bind 127.0.0.1:%d --tag v\n"
                      "[X-Pidvisor]\nHotRestart=transparent\nReadyCheck=delay 100ms\n", upserver(), port);
}

START_TEST(test_transparent_under_load) {
        upgrades_under_load(transparent_unit, "transparent");
}
END_TEST

/* The same under a seccomp policy: the interception lives in the policy's own filter
 * (a task has one listener), and the policy still decides everything else. */
static void transparent_policy_unit(struct dl_daemon *d, int port) {
        dl_write_unit(d, "web", "[Service]\nExecStart=%s --bind 127.0.0.1:%d --tag v\n"
                      "[X-Pidvisor]\nHotRestart=transparent\nReadyCheck=delay 100ms\nSeccompPolicy=server\n",
                      upserver(), port);
}

START_TEST(test_transparent_policy_under_load) {
        upgrades_under_load(transparent_policy_unit, "transparent");
}
END_TEST

/* A unix socket service that unlinks its path before bind (as most do): the live
 * socket's path must survive, and clients over the path see nothing. */
START_TEST(test_transparent_unix_path) {
        struct dl_daemon d;
        struct load l;
        char *path;
        json_t *load, *r;
        struct stat st1, st2;

        dl_init(&d);
        path = dl_path(&d, "web.sock");
        dl_write_unit(&d, "web", "[Service]\nExecStart=%s --bind %s --tag v\n"
                      "[X-Pidvisor]\nHotRestart=transparent\nReadyCheck=delay 100ms\n", upserver(), path);
        dl_start(&d, NULL);
        dl_cli_ok(&d, "start", "web", NULL);
        dl_sleep_ms(200);
        dl_assert(&d, stat(path, &st1) == 0 && S_ISSOCK(st1.st_mode), "no socket at %s", path);
        load_start_addr(&d, &l, path, 4, false); /* over the unix socket */
        for (int i = 0; i < 10; i++) {
                r = upgrade(&d, "web");
                json_decref(r);
                dl_sleep_ms(50);
        }
        load = load_stop(&d, &l);
        dl_assert(&d, jnum(load, "failed") == 0 && jnum(load, "requests") > 100,
                  "%lld of %lld requests over the unix socket failed", jnum(load, "failed"), jnum(load, "requests"));
        dl_assert(&d, stat(path, &st2) == 0 && st2.st_ino == st1.st_ino,
                  "the socket's path was replaced or removed (inode %lu, was %lu)", (unsigned long)st2.st_ino,
                  (unsigned long)st1.st_ino);
        dl_assert(&d, dl_log_count(&d, "answered 0: the listener lives on") >= 10,
                  "the successors' unlink() of the path were not answered");
        json_decref(load);
        free(path);
        dl_done(&d);
}
END_TEST

/* Real nginx in the foreground (master process on), drained with SIGQUIT: no request
 * lost over 20 upgrades, and the new masters really serve. */
START_TEST(test_transparent_nginx) {
        struct dl_daemon d;
        struct load l;
        json_t *load;
        char *dir, *conf, addr[64];
        int port = dl_free_port();
        FILE *f;

        dl_init(&d);
        dir = dl_path(&d, "nginx");
        ck_assert_int_eq(mkdir(dir, 0755), 0);
        conf = dl_path(&d, "nginx/nginx.conf");
        f = fopen(conf, "we");
        ck_assert_ptr_nonnull(f);
        fprintf(f,
                "worker_processes 1;\nerror_log %s/error.log;\npid %s/nginx.pid;\n"
                "events { worker_connections 512; }\n"
                "http {\n  access_log off;\n  client_body_temp_path %s;\n  proxy_temp_path %s;\n"
                "  fastcgi_temp_path %s;\n  uwsgi_temp_path %s;\n  scgi_temp_path %s;\n"
                "  server { listen 127.0.0.1:%d; location / { return 200 \"ok\\n\"; } }\n}\n",
                dir, dir, dir, dir, dir, dir, dir, port);
        fclose(f);
        dl_write_unit(&d, "nginx", "[Service]\nExecStart=/usr/sbin/nginx -c %s -g 'daemon off;'\n"
                      "[X-Pidvisor]\nHotRestart=transparent\nDrainSignal=SIGQUIT\nDrainTimeoutSec=20s\n", conf);
        dl_start(&d, NULL);
        dl_cli_ok(&d, "start", "nginx", NULL);
        dl_sleep_ms(300);
        snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
        load_start_addr(&d, &l, addr, 4, true);
        for (int i = 0; i < 20; i++) {
                json_t *r = upgrade(&d, "nginx");
                dl_assert(&d, !strcmp(dl_str(r, "mode"), "transparent"), "mode %s", dl_str(r, "mode"));
                json_decref(r);
        }
        dl_sleep_ms(200);
        load = load_stop(&d, &l);
        {
                char *fails = failures_text(load);
                fprintf(stderr, "nginx transparent: 20 upgrades, %lld requests, %lld failed (%s)\n",
                        jnum(load, "requests"), jnum(load, "failed"), fails);
                dl_assert(&d, jnum(load, "failed") == 0 && jnum(load, "requests") > 500,
                          "nginx: %lld of %lld requests failed over 20 upgrades (%s)", jnum(load, "failed"),
                          jnum(load, "requests"), fails);
                free(fails);
        }
        json_decref(load);
        dl_cli_ok(&d, "stop", "nginx", NULL);
        free(conf);
        free(dir);
        dl_done(&d);
}
END_TEST

/* python3 -m http.server dies at once on SIGTERM: it can lose what it had in flight, and
 * nothing else (with 4 connections, at most 4 requests an upgrade). */
START_TEST(test_transparent_python_http) {
        struct dl_daemon d;
        struct load l;
        json_t *load;
        char addr[64];
        int port = dl_free_port();
        const int n = 10;

        dl_init(&d);
        dl_write_unit(&d, "py", "[Service]\nExecStart=/usr/bin/python3 -m http.server --bind 127.0.0.1 %d\n"
                      "WorkingDirectory=/\n[X-Pidvisor]\nHotRestart=transparent\n", port);
        dl_start(&d, NULL);
        dl_cli_ok(&d, "start", "py", NULL);
        dl_sleep_ms(800);
        snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
        load_start_addr(&d, &l, addr, 4, true);
        for (int i = 0; i < n; i++)
                json_decref(upgrade(&d, "py"));
        load = load_stop(&d, &l);
        {
                char *fails = failures_text(load);
                fprintf(stderr, "python3 -m http.server transparent: %d upgrades, %lld requests, %lld failed (%s)\n", n,
                        jnum(load, "requests"), jnum(load, "failed"), fails);
                dl_assert(&d, jnum(load, "refused") == 0 && jnum(load, "slow_connect") == 0,
                          "python: connections refused during upgrades (%s)", fails);
                dl_assert(&d, jnum(load, "failed") <= 4 * n, "python lost %lld requests over %d upgrades, more than "
                          "the 4 it can have in flight each (%s)", jnum(load, "failed"), n, fails);
                free(fails);
        }
        json_decref(load);
        dl_done(&d);
}
END_TEST

/* The control experiment: the same load against stop+start of a server that binds its
 * own socket must see failures (refused while nobody listens, reset for what was
 * queued on the closed socket). */
START_TEST(test_naive_restart_fails) {
        struct dl_daemon d;
        struct load l;
        json_t *load;
        int port = dl_free_port();
        char *fails;

        dl_init(&d);
        dl_write_unit(&d, "web", "[Service]\nExecStart=%s --bind 127.0.0.1:%d --tag v\nStartLimitBurst=100\n", upserver(), port);
        dl_start(&d, NULL);
        dl_cli_ok(&d, "start", "web", NULL);
        load_start(&d, &l, port, 8);
        for (int i = 0; i < 10; i++) {
                dl_cli_ok(&d, "restart", "web", NULL);
                dl_sleep_ms(50);
        }
        load = load_stop(&d, &l);
        fails = failures_text(load);
        fprintf(stderr, "naive restart: %lld of %lld requests failed (%s)\n", jnum(load, "failed"),
                jnum(load, "requests"), fails);
        dl_assert(&d, jnum(load, "failed") > 0, "10 naive restarts under load and no failure seen (%s): the load "
                  "cannot see outages, so the zero of the upgrade tests would mean nothing", fails);
        free(fails);
        json_decref(load);
        dl_done(&d);
}
END_TEST

/* ---- errors: the old instance keeps serving, the command says what happened ---- */

static json_t *upgrade_error(struct dl_daemon *d, const char *name, char **error) {
        json_t *r = dl_request(d, "upgrade", json_pack("{s:s}", "name", name));
        dl_assert(d, json_is_false(json_object_get(r, "ok")), "upgrade of %s succeeded, expected a failure", name);
        *error = strdup(dl_str(r, "error"));
        return r;
}

static void assert_still_serving(struct dl_daemon *d, int port, long long pid) {
        char addr[32], buf[64] = "";
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ssize_t n;
        json_t *svc = dl_status(d, "web");

        dl_assert(d, !strcmp(dl_str(svc, "state"), "running") && dl_int(svc, "pid") == pid,
                  "state %s pid %lld, expected running pid %lld", dl_str(svc, "state"), dl_int(svc, "pid"), pid);
        json_decref(svc);
        snprintf(addr, sizeof(addr), "v %lld\n", pid);
        dl_assert(d, connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "connect: %s", strerror(errno));
        dl_assert(d, write(fd, "GET\n", 4) == 4, "write");
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        buf[n > 0 ? n : 0] = 0;
        dl_assert(d, !strcmp(buf, addr), "answer \"%s\", expected \"%s\"", buf, addr);
}

START_TEST(test_upgrade_errors) {
        struct dl_daemon d;
        json_t *svc;
        char *err;
        long long pid;
        int port = dl_free_port();

        dl_init(&d);
        dl_write_unit(&d, "web", "[Service]\nExecStart=%s --bind 127.0.0.1:%d --tag v\n[X-Pidvisor]\nHotRestart=takeover\n",
                      upserver(), port);
        dl_write_unit(&d, "plain", "[Service]\nExecStart=/bin/sleep 1000\n");
        dl_write_unit(&d, "nolisten", "[Service]\nExecStart=/bin/sleep 1000\n[X-Pidvisor]\nHotRestart=takeover\n");
        dl_start(&d, NULL);

        /* Not running. */
        json_decref(upgrade_error(&d, "web", &err));
        dl_assert(&d, strstr(err, "not running"), "error \"%s\"", err);
        free(err);
        /* Unknown service. */
        json_decref(upgrade_error(&d, "nosuch", &err));
        dl_assert(&d, strstr(err, "no such service"), "error \"%s\"", err);
        free(err);
        /* HotRestart=no (the default without [Socket]). */
        dl_cli_ok(&d, "start", "plain", "nolisten", "web", NULL);
        /* web binds its socket itself, a moment after it is running: a takeover before
         * that finds nothing to move (seen on a loaded machine). */
        for (int64_t deadline = dl_now_ms() + 5000;;) {
                struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
                int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;
                ck_assert_int_ge(fd, 0);
                ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
                close(fd);
                if (ok)
                        break;
                dl_assert(&d, dl_now_ms() < deadline, "web does not listen on port %d", port);
                dl_sleep_ms(10);
        }
        json_decref(upgrade_error(&d, "plain", &err));
        dl_assert(&d, strstr(err, "HotRestart=no") && strstr(err, "takeover"), "error \"%s\"", err);
        free(err);
        /* takeover with nothing listening. */
        json_decref(upgrade_error(&d, "nolisten", &err));
        dl_assert(&d, strstr(err, "no listening socket"), "error \"%s\"", err);
        free(err);
        svc = dl_status(&d, "nolisten");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "running"), "nolisten: state %s", dl_str(svc, "state"));
        json_decref(svc);

        svc = dl_status(&d, "web");
        pid = dl_int(svc, "pid");
        json_decref(svc);
        /* Type=simple: running once spawned; wait until it listens. */
        for (int i = 0; i < 100; i++) {
                struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
                int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                bool up = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
                close(fd);
                if (up)
                        break;
                dl_sleep_ms(20);
        }
        assert_still_serving(&d, port, pid);

        /* A successor that cannot be executed: the error says so, the old one serves. */
        dl_write_unit(&d, "web", "[Service]\nExecStart=/nonexistent/server --bind 127.0.0.1:%d\n"
                                 "[X-Pidvisor]\nHotRestart=takeover\n", port);
        dl_cli_ok(&d, "reload", NULL);
        json_decref(upgrade_error(&d, "web", &err));
        dl_assert(&d, strstr(err, "/nonexistent/server"), "error \"%s\" should name the program", err);
        free(err);
        assert_still_serving(&d, port, pid);

        /* A successor that dies at once (before ReadyCheck= passes): rolled back. */
        dl_write_unit(&d, "web", "[Service]\nExecStart=/bin/sh -c 'exit 7'\n[X-Pidvisor]\nHotRestart=takeover\n");
        dl_cli_ok(&d, "reload", NULL);
        json_decref(upgrade_error(&d, "web", &err));
        dl_assert(&d, strstr(err, "exited 7") && strstr(err, "before it was ready") && strstr(err, "keeps serving"),
                  "error \"%s\"", err);
        free(err);
        assert_still_serving(&d, port, pid);

        /* A successor that never gets ready (Type=notify, no READY=1): killed after
         * UpgradeTimeoutSec=; meanwhile a second upgrade is refused. */
        dl_write_unit(&d, "web", "[Service]\nType=notify\nExecStart=%s --tag w\n"
                                 "[X-Pidvisor]\nHotRestart=takeover\nUpgradeTimeoutSec=1500ms\n", upserver());
        dl_cli_ok(&d, "reload", NULL);
        {
                struct dl_conn c;
                json_t *first, *second;
                char *line;

                dl_connect(&d, &c);
                dl_send_line(&d, &c, "{\"id\":1,\"cmd\":\"upgrade\",\"args\":{\"name\":\"web\"}}");
                dl_sleep_ms(300);
                second = dl_request(&d, "upgrade", json_pack("{s:s}", "name", "web"));
                dl_assert(&d, json_is_false(json_object_get(second, "ok")) && strstr(dl_str(second, "error"), "under way"),
                          "a second upgrade at once: \"%s\"", dl_str(second, "error"));
                json_decref(second);
                line = dl_recv_line(&c, 5000);
                dl_assert(&d, line, "no reply to the first upgrade");
                first = json_loads(line, 0, NULL);
                dl_assert(&d, first && json_is_false(json_object_get(first, "ok")) &&
                                  strstr(dl_str(first, "error"), "not ready within") &&
                                  strstr(dl_str(first, "error"), "keeps serving"),
                          "first upgrade: %s", line);
                free(line);
                json_decref(first);
                dl_close(&c);
        }
        assert_still_serving(&d, port, pid);
        svc = dl_status(&d, "web");
        dl_assert(&d, dl_int(svc, "restarts") == 0 && json_array_size(json_object_get(svc, "history")) == 0,
                  "a failed upgrade counted as a crash: %lld restarts", dl_int(svc, "restarts"));
        json_decref(svc);
        dl_assert(&d, dl_count_zombies_of(d.pid) == 0, "zombies left");
        dl_cli_ok(&d, "stop", "web", "plain", "nolisten", NULL);
        dl_done(&d);
}
END_TEST

/* pidfd_getfd needs ptrace access: a daemon running as nobody cannot take the sockets of
 * a service that made itself non-dumpable.  The upgrade is refused with what the kernel
 * wants, and the service goes on serving. */
START_TEST(test_takeover_eperm) {
        static const char *const prefix[] = { "/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                               NULL };
        static const char *const extra[] = { "--log-level", "debug", NULL };
        struct dl_daemon d;
        json_t *svc;
        char *err;
        int port = dl_free_port();

        dl_init(&d);
        ck_assert_int_eq(chown(d.dir, 65534, 65534), 0);
        dl_write_unit(&d, "web",
                      "[Service]\nExecStart=/usr/bin/python3 -c \"import ctypes,socket;"
                      "ctypes.CDLL(None).prctl(4,0,0,0,0);"
                      "s=socket.socket();s.bind(('127.0.0.1',%d));s.listen();"
                      "[c.close() for c,_ in iter(s.accept,None)]\"\n"
                      "[X-Pidvisor]\nHotRestart=takeover\n",
                      port);
        dl_start_full(&d, prefix, extra);
        dl_assert(&d, dl_proc_status_field(d.pid, "Uid") == 65534, "the daemon does not run as uid 65534");
        dl_cli_ok(&d, "start", "web", NULL);
        dl_sleep_ms(500);
        json_decref(upgrade_error(&d, "web", &err));
        dl_assert(&d, (strstr(err, "Operation not permitted") || strstr(err, "Permission denied")) &&
                          strstr(err, "ptrace") && strstr(err, "CAP_SYS_PTRACE"),
                  "error \"%s\" should say what pidfd_getfd needs", err);
        free(err);
        svc = dl_status(&d, "web");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "running") && json_array_size(json_object_get(svc, "history")) == 0,
                  "state %s after the refused upgrade", dl_str(svc, "state"));
        json_decref(svc);
        dl_cli_ok(&d, "stop", "web", NULL);
        dl_done(&d);
}
END_TEST

/* KeepListeners=yes: a crash-restart of a takeover service refuses nothing either, since
 * the daemon held copies of its listeners and hands them to the new instance. */
START_TEST(test_keep_listeners_crash) {
        struct dl_daemon d;
        struct load l;
        json_t *svc, *load;
        int port = dl_free_port();
        char *fails;

        dl_init(&d);
        dl_write_unit(&d, "web",
                      "[Service]\nExecStart=%s --bind 127.0.0.1:%d --tag v\nRestart=always\nRestartSec=50ms\n"
                      "StartLimitBurst=100\n[X-Pidvisor]\nHotRestart=takeover\nKeepListeners=yes\n"
                      "ReadyCheck=delay 100ms\n",
                      upserver(), port);
        dl_start(&d, NULL);
        dl_cli_ok(&d, "start", "web", NULL);
        dl_sleep_ms(300); /* the copies are taken 100 ms after it started */
        load_start(&d, &l, port, 4);
        for (int i = 0; i < 5; i++) {
                long long pid;
                svc = dl_status(&d, "web");
                pid = dl_int(svc, "pid");
                json_decref(svc);
                kill((pid_t)pid, SIGKILL);
                dl_sleep_ms(400);
        }
        load = load_stop(&d, &l);
        fails = failures_text(load);
        /* A request the killed instance had accepted dies with it (reset): what must not
         * happen is a refused connection. */
        dl_assert(&d, jnum(load, "refused") == 0 && jnum(load, "slow_connect") == 0,
                  "crash-restarts with KeepListeners=yes refused connections (%s)", fails);
        dl_assert(&d, jnum(load, "failed") <= 5, "%lld failed requests over 5 crashes (%s): more than one in flight each",
                  jnum(load, "failed"), fails);
        svc = dl_status(&d, "web");
        dl_assert(&d, dl_int(svc, "restarts") == 5, "%lld restarts", dl_int(svc, "restarts"));
        json_decref(svc);
        free(fails);
        json_decref(load);
        dl_done(&d);
}
END_TEST

int main(void) {
        Suite *s = pv_test_suite("integration-upgrade");
        TCase *tc;
        int ret;

        dl_suite_begin("upgrade");

        tc = pv_test_case("under-load");
        tcase_set_timeout(tc, 240);
        tcase_add_test(tc, test_takeover_under_load);
        tcase_add_test(tc, test_socket_under_load);
        tcase_add_test(tc, test_notify_takeover_under_load);
        tcase_add_test(tc, test_naive_restart_fails);
        pv_test_add(s, tc, pv_test_need_root());

        tc = pv_test_case("transparent");
        tcase_set_timeout(tc, 240);
        tcase_add_test(tc, test_transparent_under_load);
        tcase_add_test(tc, test_transparent_policy_under_load);
        tcase_add_test(tc, test_transparent_unix_path);
        tcase_add_test(tc, test_transparent_python_http);
        pv_test_add(s, tc, pv_test_need_root());

        tc = pv_test_case("nginx");
        tcase_set_timeout(tc, 240);
        tcase_add_test(tc, test_transparent_nginx);
        pv_test_add(s, tc, access("/usr/sbin/nginx", X_OK) == 0 ? pv_test_need_root()
                                                                : "nginx is missing (apt-get install nginx-light)");

        tc = pv_test_case("errors");
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_upgrade_errors);
        tcase_add_test(tc, test_keep_listeners_crash);
        tcase_add_test(tc, test_takeover_eperm);
        pv_test_add(s, tc, pv_test_need_root());

        ret = pv_test_main(s);
        dl_suite_end();
        return ret;
}
