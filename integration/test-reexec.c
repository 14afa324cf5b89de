/* SPDX-License-Identifier: MIT */
/* `pidvisor daemon-reexec` (issue 7) against a real daemon, and crash recovery.
 *
 *   - 100 re-execs in a row while 50 services crash-loop and 50 run steadily: no exit
 *     lost (every crash counted, the counters go on), no instance doubled (processes
 *     counted per service), no steady service restarted (same pids, uptimes going on);
 *   - a re-exec in the middle of an upgrade (both phases) and of a stop timeout: they end
 *     as they would have, on time, and their requests are answered by the new process;
 *   - failures: a binary that does not take over (refused before anything happens), an
 *     execve that fails (the old process carries on, its child watches too), a binary
 *     that cannot read the state after all (it goes back to the previous one);
 *   - crash recovery: kill -9 the daemon, start it again: what runs is adopted, nothing
 *     is started twice, listeners and output pipes are taken back; a recycled pid (a
 *     record naming another process) is not adopted. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "daemonlib.h"
#include "testlib.h"

#include <arpa/inet.h>
#include <dirent.h>
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

#define N_CRASH 50
#define N_STEADY 50
#define N_REEXEC 100

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

static long long jnum(json_t *o, const char *k) {
        return json_integer_value(json_object_get(o, k));
}

/* ---- processes per service ------------------------------------------------------------ */

/* Whether pid leads its session, as every main process of a service does (its children,
 * which carry the same environment, do not). */
static bool session_leader(pid_t pid) {
        char path[64], buf[1024], *p;
        int sid = 0;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        f = fopen(path, "re");
        p = f ? fgets(buf, sizeof(buf), f) : NULL;
        if (f)
                fclose(f);
        p = p ? strrchr(buf, ')') : NULL;
        return p && sscanf(p + 2, "%*c %*d %*d %d", &sid) == 1 && sid == pid;
}

/* Live instances whose environment holds PVTEST_SVC=<prefix><NN>, counted per NN (the
 * services of this suite carry it), in counts[0..n): session leaders only. */
/* The live (non-zombie) session leaders of each service, by its PVTEST_SVC tag.  A scan
 * of /proc is not a snapshot: an instance seen early may have died and been restarted
 * (a higher pid, seen later) within the scan, so pids counted twice are checked again
 * at the end, and only those still alive together count. */
static void count_instances(const char *prefix, int *counts, int n) {
        char want[64], path[64], buf[8192];
        pid_t first[128] = { 0 };
        size_t wl;
        DIR *proc = opendir("/proc");
        struct dirent *de;

        ck_assert_int_le(n, 128);
        memset(counts, 0, (size_t)n * sizeof(int));
        snprintf(want, sizeof(want), "PVTEST_SVC=%s", prefix);
        wl = strlen(want);
        ck_assert_ptr_nonnull(proc);
        while ((de = readdir(proc))) {
                pid_t pid = (pid_t)atoi(de->d_name);
                ssize_t len;
                int fd;

                if (pid <= 0 || dl_proc_state(pid, NULL) == 'Z' || dl_proc_state(pid, NULL) == '?' ||
                    !session_leader(pid))
                        continue;
                snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        continue;
                len = read(fd, buf, sizeof(buf) - 1);
                close(fd);
                for (ssize_t i = 0; len > 0 && i < len;) {
                        const char *e = buf + i;
                        size_t el = strnlen(e, (size_t)(len - i));
                        if (el > wl && !strncmp(e, want, wl)) {
                                int k = atoi(e + wl);
                                if (k >= 0 && k < n) {
                                        if (counts[k] == 0)
                                                first[k] = pid;
                                        else if (dl_proc_state(first[k], NULL) == 'Z' ||
                                                 dl_proc_state(first[k], NULL) == '?')
                                                counts[k]--; /* the earlier one is gone: a restart */
                                        counts[k]++;
                                }
                        }
                        i += (ssize_t)el + 1;
                }
        }
        closedir(proc);
}

static json_t *find_svc(json_t *list, const char *name) {
        json_t *svc;
        size_t i;

        json_array_foreach(json_object_get(list, "services"), i, svc)
                if (!strcmp(dl_str(svc, "name"), name))
                        return svc;
        return NULL;
}

static int count_lines(const char *path) {
        char *text = dl_read_file(path);
        int n = 0;

        for (const char *p = text; p && *p; p++)
                n += *p == '\n';
        free(text);
        return n;
}

/* Sends `cmd` for PREFIXnn, nn < n, on one connection and waits for every reply. */
static void call_all(struct dl_daemon *d, const char *cmd, const char *prefix, int n, int timeout_ms) {
        struct dl_conn c;

        dl_connect(d, &c);
        for (int i = 0; i < n; i++) {
                char name[32], line[128];
                snprintf(name, sizeof(name), "%s%02d", prefix, i);
                snprintf(line, sizeof(line), "{\"id\":%d,\"cmd\":\"%s\",\"args\":{\"name\":\"%s\"}}", i, cmd, name);
                dl_send_line(d, &c, line);
        }
        for (int i = 0; i < n; i++) {
                json_t *r = dl_recv_json(d, &c, timeout_ms);
                dl_assert(d, json_is_true(json_object_get(r, "ok")), "%s %lld failed: %s", cmd, jnum(r, "id"),
                          dl_str(r, "error"));
                json_decref(r);
        }
        dl_close(&c);
}

