/* SPDX-License-Identifier: MIT */
#pragma once

/* What the parts of `pidvisor run` share: run.c (options, spawn, supervision),
 * run-keys.c (flags that are unit keys), run-cgroup.c (the transient cgroup of the
 * limits), run-seccomp.c (policies and their kill notifications).  docs/run.md. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <pidvisor/pidvisor.h>
#include <pidvisor/policy.h>

#include "daemon/cgroup-limits.h"

/* Exit codes of pidvisor run's own outcomes, env(1)'s for failures. */
enum {
        EXIT_RUN_FAILED = 125,
        EXIT_CANNOT_EXECUTE = 126,
        EXIT_NOT_FOUND = 127,
        /* Killed for a system call its seccomp policy kills: 128 + SIGSYS, the status a
         * shell shows when the kernel's own kill-process action ends a program. */
        EXIT_SECCOMP_KILLED = 128 + 31,
};

/* "pidvisor run: TEXT\n" on stderr; returns code. */
int run_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "pidvisor run: warning: TEXT\n" on stderr. */
void run_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- run-keys.c: flags that are unit keys ------------------------------------------- */

/* --syscall-filter VALUE is SystemCallFilter=VALUE, and so on: read by the daemon's own
 * unit parser, so that a flag takes exactly its key's syntax and meaning. */
struct run_key {
        const char *flag;  /* "--syscall-filter" */
        const char *key;   /* "SystemCallFilter" */
        const char *value; /* borrowed from argv */
};

struct run_keys_result {
        struct pv_policy *policy;      /* SystemCallFilter= and friends; NULL: none */
        struct cg_limits_config limits; /* MemoryMax=, TasksMax=, CPUQuota= */
};

/* 0, or an exit code after printing the first error (naming its flag). */
int run_keys_parse(const struct run_key *keys, size_t n, struct run_keys_result *ret);

/* ---- run-cgroup.c: the transient cgroup of --memory-max, --tasks-max, --cpu-quota ---- */

struct run_cgroup;

/* The flags as given, for messages ("--memory-max 32M"); NULL when not given. */
struct run_limit_flags {
        const char *text[_CG_CTL_MAX];
};

/* For a config asking for some limit: a new cgroup pidvisor-run-PID beside our own, per
 * controller in cgroup v2 where it can be had, else in its cgroup v1 hierarchy, with the
 * limits written.  A limit that can be enforced neither way fails (an exit code, after
 * the message naming the flag), or with require=false is reported as a warning and left
 * out.  *ret is NULL when nothing is enforced. */
int run_cgroup_prepare(const struct cg_limits_config *cfg, const struct run_limit_flags *flags,
                       bool require, struct run_cgroup **ret);
/* The cgroup v2 directory for CLONE_INTO_CGROUP (pv_spawn_attr.cgroup_fd), or -1. */
int run_cgroup_v2_fd(const struct run_cgroup *cg);
/* Around pv_spawn, for the limits enforced through cgroup v1: a child is born in the
 * cgroups of the thread that clones it, so the calling thread enters the run's v1
 * cgroups (with the memory and CPU limits lifted meanwhile, pids.max raised by one) and
 * leaves right after.  enter: 0, or an exit code after the message.  leave: child NULL
 * after a failed spawn; a limit that cannot be set again kills the child (said). */
int run_cgroup_enter(struct run_cgroup *cg);
void run_cgroup_leave(struct run_cgroup *cg, const struct pv_process *child);
/* OOM kills counted in the run's memory cgroup so far (0 without one). */
uint64_t run_cgroup_oom_kills(const struct run_cgroup *cg);
/* The command is over: whatever it left in the cgroup is killed, the directories go. */
void run_cgroup_free(struct run_cgroup *cg);

/* ---- run-seccomp.c: the policy and its kill notifications ------------------------- */

struct run_seccomp {
        struct pv_seccomp_program *prog;
        /* The policy's kills reach us as notifications (PV_POLICY_NOTIFY_KILLS). */
        bool notify;
        /* Otherwise, why not: a call the child makes after installing the filter that the
         * policy may kill (it would wait for us while we wait for its execve). */
        const char *no_notify_because;
        int listener; /* after the spawn; -1: none or hung up */
        size_t notif_size, resp_size;
        void *req, *resp;
        /* The command itself was killed: its pid in its own namespace is main_nspid when
         * private_pids (2), its pid else. */
        bool main_killed;
        char main_syscall[64];
};

/* Loads (--policy) or takes (from --syscall-filter) the policy, prints its warnings, and
 * compiles it.  0 or an exit code after the message. */
int run_seccomp_prepare(struct run_seccomp *s, const char *policy_arg, struct pv_policy *from_filter,
                        uint64_t caps);
/* The listener is readable: reads each notification, kills the process that made it,
 * and tells which system call it was (the command's own is kept for its exit). */
void run_seccomp_handle(struct run_seccomp *s, const struct pv_process *child, bool private_pids);
void run_seccomp_done(struct run_seccomp *s);
