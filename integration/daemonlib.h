/* SPDX-License-Identifier: MIT */
#pragma once

/* Helpers for the integration suites of `pidvisor daemon`.
 *
 * Each test starts its own daemon on a private temporary directory:
 *
 *     DIR/units/       unit files (dl_write_unit)
 *     DIR/state/       --state-dir
 *     DIR/sock         --socket (also $PIDVISOR_SOCKET for the CLI runs)
 *     DIR/daemon.log   the daemon's stderr (its log, and its services' stderr)
 *     DIR/daemon.out   the daemon's stdout (services write to STATE/logs/NAME.log)
 *
 * The daemon is forked by the test process, in a process group of its own, with
 * PR_SET_PDEATHSIG=SIGTERM: when a test fails (Check's CK_FORK ends the test process at
 * once, skipping teardowns) the daemon gets SIGTERM and stops its services itself.  Every
 * unit file gets one extra line, Environment=PVTEST_TAG=ROOT, and dl_suite_end() kills
 * whatever still carries the tag (or is a daemon of the suite) after all tests ran, so a
 * broken daemon cannot leave processes behind either.
 *
 * Every wait has a deadline.  A failing helper prints the daemon's log and stdout to
 * stderr (meson keeps it in the test log) before failing the test. */

#include <check.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Default deadline of a wait (Check's limit per test is 30 s unless raised). */
#define DL_DEADLINE_MS 10000

struct dl_daemon {
        char *dir;
        char *units;
        char *state;
        char *sock;
        char *log;
        char *out;
        pid_t pid;
        int pidfd;
        bool exited;
        int wstatus;
        long nofile; /* set before dl_start: the daemon's RLIMIT_NOFILE (0: inherited) */
};

/* One connection to the control socket, with its input buffer. */
struct dl_conn {
        int fd;
        char *buf;
        size_t len, cap;
        bool eof;
        int error; /* errno of a failed read, else 0 */
};

/* What a CLI run did. */
struct dl_cli {
        int code;   /* exit status; 128+N if killed by signal N; -1 if it timed out */
        char *out;
        char *err;
        int64_t ms; /* how long it took */
};

/* ---- the suite ---- */

/* Creates the suite's root directory (mode 0755), sets $TMPDIR to it. */
void dl_suite_begin(const char *name);
/* Kills leftovers (reported on stderr), removes the root directory. */
void dl_suite_end(void);
const char *dl_root(void);

/* ---- time ---- */

int64_t dl_now_ms(void);
void dl_sleep_ms(int ms);

/* ---- paths and files ---- */

const char *dl_bin(void);       /* $PV_BIN */
const char *dl_fixture(void);   /* $PV_FIXTURE */
const char *dl_enosys(void);    /* $PV_ENOSYS */
char *dl_path(const struct dl_daemon *d, const char *name); /* DIR/name, malloc'd */
/* The whole file, or NULL if it cannot be read. */
char *dl_read_file(const char *path);
/* A copy of the fixture that every user may run: DIR/pv-fixture (DIR is made 0755). */
char *dl_public_fixture(struct dl_daemon *d);

/* ---- the daemon ---- */

