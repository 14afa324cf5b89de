/* SPDX-License-Identifier: MIT */
#pragma once

/* Internal: the parts of pv_spawn that confine a child, each split into what the parent
 * prepares (it may allocate, parse, fail slowly) and what the child does (raw system
 * calls only, on memory the parent prepared; nothing that allocates or takes a lock).
 *
 *   sandbox-mount.c   the mount namespace: a list of mount operations computed from the
 *                     attributes and /proc/self/mountinfo, applied by the child
 *   sandbox-ns.c      user namespace maps (parent), loopback and the pid-namespace
 *                     init (child)
 *   caps.c            capability names and the running kernel's last capability */

#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include <pidvisor/error.h>
#include <pidvisor/spawn.h>

/* ---- mounts ---- */

enum mount_op_kind {
        MOP_PROPAGATION,      /* MS_REC|MS_SLAVE on / */
        MOP_PROC,             /* a fresh procfs (for a new pid namespace) */
        MOP_TMPFS,            /* private /tmp: a fresh tmpfs */
        MOP_TMP_BIND,         /* private /tmp: a bind of the caller's directory */
        MOP_BIND,             /* a listed path bound onto itself */
        MOP_INACCESSIBLE_DIR, /* an empty read-only tmpfs of mode 0000 */
        MOP_STAGING,          /* fsopen/fsmount a small tmpfs holding an empty 0000 file */
        MOP_INACCESSIBLE_FILE, /* a clone of that file moved over the path */
        MOP_REMOUNT_RO,       /* MS_BIND|MS_REMOUNT|MS_RDONLY, keeping nosuid/nodev/noexec */
};

struct mount_op {
        enum mount_op_kind kind;
        const char *path;   /* the target */
        const char *source; /* MOP_TMP_BIND */
        unsigned long flags;
        bool submount;      /* a mount found below a read-only path: if it is gone by the
                             * time the child gets there (ENOENT, EINVAL), skip it */
        const char *why;    /* for messages: "read-only path", "ProtectSystem=strict", ... */
};

struct mount_plan {
        struct mount_op *ops;
        size_t n_ops;
        char **strings; /* owned; ops point into them */
        size_t n_strings;
};

/* Computes the operations for attr (nothing when it asks for no mount namespace, and
 * then *needed is false).  On failure err names the path. */
int mount_plan_build(const struct pv_spawn_attr *attr, struct mount_plan *mp, bool *needed,
                     struct pv_error *err);
void mount_plan_done(struct mount_plan *mp);

/* Child side: applies every operation in order.  Returns 0, or a negative errno with
 * *failed set to the index of the operation that failed. */
int mount_plan_apply(const struct mount_plan *mp, size_t *failed);

/* Parent side: the message for a failed operation, e.g.
 * `mount "/tmp" (private tmpfs): Operation not permitted`. */
int mount_op_describe(const struct mount_op *op, int r, struct pv_error *err);

/* ---- namespaces ---- */

/* Child: brings `lo` up in a new network namespace.  Returns 0 or a negative errno, with
 * *step 0 (socket), 1 (SIOCGIFFLAGS) or 2 (SIOCSIFFLAGS). */
int ns_loopback_up(int *step);

/* Parent: writes "deny" to /proc/PID/setgroups, then uid_map and gid_map mapping 0 and
 * uid (gid) to themselves. */
int ns_write_id_maps(pid_t pid, uid_t uid, gid_t gid, struct pv_error *err);

/* Child, as pid 1 of a new pid namespace, after forking the service (pid `service`):
 * reaps every child, forwards the usual signals to the service, and exits with its
 * status (128+N for signal N).  Expects SIGCHLD and the forwarded signals blocked and
 * closes every descriptor. */
_Noreturn void ns_init_run(pid_t service);

/* The signals the init forwards (and blocks before forking). */
void ns_init_sigset(sigset_t *set);

/* ---- capabilities ---- */

/* "cap_net_bind_service" for 10 (libcap's name), or "cap_N". */
const char *caps_name(int cap, char *buf, size_t size);
