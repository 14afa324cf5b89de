/* SPDX-License-Identifier: MIT */
/* Integration tests of `pidvisor daemon`: supervision as a user sees it.
 *
 * Every test starts the built binary ($PV_BIN) on a private directory (daemonlib.h),
 * writes unit files that run the fixture program ($PV_FIXTURE), drives the daemon with the
 * CLI and the control socket, and checks what happened: states, pids, timing, exits, the
 * crash history, the log.  Waits poll with deadlines; the daemon's log and stdout are
 * printed on a failure. */
#include "daemonlib.h"
#include "testlib.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define FIX dl_fixture()

/* ---- small helpers ---- */

static json_t *json_parse(struct dl_daemon *d, const char *text) {
        json_error_t err;
        json_t *o = json_loads(text, 0, &err);

        if (!o)
                dl_fail(d, "not JSON (%s): \"%s\"", err.text, text);
        return o;
}

static json_t *history0(json_t *svc) {
        return json_array_get(json_object_get(svc, "history"), 0);
}

static bool running_with_new_pid(json_t *svc, void *arg) {
        return !strcmp(dl_str(svc, "state"), "running") && dl_int(svc, "pid") != *(long long *)arg;
}

static void pidfd_kill(int pidfd) {
        syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
}

/* SigIgn of /proc/PID/status (hex). */
static unsigned long long sig_ignored(pid_t pid) {
        char path[64], line[256];
        unsigned long long v = 0;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
        f = fopen(path, "re");
        if (!f)
                return 0;
        while (fgets(line, sizeof(line), f))
                if (!strncmp(line, "SigIgn:", 7))
                        v = strtoull(line + 7, NULL, 16);
        fclose(f);
        return v;
}

/* Context switches of every thread of the process. */
static long long ctx_switches(pid_t pid) {
        char path[64];
        long long total = 0;
        struct dirent *de;
        DIR *dir;

        snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
        dir = opendir(path);
        ck_assert_msg(dir, "opendir %s: %s", path, strerror(errno));
        while ((de = readdir(dir))) {
                char file[384], line[256];
                FILE *f;

                if (de->d_name[0] == '.')
                        continue;
                snprintf(file, sizeof(file), "%s/%s/status", path, de->d_name);
                f = fopen(file, "re");
                if (!f)
                        continue;
                while (fgets(line, sizeof(line), f))
                        if (!strncmp(line, "voluntary_ctxt_switches:", 24) ||
                            !strncmp(line, "nonvoluntary_ctxt_switches:", 27))
                                total += strtoll(strchr(line, ':') + 1, NULL, 10);
                fclose(f);
        }
        closedir(dir);
        return total;
}

static char *run_probe(struct dl_daemon *d, const char *name);

/* No zombie children of the daemon stay around. */
static void expect_no_leftover_zombies(struct dl_daemon *d) {
        int64_t deadline = dl_now_ms() + 1000;
        int n;

        while ((n = dl_count_zombies_of(d->pid)) > 0 && dl_now_ms() < deadline)
                dl_sleep_ms(10);
        dl_assert(d, n == 0, "%d zombie(s) of the daemon", n);
}

/* ---- crash, restart, failure ---- */

/* crash-once exits 3 the first time, then runs: one automatic restart after 300 ms. */
static void crash_restart_scenario(struct dl_daemon *d) {
        char *flag = dl_path(d, "flag");
        json_t *e, *svc, *h;
        long long pid1, pid2, t_exit, t_restart, t_run2;
        int64_t got_restart, got_run2;
        struct dl_conn ev;

        dl_write_unit(d, "crash", "[Service]\nExecStart=%s crash-once %s 3\nRestart=on-failure\nRestartSec=300ms\n",
                      FIX, flag);
        dl_cli_ok(d, "reload", NULL);
        json_decref(dl_subscribe(d, &ev));
        dl_cli_ok(d, "start", "crash", NULL);

        e = dl_next_event(d, &ev, "crash", DL_DEADLINE_MS);
        dl_assert(d, !strcmp(dl_str(e, "state"), "running"), "first event: %s, expected running", dl_str(e, "state"));
        pid1 = dl_int(e, "pid");
        json_decref(e);
        e = dl_next_event(d, &ev, "crash", DL_DEADLINE_MS);
        got_restart = dl_now_ms();
        dl_assert(d, !strcmp(dl_str(e, "state"), "auto-restart"), "second event: %s, expected auto-restart",
                  dl_str(e, "state"));
        dl_assert(d, strstr(dl_str(e, "reason"), "exited 3") && strstr(dl_str(e, "reason"), "300ms"),
                  "auto-restart reason \"%s\" should name the exit and the delay", dl_str(e, "reason"));
        t_restart = dl_int(e, "time");
        json_decref(e);
        e = dl_next_event(d, &ev, "crash", DL_DEADLINE_MS);
        got_run2 = dl_now_ms();
        dl_assert(d, !strcmp(dl_str(e, "state"), "running"), "third event: %s, expected running", dl_str(e, "state"));
        pid2 = dl_int(e, "pid");
        t_run2 = dl_int(e, "time");
        json_decref(e);

        svc = dl_status(d, "crash");
        h = history0(svc);
        t_exit = dl_int(h, "time");
        dl_assert(d, pid1 > 0 && pid2 > 0 && pid1 != pid2, "pids %lld then %lld", pid1, pid2);
        dl_assert(d, dl_int(h, "pid") == pid1, "history[0].pid %lld, expected the first pid %lld",
                  dl_int(h, "pid"), pid1);
        /* The new pid appears no sooner than RestartSec= after the crash. */
        dl_assert(d, t_run2 - t_exit >= 295000 && t_run2 - t_exit < 1000000,
                  "restarted %lld us after the crash, expected 300 ms (RestartSec=300ms)", t_run2 - t_exit);
        dl_assert(d, t_run2 - t_restart >= 290000, "running %lld us after auto-restart", t_run2 - t_restart);
        dl_assert(d, got_run2 - got_restart >= 250, "the test saw the restart %lld ms after auto-restart",
                  (long long)(got_run2 - got_restart));
        dl_assert(d, !strcmp(dl_str(svc, "state"), "running") && dl_int(svc, "pid") == pid2,
                  "status: %s pid %lld, expected running pid %lld", dl_str(svc, "state"), dl_int(svc, "pid"), pid2);
        dl_assert(d, dl_int(svc, "restarts") == 1, "restarts %lld, expected 1", dl_int(svc, "restarts"));
        dl_assert(d, !strcmp(dl_str(svc, "last_exit"), "exited 3"), "last_exit \"%s\", expected \"exited 3\"",
                  dl_str(svc, "last_exit"));
        dl_assert(d, !strcmp(dl_str(h, "cause"), "exited 3"), "history[0].cause \"%s\"", dl_str(h, "cause"));
        json_decref(svc);
        dl_close(&ev);
        dl_cli_ok(d, "stop", "crash", NULL);
        free(flag);
}

/* _i: 0 the default loop (io_uring), 1 io_uring_setup answering ENOSYS, 2 --epoll. */
START_TEST(test_crash_restarted_after_restartsec) {
        struct dl_daemon d;
        json_t *ping;

        dl_init(&d);
        if (_i == 0)
                dl_start(&d, NULL);
        else if (_i == 1) {
                const char *prefix[] = { dl_enosys(), "io_uring_setup", NULL };
                const char *extra[] = { "--log-level", "debug", NULL };
                dl_start_full(&d, prefix, extra);
        } else
                dl_start(&d, "--epoll", NULL);
        ping = dl_call(&d, "ping", NULL);
        if (_i > 0) {
                dl_assert(&d, !strcmp(dl_str(ping, "loop"), "epoll"), "ping says the loop is \"%s\", expected epoll",
                          dl_str(ping, "loop"));
                dl_assert(&d, dl_log_count(&d, "event loop: epoll") > 0, "the log does not say \"event loop: epoll\"");
        } else
                dl_assert(&d, *dl_str(ping, "loop"), "ping names no loop");
        json_decref(ping);
        crash_restart_scenario(&d);
        dl_done(&d);
}
END_TEST

START_TEST(test_restart_no_fails) {
        struct dl_daemon d;
        json_t *svc;

        dl_init(&d);
        dl_write_unit(&d, "once", "[Service]\nExecStart=%s exit 3\nRestart=no\n", FIX);
        dl_start(&d, NULL);
        dl_cli_ok(&d, "start", "once", NULL);
        json_decref(dl_wait_state(&d, "once", "failed", DL_DEADLINE_MS));
        dl_sleep_ms(400); /* RestartSec= default is 100 ms: a wrong restart would show */
        svc = dl_status(&d, "once");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "failed"), "state %s after 400 ms", dl_str(svc, "state"));
        dl_assert(&d, strstr(dl_str(svc, "reason"), "exited 3"), "reason \"%s\" should say \"exited 3\"",
                  dl_str(svc, "reason"));
        dl_assert(&d, dl_int(svc, "restarts") == 0, "restarts %lld", dl_int(svc, "restarts"));
        dl_assert(&d, json_array_size(json_object_get(svc, "history")) == 1, "%zu exits in the history, expected 1",
                  json_array_size(json_object_get(svc, "history")));
        json_decref(svc);
        dl_done(&d);
}
END_TEST

START_TEST(test_on_failure_clean_exit_inactive) {
        struct dl_daemon d;
        struct dl_conn ev;
        json_t *e, *svc;
        char *line;

        dl_init(&d);
        dl_write_unit(&d, "clean", "[Service]\nExecStart=%s exit 0\nRestart=on-failure\nRestartSec=50ms\n", FIX);
        dl_start(&d, NULL);
        json_decref(dl_subscribe(&d, &ev));
        dl_cli_ok(&d, "start", "clean", NULL);
        e = dl_next_event(&d, &ev, "clean", DL_DEADLINE_MS);
        dl_assert(&d, !strcmp(dl_str(e, "state"), "running"), "first event %s", dl_str(e, "state"));
        json_decref(e);
        e = dl_next_event(&d, &ev, "clean", DL_DEADLINE_MS);
        dl_assert(&d, !strcmp(dl_str(e, "state"), "inactive"), "after a clean exit: %s (%s), expected inactive",
                  dl_str(e, "state"), dl_str(e, "reason"));
        json_decref(e);
        line = dl_recv_line(&ev, 500);
        dl_assert(&d, !line, "an event after the clean exit: %s", line);
        svc = dl_status(&d, "clean");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "inactive") && dl_int(svc, "restarts") == 0,
                  "state %s restarts %lld", dl_str(svc, "state"), dl_int(svc, "restarts"));
        dl_assert(&d, !strcmp(dl_str(svc, "last_exit"), "exited 0"), "last_exit \"%s\"", dl_str(svc, "last_exit"));
        json_decref(svc);
        dl_close(&ev);
        dl_done(&d);
}
END_TEST

