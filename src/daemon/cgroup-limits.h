/* SPDX-License-Identifier: MIT */
#pragma once

/* Resource limits of a service through cgroups: MemoryMax=, MemoryHigh=, TasksMax=,
 * CPUQuota= and CPUQuotaPeriodSec= (systemd.resource-control(5)), and
 * [X-Pidvisor] RequireCgroupLimits=.
 *
 * The mechanism is chosen at each start, per controller: cgroup v2 where the controller
 * can be enabled down to the service's cgroup (the limits are written before the spawn,
 * CLONE_INTO_CGROUP puts the child there); else a cgroup v1 hierarchy of that controller
 * (a directory per service below the daemon's own v1 cgroup; the daemon steps into it
 * around each spawn so that the child is born there); else none, said in the log and in
 * `status`, or a failed start with RequireCgroupLimits=yes.  docs/architecture.md, "Resource
 * limits". */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "timeutil.h"

struct json_t;
struct manager;
struct service;

/* A MemoryMax=/MemoryHigh=/TasksMax= value as written. */
enum cg_amount_kind {
        CG_AMOUNT_UNSET,    /* not given (or reset by an empty value) */
        CG_AMOUNT_INFINITY, /* "infinity": no limit */
        CG_AMOUNT_ABSOLUTE, /* bytes, or tasks */
        CG_AMOUNT_PERCENT,  /* of physical memory, or of the system's task maximum */
};

struct cg_amount {
        enum cg_amount_kind kind;
        uint64_t value; /* ABSOLUTE: bytes or tasks; PERCENT: hundredths of a percent */
};

/* What a unit asks for; all zero means nothing. */
struct cg_limits_config {
        struct cg_amount memory_max, memory_high, tasks_max;
        uint64_t cpu_quota;      /* CPUQuota= in hundredths of a percent of one CPU; 0: none */
        usec_t cpu_quota_period; /* CPUQuotaPeriodSec=, 1 ms .. 1 s; 0: the default, 100 ms */
        bool require;            /* [X-Pidvisor] RequireCgroupLimits= */
};

static inline bool cg_limits_config_empty(const struct cg_limits_config *c) {
        return c->memory_max.kind == CG_AMOUNT_UNSET && c->memory_high.kind == CG_AMOUNT_UNSET &&
               c->tasks_max.kind == CG_AMOUNT_UNSET && c->cpu_quota == 0;
}

/* The controllers, in the order their keys are reported. */
enum cg_ctl { CG_MEMORY, CG_PIDS, CG_CPU, _CG_CTL_MAX };
const char *cg_ctl_name(enum cg_ctl c); /* "memory", "pids", "cpu" */

/* The limits in kernel units.  CG_NO_LIMIT stands for "max". */
#define CG_NO_LIMIT UINT64_MAX
struct cg_limits_values {
        uint64_t memory_max, memory_high; /* bytes */
        uint64_t tasks_max;
        uint64_t cpu_quota_usec;          /* per period, at least 1000 */
        uint64_t cpu_period_usec;         /* 1000 .. 1000000 */
        /* Controllers that something finite asks for (bit per enum cg_ctl). */
        unsigned need;
};

/* Turns percentages into numbers against phys_mem (bytes) and tasks_max_sys, and
 * CPUQuota= into a quota and a period as systemd does: the period grows (to at most 1 s)
 * until the quota is at least the kernel's 1 ms, which is the floor. */
void cg_limits_resolve(const struct cg_limits_config *c, uint64_t phys_mem, uint64_t tasks_max_sys,
                       uint64_t page_size, struct cg_limits_values *ret);
/* The physical memory (bytes) and the system's task maximum (min of kernel.threads-max
 * and kernel.pid_max - 1), as systemd reads them. */
uint64_t cg_physical_memory(void);
uint64_t cg_system_tasks_max(void);

/* "32M", "1536K", "123 bytes"... (exact: the largest 1024-based unit that divides it). */
char *cg_format_bytes(char *buf, size_t size, uint64_t bytes);
/* "20%", "12.5%", "0.05%" from hundredths of a percent. */
char *cg_format_percent(char *buf, size_t size, uint64_t permyriad);

