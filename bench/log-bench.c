/* SPDX-License-Identifier: MIT */

/* log-bench: service output and readiness in `pidvisor daemon` (issue 4), each against a
 * baseline measured in the same run.
 *
 *   log       log throughput.  A writer (`log-bench-fixture spew N LEN`: N lines of LEN
 *             bytes, newline included, each starting with its 10-digit sequence number,
 *             written with one write() per 64 KiB block) runs
 *               cat     piped into `cat > FILE` (the baseline);
 *               relay   piped into `log-bench-fixture relay FILE`, which does what the
 *                       daemon did per line before it batched: a CLOCK_REALTIME stamp
 *                       formatted per line, and one write() per record
 *                       "TIME stdout: TEXT" to an O_APPEND file (a reference: the cost
 *                       of the per-line record design without the daemon around it);
 *               relay-batch  the same records, but those of one read() written with
 *                       one write() (a reference: the same file without a system call
 *                       per line, but still a formatted time per line);
 *               relay-floor  the same file with the least user-space work: one time
 *                       per read() (as the daemon does now), memchr and memcpy per line,
 *                       no test for bytes to escape, one write() per read (a reference:
 *                       what the record format itself costs, mostly in the kernel);
 *               pidvisor  as a Type=simple service of a private daemon
 *                       (LogMaxBytes=0: no rotation), its stdout going to
 *                       STATE-DIR/logs/spew.log.
 *             Timed from just before the first spawn (pidvisor: before the `start`
 *             request is sent) until the output file holds all N lines (its size polled
 *             every millisecond); then, untimed, every line of the file is checked: in
 *             order, none lost, none doubled, none damaged.  Rounds rotate the order of
 *             the five, after one untimed warm-up run.  "idle CPUs" is how much CPU the
 *             whole machine left idle during the timed part (/proc/stat): near 0 on a
 *             2-CPU machine means something else was running too, and the writer and
 *             the reader took turns on one CPU.  MB/s are of the writer's bytes
 *             (10^6 bytes per MB), not of the file, which for the daemon also holds the
 *             36-byte time and stream prefix.
 *   notify    READY round trip.  A `start` request on the control socket (connected
 *             beforehand; timed from the write of the request to the reply line) for
 *               notify  a Type=notify service (`log-bench-fixture notify`: sends READY=1
 *                       to $NOTIFY_SOCKET first thing in main, then pause()s);
 *               simple  a Type=simple service running the same binary (the daemon sets
 *                       no NOTIFY_SOCKET for it, so it sends nothing): the difference is
 *                       the readiness round trip plus the fixture's own start-up;
 *               floor   a bare loop: posix_spawn the same fixture with NOTIFY_SOCKET set
 *                       to a datagram socket of our own (SO_PASSCRED, as the daemon's),
 *                       wait for READY=1 from that pid.
 *             Between runs, untimed: `stop` (the daemon) or SIGTERM + waitpid (floor).
 *
 * The fixture is this file built with -DLOG_BENCH_FIXTURE, static (bench/meson.build).
 * All files live in a fresh directory under /dev/shm (tmpfs) unless --dir says otherwise.
 * The daemon runs with --log-level warning, its stderr to WORKDIR/daemon.log, whose first
 * lines are printed at the end.  Anything wrong with the daemon (lost or damaged lines, a
 * stall, an error reply, a failed exit, a process or cgroup left behind) is printed as
 * "PROBLEM:" and makes the exit status 1.
 *
 * Usage: log-bench [OPTIONS] [log] [notify]     (default: both)
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifdef LOG_BENCH_FIXTURE

/* --- the fixture ----------------------------------------------------------------------- */

