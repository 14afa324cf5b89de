/* SPDX-License-Identifier: MIT */

/* spawn-bench: spawn+wait latency of a tiny static child (issue 2).
 *
 * Three ways of starting the same child are timed, each from the start of the spawn call
 * to the return of the wait that reaps it:
 *
 *   posix_spawn   glibc's posix_spawn() + waitpid()          (the baseline)
 *   fork+execve   fork(), execve() in the child, waitpid()
 *   pv_spawn      pv_spawn() + pv_process_wait() + pv_process_release()
 *
 * The machine is shared and noisy, so the methods are interleaved: each round runs a
 * block of iterations of every method, and the order rotates from round to round, so
 * that a burst of noise lands on all of them alike.  Results are medians and p99s, and
 * ratios against posix_spawn measured in the same run.
 *
 * The whole measurement is then repeated with the parent holding --heap-mib MiB of
 * malloc'd, touched memory, to show whether a method's cost grows with the size of the
 * parent (fork copies the page tables; a CLONE_VM|CLONE_VFORK spawn does not).
 *
 * With --sandbox (as root), it measures instead what confining the child costs (issue 5):
 * a bare pv_spawn against pv_spawn with each part of the sandbox alone and with all of
 * them at once, interleaved the same way, as ratios to the bare spawn of the same run:
 *
 *   bare       pv_spawn() as above
 *   caps       bounding set emptied, capset to nothing, ambient cleared
 *   seccomp    no_new_privs and a 6-instruction filter (getppid answers EPERM)
 *   netns      a new network namespace with lo up
 *   mountns    a new mount namespace, propagation made slave, nothing else
 *   tmp        mountns plus a private tmpfs on /tmp
 *   strict     mountns plus ProtectSystem=strict (every mount read-only but /dev,
 *              /proc, /sys)
 *   full       caps + seccomp + netns + tmp + strict
 *
 * Usage: spawn-bench [--runs N] [--heap-mib M] [--child PATH] [--block N] [--warmup N]
 *                    [--sandbox]
 */

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/syscall.h>

#include <pidvisor/error.h>
#include <pidvisor/process.h>
#include <pidvisor/spawn.h>

enum method {
        M_POSIX_SPAWN, /* the baseline: keep it first */
        M_FORK_EXECVE,
        M_PV_SPAWN,
        N_METHODS,
};

static const char *const method_names[N_METHODS] = {
        [M_POSIX_SPAWN] = "posix_spawn",
        [M_FORK_EXECVE] = "fork+execve",
        [M_PV_SPAWN] = "pv_spawn",
};

struct stats {
        double median_us;
        double p99_us;
        double min_us;
        double mean_us;
};

struct options {
        unsigned runs;
        unsigned heap_mib;
        unsigned block;
        unsigned warmup;
        const char *child;
};

/* The child's argv and (empty) environment, the same for every method. */
static char *child_argv[2];
static char *child_envp[1] = { NULL };

static uint64_t now_ns(void)
{
        struct timespec ts;

        if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0) {
                fprintf(stderr, "spawn-bench: clock_gettime(CLOCK_MONOTONIC): %s\n",
                        strerror(errno));
                exit(EXIT_FAILURE);
        }
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Checks a wait status from waitpid(): the child must have exited 0, or the iteration
 * timed something else than a successful exec (a failed execve exits 127, fast). */
static int check_status(const char *method, int status)
{
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        if (WIFEXITED(status))
                fprintf(stderr, "spawn-bench: %s: child exited %d%s\n", method,
                        WEXITSTATUS(status),
                        WEXITSTATUS(status) == 127 ? " (execve failed?)" : "");
        else if (WIFSIGNALED(status))
                fprintf(stderr, "spawn-bench: %s: child killed by signal %d\n", method,
                        WTERMSIG(status));
        else
                fprintf(stderr, "spawn-bench: %s: unexpected wait status 0x%x\n", method,
                        (unsigned)status);
        return -EPROTO;
}

static int wait_pid(const char *method, pid_t pid)
{
        int status;

        for (;;) {
                pid_t r = waitpid(pid, &status, 0);
                if (r == pid)
                        break;
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0) {
                        int e = errno;
                        fprintf(stderr, "spawn-bench: %s: waitpid(%d): %s\n", method,
                                (int)pid, strerror(e));
                        return -e;
                }
                fprintf(stderr, "spawn-bench: %s: waitpid(%d) returned %d\n", method,
                        (int)pid, (int)r);
                return -EPROTO;
        }
        return check_status(method, status);
}

