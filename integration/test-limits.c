/* SPDX-License-Identifier: MIT */
/* Integration tests of resource limits in `pidvisor daemon` (MemoryMax=, TasksMax=,
 * CPUQuota=, RequireCgroupLimits=; docs/architecture.md, "Resource limits"): each limit
 * is shown to bite (an OOM kill, a refused fork, a throttled busy loop), its value is read
 * back from the cgroup file status names, the children of ExecStartPre= and ExecStart= are
 * placed while the daemon ends where it started, a missing controller (hidden with the
 * test-only $PIDVISOR_TEST_CGROUP_HIDE) warns or fails the start, and the cgroup
 * directories go with the unit and the daemon.
 *
 * On this machine (cgroup v2 with only hugetlb, the rest in cgroup v1) the limits are
 * enforced through cgroup v1; the checks accept v2 as well, reading the matching file. */
#include "daemonlib.h"
#include "testlib.h"

#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PYTHON "/usr/bin/python3"

/* ---- helpers ---- */

/* DIR/name with the text, executable; returns the path. */
static char *script(struct dl_daemon *d, const char *name, const char *text) {
        char *path = dl_path(d, name);

        pv_test_write_file(path, text, 0755);
        return path;
}

static char *read_trimmed(const char *path) {
        char *s = dl_read_file(path);

        if (s)
                s[strcspn(s, "\n")] = 0;
        return s;
}

/* Waits for a file to exist with some content; returns it whole. */
static char *wait_file(struct dl_daemon *d, const char *path, int timeout_ms) {
        int64_t deadline = dl_now_ms() + timeout_ms;

        for (;;) {
                char *s = dl_read_file(path);
                if (s && *s)
                        return s;
                free(s);
                if (dl_now_ms() > deadline)
                        dl_fail(d, "%s did not appear within %d ms", path, timeout_ms);
                dl_sleep_ms(10);
        }
}

static json_t *limit(struct dl_daemon *d, json_t *svc, const char *key) {
        json_t *e = json_object_get(json_object_get(svc, "limits"), key);

        dl_assert(d, json_is_object(e), "status has no limits.%s: %s", key, json_dumps(svc, JSON_COMPACT));
        return e;
}

/* The cgroup file status names for key, checked to be enforced through v1 or v2 (this
 * machine: v1); *v2 tells which. */
static const char *limit_file(struct dl_daemon *d, json_t *svc, const char *key, bool *v2) {
        json_t *e = limit(d, svc, key);
        const char *how = dl_str(e, "enforced");

        dl_assert(d, !strcmp(how, "v1") || !strcmp(how, "v2"), "%s enforced \"%s\": %s", key, how,
                  json_dumps(e, JSON_COMPACT));
        if (v2)
                *v2 = !strcmp(how, "v2");
        return dl_str(e, "file");
}

/* A file next to the one status names (same cgroup directory). */
static char *sibling(const char *file, const char *name) {
        char *copy = strdup(file), *p;

        ck_assert_ptr_nonnull(copy);
        p = pv_test_fmt("%s/%s", dirname(copy), name);
        free(copy);
        return p;
}

static void expect_file(struct dl_daemon *d, const char *path, const char *value) {
        char *s = read_trimmed(path);

        dl_assert(d, s && !strcmp(s, value), "%s holds \"%s\", expected \"%s\"", path, s ? s : "(unreadable)", value);
        free(s);
}

/* The path of the hierarchy holding `controller` in a /proc/PID/cgroup text (NULL: none). */
static char *cgroup_of(const char *text, const char *controller) {
        char *copy = strdup(text), *save = NULL, *found = NULL;

        ck_assert_ptr_nonnull(copy);
        for (char *l = strtok_r(copy, "\n", &save); l && !found; l = strtok_r(NULL, "\n", &save)) {
                char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL, *save2 = NULL;
                if (!c2)
                        continue;
                *c2 = 0;
                for (char *w = strtok_r(c1 + 1, ",", &save2); w; w = strtok_r(NULL, ",", &save2))
                        if (!strcmp(w, controller))
                                found = strdup(c2 + 1);
        }
        free(copy);
        return found;
}

