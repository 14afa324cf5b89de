/* SPDX-License-Identifier: MIT */
/* Integration tests of sd_notify in `pidvisor daemon` (../shared/PROTOCOLS.md): Type=notify
 * readiness with Debian's own /usr/bin/systemd-notify and with a C client (the fixture's
 * notify commands), NotifyAccess= filtering and attribution, TimeoutStartSec= and
 * EXTEND_TIMEOUT_USEC=, the watchdog (WatchdogSec=, WATCHDOG=1, WATCHDOG_USEC=,
 * WATCHDOG=trigger, Restart=on-watchdog), STATUS=/ERRNO= in `pidvisor status`, and
 * malformed datagrams.
 *
 * Each test starts its own daemon (daemonlib.h); every wait has a deadline.  Timing
 * bounds are one-sided where a loaded machine could only make things later, with a
 * generous upper bound where a late event would mean a lost one. */
#include "daemonlib.h"
#include "testlib.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define FIX dl_fixture()
#define SYSTEMD_NOTIFY "/usr/bin/systemd-notify"

/* ---- small helpers ---- */

static json_t *history0(json_t *svc) {
        return json_array_get(json_object_get(svc, "history"), 0);
}

static size_t history_len(json_t *svc) {
        return json_array_size(json_object_get(svc, "history"));
}

static bool status_text_is(json_t *svc, void *arg) {
        return json_is_string(json_object_get(svc, "status_text")) && !strcmp(dl_str(svc, "status_text"), arg);
}

static bool restarted(json_t *svc, void *arg) {
        return dl_int(svc, "restarts") >= 1;
}

static bool running_with_other_pid(json_t *svc, void *arg) {
        return !strcmp(dl_str(svc, "state"), "running") && dl_int(svc, "pid") > 0 &&
               dl_int(svc, "pid") != *(long long *)arg;
}

static bool starting_with_other_pid(json_t *svc, void *arg) {
        return !strcmp(dl_str(svc, "state"), "starting") && dl_int(svc, "pid") > 0 &&
               dl_int(svc, "pid") != *(long long *)arg;
}

static bool has_exit(json_t *svc, void *arg) {
        return history_len(svc) >= 1;
}

/* Sends a start request on a connection of its own and returns without waiting for the
 * reply (the daemon answers when the service runs or the start failed). */
static void start_async(struct dl_daemon *d, const char *name, struct dl_conn *c) {
        json_t *req = json_pack("{s:s, s:s, s:{s:s}}", "id", "job", "cmd", "start", "args", "name", name);
        char *s = json_dumps(req, JSON_COMPACT);

        ck_assert_ptr_nonnull(s);
        dl_connect(d, c);
        dl_send_line(d, c, s);
        free(s);
        json_decref(req);
}

/* The daemon's notify socket: STATE-DIR/notify. */
static char *notify_path(struct dl_daemon *d) {
        char *p;

        ck_assert_int_ne(asprintf(&p, "%s/notify", d->state), -1);
        return p;
}

/* One datagram to path from this process (the kernel attaches our credentials). */
static void send_datagram(struct dl_daemon *d, const char *path, const char *text) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        ssize_t n;

        ck_assert_int_ge(fd, 0);
        ck_assert_uint_lt(strlen(path), sizeof(sa.sun_path));
        strcpy(sa.sun_path, path);
        n = sendto(fd, text, strlen(text), MSG_NOSIGNAL, (struct sockaddr *)&sa, sizeof(sa));
        if (n != (ssize_t)strlen(text))
                dl_fail(d, "sending to %s: %s", path, n < 0 ? strerror(errno) : "short");
        close(fd);
}

/* The value of NAME in /proc/PID/environ, malloc'd, or NULL. */
static char *proc_env(pid_t pid, const char *name) {
        char path[64], buf[65536];
        size_t len = 0, nlen = strlen(name);
        ssize_t n;
        int fd;

        snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return NULL;
        while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
                len += (size_t)n;
        close(fd);
        buf[len] = 0;
        for (size_t i = 0; i < len; i += strlen(buf + i) + 1)
                if (!strncmp(buf + i, name, nlen) && buf[i + nlen] == '=')
                        return strdup(buf + i + nlen + 1);
        return NULL;
}

/* sd_notify_barrier() as a client does it: BARRIER=1 with the write end of a pipe, then
 * wait for the receiver to close its copy (POLLHUP on the read end).  True if it did
 * within timeout_ms. */
static bool barrier(struct dl_daemon *d, const char *path, int timeout_ms) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        union {
                struct cmsghdr h;
                char b[CMSG_SPACE(sizeof(int))];
        } control;
        struct iovec iov = { (void *)"BARRIER=1", 9 };
        struct msghdr mh = { .msg_name = &sa, .msg_namelen = sizeof(sa), .msg_iov = &iov, .msg_iovlen = 1,
                             .msg_control = &control, .msg_controllen = sizeof(control) };
        struct cmsghdr *c;
        struct pollfd p;
        int pipefd[2], fd, ret;

        ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
        memset(&control, 0, sizeof(control));
        c = CMSG_FIRSTHDR(&mh);
        ck_assert_ptr_nonnull(c);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &pipefd[1], sizeof(int));
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(fd, 0);
        if (sendmsg(fd, &mh, MSG_NOSIGNAL) != 9)
                dl_fail(d, "BARRIER=1 to %s: %s", path, strerror(errno));
        close(fd);
        close(pipefd[1]);
        p = (struct pollfd){ .fd = pipefd[0], .events = POLLIN };
        ret = poll(&p, 1, timeout_ms);
        close(pipefd[0]);
        return ret == 1 && (p.revents & POLLHUP);
}

static const char *need_systemd_notify(void) {
        return access(SYSTEMD_NOTIFY, X_OK) == 0 ? NULL : SYSTEMD_NOTIFY " is missing (apt-get install systemd)";
}

/* systemd-notify --pid=PID makes the kernel carry PID as the sender: that needs root. */
static const char *need_systemd_notify_and_root(void) {
        const char *missing = need_systemd_notify();

        return missing ? missing : pv_test_need_root();
}

/* ---- Type=notify with Debian's systemd-notify ---- */