static bool restarted_once(json_t *svc, void *arg) {
        return dl_int(svc, "restarts") >= 1;
}

/* ---- 100 re-execs under churn --------------------------------------------------------- */

START_TEST(test_reexec_under_churn) {
        struct dl_daemon d;
        long long steady_pid[N_STEADY], crash_restarts[N_CRASH], steady_up[N_STEADY];
        int counts[N_CRASH > N_STEADY ? N_CRASH : N_STEADY];
        json_t *list;
        int64_t t0;
        pid_t daemon_pid;

        dl_init(&d);
        for (int i = 0; i < N_CRASH; i++) {
                char name[16];
                snprintf(name, sizeof(name), "c%02d", i);
                dl_write_unit(&d, name,
                              "[Unit]\nStartLimitIntervalSec=0\n[Service]\nExecStart=%s starts %s/starts-%s 50-250 3\n"
                              "Restart=always\nRestartSec=150ms\nEnvironment=PVTEST_SVC=c%02d\n"
                              "[X-Pidvisor]\nAutoStart=yes\n",
                              dl_fixture(), d.dir, name, i);
        }
        for (int i = 0; i < N_STEADY; i++) {
                char name[16];
                snprintf(name, sizeof(name), "s%02d", i);
                dl_write_unit(&d, name,
                              "[Service]\nExecStart=%s starts %s/starts-%s 0 0\nEnvironment=PVTEST_SVC=s%02d\n"
                              "[X-Pidvisor]\nAutoStart=yes\n",
                              dl_fixture(), d.dir, name, i);
        }
        dl_start(&d, "--log-level", "info", NULL);
        daemon_pid = d.pid;
        for (int i = 0; i < N_CRASH; i++) {
                char name[16];
                snprintf(name, sizeof(name), "c%02d", i);
                json_decref(dl_wait_status(&d, name, 20000, "a first restart", restarted_once, NULL));
        }
        list = dl_call(&d, "list", NULL);
        for (int i = 0; i < N_STEADY; i++) {
                char name[16];
                json_t *svc;
                snprintf(name, sizeof(name), "s%02d", i);
                svc = find_svc(list, name);
                dl_assert(&d, svc && !strcmp(dl_str(svc, "state"), "running"), "%s is not running", name);
                steady_pid[i] = dl_int(svc, "pid");
                steady_up[i] = dl_int(svc, "uptime_usec");
        }
        for (int i = 0; i < N_CRASH; i++) {
                char name[16];
                snprintf(name, sizeof(name), "c%02d", i);
                crash_restarts[i] = dl_int(find_svc(list, name), "restarts");
        }
        json_decref(list);

        t0 = dl_now_ms();
        for (int round = 1; round <= N_REEXEC; round++) {
                struct dl_cli r = dl_cli_run(&d, "daemon-reexec", NULL);

                dl_assert(&d, r.code == 0, "re-exec %d: the CLI exited %d: %s", round, r.code, r.err);
                dl_cli_done(&r);
                dl_assert(&d, !dl_exited(&d) && d.pid == daemon_pid, "re-exec %d: the daemon is gone", round);
                /* Right after: the same instances, uptimes going on, counters going on. */
                list = dl_call(&d, "list", NULL);
                for (int i = 0; i < N_STEADY; i++) {
                        char name[16];
                        json_t *svc;
                        snprintf(name, sizeof(name), "s%02d", i);
                        svc = find_svc(list, name);
                        dl_assert(&d, svc && !strcmp(dl_str(svc, "state"), "running") && dl_int(svc, "pid") == steady_pid[i] &&
                                          dl_int(svc, "restarts") == 0,
                                  "re-exec %d: %s is %s pid %lld with %lld restarts, expected running pid %lld", round,
                                  name, svc ? dl_str(svc, "state") : "?", svc ? dl_int(svc, "pid") : -1,
                                  svc ? dl_int(svc, "restarts") : -1, steady_pid[i]);
                        dl_assert(&d, dl_int(svc, "uptime_usec") >= steady_up[i],
                                  "re-exec %d: %s's uptime went back from %lld to %lld us", round, name, steady_up[i],
                                  dl_int(svc, "uptime_usec"));
                        steady_up[i] = dl_int(svc, "uptime_usec");
                }
                for (int i = 0; i < N_CRASH; i++) {
                        char name[16];
                        json_t *svc;
                        snprintf(name, sizeof(name), "c%02d", i);
                        svc = find_svc(list, name);
                        dl_assert(&d, svc && dl_int(svc, "restarts") >= crash_restarts[i],
                                  "re-exec %d: %s's restart counter went back from %lld to %lld", round, name,
                                  crash_restarts[i], svc ? dl_int(svc, "restarts") : -1);
                        crash_restarts[i] = dl_int(svc, "restarts");
                }
                json_decref(list);
                /* Exits go on meanwhile: some land in the next exec's window. */
                dl_sleep_ms(40);
                if (round % 10 == 0) {
                        count_instances("c", counts, N_CRASH);
                        for (int i = 0; i < N_CRASH; i++)
                                dl_assert(&d, counts[i] <= 1, "re-exec %d: c%02d has %d processes at once", round, i,
                                          counts[i]);
                        count_instances("s", counts, N_STEADY);
                        for (int i = 0; i < N_STEADY; i++)
                                dl_assert(&d, counts[i] == 1, "re-exec %d: s%02d has %d processes", round, i, counts[i]);
                }
        }
        fprintf(stderr, "reexec: %d re-execs with %d services in %.1f s\n", N_REEXEC, N_CRASH + N_STEADY,
                (double)(dl_now_ms() - t0) / 1000.0);

        /* Every crasher still cycles: no exit was lost (a lost one leaves it "running" on a
         * dead pid forever). */
        for (int i = 0; i < N_CRASH; i++) {
                char name[16];
                long long before = crash_restarts[i];
                json_t *svc;
                snprintf(name, sizeof(name), "c%02d", i);
                for (int64_t deadline = dl_now_ms() + 10000;;) {
                        svc = dl_status(&d, name);
                        if (dl_int(svc, "restarts") > before) {
                                json_decref(svc);
                                break;
                        }
                        json_decref(svc);
                        dl_assert(&d, dl_now_ms() < deadline, "%s does not restart any more (a lost exit?)", name);
                        dl_sleep_ms(50);
                }
        }
        /* Stopped: each start is counted, once.  A start the fixture recorded is an exit
         * the daemon counted as a restart, except the last one when it was stopped while
         * running (and that one may have been stopped before it wrote its line). */
        call_all(&d, "stop", "c", N_CRASH, 20000);
        list = dl_call(&d, "list", NULL);
        {
                long long total = 0;
                for (int i = 0; i < N_CRASH; i++) {
                        char name[16], path[600];
                        json_t *svc;
                        long long restarts;
                        int lines;
                        bool waiting;

                        snprintf(name, sizeof(name), "c%02d", i);
                        snprintf(path, sizeof(path), "%s/starts-%s", d.dir, name);
                        svc = find_svc(list, name);
                        restarts = dl_int(svc, "restarts");
                        lines = count_lines(path);
                        waiting = strstr(dl_str(svc, "reason"), "while waiting to restart") != NULL;
                        dl_assert(&d, !strcmp(dl_str(svc, "state"), "inactive"), "%s: %s after stop", name,
                                  dl_str(svc, "state"));
                        dl_assert(&d, waiting ? lines == restarts : (lines == restarts || lines == restarts + 1),
                                  "%s: %d starts recorded, %lld restarts counted (%s): an exit was lost or counted twice",
                                  name, lines, restarts, dl_str(svc, "reason"));
                        total += restarts;
                }
                fprintf(stderr, "reexec: %lld crashes counted across the re-execs\n", total);
                dl_assert(&d, total >= 3 * N_CRASH, "only %lld crashes in all: the services hardly ran", total);
        }
        json_decref(list);
        dl_assert(&d, dl_count_zombies_of(d.pid) == 0, "zombies left");
        dl_assert(&d, dl_log_count(&d, "daemon-reexec: done") == N_REEXEC, "%d re-execs logged as done, expected %d",
                  dl_log_count(&d, "daemon-reexec: done"), N_REEXEC);
        dl_assert(&d, dl_log_count(&d, "cannot take over") == 0, "a re-exec could not read the state");
        call_all(&d, "stop", "s", N_STEADY, 20000);
        dl_done(&d);
}
END_TEST

