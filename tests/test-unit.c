/* SPDX-License-Identifier: MIT */
/* unit_load / unit_load_string: NAME.service files, every key and every message. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "daemon/unit.h"
#include <pidvisor/spawn.h>
#include "lib/strv.h"
#include "lib/util.h"
#include "testlib.h"

#define SEC USEC_PER_SEC
#define MSEC USEC_PER_MSEC
#define MIN_SERVICE "[Service]\nExecStart=/bin/true\n"

/* The diagnostics as one string, "E text\n" for errors and "W text\n" for warnings, so
 * that a test compares all of them, in order, at once. */
static char *diag_str(const struct diagnostics *d) {
        size_t len = 1, n_errors = 0;
        char *s;

        for (size_t i = 0; i < d->n; i++)
                len += strlen(d->items[i].text) + 3;
        s = malloc(len);
        ck_assert_ptr_nonnull(s);
        s[0] = 0;
        for (size_t i = 0; i < d->n; i++) {
                strcat(s, d->items[i].error ? "E " : "W ");
                strcat(s, d->items[i].text);
                strcat(s, "\n");
                n_errors += d->items[i].error;
        }
        ck_assert_uint_eq(n_errors, d->n_errors);
        return s;
}

/* expected NULL: any text (the test checks only that loading failed). */
static void assert_diags(const struct diagnostics *d, const char *expected) {
        char *s = diag_str(d);

        if (expected)
                ck_assert_str_eq(s, expected);
        free(s);
}

static struct unit_config *load_ok_as(const char *path, const char *text,
                                      const char *expected_diags) {
        struct diagnostics d = { 0 };
        struct unit_config *u = NULL;
        int r = unit_load_string(path, text, strlen(text), &u, &d);

        if (r != 0) {
                char *s = diag_str(&d);
                ck_abort_msg("unit_load_string: %d\n%s", r, s);
        }
        ck_assert_ptr_nonnull(u);
        assert_diags(&d, expected_diags);
        diagnostics_done(&d);
        return u;
}

static struct unit_config *load_ok(const char *text, const char *expected_diags) {
        return load_ok_as("web.service", text, expected_diags);
}

static void load_fails_as(const char *path, const char *text, size_t len,
                          const char *expected_diags) {
        struct unit_config *sentinel = (struct unit_config *)&sentinel, *u = sentinel;
        struct diagnostics d = { 0 };

        ck_assert_int_eq(unit_load_string(path, text, len, &u, &d), -EINVAL);
        ck_assert_ptr_eq(u, sentinel); /* untouched */
        assert_diags(&d, expected_diags);
        ck_assert_uint_ge(d.n_errors, 1);
        diagnostics_done(&d);
}

static void load_fails(const char *text, const char *expected_diags) {
        load_fails_as("web.service", text, strlen(text), expected_diags);
}

/* ---- defaults and the whole happy path ---- */

START_TEST(test_notify_keys) {
        struct unit_config *u;

        /* Type=notify implies NotifyAccess=main; the start timeout defaults to 90 s. */
        u = load_ok("[Service]\nType=notify\nExecStart=/bin/true\n", "");
        ck_assert_int_eq(u->type, SERVICE_NOTIFY);
        ck_assert_int_eq(u->notify_access, NOTIFY_ACCESS_MAIN);
        ck_assert_uint_eq(u->timeout_start, 90 * SEC);
        ck_assert_uint_eq(u->watchdog, 0);
        unit_config_free(u);

        /* Type=simple: none, unless a watchdog is set. */
        u = load_ok("[Service]\nExecStart=/bin/true\n", "");
        ck_assert_int_eq(u->notify_access, NOTIFY_ACCESS_NONE);
        unit_config_free(u);
        u = load_ok("[Service]\nExecStart=/bin/true\nWatchdogSec=2s\n", "");
        ck_assert_int_eq(u->notify_access, NOTIFY_ACCESS_MAIN);
        ck_assert_uint_eq(u->watchdog, 2 * SEC);
        unit_config_free(u);

        /* An explicit NotifyAccess= wins; an empty one restores the implied default. */
        u = load_ok("[Service]\nType=notify\nNotifyAccess=all\nExecStart=/bin/true\n", "");
        ck_assert_int_eq(u->notify_access, NOTIFY_ACCESS_ALL);
        unit_config_free(u);
        u = load_ok("[Service]\nType=notify\nNotifyAccess=none\nExecStart=/bin/true\n", "");
        ck_assert_int_eq(u->notify_access, NOTIFY_ACCESS_NONE);
        unit_config_free(u);
        u = load_ok("[Service]\nType=notify\nNotifyAccess=exec\nNotifyAccess=\nExecStart=/bin/true\n", "");
        ck_assert_int_eq(u->notify_access, NOTIFY_ACCESS_MAIN);
        unit_config_free(u);

        /* TimeoutSec= sets both timeouts; TimeoutStartSec=0 means none. */
        u = load_ok("[Service]\nExecStart=/bin/true\nTimeoutSec=7s\n", "");
        ck_assert_uint_eq(u->timeout_start, 7 * SEC);
        ck_assert_uint_eq(u->timeout_stop, 7 * SEC);
        unit_config_free(u);
        u = load_ok("[Service]\nExecStart=/bin/true\nTimeoutStartSec=0\nTimeoutStopSec=3s\n", "");
        ck_assert_uint_eq(u->timeout_start, USEC_INFINITY);
        ck_assert_uint_eq(u->timeout_stop, 3 * SEC);
        unit_config_free(u);

        load_fails("[Service]\nExecStart=/bin/true\nNotifyAccess=some\n",
                   "E web.service:3: NotifyAccess=: invalid value \"some\" (expected none, main, exec, all)\n");
        load_fails("[Service]\nExecStart=/bin/true\nTimeoutSec=soon\n",
                   "E web.service:3: TimeoutSec=: invalid value \"soon\" (expected a time span such as 5s, "
                   "250ms, 1min 30s or infinity)\n");
}
END_TEST

START_TEST(test_output_keys) {
        struct unit_config *u;

        u = load_ok(MIN_SERVICE, "");
        ck_assert_int_eq(u->std_output.kind, STD_OUTPUT_LOG);
        ck_assert_int_eq(u->std_error.kind, STD_OUTPUT_INHERIT);
        ck_assert_uint_eq(u->log_max_bytes, 10 * 1024 * 1024);
        ck_assert_uint_eq(u->log_keep, 5);
        unit_config_free(u);

        u = load_ok(MIN_SERVICE "StandardOutput=append:/var/log/%n.out\nStandardError=null\n"
                                "[X-Pidvisor]\nLogMaxBytes=1M\nLogKeep=2\n", "");
        ck_assert_int_eq(u->std_output.kind, STD_OUTPUT_APPEND);
        ck_assert_str_eq(u->std_output.path, "/var/log/web.service.out");
        ck_assert_int_eq(u->std_error.kind, STD_OUTPUT_NULL);
        ck_assert_ptr_null(u->std_error.path);
        ck_assert_uint_eq(u->log_max_bytes, 1024 * 1024);
        ck_assert_uint_eq(u->log_keep, 2);
        unit_config_free(u);

        /* journal and kmsg mean the service's log file; an empty value resets. */
        u = load_ok(MIN_SERVICE "StandardOutput=file:/tmp/x\nStandardOutput=\nStandardError=journal\n", "");
        ck_assert_int_eq(u->std_output.kind, STD_OUTPUT_LOG);
        ck_assert_ptr_null(u->std_output.path);
        ck_assert_int_eq(u->std_error.kind, STD_OUTPUT_LOG);
        unit_config_free(u);
        u = load_ok(MIN_SERVICE "StandardOutput=truncate:/tmp/t\nStandardError=inherit\n", "");
        ck_assert_int_eq(u->std_output.kind, STD_OUTPUT_TRUNCATE);
        ck_assert_int_eq(u->std_error.kind, STD_OUTPUT_INHERIT);
        unit_config_free(u);

        load_fails(MIN_SERVICE "StandardOutput=tty\n",
                   "E web.service:3: StandardOutput=: invalid value \"tty\" (expected journal (the "
                   "service's log file), inherit, null, file:PATH, append:PATH or truncate:PATH)\n");
        load_fails(MIN_SERVICE "StandardError=file:relative\n",
                   "E web.service:3: StandardError=: invalid value \"file:relative\" (expected an "
                   "absolute path after the colon)\n");
        u = load_ok(MIN_SERVICE "[X-Pidvisor]\nNotificationFD=3\n", "");
        ck_assert_int_eq(u->notification_fd, 3);
        unit_config_free(u);
        load_fails(MIN_SERVICE "[X-Pidvisor]\nNotificationFD=2\n",
                   "E web.service:4: NotificationFD=: invalid value \"2\" (expected a descriptor number "
                   "from 3 to 1023)\n");
        load_fails(MIN_SERVICE "[X-Pidvisor]\nLogMaxBytes=100\n",
                   "E web.service:4: LogMaxBytes=: invalid value \"100\" (expected a size of at least "
                   "4K such as 10M, or 0 for no rotation)\n");
}
END_TEST

START_TEST(test_dependency_keys) {
        struct unit_config *u = load_ok("[Unit]\nRequires=db.service cache\nRequires=db\nWants=metrics.service\n"
                                        "BindsTo=db.service\nAfter=db.service network.target\nBefore=web2\n"
                                        MIN_SERVICE,
                                        "W web.service:6: After=: network.target is not a service; pidvisor "
                                        "knows only services, ignoring it\n");

        ck_assert_int_eq(strv_length(u->requires), 2);
        ck_assert_str_eq(u->requires[0], "db");
        ck_assert_str_eq(u->requires[1], "cache");
        ck_assert_str_eq(u->wants[0], "metrics");
        ck_assert_str_eq(u->binds_to[0], "db");
        ck_assert_int_eq(strv_length(u->after), 1);
        ck_assert_str_eq(u->after[0], "db");
        ck_assert_str_eq(u->before[0], "web2");
        unit_config_free(u);

        u = load_ok("[Unit]\nAfter=a b\nAfter=\nAfter=c\n" MIN_SERVICE, "");
        ck_assert_int_eq(strv_length(u->after), 1);
        ck_assert_str_eq(u->after[0], "c");
        unit_config_free(u);

        load_fails("[Unit]\nRequires=bad/name.service\n" MIN_SERVICE,
                   "E web.service:2: Requires=: invalid value \"bad/name.service\" (expected unit names such "
                   "as web.service)\n");
}
END_TEST

START_TEST(test_defaults) {
        struct unit_config *u = load_ok(MIN_SERVICE, "");

        ck_assert_str_eq(u->name, "web");
        ck_assert_str_eq(u->path, "web.service");
        ck_assert_uint_eq(u->hash, 13246835733472666647ULL); /* FNV-1a 64 of the text */
        ck_assert_ptr_null(u->description);
        ck_assert_uint_eq(u->start_limit_interval, 10 * SEC);
        ck_assert_uint_eq(u->start_limit_burst, 5);
        ck_assert_int_eq(u->type, SERVICE_SIMPLE);
        ck_assert_uint_eq(u->n_exec_start, 1);
        ck_assert_str_eq(u->exec_start[0].path, "/bin/true");
        ck_assert_str_eq(u->exec_start[0].argv[0], "/bin/true");
        ck_assert_ptr_null(u->exec_start[0].argv[1]);
        ck_assert_uint_eq(u->exec_start[0].line, 2);
        ck_assert(!u->exec_start[0].ignore_failure);
        ck_assert(!u->exec_start[0].no_env_expand);
        ck_assert_uint_eq(u->n_exec_start_pre, 0);
        ck_assert_ptr_null(u->exec_start_pre);
        ck_assert_int_eq(u->restart, RESTART_NO);
        ck_assert_uint_eq(u->restart_sec, 100 * MSEC);
        ck_assert_uint_eq(u->restart_steps, 0);
        ck_assert_uint_eq(u->restart_max_delay, USEC_INFINITY);
        ck_assert(exit_status_set_empty(&u->success_status));
        ck_assert(exit_status_set_empty(&u->restart_prevent));
        ck_assert(exit_status_set_empty(&u->restart_force));
        ck_assert_ptr_null(u->user);
        ck_assert_ptr_null(u->group);
        ck_assert_ptr_null(u->working_directory);
        ck_assert(!u->working_directory_missing_ok);
        ck_assert_ptr_null(u->environment);
        ck_assert_uint_eq(u->n_environment_files, 0);
        ck_assert_ptr_null(u->environment_files);
        ck_assert_int_eq(u->umask, 0022);
        ck_assert_int_eq(u->kill_signal, SIGTERM);
        ck_assert_int_eq(u->kill_mode, KILL_CONTROL_GROUP);
        ck_assert_uint_eq(u->timeout_stop, 90 * SEC);
        for (int i = 0; i < RLIM_NLIMITS; i++)
                ck_assert(!u->limit_set[i]);
        ck_assert(u->restart_jitter == 0.0);
        ck_assert_uint_eq(u->restart_reset, 0);
        ck_assert_uint_eq(u->failed_cooldown, 0);
        ck_assert(!u->auto_start);
        unit_config_free(u);
}
END_TEST