static int run_posix_spawn(const char *path)
{
        pid_t pid;
        int r;

        r = posix_spawn(&pid, path, NULL, NULL, child_argv, child_envp);
        if (r != 0) {
                fprintf(stderr, "spawn-bench: posix_spawn \"%s\": %s\n", path, strerror(r));
                return -r;
        }
        return wait_pid("posix_spawn", pid);
}

static int run_fork_execve(const char *path)
{
        pid_t pid;

        pid = fork();
        if (pid < 0) {
                int e = errno;
                fprintf(stderr, "spawn-bench: fork: %s\n", strerror(e));
                return -e;
        }
        if (pid == 0) {
                execve(path, child_argv, child_envp);
                _exit(127);
        }
        return wait_pid("fork+execve", pid);
}

/* *spawned (when not NULL) gets the time pv_spawn returned, i.e. the child had exec'd. */
static int spawn_and_wait(const struct pv_spawn_attr *attr, const char *path, uint64_t *spawned)
{
        struct pv_process proc = PV_PROCESS_NULL;
        struct pv_exit ex;
        struct pv_error err = { 0 };
        int r;

        r = pv_spawn(attr, &proc, NULL, &err);
        if (spawned)
                *spawned = now_ns();
        if (r < 0) {
                fprintf(stderr, "spawn-bench: pv_spawn \"%s\": %s (%d)\n", path,
                        err.code != 0 ? err.message : strerror(-r), r);
                return r;
        }
        if (proc.pidfd < 0 || proc.pid <= 0) {
                fprintf(stderr, "spawn-bench: pv_spawn returned 0 with pid %d, pidfd %d\n",
                        (int)proc.pid, proc.pidfd);
                return -EPROTO;
        }

        memset(&ex, 0, sizeof(ex));
        pv_error_clear(&err);
        r = pv_process_wait(&proc, 0, &ex, &err);
        if (r < 0) {
                fprintf(stderr, "spawn-bench: pv_process_wait(%d): %s (%d)\n", (int)proc.pid,
                        err.code != 0 ? err.message : strerror(-r), r);
                pv_process_release(&proc);
                return r;
        }
        pv_process_release(&proc);
        if (proc.pidfd != -1) {
                fprintf(stderr, "spawn-bench: pv_process_release left pidfd %d\n",
                        proc.pidfd);
                return -EPROTO;
        }
        if (ex.signaled || ex.status != 0) {
                char buf[128];
                fprintf(stderr, "spawn-bench: pv_spawn: child %s\n",
                        pv_exit_describe(&ex, buf, sizeof(buf)));
                return -EPROTO;
        }
        return 0;
}

static int run_pv_spawn(const char *path)
{
        struct pv_spawn_attr attr;

        pv_spawn_attr_init(&attr);
        attr.path = path;
        attr.argv = child_argv;
        attr.envp = child_envp;
        return spawn_and_wait(&attr, path, NULL);
}

static int run_once(enum method m, const char *path)
{
        switch (m) {
        case M_POSIX_SPAWN:
                return run_posix_spawn(path);
        case M_FORK_EXECVE:
                return run_fork_execve(path);
        case M_PV_SPAWN:
                return run_pv_spawn(path);
        case N_METHODS:
                break;
        }
        return -EINVAL;
}

static int cmp_u64(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

        return (x > y) - (x < y);
}

/* Sorts the samples in place. */
static struct stats compute_stats(uint64_t *ns, size_t n)
{
        struct stats s;
        size_t rank;
        double sum = 0;

        qsort(ns, n, sizeof(*ns), cmp_u64);
        for (size_t i = 0; i < n; i++)
                sum += (double)ns[i];

        /* p99 by nearest rank: the smallest sample with at least 99% of them <= it. */
        rank = (n * 99 + 99) / 100;
        if (rank < 1)
                rank = 1;

