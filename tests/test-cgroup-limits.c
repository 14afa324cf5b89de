/* SPDX-License-Identifier: MIT */
/* Resource limits (cgroup-limits.c): the keys and their messages, the arithmetic
 * (percentages, CPUQuota= periods), locating our cgroup v1 directories, enabling a
 * controller along a cgroup v2 path (on a fake tree, since this machine's v2 hierarchy has
 * only hugetlb), and the cgroup v1 placement around a real spawn, with its cost. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/cgroup-limits.h"
#include "daemon/manager.h"
#include "daemon/unit.h"
#include "lib/util.h"
#include "testlib.h"

#define MIN_SERVICE "[Service]\nExecStart=/bin/true\n"
#define KiB 1024ULL
#define MiB (1024ULL * KiB)
#define GiB (1024ULL * MiB)

/* ---- loading -------------------------------------------------------------------------- */

static char *diag_str(const struct diagnostics *d) {
        size_t len = 1;
        char *s;

        for (size_t i = 0; i < d->n; i++)
                len += strlen(d->items[i].text) + 3;
        s = malloc(len);
        ck_assert_ptr_nonnull(s);
        s[0] = 0;
        for (size_t i = 0; i < d->n; i++) {
                strcat(s, d->items[i].error ? "E " : "W ");
                strcat(s, d->items[i].text);
                strcat(s, "\n");
        }
        return s;
}

/* Loads MIN_SERVICE plus `more` (which may open other sections); the diagnostics must be
 * exactly `diags`. */
static struct unit_config *load(const char *more, const char *diags) {
        char *text = pv_test_fmt("%s%s", MIN_SERVICE, more), *got;
        struct diagnostics d = { 0 };
        struct unit_config *u = NULL;
        int r = unit_load_string("web.service", text, strlen(text), &u, &d);

        got = diag_str(&d);
        ck_assert_msg(strcmp(got, diags) == 0, "for %s\nexpected diagnostics:\n%sgot (r=%d):\n%s", more,
                      diags, r, got);
        ck_assert_int_eq(r, d.n_errors ? -EINVAL : 0);
        free(got);
        free(text);
        diagnostics_done(&d);
        return u;
}

static void expect_amount(const struct cg_amount *a, enum cg_amount_kind kind, uint64_t value) {
        ck_assert_int_eq(a->kind, kind);
        ck_assert_uint_eq(a->value, value);
}

START_TEST(test_defaults) {
        struct unit_config *u = load("", "");

        ck_assert(cg_limits_config_empty(&u->cg_limits));
        ck_assert(!u->cg_limits.require);
        ck_assert_uint_eq(u->cg_limits.cpu_quota_period, 0);
        unit_config_free(u);
}
END_TEST

START_TEST(test_memory_values) {
        static const struct {
                const char *value;
                enum cg_amount_kind kind;
                uint64_t v;
        } ok[] = {
                { "32M", CG_AMOUNT_ABSOLUTE, 32 * MiB },  { "1G", CG_AMOUNT_ABSOLUTE, GiB },
                { "512K", CG_AMOUNT_ABSOLUTE, 512 * KiB }, { "1.5G", CG_AMOUNT_ABSOLUTE, 3 * GiB / 2 },
                { "2T", CG_AMOUNT_ABSOLUTE, 2048 * GiB },  { "4096", CG_AMOUNT_ABSOLUTE, 4096 },
                { "1", CG_AMOUNT_ABSOLUTE, 1 },            { "50%", CG_AMOUNT_PERCENT, 5000 },
                { "12.5%", CG_AMOUNT_PERCENT, 1250 },      { "0.01%", CG_AMOUNT_PERCENT, 1 },
                { "100%", CG_AMOUNT_PERCENT, 10000 },      { "infinity", CG_AMOUNT_INFINITY, 0 },
        };
        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                char *more = pv_test_fmt("MemoryMax=%s\nMemoryHigh=%s\n", ok[i].value, ok[i].value);
                struct unit_config *u = load(more, "");
                expect_amount(&u->cg_limits.memory_max, ok[i].kind, ok[i].v);
                expect_amount(&u->cg_limits.memory_high, ok[i].kind, ok[i].v);
                unit_config_free(u);
                free(more);
        }
}
END_TEST

START_TEST(test_tasks_and_cpu_values) {
        struct unit_config *u;

        u = load("TasksMax=5\nCPUQuota=20%\n", "");
        expect_amount(&u->cg_limits.tasks_max, CG_AMOUNT_ABSOLUTE, 5);
        ck_assert_uint_eq(u->cg_limits.cpu_quota, 2000);
        unit_config_free(u);

        u = load("TasksMax=10%\nCPUQuota=150%\nCPUQuotaPeriodSec=10ms\n", "");
        expect_amount(&u->cg_limits.tasks_max, CG_AMOUNT_PERCENT, 1000);
        ck_assert_uint_eq(u->cg_limits.cpu_quota, 15000);
        ck_assert_uint_eq(u->cg_limits.cpu_quota_period, 10 * USEC_PER_MSEC);
        unit_config_free(u);

        u = load("TasksMax=infinity\nCPUQuota=12.25%\nCPUQuotaPeriodSec=1s\n", "");
        expect_amount(&u->cg_limits.tasks_max, CG_AMOUNT_INFINITY, 0);
        ck_assert_uint_eq(u->cg_limits.cpu_quota, 1225);
        ck_assert_uint_eq(u->cg_limits.cpu_quota_period, USEC_PER_SEC);
        unit_config_free(u);

        u = load("CPUQuota=0.5%\nCPUQuotaPeriodSec=1ms\n", "");
        ck_assert_uint_eq(u->cg_limits.cpu_quota, 50);
        ck_assert_uint_eq(u->cg_limits.cpu_quota_period, USEC_PER_MSEC);
        unit_config_free(u);

        /* More than one CPU's worth is fine. */
        u = load("CPUQuota=400%\n", "");
        ck_assert_uint_eq(u->cg_limits.cpu_quota, 40000);
        unit_config_free(u);
}
END_TEST

START_TEST(test_empty_resets_and_require) {
        struct unit_config *u;

        u = load("MemoryMax=32M\nMemoryHigh=1G\nTasksMax=5\nCPUQuota=20%\nCPUQuotaPeriodSec=10ms\n"
                 "MemoryMax=\nMemoryHigh=\nTasksMax=\nCPUQuota=\nCPUQuotaPeriodSec=\n",
                 "");
        ck_assert(cg_limits_config_empty(&u->cg_limits));
        ck_assert_uint_eq(u->cg_limits.cpu_quota_period, 0);
        unit_config_free(u);

        /* The last one wins. */
        u = load("MemoryMax=32M\nMemoryMax=64M\n", "");
        expect_amount(&u->cg_limits.memory_max, CG_AMOUNT_ABSOLUTE, 64 * MiB);
        unit_config_free(u);

        u = load("[X-Pidvisor]\nRequireCgroupLimits=yes\n", "");
        ck_assert(u->cg_limits.require);
        unit_config_free(u);
        u = load("[X-Pidvisor]\nRequireCgroupLimits=yes\nRequireCgroupLimits=\n", "");
        ck_assert(!u->cg_limits.require);
        unit_config_free(u);
        u = load("[X-Pidvisor]\nRequireCgroupLimits=off\n", "");
        ck_assert(!u->cg_limits.require);
        unit_config_free(u);

        /* Each key in its own section only. */
        u = load("RequireCgroupLimits=yes\n[X-Pidvisor]\nMemoryMax=1G\n",
                 "W web.service:3: Unknown key \"RequireCgroupLimits\" in section [Service], ignoring\n"
                 "W web.service:5: Unknown key \"MemoryMax\" in section [X-Pidvisor], ignoring\n");
        ck_assert(cg_limits_config_empty(&u->cg_limits));
        ck_assert(!u->cg_limits.require);
        unit_config_free(u);
}
END_TEST

