/* SPDX-License-Identifier: MIT */
#pragma once

/* Starting a child with clone3(CLONE_PIDFD).
 *
 * Everything that can fail slowly or allocate (path lookup, argv/envp, opening stdio
 * files, pipes, moving fds out of the way) happens in the parent before clone3.  The
 * child makes only raw, async-signal-safe system calls, in a fixed order:
 *
 *   [cgroup.procs on the clone() fallback] ->
 *   signal mask and dispositions reset -> setsid -> fds (stdio, extra fds at 3..) ->
 *   rlimits -> umask -> chdir -> setgroups -> setresgid -> setresuid -> execve
 *
 * If a step fails, the child writes {step, errno} to a close-on-exec pipe and exits; the
 * parent reaps it (no zombie is left) and returns the errno with a message naming the
 * step and its argument, e.g. `chdir "/nope": No such file or directory`, and sets the
 * error's `op` to the step ("lookpath", "chdir", "setresuid", "execve", ...), so that a
 * caller can tell "could not execute" from "could not set up". */

#include <stdbool.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <pidvisor/error.h>
#include <pidvisor/process.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

enum pv_stdio_kind {
        PV_STDIO_INHERIT = 0, /* keep the parent's fd 0/1/2 (the default) */
        PV_STDIO_NULL,        /* /dev/null, opened read-only for stdin, write-only else */
        PV_STDIO_FILE,        /* open(path, flags, mode) in the parent */
        PV_STDIO_PIPE,        /* a pipe; the parent's end is returned by pv_spawn */
        PV_STDIO_FD,          /* a descriptor of the caller's (duplicated, not taken) */
        PV_STDIO_CLOSE,       /* closed in the child */
};

struct pv_stdio {
        enum pv_stdio_kind kind;
        const char *path; /* PV_STDIO_FILE */
        int flags;        /* PV_STDIO_FILE: open() flags; O_CLOEXEC is added */
        mode_t mode;      /* PV_STDIO_FILE with O_CREAT */
        int fd;           /* PV_STDIO_FD */
};

struct pv_rlimit {
        int resource; /* RLIMIT_* */
        struct rlimit limit;
};

struct pv_fd_map {
        int fd;     /* the caller's descriptor (duplicated, not taken) */
        int target; /* its number in the child; at least 3 + n_fds, below 1024 */
};

struct pv_spawn_attr {
        /* The program.  When `path` is NULL, argv[0] is resolved with pv_lookpath() against
         * the caller's $PATH (a name containing '/' is used as it is). */
        const char *path;
        char *const *argv; /* required, NULL-terminated, at least argv[0] */
        char *const *envp; /* NULL: the caller's environ */

        const char *cwd; /* NULL: the caller's */
        int umask;       /* -1: the caller's */

        struct pv_stdio stdio[3];

        /* Extra descriptors, placed at 3, 4, ... in this order, inheritable (LISTEN_FDS
         * style).  Sources may have any number, including one of the target slots or
         * 0..2; they stay open in the parent. */
        const int *fds;
        size_t n_fds;

        /* Descriptors placed at chosen numbers (above the extra fds' slots), such as s6's
         * notification-fd.  Numbers between are left as they are. */
        const struct pv_fd_map *fd_map;
        size_t n_fd_map;

        /* Close (rather than keep) descriptors above the mapped ones that the caller left
         * inheritable by mistake.  A manager wants this; `env`-like tools do not. */
        bool close_other_fds;

        const struct pv_rlimit *rlimits;
        size_t n_rlimits;

        bool new_session; /* setsid() */

        /* Credentials.  Groups are set before the gid, the gid before the uid. */
        bool set_groups;
        const gid_t *groups;
        size_t n_groups;
        bool set_gid;
        gid_t gid;
        bool set_uid;
        uid_t uid;

        /* Socket activation: add LISTEN_PID=<the child's own pid> to its environment (an
         * earlier LISTEN_PID= in envp is replaced).  The pid is only known after clone3,
         * so the child writes it into a slot the parent prepared. */
        bool set_listen_pid;

        /* A cgroup v2 directory (O_DIRECTORY fd) to start the child in: CLONE_INTO_CGROUP,
         * or, on the clone() fallback, the child writes itself into its cgroup.procs
         * first thing.  -1 (pv_spawn_attr_init's default): the caller's cgroup. */
        int cgroup_fd;
};

/* Defaults: inherit everything, umask -1. */
void pv_spawn_attr_init(struct pv_spawn_attr *attr);

/* Starts the child.  On success fills *proc (the caller owns the pidfd) and, for each
 * stream with PV_STDIO_PIPE, pipes[i] with the parent's end (write end for stdin, read
 * end for stdout/stderr; close-on-exec, blocking); other entries are set to -1.  `pipes`
 * may be NULL when no stream is a pipe.  On failure nothing is left behind: no child, no
 * zombie, no descriptor. */
int pv_spawn(const struct pv_spawn_attr *attr, struct pv_process *proc, int pipes[3],
             struct pv_error *err);

/* Go's exec.LookPath: a name containing '/' is checked as it is and never searched;
 * otherwise each directory of `path_list` (NULL: the caller's $PATH; an empty entry means
 * the current directory) is tried in order for an executable regular file.  A match that
 * is a relative path (found through "." or an empty entry) is refused with -EACCES, as Go
 * does since 1.19, so that a file in the working directory never shadows a real program.
 * On success *ret is a newly allocated path the caller frees. */
int pv_lookpath(const char *name, const char *path_list, char **ret, struct pv_error *err);

/* systemd's names for resource limits ("NOFILE", "nofile", "LimitNOFILE", "RLIMIT_NOFILE"
 * all work).  Returns the RLIMIT_* number or -EINVAL. */
int pv_rlimit_from_name(const char *name);
const char *pv_rlimit_to_name(int resource); /* "NOFILE", or NULL */

/* Parses "N", "SOFT:HARD", "infinity"/"unlimited" (either side).  A single value sets
 * both the soft and the hard limit, as systemd's LimitX= does. */
int pv_rlimit_parse(const char *value, struct rlimit *ret, struct pv_error *err);

/* Looks up a user by name or number.  Fills uid, its primary gid and its supplementary
 * groups (getgrouplist); *groups is allocated and owned by the caller.  A numeric uid
 * without a passwd entry answers -ESRCH: a gid must then be given explicitly. */
struct pv_user {
        uid_t uid;
        gid_t gid;
        gid_t *groups;
        size_t n_groups;
        char *name;  /* from the passwd entry */
        char *home;
        char *shell;
};
int pv_user_lookup(const char *name, struct pv_user *ret, struct pv_error *err);
void pv_user_done(struct pv_user *u);
int pv_group_lookup(const char *name, gid_t *ret, struct pv_error *err);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