START_TEST(test_every_key) {
        static const char text[] =
                "# a full unit\n"
                "[Unit]\n"
                "Description=The web server\n"
                "Documentation=man:web(8) https://example.com\n"
                "StartLimitIntervalSec=30s\n"
                "StartLimitBurst=3\n"
                "\n"
                "[Service]\n"
                "Type=exec\n"
                "ExecStartPre=-/bin/mkdir -p /run/web\n"
                "ExecStartPre=/usr/bin/web --check\n"
                "ExecStart=@/usr/bin/web web-main --port 8080\n"
                "Restart=on-failure\n"
                "RestartSec=250ms\n"
                "RestartSteps=4\n"
                "RestartMaxDelaySec=1min\n"
                "SuccessExitStatus=3 SIGUSR1\n"
                "RestartPreventExitStatus=64\n"
                "RestartForceExitStatus=SIGKILL 255\n"
                "User=www-data\n"
                "Group=1000\n"
                "WorkingDirectory=-/srv/web\n"
                "Environment=PORT=8080 \"GREETING=hello world\"\n"
                "EnvironmentFile=-/etc/default/web\n"
                "UMask=0077\n"
                "KillSignal=SIGINT\n"
                "KillMode=mixed\n"
                "TimeoutStopSec=5s\n"
                "LimitNOFILE=1024:4096\n"
                "\n"
                "[X-Pidvisor]\n"
                "RestartJitter=0.2\n"
                "RestartResetSec=10min\n"
                "FailedCooldownSec=1h\n"
                "AutoStart=yes\n"
                "\n"
                "[Install]\n"
                "WantedBy=multi-user.target\n";
        struct unit_config *u = load_ok(text, "");

        ck_assert_str_eq(u->description, "The web server");
        ck_assert_uint_eq(u->start_limit_interval, 30 * SEC);
        ck_assert_uint_eq(u->start_limit_burst, 3);
        ck_assert_int_eq(u->type, SERVICE_EXEC);

        ck_assert_uint_eq(u->n_exec_start_pre, 2);
        ck_assert_str_eq(u->exec_start_pre[0].path, "/bin/mkdir");
        ck_assert_str_eq(u->exec_start_pre[0].argv[0], "/bin/mkdir");
        ck_assert_str_eq(u->exec_start_pre[0].argv[1], "-p");
        ck_assert_str_eq(u->exec_start_pre[0].argv[2], "/run/web");
        ck_assert_ptr_null(u->exec_start_pre[0].argv[3]);
        ck_assert(u->exec_start_pre[0].ignore_failure);
        ck_assert_uint_eq(u->exec_start_pre[0].line, 10);
        ck_assert_str_eq(u->exec_start_pre[1].path, "/usr/bin/web");
        ck_assert(!u->exec_start_pre[1].ignore_failure);
        ck_assert_uint_eq(u->exec_start_pre[1].line, 11);

        ck_assert_uint_eq(u->n_exec_start, 1);
        ck_assert_str_eq(u->exec_start[0].path, "/usr/bin/web");
        ck_assert_str_eq(u->exec_start[0].argv[0], "web-main");
        ck_assert_str_eq(u->exec_start[0].argv[1], "--port");
        ck_assert_str_eq(u->exec_start[0].argv[2], "8080");
        ck_assert_ptr_null(u->exec_start[0].argv[3]);
        ck_assert_uint_eq(u->exec_start[0].line, 12);

        ck_assert_int_eq(u->restart, RESTART_ON_FAILURE);
        ck_assert_uint_eq(u->restart_sec, 250 * MSEC);
        ck_assert_uint_eq(u->restart_steps, 4);
        ck_assert_uint_eq(u->restart_max_delay, 60 * SEC);
        ck_assert(exit_status_set_has_status(&u->success_status, 3));
        ck_assert(!exit_status_set_has_status(&u->success_status, 0));
        ck_assert(exit_status_set_has_signal(&u->success_status, SIGUSR1));
        ck_assert(exit_status_set_has_status(&u->restart_prevent, 64));
        ck_assert(exit_status_set_has_signal(&u->restart_force, SIGKILL));
        ck_assert(exit_status_set_has_status(&u->restart_force, 255));
        ck_assert_str_eq(u->user, "www-data");
        ck_assert_str_eq(u->group, "1000");
        ck_assert_str_eq(u->working_directory, "/srv/web");
        ck_assert(u->working_directory_missing_ok);
        ck_assert_str_eq(u->environment[0], "PORT=8080");
        ck_assert_str_eq(u->environment[1], "GREETING=hello world");
        ck_assert_ptr_null(u->environment[2]);
        ck_assert_uint_eq(u->n_environment_files, 1);
        ck_assert_str_eq(u->environment_files[0].path, "/etc/default/web");
        ck_assert(u->environment_files[0].missing_ok);
        ck_assert_int_eq(u->umask, 0077);
        ck_assert_int_eq(u->kill_signal, SIGINT);
        ck_assert_int_eq(u->kill_mode, KILL_MIXED);
        ck_assert_uint_eq(u->timeout_stop, 5 * SEC);
        ck_assert(u->limit_set[RLIMIT_NOFILE]);
        ck_assert_uint_eq(u->limits[RLIMIT_NOFILE].rlim_cur, 1024);
        ck_assert_uint_eq(u->limits[RLIMIT_NOFILE].rlim_max, 4096);
        ck_assert(u->restart_jitter == 0.2);
        ck_assert_uint_eq(u->restart_reset, 600 * SEC);
        ck_assert_uint_eq(u->failed_cooldown, 3600 * SEC);
        ck_assert(u->auto_start);
        unit_config_free(u);
}
END_TEST

/* ---- one key at a time ---- */

/* Loads MIN_SERVICE plus "[section]\nline\n" (the key on line 4). */
static struct unit_config *load_key(const char *section, const char *line,
                                    const char *expected_diags) {
        char text[4096];

        snprintf(text, sizeof(text), MIN_SERVICE "[%s]\n%s\n", section, line);
        return load_ok(text, expected_diags);
}

START_TEST(test_type) {
        struct unit_config *u = load_key("Service", "Type=simple", "");

        ck_assert_int_eq(u->type, SERVICE_SIMPLE);
        unit_config_free(u);
        u = load_key("Service", "Type=exec\nType=", ""); /* empty: the default again */
        ck_assert_int_eq(u->type, SERVICE_SIMPLE);
        unit_config_free(u);
}
END_TEST

START_TEST(test_restart_values) {
        static const struct {
                const char *v;
                enum restart_mode m;
        } t[] = {
                { "no", RESTART_NO },
                { "on-success", RESTART_ON_SUCCESS },
                { "on-failure", RESTART_ON_FAILURE },
                { "on-abnormal", RESTART_ON_ABNORMAL },
                { "on-watchdog", RESTART_ON_WATCHDOG },
                { "on-abort", RESTART_ON_ABORT },
                { "always", RESTART_ALWAYS },
        };

        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
                char line[64];
                struct unit_config *u;

                snprintf(line, sizeof(line), "Restart=%s", t[i].v);
                u = load_key("Service", line, "");
                ck_assert_int_eq(u->restart, t[i].m);
                ck_assert_str_eq(restart_mode_to_string(u->restart), t[i].v);
                unit_config_free(u);
        }
}
END_TEST

START_TEST(test_to_string) {
        ck_assert_str_eq(service_type_to_string(SERVICE_SIMPLE), "simple");
        ck_assert_str_eq(service_type_to_string(SERVICE_EXEC), "exec");
        ck_assert_str_eq(kill_mode_to_string(KILL_CONTROL_GROUP), "control-group");
        ck_assert_str_eq(kill_mode_to_string(KILL_MIXED), "mixed");
        ck_assert_str_eq(kill_mode_to_string(KILL_PROCESS), "process");
        ck_assert_str_eq(restart_mode_to_string(RESTART_ON_ABORT), "on-abort");
        ck_assert_ptr_null(restart_mode_to_string((enum restart_mode)99));
}
END_TEST

START_TEST(test_time_keys) {
        struct unit_config *u = load_key("Service",
                                         "RestartSec=2\n"
                                         "TimeoutStopSec=1min 30s\n"
                                         "StartLimitIntervalSec=infinity\n"
                                         "StartLimitBurst=0",
                                         "");

        ck_assert_uint_eq(u->restart_sec, 2 * SEC);
        ck_assert_uint_eq(u->timeout_stop, 90 * SEC);
        ck_assert_uint_eq(u->start_limit_interval, USEC_INFINITY);
        ck_assert_uint_eq(u->start_limit_burst, 0);
        unit_config_free(u);

        /* TimeoutSec= sets the stop timeout; 0 means none, as in systemd */
        u = load_key("Service", "TimeoutSec=30", "");
        ck_assert_uint_eq(u->timeout_stop, 30 * SEC);
        unit_config_free(u);
        u = load_key("Service", "TimeoutStopSec=0", "");
        ck_assert_uint_eq(u->timeout_stop, USEC_INFINITY);
        unit_config_free(u);
        u = load_key("Service", "TimeoutStopSec=5\nTimeoutStopSec=", "");
        ck_assert_uint_eq(u->timeout_stop, 90 * SEC);
        unit_config_free(u);
        u = load_key("Service", "RestartSec=5\nRestartSec=", "");
        ck_assert_uint_eq(u->restart_sec, 100 * MSEC);
        unit_config_free(u);

        /* the old names, also in [Service], without a warning */
        u = load_key("Service", "StartLimitInterval=20\nStartLimitBurst=9", "");
        ck_assert_uint_eq(u->start_limit_interval, 20 * SEC);
        ck_assert_uint_eq(u->start_limit_burst, 9);
        unit_config_free(u);
        u = load_key("Unit", "StartLimitInterval=7s", "");
        ck_assert_uint_eq(u->start_limit_interval, 7 * SEC);
        unit_config_free(u);
}
END_TEST

START_TEST(test_restart_backoff) {
        struct unit_config *u = load_key("Service",
                                         "RestartSec=1s\nRestartSteps=5\nRestartMaxDelaySec=1s",
                                         "");

        ck_assert_uint_eq(u->restart_steps, 5);
        ck_assert_uint_eq(u->restart_max_delay, SEC); /* equal is fine */
        unit_config_free(u);

        load_fails(MIN_SERVICE "RestartSec=1s\nRestartSteps=5\nRestartMaxDelaySec=500ms\n",
                   "E web.service:5: RestartMaxDelaySec=: 500ms is below RestartSec= (1s); "
                   "expected at least RestartSec=\n");
        /* the default RestartSec= counts too */
        load_fails(MIN_SERVICE "RestartMaxDelaySec=50ms\nRestartSteps=2\n",
                   "E web.service:3: RestartMaxDelaySec=: 50ms is below RestartSec= (100ms); "
                   "expected at least RestartSec=\n");

        /* one without the other does nothing: warnings, as systemd gives */
        u = load_key("Service", "RestartSteps=3", "W web.service:4: RestartSteps=: has no "
                                                  "effect without RestartMaxDelaySec=, ignoring\n");
        unit_config_free(u);
        u = load_key("Service", "RestartMaxDelaySec=10s",
                     "W web.service:4: RestartMaxDelaySec=: has no effect without RestartSteps=, "
                     "ignoring\n");
        unit_config_free(u);
}
END_TEST