/* ---- in-flight jobs: an upgrade, a stop timeout ------------------------------------------- */

struct load {
        pid_t pid;
        char *out;
};

static void load_start(struct dl_daemon *d, struct load *l, int port) {
        char addr[64];
        int fd;

        snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
        l->out = dl_path(d, "load.json");
        l->pid = fork();
        ck_assert_int_ge(l->pid, 0);
        if (l->pid == 0) {
                fd = open(l->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                if (fd < 0 || dup2(fd, 1) < 0)
                        _exit(127);
                execl(loader(), "pv-load", "--addr", addr, "--conns", "4", "--duration-ms", "60000", (char *)NULL);
                _exit(127);
        }
        dl_sleep_ms(200);
}

static json_t *load_stop(struct dl_daemon *d, struct load *l) {
        json_t *j;
        char *text;
        int st;

        kill(l->pid, SIGTERM);
        ck_assert_int_eq(waitpid(l->pid, &st, 0), l->pid);
        dl_assert(d, WIFEXITED(st) && WEXITSTATUS(st) == 0, "pv-load ended with status 0x%x", st);
        text = dl_read_file(l->out);
        dl_assert(d, text, "no output from pv-load");
        j = json_loads(text, 0, NULL);
        dl_assert(d, j, "pv-load printed \"%s\"", text);
        free(text);
        free(l->out);
        return j;
}

static void reexec_ok(struct dl_daemon *d) {
        pid_t pid = d->pid;
        dl_cli_ok(d, "daemon-reexec", NULL);
        dl_assert(d, !dl_exited(d) && d->pid == pid, "the daemon is gone after a re-exec");
}

static pid_t svc_pid(struct dl_daemon *d, const char *name) {
        json_t *svc = dl_status(d, name);
        pid_t pid = (pid_t)dl_int(svc, "pid");
        json_decref(svc);
        return pid;
}

/* An upgrade whose successor is not ready yet (ReadyCheck=delay), then one whose old
 * instance is draining (it ignores DrainSignal=, so DrainTimeoutSec= ends it): a re-exec
 * in the middle of each, under load.  Each ends as it would have, and its request is
 * answered by the new process on the connection that asked. */
START_TEST(test_reexec_during_upgrade) {
        struct dl_daemon d;
        struct dl_conn c;
        struct load l;
        json_t *r, *svc, *load;
        int port = dl_free_port();
        pid_t old, succ;
        int64_t t0;

        dl_init(&d);
        dl_write_unit(&d, "web",
                      "[Service]\nExecStart=%s --bind 127.0.0.1:%d --tag v\n"
                      "[X-Pidvisor]\nHotRestart=takeover\nReadyCheck=delay 1500ms\nDrainSignal=SIGCONT\n"
                      "DrainTimeoutSec=2s\n",
                      upserver(), port);
        dl_start(&d, "--log-level", "info", NULL);
        dl_cli_ok(&d, "start", "web", NULL);
        old = svc_pid(&d, "web");
        load_start(&d, &l, port);

        /* 1. While the successor is starting: ready 1.5 s after it started, whatever the
         * re-exec did meanwhile; then the old instance drains for 2 s (DrainTimeoutSec=). */
        dl_connect(&d, &c);
        t0 = dl_now_ms();
        dl_send_line(&d, &c, "{\"id\":7,\"cmd\":\"upgrade\",\"args\":{\"name\":\"web\"}}");
        dl_sleep_ms(400);
        svc = dl_status(&d, "web");
        dl_assert(&d, !strcmp(dl_str(json_object_get(svc, "upgrade"), "phase"), "starting"),
                  "upgrade phase before the re-exec: %s", dl_str(json_object_get(svc, "upgrade"), "phase"));
        succ = (pid_t)dl_int(svc, "pid");
        json_decref(svc);
        reexec_ok(&d);
        svc = dl_status(&d, "web");
        dl_assert(&d, !strcmp(dl_str(json_object_get(svc, "upgrade"), "phase"), "starting") && dl_int(svc, "pid") == succ &&
                          dl_int(json_object_get(svc, "upgrade"), "old_pid") == old,
                  "after the re-exec: %s, pid %lld (successor %d, old %d)", dl_str(json_object_get(svc, "upgrade"), "phase"),
                  dl_int(svc, "pid"), (int)succ, (int)old);
        json_decref(svc);
        /* 2. While the old instance drains (it ignores SIGCONT): SIGKILL 2 s after the drain
         * began, and only then the answer. */
        for (;;) {
                svc = dl_status(&d, "web");
                if (!strcmp(dl_str(json_object_get(svc, "upgrade"), "phase"), "draining")) {
                        json_decref(svc);
                        break;
                }
                json_decref(svc);
                dl_assert(&d, dl_now_ms() - t0 < 6000, "the successor never became ready");
                dl_sleep_ms(20);
        }
        dl_sleep_ms(500);
        reexec_ok(&d);
        dl_assert(&d, dl_pidfd_wait_exit(dl_pidfd_open(old), 100) == false, "the old instance went before its time");
        r = dl_recv_json(&d, &c, 8000);
        dl_assert(&d, json_is_true(json_object_get(r, "ok")) && jnum(r, "id") == 7 &&
                          jnum(json_object_get(r, "result"), "old_pid") == old &&
                          jnum(json_object_get(r, "result"), "new_pid") == succ,
                  "the upgrade's reply: %s", json_dumps(r, JSON_COMPACT));
        {
                int64_t took = dl_now_ms() - t0;
                /* ready at 1.5 s, then 2 s of drain: 3.5 s; more than 6 s is a lost timer */
                dl_assert(&d, took >= 3300 && took < 6000, "the upgrade took %lld ms, expected about 3500", (long long)took);
                fprintf(stderr, "reexec: upgrade with two re-execs in it took %lld ms (expected 3500)\n", (long long)took);
        }
        json_decref(r);
        dl_close(&c);
        load = load_stop(&d, &l);
        /* Nothing refused, nothing slow to connect: the listener was never closed.  The old
         * instance ignores its drain signal and serves until it is SIGKILLed: the request
         * it held then (one per load connection at most) dies with it. */
        dl_assert(&d, jnum(load, "refused") == 0 && jnum(load, "slow_connect") == 0 && jnum(load, "connect_error") == 0 &&
                          jnum(load, "failed") <= 4 && jnum(load, "requests") > 100,
                  "%lld of %lld requests failed during the upgrade and the re-execs (refused %lld, slow_connect %lld, "
                  "reset_before %lld, reset_mid %lld, closed_empty %lld, timeout %lld)",
                  jnum(load, "failed"), jnum(load, "requests"), jnum(load, "refused"), jnum(load, "slow_connect"),
                  jnum(load, "reset_before"), jnum(load, "reset_mid"), jnum(load, "closed_empty"), jnum(load, "timeout"));
        fprintf(stderr, "reexec: %lld requests during the upgrade, %lld failed (the SIGKILLed old instance's)\n",
                jnum(load, "requests"), jnum(load, "failed"));
        json_decref(load);
        svc = dl_status(&d, "web");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "running") && dl_int(svc, "pid") == succ &&
                          !json_object_get(svc, "upgrade") && dl_int(svc, "restarts") == 0,
                  "after the upgrade: %s pid %lld", dl_str(svc, "state"), dl_int(svc, "pid"));
        json_decref(svc);
        dl_assert(&d, dl_proc_state(old, NULL) == '?', "the old instance %d is still there", (int)old);
        dl_cli_ok(&d, "stop", "web", NULL);
        dl_done(&d);
}
END_TEST

