/* SPDX-License-Identifier: MIT */
#pragma once

/* The manager: its services, its control socket, its signals.  One thread, one loop. */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>

#include <pidvisor/pidvisor.h>

#include "loop.h"
#include "restart.h"
#include "timeutil.h"
#include "unit.h"

enum service_state {
        SERVICE_INACTIVE,     /* never started, stopped, or exited cleanly */
        SERVICE_STARTING,     /* ExecStartPre= commands running */
        SERVICE_RUNNING,      /* the main process runs */
        SERVICE_STOPPING,     /* asked to stop, waiting for the main process */
        SERVICE_AUTO_RESTART, /* crashed, waiting RestartSec= (with backoff) to start again */
        SERVICE_FAILED,       /* crashed without restart, start limit hit, or bad unit */
        _SERVICE_STATE_MAX,
};

/* Long-lived descriptors (a service's pidfd, stderr pipe, cgroup directory) are moved to
 * numbers from here on, so that the low numbers stay for the few a spawn needs: a child
 * then copies only the low part of the daemon's table (pv_spawn, CLOSE_RANGE_UNSHARE). */
#define DAEMON_FD_HIGH 512

#define HISTORY_MAX 10
#define STDERR_TAIL_MAX 20
#define STDERR_LINE_MAX 1024

/* What the user last asked of a unit by hand (control start/restart, stop), kept for
 * crash recovery (recover.c): a unit started by hand is started again by a daemon that
 * comes back after a crash, one stopped by hand is not, whatever AutoStart= says. */
enum desired_state {
        DESIRED_NONE,
        DESIRED_STARTED,
        DESIRED_STOPPED,
        _DESIRED_MAX,
};

struct exit_record {
        usec_t time;        /* CLOCK_REALTIME µs */
        usec_t runtime;     /* how long that instance ran */
        pid_t pid;
        char *cause;        /* "exited 1", "killed by SIGSEGV (core dumped)", "spawn failed: ..." */
        char **stderr_tail; /* the last lines it wrote to stderr before it ended */
        size_t n_stderr;
};

/* Someone waiting for a job to finish: a control connection's request. */
struct waiter {
        struct conn *conn;
        json_t *id;
        enum { WAIT_START, WAIT_STOP } kind;
        struct waiter *next;
};

struct service {
        struct manager *m;
        char *name;
        struct unit_config *cfg;      /* NULL when the unit file never loaded */
        struct unit_config *next_cfg; /* loaded by reload, applied at the next start */
        char *load_error;             /* why the unit file is invalid, or NULL */
        bool removed;                 /* its file is gone: drop it once stopped */

        enum service_state state;
        char reason[256];             /* why it is in this state, in words */
        usec_t state_since;           /* CLOCK_REALTIME µs */
        usec_t active_since_mono;     /* when the current main process started */

        struct pv_process proc;       /* main process, or the running ExecStartPre */
        bool proc_not_child;          /* proc came by MAINPID= and is not our child */
        pid_t session;                /* the session its commands run in (their first pid) */
        struct pv_process former;     /* the main process before MAINPID=, reaped when it ends */
        struct loop_event former_ev;
        struct upgrade *up;           /* `pidvisor upgrade` under way (upgrade.c), or NULL */
        struct intercept *intercepts; /* seccomp listeners of its processes (intercept.c) */
        char *seccomp_kill;           /* the call its policy killed the main process for */
        struct pv_listener *kept;     /* KeepListeners=: copies of its listeners (upgrade.c) */
        size_t n_kept;
        struct loop_event keep_ev;    /* takes them a little after it started */
        bool proc_is_pre;
        size_t pre_index;
        struct loop_event child_ev;
        struct loop_event timer_ev;   /* restart delay, stop timeout, cooldown */
        struct loop_event reset_ev;   /* RestartResetSec= */
        struct loop_event watchdog_ev;/* WatchdogSec= */
        usec_t timer_deadline;        /* of timer_ev, CLOCK_MONOTONIC */
        usec_t watchdog_usec;         /* in force (WatchdogSec=, or WATCHDOG_USEC= sent) */
        enum { KILLED_NONE, KILLED_TIMEOUT, KILLED_WATCHDOG } kill_reason;
        bool awaiting_ready;          /* Type=notify or NotificationFD=, not ready yet */
        int ready_fd;                 /* NotificationFD=: the read end of its pipe */
        struct loop_event ready_ev;
        bool reloading;               /* RELOADING=1 sent, READY=1 not yet */
        char *status_text;            /* STATUS= */
        int status_errno;             /* ERRNO=, -1 none */