#define MEM_EXPECTED                                                                                  \
        "(expected a size in bytes above 0 with an optional K, M, G, T, P or E suffix (1024-based) " \
        "such as 512M, a percentage of physical memory such as 50%, or infinity)"
#define MEM_PCT_EXPECTED                                                                              \
        "(expected a percentage of physical memory above 0% and at most 100%, with at most two "     \
        "decimals, such as 50% or 12.5%)"
#define TASKS_EXPECTED                                                                                \
        "(expected a number of tasks from 1 such as 512, a percentage of the system's maximum such " \
        "as 10%, or infinity)"
#define TASKS_PCT_EXPECTED                                                                            \
        "(expected a percentage of the system's maximum number of tasks above 0% and at most 100%, " \
        "with at most two decimals, such as 10%)"
#define CPU_EXPECTED                                                                                  \
        "(expected a percentage of one CPU's time above 0%, with at most two decimals, such as 20% " \
        "or 150% (1.5 CPUs))"

static const struct {
        const char *line;
        const char *message; /* after "E web.service:3: " */
} errors[] = {
        { "MemoryMax=0", "MemoryMax=: invalid value \"0\" " MEM_EXPECTED },
        { "MemoryMax=-1", "MemoryMax=: invalid value \"-1\" " MEM_EXPECTED },
        { "MemoryMax=32Q", "MemoryMax=: invalid value \"32Q\" " MEM_EXPECTED },
        { "MemoryMax=lots", "MemoryMax=: invalid value \"lots\" " MEM_EXPECTED },
        { "MemoryMax=16E", "MemoryMax=: invalid value \"16E\" " MEM_EXPECTED },
        { "MemoryMax=max", "MemoryMax=: invalid value \"max\" " MEM_EXPECTED },
        { "MemoryMax=101%", "MemoryMax=: invalid value \"101%\" " MEM_PCT_EXPECTED },
        { "MemoryMax=0%", "MemoryMax=: invalid value \"0%\" " MEM_PCT_EXPECTED },
        { "MemoryMax=1.234%", "MemoryMax=: invalid value \"1.234%\" " MEM_PCT_EXPECTED },
        { "MemoryMax=%", "MemoryMax=: invalid value \"%\" " MEM_PCT_EXPECTED },
        { "MemoryMax=5.%", "MemoryMax=: invalid value \"5.%\" " MEM_PCT_EXPECTED },
        { "MemoryHigh=0", "MemoryHigh=: invalid value \"0\" " MEM_EXPECTED },
        { "TasksMax=0", "TasksMax=: invalid value \"0\" " TASKS_EXPECTED },
        { "TasksMax=-5", "TasksMax=: invalid value \"-5\" " TASKS_EXPECTED },
        { "TasksMax=5.5", "TasksMax=: invalid value \"5.5\" " TASKS_EXPECTED },
        { "TasksMax=5K", "TasksMax=: invalid value \"5K\" " TASKS_EXPECTED },
        { "TasksMax=120%", "TasksMax=: invalid value \"120%\" " TASKS_PCT_EXPECTED },
        { "CPUQuota=20", "CPUQuota=: invalid value \"20\" " CPU_EXPECTED },
        { "CPUQuota=0%", "CPUQuota=: invalid value \"0%\" " CPU_EXPECTED },
        { "CPUQuota=0.001%", "CPUQuota=: invalid value \"0.001%\" " CPU_EXPECTED },
        { "CPUQuota=-20%", "CPUQuota=: invalid value \"-20%\" " CPU_EXPECTED },
        { "CPUQuota=infinity", "CPUQuota=: invalid value \"infinity\" " CPU_EXPECTED },
        { "CPUQuotaPeriodSec=500us",
          "CPUQuotaPeriodSec=: invalid value \"500us\" (expected a time span from 1ms to 1s such as 100ms)" },
        { "CPUQuotaPeriodSec=2s",
          "CPUQuotaPeriodSec=: invalid value \"2s\" (expected a time span from 1ms to 1s such as 100ms)" },
        { "CPUQuotaPeriodSec=soon",
          "CPUQuotaPeriodSec=: invalid value \"soon\" (expected a time span from 1ms to 1s such as 100ms)" },
};

START_TEST(test_errors) {
        char *more = pv_test_fmt("%s\n", errors[_i].line);
        char *diags = pv_test_fmt("E web.service:3: %s\n", errors[_i].message);
        struct unit_config *u = load(more, diags);

        ck_assert_ptr_null(u);
        free(more);
        free(diags);
}
END_TEST

START_TEST(test_require_error) {
        struct unit_config *u = load("[X-Pidvisor]\nRequireCgroupLimits=maybe\n",
                                     "E web.service:4: RequireCgroupLimits=: invalid value \"maybe\" "
                                     "(expected a boolean: yes, no, true, false, on, off, 1 or 0)\n");
        ck_assert_ptr_null(u);
}
END_TEST

/* ---- arithmetic ------------------------------------------------------------------------ */

static struct cg_limits_values resolve(const char *more, uint64_t phys, uint64_t tasks) {
        struct unit_config *u = load(more, "");
        struct cg_limits_values v;

        cg_limits_resolve(&u->cg_limits, phys, tasks, 4096, &v);
        unit_config_free(u);
        return v;
}