/* Creates the directories; does not start anything. */
void dl_init(struct dl_daemon *d);
/* Writes DIR/units/NAME.service (printf format); the tag line is appended. */
void dl_write_unit(struct dl_daemon *d, const char *name, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
void dl_remove_unit(struct dl_daemon *d, const char *name);
/* Starts `[PREFIX...] $PV_BIN daemon --units ... --state-dir ... --socket ... EXTRA...`,
 * then waits until it answers a ping.  prefix and extra are NULL-terminated lists, or
 * NULL. */
void dl_start_full(struct dl_daemon *d, const char *const *prefix, const char *const *extra);
/* Same, with `--log-level debug` and the extra options (NULL-terminated). */
void dl_start(struct dl_daemon *d, ...) __attribute__((sentinel));
/* Whether the daemon has exited (reaps it if so). */
bool dl_exited(struct dl_daemon *d);
/* Waits up to timeout_ms for it to exit; false on timeout. */
bool dl_wait_exit(struct dl_daemon *d, int timeout_ms);
/* SIGTERM, then waits; SIGKILL after timeout_ms.  Returns the wait status (-1 if it had
 * to be killed). */
int dl_stop(struct dl_daemon *d, int timeout_ms);
/* Stops the daemon (if running), checks it exited 0, removes DIR. */
void dl_done(struct dl_daemon *d);

/* Prints the daemon's log and stdout to stderr, then fails the test (reported at the
 * caller's file and line). */
void dl_fail_at(const char *file, int line, struct dl_daemon *d, const char *fmt, ...)
        __attribute__((format(printf, 4, 5), noreturn));
#define dl_fail(d, ...) dl_fail_at(__FILE__, __LINE__, (d), __VA_ARGS__)
#define dl_assert(d, cond, ...)                    \
        do {                                       \
                if (!(cond))                       \
                        dl_fail((d), __VA_ARGS__); \
        } while (0)

/* ---- the CLI ---- */

/* Runs `$PV_BIN ARGS...` (NULL-terminated) with PIDVISOR_SOCKET set; waits up to
 * DL_DEADLINE_MS.  Free the result with dl_cli_done. */
struct dl_cli dl_cli_run(struct dl_daemon *d, ...) __attribute__((sentinel));
void dl_cli_done(struct dl_cli *r);
/* Runs the CLI and fails the test unless it exits 0. */
void dl_cli_ok(struct dl_daemon *d, ...) __attribute__((sentinel));

/* ---- the control socket ---- */

/* Connects; fails the test on error. */
void dl_connect(struct dl_daemon *d, struct dl_conn *c);
/* Connects; returns -errno instead of failing. */
int dl_try_connect(const char *sock, struct dl_conn *c);
void dl_close(struct dl_conn *c);
/* Sends bytes as they are (no newline added); returns false if the peer is gone. */
bool dl_send_raw(struct dl_conn *c, const char *data, size_t len);
/* Sends the line and a newline. */
void dl_send_line(struct dl_daemon *d, struct dl_conn *c, const char *line);
/* Reads one line (without its newline) within timeout_ms: a malloc'd string, or NULL on
 * EOF, error (c->eof / c->error) or timeout. */
char *dl_recv_line(struct dl_conn *c, int timeout_ms);
/* Reads one line and parses it; fails the test on timeout, EOF or invalid JSON. */
json_t *dl_recv_json(struct dl_daemon *d, struct dl_conn *c, int timeout_ms);
/* {"id":ID,"cmd":CMD[,"args":ARGS]} on a fresh connection; returns the whole reply.
 * args is stolen (may be NULL). */
json_t *dl_request(struct dl_daemon *d, const char *cmd, json_t *args);
/* The result of a successful request; fails the test on an error reply.  args stolen. */
json_t *dl_call(struct dl_daemon *d, const char *cmd, json_t *args);
/* `status` with a name: the SERVICE object (with history); fails if it is unknown. */
json_t *dl_status(struct dl_daemon *d, const char *name);
/* The SERVICE object of name from `list`, or NULL if it is not listed. */
json_t *dl_list_find(struct dl_daemon *d, const char *name);
/* Polls status until the service is in `state` (and, if pred is given, pred(svc, arg)
 * holds); returns that status (owned).  Fails the test after timeout_ms. */
json_t *dl_wait_state(struct dl_daemon *d, const char *name, const char *state, int timeout_ms);
json_t *dl_wait_status(struct dl_daemon *d, const char *name, int timeout_ms, const char *what,
                       bool (*pred)(json_t *svc, void *arg), void *arg);
/* Subscribes c to the events stream; returns the initial reply's result (owned). */
json_t *dl_subscribe(struct dl_daemon *d, struct dl_conn *c);
/* The next event of the service `name` (others are skipped), or fails the test. */
json_t *dl_next_event(struct dl_daemon *d, struct dl_conn *c, const char *name, int timeout_ms);

/* Small accessors on a SERVICE object. */
const char *dl_str(json_t *o, const char *key); /* "" when absent or not a string */
long long dl_int(json_t *o, const char *key);   /* -1 when absent or not an integer */

/* ---- ports ---- */

/* A TCP port of 127.0.0.1 that was free a moment ago (bound to port 0, closed again). */
int dl_free_port(void);

/* ---- processes ---- */

/* Reads a pid from a file written by the fixture (waits for it to appear). */
pid_t dl_read_pid_file(struct dl_daemon *d, const char *path, int timeout_ms);
/* pidfd_open(pid), failing the test on error. */
int dl_pidfd_open(pid_t pid);
/* Waits up to timeout_ms for the process behind pidfd to exit; false on timeout. */
bool dl_pidfd_wait_exit(int pidfd, int timeout_ms);
/* A decimal field of /proc/PID/status (-1 if absent). */
long long dl_proc_status_field(pid_t pid, const char *field);
/* The state letter of /proc/PID/stat ('?' if gone) and its parent pid. */
char dl_proc_state(pid_t pid, pid_t *ppid);
/* Number of zombie processes whose parent is ppid. */
int dl_count_zombies_of(pid_t ppid);
/* Log lines containing the needle, counted. */
int dl_log_count(struct dl_daemon *d, const char *needle);
/* Waits until the daemon's log contains the needle. */
void dl_wait_log(struct dl_daemon *d, const char *needle, int timeout_ms);
