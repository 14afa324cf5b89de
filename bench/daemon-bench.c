/* SPDX-License-Identifier: MIT */

/* daemon-bench: figures of `pidvisor daemon` (issue 3), each against a floor measured in
 * the same run.
 *
 *   restart   crash -> restart latency, Restart=always, RestartSec=0, StartLimitBurst=0:
 *             from the dying child's EXIT stamp to its successor's START stamp.  Floor: a
 *             bare loop that posix_spawns the same child and waits for it.
 *   start     time from the daemon's exec to the START stamp of the last of N (1000)
 *             AutoStart=yes services.  Floor: a bare loop that posix_spawns the same N
 *             children without waiting.  Then SIGTERM to the daemon, which must stop
 *             every service and exit.
 *   idle      a fresh daemon with 100, then N (1000) idle services: its PSS, and its
 *             context switches per second over --seconds.  Floor: a bare holder process
 *             (this program, --hold) that posix_spawns the same children and sleeps in
 *             poll() on their pidfds.
 *   stop      `pidvisor stop NAME` (the CLI, exec'd) until it returns, which is when the
 *             service's process has been reaped; the same request from a raw socket
 *             client; floor: kill(SIGTERM) + waitpid() of a direct child.  For reference,
 *             `pidvisor --version` spawned and waited for: what the CLI costs before it
 *             does anything.
 *
 *   reexec    `daemon-reexec` with N (1000) running services: from the request to its
 *             answer, which the new process sends once it has taken everything over, and
 *             to the answer of a ping sent on a second connection right after the request
 *             (the control socket answering again).  The daemon's pid, every service's
 *             pid and state must be the same afterwards.  Floor: the same binary exec'd
 *             and waited for (`pidvisor --reexec-format`), what any re-exec costs.
 *
 * The services are bench/stamp (static): it appends 16-byte records (CLOCK_MONOTONIC ns,
 * pid, START or EXIT) to a file with O_APPEND, then crashes (exit 1) or pauses; --nolibc
 * uses bench/stamp-nolibc, the same without libc start-up.  All files live in a fresh
 * directory under /dev/shm (tmpfs) unless --dir says otherwise.
 *
 * The daemon runs with --log-level warning; its stderr goes to WORKDIR/daemon.log, whose
 * first lines are printed at the end.  Anything wrong with the daemon (a stalled restart
 * loop, a wrong state, a service or cgroup left behind, a failed exit) is printed as
 * "PROBLEM:" and makes the exit status 1.
 *
 * This process makes itself a child subreaper, so that a service a daemon leaves behind
 * comes back to it: it is reported, killed and reaped.
 *
 * Usage: daemon-bench [OPTIONS] [restart] [start] [idle] [stop] [reexec]   (default: all)
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "benchlib.h"

extern char **environ;

/* Keep in step with bench/stamp.c. */
struct stamp_record {
        uint64_t ns;
        int32_t pid;
        uint32_t kind;
};
enum { STAMP_START = 1, STAMP_EXIT = 2 };

_Static_assert(sizeof(struct stamp_record) == 16, "struct stamp_record must be 16 bytes");

/* The environment the daemon gives a service without Environment=: PATH only. */
static char *stamp_envp[] = { env_path, NULL };

struct options {
        const char *pidvisor;
        const char *stamp;
        const char *parent_dir;
        bool keep;
        bool epoll;
        unsigned crashes;  /* restart: samples per method */
        unsigned block;    /* restart: samples per block */
        unsigned services; /* start, idle */
        unsigned rounds;   /* start */
        unsigned seconds;  /* idle */
        unsigned small;    /* idle */
        unsigned runs;     /* stop: samples per method */
        unsigned settle_ms; /* start: pause before each timing */
        unsigned reexecs;  /* reexec: timed re-execs */
};


/* --- small helpers ----------------------------------------------------------------- */

static void print_stats_header(void)
{
        printf("  %-22s %7s %11s %11s %11s %11s %8s %8s\n", "method", "n", "median(us)",
               "p99(us)", "min(us)", "mean(us)", "med/flr", "p99/flr");
}

static void print_stats_row(const char *name, size_t n, const struct stats *s,
                            const struct stats *floor_s)
{
        printf("  %-22s %7zu %11.1f %11.1f %11.1f %11.1f %7.2fx %7.2fx\n", name, n, s->median_us,
               s->p99_us, s->min_us, s->mean_us, s->median_us / floor_s->median_us,
               s->p99_us / floor_s->p99_us);
}

/* --- processes --------------------------------------------------------------------- */

static bool pid_alive(pid_t pid)
{
        return kill(pid, 0) == 0 || errno != ESRCH;
}

/* Open descriptors of a process, or -1. */
static int count_fds_of(pid_t pid)
{
        char path[64];
        DIR *d;
        struct dirent *de;
        int n = 0;

        snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
        d = opendir(path);
        if (!d)
                return -1;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        closedir(d);
        return n;
}

static unsigned long rollup_field(pid_t pid, const char *field);

/* The daemon's descriptors and anonymous memory before and after many starts/exits:
 * a descriptor more is a leak; memory is reported (the allocator keeps some). */
struct leak_probe {
        int fds;
        unsigned long anon_kib;
};

static void leak_probe_take(pid_t pid, struct leak_probe *p)
{
        /* The connection of the last request may still be open in the daemon for a moment
         * after our close(): take the lowest of a few counts. */
        p->fds = count_fds_of(pid);
        for (int i = 0; i < 10; i++) {
                int n;
                sleep_ms(5);
                n = count_fds_of(pid);
                if (n >= 0 && n < p->fds)
                        p->fds = n;
        }
        p->anon_kib = rollup_field(pid, "Pss_Anon");
}

static void leak_probe_report(const char *what, const struct leak_probe *a,
                              const struct leak_probe *b, long cycles)
{
        printf("  daemon after %ld more starts: %d -> %d descriptors, Pss_Anon %lu -> %lu KiB\n",
               cycles, a->fds, b->fds, a->anon_kib, b->anon_kib);
        if (b->fds > a->fds)
                problem("%s: the daemon holds %d more descriptors after %ld starts (a leak?)",
                        what, b->fds - a->fds, cycles);
        if (cycles > 0 && b->anon_kib > a->anon_kib + 256)
                problem("%s: the daemon's anonymous memory grew by %lu KiB over %ld starts "
                        "(a leak?)", what, b->anon_kib - a->anon_kib, cycles);
}

/* --- the work directory ------------------------------------------------------------ */

/* Writes N unit files NAME%04u.service (or NAME.service when n is 0) into dir. */
static void write_units(const char *dir, const char *name, unsigned n, const char *body)
{
        char path[PATH_MAX], file[64];

        make_dir(dir);
        for (unsigned i = 0; i < (n ? n : 1); i++) {
                if (n)
                        snprintf(file, sizeof(file), "%s%04u.service", name, i);
                else
                        snprintf(file, sizeof(file), "%s.service", name);
                path_join(path, sizeof(path), dir, file);
                if (write_file(path, body) < 0)
                        die("%s: %s", path, strerror(errno));
        }
}

/* --- stamp files --------------------------------------------------------------------- */

static int stamp_open(const char *path)
{
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        if (fd < 0)
                die("%s: %s", path, strerror(errno));
        return fd;
}

static void stamp_reset(int fd)
{
        if (ftruncate(fd, 0) < 0)
                die("ftruncate: %s", strerror(errno));
}

static size_t stamp_count(int fd)
{
        struct stat st;

        if (fstat(fd, &st) < 0)
                die("fstat: %s", strerror(errno));
        return (size_t)st.st_size / sizeof(struct stamp_record);
}