START_TEST(test_resolve) {
        struct cg_limits_values v;

        v = resolve("", 24 * GiB, 32767);
        ck_assert_uint_eq(v.need, 0);
        ck_assert_uint_eq(v.memory_max, CG_NO_LIMIT);
        ck_assert_uint_eq(v.tasks_max, CG_NO_LIMIT);
        ck_assert_uint_eq(v.cpu_quota_usec, CG_NO_LIMIT);

        /* Percentages of physical memory, whole pages. */
        v = resolve("MemoryMax=50%\nMemoryHigh=12.5%\n", 24 * GiB, 32767);
        ck_assert_uint_eq(v.memory_max, 12 * GiB);
        ck_assert_uint_eq(v.memory_high, 3 * GiB);
        ck_assert_uint_eq(v.need, 1u << CG_MEMORY);
        v = resolve("MemoryMax=0.01%\n", 1000 * 4096, 32767); /* a tenth of a page: one page */
        ck_assert_uint_eq(v.memory_max, 4096);
        v = resolve("MemoryMax=33%\n", 1001 * 4096 + 100, 32767); /* 330.33 pages -> 330 */
        ck_assert_uint_eq(v.memory_max, 330 * 4096);

        /* infinity asks for nothing. */
        v = resolve("MemoryMax=infinity\nTasksMax=infinity\n", 24 * GiB, 32767);
        ck_assert_uint_eq(v.need, 0);
        v = resolve("MemoryMax=infinity\nMemoryHigh=1G\n", 24 * GiB, 32767);
        ck_assert_uint_eq(v.need, 1u << CG_MEMORY);
        ck_assert_uint_eq(v.memory_max, CG_NO_LIMIT);
        ck_assert_uint_eq(v.memory_high, GiB);

        /* Tasks: of the system's maximum, at least 1; more than PID_MAX_LIMIT is no limit. */
        v = resolve("TasksMax=10%\n", GiB, 32767);
        ck_assert_uint_eq(v.tasks_max, 3276);
        ck_assert_uint_eq(v.need, 1u << CG_PIDS);
        v = resolve("TasksMax=0.01%\n", GiB, 50);
        ck_assert_uint_eq(v.tasks_max, 1);
        v = resolve("TasksMax=4194304\n", GiB, 50);
        ck_assert_uint_eq(v.tasks_max, 4194304);
        v = resolve("TasksMax=4194305\n", GiB, 50);
        ck_assert_uint_eq(v.tasks_max, CG_NO_LIMIT);
        ck_assert_uint_eq(v.need, 0);

        /* CPUQuota=: per 100 ms by default. */
        v = resolve("CPUQuota=20%\n", GiB, 50);
        ck_assert_uint_eq(v.cpu_quota_usec, 20000);
        ck_assert_uint_eq(v.cpu_period_usec, 100000);
        ck_assert_uint_eq(v.need, 1u << CG_CPU);
        v = resolve("CPUQuota=150%\n", GiB, 50);
        ck_assert_uint_eq(v.cpu_quota_usec, 150000);
        ck_assert_uint_eq(v.cpu_period_usec, 100000);
        v = resolve("CPUQuota=20%\nCPUQuotaPeriodSec=50ms\n", GiB, 50);
        ck_assert_uint_eq(v.cpu_quota_usec, 10000);
        ck_assert_uint_eq(v.cpu_period_usec, 50000);
        /* Below 1 ms per period, the period grows (as systemd does): 5% of 10 ms is 500 us,
         * so the period becomes 20 ms and the quota 1 ms. */
        v = resolve("CPUQuota=5%\nCPUQuotaPeriodSec=10ms\n", GiB, 50);
        ck_assert_uint_eq(v.cpu_period_usec, 20000);
        ck_assert_uint_eq(v.cpu_quota_usec, 1000);
        /* ... to at most 1 s, and the quota never below 1 ms. */
        v = resolve("CPUQuota=0.05%\n", GiB, 50);
        ck_assert_uint_eq(v.cpu_period_usec, 1000000);
        ck_assert_uint_eq(v.cpu_quota_usec, 1000);
        v = resolve("CPUQuota=0.01%\n", GiB, 50);
        ck_assert_uint_eq(v.cpu_period_usec, 1000000);
        ck_assert_uint_eq(v.cpu_quota_usec, 1000);

        v = resolve("MemoryMax=1G\nTasksMax=5\nCPUQuota=20%\n", GiB, 50);
        ck_assert_uint_eq(v.need, (1u << CG_MEMORY) | (1u << CG_PIDS) | (1u << CG_CPU));
}
END_TEST

START_TEST(test_system_sizes) {
        char buf[64];
        FILE *f = fopen("/proc/sys/kernel/pid_max", "re");
        unsigned long long pid_max = 0, threads = 0;

        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(fscanf(f, "%llu", &pid_max), 1);
        fclose(f);
        f = fopen("/proc/sys/kernel/threads-max", "re");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(fscanf(f, "%llu", &threads), 1);
        fclose(f);
        ck_assert_uint_eq(cg_system_tasks_max(), pid_max - 1 < threads ? pid_max - 1 : threads);
        ck_assert_uint_eq(cg_physical_memory(), (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE));

        ck_assert_str_eq(cg_format_bytes(buf, sizeof(buf), 32 * MiB), "32M");
        ck_assert_str_eq(cg_format_bytes(buf, sizeof(buf), 1536), "1536");
        ck_assert_str_eq(cg_format_bytes(buf, sizeof(buf), 3 * GiB / 2), "1536M");
        ck_assert_str_eq(cg_format_bytes(buf, sizeof(buf), 0), "0");
        ck_assert_str_eq(cg_format_bytes(buf, sizeof(buf), 1ULL << 60), "1E");
        ck_assert_str_eq(cg_format_percent(buf, sizeof(buf), 2000), "20%");
        ck_assert_str_eq(cg_format_percent(buf, sizeof(buf), 1250), "12.5%");
        ck_assert_str_eq(cg_format_percent(buf, sizeof(buf), 5), "0.05%");
        ck_assert_str_eq(cg_format_percent(buf, sizeof(buf), 1225), "12.25%");
}
END_TEST

/* ---- cgroup v1: where our directory is ---------------------------------------------------- */

static const char mountinfo[] =
        "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
        "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct\n"
        "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
        "39 31 0:36 /lxc/c1 /sys/fs/cgroup/my\\040pids rw,relatime - cgroup cgroup rw,pids\n"
        "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
        "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

static void expect_locate(const char *proc_cgroup, const char *controller, const char *dir, const char *why) {
        char buf[300] = "";
        char *got = NULL;
        int r = cg_v1_locate(mountinfo, proc_cgroup, controller, &got, buf, sizeof(buf));

        if (dir) {
                ck_assert_msg(r == 0, "%s: %d %s", controller, r, buf);
                ck_assert_str_eq(got, dir);
                free(got);
        } else {
                ck_assert_int_lt(r, 0);
                ck_assert_ptr_null(got);
                ck_assert_str_eq(buf, why);
        }
}

START_TEST(test_v1_locate) {
        const char *cg = "12:pids:/lxc/c1/inner\n"
                         "4:memory:/process_api/0dde\n"
                         "2:cpu,cpuacct:/\n"
                         "1:name=systemd:/user.slice\n"
                         "0::/\n";

        expect_locate(cg, "memory", "/sys/fs/cgroup/memory/process_api/0dde", NULL);
        expect_locate(cg, "cpu", "/sys/fs/cgroup/cpu,cpuacct", NULL);
        expect_locate(cg, "cpuacct", "/sys/fs/cgroup/cpu,cpuacct", NULL);
        /* A mount of part of the hierarchy (a container's), its mount point escaped. */
        expect_locate(cg, "pids", "/sys/fs/cgroup/my pids/inner", NULL);
        expect_locate("12:pids:/lxc/c1\n", "pids", "/sys/fs/cgroup/my pids", NULL);
        expect_locate("12:pids:/lxc/c10\n", "pids", NULL,
                      "our cgroup /lxc/c10 is outside the mounted part of its hierarchy");
        expect_locate("12:pids:/other\n", "pids", NULL,
                      "our cgroup /other is outside the mounted part of its hierarchy");
        /* Not mounted at all; a named hierarchy is not a controller. */
        expect_locate(cg, "blkio", NULL, "no cgroup v1 hierarchy of it is mounted");
        expect_locate(cg, "systemd", NULL, "no cgroup v1 hierarchy of it is mounted");
        expect_locate("0::/\n", "memory", NULL,
                      "its hierarchy is mounted, but /proc/self/cgroup has no line for it");
}
END_TEST

