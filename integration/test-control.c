/* SPDX-License-Identifier: MIT */
/* Integration tests of the daemon's control socket (docs/protocol.md): the commands, and
 * how it copes with clients that misbehave: garbage, endless lines, silence, floods,
 * clients that vanish mid-job, strangers.  Each test runs its own daemon (daemonlib.h)
 * and talks to it over raw connections. */
#include "daemonlib.h"
#include "testlib.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define FIX dl_fixture()

/* ---- helpers ---- */

/* Sends one line on c and returns the next reply. */
static json_t *roundtrip(struct dl_daemon *d, struct dl_conn *c, const char *line) {
        dl_send_line(d, c, line);
        return dl_recv_json(d, c, DL_DEADLINE_MS);
}

/* Checks a reply: ok as given, and (for an error) that the message holds `needle`. */
static void expect_reply(struct dl_daemon *d, json_t *reply, bool ok, const char *needle, const char *request) {
        char *s = json_dumps(reply, JSON_COMPACT);

        dl_assert(d, json_is_boolean(json_object_get(reply, "ok")), "reply without \"ok\" to %s: %s", request, s);
        dl_assert(d, json_is_true(json_object_get(reply, "ok")) == ok, "request %s: reply %s, expected ok=%s",
                  request, s, ok ? "true" : "false");
        if (!ok)
                dl_assert(d, strstr(dl_str(reply, "error"), needle), "request %s: error %s should mention \"%s\"",
                          request, s, needle);
        free(s);
}

static void expect_ping_ok(struct dl_daemon *d, struct dl_conn *c, const char *when) {
        json_t *r = roundtrip(d, c, "{\"id\":\"last\",\"cmd\":\"ping\"}");

        dl_assert(d, json_is_true(json_object_get(r, "ok")) && !strcmp(dl_str(r, "id"), "last"),
                  "ping %s: %s", when, json_dumps(r, JSON_COMPACT));
        json_decref(r);
}

/* A ping on a fresh connection works. */
static void expect_serving(struct dl_daemon *d, const char *when) {
        struct dl_conn c;

        dl_assert(d, !dl_exited(d), "the daemon died %s (wait status 0x%x)", when, d->wstatus);
        dl_connect(d, &c);
        expect_ping_ok(d, &c, when);
        dl_close(&c);
}

/* Waits for EOF on c (discarding lines); returns how long it took, or -1 on timeout. */
static int64_t time_to_eof(struct dl_conn *c, int timeout_ms) {
        int64_t start = dl_now_ms(), deadline = start + timeout_ms;

        while (!c->eof) {
                int left = (int)(deadline - dl_now_ms());
                char *line;

                if (left <= 0)
                        return -1;
                line = dl_recv_line(c, left);
                free(line);
        }
        return dl_now_ms() - start;
}

/* utime + stime of a process, in clock ticks. */
static long long cpu_ticks(pid_t pid) {
        char path[64], buf[1024], *p;
        unsigned long long ut = 0, st = 0;
        ssize_t n;
        int fd;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        ck_assert_int_gt(n, 0);
        buf[n] = 0;
        p = strrchr(buf, ')');
        ck_assert_ptr_nonnull(p);
        /* After ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
        ck_assert_int_eq(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st), 2);
        return (long long)(ut + st);
}

static void raise_own_nofile(rlim_t want) {
        struct rlimit rl;

        ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
        if (rl.rlim_cur < want) {
                rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
                ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
        }
}

/* ---- the commands ---- */

START_TEST(test_ping) {
        static const char *const ids[] = { "7", "\"abc\"", "{\"x\":[1,2]}", "null", "-3.5" };
        struct dl_daemon d;
        struct dl_conn c;
        json_t *r;

        dl_init(&d);
        dl_start(&d, NULL);
        dl_connect(&d, &c);
        for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
                char req[128];
                json_t *want = json_loads(ids[i], JSON_DECODE_ANY, NULL);

                snprintf(req, sizeof(req), "{\"id\":%s,\"cmd\":\"ping\"}", ids[i]);
                r = roundtrip(&d, &c, req);
                expect_reply(&d, r, true, NULL, req);
                dl_assert(&d, json_equal(json_object_get(r, "id"), want), "%s: the id came back as %s", req,
                          json_dumps(json_object_get(r, "id"), JSON_ENCODE_ANY));
                dl_assert(&d, *dl_str(json_object_get(r, "result"), "version") &&
                                      *dl_str(json_object_get(r, "result"), "loop"),
                          "ping result without version and loop: %s", json_dumps(r, JSON_COMPACT));
                json_decref(want);
                json_decref(r);
        }
        /* Without an id, the reply's id is null. */
        r = roundtrip(&d, &c, "{\"cmd\":\"ping\"}");
        expect_reply(&d, r, true, NULL, "ping without id");
        dl_assert(&d, json_is_null(json_object_get(r, "id")), "ping without id: %s", json_dumps(r, JSON_COMPACT));
        json_decref(r);
        dl_close(&c);
        dl_done(&d);
}
END_TEST