        s.median_us = ((double)ns[(n - 1) / 2] + (double)ns[n / 2]) / 2 / 1000;
        s.p99_us = (double)ns[rank - 1] / 1000;
        s.min_us = (double)ns[0] / 1000;
        s.mean_us = sum / (double)n / 1000;
        return s;
}

/* Number of open descriptors of this process, or -errno. */
static int count_fds(void)
{
        DIR *d;
        struct dirent *de;
        int n = 0;

        d = opendir("/proc/self/fd");
        if (!d)
                return -errno;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        closedir(d);
        return n - 1; /* the directory's own descriptor */
}

/* True when this process still has a child (a zombie left behind, say). */
static bool have_children(void)
{
        siginfo_t si;

        memset(&si, 0, sizeof(si));
        if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
                return errno != ECHILD;
        return true; /* 0: a child exists (running when si_pid is 0, or a zombie) */
}

/* Prints the named fields ("VmRSS", "AnonHugePages", ...) of a /proc file, in kB. */
static void print_proc_fields(const char *file, const char *const *fields, size_t n_fields)
{
        FILE *f;
        char line[256];

        f = fopen(file, "re");
        if (!f)
                return;
        while (fgets(line, sizeof(line), f)) {
                for (size_t i = 0; i < n_fields; i++) {
                        size_t len = strlen(fields[i]);
                        if (strncmp(line, fields[i], len) == 0 && line[len] == ':') {
                                unsigned long kb = strtoul(line + len + 1, NULL, 10);
                                printf(" %s=%lu MiB", fields[i], kb / 1024);
                        }
                }
        }
        fclose(f);
}

/* One phase: warm-up, then opt->runs timed iterations of every method, interleaved. */
static int run_phase(const struct options *opt, const char *label, struct stats out[N_METHODS])
{
        static const char *const mem_fields[] = { "Rss", "AnonHugePages" };
        uint64_t *samples[N_METHODS] = { NULL };
        unsigned done[N_METHODS] = { 0 };
        int fds_before, fds_after;
        int r = 0;

        printf("\n== %s ==\nparent:", label);
        print_proc_fields("/proc/self/smaps_rollup", mem_fields, 2);
        printf("; %u runs per method in blocks of %u, rotating order; warm-up %u\n",
               opt->runs, opt->block, opt->warmup);
        fflush(stdout);

        fds_before = count_fds();

        for (int m = 0; m < N_METHODS; m++) {
                samples[m] = calloc(opt->runs, sizeof(uint64_t));
                if (!samples[m]) {
                        fprintf(stderr, "spawn-bench: out of memory for %u samples\n",
                                opt->runs);
                        r = -ENOMEM;
                        goto finish;
                }
        }

        for (int m = 0; m < N_METHODS; m++)
                for (unsigned i = 0; i < opt->warmup; i++) {
                        r = run_once((enum method)m, opt->child);
                        if (r < 0)
                                goto finish;
                }

        for (unsigned round = 0;; round++) {
                bool any = false;

                for (int k = 0; k < N_METHODS; k++) {
                        int m = (int)((round + (unsigned)k) % N_METHODS);
                        unsigned end = done[m] + opt->block;

                        if (end > opt->runs)
                                end = opt->runs;
                        for (unsigned i = done[m]; i < end; i++) {
                                uint64_t t0, t1;

                                t0 = now_ns();
                                r = run_once((enum method)m, opt->child);
                                t1 = now_ns();
                                if (r < 0)
                                        goto finish;
                                samples[m][i] = t1 - t0;
                        }
                        if (end > done[m])
                                any = true;
                        done[m] = end;
                }
                if (!any)
                        break;
        }

        for (int m = 0; m < N_METHODS; m++)
                out[m] = compute_stats(samples[m], opt->runs);

        printf("%-12s %11s %11s %11s %11s %8s %8s\n", "method", "median(us)", "p99(us)",
               "min(us)", "mean(us)", "med/ps", "p99/ps");
        for (int m = 0; m < N_METHODS; m++)
                printf("%-12s %11.1f %11.1f %11.1f %11.1f %7.2fx %7.2fx\n", method_names[m],
                       out[m].median_us, out[m].p99_us, out[m].min_us, out[m].mean_us,
                       out[m].median_us / out[M_POSIX_SPAWN].median_us,
                       out[m].p99_us / out[M_POSIX_SPAWN].p99_us);
        printf("summary [%s]: pv_spawn median %.2fx p99 %.2fx of posix_spawn "
               "(%.1f us / %.1f us); fork+execve median %.2fx p99 %.2fx\n",
               label, out[M_PV_SPAWN].median_us / out[M_POSIX_SPAWN].median_us,
               out[M_PV_SPAWN].p99_us / out[M_POSIX_SPAWN].p99_us,
               out[M_POSIX_SPAWN].median_us, out[M_POSIX_SPAWN].p99_us,
               out[M_FORK_EXECVE].median_us / out[M_POSIX_SPAWN].median_us,
               out[M_FORK_EXECVE].p99_us / out[M_POSIX_SPAWN].p99_us);

finish:
        for (int m = 0; m < N_METHODS; m++)
                free(samples[m]);

        /* Every method must leave the parent as it found it. */
        fds_after = count_fds();
        if (fds_before >= 0 && fds_after >= 0 && fds_after != fds_before)
                printf("WARNING [%s]: %d descriptors open before the phase, %d after\n",
                       label, fds_before, fds_after);
        if (have_children())
                printf("WARNING [%s]: a child is left over (unreaped zombie?)\n", label);
        fflush(stdout);
        return r;
}