START_TEST(test_exec_start) {
        struct unit_config *u = load_ok("[Service]\n"
                                        "ExecStart=-:/usr/bin/env FOO=\"a b\" ${X}\n",
                                        "");

        ck_assert_str_eq(u->exec_start[0].path, "/usr/bin/env");
        ck_assert_str_eq(u->exec_start[0].argv[1], "FOO=a b");
        ck_assert_str_eq(u->exec_start[0].argv[2], "${X}");
        ck_assert(u->exec_start[0].ignore_failure);
        ck_assert(u->exec_start[0].no_env_expand);
        unit_config_free(u);

        /* an empty ExecStart= clears the list, so a later one is the only one */
        u = load_ok("[Service]\nExecStart=/bin/a\nExecStart=\nExecStart=/bin/b x\n", "");
        ck_assert_uint_eq(u->n_exec_start, 1);
        ck_assert_str_eq(u->exec_start[0].path, "/bin/b");
        ck_assert_uint_eq(u->exec_start[0].line, 4);
        unit_config_free(u);

        /* a plain name, for $PATH */
        u = load_ok("[Service]\nExecStart=sleep infinity\n", "");
        ck_assert_str_eq(u->exec_start[0].path, "sleep");
        unit_config_free(u);
}
END_TEST

START_TEST(test_exec_start_pre_list) {
        struct unit_config *u = load_ok("[Service]\n"
                                        "ExecStartPre=/bin/a\n"
                                        "ExecStartPre=/bin/b\n"
                                        "ExecStartPre=\n"
                                        "ExecStartPre=/bin/c 1\n"
                                        "ExecStartPre=/bin/d\n"
                                        "ExecStart=/bin/true\n",
                                        "");

        ck_assert_uint_eq(u->n_exec_start_pre, 2);
        ck_assert_str_eq(u->exec_start_pre[0].path, "/bin/c");
        ck_assert_str_eq(u->exec_start_pre[0].argv[1], "1");
        ck_assert_uint_eq(u->exec_start_pre[0].line, 5);
        ck_assert_str_eq(u->exec_start_pre[1].path, "/bin/d");
        unit_config_free(u);

        u = load_ok(MIN_SERVICE "ExecStartPre=/bin/a\nExecStartPre=\n", "");
        ck_assert_uint_eq(u->n_exec_start_pre, 0);
        ck_assert_ptr_null(u->exec_start_pre);
        unit_config_free(u);
}
END_TEST

START_TEST(test_exit_status_sets) {
        struct unit_config *u = load_key("Service",
                                         "SuccessExitStatus=0 1 2 SIGKILL KILL 255\n"
                                         "SuccessExitStatus=  TERM\t9 sighup\n"
                                         "RestartPreventExitStatus=1\n"
                                         "RestartPreventExitStatus=\n"
                                         "RestartPreventExitStatus=SIGRTMIN+2 64 200\n"
                                         "RestartForceExitStatus=SIGABRT\n"
                                         "RestartForceExitStatus=",
                                         "");
        const struct exit_status_set *s = &u->success_status;

        for (int i = 0; i < 256; i++)
                ck_assert_msg(exit_status_set_has_status(s, i) ==
                                      (i == 0 || i == 1 || i == 2 || i == 9 || i == 255),
                              "status %d", i);
        for (int i = 1; i <= 64; i++)
                ck_assert_msg(exit_status_set_has_signal(s, i) ==
                                      (i == SIGKILL || i == SIGTERM || i == SIGHUP),
                              "signal %d", i);
        s = &u->restart_prevent;
        ck_assert(!exit_status_set_has_status(s, 1));
        ck_assert(exit_status_set_has_status(s, 64));
        ck_assert(exit_status_set_has_status(s, 200));
        ck_assert(exit_status_set_has_signal(s, SIGRTMIN + 2));
        ck_assert_uint_eq(s->signal, 1ULL << (SIGRTMIN + 2 - 1));
        ck_assert(exit_status_set_empty(&u->restart_force));
        unit_config_free(u);
}
END_TEST

START_TEST(test_user_group) {
        struct unit_config *u = load_key("Service", "User=nobody\nGroup=nogroup", "");

        ck_assert_str_eq(u->user, "nobody");
        ck_assert_str_eq(u->group, "nogroup");
        unit_config_free(u);
        u = load_key("Service", "User=0\nGroup=4294967294\nUser=\n", "");
        ck_assert_ptr_null(u->user);
        ck_assert_str_eq(u->group, "4294967294");
        unit_config_free(u);
        u = load_key("Service", "User=svc-%N", "");
        ck_assert_str_eq(u->user, "svc-web");
        unit_config_free(u);
}
END_TEST

START_TEST(test_working_directory) {
        static const struct {
                const char *v, *dir;
                bool missing_ok;
        } t[] = {
                { "/srv", "/srv", false },
                { "-/srv/x", "/srv/x", true },
                { "~", "~", false },
                { "-~", "~", true },
                { "/srv/%n", "/srv/web.service", false },
        };

        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
                char line[128];
                struct unit_config *u;

                snprintf(line, sizeof(line), "WorkingDirectory=%s", t[i].v);
                u = load_key("Service", line, "");
                ck_assert_str_eq(u->working_directory, t[i].dir);
                ck_assert_int_eq(u->working_directory_missing_ok, t[i].missing_ok);
                unit_config_free(u);
        }
        struct unit_config *u = load_key("Service", "WorkingDirectory=-/a\nWorkingDirectory=",
                                         "");
        ck_assert_ptr_null(u->working_directory);
        ck_assert(!u->working_directory_missing_ok);
        unit_config_free(u);
}
END_TEST

START_TEST(test_environment) {
        struct unit_config *u = load_key("Service",
                                         "Environment=\"A=1 2\" B=3\n"
                                         "Environment=C=4 A=5 'D=x y' E=\n"
                                         "Environment=F=a=b G=\\x41\\n _H1=%n",
                                         "");
        char **e = u->environment;

        ck_assert_str_eq(e[0], "A=5"); /* later wins, in place */
        ck_assert_str_eq(e[1], "B=3");
        ck_assert_str_eq(e[2], "C=4");
        ck_assert_str_eq(e[3], "D=x y");
        ck_assert_str_eq(e[4], "E=");
        ck_assert_str_eq(e[5], "F=a=b");
        ck_assert_str_eq(e[6], "G=A\n");
        ck_assert_str_eq(e[7], "_H1=web.service");
        ck_assert_ptr_null(e[8]);
        unit_config_free(u);

        u = load_key("Service", "Environment=A=1\nEnvironment=\nEnvironment=B=2", "");
        ck_assert_str_eq(u->environment[0], "B=2");
        ck_assert_ptr_null(u->environment[1]);
        unit_config_free(u);
        u = load_key("Service", "Environment=A=1\nEnvironment=", "");
        ck_assert_ptr_null(u->environment);
        unit_config_free(u);
}
END_TEST

START_TEST(test_environment_files) {
        struct unit_config *u = load_key("Service",
                                         "EnvironmentFile=/etc/a\n"
                                         "EnvironmentFile=\n"
                                         "EnvironmentFile=-/etc/b c\n"
                                         "EnvironmentFile=/etc/%N.env",
                                         "");

        ck_assert_uint_eq(u->n_environment_files, 2);
        ck_assert_str_eq(u->environment_files[0].path, "/etc/b c");
        ck_assert(u->environment_files[0].missing_ok);
        ck_assert_str_eq(u->environment_files[1].path, "/etc/web.env");
        ck_assert(!u->environment_files[1].missing_ok);
        unit_config_free(u);
}
END_TEST

START_TEST(test_umask_kill) {
        static const struct {
                const char *line;
                int umask, sig;
                enum kill_mode mode;
        } t[] = {
                { "UMask=0077", 0077, SIGTERM, KILL_CONTROL_GROUP },
                { "UMask=027", 027, SIGTERM, KILL_CONTROL_GROUP },
                { "UMask=0", 0, SIGTERM, KILL_CONTROL_GROUP },
                { "UMask=0000777", 0777, SIGTERM, KILL_CONTROL_GROUP },
                { "UMask=7\nUMask=", 0022, SIGTERM, KILL_CONTROL_GROUP },
                { "KillSignal=SIGINT", 0022, SIGINT, KILL_CONTROL_GROUP },
                { "KillSignal=KILL", 0022, SIGKILL, KILL_CONTROL_GROUP },
                { "KillSignal=9", 0022, SIGKILL, KILL_CONTROL_GROUP },
                { "KillSignal=SIGRTMIN+1", 0022, 0, KILL_CONTROL_GROUP },
                { "KillSignal=SIGQUIT\nKillSignal=", 0022, SIGTERM, KILL_CONTROL_GROUP },
                { "KillMode=process", 0022, SIGTERM, KILL_PROCESS },
                { "KillMode=mixed", 0022, SIGTERM, KILL_MIXED },
                { "KillMode=mixed\nKillMode=control-group", 0022, SIGTERM, KILL_CONTROL_GROUP },
        };

        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
                struct unit_config *u = load_key("Service", t[i].line, "");

                ck_assert_int_eq(u->umask, t[i].umask);
                ck_assert_int_eq(u->kill_signal, t[i].sig ? t[i].sig : SIGRTMIN + 1);
                ck_assert_int_eq(u->kill_mode, t[i].mode);
                unit_config_free(u);
        }
}
END_TEST

START_TEST(test_limits) {
        struct unit_config *u = load_key("Service",
                                         "LimitNOFILE=65536\n"
                                         "LimitCORE=infinity\n"
                                         "LimitAS=1G\n"
                                         "LimitSTACK=8M:16M\n"
                                         "LimitMEMLOCK=1.5K\n"
                                         "LimitFSIZE=100:infinity\n"
                                         "LimitDATA=4096B\n"
                                         "LimitCPU=1min:2min\n"
                                         "LimitRTTIME=500ms\n"
                                         "LimitNICE=-5\n"
                                         "LimitRTPRIO=10\n"
                                         "LimitNPROC=unlimited\n"
                                         "LimitMSGQUEUE=2E\n"
                                         "LimitSIGPENDING=100\n"
                                         "LimitSIGPENDING=",
                                         "");
        const struct rlimit *l = u->limits;

        ck_assert_uint_eq(l[RLIMIT_NOFILE].rlim_cur, 65536);
        ck_assert_uint_eq(l[RLIMIT_NOFILE].rlim_max, 65536);
        ck_assert_uint_eq(l[RLIMIT_CORE].rlim_cur, RLIM_INFINITY);
        ck_assert_uint_eq(l[RLIMIT_CORE].rlim_max, RLIM_INFINITY);
        ck_assert_uint_eq(l[RLIMIT_AS].rlim_cur, 1ULL << 30);
        ck_assert_uint_eq(l[RLIMIT_STACK].rlim_cur, 8ULL << 20);
        ck_assert_uint_eq(l[RLIMIT_STACK].rlim_max, 16ULL << 20);
        ck_assert_uint_eq(l[RLIMIT_MEMLOCK].rlim_cur, 1536);
        ck_assert_uint_eq(l[RLIMIT_FSIZE].rlim_cur, 100);
        ck_assert_uint_eq(l[RLIMIT_FSIZE].rlim_max, RLIM_INFINITY);
        ck_assert_uint_eq(l[RLIMIT_DATA].rlim_cur, 4096);
        ck_assert_uint_eq(l[RLIMIT_CPU].rlim_cur, 60);
        ck_assert_uint_eq(l[RLIMIT_CPU].rlim_max, 120);
        ck_assert_uint_eq(l[RLIMIT_RTTIME].rlim_cur, 500000);
        ck_assert_uint_eq(l[RLIMIT_NICE].rlim_cur, 25);
        ck_assert_uint_eq(l[RLIMIT_RTPRIO].rlim_cur, 10);
        ck_assert_uint_eq(l[RLIMIT_NPROC].rlim_cur, RLIM_INFINITY);
        ck_assert_uint_eq(l[RLIMIT_MSGQUEUE].rlim_cur, 2ULL << 60);
        for (int i = 0; i < RLIM_NLIMITS; i++)
                ck_assert_msg(u->limit_set[i] == (i != RLIMIT_LOCKS && i != RLIMIT_RSS &&
                                                  i != RLIMIT_SIGPENDING),
                              "limit %d", i);
        unit_config_free(u);

        u = load_key("Service", "LimitCPU=1.5\nLimitRTTIME=250\nLimitNICE=+19\nLimitLOCKS=0",
                     "");
        ck_assert_uint_eq(u->limits[RLIMIT_CPU].rlim_cur, 2); /* rounded up */
        ck_assert_uint_eq(u->limits[RLIMIT_RTTIME].rlim_cur, 250); /* µs */
        ck_assert_uint_eq(u->limits[RLIMIT_NICE].rlim_cur, 1);
        ck_assert(u->limit_set[RLIMIT_LOCKS]);
        ck_assert_uint_eq(u->limits[RLIMIT_LOCKS].rlim_cur, 0);
        unit_config_free(u);

        /* spelled as systemd does: other spellings are unknown keys */
        u = load_key("Service", "Limitnofile=5\nLimitRLIMIT_NOFILE=5",
                     "W web.service:4: Unknown key \"Limitnofile\" in section [Service], "
                     "ignoring\n"
                     "W web.service:5: Unknown key \"LimitRLIMIT_NOFILE\" in section [Service], "
                     "ignoring\n");
        ck_assert(!u->limit_set[RLIMIT_NOFILE]);
        unit_config_free(u);
}
END_TEST