static int write_all(int fd, const char *buf, size_t len)
{
        while (len > 0) {
                ssize_t n = write(fd, buf, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return -1;
                buf += n;
                len -= (size_t)n;
        }
        return 0;
}

/* spew N LEN: N lines of LEN bytes ("%010llu " + filler + "\n") to stdout. */
static int fx_spew(unsigned long long n, unsigned len)
{
        size_t per = 65536 / len, i;
        unsigned long long seq = 0;
        char *buf;

        if (per == 0)
                per = 1;
        buf = malloc(per * len);
        if (!buf)
                return 3;
        for (i = 0; i < per; i++) {
                char *l = buf + i * len;
                for (unsigned j = 11; j + 1 < len; j++)
                        l[j] = (char)('a' + (j % 26));
                l[10] = ' ';
                l[len - 1] = '\n';
        }
        while (seq < n) {
                size_t k = n - seq < per ? (size_t)(n - seq) : per;

                for (i = 0; i < k; i++) {
                        unsigned long long u = seq + i;
                        char *l = buf + i * len;
                        for (int j = 9; j >= 0; j--) {
                                l[j] = (char)('0' + u % 10);
                                u /= 10;
                        }
                }
                if (write_all(STDOUT_FILENO, buf, k * len) < 0)
                        return 1;
                seq += k;
        }
        free(buf);
        return 0;
}

/* notify: READY=1 to $NOTIFY_SOCKET (when set), then pause() until a signal kills us. */
static int fx_notify(void)
{
        const char *e = getenv("NOTIFY_SOCKET");

        if (e && *e) {
                struct sockaddr_un sa = { .sun_family = AF_UNIX };
                size_t len = strlen(e);
                int fd;

                if ((e[0] != '/' && e[0] != '@') || len >= sizeof(sa.sun_path))
                        return 2;
                memcpy(sa.sun_path, e, len);
                if (sa.sun_path[0] == '@')
                        sa.sun_path[0] = '\0';
                fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                if (fd < 0 ||
                    sendto(fd, "READY=1", 7, MSG_NOSIGNAL, (struct sockaddr *)&sa,
                           (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
                                       (e[0] == '/'))) != 7)
                        return 3;
                close(fd);
        }
        for (;;)
                pause();
}

/* relay FILE: stdin's lines as daemon-style records, one write() each, to FILE
 * (O_APPEND).  The time is formatted as src/daemon/logfile.c formats it.  With batch,
 * the records of one read() are collected and written with one write() (at most 64 KiB
 * each): what the same records cost without a system call per line. */
static int fx_relay(const char *path, bool batch)
{
        enum { REC_MAX = 16384, OUT_MAX = 65536 };
        static char in[16384], line[REC_MAX], out[OUT_MAX + REC_MAX + 128];
        size_t partial = 0, used = 0;
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);

        if (fd < 0)
                return 2;
        for (;;) {
                ssize_t n = read(STDIN_FILENO, in, sizeof(in));
                const char *p, *end;

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                for (p = in, end = in + n; p < end;) {
                        const char *nl = memchr(p, '\n', (size_t)(end - p));
                        size_t k = (size_t)((nl ? nl : end) - p);
                        struct timespec ts;
                        struct tm tm;
                        time_t t;
                        char *rec;
                        size_t m;

                        if (partial + k > REC_MAX)
                                k = REC_MAX - partial; /* long lines are cut, not split */
                        memcpy(line + partial, p, k);
                        partial += k;
                        if (!nl)
                                break;
                        p = nl + 1;
                        clock_gettime(CLOCK_REALTIME, &ts);
                        t = ts.tv_sec;
                        gmtime_r(&t, &tm);
                        rec = out + used;
                        m = strftime(rec, 64, "%Y-%m-%dT%H:%M:%S", &tm);
                        m += (size_t)snprintf(rec + m, 64 - m, ".%06uZ stdout: ",
                                              (unsigned)(ts.tv_nsec / 1000));
                        memcpy(rec + m, line, partial);
                        m += partial;
                        rec[m++] = '\n';
                        partial = 0;
                        used += m;
                        if ((!batch || used >= OUT_MAX) && write_all(fd, out, used) < 0)
                                return 1;
                        if (!batch || used >= OUT_MAX)
                                used = 0;
                }
                if (used > 0 && write_all(fd, out, used) < 0)
                        return 1;
                used = 0;
        }
        return close(fd) == 0 ? 0 : 1;
}

/* relay-floor FILE: the same records with the least work in user space, as the daemon
 * builds them since it gives all lines of one read() the time of that read: the prefix is
 * formatted once per read, each line found with memchr and copied with memcpy (no test
 * for bytes to escape, no long-line splitting), the records of one read written with one
 * write().  A reference: what the record format costs in the kernel (reading 100 bytes,
 * writing 136) plus a minimum of user work. */
static int fx_relay_floor(const char *path)
{
        enum { IN_MAX = 256 * 1024, OUT_MAX = 512 * 1024, REC_MAX = 16384, PREFIX = 64 };
        static char in[IN_MAX], out[OUT_MAX], line[REC_MAX];
        size_t partial = 0;
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);

        if (fd < 0)
                return 2;
        for (;;) {
                ssize_t n = read(STDIN_FILENO, in, sizeof(in));
                char prefix[PREFIX];
                const char *p, *end;
                struct timespec ts;
                struct tm tm;
                time_t t;
                size_t used = 0, np;

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                clock_gettime(CLOCK_REALTIME, &ts);
                t = ts.tv_sec;
                gmtime_r(&t, &tm);
                np = strftime(prefix, sizeof(prefix), "%Y-%m-%dT%H:%M:%S", &tm);
                np += (size_t)snprintf(prefix + np, sizeof(prefix) - np, ".%06uZ stdout: ",
                                       (unsigned)(ts.tv_nsec / 1000));
                for (p = in, end = in + n; p < end;) {
                        const char *nl = memchr(p, '\n', (size_t)(end - p));
                        size_t k = (size_t)((nl ? nl : end) - p);

                        if (!nl || partial > 0) {
                                /* A line across reads: gathered apart (cut at REC_MAX). */
                                if (partial + k > REC_MAX)
                                        k = REC_MAX - partial;
                                memcpy(line + partial, p, k);
                                partial += k;
                                if (!nl)
                                        break;
                                memcpy(out + used, prefix, np);
                                memcpy(out + used + np, line, partial);
                                used += np + partial;
                                partial = 0;
                        } else {
                                memcpy(out + used, prefix, np);
                                memcpy(out + used + np, p, k);
                                used += np + k;
                        }
                        out[used++] = '\n';
                        p = nl + 1;
                        if (used > OUT_MAX - PREFIX - REC_MAX - 1) { /* only with many short lines */
                                if (write_all(fd, out, used) < 0)
                                        return 1;
                                used = 0;
                        }
                }
                if (used > 0 && write_all(fd, out, used) < 0)
                        return 1;
        }
        return close(fd) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
        if (argc == 4 && strcmp(argv[1], "spew") == 0) {
                unsigned long long n = strtoull(argv[2], NULL, 10);
                unsigned long len = strtoul(argv[3], NULL, 10);
                if (len < 12 || len > 16000)
                        return 2;
                return fx_spew(n, (unsigned)len);
        }
        if (argc == 2 && strcmp(argv[1], "notify") == 0)
                return fx_notify();
        if (argc == 3 && strcmp(argv[1], "relay") == 0)
                return fx_relay(argv[2], false);
        if (argc == 3 && strcmp(argv[1], "relay-batch") == 0)
                return fx_relay(argv[2], true);
        if (argc == 3 && strcmp(argv[1], "relay-floor") == 0)
                return fx_relay_floor(argv[2]);
        fputs("usage: log-bench-fixture spew N LEN | notify | relay[-batch|-floor] FILE\n", stderr);
        return 2;
}

#else /* the bench */

#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "benchlib.h"

