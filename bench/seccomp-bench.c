/* SPDX-License-Identifier: MIT */

/* seccomp-bench: what a compiled policy costs per system call (issue 5).
 *
 * Each configuration runs in a child of its own (a filter cannot be removed): the child
 * installs the filter (no_new_privs + seccomp(2), as pv_spawn's child will) and times
 *   getppid   a syscall that does nothing: the filter's cost is most of it
 *   read      read(2) of one byte from /dev/zero: a cheap syscall that does work
 *   personality  personality(PER_QUERY): allowed by every filter, but by `default`, `server`
 *             and Docker's only for some argument values, so that the kernel cannot
 *             cache the decision and runs the BPF program on every call (getppid and read
 *             are decided once per filter by the kernel's seccomp action cache, Linux 5.11)
 * Configurations: no filter, a one-rule filter (`default allow` + one errno rule), Docker's
 * default profile, and each shipped policy.  Rounds rotate the order so that noise on the
 * shared machine lands on all alike; the figure is the median of the rounds' ns/call, the
 * ratios are against "none" and against "one-rule" from the same run.
 *
 * Then the Speculative Store Bypass setting: a CPU-bound loop (stores and loads through
 * memory, where an SSB mitigation costs most) with no filter, under `default` as the kernel
 * decides (`ssb kernel`) and under `default` with SECCOMP_FILTER_FLAG_SPEC_ALLOW.
 *
 * Usage: seccomp-bench [--rounds N] [--calls N] [--dir POLICY_DIR] [--docker JSON]
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <pidvisor/policy.h>

enum { T_GETPPID, T_READ, T_ARGS, T_CPU, N_TESTS };

struct config {
        const char *name;
        const char *policy; /* name, path or inline text ("text:...") */
        unsigned flags;
        struct pv_seccomp_program *prog;
        double ns[N_TESTS][64]; /* per round */
};

static unsigned long calls = 200000, cpu_iters = 20000000;

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double run_test(int test) {
        uint64_t t0;
        char c;

        if (test == T_GETPPID) {
                t0 = now_ns();
                for (unsigned long i = 0; i < calls; i++)
                        syscall(SYS_getppid);
                return (double)(now_ns() - t0) / (double)calls;
        }
        if (test == T_ARGS) {
                t0 = now_ns();
                for (unsigned long i = 0; i < calls; i++)
                        syscall(SYS_personality, 0xffffffffUL);
                return (double)(now_ns() - t0) / (double)calls;
        }
        if (test == T_READ) {
                int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        return -1;
                t0 = now_ns();
                for (unsigned long i = 0; i < calls; i++)
                        if (read(fd, &c, 1) != 1)
                                return -1;
                close(fd);
                return (double)(now_ns() - t0) / (double)calls;
        }
        /* stores followed by dependent loads of the same addresses */
        static volatile uint64_t mem[64];
        uint64_t x = 1;
        t0 = now_ns();
        for (unsigned long i = 0; i < cpu_iters; i++) {
                mem[i & 63] = x;
                x = mem[(i + 1) & 63] * 6364136223846793005ull + 1;
        }
        return (double)(now_ns() - t0) / (double)cpu_iters;
}

/* One measurement in a child under the config's filter; ns per iteration. */
static double measure(const struct config *cf, int test) {
        int pfd[2], status;
        double v = -1;
        pid_t pid;

        if (pipe2(pfd, O_CLOEXEC) < 0)
                return -1;
        pid = fork();
        if (pid < 0)
                return -1;
        if (pid == 0) {
                if (cf->prog) {
                        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
                            syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, cf->prog->flags,
                                    &cf->prog->fprog) < 0)
                                _exit(1);
                }
                v = run_test(test);
                if (write(pfd[1], &v, sizeof(v)) != sizeof(v))
                        _exit(1);
                _exit(0);
        }
        close(pfd[1]);
        if (read(pfd[0], &v, sizeof(v)) != sizeof(v))
                v = -1;
        close(pfd[0]);
        waitpid(pid, &status, 0);
        return v;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