/* All records (malloc'd); *n their number. */
static struct stamp_record *stamp_read(int fd, size_t *n)
{
        size_t count = stamp_count(fd), got = 0;
        struct stamp_record *r = calloc(count + 1, sizeof(*r));

        if (!r)
                die("out of memory");
        while (got < count * sizeof(*r)) {
                ssize_t k = pread(fd, (char *)r + got, count * sizeof(*r) - got, (off_t)got);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break;
                got += (size_t)k;
        }
        *n = got / sizeof(*r);
        return r;
}

/* Waits until the file holds at least n records.  Gives up after timeout_ms, or when
 * watch_pidfd (>= 0) says that process has exited.  Returns 0, -ETIMEDOUT or -ESRCH. */
static int stamp_wait(int fd, size_t n, unsigned timeout_ms, unsigned poll_ms, int watch_pidfd)
{
        uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000u;

        for (;;) {
                if (stamp_count(fd) >= n)
                        return 0;
                if (watch_pidfd >= 0) {
                        struct pollfd p = { .fd = watch_pidfd, .events = POLLIN };
                        if (poll(&p, 1, 0) > 0)
                                return -ESRCH;
                }
                if (now_ns() >= deadline)
                        return -ETIMEDOUT;
                sleep_ms(poll_ms);
        }
}

/* --- the daemon and its control socket ----------------------------------------------- */

/* Counts services of a "list" in the given state; -1 when the list failed. */
static long count_state(struct daemon *d, const char *state, size_t *total)
{
        json_t *res = ctl_call(d, "list", NULL, 10000), *svcs, *s;
        size_t i;
        long n = 0;

        if (!res)
                return -1;
        svcs = json_object_get(res, "services");
        json_array_foreach(svcs, i, s)
                if (strcmp(json_string_value(json_object_get(s, "state")) ?: "", state) == 0)
                        n++;
        if (total)
                *total = json_array_size(svcs);
        json_decref(res);
        return n;
}

/* --- 1. crash -> restart ------------------------------------------------------------- */

/* From records S(p) E(p) S(q) E(q) ...: the gaps E(p) -> S(q), appended to out (at most
 * max; the first `skip` are dropped).  The sequence may end with a START whose EXIT never
 * came (the stop killed it).  Returns the number appended. */
static size_t crash_gaps(const struct stamp_record *r, size_t n, size_t skip, uint64_t *out,
                         size_t max, const char *what)
{
        size_t got = 0, seen = 0;

        for (size_t i = 0; i < n; i++) {
                bool want_start = i % 2 == 0;
                if (r[i].kind != (want_start ? STAMP_START : STAMP_EXIT) ||
                    (!want_start && r[i].pid != r[i - 1].pid) ||
                    (want_start && i > 0 && r[i].pid == r[i - 1].pid)) {
                        problem("%s: record %zu of %zu out of sequence (kind %u pid %d): two "
                                "instances overlapped?", what, i, n, r[i].kind, (int)r[i].pid);
                        return got;
                }
                if (!want_start && i + 1 < n && r[i + 1].kind == STAMP_START) {
                        if (seen++ < skip)
                                continue;
                        if (got < max)
                                out[got++] = r[i + 1].ns - r[i].ns;
                }
        }
        return got;
}

static size_t restart_floor_block(const struct options *o, int sfd, size_t warm, size_t block,
                                  uint64_t *out)
{
        char *argv[] = { (char *)"stamp", (char *)"crash", NULL, NULL };
        char path[PATH_MAX];
        struct stamp_record *r;
        size_t n, got;

        path_join(path, sizeof(path), work_dir, "stamp-restart-floor");
        argv[2] = path;
        stamp_reset(sfd);
        for (size_t i = 0; i < warm + block + 1; i++) {
                pid_t pid;
                int status;

                if ((errno = spawn(&pid, o->stamp, argv, stamp_envp, -1, -1, -1)) != 0)
                        die("posix_spawn %s: %s", o->stamp, strerror(errno));
                status = wait_status(pid);
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 1)
                        die("stamp crash: unexpected wait status 0x%x", (unsigned)status);
        }
        r = stamp_read(sfd, &n);
        got = crash_gaps(r, n, warm, out, block, "restart floor");
        free(r);
        return got;
}

static size_t restart_daemon_block(struct daemon *d, int sfd, size_t warm, size_t block,
                                   uint64_t *out, long *restarts)
{
        struct stamp_record *r;
        json_t *res;
        size_t n, got;
        int w;

        stamp_reset(sfd);
        res = ctl_call(d, "start", "crash", 10000);
        if (!res)
                return 0;
        json_decref(res);
        w = stamp_wait(sfd, 2 * (warm + block) + 2, 60000, 10, d->pidfd);
        if (w < 0)
                problem("restart: %zu crash records after %s (wanted %zu); the restart loop "
                        "stalled?", stamp_count(sfd), w == -ESRCH ? "the daemon died" : "60 s",
                        2 * (warm + block) + 2);
        res = ctl_call(d, "stop", "crash", 30000);
        if (res) {
                const char *st = json_string_value(json_object_get(res, "state"));
                if (!st || strcmp(st, "inactive") != 0)
                        problem("restart: after stop the service is \"%s\", not inactive",
                                st ? st : "?");
                *restarts = (long)json_integer_value(json_object_get(res, "restarts"));
                json_decref(res);
        }
        r = stamp_read(sfd, &n);
        got = crash_gaps(r, n, warm, out, block, "restart daemon");
        free(r);
        return got;
}

