/* SPDX-License-Identifier: MIT */
#pragma once

/* Starting a child with clone3(CLONE_PIDFD).
 *
 * Everything that can fail slowly or allocate (path lookup, argv/envp, opening stdio
 * files, pipes, moving fds out of the way, parsing /proc/self/mountinfo, computing
 * capability sets) happens in the parent before clone3.  The child makes only raw,
 * async-signal-safe system calls, in a fixed order:
 *
 *   [cgroup.procs on the clone() fallback] ->
 *   signal mask and dispositions reset -> setsid -> fds (stdio, extra fds at 3..) ->
 *   rlimits -> umask ->
 *   mounts (propagation -> fresh /proc -> private /tmp, binds, inaccessible nodes ->
 *           read-only remounts) -> sethostname -> loopback up -> chdir ->
 *   setgroups -> user namespace (unshare, the parent writes the maps) ->
 *   [pid namespace: fork; the first child stays as init, the second goes on] ->
 *   bounding set -> keepcaps -> setresgid -> setresuid -> capset -> ambient ->
 *   no_new_privs -> seccomp (and the listener to the parent) -> execve
 *
 * Namespaces other than the user namespace come from clone3's flags, so the child is
 * born in them and sets them up with the manager's own privileges.  setgroups comes
 * before the user namespace, not just before setresgid as in STYLE.md's convention 9:
 * inside a PrivateUsers= namespace setgroups is denied (as systemd does), so the
 * manager's supplementary groups must be gone before it is entered.
 *
 * If a step fails, the child sends {step, errno} over a close-on-exec socket and exits;
 * the parent reaps it (no zombie is left) and returns the errno with a message naming
 * the step and its argument, e.g. `chdir "/nope": No such file or directory` or
 * `mount "/tmp" (private tmpfs): Operation not permitted`, and sets the error's `op` to
 * the step ("lookpath", "chdir", "mount", "capset", "seccomp", "execve", ...), so that a
 * caller can tell "could not execute" from "could not set up". */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
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

/* systemd's ProtectSystem=. */
enum pv_protect_system {
        PV_PROTECT_SYSTEM_NO = 0,
        PV_PROTECT_SYSTEM_YES,    /* /usr, /boot and /efi read-only (those that exist) */
        PV_PROTECT_SYSTEM_FULL,   /* also /etc */
        PV_PROTECT_SYSTEM_STRICT, /* the whole tree, except /dev, /proc and /sys (other
                                   * settings decide those) and read_write_paths */
};