/* This machine: the memory hierarchy is where /proc/self/cgroup says. */
START_TEST(test_v1_locate_here) {
        char *mi = NULL, *self = NULL, *dir = NULL, *want, why[300];
        size_t n = 0;
        FILE *f;
        char line[4096];

        f = fopen("/proc/self/mountinfo", "re");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_ge(getdelim(&mi, &n, 0, f), 0);
        fclose(f);
        f = fopen("/proc/self/cgroup", "re");
        ck_assert_ptr_nonnull(f);
        n = 0;
        ck_assert_int_ge(getdelim(&self, &n, 0, f), 0);
        fclose(f);
        want = NULL;
        f = fopen("/proc/self/cgroup", "re");
        while (fgets(line, sizeof(line), f)) {
                char *c = strstr(line, ":memory:");
                if (c) {
                        line[strcspn(line, "\n")] = 0;
                        want = pv_test_fmt("/sys/fs/cgroup/memory%s", strcmp(c + 8, "/") ? c + 8 : "");
                }
        }
        fclose(f);
        ck_assert_ptr_nonnull(want);
        ck_assert_int_eq(cg_v1_locate(mi, self, "memory", &dir, why, sizeof(why)), 0);
        ck_assert_str_eq(dir, want);
        free(dir);
        free(want);
        free(mi);
        free(self);
}
END_TEST

/* ---- cgroup v2 on a fake tree --------------------------------------------------------------- */

struct fake {
        char *root, *own, *base;
        int own_fd, base_fd;
        struct cg2_tree t;
};

static char *slurp(const char *path) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        char *s;

        if (fd < 0)
                return NULL;
        s = pv_test_read_all(fd);
        close(fd);
        return s;
}

static void expect_file(const char *dir, const char *name, const char *content) {
        char *path = pv_test_fmt("%s/%s", dir, name), *s = slurp(path);

        ck_assert_msg(s != NULL, "%s missing", path);
        ck_assert_msg(strcmp(s, content) == 0, "%s: \"%s\", expected \"%s\"", path, s, content);
        free(s);
        free(path);
}

static void write_at(const char *dir, const char *name, const char *text) {
        char *p = pv_test_fmt("%s/%s", dir, name);

        pv_test_write_file(p, text, 0644);
        free(p);
}