extern char **environ;

struct options {
        const char *pidvisor;
        const char *fixture;
        const char *parent_dir;
        bool keep;
        unsigned mb;         /* log: MB (10^6 bytes) written per run */
        unsigned line_bytes; /* log: bytes per line, newline included */
        unsigned rounds;     /* log: rounds of the five methods */
        unsigned runs;       /* notify: timed starts per method */
};

/* --- the daemon and its control socket ----------------------------------------------- */

/* The state of a service from "status", copied into buf ("" on failure). */
static void service_state(struct daemon *d, const char *name, char *buf, size_t size)
{
        json_t *res = ctl_call(d, "status", name, 10000);
        const char *st = res ? json_string_value(json_object_get(res, "state")) : NULL;

        snprintf(buf, size, "%s", st ? st : "");
        json_decref(res);
}

/* --- 1. log throughput ----------------------------------------------------------------- */

enum log_method { LOG_CAT, LOG_RELAY, LOG_BATCH, LOG_FLOOR, LOG_PIDVISOR, N_LOG };

static const char *const log_names[N_LOG] = {
        [LOG_CAT] = "cat > file",
        [LOG_RELAY] = "relay, write per record",
        [LOG_BATCH] = "relay, write per read",
        [LOG_FLOOR] = "relay, prefix per read",
        [LOG_PIDVISOR] = "pidvisor service",
};

struct log_ctx {
        const struct options *o;
        struct daemon *d;
        unsigned long long lines;
        char n_arg[32], len_arg[16];
        char pv_log[PATH_MAX];
};

struct log_run {
        uint64_t ns;          /* start -> all lines in the file */
        uint64_t file_bytes;  /* the file's size at the end */
        uint64_t reader_cpu;  /* cat, relay or the daemon: CPU time in ns */
        uint64_t writer_cpu;  /* the writer (cat, relay runs only) */
        double idle_cpus;     /* CPUs the machine left idle meanwhile (/proc/stat), -1: unknown */
        bool ok;
};

/* Idle time of all CPUs so far (idle + iowait of /proc/stat), in ns; 0 if unknown. */
static uint64_t idle_ns(void)
{
        unsigned long long v[5];
        long hz = sysconf(_SC_CLK_TCK);
        FILE *f = fopen("/proc/stat", "re");
        int n = f ? fscanf(f, "cpu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4]) : 0;

        if (f)
                fclose(f);
        return n == 5 && hz > 0 ? (v[3] + v[4]) * (1000000000ull / (unsigned long long)hz) : 0;
}

static double idle_cpus(uint64_t idle0, uint64_t idle1, uint64_t ns)
{
        return idle0 && idle1 && ns ? (double)(idle1 - idle0) / (double)ns : -1;
}

static off_t size_of(const char *path)
{
        struct stat st;

        return stat(path, &st) == 0 ? st.st_size : -1;
}

/* Length of a record's prefix up to the text ("TIME stdout: "), from the file's first
 * line; 0 when the file is plain lines (cat).  -1 when it cannot be told yet. */
static int record_prefix(const char *path)
{
        char buf[256];
        ssize_t n;
        const char *p;
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return -1;
        n = pread(fd, buf, sizeof(buf) - 1, 0);
        close(fd);
        if (n <= 0)
                return -1;
        buf[n] = '\0';
        p = strstr(buf, " stdout: ");
        if (!p || memchr(buf, '\n', (size_t)(p - buf)))
                return -1;
        return (int)(p - buf) + 9;
}

/* Polls the file's size every millisecond until it reaches target.  Returns the time
 * it did in ns (monotonic), or 0 after a stall of stall_ms or past deadline. */
static uint64_t wait_size(const char *path, uint64_t target, uint64_t deadline,
                          unsigned stall_ms, off_t *last)
{
        off_t prev = -2;
        uint64_t t_prev = now_ns();

        for (;;) {
                off_t s = size_of(path);
                uint64_t now = now_ns();

                *last = s;
                if (s >= 0 && (uint64_t)s >= target)
                        return now;
                if (s != prev) {
                        prev = s;
                        t_prev = now;
                } else if (now - t_prev > (uint64_t)stall_ms * 1000000u || now > deadline)
                        return 0;
                sleep_ms(1);
        }
}

/* Checks every line of the file: prefix bytes of record head (the stream must be
 * "stdout"), then the writer's line: "%010llu " + filler, in sequence.  Returns true
 * when all `lines` lines are there, in order, undamaged, and nothing else. */
static bool verify_file(const char *path, int prefix, unsigned line_bytes,
                        unsigned long long lines, const char *what)
{
        enum { CHUNK = 1 << 20 };
        char *buf = malloc(CHUNK + 20000);
        size_t have = 0, rec = (size_t)prefix + line_bytes;
        unsigned long long seq = 0, bad = 0, first_bad = 0;
        char expect_tail[16000];
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        bool eof = false;

        if (!buf)
                die("out of memory");
        if (fd < 0) {
                problem("%s: cannot open %s: %s", what, path, strerror(errno));
                free(buf);
                return false;
        }
        for (unsigned j = 11; j + 1 < line_bytes; j++)
                expect_tail[j] = (char)('a' + (j % 26));
        while (!eof || have > 0) {
                size_t off = 0;

                if (!eof) {
                        ssize_t n = read(fd, buf + have, CHUNK);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0)
                                die("read %s: %s", path, strerror(errno));
                        if (n == 0)
                                eof = true;
                        have += (size_t)n;
                }
                while (have - off >= rec || (eof && have > off)) {
                        const char *l = buf + off, *t = l + prefix;
                        unsigned long long v = 0;
                        bool digits = have - off >= rec, good;

                        for (int j = 0; digits && j < 10; j++) {
                                if (t[j] < '0' || t[j] > '9')
                                        digits = false;
                                v = v * 10 + (unsigned long long)(t[j] - '0');
                        }
                        good = digits && v == seq && l[rec - 1] == '\n' &&
                               (prefix == 0 || memcmp(t - 9, " stdout: ", 9) == 0) &&
                               t[10] == ' ' &&
                               memcmp(t + 11, expect_tail + 11, line_bytes - 12) == 0;
                        if (!good) {
                                const char *nl = memchr(l, '\n', have - off);
                                if (bad++ == 0) {
                                        first_bad = seq;
                                        printf("  %s: line %llu unexpected: \"%.*s\"\n", what, seq,
                                               (int)((nl ? (size_t)(nl - l) : have - off) > 200
                                                             ? 200
                                                             : (nl ? (size_t)(nl - l) : have - off)),
                                               l);
                                }
                                if (!nl && !eof)
                                        break; /* read on */
                                off += nl ? (size_t)(nl - l) + 1 : have - off;
                                /* resynchronise on the sequence number the line carries */
                                if (digits && v > seq && v < lines)
                                        seq = v + 1;
                                else
                                        seq++;
                                continue;
                        }
                        off += rec;
                        seq++;
                }
                memmove(buf, buf + off, have - off);
                have -= off;
                if (!eof && have >= CHUNK)
                        die("verify: a line longer than 1 MiB in %s", path);
        }
        close(fd);
        free(buf);
        if (bad || seq != lines) {
                problem("%s: %s holds %llu lines where %llu were written, %llu of them wrong "
                        "(first at line %llu)", what, path, seq, lines, bad, first_bad);
                return false;
        }
        return true;
}