/* `pidvisor start` returns only after READY=1 (sent ~0.5 s in), with the STATUS= text. */
START_TEST(test_systemd_notify_ready) {
        struct dl_daemon d;
        struct dl_conn ev;
        struct dl_cli r;
        json_t *e, *svc;
        long long t_starting, t_running, pid;

        dl_init(&d);
        dl_write_unit(&d, "sn",
                      "[Service]\nType=notify\nNotifyAccess=all\n"
                      "ExecStart=/bin/sh -c 'sleep 0.5; " SYSTEMD_NOTIFY " --ready --status=\"serving\"; "
                      "exec sleep 1000'\n");
        dl_start(&d, NULL);
        json_decref(dl_subscribe(&d, &ev));

        r = dl_cli_run(&d, "start", "sn", NULL);
        dl_assert(&d, r.code == 0, "start exited %d: \"%s\"", r.code, r.err);
        dl_assert(&d, r.ms >= 480, "start returned after %lld ms, before READY=1 (sent after 0.5 s)", (long long)r.ms);
        dl_assert(&d, r.ms < 5000, "start took %lld ms", (long long)r.ms);
        dl_cli_done(&r);

        e = dl_next_event(&d, &ev, "sn", DL_DEADLINE_MS);
        dl_assert(&d, !strcmp(dl_str(e, "state"), "starting"), "first event %s (%s), expected starting",
                  dl_str(e, "state"), dl_str(e, "reason"));
        dl_assert(&d, strstr(dl_str(e, "reason"), "READY=1"), "starting reason \"%s\" should say it waits for READY=1",
                  dl_str(e, "reason"));
        t_starting = dl_int(e, "time");
        pid = dl_int(e, "pid");
        json_decref(e);
        e = dl_next_event(&d, &ev, "sn", DL_DEADLINE_MS);
        dl_assert(&d, !strcmp(dl_str(e, "state"), "running"), "second event %s (%s), expected running",
                  dl_str(e, "state"), dl_str(e, "reason"));
        t_running = dl_int(e, "time");
        dl_assert(&d, t_running - t_starting >= 480000, "running %lld us after starting, READY=1 came after 0.5 s",
                  t_running - t_starting);
        dl_assert(&d, dl_int(e, "pid") == pid, "pid changed from %lld to %lld", pid, dl_int(e, "pid"));
        json_decref(e);
        dl_close(&ev);

        svc = dl_status(&d, "sn");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "running"), "state %s", dl_str(svc, "state"));
        dl_assert(&d, status_text_is(svc, "serving"), "status_text \"%s\", expected \"serving\"",
                  dl_str(svc, "status_text"));
        dl_assert(&d, strstr(dl_str(svc, "reason"), "serving"), "reason \"%s\" should show the status",
                  dl_str(svc, "reason"));
        dl_assert(&d, dl_int(svc, "pid") == pid && history_len(svc) == 0, "pid %lld, %zu exits", dl_int(svc, "pid"),
                  history_len(svc));
        json_decref(svc);
        dl_cli_ok(&d, "stop", "sn", NULL);
        dl_done(&d);
}
END_TEST

/* NotifyAccess=main: systemd-notify --pid=self speaks as itself, a helper of the service,
 * and is refused; READY=1 never counts, and TimeoutStartSec=1s fails the start. */
START_TEST(test_systemd_notify_main_refuses_helper) {
        struct dl_daemon d;
        struct dl_cli r;
        json_t *svc;

        dl_init(&d);
        dl_write_unit(&d, "nm",
                      "[Service]\nType=notify\nNotifyAccess=main\nTimeoutStartSec=1s\n"
                      "ExecStart=/bin/sh -c 'sleep 0.2; " SYSTEMD_NOTIFY " --ready --pid=self --status=helper; "
                      "exec sleep 1000'\n");
        dl_start(&d, NULL);
        r = dl_cli_run(&d, "start", "nm", NULL);
        dl_assert(&d, r.code == 1, "start exited %d (stderr \"%s\"), expected 1: the helper's READY=1 was taken",
                  r.code, r.err);
        dl_assert(&d, r.ms >= 950 && r.ms < 6000, "the start failed after %lld ms, expected TimeoutStartSec=1s",
                  (long long)r.ms);
        dl_assert(&d, strstr(r.err, "start timeout"), "the refusal \"%s\" should mention the start timeout", r.err);
        dl_cli_done(&r);
        svc = dl_status(&d, "nm");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "failed"), "state %s (%s), expected failed", dl_str(svc, "state"),
                  dl_str(svc, "reason"));
        dl_assert(&d, strstr(dl_str(svc, "reason"), "start timeout"), "reason \"%s\" should mention \"start timeout\"",
                  dl_str(svc, "reason"));
        dl_assert(&d, json_is_null(json_object_get(svc, "status_text")),
                  "status_text \"%s\": a refused message was applied", dl_str(svc, "status_text"));
        json_decref(svc);
        dl_assert(&d, dl_log_count(&d, "refused by NotifyAccess=main") >= 1,
                  "the log does not say the message was refused by NotifyAccess=main");
        dl_done(&d);
}
END_TEST

/* NotifyAccess=main: systemd-notify --pid=$$ (root may send with another pid's
 * credentials) speaks for the main process, and is accepted. */
START_TEST(test_systemd_notify_main_pid_accepted) {
        struct dl_daemon d;
        struct dl_cli r;
        json_t *svc;

        dl_init(&d);
        /* "$$$$" in a unit file is "$$" for the shell. */
        dl_write_unit(&d, "nmp",
                      "[Service]\nType=notify\nNotifyAccess=main\nTimeoutStartSec=5s\n"
                      "ExecStart=/bin/sh -c 'sleep 0.2; " SYSTEMD_NOTIFY " --ready --pid=$$$$ --status=main; "
                      "exec sleep 1000'\n");
        dl_start(&d, NULL);
        r = dl_cli_run(&d, "start", "nmp", NULL);
        dl_assert(&d, r.code == 0, "start exited %d: \"%s\"", r.code, r.err);
        dl_assert(&d, r.ms >= 180 && r.ms < 4000, "start took %lld ms, READY=1 came after 0.2 s", (long long)r.ms);
        dl_cli_done(&r);
        svc = dl_status(&d, "nmp");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "running"), "state %s (%s)", dl_str(svc, "state"),
                  dl_str(svc, "reason"));
        dl_assert(&d, status_text_is(svc, "main"), "status_text \"%s\", expected \"main\"", dl_str(svc, "status_text"));
        json_decref(svc);
        dl_cli_ok(&d, "stop", "nmp", NULL);
        dl_done(&d);
}
END_TEST


/* ---- MAINPID= ---- */

/* The main process hands its role to a child with MAINPID= (systemd-notify --pid=PID
 * sends MAINPID=PID with PID as the sender) and exits: the service stays running with
 * the new pid, the old one is reaped without counting as an exit, and the end of the new
 * one is the service's exit.  With --subreaper the orphan becomes the daemon's child and
 * its status is known; without, it is not, and status says so instead of inventing one. */