        /* stdout [0] and stderr [1] pipes, read in the loop: lines go to the log file
         * (else the daemon's own log), stderr's last lines also to the crash history. */
        struct outpipe {
                struct service *s;
                int fd;
                struct loop_event ev;
                char *partial;        /* an unfinished line (LOGFILE_LINE_MAX), on demand */
                size_t partial_len;
        } out[2];
        struct logfile *log;          /* opened at the first start that writes to it */
        bool log_warned;              /* one warning per problem, not one per line */
        char *tail[STDERR_TAIL_MAX];  /* ring of the last lines */
        size_t tail_next, tail_n;

        unsigned n_restarts;          /* automatic restarts, shown in status */
        unsigned backoff_n;           /* restarts since the backoff was last reset */
        struct start_limit start_limit;
        bool start_limit_hit;
        bool stop_requested;
        bool restart_requested;       /* `restart`: start again once stopped */
        bool have_last_exit;
        struct exit_record *history;  /* HISTORY_MAX entries, allocated at the first exit */
        size_t history_next, history_n;

        int cgroup_fd;                /* its cgroup v2 directory, or -1 */
        struct cg_limits_service *cgl;/* resource limits in force (cgroup-limits.c), or NULL */
        /* [Socket] listeners, held for the unit's life (listen.c): descriptor and the
         * settings it was opened with, to keep it across a reload that did not change them */
        int *listen_fds;
        char **listen_keys;
        size_t n_listen_fds;
        /* The fd store (FDSTORE=1), kept across restarts, released once it is down */
        struct stored_fd {
                int fd;
                char *name;
        } *fdstore;
        size_t n_fdstore;
        uint64_t start_seq;           /* order of the last start, for shutdown */

        struct waiter *waiters;
        bool queued;                  /* a start job waiting for its ordering (deps.c) */
        bool stop_queued;             /* a stop job waiting for its dependents to stop */

        enum desired_state desired;   /* started or stopped by hand (recover.c) */
        bool recover_dirty;           /* its crash-recovery record is to be written again */
};

struct conn {
        struct manager *m;
        int fd;
        struct loop_event io_ev;
        struct loop_event idle_ev;
        char *in;
        size_t in_len, in_cap;
        char *out;
        size_t out_len, out_cap;
        bool subscribed;   /* `events` stream */
        bool eof;          /* the client closed its side: read no more */
        bool closing;      /* flush what is queued and close (in the I/O handler) */
        unsigned pending;  /* jobs it waits for */
        uid_t uid;
        struct conn *next, *prev;
};

struct saved_state;

struct manager_options {
        char *units_dir;
        char *socket_path;
        char *state_dir;
        char *log_dir;                /* NULL: STATE-DIR/logs */
        bool subreaper;
        bool force_epoll;
        /* The options `pidvisor daemon` was given (NULL-terminated), to give them again to
         * the binary a re-exec runs; NULL: none. */
        char **args;
        /* A re-exec's state (reexec.c): the manager is made from it instead of the units
         * directory.  NULL for a normal start. */
        struct saved_state *restore;
};

struct manager {
        struct manager_options opt;
        struct loop *loop;

        struct service **services;
        size_t n_services;
        uint64_t start_seq;

        int signal_fd;
        struct loop_event signal_ev;
        bool reap_orphans;

        int listen_fd;
        struct loop_event listen_ev;

        int lock_fd;                  /* flock on STATE-DIR/lock */
        int notify_fd;                /* sd_notify datagrams (NOTIFY_SOCKET) */
        char *notify_path;
        struct loop_event notify_ev;
        uint64_t notify_ignored;      /* messages dropped: unattributed, refused, malformed */
        struct conn *conns;
        size_t n_conns;

        bool shutting_down;
        bool exiting;        /* all stopped, the loop told to quit */
        int exit_code;
        struct loop_event collect_ev; /* drops removed units from a handler of its own */
        size_t n_queued;              /* start jobs waiting (deps.c) */
        size_t n_stop_queued;
        bool dispatching, dispatch_again;

        char *log_dir;       /* where services' log files go */
        char *cgroup_base;   /* our services' parent cgroup, or NULL: process groups */
        int cgroup_base_fd;
        struct cg_limits_manager *cgl; /* cgroup v2/v1 state for limits, made at first use */

        uint64_t rng;        /* xorshift state for RestartJitter= */
        struct rlimit nofile_for_services; /* the limit we were started with */
        struct pv_policy_cache *policy_cache; /* compiled seccomp programs, by content */