static uint64_t log_deadline(void)
{
        return now_ns() + 60ull * 1000000000u;
}

/* writer | READER, READER one of `cat` (stdout to the file) or the relay. */
static struct log_run log_pipeline(struct log_ctx *c, enum log_method m, const char *file)
{
        char *wargv[] = { (char *)"log-bench-fixture", (char *)"spew", c->n_arg, c->len_arg, NULL };
        char *cargv[] = { (char *)"cat", NULL };
        char *rargv[] = { (char *)"log-bench-fixture",
                          (char *)(m == LOG_BATCH ? "relay-batch" : m == LOG_FLOOR ? "relay-floor" : "relay"),
                          (char *)file, NULL };
        char *envp[] = { env_path, NULL };
        struct log_run run = { 0 };
        struct rusage ru;
        pid_t wpid, rpid;
        int p[2], ffd = -1, st_w, st_r, prefix = 0;
        uint64_t t0, t1, target, idle0;
        off_t last;

        if (pipe2(p, O_CLOEXEC) < 0)
                die("pipe2: %s", strerror(errno));
        if (m == LOG_CAT) {
                ffd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                if (ffd < 0)
                        die("%s: %s", file, strerror(errno));
        }
        idle0 = idle_ns();
        t0 = now_ns();
        if (m == LOG_CAT)
                errno = spawn(&rpid, "/bin/cat", cargv, envp, p[0], ffd, log_fd);
        else
                errno = spawn(&rpid, c->o->fixture, rargv, envp, p[0], devnull_fd, log_fd);
        if (errno != 0)
                die("posix_spawn reader: %s", strerror(errno));
        if ((errno = spawn(&wpid, c->o->fixture, wargv, envp, devnull_fd, p[1], log_fd)) != 0)
                die("posix_spawn %s: %s", c->o->fixture, strerror(errno));
        close(p[0]);
        close(p[1]);
        if (ffd >= 0)
                close(ffd);
        if (m != LOG_CAT) {
                /* The record prefix is known once the first record is there. */
                uint64_t dl = now_ns() + 10000000000ull;
                while ((prefix = record_prefix(file)) < 0 && now_ns() < dl)
                        sleep_ms(1);
                if (prefix < 0)
                        die("relay: no record in %s after 10 s", file);
        }
        target = c->lines * ((uint64_t)prefix + c->o->line_bytes);
        t1 = wait_size(file, target, log_deadline(), 10000, &last);
        run.idle_cpus = idle_cpus(idle0, idle_ns(), t1 ? t1 - t0 : 0);
        st_w = wait_status_ru(wpid, &ru);
        run.writer_cpu = rusage_cpu_ns(&ru);
        st_r = wait_status_ru(rpid, &ru);
        run.reader_cpu = rusage_cpu_ns(&ru);
        if (!t1) {
                printf("  %s: the file stopped at %lld of %llu bytes\n", log_names[m],
                       (long long)last, (unsigned long long)target);
                die("%s: timed out", log_names[m]);
        }
        if (!WIFEXITED(st_w) || WEXITSTATUS(st_w) != 0 || !WIFEXITED(st_r) ||
            WEXITSTATUS(st_r) != 0)
                die("%s: writer status 0x%x, reader status 0x%x", log_names[m], (unsigned)st_w,
                    (unsigned)st_r);
        run.ns = t1 - t0;
        run.file_bytes = (uint64_t)size_of(file);
        run.ok = verify_file(file, prefix, c->o->line_bytes, c->lines, log_names[m]);
        unlink(file);
        return run;
}

static struct log_run log_pidvisor(struct log_ctx *c)
{
        struct log_run run = { 0 };
        char state[64] = "", *line;
        json_t *res;
        uint64_t t0, t1, target, cpu0, cpu1, idle0;
        int fd, prefix;
        off_t last;