static char *proc_cgroup(pid_t pid) {
        char *path = pv_test_fmt("/proc/%d/cgroup", (int)pid), *s = dl_read_file(path);

        ck_assert_msg(s != NULL, "cannot read %s", path);
        free(path);
        return s;
}

static bool ends_with(const char *s, const char *suffix) {
        size_t a = strlen(s), b = strlen(suffix);

        return a >= b && !strcmp(s + a - b, suffix);
}

/* utime + stime of a process, in clock ticks. */
static long long cpu_ticks(struct dl_daemon *d, pid_t pid) {
        char *path = pv_test_fmt("/proc/%d/stat", (int)pid), *s = dl_read_file(path), *p;
        unsigned long long ut = 0, st = 0;

        dl_assert(d, s != NULL, "cannot read %s", path);
        p = strrchr(s, ')');
        dl_assert(d, p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) == 2,
                  "cannot parse %s: %s", path, s);
        free(s);
        free(path);
        return (long long)(ut + st);
}

static pid_t main_pid(struct dl_daemon *d, const char *name) {
        json_t *svc = dl_wait_state(d, name, "running", DL_DEADLINE_MS);
        pid_t pid = (pid_t)dl_int(svc, "pid");

        json_decref(svc);
        dl_assert(d, pid > 0, "%s has no pid", name);
        return pid;
}

static bool is_missing(const char *path) {
        struct stat st;

        return stat(path, &st) < 0 && errno == ENOENT;
}

static void wait_missing(struct dl_daemon *d, const char *path, int timeout_ms) {
        int64_t deadline = dl_now_ms() + timeout_ms;

        while (!is_missing(path)) {
                if (dl_now_ms() > deadline)
                        dl_fail(d, "%s is still there after %d ms", path, timeout_ms);
                dl_sleep_ms(20);
        }
}

/* ---- MemoryMax= ---- */

static const char hog_py[] = "import sys, time\n"
                             "b = b'x' * (200 << 20)  # 200 MiB, every page written\n"
                             "open(sys.argv[1], 'w').write('allocated\\n')\n"
                             "time.sleep(120)\n";

/* A service with MemoryMax=32M that touches 200 MB is killed by the OOM killer of its own
 * cgroup; the same program without the limit keeps its 200 MB and runs on. */
START_TEST(test_memory_max) {
        struct dl_daemon d;
        char *hog, *done_hog, *done_free, *f, *oom;
        const char *file;
        json_t *svc, *h;
        struct dl_cli r;
        bool v2;
        pid_t pid;
        long long rss;

        dl_init(&d);
        hog = script(&d, "hog.py", hog_py);
        done_hog = dl_path(&d, "hog.done");
        done_free = dl_path(&d, "free.done");
        dl_write_unit(&d, "hog", "[Service]\nExecStart=" PYTHON " %s %s\nMemoryMax=32M\n", hog, done_hog);
        dl_write_unit(&d, "free", "[Service]\nExecStart=" PYTHON " %s %s\n", hog, done_free);
        dl_start(&d, NULL);
        dl_cli_ok(&d, "start", "hog", "free", NULL);

        svc = dl_wait_state(&d, "hog", "failed", 20000);
        h = json_array_get(json_object_get(svc, "history"), 0);
        dl_assert(&d, !strcmp(dl_str(h, "cause"), "killed by SIGKILL"), "hog ended \"%s\", expected killed by SIGKILL",
                  dl_str(h, "cause"));
        dl_assert(&d, is_missing(done_hog), "hog got its 200 MB under MemoryMax=32M");
        file = limit_file(&d, svc, "MemoryMax", &v2);
        dl_assert(&d, dl_int(limit(&d, svc, "MemoryMax"), "bytes") == 32 << 20, "MemoryMax bytes %lld",
                  dl_int(limit(&d, svc, "MemoryMax"), "bytes"));
        expect_file(&d, file, "33554432");
        dl_assert(&d, ends_with(file, v2 ? "/hog.service/memory.max" : "/hog.service/memory.limit_in_bytes"),
                  "file %s", file);
        /* Its own cgroup's OOM killer did it (not the machine's). */
        oom = sibling(file, v2 ? "memory.events" : "memory.oom_control");
        f = dl_read_file(oom);
        dl_assert(&d, f && strstr(f, "oom_kill 1"), "%s: %s", oom, f ? f : "(unreadable)");
        free(f);
        free(oom);

        r = dl_cli_run(&d, "status", "hog", NULL);
        dl_assert(&d, r.code == 0 && strstr(r.out, v2 ? "MemoryMax=32M via cgroup v2: " : "MemoryMax=32M via cgroup v1: ") &&
                              strstr(r.out, file),
                  "text status:\n%s", r.out);
        dl_cli_done(&r);
        json_decref(svc);

        /* Without the limit: allocated, still running, 200 MB resident. */
        free(wait_file(&d, done_free, 20000));
        pid = main_pid(&d, "free");
        rss = dl_proc_status_field(pid, "VmRSS");
        dl_assert(&d, rss >= 190 * 1024, "free's VmRSS is %lld kB, expected its 200 MB", rss);
        svc = dl_status(&d, "free");
        dl_assert(&d, !json_object_get(svc, "limits"), "a unit without limits shows limits: %s",
                  json_dumps(svc, JSON_COMPACT));
        json_decref(svc);

        free(hog);
        free(done_hog);
        free(done_free);
        dl_done(&d);
}
END_TEST