static void mainpid_case(bool subreaper) {
        struct dl_daemon d;
        char *pidfile = NULL;
        json_t *svc;
        pid_t first, second;
        long long restarts;

        dl_init(&d);
        pidfile = dl_path(&d, "mainpid");
        dl_write_unit(&d, "mp",
                      "[Service]\nType=notify\nNotifyAccess=all\nRestart=no\n"
                      "ExecStart=/bin/sh -c 'sleep 1000 & echo $$! > %s; " SYSTEMD_NOTIFY
                      " --ready --pid=$$!; sleep 0.3; exit 0'\n",
                      pidfile);
        if (subreaper)
                dl_start(&d, "--subreaper", NULL);
        else
                dl_start(&d, NULL);
        dl_cli_ok(&d, "start", "mp", NULL);
        second = dl_read_pid_file(&d, pidfile, DL_DEADLINE_MS);
        svc = dl_status(&d, "mp");
        first = (pid_t)dl_int(svc, "pid");
        json_decref(svc);
        /* The switch happens with READY=1; the first main process then exits 0 after
         * 0.3 s: that must not be taken for the service's exit. */
        dl_sleep_ms(600);
        svc = dl_status(&d, "mp");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "running"), "state %s (%s) after the old main exited",
                  dl_str(svc, "state"), dl_str(svc, "reason"));
        dl_assert(&d, dl_int(svc, "pid") == second, "pid %lld, expected the MAINPID= %d (first was %d)",
                  dl_int(svc, "pid"), (int)second, (int)first);
        dl_assert(&d, history_len(svc) == 0, "%zu exits recorded: the former main's exit counted", history_len(svc));
        restarts = dl_int(svc, "restarts");
        json_decref(svc);
        dl_assert(&d, dl_count_zombies_of(d.pid) == 0, "a zombie of the daemon is left (the former main)");
        dl_assert(&d, dl_log_count(&d, "main process is now") == 1, "the switch is not logged");

        kill(second, SIGKILL);
        svc = dl_wait_state(&d, "mp", "failed", DL_DEADLINE_MS);
        dl_assert(&d, history_len(svc) == 1, "%zu exits, expected 1", history_len(svc));
        {
                json_t *h = json_array_get(json_object_get(svc, "history"), 0);
                const char *cause = dl_str(h, "cause");
                if (subreaper)
                        dl_assert(&d, strstr(cause, "SIGKILL"), "cause \"%s\", expected killed by SIGKILL", cause);
                else
                        dl_assert(&d, strstr(cause, "status unknown") && strstr(cause, "not a child"),
                                  "cause \"%s\" should say the status is unknown", cause);
                dl_assert(&d, dl_int(h, "pid") == second, "the exit of pid %lld, expected %d", dl_int(h, "pid"),
                          (int)second);
        }
        dl_assert(&d, dl_int(svc, "restarts") == restarts, "restarted");
        json_decref(svc);
        dl_done(&d);
        free(pidfile);
}

START_TEST(test_mainpid_subreaper) {
        mainpid_case(true);
}
END_TEST

START_TEST(test_mainpid_not_child) {
        mainpid_case(false);
}
END_TEST

/* MAINPID= naming a process that is not the service's (here the test itself) is
 * refused: a service must not make the manager watch or kill someone else. */
START_TEST(test_mainpid_outsider_refused) {
        struct dl_daemon d;
        json_t *svc;
        pid_t main_pid;

        dl_init(&d);
        dl_write_unit(&d, "mo",
                      "[Service]\nType=notify\nNotifyAccess=all\n"
                      "ExecStart=/bin/sh -c '" SYSTEMD_NOTIFY " --ready MAINPID=%d; exec sleep 1000'\n",
                      (int)getpid());
        dl_start(&d, NULL);
        dl_cli_ok(&d, "start", "mo", NULL);
        dl_wait_log(&d, "is not one of the service's", DL_DEADLINE_MS);
        svc = dl_status(&d, "mo");
        main_pid = (pid_t)dl_int(svc, "pid");
        dl_assert(&d, main_pid > 0 && main_pid != getpid(), "pid %d: the outsider became the main process",
                  (int)main_pid);
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "running"), "state %s", dl_str(svc, "state"));
        json_decref(svc);
        dl_cli_ok(&d, "stop", "mo", NULL);
        dl_done(&d);
}
END_TEST

/* ---- a C client ---- */

START_TEST(test_c_client_ready) {
        struct dl_daemon d;
        struct dl_cli r;
        json_t *svc;
        char reason[64];

        dl_init(&d);
        /* NotifyAccess= defaults to main for Type=notify. */
        dl_write_unit(&d, "c", "[Service]\nType=notify\nExecStart=%s notify \"READY=1\\nSTATUS=ready from C\" 300\n",
                      FIX);
        dl_start(&d, NULL);
        r = dl_cli_run(&d, "start", "c", NULL);
        dl_assert(&d, r.code == 0, "start exited %d: \"%s\"", r.code, r.err);
        dl_assert(&d, r.ms >= 280 && r.ms < 4000, "start returned after %lld ms, READY=1 came after 300 ms",
                  (long long)r.ms);
        dl_cli_done(&r);
        svc = dl_status(&d, "c");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "running"), "state %s (%s)", dl_str(svc, "state"),
                  dl_str(svc, "reason"));
        dl_assert(&d, status_text_is(svc, "ready from C"), "status_text \"%s\"", dl_str(svc, "status_text"));
        {
                char *v = proc_env((pid_t)dl_int(svc, "pid"), "NOTIFY_SOCKET"), *want = notify_path(&d);
                dl_assert(&d, v && !strcmp(v, want), "NOTIFY_SOCKET in the service's environment: %s, expected %s",
                          v ? v : "unset", want);
                free(v);
                free(want);
        }
        snprintf(reason, sizeof(reason), "pid %lld: ready from C", dl_int(svc, "pid"));
        dl_assert(&d, !strcmp(dl_str(svc, "reason"), reason), "reason \"%s\", expected \"%s\"", dl_str(svc, "reason"),
                  reason);
        dl_assert(&d, json_is_null(json_object_get(svc, "status_errno")) || dl_int(svc, "status_errno") == -1,
                  "status_errno %lld without ERRNO=", dl_int(svc, "status_errno"));
        json_decref(svc);
        dl_cli_ok(&d, "stop", "c", NULL);
        dl_done(&d);
}
END_TEST

/* A helper of the service (a child of its shell, not the main process) says READY=1:
 * accepted with NotifyAccess=all (found by cgroup or session), refused with main. */
START_TEST(test_c_client_helper_access) {
        struct dl_daemon d;
        struct dl_cli r;
        json_t *svc;

        dl_init(&d);
        dl_write_unit(&d, "all",
                      "[Service]\nType=notify\nNotifyAccess=all\nTimeoutStartSec=5s\n"
                      "ExecStart=/bin/sh -c '%s notify \"READY=1\\nSTATUS=from a helper\" 200 & exec %s sleep 1000'\n",
                      FIX, FIX);
        dl_write_unit(&d, "main",
                      "[Service]\nType=notify\nNotifyAccess=main\nTimeoutStartSec=1s\n"
                      "ExecStart=/bin/sh -c '%s notify \"READY=1\\nSTATUS=from a helper\" 200 & exec %s sleep 1000'\n",
                      FIX, FIX);
        dl_start(&d, NULL);

        r = dl_cli_run(&d, "start", "all", NULL);
        dl_assert(&d, r.code == 0, "NotifyAccess=all: start exited %d: \"%s\"", r.code, r.err);
        dl_cli_done(&r);
        svc = dl_status(&d, "all");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "running") && status_text_is(svc, "from a helper"),
                  "NotifyAccess=all: %s, status_text \"%s\"", dl_str(svc, "state"), dl_str(svc, "status_text"));
        json_decref(svc);

        r = dl_cli_run(&d, "start", "main", NULL);
        dl_assert(&d, r.code == 1, "NotifyAccess=main: start exited %d (\"%s\"), expected a start timeout", r.code,
                  r.err);
        dl_assert(&d, r.ms >= 950, "NotifyAccess=main: failed after %lld ms, before TimeoutStartSec=1s",
                  (long long)r.ms);
        dl_cli_done(&r);
        svc = dl_status(&d, "main");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "failed") && strstr(dl_str(svc, "reason"), "start timeout"),
                  "NotifyAccess=main: %s (%s), expected failed by start timeout", dl_str(svc, "state"),
                  dl_str(svc, "reason"));
        dl_assert(&d, json_is_null(json_object_get(svc, "status_text")), "NotifyAccess=main: status_text \"%s\"",
                  dl_str(svc, "status_text"));
        json_decref(svc);
        dl_cli_ok(&d, "stop", "all", NULL);
        dl_done(&d);
}
END_TEST