static void fake_init(struct fake *f, const char *controllers) {
        char *p;

        f->root = pv_test_mkdtemp();
        f->own = pv_test_fmt("%s/own", f->root);
        f->base = pv_test_fmt("%s/pidvisor-x", f->own);
        ck_assert_int_eq(mkdir(f->own, 0755), 0);
        ck_assert_int_eq(mkdir(f->base, 0755), 0);
        p = pv_test_fmt("%s/cgroup.controllers", f->own);
        pv_test_write_file(p, controllers, 0644);
        free(p);
        p = pv_test_fmt("%s/cgroup.subtree_control", f->own);
        pv_test_write_file(p, "", 0644);
        free(p);
        p = pv_test_fmt("%s/cgroup.subtree_control", f->base);
        pv_test_write_file(p, "", 0644);
        free(p);
        f->own_fd = open(f->own, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        f->base_fd = open(f->base, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(f->own_fd, 0);
        ck_assert_int_ge(f->base_fd, 0);
        f->t = (struct cg2_tree){ .own_fd = f->own_fd, .base_fd = f->base_fd, .own_path = f->own,
                                  .base_path = f->base, .write_file = cg_write_file };
}

static void fake_done(struct fake *f) {
        close(f->own_fd);
        close(f->base_fd);
        pv_test_rmtree(f->root);
        free(f->root);
        free(f->own);
        free(f->base);
}

START_TEST(test_v2_enable) {
        struct fake f;
        char why[512] = "";

        fake_init(&f, "cpuset cpu io memory hugetlb pids\n");
        ck_assert_int_eq(cg2_enable(&f.t, CG_MEMORY, why, sizeof(why)), 0);
        expect_file(f.own, "cgroup.subtree_control", "+memory");
        expect_file(f.base, "cgroup.subtree_control", "+memory");
        ck_assert_uint_eq(f.t.enabled, 1u << CG_MEMORY);
        ck_assert(!f.t.moved);
        /* Known enabled: no more writes. */
        write_at(f.base, "cgroup.subtree_control", "sentinel");
        ck_assert_int_eq(cg2_enable(&f.t, CG_MEMORY, why, sizeof(why)), 0);
        expect_file(f.base, "cgroup.subtree_control", "sentinel");
        /* Enabled in base already (an earlier daemon): own is left alone. */
        write_at(f.base, "cgroup.subtree_control", "memory pids\n");
        write_at(f.own, "cgroup.subtree_control", "untouched");
        ck_assert_int_eq(cg2_enable(&f.t, CG_PIDS, why, sizeof(why)), 0);
        expect_file(f.own, "cgroup.subtree_control", "untouched");
        /* cpu: own has it in subtree_control already, base not yet. */
        write_at(f.own, "cgroup.subtree_control", "cpu memory");
        ck_assert_int_eq(cg2_enable(&f.t, CG_CPU, why, sizeof(why)), 0);
        expect_file(f.own, "cgroup.subtree_control", "cpu memory");
        expect_file(f.base, "cgroup.subtree_control", "+cpu");
        ck_assert_uint_eq(f.t.enabled, 7);
        fake_done(&f);
}
END_TEST

START_TEST(test_v2_unavailable) {
        struct fake f;
        char why[512] = "", *want;

        fake_init(&f, "hugetlb\n");
        ck_assert_int_eq(cg2_enable(&f.t, CG_MEMORY, why, sizeof(why)), -ENOENT);
        want = pv_test_fmt("%s/cgroup.controllers: hugetlb", f.own);
        ck_assert_str_eq(why, want);
        free(want);
        expect_file(f.own, "cgroup.subtree_control", "");
        ck_assert_uint_eq(f.t.enabled, 0);
        fake_done(&f);

        fake_init(&f, "");
        ck_assert_int_eq(cg2_enable(&f.t, CG_PIDS, why, sizeof(why)), -ENOENT);
        want = pv_test_fmt("%s/cgroup.controllers: (empty)", f.own);
        ck_assert_str_eq(why, want);
        free(want);
        fake_done(&f);

        /* Hidden for a test: said so, and nothing is written. */
        fake_init(&f, "memory pids cpu\n");
        f.t.hidden = 1u << CG_MEMORY;
        ck_assert_int_eq(cg2_enable(&f.t, CG_MEMORY, why, sizeof(why)), -ENOENT);
        want = pv_test_fmt("%s/cgroup.controllers has it, but it is hidden by $PIDVISOR_TEST_CGROUP_HIDE", f.own);
        ck_assert_str_eq(why, want);
        free(want);
        expect_file(f.own, "cgroup.subtree_control", "");
        ck_assert_int_eq(cg2_enable(&f.t, CG_PIDS, why, sizeof(why)), 0);
        fake_done(&f);
}
END_TEST

/* The no-internal-process rule, played by a write function: own's subtree_control
 * answers EBUSY while the daemon is (said to be) in own. */
static bool daemon_in_leaf, others_in_own;
static char leaf_written[64];

static int busy_write(int dirfd, const char *name, const char *value) {
        char path[64], link[4096];
        ssize_t n;

        snprintf(path, sizeof(path), "/proc/self/fd/%d", dirfd);
        n = readlink(path, link, sizeof(link) - 1);
        ck_assert_int_gt(n, 0);
        link[n] = 0;
        if (strcmp(name, "cgroup.procs") == 0) {
                ck_assert_msg(strlen(link) > 7 && strcmp(link + strlen(link) - 7, "/daemon") == 0,
                              "the daemon moved into %s", link);
                snprintf(leaf_written, sizeof(leaf_written), "%s", value);
                daemon_in_leaf = true;
                return 0; /* a fake tree has no cgroup.procs to write */
        }
        if (strcmp(name, "cgroup.subtree_control") == 0 && strlen(link) >= 4 &&
            strcmp(link + strlen(link) - 4, "/own") == 0 && (!daemon_in_leaf || others_in_own))
                return -EBUSY;
        return cg_write_file(dirfd, name, value);
}

START_TEST(test_v2_no_internal_processes) {
        struct fake f;
        char why[1024] = "", *want;
        struct stat st;

        /* The daemon alone in own: it moves into base/daemon, then own can delegate. */
        fake_init(&f, "memory pids\n");
        f.t.write_file = busy_write;
        daemon_in_leaf = others_in_own = false;
        ck_assert_msg(cg2_enable(&f.t, CG_MEMORY, why, sizeof(why)) == 0, "%s", why);
        ck_assert(f.t.moved);
        ck_assert_str_eq(leaf_written, "0");
        {
                char *leaf = pv_test_fmt("%s/daemon", f.base);
                ck_assert_int_eq(stat(leaf, &st), 0);
                free(leaf);
        }
        expect_file(f.own, "cgroup.subtree_control", "+memory");
        expect_file(f.base, "cgroup.subtree_control", "+memory");
        /* It moves once. */
        leaf_written[0] = 0;
        write_at(f.base, "cgroup.subtree_control", "");
        write_at(f.own, "cgroup.subtree_control", "");
        ck_assert_int_eq(cg2_enable(&f.t, CG_PIDS, why, sizeof(why)), 0);
        ck_assert_str_eq(leaf_written, "");
        fake_done(&f);

        /* Someone else lives in own too: moving does not help, and the reason says so. */
        fake_init(&f, "memory pids\n");
        f.t.write_file = busy_write;
        daemon_in_leaf = false;
        others_in_own = true;
        ck_assert_int_eq(cg2_enable(&f.t, CG_MEMORY, why, sizeof(why)), -EBUSY);
        want = pv_test_fmt("cannot enable it in %s/cgroup.subtree_control: other processes live in %s, "
                           "and a cgroup with processes cannot enable controllers for its children; give "
                           "pidvisor a cgroup of its own (systemd: Delegate=yes)",
                           f.own, f.own);
        ck_assert_str_eq(why, want);
        free(want);
        ck_assert_uint_eq(f.t.enabled, 0);
        fake_done(&f);
}
END_TEST

START_TEST(test_v2_write_limits) {
        char *dir = pv_test_mkdtemp(), why[256];
        int fd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        struct unit_config *u = load("MemoryMax=32M\nTasksMax=5\nCPUQuota=20%\n", "");
        struct cg_limits_values v;

        /* cgroupfs has the files; a fake directory needs them made. */
        write_at(dir, "memory.max", "");
        write_at(dir, "memory.high", "");
        write_at(dir, "pids.max", "");
        write_at(dir, "cpu.max", "");
        cg_limits_resolve(&u->cg_limits, 24 * GiB, 32767, 4096, &v);
        ck_assert_int_eq(cg2_write_limits(fd, CG_MEMORY, &v, why, sizeof(why)), 0);
        ck_assert_int_eq(cg2_write_limits(fd, CG_PIDS, &v, why, sizeof(why)), 0);
        ck_assert_int_eq(cg2_write_limits(fd, CG_CPU, &v, why, sizeof(why)), 0);
        expect_file(dir, "memory.max", "33554432");
        expect_file(dir, "memory.high", "max");
        expect_file(dir, "pids.max", "5");
        expect_file(dir, "cpu.max", "20000 100000");
        unit_config_free(u);

        /* Nothing asked: "max" everywhere (what a start without limits writes back). */
        u = load("MemoryHigh=1G\n", "");
        cg_limits_resolve(&u->cg_limits, 24 * GiB, 32767, 4096, &v);
        ck_assert_int_eq(cg2_write_limits(fd, CG_MEMORY, &v, why, sizeof(why)), 0);
        ck_assert_int_eq(cg2_write_limits(fd, CG_PIDS, &v, why, sizeof(why)), 0);
        ck_assert_int_eq(cg2_write_limits(fd, CG_CPU, &v, why, sizeof(why)), 0);
        expect_file(dir, "memory.max", "max");
        expect_file(dir, "memory.high", "1073741824");
        expect_file(dir, "pids.max", "max");
        expect_file(dir, "cpu.max", "max 100000");
        unit_config_free(u);

        /* A failed write names the file (here: the directory is gone). */
        pv_test_rmtree(dir);
        ck_assert_int_lt(cg2_write_limits(fd, CG_PIDS, &v, why, sizeof(why)), 0);
        ck_assert_str_eq(why, "writing \"max\" to pids.max: No such file or directory");
        close(fd);
        free(dir);
}
END_TEST

/* ---- cgroup v1, for real ---------------------------------------------------------------------- */

/* A manager and a service as small as cgroup-limits.c needs them: no loop, no cgroup v2. */
struct rig {
        struct manager m;
        struct service s;
        char *state;
};

static void rig_init(struct rig *r, const char *more) {
        memset(r, 0, sizeof(*r));
        r->state = pv_test_mkdtemp();
        r->m.opt.state_dir = r->state;
        r->m.cgroup_base_fd = -EBADF;
        r->s.m = &r->m;
        r->s.name = (char *)"cgltest";
        r->s.cgroup_fd = -EBADF;
        r->s.proc = PV_PROCESS_NULL;
        r->s.cfg = load(more, "");
        ck_assert_ptr_nonnull(r->s.cfg);
}

static void rig_done(struct rig *r) {
        cgroup_limits_service_remove(&r->m, &r->s);
        ck_assert_ptr_null(r->s.cgl);
        cgroup_limits_free(&r->m);
        ck_assert_ptr_null(r->m.cgl);
        unit_config_free(r->s.cfg);
        pv_test_rmtree(r->state);
        free(r->state);
}

static char *own_cgroups(void) {
        return slurp("/proc/self/cgroup");
}

/* The directory of our cgroup in a v1 hierarchy. */
static char *v1_dir(const char *controller) {
        char *mi = slurp("/proc/self/mountinfo"), *self = slurp("/proc/self/cgroup"), *dir = NULL, why[300];

        ck_assert_msg(cg_v1_locate(mi, self, controller, &dir, why, sizeof(why)) == 0, "%s: %s", controller, why);
        free(mi);
        free(self);
        return dir;
}

static char *service_v1_path(struct rig *r, const char *controller, const char *file) {
        char name[32], *own = v1_dir(controller), *p;

        cgroup_instance_name(&r->m, name, sizeof(name));
        p = pv_test_fmt("%s/%s/cgltest.service%s%s", own, name, file ? "/" : "", file ? file : "");
        free(own);
        return p;
}

static char *read_trimmed(const char *path) {
        char *s = slurp(path);

        ck_assert_msg(s != NULL, "cannot read %s", path);
        s[strcspn(s, "\n")] = 0;
        return s;
}

static void expect_v1(struct rig *r, const char *controller, const char *file, const char *value) {
        char *p = service_v1_path(r, controller, file), *s = read_trimmed(p);

        ck_assert_msg(strcmp(s, value) == 0, "%s: %s, expected %s", p, s, value);
        free(s);
        free(p);
}

/* Outside a test (no Check assertions): the whole file, or NULL. */
static char *read_plain(const char *path) {
        FILE *f = fopen(path, "re");
        char *s = NULL;
        size_t n = 0;

        if (!f)
                return NULL;
        if (getdelim(&s, &n, 0, f) < 0) {
                free(s);
                s = NULL;
        }
        fclose(f);
        return s;
}

static const char *need_v1(void) {
        static char why[400];
        const char *missing = pv_test_need_root();
        char *mi, *self, *dir = NULL;

        if (missing)
                return missing;
        mi = read_plain("/proc/self/mountinfo");
        self = read_plain("/proc/self/cgroup");
        if (!mi || !self) {
                free(mi);
                free(self);
                return "cannot read /proc/self/mountinfo or /proc/self/cgroup";
        }
        for (int c = 0; c < _CG_CTL_MAX; c++) {
                char w[300];
                if (cg_v1_locate(mi, self, cg_ctl_name(c), &dir, w, sizeof(w)) < 0) {
                        snprintf(why, sizeof(why), "no cgroup v1 %s hierarchy: %s", cg_ctl_name(c), w);
                        free(mi);
                        free(self);
                        return why;
                }
                free(dir);
        }
        free(mi);
        free(self);
        return NULL;
}

static int64_t now_ns(void) {
        struct timespec t;

        clock_gettime(CLOCK_MONOTONIC, &t);
        return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Spawns argv with stdout in a pipe, inside begin/end when `limits`; returns the output. */
static char *run(struct rig *r, bool limits, char *const argv[]) {
        struct pv_spawn_attr a;
        struct pv_process p = PV_PROCESS_NULL;
        struct pv_error err = { 0 };
        int pipes[3];
        struct pv_exit ex;
        char why[512] = "", *out;

        pv_spawn_attr_init(&a);
        a.path = argv[0];
        a.argv = argv;
        a.stdio[1].kind = PV_STDIO_PIPE;
        if (limits)
                ck_assert_msg(cgroup_limits_spawn_begin(&r->s, why, sizeof(why)) == 0, "%s", why);
        ck_assert_msg(pv_spawn(&a, &p, pipes, &err) == 0, "%s", err.message);
        if (limits)
                cgroup_limits_spawn_end(&r->s, &p);
        out = pv_test_read_all(pipes[1]);
        close(pipes[1]);
        ck_assert_int_eq(pv_process_wait(&p, 0, &ex, NULL), 0);
        pv_process_release(&p);
        return out;
}

/* The path of the hierarchy holding `controller` in a /proc/PID/cgroup text. */
static char *cgroup_of(const char *text, const char *controller) {
        char *copy = strdup(text), *save = NULL, *found = NULL;

        ck_assert_ptr_nonnull(copy);
        for (char *l = strtok_r(copy, "\n", &save); l && !found; l = strtok_r(NULL, "\n", &save)) {
                char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL, *save2 = NULL;
                if (!c2)
                        continue;
                *c2 = 0;
                for (char *w = strtok_r(c1 + 1, ",", &save2); w; w = strtok_r(NULL, ",", &save2))
                        if (strcmp(w, controller) == 0)
                                found = strdup(c2 + 1);
        }
        free(copy);
        return found;
}

static int cmp_i64(const void *a, const void *b) {
        int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
        return x < y ? -1 : x > y;
}

START_TEST(test_v1_spawn) {
        struct rig r;
        char why[2048] = "", *before, *after, *during, *out, name[32];
        char *cat[] = { (char *)"/bin/cat", (char *)"/proc/self/cgroup", NULL };
        json_t *j;

        rig_init(&r, "MemoryMax=64M\nTasksMax=10\nCPUQuota=50%\n");
        ck_assert_msg(cgroup_limits_prepare(&r.s, why, sizeof(why)) == 0, "%s", why);
        ck_assert_ptr_nonnull(r.s.cgl);
        j = cgroup_limits_to_json(&r.s);
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "MemoryMax"), "enforced")), "v1");
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "TasksMax"), "enforced")), "v1");
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "CPUQuota"), "enforced")), "v1");
        json_decref(j);
        expect_v1(&r, "memory", "memory.limit_in_bytes", "67108864");
        expect_v1(&r, "pids", "pids.max", "10");
        expect_v1(&r, "cpu", "cpu.cfs_quota_us", "50000");
        expect_v1(&r, "cpu", "cpu.cfs_period_us", "100000");

        /* The child is born in the service's v1 cgroups; we come back to ours. */
        before = own_cgroups();
        out = run(&r, true, cat);
        after = own_cgroups();
        ck_assert_str_eq(after, before);
        cgroup_instance_name(&r.m, name, sizeof(name));
        for (int c = 0; c < _CG_CTL_MAX; c++) {
                char *path = cgroup_of(out, cg_ctl_name(c)), *suffix = pv_test_fmt("/%s/cgltest.service", name);
                ck_assert_msg(path && strlen(path) >= strlen(suffix) &&
                                      strcmp(path + strlen(path) - strlen(suffix), suffix) == 0,
                              "%s: %s in\n%s", cg_ctl_name(c), path ? path : "(none)", out);
                free(path);
                free(suffix);
        }
        free(out);
        /* Between begin and end we are inside (and pids.max counts us in).  The paths are
         * found before: /proc/self/cgroup changes meanwhile. */
        {
                char *mem = service_v1_path(&r, "memory", "memory.limit_in_bytes"),
                     *cpu = service_v1_path(&r, "cpu", "cpu.cfs_quota_us"),
                     *pids = service_v1_path(&r, "pids", "pids.max"), *v[3];
                ck_assert_int_eq(cgroup_limits_spawn_begin(&r.s, why, sizeof(why)), 0);
                during = own_cgroups();
                v[0] = read_trimmed(mem);
                v[1] = read_trimmed(cpu);
                v[2] = read_trimmed(pids);
                cgroup_limits_spawn_end(&r.s, NULL);
                ck_assert_str_eq(v[0], "9223372036854771712"); /* lifted */
                ck_assert_str_eq(v[1], "-1");                  /* lifted */
                ck_assert_str_eq(v[2], "11");                  /* 10 + our one thread */
                for (int i = 0; i < 3; i++)
                        free(v[i]);
                free(mem);
                free(cpu);
                free(pids);
        }
        ck_assert_str_ne(during, before);
        ck_assert_ptr_nonnull(strstr(during, "/cgltest.service\n"));
        free(after);
        after = own_cgroups();
        ck_assert_str_eq(after, before);
        expect_v1(&r, "memory", "memory.limit_in_bytes", "67108864");
        expect_v1(&r, "pids", "pids.max", "10");
        expect_v1(&r, "cpu", "cpu.cfs_quota_us", "50000");
        free(during);
        free(before);
        free(after);
        rig_done(&r);
}
END_TEST