/* ---- cgroup v1: where the daemon's cgroup of a hierarchy is ------------------------- */

/* From the text of /proc/self/mountinfo and /proc/self/cgroup: the directory of our own
 * cgroup in the v1 hierarchy that holds `controller` (a mount of type "cgroup" whose
 * super options name it).  0 and *ret_dir (malloc'd), or -ENOENT/-ENOMEDIUM with the
 * reason in why. */
int cg_v1_locate(const char *mountinfo, const char *proc_cgroup, const char *controller,
                 char **ret_dir, char *why, size_t why_size);

/* cgroup.c: "pidvisor-HASH", the name of the daemon's directory in every hierarchy
 * (HASH names the state directory: stable across restarts, distinct side by side). */
void cgroup_instance_name(const struct manager *m, char *buf, size_t size);
/* cgroup.c: rmdir of a cgroup directory below dirfd, EBUSY retried for up to ~100 ms.
 * The number of retries, or -errno. */
int cgroup_rmdir(int dirfd, const char *name);

/* ---- cgroup v2: enabling a controller down to our services' cgroups ----------------- */

/* The daemon's own v2 cgroup (own) and the base directory of its services below it
 * (own/pidvisor-HASH).  Writes go through write_file, which tests replace. */
struct cg2_tree {
        int own_fd, base_fd;
        const char *own_path, *base_path; /* for messages */
        bool moved;                       /* the daemon moved into base/daemon */
        unsigned enabled;                 /* controllers known enabled in base's subtree */
        unsigned hidden;                  /* taken as absent ($PIDVISOR_TEST_CGROUP_HIDE) */
        int (*write_file)(int dirfd, const char *name, const char *value);
};

/* The real write: open(dirfd/name, O_WRONLY|O_TRUNC), write value; -errno. */
int cg_write_file(int dirfd, const char *name, const char *value);

/* Makes `c` available in every NAME.service below base: "+c" into own's and base's
 * cgroup.subtree_control.  The no-internal-process rule: if own refuses (EBUSY) while
 * the daemon lives in it, the daemon moves into a leaf of its own, base/daemon, and
 * tries again (systemd does the same with delegated cgroups).  0, or <0 with why. */
int cg2_enable(struct cg2_tree *t, enum cg_ctl c, char *why, size_t why_size);

/* Writes the controller's files in the service's v2 directory: memory.max and
 * memory.high, pids.max, or cpu.max ("max" for no limit).  0, or <0 with why. */
int cg2_write_limits(int service_fd, enum cg_ctl c, const struct cg_limits_values *v, char *why,
                     size_t why_size);

/* ---- the daemon's side ---------------------------------------------------------------- */

struct pv_process;

/* At a start (service_begin): decides for each limit of s->cfg how it is enforced and
 * applies it.  Fills why and returns <0 when the start must fail (RequireCgroupLimits=yes
 * with a limit that cannot be enforced); otherwise what is not enforced is logged as a
 * warning and shown in status.  A unit without limits costs a pointer test. */
int cgroup_limits_prepare(struct service *s, char *why, size_t why_size);

/* Around pv_spawn of each command (spawn_command), for limits enforced through cgroup v1:
 * begin moves the daemon into the service's v1 cgroups, so that the child is born in
 * them; end moves it back and sets the limits that were lifted meanwhile (the memory and
 * CPU ones, so that the daemon is never inside a cgroup it could be OOM-killed or
 * throttled in).  begin <0 (why filled): do not spawn.  child is NULL when the spawn
 * failed; if a lifted limit cannot be set again, end kills the child (logged). */
int cgroup_limits_spawn_begin(struct service *s, char *why, size_t why_size);
void cgroup_limits_spawn_end(struct service *s, const struct pv_process *child);

/* What is in force since the last start, for `status`: an object keyed by unit key
 * (MemoryMax, ...), or NULL when that start asked for no limit. */
struct json_t *cgroup_limits_to_json(const struct service *s);

/* The unit is removed: its v1 directories go (cgroup_service_remove). */
void cgroup_limits_service_remove(struct manager *m, struct service *s);
/* The daemon exits: our v1 base directories go. */
void cgroup_limits_free(struct manager *m);