static void bench_restart(const struct options *o)
{
        static const char unit_fmt[] =
                "[Unit]\n"
                "Description=daemon-bench crash loop\n"
                "StartLimitBurst=0\n"
                "[Service]\n"
                "ExecStart=%s crash %s\n"
                "Restart=always\n"
                "RestartSec=0\n";
        char units[PATH_MAX], sfile[PATH_MAX], ffile[PATH_MAX], body[2 * PATH_MAX + 256];
        const size_t warm = 10;
        size_t block = o->block, rounds = (o->crashes + block - 1) / block, n_floor = 0, n_pv = 0;
        uint64_t *s_floor, *s_pv, *tmp;
        struct stats st_floor, st_pv;
        struct daemon d;
        int sfd, ffd;
        long restarts = 0, restarts0;
        struct leak_probe probe0, probe1;
        uint64_t t_begin = now_ns(), t_stop;

        printf("\n== restart: crash -> restart latency, Restart=always RestartSec=0 "
               "StartLimitBurst=0 ==\n");
        printf("%zu rounds of %zu crashes per method (each after %zu untimed), alternating "
               "floor/daemon, after one untimed block of %zu of each\n", rounds, block, warm,
               block / 2);
        fflush(stdout);

        path_join(units, sizeof(units), work_dir, "units-restart");
        path_join(sfile, sizeof(sfile), work_dir, "stamp-restart");
        path_join(ffile, sizeof(ffile), work_dir, "stamp-restart-floor");
        snprintf(body, sizeof(body), unit_fmt, o->stamp, sfile);
        write_units(units, "crash", 0, body);
        sfd = stamp_open(sfile);
        ffd = stamp_open(ffile);

        s_floor = calloc(rounds * block, sizeof(uint64_t));
        s_pv = calloc(rounds * block, sizeof(uint64_t));
        tmp = calloc(block, sizeof(uint64_t));
        if (!s_floor || !s_pv || !tmp)
                die("out of memory");

        daemon_spawn(&d, o->pidvisor, units, "restart", o->epoll);
        daemon_wait_socket(&d, 10000);

        /* One untimed block of each first: the first block after the daemon's start ran
         * measurably slower in trial runs (caches, page cache, the scheduler settling). */
        restart_floor_block(o, ffd, warm, block / 2, tmp);
        restart_daemon_block(&d, sfd, warm, block / 2, tmp, &restarts);
        leak_probe_take(d.pid, &probe0);
        restarts0 = restarts;

        printf("  %-6s %-8s %6s %12s %12s\n", "round", "method", "n", "median(us)", "p99(us)");
        for (size_t round = 0; round < rounds; round++) {
                for (int k = 0; k < 2; k++) {
                        bool floor_first = round % 2 == 0;
                        bool is_floor = (k == 0) == floor_first;
                        struct stats s;
                        size_t got;

                        if (is_floor)
                                got = restart_floor_block(o, ffd, warm, block, tmp);
                        else {
                                got = restart_daemon_block(&d, sfd, warm, block, tmp, &restarts);
                        }
                        memcpy(is_floor ? s_floor + n_floor : s_pv + n_pv, tmp,
                               got * sizeof(uint64_t));
                        if (is_floor)
                                n_floor += got;
                        else
                                n_pv += got;
                        s = compute_stats(tmp, got);
                        printf("  %-6zu %-8s %6zu %12.1f %12.1f\n", round + 1,
                               is_floor ? "floor" : "daemon", got, s.median_us, s.p99_us);
                        fflush(stdout);
                }
        }
        leak_probe_take(d.pid, &probe1);
        t_stop = daemon_terminate(&d, 30000, "restart");
        check_no_leftovers("restart");
        check_cgroup_removed(&d, "restart");

        st_floor = compute_stats(s_floor, n_floor);
        st_pv = compute_stats(s_pv, n_pv);
        print_stats_header();
        print_stats_row("floor (posix_spawn)", n_floor, &st_floor, &st_floor);
        print_stats_row("pidvisor daemon", n_pv, &st_pv, &st_floor);
        printf("  the daemon's restart counter after %zu blocks: %ld; SIGTERM -> exit: %.1f ms\n",
               rounds + 1, restarts, (double)t_stop / 1e6);
        leak_probe_report("restart", &probe0, &probe1, restarts - restarts0);
        printf("summary [restart]: daemon median %.1f us p99 %.1f us; floor median %.1f us "
               "p99 %.1f us; ratio median %.2fx p99 %.2fx (goal median <= 1.25x: %s); %.1f s\n",
               st_pv.median_us, st_pv.p99_us, st_floor.median_us, st_floor.p99_us,
               st_pv.median_us / st_floor.median_us, st_pv.p99_us / st_floor.p99_us,
               st_pv.median_us / st_floor.median_us <= 1.25 ? "met" : "NOT met",
               (double)(now_ns() - t_begin) / 1e9);
        fflush(stdout);
        free(s_floor);
        free(s_pv);
        free(tmp);
        close(sfd);
        close(ffd);
}

/* --- 2. start N services --------------------------------------------------------------- */

static uint64_t max_start_ns(const struct stamp_record *r, size_t n, size_t *n_distinct)
{
        uint64_t m = 0;
        pid_t *pids = calloc(n + 1, sizeof(pid_t));
        size_t k = 0;

        if (!pids)
                die("out of memory");
        for (size_t i = 0; i < n; i++) {
                if (r[i].kind == STAMP_START && r[i].ns > m)
                        m = r[i].ns;
                pids[i] = r[i].pid;
        }
        /* Distinct pids: sort and count. */
        for (size_t i = 1; i < n; i++) {
                pid_t v = pids[i];
                size_t j = i;
                while (j > 0 && pids[j - 1] > v) {
                        pids[j] = pids[j - 1];
                        j--;
                }
                pids[j] = v;
        }
        for (size_t i = 0; i < n; i++)
                if (i == 0 || pids[i] != pids[i - 1])
                        k++;
        *n_distinct = k;
        free(pids);
        return m;
}

static uint64_t start_floor(const struct options *o, int sfd, const char *sfile, unsigned n)
{
        char *argv[] = { (char *)"stamp", (char *)"pause", (char *)sfile, NULL };
        pid_t *pids = calloc(n, sizeof(pid_t));
        struct stamp_record *r;
        size_t nr, distinct;
        uint64_t t0, tmax;

        if (!pids)
                die("out of memory");
        stamp_reset(sfd);
        t0 = now_ns();
        for (unsigned i = 0; i < n; i++)
                if ((errno = spawn(&pids[i], o->stamp, argv, stamp_envp, -1, -1, -1)) != 0)
                        die("posix_spawn %s: %s", o->stamp, strerror(errno));
        if (stamp_wait(sfd, n, 120000, 5, -1) < 0)
                die("start floor: only %zu of %u stamps after 120 s", stamp_count(sfd), n);
        r = stamp_read(sfd, &nr);
        tmax = max_start_ns(r, nr, &distinct);
        free(r);
        for (unsigned i = 0; i < n; i++)
                kill(pids[i], SIGTERM);
        for (unsigned i = 0; i < n; i++) {
                int status = wait_status(pids[i]);
                if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGTERM)
                        die("start floor: stamp %d: wait status 0x%x", (int)pids[i],
                            (unsigned)status);
        }
        free(pids);
        return tmax - t0;
}

/* One fresh daemon starting n services; returns the time to the last START stamp, and
 * the time the daemon took to stop everything and exit after SIGTERM in *t_shutdown. */
static uint64_t start_daemon(const struct options *o, int sfd, const char *units, unsigned n,
                             uint64_t *t_shutdown)
{
        struct stamp_record *r;
        struct daemon d;
        size_t nr, distinct, total = 0;
        uint64_t tmax;
        long running;
        int w;

        stamp_reset(sfd);
        daemon_spawn(&d, o->pidvisor, units, "start", o->epoll);
        w = stamp_wait(sfd, n, 120000, 5, d.pidfd);
        if (w < 0)
                die("start: only %zu of %u services wrote their stamp (%s); see %s",
                    stamp_count(sfd), n, w == -ESRCH ? "the daemon exited" : "120 s", log_path);
        r = stamp_read(sfd, &nr);
        tmax = max_start_ns(r, nr, &distinct);
        if (nr != n || distinct != n)
                problem("start: %zu records from %zu distinct pids for %u services", nr,
                        distinct, n);
        daemon_wait_socket(&d, 10000);
        running = count_state(&d, "running", &total);
        if (running != (long)n || total != n)
                problem("start: \"list\" shows %ld of %zu services running, expected %u", running,
                        total, n);
        *t_shutdown = daemon_terminate(&d, 120000, "start");
        for (size_t i = 0; i < nr; i++)
                if (pid_alive(r[i].pid)) {
                        problem("start: service pid %d still alive after the daemon exited",
                                (int)r[i].pid);
                        break;
                }
        free(r);
        check_no_leftovers("start");
        check_cgroup_removed(&d, "start");
        return tmax - d.t_spawn;
}