        if (size_of(c->pv_log) > 0 && truncate(c->pv_log, 0) < 0)
                die("truncate %s: %s", c->pv_log, strerror(errno));
        fd = ctl_connect(c->d->socket);
        if (fd < 0)
                die("connect %s: %s", c->d->socket, strerror(-fd));
        cpu0 = cpu_ns_of(c->d->pid);
        idle0 = idle_ns();
        t0 = now_ns();
        if (send_request(fd, "start", "spew") < 0)
                die("start spew: write: %s", strerror(errno));
        line = read_line(fd, 10000);
        close(fd);
        res = parse_reply(line, "start spew");
        free(line);
        if (!res)
                die("start spew failed (see %s)", log_path);
        json_decref(res);
        {
                uint64_t dl = now_ns() + 10000000000ull;
                while ((prefix = record_prefix(c->pv_log)) < 0 && now_ns() < dl)
                        sleep_ms(1);
                if (prefix < 0)
                        die("pidvisor: no record in %s after 10 s", c->pv_log);
        }
        target = c->lines * ((uint64_t)prefix + c->o->line_bytes);
        t1 = wait_size(c->pv_log, target, log_deadline(), 10000, &last);
        cpu1 = cpu_ns_of(c->d->pid);
        run.idle_cpus = idle_cpus(idle0, idle_ns(), t1 ? t1 - t0 : 0);
        if (!t1) {
                problem("pidvisor: %s stopped growing at %lld of %llu bytes (a stall, or lost "
                        "lines)", c->pv_log, (long long)last, (unsigned long long)target);
                run.ok = false;
        }
        run.ns = t1 ? t1 - t0 : 0;
        run.reader_cpu = cpu0 && cpu1 ? cpu1 - cpu0 : 0;
        /* The writer has exited; wait until the daemon says so. */
        for (int i = 0; i < 2000; i++) {
                service_state(c->d, "spew", state, sizeof(state));
                if (strcmp(state, "inactive") == 0 || strcmp(state, "failed") == 0)
                        break;
                sleep_ms(5);
        }
        if (strcmp(state, "inactive") != 0)
                problem("pidvisor: after the writer's exit the service is \"%s\", not inactive",
                        state);
        /* Anything written after the size was reached (it must not be) shows now. */
        run.file_bytes = (uint64_t)size_of(c->pv_log);
        if (t1)
                run.ok = verify_file(c->pv_log, prefix, c->o->line_bytes, c->lines,
                                     "pidvisor service");
        if (truncate(c->pv_log, 0) < 0)
                die("truncate %s: %s", c->pv_log, strerror(errno));
        return run;
}

static int cmp_run_ns(const void *a, const void *b)
{
        uint64_t x = ((const struct log_run *)a)->ns, y = ((const struct log_run *)b)->ns;

        return (x > y) - (x < y);
}