START_TEST(test_jitter) {
        static const struct {
                const char *v;
                double d;
        } t[] = {
                { "0.2", 0.2 },     { "20%", 0.2 }, { "0", 0.0 },     { "1", 1.0 },
                { "100%", 1.0 },    { ".5", 0.5 },  { "0.05", 0.05 }, { "12.5%", 0.125 },
                { "0%", 0.0 },      { "1.000", 1.0 },
        };

        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
                char line[64];
                struct unit_config *u;

                snprintf(line, sizeof(line), "RestartJitter=%s", t[i].v);
                u = load_key("X-Pidvisor", line, "");
                ck_assert_msg(u->restart_jitter == t[i].d, "%s: %.17g", t[i].v, u->restart_jitter);
                unit_config_free(u);
        }
}
END_TEST

START_TEST(test_auto_start) {
        static const struct {
                const char *section, *line;
                bool auto_start;
        } t[] = {
                { "X-Pidvisor", "AutoStart=yes", true },
                { "X-Pidvisor", "AutoStart=true", true },
                { "X-Pidvisor", "AutoStart=on", true },
                { "X-Pidvisor", "AutoStart=1", true },
                { "X-Pidvisor", "AutoStart=YES", true },
                { "X-Pidvisor", "AutoStart=no", false },
                { "X-Pidvisor", "AutoStart=off", false },
                { "X-Pidvisor", "AutoStart=0", false },
                { "X-Pidvisor", "AutoStart=false", false },
                { "Install", "WantedBy=default.target", true },
                { "Install", "WantedBy=multi-user.target", true },
                { "Install", "WantedBy=a.target multi-user.target", true },
                { "Install", "WantedBy=graphical.target", false },
                { "Install", "WantedBy=default.target.wants", false },
                { "Install", "WantedBy=default.target\nWantedBy=", false },
                { "Install", "WantedBy=default.target\n[X-Pidvisor]\nAutoStart=no", false },
                { "Install", "WantedBy=x.target\n[X-Pidvisor]\nAutoStart=yes", true },
                { "X-Pidvisor", "AutoStart=no\nAutoStart=\n[Install]\nWantedBy=default.target",
                  true },
        };

        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
                struct unit_config *u = load_key(t[i].section, t[i].line, "");

                ck_assert_msg(u->auto_start == t[i].auto_start, "%s", t[i].line);
                unit_config_free(u);
        }
}
END_TEST

START_TEST(test_specifiers) {
        struct unit_config *u = load_key("Unit", "Description=%n is %N (%p%P%i%I) at 100%% %",
                                         "");

        ck_assert_str_eq(u->description, "web.service is web (webweb) at 100% %");
        unit_config_free(u);

        u = load_ok("[Service]\nExecStart=/bin/echo %n 100%% %N\n", "");
        ck_assert_str_eq(u->exec_start[0].argv[1], "web.service");
        ck_assert_str_eq(u->exec_start[0].argv[2], "100%");
        ck_assert_str_eq(u->exec_start[0].argv[3], "web");
        unit_config_free(u);

        load_fails("[Service]\nExecStart=/bin/date +%H\n",
                   "E web.service:2: ExecStart=: invalid value \"/bin/date +%H\" (specifier %H is "
                   "not supported, only %n %N %p %P %i %I and %% are)\n"
                   "E web.service: [Service] ExecStart= is required\n");
}
END_TEST

/* ---- every key's error message ---- */

static const struct {
        const char *section, *line, *message;
} key_errors[] = {
        { "Unit", "Description=%h",
          "Description=: invalid value \"%h\" (specifier %h is not supported, only %n %N %p %P "
          "%i %I and %% are)" },
        { "Unit", "StartLimitIntervalSec=5x",
          "StartLimitIntervalSec=: invalid value \"5x\" (expected a time span such as 5s, "
          "250ms, 1min 30s or infinity)" },
        { "Unit", "StartLimitBurst=-1",
          "StartLimitBurst=: invalid value \"-1\" (expected a whole number from 0 to "
          "4294967295)" },
        { "Service", "StartLimitBurst=4294967296",
          "StartLimitBurst=: invalid value \"4294967296\" (expected a whole number from 0 to "
          "4294967295)" },
        { "Service", "Type=notify-reload",
          "Type=notify-reload is not supported (supported: simple, exec, notify)" },
        { "Service", "Type=forking", "Type=forking is not supported (supported: simple, exec, notify)" },
        { "Service", "Type=oneshot", "Type=oneshot is not supported (supported: simple, exec, notify)" },
        { "Service", "Type=dbus", "Type=dbus is not supported (supported: simple, exec, notify)" },
        { "Service", "Type=idle", "Type=idle is not supported (supported: simple, exec, notify)" },
        { "Service", "Type=Simple",
          "Type=: invalid value \"Simple\" (expected simple, exec, notify)" },
        { "Service", "Restart=sometimes",
          "Restart=: invalid value \"sometimes\" (expected no, on-success, on-failure, "
          "on-abnormal, on-watchdog, on-abort, always)" },
        { "Service", "RestartSec=soon",
          "RestartSec=: invalid value \"soon\" (expected a time span such as 5s, 250ms, 1min "
          "30s or infinity)" },
        { "Service", "RestartSteps=1.5",
          "RestartSteps=: invalid value \"1.5\" (expected a whole number from 0 to "
          "4294967295)" },
        { "Service", "RestartMaxDelaySec=-1s",
          "RestartMaxDelaySec=: invalid value \"-1s\" (expected a time span such as 5s, 250ms, "
          "1min 30s or infinity)" },
        { "Service", "SuccessExitStatus=256",
          "SuccessExitStatus=: invalid value \"256\" (expected exit statuses from 0 to 255 and "
          "signal names such as SIGKILL, separated by spaces)" },
        { "Service", "RestartPreventExitStatus=1 SIGFOO 2",
          "RestartPreventExitStatus=: invalid value \"SIGFOO\" (expected exit statuses from 0 "
          "to 255 and signal names such as SIGKILL, separated by spaces)" },
        { "Service", "RestartForceExitStatus=1x",
          "RestartForceExitStatus=: invalid value \"1x\" (expected exit statuses from 0 to 255 "
          "and signal names such as SIGKILL, separated by spaces)" },
        { "Service", "SuccessExitStatus=-1",
          "SuccessExitStatus=: invalid value \"-1\" (expected exit statuses from 0 to 255 and "
          "signal names such as SIGKILL, separated by spaces)" },
        { "Service", "User=a:b",
          "User=: invalid value \"a:b\" (expected a user name or a numeric UID)" },
        { "Service", "User=a b",
          "User=: invalid value \"a b\" (expected a user name or a numeric UID)" },
        { "Service", "User=4294967295",
          "User=: invalid value \"4294967295\" (expected a user name or a numeric UID)" },
        { "Service", "Group=-x",
          "Group=: invalid value \"-x\" (expected a group name or a numeric GID)" },
        { "Service", "WorkingDirectory=relative/dir",
          "WorkingDirectory=: invalid value \"relative/dir\" (expected an absolute path or ~, "
          "optionally prefixed with -)" },
        { "Service", "WorkingDirectory=~/x",
          "WorkingDirectory=: invalid value \"~/x\" (expected an absolute path or ~, "
          "optionally prefixed with -)" },
        { "Service", "Environment=1A=x",
          "Environment=: invalid assignment \"1A=x\" (expected NAME=VALUE, the NAME of "
          "letters, digits and _, not starting with a digit)" },
        { "Service", "Environment=A=1 NOEQUALS",
          "Environment=: invalid assignment \"NOEQUALS\" (expected NAME=VALUE, the NAME of "
          "letters, digits and _, not starting with a digit)" },
        { "Service", "Environment=A-B=1",
          "Environment=: invalid assignment \"A-B=1\" (expected NAME=VALUE, the NAME of "
          "letters, digits and _, not starting with a digit)" },
        { "Service", "Environment==1",
          "Environment=: invalid assignment \"=1\" (expected NAME=VALUE, the NAME of "
          "letters, digits and _, not starting with a digit)" },
        { "Service", "Environment=\"A=1", "Environment=: invalid value \"\"A=1\" (unterminated "
                                          "quote)" },
        { "Service", "Environment=A=\\q",
          "Environment=: invalid value \"A=\\q\" (invalid backslash escape, expected one of \\a "
          "\\b \\f \\n \\r \\t \\v \\\\ \\\" \\' \\s \\xNN \\NNN \\uNNNN \\UNNNNNNNN)" },
        { "Service", "EnvironmentFile=relative",
          "EnvironmentFile=: invalid value \"relative\" (expected an absolute path, optionally "
          "prefixed with -)" },
        { "Service", "UMask=0999",
          "UMask=: invalid value \"0999\" (expected an octal mode from 0000 to 0777)" },
        { "Service", "UMask=01000",
          "UMask=: invalid value \"01000\" (expected an octal mode from 0000 to 0777)" },
        { "Service", "UMask=u=rwx",
          "UMask=: invalid value \"u=rwx\" (expected an octal mode from 0000 to 0777)" },
        { "Service", "KillSignal=SIGFOO",
          "KillSignal=: invalid value \"SIGFOO\" (expected a signal name such as SIGTERM or "
          "TERM, or a number from 1 to 64)" },
        { "Service", "KillSignal=0",
          "KillSignal=: invalid value \"0\" (expected a signal name such as SIGTERM or TERM, or "
          "a number from 1 to 64)" },
        { "Service", "KillMode=none",
          "KillMode=none is not supported (supported: control-group, mixed, process)" },
        { "Service", "KillMode=all",
          "KillMode=: invalid value \"all\" (expected control-group, mixed, process)" },
        { "Service", "TimeoutStopSec=forever",
          "TimeoutStopSec=: invalid value \"forever\" (expected a time span such as 5s, 250ms, "
          "1min 30s or infinity)" },
        { "Service", "TimeoutSec=1x",
          "TimeoutSec=: invalid value \"1x\" (expected a time span such as 5s, 250ms, 1min 30s "
          "or infinity)" },
        { "Service", "LimitNOFILE=lots",
          "LimitNOFILE=: invalid value \"lots\" (expected a number, SOFT:HARD or infinity)" },
        { "Service", "LimitNOFILE=10:5",
          "LimitNOFILE=: invalid value \"10:5\" (expected the soft limit not above the hard "
          "limit)" },
        { "Service", "LimitNPROC=1:",
          "LimitNPROC=: invalid value \"1:\" (expected a number, SOFT:HARD or infinity)" },
        { "Service", "LimitAS=1Q",
          "LimitAS=: invalid value \"1Q\" (expected a size in bytes with an optional K, M, G, "
          "T, P or E suffix (1024-based) such as 512K or 1G, SOFT:HARD or infinity)" },
        { "Service", "LimitAS=16E",
          "LimitAS=: invalid value \"16E\" (expected a size in bytes with an optional K, M, G, "
          "T, P or E suffix (1024-based) such as 512K or 1G, SOFT:HARD or infinity)" },
        { "Service", "LimitSTACK=infinity:8M",
          "LimitSTACK=: invalid value \"infinity:8M\" (expected the soft limit not above the "
          "hard limit)" },
        { "Service", "LimitCPU=1x",
          "LimitCPU=: invalid value \"1x\" (expected a time span (seconds by default) such as "
          "60 or 1min, SOFT:HARD or infinity)" },
        { "Service", "LimitRTTIME=soon",
          "LimitRTTIME=: invalid value \"soon\" (expected a time span (microseconds by "
          "default) such as 500 or 500ms, SOFT:HARD or infinity)" },
        { "Service", "LimitNICE=+20",
          "LimitNICE=: invalid value \"+20\" (expected a nice level with its sign from -20 to "
          "+19, a raw value from 0 to 40, SOFT:HARD or infinity)" },
        { "Service", "LimitNICE=41",
          "LimitNICE=: invalid value \"41\" (expected a nice level with its sign from -20 to "
          "+19, a raw value from 0 to 40, SOFT:HARD or infinity)" },
        { "Service", "ExecStartPre=+/bin/true",
          "ExecStartPre=: invalid value \"+/bin/true\" (prefix '+' is not supported, only '-', "
          "'@' and ':' are)" },
        { "Service", "ExecStartPre=/bin/echo 'x",
          "ExecStartPre=: invalid value \"/bin/echo 'x\" (unterminated quote)" },
        { "X-Pidvisor", "RestartJitter=1.5",
          "RestartJitter=: invalid value \"1.5\" (expected a fraction from 0 to 1 such as 0.2, "
          "or a percentage such as 20%)" },
        { "X-Pidvisor", "RestartJitter=120%",
          "RestartJitter=: invalid value \"120%\" (expected a fraction from 0 to 1 such as "
          "0.2, or a percentage such as 20%)" },
        { "X-Pidvisor", "RestartJitter=-0.1",
          "RestartJitter=: invalid value \"-0.1\" (expected a fraction from 0 to 1 such as "
          "0.2, or a percentage such as 20%)" },
        { "X-Pidvisor", "RestartJitter=nan",
          "RestartJitter=: invalid value \"nan\" (expected a fraction from 0 to 1 such as "
          "0.2, or a percentage such as 20%)" },
        { "X-Pidvisor", "RestartJitter=0.2 %",
          "RestartJitter=: invalid value \"0.2 %\" (expected a fraction from 0 to 1 such as "
          "0.2, or a percentage such as 20%)" },
        { "X-Pidvisor", "RestartResetSec=x",
          "RestartResetSec=: invalid value \"x\" (expected a time span such as 5s, 250ms, 1min "
          "30s or infinity)" },
        { "X-Pidvisor", "FailedCooldownSec=1 parsec",
          "FailedCooldownSec=: invalid value \"1 parsec\" (expected a time span such as 5s, "
          "250ms, 1min 30s or infinity)" },
        { "X-Pidvisor", "AutoStart=maybe",
          "AutoStart=: invalid value \"maybe\" (expected a boolean: yes, no, true, false, on, "
          "off, 1 or 0)" },
};