/* A process outside every service (the test, and a child of it) sending READY=1 to the
 * daemon's socket is ignored: the service stays starting until it says READY=1 itself. */
START_TEST(test_outsider_ignored) {
        struct dl_daemon d;
        struct dl_conn job;
        json_t *svc, *reply;
        char *path;
        long long pid;
        int64_t t0;
        pid_t child;
        int st;

        dl_init(&d);
        dl_write_unit(&d, "out", "[Service]\nType=notify\nNotifyAccess=all\nTimeoutStartSec=10s\n"
                                 "ExecStart=%s notify READY=1 2500\n", FIX);
        dl_start(&d, NULL);
        path = notify_path(&d);
        t0 = dl_now_ms();
        start_async(&d, "out", &job);
        svc = dl_wait_state(&d, "out", "starting", DL_DEADLINE_MS);
        pid = dl_int(svc, "pid");
        json_decref(svc);

        send_datagram(&d, path, "READY=1\nSTATUS=outsider");
        fflush(NULL);
        child = fork();
        ck_assert_int_ge(child, 0);
        if (child == 0) {
                struct sockaddr_un sa = { .sun_family = AF_UNIX };
                int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                strcpy(sa.sun_path, path);
                if (fd < 0 || sendto(fd, "READY=1\nSTATUS=outsider child", 29, 0, (struct sockaddr *)&sa,
                                     sizeof(sa)) != 29)
                        _exit(1);
                dl_sleep_ms(300); /* still there when the daemon looks it up */
                _exit(0);
        }
        ck_assert_int_eq(waitpid(child, &st, 0), child);
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child could not send (0x%x)", st);

        dl_wait_log(&d, "which belongs to no service", 3000);
        dl_sleep_ms(200);
        svc = dl_status(&d, "out");
        dl_assert(&d, dl_now_ms() - t0 < 2300, "too slow to check before the service's own READY=1");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "starting"), "state %s (%s) after READY=1 from outside, expected "
                  "starting", dl_str(svc, "state"), dl_str(svc, "reason"));
        dl_assert(&d, json_is_null(json_object_get(svc, "status_text")), "status_text \"%s\" from outside applied",
                  dl_str(svc, "status_text"));
        dl_assert(&d, dl_int(svc, "pid") == pid, "pid changed");
        json_decref(svc);
        dl_assert(&d, dl_log_count(&d, "which belongs to no service") == 2,
                  "%d messages logged as from no service, expected 2",
                  dl_log_count(&d, "which belongs to no service"));

        /* Descriptors that come with an ignored message are closed all the same: a
         * client's barrier returns. */
        dl_assert(&d, barrier(&d, path, 2000), "BARRIER=1 from outside: the daemon kept the descriptor");

        /* The service's own READY=1 (at 2.5 s) is what finishes the start. */
        reply = dl_recv_json(&d, &job, DL_DEADLINE_MS);
        dl_assert(&d, json_is_true(json_object_get(reply, "ok")), "start failed: %s",
                  dl_str(reply, "error"));
        dl_assert(&d, dl_now_ms() - t0 >= 2400, "start finished after %lld ms, before the service's READY=1",
                  (long long)(dl_now_ms() - t0));
        json_decref(reply);
        dl_close(&job);
        svc = dl_status(&d, "out");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "running") && dl_int(svc, "pid") == pid &&
                              json_is_null(json_object_get(svc, "status_text")),
                  "after READY=1: %s pid %lld status_text \"%s\"", dl_str(svc, "state"), dl_int(svc, "pid"),
                  dl_str(svc, "status_text"));
        json_decref(svc);
        dl_cli_ok(&d, "stop", "out", NULL);
        /* Any user may send (services with User=); it is gone with the daemon. */
        {
                struct stat sb;
                int wst;
                dl_assert(&d, stat(path, &sb) == 0 && S_ISSOCK(sb.st_mode) && (sb.st_mode & 0777) == 0666,
                          "%s: not a socket of mode 0666 (mode 0%o)", path, (unsigned)sb.st_mode);
                wst = dl_stop(&d, 10000);
                dl_assert(&d, WIFEXITED(wst) && WEXITSTATUS(wst) == 0, "the daemon exited with status 0x%x", wst);
                dl_assert(&d, access(path, F_OK) < 0 && errno == ENOENT, "%s is left after the daemon exited", path);
        }
        free(path);
        dl_done(&d);
}
END_TEST

/* ---- TimeoutStartSec= and EXTEND_TIMEOUT_USEC= ---- */

START_TEST(test_start_timeout) {
        struct dl_daemon d;
        struct dl_cli r;
        json_t *svc, *h;

        dl_init(&d);
        dl_write_unit(&d, "slow", "[Service]\nType=notify\nTimeoutStartSec=500ms\nExecStart=%s sleep 100\n", FIX);
        dl_start(&d, NULL);
        r = dl_cli_run(&d, "start", "slow", NULL);
        dl_assert(&d, r.code == 1, "start exited %d (\"%s\"), expected 1", r.code, r.err);
        dl_assert(&d, r.ms >= 480 && r.ms < 5000, "the start failed after %lld ms, expected TimeoutStartSec=500ms",
                  (long long)r.ms);
        dl_assert(&d, strstr(r.err, "start timeout"), "the error \"%s\" should mention \"start timeout\"", r.err);
        dl_cli_done(&r);
        svc = dl_status(&d, "slow");
        h = history0(svc);
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "failed"), "state %s (%s)", dl_str(svc, "state"),
                  dl_str(svc, "reason"));
        dl_assert(&d, strstr(dl_str(svc, "reason"), "start timeout"), "reason \"%s\"", dl_str(svc, "reason"));
        dl_assert(&d, json_is_null(json_object_get(svc, "pid")), "a pid after the timeout: the process was not killed");
        dl_assert(&d, h && strstr(dl_str(h, "cause"), "start timeout") && strstr(dl_str(h, "cause"), "SIGTERM"),
                  "history[0].cause \"%s\" should say start timeout and SIGTERM (KillSignal=)", dl_str(h, "cause"));
        dl_assert(&d, dl_int(svc, "restarts") == 0, "restarts %lld with Restart=no", dl_int(svc, "restarts"));
        json_decref(svc);
        dl_assert(&d, dl_log_count(&d, "no READY=1 within TimeoutStartSec=") == 1, "the log does not tell the timeout");
        dl_done(&d);
}
END_TEST