static void bench_log(const struct options *o)
{
        static const char unit_fmt[] =
                "[Unit]\n"
                "Description=log-bench writer\n"
                "StartLimitBurst=0\n"
                "[Service]\n"
                "ExecStart=%s spew %s %s\n"
                "[X-Pidvisor]\n"
                "LogMaxBytes=0\n";
        char units[PATH_MAX], unit[PATH_MAX], body[PATH_MAX + 256], file[PATH_MAX];
        struct log_ctx c = { .o = o };
        struct log_run *runs[N_LOG], med[N_LOG];
        struct daemon d;
        double mb = (double)o->mb * 1e6;
        uint64_t t_begin = now_ns();

        c.lines = (unsigned long long)(mb / o->line_bytes);
        snprintf(c.n_arg, sizeof(c.n_arg), "%llu", c.lines);
        snprintf(c.len_arg, sizeof(c.len_arg), "%u", o->line_bytes);
        printf("\n== log: %llu lines of %u bytes (%.1f MB) per run, %u rounds of cat / relay / "
               "relay-batch / relay-floor / pidvisor in rotating order; files on %s (%s) ==\n",
               c.lines, o->line_bytes, (double)c.lines * o->line_bytes / 1e6, o->rounds,
               work_dir, fs_name(work_dir));
        fflush(stdout);

        path_join(units, sizeof(units), work_dir, "units-log");
        make_dir(units);
        path_join(unit, sizeof(unit), units, "spew.service");
        snprintf(body, sizeof(body), unit_fmt, o->fixture, c.n_arg, c.len_arg);
        if (write_file(unit, body) < 0)
                die("%s: %s", unit, strerror(errno));
        daemon_spawn(&d, o->pidvisor, units, "log", false);
        daemon_wait_socket(&d, 10000);
        c.d = &d;
        path_join(c.pv_log, sizeof(c.pv_log), d.state_dir, "logs/spew.log");
        path_join(file, sizeof(file), work_dir, "out.log");

        for (int m = 0; m < N_LOG; m++) {
                runs[m] = calloc(o->rounds, sizeof(struct log_run));
                if (!runs[m])
                        die("out of memory");
        }
        /* Untimed: the first few hundred MB written after the memory was given back are
         * slower on a virtual machine (its host backs guest pages on first touch, it
         * seems); without this, the first round's cat was up to 4x slower than the rest. */
        {
                struct log_run w = log_pipeline(&c, LOG_BATCH, file);
                printf("  warm-up (untimed): %s %.3f s\n", log_names[LOG_BATCH],
                       (double)w.ns / 1e9);
        }
        printf("  %-5s %-26s %9s %9s %11s %12s %10s %10s %9s\n", "round", "method", "s", "MB/s",
               "lines/s", "file bytes", "rdr CPU s", "wtr CPU s", "idle CPUs");
        for (unsigned r = 0; r < o->rounds; r++)
                for (int j = 0; j < N_LOG; j++) {
                        int m = (int)((r + (unsigned)j) % N_LOG);
                        struct log_run *x = &runs[m][r];
                        char wcpu[32];
                        double s;

                        *x = m == LOG_PIDVISOR ? log_pidvisor(&c)
                                               : log_pipeline(&c, (enum log_method)m, file);
                        s = (double)x->ns / 1e9;
                        if (m == LOG_PIDVISOR)
                                snprintf(wcpu, sizeof(wcpu), "-");
                        else
                                snprintf(wcpu, sizeof(wcpu), "%.3f", (double)x->writer_cpu / 1e9);
                        printf("  %-5u %-26s %9.3f %9.1f %11.0f %12llu %10.3f %10s %9.2f%s\n", r + 1,
                               log_names[m], s, s > 0 ? mb / s / 1e6 : 0,
                               s > 0 ? (double)c.lines / s : 0,
                               (unsigned long long)x->file_bytes, (double)x->reader_cpu / 1e9,
                               wcpu, x->idle_cpus, x->ok ? "" : "  (NOT all lines)");
                        fflush(stdout);
                }
        daemon_terminate(&d, 30000, "log");
        check_no_leftovers("log");
        check_cgroup_removed(&d, "log");

        for (int m = 0; m < N_LOG; m++) {
                qsort(runs[m], o->rounds, sizeof(struct log_run), cmp_run_ns);
                med[m] = runs[m][(o->rounds - 1) / 2];
                if (o->rounds % 2 == 0) {
                        const struct log_run *hi = &runs[m][o->rounds / 2];
                        med[m].ns = (med[m].ns + hi->ns) / 2;
                        med[m].reader_cpu = (med[m].reader_cpu + hi->reader_cpu) / 2;
                }
        }
        printf("  medians:\n");
        for (int m = 0; m < N_LOG; m++) {
                double s = (double)med[m].ns / 1e9;
                printf("  %-26s %8.3f s %9.1f MB/s %11.0f lines/s  %.2fx of cat; reader CPU "
                       "%.0f ns per line\n", log_names[m], s, mb / s / 1e6, (double)c.lines / s,
                       (double)med[LOG_CAT].ns / (double)med[m].ns,
                       (double)med[m].reader_cpu / (double)c.lines);
        }
        printf("summary [log, %s]: pidvisor %.1f MB/s %.0f lines/s, cat > file %.1f MB/s %.0f "
               "lines/s: %.2fx (goal >= 0.8x: %s); relay %.1f MB/s (%.2fx of cat), pidvisor / "
               "relay %.2fx; relay-batch %.1f MB/s (%.2fx of cat); relay-floor %.1f MB/s (%.2fx of "
               "cat), pidvisor / relay-floor %.2fx; daemon CPU %.0f ns per line; %.1f s\n",
               fs_name(work_dir), mb / ((double)med[LOG_PIDVISOR].ns / 1e9) / 1e6,
               (double)c.lines / ((double)med[LOG_PIDVISOR].ns / 1e9),
               mb / ((double)med[LOG_CAT].ns / 1e9) / 1e6,
               (double)c.lines / ((double)med[LOG_CAT].ns / 1e9),
               (double)med[LOG_CAT].ns / (double)med[LOG_PIDVISOR].ns,
               (double)med[LOG_CAT].ns / (double)med[LOG_PIDVISOR].ns >= 0.8 ? "met" : "NOT met",
               mb / ((double)med[LOG_RELAY].ns / 1e9) / 1e6,
               (double)med[LOG_CAT].ns / (double)med[LOG_RELAY].ns,
               (double)med[LOG_RELAY].ns / (double)med[LOG_PIDVISOR].ns,
               mb / ((double)med[LOG_BATCH].ns / 1e9) / 1e6,
               (double)med[LOG_CAT].ns / (double)med[LOG_BATCH].ns,
               mb / ((double)med[LOG_FLOOR].ns / 1e9) / 1e6,
               (double)med[LOG_CAT].ns / (double)med[LOG_FLOOR].ns,
               (double)med[LOG_FLOOR].ns / (double)med[LOG_PIDVISOR].ns,
               (double)med[LOG_PIDVISOR].reader_cpu / (double)c.lines,
               (double)(now_ns() - t_begin) / 1e9);
        fflush(stdout);
        for (int m = 0; m < N_LOG; m++)
                free(runs[m]);
}

/* --- 2. notify READY round trip -------------------------------------------------------- */

enum notify_method { NT_FLOOR, NT_SIMPLE, NT_NOTIFY, N_NT };

static const char *const nt_names[N_NT] = {
        [NT_FLOOR] = "floor (spawn, READY=1)",
        [NT_SIMPLE] = "Type=simple start",
        [NT_NOTIFY] = "Type=notify start",
};

struct notify_ctx {
        const struct options *o;
        struct daemon *d;
        int sock;          /* the floor's datagram socket */
        char sock_env[160]; /* NOTIFY_SOCKET=... */
};

/* The floor: spawn the fixture with NOTIFY_SOCKET ours, wait for READY=1 from it. */
static uint64_t notify_floor_once(struct notify_ctx *c)
{
        char *argv[] = { (char *)"log-bench-fixture", (char *)"notify", NULL };
        char *envp[] = { env_path, c->sock_env, NULL };
        char buf[256];
        uint64_t t0, t1;
        pid_t pid;

        while (recv(c->sock, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
                ; /* nothing should be pending */
        t0 = now_ns();
        if ((errno = spawn(&pid, c->o->fixture, argv, envp, devnull_fd, -1, -1)) != 0)
                die("posix_spawn %s: %s", c->o->fixture, strerror(errno));
        for (;;) {
                union {
                        struct cmsghdr h;
                        char b[CMSG_SPACE(sizeof(struct ucred))];
                } ctl;
                struct iovec iov = { buf, sizeof(buf) };
                struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &ctl,
                                     .msg_controllen = sizeof(ctl) };
                struct pollfd p = { .fd = c->sock, .events = POLLIN };
                struct cmsghdr *cm;
                ssize_t n;
                pid_t from = 0;

                if (poll(&p, 1, 10000) == 0)
                        die("floor: no READY=1 from the fixture within 10 s");
                n = recvmsg(c->sock, &mh, MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                continue;
                        die("recvmsg: %s", strerror(errno));
                }
                for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
                        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_CREDENTIALS) {
                                struct ucred u;
                                memcpy(&u, CMSG_DATA(cm), sizeof(u));
                                from = u.pid;
                        }
                if (from == pid && n == 7 && memcmp(buf, "READY=1", 7) == 0)
                        break;
        }
        t1 = now_ns();
        kill(pid, SIGTERM);
        wait_status(pid);
        return t1 - t0;
}