/* ---- TasksMax= ---- */

/* It waits a little first: while the daemon is still inside the service's pids cgroup
 * right after the spawn (microseconds, unless the machine is busy) it counts against
 * TasksMax=, on purpose (never looser than asked), and this test counts exactly. */
static const char forker_py[] = "import os, sys, time\n"
                                "time.sleep(0.3)\n"
                                "n, err = 0, 0\n"
                                "while n < 50:\n"
                                "    try:\n"
                                "        pid = os.fork()\n"
                                "    except OSError as e:\n"
                                "        err = e.errno\n"
                                "        break\n"
                                "    if pid == 0:\n"
                                "        time.sleep(120)\n"
                                "        os._exit(0)\n"
                                "    n += 1\n"
                                "open(sys.argv[1], 'w').write('%d %d\\n' % (n, err))\n"
                                "time.sleep(120)\n";

/* TasksMax=5: the service (one process) forks 4 children, the 5th fork fails with EAGAIN. */
START_TEST(test_tasks_max) {
        struct dl_daemon d;
        char *forker, *out, *got, *current, *want;
        const char *file;
        json_t *svc;
        int64_t deadline;

        dl_init(&d);
        forker = script(&d, "forker.py", forker_py);
        out = dl_path(&d, "forks");
        dl_write_unit(&d, "forker", "[Service]\nExecStart=" PYTHON " %s %s\nTasksMax=5\n", forker, out);
        dl_start(&d, NULL);
        dl_cli_ok(&d, "start", "forker", NULL);
        got = wait_file(&d, out, 20000);
        want = pv_test_fmt("4 %d\n", EAGAIN);
        dl_assert(&d, !strcmp(got, want), "forks made and the error: \"%s\", expected \"%s\"", got, want);
        free(want);
        free(got);

        svc = dl_status(&d, "forker");
        file = limit_file(&d, svc, "TasksMax", NULL);
        dl_assert(&d, ends_with(file, "/forker.service/pids.max"), "file %s", file);
        dl_assert(&d, dl_int(limit(&d, svc, "TasksMax"), "tasks") == 5, "tasks");
        expect_file(&d, file, "5");
        current = sibling(file, "pids.current");
        expect_file(&d, current, "5");

        /* A stop takes all five; the count goes back to 0. */
        dl_cli_ok(&d, "stop", "forker", NULL);
        deadline = dl_now_ms() + DL_DEADLINE_MS;
        for (;;) {
                char *c = read_trimmed(current);
                bool zero = c && !strcmp(c, "0");
                free(c);
                if (zero)
                        break;
                dl_assert(&d, dl_now_ms() < deadline, "%s not back to 0 after the stop", current);
                dl_sleep_ms(20);
        }
        free(current);
        json_decref(svc);
        free(forker);
        free(out);
        dl_done(&d);
}
END_TEST