/* A service that ignores SIGTERM, TimeoutStopSec=2s: the re-exec comes 0.5 s into the
 * stop; SIGKILL still comes 2 s after the stop began, and the stop is answered then. */
START_TEST(test_reexec_during_stop_timeout) {
        struct dl_daemon d;
        struct dl_conn c;
        json_t *r, *svc, *last;
        int64_t t0, took;

        dl_init(&d);
        dl_write_unit(&d, "stubborn", "[Service]\nExecStart=%s ignore-term\nTimeoutStopSec=2s\n", dl_fixture());
        dl_start(&d, "--log-level", "info", NULL);
        dl_cli_ok(&d, "start", "stubborn", NULL);
        dl_sleep_ms(200); /* it has set SIGTERM to ignored */
        dl_connect(&d, &c);
        t0 = dl_now_ms();
        dl_send_line(&d, &c, "{\"id\":\"s\",\"cmd\":\"stop\",\"args\":{\"name\":\"stubborn\"}}");
        dl_sleep_ms(500);
        reexec_ok(&d);
        svc = dl_status(&d, "stubborn");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "stopping"), "after the re-exec: %s", dl_str(svc, "state"));
        json_decref(svc);
        r = dl_recv_json(&d, &c, 6000);
        took = dl_now_ms() - t0;
        dl_assert(&d, json_is_true(json_object_get(r, "ok")) && !strcmp(dl_str(json_object_get(r, "result"), "state"), "inactive"),
                  "the stop's reply: %s", json_dumps(r, JSON_COMPACT));
        dl_assert(&d, took >= 1900 && took < 3500, "the stop took %lld ms, expected 2000 (TimeoutStopSec=2s)", (long long)took);
        fprintf(stderr, "reexec: stop with a re-exec in its timeout took %lld ms (expected 2000)\n", (long long)took);
        json_decref(r);
        dl_close(&c);
        svc = dl_status(&d, "stubborn");
        last = json_array_get(json_object_get(svc, "history"), 0);
        dl_assert(&d, strstr(dl_str(last, "cause"), "SIGKILL"), "last exit: %s", dl_str(last, "cause"));
        json_decref(svc);
        dl_done(&d);
}
END_TEST