/* ---- --sandbox: the cost of confinement ---- */

enum sandbox_method {
        S_BARE, /* the baseline: keep it first */
        S_CAPS,
        S_SECCOMP,
        S_NETNS,
        S_MOUNTNS,
        S_TMP,
        S_STRICT,
        S_FULL,
        N_SANDBOX,
};

static const char *const sandbox_names[N_SANDBOX] = {
        [S_BARE] = "bare",       [S_CAPS] = "caps",     [S_SECCOMP] = "seccomp",
        [S_NETNS] = "netns",     [S_MOUNTNS] = "mountns", [S_TMP] = "tmp",
        [S_STRICT] = "strict",   [S_FULL] = "full",
};

static struct pv_spawn_attr sandbox_attrs[N_SANDBOX];

/* getppid answers EPERM, everything else is allowed (foreign architectures too: this
 * only has to cost what a small filter costs). */
static struct sock_filter small_filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
};
static const struct sock_fprog small_prog = {
        .len = sizeof(small_filter) / sizeof(small_filter[0]),
        .filter = small_filter,
};

static void sandbox_setup(const char *path)
{
        for (int m = 0; m < N_SANDBOX; m++) {
                struct pv_spawn_attr *a = &sandbox_attrs[m];
                bool all = m == S_FULL;

                pv_spawn_attr_init(a);
                a->path = path;
                a->argv = child_argv;
                a->envp = child_envp;
                if (m == S_CAPS || all) {
                        a->set_cap_bounding = true; /* cap_bounding 0: drop them all */
                        a->set_caps = true;         /* and every set empty */
                }
                if (m == S_SECCOMP || all) {
                        a->no_new_privs = true;
                        a->seccomp_filter = &small_prog;
                }
                if (m == S_NETNS || all)
                        a->private_network = true;
                if (m == S_MOUNTNS)
                        a->private_mounts = true;
                if (m == S_TMP || all)
                        a->private_tmp = true;
                if (m == S_STRICT || all)
                        a->protect_system = PV_PROTECT_SYSTEM_STRICT;
        }
}