/* A start timeout is a failure: Restart=on-failure starts it again. */
START_TEST(test_start_timeout_restarts) {
        struct dl_daemon d;
        struct dl_conn job;
        json_t *svc, *reply, *h;
        long long pid1;

        dl_init(&d);
        dl_write_unit(&d, "slowr", "[Unit]\nStartLimitIntervalSec=0\n"
                                   "[Service]\nType=notify\nTimeoutStartSec=400ms\nRestart=on-failure\nRestartSec=100ms\n"
                                   "ExecStart=%s sleep 100\n", FIX);
        dl_start(&d, NULL);
        start_async(&d, "slowr", &job);
        svc = dl_wait_state(&d, "slowr", "starting", DL_DEADLINE_MS);
        pid1 = dl_int(svc, "pid");
        json_decref(svc);
        /* The start job ends with the failure of its attempt. */
        reply = dl_recv_json(&d, &job, DL_DEADLINE_MS);
        dl_assert(&d, !json_is_true(json_object_get(reply, "ok")), "the start succeeded without READY=1");
        dl_assert(&d, strstr(dl_str(reply, "error"), "start timeout"), "start error \"%s\"", dl_str(reply, "error"));
        json_decref(reply);
        dl_close(&job);

        svc = dl_wait_status(&d, "slowr", 5000, "starting again with a new pid", starting_with_other_pid, &pid1);
        h = history0(svc);
        dl_assert(&d, dl_int(svc, "restarts") >= 1, "restarts %lld", dl_int(svc, "restarts"));
        dl_assert(&d, h && strstr(dl_str(h, "cause"), "start timeout"), "history[0].cause \"%s\"", dl_str(h, "cause"));
        dl_assert(&d, dl_int(h, "pid") == pid1, "history[0].pid %lld, expected %lld", dl_int(h, "pid"), pid1);
        json_decref(svc);
        dl_cli_ok(&d, "stop", "slowr", NULL);
        dl_done(&d);
}
END_TEST

/* EXTEND_TIMEOUT_USEC=2000000 at 200 ms keeps a 600 ms TimeoutStartSec= from firing until
 * READY=1 at 1.5 s; without it a service fails at 600 ms; a 1 s extension ends
 * at 1.2 s, before a READY=1 at 3.5 s. */
START_TEST(test_extend_timeout) {
        struct dl_daemon d;
        struct dl_cli r;
        json_t *svc;

        dl_init(&d);
        dl_write_unit(&d, "ext", "[Service]\nType=notify\nTimeoutStartSec=600ms\n"
                                 "ExecStart=%s notify-seq 200 EXTEND_TIMEOUT_USEC=2000000 1300 READY=1\n", FIX);
        dl_write_unit(&d, "noext", "[Service]\nType=notify\nTimeoutStartSec=600ms\n"
                                   "ExecStart=%s notify-seq 200 STATUS=no-extension 2300 READY=1\n", FIX);
        dl_write_unit(&d, "short", "[Service]\nType=notify\nTimeoutStartSec=600ms\n"
                                   "ExecStart=%s notify-seq 200 EXTEND_TIMEOUT_USEC=1000000 3300 READY=1\n", FIX);
        dl_start(&d, NULL);

        r = dl_cli_run(&d, "start", "ext", NULL);
        dl_assert(&d, r.code == 0, "with EXTEND_TIMEOUT_USEC=: start exited %d after %lld ms: \"%s\"", r.code,
                  (long long)r.ms, r.err);
        dl_assert(&d, r.ms >= 1400 && r.ms < 6000, "with EXTEND_TIMEOUT_USEC=: running after %lld ms, READY=1 came "
                  "at 1.5 s", (long long)r.ms);
        dl_cli_done(&r);
        svc = dl_status(&d, "ext");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "running") && history_len(svc) == 0,
                  "with EXTEND_TIMEOUT_USEC=: %s, %zu exits", dl_str(svc, "state"), history_len(svc));
        json_decref(svc);

        r = dl_cli_run(&d, "start", "noext", NULL);
        dl_assert(&d, r.code == 1 && r.ms < 2400, "without EXTEND_TIMEOUT_USEC=: start exited %d after %lld ms, "
                  "expected a failure at 600 ms", r.code, (long long)r.ms);
        dl_assert(&d, strstr(r.err, "start timeout"), "without EXTEND_TIMEOUT_USEC=: \"%s\"", r.err);
        dl_cli_done(&r);

        r = dl_cli_run(&d, "start", "short", NULL);
        dl_assert(&d, r.code == 1, "a 1 s extension: start exited %d after %lld ms, expected a timeout at 1.2 s",
                  r.code, (long long)r.ms);
        dl_assert(&d, r.ms >= 1100 && r.ms < 3300, "a 1 s extension sent at 0.2 s: failed after %lld ms, expected "
                  "1.2 s", (long long)r.ms);
        dl_assert(&d, strstr(r.err, "start timeout"), "a 1 s extension: \"%s\"", r.err);
        dl_cli_done(&r);

        dl_cli_ok(&d, "stop", "ext", NULL);
        dl_done(&d);
}
END_TEST

/* EXTEND_TIMEOUT_USEC= also extends TimeoutStopSec=: a service that says so on SIGTERM
 * gets SIGKILL 1.5 s later instead of 0.5 s. */
START_TEST(test_extend_stop_timeout) {
        struct dl_daemon d;
        struct dl_cli r;
        json_t *svc;

        dl_init(&d);
        dl_write_unit(&d, "stopext", "[Service]\nType=notify\nTimeoutStopSec=500ms\n"
                                     "ExecStart=%s notify-on-term \"STOPPING=1\\nEXTEND_TIMEOUT_USEC=1500000\"\n", FIX);
        dl_write_unit(&d, "stopnoext", "[Service]\nType=notify\nTimeoutStopSec=500ms\n"
                                       "ExecStart=%s notify-on-term STOPPING=1\n", FIX);
        dl_start(&d, NULL);
        dl_cli_ok(&d, "start", "stopext", "stopnoext", NULL);

        r = dl_cli_run(&d, "stop", "stopnoext", NULL);
        dl_assert(&d, r.code == 0 && r.ms >= 450 && r.ms < 1300,
                  "without EXTEND_TIMEOUT_USEC=: stop exited %d after %lld ms, expected SIGKILL at 500 ms", r.code,
                  (long long)r.ms);
        dl_cli_done(&r);

        r = dl_cli_run(&d, "stop", "stopext", NULL);
        dl_assert(&d, r.code == 0, "stop exited %d: %s", r.code, r.err);
        dl_assert(&d, r.ms >= 1400 && r.ms < 5000,
                  "with EXTEND_TIMEOUT_USEC=1500000 on SIGTERM: stopped after %lld ms, expected SIGKILL at 1.5 s",
                  (long long)r.ms);
        dl_cli_done(&r);
        svc = dl_status(&d, "stopext");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "inactive") && strstr(dl_str(history0(svc), "cause"), "SIGKILL"),
                  "%s, last exit \"%s\", expected inactive after SIGKILL", dl_str(svc, "state"),
                  dl_str(history0(svc), "cause"));
        json_decref(svc);
        dl_done(&d);
}
END_TEST

