/* SPDX-License-Identifier: MIT */
/* The transient cgroup of `pidvisor run --memory-max/--tasks-max/--cpu-quota`: per
 * controller cgroup v2 where it can be had, else cgroup v1, as the daemon decides for a
 * unit (src/daemon/cgroup-limits.c, whose value arithmetic, v1 lookup and file writers
 * this reuses).  The directory is pidvisor-run-PID beside our own cgroup in each
 * hierarchy used; it goes, with whatever the command left in it, when the command has
 * exited.  docs/run.md, "Resource limits". */
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/util.h"

/* For tests only, as for the daemon: controllers to take as absent in both versions. */
#define HIDE_ENV "PIDVISOR_TEST_CGROUP_HIDE"

static const char *const flag_names[_CG_CTL_MAX] = {
        [CG_MEMORY] = "--memory-max",
        [CG_PIDS] = "--tasks-max",
        [CG_CPU] = "--cpu-quota",
};

struct run_cgroup {
        struct cg_limits_values v;
        char name[64];            /* pidvisor-run-PID */
        unsigned v2_ctls, v1_ctls; /* enforced through each */
        /* cgroup v2 */
        char *v2_own;             /* our own cgroup's directory */
        int v2_fd;                /* own/pidvisor-run-PID, once made */
        /* cgroup v1, per controller */
        char *v1_own[_CG_CTL_MAX];     /* our own cgroup, set once pidvisor-run-PID is made */
        int v1_fd[_CG_CTL_MAX];        /* own/pidvisor-run-PID */
        int v1_tasks[_CG_CTL_MAX];     /* its tasks */
        int v1_limit[_CG_CTL_MAX];     /* memory.limit_in_bytes, pids.max, cpu.cfs_quota_us */
        int v1_own_tasks[_CG_CTL_MAX]; /* own/tasks: the way back */
        unsigned v1_entered;
};

/* ---- small helpers ------------------------------------------------------------------- */

static char *read_text(const char *path) {
        FILE *f = fopen(path, "re");
        char *buf = NULL;
        size_t cap = 0, len = 0, n;

        if (!f)
                return NULL;
        do {
                if (len + 4097 > cap) {
                        char *g = realloc(buf, cap = (len + 4097) * 2);
                        if (!g) {
                                free(buf);
                                fclose(f);
                                return NULL;
                        }
                        buf = g;
                }
                n = fread(buf + len, 1, cap - len - 1, f);
                len += n;
        } while (n > 0);
        fclose(f);
        buf[len] = 0;
        return buf;
}

static int read_at(int dirfd, const char *name, char *buf, size_t size) {
        int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
        ssize_t n;

        if (fd < 0)
                return negerrno();
        n = read(fd, buf, size - 1);
        if (n < 0)
                n = negerrno();
        close(fd);
        if (n < 0)
                return (int)n;
        buf[n] = 0;
        return 0;
}

static bool has_word(const char *list, const char *word) {
        size_t n = strlen(word);

        for (const char *p = list; (p = strstr(p, word)); p += n)
                if ((p == list || p[-1] == ' ') && (p[n] == 0 || p[n] == ' ' || p[n] == '\n'))
                        return true;
        return false;
}

static int write_fd(int fd, const char *value) {
        size_t len = strlen(value);

        if (pwrite(fd, value, len, 0) != (ssize_t)len)
                return negerrno();
        return 0;
}

static const char *u64_or(char *buf, size_t size, uint64_t v, const char *none) {
        if (v == CG_NO_LIMIT)
                return none;
        snprintf(buf, size, "%" PRIu64, v);
        return buf;
}