/* ---- CPUQuota= ---- */

/* CPUQuota=20%: a busy loop gets about 0.2 s of CPU per second. */
START_TEST(test_cpu_quota) {
        struct dl_daemon d;
        const char *file;
        char *period, *stat_path, *st, *p;
        json_t *svc;
        long long t0, t1, ticks0, ticks1, throttled = -1;
        double share;
        pid_t pid;
        bool v2;

        dl_init(&d);
        dl_write_unit(&d, "busy", "[Service]\nExecStart=/bin/sh -c 'while :; do :; done'\nCPUQuota=20%%\n");
        dl_start(&d, NULL);
        dl_cli_ok(&d, "start", "busy", NULL);
        pid = main_pid(&d, "busy");
        dl_sleep_ms(300);
        ticks0 = cpu_ticks(&d, pid);
        t0 = dl_now_ms();
        dl_sleep_ms(1000);
        ticks1 = cpu_ticks(&d, pid);
        t1 = dl_now_ms();
        share = (double)(ticks1 - ticks0) / (double)sysconf(_SC_CLK_TCK) / ((double)(t1 - t0) / 1000.0);
        printf("CPUQuota=20%%: the busy loop got %.1f%% of a CPU over %lld ms\n", share * 100, t1 - t0);
        /* Slack: ticks are 10 ms; a shared machine can only make it less. */
        dl_assert(&d, share <= 0.30, "the busy loop got %.0f%% of a CPU under CPUQuota=20%%", share * 100);
        dl_assert(&d, share >= 0.05, "the busy loop got only %.1f%% of a CPU", share * 100);

        svc = dl_status(&d, "busy");
        file = limit_file(&d, svc, "CPUQuota", &v2);
        dl_assert(&d, dl_int(limit(&d, svc, "CPUQuota"), "quota_usec") == 20000 &&
                              dl_int(limit(&d, svc, "CPUQuota"), "period_usec") == 100000,
                  "quota/period: %s", json_dumps(limit(&d, svc, "CPUQuota"), JSON_COMPACT));
        if (v2)
                expect_file(&d, file, "20000 100000");
        else {
                expect_file(&d, file, "20000");
                period = sibling(file, "cpu.cfs_period_us");
                expect_file(&d, period, "100000");
                free(period);
        }
        /* The kernel says it throttled that cgroup. */
        stat_path = sibling(file, "cpu.stat");
        st = dl_read_file(stat_path);
        p = st ? strstr(st, "nr_throttled ") : NULL;
        if (p)
                throttled = atoll(p + strlen("nr_throttled "));
        dl_assert(&d, throttled > 0, "%s: %s", stat_path, st ? st : "(unreadable)");
        free(st);
        free(stat_path);
        json_decref(svc);
        dl_done(&d);
}
END_TEST

/* ---- placement ---- */

static bool placed_in(const char *cg_text, const char *controller, const char *service) {
        char *path = cgroup_of(cg_text, controller), *suffix = pv_test_fmt("/%s.service", service);
        bool ok = path && ends_with(path, suffix) && strstr(path, "/pidvisor-");

        free(path);
        free(suffix);
        return ok;
}

/* ExecStartPre= and ExecStart= children (and what they fork) are born in the service's
 * v1 cgroups; a unit without limits stays where the daemon is; the daemon is back in its
 * own cgroups after every spawn and restart; a stop (KillMode=control-group) takes the
 * forked child too and leaves the daemon alone. */