/* The epoll backend (where io_uring is forbidden): its child watches are polls of the
 * pidfd, which never reap in the kernel; the same guarantees through 20 re-execs. */
START_TEST(test_reexec_epoll) {
        static const char *const extra[] = { "--epoll", "--log-level", "info", NULL };
        struct dl_daemon d;
        long long restarts = 0;
        pid_t steady;

        dl_init(&d);
        dl_write_unit(&d, "steady", "[Service]\nExecStart=%s sleep 1000\n", dl_fixture());
        dl_write_unit(&d, "crash",
                      "[Unit]\nStartLimitIntervalSec=0\n[Service]\nExecStart=%s starts %s/starts 30-120 1\nRestart=always\n"
                      "RestartSec=50ms\n",
                      dl_fixture(), d.dir);
        dl_start_full(&d, NULL, extra);
        dl_assert(&d, dl_log_count(&d, "info: event loop: epoll") == 1, "not on epoll");
        dl_cli_ok(&d, "start", "steady", "crash", NULL);
        steady = svc_pid(&d, "steady");
        for (int i = 0; i < 20; i++) {
                json_t *svc;
                reexec_ok(&d);
                dl_assert(&d, svc_pid(&d, "steady") == steady, "re-exec %d: steady changed", i);
                svc = dl_status(&d, "crash");
                dl_assert(&d, dl_int(svc, "restarts") >= restarts, "re-exec %d: the counter went back", i);
                restarts = dl_int(svc, "restarts");
                json_decref(svc);
                dl_sleep_ms(60);
        }
        dl_assert(&d, dl_log_count(&d, "info: event loop: epoll") == 21, "a re-exec left the epoll backend");
        dl_cli_ok(&d, "stop", "crash", NULL);
        {
                char path[600];
                json_t *svc = dl_status(&d, "crash");
                int lines;
                snprintf(path, sizeof(path), "%s/starts", d.dir);
                lines = count_lines(path);
                dl_assert(&d, lines == dl_int(svc, "restarts") || lines == dl_int(svc, "restarts") + 1,
                          "%d starts, %lld restarts", lines, dl_int(svc, "restarts"));
                dl_assert(&d, dl_int(svc, "restarts") >= 10, "only %lld restarts", dl_int(svc, "restarts"));
                json_decref(svc);
        }
        dl_cli_ok(&d, "stop", "steady", NULL);
        dl_done(&d);
}
END_TEST

/* ---- failures ------------------------------------------------------------------------------- */