START_TEST(test_list_and_status) {
        static const char *const keys[] = { "name", "state", "reason", "since", "pid", "uptime_usec", "restarts",
                                            "last_exit", "description", "load_error", "reload_pending" };
        struct dl_daemon d;
        struct dl_conn c;
        json_t *r, *svcs, *svc;
        size_t i;

        dl_init(&d);
        dl_write_unit(&d, "alpha", "[Unit]\nDescription=the first\n[Service]\nExecStart=%s sleep 1000\n"
                                   "[X-Pidvisor]\nAutoStart=yes\n", FIX);
        dl_write_unit(&d, "beta", "[Service]\nExecStart=%s sleep 1000\nRestart=on-failure\n", FIX);
        dl_start(&d, NULL);
        dl_connect(&d, &c);

        r = roundtrip(&d, &c, "{\"id\":1,\"cmd\":\"list\"}");
        expect_reply(&d, r, true, NULL, "list");
        svcs = json_object_get(json_object_get(r, "result"), "services");
        dl_assert(&d, json_array_size(svcs) == 2, "list has %zu services, expected 2", json_array_size(svcs));
        json_array_foreach(svcs, i, svc) {
                for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
                        dl_assert(&d, json_object_get(svc, keys[k]), "SERVICE without \"%s\": %s", keys[k],
                                  json_dumps(svc, JSON_COMPACT));
                dl_assert(&d, !json_object_get(svc, "history"), "list carries the history");
        }
        svc = json_array_get(svcs, 0);
        dl_assert(&d, !strcmp(dl_str(svc, "name"), "alpha") && !strcmp(dl_str(svc, "state"), "running") &&
                              dl_int(svc, "pid") > 0 && dl_int(svc, "uptime_usec") >= 0 &&
                              !strcmp(dl_str(svc, "description"), "the first"),
                  "alpha in the list: %s", json_dumps(svc, JSON_COMPACT));
        svc = json_array_get(svcs, 1);
        dl_assert(&d, !strcmp(dl_str(svc, "name"), "beta") && !strcmp(dl_str(svc, "state"), "inactive") &&
                              json_is_null(json_object_get(svc, "pid")) &&
                              json_is_null(json_object_get(svc, "last_exit")),
                  "beta in the list: %s", json_dumps(svc, JSON_COMPACT));
        json_decref(r);

        /* status without a name is the list. */
        r = roundtrip(&d, &c, "{\"id\":2,\"cmd\":\"status\"}");
        expect_reply(&d, r, true, NULL, "status");
        dl_assert(&d, json_array_size(json_object_get(json_object_get(r, "result"), "services")) == 2,
                  "status without a name: %s", json_dumps(r, JSON_COMPACT));
        json_decref(r);

        r = roundtrip(&d, &c, "{\"id\":3,\"cmd\":\"status\",\"args\":{\"name\":\"beta\"}}");
        expect_reply(&d, r, true, NULL, "status beta");
        svc = json_object_get(r, "result");
        dl_assert(&d, json_is_array(json_object_get(svc, "history")) &&
                              strstr(dl_str(svc, "unit_file"), "beta.service") &&
                              !strcmp(dl_str(svc, "restart"), "on-failure") && *dl_str(svc, "kill_scope"),
                  "status beta: %s", json_dumps(svc, JSON_COMPACT));
        json_decref(r);

        r = roundtrip(&d, &c, "{\"id\":4,\"cmd\":\"status\",\"args\":{\"name\":\"gamma\"}}");
        expect_reply(&d, r, false, "no such service \"gamma\"", "status gamma");
        dl_assert(&d, dl_int(r, "id") == 4, "the error reply has id %lld", dl_int(r, "id"));
        json_decref(r);
        r = roundtrip(&d, &c, "{\"id\":5,\"cmd\":\"start\",\"args\":{\"name\":\"gamma\"}}");
        expect_reply(&d, r, false, "no such service", "start gamma");
        json_decref(r);
        r = roundtrip(&d, &c, "{\"id\":6,\"cmd\":\"start\"}");
        expect_reply(&d, r, false, "name", "start without args");
        json_decref(r);
        r = roundtrip(&d, &c, "{\"id\":7,\"cmd\":\"stop\",\"args\":{\"name\":42}}");
        expect_reply(&d, r, false, "name", "stop with a number for a name");
        json_decref(r);
        expect_ping_ok(&d, &c, "after the errors");
        dl_close(&c);
        dl_done(&d);
}
END_TEST

START_TEST(test_unknown_command) {
        static const char *const known[] = { "ping", "list", "status", "start", "stop", "restart", "reset-failed",
                                             "reload", "events" };
        struct dl_daemon d;
        struct dl_conn c;
        json_t *r;

        dl_init(&d);
        dl_start(&d, NULL);
        dl_connect(&d, &c);
        r = roundtrip(&d, &c, "{\"id\":9,\"cmd\":\"frobnicate\"}");
        expect_reply(&d, r, false, "frobnicate", "frobnicate");
        dl_assert(&d, dl_int(r, "id") == 9, "id %lld", dl_int(r, "id"));
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
                dl_assert(&d, strstr(dl_str(r, "error"), known[i]), "the error \"%s\" does not list \"%s\"",
                          dl_str(r, "error"), known[i]);
        json_decref(r);
        expect_ping_ok(&d, &c, "after an unknown command");
        dl_close(&c);
        dl_done(&d);
}
END_TEST