struct sock_fprog; /* <linux/filter.h> */

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

        /* ---- Confinement.  All of it is off after pv_spawn_attr_init(). ---- */

        /* Capabilities, as masks with bit N for capability N (CAP_CHOWN is bit 0), such as
         * pv_caps_parse() makes.
         *
         * set_cap_bounding: every capability up to the running kernel's last one
         * (/proc/sys/kernel/cap_last_cap) that is not in cap_bounding is dropped from the
         * bounding set (PR_CAPBSET_DROP), before the credentials change.  Bits above the
         * last capability are ignored.  For a service that runs as uid 0 this is what
         * limits it: execve gives root every capability of its bounding set.
         *
         * set_caps: after setresuid, the permitted, effective and inheritable sets become
         * exactly these (raw capset), then the ambient set exactly cap_ambient (cleared,
         * then PR_CAP_AMBIENT_RAISE for each).  The ambient set is what a non-root program
         * keeps across execve, so a service with User= that needs a capability wants it in
         * all four (cap_effective must lie within cap_permitted, cap_ambient within
         * cap_permitted and cap_inheritable; other bits are refused with -EINVAL before
         * anything is started).  When set_uid is also set, the permitted set is kept
         * across setresuid with PR_SET_KEEPCAPS (the keep-caps bit alone: it needs no
         * privilege, leaves the other securebits as they are, and execve clears it).
         *
         * The goal case, a service as nobody that may bind port 80 and nothing else:
         *   set_uid, set_gid = 65534; set_cap_bounding, set_caps, and every mask =
         *   1 << CAP_NET_BIND_SERVICE.  /proc/PID/status then shows that one bit in
         *   CapPrm, CapEff, CapInh, CapBnd and CapAmb. */
        bool set_cap_bounding;
        uint64_t cap_bounding;
        bool set_caps;
        uint64_t cap_permitted;
        uint64_t cap_effective;
        uint64_t cap_inheritable;
        uint64_t cap_ambient;

        /* PR_SET_NO_NEW_PRIVS: execve can no longer grant privileges (setuid bits, file
         * capabilities).  Implied by seccomp_filter. */
        bool no_new_privs;

        /* A compiled seccomp program (classic BPF, e.g. exported by libseccomp), installed
         * with seccomp(SECCOMP_SET_MODE_FILTER, seccomp_flags) as the last step before
         * execve, after no_new_privs, which a filter always implies (as systemd does):
         * without it the kernel accepts a filter only from a holder of CAP_SYS_ADMIN, and a
         * setuid program would then run under a filter written for something else.  The
         * program is only read, in the child; it must live until pv_spawn returns.
         *
         * Between the install and execve the child makes only these system calls, which
         * the filter must allow for the spawn to be reported correctly: sendmsg (with
         * SECCOMP_FILTER_FLAG_NEW_LISTENER), close, execve, and on failure sendto and
         * exit_group.  An execve that the filter answers with an errno is reported as the
         * execve step with that errno.  A filter that kills at execve cannot be told from
         * a program that the filter kills right after exec: pv_spawn succeeds and the
         * child's exit shows SIGSYS.  A filter must not send these calls to the user
         * notification listener either: nobody holds it yet, and the child would wait.
         *
         * With SECCOMP_FILTER_FLAG_NEW_LISTENER in seccomp_flags, seccomp_listener_fd must
         * point to where pv_spawn stores the listener (close-on-exec, the caller's to
         * close), written only on success; the child passes it to the parent over the
         * report socket (SCM_RIGHTS) right before execve and closes its own copy. */
        const struct sock_fprog *seccomp_filter;
        unsigned seccomp_flags;
        int *seccomp_listener_fd;

        /* Namespaces.  Each is created by clone3 (the user namespace excepted), so it is
         * set up with the caller's privileges before any are dropped.
         *
         * private_network: CLONE_NEWNET with `lo` up (127.0.0.1 works) and no other
         * interface.  private_ipc: CLONE_NEWIPC.  hostname: CLONE_NEWUTS and
         * sethostname (at most 64 bytes).
         *
         * private_users: a user namespace that maps uid and gid 0 and the service's own
         * uid/gid (set_uid/set_gid) to themselves and nothing else, as systemd's
         * PrivateUsers=yes; setgroups is denied in it.  The child unshares it after its
         * mounts, hostname and loopback, so those namespaces stay owned by the caller's
         * user namespace and root inside cannot undo them; the parent writes
         * setgroups/uid_map/gid_map while the child waits on the report socket.
         *
         * private_pids: CLONE_NEWPID.  The child becomes pid 1 of the new namespace, runs
         * pidvisor's small init (library code, raw system calls) and forks the service,
         * which is pid 2 there.  The init reaps every process reparented to it, forwards
         * SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1 and SIGUSR2 to the service, and exits
         * when the service does: with its exit status, or 128+N when it was killed by
         * signal N (a pid 1 cannot kill itself with a signal, so the supervisor sees
         * "exited 143" where the service got SIGTERM).  Any process left in the namespace
         * is killed by the kernel then.  The init keeps the caller's credentials (in the
         * user namespace, with private_users) and a copy-on-write view of its memory, is
         * not under the seccomp filter, and closes every descriptor.  Implies a new mount
         * namespace with a fresh /proc mounted.  The pid the caller gets is the init's;
         * with new_session the init leads the session and the service is in it (so a
         * kill of the process group reaches it); LISTEN_PID is the service's own (2).
         *
         * A new mount namespace (CLONE_NEWNS) is made when private_mounts, private_tmp,
         * private_pids, protect_system or any of the path lists asks for one.  Mount
         * propagation is first made slave (MS_REC|MS_SLAVE on /: the host's new mounts
         * still appear, none of ours leaks out).
         *
         * private_tmp: /tmp becomes a fresh tmpfs (mode 1777, nosuid, nodev), empty and
         * seen by no other process; it is gone when the last process using it exits, so
         * nothing is left to clean up.  With private_tmp_source, that directory (which
         * the caller creates, e.g. per service so that ExecStartPre= and ExecStart= share
         * it, and removes) is bind-mounted on /tmp instead.
         *
         * protect_system: see enum pv_protect_system.  read_only_paths, read_write_paths,
         * inaccessible_paths: absolute paths as systemd's ReadOnlyPaths=,
         * ReadWritePaths=, InaccessiblePaths=; a leading '-' ignores a path that does not
         * exist (else that is an error before anything starts).  Symbolic links are
         * resolved in the parent.  Each path is bind-mounted onto itself, so that a deeper
         * path can differ from the one above it; a read-only path is remounted
         * MS_BIND|MS_REMOUNT|MS_RDONLY, and so is every mount below it (listed from
         * /proc/self/mountinfo in the parent) except those below a deeper listed path;
         * the per-mount flags nosuid, nodev, noexec are kept.  An inaccessible directory
         * gets an empty read-only tmpfs of mode 0000 over it, anything else an empty
         * read-only file of mode 0000 (from one small tmpfs made with fsopen).  Where one
         * path is listed twice, inaccessible wins over read-only, read-only over
         * read-write; paths below an inaccessible one or below a private /tmp are
         * dropped (they name what the new mount hides). */
        bool private_network;
        bool private_ipc;
        const char *hostname;
        bool private_users;
        bool private_pids;
        bool private_mounts;
        bool private_tmp;
        const char *private_tmp_source;
        enum pv_protect_system protect_system;
        const char *const *read_only_paths;
        size_t n_read_only_paths;
        const char *const *read_write_paths;
        size_t n_read_write_paths;
        const char *const *inaccessible_paths;
        size_t n_inaccessible_paths;
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

/* Parses a list of capability names separated by white space or commas, as systemd's
 * CapabilityBoundingSet= and AmbientCapabilities= take them: "CAP_NET_BIND_SERVICE
 * cap_chown" (any case, with or without "cap_"; numbers too).  A leading '~' inverts
 * the list: "~CAP_SYS_ADMIN" is every capability the running kernel knows except that
 * one.  An empty string is the empty set.  Bit N of *ret is capability N.  An unknown
 * name answers -EINVAL with an error naming it. */
int pv_caps_parse(const char *s, uint64_t *ret, struct pv_error *err);

/* The running kernel's last capability (/proc/sys/kernel/cap_last_cap, read once), or a
 * negative errno. */
int pv_caps_last_cap(void);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