static void bench_start(const struct options *o)
{
        static const char unit_fmt[] =
                "[Service]\n"
                "ExecStart=%s pause %s\n"
                "[X-Pidvisor]\n"
                "AutoStart=yes\n";
        char units[PATH_MAX], sfile[PATH_MAX], body[2 * PATH_MAX + 128];
        uint64_t *t_floor = calloc(o->rounds, sizeof(uint64_t));
        uint64_t *t_pv = calloc(o->rounds, sizeof(uint64_t));
        uint64_t *t_sd = calloc(o->rounds, sizeof(uint64_t));
        struct stats s_floor, s_pv, s_sd;
        uint64_t t_begin = now_ns();
        int sfd;

        if (!t_floor || !t_pv || !t_sd)
                die("out of memory");
        printf("\n== start: %u AutoStart=yes services, fresh daemon, exec -> last first stamp ==\n",
               o->services);
        printf("%u rounds, alternating floor/daemon, %u ms pause before each\n", o->rounds,
               o->settle_ms);
        fflush(stdout);
        path_join(units, sizeof(units), work_dir, "units-start");
        path_join(sfile, sizeof(sfile), work_dir, "stamp-start");
        snprintf(body, sizeof(body), unit_fmt, o->stamp, sfile);
        write_units(units, "s", o->services, body);
        sfd = stamp_open(sfile);

        printf("  %-6s %18s %18s %8s %22s\n", "round", "floor (ms)", "daemon (ms)", "ratio",
               "daemon SIGTERM->exit");
        for (unsigned round = 0; round < o->rounds; round++) {
                for (int k = 0; k < 2; k++) {
                        /* The kernel finishes tearing down the last 1000 processes (and a
                         * daemon's cgroups) in kworkers after they are reaped: let that
                         * pass before the next timing. */
                        sleep_ms(o->settle_ms);
                        if ((k == 0) == (round % 2 == 0))
                                t_floor[round] = start_floor(o, sfd, sfile, o->services);
                        else
                                t_pv[round] = start_daemon(o, sfd, units, o->services,
                                                           &t_sd[round]);
                }
                printf("  %-6u %18.1f %18.1f %7.2fx %19.1f ms\n", round + 1,
                       (double)t_floor[round] / 1e6, (double)t_pv[round] / 1e6,
                       (double)t_pv[round] / (double)t_floor[round], (double)t_sd[round] / 1e6);
                fflush(stdout);
        }
        s_floor = compute_stats(t_floor, o->rounds);
        s_pv = compute_stats(t_pv, o->rounds);
        s_sd = compute_stats(t_sd, o->rounds);
        printf("summary [start]: %u services: daemon median %.1f ms (min %.1f); floor median "
               "%.1f ms (min %.1f); ratio of medians %.2fx (goal <= 1.2x: %s); SIGTERM -> exit "
               "median %.1f ms; %.1f s\n",
               o->services, s_pv.median_us / 1000, s_pv.min_us / 1000, s_floor.median_us / 1000,
               s_floor.min_us / 1000, s_pv.median_us / s_floor.median_us,
               s_pv.median_us / s_floor.median_us <= 1.2 ? "met" : "NOT met",
               s_sd.median_us / 1000, (double)(now_ns() - t_begin) / 1e9);
        fflush(stdout);
        free(t_floor);
        free(t_pv);
        free(t_sd);
        close(sfd);
}

/* --- 3. idle ------------------------------------------------------------------------- */

struct proc_sample {
        unsigned long pss_kib, pss_anon_kib, rss_kib;
        unsigned long long ctxsw; /* voluntary + nonvoluntary, all threads */
        unsigned long long cpu_ticks;
        unsigned threads;
};

static unsigned long rollup_field(pid_t pid, const char *field)
{
        char path[64], line[256];
        size_t len = strlen(field);
        unsigned long v = 0;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
        f = fopen(path, "re");
        if (!f)
                return 0;
        while (fgets(line, sizeof(line), f))
                if (strncmp(line, field, len) == 0 && line[len] == ':')
                        v = strtoul(line + len + 1, NULL, 10);
        fclose(f);
        return v;
}

static void proc_sample(pid_t pid, struct proc_sample *s)
{
        char path[128], line[256];
        DIR *d;
        struct dirent *de;
        FILE *f;

        memset(s, 0, sizeof(*s));
        s->pss_kib = rollup_field(pid, "Pss");
        s->pss_anon_kib = rollup_field(pid, "Pss_Anon");
        s->rss_kib = rollup_field(pid, "Rss");
        snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
        d = opendir(path);
        while (d && (de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                s->threads++;
                snprintf(path, sizeof(path), "/proc/%d/task/%.20s/status", (int)pid, de->d_name);
                f = fopen(path, "re");
                while (f && fgets(line, sizeof(line), f)) {
                        unsigned long long v;
                        if (sscanf(line, "voluntary_ctxt_switches: %llu", &v) == 1 ||
                            sscanf(line, "nonvoluntary_ctxt_switches: %llu", &v) == 1)
                                s->ctxsw += v;
                }
                if (f)
                        fclose(f);
        }
        if (d)
                closedir(d);
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        f = fopen(path, "re");
        if (f && fgets(line, sizeof(line), f)) {
                const char *p = strrchr(line, ')');
                unsigned long long ut, st;
                if (p && sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
                                &ut, &st) == 2)
                        s->cpu_ticks = ut + st;
        }
        if (f)
                fclose(f);
}

/* The floor of `idle`: holds n stamps in pause mode, sleeping in poll() on their pidfds
 * and a signalfd; on SIGTERM it kills and reaps them and exits 0. */