/* ---- the watchdog ---- */

/* Pings every 100 ms for ~0.9 s, then stops: killed by SIGABRT ~0.5 s later, the exit
 * counts as "watchdog", and Restart=on-watchdog starts it again. */
START_TEST(test_watchdog_miss_restarts) {
        struct dl_daemon d;
        struct dl_cli r;
        json_t *svc, *h;
        long long pid1, runtime;

        dl_init(&d);
        dl_write_unit(&d, "wd", "[Unit]\nStartLimitIntervalSec=0\n"
                                "[Service]\nType=notify\nWatchdogSec=500ms\nRestart=on-watchdog\nRestartSec=100ms\n"
                                "ExecStart=%s notify-every \"READY=1\\nWATCHDOG=1\" 100 10\n", FIX);
        dl_start(&d, NULL);
        r = dl_cli_run(&d, "start", "wd", NULL);
        dl_assert(&d, r.code == 0, "start exited %d: \"%s\"", r.code, r.err);
        dl_cli_done(&r);
        svc = dl_status(&d, "wd");
        pid1 = dl_int(svc, "pid");
        json_decref(svc);

        svc = dl_wait_status(&d, "wd", 8000, "restarted after a watchdog timeout", restarted, NULL);
        h = history0(svc);
        dl_assert(&d, h && strstr(dl_str(h, "cause"), "watchdog"), "history[0].cause \"%s\" should say watchdog",
                  dl_str(h, "cause"));
        dl_assert(&d, strstr(dl_str(h, "cause"), "SIGABRT"), "history[0].cause \"%s\": not killed by SIGABRT",
                  dl_str(h, "cause"));
        dl_assert(&d, dl_int(h, "pid") == pid1, "history[0].pid %lld, expected %lld", dl_int(h, "pid"), pid1);
        runtime = dl_int(h, "runtime_usec");
        dl_assert(&d, runtime >= 1300000 && runtime < 4000000,
                  "it ran %lld us: the pings (for 0.9 s) should have kept it alive, then 0.5 s without one",
                  runtime);
        json_decref(svc);
        svc = dl_wait_status(&d, "wd", 5000, "running again with a new pid", running_with_other_pid, &pid1);
        json_decref(svc);
        dl_assert(&d, dl_log_count(&d, "watchdog timeout") >= 1, "the log does not tell the watchdog timeout");
        dl_cli_ok(&d, "stop", "wd", NULL);
        dl_done(&d);
}
END_TEST

/* Pinging every 100 ms keeps it up for five periods; the service is told the period. */
START_TEST(test_watchdog_kept_alive) {
        struct dl_daemon d;
        json_t *svc;
        long long pid;
        char *v;

        dl_init(&d);
        dl_write_unit(&d, "wdok", "[Service]\nType=notify\nWatchdogSec=500ms\nRestart=on-watchdog\n"
                                  "ExecStart=%s notify-every \"READY=1\\nWATCHDOG=1\" 100 0\n", FIX);
        dl_start(&d, NULL);
        dl_cli_ok(&d, "start", "wdok", NULL);
        svc = dl_status(&d, "wdok");
        pid = dl_int(svc, "pid");
        json_decref(svc);
        v = proc_env((pid_t)pid, "WATCHDOG_USEC");
        dl_assert(&d, v && !strcmp(v, "500000"), "WATCHDOG_USEC in the service's environment: %s, expected 500000",
                  v ? v : "unset");
        free(v);
        dl_sleep_ms(2500);
        svc = dl_status(&d, "wdok");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "running") && dl_int(svc, "pid") == pid,
                  "after 2.5 s of pings: %s pid %lld (was %lld), reason %s", dl_str(svc, "state"), dl_int(svc, "pid"),
                  pid, dl_str(svc, "reason"));
        dl_assert(&d, history_len(svc) == 0 && dl_int(svc, "restarts") == 0, "%zu exits, %lld restarts",
                  history_len(svc), dl_int(svc, "restarts"));
        json_decref(svc);
        dl_assert(&d, dl_log_count(&d, "watchdog timeout") == 0, "a watchdog timeout was logged");
        dl_cli_ok(&d, "stop", "wdok", NULL);
        dl_done(&d);
}
END_TEST

/* WATCHDOG_USEC=2000000 replaces WatchdogSec=500ms: no ping, still up at 1.2 s, killed
 * at ~2 s. */
START_TEST(test_watchdog_usec_changes_period) {
        struct dl_daemon d;
        json_t *svc, *h;
        long long pid, runtime;

        dl_init(&d);
        dl_write_unit(&d, "wdu", "[Service]\nType=notify\nWatchdogSec=500ms\n"
                                 "ExecStart=%s notify \"READY=1\\nWATCHDOG_USEC=2000000\"\n", FIX);
        dl_start(&d, NULL);
        dl_cli_ok(&d, "start", "wdu", NULL);
        svc = dl_status(&d, "wdu");
        pid = dl_int(svc, "pid");
        json_decref(svc);
        dl_sleep_ms(1200);
        svc = dl_status(&d, "wdu");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "running") && dl_int(svc, "pid") == pid,
                  "at 1.2 s: %s (%s): the 500 ms period still applied", dl_str(svc, "state"), dl_str(svc, "reason"));
        json_decref(svc);
        svc = dl_wait_status(&d, "wdu", 5000, "killed by the watchdog", has_exit, NULL);
        h = history0(svc);
        runtime = dl_int(h, "runtime_usec");
        dl_assert(&d, strstr(dl_str(h, "cause"), "watchdog"), "history[0].cause \"%s\"", dl_str(h, "cause"));
        dl_assert(&d, runtime >= 1900000 && runtime < 4500000, "killed after %lld us, expected 2 s (WATCHDOG_USEC=)",
                  runtime);
        json_decref(svc);
        svc = dl_wait_state(&d, "wdu", "failed", 3000);
        dl_assert(&d, strstr(dl_str(svc, "reason"), "watchdog"), "reason \"%s\"", dl_str(svc, "reason"));
        json_decref(svc);
        dl_done(&d);
}
END_TEST

/* WATCHDOG=trigger: the watchdog's action at once, even without WatchdogSec=. */
START_TEST(test_watchdog_trigger) {
        struct dl_daemon d;
        json_t *svc, *h;

        dl_init(&d);
        dl_write_unit(&d, "wdt", "[Service]\nType=notify\nExecStart=%s notify-seq 0 READY=1 300 WATCHDOG=trigger\n",
                      FIX);
        dl_start(&d, NULL);
        dl_cli_ok(&d, "start", "wdt", NULL);
        svc = dl_wait_state(&d, "wdt", "failed", 5000);
        h = history0(svc);
        dl_assert(&d, strstr(dl_str(svc, "reason"), "watchdog"), "reason \"%s\" should say watchdog",
                  dl_str(svc, "reason"));
        dl_assert(&d, h && strstr(dl_str(h, "cause"), "watchdog") && strstr(dl_str(h, "cause"), "SIGABRT"),
                  "history[0].cause \"%s\"", dl_str(h, "cause"));
        dl_assert(&d, dl_int(h, "runtime_usec") >= 280000, "it ran %lld us, the trigger came at 300 ms",
                  dl_int(h, "runtime_usec"));
        json_decref(svc);
        dl_done(&d);
}
END_TEST