/* Refused before anything happens: a missing binary, one that does not take over. */
START_TEST(test_reexec_refused) {
        struct dl_daemon d;
        struct dl_cli r;
        pid_t pid, svc;

        dl_init(&d);
        dl_write_unit(&d, "steady", "[Service]\nExecStart=%s sleep 1000\n", dl_fixture());
        dl_start(&d, NULL);
        dl_cli_ok(&d, "start", "steady", NULL);
        pid = d.pid;
        svc = svc_pid(&d, "steady");
        r = dl_cli_run(&d, "daemon-reexec", "--binary", "/nonexistent", NULL);
        dl_assert(&d, r.code == 1 && strstr(r.err, "/nonexistent") && strstr(r.err, "No such file"),
                  "--binary /nonexistent: exit %d, \"%s\"", r.code, r.err);
        dl_cli_done(&r);
        r = dl_cli_run(&d, "daemon-reexec", "--binary", "/bin/true", NULL);
        dl_assert(&d, r.code == 1 && strstr(r.err, "does not take over"), "--binary /bin/true: exit %d, \"%s\"", r.code,
                  r.err);
        dl_cli_done(&r);
        r = dl_cli_run(&d, "daemon-reexec", "--binary", "relative/path", NULL);
        dl_assert(&d, r.code == 1 && strstr(r.err, "absolute"), "a relative path: exit %d, \"%s\"", r.code, r.err);
        dl_cli_done(&r);
        dl_assert(&d, !dl_exited(&d) && d.pid == pid && svc_pid(&d, "steady") == svc, "the daemon changed");
        dl_assert(&d, dl_log_count(&d, "daemon-reexec: executing") == 0, "it executed something");
        dl_cli_ok(&d, "stop", "steady", NULL);
        dl_done(&d);
}
END_TEST

/* execve itself fails (the format check skipped by a test setting): the old process
 * carries on as if nothing had happened, its child watches (parked for the exec) too. */
START_TEST(test_reexec_execve_fails) {
        static const char *const prefix[] = { "/usr/bin/env", "PIDVISOR_TEST_REEXEC_SKIP_CHECK=1", NULL };
        static const char *const extra[] = { "--log-level", "info", NULL };
        struct dl_daemon d;
        struct dl_cli r;
        json_t *svc;
        long long restarts;
        pid_t pid, steady;

        dl_init(&d);
        dl_write_unit(&d, "steady", "[Service]\nExecStart=%s sleep 1000\n", dl_fixture());
        dl_write_unit(&d, "crash",
                      "[Unit]\nStartLimitIntervalSec=0\n[Service]\nExecStart=%s starts %s/starts 100 1\nRestart=always\n"
                      "RestartSec=100ms\n",
                      dl_fixture(), d.dir);
        dl_start_full(&d, prefix, extra);
        dl_cli_ok(&d, "start", "steady", "crash", NULL);
        pid = d.pid;
        steady = svc_pid(&d, "steady");
        for (int i = 0; i < 5; i++) {
                r = dl_cli_run(&d, "daemon-reexec", "--binary", "/nonexistent/pidvisor", NULL);
                dl_assert(&d, r.code == 1 && strstr(r.err, "execve \"/nonexistent/pidvisor\": No such file or directory"),
                          "exit %d, \"%s\"", r.code, r.err);
                dl_cli_done(&r);
        }
        dl_assert(&d, dl_log_count(&d, "daemon-reexec failed, carrying on") == 5, "the failures are not logged");
        svc = dl_status(&d, "crash");
        restarts = dl_int(svc, "restarts");
        json_decref(svc);
        dl_sleep_ms(800);
        svc = dl_status(&d, "crash");
        dl_assert(&d, dl_int(svc, "restarts") > restarts, "the crasher stopped restarting after failed execs (%lld, %lld)",
                  restarts, dl_int(svc, "restarts"));
        json_decref(svc);
        dl_assert(&d, !dl_exited(&d) && d.pid == pid && svc_pid(&d, "steady") == steady, "the daemon changed");
        reexec_ok(&d); /* and a real one still works */
        dl_assert(&d, svc_pid(&d, "steady") == steady, "the steady service changed");
        dl_cli_ok(&d, "stop", "steady", "crash", NULL);
        dl_done(&d);
}
END_TEST

/* The new binary cannot read the state after all (a test setting makes it refuse once):
 * it says why and executes the previous binary with the same state, which answers. */
START_TEST(test_reexec_falls_back) {
        static const char *const prefix[] = { "/usr/bin/env", "PIDVISOR_TEST_REEXEC_REFUSE=1", NULL };
        static const char *const extra[] = { "--log-level", "info", NULL };
        struct dl_daemon d;
        pid_t pid, steady;

        dl_init(&d);
        dl_write_unit(&d, "steady", "[Service]\nExecStart=%s sleep 1000\n", dl_fixture());
        dl_start_full(&d, prefix, extra);
        dl_cli_ok(&d, "start", "steady", NULL);
        pid = d.pid;
        steady = svc_pid(&d, "steady");
        reexec_ok(&d);
        dl_assert(&d, dl_log_count(&d, "cannot take over the daemon's state") == 1 &&
                          dl_log_count(&d, "going back to the binary that wrote the state") == 1,
                  "the fallback is not logged");
        dl_assert(&d, d.pid == pid && svc_pid(&d, "steady") == steady, "the daemon changed");
        /* The fallback does not carry the test setting: the next one goes through. */
        reexec_ok(&d);
        dl_assert(&d, dl_log_count(&d, "cannot take over the daemon's state") == 1, "refused twice");
        dl_cli_ok(&d, "stop", "steady", NULL);
        dl_done(&d);
}
END_TEST

/* ---- crash recovery -------------------------------------------------------------------------- */