START_TEST(test_crash_loop_start_limit) {
        struct dl_daemon d;
        struct dl_cli r;
        json_t *svc;
        size_t runs;

        dl_init(&d);
        dl_write_unit(&d, "loop",
                      "[Unit]\nStartLimitBurst=3\nStartLimitIntervalSec=10s\n"
                      "[Service]\nExecStart=%s exit 1\nRestart=always\nRestartSec=0\n", FIX);
        dl_start(&d, NULL);
        dl_cli_ok(&d, "start", "loop", NULL);
        svc = dl_wait_state(&d, "loop", "failed", DL_DEADLINE_MS);
        dl_assert(&d, strstr(dl_str(svc, "reason"), "start limit"), "reason \"%s\" should mention the start limit",
                  dl_str(svc, "reason"));
        runs = json_array_size(json_object_get(svc, "history"));
        dl_assert(&d, runs == 3, "%zu runs before failing, expected StartLimitBurst=3", runs);
        json_decref(svc);

        r = dl_cli_run(&d, "start", "loop", NULL);
        dl_assert(&d, r.code == 1, "start after the start limit exited %d (stderr \"%s\"), expected 1", r.code, r.err);
        dl_assert(&d, strstr(r.err, "reset-failed"), "the refusal \"%s\" should mention reset-failed", r.err);
        dl_cli_done(&r);
        svc = dl_status(&d, "loop");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "failed") && json_array_size(json_object_get(svc, "history")) == 3,
                  "the refused start changed something: %s, %zu runs", dl_str(svc, "state"),
                  json_array_size(json_object_get(svc, "history")));
        json_decref(svc);

        dl_cli_ok(&d, "reset-failed", "loop", NULL);
        svc = dl_status(&d, "loop");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "inactive"), "after reset-failed: %s", dl_str(svc, "state"));
        json_decref(svc);
        r = dl_cli_run(&d, "start", "loop", NULL);
        dl_assert(&d, r.code == 0, "start after reset-failed exited %d: \"%s\"", r.code, r.err);
        dl_cli_done(&r);
        svc = dl_wait_state(&d, "loop", "failed", DL_DEADLINE_MS);
        runs = json_array_size(json_object_get(svc, "history"));
        dl_assert(&d, runs == 6, "%zu runs in all, expected 3 more after reset-failed", runs);
        json_decref(svc);
        dl_done(&d);
}
END_TEST

/* RestartSec=100ms, RestartSteps=3, RestartMaxDelaySec=800ms: delays 100, 200, 400, 800,
 * 800 ms (docs/restart.md). */
START_TEST(test_backoff_grows) {
        static const long long expected_ms[] = { 100, 200, 400, 800 };
        struct dl_daemon d;
        struct dl_conn ev;
        long long run_time[5], delay[4], gap[4];
        int runs = 0;

        dl_init(&d);
        dl_write_unit(&d, "back",
                      "[Unit]\nStartLimitIntervalSec=0\n"
                      "[Service]\nExecStart=%s exit 1\nRestart=on-failure\nRestartSec=100ms\n"
                      "RestartSteps=3\nRestartMaxDelaySec=800ms\n", FIX);
        dl_start(&d, NULL);
        json_decref(dl_subscribe(&d, &ev));
        dl_cli_ok(&d, "start", "back", NULL);
        while (runs < 5) {
                json_t *e = dl_next_event(&d, &ev, "back", 5000);
                const char *st = dl_str(e, "state");

                if (!strcmp(st, "running"))
                        run_time[runs++] = dl_int(e, "time");
                else if (!strcmp(st, "auto-restart") && runs >= 1 && runs <= 4)
                        delay[runs - 1] = dl_int(e, "time");
                else
                        dl_fail(&d, "unexpected event %s (%s)", st, dl_str(e, "reason"));
                json_decref(e);
        }
        dl_close(&ev);
        dl_cli_ok(&d, "stop", "back", NULL);
        for (int k = 0; k < 4; k++) {
                delay[k] = (run_time[k + 1] - delay[k]) / 1000;
                gap[k] = (run_time[k + 1] - run_time[k]) / 1000;
        }
        for (int k = 0; k < 4; k++) {
                dl_assert(&d, delay[k] >= expected_ms[k] - 5 && delay[k] <= expected_ms[k] + 250,
                          "restart %d came %lld ms after the crash, expected %lld ms (gaps between starts: "
                          "%lld %lld %lld %lld ms)", k + 1, delay[k], expected_ms[k], gap[0], gap[1], gap[2], gap[3]);
                if (k > 0)
                        dl_assert(&d, gap[k] > gap[k - 1] + expected_ms[k - 1] / 2,
                                  "the gaps between starts do not grow: %lld %lld %lld %lld ms", gap[0], gap[1],
                                  gap[2], gap[3]);
        }
        dl_done(&d);
}
END_TEST

/* start on a running unit changes nothing; stop and restart while it waits to restart. */
START_TEST(test_jobs_during_auto_restart) {
        struct dl_daemon d;
        char *flag;
        json_t *svc;
        long long pid;
        struct dl_cli r;

        dl_init(&d);
        flag = dl_path(&d, "flag");
        dl_write_unit(&d, "run", "[Service]\nExecStart=%s sleep 1000\n", FIX);
        dl_write_unit(&d, "wait", "[Service]\nExecStart=%s crash-once %s 3\nRestart=on-failure\nRestartSec=1h\n", FIX,
                      flag);
        dl_start(&d, NULL);
        dl_cli_ok(&d, "start", "run", NULL);
        svc = dl_status(&d, "run");
        pid = dl_int(svc, "pid");
        json_decref(svc);
        dl_cli_ok(&d, "start", "run", NULL);
        svc = dl_status(&d, "run");
        dl_assert(&d, dl_int(svc, "pid") == pid, "start on a running unit changed its pid");
        json_decref(svc);

        /* Waiting an hour to restart: stop ends the wait. */
        dl_cli_ok(&d, "start", "wait", NULL);
        json_decref(dl_wait_state(&d, "wait", "auto-restart", DL_DEADLINE_MS));
        r = dl_cli_run(&d, "stop", "wait", NULL);
        dl_assert(&d, r.code == 0 && r.ms < 2000, "stop during auto-restart exited %d after %lld ms", r.code,
                  (long long)r.ms);
        dl_cli_done(&r);
        svc = dl_status(&d, "wait");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "inactive"), "after stop: %s", dl_str(svc, "state"));
        json_decref(svc);

        /* Again, and restart starts it at once. */
        unlink(flag);
        dl_cli_ok(&d, "start", "wait", NULL);
        json_decref(dl_wait_state(&d, "wait", "auto-restart", DL_DEADLINE_MS));
        r = dl_cli_run(&d, "restart", "wait", NULL);
        dl_assert(&d, r.code == 0 && r.ms < 2000, "restart during auto-restart exited %d after %lld ms: %s", r.code,
                  (long long)r.ms, r.err);
        dl_cli_done(&r);
        svc = dl_status(&d, "wait");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "running"), "after restart: %s (%s)", dl_str(svc, "state"),
                  dl_str(svc, "reason"));
        json_decref(svc);
        free(flag);
        dl_done(&d);
}
END_TEST

START_TEST(test_missing_program) {
        struct dl_daemon d;
        struct dl_cli r;
        json_t *svc;

        dl_init(&d);
        dl_write_unit(&d, "ghost", "[Service]\nExecStart=/nonexistent/pv-ghost run\n");
        dl_start(&d, NULL);
        r = dl_cli_run(&d, "start", "ghost", NULL);
        dl_assert(&d, r.code == 1 && strstr(r.err, "/nonexistent/pv-ghost"),
                  "start of a missing program exited %d with \"%s\"", r.code, r.err);
        dl_cli_done(&r);
        svc = dl_status(&d, "ghost");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "failed"), "state %s", dl_str(svc, "state"));
        dl_assert(&d, !strncmp(dl_str(history0(svc), "cause"), "spawn failed", 12), "history[0].cause \"%s\"",
                  dl_str(history0(svc), "cause"));
        json_decref(svc);
        expect_no_leftover_zombies(&d);
        dl_done(&d);
}
END_TEST

START_TEST(test_exec_start_pre) {
        struct dl_daemon d;
        char *out, *marker;
        struct dl_cli r;
        json_t *svc;

        dl_init(&d);
        marker = dl_path(&d, "main-ran");
        dl_write_unit(&d, "pre-ok", "[Service]\nExecStartPre=%s echo pre one\nExecStartPre=-%s exit 9\n"
                                    "ExecStartPre=%s echo pre three\nExecStart=%s echo main\n", FIX, FIX, FIX, FIX);
        dl_write_unit(&d, "pre-fails", "[Service]\nExecStartPre=%s exit 2\nExecStart=%s crash-once %s 0\n", FIX, FIX,
                      marker);
        dl_write_unit(&d, "pre-slow", "[Service]\nExecStartPre=%s sleep 30\nExecStart=%s crash-once %s 0\n", FIX, FIX,
                      marker);
        dl_start(&d, NULL);

        out = run_probe(&d, "pre-ok");
        dl_assert(&d, !strcmp(out, "pre one\npre three\nmain\n"), "ExecStartPre= then ExecStart= printed \"%s\"", out);
        free(out);

        r = dl_cli_run(&d, "start", "pre-fails", NULL);
        dl_assert(&d, r.code == 1 && strstr(r.err, "ExecStartPre"),
                  "start with a failing ExecStartPre= exited %d: \"%s\"",
                  r.code, r.err);
        dl_cli_done(&r);
        svc = dl_status(&d, "pre-fails");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "failed") && strstr(dl_str(svc, "reason"), "exited 2"),
                  "after a failing ExecStartPre=: %s (%s)", dl_str(svc, "state"), dl_str(svc, "reason"));
        json_decref(svc);
        dl_assert(&d, access(marker, F_OK) < 0, "ExecStart= ran after a failing ExecStartPre=");

        /* Stopped while ExecStartPre= runs: the main command never runs. */
        {
                struct dl_conn c;
                json_t *reply;
                dl_connect(&d, &c);
                dl_send_line(&d, &c, "{\"id\":1,\"cmd\":\"start\",\"args\":{\"name\":\"pre-slow\"}}");
                json_decref(dl_wait_state(&d, "pre-slow", "starting", DL_DEADLINE_MS));
                r = dl_cli_run(&d, "stop", "pre-slow", NULL);
                dl_assert(&d, r.code == 0 && r.ms < 3000, "stop during ExecStartPre= exited %d after %lld ms", r.code,
                          (long long)r.ms);
                dl_cli_done(&r);
                reply = dl_recv_json(&d, &c, 3000);
                dl_assert(&d, json_is_false(json_object_get(reply, "ok")),
                          "the start that was stopped during ExecStartPre= was answered ok: %s",
                          json_dumps(reply, JSON_COMPACT));
                json_decref(reply);
                dl_close(&c);
        }
        svc = dl_status(&d, "pre-slow");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "inactive"), "after stop: %s (%s)", dl_str(svc, "state"),
                  dl_str(svc, "reason"));
        json_decref(svc);
        dl_sleep_ms(200);
        dl_assert(&d, access(marker, F_OK) < 0, "ExecStart= ran after a stop during ExecStartPre=");
        free(marker);
        dl_done(&d);
}
END_TEST