/* ---- STATUS= and ERRNO= ---- */

START_TEST(test_status_updates) {
        struct dl_daemon d;
        struct dl_cli r;
        json_t *svc, *o;
        json_error_t jerr;
        long long pid;

        dl_init(&d);
        dl_write_unit(&d, "st", "[Service]\nType=notify\nExecStart=%s notify-seq 0 \"READY=1\\nSTATUS=starting up\" "
                                "400 \"STATUS=serving 1 client\" 400 \"STATUS=serving 2 clients\\nERRNO=110\"\n", FIX);
        dl_start(&d, NULL);
        dl_cli_ok(&d, "start", "st", NULL);
        svc = dl_wait_status(&d, "st", 3000, "with STATUS=starting up", status_text_is, "starting up");
        pid = dl_int(svc, "pid");
        json_decref(svc);
        svc = dl_wait_status(&d, "st", 3000, "with STATUS=serving 1 client", status_text_is, "serving 1 client");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "running") && dl_int(svc, "pid") == pid, "%s pid %lld",
                  dl_str(svc, "state"), dl_int(svc, "pid"));
        json_decref(svc);
        svc = dl_wait_status(&d, "st", 3000, "with STATUS=serving 2 clients", status_text_is, "serving 2 clients");
        dl_assert(&d, dl_int(svc, "status_errno") == 110, "status_errno %lld, expected 110 (ERRNO=110)",
                  dl_int(svc, "status_errno"));
        json_decref(svc);

        r = dl_cli_run(&d, "status", "st", NULL);
        dl_assert(&d, r.code == 0, "status exited %d: %s", r.code, r.err);
        dl_assert(&d, strstr(r.out, "serving 2 clients"), "`pidvisor status st` does not show the status text:\n%s",
                  r.out);
        dl_assert(&d, !strstr(r.out, "serving 1 client\n") && !strstr(r.out, "starting up"),
                  "`pidvisor status st` shows an old status text:\n%s", r.out);
        dl_cli_done(&r);

        r = dl_cli_run(&d, "status", "st", "--json", NULL);
        dl_assert(&d, r.code == 0, "status --json exited %d: %s", r.code, r.err);
        o = json_loads(r.out, 0, &jerr);
        dl_assert(&d, o, "status --json is not JSON (%s): %s", jerr.text, r.out);
        dl_assert(&d, status_text_is(o, "serving 2 clients"), "status --json: status_text \"%s\"",
                  dl_str(o, "status_text"));
        dl_assert(&d, dl_int(o, "status_errno") == 110, "status --json: status_errno %lld", dl_int(o, "status_errno"));
        dl_assert(&d, !strcmp(dl_str(o, "state"), "running"), "status --json: state %s", dl_str(o, "state"));
        json_decref(o);
        dl_cli_done(&r);
        dl_cli_ok(&d, "stop", "st", NULL);
        dl_done(&d);
}
END_TEST

/* A long STATUS= in UTF-8 (601 bytes of "a" and "é"): what the daemon keeps of it is
 * still text: status_text and reason are strings, a prefix of what was sent (a cut, if
 * any, at a character boundary), never dropped from the SERVICE object. */
START_TEST(test_status_long_utf8) {
        struct dl_daemon d;
        struct dl_cli r;
        json_t *svc;
        char status[1024];
        size_t len = 0;
        const char *text;

        status[len++] = 'a';
        for (int i = 0; i < 300; i++) {
                status[len++] = (char)0xc3;
                status[len++] = (char)0xa9;
        }
        status[len] = 0;
        dl_init(&d);
        dl_write_unit(&d, "u8", "[Service]\nType=notify\nExecStart=%s notify \"READY=1\\nSTATUS=%s\"\n", FIX, status);
        dl_start(&d, NULL);
        dl_cli_ok(&d, "start", "u8", NULL);
        svc = dl_status(&d, "u8");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "running"), "state %s", dl_str(svc, "state"));
        dl_assert(&d, json_is_string(json_object_get(svc, "status_text")),
                  "status_text is %s after a %zu-byte UTF-8 STATUS=, expected a string",
                  json_object_get(svc, "status_text") ? "null" : "missing from the SERVICE object", len);
        text = dl_str(svc, "status_text");
        dl_assert(&d, strlen(text) >= 256 && !strncmp(text, status, strlen(text)),
                  "status_text of %zu bytes is not a prefix of the %zu sent", strlen(text), len);
        dl_assert(&d, json_is_string(json_object_get(svc, "reason")), "reason is missing from the SERVICE object");
        json_decref(svc);
        r = dl_cli_run(&d, "status", "u8", NULL);
        dl_assert(&d, r.code == 0 && strstr(r.out, "a\xc3\xa9\xc3\xa9\xc3\xa9"),
                  "`pidvisor status u8` does not show the status text:\n%s", r.out);
        dl_cli_done(&r);
        dl_cli_ok(&d, "stop", "u8", NULL);
        dl_done(&d);
}
END_TEST

/* STATUS= that is not UTF-8 (Latin-1 "café"): systemd ignores it ("not UTF-8 clean");
 * whatever the daemon does with it, the SERVICE object keeps its reason and status_text
 * (docs/protocol.md), and `pidvisor status` still says why the service is running. */
START_TEST(test_status_not_utf8) {
        struct dl_daemon d;
        struct dl_cli r;
        json_t *svc;
        char want[64];

        dl_init(&d);
        dl_write_unit(&d, "l1", "[Service]\nType=notify\nExecStart=%s notify-seq 0 \"READY=1\\nSTATUS=fine\" "
                                "200 \"STATUS=caf\\xe9\"\n", FIX);
        dl_start(&d, NULL);
        dl_cli_ok(&d, "start", "l1", NULL);
        dl_sleep_ms(700); /* STATUS=caf\xe9 was sent at 200 ms */
        svc = dl_status(&d, "l1");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "running"), "state %s", dl_str(svc, "state"));
        dl_assert(&d, json_object_get(svc, "status_text") != NULL, "status_text is missing from the SERVICE object");
        dl_assert(&d, json_is_string(json_object_get(svc, "reason")), "reason is missing from the SERVICE object");
        snprintf(want, sizeof(want), "pid %lld", dl_int(svc, "pid"));
        dl_assert(&d, !strncmp(dl_str(svc, "reason"), want, strlen(want)), "reason \"%s\"", dl_str(svc, "reason"));
        json_decref(svc);
        r = dl_cli_run(&d, "status", "l1", NULL);
        dl_assert(&d, r.code == 0 && strstr(r.out, want), "`pidvisor status l1` does not show \"%s\":\n%s", want, r.out);
        dl_cli_done(&r);
        dl_cli_ok(&d, "stop", "l1", NULL);
        dl_done(&d);
}
END_TEST