START_TEST(test_key_error) {
        char text[1024], expected[1024];

        snprintf(text, sizeof(text), MIN_SERVICE "[%s]\n%s\n", key_errors[_i].section,
                 key_errors[_i].line);
        snprintf(expected, sizeof(expected), "E web.service:4: %s\n", key_errors[_i].message);
        load_fails(text, expected);
}
END_TEST

/* ---- warnings, and what is accepted silently ---- */

static const struct {
        const char *section, *line, *warning; /* "" when silent */
} key_warnings[] = {
        { "Unit", "After=network.target", "After=: network.target is not a service; pidvisor knows only services, ignoring it" },
        { "Unit", "Wants=sockets.target db.service", "Wants=: sockets.target is not a service; pidvisor knows only services, ignoring it" },
        { "Unit", "PartOf=db.service", "PartOf= is not supported yet, ignoring" },
        { "Unit", "Conflicts=db.service", "Conflicts= is not supported yet, ignoring" },
        { "Unit", "Documentation=man:web(8)", "" },
        { "Unit", "DefaultDependencies=no", "" },
        { "Unit", "X-Whatever=1", "" },
        { "Unit", "Restart=always", "Unknown key \"Restart\" in section [Unit], ignoring" },
        { "Unit", "ConditionPathExists=/x",
          "Unknown key \"ConditionPathExists\" in section [Unit], ignoring" },
        { "Service", "ExecReload=/bin/kill -HUP $MAINPID",
          "Unknown key \"ExecReload\" in section [Service], ignoring" },
        { "Service", "Foo=bar", "Unknown key \"Foo\" in section [Service], ignoring" },
        { "Service", "execstart=/bin/x",
          "Unknown key \"execstart\" in section [Service], ignoring" },
        { "Service", "Exec Start=/bin/x",
          "Unknown key \"Exec Start\" in section [Service], ignoring" },
        { "Service", "Description=x",
          "Unknown key \"Description\" in section [Service], ignoring" },
        { "Service", "X-Custom=1", "" },
        { "Install", "Alias=www.service", "" },
        { "Install", "RequiredBy=x.target", "" },
        { "Install", "Anything=at all", "" },
        { "X-Pidvisor", "Mystery=1",
          "Unknown key \"Mystery\" in section [X-Pidvisor], ignoring" },
        { "X-Pidvisor", "ExecStart=/bin/x",
          "Unknown key \"ExecStart\" in section [X-Pidvisor], ignoring" },
        { "X-Other", "Anything=1", "" },
};

START_TEST(test_key_warning) {
        char expected[512];
        struct unit_config *u;

        if (key_warnings[_i].warning[0])
                snprintf(expected, sizeof(expected), "W web.service:4: %s\n",
                         key_warnings[_i].warning);
        else
                expected[0] = 0;
        u = load_key(key_warnings[_i].section, key_warnings[_i].line, expected);
        ck_assert_uint_eq(u->n_exec_start, 1); /* still a working unit */
        unit_config_free(u);
}
END_TEST

START_TEST(test_unknown_sections) {
        struct unit_config *u = load_ok("[Path]\n"
                                        "PathExists=/x\n"
                                        "Bogus\n"
                                        "[X-Mine]\n"
                                        "Whatever=1\n"
                                        "[Service]\n"
                                        "ExecStart=/bin/true\n"
                                        "[Timer]\n"
                                        "OnCalendar=daily\n",
                                        "W web.service:1: Unknown section [Path], ignoring\n"
                                        "W web.service:8: Unknown section [Timer], ignoring\n");

        ck_assert_str_eq(u->exec_start[0].path, "/bin/true");
        unit_config_free(u);
}
END_TEST


/* ---- sockets ---- */

static const char *fmt_addr(const struct socket_address *a) {
        static char buf[256];
        return socket_address_format(a, buf, sizeof(buf));
}

START_TEST(test_socket_address_forms) {
        static const struct {
                const char *in;
                int family;
                const char *out;
                bool port_only;
        } ok[] = {
                { "8080", AF_INET6, "[::]:8080", true },
                { "1", AF_INET6, "[::]:1", true },
                { "65535", AF_INET6, "[::]:65535", true },
                { "127.0.0.1:8080", AF_INET, "127.0.0.1:8080", false },
                { "0.0.0.0:80", AF_INET, "0.0.0.0:80", false },
                { "[::1]:8080", AF_INET6, "[::1]:8080", false },
                { "[::]:443", AF_INET6, "[::]:443", false },
                { "[fe80::1%1]:80", AF_INET6, "[fe80::1%1]:80", false },
                { "[fe80::1%lo]:80", AF_INET6, "[fe80::1%1]:80", false },
                { "/run/x.sock", AF_UNIX, "/run/x.sock", false },
                { "@abstract", AF_UNIX, "@abstract", false },
        };
        static const struct {
                const char *in, *why;
        } bad[] = {
                { "", "empty address" },
                { "0", "invalid port (expected 1..65535)" },
                { "65536", "invalid port (expected 1..65535)" },
                { "127.0.0.1:0", "invalid port (expected 1..65535)" },
                { "127.0.0.1:", "invalid port (expected 1..65535)" },
                { "127.0.0.1:80x", "invalid port (expected 1..65535)" },
                { "256.0.0.1:80", "invalid IPv4 address" },
                { "localhost:80", "invalid IPv4 address" },
                { "::1:80", "an IPv6 address needs brackets: [IPV6]:PORT" },
                { "[::1]80", "expected [IPv6]:PORT" },
                { "[::1", "expected [IPv6]:PORT" },
                { "[::g]:80", "invalid IPv6 address" },
                { "[fe80::1%nosuchif0]:80", "unknown network interface after %" },
                { "[::1]:99999", "invalid port (expected 1..65535)" },
                { "@", "empty abstract socket name" },
                { "example", "expected PORT, IPV4:PORT, [IPV6]:PORT, /PATH or @NAME" },
        };
        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                struct socket_address a;
                const char *why = "untouched";

                ck_assert_msg(socket_address_parse(ok[i].in, SOCK_STREAM, &a, &why) == 0, "%s: %s",
                              ok[i].in, why);
                ck_assert_int_eq(a.sockaddr.sa.sa_family, ok[i].family);
                ck_assert_str_eq(fmt_addr(&a), ok[i].out);
                ck_assert_int_eq(a.port_only, ok[i].port_only);
                ck_assert_int_eq(a.type, SOCK_STREAM);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct socket_address a = { .type = 1234 };
                const char *why = NULL;

                ck_assert_msg(socket_address_parse(bad[i].in, SOCK_DGRAM, &a, &why) == -EINVAL, "%s",
                              bad[i].in);
                ck_assert_ptr_nonnull(why);
                ck_assert_str_eq(why, bad[i].why);
                ck_assert_int_eq(a.type, 1234); /* untouched */
        }
}
END_TEST

START_TEST(test_socket_address_unix_lengths) {
        char path[120];
        struct socket_address a;
        const char *why;

        /* sun_path is 108 bytes: a path of 107 fits with its NUL, 108 does not. */
        memset(path, 'a', sizeof(path));
        path[0] = '/';
        path[107] = 0;
        ck_assert_int_eq(socket_address_parse(path, SOCK_STREAM, &a, &why), 0);
        ck_assert_uint_eq(a.len, offsetof(struct sockaddr_un, sun_path) + 108);
        path[107] = 'a';
        path[108] = 0;
        ck_assert_int_eq(socket_address_parse(path, SOCK_STREAM, &a, &why), -EINVAL);
        ck_assert_str_eq(why, "unix socket path too long (at most 107 bytes)");
        /* An abstract name has no NUL: 107 bytes after '@' fit, and the length counts
         * exactly the name (a trailing NUL would be part of the name). */
        path[0] = '@';
        ck_assert_int_eq(socket_address_parse(path, SOCK_SEQPACKET, &a, &why), 0);
        ck_assert_uint_eq(a.len, offsetof(struct sockaddr_un, sun_path) + 108);
        ck_assert_int_eq(a.sockaddr.un.sun_path[0], 0);
        path[108] = 'a';
        path[109] = 0;
        ck_assert_int_eq(socket_address_parse(path, SOCK_STREAM, &a, &why), -EINVAL);
        ck_assert_int_eq(socket_address_parse("@x", SOCK_STREAM, &a, &why), 0);
        ck_assert_uint_eq(a.len, offsetof(struct sockaddr_un, sun_path) + 2);
        ck_assert_int_eq(socket_address_parse("/x", 99, &a, &why), -EINVAL);
        ck_assert_str_eq(why, "unknown socket type");
}
END_TEST