        struct reexec *reexec;       /* `daemon-reexec` under way (reexec.c), or NULL */
        struct recovery *recovery;   /* crash-recovery records (recover.c), or NULL */
        bool restored;               /* made from a re-exec's state: nothing to start */
};

/* manager.c */
int manager_new(struct manager **ret, const struct manager_options *opt);
int manager_run(struct manager *m);
void manager_free(struct manager *m);
struct service *manager_find(struct manager *m, const char *name);
/* The service a process belongs to: by its cgroup (ours only), else by its session.
 * NULL if none.  Reads /proc: verify the process afterwards through its pidfd. */
struct service *manager_service_of_pid(struct manager *m, pid_t pid);

void service_seccomp_violation(struct service *s, pid_t pid, const char *syscall);

/* For upgrade.c: the service's start path, in pieces. */
int service_apply_pending_config(struct service *s, char *why, size_t why_size);
int service_spawn_successor(struct service *s, char *why, size_t why_size);
void service_watch_main(struct service *s);
/* The handler s->child_ev needs for s->proc (child, or not our child), without arming. */
void service_watch_handler(struct service *s);
void service_watchdog_rearm(struct service *s);
/* A process of the service that is no longer its main one: reaped when it ends (its
 * watch, if armed, is handed over from *ev). */
void service_adopt_former(struct service *s, struct pv_process *p, struct loop_event *ev);
int manager_reload(struct manager *m, bool restart_changed, json_t **report);
double manager_random01(struct manager *m);
/* After a child was reaped: in subreaper/PID 1 mode, look for orphans again. */
void manager_reap_orphans(struct manager *m);
void manager_check_shutdown(struct manager *m);
/* A removed unit has stopped: drop it soon, from the loop (never from under a caller). */
void manager_schedule_collect(struct manager *m);

/* service.c */
struct service *service_new(struct manager *m, const char *name);
struct service_timers;
void service_restore_watches(struct service *s, const struct service_timers *t);
void service_adopt_main(struct service *s, struct pv_process *p, pid_t session, usec_t started_mono,
                        const int out_fds[2]);
void service_free(struct service *s);
int service_start(struct service *s, const char **why);
int service_stop(struct service *s);
int service_restart(struct service *s, const char **why);
int service_reset_failed(struct service *s, const char **why);
const char *service_state_to_string(enum service_state st);
json_t *service_to_json(const struct service *s, bool full);
bool service_is_active(const struct service *s); /* has a process */
void service_set_state(struct service *s, enum service_state st, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
void service_add_waiter(struct service *s, struct conn *c, json_t *id, int kind);
void service_drop_waiters_of(struct service *s, struct conn *c);
bool service_is_tracked_pid(const struct service *s, pid_t pid);
/* An sd_notify datagram from `pid`, already attributed to this service; `is_main` tells
 * whether pid is its main process.  Returns false when NotifyAccess= refuses it. */
struct notify_msg;
bool service_notify(struct service *s, pid_t pid, bool is_main, bool is_control,
                    const struct notify_msg *msg);

/* control.c */
int control_listen(struct manager *m);
void control_close_all(struct manager *m);
void control_broadcast_event(struct manager *m, json_t *event); /* steals event */
bool control_has_subscribers(const struct manager *m);
void control_reply(struct conn *c, json_t *id, bool ok, json_t *result, const char *error);
void conn_job_done(struct conn *c);
/* A connection read from a re-exec's state: armed again (reexec.c). */
void control_restore_conn(struct conn *c);
/* A connected client socket becomes a connection (the accept path; the fuzz target). */
struct conn *control_adopt(struct manager *m, int fd, uid_t uid);
/* One request line, as if it had been read from the connection. */
void control_handle_line(struct conn *c, const char *line, size_t len);

/* cgroup.c */
int cgroup_setup(struct manager *m);
int cgroup_service_open(struct manager *m, const char *name, int *ret_fd);
/* Sends sig to every process of the service (its cgroup, else its process group
 * `pgid`); returns how many it reached, or a negative errno. */
int cgroup_kill_service(struct service *s, int sig, pid_t pgid);
void cgroup_service_remove(struct manager *m, struct service *s);

/* deps.c */
/* Starts root and what it requires or wants, in After=/Before= order, in parallel where
 * independent.  <0 with why filled: a required unit is missing or invalid, an ordering
 * cycle (named), a start limit. */
int deps_start(struct service *root, char *why, size_t why_size);
/* Stops root, after the units that require or are bound to it. */
void deps_stop(struct service *root);
void deps_dispatch(struct manager *m);
void deps_went_down(struct service *s);

/* envfile.c */
int env_file_load(const char *path, char ***env, char **error_text);