static unsigned hidden_controllers(void) {
        const char *e = getenv(HIDE_ENV);
        unsigned mask = 0;

        if (!e || !*e)
                return 0;
        for (int c = 0; c < _CG_CTL_MAX; c++) {
                const char *name = cg_ctl_name(c);
                size_t n = strlen(name);
                for (const char *p = e; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
                        if (!strcmp(e, "all") || (!strncmp(p, name, n) && (p[n] == ',' || !p[n])))
                                mask |= 1u << c;
        }
        return mask;
}

/* ---- cgroup v2 ----------------------------------------------------------------------- */

/* Our own cgroup v2 directory: the cgroup2 mount and the "0::" line. */
static char *v2_own_dir(void) {
        _cleanup_free_ char *mountinfo = read_text("/proc/self/mountinfo"), *self = read_text("/proc/self/cgroup");
        char *mnt = NULL, *own = NULL, *dir = NULL;

        if (!mountinfo || !self)
                return NULL;
        for (char *save = NULL, *line = strtok_r(mountinfo, "\n", &save); line && !mnt;
             line = strtok_r(NULL, "\n", &save)) {
                char m[4096], fstype[64];
                const char *dash = strstr(line, " - ");
                if (dash && sscanf(dash + 3, "%63s", fstype) == 1 && !strcmp(fstype, "cgroup2") &&
                    sscanf(line, "%*s %*s %*s %*s %4095s", m) == 1)
                        mnt = strdup(m);
        }
        for (char *save = NULL, *line = strtok_r(self, "\n", &save); line && !own;
             line = strtok_r(NULL, "\n", &save))
                if (!strncmp(line, "0::", 3))
                        own = strdup(line + 3);
        if (mnt && own && asprintf(&dir, "%s%s", mnt, strcmp(own, "/") ? own : "") < 0)
                dir = NULL;
        free(mnt);
        free(own);
        return dir;
}

/* Makes controller c ours in v2: in the own cgroup's cgroup.controllers, enabled in its
 * cgroup.subtree_control, the limits written into pidvisor-run-PID. */
static int v2_prepare(struct run_cgroup *cg, int c, unsigned hidden, char *why, size_t why_size) {
        const char *name = cg_ctl_name(c);
        _cleanup_close_ int own_fd = -EBADF;
        char buf[512], plus[32];
        int r;

        if (!cg->v2_own && !(cg->v2_own = v2_own_dir())) {
                snprintf(why, why_size, "no cgroup v2 hierarchy");
                return -ENOENT;
        }
        own_fd = open(cg->v2_own, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (own_fd < 0 || (r = read_at(own_fd, "cgroup.controllers", buf, sizeof(buf))) < 0) {
                r = own_fd < 0 ? negerrno() : r;
                snprintf(why, why_size, "%s/cgroup.controllers: %s", cg->v2_own, strerror(-r));
                return r;
        }
        buf[strcspn(buf, "\n")] = 0;
        if (!has_word(buf, name)) {
                snprintf(why, why_size, "%s/cgroup.controllers: %s", cg->v2_own, *buf ? buf : "(empty)");
                return -ENOENT;
        }
        if (hidden & (1u << c)) {
                snprintf(why, why_size, "hidden by $%s", HIDE_ENV);
                return -ENOENT;
        }
        if (read_at(own_fd, "cgroup.subtree_control", buf, sizeof(buf)) < 0 || !has_word(buf, name)) {
                snprintf(plus, sizeof(plus), "+%s", name);
                r = cg_write_file(own_fd, "cgroup.subtree_control", plus);
                if (r == -EBUSY) {
                        /* No internal processes: our cgroup holds us (and maybe others). */
                        snprintf(why, why_size,
                                 "cannot enable it in %s/cgroup.subtree_control: processes live in that "
                                 "cgroup (pidvisor run among them), and a cgroup with processes cannot "
                                 "enable controllers for its children",
                                 cg->v2_own);
                        return r;
                }
                if (r < 0) {
                        snprintf(why, why_size, "cannot enable it in %s/cgroup.subtree_control: %s", cg->v2_own,
                                 strerror(-r));
                        return r;
                }
        }
        if (cg->v2_fd < 0) {
                if (mkdirat(own_fd, cg->name, 0755) < 0 ||
                    (cg->v2_fd = openat(own_fd, cg->name, O_DIRECTORY | O_RDONLY | O_CLOEXEC)) < 0) {
                        r = negerrno();
                        snprintf(why, why_size, "cannot create %s/%s: %s", cg->v2_own, cg->name, strerror(-r));
                        (void)unlinkat(own_fd, cg->name, AT_REMOVEDIR);
                        return r;
                }
        }
        return cg2_write_limits(cg->v2_fd, c, &cg->v, why, why_size);
}

/* ---- cgroup v1 ----------------------------------------------------------------------- */

static const char *const v1_limit_file[_CG_CTL_MAX] = {
        [CG_MEMORY] = "memory.limit_in_bytes",
        [CG_PIDS] = "pids.max",
        [CG_CPU] = "cpu.cfs_quota_us",
};

static int v1_prepare(struct run_cgroup *cg, int c, unsigned hidden, char *why, size_t why_size) {
        _cleanup_free_ char *mountinfo = NULL, *self = NULL, *own = NULL;
        _cleanup_close_ int own_fd = -EBADF;
        char num[32];
        const char *fail = NULL;
        int r;

        if (hidden & (1u << c)) {
                snprintf(why, why_size, "hidden by $%s", HIDE_ENV);
                return -ENOENT;
        }
        mountinfo = read_text("/proc/self/mountinfo");
        self = read_text("/proc/self/cgroup");
        if (!mountinfo || !self) {
                snprintf(why, why_size, "cannot read /proc/self/mountinfo or /proc/self/cgroup");
                return -EIO;
        }
        r = cg_v1_locate(mountinfo, self, cg_ctl_name(c), &own, why, why_size);
        if (r < 0)
                return r;
        own_fd = open(own, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (own_fd < 0) {
                r = negerrno();
                snprintf(why, why_size, "cannot open %s: %s", own, strerror(-r));
                return r;
        }
        if (mkdirat(own_fd, cg->name, 0755) < 0) {
                r = negerrno();
                snprintf(why, why_size, "cannot create %s/%s: %s", own, cg->name, strerror(-r));
                return r;
        }
        cg->v1_own[c] = TAKE_PTR(own);
        cg->v1_fd[c] = openat(own_fd, cg->name, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (cg->v1_fd[c] < 0)
                fail = cg->name;
        else if ((cg->v1_tasks[c] = openat(cg->v1_fd[c], "tasks", O_WRONLY | O_CLOEXEC)) < 0)
                fail = "tasks";
        else if ((cg->v1_limit[c] = openat(cg->v1_fd[c], v1_limit_file[c], O_WRONLY | O_CLOEXEC)) < 0)
                fail = v1_limit_file[c];
        else if ((cg->v1_own_tasks[c] = openat(own_fd, "tasks", O_WRONLY | O_CLOEXEC)) < 0)
                fail = "../tasks";
        if (fail) {
                r = negerrno();
                snprintf(why, why_size, "cannot open %s/%s/%s: %s", cg->v1_own[c], cg->name, fail, strerror(-r));
                return r;
        }
        switch (c) {
        case CG_MEMORY:
                fail = v1_limit_file[c];
                r = write_fd(cg->v1_limit[c], u64_or(num, sizeof(num), cg->v.memory_max, "-1"));
                break;
        case CG_PIDS:
                fail = v1_limit_file[c];
                r = write_fd(cg->v1_limit[c], u64_or(num, sizeof(num), cg->v.tasks_max, "max"));
                break;
        case CG_CPU:
                fail = "cpu.cfs_period_us";
                snprintf(num, sizeof(num), "%" PRIu64, cg->v.cpu_period_usec);
                r = cg_write_file(cg->v1_fd[c], "cpu.cfs_period_us", num);
                if (r >= 0) {
                        fail = v1_limit_file[c];
                        r = write_fd(cg->v1_limit[c], u64_or(num, sizeof(num), cg->v.cpu_quota_usec, "-1"));
                }
                break;
        default:
                return -EINVAL;
        }
        if (r < 0)
                snprintf(why, why_size, "writing %s to %s/%s/%s: %s", num, cg->v1_own[c], cg->name, fail,
                         strerror(-r));
        return r;
}

/* ---- the run's side ------------------------------------------------------------------ */

int run_cgroup_prepare(const struct cg_limits_config *cfg, const struct run_limit_flags *flags,
                       bool require, struct run_cgroup **ret) {
        struct run_cgroup *cg;
        unsigned hidden = hidden_controllers();

        *ret = NULL;
        if (cg_limits_config_empty(cfg))
                return 0;
        cg = calloc(1, sizeof(*cg));
        if (!cg)
                return run_fail(EXIT_RUN_FAILED, "out of memory");
        cg->v2_fd = -EBADF;
        for (int c = 0; c < _CG_CTL_MAX; c++)
                cg->v1_fd[c] = cg->v1_tasks[c] = cg->v1_limit[c] = cg->v1_own_tasks[c] = -EBADF;
        snprintf(cg->name, sizeof(cg->name), "pidvisor-run-%d", (int)getpid());
        cg_limits_resolve(cfg, cg_physical_memory(),
                          cfg->tasks_max.kind == CG_AMOUNT_PERCENT ? cg_system_tasks_max() : 0,
                          (uint64_t)sysconf(_SC_PAGESIZE), &cg->v);

        for (int c = 0; c < _CG_CTL_MAX; c++) {
                char v2_why[1024], v1_why[1024];
                const char *text = flags->text[c] ? flags->text[c] : flag_names[c];

                if (!(cg->v.need & (1u << c)))
                        continue; /* not given, or infinity */
                v2_why[0] = v1_why[0] = 0;
                if (v2_prepare(cg, c, hidden, v2_why, sizeof(v2_why)) >= 0) {
                        cg->v2_ctls |= 1u << c;
                        continue;
                }
                if (v1_prepare(cg, c, hidden, v1_why, sizeof(v1_why)) >= 0) {
                        cg->v1_ctls |= 1u << c;
                        continue;
                }
                if (require) {
                        run_cgroup_free(cg);
                        return run_fail(EXIT_RUN_FAILED,
                                        "%s cannot be enforced: no %s controller in cgroup v2 (%s) nor in "
                                        "cgroup v1 (%s); --no-require-limits runs without it",
                                        text, cg_ctl_name(c), v2_why, v1_why);
                }
                run_warn("%s not enforced: no %s controller in cgroup v2 (%s) nor in cgroup v1 (%s); "
                         "running without it (--no-require-limits)",
                         text, cg_ctl_name(c), v2_why, v1_why);
        }
        if (!cg->v2_ctls && !cg->v1_ctls) {
                run_cgroup_free(cg);
                return 0;
        }
        *ret = cg;
        return 0;
}

int run_cgroup_v2_fd(const struct run_cgroup *cg) {
        return cg && cg->v2_ctls ? cg->v2_fd : -1;
}

/* Sets the memory and CPU limits lifted for the spawn; 0 or <0 with *what. */
static int v1_tighten(struct run_cgroup *cg, const char **what) {
        char num[32];
        int r;

        if (cg->v1_ctls & (1u << CG_MEMORY)) {
                r = write_fd(cg->v1_limit[CG_MEMORY], u64_or(num, sizeof(num), cg->v.memory_max, "-1"));
                if (r < 0) {
                        *what = "--memory-max (memory.limit_in_bytes)";
                        return r;
                }
        }
        if (cg->v1_ctls & (1u << CG_CPU)) {
                r = write_fd(cg->v1_limit[CG_CPU], u64_or(num, sizeof(num), cg->v.cpu_quota_usec, "-1"));
                if (r < 0) {
                        *what = "--cpu-quota (cpu.cfs_quota_us)";
                        return r;
                }
        }
        return 0;
}

/* Back into our own v1 cgroups; pids first, where we count against the command. */
static void v1_leave(struct run_cgroup *cg) {
        static const int order[_CG_CTL_MAX] = { CG_PIDS, CG_MEMORY, CG_CPU };

        for (int i = 0; i < _CG_CTL_MAX; i++) {
                int c = order[i], r;
                if (!(cg->v1_entered & (1u << c)))
                        continue;
                r = write_fd(cg->v1_own_tasks[c], "0");
                if (r < 0)
                        run_warn("cannot move back to our own %s cgroup %s: %s", cg_ctl_name(c), cg->v1_own[c],
                                 strerror(-r));
        }
        cg->v1_entered = 0;
}

int run_cgroup_enter(struct run_cgroup *cg) {
        const char *what = NULL, *ignored;
        char num[32];
        int r = 0;

        if (!cg || !cg->v1_ctls)
                return 0;
        /* Lift what could hit us while inside (an OOM kill would pick us, or the child
         * that shares our memory until it execs; a spent quota would throttle us); the
         * pids limit stays, raised by one for our thread, so that the child is born
         * under it. */
        if (cg->v1_ctls & (1u << CG_MEMORY) && (r = write_fd(cg->v1_limit[CG_MEMORY], "-1")) < 0)
                what = "lifting memory.limit_in_bytes";
        else if (cg->v1_ctls & (1u << CG_CPU) && (r = write_fd(cg->v1_limit[CG_CPU], "-1")) < 0)
                what = "lifting cpu.cfs_quota_us";
        else if (cg->v1_ctls & (1u << CG_PIDS)) {
                r = write_fd(cg->v1_limit[CG_PIDS], u64_or(num, sizeof(num), cg->v.tasks_max + 1, "max"));
                if (r < 0)
                        what = "raising pids.max for the spawn";
        }
        /* "0" into tasks moves the calling thread only, which is all that matters: a
         * child is born in the cgroups of the thread that clones it. */
        for (int c = 0; r >= 0 && c < _CG_CTL_MAX; c++)
                if (cg->v1_ctls & (1u << c)) {
                        r = write_fd(cg->v1_tasks[c], "0");
                        if (r < 0)
                                what = cg_ctl_name(c);
                        else
                                cg->v1_entered |= 1u << c;
                }
        if (r >= 0)
                return 0;
        v1_leave(cg);
        (void)v1_tighten(cg, &ignored);
        if (cg->v1_ctls & (1u << CG_PIDS))
                (void)write_fd(cg->v1_limit[CG_PIDS], u64_or(num, sizeof(num), cg->v.tasks_max, "max"));
        return run_fail(EXIT_RUN_FAILED, "cgroup v1: %s%s: %s", what, strchr(what, ' ') ? "" : " tasks",
                        strerror(-r));
}

void run_cgroup_leave(struct run_cgroup *cg, const struct pv_process *child) {
        const char *what = NULL;
        char num[32];
        int r;

        if (!cg || !cg->v1_entered)
                return;
        /* pids.max first, while we still count: never looser than asked. */
        if (cg->v1_entered & (1u << CG_PIDS)) {
                r = write_fd(cg->v1_limit[CG_PIDS], u64_or(num, sizeof(num), cg->v.tasks_max, "max"));
                if (r < 0)
                        run_warn("--tasks-max: cannot set pids.max back to %s: %s", num, strerror(-r));
        }
        v1_leave(cg);
        r = v1_tighten(cg, &what);
        if (r < 0 && child && child->pidfd >= 0) {
                /* Running without its limit is not an option: as if the limit had hit. */
                run_warn("%s cannot be set after the spawn: %s; killing the command", what,
                         r == -EBUSY ? "the command already uses more" : strerror(-r));
                (void)pv_process_signal(child, SIGKILL, NULL);
        }
}

uint64_t run_cgroup_oom_kills(const struct run_cgroup *cg) {
        char buf[1024];
        const char *p;
        int fd = -1;

        if (!cg)
                return 0;
        if (cg->v2_ctls & (1u << CG_MEMORY))
                fd = cg->v2_fd;
        else if (cg->v1_ctls & (1u << CG_MEMORY))
                fd = cg->v1_fd[CG_MEMORY];
        if (fd < 0 ||
            read_at(fd, cg->v2_ctls & (1u << CG_MEMORY) ? "memory.events" : "memory.oom_control", buf, sizeof(buf)) < 0)
                return 0;
        p = strstr(buf, "oom_kill ");
        return p ? strtoull(p + strlen("oom_kill "), NULL, 10) : 0;
}

/* Whether /proc/PID/cgroup puts pid in our directory (of any hierarchy). */
static bool is_member(pid_t pid, const char *name) {
        char path[64], line[1024], want[80];
        bool member = false;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
        snprintf(want, sizeof(want), "/%s\n", name);
        f = fopen(path, "re");
        if (!f)
                return false;
        while (!member && fgets(line, sizeof(line), f)) {
                size_t n = strlen(line), w = strlen(want);
                member = n >= w && strcmp(line + n - w, want) == 0;
        }
        fclose(f);
        return member;
}

/* SIGKILLs every process cgroup.procs of dirfd lists, through a pidfd opened and then
 * checked to still be a member (the pid may have been reused); waits up to a second for
 * them to go.  The number found alive. */
static int kill_leftovers(int dirfd, const char *name) {
        int found = 0;

        for (int round = 0; round < 100; round++) {
                char buf[8192];
                struct pollfd pfd[64];
                int n = 0;

                if (read_at(dirfd, "cgroup.procs", buf, sizeof(buf)) < 0 || !buf[0])
                        break;
                for (char *save = NULL, *l = strtok_r(buf, "\n", &save); l && n < 64; l = strtok_r(NULL, "\n", &save)) {
                        pid_t pid = (pid_t)atoi(l);
                        struct pv_process p;

                        if (pid <= 0 || pv_process_open(pid, &p, NULL) < 0)
                                continue;
                        if (is_member(pid, name) && pv_process_signal(&p, SIGKILL, NULL) == 0) {
                                pfd[n++] = (struct pollfd){ .fd = p.pidfd, .events = POLLIN };
                                p.pidfd = -EBADF;
                                if (round == 0)
                                        found++;
                        }
                        pv_process_release(&p);
                }
                /* A pidfd turns readable once its process has exited. */
                for (int i = 0; i < n; i++) {
                        (void)poll(&pfd[i], 1, 1000);
                        close(pfd[i].fd);
                }
                if (n == 0) {
                        struct timespec ms = { 0, 10 * 1000 * 1000 };
                        nanosleep(&ms, NULL);
                }
        }
        return found;
}

static void remove_dir(int *fd, const char *own, const char *name, bool *killed_said) {
        int own_fd, r, n = *fd >= 0 ? kill_leftovers(*fd, name) : 0;

        if (n > 0 && !*killed_said) {
                run_warn("killed %d process%s the command left running in its cgroup", n, n == 1 ? "" : "es");
                *killed_said = true;
        }
        *fd = safe_close(*fd);
        own_fd = open(own, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        r = own_fd >= 0 ? cgroup_rmdir(own_fd, name) : negerrno();
        safe_close(own_fd);
        if (r < 0 && r != -ENOENT)
                run_warn("cgroup %s/%s not removed: %s", own, name, strerror(-r));
}

void run_cgroup_free(struct run_cgroup *cg) {
        bool said = false;

        if (!cg)
                return;
        if (cg->v2_fd >= 0)
                remove_dir(&cg->v2_fd, cg->v2_own, cg->name, &said);
        for (int c = 0; c < _CG_CTL_MAX; c++) {
                safe_close(cg->v1_tasks[c]);
                safe_close(cg->v1_limit[c]);
                safe_close(cg->v1_own_tasks[c]);
                if (cg->v1_own[c])
                        remove_dir(&cg->v1_fd[c], cg->v1_own[c], cg->name, &said);
                free(cg->v1_own[c]);
        }
        free(cg->v2_own);
        free(cg);
}