/* FailedCooldownSec= (pidvisor's own): a unit failed by the start limit is tried again. */
START_TEST(test_failed_cooldown) {
        struct dl_daemon d;
        json_t *svc;
        int64_t t0;

        dl_init(&d);
        dl_write_unit(&d, "cool", "[Unit]\nStartLimitBurst=2\nStartLimitIntervalSec=1min\n"
                                  "[Service]\nExecStart=%s exit 1\nRestart=always\nRestartSec=0\n"
                                  "[X-Pidvisor]\nFailedCooldownSec=700ms\n", FIX);
        dl_start(&d, NULL);
        dl_cli_ok(&d, "start", "cool", NULL);
        svc = dl_wait_state(&d, "cool", "failed", DL_DEADLINE_MS);
        t0 = dl_now_ms();
        dl_assert(&d, strstr(dl_str(svc, "reason"), "700ms"), "reason \"%s\" should name the cool-down",
                  dl_str(svc, "reason"));
        dl_assert(&d, json_array_size(json_object_get(svc, "history")) == 2, "%zu runs before the start limit",
                  json_array_size(json_object_get(svc, "history")));
        json_decref(svc);
        for (;;) {
                svc = dl_status(&d, "cool");
                if (json_array_size(json_object_get(svc, "history")) >= 3)
                        break;
                json_decref(svc);
                dl_assert(&d, dl_now_ms() - t0 < 3000, "no new start within 3 s of FailedCooldownSec=700ms");
                dl_sleep_ms(10);
        }
        json_decref(svc);
        dl_assert(&d, dl_now_ms() - t0 >= 600, "started again after %lld ms, before the cool-down of 700 ms",
                  (long long)(dl_now_ms() - t0));
        svc = dl_wait_state(&d, "cool", "failed", DL_DEADLINE_MS);
        dl_assert(&d, json_array_size(json_object_get(svc, "history")) == 4,
                  "%zu runs after the cool-down, expected 2 more",
                  json_array_size(json_object_get(svc, "history")));
        json_decref(svc);
        dl_cli_ok(&d, "stop", "cool", NULL);
        dl_done(&d);
}
END_TEST

/* ---- stopping ---- */

START_TEST(test_stop_timeout_sigkill) {
        struct dl_daemon d;
        struct dl_cli r;
        json_t *svc;
        pid_t pid;
        int64_t deadline;

        dl_init(&d);
        dl_write_unit(&d, "stubborn", "[Service]\nExecStart=%s ignore-term\nTimeoutStopSec=1s\n", FIX);
        dl_start(&d, NULL);
        dl_cli_ok(&d, "start", "stubborn", NULL);
        svc = dl_status(&d, "stubborn");
        pid = (pid_t)dl_int(svc, "pid");
        json_decref(svc);
        deadline = dl_now_ms() + DL_DEADLINE_MS;
        while (!(sig_ignored(pid) & (1ULL << (SIGTERM - 1)))) {
                dl_assert(&d, dl_now_ms() < deadline, "the fixture (pid %d) never ignored SIGTERM", (int)pid);
                dl_sleep_ms(5);
        }
        r = dl_cli_run(&d, "stop", "stubborn", NULL);
        dl_assert(&d, r.code == 0, "stop exited %d: \"%s\"", r.code, r.err);
        dl_assert(&d, r.ms >= 900 && r.ms < 5000, "stop took %lld ms, expected about 1 s (TimeoutStopSec=1s)",
                  (long long)r.ms);
        dl_cli_done(&r);
        svc = dl_status(&d, "stubborn");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "inactive"), "state %s after the stop", dl_str(svc, "state"));
        dl_assert(&d, !strcmp(dl_str(history0(svc), "cause"), "killed by SIGKILL"),
                  "history[0].cause \"%s\", expected \"killed by SIGKILL\"", dl_str(history0(svc), "cause"));
        dl_assert(&d, dl_proc_state(pid, NULL) == '?', "pid %d still exists", (int)pid);
        json_decref(svc);
        dl_done(&d);
}
END_TEST

/* KillMode=control-group: the grandchild goes with the service; a start and a restart
 * after the stop run normally (a cgroup that was killed must not kill newcomers). */
START_TEST(test_killmode_control_group) {
        struct dl_daemon d;
        char *pidfile;
        json_t *svc;
        long long pid;
        pid_t gc;
        int gcfd;

        dl_init(&d);
        pidfile = dl_path(&d, "gc.pid");
        dl_write_unit(&d, "fam", "[Service]\nExecStart=%s grandchild %s\nKillMode=control-group\nTimeoutStopSec=5s\n",
                      FIX, pidfile);
        dl_start(&d, NULL);
        dl_cli_ok(&d, "start", "fam", NULL);
        gc = dl_read_pid_file(&d, pidfile, DL_DEADLINE_MS);
        gcfd = dl_pidfd_open(gc);
        dl_cli_ok(&d, "stop", "fam", NULL);
        if (!dl_pidfd_wait_exit(gcfd, 2000)) {
                svc = dl_status(&d, "fam");
                pidfd_kill(gcfd);
                dl_fail(&d, "the grandchild %d outlived the stop of its service (KillMode=control-group, "
                            "kill_scope %s)", (int)gc, dl_str(svc, "kill_scope"));
        }
        close(gcfd);
        unlink(pidfile);

        for (int round = 0; round < 2; round++) {
                const char *cmd = round == 0 ? "start" : "restart";
                dl_cli_ok(&d, cmd, "fam", NULL);
                svc = dl_status(&d, "fam");
                pid = dl_int(svc, "pid");
                json_decref(svc);
                dl_sleep_ms(300);
                svc = dl_status(&d, "fam");
                dl_assert(&d, !strcmp(dl_str(svc, "state"), "running") && dl_int(svc, "pid") == pid,
                          "after %s: %s pid %lld (was pid %lld), last exit \"%s\": the new process did not survive",
                          cmd, dl_str(svc, "state"), dl_int(svc, "pid"), pid, dl_str(svc, "last_exit"));
                dl_assert(&d, dl_int(svc, "restarts") == 0, "restarts %lld", dl_int(svc, "restarts"));
                json_decref(svc);
        }
        /* The restart stopped the first run's grandchild too. */
        gc = dl_read_pid_file(&d, pidfile, DL_DEADLINE_MS);
        gcfd = dl_pidfd_open(gc);
        dl_cli_ok(&d, "stop", "fam", NULL);
        dl_assert(&d, dl_pidfd_wait_exit(gcfd, 2000), "the grandchild %d outlived the second stop", (int)gc);
        close(gcfd);
        free(pidfile);
        dl_done(&d);
}
END_TEST

START_TEST(test_killmode_process) {
        struct dl_daemon d;
        char *pidfile;
        json_t *svc;
        pid_t gc, main_pid;
        int gcfd, mainfd;

        dl_init(&d);
        pidfile = dl_path(&d, "gc.pid");
        dl_write_unit(&d, "fam", "[Service]\nExecStart=%s grandchild %s\nKillMode=process\nTimeoutStopSec=5s\n",
                      FIX, pidfile);
        dl_start(&d, NULL);
        dl_cli_ok(&d, "start", "fam", NULL);
        gc = dl_read_pid_file(&d, pidfile, DL_DEADLINE_MS);
        gcfd = dl_pidfd_open(gc);
        svc = dl_status(&d, "fam");
        main_pid = (pid_t)dl_int(svc, "pid");
        json_decref(svc);
        mainfd = dl_pidfd_open(main_pid);
        dl_cli_ok(&d, "stop", "fam", NULL);
        dl_assert(&d, dl_pidfd_wait_exit(mainfd, 2000), "the main process %d survived the stop", (int)main_pid);
        if (dl_pidfd_wait_exit(gcfd, 500))
                dl_fail(&d, "KillMode=process killed the grandchild %d too", (int)gc);
        pidfd_kill(gcfd);
        ck_assert(dl_pidfd_wait_exit(gcfd, 2000));
        close(gcfd);
        close(mainfd);
        /* And it starts again. */
        unlink(pidfile);
        dl_cli_ok(&d, "start", "fam", NULL);
        json_decref(dl_wait_state(&d, "fam", "running", 1000));
        gc = dl_read_pid_file(&d, pidfile, DL_DEADLINE_MS);
        gcfd = dl_pidfd_open(gc);
        dl_cli_ok(&d, "stop", "fam", NULL);
        pidfd_kill(gcfd);
        ck_assert(dl_pidfd_wait_exit(gcfd, 2000)); /* before the daemon removes its cgroup */
        close(gcfd);
        free(pidfile);
        dl_done(&d);
}
END_TEST

/* ---- the crash history ---- */

START_TEST(test_crash_history_stderr) {
        struct dl_daemon d;
        struct dl_cli r;
        json_t *svc, *h, *lines;
        int rows = 0;

        dl_init(&d);
        dl_write_unit(&d, "noisy", "[Service]\nExecStart=%s stderr-lines 30 1\n", FIX);
        dl_start(&d, NULL);
        dl_cli_ok(&d, "start", "noisy", NULL);
        json_decref(dl_wait_state(&d, "noisy", "failed", DL_DEADLINE_MS));

        r = dl_cli_run(&d, "status", "noisy", "--json", NULL);
        dl_assert(&d, r.code == 0, "status --json exited %d: %s", r.code, r.err);
        svc = json_parse(&d, r.out);
        dl_cli_done(&r);
        h = history0(svc);
        dl_assert(&d, !strcmp(dl_str(h, "cause"), "exited 1"), "cause \"%s\", expected \"exited 1\"",
                  dl_str(h, "cause"));
        lines = json_object_get(h, "stderr");
        dl_assert(&d, json_array_size(lines) == 20, "%zu stderr lines kept, expected the last 20",
                  json_array_size(lines));
        for (size_t i = 0; i < 20; i++) {
                char want[32];
                snprintf(want, sizeof(want), "line %zu", i + 11);
                dl_assert(&d, !strcmp(json_string_value(json_array_get(lines, i)) ?: "", want),
                          "stderr[%zu] is \"%s\", expected \"%s\"", i,
                          json_string_value(json_array_get(lines, i)) ?: "(not a string)", want);
        }
        dl_assert(&d, !strcmp(dl_str(svc, "last_exit"), "exited 1"), "last_exit \"%s\"", dl_str(svc, "last_exit"));
        json_decref(svc);

        r = dl_cli_run(&d, "status", "noisy", NULL);
        dl_assert(&d, r.code == 0, "status exited %d: %s", r.code, r.err);
        for (const char *p = r.out; (p = strstr(p, "| line ")); p++)
                rows++;
        dl_assert(&d, rows == 20, "%d \"| line\" rows in the human status, expected 20:\n%s", rows, r.out);
        dl_assert(&d, strstr(r.out, "| line 11\n") && strstr(r.out, "| line 30\n") && !strstr(r.out, "| line 10\n"),
                  "the human status does not show lines 11..30:\n%s", r.out);
        dl_assert(&d, strstr(r.out, "exited 1"), "the human status does not show the cause:\n%s", r.out);
        dl_cli_done(&r);
        dl_done(&d);
}
END_TEST