/* What the placement costs per spawn, printed; a service without limits pays nothing. */
START_TEST(test_v1_spawn_cost) {
        enum { N = 300, N_QUIET = 40 };
        static int64_t bare[N], with[N], moves[N], quiet[N_QUIET];
        struct rig r, plain;
        char why[2048] = "";
        char *tru[] = { (char *)"/bin/true", NULL };
        char *a;

        rig_init(&r, "MemoryMax=64M\nTasksMax=10\nCPUQuota=50%\n");
        ck_assert_msg(cgroup_limits_prepare(&r.s, why, sizeof(why)) == 0, "%s", why);
        rig_init(&plain, "");
        ck_assert_int_eq(cgroup_limits_prepare(&plain.s, why, sizeof(why)), 0);
        ck_assert_ptr_null(plain.s.cgl); /* nothing kept for a unit without limits */
        ck_assert_ptr_null(plain.m.cgl);
        for (int i = 0; i < N; i++) {
                int64_t t0 = now_ns();
                free(run(&plain, true, tru)); /* begin/end are called, and do nothing */
                int64_t t1 = now_ns();
                free(run(&r, true, tru));
                int64_t t2 = now_ns();
                ck_assert_int_eq(cgroup_limits_spawn_begin(&r.s, why, sizeof(why)), 0);
                cgroup_limits_spawn_end(&r.s, NULL);
                int64_t t3 = now_ns();
                bare[i] = t1 - t0;
                with[i] = t2 - t1;
                moves[i] = t3 - t2;
        }
        qsort(bare, N, sizeof(bare[0]), cmp_i64);
        qsort(with, N, sizeof(with[0]), cmp_i64);
        qsort(moves, N, sizeof(moves[0]), cmp_i64);
        a = pv_test_fmt("cgroup v1 placement (MemoryMax=, TasksMax=, CPUQuota=), medians of %d: spawn+wait "
                        "%.1f us without limits, %.1f us with; begin+end alone %.1f us (p90 %.1f us)",
                        N, bare[N / 2] / 1e3, with[N / 2] / 1e3, moves[N / 2] / 1e3, moves[N * 9 / 10] / 1e3);
        printf("%s\n", a);
        free(a);
        /* Spawns are rarely back to back: with 20 ms of quiet before each, the kernel's
         * caches are cold and, had we moved the whole process (cgroup.procs), each move
         * would wait for an RCU grace period (10-15 ms here). */
        for (int i = 0; i < N_QUIET; i++) {
                struct timespec gap = { 0, 20 * 1000 * 1000 };
                nanosleep(&gap, NULL);
                int64_t t0 = now_ns();
                ck_assert_int_eq(cgroup_limits_spawn_begin(&r.s, why, sizeof(why)), 0);
                cgroup_limits_spawn_end(&r.s, NULL);
                quiet[i] = now_ns() - t0;
        }
        qsort(quiet, N_QUIET, sizeof(quiet[0]), cmp_i64);
        a = pv_test_fmt("cgroup v1 placement after 20 ms of quiet, median of %d: begin+end %.1f us (p90 %.1f us)",
                        N_QUIET, quiet[N_QUIET / 2] / 1e3, quiet[N_QUIET * 9 / 10] / 1e3);
        printf("%s\n", a);
        free(a);
        /* Generous bounds: a regression to a grace period per move (milliseconds) shows. */
        ck_assert_int_lt(moves[N / 2], 500 * 1000);
        ck_assert_int_lt(quiet[N_QUIET / 2], 2 * 1000 * 1000);
        ck_assert_str_eq(plain.s.name, "cgltest");
        rig_done(&plain);
        rig_done(&r);
}
END_TEST

