/* SPDX-License-Identifier: MIT */
#pragma once

/* A service's configuration, as read from NAME.service (systemd's syntax).
 *
 * unit_load() reads one file and returns either a config or the reasons it is invalid;
 * warnings (unknown keys, unknown sections) come back in the same diagnostics list and
 * never make a unit invalid.  Every diagnostic names file:line and the key. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>

#include <pidvisor/policy.h>

#include "cgroup-limits.h"
#include "socket-addr.h"
#include "timeutil.h"

enum service_type {
        SERVICE_SIMPLE, /* started once clone3 returned */
        SERVICE_EXEC,   /* started once execve succeeded (pv_spawn reports this anyway) */
        SERVICE_NOTIFY, /* started once it sent READY=1 (sd_notify) */
};

/* Who may send sd_notify messages for the service. */
enum notify_access {
        NOTIFY_ACCESS_NONE,
        NOTIFY_ACCESS_MAIN, /* the main process */
        NOTIFY_ACCESS_EXEC, /* the main process and ExecStartPre= commands */
        NOTIFY_ACCESS_ALL,  /* any process of the service (cgroup, else session) */
};

enum restart_mode {
        RESTART_NO,
        RESTART_ON_SUCCESS,
        RESTART_ON_FAILURE,
        RESTART_ON_ABNORMAL,
        RESTART_ON_ABORT,
        RESTART_ON_WATCHDOG,
        RESTART_ALWAYS,
};

enum kill_mode {
        KILL_CONTROL_GROUP, /* systemd's default */
        KILL_MIXED,
        KILL_PROCESS,
};

/* A set of exit statuses (0..255) and terminating signals (1..64), as
 * SuccessExitStatus=, RestartPreventExitStatus= and RestartForceExitStatus= take. */
struct exit_status_set {
        uint64_t status[4];
        uint64_t signal; /* bit (sig - 1) */
};

static inline bool exit_status_set_has_status(const struct exit_status_set *s, int status) {
        return status >= 0 && status < 256 && (s->status[status / 64] >> (status % 64)) & 1;
}
static inline bool exit_status_set_has_signal(const struct exit_status_set *s, int sig) {
        return sig >= 1 && sig <= 64 && (s->signal >> (sig - 1)) & 1;
}
static inline bool exit_status_set_empty(const struct exit_status_set *s) {
        return !(s->status[0] | s->status[1] | s->status[2] | s->status[3] | s->signal);
}

/* One ExecStart=/ExecStartPre= line. */
struct exec_command {
        char *path;          /* the program: argv[0] of the line after its prefixes */
        char **argv;         /* argv as written; with '@' argv[0] is the second word */
        bool ignore_failure; /* '-' prefix */
        bool no_env_expand;  /* ':' prefix: no $VAR / ${VAR} substitution */
        unsigned line;       /* where it was written */
};

/* How `pidvisor upgrade` moves listeners ([X-Pidvisor] HotRestart=). */
enum hot_restart {
        HOT_RESTART_NO,          /* no upgrade: there is nothing to move */
        HOT_RESTART_SOCKET,      /* the daemon's own [Socket] listeners */
        HOT_RESTART_TAKEOVER,    /* taken from the running instance, passed as LISTEN_FDS */
        HOT_RESTART_TRANSPARENT, /* taken, and installed where the successor binds */
};

/* When an upgrade's successor counts as ready, unless it is Type=notify (READY=1) or
 * uses NotificationFD= ([X-Pidvisor] ReadyCheck=). */
enum ready_check {
        READY_CHECK_ALIVE,   /* still alive 500 ms after exec (transparent: and bound) */
        READY_CHECK_CONNECT, /* a connection to each stream listener is accepted */
        READY_CHECK_DELAY,   /* alive after ReadyCheck=delay D */
};

/* Where a service's stdout or stderr goes (StandardOutput=, StandardError=). */
enum std_output_kind {
        STD_OUTPUT_LOG,     /* the service's log file (systemd's journal, kmsg; the default) */
        STD_OUTPUT_INHERIT, /* stdout: as stdin (/dev/null); stderr: as stdout (systemd) */
        STD_OUTPUT_NULL,
        STD_OUTPUT_FILE,    /* file:PATH, written from the start without truncating */
        STD_OUTPUT_APPEND,  /* append:PATH */
        STD_OUTPUT_TRUNCATE,/* truncate:PATH */
};

struct std_output {
        enum std_output_kind kind;
        char *path;
};

struct env_file {
        char *path;
        bool missing_ok; /* '-' prefix */
};

/* One ListenStream=/ListenDatagram=/ListenSequentialPacket= line. */
struct listen_spec {
        struct socket_address addr;
        char *text;    /* the value as written */
        unsigned line; /* in unit_config.socket_file */
};