/* At most 10 exits are kept, newest first. */
START_TEST(test_crash_history_bounded) {
        struct dl_daemon d;
        json_t *svc, *hist;
        long long prev_time = -1;

        dl_init(&d);
        dl_write_unit(&d, "loop",
                      "[Unit]\nStartLimitBurst=12\nStartLimitIntervalSec=1min\n"
                      "[Service]\nExecStart=%s exit 2\nRestart=always\nRestartSec=0\n", FIX);
        dl_start(&d, NULL);
        dl_cli_ok(&d, "start", "loop", NULL);
        svc = dl_wait_state(&d, "loop", "failed", DL_DEADLINE_MS);
        hist = json_object_get(svc, "history");
        dl_assert(&d, json_array_size(hist) == 10, "%zu exits kept after 12 runs, expected 10", json_array_size(hist));
        for (size_t i = 0; i < json_array_size(hist); i++) {
                json_t *h = json_array_get(hist, i);
                dl_assert(&d, !strcmp(dl_str(h, "cause"), "exited 2"), "history[%zu].cause \"%s\"", i,
                          dl_str(h, "cause"));
                dl_assert(&d, prev_time < 0 || dl_int(h, "time") <= prev_time, "history is not newest first at %zu", i);
                prev_time = dl_int(h, "time");
        }
        json_decref(svc);
        dl_done(&d);
}
END_TEST

/* ---- status and list ---- */

static char *trim(const char *s, size_t len) {
        while (len && s[0] == ' ') {
                s++;
                len--;
        }
        while (len && s[len - 1] == ' ')
                len--;
        return strndup(s, len);
}

/* Checks one table against the services of `list`. */
static void check_table(struct dl_daemon *d, const char *out, json_t *services) {
        const char *nl = strchr(out, '\n');
        size_t hlen = nl ? (size_t)(nl - out) : strlen(out), rows = 0;
        char *header = strndup(out, hlen);
        const char *s_state, *s_pid, *s_up, *s_rs, *s_last;
        size_t c_state, e_pid, e_up, e_rs, c_last;
        const char *line = nl ? nl + 1 : "";

        s_state = strstr(header, "STATE");
        s_pid = strstr(header, "PID");
        s_up = strstr(header, "UPTIME");
        s_rs = strstr(header, "RESTARTS");
        s_last = strstr(header, "LAST EXIT");
        dl_assert(d, !strncmp(header, "NAME ", 5) && s_state && s_pid && s_up && s_rs && s_last &&
                             s_state < s_pid && s_pid < s_up && s_up < s_rs && s_rs < s_last,
                  "header \"%s\": expected NAME STATE PID UPTIME RESTARTS LAST EXIT", header);
        c_state = (size_t)(s_state - header);
        e_pid = (size_t)(s_pid - header) + 3;
        e_up = (size_t)(s_up - header) + 6;
        e_rs = (size_t)(s_rs - header) + 8;
        c_last = (size_t)(s_last - header);

        while (*line) {
                const char *end = strchr(line, '\n');
                size_t len = end ? (size_t)(end - line) : strlen(line);
                char *row = strndup(line, len), *name, *state, *pid, *up, *rs, *last;
                json_t *svc = NULL, *v;
                size_t i;
                char want_pid[32] = "-";

                dl_assert(d, len > c_last, "row \"%s\" is shorter than the header \"%s\"", row, header);
                /* Left-aligned columns start under their title, right-aligned ones end
                 * under it; a blank separates every column from the next. */
                dl_assert(d, row[c_state - 1] == ' ' && row[c_state] != ' ' && row[e_pid - 1] != ' ' &&
                                     row[e_pid] == ' ' && row[e_up - 1] != ' ' && row[e_up] == ' ' &&
                                     row[e_rs - 1] != ' ' && row[e_rs] == ' ' && row[c_last - 1] == ' ' &&
                                     row[c_last] != ' ',
                          "row not aligned with the header:\n%s\n%s", header, row);
                name = trim(row, c_state);
                state = trim(row + c_state, 12);
                /* PID ends at e_pid; it starts after STATE's 12 columns. */
                pid = trim(row + c_state + 12, e_pid - c_state - 12);
                up = trim(row + e_pid, e_up - e_pid);
                rs = trim(row + e_up, e_rs - e_up);
                last = trim(row + c_last, len - c_last);
                json_array_foreach(services, i, v)
                        if (!strcmp(dl_str(v, "name"), name))
                                svc = v;
                dl_assert(d, svc, "row for \"%s\", which `list` does not have", name);
                dl_assert(d, !strcmp(state, dl_str(svc, "state")), "%s: state column \"%s\", list says %s", name, state,
                          dl_str(svc, "state"));
                if (dl_int(svc, "pid") > 0)
                        snprintf(want_pid, sizeof(want_pid), "%lld", dl_int(svc, "pid"));
                dl_assert(d, !strcmp(pid, want_pid), "%s: pid column \"%s\", expected \"%s\"", name, pid, want_pid);
                dl_assert(d, dl_int(svc, "pid") > 0 ? strcmp(up, "-") != 0 : !strcmp(up, "-"),
                          "%s: uptime column \"%s\"", name, up);
                dl_assert(d, atoll(rs) == dl_int(svc, "restarts"), "%s: restarts column \"%s\"", name, rs);
                if (json_is_string(json_object_get(svc, "load_error")))
                        dl_assert(d, !strcmp(last, "(invalid unit file)"), "%s: last exit column \"%s\"", name, last);
                else
                        dl_assert(d, !strcmp(last, *dl_str(svc, "last_exit") ? dl_str(svc, "last_exit") : "-"),
                                  "%s: last exit column \"%s\", list says \"%s\"", name, last,
                                  dl_str(svc, "last_exit"));
                free(name);
                free(state);
                free(pid);
                free(up);
                free(rs);
                free(last);
                free(row);
                rows++;
                line += len + (end ? 1 : 0);
        }
        dl_assert(d, rows == json_array_size(services), "%zu rows for %zu services:\n%s", rows,
                  json_array_size(services), out);
        free(header);
}

START_TEST(test_status_table) {
        static const char *const cmds[] = { "status", "list" };
        struct dl_daemon d;
        json_t *list;

        dl_init(&d);
        dl_write_unit(&d, "a", "[Service]\nExecStart=%s sleep 1000\n[X-Pidvisor]\nAutoStart=yes\n", FIX);
        dl_write_unit(&d, "a-much-longer-service-name", "[Service]\nExecStart=%s sleep 1000\n", FIX);
        dl_write_unit(&d, "crashed", "[Service]\nExecStart=%s exit 3\n", FIX);
        dl_write_unit(&d, "looping", "[Service]\nExecStart=%s exit 4\nRestart=always\nRestartSec=1h\n", FIX);
        dl_write_unit(&d, "broken", "[Service]\nRestart=sometimes\n");
        dl_start(&d, NULL);
        dl_cli_ok(&d, "start", "crashed", NULL);
        dl_cli_ok(&d, "start", "looping", NULL);
        json_decref(dl_wait_state(&d, "crashed", "failed", DL_DEADLINE_MS));
        json_decref(dl_wait_state(&d, "looping", "auto-restart", DL_DEADLINE_MS));
        list = dl_call(&d, "list", NULL);
        for (size_t i = 0; i < 2; i++) {
                struct dl_cli r = dl_cli_run(&d, cmds[i], NULL);
                dl_assert(&d, r.code == 0, "%s exited %d: %s", cmds[i], r.code, r.err);
                check_table(&d, r.out, json_object_get(list, "services"));
                dl_cli_done(&r);
        }
        json_decref(list);
        dl_done(&d);
}
END_TEST

/* ---- reload ---- */

static bool running_reloaded(json_t *svc, void *arg) {
        return !strcmp(dl_str(svc, "state"), "running") && json_is_false(json_object_get(svc, "reload_pending"));
}

/* Runs `pidvisor reload [ARG]`, checks it exits 0 and prints `expect`. */
static void reload_expect(struct dl_daemon *d, const char *arg, const char *expect) {
        struct dl_cli r = arg ? dl_cli_run(d, "reload", arg, NULL) : dl_cli_run(d, "reload", NULL);

        dl_assert(d, r.code == 0 && strstr(r.out, expect), "reload %s exited %d, printed \"%s\" (stderr \"%s\"), "
                                                           "expected \"%s\"",
                  arg ? arg : "", r.code, r.out, r.err, expect);
        dl_cli_done(&r);
}

static void write_keep(struct dl_daemon *d, const char *description) {
        dl_write_unit(d, "keep", "[Unit]\nDescription=%s\n[Service]\nExecStart=%s sleep 1000\n"
                                 "[X-Pidvisor]\nAutoStart=yes\n", description, FIX);
}

START_TEST(test_reload_adds) {
        struct dl_daemon d;
        json_t *svc;

        dl_init(&d);
        write_keep(&d, "first");
        dl_start(&d, NULL);
        dl_write_unit(&d, "new", "[Service]\nExecStart=%s sleep 1000\n[X-Pidvisor]\nAutoStart=yes\n", FIX);
        reload_expect(&d, NULL, "added: new");
        svc = dl_status(&d, "new");
        /* AutoStart= is about the daemon's start, not a reload. */
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "inactive"), "new unit: %s, expected inactive",
                  dl_str(svc, "state"));
        json_decref(svc);
        dl_cli_ok(&d, "start", "new", NULL);
        json_decref(dl_wait_state(&d, "new", "running", 1000));
        /* SIGHUP reloads too. */
        dl_write_unit(&d, "hup", "[Service]\nExecStart=%s sleep 1000\n", FIX);
        kill(d.pid, SIGHUP);
        json_decref(dl_wait_state(&d, "hup", "inactive", 3000));
        dl_done(&d);
}
END_TEST

