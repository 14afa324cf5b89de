/* SPDX-License-Identifier: MIT */

/* benchlib: the helpers bench/daemon-bench.c and bench/log-bench.c share (not the
 * log-bench fixture, which stays self-contained).  Each bench sets bench_name, calls
 * spawn_attr_setup(), opens devnull_fd and calls make_work_dir() before anything else, and
 * ends with `return bench_finish(keep);`. */

#ifndef PIDVISOR_BENCHLIB_H
#define PIDVISOR_BENCHLIB_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <jansson.h>
#include <limits.h>
#include <spawn.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

struct stats {
        double median_us;
        double p99_us;
        double min_us;
        double mean_us;
};

/* A `pidvisor daemon` started by daemon_spawn(). */
struct daemon {
        pid_t pid;
        int pidfd;
        char state_dir[PATH_MAX];
        char socket[108];
        uint64_t t_spawn; /* ns, just before posix_spawn */
};

/* The environment the daemon gives a service without Environment=: PATH only. */
extern char env_path[];

/* The bench's name, for die() and print_machine(). */
extern const char *bench_name;
/* The working directory, the daemons' stderr log in it, and what the benchmarks share. */
extern char work_dir[PATH_MAX];
extern char log_path[PATH_MAX];
extern int devnull_fd;
extern int log_fd;
extern posix_spawnattr_t spawn_attr;
extern unsigned problems; /* daemon misbehaviour seen, printed at the end */

/* --- small helpers ----------------------------------------------------------------- */

uint64_t now_ns(void);
void sleep_ms(unsigned ms);
/* Prints "NAME: message" to stderr, kills what runs (cleanup_all()), exits 1. */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* A daemon problem: printed at once as "PROBLEM: ..." and counted for the summary. */
void problem(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void path_join(char *buf, size_t size, const char *a, const char *b);
/* Sorts the samples in place.  p99 by nearest rank. */
struct stats compute_stats(uint64_t *ns, size_t n);
int write_file(const char *path, const char *text);
void make_dir(const char *path);
int pidfd_open_(pid_t pid);
/* CPU time of a process (all its threads) in ns, or 0 when it cannot be read. */
uint64_t cpu_ns_of(pid_t pid);
uint64_t rusage_cpu_ns(const struct rusage *ru);

/* --- processes --------------------------------------------------------------------- */

/* spawn_attr: an empty signal mask; with sig_default also SIGPIPE, SIGTERM and SIGINT
 * reset to their defaults in the child. */
void spawn_attr_setup(bool sig_default);
/* posix_spawn with spawn_attr; in_fd, out_fd, err_fd (when >= 0) dup2'd onto stdin, stdout
 * and stderr.  When all three are -1, without file actions at all.  Returns an errno. */
int spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[], int in_fd,
          int out_fd, int err_fd);
/* Reaps pid (ru may be NULL); dies on an error other than EINTR. */
int wait_status_ru(pid_t pid, struct rusage *ru);
int wait_status(pid_t pid);
void describe_status(int status, char *buf, size_t size);
/* Waits up to timeout_ms for a process with a pidfd to exit; reaps it.  Returns its wait
 * status, or -ETIMEDOUT (still running, not reaped). */
int wait_pidfd(pid_t pid, int pidfd, unsigned timeout_ms);
/* Children of this process (adopted orphans included), from /proc; up to max. */
size_t list_children(pid_t *out, size_t max);
/* After a daemon has exited: nothing of it may be left.  Kills and reaps what is. */
void check_no_leftovers(const char *what);

/* --- the work directory ------------------------------------------------------------ */

/* A fresh PARENT/PREFIX.XXXXXX (parent NULL: /dev/shm, else $TMPDIR or /tmp) with the
 * daemon log in it, opened as log_fd. */
void make_work_dir(const char *parent, const char *prefix);
void remove_work_dir(void);
/* The kind of file system path is on ("tmpfs", "ext2/3/4", ..., "other", "?"). */
const char *fs_name(const char *path);

/* --- the daemon and its control socket ----------------------------------------------- */

void daemon_spawn(struct daemon *d, const char *pidvisor, const char *units, const char *tag,
                  bool epoll);
/* SIGTERM, then wait for the exit: returns the time it took in ns, or 0 when it did not
 * exit within timeout_ms (then it is SIGKILLed and that is a problem).  A wait status
 * other than exit 0 is a problem too. */
uint64_t daemon_terminate(struct daemon *d, unsigned timeout_ms, const char *what);
/* A connected control socket, or -errno. */
int ctl_connect(const char *path);
/* Waits until the daemon's socket accepts a connection. */
void daemon_wait_socket(struct daemon *d, unsigned timeout_ms);
/* Reads one line (malloc'd, without the newline) within timeout_ms; NULL on EOF/timeout. */
char *read_line(int fd, unsigned timeout_ms);
/* Writes the request {"id":1,"cmd":CMD[,"args":{"name":NAME}]}; 0 or -errno. */
int send_request(int fd, const char *cmd, const char *name);
/* Checks a reply line: ok must be true.  Returns the "result" (new reference) or NULL. */
json_t *parse_reply(const char *line, const char *what);
/* One request on a fresh connection; the result (new reference) or NULL (a problem). */
json_t *ctl_call(struct daemon *d, const char *cmd, const char *name, unsigned timeout_ms);

/* --- cgroup leftovers ---------------------------------------------------------------- */

/* The daemon's cgroup directory (src/daemon/cgroup.c: MOUNT OWN/pidvisor-FNV(state_dir)),
 * or "" when there is no cgroup v2 hierarchy. */
void daemon_cgroup_dir(const struct daemon *d, char *buf, size_t size);
void check_cgroup_removed(const struct daemon *d, const char *what);
/* After a SIGKILL: the daemon could not remove its cgroup directories; we do. */
void remove_cgroup_dirs(const struct daemon *d);
/* SIGKILLs the running daemons (removing their cgroups) and every child, and reaps them. */
void cleanup_all(void);

/* --- options ------------------------------------------------------------------------ */

/* An option's number in [min, max]; else a message and exit(2). */
unsigned parse_uint(const char *name, const char *s, unsigned min, unsigned max);

/* --- the report ---------------------------------------------------------------------- */

/* "NAME: date; nproc; CPU model; kernel; work dir" (and its file system when show_fs). */
void print_machine(bool show_fs);
/* Prints the head of the daemon log and the problem count, removes the work directory
 * unless keep; returns the exit status (1 when a problem was seen). */
int bench_finish(bool keep);

#endif