static double median(const double *v, int n) {
        double s[64];
        memcpy(s, v, (size_t)n * sizeof(double));
        qsort(s, (size_t)n, sizeof(double), cmp_double);
        return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static int compile(struct config *cf, const char *dir) {
        struct pv_policy_options o = { .dir = dir };
        struct pv_policy *p = NULL;
        struct pv_error err;
        int r;

        if (!cf->policy)
                return 0;
        if (strncmp(cf->policy, "text:", 5) == 0)
                r = pv_policy_parse_string("bench.policy", cf->policy + 5, strlen(cf->policy + 5),
                                           &o, &p, &err);
        else
                r = pv_policy_load_opts(cf->policy, &o, &p, &err);
        if (r == 0)
                r = pv_policy_compile(p, cf->flags, &cf->prog, &err);
        pv_policy_free(p);
        if (r < 0)
                fprintf(stderr, "seccomp-bench: %s: %s\n", cf->name, err.message);
        return r;
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                { "rounds", required_argument, NULL, 'r' },
                { "calls", required_argument, NULL, 'c' },
                { "dir", required_argument, NULL, 'd' },
                { "docker", required_argument, NULL, 'j' },
                {},
        };
        const char *dir = PV_BENCH_POLICY_DIR, *docker = PV_BENCH_DOCKER_JSON;
        int rounds = 9, c;

        while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                switch (c) {
                case 'r':
                        rounds = atoi(optarg);
                        break;
                case 'c':
                        calls = strtoul(optarg, NULL, 10);
                        break;
                case 'd':
                        dir = optarg;
                        break;
                case 'j':
                        docker = optarg;
                        break;
                default:
                        fprintf(stderr, "usage: seccomp-bench [--rounds N] [--calls N] [--dir DIR] [--docker JSON]\n");
                        return 2;
                }
        }
        if (rounds < 1 || rounds > 64 || calls == 0) {
                fprintf(stderr, "seccomp-bench: --rounds 1..64, --calls > 0\n");
                return 2;
        }

        struct config cfs[] = {
                { "none", NULL, 0, NULL, { { 0 } } },
                { "one-rule", "text:default allow\nerrno EPERM kexec_load\n", 0, NULL, { { 0 } } },
                { "docker-default", docker, 0, NULL, { { 0 } } },
                { "default", "default", 0, NULL, { { 0 } } },
                { "server", "server", 0, NULL, { { 0 } } },
                { "strict", "strict", 0, NULL, { { 0 } } },
                { "default+ssb-allow", "default", PV_POLICY_SSB_ALLOW, NULL, { { 0 } } },
        };
        const int n = (int)(sizeof(cfs) / sizeof(cfs[0])), n_syscall = n - 1;

        for (int i = 0; i < n; i++)
                if (compile(&cfs[i], dir) < 0)
                        return 1;
        printf("seccomp-bench: %d rounds, %lu calls per syscall test, %lu CPU-loop iterations\n",
               rounds, calls, cpu_iters);
        for (int i = 1; i < n; i++)
                printf("  %-18s %4u BPF instructions, flags %#x\n", cfs[i].name, cfs[i].prog->fprog.len,
                       cfs[i].prog->flags);

        for (int r = 0; r < rounds; r++)
                for (int k = 0; k < n; k++) {
                        struct config *cf = &cfs[(k + r) % n];
                        for (int t = 0; t < N_TESTS; t++) {
                                bool syscall_test = t != T_CPU;
                                /* the SSB variant only matters for the CPU loop; the CPU loop
                                 * only for none, default and default+ssb-allow */
                                if ((syscall_test && cf == &cfs[n - 1]) ||
                                    (!syscall_test && cf != &cfs[0] && cf != &cfs[3] && cf != &cfs[n - 1]))
                                        continue;
                                cf->ns[t][r] = measure(cf, t);
                                if (cf->ns[t][r] < 0) {
                                        fprintf(stderr, "seccomp-bench: %s failed\n", cf->name);
                                        return 1;
                                }
                        }
                }

        double base[N_TESTS], one[N_TESTS];
        for (int t = 0; t < N_TESTS; t++) {
                base[t] = median(cfs[0].ns[t], rounds);
                one[t] = median(cfs[1].ns[t], rounds);
        }
        printf("\n%-16s %10s %7s %7s  %10s %7s %7s  %10s %7s %7s\n", "filter", "getppid ns",
               "x none", "x 1rule", "read ns", "x none", "x 1rule", "pers. ns", "x none", "x 1rule");
        for (int i = 0; i < n_syscall; i++) {
                printf("%-16s", cfs[i].name);
                for (int t = 0; t < T_CPU; t++) {
                        double v = median(cfs[i].ns[t], rounds);
                        printf(" %10.1f %7.3f %7.3f ", v, v / base[t], v / one[t]);
                }
                printf("\n");
        }
        double cpu_none = base[T_CPU], cpu_def = median(cfs[3].ns[T_CPU], rounds),
               cpu_allow = median(cfs[n - 1].ns[T_CPU], rounds);
        printf("\nCPU loop (store/load), ns per iteration:\n");
        printf("  no filter            %8.3f\n", cpu_none);
        printf("  default, ssb kernel  %8.3f  (x%.3f)\n", cpu_def, cpu_def / cpu_none);
        printf("  default, ssb allow   %8.3f  (x%.3f)\n", cpu_allow, cpu_allow / cpu_none);
        for (int i = 1; i < n; i++)
                pv_seccomp_program_free(cfs[i].prog);
        return 0;
}
