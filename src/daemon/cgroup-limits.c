/* SPDX-License-Identifier: MIT */
/* MemoryMax=, MemoryHigh=, TasksMax=, CPUQuota= through cgroups: cgroup v2 where the
 * controller can be had, else cgroup v1, else said out loud.  cgroup-limits.h has the
 * contract; docs/architecture.md ("Resource limits") the reasoning. */
#include "cgroup-limits.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util.h"
#include "log.h"
#include "manager.h"

#define PIDS_MAX_LIMIT 4194304ULL /* PID_MAX_LIMIT on 64-bit: more tasks cannot exist */
#define CPU_PERIOD_DEFAULT (100 * USEC_PER_MSEC)
#define CPU_RESOLUTION USEC_PER_MSEC /* the kernel's floor for a period and a quota */
#define CPU_PERIOD_MAX USEC_PER_SEC
#define HIDE_ENV "PIDVISOR_TEST_CGROUP_HIDE"
#define DAEMON_LEAF "daemon" /* base/daemon: where the daemon lives if it must leave own */

static const char *const ctl_names[_CG_CTL_MAX] = {
        [CG_MEMORY] = "memory",
        [CG_PIDS] = "pids",
        [CG_CPU] = "cpu",
};

const char *cg_ctl_name(enum cg_ctl c) {
        return c < _CG_CTL_MAX ? ctl_names[c] : "?";
}

/* ---- values ---------------------------------------------------------------------------- */

char *cg_format_bytes(char *buf, size_t size, uint64_t bytes) {
        static const char units[] = "KMGTPE";
        int u = -1;

        while (bytes != 0 && u + 1 < 6 && bytes % 1024 == 0) {
                bytes /= 1024;
                u++;
        }
        if (u < 0)
                snprintf(buf, size, "%" PRIu64, bytes);
        else
                snprintf(buf, size, "%" PRIu64 "%c", bytes, units[u]);
        return buf;
}

char *cg_format_percent(char *buf, size_t size, uint64_t permyriad) {
        if (permyriad % 100 == 0)
                snprintf(buf, size, "%" PRIu64 "%%", permyriad / 100);
        else if (permyriad % 10 == 0)
                snprintf(buf, size, "%" PRIu64 ".%" PRIu64 "%%", permyriad / 100, permyriad % 100 / 10);
        else
                snprintf(buf, size, "%" PRIu64 ".%02" PRIu64 "%%", permyriad / 100, permyriad % 100);
        return buf;
}

/* total * permyriad / 10000 without overflow. */
static uint64_t scale(uint64_t total, uint64_t permyriad) {
        unsigned __int128 v = (unsigned __int128)total * permyriad / 10000;

        return v >= CG_NO_LIMIT ? CG_NO_LIMIT - 1 : (uint64_t)v;
}

static uint64_t memory_amount(const struct cg_amount *a, uint64_t phys, uint64_t page) {
        uint64_t v;

        switch (a->kind) {
        case CG_AMOUNT_ABSOLUTE:
                return a->value;
        case CG_AMOUNT_PERCENT:
                /* A share of the physical memory, whole pages (systemd rounds down too). */
                v = scale(phys / page, a->value) * page;
                return v < page ? page : v;
        case CG_AMOUNT_UNSET:
        case CG_AMOUNT_INFINITY:
                break;
        }
        return CG_NO_LIMIT;
}

static uint64_t tasks_amount(const struct cg_amount *a, uint64_t tasks_sys) {
        uint64_t v;

        switch (a->kind) {
        case CG_AMOUNT_ABSOLUTE:
                v = a->value;
                break;
        case CG_AMOUNT_PERCENT:
                v = scale(tasks_sys, a->value);
                if (v < 1)
                        v = 1;
                break;
        case CG_AMOUNT_UNSET:
        case CG_AMOUNT_INFINITY:
        default:
                return CG_NO_LIMIT;
        }
        /* pids.max refuses numbers above PID_MAX_LIMIT; no system has more tasks. */
        return v > PIDS_MAX_LIMIT ? CG_NO_LIMIT : v;
}

void cg_limits_resolve(const struct cg_limits_config *c, uint64_t phys_mem, uint64_t tasks_max_sys,
                       uint64_t page_size, struct cg_limits_values *ret) {
        struct cg_limits_values v = {
                .memory_max = memory_amount(&c->memory_max, phys_mem, page_size ?: 4096),
                .memory_high = memory_amount(&c->memory_high, phys_mem, page_size ?: 4096),
                .tasks_max = tasks_amount(&c->tasks_max, tasks_max_sys),
                .cpu_quota_usec = CG_NO_LIMIT,
                .cpu_period_usec = c->cpu_quota_period ?: CPU_PERIOD_DEFAULT,
        };

        if (c->cpu_quota > 0) {
                /* systemd's arithmetic: the quota per second, a period long enough for the
                 * kernel's 1 ms resolution (at most 1 s), and never less than 1 ms. */
                uint64_t per_sec = c->cpu_quota * USEC_PER_SEC / 10000, p = v.cpu_period_usec;

                if (per_sec == 0)
                        per_sec = 1;
                if (p < CPU_RESOLUTION)
                        p = CPU_RESOLUTION;
                if (p < CPU_RESOLUTION * USEC_PER_SEC / per_sec)
                        p = CPU_RESOLUTION * USEC_PER_SEC / per_sec;
                if (p > CPU_PERIOD_MAX)
                        p = CPU_PERIOD_MAX;
                v.cpu_period_usec = p;
                v.cpu_quota_usec = per_sec * p / USEC_PER_SEC;
                if (v.cpu_quota_usec < CPU_RESOLUTION)
                        v.cpu_quota_usec = CPU_RESOLUTION;
        }
        if (v.memory_max != CG_NO_LIMIT || v.memory_high != CG_NO_LIMIT)
                v.need |= 1u << CG_MEMORY;
        if (v.tasks_max != CG_NO_LIMIT)
                v.need |= 1u << CG_PIDS;
        if (v.cpu_quota_usec != CG_NO_LIMIT)
                v.need |= 1u << CG_CPU;
        *ret = v;
}