START_TEST(test_reload_removes) {
        struct dl_daemon d;
        json_t *svc, *found;
        long long pid;
        int64_t deadline;
        int pidfd;

        dl_init(&d);
        write_keep(&d, "first");
        dl_write_unit(&d, "idle", "[Service]\nExecStart=%s sleep 1000\n", FIX);
        dl_write_unit(&d, "busy", "[Service]\nExecStart=%s sleep 1000\n[X-Pidvisor]\nAutoStart=yes\n", FIX);
        dl_start(&d, NULL);
        svc = dl_status(&d, "busy");
        pid = dl_int(svc, "pid");
        json_decref(svc);
        pidfd = dl_pidfd_open((pid_t)pid);
        dl_remove_unit(&d, "idle");
        dl_remove_unit(&d, "busy");
        reload_expect(&d, NULL, "removed:");
        found = dl_list_find(&d, "idle");
        dl_assert(&d, !found, "the removed inactive unit is still listed");
        dl_assert(&d, dl_pidfd_wait_exit(pidfd, 3000), "the removed unit's process %lld was not stopped", pid);
        close(pidfd);
        /* Stopped, then gone from the list. */
        deadline = dl_now_ms() + 3000;
        while ((found = dl_list_find(&d, "busy"))) {
                if (dl_now_ms() > deadline)
                        dl_fail(&d, "the removed running unit is still listed 3 s after the reload, although its "
                                    "process is gone: state %s (%s)", dl_str(found, "state"), dl_str(found, "reason"));
                json_decref(found);
                dl_sleep_ms(20);
        }
        svc = dl_status(&d, "keep");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "running"), "an unrelated unit: %s", dl_str(svc, "state"));
        json_decref(svc);
        dl_done(&d);
}
END_TEST

START_TEST(test_reload_change_applies_at_restart) {
        struct dl_daemon d;
        json_t *svc;
        long long pid;

        dl_init(&d);
        write_keep(&d, "first");
        dl_start(&d, NULL);
        svc = dl_status(&d, "keep");
        pid = dl_int(svc, "pid");
        json_decref(svc);
        write_keep(&d, "second");
        reload_expect(&d, NULL, "changed: keep");
        svc = dl_status(&d, "keep");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "running") && dl_int(svc, "pid") == pid,
                  "after the reload: %s pid %lld (was %lld)", dl_str(svc, "state"), dl_int(svc, "pid"), pid);
        dl_assert(&d, json_is_true(json_object_get(svc, "reload_pending")), "reload_pending is not true");
        json_decref(svc);
        /* An unchanged file is not reported again. */
        {
                struct dl_cli r = dl_cli_run(&d, "reload", NULL);
                dl_assert(&d, r.code == 0 && !strstr(r.out, "changed"), "a second reload exited %d and printed \"%s\"",
                          r.code, r.out);
                dl_cli_done(&r);
        }
        dl_cli_ok(&d, "restart", "keep", NULL);
        svc = dl_status(&d, "keep");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "running") && dl_int(svc, "pid") != pid,
                  "after restart: %s pid %lld (was %lld)", dl_str(svc, "state"), dl_int(svc, "pid"), pid);
        dl_assert(&d, json_is_false(json_object_get(svc, "reload_pending")), "reload_pending still set after restart");
        dl_assert(&d, !strcmp(dl_str(svc, "description"), "second"), "description \"%s\", expected the new \"second\"",
                  dl_str(svc, "description"));
        json_decref(svc);
        dl_done(&d);
}
END_TEST

START_TEST(test_reload_restart_changed) {
        struct dl_daemon d;
        json_t *svc;
        long long pid, pid2;
        int64_t t0;

        dl_init(&d);
        write_keep(&d, "first");
        dl_write_unit(&d, "same", "[Service]\nExecStart=%s sleep 1000\n[X-Pidvisor]\nAutoStart=yes\n", FIX);
        dl_start(&d, NULL);
        svc = dl_status(&d, "same");
        pid2 = dl_int(svc, "pid");
        json_decref(svc);
        svc = dl_status(&d, "keep");
        pid = dl_int(svc, "pid");
        json_decref(svc);
        write_keep(&d, "third");
        t0 = dl_now_ms();
        reload_expect(&d, "--restart-changed", "changed: keep");
        svc = dl_wait_status(&d, "keep", 3000, "running the new file with a new pid", running_with_new_pid, &pid);
        dl_assert(&d, json_is_false(json_object_get(svc, "reload_pending")) &&
                              !strcmp(dl_str(svc, "description"), "third"),
                  "after reload --restart-changed: description \"%s\", reload_pending %s", dl_str(svc, "description"),
                  json_is_true(json_object_get(svc, "reload_pending")) ? "true" : "false");
        dl_assert(&d, dl_now_ms() - t0 < 2000, "the restart took %lld ms", (long long)(dl_now_ms() - t0));
        json_decref(svc);
        svc = dl_wait_status(&d, "keep", 1000, "running", running_reloaded, NULL);
        json_decref(svc);
        /* The unchanged unit was left alone. */
        svc = dl_status(&d, "same");
        dl_assert(&d, dl_int(svc, "pid") == pid2, "an unchanged unit was restarted too");
        json_decref(svc);
        dl_done(&d);
}
END_TEST

/* ---- bad unit files ---- */

START_TEST(test_bad_unit_files) {
        struct dl_daemon d;
        struct dl_cli r;
        json_t *svc;
        char want[512];

        dl_init(&d);
        dl_write_unit(&d, "badrestart", "[Service]\nExecStart=%s sleep 1000\nRestart=sometimes\n"
                                        "[X-Pidvisor]\nAutoStart=yes\n", FIX);
        dl_write_unit(&d, "noexec", "[Unit]\nDescription=nothing to run\n[Service]\nRestart=no\n"
                                    "[X-Pidvisor]\nAutoStart=yes\n");
        dl_write_unit(&d, "good", "[Service]\nExecStart=%s sleep 1000\n[X-Pidvisor]\nAutoStart=yes\n", FIX);
        dl_write_unit(&d, "warned", "[Service]\nExecStart=%s sleep 1000\nFrobnicate=yes\n"
                                    "[X-Pidvisor]\nAutoStart=yes\n", FIX);
        dl_start(&d, NULL);

        svc = dl_status(&d, "good");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "running"), "the good unit is %s, expected running",
                  dl_str(svc, "state"));
        json_decref(svc);

        svc = dl_status(&d, "badrestart");
        snprintf(want, sizeof(want), "badrestart.service:3:");
        dl_assert(&d, strstr(dl_str(svc, "load_error"), want) && strstr(dl_str(svc, "load_error"), "Restart="),
                  "load_error \"%s\" should name %s and Restart=", dl_str(svc, "load_error"), want);
        dl_assert(&d, strstr(dl_str(svc, "load_error"), "sometimes"), "load_error \"%s\" should quote the value",
                  dl_str(svc, "load_error"));
        dl_assert(&d, strcmp(dl_str(svc, "state"), "running") && dl_int(svc, "pid") < 0, "the bad unit runs: %s",
                  dl_str(svc, "state"));
        json_decref(svc);

        svc = dl_status(&d, "noexec");
        dl_assert(&d, strstr(dl_str(svc, "load_error"), "noexec.service") &&
                              strstr(dl_str(svc, "load_error"), "ExecStart="),
                  "load_error \"%s\" should name the file and ExecStart=", dl_str(svc, "load_error"));
        json_decref(svc);

        r = dl_cli_run(&d, "start", "badrestart", NULL);
        dl_assert(&d, r.code == 1 && strstr(r.err, "Restart=") && strstr(r.err, "badrestart.service:3"),
                  "start of the bad unit exited %d with \"%s\", expected 1 and the error", r.code, r.err);
        dl_cli_done(&r);
        r = dl_cli_run(&d, "start", "noexec", NULL);
        dl_assert(&d, r.code == 1 && strstr(r.err, "ExecStart="), "start noexec exited %d with \"%s\"", r.code, r.err);
        dl_cli_done(&r);

        /* An unknown key only warns. */
        svc = dl_status(&d, "warned");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "running") && json_is_null(json_object_get(svc, "load_error")),
                  "the unit with an unknown key: %s, load_error %s", dl_str(svc, "state"), dl_str(svc, "load_error"));
        json_decref(svc);
        snprintf(want, sizeof(want), "warned.service:3: Unknown key \"Frobnicate\"");
        dl_assert(&d, dl_log_count(&d, want) > 0, "the log has no warning \"%s\"", want);
        dl_assert(&d, dl_log_count(&d, "warning") > 0, "the unknown key is not logged as a warning");
        dl_done(&d);
}
END_TEST

/* ---- ordering ---- */

/* Where needle first appears in the daemon's log, or -1. */
static long log_pos(struct dl_daemon *d, const char *needle) {
        char *text = dl_read_file(d->log), *at;
        long pos;

        if (!text)
                return -1;
        at = strstr(text, needle);
        pos = at ? (long)(at - text) : -1;
        free(text);
        return pos;
}

/* Requires=/After=: a start brings up what the unit needs first and waits for it to be
 * ready (not merely spawned); a stop goes in reverse; BindsTo= follows the bound unit
 * down; a missing or failing requirement and an ordering cycle are errors naming them. */