START_TEST(test_placement) {
        static const char *const ctls[] = { "memory", "pids", "cpu" };
        struct dl_daemon d;
        char *pre, *main_cg, *plain_cg, *plain_pre, *daemon0, *now, *s, *procs;
        const char *file;
        json_t *svc;
        pid_t pid;
        int64_t deadline;

        dl_init(&d);
        pre = dl_path(&d, "pre.cg");
        main_cg = dl_path(&d, "main.cg");
        plain_pre = dl_path(&d, "plain-pre.cg");
        plain_cg = dl_path(&d, "plain.cg");
        dl_write_unit(&d, "placed",
                      "[Service]\nExecStartPre=/bin/sh -c 'cat /proc/self/cgroup > %s.tmp && mv %s.tmp %s'\n"
                      "ExecStart=/bin/sh -c 'sleep 120 & cat /proc/self/cgroup > %s.tmp && mv %s.tmp %s; exec sleep 120'\n"
                      "MemoryMax=64M\nTasksMax=20\nCPUQuota=50%%\n",
                      pre, pre, pre, main_cg, main_cg, main_cg);
        dl_write_unit(&d, "plain",
                      "[Service]\nExecStartPre=/bin/sh -c 'cat /proc/self/cgroup > %s.tmp && mv %s.tmp %s'\n"
                      "ExecStart=/bin/sh -c 'cat /proc/self/cgroup > %s.tmp && mv %s.tmp %s; exec sleep 120'\n",
                      plain_pre, plain_pre, plain_pre, plain_cg, plain_cg, plain_cg);
        dl_start(&d, NULL);
        daemon0 = proc_cgroup(d.pid);
        dl_cli_ok(&d, "start", "placed", "plain", NULL);

        for (int round = 0; round < 3; round++) {
                char *a = wait_file(&d, pre, DL_DEADLINE_MS), *b = wait_file(&d, main_cg, DL_DEADLINE_MS);
                char *c = wait_file(&d, plain_pre, DL_DEADLINE_MS), *e = wait_file(&d, plain_cg, DL_DEADLINE_MS);
                for (size_t i = 0; i < 3; i++) {
                        char *dmn = cgroup_of(daemon0, ctls[i]), *x = cgroup_of(c, ctls[i]), *y = cgroup_of(e, ctls[i]);
                        dl_assert(&d, placed_in(a, ctls[i], "placed"), "round %d: ExecStartPre= not in its %s cgroup:\n%s",
                                  round, ctls[i], a);
                        dl_assert(&d, placed_in(b, ctls[i], "placed"), "round %d: ExecStart= not in its %s cgroup:\n%s",
                                  round, ctls[i], b);
                        /* Without limits: where the daemon is (v1); nothing moved. */
                        dl_assert(&d, dmn && x && y && !strcmp(x, dmn) && !strcmp(y, dmn),
                                  "round %d: plain's %s cgroup %s / %s, the daemon's %s", round, ctls[i], x, y, dmn);
                        free(dmn);
                        free(x);
                        free(y);
                }
                free(a);
                free(b);
                free(c);
                free(e);
                now = proc_cgroup(d.pid);
                dl_assert(&d, !strcmp(now, daemon0), "round %d: the daemon's cgroups changed:\n%s\nwas:\n%s", round, now,
                          daemon0);
                free(now);
                unlink(pre);
                unlink(main_cg);
                unlink(plain_pre);
                unlink(plain_cg);
                dl_cli_ok(&d, "restart", "placed", "plain", NULL);
        }
        free(wait_file(&d, main_cg, DL_DEADLINE_MS));

        /* The background sleep is in the service's v1 cgroup too: two processes there. */
        svc = dl_status(&d, "placed");
        pid = (pid_t)dl_int(svc, "pid");
        file = limit_file(&d, svc, "TasksMax", NULL);
        procs = sibling(file, "cgroup.procs");
        s = dl_read_file(procs);
        {
                int n = 0;
                for (char *p = s; p && *p; p++)
                        n += *p == '\n';
                dl_assert(&d, n == 2, "%s holds %d processes:\n%s", procs, n, s ? s : "");
        }
        free(s);

        /* KillMode=control-group: both go; the daemon stays, in its own cgroups. */
        dl_cli_ok(&d, "stop", "placed", NULL);
        deadline = dl_now_ms() + DL_DEADLINE_MS;
        for (;;) {
                char *t = dl_read_file(procs);
                bool empty = t && !*t;
                free(t);
                if (empty)
                        break;
                dl_assert(&d, dl_now_ms() < deadline, "%s still has processes after the stop", procs);
                dl_sleep_ms(20);
        }
        dl_assert(&d, !dl_exited(&d), "the daemon died");
        dl_assert(&d, kill(pid, 0) < 0, "the main process %d survived the stop", (int)pid);
        now = proc_cgroup(d.pid);
        dl_assert(&d, !strcmp(now, daemon0), "after the stop the daemon's cgroups changed:\n%s", now);
        free(now);
        free(procs);
        json_decref(svc);
        free(daemon0);
        free(pre);
        free(main_cg);
        free(plain_pre);
        free(plain_cg);
        dl_done(&d);
}
END_TEST