/* RELOADING=1 then READY=1, then STOPPING=1: the service stays running, and the reason
 * says what it is doing. */
START_TEST(test_reloading_and_stopping) {
        static const char *const expected[] = { "starting", "running", "running, reloading", "running",
                                                "running, stopping on its own" };
        struct dl_daemon d;
        struct dl_conn ev;
        long long pid = 0;

        dl_init(&d);
        dl_write_unit(&d, "rl", "[Service]\nType=notify\n"
                                "ExecStart=%s notify-seq 0 READY=1 300 RELOADING=1 300 READY=1 300 STOPPING=1\n", FIX);
        dl_start(&d, NULL);
        json_decref(dl_subscribe(&d, &ev));
        dl_cli_ok(&d, "start", "rl", NULL);
        for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
                json_t *e = dl_next_event(&d, &ev, "rl", 5000);
                const char *want = expected[i], *comma = strchr(want, ',');
                size_t state_len = comma ? (size_t)(comma - want) : strlen(want);
                char reason[128];

                dl_assert(&d, strlen(dl_str(e, "state")) == state_len && !strncmp(dl_str(e, "state"), want, state_len),
                          "event %zu: %s (%s), expected %s", i + 1, dl_str(e, "state"), dl_str(e, "reason"), want);
                if (i == 0)
                        pid = dl_int(e, "pid");
                dl_assert(&d, dl_int(e, "pid") == pid, "event %zu: pid %lld, expected %lld", i + 1, dl_int(e, "pid"),
                          pid);
                if (i >= 1) {
                        snprintf(reason, sizeof(reason), "pid %lld%s", pid, comma ? comma : "");
                        dl_assert(&d, !strcmp(dl_str(e, "reason"), reason), "event %zu: reason \"%s\", expected \"%s\"",
                                  i + 1, dl_str(e, "reason"), reason);
                }
                json_decref(e);
        }
        dl_close(&ev);
        dl_cli_ok(&d, "stop", "rl", NULL);
        dl_done(&d);
}
END_TEST

/* ---- malformed datagrams ---- */

/* From inside the service, each saying READY=1: one with an embedded NUL, one of 4097
 * bytes, an empty one.  All are ignored (the service stays starting, the daemon serves);
 * then a valid message of exactly 4096 bytes finishes the start. */
START_TEST(test_malformed_ignored) {
        struct dl_daemon d;
        struct dl_conn job;
        json_t *svc, *reply, *ping;
        long long pid;
        int64_t t0;

        dl_init(&d);
        dl_write_unit(&d, "junk", "[Service]\nType=notify\nTimeoutStartSec=10s\n"
                                  "ExecStart=%s notify-junk \"STATUS=after junk\\nREADY=1\" 2000\n", FIX);
        dl_start(&d, NULL);
        t0 = dl_now_ms();
        start_async(&d, "junk", &job);
        dl_wait_log(&d, "ignored: embedded NUL", 5000);
        dl_wait_log(&d, "is over 4096, ignored", 5000);
        dl_wait_log(&d, "ignored: empty message", 5000);
        ping = dl_call(&d, "ping", NULL);
        json_decref(ping);
        svc = dl_status(&d, "junk");
        dl_assert(&d, dl_now_ms() - t0 < 1800, "too slow to look before the valid message");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "starting"), "state %s (%s) after the malformed messages",
                  dl_str(svc, "state"), dl_str(svc, "reason"));
        dl_assert(&d, json_is_null(json_object_get(svc, "status_text")), "status_text \"%.40s\" from a malformed message",
                  dl_str(svc, "status_text"));
        pid = dl_int(svc, "pid");
        json_decref(svc);

        reply = dl_recv_json(&d, &job, DL_DEADLINE_MS);
        dl_assert(&d, json_is_true(json_object_get(reply, "ok")), "start failed: %s (a 4096-byte message is allowed)",
                  dl_str(reply, "error"));
        json_decref(reply);
        dl_close(&job);
        svc = dl_status(&d, "junk");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "running") && dl_int(svc, "pid") == pid,
                  "%s pid %lld (was %lld)", dl_str(svc, "state"), dl_int(svc, "pid"), pid);
        dl_assert(&d, status_text_is(svc, "after junk"), "status_text \"%.40s\"", dl_str(svc, "status_text"));
        dl_assert(&d, history_len(svc) == 0, "%zu exits", history_len(svc));
        json_decref(svc);
        dl_assert(&d, dl_log_count(&d, "ignored: embedded NUL") == 1 && dl_log_count(&d, "is over 4096, ignored") == 1 &&
                              dl_log_count(&d, "ignored: empty message") == 1,
                  "each malformed message should be logged once");
        ping = dl_call(&d, "ping", NULL);
        json_decref(ping);
        dl_cli_ok(&d, "stop", "junk", NULL);
        dl_done(&d);
}
END_TEST

int main(void) {
        Suite *s = pv_test_suite("integration-notify"); /* "notify" is the parser's unit suite */
        TCase *tc;
        int ret;

        dl_suite_begin("notify");

        tc = pv_test_case("systemd-notify");
        tcase_add_test(tc, test_systemd_notify_ready);
        tcase_add_test(tc, test_systemd_notify_main_refuses_helper);
        pv_test_add(s, tc, need_systemd_notify());

        tc = pv_test_case("systemd-notify-pid");
        tcase_add_test(tc, test_systemd_notify_main_pid_accepted);
        pv_test_add(s, tc, need_systemd_notify_and_root());

        tc = pv_test_case("client");
        tcase_add_test(tc, test_c_client_ready);
        tcase_add_test(tc, test_c_client_helper_access);
        tcase_add_test(tc, test_outsider_ignored);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("timeout");
        tcase_add_test(tc, test_start_timeout);
        tcase_add_test(tc, test_start_timeout_restarts);
        tcase_add_test(tc, test_extend_timeout);
        tcase_add_test(tc, test_extend_stop_timeout);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("watchdog");
        tcase_add_test(tc, test_watchdog_miss_restarts);
        tcase_add_test(tc, test_watchdog_kept_alive);
        tcase_add_test(tc, test_watchdog_usec_changes_period);
        tcase_add_test(tc, test_watchdog_trigger);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("mainpid");
        tcase_add_test(tc, test_mainpid_subreaper);
        tcase_add_test(tc, test_mainpid_not_child);
        tcase_add_test(tc, test_mainpid_outsider_refused);
        pv_test_add(s, tc, need_systemd_notify_and_root());

        tc = pv_test_case("status");
        tcase_add_test(tc, test_status_updates);
        tcase_add_test(tc, test_reloading_and_stopping);
        tcase_add_test(tc, test_status_long_utf8);
        tcase_add_test(tc, test_status_not_utf8);
        tcase_add_test(tc, test_malformed_ignored);
        pv_test_add(s, tc, NULL);

        ret = pv_test_main(s);
        dl_suite_end();
        return ret;
}