START_TEST(test_ordering) {
        struct dl_daemon d;
        struct dl_cli r;
        json_t *svc;
        long a, b;

        dl_init(&d);
        /* db is ready only 600 ms after it started. */
        dl_write_unit(&d, "db", "[Service]\nType=notify\nExecStart=%s notify READY=1 600\n", FIX);
        dl_write_unit(&d, "web", "[Unit]\nRequires=db.service\nAfter=db.service\n[Service]\nExecStart=%s sleep 1000\n",
                      FIX);
        dl_write_unit(&d, "bound", "[Unit]\nBindsTo=db\nAfter=db\n[Service]\nExecStart=%s sleep 1000\n", FIX);
        dl_write_unit(&d, "broken", "[Service]\nExecStart=/nonexistent/program\n");
        dl_write_unit(&d, "needs-broken", "[Unit]\nRequires=broken\nAfter=broken\n[Service]\nExecStart=%s sleep 1000\n",
                      FIX);
        dl_write_unit(&d, "needs-missing", "[Unit]\nRequires=nosuch\n[Service]\nExecStart=%s sleep 1000\n", FIX);
        dl_write_unit(&d, "cyc-a", "[Unit]\nRequires=cyc-b\nAfter=cyc-b\n[Service]\nExecStart=%s sleep 1000\n", FIX);
        dl_write_unit(&d, "cyc-b", "[Unit]\nAfter=cyc-a\n[Service]\nExecStart=%s sleep 1000\n", FIX);
        dl_start(&d, NULL);

        r = dl_cli_run(&d, "start", "web", NULL);
        dl_assert(&d, r.code == 0, "start web: exit %d: %s", r.code, r.err);
        dl_assert(&d, r.ms >= 550, "start web returned after %lld ms, before db could be ready", (long long)r.ms);
        dl_cli_done(&r);
        svc = dl_status(&d, "db");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "running"), "db is %s after start web", dl_str(svc, "state"));
        json_decref(svc);
        a = log_pos(&d, "db: running");
        b = log_pos(&d, "web: running");
        dl_assert(&d, a >= 0 && b > a, "web ran before db was ready (db at %ld, web at %ld in the log)", a, b);

        /* Stop in reverse: web (which requires db) goes down before db is asked to stop. */
        dl_cli_ok(&d, "start", "bound", NULL);
        dl_cli_ok(&d, "stop", "db", NULL);
        svc = dl_status(&d, "web");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "inactive"), "web is %s after stopping db", dl_str(svc, "state"));
        json_decref(svc);
        svc = dl_status(&d, "bound");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "inactive"), "bound is %s after stopping db", dl_str(svc, "state"));
        json_decref(svc);
        a = log_pos(&d, "web: inactive");
        b = log_pos(&d, "db: stopping");
        dl_assert(&d, a >= 0 && b > a, "db was stopped before web was down (web at %ld, db at %ld)", a, b);

        /* BindsTo=: when db dies on its own, bound follows. */
        dl_cli_ok(&d, "start", "bound", NULL);
        svc = dl_status(&d, "db");
        kill((pid_t)dl_int(svc, "pid"), SIGKILL);
        json_decref(svc);
        json_decref(dl_wait_state(&d, "bound", "inactive", DL_DEADLINE_MS));

        r = dl_cli_run(&d, "start", "needs-broken", NULL);
        dl_assert(&d, r.code != 0 && strstr(r.err, "dependency broken did not start"),
                  "start needs-broken: exit %d: %s", r.code, r.err);
        dl_cli_done(&r);
        r = dl_cli_run(&d, "start", "needs-missing", NULL);
        dl_assert(&d, r.code != 0 && strstr(r.err, "Requires=nosuch, which does not exist"),
                  "start needs-missing: exit %d: %s", r.code, r.err);
        dl_cli_done(&r);
        r = dl_cli_run(&d, "start", "cyc-a", NULL);
        dl_assert(&d, r.code != 0 && strstr(r.err, "ordering cycle") && strstr(r.err, "cyc-a") && strstr(r.err, "cyc-b"),
                  "start cyc-a: exit %d: %s", r.code, r.err);
        dl_cli_done(&r);
        svc = dl_status(&d, "cyc-b");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "inactive"), "cyc-b was started despite the cycle: %s",
                  dl_str(svc, "state"));
        json_decref(svc);
        dl_done(&d);
}
END_TEST

/* s6 readiness: NotificationFD=N; a newline on it means ready, closing it without one
 * never does (the start then times out). */
START_TEST(test_notification_fd) {
        struct dl_daemon d;
        struct dl_cli r;
        json_t *svc;

        dl_init(&d);
        dl_write_unit(&d, "s6", "[Service]\nExecStart=/bin/sh -c 'sleep 0.4; echo ready >&3; exec sleep 1000'\n"
                                "[X-Pidvisor]\nNotificationFD=3\n");
        dl_write_unit(&d, "mute", "[Service]\nExecStart=/bin/sh -c 'exec 3>&-; exec sleep 1000'\nTimeoutStartSec=1s\n"
                                  "[X-Pidvisor]\nNotificationFD=3\n");
        dl_start(&d, NULL);
        r = dl_cli_run(&d, "start", "s6", NULL);
        dl_assert(&d, r.code == 0 && r.ms >= 350, "start s6: exit %d after %lld ms: %s", r.code, (long long)r.ms, r.err);
        dl_cli_done(&r);
        svc = dl_status(&d, "s6");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "running"), "s6 is %s", dl_str(svc, "state"));
        json_decref(svc);
        r = dl_cli_run(&d, "start", "mute", NULL);
        dl_assert(&d, r.code != 0 && strstr(r.err, "start timeout"), "start mute: exit %d: %s", r.code, r.err);
        dl_cli_done(&r);
        dl_done(&d);
}
END_TEST

/* At daemon start, auto-started units come up in dependency order. */
START_TEST(test_ordering_at_daemon_start) {
        struct dl_daemon d;
        long a, b;

        dl_init(&d);
        dl_write_unit(&d, "db", "[Service]\nType=notify\nExecStart=%s notify READY=1 400\n[X-Pidvisor]\nAutoStart=yes\n",
                      FIX);
        dl_write_unit(&d, "app", "[Unit]\nWants=db\nAfter=db\n[Service]\nExecStart=%s sleep 1000\n"
                                 "[Install]\nWantedBy=default.target\n", FIX);
        dl_write_unit(&d, "free", "[Service]\nExecStart=%s sleep 1000\n[X-Pidvisor]\nAutoStart=yes\n", FIX);
        dl_start(&d, NULL);
        json_decref(dl_wait_state(&d, "app", "running", DL_DEADLINE_MS));
        a = log_pos(&d, "db: running");
        b = log_pos(&d, "app: running");
        dl_assert(&d, a >= 0 && b > a, "app ran before db was ready (%ld, %ld)", a, b);
        /* The independent unit did not wait for db. */
        a = log_pos(&d, "free: running");
        b = log_pos(&d, "db: running");
        dl_assert(&d, a >= 0 && a < b, "free waited for db (%ld, %ld)", a, b);
        dl_done(&d);
}
END_TEST

/* ---- log files ---- */

/* stdout and stderr go to STATE-DIR/logs/NAME.log as "TIME STREAM: TEXT" records; the
 * file rotates at LogMaxBytes=; `pidvisor logs` prints the last lines; a line longer than
 * a record is split with a continuation mark; StandardOutput=file: bypasses the log. */
START_TEST(test_log_files) {
        struct dl_daemon d;
        struct dl_cli r;
        char path[4200], rotated[4300], direct[4200], *text;
        json_t *svc;

        dl_init(&d);
        snprintf(direct, sizeof(direct), "%s/direct.out", d.dir);
        dl_write_unit(&d, "talk", "[Service]\nExecStart=/bin/sh -c 'echo to-out; echo to-err >&2; "
                                  "for i in $(seq 1 300); do echo \"filler line $i with some padding\"; done; "
                                  "head -c 20000 /dev/zero | tr \"\\\\0\" x; echo; echo last-line'\n"
                                  "[X-Pidvisor]\nLogMaxBytes=8K\nLogKeep=2\n");
        dl_write_unit(&d, "direct", "[Service]\nExecStart=/bin/sh -c 'echo straight'\nStandardOutput=file:%s\n",
                      direct);
        dl_start(&d, NULL);
        dl_cli_ok(&d, "start", "talk", NULL);
        json_decref(dl_wait_state(&d, "talk", "inactive", DL_DEADLINE_MS));
        snprintf(path, sizeof(path), "%s/logs/talk.log", d.state);
        svc = dl_status(&d, "talk");
        dl_assert(&d, !strcmp(dl_str(svc, "log_file"), path), "log_file %s", dl_str(svc, "log_file"));
        json_decref(svc);

        /* The newest file ends with the last line; an older one holds the first lines. */
        text = dl_read_file(path);
        dl_assert(&d, text && strstr(text, " stdout: last-line\n"), "talk.log: %s", text ? text : "(none)");
        dl_assert(&d, text && strlen(text) <= 8192, "talk.log is %zu bytes, over LogMaxBytes=8K", text ? strlen(text) : 0);
        free(text);
        snprintf(rotated, sizeof(rotated), "%s.2", path);
        text = dl_read_file(rotated);
        dl_assert(&d, text != NULL, "no %s after several rotations with LogKeep=2", rotated);
        free(text);
        snprintf(rotated, sizeof(rotated), "%s.3", path);
        dl_assert(&d, access(rotated, F_OK) < 0, "%s exists despite LogKeep=2", rotated);

        r = dl_cli_run(&d, "logs", "talk", "-n", "1", NULL);
        dl_assert(&d, r.code == 0 && strstr(r.out, " stdout: last-line\n") && !strstr(r.out, "filler"),
                  "pidvisor logs talk -n 1: exit %d, \"%s\" (%s)", r.code, r.out, r.err);
        dl_cli_done(&r);
        /* The 20000-byte line was split into records, all but the last marked. */
        r = dl_cli_run(&d, "logs", "talk", "-n", "3", NULL);
        dl_assert(&d, r.code == 0 && strstr(r.out, "xxxx \xe2\x80\xa6\n"), "no continued record in \"%.300s\"", r.out);
        dl_cli_done(&r);
        r = dl_cli_run(&d, "logs", "nosuch", NULL);
        dl_assert(&d, r.code != 0 && strstr(r.err, "nosuch"), "logs of an unknown service: exit %d, %s", r.code, r.err);
        dl_cli_done(&r);

        dl_cli_ok(&d, "start", "direct", NULL);
        json_decref(dl_wait_state(&d, "direct", "inactive", DL_DEADLINE_MS));
        text = dl_read_file(direct);
        dl_assert(&d, text && !strcmp(text, "straight\n"), "StandardOutput=file: got \"%s\"", text ? text : "(none)");
        free(text);
        dl_done(&d);
}
END_TEST

/* ---- the environment a service gets ---- */

/* The text of the stdout records of a log file's content (docs/logs.md: each record is
 * "TIME STREAM: TEXT"). */
static char *stdout_records(const char *content) {
        size_t cap = strlen(content) + 1, len = 0;
        char *out = malloc(cap);
        const char *p = content;

        ck_assert_ptr_nonnull(out);
        while (p && *p) {
                const char *nl = strchr(p, '\n'), *tag = strstr(p, " stdout: ");
                size_t n = nl ? (size_t)(nl - p) : strlen(p);
                if (tag && tag < p + n) {
                        const char *text = tag + strlen(" stdout: ");
                        size_t tlen = (size_t)(p + n - text);
                        memcpy(out + len, text, tlen);
                        len += tlen;
                        out[len++] = '\n';
                }
                p = nl ? nl + 1 : NULL;
        }
        out[len] = 0;
        return out;
}

/* Starts a one-shot unit and returns what it printed on its stdout (from its log file). */
static char *run_probe(struct dl_daemon *d, const char *name) {
        char *before = NULL, *after, *res, path[4200];
        size_t off;
        json_t *svc;

        snprintf(path, sizeof(path), "%s/logs/%s.log", d->state, name);
        before = dl_read_file(path);
        off = before ? strlen(before) : 0;
        dl_cli_ok(d, "start", name, NULL);
        svc = dl_wait_state(d, name, "inactive", DL_DEADLINE_MS);
        dl_assert(d, !strcmp(dl_str(svc, "last_exit"), "exited 0"), "%s: %s", name, dl_str(svc, "last_exit"));
        json_decref(svc);
        svc = dl_status(d, name);
        dl_assert(d, !strcmp(dl_str(svc, "log_file"), path), "%s: log_file %s, expected %s", name,
                  dl_str(svc, "log_file"), path);
        json_decref(svc);
        after = dl_read_file(path);
        ck_assert_ptr_nonnull(after);
        res = stdout_records(after + off);
        free(before);
        free(after);
        return res;
}