/* Moves that fail: begin fails naming the step, and leaves us in our own cgroups with
 * the lifted limits set again.  First a limit that cannot be written (the pids directory
 * removed behind our back), then a move refused half way: a real-time thread may not
 * enter a cpu cgroup without an RT budget (cpu.rt_runtime_us is 0 in new ones), after the
 * memory and pids moves succeeded. */
START_TEST(test_v1_begin_failure) {
        struct rig r;
        char why[2048] = "", *before, *after, *pids_dir, *mem, *cpu, *pids;
        struct sched_param rt = { .sched_priority = 1 }, normal = { .sched_priority = 0 };

        rig_init(&r, "MemoryMax=64M\nTasksMax=10\nCPUQuota=50%\n");
        ck_assert_msg(cgroup_limits_prepare(&r.s, why, sizeof(why)) == 0, "%s", why);
        mem = service_v1_path(&r, "memory", "memory.limit_in_bytes");
        cpu = service_v1_path(&r, "cpu", "cpu.cfs_quota_us");
        pids = service_v1_path(&r, "pids", "pids.max");
        before = own_cgroups();

        ck_assert_int_eq(sched_setscheduler(0, SCHED_FIFO, &rt), 0);
        ck_assert_int_lt(cgroup_limits_spawn_begin(&r.s, why, sizeof(why)), 0);
        ck_assert_int_eq(sched_setscheduler(0, SCHED_OTHER, &normal), 0);
        ck_assert_str_eq(why, "cgroup v1: cpu tasks: Invalid argument");
        after = own_cgroups();
        ck_assert_str_eq(after, before);
        free(after);
        after = read_trimmed(mem);
        ck_assert_str_eq(after, "67108864");
        free(after);
        after = read_trimmed(cpu);
        ck_assert_str_eq(after, "50000");
        free(after);
        after = read_trimmed(pids);
        ck_assert_str_eq(after, "10");
        free(after);
        cgroup_limits_spawn_end(&r.s, NULL); /* nothing entered: nothing to do */

        pids_dir = service_v1_path(&r, "pids", NULL);
        ck_assert_int_eq(rmdir(pids_dir), 0);
        ck_assert_int_lt(cgroup_limits_spawn_begin(&r.s, why, sizeof(why)), 0);
        ck_assert_str_eq(why, "cgroup v1: raising pids.max for the spawn: No such device");
        after = own_cgroups();
        ck_assert_str_eq(after, before);
        free(after);
        after = read_trimmed(mem);
        ck_assert_str_eq(after, "67108864");
        free(after);
        after = read_trimmed(cpu);
        ck_assert_str_eq(after, "50000");
        free(after);
        free(before);
        free(pids_dir);
        free(mem);
        free(cpu);
        free(pids);
        rig_done(&r);
}
END_TEST