static int hold_main(const char *stamp, unsigned n, const char *sfile)
{
        char *argv[] = { (char *)"stamp", (char *)"pause", (char *)sfile, NULL };
        struct pollfd *p = calloc(n + 1, sizeof(*p));
        pid_t *pids = calloc(n, sizeof(pid_t));
        sigset_t mask;
        int sfd;

        if (!p || !pids)
                return 1;
        spawn_attr_setup(false);
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        sfd = signalfd(-1, &mask, SFD_CLOEXEC);
        if (sfd < 0)
                return 1;
        p[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
        for (unsigned i = 0; i < n; i++) {
                if (posix_spawn(&pids[i], stamp, NULL, &spawn_attr, argv, stamp_envp) != 0)
                        return 1;
                p[i + 1] = (struct pollfd){ .fd = pidfd_open_(pids[i]), .events = POLLIN };
        }
        for (;;) {
                if (poll(p, n + 1, -1) < 0 && errno != EINTR)
                        return 1;
                if (p[0].revents)
                        break;
                for (unsigned i = 0; i < n; i++)
                        if (p[i + 1].fd >= 0 && p[i + 1].revents) {
                                waitpid(pids[i], NULL, 0);
                                close(p[i + 1].fd);
                                p[i + 1].fd = -1;
                        }
        }
        for (unsigned i = 0; i < n; i++)
                if (p[i + 1].fd >= 0)
                        kill(pids[i], SIGTERM);
        for (unsigned i = 0; i < n; i++)
                if (p[i + 1].fd >= 0) {
                        waitpid(pids[i], NULL, 0);
                        close(p[i + 1].fd);
                }
        close(sfd);
        free(p);
        free(pids);
        posix_spawnattr_destroy(&spawn_attr);
        return 0;
}

struct idle_result {
        struct proc_sample pv_before, pv_after, floor_before, floor_after;
        unsigned window_ms;
};

static void idle_phase(const struct options *o, unsigned n, unsigned window_s,
                       struct idle_result *res)
{
        static const char unit_fmt[] =
                "[Service]\n"
                "ExecStart=%s pause %s\n"
                "[X-Pidvisor]\n"
                "AutoStart=yes\n";
        char units[PATH_MAX], sfile[PATH_MAX], hfile[PATH_MAX], tag[32], num[16];
        char body[2 * PATH_MAX + 128], self[PATH_MAX];
        char *hargv[] = { (char *)"daemon-bench", (char *)"--hold", num, (char *)o->stamp, hfile,
                          NULL };
        struct daemon d;
        pid_t holder;
        int sfd, hfd, hpidfd, w, status;
        uint64_t t0;
        long running;
        size_t total = 0;
        ssize_t len;

        snprintf(tag, sizeof(tag), "idle%u", n);
        snprintf(num, sizeof(num), "%u", n);
        snprintf(self, sizeof(self), "units-%s", tag);
        path_join(units, sizeof(units), work_dir, self);
        snprintf(self, sizeof(self), "stamp-%s", tag);
        path_join(sfile, sizeof(sfile), work_dir, self);
        snprintf(self, sizeof(self), "stamp-%s-floor", tag);
        path_join(hfile, sizeof(hfile), work_dir, self);
        snprintf(body, sizeof(body), unit_fmt, o->stamp, sfile);
        write_units(units, "i", n, body);
        sfd = stamp_open(sfile);
        hfd = stamp_open(hfile);

        len = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (len < 0)
                die("readlink /proc/self/exe: %s", strerror(errno));
        self[len] = '\0';
        if ((errno = spawn(&holder, self, hargv, environ, devnull_fd, devnull_fd, log_fd)) != 0)
                die("posix_spawn %s --hold: %s", self, strerror(errno));
        hpidfd = pidfd_open_(holder);
        daemon_spawn(&d, o->pidvisor, units, tag, o->epoll);

        w = stamp_wait(sfd, n, 120000, 20, d.pidfd);
        if (w < 0)
                die("idle: only %zu of %u services wrote their stamp (%s); see %s",
                    stamp_count(sfd), n, w == -ESRCH ? "the daemon exited" : "120 s", log_path);
        if (stamp_wait(hfd, n, 120000, 20, hpidfd) < 0)
                die("idle: the holder started only %zu of %u stamps", stamp_count(hfd), n);

        /* Let both settle; then nothing touches either process until the window ends. */
        sleep_ms(2000);
        proc_sample(d.pid, &res->pv_before);
        proc_sample(holder, &res->floor_before);
        t0 = now_ns();
        sleep_ms(window_s * 1000);
        proc_sample(d.pid, &res->pv_after);
        proc_sample(holder, &res->floor_after);
        res->window_ms = (unsigned)((now_ns() - t0) / 1000000u);

        running = count_state(&d, "running", &total);
        if (running != (long)n || total != n)
                problem("idle: \"list\" shows %ld of %zu services running, expected %u", running,
                        total, n);
        daemon_terminate(&d, 120000, tag);
        kill(holder, SIGTERM);
        status = wait_pidfd(holder, hpidfd, 60000);
        if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                die("idle: the holder did not exit cleanly (0x%x)", (unsigned)status);
        close(hpidfd);
        check_no_leftovers(tag);
        check_cgroup_removed(&d, tag);
        close(sfd);
        close(hfd);
}

static void print_idle_row(const char *who, unsigned n, const struct proc_sample *a,
                           const struct proc_sample *b, unsigned window_ms)
{
        unsigned long long sw = b->ctxsw - a->ctxsw;

        printf("  %-8s %6u %9lu %9lu %9lu %9lu %7u %8llu %9.2f %8.0f\n", who, n, a->pss_kib,
               b->pss_kib, b->pss_anon_kib, b->rss_kib, b->threads, sw,
               (double)sw * 1000 / window_ms,
               (double)(b->cpu_ticks - a->cpu_ticks) * 1000 / (double)sysconf(_SC_CLK_TCK));
}

static void bench_idle(const struct options *o)
{
        struct idle_result small, large;
        unsigned small_window = o->seconds < 5 ? o->seconds : 5;
        double extra = (double)(o->services - o->small), inc_pv, inc_pv_anon, inc_floor,
               inc_floor_anon, sw_rate;
        uint64_t t_begin = now_ns();

        printf("\n== idle: %u then %u idle services; fresh daemon each; PSS, context switches "
               "over the window ==\n", o->small, o->services);
        printf("window: %u s with %u services, %u s with %u (2 s settling before each); floor: "
               "a bare holder of the same children (poll on pidfds)\n",
               small_window, o->small, o->seconds, o->services);
        fflush(stdout);
        idle_phase(o, o->small, small_window, &small);
        idle_phase(o, o->services, o->seconds, &large);

        printf("  %-8s %6s %9s %9s %9s %9s %7s %8s %9s %8s\n", "process", "svcs", "PSS0(KiB)",
               "PSS1(KiB)", "anon1", "RSS1(KiB)", "threads", "ctxsw", "ctxsw/s", "cpu(ms)");
        print_idle_row("daemon", o->small, &small.pv_before, &small.pv_after, small.window_ms);
        print_idle_row("floor", o->small, &small.floor_before, &small.floor_after,
                       small.window_ms);
        print_idle_row("daemon", o->services, &large.pv_before, &large.pv_after, large.window_ms);
        print_idle_row("floor", o->services, &large.floor_before, &large.floor_after,
                       large.window_ms);
        printf("  (PSS0 at the start of the window; PSS1, anon1 = Pss_Anon and RSS1 at its end; "
               "ctxsw: voluntary + nonvoluntary of all threads)\n");
        inc_pv = ((double)large.pv_after.pss_kib - (double)small.pv_after.pss_kib) / extra;
        inc_pv_anon = ((double)large.pv_after.pss_anon_kib - (double)small.pv_after.pss_anon_kib) /
                      extra;
        inc_floor = ((double)large.floor_after.pss_kib - (double)small.floor_after.pss_kib) / extra;
        inc_floor_anon = ((double)large.floor_after.pss_anon_kib -
                          (double)small.floor_after.pss_anon_kib) / extra;
        sw_rate = (double)(large.pv_after.ctxsw - large.pv_before.ctxsw) * 1000 / large.window_ms;
        printf("  per extra service (PSS1 %u -> %u): daemon %+.2f KiB PSS, %+.2f KiB anon; floor "
               "%+.2f KiB PSS, %+.2f KiB anon\n", o->small, o->services, inc_pv, inc_pv_anon,
               inc_floor, inc_floor_anon);
        printf("summary [idle]: daemon %.2f ctxsw/s over %.1f s with %u services (goal 0: %s); "
               "PSS %lu KiB with %u, %lu KiB with %u (goal < 8 MiB: %s); %+.2f KiB PSS "
               "(%+.2f KiB anon) per extra service (goal <= 4: %s); floor PSS %lu / %lu KiB, "
               "%+.2f KiB per service; %.1f s\n",
               sw_rate, large.window_ms / 1000.0, o->services,
               large.pv_after.ctxsw == large.pv_before.ctxsw ? "met" : "NOT met",
               small.pv_after.pss_kib, o->small, large.pv_after.pss_kib, o->services,
               large.pv_after.pss_kib < 8192 && large.pv_before.pss_kib < 8192 ? "met" : "NOT met",
               inc_pv, inc_pv_anon, inc_pv <= 4.0 ? "met" : "NOT met",
               small.floor_after.pss_kib, large.floor_after.pss_kib, inc_floor,
               (double)(now_ns() - t_begin) / 1e9);
        fflush(stdout);
}

/* --- 4. stop ------------------------------------------------------------------------- */

/* STOP_EXEC is a reference, not a stop: `pidvisor --version`, spawned and waited for,
 * the cost of starting the CLI binary at all. */
enum stop_method { STOP_FLOOR, STOP_RAW, STOP_CLI, STOP_EXEC, N_STOP };

static const char *const stop_names[N_STOP] = {
        [STOP_FLOOR] = "floor (kill+waitpid)",
        [STOP_RAW] = "raw socket client",
        [STOP_CLI] = "pidvisor stop (CLI)",
        [STOP_EXEC] = "pidvisor --version",
};

struct stop_ctx {
        const struct options *o;
        struct daemon *d;
        int sfd;
        const char *sfile;
        char **cli_envp;
        unsigned not_reaped;
};

/* Waits for the one START record of a fresh stamp; returns its pid. */
static pid_t stop_wait_stamp(struct stop_ctx *c, const char *what)
{
        struct stamp_record rec;

        if (stamp_wait(c->sfd, 1, 10000, 1, c->d->pidfd) < 0)
                die("stop: %s: the service wrote no stamp within 10 s", what);
        if (pread(c->sfd, &rec, sizeof(rec), 0) != (ssize_t)sizeof(rec))
                die("stop: cannot read the stamp");
        return rec.pid;
}

static void stop_cli(struct stop_ctx *c, const char *cmd)
{
        char *argv[] = { (char *)"pidvisor", (char *)cmd, (char *)"victim", NULL };
        pid_t pid;
        int status;

        if ((errno = spawn(&pid, c->o->pidvisor, argv, c->cli_envp, devnull_fd, devnull_fd, log_fd)) != 0)
                die("posix_spawn %s: %s", c->o->pidvisor, strerror(errno));
        status = wait_status(pid);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                char desc[64];
                describe_status(status, desc, sizeof(desc));
                die("stop: `pidvisor %s victim` %s (see %s)", cmd, desc, log_path);
        }
}