struct diagnostic {
        bool error; /* false: a warning */
        char *text; /* "FILE:LINE: Key=: why" */
};

struct diagnostics {
        struct diagnostic *items;
        size_t n;
        size_t n_errors;
};

struct unit_config {
        char *name; /* "web" for web.service */
        char *path;
        uint64_t hash; /* of the file's bytes, to tell whether a reload changed it */
        /* The bytes it was parsed from, and NAME.socket's (socket_path NULL: none), so that
         * a re-exec parses again exactly what was loaded, whatever the files say by then
         * (reexec.c, docs/reexec.md). */
        char *text;
        size_t text_len;
        char *socket_path;
        char *socket_text;
        size_t socket_text_len;

        /* [Unit] */
        char *description;
        /* Dependencies on other services, by name (without ".service"); other unit
         * types (targets, sockets) are not known to pidvisor and are left out, with a
         * warning.  Requires=/BindsTo=/Wants= pull units in; After=/Before= order them. */
        char **requires, **binds_to, **wants, **after, **before;
        usec_t start_limit_interval; /* default 10 s */
        unsigned start_limit_burst;  /* default 5 */

        /* [Service] */
        enum service_type type;
        struct exec_command *exec_start; /* exactly one for simple/exec */
        size_t n_exec_start;
        struct exec_command *exec_start_pre;
        size_t n_exec_start_pre;

        enum restart_mode restart;           /* default no */
        usec_t restart_sec;                  /* default 100 ms */
        unsigned restart_steps;              /* default 0: no backoff */
        usec_t restart_max_delay;            /* default infinity: no backoff */
        struct exit_status_set success_status;
        struct exit_status_set restart_prevent;
        struct exit_status_set restart_force;

        char *user;                 /* NULL: the daemon's */
        char *group;
        char *working_directory;    /* NULL: "/" ; "~" is the user's home */
        bool working_directory_missing_ok;
        char **environment;         /* "K=V" in order; later wins */
        struct env_file *environment_files;
        size_t n_environment_files;
        int umask;                  /* default 0022 */

        enum notify_access notify_access; /* default none; main for Type=notify and WatchdogSec= */
        usec_t timeout_start;       /* default 90 s; infinity when 0 is given */
        usec_t watchdog;            /* WatchdogSec=, default 0: none */

        struct std_output std_output; /* default the log file */
        struct std_output std_error;  /* default inherit: where stdout goes */

        int kill_signal;            /* default SIGTERM */
        enum kill_mode kill_mode;   /* default control-group */
        usec_t timeout_stop;        /* default 90 s */

        struct rlimit limits[RLIM_NLIMITS];
        bool limit_set[RLIM_NLIMITS];

        unsigned fd_store_max;      /* FileDescriptorStoreMax=, default 0: no fd store */

        /* MemoryMax=, MemoryHigh=, TasksMax=, CPUQuota=, CPUQuotaPeriodSec= ([Service]) and
         * RequireCgroupLimits= ([X-Pidvisor]); enforced by cgroup-limits.c */
        struct cg_limits_config cg_limits;

        /* [Socket], in NAME.service or in NAME.socket beside it (not both).  The daemon
         * binds these when the unit loads and holds them for the unit's life. */
        char *socket_file;          /* the file the listeners were read from */
        struct listen_spec *listen;
        size_t n_listen;
        unsigned backlog;           /* Backlog=, default INT32_MAX: net.core.somaxconn */
        bool reuse_port;            /* ReusePort= */
        bool free_bind;             /* FreeBind= */
        bool non_blocking;          /* NonBlocking=: O_NONBLOCK set before handing over */
        int bind_ipv6_only;         /* BindIPv6Only=: -1 default (kernel's), 0 both, 1 ipv6-only */
        unsigned socket_mode;       /* SocketMode=, default 0666 (unix sockets) */
        unsigned directory_mode;    /* DirectoryMode=, default 0755 (parents created) */
        char *socket_user;          /* SocketUser=, SocketGroup=: owner of a unix socket */
        char *socket_group;
        unsigned socket_user_line;  /* for messages when the user turns out unknown */
        char *fd_name;              /* FileDescriptorName=, default "NAME.socket" */