/* A spawn that fails in the child (chdir) still brings the daemon back and the lifted
 * limits back in force. */
START_TEST(test_spawn_failure) {
        struct dl_daemon d;
        char *daemon0, *now;
        json_t *svc, *h;
        bool v2;
        const char *mem, *cpu, *pids;

        dl_init(&d);
        dl_write_unit(&d, "nowhere", "[Service]\nExecStart=/bin/true\nWorkingDirectory=/nonexistent-pvtest\n"
                                     "MemoryMax=64M\nTasksMax=5\nCPUQuota=50%%\n");
        dl_start(&d, NULL);
        daemon0 = proc_cgroup(d.pid);
        {
                struct dl_cli r = dl_cli_run(&d, "start", "nowhere", NULL);
                dl_cli_done(&r);
        }
        svc = dl_wait_state(&d, "nowhere", "failed", DL_DEADLINE_MS);
        h = json_array_get(json_object_get(svc, "history"), 0);
        dl_assert(&d, strstr(dl_str(h, "cause"), "spawn failed") && strstr(dl_str(h, "cause"), "chdir"),
                  "cause: %s", dl_str(h, "cause"));
        now = proc_cgroup(d.pid);
        dl_assert(&d, !strcmp(now, daemon0), "the daemon's cgroups changed:\n%s\nwas:\n%s", now, daemon0);
        mem = limit_file(&d, svc, "MemoryMax", &v2);
        cpu = limit_file(&d, svc, "CPUQuota", NULL);
        pids = limit_file(&d, svc, "TasksMax", NULL);
        expect_file(&d, mem, "67108864");
        expect_file(&d, cpu, v2 ? "50000 100000" : "50000");
        expect_file(&d, pids, "5");
        json_decref(svc);
        free(now);
        free(daemon0);
        dl_done(&d);
}
END_TEST

/* `pidvisor upgrade`: the successor is born in the service's cgroups too, under the
 * limits the unit file says at the upgrade; the daemon ends where it started. */
START_TEST(test_upgrade) {
        struct dl_daemon d;
        char *sock, *cg, *daemon0, *now, *text;
        json_t *svc;
        pid_t old_pid, new_pid;

        dl_init(&d);
        sock = dl_path(&d, "web.sock");
        cg = dl_path(&d, "web.cg");
        dl_write_unit(&d, "web",
                      "[Service]\nExecStart=/bin/sh -c 'cat /proc/self/cgroup > %s.tmp && mv %s.tmp %s; exec sleep 120'\n"
                      "MemoryMax=64M\nTasksMax=20\n[Socket]\nListenStream=%s\n[X-Pidvisor]\nReadyCheck=delay 100ms\n",
                      cg, cg, cg, sock);
        dl_start(&d, NULL);
        daemon0 = proc_cgroup(d.pid);
        dl_cli_ok(&d, "start", "web", NULL);
        old_pid = main_pid(&d, "web");
        free(wait_file(&d, cg, DL_DEADLINE_MS));
        unlink(cg);

        /* A reload raises MemoryMax=; the upgrade applies it. */
        dl_write_unit(&d, "web",
                      "[Service]\nExecStart=/bin/sh -c 'cat /proc/self/cgroup > %s.tmp && mv %s.tmp %s; exec sleep 120'\n"
                      "MemoryMax=128M\nTasksMax=20\n[Socket]\nListenStream=%s\n[X-Pidvisor]\nReadyCheck=delay 100ms\n",
                      cg, cg, cg, sock);
        dl_cli_ok(&d, "reload", NULL);
        dl_cli_ok(&d, "upgrade", "web", NULL);
        text = wait_file(&d, cg, DL_DEADLINE_MS);
        dl_assert(&d, placed_in(text, "memory", "web") && placed_in(text, "pids", "web"),
                  "the successor is not in the service's cgroups:\n%s", text);
        free(text);
        new_pid = main_pid(&d, "web");
        dl_assert(&d, new_pid != old_pid, "no new main process");
        now = proc_cgroup(d.pid);
        dl_assert(&d, !strcmp(now, daemon0), "the daemon's cgroups changed:\n%s\nwas:\n%s", now, daemon0);
        svc = dl_status(&d, "web");
        expect_file(&d, limit_file(&d, svc, "MemoryMax", NULL), "134217728");
        json_decref(svc);
        free(now);
        free(daemon0);
        free(sock);
        free(cg);
        dl_done(&d);
}
END_TEST