START_TEST(test_socket_section) {
        struct unit_config *u = load_ok("[Service]\n"
                                        "ExecStart=/bin/true\n"
                                        "FileDescriptorStoreMax=4\n"
                                        "[Socket]\n"
                                        "ListenStream=8080\n"
                                        "ListenStream=[::1]:81\n"
                                        "ListenDatagram=127.0.0.1:53\n"
                                        "ListenSequentialPacket=@seq\n"
                                        "ListenStream=/run/%n.sock\n"
                                        "Backlog=17\n"
                                        "ReusePort=yes\n"
                                        "FreeBind=true\n"
                                        "NonBlocking=on\n"
                                        "BindIPv6Only=ipv6-only\n"
                                        "SocketMode=0600\n"
                                        "DirectoryMode=0700\n"
                                        "SocketUser=nobody\n"
                                        "SocketGroup=nogroup\n"
                                        "Accept=no\n",
                                        "");

        ck_assert_uint_eq(u->n_listen, 5);
        ck_assert_int_eq(u->listen[0].addr.type, SOCK_STREAM);
        ck_assert_int_eq(u->listen[1].addr.type, SOCK_STREAM);
        ck_assert_int_eq(u->listen[2].addr.type, SOCK_DGRAM);
        ck_assert_int_eq(u->listen[3].addr.type, SOCK_SEQPACKET);
        ck_assert_str_eq(u->listen[4].text, "/run/web.service.sock");
        ck_assert_str_eq(fmt_addr(&u->listen[1].addr), "[::1]:81");
        ck_assert_uint_eq(u->listen[0].line, 5);
        ck_assert_uint_eq(u->listen[4].line, 9);
        ck_assert_str_eq(u->socket_file, "web.service");
        ck_assert_uint_eq(u->backlog, 17);
        ck_assert(u->reuse_port && u->free_bind && u->non_blocking);
        ck_assert_int_eq(u->bind_ipv6_only, 1);
        ck_assert_uint_eq(u->socket_mode, 0600);
        ck_assert_uint_eq(u->directory_mode, 0700);
        ck_assert_str_eq(u->socket_user, "nobody");
        ck_assert_str_eq(u->socket_group, "nogroup");
        ck_assert_str_eq(u->fd_name, "web.socket"); /* systemd's default: the socket unit's name */
        ck_assert_uint_eq(u->fd_store_max, 4);
        unit_config_free(u);

        /* Defaults, an empty value resetting the list, and FileDescriptorName=. */
        u = load_ok("[Service]\nExecStart=/bin/true\n[Socket]\nListenStream=1\nListenStream=\n"
                    "ListenStream=2\nFileDescriptorName=http\n",
                    "");
        ck_assert_uint_eq(u->n_listen, 1);
        ck_assert_str_eq(fmt_addr(&u->listen[0].addr), "[::]:2");
        ck_assert_uint_eq(u->backlog, INT32_MAX); /* the kernel caps it at net.core.somaxconn */
        ck_assert(!u->reuse_port && !u->free_bind && !u->non_blocking);
        ck_assert_int_eq(u->bind_ipv6_only, -1);
        ck_assert_uint_eq(u->socket_mode, 0666);
        ck_assert_uint_eq(u->directory_mode, 0755);
        ck_assert_str_eq(u->fd_name, "http");
        ck_assert_uint_eq(u->fd_store_max, 0);
        unit_config_free(u);

        /* No sockets at all: nothing, and no name made up. */
        u = load_ok("[Service]\nExecStart=/bin/true\n", "");
        ck_assert_uint_eq(u->n_listen, 0);
        ck_assert_ptr_null(u->fd_name);
        ck_assert_ptr_null(u->socket_file);
        unit_config_free(u);
}
END_TEST

START_TEST(test_socket_errors) {
        load_fails("[Service]\nExecStart=/bin/true\n[Socket]\nListenStream=99999\n",
                   "E web.service:4: ListenStream=: invalid value \"99999\" (invalid port (expected 1..65535))\n");
        load_fails("[Service]\nExecStart=/bin/true\n[Socket]\nListenDatagram=::1:53\n",
                   "E web.service:4: ListenDatagram=: invalid value \"::1:53\" (an IPv6 address needs brackets: [IPV6]:PORT)\n");
        load_fails("[Service]\nExecStart=/bin/true\n[Socket]\nListenStream=80\nAccept=yes\n",
                   "E web.service:5: Accept=: invalid value \"yes\" (Accept=yes, a service instance "
                   "per connection, is not supported: the service gets the listening socket (Accept=no))\n");
        load_fails("[Service]\nExecStart=/bin/true\n[Socket]\nListenStream=80\nSocketMode=0999\n",
                   "E web.service:5: SocketMode=: invalid value \"0999\" (expected an octal mode such as 0660)\n");
        load_fails("[Service]\nExecStart=/bin/true\n[Socket]\nListenStream=80\nFileDescriptorName=a:b\n",
                   "E web.service:5: FileDescriptorName=: invalid value \"a:b\" (expected printable ASCII without spaces or ':')\n");
        load_fails("[Service]\nExecStart=/bin/true\n[Socket]\nListenStream=80\nBindIPv6Only=maybe\n",
                   "E web.service:5: BindIPv6Only=: invalid value \"maybe\" (expected default, both or ipv6-only)\n");
        load_fails("[Service]\nExecStart=/bin/true\n[Socket]\nListenFIFO=/run/f\n",
                   "E web.service:4: ListenFIFO= is not supported (pidvisor's sockets are the "
                   "Listen{Stream,Datagram,SequentialPacket}= kinds)\n");
        load_fails("[Service]\nExecStart=/bin/true\n[Socket]\nListenStream=80\nBacklog=-1\n",
                   "E web.service:5: Backlog=: invalid value \"-1\" (expected a whole number from 0 to 4294967295)\n");
        /* Settings without a listener: a warning, not silence. */
        unit_config_free(load_ok("[Service]\nExecStart=/bin/true\n[Socket]\nBacklog=5\n",
                                 "W web.service: [Socket] settings without ListenStream=, "
                                 "ListenDatagram= or ListenSequentialPacket= have no effect\n"));
}
END_TEST

static int load_pair(const char *service, const char *socket, struct unit_config **u, char **diags) {
        struct diagnostics d = { 0 };
        int r = unit_load_strings("web.service", service, strlen(service), "web.socket", socket,
                                  strlen(socket), u, &d);

        *diags = diag_str(&d);
        diagnostics_done(&d);
        return r;
}

START_TEST(test_socket_file) {
        struct unit_config *u = NULL, *v = NULL;
        char *diags;

        ck_assert_int_eq(load_pair("[Service]\nExecStart=/bin/true\n",
                                   "[Unit]\nDescription=web socket\nAfter=x.service\n"
                                   "[Socket]\nListenStream=127.0.0.1:8080\nBacklog=9\n"
                                   "[Install]\nWantedBy=sockets.target\n",
                                   &u, &diags),
                         0);
        ck_assert_str_eq(diags, "W web.socket:3: After= in the [Unit] section of a .socket file has "
                                "no effect in pidvisor (put it in the .service file), ignoring\n");
        free(diags);
        ck_assert_uint_eq(u->n_listen, 1);
        ck_assert_uint_eq(u->listen[0].line, 5);
        ck_assert_str_eq(u->socket_file, "web.socket");
        ck_assert_uint_eq(u->backlog, 9);
        ck_assert_str_eq(u->fd_name, "web.socket");
        ck_assert_ptr_null(u->description); /* the socket's Description= is not the service's */

        /* The .socket file's bytes are part of the hash: editing it is a change. */
        ck_assert_int_eq(load_pair("[Service]\nExecStart=/bin/true\n",
                                   "[Socket]\nListenStream=127.0.0.1:8081\n", &v, &diags),
                         0);
        free(diags);
        ck_assert(u->hash != v->hash);
        unit_config_free(u);
        unit_config_free(v);

        /* Service-only keys are not accepted in the .socket file. */
        u = NULL;
        ck_assert_int_eq(load_pair("[Service]\nExecStart=/bin/true\n",
                                   "[Socket]\nListenStream=80\n[Service]\nUser=x\n", &u, &diags),
                         0);
        ck_assert_str_eq(diags, "W web.socket:3: Unknown section [Service], ignoring\n");
        free(diags);
        unit_config_free(u);

        /* Sockets in both files: which would win is anyone's guess, so neither does. */
        u = NULL;
        ck_assert_int_eq(load_pair("[Service]\nExecStart=/bin/true\n[Socket]\nListenStream=80\n",
                                   "[Socket]\nListenStream=81\n", &u, &diags),
                         -EINVAL);
        ck_assert_ptr_null(u);
        ck_assert_str_eq(diags, "E web.socket: web.service has a [Socket] section already: define "
                                "the sockets in one of the two files\n");
        free(diags);

        /* Errors in the .socket file name it. */
        ck_assert_int_eq(load_pair("[Service]\nExecStart=/bin/true\n",
                                   "[Socket]\n\nListenStream=[::1]\n", &u, &diags),
                         -EINVAL);
        ck_assert_str_eq(diags, "E web.socket:3: ListenStream=: invalid value \"[::1]\" (expected [IPv6]:PORT)\n");
        free(diags);
}
END_TEST


/* ---- seccomp keys ---- */

static char *policy_dump(const struct pv_policy *pol) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);

        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(pv_policy_dump(pol, f), 0);
        fclose(f);
        return text;
}

START_TEST(test_syscall_filter) {
        struct unit_config *u = load_ok("[Service]\nExecStart=/bin/true\n"
                                        "SystemCallFilter=@system-service\n"
                                        "SystemCallFilter=~@mount ptrace\n"
                                        "SystemCallErrorNumber=EPERM\n"
                                        "SystemCallArchitectures=native\n"
                                        "NoNewPrivileges=yes\n",
                                        "");
        int e = 0;
        char *dump;

        ck_assert_ptr_nonnull(u->policy);
        ck_assert(pv_policy_is_allowlist(u->policy));
        ck_assert_int_eq(pv_policy_default_action(u->policy, &e), PV_SECCOMP_ERRNO);
        ck_assert_int_eq(e, EPERM);
        ck_assert(u->no_new_privs);
        dump = policy_dump(u->policy);
        /* @system-service allowed, then mount and ptrace taken out again (errno). */
        ck_assert_msg(strstr(dump, "mount") && strstr(dump, "ptrace") && strstr(dump, "read"), "%s", dump);
        free(dump);
        unit_config_free(u);

        /* A deny-list; no SystemCallErrorNumber=: the process is killed. */
        u = load_ok("[Service]\nExecStart=/bin/true\nSystemCallFilter=~@reboot @swap\n", "");
        ck_assert(!pv_policy_is_allowlist(u->policy));
        unit_config_free(u);

        /* Unknown names are errors on their line, never ignored. */
        load_fails("[Service]\nExecStart=/bin/true\nSystemCallFilter=read\nSystemCallFilter=~ptrac\n",
                   "E web.service:4: SystemCallFilter=: invalid value \"~ptrac\" (unknown system call \"ptrac\" (libseccomp 2.5.4 does not know it))\n");
        load_fails("[Service]\nExecStart=/bin/true\nSystemCallFilter=@no-such-group\n",
                   NULL);
        load_fails("[Service]\nExecStart=/bin/true\nSystemCallFilter=read\nSystemCallErrorNumber=EWHAT\n",
                   "E web.service:4: SystemCallErrorNumber=: invalid value \"EWHAT\" (expected an errno name such as EPERM, a number from 1 to 4095, or kill)\n");
        load_fails("[Service]\nExecStart=/bin/true\nSystemCallFilter=read\n[X-Pidvisor]\nSeccompPolicy=server\n",
                   "E web.service:5: SeccompPolicy=: SystemCallFilter= is set too (line 3); use one of the two\n");
        load_fails("[Service]\nExecStart=/bin/true\n[X-Pidvisor]\nSeccompPolicy=no-such-policy\n", NULL);

        /* No filter: no policy. */
        u = load_ok("[Service]\nExecStart=/bin/true\n", "");
        ck_assert_ptr_null(u->policy);
        unit_config_free(u);
}
END_TEST