static uint64_t notify_daemon_once(struct notify_ctx *c, const char *name)
{
        char *line, what[64];
        json_t *res;
        uint64_t t0, t1;
        int fd = ctl_connect(c->d->socket);

        snprintf(what, sizeof(what), "start %s", name);
        if (fd < 0)
                die("connect %s: %s", c->d->socket, strerror(-fd));
        t0 = now_ns();
        if (send_request(fd, "start", name) < 0)
                die("%s: write: %s", what, strerror(errno));
        line = read_line(fd, 30000);
        t1 = now_ns();
        close(fd);
        res = parse_reply(line, what);
        free(line);
        if (!res)
                die("%s failed (see %s)", what, log_path);
        {
                const char *st = json_string_value(json_object_get(res, "state"));
                if (!st || strcmp(st, "running") != 0)
                        problem("%s: the reply says \"%s\", not running", what, st ? st : "?");
        }
        json_decref(res);
        res = ctl_call(c->d, "stop", name, 30000);
        if (res) {
                const char *st = json_string_value(json_object_get(res, "state"));
                if (!st || strcmp(st, "inactive") != 0)
                        problem("stop %s: the reply says \"%s\", not inactive", name,
                                st ? st : "?");
                json_decref(res);
        }
        return t1 - t0;
}

static uint64_t notify_once(struct notify_ctx *c, enum notify_method m)
{
        switch (m) {
        case NT_FLOOR:
                return notify_floor_once(c);
        case NT_SIMPLE:
                return notify_daemon_once(c, "simple");
        case NT_NOTIFY:
                return notify_daemon_once(c, "notify");
        case N_NT:
        default:
                die("bad method");
        }
}