/* A daemon whose units ask for no limit makes no cgroup v1 directory at all. */
START_TEST(test_no_limits_no_v1) {
        struct dl_daemon d;

        dl_init(&d);
        dl_write_unit(&d, "plain", "[Service]\nExecStartPre=/bin/true\nExecStart=/bin/sleep 120\n");
        dl_start(&d, NULL);
        dl_cli_ok(&d, "start", "plain", NULL);
        dl_cli_ok(&d, "restart", "plain", NULL);
        json_decref(dl_wait_state(&d, "plain", "running", DL_DEADLINE_MS));
        dl_assert(&d, dl_log_count(&d, "limits through cgroup v1") == 0, "v1 directories made without limits");
        dl_done(&d);
}
END_TEST

/* ---- nothing to enforce with ---- */

/* The memory controller hidden (test-only): RequireCgroupLimits=yes fails the start with
 * the reason; without it the service runs, and the log and status say what is missing. */
START_TEST(test_unavailable) {
        struct dl_daemon d;
        struct dl_cli r;
        json_t *svc, *e;

        setenv("PIDVISOR_TEST_CGROUP_HIDE", "memory", 1);
        dl_init(&d);
        dl_write_unit(&d, "strict", "[Service]\nExecStart=/bin/sleep 120\nMemoryMax=32M\n[X-Pidvisor]\nRequireCgroupLimits=yes\n");
        dl_write_unit(&d, "lax", "[Service]\nExecStart=/bin/sleep 120\nMemoryMax=32M\nTasksMax=10\n");
        dl_start(&d, NULL);

        r = dl_cli_run(&d, "start", "strict", NULL);
        dl_assert(&d, r.code != 0, "start strict exited 0");
        dl_assert(&d, strstr(r.err, "MemoryMax= not enforced: no memory controller in cgroup v2 (") &&
                              strstr(r.err, "nor in cgroup v1 (hidden by $PIDVISOR_TEST_CGROUP_HIDE)") &&
                              strstr(r.err, "RequireCgroupLimits=yes"),
                  "the refusal: \"%s\"", r.err);
        dl_cli_done(&r);
        svc = dl_status(&d, "strict");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "failed") && json_is_null(json_object_get(svc, "pid")),
                  "strict: %s", json_dumps(svc, JSON_COMPACT));
        dl_assert(&d, strstr(dl_str(svc, "reason"), "MemoryMax= not enforced: no memory controller in cgroup v2"),
                  "strict's reason: %s", dl_str(svc, "reason"));
        /* On this machine's hybrid layout, the v2 side names the controllers it has. */
        e = limit(&d, svc, "MemoryMax");
        dl_assert(&d, !strcmp(dl_str(e, "enforced"), "none") && strstr(dl_str(e, "reason"), "cgroup.controllers"),
                  "strict's MemoryMax: %s", json_dumps(e, JSON_COMPACT));
        json_decref(svc);

        dl_cli_ok(&d, "start", "lax", NULL);
        svc = dl_wait_state(&d, "lax", "running", DL_DEADLINE_MS);
        e = limit(&d, svc, "MemoryMax");
        dl_assert(&d, !strcmp(dl_str(e, "enforced"), "none") && strstr(dl_str(e, "reason"), "MemoryMax= not enforced"),
                  "lax's MemoryMax: %s", json_dumps(e, JSON_COMPACT));
        (void)limit_file(&d, svc, "TasksMax", NULL); /* pids still works */
        json_decref(svc);
        dl_wait_log(&d, "lax: MemoryMax= not enforced: no memory controller", DL_DEADLINE_MS);
        r = dl_cli_run(&d, "status", "lax", NULL);
        dl_assert(&d, r.code == 0 && strstr(r.out, "  limits:     MemoryMax= not enforced: no memory controller") &&
                              strstr(r.out, "TasksMax=10 via cgroup v"),
                  "text status:\n%s", r.out);
        dl_cli_done(&r);
        dl_done(&d);
        unsetenv("PIDVISOR_TEST_CGROUP_HIDE");
}
END_TEST