/* A line as docs/logs.md says it is written: one trailing \r dropped, control characters
 * but tab, and DEL, as \xNN. */
static size_t log_escape(char *out, const unsigned char *s, size_t n) {
        size_t w = 0;

        if (n > 0 && s[n - 1] == '\r')
                n--;
        for (size_t i = 0; i < n; i++) {
                if ((s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f)
                        w += (size_t)sprintf(out + w, "\\x%02x", s[i]);
                else
                        out[w++] = (char)s[i];
        }
        return w;
}

/* What a service writes reaches the daemon in reads of whatever its pipe holds, so lines
 * are cut between reads anywhere; the log must not show it.  Binary output comes out
 * escaped, a line longer than a record is split with the mark and joins back, the last
 * line is written at exit even without its newline, and a service that closes its stdout
 * early still has its stderr logged. */
START_TEST(test_log_pipe_lines) {
        size_t n = 300000, wlen = 0, at;
        unsigned char *data = malloc(n);
        char *want = malloc(4 * n + 1), *got, *path, *text, *joined;
        struct dl_daemon d;
        uint32_t x = 12345;
        json_t *svc;
        FILE *f;

        ck_assert_ptr_nonnull(data);
        ck_assert_ptr_nonnull(want);
        dl_init(&d);
        for (size_t i = 0; i < n; i++) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                data[i] = x % 41 == 0 ? '\n' : x % 7 == 0 ? '\r' : (unsigned char)(x >> 8);
        }
        data[n - 1] = '\n';
        path = dl_path(&d, "binary.data");
        f = fopen(path, "we");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(data, 1, n, f), n);
        ck_assert_int_eq(fclose(f), 0);
        dl_write_unit(&d, "binary", "[Service]\nExecStart=/bin/cat %s\n", path);
        free(path);

        path = dl_path(&d, "pieces.sh");
        pv_test_write_file(path, "#!/bin/sh\n"
                                 "printf 'first\\n'\n"
                                 "printf 'sp'; sleep 0.3; printf 'lit\\n'\n"
                                 "head -c 40000 /dev/zero | tr '\\000' y; echo\n"
                                 "printf 'no newline at end'\n",
                           0755);
        dl_write_unit(&d, "pieces", "[Service]\nExecStart=%s\n", path);
        free(path);
        path = dl_path(&d, "closer.sh");
        pv_test_write_file(path, "#!/bin/sh\necho before\nexec 1>&-\nsleep 0.3\necho 'err after stdout closed' >&2\n",
                           0755);
        dl_write_unit(&d, "closer", "[Service]\nExecStart=%s\n", path);
        free(path);
        dl_start(&d, NULL);

        /* Binary, in reads cut anywhere. */
        for (size_t i = 0; i < n;) {
                unsigned char *nl = memchr(data + i, '\n', n - i);
                size_t len = (size_t)(nl - (data + i));
                wlen += log_escape(want + wlen, data + i, len);
                want[wlen++] = '\n';
                i += len + 1;
        }
        want[wlen] = 0;
        got = run_probe(&d, "binary");
        for (at = 0; got[at] && got[at] == want[at]; at++)
                ;
        dl_assert(&d, !strcmp(got, want), "binary.log: %zu bytes of text, want %zu; from byte %zu: \"%.60s\", want \"%.60s\"",
                  strlen(got), wlen, at, got + at, want + at);
        free(got);

        /* A line in two reads, a long line, no last newline. */
        got = run_probe(&d, "pieces");
        dl_assert(&d, !strncmp(got, "first\nsplit\n", 12), "pieces.log starts \"%.40s\"", got);
        dl_assert(&d, strlen(got) > 30 && !strcmp(got + strlen(got) - 18, "no newline at end\n"),
                  "pieces.log ends \"%s\"", strlen(got) > 40 ? got + strlen(got) - 40 : got);
        joined = malloc(strlen(got) + 1);
        ck_assert_ptr_nonnull(joined);
        at = 0;
        for (char *p = got + 12, *nl; (nl = strchr(p, '\n')) && p < got + strlen(got) - 18; p = nl + 1) {
                size_t len = (size_t)(nl - p);
                bool more = len >= 4 && !memcmp(nl - 4, " \xe2\x80\xa6", 4);
                memcpy(joined + at, p, more ? len - 4 : len);
                at += more ? len - 4 : len;
                dl_assert(&d, more || nl + 1 == got + strlen(got) - 18, "a piece of the long line is not marked");
        }
        joined[at] = 0;
        dl_assert(&d, at == 40000 && strspn(joined, "y") == 40000, "the long line joins back to %zu bytes", at);
        free(joined);
        free(got);

        /* Its stdout closed early: its stderr still reaches the log, and it ends as usual. */
        dl_cli_ok(&d, "start", "closer", NULL);
        svc = dl_wait_state(&d, "closer", "inactive", DL_DEADLINE_MS);
        dl_assert(&d, !strcmp(dl_str(svc, "last_exit"), "exited 0"), "closer: %s", dl_str(svc, "last_exit"));
        json_decref(svc);
        path = dl_path(&d, "state/logs/closer.log");
        text = dl_read_file(path);
        dl_assert(&d, text && strstr(text, " stdout: before\n") && strstr(text, " stderr: err after stdout closed\n"),
                  "closer.log: \"%s\"", text ? text : "(none)");
        free(text);
        free(path);
        free(want);
        free(data);
        dl_done(&d);
}
END_TEST

static bool has_line(const char *text, const char *line) {
        size_t len = strlen(line);

        for (const char *p = text; (p = strstr(p, line)); p++)
                if ((p == text || p[-1] == '\n') && (p[len] == '\n' || p[len] == 0))
                        return true;
        return false;
}

START_TEST(test_exec_environment) {
        struct dl_daemon d;
        char *envfile, *wd, *out, *missing;
        struct dl_cli r;
        json_t *svc;

        dl_init(&d);
        envfile = dl_path(&d, "env1");
        missing = dl_path(&d, "no-such-file");
        wd = dl_path(&d, "wd");
        ck_assert_int_eq(mkdir(wd, 0755), 0);
        pv_test_write_file(envfile, "# comment\nFROM_FILE=yes\nB=file wins\n", 0644);
        dl_write_unit(&d, "penv",
                      "[Service]\nExecStart=%s env\nEnvironment=\"A=1 2\" B=3\nEnvironment=C=c\n"
                      "EnvironmentFile=%s\nEnvironmentFile=-%s\n", FIX, envfile, missing);
        dl_write_unit(&d, "pmissing", "[Service]\nExecStart=%s env\nEnvironmentFile=%s\n", FIX, missing);
        dl_write_unit(&d, "pcwd", "[Service]\nExecStart=%s cwd\nWorkingDirectory=%s\n", FIX, wd);
        dl_write_unit(&d, "pcwd-missing", "[Service]\nExecStart=%s cwd\nWorkingDirectory=-%s\n", FIX, missing);
        dl_write_unit(&d, "pcwd-default", "[Service]\nExecStart=%s cwd\n", FIX);
        dl_write_unit(&d, "pumask", "[Service]\nExecStart=%s umask\nUMask=0027\n", FIX);
        dl_write_unit(&d, "pumask-default", "[Service]\nExecStart=%s umask\n", FIX);
        dl_start(&d, NULL);

        out = run_probe(&d, "penv");
        dl_assert(&d, has_line(out, "A=1 2") && has_line(out, "C=c") && has_line(out, "FROM_FILE=yes"),
                  "the environment lacks Environment=/EnvironmentFile= values:\n%s", out);
        dl_assert(&d, has_line(out, "B=file wins"), "EnvironmentFile= should override Environment= for B:\n%s", out);
        dl_assert(&d, strstr(out, "PATH="), "no PATH in the service's environment:\n%s", out);
        dl_assert(&d, !strstr(out, "PIDVISOR_SOCKET="), "the daemon's own environment leaked:\n%s", out);
        free(out);

        r = dl_cli_run(&d, "start", "pmissing", NULL);
        dl_assert(&d, r.code == 1 && strstr(r.err, missing), "start with a missing EnvironmentFile= exited %d: \"%s\"",
                  r.code, r.err);
        dl_cli_done(&r);
        svc = dl_status(&d, "pmissing");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "failed"), "state %s", dl_str(svc, "state"));
        json_decref(svc);

        out = run_probe(&d, "pcwd");
        dl_assert(&d, has_line(out, wd), "WorkingDirectory=%s, the service ran in \"%s\"", wd, out);
        free(out);
        out = run_probe(&d, "pcwd-missing");
        dl_assert(&d, has_line(out, "/"), "WorkingDirectory=-missing: the service ran in \"%s\", expected /", out);
        free(out);
        out = run_probe(&d, "pcwd-default");
        dl_assert(&d, has_line(out, "/"), "default working directory \"%s\", expected /", out);
        free(out);
        out = run_probe(&d, "pumask");
        dl_assert(&d, has_line(out, "0027"), "UMask=0027, the service has \"%s\"", out);
        free(out);
        out = run_probe(&d, "pumask-default");
        dl_assert(&d, has_line(out, "0022"), "default umask \"%s\", expected 0022", out);
        free(out);
        free(envfile);
        free(missing);
        free(wd);
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

START_TEST(test_exec_user_nobody) {
        struct dl_daemon d;
        struct passwd *pw = getpwnam("nobody");
        char *fix, *out, want[128];

        ck_assert_ptr_nonnull(pw);
        dl_init(&d);
        fix = dl_public_fixture(&d);
        dl_write_unit(&d, "pids", "[Service]\nExecStart=%s ids\nUser=nobody\n", fix);
        dl_write_unit(&d, "phome", "[Service]\nExecStart=%s env HOME\nUser=nobody\n", fix);
        dl_start(&d, NULL);
        out = run_probe(&d, "pids");
        snprintf(want, sizeof(want), "uid=65534 euid=65534 gid=%u egid=%u", (unsigned)pw->pw_gid, (unsigned)pw->pw_gid);
        dl_assert(&d, !strncmp(out, want, strlen(want)), "User=nobody: the service has \"%s\", expected \"%s...\"", out,
                  want);
        free(out);
        out = run_probe(&d, "phome");
        dl_assert(&d, has_line(out, pw->pw_dir), "User=nobody: HOME=\"%s\", expected %s", out, pw->pw_dir);
        free(out);
        free(fix);
        dl_done(&d);
}
END_TEST

/* ---- daemon start and stop ---- */