static int run_sandbox_phase(const struct options *opt)
{
        uint64_t *samples[N_SANDBOX] = { NULL }, *to_exec[N_SANDBOX] = { NULL };
        unsigned done[N_SANDBOX] = { 0 };
        struct stats out[N_SANDBOX], ex[N_SANDBOX];
        int fds_before, fds_after, r = 0;

        sandbox_setup(opt->child);
        printf("\n== sandbox: spawn+wait with each part of the confinement ==\n"
               "%u runs per method in blocks of %u, rotating order; warm-up %u\n",
               opt->runs, opt->block, opt->warmup);
        fflush(stdout);
        fds_before = count_fds();
        for (int m = 0; m < N_SANDBOX; m++) {
                samples[m] = calloc(opt->runs, sizeof(uint64_t));
                to_exec[m] = calloc(opt->runs, sizeof(uint64_t));
                if (!samples[m] || !to_exec[m]) {
                        r = -ENOMEM;
                        goto finish;
                }
        }
        for (int m = 0; m < N_SANDBOX; m++)
                for (unsigned i = 0; i < opt->warmup; i++) {
                        r = spawn_and_wait(&sandbox_attrs[m], opt->child, NULL);
                        if (r < 0)
                                goto finish;
                }
        for (unsigned round = 0;; round++) {
                bool any = false;

                for (int k = 0; k < N_SANDBOX; k++) {
                        int m = (int)((round + (unsigned)k) % N_SANDBOX);
                        unsigned end = done[m] + opt->block;

                        if (end > opt->runs)
                                end = opt->runs;
                        for (unsigned i = done[m]; i < end; i++) {
                                uint64_t t0 = now_ns(), t1 = 0;
                                r = spawn_and_wait(&sandbox_attrs[m], opt->child, &t1);
                                if (r < 0)
                                        goto finish;
                                samples[m][i] = now_ns() - t0;
                                to_exec[m][i] = t1 - t0;
                        }
                        if (end > done[m])
                                any = true;
                        done[m] = end;
                }
                if (!any)
                        break;
        }
        for (int m = 0; m < N_SANDBOX; m++) {
                out[m] = compute_stats(samples[m], opt->runs);
                ex[m] = compute_stats(to_exec[m], opt->runs);
        }
        for (int t = 0; t < 2; t++) {
                const struct stats *st = t == 0 ? out : ex;

                printf("%s\n%-10s %11s %11s %11s %11s %9s %11s\n",
                       t == 0 ? "spawn+wait (what the bare figure elsewhere in this file means):" :
                                "spawn until pv_spawn returned (the child has exec'd):",
                       "method", "median(us)", "p99(us)", "min(us)", "mean(us)", "med/bare",
                       "+median(us)");
                for (int m = 0; m < N_SANDBOX; m++)
                        printf("%-10s %11.1f %11.1f %11.1f %11.1f %8.3fx %11.1f\n", sandbox_names[m],
                               st[m].median_us, st[m].p99_us, st[m].min_us, st[m].mean_us,
                               st[m].median_us / st[S_BARE].median_us,
                               st[m].median_us - st[S_BARE].median_us);
        }
        printf("summary [sandbox]: full sandbox spawn+wait median %.3fx of bare (%.1f us / %.1f us, "
               "+%.1f us), p99 %.3fx; to exec %.3fx (+%.1f us); caps+seccomp alone %+.1f us\n",
               out[S_FULL].median_us / out[S_BARE].median_us, out[S_FULL].median_us,
               out[S_BARE].median_us, out[S_FULL].median_us - out[S_BARE].median_us,
               out[S_FULL].p99_us / out[S_BARE].p99_us, ex[S_FULL].median_us / ex[S_BARE].median_us,
               ex[S_FULL].median_us - ex[S_BARE].median_us,
               out[S_CAPS].median_us + out[S_SECCOMP].median_us - 2 * out[S_BARE].median_us);
finish:
        for (int m = 0; m < N_SANDBOX; m++) {
                free(samples[m]);
                free(to_exec[m]);
        }
        fds_after = count_fds();
        if (fds_before >= 0 && fds_after >= 0 && fds_after != fds_before)
                printf("WARNING [sandbox]: %d descriptors open before the phase, %d after\n",
                       fds_before, fds_after);
        if (have_children())
                printf("WARNING [sandbox]: a child is left over (unreaped zombie?)\n");
        fflush(stdout);
        return r;
}

static int parse_uint(const char *name, const char *s, unsigned min, unsigned *ret)
{
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v > UINT_MAX ||
            v < min) {
                fprintf(stderr, "spawn-bench: %s: want an integer >= %u, not \"%s\"\n", name,
                        min, s);
                return -EINVAL;
        }
        *ret = (unsigned)v;
        return 0;
}

static void usage(FILE *f)
{
        fprintf(f,
                "usage: spawn-bench [--runs N] [--heap-mib M] [--child PATH] [--block N] "
                "[--warmup N] [--sandbox]\n"
                "  --runs N       timed spawn+wait cycles per method and phase (2000)\n"
                "  --heap-mib M   second phase with M MiB of touched heap; 0: none (1024)\n"
                "  --child PATH   the program to spawn (a tiny static one%s%s)\n"
                "  --block N      iterations of one method before rotating to the next (100)\n"
                "  --warmup N     untimed iterations per method before each phase (50)\n"
                "  --sandbox      instead: the cost of each part of the confinement against a\n"
                "                 bare pv_spawn (needs root)\n",
#ifdef TINY_PATH
                "; default ", TINY_PATH
#else
                "", ""
#endif
        );
}