/* ---- cleanup ---- */

/* A removed unit's cgroup v1 directories go at the reload that drops it; the daemon's
 * pidvisor-HASH directories when it exits. */
START_TEST(test_cleanup) {
        static const char *const keys[] = { "MemoryMax", "TasksMax", "CPUQuota" };
        struct dl_daemon d;
        char *dirs[3], *bases[3];
        json_t *svc;
        bool v2 = false;

        dl_init(&d);
        dl_write_unit(&d, "gone", "[Service]\nExecStart=/bin/sleep 120\nMemoryMax=64M\nTasksMax=20\nCPUQuota=50%%\n");
        dl_start(&d, NULL);
        dl_cli_ok(&d, "start", "gone", NULL);
        svc = dl_wait_state(&d, "gone", "running", DL_DEADLINE_MS);
        for (int i = 0; i < 3; i++) {
                char *c1 = strdup(limit_file(&d, svc, keys[i], &v2)), *c2;
                ck_assert_ptr_nonnull(c1);
                dirs[i] = strdup(dirname(c1));
                c2 = strdup(dirs[i]);
                bases[i] = strdup(dirname(c2));
                free(c1);
                free(c2);
                dl_assert(&d, !is_missing(dirs[i]) && ends_with(dirs[i], "/gone.service"), "%s", dirs[i]);
        }
        json_decref(svc);
        dl_cli_ok(&d, "stop", "gone", NULL);
        dl_remove_unit(&d, "gone");
        dl_cli_ok(&d, "reload", NULL);
        for (int i = 0; i < 3; i++) {
                wait_missing(&d, dirs[i], DL_DEADLINE_MS);
                dl_assert(&d, !is_missing(bases[i]), "%s went before the daemon", bases[i]);
        }
        dl_done(&d);
        for (int i = 0; i < 3; i++) {
                /* (With v2 the daemon may live in base/daemon, which outlasts it.) */
                ck_assert_msg(v2 || is_missing(bases[i]), "%s is left after the daemon exited", bases[i]);
                free(dirs[i]);
                free(bases[i]);
        }
}
END_TEST

static const char *need_limits(void) {
        const char *missing = pv_test_need_root();

        if (missing)
                return missing;
        if (access(PYTHON, X_OK) < 0)
                return "no " PYTHON;
        return NULL;
}

int main(void) {
        Suite *s = pv_test_suite("limits");
        TCase *tc;
        int ret;

        dl_suite_begin("limits");

        tc = pv_test_case("enforced");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_memory_max);
        tcase_add_test(tc, test_tasks_max);
        tcase_add_test(tc, test_cpu_quota);
        pv_test_add(s, tc, need_limits());

        tc = pv_test_case("placement");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_placement);
        tcase_add_test(tc, test_spawn_failure);
        tcase_add_test(tc, test_upgrade);
        tcase_add_test(tc, test_no_limits_no_v1);
        tcase_add_test(tc, test_cleanup);
        pv_test_add(s, tc, need_limits());

        tc = pv_test_case("unavailable");
        tcase_add_test(tc, test_unavailable);
        pv_test_add(s, tc, need_limits());

        ret = pv_test_main(s);
        dl_suite_end();
        return ret;
}