/* Directories go with the unit; the base directories with the daemon. */
START_TEST(test_v1_cleanup) {
        struct rig r;
        char why[2048] = "", *svc[_CG_CTL_MAX], *base[_CG_CTL_MAX], name[32];
        struct stat st;

        rig_init(&r, "MemoryMax=64M\nTasksMax=10\nCPUQuota=50%\n");
        ck_assert_msg(cgroup_limits_prepare(&r.s, why, sizeof(why)) == 0, "%s", why);
        cgroup_instance_name(&r.m, name, sizeof(name));
        for (int c = 0; c < _CG_CTL_MAX; c++) {
                char *own = v1_dir(cg_ctl_name(c));
                svc[c] = service_v1_path(&r, cg_ctl_name(c), NULL);
                base[c] = pv_test_fmt("%s/%s", own, name);
                free(own);
                ck_assert_int_eq(stat(svc[c], &st), 0);
        }
        cgroup_limits_service_remove(&r.m, &r.s);
        for (int c = 0; c < _CG_CTL_MAX; c++) {
                ck_assert_int_eq(stat(svc[c], &st), -1);
                ck_assert_int_eq(stat(base[c], &st), 0);
        }
        cgroup_limits_free(&r.m);
        for (int c = 0; c < _CG_CTL_MAX; c++) {
                ck_assert_int_eq(stat(base[c], &st), -1);
                free(svc[c]);
                free(base[c]);
        }
        rig_done(&r);
}
END_TEST

/* Nothing available (hidden for the test): a warning, or with RequireCgroupLimits=yes a
 * refused start whose reason names the key and why. */
START_TEST(test_unavailable) {
        struct rig r;
        char why[2048] = "";
        json_t *j, *e;

        setenv("PIDVISOR_TEST_CGROUP_HIDE", "memory,cpu", 1);
        rig_init(&r, "MemoryMax=64M\nTasksMax=10\nCPUQuota=50%\n[X-Pidvisor]\nRequireCgroupLimits=yes\n");
        ck_assert_int_eq(cgroup_limits_prepare(&r.s, why, sizeof(why)), -EOPNOTSUPP);
        ck_assert_str_eq(why, "MemoryMax= not enforced: no memory controller in cgroup v2 (no writable cgroup v2 "
                              "hierarchy) nor in cgroup v1 (hidden by $PIDVISOR_TEST_CGROUP_HIDE) "
                              "(RequireCgroupLimits=yes)");
        ck_assert_int_eq(cgroup_limits_spawn_begin(&r.s, why, sizeof(why)), 0); /* nothing to do */
        rig_done(&r);

        rig_init(&r, "MemoryMax=64M\nMemoryHigh=32M\nTasksMax=10\nCPUQuota=50%\n");
        ck_assert_int_eq(cgroup_limits_prepare(&r.s, why, sizeof(why)), 0);
        j = cgroup_limits_to_json(&r.s);
        e = json_object_get(j, "MemoryMax");
        ck_assert_str_eq(json_string_value(json_object_get(e, "enforced")), "none");
        ck_assert_int_eq(json_integer_value(json_object_get(e, "bytes")), 64 * MiB);
        ck_assert_str_eq(json_string_value(json_object_get(e, "value")), "64M");
        e = json_object_get(j, "MemoryHigh");
        ck_assert_str_eq(json_string_value(json_object_get(e, "reason")),
                         "MemoryHigh= not enforced: no memory controller in cgroup v2 (no writable cgroup v2 "
                         "hierarchy), and cgroup v1 has no equivalent of memory.high");
        e = json_object_get(j, "CPUQuota");
        ck_assert_str_eq(json_string_value(json_object_get(e, "enforced")), "none");
        ck_assert_str_eq(json_string_value(json_object_get(e, "reason")),
                         "CPUQuota= not enforced: no cpu controller in cgroup v2 (no writable cgroup v2 hierarchy) "
                         "nor in cgroup v1 (hidden by $PIDVISOR_TEST_CGROUP_HIDE)");
        /* pids was not hidden: v1. */
        e = json_object_get(j, "TasksMax");
        ck_assert_str_eq(json_string_value(json_object_get(e, "enforced")), "v1");
        json_decref(j);
        rig_done(&r);
        unsetenv("PIDVISOR_TEST_CGROUP_HIDE");
}
END_TEST

/* A limit removed by a reload: the next start keeps nothing of it in force. */
START_TEST(test_limits_dropped) {
        struct rig r;
        char why[2048] = "";
        struct unit_config *next;
        char *cat[] = { (char *)"/bin/cat", (char *)"/proc/self/cgroup", NULL }, *out, *own;

        rig_init(&r, "MemoryMax=infinity\nTasksMax=10\n");
        ck_assert_msg(cgroup_limits_prepare(&r.s, why, sizeof(why)) == 0, "%s", why);
        {
                json_t *j = cgroup_limits_to_json(&r.s);
                ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "MemoryMax"), "enforced")),
                                 "not needed");
                json_decref(j);
        }
        next = load("", "");
        unit_config_free(r.s.cfg);
        r.s.cfg = next;
        ck_assert_int_eq(cgroup_limits_prepare(&r.s, why, sizeof(why)), 0);
        ck_assert_ptr_null(cgroup_limits_to_json(&r.s));
        own = own_cgroups();
        out = run(&r, true, cat); /* not moved: it shares our cgroups */
        ck_assert_str_eq(out, own);
        free(out);
        free(own);
        rig_done(&r);
}
END_TEST

int main(void) {
        Suite *s = pv_test_suite("cgroup-limits");
        TCase *tc;

        tc = pv_test_case("keys");
        tcase_add_test(tc, test_defaults);
        tcase_add_test(tc, test_memory_values);
        tcase_add_test(tc, test_tasks_and_cpu_values);
        tcase_add_test(tc, test_empty_resets_and_require);
        tcase_add_loop_test(tc, test_errors, 0, (int)ELEMENTSOF(errors));
        tcase_add_test(tc, test_require_error);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("values");
        tcase_add_test(tc, test_resolve);
        tcase_add_test(tc, test_system_sizes);
        tcase_add_test(tc, test_v1_locate);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("v2-fake-tree");
        tcase_add_test(tc, test_v2_enable);
        tcase_add_test(tc, test_v2_unavailable);
        tcase_add_test(tc, test_v2_no_internal_processes);
        tcase_add_test(tc, test_v2_write_limits);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("v1");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_v1_locate_here);
        tcase_add_test(tc, test_v1_spawn);
        tcase_add_test(tc, test_v1_spawn_cost);
        tcase_add_test(tc, test_v1_begin_failure);
        tcase_add_test(tc, test_v1_cleanup);
        tcase_add_test(tc, test_unavailable);
        tcase_add_test(tc, test_limits_dropped);
        pv_test_add(s, tc, need_v1());

        return pv_test_main(s);
}