int main(int argc, char **argv)
{
        static const struct option longopts[] = {
                { "runs", required_argument, NULL, 'n' },
                { "heap-mib", required_argument, NULL, 'm' },
                { "child", required_argument, NULL, 'c' },
                { "block", required_argument, NULL, 'b' },
                { "warmup", required_argument, NULL, 'w' },
                { "sandbox", no_argument, NULL, 's' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        struct options opt = {
                .runs = 2000,
                .heap_mib = 1024,
                .block = 100,
                .warmup = 50,
#ifdef TINY_PATH
                .child = TINY_PATH,
#endif
        };
        struct stats base[N_METHODS], heavy[N_METHODS];
        char *heap = NULL;
        bool sandbox = false;
        int c;

        while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
                int r = 0;

                switch (c) {
                case 'n':
                        r = parse_uint("--runs", optarg, 1, &opt.runs);
                        break;
                case 'm':
                        r = parse_uint("--heap-mib", optarg, 0, &opt.heap_mib);
                        break;
                case 'c':
                        opt.child = optarg;
                        break;
                case 'b':
                        r = parse_uint("--block", optarg, 1, &opt.block);
                        break;
                case 'w':
                        r = parse_uint("--warmup", optarg, 0, &opt.warmup);
                        break;
                case 's':
                        sandbox = true;
                        break;
                case 'h':
                        usage(stdout);
                        return EXIT_SUCCESS;
                default:
                        usage(stderr);
                        return 2;
                }
                if (r < 0)
                        return 2;
        }
        if (optind != argc) {
                fprintf(stderr, "spawn-bench: unexpected argument \"%s\"\n", argv[optind]);
                usage(stderr);
                return 2;
        }
        if (!opt.child) {
                fprintf(stderr, "spawn-bench: no child program: pass --child PATH\n");
                return 2;
        }
        if (access(opt.child, X_OK) < 0) {
                fprintf(stderr, "spawn-bench: child \"%s\": %s\n", opt.child,
                        strerror(errno));
                return EXIT_FAILURE;
        }
        child_argv[0] = (char *)opt.child;
        child_argv[1] = NULL;

        printf("spawn-bench: child %s; spawn+wait latency, ratios against posix_spawn of "
               "the same run\n", opt.child);

        if (sandbox)
                return run_sandbox_phase(&opt) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;

        if (run_phase(&opt, "parent heap 0 MiB", base) < 0)
                return EXIT_FAILURE;

        if (opt.heap_mib > 0) {
                size_t bytes = (size_t)opt.heap_mib << 20;
                char label[64];

                if ((bytes >> 20) != opt.heap_mib) {
                        fprintf(stderr, "spawn-bench: --heap-mib %u is too large\n",
                                opt.heap_mib);
                        return EXIT_FAILURE;
                }
                heap = malloc(bytes);
                if (!heap) {
                        fprintf(stderr, "spawn-bench: cannot allocate %u MiB of heap\n",
                                opt.heap_mib);
                        return EXIT_FAILURE;
                }
                /* Touch every page so that it is resident and mapped in the page tables
                 * (a fork copies those); the barrier keeps the stores from being elided. */
                memset(heap, 0x5a, bytes);
                __asm__ __volatile__("" : : "r"(heap) : "memory");

                snprintf(label, sizeof(label), "parent heap %u MiB", opt.heap_mib);
                if (run_phase(&opt, label, heavy) < 0) {
                        free(heap);
                        return EXIT_FAILURE;
                }

                printf("\ngrowth with %u MiB of heap (median heap/no-heap):", opt.heap_mib);
                for (int m = 0; m < N_METHODS; m++)
                        printf(" %s %.2fx%s", method_names[m],
                               heavy[m].median_us / base[m].median_us,
                               m + 1 < N_METHODS ? ";" : "\n");
                free(heap);
        }
        return EXIT_SUCCESS;
}