/* One timed stop by method m; returns ns. */
static uint64_t stop_once(struct stop_ctx *c, enum stop_method m)
{
        uint64_t t0 = 0, t1 = 0;
        pid_t pid;

        stamp_reset(c->sfd);
        switch (m) {
        case STOP_FLOOR: {
                char *argv[] = { (char *)"stamp", (char *)"pause", (char *)c->sfile, NULL };
                int status;

                if ((errno = spawn(&pid, c->o->stamp, argv, stamp_envp, -1, -1, -1)) != 0)
                        die("posix_spawn %s: %s", c->o->stamp, strerror(errno));
                stop_wait_stamp(c, "floor");
                t0 = now_ns();
                kill(pid, SIGTERM);
                status = wait_status(pid);
                t1 = now_ns();
                if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGTERM)
                        die("stop floor: wait status 0x%x", (unsigned)status);
                return t1 - t0;
        }
        case STOP_RAW: {
                struct sockaddr_un sa = { .sun_family = AF_UNIX };
                char *line;
                json_t *res;
                int fd;

                stop_cli(c, "start");
                pid = stop_wait_stamp(c, "raw");
                snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->d->socket);
                t0 = now_ns();
                fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                        die("stop raw: connect %s: %s", c->d->socket, strerror(errno));
                if (send_request(fd, "stop", "victim") < 0)
                        die("stop raw: write: %s", strerror(errno));
                line = read_line(fd, 30000);
                t1 = now_ns();
                close(fd);
                res = parse_reply(line, "stop victim (raw)");
                free(line);
                json_decref(res);
                break;
        }
        case STOP_CLI:
                stop_cli(c, "start");
                pid = stop_wait_stamp(c, "cli");
                t0 = now_ns();
                stop_cli(c, "stop");
                t1 = now_ns();
                break;
        case STOP_EXEC: {
                char *argv[] = { (char *)"pidvisor", (char *)"--version", NULL };
                int status;

                t0 = now_ns();
                if ((errno = spawn(&pid, c->o->pidvisor, argv, c->cli_envp, devnull_fd,
                                   devnull_fd, log_fd)) != 0)
                        die("posix_spawn %s: %s", c->o->pidvisor, strerror(errno));
                status = wait_status(pid);
                t1 = now_ns();
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                        die("pidvisor --version: wait status 0x%x", (unsigned)status);
                return t1 - t0;
        }
        case N_STOP:
        default:
                die("bad method");
        }
        if (pid_alive(pid))
                c->not_reaped++;
        return t1 - t0;
}

static void bench_stop(const struct options *o)
{
        /* Started 3 * (runs + warm-up) times: no start limit (the default is 5 in 10 s). */
        static const char unit_fmt[] =
                "[Unit]\n"
                "StartLimitBurst=0\n"
                "[Service]\n"
                "ExecStart=%s pause %s\n";
        const unsigned block = 10, warm = 5;
        char units[PATH_MAX], sfile[PATH_MAX], body[2 * PATH_MAX + 64], sockenv[160];
        uint64_t *samples[N_STOP];
        struct stats st[N_STOP];
        unsigned done[N_STOP] = { 0 };
        struct daemon d;
        struct stop_ctx c = { .o = o, .d = &d };
        struct leak_probe probe0, probe1;
        size_t n_env = 0, k = 0;
        uint64_t t_begin = now_ns();

        printf("\n== stop: stop request -> service reaped; %u runs per method in blocks of %u, "
               "rotating order, %u untimed warm-up each ==\n", o->runs, block, warm);
        fflush(stdout);
        path_join(units, sizeof(units), work_dir, "units-stop");
        path_join(sfile, sizeof(sfile), work_dir, "stamp-stop");
        snprintf(body, sizeof(body), unit_fmt, o->stamp, sfile);
        write_units(units, "victim", 0, body);
        c.sfd = stamp_open(sfile);
        c.sfile = sfile;

        daemon_spawn(&d, o->pidvisor, units, "stop", o->epoll);
        daemon_wait_socket(&d, 10000);
        snprintf(sockenv, sizeof(sockenv), "PIDVISOR_SOCKET=%s", d.socket);
        while (environ[n_env])
                n_env++;
        c.cli_envp = calloc(n_env + 2, sizeof(char *));
        if (!c.cli_envp)
                die("out of memory");
        for (size_t i = 0; i < n_env; i++)
                if (strncmp(environ[i], "PIDVISOR_SOCKET=", 16) != 0)
                        c.cli_envp[k++] = environ[i];
        c.cli_envp[k++] = sockenv;

        for (int m = 0; m < N_STOP; m++) {
                samples[m] = calloc(o->runs, sizeof(uint64_t));
                if (!samples[m])
                        die("out of memory");
                for (unsigned i = 0; i < warm; i++)
                        stop_once(&c, (enum stop_method)m);
        }
        c.not_reaped = 0;
        leak_probe_take(d.pid, &probe0);
        for (unsigned round = 0;; round++) {
                bool any = false;

                for (int j = 0; j < N_STOP; j++) {
                        int m = (int)((round + (unsigned)j) % N_STOP);
                        unsigned end = done[m] + block < o->runs ? done[m] + block : o->runs;

                        for (unsigned i = done[m]; i < end; i++)
                                samples[m][i] = stop_once(&c, (enum stop_method)m);
                        if (end > done[m])
                                any = true;
                        done[m] = end;
                }
                if (!any)
                        break;
        }
        leak_probe_take(d.pid, &probe1);
        {
                long inactive = count_state(&d, "inactive", NULL);
                if (inactive != 1)
                        problem("stop: after the runs the service is not inactive (list: %ld)",
                                inactive);
        }
        leak_probe_report("stop", &probe0, &probe1, 2L * o->runs);
        daemon_terminate(&d, 30000, "stop");
        check_no_leftovers("stop");
        check_cgroup_removed(&d, "stop");
        if (c.not_reaped)
                problem("stop: %u times the stop reply came while the service's pid still "
                        "existed", c.not_reaped);

        for (int m = 0; m < N_STOP; m++)
                st[m] = compute_stats(samples[m], o->runs);
        print_stats_header();
        for (int m = 0; m < N_STOP; m++)
                print_stats_row(stop_names[m], o->runs, &st[m], &st[STOP_FLOOR]);
        printf("summary [stop]: CLI median %.1f us p99 %.1f us (goal < 2 ms: %s); raw socket "
               "median %.1f us p99 %.1f us; floor median %.1f us p99 %.1f us; CLI/floor %.2fx, "
               "raw/floor %.2fx; the CLI's share %.1f us of the median (`pidvisor --version` "
               "alone: %.1f us); %.1f s\n",
               st[STOP_CLI].median_us, st[STOP_CLI].p99_us,
               st[STOP_CLI].median_us < 2000 ? "met" : "NOT met", st[STOP_RAW].median_us,
               st[STOP_RAW].p99_us, st[STOP_FLOOR].median_us, st[STOP_FLOOR].p99_us,
               st[STOP_CLI].median_us / st[STOP_FLOOR].median_us,
               st[STOP_RAW].median_us / st[STOP_FLOOR].median_us,
               st[STOP_CLI].median_us - st[STOP_RAW].median_us, st[STOP_EXEC].median_us,
               (double)(now_ns() - t_begin) / 1e9);
        fflush(stdout);
        for (int m = 0; m < N_STOP; m++)
                free(samples[m]);
        free(c.cli_envp);
        close(c.sfd);
}

