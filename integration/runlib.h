/* SPDX-License-Identifier: MIT */
#pragma once

/* The harness of the `pidvisor run` suites (test-run.c, test-run-sandbox.c).
 *
 * The built binary ($PV_BIN) is started with pv_spawn() (stdin on /dev/null unless a test
 * needs a pipe, stdout and stderr on pipes, every other descriptor of the test closed), and
 * runs the fixture program ($PV_FIXTURE), whose output comes back through pidvisor's own
 * stdout since the child inherits it.  Every read and wait has a deadline: a test that
 * would hang fails instead, after killing pidvisor. */
#include "testlib.h"

#include <pidvisor/pidvisor.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Longest a test waits for pidvisor to produce output or exit (Check's limit is 30 s). */
#define DEADLINE_MS 15000
/* Longest pidvisor's stdout/stderr may stay open after it exited: a descendant still
 * holding them would be an orphan. */
#define AFTER_EXIT_MS 3000

#define FIX pv_test_fixture()

int64_t now_ms(void);
void sleep_ms(int ms);
/* $PV_BIN, the pidvisor binary under test. */
const char *pv_bin(void);

/* A growing, always NUL-terminated buffer. */
struct buf {
        char *data;
        size_t len, cap;
};

void buf_append(struct buf *b, const char *p, size_t n);
const char *buf_str(const struct buf *b);

/* ---- One run of pidvisor. ---- */

struct run_opts {
        char *const *envp; /* NULL: the test's environment */
        const char *cwd;   /* NULL: the test's */
        bool set_umask;
        mode_t mask;
        bool stdin_pipe; /* else /dev/null */
};

struct run {
        char cmdline[1024]; /* for messages */
        struct pv_process proc;
        int in, out, err;
        struct buf obuf, ebuf;
        size_t consumed; /* of obuf, by read_until() */
        bool out_eof, err_eof;
        bool exited;
        int64_t exited_at;
        struct pv_exit status;
};

/* Starts `pidvisor ARGS...` (o may be NULL); the argument list ends with NULL. */
void start_pv_v(struct run *r, const struct run_opts *o, va_list ap);
__attribute__((sentinel)) void start_pv(struct run *r, const struct run_opts *o, ...);
/* start_pv, then finish. */
__attribute__((sentinel)) void run_pv(struct run *r, const struct run_opts *o, ...);
/* SIGKILL to pidvisor unless it exited. */
void run_kill(struct run *r);
/* Kills pidvisor and fails the test, showing its output so far. */
void fail_run(struct run *r, const char *what) __attribute__((noreturn));
/* Waits up to timeout_ms for something to happen (output, EOF, exit) and takes it in.
 * Returns false on timeout. */
bool pump(struct run *r, int timeout_ms);
/* Reads stdout and stderr to their end and waits for pidvisor to exit. */
void finish(struct run *r);
/* Reads pidvisor's stdout until `text` shows up after what earlier calls consumed. */
void read_until(struct run *r, const char *text);
/* Asserts that pidvisor is still running after ms milliseconds (taking in output). */
void still_running(struct run *r, int ms);
void run_done(struct run *r);
void send_signal(struct run *r, int sig);

/* ---- Assertions on a finished run. ---- */

void expect_exit(struct run *r, int code);
void expect_stdout(struct run *r, const char *text);
void expect_stderr(struct run *r, const char *text);
/* Exit 0, this stdout, nothing on stderr. */
void expect_ok(struct run *r, const char *out);
/* One of pidvisor's own failures: exit code, nothing on stdout (the command did not run),
 * exactly one line `pidvisor run: ...` on stderr containing each of the texts given. */
__attribute__((sentinel)) void expect_error(struct run *r, int code, ...);
bool exited_normally(const struct run *r);

/* ---- Processes, seen through /proc. ---- */

/* The ppid from /proc/PID/stat, or -1. */
pid_t proc_ppid(pid_t pid, char *state);
/* argv[1] of pid (the fixture's sub-command once it is exec'd), or "" */
void proc_arg1(pid_t pid, char *buf, size_t size);
/* The child of pidvisor running the fixture's sub-command `arg1` (that is, past its
 * execve); fails the test if none shows up in time. */
pid_t find_child(struct run *r, const char *arg1);

/* ---- Files. ---- */

char *path_join(const char *dir, const char *name);
/* A fresh temporary directory by its canonical name (the child's getcwd() answers that). */
char *tmpdir_real(void);
void copy_file(const char *from, const char *to, mode_t mode);
/* A copy of the fixture that any user may run (in a fresh directory *dir, mode 0755):
 * the build tree may not be reachable. */
char *public_fixture(char **dir);