START_TEST(test_autostart) {
        static const struct {
                const char *name, *extra;
                bool starts;
        } units[] = {
                { "auto", "[X-Pidvisor]\nAutoStart=yes\n", true },
                { "wanted-default", "[Install]\nWantedBy=default.target\n", true },
                { "wanted-multi", "[Install]\nWantedBy=multi-user.target\n", true },
                { "plain", "", false },
                { "wanted-other", "[Install]\nWantedBy=graphical.target\n", false },
                { "overridden", "[Install]\nWantedBy=default.target\n[X-Pidvisor]\nAutoStart=no\n", false },
        };
        struct dl_daemon d;

        dl_init(&d);
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
                dl_write_unit(&d, units[i].name, "[Service]\nExecStart=%s sleep 1000\n%s", FIX, units[i].extra);
        dl_start(&d, NULL);
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
                json_t *svc = dl_status(&d, units[i].name);
                dl_assert(&d, !strcmp(dl_str(svc, "state"), units[i].starts ? "running" : "inactive"),
                          "%s is %s at daemon start, expected %s", units[i].name, dl_str(svc, "state"),
                          units[i].starts ? "running" : "inactive");
                dl_assert(&d, units[i].starts || json_array_size(json_object_get(svc, "history")) == 0,
                          "%s ran at daemon start", units[i].name);
                json_decref(svc);
        }
        dl_done(&d);
}
END_TEST

START_TEST(test_sigterm_stops_newest_first) {
        static const char *const order[] = { "s2", "s3", "s1" };
        struct dl_daemon d;
        struct dl_conn ev;
        int pidfds[3], n_inactive = 0;
        char *log;
        const char *pos[3];
        int64_t t0;
        int st;

        dl_init(&d);
        for (int i = 1; i <= 3; i++) {
                char name[8];
                snprintf(name, sizeof(name), "s%d", i);
                dl_write_unit(&d, name, "[Service]\nExecStart=%s sleep 1000\nTimeoutStopSec=5s\n", FIX);
        }
        dl_write_unit(&d, "stubborn", "[Service]\nExecStart=%s ignore-term\nTimeoutStopSec=300ms\n", FIX);
        dl_start(&d, NULL);
        dl_cli_ok(&d, "start", "stubborn", NULL);
        for (int i = 0; i < 3; i++) {
                json_t *svc;
                dl_cli_ok(&d, "start", order[i], NULL);
                svc = dl_status(&d, order[i]);
                pidfds[i] = dl_pidfd_open((pid_t)dl_int(svc, "pid"));
                json_decref(svc);
        }
        json_decref(dl_subscribe(&d, &ev));
        t0 = dl_now_ms();
        kill(d.pid, SIGTERM);
        if (!dl_wait_exit(&d, 5000))
                dl_fail(&d, "the daemon did not exit within 5 s of SIGTERM");
        st = d.wstatus;
        /* A subscriber saw every service go down, then the end of the stream. */
        for (;;) {
                char *line = dl_recv_line(&ev, 2000);
                json_t *e;

                if (!line)
                        break;
                e = json_loads(line, 0, NULL);
                if (!strcmp(dl_str(e, "state"), "inactive"))
                        n_inactive++;
                json_decref(e);
                free(line);
        }
        dl_assert(&d, ev.eof, "the events stream stayed open after the daemon exited");
        dl_assert(&d, n_inactive == 4, "a subscriber saw %d of 4 services become inactive during the shutdown",
                  n_inactive);
        dl_close(&ev);
        dl_assert(&d, WIFEXITED(st) && WEXITSTATUS(st) == 0, "the daemon's wait status after SIGTERM: 0x%x", st);
        dl_assert(&d, dl_now_ms() - t0 < 3000, "the shutdown took %lld ms", (long long)(dl_now_ms() - t0));
        for (int i = 0; i < 3; i++) {
                dl_assert(&d, dl_pidfd_wait_exit(pidfds[i], 1000), "%s's process survived the daemon", order[i]);
                close(pidfds[i]);
        }
        log = dl_read_file(d.log);
        ck_assert_ptr_nonnull(log);
        /* Newest first: s1 (started last), s3, s2, then stubborn (started first). */
        for (int i = 0; i < 3; i++) {
                char needle[64];
                snprintf(needle, sizeof(needle), "%s: stopping", order[2 - i]);
                pos[i] = strstr(log, needle);
                dl_assert(&d, pos[i], "the log has no \"%s\"", needle);
                dl_assert(&d, i == 0 || pos[i] > pos[i - 1], "%s was stopped before %s: not newest first", order[2 - i],
                          order[3 - i]);
        }
        dl_assert(&d, strstr(log, "stubborn: stopping") > pos[2], "the first-started unit was not stopped last");
        dl_assert(&d, strstr(log, "all services stopped"), "the log does not say all services stopped");
        free(log);
        dl_done(&d);
}
END_TEST

/* ---- --subreaper ---- */

static const struct {
        int orphan_ms;
        const char *kill_mode;
} orphans[] = {
        { 0, "process" },
        { 300, "process" },
        { 800, "process" },
        { 800, "control-group" },
};

START_TEST(test_subreaper_reaps_orphans) {
        struct dl_daemon d;
        char *pidfile;
        json_t *svc;
        pid_t orphan, ppid = 0;
        int fd, zombies = -1;
        int64_t deadline;

        dl_init(&d);
        pidfile = dl_path(&d, "orphan.pid");
        dl_write_unit(&d, "leaver", "[Service]\nExecStart=%s fork-orphan %d 7 %s\nKillMode=%s\n", FIX,
                      orphans[_i].orphan_ms, pidfile, orphans[_i].kill_mode);
        dl_start(&d, "--subreaper", NULL);
        dl_cli_ok(&d, "start", "leaver", NULL);
        orphan = dl_read_pid_file(&d, pidfile, DL_DEADLINE_MS);
        fd = (int)syscall(SYS_pidfd_open, orphan, 0); /* it may be gone already */
        svc = dl_wait_state(&d, "leaver", "failed", DL_DEADLINE_MS);
        dl_assert(&d, !strcmp(dl_str(svc, "last_exit"), "exited 7"),
                  "the service's exit is \"%s\", expected \"exited 7\"",
                  dl_str(svc, "last_exit"));
        dl_assert(&d, strstr(dl_str(svc, "reason"), "exited 7"), "reason \"%s\"", dl_str(svc, "reason"));
        json_decref(svc);
        if (orphans[_i].orphan_ms >= 800 && !strcmp(orphans[_i].kill_mode, "process")) {
                char state = dl_proc_state(orphan, &ppid);
                dl_assert(&d, state == '?' || state == 'Z' || ppid == d.pid,
                          "the orphan %d has parent %d, not the subreaper daemon %d", (int)orphan, (int)ppid,
                          (int)d.pid);
        }
        if (fd >= 0) {
                dl_assert(&d, dl_pidfd_wait_exit(fd, 3000), "the orphan %d did not exit", (int)orphan);
                close(fd);
        }
        deadline = dl_now_ms() + 2000;
        while ((zombies = dl_count_zombies_of(d.pid)) > 0 && dl_now_ms() < deadline)
                dl_sleep_ms(20);
        dl_assert(&d, zombies == 0, "%d zombie(s) of the daemon left (orphan pid %d, state %c)", zombies, (int)orphan,
                  dl_proc_state(orphan, NULL));
        dl_assert(&d, !dl_exited(&d), "the daemon died");
        free(pidfile);
        dl_done(&d);
}
END_TEST

/* ---- idle ---- */

START_TEST(test_idle_no_wakeups) {
        struct dl_daemon d;
        long long before, after;
        json_t *list, *svc;
        size_t i;
        int running = 0;

        dl_init(&d);
        for (int k = 0; k < 20; k++) {
                char name[16];
                snprintf(name, sizeof(name), "idle%02d", k);
                dl_write_unit(&d, name, "[Service]\nExecStart=%s sleep 1000\n[X-Pidvisor]\nAutoStart=yes\n", FIX);
        }
        dl_start(&d, NULL);
        list = dl_call(&d, "list", NULL);
        json_array_foreach(json_object_get(list, "services"), i, svc)
                running += !strcmp(dl_str(svc, "state"), "running");
        json_decref(list);
        dl_assert(&d, running == 20, "%d of 20 services running", running);
        dl_sleep_ms(300);
        before = ctx_switches(d.pid);
        dl_sleep_ms(2000);
        after = ctx_switches(d.pid);
        printf("idle daemon with 20 services: %lld context switches in 2 s\n", after - before);
        dl_assert(&d, after - before <= 2, "the idle daemon woke up: %lld context switches in 2 s (expected 0)",
                  after - before);
        dl_done(&d);
}
END_TEST

int main(void) {
        Suite *s = pv_test_suite("daemon");
        TCase *tc;
        int ret;

        dl_suite_begin("daemon");

        tc = pv_test_case("restart");
        tcase_add_loop_test(tc, test_crash_restarted_after_restartsec, 0, 3);
        tcase_add_test(tc, test_restart_no_fails);
        tcase_add_test(tc, test_on_failure_clean_exit_inactive);
        tcase_add_test(tc, test_crash_loop_start_limit);
        tcase_add_test(tc, test_backoff_grows);
        tcase_add_test(tc, test_jobs_during_auto_restart);
        tcase_add_test(tc, test_missing_program);
        tcase_add_test(tc, test_exec_start_pre);
        tcase_add_test(tc, test_failed_cooldown);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("stop");
        tcase_add_test(tc, test_stop_timeout_sigkill);
        tcase_add_test(tc, test_killmode_control_group);
        tcase_add_test(tc, test_killmode_process);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("history");
        tcase_add_test(tc, test_crash_history_stderr);
        tcase_add_test(tc, test_crash_history_bounded);
        tcase_add_test(tc, test_status_table);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("units");
        tcase_add_test(tc, test_reload_adds);
        tcase_add_test(tc, test_reload_removes);
        tcase_add_test(tc, test_reload_change_applies_at_restart);
        tcase_add_test(tc, test_reload_restart_changed);
        tcase_add_test(tc, test_bad_unit_files);
        tcase_add_test(tc, test_exec_environment);
        tcase_add_test(tc, test_log_files);
        tcase_add_test(tc, test_log_pipe_lines);
        tcase_add_test(tc, test_ordering);
        tcase_add_test(tc, test_ordering_at_daemon_start);
        tcase_add_test(tc, test_notification_fd);
        tcase_add_test(tc, test_autostart);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("user");
        tcase_add_test(tc, test_exec_user_nobody);
        pv_test_add(s, tc, need_root_nobody());

        tc = pv_test_case("lifecycle");
        tcase_add_test(tc, test_sigterm_stops_newest_first);
        tcase_add_loop_test(tc, test_subreaper_reaps_orphans, 0, (int)(sizeof(orphans) / sizeof(orphans[0])));
        tcase_add_test(tc, test_idle_no_wakeups);
        pv_test_add(s, tc, NULL);

        ret = pv_test_main(s);
        dl_suite_end();
        return ret;
}