static int read_u64_file(const char *path, uint64_t *ret) {
        char buf[64];
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n;

        if (fd < 0)
                return negerrno();
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
                return n < 0 ? -errno : -ENODATA;
        buf[n] = 0;
        *ret = strtoull(buf, NULL, 10);
        return 0;
}

uint64_t cg_physical_memory(void) {
        long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);

        if (pages <= 0 || page <= 0)
                return CG_NO_LIMIT - 1;
        return (uint64_t)pages * (uint64_t)page;
}

uint64_t cg_system_tasks_max(void) {
        uint64_t a = PIDS_MAX_LIMIT, b = PIDS_MAX_LIMIT, v = 0;

        if (read_u64_file("/proc/sys/kernel/threads-max", &v) == 0 && v > 0)
                a = v;
        if (read_u64_file("/proc/sys/kernel/pid_max", &v) == 0 && v > 1)
                b = v - 1; /* pid 0 is not a process */
        return a < b ? a : b;
}

/* ---- small file helpers --------------------------------------------------------------- */

int cg_write_file(int dirfd, const char *name, const char *value) {
        int fd = openat(dirfd, name, O_WRONLY | O_TRUNC | O_CLOEXEC), r = 0;
        size_t len = strlen(value);

        if (fd < 0)
                return negerrno();
        if (write(fd, value, len) != (ssize_t)len)
                r = negerrno();
        close(fd);
        return r;
}

/* Writes to a descriptor kept open (cgroupfs takes each write whole, at offset 0). */
static int write_fd(int fd, const char *value) {
        size_t len = strlen(value);

        if (pwrite(fd, value, len, 0) != (ssize_t)len)
                return negerrno();
        return 0;
}

static int read_small(int dirfd, const char *name, char *buf, size_t size) {
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
        buf[strcspn(buf, "\n")] = 0;
        return 0;
}

/* Whether the space-separated list has the word. */
static bool has_word(const char *list, const char *word) {
        size_t n = strlen(word);

        for (const char *p = list; (p = strstr(p, word)); p += n)
                if ((p == list || p[-1] == ' ') && (p[n] == 0 || p[n] == ' ' || p[n] == '\n'))
                        return true;
        return false;
}

static const char *u64_or_max(char *buf, size_t size, uint64_t v, const char *max) {
        if (v == CG_NO_LIMIT)
                return max;
        snprintf(buf, size, "%" PRIu64, v);
        return buf;
}

/* ---- cgroup v1: where our cgroup of a hierarchy is -------------------------------------- */

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s) {
        char *w = s;

        for (; *s; s++) {
                if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
                    s[3] >= '0' && s[3] <= '7') {
                        *w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
                        s += 3;
                } else
                        *w++ = *s;
        }
        *w = 0;
}