START_TEST(test_confinement_keys) {
        struct unit_config *u = load_ok("[Service]\nExecStart=/bin/true\n"
                                        "CapabilityBoundingSet=CAP_NET_BIND_SERVICE\n"
                                        "CapabilityBoundingSet=cap_chown\n"
                                        "AmbientCapabilities=CAP_NET_BIND_SERVICE\n"
                                        "PrivateNetwork=yes\nPrivateTmp=true\nPrivateIPC=1\nPrivateUsers=no\n"
                                        "ProtectSystem=strict\n"
                                        "ReadOnlyPaths=/etc -/nonexistent\nReadOnlyPaths=/usr\n"
                                        "ReadWritePaths=/var/lib/x\nInaccessiblePaths=/root\n"
                                        "Hostname=box-1\n[X-Pidvisor]\nPrivatePIDs=yes\n",
                                        "");

        ck_assert(u->set_cap_bounding);
        ck_assert_uint_eq(u->cap_bounding, (1ULL << 10) | (1ULL << 0)); /* NET_BIND_SERVICE | CHOWN */
        ck_assert_uint_eq(u->cap_ambient, 1ULL << 10);
        ck_assert(u->private_network && u->private_tmp && u->private_ipc && !u->private_users && u->private_pids);
        ck_assert_int_eq(u->protect_system, PV_PROTECT_SYSTEM_STRICT);
        ck_assert_uint_eq(strv_length(u->read_only_paths), 3);
        ck_assert_str_eq(u->read_only_paths[1], "-/nonexistent");
        ck_assert_str_eq(u->read_write_paths[0], "/var/lib/x");
        ck_assert_str_eq(u->inaccessible_paths[0], "/root");
        ck_assert_str_eq(u->hostname, "box-1");
        unit_config_free(u);

        /* "~" first: everything but; an empty value resets. */
        u = load_ok("[Service]\nExecStart=/bin/true\nCapabilityBoundingSet=~CAP_SYS_ADMIN\nProtectSystem=full\n", "");
        ck_assert(u->set_cap_bounding);
        ck_assert(!(u->cap_bounding & (1ULL << 21)));
        ck_assert(u->cap_bounding & (1ULL << 0));
        ck_assert_int_eq(u->protect_system, PV_PROTECT_SYSTEM_FULL);
        unit_config_free(u);
        u = load_ok("[Service]\nExecStart=/bin/true\nCapabilityBoundingSet=CAP_CHOWN\nCapabilityBoundingSet=\nProtectSystem=yes\n", "");
        ck_assert(!u->set_cap_bounding);
        ck_assert_int_eq(u->protect_system, PV_PROTECT_SYSTEM_YES);
        unit_config_free(u);

        load_fails("[Service]\nExecStart=/bin/true\nCapabilityBoundingSet=CAP_FLY\n", NULL);
        load_fails("[Service]\nExecStart=/bin/true\nProtectSystem=sometimes\n",
                   "E web.service:3: ProtectSystem=: invalid value \"sometimes\" (expected yes, no, full or strict)\n");
        load_fails("[Service]\nExecStart=/bin/true\nReadOnlyPaths=relative/path\n",
                   "E web.service:3: ReadOnlyPaths=: invalid value \"relative/path\" (expected absolute paths (a leading - each: may be missing))\n");
        load_fails("[Service]\nExecStart=/bin/true\nInaccessiblePaths=/a/../b\n", NULL);
        load_fails("[Service]\nExecStart=/bin/true\nHostname=bad_host!\n", NULL);
        /* systemd confinement pidvisor lacks: refused when it asks for something */
        load_fails("[Service]\nExecStart=/bin/true\nProtectHome=yes\n",
                   "E web.service:3: ProtectHome= is not supported: the service would run less confined than its "
                   "unit file says (docs/sandbox.md lists the confinement keys pidvisor implements)\n");
        load_fails("[Service]\nExecStart=/bin/true\nRestrictAddressFamilies=AF_INET\n", NULL);
        unit_config_free(load_ok("[Service]\nExecStart=/bin/true\nProtectHome=no\nPrivateDevices=\n"
                                 "ReadOnlyDirectories=/usr\n", ""));
}
END_TEST

START_TEST(test_seccomp_policy_key) {
        struct unit_config *u = load_ok("[Service]\nExecStart=/bin/true\n[X-Pidvisor]\nSeccompPolicy=server\n"
                                        "SeccompViolation=restart\n",
                                        "");

        ck_assert_ptr_nonnull(u->policy);
        ck_assert(u->seccomp_violation_restart);
        ck_assert(!u->seccomp_ssb_allow);
        unit_config_free(u);
        u = load_ok("[Service]\nExecStart=/bin/true\n[X-Pidvisor]\nSeccompPolicy=strict\nSeccompSpeculativeStoreBypass=allow\n", "");
        ck_assert(u->seccomp_ssb_allow);
        unit_config_free(u);
        load_fails("[Service]\nExecStart=/bin/true\n[X-Pidvisor]\nSeccompSpeculativeStoreBypass=off\n",
                   "E web.service:4: SeccompSpeculativeStoreBypass=: invalid value \"off\" (expected kernel or allow)\n");
        load_fails("[Service]\nExecStart=/bin/true\n[X-Pidvisor]\nSeccompViolation=maybe\n",
                   "E web.service:4: SeccompViolation=: invalid value \"maybe\" (expected fail or restart)\n");
}
END_TEST

/* ---- the ini layer ---- */

START_TEST(test_continuation_and_comments) {
        struct unit_config *u = load_ok("# comment\n"
                                        "; also a comment\n"
                                        "   # indented comment\n"
                                        "\n"
                                        "[Unit]\n"
                                        "Description=one \\\n"
                                        "   two\\\n"
                                        "three\n"
                                        "[Service]\n"
                                        "ExecStart=/bin/echo a \\\n"
                                        "# a comment inside is skipped \\\n"
                                        "  ; so is this\n"
                                        "  b \\\n"
                                        "\tc\n"
                                        "Environment=A=1#not-a-comment\n",
                                        "");

        ck_assert_str_eq(u->description, "one     two three");
        ck_assert_str_eq(u->exec_start[0].argv[1], "a");
        ck_assert_str_eq(u->exec_start[0].argv[2], "b");
        ck_assert_str_eq(u->exec_start[0].argv[3], "c");
        ck_assert_ptr_null(u->exec_start[0].argv[4]);
        ck_assert_uint_eq(u->exec_start[0].line, 10); /* where the logical line starts */
        ck_assert_str_eq(u->environment[0], "A=1#not-a-comment");
        ck_assert_ptr_null(u->environment[1]);
        unit_config_free(u);
}
END_TEST

START_TEST(test_escaped_backslash_does_not_continue) {
        struct unit_config *u = load_ok("[Unit]\n"
                                        "Description=ends in one backslash\\\\\n"
                                        "[Service]\n"
                                        "ExecStart=/bin/true\n",
                                        "");

        ck_assert_str_eq(u->description, "ends in one backslash\\\\");
        unit_config_free(u);

        /* a continuation on the last line still counts */
        u = load_ok("[Service]\nExecStart=/bin/echo a \\", "");
        ck_assert_str_eq(u->exec_start[0].argv[1], "a");
        ck_assert_ptr_null(u->exec_start[0].argv[2]);
        unit_config_free(u);
}
END_TEST

START_TEST(test_error_line_of_continuation) {
        load_fails(MIN_SERVICE "Restart=\\\n  never\n",
                   "E web.service:3: Restart=: invalid value \"never\" (expected no, on-success, "
                   "on-failure, on-abnormal, on-watchdog, on-abort, always)\n");
}
END_TEST

START_TEST(test_whitespace_crlf_bom) {
        struct unit_config *u = load_ok("\xef\xbb\xbf[Unit]\r\n"
                                        "  Description  =  hello world  \r\n"
                                        "\t[Service]  \r\n"
                                        "ExecStart = /bin/echo x=y \\\r\n"
                                        "  z\r\n"
                                        "Environment=A=b=c\r\n",
                                        "");

        ck_assert_str_eq(u->description, "hello world");
        ck_assert_str_eq(u->exec_start[0].argv[1], "x=y");
        ck_assert_str_eq(u->exec_start[0].argv[2], "z");
        ck_assert_str_eq(u->environment[0], "A=b=c");
        unit_config_free(u);
}
END_TEST

START_TEST(test_syntax_errors) {
        load_fails("Description=x\n" MIN_SERVICE,
                   "E web.service:1: \"Description=x\" is outside of any section (expected a "
                   "[Section] header first)\n");
        load_fails(MIN_SERVICE "garbage here\n",
                   "E web.service:3: invalid line \"garbage here\" (expected Key=Value, a "
                   "[Section] header, or a comment starting with # or ;)\n");
        load_fails(MIN_SERVICE "=value\n",
                   "E web.service:3: invalid line \"=value\" (expected a key name before '=')\n");
        load_fails(MIN_SERVICE "[Service\nRestart=bogus\n",
                   "E web.service:3: invalid section header \"[Service\" (expected [Name], the "
                   "name without brackets or control characters)\n");
        load_fails(MIN_SERVICE "[]\n",
                   "E web.service:3: invalid section header \"[]\" (expected [Name], the name "
                   "without brackets or control characters)\n");
        load_fails(MIN_SERVICE "[a]b]\n",
                   "E web.service:3: invalid section header \"[a]b]\" (expected [Name], the "
                   "name without brackets or control characters)\n");
        static const char nul[] = MIN_SERVICE "Description=a\0b\n";

        load_fails_as("web.service", nul, sizeof(nul) - 1,
                      "E web.service:3: the line contains a NUL byte\n");
        /* control characters in a quoted value are escaped */
        load_fails(MIN_SERVICE "Restart=a\tb\x01\n",
                   "E web.service:3: Restart=: invalid value \"a\\tb\\x01\" (expected no, "
                   "on-success, on-failure, on-abnormal, on-watchdog, on-abort, always)\n");
}
END_TEST

START_TEST(test_long_value_is_cut_in_messages) {
        char text[1024], expected[1024], value[301];

        memset(value, 'x', 300);
        value[300] = 0;
        snprintf(text, sizeof(text), MIN_SERVICE "Restart=%s\n", value);
        snprintf(expected, sizeof(expected),
                 "E web.service:3: Restart=: invalid value \"%.200s...\" (expected no, "
                 "on-success, on-failure, on-abnormal, on-watchdog, on-abort, always)\n",
                 value);
        load_fails(text, expected);
}
END_TEST

/* ---- whole-file checks ---- */

START_TEST(test_missing_exec_start) {
        load_fails("[Unit]\nDescription=x\n", "E web.service: [Service] ExecStart= is required\n");
        load_fails("", "E web.service: [Service] ExecStart= is required\n");
        load_fails("[Service]\nExecStart=/bin/a\nExecStart=\n",
                   "E web.service: [Service] ExecStart= is required\n");
}
END_TEST

START_TEST(test_two_exec_start) {
        load_fails("[Service]\n"
                   "ExecStart=/bin/a\n"
                   "Restart=always\n"
                   "ExecStart=/bin/b\n"
                   "ExecStart=/bin/c\n",
                   "E web.service:4: ExecStart=: more than one command (the first is on line 2); "
                   "Type=simple and Type=exec take exactly one, and an empty ExecStart= clears "
                   "the list\n"
                   "E web.service:5: ExecStart=: more than one command (the first is on line 2); "
                   "Type=simple and Type=exec take exactly one, and an empty ExecStart= clears "
                   "the list\n");
}
END_TEST

START_TEST(test_bad_exec_start) {
        load_fails("[Service]\nExecStart=!/bin/x\n",
                   "E web.service:2: ExecStart=: invalid value \"!/bin/x\" (prefix '!' is not "
                   "supported, only '-', '@' and ':' are)\n"
                   "E web.service: [Service] ExecStart= is required\n");
        load_fails("[Service]\nExecStart=/bin/a ; /bin/b\n",
                   "E web.service:2: ExecStart=: invalid value \"/bin/a ; /bin/b\" (a lone ';' "
                   "is not supported, give one command per line (\\; is a literal ';' "
                   "argument))\n"
                   "E web.service: [Service] ExecStart= is required\n");
}
END_TEST

START_TEST(test_all_errors_reported) {
        load_fails("[Unit]\n"
                   "Description=ok\n"
                   "Wants=x.target\n"
                   "[Service]\n"
                   "Type=forking\n"
                   "Restart=sometimes\n"
                   "Frobnicate=1\n"
                   "UMask=8\n"
                   "[Nope]\n",
                   "W web.service:3: Wants=: x.target is not a service; pidvisor knows only services, ignoring it\n"
                   "E web.service:5: Type=forking is not supported (supported: simple, exec, notify)\n"
                   "E web.service:6: Restart=: invalid value \"sometimes\" (expected no, "
                   "on-success, on-failure, on-abnormal, on-watchdog, on-abort, always)\n"
                   "W web.service:7: Unknown key \"Frobnicate\" in section [Service], ignoring\n"
                   "E web.service:8: UMask=: invalid value \"8\" (expected an octal mode from "
                   "0000 to 0777)\n"
                   "W web.service:9: Unknown section [Nope], ignoring\n"
                   "E web.service: [Service] ExecStart= is required\n");
}
END_TEST