static void bench_notify(const struct options *o)
{
        static const char unit_fmt[] =
                "[Unit]\n"
                "StartLimitBurst=0\n"
                "[Service]\n"
                "Type=%s\n"
                "ExecStart=%s notify\n";
        const unsigned block = 10, warm = 5;
        char units[PATH_MAX], path[PATH_MAX], body[PATH_MAX + 128], sock_path[PATH_MAX];
        struct notify_ctx c = { .o = o };
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        uint64_t *samples[N_NT];
        struct stats st[N_NT];
        unsigned done[N_NT] = { 0 };
        struct daemon d;
        uint64_t t_begin = now_ns();
        int one = 1;

        printf("\n== notify: start request -> reply; %u runs per method in blocks of %u, "
               "rotating order, %u untimed warm-up each ==\n", o->runs, block, warm);
        fflush(stdout);
        path_join(units, sizeof(units), work_dir, "units-notify");
        make_dir(units);
        path_join(path, sizeof(path), units, "notify.service");
        snprintf(body, sizeof(body), unit_fmt, "notify", o->fixture);
        if (write_file(path, body) < 0)
                die("%s: %s", path, strerror(errno));
        path_join(path, sizeof(path), units, "simple.service");
        snprintf(body, sizeof(body), unit_fmt, "simple", o->fixture);
        if (write_file(path, body) < 0)
                die("%s: %s", path, strerror(errno));

        path_join(sock_path, sizeof(sock_path), work_dir, "floor-notify");
        if (strlen(sock_path) >= sizeof(sa.sun_path))
                die("socket path too long: %s", sock_path);
        strcpy(sa.sun_path, sock_path);
        c.sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (c.sock < 0 || bind(c.sock, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
            setsockopt(c.sock, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0)
                die("floor socket %s: %s", sock_path, strerror(errno));
        snprintf(c.sock_env, sizeof(c.sock_env), "NOTIFY_SOCKET=%s", sock_path);

        daemon_spawn(&d, o->pidvisor, units, "notify", false);
        daemon_wait_socket(&d, 10000);
        c.d = &d;

        for (int m = 0; m < N_NT; m++) {
                samples[m] = calloc(o->runs, sizeof(uint64_t));
                if (!samples[m])
                        die("out of memory");
                for (unsigned i = 0; i < warm; i++)
                        notify_once(&c, (enum notify_method)m);
        }
        for (unsigned round = 0;; round++) {
                bool any = false;

                for (int j = 0; j < N_NT; j++) {
                        int m = (int)((round + (unsigned)j) % N_NT);
                        unsigned end = done[m] + block < o->runs ? done[m] + block : o->runs;

                        for (unsigned i = done[m]; i < end; i++)
                                samples[m][i] = notify_once(&c, (enum notify_method)m);
                        if (end > done[m])
                                any = true;
                        done[m] = end;
                }
                if (!any)
                        break;
        }
        daemon_terminate(&d, 30000, "notify");
        check_no_leftovers("notify");
        check_cgroup_removed(&d, "notify");
        close(c.sock);
        unlink(sock_path);

        for (int m = 0; m < N_NT; m++)
                st[m] = compute_stats(samples[m], o->runs);
        printf("  %-24s %6s %11s %11s %11s %11s %8s %8s\n", "method", "n", "median(us)",
               "p99(us)", "min(us)", "mean(us)", "med/flr", "p99/flr");
        for (int m = 0; m < N_NT; m++)
                printf("  %-24s %6u %11.1f %11.1f %11.1f %11.1f %7.2fx %7.2fx\n", nt_names[m],
                       o->runs, st[m].median_us, st[m].p99_us, st[m].min_us, st[m].mean_us,
                       st[m].median_us / st[NT_FLOOR].median_us,
                       st[m].p99_us / st[NT_FLOOR].p99_us);
        printf("summary [notify]: Type=notify median %.1f us p99 %.1f us; Type=simple median "
               "%.1f us p99 %.1f us; floor median %.1f us p99 %.1f us; notify/floor %.2fx, "
               "notify/simple %.2fx; notify minus simple %.1f us, notify minus floor %.1f us "
               "(medians); %.1f s\n",
               st[NT_NOTIFY].median_us, st[NT_NOTIFY].p99_us, st[NT_SIMPLE].median_us,
               st[NT_SIMPLE].p99_us, st[NT_FLOOR].median_us, st[NT_FLOOR].p99_us,
               st[NT_NOTIFY].median_us / st[NT_FLOOR].median_us,
               st[NT_NOTIFY].median_us / st[NT_SIMPLE].median_us,
               st[NT_NOTIFY].median_us - st[NT_SIMPLE].median_us,
               st[NT_NOTIFY].median_us - st[NT_FLOOR].median_us,
               (double)(now_ns() - t_begin) / 1e9);
        fflush(stdout);
        for (int m = 0; m < N_NT; m++)
                free(samples[m]);
}

/* --- main ---------------------------------------------------------------------------- */

static void usage(FILE *f)
{
        fprintf(f,
                "usage: log-bench [OPTIONS] [log] [notify]   (default: both)\n"
                "  --pidvisor PATH  the pidvisor binary%s%s\n"
                "  --fixture PATH   the log-bench-fixture binary%s%s\n"
                "  --dir DIR        where to make the work directory (/dev/shm, else $TMPDIR)\n"
                "  --keep           keep the work directory\n"
                "  --mb N           log: MB (10^6 bytes) written per run (500)\n"
                "  --line-bytes N   log: bytes per line, newline included (100)\n"
                "  --rounds N       log: rounds of the five methods (3)\n"
                "  --runs N         notify: timed starts per method (300)\n",
#ifdef PIDVISOR_PATH
                "; default ", PIDVISOR_PATH,
#else
                "", "",
#endif
#ifdef FIXTURE_PATH
                "; default ", FIXTURE_PATH
#else
                "", ""
#endif
        );
}

int main(int argc, char **argv)
{
        enum { O_PIDVISOR = 256, O_FIXTURE, O_DIR, O_KEEP, O_MB, O_LINE, O_ROUNDS, O_RUNS };
        static const struct option longopts[] = {
                { "pidvisor", required_argument, NULL, O_PIDVISOR },
                { "fixture", required_argument, NULL, O_FIXTURE },
                { "dir", required_argument, NULL, O_DIR },
                { "keep", no_argument, NULL, O_KEEP },
                { "mb", required_argument, NULL, O_MB },
                { "line-bytes", required_argument, NULL, O_LINE },
                { "rounds", required_argument, NULL, O_ROUNDS },
                { "runs", required_argument, NULL, O_RUNS },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        struct options o = {
#ifdef PIDVISOR_PATH
                .pidvisor = PIDVISOR_PATH,
#endif
#ifdef FIXTURE_PATH
                .fixture = FIXTURE_PATH,
#endif
                .mb = 500,
                .line_bytes = 100,
                .rounds = 3,
                .runs = 300,
        };
        bool want[2] = { false }, any = false;
        static const char *const names[2] = { "log", "notify" };
        int c;

        bench_name = "log-bench";
        while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
                switch (c) {
                case O_PIDVISOR:
                        o.pidvisor = optarg;
                        break;
                case O_FIXTURE:
                        o.fixture = optarg;
                        break;
                case O_DIR:
                        o.parent_dir = optarg;
                        break;
                case O_KEEP:
                        o.keep = true;
                        break;
                case O_MB:
                        o.mb = parse_uint("--mb", optarg, 1, 4000);
                        break;
                case O_LINE:
                        /* a record must stay under the daemon's 16 KiB: no split lines */
                        o.line_bytes = parse_uint("--line-bytes", optarg, 12, 16000);
                        break;
                case O_ROUNDS:
                        o.rounds = parse_uint("--rounds", optarg, 1, 100);
                        break;
                case O_RUNS:
                        o.runs = parse_uint("--runs", optarg, 1, 1000000);
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        for (int i = optind; i < argc; i++) {
                int k;
                for (k = 0; k < 2; k++)
                        if (strcmp(argv[i], names[k]) == 0)
                                break;
                if (k == 2) {
                        fprintf(stderr, "log-bench: unknown benchmark \"%s\"\n", argv[i]);
                        usage(stderr);
                        return 2;
                }
                want[k] = any = true;
        }
        if (!any)
                want[0] = want[1] = true;
        if (!o.pidvisor || !o.fixture) {
                fprintf(stderr, "log-bench: give --pidvisor and --fixture\n");
                return 2;
        }
        if (access(o.pidvisor, X_OK) < 0 || access(o.fixture, X_OK) < 0) {
                fprintf(stderr, "log-bench: %s or %s is not executable\n", o.pidvisor, o.fixture);
                return 2;
        }

        if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
                die("PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
        signal(SIGPIPE, SIG_IGN);
        spawn_attr_setup(true);
        devnull_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (devnull_fd < 0)
                die("/dev/null: %s", strerror(errno));
        make_work_dir(o.parent_dir, "pv-lbench");
        print_machine(true);
        printf("pidvisor %s; fixture %s\n", o.pidvisor, o.fixture);
        fflush(stdout);

        if (want[0])
                bench_log(&o);
        if (want[1])
                bench_notify(&o);

        return bench_finish(o.keep);
}

#endif /* LOG_BENCH_FIXTURE */