static bool in_comma_list(const char *list, const char *word) {
        size_t n = strlen(word);

        for (const char *p = list; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
                if (strncmp(p, word, n) == 0 && (p[n] == ',' || p[n] == 0 || p[n] == '\n' || p[n] == ' '))
                        return true;
        return false;
}

/* Our path in the hierarchy of `controller`, from /proc/self/cgroup ("4:memory:/a/b"). */
static char *v1_own_path(const char *proc_cgroup, const char *controller) {
        for (const char *line = proc_cgroup; line && *line;) {
                const char *end = strchr(line, '\n'), *c1 = strchr(line, ':'), *c2;

                if (!end)
                        end = line + strlen(line);
                c2 = c1 && c1 < end ? memchr(c1 + 1, ':', (size_t)(end - c1 - 1)) : NULL;
                if (c2) {
                        char list[256];
                        size_t n = (size_t)(c2 - c1 - 1);

                        if (n < sizeof(list)) {
                                memcpy(list, c1 + 1, n);
                                list[n] = 0;
                                if (n > 0 && in_comma_list(list, controller))
                                        return strndup(c2 + 1, (size_t)(end - c2 - 1));
                        }
                }
                line = *end ? end + 1 : NULL;
        }
        return NULL;
}

int cg_v1_locate(const char *mountinfo, const char *proc_cgroup, const char *controller,
                 char **ret_dir, char *why, size_t why_size) {
        _cleanup_free_ char *own = v1_own_path(proc_cgroup, controller);
        bool mounted = false;

        for (const char *line = mountinfo; line && *line;) {
                const char *end = strchr(line, '\n');
                _cleanup_free_ char *copy = strndup(line, end ? (size_t)(end - line) : strlen(line));
                char *dash, *f[6] = { 0 }, *save = NULL, *fstype, *opts;
                size_t rl;

                line = end ? end + 1 : NULL;
                if (!copy)
                        return -ENOMEM;
                dash = strstr(copy, " - ");
                if (!dash)
                        continue;
                *dash = 0;
                fstype = strtok_r(dash + 3, " ", &save);
                (void)strtok_r(NULL, " ", &save); /* source */
                opts = strtok_r(NULL, " ", &save);
                if (!fstype || !opts || strcmp(fstype, "cgroup") || !in_comma_list(opts, controller))
                        continue;
                save = NULL;
                for (int i = 0; i < 5; i++)
                        f[i] = strtok_r(i ? NULL : copy, " ", &save);
                if (!f[3] || !f[4])
                        continue;
                mounted = true;
                if (!own)
                        break;
                unescape_octal(f[3]);
                unescape_octal(f[4]);
                /* The mount shows the hierarchy from f[3] down: our path must be below it. */
                rl = strcmp(f[3], "/") == 0 ? 0 : strlen(f[3]);
                if (strncmp(own, f[3], rl) != 0 || (own[rl] != '/' && own[rl] != 0))
                        continue;
                if (asprintf(ret_dir, "%s%s", f[4], strcmp(own + rl, "/") == 0 ? "" : own + rl) < 0)
                        return -ENOMEM;
                return 0;
        }
        if (!mounted)
                snprintf(why, why_size, "no cgroup v1 hierarchy of it is mounted");
        else if (!own)
                snprintf(why, why_size, "its hierarchy is mounted, but /proc/self/cgroup has no line for it");
        else
                snprintf(why, why_size, "our cgroup %s is outside the mounted part of its hierarchy", own);
        return mounted ? -ENOMEDIUM : -ENOENT;
}

/* ---- cgroup v2 ---------------------------------------------------------------------------- */

/* Moves the daemon into base/daemon: then own holds no process of ours. */
static int cg2_move_self(struct cg2_tree *t) {
        _cleanup_close_ int fd = -EBADF;

        if (mkdirat(t->base_fd, DAEMON_LEAF, 0755) < 0 && errno != EEXIST)
                return negerrno();
        fd = openat(t->base_fd, DAEMON_LEAF, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negerrno();
        return t->write_file(fd, "cgroup.procs", "0");
}

int cg2_enable(struct cg2_tree *t, enum cg_ctl c, char *why, size_t why_size) {
        const char *name = cg_ctl_name(c);
        char buf[512], plus[32];
        int r;

        if (t->enabled & (1u << c))
                return 0;
        r = read_small(t->own_fd, "cgroup.controllers", buf, sizeof(buf));
        if (r < 0) {
                snprintf(why, why_size, "%s/cgroup.controllers: %s", t->own_path, strerror(-r));
                return r;
        }
        if (!has_word(buf, name)) {
                snprintf(why, why_size, "%s/cgroup.controllers: %s", t->own_path, *buf ? buf : "(empty)");
                return -ENOENT;
        }
        if (t->hidden & (1u << c)) {
                snprintf(why, why_size, "%s/cgroup.controllers has it, but it is hidden by $%s", t->own_path,
                         HIDE_ENV);
                return -ENOENT;
        }
        /* Enabled by an earlier daemon of this state directory, or by hand. */
        if (read_small(t->base_fd, "cgroup.subtree_control", buf, sizeof(buf)) == 0 && has_word(buf, name)) {
                t->enabled |= 1u << c;
                return 0;
        }
        snprintf(plus, sizeof(plus), "+%s", name);
        if (read_small(t->own_fd, "cgroup.subtree_control", buf, sizeof(buf)) < 0 || !has_word(buf, name)) {
                r = t->write_file(t->own_fd, "cgroup.subtree_control", plus);
                if (r == -EBUSY && !t->moved) {
                        /* No internal processes: a cgroup that holds processes (the
                         * daemon, in own) cannot hand controllers to its children.  The
                         * daemon moves into a leaf of its own and tries again. */
                        int q = cg2_move_self(t);
                        if (q < 0) {
                                snprintf(why, why_size,
                                         "enabling it in %s/cgroup.subtree_control needs the daemon out of "
                                         "%s, but it cannot move into %s/" DAEMON_LEAF ": %s",
                                         t->own_path, t->own_path, t->base_path, strerror(-q));
                                return q;
                        }
                        t->moved = true;
                        log_info("cgroups: moved the daemon into %s/" DAEMON_LEAF
                                 " so that %s can hand controllers to its services (no internal processes)",
                                 t->base_path, t->own_path);
                        r = t->write_file(t->own_fd, "cgroup.subtree_control", plus);
                }
                if (r == -EBUSY) {
                        snprintf(why, why_size,
                                 "cannot enable it in %s/cgroup.subtree_control: other processes live in "
                                 "%s, and a cgroup with processes cannot enable controllers for its "
                                 "children; give pidvisor a cgroup of its own (systemd: Delegate=yes)",
                                 t->own_path, t->own_path);
                        return r;
                }
                if (r < 0) {
                        snprintf(why, why_size, "cannot enable it in %s/cgroup.subtree_control: %s",
                                 t->own_path, strerror(-r));
                        return r;
                }
        }
        r = t->write_file(t->base_fd, "cgroup.subtree_control", plus);
        if (r < 0) {
                snprintf(why, why_size, "cannot enable it in %s/cgroup.subtree_control: %s", t->base_path,
                         strerror(-r));
                return r;
        }
        t->enabled |= 1u << c;
        return 0;
}

int cg2_write_limits(int service_fd, enum cg_ctl c, const struct cg_limits_values *v, char *why,
                     size_t why_size) {
        char buf[64], q[32];
        const char *file[2] = { NULL, NULL }, *value[2] = { NULL, NULL };
        char buf2[64];

        switch (c) {
        case CG_MEMORY:
                /* memory.high first: lowering memory.max below usage reclaims, and a
                 * memory.high above the new max would be odd in between. */
                file[0] = "memory.high";
                value[0] = u64_or_max(buf, sizeof(buf), v->memory_high, "max");
                file[1] = "memory.max";
                value[1] = u64_or_max(buf2, sizeof(buf2), v->memory_max, "max");
                break;
        case CG_PIDS:
                file[0] = "pids.max";
                value[0] = u64_or_max(buf, sizeof(buf), v->tasks_max, "max");
                break;
        case CG_CPU:
                snprintf(buf, sizeof(buf), "%s %" PRIu64,
                         u64_or_max(q, sizeof(q), v->cpu_quota_usec, "max"), v->cpu_period_usec);
                file[0] = "cpu.max";
                value[0] = buf;
                break;
        case _CG_CTL_MAX:
        default:
                return -EINVAL;
        }
        for (int i = 0; i < 2 && file[i]; i++) {
                int r = cg_write_file(service_fd, file[i], value[i]);
                if (r < 0) {
                        snprintf(why, why_size, "writing \"%s\" to %s: %s", value[i], file[i], strerror(-r));
                        return r;
                }
        }
        return 0;
}

/* ---- the daemon's state ------------------------------------------------------------------ */

/* How one key is enforced at the current start. */
enum cg_via {
        CG_VIA_UNNEEDED, /* not set, or infinity with nothing else of its controller */
        CG_VIA_V2,
        CG_VIA_V1,
        CG_VIA_NONE, /* asked for, not enforced */
};

enum cg_key { CG_KEY_MEMORY_MAX, CG_KEY_MEMORY_HIGH, CG_KEY_TASKS_MAX, CG_KEY_CPU_QUOTA, _CG_KEY_MAX };

static const struct {
        const char *name;
        enum cg_ctl ctl;
        const char *v1_file; /* NULL: cgroup v1 has no such limit */
        const char *v2_file;
} key_info[_CG_KEY_MAX] = {
        [CG_KEY_MEMORY_MAX] = { "MemoryMax", CG_MEMORY, "memory.limit_in_bytes", "memory.max" },
        [CG_KEY_MEMORY_HIGH] = { "MemoryHigh", CG_MEMORY, NULL, "memory.high" },
        [CG_KEY_TASKS_MAX] = { "TasksMax", CG_PIDS, "pids.max", "pids.max" },
        [CG_KEY_CPU_QUOTA] = { "CPUQuota", CG_CPU, "cpu.cfs_quota_us", "cpu.max" },
};

/* A v1 hierarchy as the daemon uses it. */
struct cg_v1 {
        bool probed;
        char *base_dir;   /* OWN/pidvisor-HASH, created at the first use */
        int base_fd;
        int own_tasks_fd; /* OWN/tasks: the way back after a spawn */
        char why[320];    /* why it cannot be used (when base_fd < 0) */
};

struct cg_limits_manager {
        unsigned hidden;   /* $PIDVISOR_TEST_CGROUP_HIDE */
        bool have_v2;
        struct cg2_tree v2;
        char *v2_own_path;
        struct cg_v1 v1[_CG_CTL_MAX];
};

struct cg_limits_service {
        struct cg_limits_config cfg; /* as asked at the last start */
        struct cg_limits_values v;
        enum cg_via via[_CG_KEY_MAX];
        char detail[_CG_KEY_MAX][2400]; /* the file written, or why not */
        unsigned v2_written;           /* controllers whose v2 files we set (reset later) */
        unsigned v1_active;            /* controllers enforced through v1 at this start */
        unsigned v1_entered;           /* during a spawn: the hierarchies the daemon is in */
        int v1_tasks[_CG_CTL_MAX];     /* NAME.service/tasks */
        int v1_limit[_CG_CTL_MAX];     /* memory.limit_in_bytes, pids.max, cpu.cfs_quota_us */
        bool v1_made[_CG_CTL_MAX];     /* NAME.service exists in that hierarchy */
};

static unsigned parse_hidden(void) {
        const char *e = getenv(HIDE_ENV);
        unsigned mask = 0;

        if (!e || !*e)
                return 0;
        for (int c = 0; c < _CG_CTL_MAX; c++)
                if (in_comma_list(e, ctl_names[c]) || strcmp(e, "all") == 0)
                        mask |= 1u << c;
        log_warning("cgroups: $%s=%s: these controllers are taken as absent (a test setting)", HIDE_ENV, e);
        return mask;
}

static struct cg_limits_manager *manager_state(struct manager *m) {
        struct cg_limits_manager *ms;

        if (m->cgl)
                return m->cgl;
        ms = calloc(1, sizeof(*ms));
        if (!ms)
                return NULL;
        ms->hidden = parse_hidden();
        ms->v2.own_fd = ms->v2.base_fd = -EBADF;
        for (int c = 0; c < _CG_CTL_MAX; c++)
                ms->v1[c] = (struct cg_v1){ .base_fd = -EBADF, .own_tasks_fd = -EBADF };
        if (m->cgroup_base && m->cgroup_base_fd >= 0) {
                char *slash;

                ms->v2_own_path = strdup(m->cgroup_base);
                slash = ms->v2_own_path ? strrchr(ms->v2_own_path, '/') : NULL;
                if (slash) {
                        *slash = 0;
                        ms->v2.own_fd = open(ms->v2_own_path, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
                }
                if (ms->v2.own_fd >= 0) {
                        ms->have_v2 = true;
                        ms->v2.base_fd = m->cgroup_base_fd; /* borrowed */
                        ms->v2.own_path = ms->v2_own_path;
                        ms->v2.base_path = m->cgroup_base;
                        ms->v2.write_file = cg_write_file;
                        ms->v2.hidden = ms->hidden;
                }
        }
        m->cgl = ms;
        return ms;
}

static char *read_text(const char *path) {
        FILE *f = fopen(path, "re");
        char *buf = NULL;
        size_t cap = 0, len = 0;

        if (!f)
                return NULL;
        for (;;) {
                char *g;
                size_t n;
                if (len + 4096 + 1 > cap) {
                        cap = (len + 4096 + 1) * 2;
                        g = realloc(buf, cap);
                        if (!g) {
                                free(buf);
                                fclose(f);
                                return NULL;
                        }
                        buf = g;
                }
                n = fread(buf + len, 1, cap - len - 1, f);
                len += n;
                if (n == 0)
                        break;
        }
        fclose(f);
        buf[len] = 0;
        return buf;
}

/* The v1 hierarchy of c, its base directory made: NULL with ms->v1[c].why. */
static struct cg_v1 *v1_hierarchy(struct manager *m, struct cg_limits_manager *ms, enum cg_ctl c) {
        struct cg_v1 *h = &ms->v1[c];
        _cleanup_free_ char *mountinfo = NULL, *self = NULL, *own = NULL, *tasks = NULL;
        char name[32];
        int r, fd;

        if (h->base_fd >= 0)
                return h;
        if (h->probed)
                return NULL;
        h->probed = true;
        if (ms->hidden & (1u << c)) {
                snprintf(h->why, sizeof(h->why), "hidden by $%s", HIDE_ENV);
                return NULL;
        }
        mountinfo = read_text("/proc/self/mountinfo");
        self = read_text("/proc/self/cgroup");
        if (!mountinfo || !self) {
                snprintf(h->why, sizeof(h->why), "cannot read /proc/self/mountinfo or /proc/self/cgroup");
                return NULL;
        }
        r = cg_v1_locate(mountinfo, self, ctl_names[c], &own, h->why, sizeof(h->why));
        if (r < 0)
                return NULL;
        cgroup_instance_name(m, name, sizeof(name));
        if (asprintf(&h->base_dir, "%s/%s", own, name) < 0 || asprintf(&tasks, "%s/tasks", own) < 0) {
                h->base_dir = NULL;
                snprintf(h->why, sizeof(h->why), "out of memory");
                return NULL;
        }
        if (mkdir(h->base_dir, 0755) < 0 && errno != EEXIST) {
                snprintf(h->why, sizeof(h->why), "cannot create %s: %s", h->base_dir, strerror(errno));
                return NULL;
        }
        fd = open(tasks, O_WRONLY | O_CLOEXEC);
        if (fd < 0) {
                snprintf(h->why, sizeof(h->why), "cannot open %s: %s", tasks, strerror(errno));
                return NULL;
        }
        h->own_tasks_fd = fd_move_above(fd, DAEMON_FD_HIGH);
        fd = open(h->base_dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                snprintf(h->why, sizeof(h->why), "cannot open %s: %s", h->base_dir, strerror(errno));
                h->own_tasks_fd = safe_close(h->own_tasks_fd);
                return NULL;
        }
        h->base_fd = fd_move_above(fd, DAEMON_FD_HIGH);
        log_info("cgroups: %s limits through cgroup v1 below %s", ctl_names[c], h->base_dir);
        return h;
}

static void v1_close_service(struct cg_limits_service *st, enum cg_ctl c) {
        st->v1_tasks[c] = safe_close(st->v1_tasks[c]);
        st->v1_limit[c] = safe_close(st->v1_limit[c]);
}

/* NAME.service in the v1 hierarchy of c, with its limits written. */
static int v1_prepare(struct manager *m, struct service *s, struct cg_limits_service *st, enum cg_ctl c,
                      char *why, size_t why_size) {
        struct cg_limits_manager *ms = m->cgl;
        struct cg_v1 *h = v1_hierarchy(m, ms, c);
        static const char *const limit_file[_CG_CTL_MAX] = {
                [CG_MEMORY] = "memory.limit_in_bytes",
                [CG_PIDS] = "pids.max",
                [CG_CPU] = "cpu.cfs_quota_us",
        };
        char dir[264], num[32];
        _cleanup_close_ int dfd = -EBADF;
        int fd, r;

        if (!h) {
                snprintf(why, why_size, "%s", ms->v1[c].why);
                return -ENOENT;
        }
        snprintf(dir, sizeof(dir), "%s.service", s->name);
        if (mkdirat(h->base_fd, dir, 0755) < 0 && errno != EEXIST) {
                r = negerrno();
                snprintf(why, why_size, "cannot create %s/%s: %s", h->base_dir, dir, strerror(-r));
                return r;
        }
        st->v1_made[c] = true;
        dfd = openat(h->base_fd, dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (dfd < 0) {
                r = negerrno();
                snprintf(why, why_size, "cannot open %s/%s: %s", h->base_dir, dir, strerror(-r));
                return r;
        }
        if (st->v1_tasks[c] < 0) {
                fd = openat(dfd, "tasks", O_WRONLY | O_CLOEXEC);
                if (fd >= 0)
                        st->v1_tasks[c] = fd_move_above(fd, DAEMON_FD_HIGH);
                fd = openat(dfd, limit_file[c], O_WRONLY | O_CLOEXEC);
                if (fd >= 0)
                        st->v1_limit[c] = fd_move_above(fd, DAEMON_FD_HIGH);
                if (st->v1_tasks[c] < 0 || st->v1_limit[c] < 0) {
                        r = -errno;
                        snprintf(why, why_size, "cannot open %s/%s/%s: %s", h->base_dir, dir,
                                 st->v1_tasks[c] < 0 ? "tasks" : limit_file[c], strerror(-r));
                        v1_close_service(st, c);
                        return r;
                }
        }
        switch (c) {
        case CG_MEMORY:
                r = write_fd(st->v1_limit[c], u64_or_max(num, sizeof(num), st->v.memory_max, "-1"));
                break;
        case CG_PIDS:
                r = write_fd(st->v1_limit[c], u64_or_max(num, sizeof(num), st->v.tasks_max, "max"));
                break;
        case CG_CPU:
                /* The quota off first: a new period with an old quota might be refused. */
                r = write_fd(st->v1_limit[c], "-1");
                if (r >= 0) {
                        snprintf(num, sizeof(num), "%" PRIu64, st->v.cpu_period_usec);
                        r = cg_write_file(dfd, "cpu.cfs_period_us", num);
                        if (r < 0) {
                                snprintf(why, why_size, "writing %s to %s/%s/cpu.cfs_period_us: %s", num,
                                         h->base_dir, dir, strerror(-r));
                                return r;
                        }
                        r = write_fd(st->v1_limit[c], u64_or_max(num, sizeof(num), st->v.cpu_quota_usec, "-1"));
                }
                break;
        case _CG_CTL_MAX:
        default:
                return -EINVAL;
        }
        if (r < 0) {
                snprintf(why, why_size, "writing %s to %s/%s/%s: %s", num, h->base_dir, dir, limit_file[c],
                         r == -EBUSY && c == CG_MEMORY ? "the cgroup already uses more (Device or resource busy)"
                                                        : strerror(-r));
                return r;
        }
        return 0;
}

static void key_value_text(const struct cg_limits_config *cfg, enum cg_key k, char *buf, size_t size) {
        const struct cg_amount *a = k == CG_KEY_MEMORY_MAX    ? &cfg->memory_max
                                    : k == CG_KEY_MEMORY_HIGH ? &cfg->memory_high
                                                              : &cfg->tasks_max;

        if (k == CG_KEY_CPU_QUOTA) {
                if (cfg->cpu_quota == 0)
                        snprintf(buf, size, "-");
                else
                        cg_format_percent(buf, size, cfg->cpu_quota);
                return;
        }
        switch (a->kind) {
        case CG_AMOUNT_INFINITY:
                snprintf(buf, size, "infinity");
                break;
        case CG_AMOUNT_PERCENT:
                cg_format_percent(buf, size, a->value);
                break;
        case CG_AMOUNT_ABSOLUTE:
                if (k == CG_KEY_TASKS_MAX)
                        snprintf(buf, size, "%" PRIu64, a->value);
                else
                        cg_format_bytes(buf, size, a->value);
                break;
        case CG_AMOUNT_UNSET:
        default:
                snprintf(buf, size, "-");
                break;
        }
}

static bool key_given(const struct cg_limits_config *cfg, enum cg_key k) {
        switch (k) {
        case CG_KEY_MEMORY_MAX:
                return cfg->memory_max.kind != CG_AMOUNT_UNSET;
        case CG_KEY_MEMORY_HIGH:
                return cfg->memory_high.kind != CG_AMOUNT_UNSET;
        case CG_KEY_TASKS_MAX:
                return cfg->tasks_max.kind != CG_AMOUNT_UNSET;
        case CG_KEY_CPU_QUOTA:
                return cfg->cpu_quota != 0;
        case _CG_KEY_MAX:
        default:
                return false;
        }
}

static bool key_finite(const struct cg_limits_values *v, enum cg_key k) {
        switch (k) {
        case CG_KEY_MEMORY_MAX:
                return v->memory_max != CG_NO_LIMIT;
        case CG_KEY_MEMORY_HIGH:
                return v->memory_high != CG_NO_LIMIT;
        case CG_KEY_TASKS_MAX:
                return v->tasks_max != CG_NO_LIMIT;
        case CG_KEY_CPU_QUOTA:
                return v->cpu_quota_usec != CG_NO_LIMIT;
        case _CG_KEY_MAX:
        default:
                return false;
        }
}

int cgroup_limits_prepare(struct service *s, char *why, size_t why_size) {
        struct manager *m = s->m;
        const struct cg_limits_config *cfg = &s->cfg->cg_limits;
        struct cg_limits_service *st = s->cgl;
        struct cg_limits_manager *ms;
        char v2_why[_CG_CTL_MAX][1024], v1_why[_CG_CTL_MAX][1024];
        enum cg_via ctl_via[_CG_CTL_MAX];
        int failed = -1;

        if (!st && cg_limits_config_empty(cfg))
                return 0; /* the common case: nothing to do, nothing kept */
        ms = manager_state(m);
        if (!ms) {
                snprintf(why, why_size, "resource limits: out of memory");
                return -ENOMEM;
        }
        if (!st) {
                st = calloc(1, sizeof(*st));
                if (!st) {
                        free(st);
                        snprintf(why, why_size, "resource limits: out of memory");
                        return -ENOMEM;
                }
                for (int c = 0; c < _CG_CTL_MAX; c++)
                        st->v1_tasks[c] = st->v1_limit[c] = -EBADF;
                s->cgl = st;
        }
        st->cfg = *cfg;
        cg_limits_resolve(cfg, cg_physical_memory(), cfg->tasks_max.kind == CG_AMOUNT_PERCENT ? cg_system_tasks_max() : 0,
                          (uint64_t)sysconf(_SC_PAGESIZE), &st->v);
        st->v1_active = 0;

        /* Per controller: v2, else v1, else none. */
        for (int c = 0; c < _CG_CTL_MAX; c++) {
                unsigned bit = 1u << c;

                ctl_via[c] = CG_VIA_UNNEEDED;
                v2_why[c][0] = v1_why[c][0] = 0;
                if (!(st->v.need & bit)) {
                        /* Asked for nothing finite: undo what an earlier start set in v2. */
                        if (st->v2_written & bit) {
                                char ignored[200];
                                struct cg_limits_values none;
                                cg_limits_resolve(&(struct cg_limits_config){ 0 }, 1, 1, 4096, &none);
                                if (s->cgroup_fd >= 0)
                                        (void)cg2_write_limits(s->cgroup_fd, c, &none, ignored, sizeof(ignored));
                                st->v2_written &= ~bit;
                        }
                        continue;
                }
                if (!ms->have_v2 || s->cgroup_fd < 0)
                        snprintf(v2_why[c], sizeof(v2_why[c]), "%s", ms->have_v2 ? "the service has no cgroup v2 directory"
                                                                                 : "no writable cgroup v2 hierarchy");
                else if (cg2_enable(&ms->v2, c, v2_why[c], sizeof(v2_why[c])) >= 0 &&
                         cg2_write_limits(s->cgroup_fd, c, &st->v, v2_why[c], sizeof(v2_why[c])) >= 0) {
                        ctl_via[c] = CG_VIA_V2;
                        st->v2_written |= bit;
                        continue;
                }
                if (c == CG_MEMORY && st->v.memory_max == CG_NO_LIMIT)
                        /* MemoryHigh= alone: nothing for v1 to do (see below). */
                        snprintf(v1_why[c], sizeof(v1_why[c]), "cgroup v1 has no memory.high");
                else if (v1_prepare(m, s, st, c, v1_why[c], sizeof(v1_why[c])) >= 0) {
                        ctl_via[c] = CG_VIA_V1;
                        st->v1_active |= bit;
                        continue;
                }
                ctl_via[c] = CG_VIA_NONE;
        }

        /* Per key: what it got, in words. */
        for (int k = 0; k < _CG_KEY_MAX; k++) {
                enum cg_ctl c = key_info[k].ctl;
                const char *name = key_info[k].name;
                char *d = st->detail[k];
                size_t dsize = sizeof(st->detail[k]);

                d[0] = 0;
                st->via[k] = CG_VIA_UNNEEDED;
                if (!key_given(cfg, k))
                        continue;
                if (!key_finite(&st->v, k) && ctl_via[c] != CG_VIA_V2)
                        continue; /* infinity: nothing to enforce (v1 leaves it unlimited) */
                if (k == CG_KEY_MEMORY_HIGH && ctl_via[c] != CG_VIA_V2) {
                        st->via[k] = CG_VIA_NONE;
                        snprintf(d, dsize,
                                 "%s= not enforced: no %s controller in cgroup v2 (%s), and cgroup v1 has "
                                 "no equivalent of memory.high",
                                 name, ctl_names[c], v2_why[c]);
                } else switch (ctl_via[c]) {
                case CG_VIA_V2:
                        st->via[k] = CG_VIA_V2;
                        snprintf(d, dsize, "%s/%s.service/%s", m->cgroup_base, s->name, key_info[k].v2_file);
                        break;
                case CG_VIA_V1:
                        st->via[k] = CG_VIA_V1;
                        snprintf(d, dsize, "%s/%s.service/%s", ms->v1[c].base_dir, s->name, key_info[k].v1_file);
                        break;
                case CG_VIA_NONE:
                        st->via[k] = CG_VIA_NONE;
                        snprintf(d, dsize, "%s= not enforced: no %s controller in cgroup v2 (%s) nor in cgroup v1 (%s)",
                                 name, ctl_names[c], v2_why[c], v1_why[c]);
                        break;
                case CG_VIA_UNNEEDED:
                default:
                        break;
                }
                if (st->via[k] == CG_VIA_NONE) {
                        if (cfg->require && failed < 0) {
                                failed = k;
                                snprintf(why, why_size, "%s (RequireCgroupLimits=yes)", d);
                        } else if (!cfg->require)
                                log_warning("%s: %s; starting without it (RequireCgroupLimits=yes would "
                                            "refuse)", s->name, d);
                } else if (st->via[k] != CG_VIA_UNNEEDED)
                        log_debug("%s: %s= through cgroup %s: %s", s->name, name,
                                  st->via[k] == CG_VIA_V2 ? "v2" : "v1", d);
        }
        if (failed >= 0) {
                st->v1_active = 0; /* nothing is spawned */
                return -EOPNOTSUPP;
        }
        return 0;
}

/* ---- around each spawn (cgroup v1) ------------------------------------------------------ */

/* Sets the memory and CPU limits that were lifted for the spawn. */
static int v1_tighten(struct service *s, struct cg_limits_service *st, unsigned mask, const char **what) {
        char num[32];
        int r;

        if (mask & (1u << CG_MEMORY)) {
                r = write_fd(st->v1_limit[CG_MEMORY], u64_or_max(num, sizeof(num), st->v.memory_max, "-1"));
                if (r < 0) {
                        *what = "MemoryMax= (memory.limit_in_bytes)";
                        return r;
                }
        }
        if (mask & (1u << CG_CPU)) {
                r = write_fd(st->v1_limit[CG_CPU], u64_or_max(num, sizeof(num), st->v.cpu_quota_usec, "-1"));
                if (r < 0) {
                        *what = "CPUQuota= (cpu.cfs_quota_us)";
                        return r;
                }
        }
        return 0;
}

/* Back into our own v1 cgroups; pids first, where our presence counts against the
 * service. */
static void v1_leave(struct service *s, struct cg_limits_service *st) {
        static const enum cg_ctl order[_CG_CTL_MAX] = { CG_PIDS, CG_MEMORY, CG_CPU };
        struct cg_limits_manager *ms = s->m->cgl;

        for (int i = 0; i < _CG_CTL_MAX; i++) {
                enum cg_ctl c = order[i];
                if (st->v1_entered & (1u << c)) {
                        int r = write_fd(ms->v1[c].own_tasks_fd, "0");
                        if (r < 0)
                                log_error("%s: cannot move the daemon back to its own %s cgroup: %s; it "
                                          "stays in the service's", s->name, ctl_names[c], strerror(-r));
                }
        }
        st->v1_entered = 0;
}

int cgroup_limits_spawn_begin(struct service *s, char *why, size_t why_size) {
        struct cg_limits_service *st = s->cgl;
        char num[32];
        const char *what = NULL;
        int r = 0;

        if (!st || !st->v1_active)
                return 0;
        /* Lift what could harm the daemon while it is inside: a memory limit (an OOM kill
         * would pick it, or the vfork child that shares its memory) and a CPU quota (it
         * would be throttled for up to a period).  pids.max stays, raised by one for the
         * daemon's thread, so that the child is born under its limit. */
        if (st->v1_active & (1u << CG_MEMORY) && (r = write_fd(st->v1_limit[CG_MEMORY], "-1")) < 0)
                what = "lifting memory.limit_in_bytes";
        else if (st->v1_active & (1u << CG_CPU) && (r = write_fd(st->v1_limit[CG_CPU], "-1")) < 0)
                what = "lifting cpu.cfs_quota_us";
        else if (st->v1_active & (1u << CG_PIDS)) {
                uint64_t n = st->v.tasks_max == CG_NO_LIMIT ? CG_NO_LIMIT : st->v.tasks_max + 1;
                r = write_fd(st->v1_limit[CG_PIDS], u64_or_max(num, sizeof(num), n, "max"));
                if (r < 0)
                        what = "raising pids.max for the spawn";
        }
        /* "0" into tasks moves the calling thread only.  cgroup.procs would move the
         * whole process, under the global threadgroup rwsem taken for writing, which
         * waits for an RCU grace period whenever migrations are not back to back: some
         * 15 ms per spawn here.  Our one thread is all that matters: a child is born in
         * the cgroups of the thread that clones it. */
        for (int c = 0; r >= 0 && c < _CG_CTL_MAX; c++)
                if (st->v1_active & (1u << c)) {
                        r = write_fd(st->v1_tasks[c], "0");
                        if (r < 0)
                                what = ctl_names[c];
                        else
                                st->v1_entered |= 1u << c;
                }
        if (r >= 0)
                return 0;
        v1_leave(s, st);
        {
                const char *ignored;
                (void)v1_tighten(s, st, st->v1_active, &ignored);
                if (st->v1_active & (1u << CG_PIDS))
                        (void)write_fd(st->v1_limit[CG_PIDS], u64_or_max(num, sizeof(num), st->v.tasks_max, "max"));
        }
        snprintf(why, why_size, "cgroup v1: %s%s: %s", what, strchr(what, ' ') ? "" : " tasks",
                 strerror(-r));
        return r;
}

void cgroup_limits_spawn_end(struct service *s, const struct pv_process *child) {
        struct cg_limits_service *st = s->cgl;
        const char *what = NULL;
        char num[32];
        int r;

        if (!st || !st->v1_entered)
                return;
        /* pids.max first, while we are still counted: never looser than asked. */
        if (st->v1_entered & (1u << CG_PIDS)) {
                r = write_fd(st->v1_limit[CG_PIDS], u64_or_max(num, sizeof(num), st->v.tasks_max, "max"));
                if (r < 0)
                        log_error("%s: TasksMax=: cannot set pids.max back to %s: %s", s->name, num, strerror(-r));
        }
        v1_leave(s, st);
        r = v1_tighten(s, st, st->v1_active, &what);
        if (r < 0 && child && child->pidfd >= 0) {
                /* Running without its limit is not an option: as if the limit had hit. */
                log_error("%s: %s cannot be set after the spawn: %s; killing pid %d", s->name, what,
                          r == -EBUSY ? "the process already uses more" : strerror(-r), (int)child->pid);
                (void)pv_process_signal(child, SIGKILL, NULL);
        } else if (r < 0)
                log_error("%s: %s cannot be set: %s", s->name, what, strerror(-r));
}

/* ---- status ------------------------------------------------------------------------------- */

struct json_t *cgroup_limits_to_json(const struct service *s) {
        const struct cg_limits_service *st = s->cgl;
        json_t *o;

        if (!st || cg_limits_config_empty(&st->cfg))
                return NULL;
        o = json_object();
        for (int k = 0; k < _CG_KEY_MAX; k++) {
                char value[64];
                json_t *e;
                static const char *const via_names[] = {
                        [CG_VIA_UNNEEDED] = "not needed",
                        [CG_VIA_V2] = "v2",
                        [CG_VIA_V1] = "v1",
                        [CG_VIA_NONE] = "none",
                };

                if (!key_given(&st->cfg, k))
                        continue;
                key_value_text(&st->cfg, k, value, sizeof(value));
                e = json_pack("{s:s, s:s}", "value", value, "enforced", via_names[st->via[k]]);
                switch ((enum cg_key)k) {
                case CG_KEY_MEMORY_MAX:
                case CG_KEY_MEMORY_HIGH: {
                        uint64_t b = k == CG_KEY_MEMORY_MAX ? st->v.memory_max : st->v.memory_high;
                        json_object_set_new(e, "bytes", b == CG_NO_LIMIT ? json_null() : json_integer((json_int_t)b));
                        break;
                }
                case CG_KEY_TASKS_MAX:
                        json_object_set_new(e, "tasks", st->v.tasks_max == CG_NO_LIMIT
                                                                ? json_null()
                                                                : json_integer((json_int_t)st->v.tasks_max));
                        break;
                case CG_KEY_CPU_QUOTA:
                        json_object_set_new(e, "quota_usec", json_integer((json_int_t)st->v.cpu_quota_usec));
                        json_object_set_new(e, "period_usec", json_integer((json_int_t)st->v.cpu_period_usec));
                        break;
                case _CG_KEY_MAX:
                default:
                        break;
                }
                if (st->via[k] == CG_VIA_V1 || st->via[k] == CG_VIA_V2)
                        json_object_set_new(e, "file", json_string(st->detail[k]));
                else if (st->via[k] == CG_VIA_NONE)
                        json_object_set_new(e, "reason", json_string(st->detail[k]));
                json_object_set_new(o, key_info[k].name, e);
        }
        return o;
}

/* ---- teardown ------------------------------------------------------------------------------ */

void cgroup_limits_service_remove(struct manager *m, struct service *s) {
        struct cg_limits_service *st = s->cgl;
        char dir[512];

        if (!st)
                return;
        snprintf(dir, sizeof(dir), "%s.service", s->name);
        for (int c = 0; c < _CG_CTL_MAX; c++) {
                v1_close_service(st, c);
                int r = st->v1_made[c] && m->cgl && m->cgl->v1[c].base_fd >= 0
                                ? cgroup_rmdir(m->cgl->v1[c].base_fd, dir)
                                : 0;
                if (r < 0 && r != -ENOENT)
                        log_warning("%s: cgroup v1 directory %s/%s not removed: %s", s->name,
                                    m->cgl->v1[c].base_dir, dir, strerror(-r));
        }
        free(st);
        s->cgl = NULL;
}

void cgroup_limits_free(struct manager *m) {
        struct cg_limits_manager *ms = m->cgl;

        if (!ms)
                return;
        for (int c = 0; c < _CG_CTL_MAX; c++) {
                struct cg_v1 *h = &ms->v1[c];
                if (h->base_fd >= 0) {
                        safe_close(h->base_fd);
                        if (rmdir(h->base_dir) < 0 && errno != ENOENT && errno != EBUSY)
                                log_debug("cgroups: %s not removed: %s", h->base_dir, strerror(errno));
                }
                safe_close(h->own_tasks_fd);
                free(h->base_dir);
        }
        safe_close(ms->v2.own_fd);
        free(ms->v2_own_path);
        free(ms);
        m->cgl = NULL;
}