/* --- 5. daemon-reexec with N services --------------------------------------------------- */

/* "list": every service's pid and state, as "NAME pid STATE" lines sorted by name. */
static char *list_snapshot(struct daemon *d)
{
        json_t *res = ctl_call(d, "list", NULL, 30000), *svc;
        size_t i, len = 0, cap = 0;
        char *out = NULL;

        if (!res)
                return strdup("");
        json_array_foreach(json_object_get(res, "services"), i, svc) {
                char line[256];
                int n = snprintf(line, sizeof(line), "%s %lld %s\n", json_string_value(json_object_get(svc, "name")),
                                 (long long)json_integer_value(json_object_get(svc, "pid")),
                                 json_string_value(json_object_get(svc, "state")));
                if (len + (size_t)n + 1 > cap) {
                        cap = (len + (size_t)n + 1) * 2;
                        out = realloc(out, cap);
                        if (!out)
                                die("out of memory");
                }
                memcpy(out + len, line, (size_t)n + 1);
                len += (size_t)n;
        }
        json_decref(res);
        return out ? out : strdup("");
}

static void bench_reexec(const struct options *o)
{
        static const char unit_fmt[] =
                "[Service]\n"
                "ExecStart=%s pause %s\n"
                "[X-Pidvisor]\n"
                "AutoStart=yes\n";
        char units[PATH_MAX], sfile[PATH_MAX], body[2 * PATH_MAX + 128], *before, *after;
        uint64_t *t_floor = calloc(o->reexecs, sizeof(uint64_t)), *t_reply = calloc(o->reexecs, sizeof(uint64_t)),
                 *t_ping = calloc(o->reexecs, sizeof(uint64_t)), *t_self = calloc(o->reexecs, sizeof(uint64_t));
        struct stats s_floor, s_reply, s_ping, s_self;
        uint64_t t_begin = now_ns();
        struct daemon d;
        long running;
        size_t total = 0;
        int sfd;

        if (!t_floor || !t_reply || !t_ping || !t_self)
                die("out of memory");
        printf("\n== reexec: daemon-reexec with %u running services ==\n", o->services);
        printf("%u re-execs, each from the request to its answer and to a ping's answer sent right after\n",
               o->reexecs);
        fflush(stdout);
        path_join(units, sizeof(units), work_dir, "units-reexec");
        path_join(sfile, sizeof(sfile), work_dir, "stamp-reexec");
        snprintf(body, sizeof(body), unit_fmt, o->stamp, sfile);
        write_units(units, "r", o->services, body);
        sfd = stamp_open(sfile);
        daemon_spawn(&d, o->pidvisor, units, "reexec", o->epoll);
        if (stamp_wait(sfd, o->services, 120000, 5, d.pidfd) < 0)
                die("reexec: only %zu of %u services started; see %s", stamp_count(sfd), o->services, log_path);
        daemon_wait_socket(&d, 10000);
        running = count_state(&d, "running", &total);
        if (running != (long)o->services)
                problem("reexec: %ld of %zu services running before the re-execs", running, total);
        before = list_snapshot(&d);
        sleep_ms(o->settle_ms / 4);

        for (unsigned i = 0; i < o->reexecs; i++) {
                char *argv[] = { (char *)o->pidvisor, (char *)"--reexec-format", NULL };
                int a, b, status;
                uint64_t t0;
                pid_t pid;
                char *line;
                json_t *res;

                /* The floor: the binary exec'd and waited for. */
                t0 = now_ns();
                if ((errno = spawn(&pid, o->pidvisor, argv, environ, devnull_fd, devnull_fd, -1)) != 0)
                        die("posix_spawn %s: %s", o->pidvisor, strerror(errno));
                status = wait_status(pid);
                t_floor[i] = now_ns() - t0;
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                        die("%s --reexec-format: wait status 0x%x", o->pidvisor, (unsigned)status);
                sleep_ms(100);

                a = ctl_connect(d.socket);
                b = ctl_connect(d.socket);
                if (a < 0 || b < 0)
                        die("reexec: connect: %s", strerror(-(a < 0 ? a : b)));
                t0 = now_ns();
                if (send_request(a, "daemon-reexec", NULL) < 0 || send_request(b, "ping", NULL) < 0)
                        die("reexec: send: %s", strerror(errno));
                /* The ping waits behind the re-exec: it is answered by the new process. */
                line = read_line(b, 30000);
                t_ping[i] = now_ns() - t0;
                json_decref(parse_reply(line, "reexec: ping"));
                free(line);
                line = read_line(a, 30000);
                t_reply[i] = now_ns() - t0;
                res = parse_reply(line, "reexec: daemon-reexec");
                free(line);
                t_self[i] = res ? (uint64_t)json_integer_value(json_object_get(res, "usec")) * 1000 : 0;
                if (res && json_integer_value(json_object_get(res, "pid")) != d.pid)
                        problem("reexec: the answer comes from pid %lld, not the daemon's %d",
                                (long long)json_integer_value(json_object_get(res, "pid")), (int)d.pid);
                json_decref(res);
                close(a);
                close(b);
                if (pid_alive(d.pid) == false)
                        die("reexec: the daemon died; see %s", log_path);
                sleep_ms(200);
        }
        after = list_snapshot(&d);
        if (strcmp(before, after) != 0)
                problem("reexec: the services' pids or states changed across the re-execs");
        if (stamp_count(sfd) != o->services)
                problem("reexec: %zu starts recorded for %u services: something was started again", stamp_count(sfd),
                        o->services);
        daemon_terminate(&d, 120000, "reexec");
        check_no_leftovers("reexec");
        check_cgroup_removed(&d, "reexec");

        s_floor = compute_stats(t_floor, o->reexecs);
        s_reply = compute_stats(t_reply, o->reexecs);
        s_ping = compute_stats(t_ping, o->reexecs);
        s_self = compute_stats(t_self, o->reexecs);
        print_stats_header();
        print_stats_row("floor (exec + wait)", o->reexecs, &s_floor, &s_floor);
        print_stats_row("request -> answer", o->reexecs, &s_reply, &s_floor);
        print_stats_row("request -> ping answer", o->reexecs, &s_ping, &s_floor);
        print_stats_row("daemon's own count", o->reexecs, &s_self, &s_floor);
        printf("summary [reexec]: %u services: request -> answer median %.1f ms p99 %.1f ms; ping answered "
               "again after median %.1f ms; floor (exec of the binary) median %.1f ms; goal < 50 ms: %s; %.1f s\n",
               o->services, s_reply.median_us / 1000, s_reply.p99_us / 1000, s_ping.median_us / 1000,
               s_floor.median_us / 1000, s_reply.p99_us < 50000 ? "met (p99)" : s_reply.median_us < 50000 ? "met (median)" : "NOT met",
               (double)(now_ns() - t_begin) / 1e9);
        fflush(stdout);
        free(before);
        free(after);
        free(t_floor);
        free(t_reply);
        free(t_ping);
        free(t_self);
        close(sfd);
}