static void kill_daemon(struct dl_daemon *d) {
        ck_assert_int_eq(kill(d->pid, SIGKILL), 0);
        dl_assert(d, dl_wait_exit(d, 5000), "the daemon did not die of SIGKILL");
}

static bool answered(int port, pid_t *by) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        char buf[64] = "";
        ssize_t n;

        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || write(fd, "GET\n", 4) != 4) {
                close(fd);
                return false;
        }
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        buf[n > 0 ? n : 0] = 0;
        return n > 0 && sscanf(buf, "v %d", (int *)by) == 1;
}

#define N_KEPT 20

/* kill -9 the daemon; meanwhile a service keeps writing (its pipes live on: no SIGPIPE),
 * a socket-activated one keeps serving, one started by hand dies; start the daemon again:
 * the running ones are adopted (same pids, one process each, listener and output taken
 * back), the dead one is started again, the one stopped by hand stays stopped. */
START_TEST(test_crash_recovery) {
        struct dl_daemon d;
        pid_t chatty, web, again, by, kept[N_KEPT];
        int counts[N_KEPT], port = dl_free_port(), lines_dead, lines_after;
        char *log_path;
        json_t *svc;

        dl_init(&d);
        dl_write_unit(&d, "chatty",
                      "[Service]\nExecStart=/bin/sh -c 'while :; do echo tick; echo tock >&2; sleep 0.02; done'\n"
                      "Environment=PVTEST_SVC=x00\n[X-Pidvisor]\nOutputLifeline=yes\n");
        dl_write_unit(&d, "web", "[Service]\nExecStart=%s --tag v\nEnvironment=PVTEST_SVC=x01\n"
                                 "[Socket]\nListenStream=127.0.0.1:%d\n", upserver(), port);
        dl_write_unit(&d, "again", "[Service]\nExecStart=%s sleep 1000\nEnvironment=PVTEST_SVC=x02\n", dl_fixture());
        dl_write_unit(&d, "keeper", "[Service]\nExecStart=%s sleep 1000\nEnvironment=PVTEST_SVC=x03\n"
                                    "[X-Pidvisor]\nAutoStart=yes\n", dl_fixture());
        for (int i = 0; i < N_KEPT; i++) {
                char name[16];
                snprintf(name, sizeof(name), "k%02d", i);
                dl_write_unit(&d, name, "[Service]\nExecStart=%s sleep 1000\nEnvironment=PVTEST_SVC=k%02d\n"
                                        "[X-Pidvisor]\nAutoStart=yes\n", dl_fixture(), i);
        }
        dl_start(&d, "--log-level", "info", NULL);
        dl_cli_ok(&d, "start", "chatty", "web", "again", NULL);
        dl_cli_ok(&d, "stop", "keeper", NULL);
        chatty = svc_pid(&d, "chatty");
        web = svc_pid(&d, "web");
        again = svc_pid(&d, "again");
        for (int i = 0; i < N_KEPT; i++) {
                char name[16];
                snprintf(name, sizeof(name), "k%02d", i);
                json_decref(dl_wait_state(&d, name, "running", 5000));
                kept[i] = svc_pid(&d, name);
        }
        dl_assert(&d, answered(port, &by) && by == web, "web does not answer");
        dl_sleep_ms(100); /* the records are written at the next turn */

        kill_daemon(&d);
        log_path = dl_path(&d, "state/logs/chatty.log");
        lines_dead = count_lines(log_path);
        /* No daemon: the chatty one writes on into its pipe (the pipe does not break),
         * web serves from the listener it holds, again dies. */
        dl_sleep_ms(300);
        dl_assert(&d, dl_proc_state(chatty, NULL) != '?' && dl_proc_state(chatty, NULL) != 'Z',
                  "chatty died without its daemon (SIGPIPE?)");
        dl_assert(&d, answered(port, &by) && by == web, "web does not answer without its daemon");
        kill(again, SIGKILL);

        dl_start(&d, "--log-level", "info", NULL);
        dl_assert(&d, dl_log_count(&d, "crash recovery: ") >= 2, "no crash recovery in the log");
        svc = dl_status(&d, "chatty");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "running") && dl_int(svc, "pid") == chatty &&
                          strstr(dl_str(svc, "reason"), "adopted"),
                  "chatty: %s pid %lld (%s), expected running pid %d, adopted", dl_str(svc, "state"), dl_int(svc, "pid"),
                  dl_str(svc, "reason"), (int)chatty);
        dl_assert(&d, dl_int(svc, "uptime_usec") >= 300000, "chatty's uptime starts over: %lld us",
                  dl_int(svc, "uptime_usec"));
        json_decref(svc);
        svc = dl_status(&d, "web");
        dl_assert(&d, dl_int(svc, "pid") == web && json_is_true(json_object_get(json_array_get(json_object_get(svc, "listen"), 0), "open")),
                  "web: pid %lld, listener %s", dl_int(svc, "pid"),
                  json_dumps(json_object_get(svc, "listen"), JSON_COMPACT));
        json_decref(svc);
        dl_assert(&d, dl_log_count(&d, "web: adopting pid") == 1 && dl_log_count(&d, "1 of 1 listeners") == 1,
                  "web's listener was not taken back");
        svc = dl_wait_state(&d, "again", "running", 5000);
        dl_assert(&d, dl_int(svc, "pid") != again, "again: still pid %d", (int)again);
        json_decref(svc);
        svc = dl_status(&d, "keeper");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "inactive"), "keeper (stopped by hand, AutoStart=yes) is %s",
                  dl_str(svc, "state"));
        json_decref(svc);
        /* Not duplicated: one process each, the same as before. */
        count_instances("k", counts, N_KEPT);
        for (int i = 0; i < N_KEPT; i++) {
                char name[16];
                snprintf(name, sizeof(name), "k%02d", i);
                dl_assert(&d, counts[i] == 1 && svc_pid(&d, name) == kept[i], "%s: %d processes, pid %d (was %d)", name,
                          counts[i], (int)svc_pid(&d, name), (int)kept[i]);
        }
        count_instances("x", counts, 4);
        dl_assert(&d, counts[0] == 1 && counts[1] == 1 && counts[2] == 1 && counts[3] == 0,
                  "chatty %d, web %d, again %d, keeper %d processes", counts[0], counts[1], counts[2], counts[3]);
        /* The output the chatty one wrote meanwhile and after reaches its log. */
        dl_sleep_ms(300);
        lines_after = count_lines(log_path);
        dl_assert(&d, lines_after > lines_dead + 20, "chatty's log: %d lines at the crash, %d now", lines_dead, lines_after);
        free(log_path);
        /* The adopted instance goes as any: web's successor gets the daemon's listener. */
        dl_cli_ok(&d, "restart", "web", NULL);
        dl_assert(&d, answered(port, &by) && by == svc_pid(&d, "web") && by != web, "the restarted web does not answer");
        dl_cli_ok(&d, "stop", "chatty", NULL);
        svc = dl_status(&d, "chatty");
        dl_assert(&d, strstr(dl_str(json_array_get(json_object_get(svc, "history"), 0), "cause"), "status unknown"),
                  "an adopted process's exit: %s", dl_str(json_array_get(json_object_get(svc, "history"), 0), "cause"));
        json_decref(svc);
        dl_cli_ok(&d, "stop", "web", "again", NULL);
        dl_done(&d);
}
END_TEST