START_TEST(test_warnings_do_not_invalidate) {
        struct diagnostics d = { 0 };
        struct unit_config *u = NULL;
        const char text[] = MIN_SERVICE "Foo=1\n[Unit]\nAfter=x.target\n";

        ck_assert_int_eq(unit_load_string("web.service", text, strlen(text), &u, &d), 0);
        ck_assert_ptr_nonnull(u);
        ck_assert_uint_eq(d.n, 2);
        ck_assert_uint_eq(d.n_errors, 0);
        ck_assert(!d.items[0].error);
        ck_assert(!d.items[1].error);
        unit_config_free(u);

        /* appended to what the list already holds */
        ck_assert_int_eq(unit_load_string("web.service", text, strlen(text), &u, &d), 0);
        ck_assert_uint_eq(d.n, 4);
        unit_config_free(u);
        ck_assert_int_eq(unit_load_string("web.service", "", 0, &u, &d), -EINVAL);
        ck_assert_uint_eq(d.n, 5);
        ck_assert_uint_eq(d.n_errors, 1);
        ck_assert_str_eq(d.items[4].text, "web.service: [Service] ExecStart= is required");
        diagnostics_done(&d);
        ck_assert_uint_eq(d.n, 0);
        ck_assert_ptr_null(d.items);
        diagnostics_done(NULL);
        unit_config_free(NULL);
}
END_TEST

START_TEST(test_no_diagnostics_list) {
        struct unit_config *u = NULL;
        const char bad[] = "[Service]\nRestart=x\n";
        const char good_text[] = MIN_SERVICE "Foo=1\n";

        ck_assert_int_eq(unit_load_string("web.service", bad, strlen(bad), &u, NULL), -EINVAL);
        ck_assert_ptr_null(u);
        ck_assert_int_eq(unit_load_string("web.service", good_text, strlen(good_text), &u, NULL),
                         0);
        ck_assert_ptr_nonnull(u);
        unit_config_free(u);
}
END_TEST

START_TEST(test_hash) {
        const char a[] = MIN_SERVICE, b[] = MIN_SERVICE "\n";
        struct unit_config *u1, *u2, *u3;

        u1 = load_ok_as("/etc/pidvisor/a.service", a, "");
        u2 = load_ok_as("/other/b.service", a, "");
        u3 = load_ok(b, "");
        ck_assert_uint_eq(u1->hash, u2->hash); /* the bytes, not the name */
        ck_assert_uint_ne(u1->hash, u3->hash);
        ck_assert_str_eq(u1->name, "a");
        ck_assert_str_eq(u1->path, "/etc/pidvisor/a.service");
        unit_config_free(u1);
        unit_config_free(u2);
        unit_config_free(u3);
}
END_TEST

START_TEST(test_file_names) {
        struct unit_config *u = load_ok_as("/x/my-app_2:v1.0.service", MIN_SERVICE, "");

        ck_assert_str_eq(u->name, "my-app_2:v1.0");
        unit_config_free(u);

        load_fails_as("/etc/web.conf", MIN_SERVICE, strlen(MIN_SERVICE),
                      "E /etc/web.conf: invalid file name \"web.conf\" (expected NAME.service)\n");
        load_fails_as("/etc/.service", MIN_SERVICE, strlen(MIN_SERVICE),
                      "E /etc/.service: invalid file name \".service\" (expected "
                      "NAME.service)\n");
        load_fails_as("/etc/pidvisor/", MIN_SERVICE, strlen(MIN_SERVICE),
                      "E /etc/pidvisor/: invalid file name \"\" (expected NAME.service)\n");
        load_fails_as("getty@.service", MIN_SERVICE, strlen(MIN_SERVICE),
                      "E getty@.service: invalid file name \"getty@.service\" (template units, "
                      "NAME@.service, are not supported)\n");
        load_fails_as("a b.service", MIN_SERVICE, strlen(MIN_SERVICE),
                      "E a b.service: invalid file name \"a b.service\" (expected letters, "
                      "digits, and : - _ . before .service)\n");
        /* and the rest of the file is still checked */
        load_fails_as("web.socket", "[Service]\nType=dbus\n", strlen("[Service]\nType=dbus\n"),
                      "E web.socket: invalid file name \"web.socket\" (expected NAME.service)\n"
                      "E web.socket:2: Type=dbus is not supported (supported: simple, exec, notify)\n"
                      "E web.socket: [Service] ExecStart= is required\n");
}
END_TEST

static char *big_unit(size_t size) {
        char *text = malloc(size + 1);
        size_t len = strlen(MIN_SERVICE);

        ck_assert_ptr_nonnull(text);
        memcpy(text, MIN_SERVICE, len);
        /* comment lines up to the size */
        while (len < size) {
                size_t n = size - len < 80 ? size - len : 80;

                memset(text + len, '#', n);
                text[len + n - 1] = '\n';
                len += n;
        }
        text[size] = 0;
        return text;
}

START_TEST(test_size_limit) {
        char *text = big_unit(1536 * 1024);
        struct unit_config *u;

        load_fails_as("web.service", text, 1536 * 1024,
                      "E web.service: the file is 1572864 bytes, over the limit of 1 MiB\n");
        free(text);

        text = big_unit(1024 * 1024); /* exactly 1 MiB is fine */
        u = NULL;
        ck_assert_int_eq(unit_load_string("web.service", text, 1024 * 1024, &u, NULL), 0);
        unit_config_free(u);
        free(text);

        text = big_unit(1024 * 1024 + 1);
        load_fails_as("web.service", text, 1024 * 1024 + 1,
                      "E web.service: the file is 1048577 bytes, over the limit of 1 MiB\n");
        free(text);
}
END_TEST

START_TEST(test_load_file) {
        char *dir = pv_test_mkdtemp(), path[512], expected[1024];
        struct unit_config *sentinel = (struct unit_config *)&sentinel, *u = NULL;
        struct diagnostics d = { 0 };
        char *big;

        snprintf(path, sizeof(path), "%s/db.service", dir);
        pv_test_write_file(path, MIN_SERVICE "Restart=always\nFoo=1\n", 0644);
        ck_assert_int_eq(unit_load(path, &u, &d), 0);
        ck_assert_str_eq(u->name, "db");
        ck_assert_str_eq(u->path, path);
        ck_assert_int_eq(u->restart, RESTART_ALWAYS);
        ck_assert_uint_eq(u->hash, 8521470344114661934ULL); /* FNV-1a 64 of the bytes */
        snprintf(expected, sizeof(expected),
                 "W %s:4: Unknown key \"Foo\" in section [Service], ignoring\n", path);
        assert_diags(&d, expected);
        diagnostics_done(&d);
        unit_config_free(u);

        /* not there: the errno, and a diagnostic naming the file */
        snprintf(path, sizeof(path), "%s/missing.service", dir);
        u = sentinel;
        ck_assert_int_eq(unit_load(path, &u, &d), -ENOENT);
        ck_assert_ptr_eq(u, sentinel);
        snprintf(expected, sizeof(expected), "E %s: cannot read: No such file or directory\n",
                 path);
        assert_diags(&d, expected);
        diagnostics_done(&d);

        /* a directory */
        snprintf(path, sizeof(path), "%s/dir.service", dir);
        ck_assert_int_eq(mkdir(path, 0755), 0);
        ck_assert_int_eq(unit_load(path, &u, &d), -EISDIR);
        snprintf(expected, sizeof(expected), "E %s: cannot read: Is a directory\n", path);
        assert_diags(&d, expected);
        diagnostics_done(&d);

        /* too big: refused before reading */
        snprintf(path, sizeof(path), "%s/big.service", dir);
        big = big_unit(1536 * 1024);
        pv_test_write_file(path, big, 0644);
        free(big);
        ck_assert_int_eq(unit_load(path, &u, &d), -EINVAL);
        ck_assert_ptr_eq(u, sentinel);
        snprintf(expected, sizeof(expected),
                 "E %s: the file is 1572864 bytes, over the limit of 1 MiB\n", path);
        assert_diags(&d, expected);
        diagnostics_done(&d);

        /* invalid content: -EINVAL with the reasons */
        snprintf(path, sizeof(path), "%s/bad.service", dir);
        pv_test_write_file(path, "[Service]\n", 0644);
        ck_assert_int_eq(unit_load(path, &u, &d), -EINVAL);
        snprintf(expected, sizeof(expected), "E %s: [Service] ExecStart= is required\n", path);
        assert_diags(&d, expected);
        diagnostics_done(&d);

        /* not a regular file */
        ck_assert_int_eq(unit_load("/dev/null", &u, &d), -EINVAL);
        assert_diags(&d, "E /dev/null: cannot read: not a regular file\n");
        diagnostics_done(&d);
        ck_assert_ptr_eq(u, sentinel);

        pv_test_rmtree(dir);
        free(dir);
}
END_TEST

int main(void) {
        Suite *s = pv_test_suite("unit");
        TCase *tc = pv_test_case("keys");

        tcase_add_test(tc, test_defaults);
        tcase_add_test(tc, test_notify_keys);
        tcase_add_test(tc, test_output_keys);
        tcase_add_test(tc, test_dependency_keys);
        tcase_add_test(tc, test_every_key);
        tcase_add_test(tc, test_type);
        tcase_add_test(tc, test_restart_values);
        tcase_add_test(tc, test_to_string);
        tcase_add_test(tc, test_time_keys);
        tcase_add_test(tc, test_restart_backoff);
        tcase_add_test(tc, test_exec_start);
        tcase_add_test(tc, test_exec_start_pre_list);
        tcase_add_test(tc, test_exit_status_sets);
        tcase_add_test(tc, test_user_group);
        tcase_add_test(tc, test_working_directory);
        tcase_add_test(tc, test_environment);
        tcase_add_test(tc, test_environment_files);
        tcase_add_test(tc, test_umask_kill);
        tcase_add_test(tc, test_limits);
        tcase_add_test(tc, test_jitter);
        tcase_add_test(tc, test_auto_start);
        tcase_add_test(tc, test_specifiers);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("messages");
        tcase_add_loop_test(tc, test_key_error, 0,
                            (int)(sizeof(key_errors) / sizeof(key_errors[0])));
        tcase_add_loop_test(tc, test_key_warning, 0,
                            (int)(sizeof(key_warnings) / sizeof(key_warnings[0])));
        tcase_add_test(tc, test_unknown_sections);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("sockets");
        tcase_add_test(tc, test_socket_address_forms);
        tcase_add_test(tc, test_socket_address_unix_lengths);
        tcase_add_test(tc, test_socket_section);
        tcase_add_test(tc, test_socket_errors);
        tcase_add_test(tc, test_socket_file);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("seccomp");
        tcase_add_test(tc, test_syscall_filter);
        tcase_add_test(tc, test_seccomp_policy_key);
        tcase_add_test(tc, test_confinement_keys);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("syntax");
        tcase_add_test(tc, test_continuation_and_comments);
        tcase_add_test(tc, test_escaped_backslash_does_not_continue);
        tcase_add_test(tc, test_error_line_of_continuation);
        tcase_add_test(tc, test_whitespace_crlf_bom);
        tcase_add_test(tc, test_syntax_errors);
        tcase_add_test(tc, test_long_value_is_cut_in_messages);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("files");
        tcase_add_test(tc, test_missing_exec_start);
        tcase_add_test(tc, test_two_exec_start);
        tcase_add_test(tc, test_bad_exec_start);
        tcase_add_test(tc, test_all_errors_reported);
        tcase_add_test(tc, test_warnings_do_not_invalidate);
        tcase_add_test(tc, test_no_diagnostics_list);
        tcase_add_test(tc, test_hash);
        tcase_add_test(tc, test_file_names);
        tcase_add_test(tc, test_size_limit);
        tcase_add_test(tc, test_load_file);
        pv_test_add(s, tc, NULL);
        return pv_test_main(s);
}