/* --- main ---------------------------------------------------------------------------- */

static void usage(FILE *f)
{
        fprintf(f,
                "usage: daemon-bench [OPTIONS] [restart] [start] [idle] [stop] [reexec]   (default: all)\n"
                "  --pidvisor PATH  the pidvisor binary%s%s\n"
                "  --stamp PATH     the bench/stamp fixture%s%s\n"
                "  --nolibc         use bench/stamp-nolibc (x86_64 builds only)\n"
                "  --dir DIR        where to make the work directory (/dev/shm, else $TMPDIR)\n"
                "  --keep           keep the work directory (units, stamps, daemon.log)\n"
                "  --epoll          run the daemon with --epoll\n"
                "  --crashes N      restart: crashes timed per method (1000, at least 200)\n"
                "  --block N        restart: crashes per block, blocks alternate methods (200)\n"
                "  --services N     start, idle: services (1000)\n"
                "  --rounds N       start: rounds, each one floor and one daemon start (5)\n"
                "  --seconds N      idle: the window with --services services (30)\n"
                "  --small N        idle: services of the first, smaller phase (100)\n"
                "  --runs N         stop: timed stops per method (200)\n"
                "  --settle-ms N    start: pause before each timed start (2000)\n"
                "  --reexecs N      reexec: timed re-execs (20)\n",
#ifdef PIDVISOR_PATH
                "; default ", PIDVISOR_PATH,
#else
                "", "",
#endif
#ifdef STAMP_PATH
                "; default ", STAMP_PATH
#else
                "", ""
#endif
        );
}

int main(int argc, char **argv)
{
        enum { O_PIDVISOR = 256, O_STAMP, O_DIR, O_KEEP, O_EPOLL, O_CRASHES, O_BLOCK, O_SERVICES,
               O_ROUNDS, O_SECONDS, O_SMALL, O_RUNS, O_SETTLE, O_NOLIBC, O_HOLD, O_REEXECS };
        static const struct option longopts[] = {
                { "pidvisor", required_argument, NULL, O_PIDVISOR },
                { "stamp", required_argument, NULL, O_STAMP },
                { "dir", required_argument, NULL, O_DIR },
                { "keep", no_argument, NULL, O_KEEP },
                { "epoll", no_argument, NULL, O_EPOLL },
                { "crashes", required_argument, NULL, O_CRASHES },
                { "block", required_argument, NULL, O_BLOCK },
                { "services", required_argument, NULL, O_SERVICES },
                { "rounds", required_argument, NULL, O_ROUNDS },
                { "seconds", required_argument, NULL, O_SECONDS },
                { "small", required_argument, NULL, O_SMALL },
                { "runs", required_argument, NULL, O_RUNS },
                { "settle-ms", required_argument, NULL, O_SETTLE },
                { "nolibc", no_argument, NULL, O_NOLIBC },
                { "hold", no_argument, NULL, O_HOLD },
                { "reexecs", required_argument, NULL, O_REEXECS },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        struct options o = {
#ifdef PIDVISOR_PATH
                .pidvisor = PIDVISOR_PATH,
#endif
#ifdef STAMP_PATH
                .stamp = STAMP_PATH,
#endif
                .crashes = 1000,
                .block = 200,
                .services = 1000,
                .rounds = 5,
                .seconds = 30,
                .small = 100,
                .runs = 200,
                .settle_ms = 2000,
                .reexecs = 20,
        };
        bool want[5] = { false }, any = false, hold = false;
        static const char *const names[5] = { "restart", "start", "idle", "stop", "reexec" };
        int c;

        bench_name = "daemon-bench";
        while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
                switch (c) {
                case O_PIDVISOR:
                        o.pidvisor = optarg;
                        break;
                case O_STAMP:
                        o.stamp = optarg;
                        break;
                case O_DIR:
                        o.parent_dir = optarg;
                        break;
                case O_KEEP:
                        o.keep = true;
                        break;
                case O_EPOLL:
                        o.epoll = true;
                        break;
                case O_CRASHES:
                        o.crashes = parse_uint("--crashes", optarg, 200, UINT_MAX);
                        break;
                case O_BLOCK:
                        o.block = parse_uint("--block", optarg, 10, UINT_MAX);
                        break;
                case O_SERVICES:
                        o.services = parse_uint("--services", optarg, 2, UINT_MAX);
                        break;
                case O_ROUNDS:
                        o.rounds = parse_uint("--rounds", optarg, 1, UINT_MAX);
                        break;
                case O_SECONDS:
                        o.seconds = parse_uint("--seconds", optarg, 1, UINT_MAX);
                        break;
                case O_SMALL:
                        o.small = parse_uint("--small", optarg, 1, UINT_MAX);
                        break;
                case O_RUNS:
                        o.runs = parse_uint("--runs", optarg, 1, UINT_MAX);
                        break;
                case O_SETTLE:
                        o.settle_ms = parse_uint("--settle-ms", optarg, 0, UINT_MAX);
                        break;
                case O_NOLIBC:
#ifdef STAMP_NOLIBC_PATH
                        o.stamp = STAMP_NOLIBC_PATH;
                        break;
#else
                        fprintf(stderr, "daemon-bench: no stamp-nolibc in this build\n");
                        return 2;
#endif
                case O_HOLD:
                        hold = true;
                        break;
                case O_REEXECS:
                        o.reexecs = parse_uint("--reexecs", optarg, 1, UINT_MAX);
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (hold) {
                /* daemon-bench --hold N STAMP FILE: the floor process of `idle`. */
                if (argc - optind != 3)
                        return 2;
                return hold_main(argv[optind + 1], parse_uint("N", argv[optind], 1, UINT_MAX),
                                 argv[optind + 2]);
        }
        for (int i = optind; i < argc; i++) {
                int k;
                for (k = 0; k < 5; k++)
                        if (strcmp(argv[i], names[k]) == 0)
                                break;
                if (k == 5) {
                        fprintf(stderr, "daemon-bench: unknown benchmark \"%s\"\n", argv[i]);
                        usage(stderr);
                        return 2;
                }
                want[k] = any = true;
        }
        if (!any)
                want[0] = want[1] = want[2] = want[3] = want[4] = true;
        if (!o.pidvisor || !o.stamp) {
                fprintf(stderr, "daemon-bench: give --pidvisor and --stamp\n");
                return 2;
        }
        if (want[2] && o.small >= o.services) {
                fprintf(stderr, "daemon-bench: --small must be below --services\n");
                return 2;
        }
        if (access(o.pidvisor, X_OK) < 0 || access(o.stamp, X_OK) < 0) {
                fprintf(stderr, "daemon-bench: %s or %s is not executable\n", o.pidvisor, o.stamp);
                return 2;
        }

        /* Orphans of a misbehaving daemon come to us, not to init. */
        if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
                die("PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
        signal(SIGPIPE, SIG_IGN);
        spawn_attr_setup(false);
        devnull_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (devnull_fd < 0)
                die("/dev/null: %s", strerror(errno));
        make_work_dir(o.parent_dir, "pv-dbench");
        print_machine(false);
        printf("pidvisor %s; stamp %s%s\n", o.pidvisor, o.stamp,
               o.epoll ? "; daemon with --epoll" : "");
        fflush(stdout);

        if (want[0])
                bench_restart(&o);
        if (want[1])
                bench_start(&o);
        if (want[2])
                bench_idle(&o);
        if (want[3])
                bench_stop(&o);
        if (want[4])
                bench_reexec(&o);

        return bench_finish(o.keep);
}