/* Every malformed request gets an error naming the problem; the connection stays. */
START_TEST(test_bad_requests_keep_connection) {
        static const struct {
                const char *line, *error;
                bool id_null;
        } bad[] = {
                { "garbage", "invalid request", true },
                { "{\"id\":1,\"cmd\":\"ping\"", "invalid request", true },
                { "{\"id\":1,\"cmd\":\"ping\"}}", "invalid request", true },
                { "[1,2,3]", "not a JSON object", true },
                /* jansson refuses a scalar at the top level while parsing:
                 * "'[' or '{' expected". */
                { "\"ping\"", "invalid request", true },
                { "42", "invalid request", true },
                { "null", "invalid request", true },
                { "{\"id\":2}", "missing \"cmd\"", false },
                { "{\"id\":3,\"cmd\":7}", "missing \"cmd\"", false },
                { "{\"id\":4,\"cmd\":\"status\",\"args\":[\"x\"]}", "\"args\" must be an object", false },
                { "{\"id\":5,\"cmd\":\"ping\",\"cmd\":\"list\"}", "invalid request", true },
                { "\xff\xfe{}", "invalid request", true },
        };
        struct dl_daemon d;
        struct dl_conn c;

        dl_init(&d);
        dl_start(&d, NULL);
        dl_connect(&d, &c);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                json_t *r = roundtrip(&d, &c, bad[i].line);
                expect_reply(&d, r, false, bad[i].error, bad[i].line);
                if (bad[i].id_null)
                        dl_assert(&d, json_is_null(json_object_get(r, "id")), "%s: id %s", bad[i].line,
                                  json_dumps(r, JSON_COMPACT));
                else
                        dl_assert(&d, dl_int(r, "id") >= 2, "%s: the id was not echoed: %s", bad[i].line,
                                  json_dumps(r, JSON_COMPACT));
                json_decref(r);
        }
        /* Empty lines are skipped without a reply. */
        dl_send_line(&d, &c, "");
        expect_ping_ok(&d, &c, "after the malformed requests");
        dl_close(&c);
        dl_done(&d);
}
END_TEST

START_TEST(test_long_line) {
        const size_t big = 1024 * 1024, near = 60 * 1024;
        struct dl_daemon d;
        struct dl_conn c;
        char *data, *line;
        json_t *r;
        int64_t t;

        dl_init(&d);
        dl_start(&d, NULL);

        /* Just under the limit: answered. */
        data = malloc(near + 64);
        ck_assert_ptr_nonnull(data);
        memcpy(data, "{\"cmd\":\"ping\",\"id\":\"", 20);
        memset(data + 20, 'x', near);
        strcpy(data + 20 + near, "\"}");
        dl_connect(&d, &c);
        r = roundtrip(&d, &c, data);
        expect_reply(&d, r, true, NULL, "a 60 KiB ping");
        dl_assert(&d, strlen(dl_str(r, "id")) == near, "the 60 KiB id came back with %zu bytes",
                  strlen(dl_str(r, "id")));
        json_decref(r);
        dl_close(&c);
        free(data);

        /* 1 MiB without a newline: an error, then the connection is closed. */
        data = malloc(big);
        ck_assert_ptr_nonnull(data);
        memset(data, 'a', big);
        dl_connect(&d, &c);
        dl_send_raw(&c, data, big); /* may fail half-way: the daemon hangs up */
        line = dl_recv_line(&c, DL_DEADLINE_MS);
        dl_assert(&d, line, "no reply to a 1 MiB line (%s)", c.eof ? "closed" : "timeout");
        r = json_loads(line, 0, NULL);
        dl_assert(&d, r, "reply is not JSON: %s", line);
        expect_reply(&d, r, false, "request too long", "1 MiB line");
        json_decref(r);
        free(line);
        t = time_to_eof(&c, 3000);
        dl_assert(&d, t >= 0, "the connection stayed open after \"request too long\"");
        dl_close(&c);
        free(data);
        expect_serving(&d, "after a 1 MiB line");
        dl_done(&d);
}
END_TEST

START_TEST(test_half_written_request) {
        struct dl_daemon d;
        struct dl_conn c;
        char *line;

        dl_init(&d);
        dl_start(&d, NULL);

        /* Half a request, then gone. */
        dl_connect(&d, &c);
        ck_assert(dl_send_raw(&c, "{\"id\":1,\"cmd\":\"pi", 17));
        dl_close(&c);
        dl_sleep_ms(50);
        expect_serving(&d, "after a client left half a request");

        /* Half a request, then the client's side closed: the daemon closes too, without
         * waiting for the idle timeout, and answers nothing successful. */
        dl_connect(&d, &c);
        ck_assert(dl_send_raw(&c, "{\"id\":1,\"cmd\":\"pi", 17));
        ck_assert_int_eq(shutdown(c.fd, SHUT_WR), 0);
        line = dl_recv_line(&c, 2000);
        dl_assert(&d, !line || !strstr(line, "\"ok\":true"), "a half request was answered: %s", line);
        free(line);
        dl_assert(&d, time_to_eof(&c, 2000) >= 0, "the daemon kept a half-closed connection open for 2 s");
        dl_close(&c);

        /* A complete request and then the close: answered before the close. */
        dl_connect(&d, &c);
        ck_assert(dl_send_raw(&c, "{\"id\":2,\"cmd\":\"ping\"}\n", 22));
        ck_assert_int_eq(shutdown(c.fd, SHUT_WR), 0);
        line = dl_recv_line(&c, 2000);
        dl_assert(&d, line && strstr(line, "\"ok\":true"), "a request followed by shutdown(SHUT_WR) got %s",
                  line ? line : "no reply");
        free(line);
        dl_close(&c);
        expect_serving(&d, "after the half-written requests");
        dl_done(&d);
}
END_TEST