        /* Sandboxing (docs/sandbox.md).  The seccomp policy is resolved when the unit loads
         * (SeccompPolicy=, or SystemCallFilter= and friends turned into a policy), so that
         * its errors are the unit's; the daemon compiles it (cached) at the start. */
        struct pv_policy *policy;
        struct pv_seccomp_program *prog; /* the daemon's: compiled for prog_flags, or NULL */
        unsigned prog_flags;
        bool seccomp_violation_restart; /* SeccompViolation=restart; default fail */
        bool seccomp_ssb_allow;         /* SeccompSpeculativeStoreBypass=allow; default kernel */
        bool no_new_privs;              /* NoNewPrivileges= */
        bool set_cap_bounding;          /* CapabilityBoundingSet= given */
        uint64_t cap_bounding;
        uint64_t cap_ambient;           /* AmbientCapabilities= (bit N: capability N) */
        bool private_network;           /* PrivateNetwork= */
        bool private_tmp;               /* PrivateTmp= */
        bool private_ipc;               /* PrivateIPC= */
        bool private_users;             /* PrivateUsers= */
        bool private_pids;              /* [X-Pidvisor] PrivatePIDs= */
        int protect_system;             /* ProtectSystem=: enum pv_protect_system */
        char **read_only_paths;         /* ReadOnlyPaths=, ReadWritePaths=, InaccessiblePaths= */
        char **read_write_paths;        /* (a leading '-': ignored when missing) */
        char **inaccessible_paths;
        char *hostname;                 /* Hostname=: a UTS namespace with this name */

        /* [X-Pidvisor] hot restart (upgrade.c) */
        enum hot_restart hot_restart; /* default: socket with [Socket], else no */
        enum ready_check ready_check;
        usec_t ready_delay;           /* ReadyCheck=delay D (else 500 ms) */
        usec_t upgrade_timeout;       /* UpgradeTimeoutSec=, default 30 s */
        int drain_signal;             /* DrainSignal=, default 0: KillSignal= */
        usec_t drain_timeout;         /* DrainTimeoutSec=, default USEC_INFINITY-1: TimeoutStopSec= */
        struct socket_address *takeover_datagram; /* TakeoverDatagram= */
        size_t n_takeover_datagram;
        bool keep_listeners;          /* KeepListeners=: a copy held across crashes */

        /* [X-Pidvisor] */
        double restart_jitter;   /* 0..1, the random share of each restart delay; default 0 */
        usec_t restart_reset;    /* default 0: never (systemd's behaviour) */
        usec_t failed_cooldown;  /* default 0: a failed unit stays failed */
        bool auto_start;         /* AutoStart=yes, or [Install] WantedBy=default.target */
        int notification_fd;     /* NotificationFD=: s6 readiness on this fd; default -1 */
        uint64_t log_max_bytes;  /* LogMaxBytes=: rotate the log file past it; default 10 MiB */
        unsigned log_keep;       /* LogKeep=: rotated files kept; default 5 */
        bool output_lifeline;    /* OutputLifeline=: the main process holds copies of its
                                  * output pipes' read ends at fds 510 and 511, which keep
                                  * them whole across a daemon crash (recover.c); default no */
};

/* Reads and checks DIR/NAME.service.  On success *ret is a new config (which may still
 * come with warnings); with any error, -EINVAL and *ret untouched.  Other errnos: the
 * file could not be read (also reported in diag). */
int unit_load(const char *path, struct unit_config **ret, struct diagnostics *diag);
/* Same, from a buffer (tests and the fuzz target); `path` only names it in messages.
 * unit_load() also reads NAME.socket beside NAME.service when there is one; here
 * socket_text (with socket_path naming it) stands for it, or NULL for none. */
int unit_load_string(const char *path, const char *text, size_t len, struct unit_config **ret,
                     struct diagnostics *diag);
int unit_load_strings(const char *path, const char *text, size_t len, const char *socket_path,
                      const char *socket_text, size_t socket_len, struct unit_config **ret,
                      struct diagnostics *diag);
void unit_config_free(struct unit_config *u);

void diagnostics_done(struct diagnostics *d);

/* Splits an ExecStart= value with systemd's rules (quotes, backslash escapes, prefixes
 * '-', '@', ':', '+' and '!' are refused as unsupported...).  Errors carry a message in
 * *error_text (allocated). */
int exec_command_parse(const char *value, struct exec_command *ret, char **error_text);
void exec_command_done(struct exec_command *c);

/* Substitutes $VAR and ${VAR} from env (unless cmd->no_env_expand): ${VAR} stays one
 * word, $VAR alone as a word splits on whitespace, as systemd does.  Unset variables
 * expand to nothing.  *ret is a new argv. */
int exec_command_expand(const struct exec_command *cmd, char *const *env, char ***ret);

const char *restart_mode_to_string(enum restart_mode m);
const char *kill_mode_to_string(enum kill_mode m);
const char *service_type_to_string(enum service_type t);
const char *notify_access_to_string(enum notify_access a);
const char *hot_restart_to_string(enum hot_restart h);

/* drain_timeout's "not given" value: TimeoutStopSec= applies. */
#define DRAIN_TIMEOUT_UNSET (USEC_INFINITY - 1)