/* A record whose pid now belongs to another process (simulated: an unrelated process's
 * pid with another start time): not adopted, not signalled; the unit, started by hand
 * before the crash, is started again. */
START_TEST(test_recovery_recycled_pid) {
        struct dl_daemon d;
        pid_t first, other, now;
        char *record;
        FILE *f;

        dl_init(&d);
        dl_write_unit(&d, "svc", "[Service]\nExecStart=%s sleep 1000\n", dl_fixture());
        dl_start(&d, "--log-level", "info", NULL);
        dl_cli_ok(&d, "start", "svc", NULL);
        first = svc_pid(&d, "svc");
        dl_sleep_ms(100);
        kill_daemon(&d);
        kill(first, SIGKILL);
        other = fork();
        ck_assert_int_ge(other, 0);
        if (other == 0) {
                execl("/bin/sleep", "sleep", "1000", (char *)NULL);
                _exit(127);
        }
        record = dl_path(&d, "state/recover/svc.json");
        f = fopen(record, "w");
        ck_assert_ptr_nonnull(f);
        fprintf(f, "{\"format\":1,\"name\":\"svc\",\"desired\":\"started\",\"state\":\"running\",\"restarts\":0,"
                   "\"instances\":[{\"role\":\"main\",\"pid\":%d,\"start_time\":1,\"session\":%d}]}",
                (int)other, (int)other);
        fclose(f);
        free(record);
        dl_start(&d, "--log-level", "info", NULL);
        json_decref(dl_wait_state(&d, "svc", "running", 5000));
        now = svc_pid(&d, "svc");
        dl_assert(&d, now != other && now != first, "svc's pid is %d (other %d, first %d)", (int)now, (int)other, (int)first);
        dl_assert(&d, dl_log_count(&d, "is another process now") == 1, "the reused pid is not reported");
        dl_cli_ok(&d, "stop", "svc", NULL);
        dl_assert(&d, dl_proc_state(other, NULL) != '?' && dl_proc_state(other, NULL) != 'Z',
                  "the unrelated process was signalled");
        kill(other, SIGKILL);
        waitpid(other, NULL, 0);
        dl_done(&d);
}
END_TEST

int main(void) {
        Suite *s = pv_test_suite("integration-reexec");
        TCase *tc;
        int ret;

        dl_suite_begin("reexec");

        tc = pv_test_case("churn");
        tcase_set_timeout(tc, 240);
        tcase_add_test(tc, test_reexec_under_churn);
        pv_test_add(s, tc, pv_test_need_root());

        tc = pv_test_case("in-flight");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_reexec_during_upgrade);
        tcase_add_test(tc, test_reexec_during_stop_timeout);
        tcase_add_test(tc, test_reexec_epoll);
        pv_test_add(s, tc, pv_test_need_root());

        tc = pv_test_case("failures");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_reexec_refused);
        tcase_add_test(tc, test_reexec_execve_fails);
        tcase_add_test(tc, test_reexec_falls_back);
        pv_test_add(s, tc, pv_test_need_root());

        tc = pv_test_case("recovery");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_crash_recovery);
        tcase_add_test(tc, test_recovery_recycled_pid);
        pv_test_add(s, tc, pv_test_need_root());

        ret = pv_test_main(s);
        dl_suite_end();
        return ret;
}