/* A silent client and one that wrote half a line are closed after about 10 s; an events
 * subscriber is not. */
START_TEST(test_idle_clients_closed) {
        struct dl_daemon d;
        struct dl_conn silent, partial, sub;
        int64_t start, t_silent = -1, t_partial = -1;
        json_t *e;

        dl_init(&d);
        dl_write_unit(&d, "svc", "[Service]\nExecStart=%s sleep 1000\n", FIX);
        dl_start(&d, NULL);
        json_decref(dl_subscribe(&d, &sub));
        dl_connect(&d, &silent);
        dl_connect(&d, &partial);
        ck_assert(dl_send_raw(&partial, "{\"id\":1,", 8));
        start = dl_now_ms();
        while ((t_silent < 0 || t_partial < 0) && dl_now_ms() - start < 14000) {
                struct pollfd p[2] = {
                        { .fd = t_silent < 0 ? silent.fd : -1, .events = POLLIN },
                        { .fd = t_partial < 0 ? partial.fd : -1, .events = POLLIN },
                };
                char buf[256];

                if (poll(p, 2, 200) <= 0)
                        continue;
                if (p[0].revents && recv(silent.fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0)
                        t_silent = dl_now_ms() - start;
                if (p[1].revents && recv(partial.fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0)
                        t_partial = dl_now_ms() - start;
        }
        dl_assert(&d, t_silent >= 9000 && t_silent <= 12500, "a silent client was closed after %lld ms, expected 10 s",
                  (long long)t_silent);
        dl_assert(&d, t_partial >= 9000 && t_partial <= 12500,
                  "a client with half a line was closed after %lld ms, expected 10 s", (long long)t_partial);
        /* The subscriber is still there and gets events. */
        dl_cli_ok(&d, "start", "svc", NULL);
        e = dl_next_event(&d, &sub, "svc", 2000);
        dl_assert(&d, !strcmp(dl_str(e, "state"), "running"), "event %s", dl_str(e, "state"));
        json_decref(e);
        dl_close(&silent);
        dl_close(&partial);
        dl_close(&sub);
        dl_done(&d);
}
END_TEST

/* A client that trickles a request one byte a second never completes a line: it is still
 * "only part of a line for 10 s" and must be closed like a silent one. */
START_TEST(test_idle_slow_drip_closed) {
        const char *req = "{\"id\":1,\"cmd\":\"ping\",\"args\":{\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxx";
        struct dl_daemon d;
        struct dl_conn c;
        int64_t start;
        size_t i = 0;
        bool closed = false;

        dl_init(&d);
        dl_start(&d, NULL);
        dl_connect(&d, &c);
        start = dl_now_ms();
        while (dl_now_ms() - start < 14000 && !closed) {
                struct pollfd p = { .fd = c.fd, .events = POLLIN };
                char buf[256];

                if (i < strlen(req) && !dl_send_raw(&c, req + i, 1))
                        closed = true;
                i++;
                if (poll(&p, 1, 1000) > 0 && recv(c.fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0)
                        closed = true;
        }
        dl_assert(&d, closed, "a client sending one byte a second without a newline was still connected after %lld ms "
                              "(expected to be closed after 10 s of only part of a line)",
                  (long long)(dl_now_ms() - start));
        dl_close(&c);
        dl_done(&d);
}
END_TEST

START_TEST(test_many_clients) {
        enum { N = 100 };
        struct dl_daemon d;
        struct dl_conn c[N];
        bool answered[N] = { false };
        int n_answered = 0;
        int64_t deadline;

        dl_init(&d);
        dl_write_unit(&d, "svc", "[Service]\nExecStart=%s sleep 1000\n[X-Pidvisor]\nAutoStart=yes\n", FIX);
        dl_start(&d, NULL);
        for (int i = 0; i < N; i++)
                dl_connect(&d, &c[i]);
        for (int i = 0; i < N; i++) {
                char req[96];
                snprintf(req, sizeof(req), "{\"id\":%d,\"cmd\":\"status\",\"args\":{\"name\":\"svc\"}}", i);
                dl_send_line(&d, &c[i], req);
        }
        deadline = dl_now_ms() + DL_DEADLINE_MS;
        while (n_answered < N && dl_now_ms() < deadline) {
                struct pollfd p[N];
                for (int i = 0; i < N; i++)
                        p[i] = (struct pollfd){ .fd = answered[i] ? -1 : c[i].fd, .events = POLLIN };
                if (poll(p, N, 500) <= 0)
                        continue;
                for (int i = 0; i < N; i++) {
                        char *line;
                        json_t *r;
                        if (!p[i].revents)
                                continue;
                        line = dl_recv_line(&c[i], 1000);
                        dl_assert(&d, line, "client %d: no reply (%s)", i, c[i].eof ? "closed" : "timeout");
                        r = json_loads(line, 0, NULL);
                        dl_assert(&d, r && json_is_true(json_object_get(r, "ok")) && dl_int(r, "id") == i &&
                                              !strcmp(dl_str(json_object_get(r, "result"), "state"), "running"),
                                  "client %d got %s", i, line);
                        json_decref(r);
                        free(line);
                        answered[i] = true;
                        n_answered++;
                }
        }
        dl_assert(&d, n_answered == N, "%d of %d clients answered", n_answered, N);
        for (int i = 0; i < N; i++)
                dl_close(&c[i]);
        expect_serving(&d, "after 100 clients");
        dl_done(&d);
}
END_TEST

/* Requests sent in one write are all answered with their ids; a ping behind a slow stop
 * is answered at once, not after the stop. */
START_TEST(test_pipelined_requests) {
        const char *batch = "{\"id\":1,\"cmd\":\"ping\"}\n"
                            "{\"id\":2,\"cmd\":\"list\"}\n"
                            "{\"id\":3,\"cmd\":\"status\",\"args\":{\"name\":\"slow\"}}\n"
                            "{\"id\":4,\"cmd\":\"status\",\"args\":{\"name\":\"nope\"}}\n"
                            "{\"id\":5,\"cmd\":\"start\",\"args\":{\"name\":\"quick\"}}\n"
                            "{\"id\":6,\"cmd\":\"stop\",\"args\":{\"name\":\"slow\"}}\n"
                            "{\"id\":7,\"cmd\":\"ping\"}\n"
                            "{\"id\":8,\"cmd\":\"status\",\"args\":{\"name\":\"quick\"}}\n";
        static const bool want_ok[9] = { false, true, true, true, false, true, true, true, true };
        struct dl_daemon d;
        struct dl_conn c;
        int order[9] = { 0 }, seen = 0;

        dl_init(&d);
        dl_write_unit(&d, "slow", "[Service]\nExecStart=%s ignore-term\nTimeoutStopSec=1s\n"
                                  "[X-Pidvisor]\nAutoStart=yes\n", FIX);
        dl_write_unit(&d, "quick", "[Service]\nExecStart=%s sleep 1000\n", FIX);
        dl_start(&d, NULL);
        dl_sleep_ms(100); /* let the fixture ignore SIGTERM */
        dl_connect(&d, &c);
        ck_assert(dl_send_raw(&c, batch, strlen(batch)));
        while (seen < 8) {
                json_t *r = dl_recv_json(&d, &c, 5000);
                long long id = dl_int(r, "id");

                dl_assert(&d, id >= 1 && id <= 8 && !order[id], "unexpected or repeated reply %s",
                          json_dumps(r, JSON_COMPACT));
                dl_assert(&d, json_is_true(json_object_get(r, "ok")) == want_ok[id], "reply %lld: %s", id,
                          json_dumps(r, JSON_COMPACT));
                order[id] = ++seen;
                json_decref(r);
        }
        dl_assert(&d, order[7] < order[6],
                  "the ping sent after a slow stop was answered only after it (reply %d vs %d)", order[7], order[6]);
        dl_close(&c);
        dl_done(&d);
}
END_TEST

START_TEST(test_events_stream) {
        static const char *const want[] = { "running", "stopping", "inactive" };
        struct dl_daemon d;
        struct dl_conn ev;
        json_t *initial, *e;
        long long prev = 0, pid = -1;

        dl_init(&d);
        dl_write_unit(&d, "svc", "[Service]\nExecStart=%s sleep 1000\n", FIX);
        dl_write_unit(&d, "other", "[Service]\nExecStart=%s sleep 1000\n", FIX);
        dl_start(&d, NULL);
        initial = dl_subscribe(&d, &ev);
        dl_assert(&d, json_array_size(json_object_get(initial, "services")) == 2,
                  "the events reply should list the services: %s", json_dumps(initial, JSON_COMPACT));
        json_decref(initial);
        dl_cli_ok(&d, "start", "svc", NULL);
        dl_cli_ok(&d, "stop", "svc", NULL);
        for (size_t i = 0; i < 3; i++) {
                e = dl_recv_json(&d, &ev, 3000);
                dl_assert(&d, !strcmp(dl_str(e, "event"), "state") && !strcmp(dl_str(e, "name"), "svc") &&
                                      !strcmp(dl_str(e, "state"), want[i]),
                          "event %zu: %s, expected svc %s", i, json_dumps(e, JSON_COMPACT), want[i]);
                dl_assert(&d, dl_int(e, "time") >= prev, "event times go backwards");
                prev = dl_int(e, "time");
                if (i == 0)
                        pid = dl_int(e, "pid");
                else if (i == 2)
                        dl_assert(&d, json_is_null(json_object_get(e, "pid")), "inactive event with a pid");
                json_decref(e);
        }
        dl_assert(&d, pid > 0, "the running event has no pid");
        /* Nothing about the other service, nothing more. */
        dl_assert(&d, !dl_recv_line(&ev, 300), "an unexpected extra event");
        dl_close(&ev);
        expect_serving(&d, "after a subscriber left");
        dl_done(&d);
}
END_TEST

/* A client waiting for a stop goes away: the daemon finishes the job and carries on. */
START_TEST(test_waiting_client_vanishes) {
        struct dl_daemon d;
        struct dl_conn c;
        json_t *svc;
        char *line;
        int64_t t0;

        dl_init(&d);
        dl_write_unit(&d, "slow", "[Service]\nExecStart=%s ignore-term\nTimeoutStopSec=1s\n"
                                  "[X-Pidvisor]\nAutoStart=yes\n", FIX);
        dl_start(&d, NULL);
        dl_sleep_ms(100);
        dl_connect(&d, &c);
        dl_send_line(&d, &c, "{\"id\":1,\"cmd\":\"stop\",\"args\":{\"name\":\"slow\"}}");
        dl_sleep_ms(100);
        dl_close(&c);
        svc = dl_wait_state(&d, "slow", "inactive", 5000);
        json_decref(svc);
        expect_serving(&d, "after a waiting client vanished");

        /* Half-closed while waiting: still answered when the job is done. */
        dl_cli_ok(&d, "start", "slow", NULL);
        dl_sleep_ms(100);
        dl_connect(&d, &c);
        dl_send_line(&d, &c, "{\"id\":2,\"cmd\":\"stop\",\"args\":{\"name\":\"slow\"}}");
        ck_assert_int_eq(shutdown(c.fd, SHUT_WR), 0);
        t0 = dl_now_ms();
        line = dl_recv_line(&c, 5000);
        dl_assert(&d, line && strstr(line, "\"ok\":true"),
                  "a half-closed client waiting for a stop got %s after %lld ms", line ? line : "nothing",
                  (long long)(dl_now_ms() - t0));
        dl_assert(&d, dl_now_ms() - t0 >= 800, "the stop was answered after %lld ms, before the service was down",
                  (long long)(dl_now_ms() - t0));
        free(line);
        dl_assert(&d, time_to_eof(&c, 2000) >= 0, "the connection was not closed after the answer");
        dl_close(&c);
        dl_done(&d);
}
END_TEST

/* ---- who may connect ---- */

START_TEST(test_socket_mode) {
        struct dl_daemon d;
        struct stat st;
        char *sock;

        dl_init(&d);
        dl_start(&d, NULL);
        sock = strdup(d.sock);
        ck_assert_int_eq(stat(d.sock, &st), 0);
        dl_assert(&d, S_ISSOCK(st.st_mode), "%s is not a socket", d.sock);
        dl_assert(&d, (st.st_mode & 07777) == 0600, "the socket's mode is %04o, expected 0600",
                  (unsigned)(st.st_mode & 07777));
        dl_assert(&d, st.st_uid == geteuid(), "the socket is owned by %u", (unsigned)st.st_uid);
        ck_assert_int_eq(dl_stop(&d, 5000), 0);
        dl_assert(&d, access(sock, F_OK) < 0, "the socket file outlived the daemon");
        free(sock);
        dl_done(&d);
}
END_TEST

/* In a child that became nobody: connects and reports "connect=ERRNO" or the first line
 * and whether EOF followed. */
static char *as_nobody(struct dl_daemon *d) {
        int p[2];
        pid_t pid;
        char *out;
        int st;

        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        fflush(NULL);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                struct dl_conn c;
                char line[1024];
                ssize_t n;
                size_t len = 0;
                int r;

                close(p[0]);
                if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
                    setresuid(65534, 65534, 65534) < 0) {
                        dprintf(p[1], "setuid failed: %s\n", strerror(errno));
                        _exit(1);
                }
                r = dl_try_connect(d->sock, &c);
                if (r < 0) {
                        dprintf(p[1], "connect=%d\n", -r);
                        _exit(0);
                }
                /* The daemon may have hung up already: no SIGPIPE. */
                (void)!send(c.fd, "{\"id\":1,\"cmd\":\"list\"}\n", 22, MSG_NOSIGNAL);
                while (len < sizeof(line) - 1 && (n = read(c.fd, line + len, sizeof(line) - 1 - len)) > 0)
                        len += (size_t)n;
                line[len] = 0;
                dprintf(p[1], "read=%s|eof=%d\n", line, len < sizeof(line) - 1);
                _exit(0);
        }
        close(p[1]);
        out = pv_test_read_all(p[0]);
        close(p[0]);
        ck_assert_int_eq(waitpid(pid, &st, 0), pid);
        return out;
}

START_TEST(test_foreign_uid_refused) {
        struct dl_daemon d;
        char *out, want[32];

        dl_init(&d);
        dl_start(&d, NULL);
        /* The directories are searchable by all; the socket's 0600 keeps nobody out. */
        out = as_nobody(&d);
        snprintf(want, sizeof(want), "connect=%d\n", EACCES);
        dl_assert(&d, !strcmp(out, want), "nobody connecting to the 0600 socket: \"%s\", expected \"%s\"", out, want);
        free(out);

        /* With the file opened up, the daemon's own check (SO_PEERCRED) must refuse. */
        ck_assert_int_eq(chmod(d.sock, 0666), 0);
        out = as_nobody(&d);
        dl_assert(&d, strstr(out, "\"ok\":false") && strstr(out, "permission denied") && strstr(out, "|eof=1"),
                  "nobody on a 0666 socket: \"%s\", expected one \"permission denied\" error and EOF", out);
        dl_assert(&d, !strstr(out, "\"services\""), "nobody got the list: %s", out);
        free(out);
        dl_wait_log(&d, "refused a client with uid 65534", 2000);
        expect_serving(&d, "after refusing a stranger");
        dl_done(&d);
}
END_TEST

/* ---- the socket file ---- */

/* A second daemon on the same socket (and state directory) is refused and leaves the
 * first one working: its services must still start. */
START_TEST(test_second_daemon_refused) {
        struct dl_daemon d;
        struct dl_cli r;
        json_t *svc;
        char *log, *log2;

        dl_init(&d);
        dl_write_unit(&d, "svc", "[Service]\nExecStart=%s sleep 1000\n", FIX);
        dl_write_unit(&d, "runs", "[Service]\nExecStart=%s sleep 1000\n[X-Pidvisor]\nAutoStart=yes\n", FIX);
        dl_start(&d, NULL);

        /* The same daemon again: same units, state directory and socket; its own log. */
        log2 = dl_path(&d, "daemon2.log");
        {
                pid_t pid = fork();
                int st;

                ck_assert_int_ge(pid, 0);
                if (pid == 0) {
                        int fd = open(log2, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                        if (fd < 0 || dup2(fd, 2) < 0)
                                _exit(127);
                        execl(dl_bin(), dl_bin(), "daemon", "--units", d.units, "--state-dir", d.state, "--socket",
                              d.sock, (char *)NULL);
                        _exit(127);
                }
                ck_assert_int_eq(waitpid(pid, &st, 0), pid);
                log = dl_read_file(log2);
                dl_assert(&d, WIFEXITED(st) && WEXITSTATUS(st) != 0,
                          "a second daemon on the same socket exited 0x%x: %s", st, log);
                dl_assert(&d, log && strstr(log, "is running with the state directory"),
                          "the second daemon's log: %s", log);
                free(log);
        }
        expect_serving(&d, "after a second daemon was refused");
        r = dl_cli_run(&d, "start", "svc", NULL);
        svc = dl_status(&d, "svc");
        dl_assert(&d, r.code == 0 && !strcmp(dl_str(svc, "state"), "running"),
                  "after a second daemon was refused, `start svc` exited %d (%s): %s", r.code, r.err,
                  dl_str(svc, "reason"));
        json_decref(svc);
        dl_cli_done(&r);
        r = dl_cli_run(&d, "restart", "runs", NULL);
        svc = dl_status(&d, "runs");
        dl_assert(&d, r.code == 0 && !strcmp(dl_str(svc, "state"), "running"),
                  "after a second daemon was refused, `restart runs` exited %d (%s): %s", r.code, r.err,
                  dl_str(svc, "reason"));
        json_decref(svc);
        dl_cli_done(&r);
        free(log2);
        dl_done(&d);
}
END_TEST

/* The socket file of a daemon that was killed is replaced by the next one, also when the
 * next one starts at once (as a supervisor restarting a crashed daemon would): three
 * crash-and-restart rounds.  _i: 0 the default loop, 1 --epoll. */
START_TEST(test_stale_socket_replaced) {
        struct dl_daemon d;

        dl_init(&d);
        dl_write_unit(&d, "svc", "[Service]\nExecStart=%s sleep 1000\n", FIX);
        for (int round = 0; round < 3; round++) {
                if (_i == 0)
                        dl_start(&d, NULL);
                else
                        dl_start(&d, "--epoll", NULL);
                if (round == 2)
                        break;
                kill(d.pid, SIGKILL);
                ck_assert(dl_wait_exit(&d, 5000));
                dl_assert(&d, access(d.sock, F_OK) == 0, "the killed daemon's socket file is gone (nothing to test)");
        }
        expect_serving(&d, "on a replaced stale socket");
        dl_cli_ok(&d, "start", "svc", NULL);
        dl_done(&d);
}
END_TEST

/* ---- floods ---- */

/* More clients than the daemon has descriptors for: it must not spin while they wait,
 * and serves again once they go. */
START_TEST(test_fd_exhaustion_no_spin) {
        enum { N = 80 };
        struct dl_daemon d;
        struct dl_conn c[N];
        long long t0, t1;
        int n = 0;

        dl_init(&d);
        d.nofile = 40;
        dl_start(&d, NULL);
        for (int i = 0; i < N; i++)
                if (dl_try_connect(d.sock, &c[n]) == 0)
                        n++;
        dl_sleep_ms(200);
        t0 = cpu_ticks(d.pid);
        dl_sleep_ms(1000);
        t1 = cpu_ticks(d.pid);
        for (int i = 0; i < n; i++)
                dl_close(&c[i]);
        dl_assert(&d, t1 - t0 < 20,
                  "with %d clients and RLIMIT_NOFILE=40 the daemon used %lld%% CPU for 1 s (accept failing with "
                  "EMFILE in a loop?)", n, (t1 - t0) * 100 / sysconf(_SC_CLK_TCK));
        dl_sleep_ms(100);
        expect_serving(&d, "after the clients left");
        dl_done(&d);
}
END_TEST

/* At most 1024 connections: the ones beyond get "too many connections" and are closed. */
START_TEST(test_connection_limit) {
        enum { N = 1100 };
        struct dl_daemon d;
        struct dl_conn *c = calloc(N, sizeof(*c));
        int refused = 0, open_ = 0;
        int64_t deadline;

        ck_assert_ptr_nonnull(c);
        raise_own_nofile(4096);
        dl_init(&d);
        d.nofile = 4096;
        dl_start(&d, NULL);
        deadline = dl_now_ms() + DL_DEADLINE_MS;
        for (int i = 0; i < N; i++) {
                int r;
                while ((r = dl_try_connect(d.sock, &c[i])) == -EAGAIN && dl_now_ms() < deadline)
                        dl_sleep_ms(1);
                dl_assert(&d, r == 0, "connection %d: %s", i, strerror(-r));
        }
        dl_sleep_ms(300);
        for (int i = 0; i < N; i++) {
                char *line = NULL;
                struct pollfd p = { .fd = c[i].fd, .events = POLLIN };

                if (poll(&p, 1, 0) > 0)
                        line = dl_recv_line(&c[i], 1000);
                if (line) {
                        dl_assert(&d, strstr(line, "too many connections"), "connection %d got %s", i, line);
                        dl_assert(&d, time_to_eof(&c[i], 1000) >= 0, "a refused connection stayed open");
                        refused++;
                } else if (c[i].eof)
                        dl_fail(&d, "connection %d was closed without a word", i);
                else
                        open_++;
                free(line);
        }
        dl_assert(&d, open_ == 1024 && refused == N - 1024, "%d connections kept and %d refused, expected 1024 and %d",
                  open_, refused, N - 1024);
        /* A kept one works. */
        expect_ping_ok(&d, &c[0], "on the first of 1024 connections");
        for (int i = 0; i < N; i++)
                dl_close(&c[i]);
        free(c);
        dl_sleep_ms(100);
        expect_serving(&d, "after 1100 connections");
        dl_done(&d);
}
END_TEST

/* An events subscriber that never reads is dropped once 1 MiB is waiting for it. */
START_TEST(test_stuck_subscriber_dropped) {
        struct dl_daemon d;
        struct dl_conn sub;
        int64_t t;
        long rss0, rss1;

        dl_init(&d);
        dl_write_unit(&d, "churn", "[Unit]\nStartLimitIntervalSec=0\n"
                                   "[Service]\nExecStart=%s exit 0\nRestart=always\nRestartSec=0\n", FIX);
        /* Under AddressSanitizer, freed memory waits in a quarantine (256 MiB by default)
         * and shows as growth; without it, RSS measures the daemon's own backlog. */
        {
                const char *asan = getenv("ASAN_OPTIONS");
                char opts[1024];
                snprintf(opts, sizeof(opts), "%s%squarantine_size_mb=0", asan ? asan : "", asan ? ":" : "");
                setenv("ASAN_OPTIONS", opts, 1);
        }
        /* Info level: the debug log of thousands of restarts would only slow it down. */
        {
                const char *extra[] = { "--log-level", "info", NULL };
                dl_start_full(&d, NULL, extra);
        }
        json_decref(dl_subscribe(&d, &sub));
        /* A small receive buffer, so the backlog builds up in the daemon. */
        {
                int size = 4096;
                setsockopt(sub.fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
        }
        rss0 = (long)dl_proc_status_field(d.pid, "VmRSS");
        dl_cli_ok(&d, "start", "churn", NULL);
        dl_wait_log(&d, "does not read", 20000);
        rss1 = (long)dl_proc_status_field(d.pid, "VmRSS");
        dl_cli_ok(&d, "stop", "churn", NULL);
        t = time_to_eof(&sub, 5000);
        dl_assert(&d, t >= 0, "the stuck subscriber was logged as dropped but its connection stayed open");
        dl_assert(&d, rss1 - rss0 < 16 * 1024, "the daemon grew from %ld to %ld KiB", rss0, rss1);
        dl_close(&sub);
        expect_serving(&d, "after dropping a stuck subscriber");
        dl_done(&d);
}
END_TEST

static const char *need_root_nobody(void) {
        const char *missing = pv_test_need_root();
        struct passwd *pw;

        if (missing)
                return missing;
        pw = getpwnam("nobody");
        if (!pw || pw->pw_uid != 65534)
                return "no user nobody with uid 65534";
        return NULL;
}

int main(void) {
        Suite *s = pv_test_suite("control");
        TCase *tc;
        int ret;

        dl_suite_begin("control");

        tc = pv_test_case("commands");
        tcase_add_test(tc, test_ping);
        tcase_add_test(tc, test_list_and_status);
        tcase_add_test(tc, test_unknown_command);
        tcase_add_test(tc, test_pipelined_requests);
        tcase_add_test(tc, test_events_stream);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("bad-clients");
        tcase_add_test(tc, test_bad_requests_keep_connection);
        tcase_add_test(tc, test_long_line);
        tcase_add_test(tc, test_half_written_request);
        tcase_add_test(tc, test_waiting_client_vanishes);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("idle");
        tcase_set_timeout(tc, 40);
        tcase_add_test(tc, test_idle_clients_closed);
        tcase_add_test(tc, test_idle_slow_drip_closed);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("floods");
        tcase_add_test(tc, test_many_clients);
        tcase_add_test(tc, test_connection_limit);
        tcase_add_test(tc, test_fd_exhaustion_no_spin);
        tcase_add_test(tc, test_stuck_subscriber_dropped);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("socket");
        tcase_add_test(tc, test_socket_mode);
        tcase_add_test(tc, test_second_daemon_refused);
        tcase_add_loop_test(tc, test_stale_socket_replaced, 0, 2);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("peer-uid");
        tcase_add_test(tc, test_foreign_uid_refused);
        pv_test_add(s, tc, need_root_nobody());

        ret = pv_test_main(s);
        dl_suite_end();
        return ret;
}
