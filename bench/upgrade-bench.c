/* SPDX-License-Identifier: MIT */

/* upgrade-bench: hot restart (`pidvisor upgrade`, issue 6), each figure against a baseline
 * measured in the same run.
 *
 *   latency  Upgrade latency, split as command -> successor ready -> old instance gone,
 *            and the daemon's own share of it (the reply's manager_usec, and the CPU
 *            time the daemon used per request, which preemption cannot inflate), no load,
 *            for HotRestart=socket, takeover and transparent, each with Type=notify
 *            (READY=1) and with ReadyCheck=delay (100 ms); pv-upserver binds its own
 *            socket (--bind) for takeover and transparent.  Also nginx under pidvisor in
 *            transparent mode (`nginx -g 'daemon off;'`, DrainSignal=SIGQUIT,
 *            ReadyCheck=delay).  Rounds rotate over the methods.  Baselines in the same
 *            rounds: a "floor" that does the same hand-over itself with libpidvisor and
 *            no daemon (pv_listeners_take for takeover, pv_spawn with LISTEN_FDS, wait
 *            for READY=1 on its own notify socket, SIGTERM, reap; the takeover floor is
 *            transparent's too), and nginx's own binary upgrade (USR2, WINCH, QUIT).
 *   bind     The time one intercepted bind() costs, from the binding process's side:
 *            bench/bindtime (static) times its own bind() calls with CLOCK_MONOTONIC
 *            around each and appends them to a file: one to the listener's address
 *            (answered with the old instance's listener) and one to 127.0.0.1:0 (no
 *            listener has it: intercepted, then continued in the kernel).  Each round
 *            runs it three ways: as the successor of a transparent upgrade (Type=notify)
 *            under the daemon; with no filter at all (the same binds, not intercepted);
 *            and under a floor handler, the bench itself holding the seccomp listener
 *            and doing only what an answer needs (read the address, check the id,
 *            ADDFD, answer).
 *   load     Requests served and failed while upgrades run under OPEN-loop load (pv-load
 *            --rate: 2000 requests/s over 16 threads by default, every failure
 *            classified), for each pidvisor mode and nginx under pidvisor (transparent);
 *            for a naive `pidvisor restart` of a server that binds its own socket (the
 *            baseline: it must show failures); for nginx's binary upgrade done by hand;
 *            and, as the latency baseline, the same load with no upgrade at all
 *            (pv-upserver under pidvisor, nginx alone, and nginx under pidvisor after one
 *            untimed upgrade, so that its master runs under the filter as after any).
 *   --soak   Only the issue's goal run: N (1000) consecutive upgrades at one per second
 *            under open-loop load with a server that drains gracefully
 *            (--soak-variant: takeover-notify by default, transparent-notify for the
 *            transparent mode); the load client is replaced every 50 upgrades (so that
 *            every successor can be seen among the answers), just after an upgrade, the
 *            new one started before the old one stops.  About 17 minutes with the
 *            defaults: run it by hand.
 *
 * nginx under pidvisor with HotRestart=takeover is not measured: nginx does not read
 * LISTEN_FDS (it inherits sockets through its own NGINX variable), so a successor would
 * bind the port itself and fail; transparent mode is what serves it.
 *
 * nginx runs in the foreground (`daemon off;`, master process on) under this bench.  It
 * ignores USR2 while its parent is still the process that started it (it takes that for
 * an old binary still running), so it is started through an intermediate process that
 * exits once nginx has written its pid file; the master then becomes our child (we are a
 * child subreaper), and so does each new master once its predecessor is gone.  Not
 * daemonized, nginx also ignores WINCH, so it is QUIT that stops the old workers
 * gracefully and ends the old master (what WINCH then QUIT do together).  A new master
 * counts as ready once it has all its workers.
 *
 * The servers are tests/fixtures/pv-upserver (answers "TAG PID\n", drains on SIGTERM)
 * and the load is tests/fixtures/pv-load, both built again for the bench.  Anything
 * unexpected (an upgrade refused or failed, a failed request in a pidvisor mode, a naive
 * restart that shows no failure, a wrong pid, a successor that never answered, a leaked
 * descriptor, a zombie, a process or cgroup left behind, a daemon that does not exit
 * cleanly, a line in the daemon log at --log-level warning) is printed as "PROBLEM:" and
 * makes the exit status 1.
 *
 * Usage: upgrade-bench [OPTIONS] [latency] [bind] [load]      (default: all three)
 *        upgrade-bench [OPTIONS] --soak[=N]
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <pidvisor/handoff.h>
#include <pidvisor/process.h>
#include <pidvisor/spawn.h>

#include "benchlib.h"

extern char **environ;

struct options {
        const char *pidvisor;
        const char *upserver;
        const char *load;
        const char *bindtime;
        const char *nginx; /* NULL: not measured */
        const char *parent_dir;
        bool keep;
        bool epoll;
        unsigned rounds;      /* latency: upgrades per method */
        unsigned delay_ms;    /* ReadyCheck=delay of the delay variants */
        unsigned binds;       /* bind: rounds */
        unsigned upgrades;    /* load: upgrades per scenario */
        unsigned interval_ms; /* load: one upgrade every ... */
        unsigned rate;        /* requests per second, open loop */
        unsigned conns;       /* load threads */
        unsigned soak;        /* 0: no soak; else the number of upgrades */
        unsigned soak_interval_ms;
        unsigned soak_segment;
        const char *soak_variant;
};

/* --- the pidvisor variants ----------------------------------------------------------- */

struct variant {
        const char *name; /* also the unit's name suffix */
        const char *mode; /* HotRestart= */
        bool notify;      /* Type=notify with READY=1, else ReadyCheck=delay */
};

/* The Type=notify variants first, then the delay ones, each in the order of modes. */
static const struct variant variants[] = {
        { "socket-notify", "socket", true },
        { "takeover-notify", "takeover", true },
        { "transparent-notify", "transparent", true },
        { "socket-delay", "socket", false },
        { "takeover-delay", "takeover", false },
        { "transparent-delay", "transparent", false },
};
#define N_VARIANTS (sizeof(variants) / sizeof(variants[0]))
#define N_NOTIFY_VARIANTS 3

static const char transparent_note[] =
        "transparent: manager_usec leaves out the daemon's answers to the successor's bind "
        "notifications (intercept.c is not accounted); the daemon's cpu includes them";
static const char nginx_pv_note[] =
        "nginx under pidvisor, HotRestart=takeover: not measured (nginx does not read LISTEN_FDS, "
        "so its successor would bind the port itself and fail); transparent is measured";

/* --- small helpers ------------------------------------------------------------------- */

/* "1.23 2.07 1.71" from /proc/loadavg: how busy the (shared) machine was. */
static const char *loadavg(void)
{
        static char buf[64];
        FILE *f = fopen("/proc/loadavg", "re");
        double a = 0, b = 0, c = 0;

        if (!f || fscanf(f, "%lf %lf %lf", &a, &b, &c) != 3)
                snprintf(buf, sizeof(buf), "?");
        else
                snprintf(buf, sizeof(buf), "%.2f %.2f %.2f", a, b, c);
        if (f)
                fclose(f);
        return buf;
}

/* A free TCP port on 127.0.0.1 (bound to port 0 and closed again). */
static int free_port(void)
{
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(a);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port;

        if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
            getsockname(fd, (struct sockaddr *)&a, &len) < 0)
                die("free port: %s", strerror(errno));
        port = ntohs(a.sin_port);
        close(fd);
        return port;
}

static int listen_tcp(int port)
{
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                                 .sin_port = htons((uint16_t)port) };
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

        if (fd < 0)
                die("socket: %s", strerror(errno));
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 1024) < 0)
                die("bind/listen 127.0.0.1:%d: %s", port, strerror(errno));
        return fd;
}

/* One request to a pv-upserver on port: the pid in its answer "TAG PID", or -1. */
static long ask_pid(int port)
{
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                                 .sin_port = htons((uint16_t)port) };
        char buf[128];
        size_t got = 0;
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct timeval tv = { .tv_sec = 5 };
        const char *sp;

        if (fd < 0)
                return -1;
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || write(fd, "GET\n", 4) != 4) {
                close(fd);
                return -1;
        }
        for (;;) {
                ssize_t k = read(fd, buf + got, sizeof(buf) - 1 - got);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break;
                got += (size_t)k;
        }
        close(fd);
        buf[got] = '\0';
        sp = strchr(buf, ' ');
        return sp ? atol(sp + 1) : -1;
}

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

static unsigned long rollup_field(pid_t pid, const char *field)
{
        char path[64], line[256];
        size_t len = strlen(field);
        unsigned long v = 0;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
        f = fopen(path, "re");
        while (f && fgets(line, sizeof(line), f))
                if (strncmp(line, field, len) == 0 && line[len] == ':') {
                        v = strtoul(line + len + 1, NULL, 10);
                        break;
                }
        if (f)
                fclose(f);
        return v;
}

/* The parent pid and state of a process from /proc/PID/stat; false when it is gone. */
static bool proc_stat(pid_t pid, pid_t *ppid, char *state)
{
        char path[64], buf[512], *p;
        FILE *f;
        int pp = 0;
        bool ok = false;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        f = fopen(path, "re");
        if (!f)
                return false;
        if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) &&
            sscanf(p + 1, " %c %d", state, &pp) == 2)
                ok = true;
        fclose(f);
        *ppid = pp;
        return ok;
}

/* Zombie children of a process (the daemon: every old instance must have been reaped). */
static unsigned zombies_of(pid_t parent)
{
        DIR *d = opendir("/proc");
        struct dirent *de;
        unsigned n = 0;

        while (d && (de = readdir(d))) {
                pid_t ppid;
                char st;
                if (de->d_name[0] < '0' || de->d_name[0] > '9')
                        continue;
                if (proc_stat((pid_t)atoi(de->d_name), &ppid, &st) && ppid == parent && st == 'Z')
                        n++;
        }
        if (d)
                closedir(d);
        return n;
}

/* Children of a single-threaded process, from /proc/PID/task/PID/children. */
static int children_of(pid_t pid)
{
        char path[96], buf[4096];
        int fd, n = 0;
        ssize_t k;

        snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -1;
        k = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (k < 0)
                return -1;
        buf[k] = '\0';
        for (char *t = strtok(buf, " \n"); t; t = strtok(NULL, " \n"))
                n++;
        return n;
}

/* The daemon's descriptors and anonymous memory before and after the upgrades. */
struct leak_probe {
        int fds;
        unsigned long anon_kib;
};

static void leak_probe_take(pid_t pid, struct leak_probe *p)
{
        /* The last request's connection may still be open in the daemon for a moment. */
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

/* expected: descriptors the daemon holds by design after the upgrades and not before:
 * the seccomp listener of a transparent service's running successor (kept for its whole
 * life, intercept.c), when "before" was its first instance, which had no filter. */
static void leak_probe_report(const char *what, const struct leak_probe *a,
                              const struct leak_probe *b, unsigned upgrades, int expected)
{
        printf("  daemon after %u upgrades: %d -> %d descriptors", upgrades, a->fds, b->fds);
        if (expected)
                printf(" (%d expected more: a transparent successor's seccomp listener per "
                       "service whose first instance was counted before)", expected);
        printf(", Pss_Anon %lu -> %lu KiB\n", a->anon_kib, b->anon_kib);
        if (b->fds > a->fds + expected)
                problem("%s: the daemon holds %d more descriptors after %u upgrades (a leak?)", what,
                        b->fds - a->fds - expected, upgrades);
        if (upgrades >= 100 && b->anon_kib > a->anon_kib + 256)
                problem("%s: the daemon's anonymous memory grew by %lu KiB over %u upgrades (a leak?)",
                        what, b->anon_kib - a->anon_kib, upgrades);
}

/* Checks, after a daemon's upgrades, that none of its children is a zombie. */
static void check_zombies(struct daemon *d, const char *what)
{
        unsigned z = zombies_of(d->pid);

        if (z)
                problem("%s: %u zombie children of the daemon (an old instance not reaped?)", what, z);
}

static void write_unit(const char *dir, const char *name, const char *body)
{
        char path[PATH_MAX], file[128];

        make_dir(dir);
        snprintf(file, sizeof(file), "%s.service", name);
        path_join(path, sizeof(path), dir, file);
        if (write_file(path, body) < 0)
                die("%s: %s", path, strerror(errno));
}

/* The unit of a variant: pv-upserver on 127.0.0.1:port, its socket held by the daemon
 * ([Socket], HotRestart=socket) or bound by the server itself (HotRestart=takeover and
 * transparent: the successor binds it too, and in transparent mode that bind is answered
 * with the old instance's listener). */
static void write_variant_unit(const struct options *o, const char *dir, const char *name,
                               const struct variant *v, int port)
{
        char body[2 * PATH_MAX], ready[64] = "", bind[64] = "", sock[96] = "";

        if (strcmp(v->mode, "socket") == 0)
                snprintf(sock, sizeof(sock), "[Socket]\nListenStream=127.0.0.1:%d\n", port);
        else
                snprintf(bind, sizeof(bind), " --bind 127.0.0.1:%d", port);
        if (!v->notify)
                snprintf(ready, sizeof(ready), "ReadyCheck=delay %ums\n", o->delay_ms);
        snprintf(body, sizeof(body),
                 "[Unit]\n"
                 "Description=upgrade-bench %s\n"
                 "StartLimitBurst=0\n"
                 "[Service]\n"
                 "Type=%s\n"
                 "ExecStart=%s --tag v%s%s\n"
                 "%s"
                 "[X-Pidvisor]\n"
                 "HotRestart=%s\n"
                 "%s",
                 v->name, v->notify ? "notify" : "simple", o->upserver, bind,
                 v->notify ? " --notify" : "", sock, v->mode, ready);
        write_unit(dir, name, body);
}

/* --- upgrades through the control socket ---------------------------------------------- */

/* One hand-over, all in ns.  total: the daemon's (or the floor's) own span; own: the
 * manager's share (manager_usec), or the floor's own calls; 0 for nginx. */
struct up_sample {
        uint64_t wall, ready, drain, total, own;
        uint64_t cpu; /* CPU time the manager (the daemon, or the floor's process) used */
};

struct series {
        uint64_t *wall, *ready, *drain, *client, *own, *cpu;
        size_t n, cap;
};

static void series_add(struct series *s, const struct up_sample *u)
{
        if (s->n == s->cap) {
                size_t cap = s->cap ? s->cap * 2 : 64;
                uint64_t **f[] = { &s->wall, &s->ready, &s->drain, &s->client, &s->own, &s->cpu };
                for (size_t i = 0; i < 6; i++) {
                        uint64_t *g = realloc(*f[i], cap * sizeof(uint64_t));
                        if (!g)
                                die("out of memory");
                        *f[i] = g;
                }
                s->cap = cap;
        }
        s->wall[s->n] = u->wall;
        s->ready[s->n] = u->ready;
        s->drain[s->n] = u->drain;
        s->client[s->n] = u->wall > u->total ? u->wall - u->total : 0;
        s->own[s->n] = u->own;
        s->cpu[s->n] = u->cpu;
        s->n++;
}

static void series_free(struct series *s)
{
        free(s->wall);
        free(s->ready);
        free(s->drain);
        free(s->client);
        free(s->own);
        free(s->cpu);
        memset(s, 0, sizeof(*s));
}

struct series_stats {
        struct stats wall, ready, drain, client, own, cpu;
        uint64_t own_max;
};

static struct series_stats series_stats(struct series *s)
{
        struct series_stats r;

        r.wall = compute_stats(s->wall, s->n);
        r.ready = compute_stats(s->ready, s->n);
        r.drain = compute_stats(s->drain, s->n);
        r.client = compute_stats(s->client, s->n);
        r.own = compute_stats(s->own, s->n);
        r.cpu = compute_stats(s->cpu, s->n);
        r.own_max = s->n ? s->own[s->n - 1] : 0;
        return r;
}

static long service_pid(struct daemon *d, const char *name)
{
        json_t *r = ctl_call(d, "status", name, 10000);
        long pid = r ? (long)json_integer_value(json_object_get(r, "pid")) : -1;

        json_decref(r);
        return pid;
}

static void start_service(struct daemon *d, const char *name)
{
        json_t *r = ctl_call(d, "start", name, 30000);
        const char *st = r ? json_string_value(json_object_get(r, "state")) : NULL;

        if (!st || strcmp(st, "running") != 0)
                die("start %s: %s (see %s)", name, st ? st : "failed", log_path);
        json_decref(r);
}

static void stop_service(struct daemon *d, const char *name)
{
        json_t *r = ctl_call(d, "stop", name, 30000);
        const char *st = r ? json_string_value(json_object_get(r, "state")) : NULL;

        if (!st || strcmp(st, "inactive") != 0)
                problem("stop %s: the service is \"%s\", not inactive", name, st ? st : "?");
        json_decref(r);
}

/* After the last upgrade: running, the expected pid, no restart counted. */
static void check_service(struct daemon *d, const char *name, long pid)
{
        json_t *r = ctl_call(d, "status", name, 10000);
        const char *st;

        if (!r)
                return;
        st = json_string_value(json_object_get(r, "state"));
        if (!st || strcmp(st, "running") != 0 || json_integer_value(json_object_get(r, "pid")) != pid)
                problem("%s: state %s pid %lld after the upgrades, expected running pid %ld", name,
                        st ? st : "?", (long long)json_integer_value(json_object_get(r, "pid")), pid);
        if (json_integer_value(json_object_get(r, "restarts")) != 0)
                problem("%s: %lld restarts counted: an upgrade counted as a crash", name,
                        (long long)json_integer_value(json_object_get(r, "restarts")));
        json_decref(r);
}

/* `pidvisor upgrade NAME` through the control socket.  *pid: the instance expected to be
 * replaced; set to the successor.  False (and a problem) when it did not go as it should. */
static bool pv_upgrade(struct daemon *d, const char *name, const char *mode, long *pid,
                       struct up_sample *u)
{
        uint64_t c0 = cpu_ns_of(d->pid), t0 = now_ns(), t1, c1;
        json_t *r = ctl_call(d, "upgrade", name, 120000), *l;
        long old_pid, new_pid;
        pid_t ppid;
        char st;

        t1 = now_ns();
        c1 = cpu_ns_of(d->pid);
        u->cpu = c1 > c0 ? c1 - c0 : 0;
        if (!r)
                return false;
        old_pid = (long)json_integer_value(json_object_get(r, "old_pid"));
        new_pid = (long)json_integer_value(json_object_get(r, "new_pid"));
        l = json_object_get(r, "listeners");
        if (old_pid != *pid || new_pid <= 0 || new_pid == old_pid)
                problem("upgrade %s: replaced pid %ld by %ld, expected pid %ld replaced", name, old_pid,
                        new_pid, *pid);
        if (strcmp(json_string_value(json_object_get(r, "mode")) ?: "", mode) != 0)
                problem("upgrade %s: mode %s, expected %s", name,
                        json_string_value(json_object_get(r, "mode")), mode);
        if (json_array_size(l) != 1)
                problem("upgrade %s: %zu listeners moved, expected 1", name, json_array_size(l));
        /* Answered when the old instance is gone: reaped, not a zombie. */
        if (old_pid > 0 && proc_stat((pid_t)old_pid, &ppid, &st) && ppid == d->pid)
                problem("upgrade %s: old pid %ld still a child of the daemon (state %c) after the reply",
                        name, old_pid, st);
        u->wall = t1 - t0;
        u->ready = (uint64_t)json_integer_value(json_object_get(r, "ready_usec")) * 1000;
        u->drain = (uint64_t)json_integer_value(json_object_get(r, "drain_usec")) * 1000;
        u->total = (uint64_t)json_integer_value(json_object_get(r, "total_usec")) * 1000;
        u->own = (uint64_t)json_integer_value(json_object_get(r, "manager_usec")) * 1000;
        *pid = new_pid;
        json_decref(r);
        return true;
}

/* The naive baseline: `pidvisor restart NAME` (stop, then start). */
static bool pv_restart(struct daemon *d, const char *name, long *pid, struct up_sample *u)
{
        uint64_t c0 = cpu_ns_of(d->pid), t0 = now_ns();
        json_t *r = ctl_call(d, "restart", name, 60000);
        long new_pid;

        u->wall = now_ns() - t0;
        u->cpu = cpu_ns_of(d->pid) - c0;
        u->ready = u->drain = u->own = 0;
        u->total = u->wall;
        if (!r)
                return false;
        new_pid = (long)json_integer_value(json_object_get(r, "pid"));
        if (new_pid <= 0 || new_pid == *pid)
                problem("restart %s: new pid %ld (was %ld)", name, new_pid, *pid);
        *pid = new_pid;
        json_decref(r);
        return true;
}

/* --- the floor: the same hand-over without a daemon ----------------------------------- */

struct floor {
        const struct options *o;
        bool takeover;  /* take the listener out of the running instance each time */
        int lfd;        /* socket floor: our listener */
        int port;
        int notify_fd;  /* our NOTIFY_SOCKET */
        char notify_path[PATH_MAX];
        char *envp[5];
        char env_notify[PATH_MAX + 16];
        struct pv_process cur;
};

static struct pv_process floor_spawn(struct floor *f, int lfd, bool bind_own, uint64_t *spawn_ns)
{
        char addr[64];
        char *argv[] = { (char *)f->o->upserver, (char *)"--tag", (char *)"f", (char *)"--notify",
                         NULL, NULL, NULL };
        struct pv_spawn_attr a;
        struct pv_process p;
        struct pv_error err = { 0 };
        uint64_t t0;
        int r;

        if (bind_own) {
                snprintf(addr, sizeof(addr), "127.0.0.1:%d", f->port);
                argv[4] = (char *)"--bind";
                argv[5] = addr;
        }
        pv_spawn_attr_init(&a);
        a.path = f->o->upserver;
        a.argv = argv;
        a.envp = f->envp;
        a.stdio[0] = (struct pv_stdio){ .kind = PV_STDIO_FD, .fd = devnull_fd };
        a.stdio[1] = (struct pv_stdio){ .kind = PV_STDIO_FD, .fd = devnull_fd };
        a.stdio[2] = (struct pv_stdio){ .kind = PV_STDIO_FD, .fd = log_fd };
        a.fds = lfd >= 0 ? &lfd : NULL;
        a.n_fds = lfd >= 0 ? 1 : 0;
        a.close_other_fds = true;
        a.new_session = true;
        a.set_listen_pid = lfd >= 0;
        t0 = now_ns();
        r = pv_spawn(&a, &p, NULL, &err);
        if (spawn_ns)
                *spawn_ns = now_ns() - t0;
        if (r < 0)
                die("floor: pv_spawn %s: %s", f->o->upserver, err.message);
        return p;
}

/* Waits for READY=1 on the floor's notify socket. */
static void floor_wait_ready(struct floor *f, const struct pv_process *p)
{
        uint64_t deadline = now_ns() + 10000000000ull;

        for (;;) {
                struct pollfd pf[2] = { { .fd = f->notify_fd, .events = POLLIN },
                                        { .fd = p->pidfd, .events = POLLIN } };
                char buf[512];
                ssize_t k;

                if (now_ns() > deadline)
                        die("floor: pid %d sent no READY=1 within 10 s", (int)p->pid);
                if (poll(pf, 2, 100) <= 0)
                        continue;
                if (pf[0].revents & POLLIN) {
                        k = recv(f->notify_fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
                        if (k > 0) {
                                buf[k] = '\0';
                                if (strstr(buf, "READY=1"))
                                        return;
                        }
                        continue;
                }
                if (pf[1].revents)
                        die("floor: pid %d exited before READY=1 (see %s)", (int)p->pid, log_path);
        }
}

static void floor_start(struct floor *f, const struct options *o, bool takeover, const char *tag)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        memset(f, 0, sizeof(*f));
        f->o = o;
        f->takeover = takeover;
        f->port = free_port();
        if ((size_t)snprintf(f->notify_path, sizeof(f->notify_path), "%s/%s.notify", work_dir,
                             tag) >= sizeof(f->notify_path) ||
            strlen(f->notify_path) >= sizeof(sa.sun_path))
                die("notify socket path too long");
        strcpy(sa.sun_path, f->notify_path);
        f->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (f->notify_fd < 0 || bind(f->notify_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                die("notify socket %s: %s", f->notify_path, strerror(errno));
        snprintf(f->env_notify, sizeof(f->env_notify), "NOTIFY_SOCKET=%s", f->notify_path);
        f->envp[0] = env_path;
        f->envp[1] = f->env_notify;
        f->envp[2] = (char *)"LISTEN_FDS=1";
        f->envp[3] = NULL;
        if (takeover) {
                /* The first instance binds its own socket, as the takeover units' do. */
                f->lfd = -1;
                f->envp[2] = NULL;
                f->cur = floor_spawn(f, -1, true, NULL);
                floor_wait_ready(f, &f->cur);
                f->envp[2] = (char *)"LISTEN_FDS=1";
        } else {
                f->lfd = listen_tcp(f->port);
                f->cur = floor_spawn(f, f->lfd, false, NULL);
                floor_wait_ready(f, &f->cur);
        }
}

/* One hand-over: [take the listener,] spawn the successor with it, wait for READY=1,
 * SIGTERM the old instance, wait until it is gone and reap it. */
static void floor_upgrade(struct floor *f, struct up_sample *u)
{
        struct pv_listener *l = NULL;
        size_t n = 0;
        struct pv_error err = { 0 };
        struct pv_process next;
        struct pv_exit ex;
        uint64_t c0 = cpu_ns_of(0), t0 = now_ns(), t_take = 0, t_spawn, t_ready, t_sig0, t_sig, t_gone;
        int lfd = f->lfd;
        struct pollfd p;

        if (f->takeover) {
                if (pv_listeners_take(&f->cur, 0, &l, &n, &err) < 0 || n != 1)
                        die("floor: pv_listeners_take of pid %d: %s (%zu listeners)", (int)f->cur.pid,
                            err.message, n);
                lfd = l[0].fd;
                t_take = now_ns() - t0;
        }
        next = floor_spawn(f, lfd, false, &t_spawn);
        floor_wait_ready(f, &next);
        t_ready = now_ns();
        t_sig0 = now_ns();
        if (pv_process_signal(&f->cur, SIGTERM, &err) < 0)
                die("floor: signal pid %d: %s", (int)f->cur.pid, err.message);
        t_sig = now_ns() - t_sig0;
        p = (struct pollfd){ .fd = f->cur.pidfd, .events = POLLIN };
        while (poll(&p, 1, -1) < 0 && errno == EINTR)
                ;
        if (pv_process_wait(&f->cur, 0, &ex, &err) < 0)
                die("floor: wait pid %d: %s", (int)f->cur.pid, err.message);
        t_gone = now_ns();
        if (ex.signaled || ex.status != 0)
                problem("floor: old pid %d did not drain cleanly (%s)", (int)ex.pid,
                        ex.signaled ? "killed" : "exit status");
        pv_process_release(&f->cur);
        pv_listeners_free(l, n);
        f->cur = next;
        u->wall = u->total = t_gone - t0;
        u->ready = t_ready - t0;
        u->drain = t_gone - t_ready;
        u->own = t_take + t_spawn + t_sig;
        u->cpu = cpu_ns_of(0) - c0;
}

static void floor_stop(struct floor *f)
{
        struct pv_exit ex;

        pv_process_signal(&f->cur, SIGTERM, NULL);
        if (pv_process_wait(&f->cur, 0, &ex, NULL) < 0)
                problem("floor: cannot reap pid %d", (int)f->cur.pid);
        pv_process_release(&f->cur);
        if (f->lfd >= 0)
                close(f->lfd);
        close(f->notify_fd);
        unlink(f->notify_path);
}

/* --- nginx, in the foreground under this bench ----------------------------------------- */

struct nginx {
        const char *path;
        char dir[PATH_MAX], conf[PATH_MAX], pidfile[PATH_MAX], errlog[PATH_MAX];
        int port;
        int workers;
        pid_t master;
        int pidfd;
        int err_fd;
};

/* The pid in nginx's pid file once it is complete ("PID\n"), else 0. */
static pid_t nginx_read_pid(const struct nginx *n)
{
        char buf[32];
        int fd = open(n->pidfile, O_RDONLY | O_CLOEXEC);
        ssize_t k;

        if (fd < 0)
                return 0;
        k = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (k <= 1 || buf[k - 1] != '\n')
                return 0;
        buf[k] = '\0';
        return (pid_t)atoi(buf);
}

/* Waits until master has all its workers; false after timeout_ms. */
static bool nginx_wait_workers(const struct nginx *n, pid_t master, unsigned timeout_ms)
{
        uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000u;

        while (children_of(master) < n->workers) {
                if (now_ns() > deadline)
                        return false;
                usleep(200);
        }
        return true;
}

/* nginx's directory (work_dir/tag), its configuration and a free port.  daemon_off: the
 * configuration says `daemon off;` (the bench's own nginx); else it is left to the
 * command line (`-g 'daemon off;'`, nginx under pidvisor). */
static void nginx_prepare(struct nginx *n, const char *path, const char *tag, bool daemon_off)
{
        char text[4 * PATH_MAX];

        memset(n, 0, sizeof(*n));
        n->path = path;
        n->workers = 2;
        n->port = free_port();
        path_join(n->dir, sizeof(n->dir), work_dir, tag);
        make_dir(n->dir);
        path_join(n->conf, sizeof(n->conf), n->dir, "nginx.conf");
        path_join(n->pidfile, sizeof(n->pidfile), n->dir, "nginx.pid");
        path_join(n->errlog, sizeof(n->errlog), n->dir, "error.log");
        if ((size_t)snprintf(text, sizeof(text),
                 "%s"
                 "master_process on;\n"
                 "worker_processes %d;\n"
                 "pid %s;\n"
                 "error_log %s notice;\n"
                 "events { worker_connections 1024; }\n"
                 "http {\n"
                 "  access_log off;\n"
                 "  client_body_temp_path %s/body;\n"
                 "  proxy_temp_path %s/proxy;\n"
                 "  fastcgi_temp_path %s/fastcgi;\n"
                 "  uwsgi_temp_path %s/uwsgi;\n"
                 "  scgi_temp_path %s/scgi;\n"
                 "  server {\n"
                 "    listen 127.0.0.1:%d;\n"
                 "    location / { return 200 \"ok\\n\"; }\n"
                 "  }\n"
                 "}\n",
                 daemon_off ? "daemon off;\n" : "", n->workers, n->pidfile, n->errlog, n->dir,
                 n->dir, n->dir, n->dir, n->dir, n->port) >= sizeof(text))
                die("nginx configuration too long");
        if (write_file(n->conf, text) < 0)
                die("%s: %s", n->conf, strerror(errno));
}

/* Problems in an nginx error log: [emerg], [alert], [crit] lines.  pidfile: nginx under
 * pidvisor, whose masters share that pid file: each old master removes it when it exits,
 * though its successor wrote it, so the last master's own removal (at the stop) finds
 * nothing and says so with an [alert]; that line is expected, and only noted. */
static void nginx_check_errlog(const char *errlog, const char *what, const char *pidfile)
{
        char line[1024], expected[PATH_MAX + 32] = "";
        FILE *f = fopen(errlog, "re");
        unsigned bad = 0, known = 0;

        if (pidfile)
                snprintf(expected, sizeof(expected), "unlink() \"%s\" failed (2: ", pidfile);
        while (f && fgets(line, sizeof(line), f))
                if (strstr(line, "[emerg]") || strstr(line, "[alert]") || strstr(line, "[crit]")) {
                        if (expected[0] && strstr(line, "[alert]") && strstr(line, expected)) {
                                known++;
                                continue;
                        }
                        if (bad++ < 3)
                                printf("  nginx error log: %s", line);
                }
        if (f)
                fclose(f);
        if (known)
                printf("  %s: %u [alert] \"unlink() of the pid file failed (2: No such file or "
                       "directory)\" in nginx's error log: expected, the old masters remove the "
                       "shared pid file\n", what, known);
        if (bad)
                problem("%s: %u [emerg]/[alert]/[crit] lines in %s", what, bad, errlog);
}

static void nginx_start(struct nginx *n, const char *path, const char *tag)
{
        char errpath[PATH_MAX];
        char *argv[] = { (char *)path, (char *)"-p", NULL, (char *)"-c", NULL, NULL };
        pid_t mid;
        int status;

        nginx_prepare(n, path, tag, true);
        path_join(errpath, sizeof(errpath), n->dir, "stderr");
        n->err_fd = open(errpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (n->err_fd < 0)
                die("%s: %s", errpath, strerror(errno));
        argv[2] = n->dir;
        argv[4] = n->conf;

        /* Through an intermediate that stays until the pid file is written (nginx has read
         * its parent's pid by then) and exits: nginx then sees its parent change, which it
         * requires before it honours USR2, and becomes our child (child subreaper). */
        mid = fork();
        if (mid < 0)
                die("fork: %s", strerror(errno));
        if (mid == 0) {
                pid_t pid;
                if (spawn(&pid, path, argv, environ, devnull_fd, devnull_fd, n->err_fd) != 0)
                        _exit(127);
                for (int i = 0; i < 10000; i++) {
                        if (nginx_read_pid(n) == pid)
                                _exit(0);
                        if (waitpid(pid, NULL, WNOHANG) == pid)
                                _exit(1);
                        usleep(1000);
                }
                _exit(2);
        }
        status = wait_status(mid);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                die("nginx did not start (intermediate status 0x%x; see %s and %s)", (unsigned)status,
                    n->errlog, errpath);
        n->master = nginx_read_pid(n);
        n->pidfd = pidfd_open_(n->master);
        if (n->pidfd < 0)
                die("pidfd_open(nginx %d): %s", (int)n->master, strerror(errno));
        if (!nginx_wait_workers(n, n->master, 10000))
                die("nginx master %d did not start %d workers", (int)n->master, n->workers);
}

/* USR2 -> new master with all its workers -> WINCH, QUIT -> old master gone. */
static bool nginx_upgrade(struct nginx *n, struct up_sample *u)
{
        pid_t old = n->master, next = 0;
        int oldfd = n->pidfd, nextfd, status;
        uint64_t t0 = now_ns(), deadline = t0 + 10000000000ull, t_ready, t_gone;

        if (kill(old, SIGUSR2) < 0)
                die("kill(nginx %d, SIGUSR2): %s", (int)old, strerror(errno));
        for (;;) {
                next = nginx_read_pid(n);
                if (next > 0 && next != old)
                        break;
                if (now_ns() > deadline) {
                        problem("nginx: no new master 10 s after USR2 to %d (see %s)", (int)old,
                                n->errlog);
                        return false;
                }
                usleep(200);
        }
        nextfd = pidfd_open_(next);
        if (nextfd < 0 || !nginx_wait_workers(n, next, 10000)) {
                problem("nginx: new master %d did not come up with %d workers", (int)next, n->workers);
                if (nextfd >= 0)
                        close(nextfd);
                return false;
        }
        t_ready = now_ns();
        kill(old, SIGWINCH); /* ignored with daemon off; QUIT does it */
        kill(old, SIGQUIT);
        status = wait_pidfd(old, oldfd, 30000);
        t_gone = now_ns();
        if (status == -ETIMEDOUT) {
                problem("nginx: old master %d still there 30 s after QUIT", (int)old);
                kill(old, SIGKILL);
                wait_status(old);
        } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                problem("nginx: old master %d ended with wait status 0x%x", (int)old, (unsigned)status);
        close(oldfd);
        n->master = next;
        n->pidfd = nextfd;
        u->wall = u->total = t_gone - t0;
        u->ready = t_ready - t0;
        u->drain = t_gone - t_ready;
        u->own = u->cpu = 0;
        return true;
}

static void nginx_stop(struct nginx *n, const char *what)
{
        int status;

        kill(n->master, SIGQUIT);
        status = wait_pidfd(n->master, n->pidfd, 30000);
        if (status == -ETIMEDOUT) {
                problem("%s: nginx master %d still there 30 s after QUIT", what, (int)n->master);
                kill(n->master, SIGKILL);
                wait_status(n->master);
        }
        close(n->pidfd);
        close(n->err_fd);
        nginx_check_errlog(n->errlog, what, NULL);
}

/* nginx as a pidvisor service in transparent mode, as the integration test runs it: in
 * the foreground from the command line, drained with SIGQUIT (graceful), ready
 * ReadyCheck=delay after its master's bind was answered (nginx sends no READY=1). */
static void nginx_pv_prepare(struct nginx *n, const struct options *o, const char *units,
                             const char *unit, const char *tag)
{
        char body[4 * PATH_MAX];

        nginx_prepare(n, o->nginx, tag, false);
        snprintf(body, sizeof(body),
                 "[Unit]\n"
                 "Description=upgrade-bench nginx, transparent\n"
                 "StartLimitBurst=0\n"
                 "[Service]\n"
                 "ExecStart=%s -p %s -c %s -g 'daemon off;'\n"
                 "[X-Pidvisor]\n"
                 "HotRestart=transparent\n"
                 "DrainSignal=SIGQUIT\n"
                 "DrainTimeoutSec=20s\n"
                 "ReadyCheck=delay %ums\n",
                 o->nginx, n->dir, n->conf, o->delay_ms);
        write_unit(units, unit, body);
}

/* One HTTP/1.0 request: whether nginx answered 200. */
static bool http_ok(int port)
{
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                                 .sin_port = htons((uint16_t)port) };
        static const char req[] = "GET / HTTP/1.0\r\n\r\n";
        char buf[256];
        size_t got = 0;
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct timeval tv = { .tv_sec = 5 };

        if (fd < 0)
                return false;
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
            write(fd, req, sizeof(req) - 1) != (ssize_t)(sizeof(req) - 1)) {
                close(fd);
                return false;
        }
        for (;;) {
                ssize_t k = read(fd, buf + got, sizeof(buf) - 1 - got);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0 || (got += (size_t)k) == sizeof(buf) - 1)
                        break;
        }
        close(fd);
        buf[got] = '\0';
        return strncmp(buf, "HTTP/1.1 200", 12) == 0 || strncmp(buf, "HTTP/1.0 200", 12) == 0;
}

/* --- the load client ----------------------------------------------------------------- */

static const char *const fail_kinds[] = { "refused", "connect_error", "slow_connect", "reset_before",
                                          "reset_mid", "closed_empty", "short", "timeout", "wrong" };
#define N_FAIL_KINDS (sizeof(fail_kinds) / sizeof(fail_kinds[0]))

struct load {
        pid_t pid;
        char out[PATH_MAX];
        uint64_t t_start;
};

static void load_start(struct load *l, const struct options *o, int port, bool http, const char *tag)
{
        char addr[64], rate[32], conns[32];
        char *argv[12];
        int k = 0, fd;

        snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
        snprintf(rate, sizeof(rate), "%u", o->rate);
        snprintf(conns, sizeof(conns), "%u", o->conns);
        if ((size_t)snprintf(l->out, sizeof(l->out), "%s/load-%s.json", work_dir, tag) >=
            sizeof(l->out))
                die("path too long");
        argv[k++] = (char *)o->load;
        argv[k++] = (char *)"--addr";
        argv[k++] = addr;
        argv[k++] = (char *)"--conns";
        argv[k++] = conns;
        argv[k++] = (char *)"--rate";
        argv[k++] = rate;
        argv[k++] = (char *)"--duration-ms";
        argv[k++] = (char *)"7200000";
        if (http)
                argv[k++] = (char *)"--http";
        argv[k] = NULL;
        fd = open(l->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                die("%s: %s", l->out, strerror(errno));
        l->t_start = now_ns();
        if ((errno = spawn(&l->pid, o->load, argv, environ, devnull_fd, fd, log_fd)) != 0)
                die("posix_spawn %s: %s", o->load, strerror(errno));
        close(fd);
}

struct load_result {
        long long requests, ok, failed, kinds[N_FAIL_KINDS];
        double p50_ms, p99_ms, max_ms, seconds;
        json_t *answers;
};

static void load_stop(struct load *l, struct load_result *r)
{
        json_error_t jerr;
        json_t *j;
        int status;

        kill(l->pid, SIGTERM);
        status = wait_status(l->pid);
        r->seconds = (double)(now_ns() - l->t_start) / 1e9;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                die("pv-load ended with wait status 0x%x", (unsigned)status);
        j = json_load_file(l->out, 0, &jerr);
        if (!j)
                die("pv-load's output %s: %s", l->out, jerr.text);
        r->requests = json_integer_value(json_object_get(j, "requests"));
        r->ok = json_integer_value(json_object_get(j, "ok"));
        r->failed = json_integer_value(json_object_get(j, "failed"));
        for (size_t i = 0; i < N_FAIL_KINDS; i++)
                r->kinds[i] = json_integer_value(json_object_get(j, fail_kinds[i]));
        r->p50_ms = json_real_value(json_object_get(j, "p50_ms"));
        r->p99_ms = json_real_value(json_object_get(j, "p99_ms"));
        r->max_ms = json_real_value(json_object_get(j, "max_ms"));
        r->answers = json_incref(json_object_get(j, "answers"));
        json_decref(j);
}

static void load_result_add(struct load_result *sum, const struct load_result *r)
{
        sum->requests += r->requests;
        sum->ok += r->ok;
        sum->failed += r->failed;
        for (size_t i = 0; i < N_FAIL_KINDS; i++)
                sum->kinds[i] += r->kinds[i];
        if (r->max_ms > sum->max_ms)
                sum->max_ms = r->max_ms;
        sum->seconds += r->seconds;
}

/* "refused 3, reset_before 1" (only the kinds that happened), or "none". */
static const char *failures_text(const struct load_result *r, char *buf, size_t size)
{
        size_t n = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < N_FAIL_KINDS; i++)
                if (r->kinds[i] && n < size)
                        n += (size_t)snprintf(buf + n, size - n, "%s%s %lld", n ? ", " : "",
                                              fail_kinds[i], r->kinds[i]);
        if (!n)
                snprintf(buf, size, "none");
        return buf;
}

static bool answered_by(const struct load_result *r, long pid)
{
        char key[64];

        snprintf(key, sizeof(key), "v %ld", pid);
        return json_integer_value(json_object_get(r->answers, key)) > 0;
}

/* ======================================================================================
 * 1. latency
 * ====================================================================================== */

enum { M_FLOOR_SOCKET, M_FLOOR_TAKEOVER, M_V0, M_NGINX = M_V0 + N_VARIANTS, M_NGINX_PV, N_METHODS };

static const char *method_name(int m)
{
        switch (m) {
        case M_FLOOR_SOCKET:
                return "floor socket+READY";
        case M_FLOOR_TAKEOVER:
                return "floor takeover+READY";
        case M_NGINX:
                return "nginx USR2/QUIT";
        case M_NGINX_PV:
                return "nginx pv transparent";
        default:
                return variants[m - M_V0].name;
        }
}

/* The floor a variant is compared with: transparent takes as takeover does. */
static int floor_of(const struct variant *v)
{
        return strcmp(v->mode, "socket") == 0 ? M_FLOOR_SOCKET : M_FLOOR_TAKEOVER;
}

static void bench_latency(const struct options *o)
{
        char units[PATH_MAX], name[64];
        struct daemon d;
        struct floor fs, ft;
        struct nginx ngx, ngx_pv;
        struct series s[N_METHODS];
        struct series_stats st[N_METHODS];
        long pids[N_VARIANTS], ngx_pv_pid = 0;
        int ports[N_VARIANTS];
        struct leak_probe p0, p1;
        bool have_nginx = o->nginx != NULL;
        const unsigned warm = 3;
        uint64_t t_begin = now_ns();
        unsigned pv_upgrades = 0, pv_warm = 0;

        printf("\n== latency: command -> successor ready -> old instance gone, no load; %u rounds, "
               "each one upgrade per method in rotating order, after %u untimed ==\n",
               o->rounds, warm);
        printf("  load average before: %s\n", loadavg());
        fflush(stdout);
        memset(s, 0, sizeof(s));
        path_join(units, sizeof(units), work_dir, "units-latency");
        for (size_t i = 0; i < N_VARIANTS; i++) {
                ports[i] = free_port();
                snprintf(name, sizeof(name), "lat-%s", variants[i].name);
                write_variant_unit(o, units, name, &variants[i], ports[i]);
        }
        if (have_nginx)
                nginx_pv_prepare(&ngx_pv, o, units, "lat-nginx-pv", "nginx-pv-latency");
        daemon_spawn(&d, o->pidvisor, units, "latency", o->epoll);
        daemon_wait_socket(&d, 10000);
        for (size_t i = 0; i < N_VARIANTS; i++) {
                snprintf(name, sizeof(name), "lat-%s", variants[i].name);
                start_service(&d, name);
                pids[i] = service_pid(&d, name);
        }
        if (have_nginx) {
                start_service(&d, "lat-nginx-pv");
                ngx_pv_pid = service_pid(&d, "lat-nginx-pv");
        }
        floor_start(&fs, o, false, "floor-socket");
        floor_start(&ft, o, true, "floor-takeover");
        if (have_nginx)
                nginx_start(&ngx, o->nginx, "nginx-latency");

        for (unsigned round = 0; round < warm + o->rounds; round++) {
                if (round == warm) {
                        leak_probe_take(d.pid, &p0);
                        pv_warm = pv_upgrades;
                }
                for (int j = 0; j < N_METHODS; j++) {
                        int m = (int)((round + (unsigned)j) % N_METHODS);
                        struct up_sample u;
                        bool ok = true;

                        switch (m) {
                        case M_FLOOR_SOCKET:
                                floor_upgrade(&fs, &u);
                                break;
                        case M_FLOOR_TAKEOVER:
                                floor_upgrade(&ft, &u);
                                break;
                        case M_NGINX:
                                if (!have_nginx)
                                        continue;
                                ok = nginx_upgrade(&ngx, &u);
                                break;
                        case M_NGINX_PV:
                                if (!have_nginx)
                                        continue;
                                ok = pv_upgrade(&d, "lat-nginx-pv", "transparent", &ngx_pv_pid, &u);
                                pv_upgrades++;
                                break;
                        default: {
                                const struct variant *v = &variants[m - M_V0];
                                snprintf(name, sizeof(name), "lat-%s", v->name);
                                ok = pv_upgrade(&d, name, v->mode, &pids[m - M_V0], &u);
                                pv_upgrades++;
                                break;
                        }
                        }
                        if (ok && round >= warm)
                                series_add(&s[m], &u);
                }
        }
        leak_probe_take(d.pid, &p1);

        /* Each successor serves, and the last one is the one that answers. */
        for (size_t i = 0; i < N_VARIANTS; i++) {
                long who = ask_pid(ports[i]);
                snprintf(name, sizeof(name), "lat-%s", variants[i].name);
                if (who != pids[i])
                        problem("%s: answered by pid %ld, expected the last successor %ld", name, who,
                                pids[i]);
                check_service(&d, name, pids[i]);
        }
        if (have_nginx) {
                if (!http_ok(ngx_pv.port))
                        problem("lat-nginx-pv: no \"200\" from nginx after the upgrades");
                check_service(&d, "lat-nginx-pv", ngx_pv_pid);
                /* Not a pidvisor matter, but one for whoever signals nginx by its pid file. */
                printf("  nginx under pidvisor: its pid file after the upgrades: %s\n",
                       access(ngx_pv.pidfile, F_OK) == 0 ? "present"
                                                        : "absent (each old master removes it on exit, "
                                                          "after its successor wrote it)");
        }
        check_zombies(&d, "latency");
        floor_stop(&fs);
        floor_stop(&ft);
        if (have_nginx) {
                nginx_stop(&ngx, "latency nginx");
                stop_service(&d, "lat-nginx-pv");
                nginx_check_errlog(ngx_pv.errlog, "latency nginx under pidvisor", ngx_pv.pidfile);
        }
        daemon_terminate(&d, 30000, "latency");
        check_no_leftovers("latency");
        check_cgroup_removed(&d, "latency");

        printf("  medians in us; wall = command -> reply as the client saw it (p99 next to it); "
               "ready = command -> successor ready;\n  drain = ready -> old instance gone; client = "
               "wall outside the daemon's own span (total_usec); manager = the daemon's\n  own "
               "handlers (manager_usec, wall time; p99 next to it); cpu = CPU time the daemon used "
               "during the request;\n  ratios: wall / the floor's wall (Type=notify only), cpu / "
               "the floor's cpu (socket: floor socket; takeover, transparent: floor takeover)\n");
        printf("  %-22s %4s %9s %9s %9s %8s %7s %8s %9s %7s %8s %6s %6s\n", "method", "n", "wall",
               "(p99)", "ready", "drain", "client", "manager", "(p99)", "cpu", "(p99)", "wall/f",
               "cpu/f");
        for (int m = 0; m < N_METHODS; m++) {
                const struct series_stats *f = NULL;
                char wr[32] = "", cr[32] = "";

                if ((m == M_NGINX || m == M_NGINX_PV) && !have_nginx) {
                        printf("  %-22s not measured (--nginx none)\n", method_name(m));
                        continue;
                }
                st[m] = series_stats(&s[m]);
                if (m >= M_V0 && m < M_NGINX) {
                        f = &st[floor_of(&variants[m - M_V0])];
                        if (variants[m - M_V0].notify)
                                snprintf(wr, sizeof(wr), "%.2fx", st[m].wall.median_us / f->wall.median_us);
                        snprintf(cr, sizeof(cr), "%.2fx", st[m].cpu.median_us / f->cpu.median_us);
                }
                printf("  %-22s %4zu %9.1f %9.1f %9.1f %8.1f", method_name(m), s[m].n,
                       st[m].wall.median_us, st[m].wall.p99_us, st[m].ready.median_us,
                       st[m].drain.median_us);
                if (m == M_NGINX)
                        printf(" %7s %8s %9s %7s %8s %6s %6s\n", "-", "-", "-", "-", "-", "", "");
                else if (m < M_V0)
                        printf(" %7s %8.1f %9.1f %7.1f %8.1f %6s %6s\n", "-", st[m].own.median_us,
                               st[m].own.p99_us, st[m].cpu.median_us, st[m].cpu.p99_us, "", "");
                else
                        printf(" %7.1f %8.1f %9.1f %7.1f %8.1f %6s %6s\n", st[m].client.median_us,
                               st[m].own.median_us, st[m].own.p99_us, st[m].cpu.median_us,
                               st[m].cpu.p99_us, wr, cr);
        }
        printf("  %s\n", transparent_note);
        printf("  floors: the bench itself with libpidvisor, no daemon; their manager column is "
               "the wall time of their own calls (take, pv_spawn, signal), their cpu the bench's\n");
        printf("  delay variants and nginx under pidvisor: ready includes ReadyCheck=delay %u ms "
               "(nginx: from its master's bind)\n", o->delay_ms);
        printf("  load average after: %s\n", loadavg());
        leak_probe_report("latency", &p0, &p1, pv_upgrades - pv_warm, 0);

        {
                double worst_med = 0, worst_p99 = 0, worst_cpu = 0;
                uint64_t worst_max = 0;
                for (size_t i = 0; i < N_VARIANTS; i++) {
                        const struct series_stats *v = &st[M_V0 + i];
                        if (v->own.median_us > worst_med)
                                worst_med = v->own.median_us;
                        if (v->own.p99_us > worst_p99)
                                worst_p99 = v->own.p99_us;
                        if (v->own_max > worst_max)
                                worst_max = v->own_max;
                        if (v->cpu.median_us > worst_cpu)
                                worst_cpu = v->cpu.median_us;
                }
                for (size_t i = 0; i < N_NOTIFY_VARIANTS; i++) {
                        const struct series_stats *v = &st[M_V0 + i], *f = &st[floor_of(&variants[i])];
                        printf("%s %s wall %.1f us = ready %.1f + drain %.1f + client %.1f (floor "
                               "%.1f us: %.2fx); manager %.1f us (p99 %.1f), daemon cpu %.1f us "
                               "(floor's own %.1f us wall, %.1f us cpu: %.2fx)",
                               i == 0 ? "summary [latency]:" : ";", variants[i].name,
                               v->wall.median_us, v->ready.median_us, v->drain.median_us,
                               v->client.median_us, f->wall.median_us,
                               v->wall.median_us / f->wall.median_us, v->own.median_us,
                               v->own.p99_us, v->cpu.median_us, f->own.median_us, f->cpu.median_us,
                               v->cpu.median_us / f->cpu.median_us);
                }
                printf("; delay %u ms variants: ready - delay", o->delay_ms);
                for (size_t i = N_NOTIFY_VARIANTS; i < N_VARIANTS; i++)
                        printf(" %.1f us (%s)", st[M_V0 + i].ready.median_us - o->delay_ms * 1000.0,
                               variants[i].mode);
                printf(", manager");
                for (size_t i = N_NOTIFY_VARIANTS; i < N_VARIANTS; i++)
                        printf("%s%.1f", i == N_NOTIFY_VARIANTS ? " " : " / ", st[M_V0 + i].own.median_us);
                printf(" us");
                printf("; manager share, worst pv-upserver variant: median %.1f us, p99 %.1f us, "
                       "max %.1f us, cpu median %.1f us (goal < 1 ms: %s)",
                       worst_med, worst_p99, (double)worst_max / 1000, worst_cpu,
                       worst_p99 < 1000  ? "met, p99 included"
                       : worst_med < 1000 ? "met at the median, not at p99"
                                          : "NOT met");
                if (have_nginx) {
                        const struct series_stats *n = &st[M_NGINX], *q = &st[M_NGINX_PV];
                        printf("; nginx binary upgrade wall %.1f us = ready %.1f + drain %.1f "
                               "(socket-notify/nginx %.2fx)",
                               n->wall.median_us, n->ready.median_us, n->drain.median_us,
                               st[M_V0].wall.median_us / n->wall.median_us);
                        printf("; nginx under pidvisor, transparent: wall %.1f us = ready %.1f "
                               "(- delay: %.1f) + drain %.1f + client %.1f, manager %.1f us (p99 "
                               "%.1f), daemon cpu %.1f us; its wall - delay / nginx's own %.2fx",
                               q->wall.median_us, q->ready.median_us,
                               q->ready.median_us - o->delay_ms * 1000.0, q->drain.median_us,
                               q->client.median_us, q->own.median_us, q->own.p99_us,
                               q->cpu.median_us,
                               (q->wall.median_us - o->delay_ms * 1000.0) / n->wall.median_us);
                }
                printf("; %.1f s\n", (double)(now_ns() - t_begin) / 1e9);
        }
        fflush(stdout);
        for (int m = 0; m < N_METHODS; m++)
                series_free(&s[m]);
}

/* ======================================================================================
 * 2. the cost of one intercepted bind
 * ====================================================================================== */

#if defined(__x86_64__)
#define BENCH_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define BENCH_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "upgrade-bench: add this architecture's AUDIT_ARCH"
#endif

#ifndef SECCOMP_USER_NOTIF_FLAG_CONTINUE
#define SECCOMP_USER_NOTIF_FLAG_CONTINUE (1UL << 0)
#endif

/* The floor handler's filter: bind() (native ABI) to the listener, the rest allowed. */
static const struct sock_fprog *bind_notify_filter(void)
{
        static struct sock_filter f[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, BENCH_AUDIT_ARCH, 1, 0),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_bind, 0, 1),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        static const struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
        return &prog;
}

/* One notification, answered as the daemon's intercept.c does, with only what an answer
 * needs: the address read from the caller (then the id checked again), and for the
 * listener's address the listener installed at the bound descriptor (ADDFD with SETFD)
 * and 0 answered; any other bind continued. */
static void floor_answer(int nfd, const struct sockaddr_in *want, int lfd)
{
        union {
                struct seccomp_notif n;
                char pad[256];
        } req;
        struct seccomp_notif_resp resp;
        struct sockaddr_storage sa;
        socklen_t len;
        bool match = false;

        memset(&req, 0, sizeof(req.n));
        if (ioctl(nfd, SECCOMP_IOCTL_NOTIF_RECV, &req.n) < 0)
                return; /* ENOENT: the caller went away */
        len = (socklen_t)req.n.data.args[2];
        if (req.n.data.nr == __NR_bind && len >= sizeof(struct sockaddr_in) && len <= sizeof(sa)) {
                struct iovec local = { &sa, len }, remote = { (void *)(uintptr_t)req.n.data.args[1], len };
                const struct sockaddr_in *in = (const struct sockaddr_in *)&sa;

                if (process_vm_readv(req.n.pid, &local, 1, &remote, 1, 0) == (ssize_t)len) {
                        if (ioctl(nfd, SECCOMP_IOCTL_NOTIF_ID_VALID, &req.n.id) < 0)
                                return;
                        match = in->sin_family == AF_INET && in->sin_port == want->sin_port &&
                                in->sin_addr.s_addr == want->sin_addr.s_addr;
                }
        }
        memset(&resp, 0, sizeof(resp));
        resp.id = req.n.id;
        if (match) {
                struct seccomp_notif_addfd add = {
                        .id = req.n.id,
                        .flags = SECCOMP_ADDFD_FLAG_SETFD,
                        .srcfd = (uint32_t)lfd,
                        .newfd = (uint32_t)req.n.data.args[0],
                        .newfd_flags = O_CLOEXEC,
                };
                if (ioctl(nfd, SECCOMP_IOCTL_NOTIF_ADDFD, &add) < 0) {
                        if (errno == ENOENT)
                                return;
                        die("floor handler: SECCOMP_IOCTL_NOTIF_ADDFD: %s", strerror(errno));
                }
        } else
                resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        if (ioctl(nfd, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0 && errno != ENOENT)
                die("floor handler: SECCOMP_IOCTL_NOTIF_SEND: %s", strerror(errno));
}

/* bindtime --exit under the floor handler (bind to port: our listener lfd) or with no
 * filter at all (lfd < 0); waits for its exit. */
static void bindtime_run(const struct options *o, int port, const char *out, int lfd)
{
        char addr[64];
        char *argv[] = { (char *)o->bindtime, (char *)"--bind", addr, (char *)"--out", (char *)out,
                         (char *)"--exit", NULL };
        char *envp[] = { env_path, NULL };
        struct sockaddr_in want = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                                    .sin_port = htons((uint16_t)port) };
        struct pv_spawn_attr a;
        struct pv_process p;
        struct pv_error err = { 0 };
        struct pv_exit ex;
        int nfd = -1;

        snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
        pv_spawn_attr_init(&a);
        a.path = o->bindtime;
        a.argv = argv;
        a.envp = envp;
        a.stdio[0] = (struct pv_stdio){ .kind = PV_STDIO_FD, .fd = devnull_fd };
        a.stdio[1] = (struct pv_stdio){ .kind = PV_STDIO_FD, .fd = devnull_fd };
        a.stdio[2] = (struct pv_stdio){ .kind = PV_STDIO_FD, .fd = log_fd };
        a.close_other_fds = true;
        a.new_session = true;
        if (lfd >= 0) {
                a.seccomp_filter = bind_notify_filter();
                a.seccomp_flags = SECCOMP_FILTER_FLAG_NEW_LISTENER;
                a.seccomp_listener_fd = &nfd;
        }
        if (pv_spawn(&a, &p, NULL, &err) < 0)
                die("bind: pv_spawn %s: %s", o->bindtime, err.message);
        for (bool hup = false;;) {
                struct pollfd pf[2] = { { .fd = p.pidfd, .events = POLLIN },
                                        { .fd = hup ? -1 : nfd, .events = POLLIN } };
                int k = poll(pf, 2, 10000);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        die("bind: bindtime pid %d still running after 10 s", (int)p.pid);
                if (pf[1].revents & POLLIN) {
                        floor_answer(nfd, &want, lfd);
                        continue;
                }
                if (pf[1].revents)
                        hup = true; /* the process is gone, or going */
                if (pf[0].revents)
                        break;
        }
        if (pv_process_wait(&p, 0, &ex, &err) < 0)
                die("bind: wait pid %d: %s", (int)p.pid, err.message);
        if (ex.signaled || ex.status != 0)
                problem("bind: bindtime pid %d (%s) ended %s %d (see %s)", (int)ex.pid,
                        lfd >= 0 ? "floor handler" : "no filter", ex.signaled ? "by signal" : "with status",
                        ex.signaled ? ex.signal : ex.status, log_path);
        pv_process_release(&p);
        if (nfd >= 0)
                close(nfd);
}

/* bindtime's lines "PID ORDER OTHER_NS LISTENER_NS". */
struct bind_times {
        long *pid;
        int *order;
        uint64_t *other, *listener;
        size_t n;
};

static void bind_times_read(const char *path, struct bind_times *t, size_t max)
{
        FILE *f = fopen(path, "re");
        long pid;
        int order;
        unsigned long long a, b;

        memset(t, 0, sizeof(*t));
        t->pid = calloc(max, sizeof(long));
        t->order = calloc(max, sizeof(int));
        t->other = calloc(max, sizeof(uint64_t));
        t->listener = calloc(max, sizeof(uint64_t));
        if (!t->pid || !t->order || !t->other || !t->listener)
                die("out of memory");
        if (!f)
                die("%s: %s", path, strerror(errno));
        while (t->n < max && fscanf(f, "%ld %d %llu %llu", &pid, &order, &a, &b) == 4) {
                t->pid[t->n] = pid;
                t->order[t->n] = order;
                t->other[t->n] = a;
                t->listener[t->n] = b;
                t->n++;
        }
        fclose(f);
}

static void bind_times_free(struct bind_times *t)
{
        free(t->pid);
        free(t->order);
        free(t->other);
        free(t->listener);
        memset(t, 0, sizeof(*t));
}

/* Stats of the samples from index skip on, with ORDER == order (or any when order < 0). */
static struct stats bind_stats(const struct bind_times *t, size_t skip, bool listener, int order,
                               size_t *n)
{
        uint64_t *v = calloc(t->n + 1, sizeof(uint64_t));
        struct stats s;
        size_t k = 0;

        if (!v)
                die("out of memory");
        for (size_t i = skip; i < t->n; i++)
                if (order < 0 || t->order[i] == order)
                        v[k++] = listener ? t->listener[i] : t->other[i];
        s = compute_stats(v, k);
        free(v);
        if (n)
                *n = k;
        return s;
}

enum { B_PV, B_PLAIN, B_FLOOR, N_BIND_WAYS };

static void bench_bind(const struct options *o)
{
        static const char *const way_name[N_BIND_WAYS] = { "pidvisor transparent", "no filter",
                                                           "floor handler" };
        char units[PATH_MAX], out[N_BIND_WAYS][PATH_MAX], body[3 * PATH_MAX];
        struct daemon d;
        int port_pv = free_port(), port_plain = free_port(), port_floor = free_port(), lfd;
        struct bind_times t[N_BIND_WAYS];
        struct stats sl[N_BIND_WAYS], so[N_BIND_WAYS];
        struct series up = { 0 };
        struct series_stats us;
        struct leak_probe p0, p1;
        const unsigned warm = 3;
        long pid, pid0, *succ = calloc(warm + o->binds, sizeof(long));
        uint64_t t_begin = now_ns();
        size_t skip[N_BIND_WAYS];

        if (!succ)
                die("out of memory");
        printf("\n== bind: the binding process's own clock around one bind(); %u rounds, each one "
               "transparent upgrade of bench/bindtime under the daemon, one run of it with no "
               "filter, one under the bench's floor handler, in rotating order, after %u untimed ==\n",
               o->binds, warm);
        printf("  load average before: %s\n", loadavg());
        fflush(stdout);
        for (int w = 0; w < N_BIND_WAYS; w++) {
                char file[32];
                snprintf(file, sizeof(file), "bindtime-%d.txt", w);
                path_join(out[w], sizeof(out[w]), work_dir, file);
        }
        path_join(units, sizeof(units), work_dir, "units-bind");
        snprintf(body, sizeof(body),
                 "[Unit]\n"
                 "Description=upgrade-bench bindtime\n"
                 "StartLimitBurst=0\n"
                 "[Service]\n"
                 "Type=notify\n"
                 "ExecStart=%s --bind 127.0.0.1:%d --out %s --notify\n"
                 "[X-Pidvisor]\n"
                 "HotRestart=transparent\n",
                 o->bindtime, port_pv, out[B_PV]);
        write_unit(units, "bind", body);
        daemon_spawn(&d, o->pidvisor, units, "bind", o->epoll);
        daemon_wait_socket(&d, 10000);
        start_service(&d, "bind");
        pid = pid0 = service_pid(&d, "bind");
        lfd = listen_tcp(port_floor);

        for (unsigned round = 0; round < warm + o->binds; round++) {
                if (round == warm)
                        leak_probe_take(d.pid, &p0);
                for (int j = 0; j < N_BIND_WAYS; j++) {
                        struct up_sample u;

                        switch ((round + (unsigned)j) % N_BIND_WAYS) {
                        case B_PV:
                                if (!pv_upgrade(&d, "bind", "transparent", &pid, &u))
                                        die("bind: upgrade %u failed (see %s)", round, log_path);
                                succ[round] = pid;
                                if (round >= warm)
                                        series_add(&up, &u);
                                break;
                        case B_PLAIN:
                                bindtime_run(o, port_plain, out[B_PLAIN], -1);
                                break;
                        case B_FLOOR:
                                bindtime_run(o, port_floor, out[B_FLOOR], lfd);
                                break;
                        }
                }
        }
        leak_probe_take(d.pid, &p1);
        if (ask_pid(port_pv) != pid)
                problem("bind: not answered by the last successor %ld", pid);
        check_service(&d, "bind", pid);
        check_zombies(&d, "bind");
        stop_service(&d, "bind");
        daemon_terminate(&d, 30000, "bind");
        check_no_leftovers("bind");
        check_cgroup_removed(&d, "bind");
        close(lfd);

        /* The daemon's file: the first instance's line (no filter: not counted), then one
         * per successor, in order. */
        for (int w = 0; w < N_BIND_WAYS; w++) {
                size_t want = warm + o->binds + (w == B_PV);
                bind_times_read(out[w], &t[w], want + 8);
                if (t[w].n != want)
                        problem("bind: %zu lines in %s, expected %zu", t[w].n, out[w], want);
                skip[w] = warm + (w == B_PV);
        }
        if (t[B_PV].n > 0 && t[B_PV].pid[0] != pid0)
                problem("bind: the first line of %s is pid %ld's, not the first instance's (%ld)",
                        out[B_PV], t[B_PV].pid[0], pid0);
        for (size_t i = 1; i < t[B_PV].n && i <= warm + o->binds; i++)
                if (t[B_PV].pid[i] != succ[i - 1]) {
                        problem("bind: line %zu of %s is pid %ld's, expected successor %ld", i + 1,
                                out[B_PV], t[B_PV].pid[i], succ[i - 1]);
                        break;
                }

        printf("  bind() of a fresh TCP socket, CLOCK_MONOTONIC around the call inside the "
               "process; medians in us (p99, min)\n");
        printf("  %-22s %4s  %-30s %-30s\n", "setting", "n", "to the listener's address",
               "to 127.0.0.1:0 (no listener)");
        for (int w = 0; w < N_BIND_WAYS; w++) {
                size_t n;
                char a[64], b[64];
                sl[w] = bind_stats(&t[w], skip[w], true, -1, &n);
                so[w] = bind_stats(&t[w], skip[w], false, -1, NULL);
                snprintf(a, sizeof(a), "%.1f (%.1f, %.1f)", sl[w].median_us, sl[w].p99_us, sl[w].min_us);
                snprintf(b, sizeof(b), "%.1f (%.1f, %.1f)", so[w].median_us, so[w].p99_us, so[w].min_us);
                printf("  %-22s %4zu  %-30s %-30s\n", way_name[w], n, a, b);
        }
        printf("  pidvisor: the successor of a transparent upgrade (Type=notify); the listener's "
               "address is answered with the old instance's listener, 127.0.0.1:0 is continued\n"
               "  no filter: the same program run by the bench, both binds done by the kernel "
               "alone; floor handler: the bench holds the seccomp listener and answers as "
               "the daemon does, with nothing else\n");
        printf("  over the plain bind: pidvisor +%.1f us (listener) +%.1f us (continued); floor "
               "handler +%.1f / +%.1f us; pidvisor / floor: %.2fx / %.2fx\n",
               sl[B_PV].median_us - sl[B_PLAIN].median_us, so[B_PV].median_us - so[B_PLAIN].median_us,
               sl[B_FLOOR].median_us - sl[B_PLAIN].median_us,
               so[B_FLOOR].median_us - so[B_PLAIN].median_us, sl[B_PV].median_us / sl[B_FLOOR].median_us,
               so[B_PV].median_us / so[B_FLOOR].median_us);
        {
                size_t n0, n1;
                struct stats a0 = bind_stats(&t[B_PV], skip[B_PV], true, 1, &n0),
                             a1 = bind_stats(&t[B_PV], skip[B_PV], true, 0, &n1);
                printf("  pidvisor, by order in the process: the listener's bind first %.1f us (n %zu), "
                       "second %.1f us (n %zu)\n", a0.median_us, n0, a1.median_us, n1);
        }
        us = series_stats(&up);
        printf("  the bindtime upgrades: wall %.1f us, ready %.1f, drain %.1f, manager %.1f "
               "(p99 %.1f), daemon cpu %.1f us (medians)\n",
               us.wall.median_us, us.ready.median_us, us.drain.median_us, us.own.median_us,
               us.own.p99_us, us.cpu.median_us);
        printf("  load average after: %s\n", loadavg());
        leak_probe_report("bind", &p0, &p1, o->binds, 0);
        printf("summary [bind]: intercepted bind answered with the listener %.1f us median (p99 "
               "%.1f) under the daemon, %.1f us under the floor handler, %.1f us with no filter "
               "(%.1fx); intercepted and continued %.1f us (p99 %.1f), floor %.1f, no filter "
               "%.1f; goal < 100 us: %s; %.1f s\n",
               sl[B_PV].median_us, sl[B_PV].p99_us, sl[B_FLOOR].median_us, sl[B_PLAIN].median_us,
               sl[B_PV].median_us / sl[B_PLAIN].median_us, so[B_PV].median_us, so[B_PV].p99_us,
               so[B_FLOOR].median_us, so[B_PLAIN].median_us,
               sl[B_PV].p99_us < 100    ? "met, p99 included"
               : sl[B_PV].median_us < 100 ? "met at the median, not at p99"
                                          : "NOT met",
               (double)(now_ns() - t_begin) / 1e9);
        fflush(stdout);
        for (int w = 0; w < N_BIND_WAYS; w++)
                bind_times_free(&t[w]);
        series_free(&up);
        free(succ);
}

/* ======================================================================================
 * 3. requests under load
 * ====================================================================================== */

/* SC_NGINX_PV_STEADY: nginx under pidvisor after one untimed transparent upgrade (so its
 * master runs under the filter, as after any upgrade), none in the window: the baseline of
 * SC_NGINX_PV, which tells running under pidvisor from being upgraded. */
enum scen_kind { SC_STEADY, SC_UPGRADE, SC_RESTART, SC_NGINX_STEADY, SC_NGINX, SC_NGINX_PV_STEADY,
                 SC_NGINX_PV };

struct scenario {
        const char *label;
        const char *tag; /* for file names */
        enum scen_kind kind;
        const struct variant *v; /* SC_UPGRADE */
        struct load_result r;
        struct series s;
        unsigned done;  /* upgrades that completed */
        struct leak_probe p0, p1; /* the daemon, around the window */
};

/* Runs the load for warm + upgrades * interval + tail ms with an upgrade (or restart) due
 * every interval; collects the samples and the load's result.  http: nginx (ngx: the
 * bench's own; SC_NGINX_PV: under the daemon as unit). */
static void run_window(const struct options *o, struct scenario *sc, struct daemon *d,
                       const char *unit, int port, struct nginx *ngx, bool http)
{
        const unsigned warm_ms = 300, tail_ms = 300;
        struct load l;
        long pid = d && unit ? service_pid(d, unit) : 0;
        long *pids = calloc(o->upgrades + 1, sizeof(long));
        bool upgrading = sc->kind == SC_UPGRADE || sc->kind == SC_RESTART || sc->kind == SC_NGINX ||
                         sc->kind == SC_NGINX_PV;
        uint64_t t_first;

        if (!pids)
                die("out of memory");
        pids[0] = pid;
        if (d)
                leak_probe_take(d->pid, &sc->p0);
        load_start(&l, o, port, http, sc->tag);
        t_first = now_ns() + (uint64_t)warm_ms * 1000000u;
        for (unsigned i = 0; i < o->upgrades; i++) {
                uint64_t due = t_first + (uint64_t)i * o->interval_ms * 1000000u, now = now_ns();
                struct up_sample u;
                bool ok = true;

                if (due > now)
                        sleep_ms((unsigned)((due - now) / 1000000u));
                if (!upgrading)
                        continue;
                if (sc->kind == SC_UPGRADE)
                        ok = pv_upgrade(d, unit, sc->v->mode, &pid, &u);
                else if (sc->kind == SC_NGINX_PV)
                        ok = pv_upgrade(d, unit, "transparent", &pid, &u);
                else if (sc->kind == SC_RESTART)
                        ok = pv_restart(d, unit, &pid, &u);
                else
                        ok = nginx_upgrade(ngx, &u);
                if (ok) {
                        series_add(&sc->s, &u);
                        pids[++sc->done] = pid;
                }
        }
        {
                uint64_t end = t_first + (uint64_t)o->upgrades * o->interval_ms * 1000000u, now = now_ns();
                sleep_ms(tail_ms + (end > now ? (unsigned)((end - now) / 1000000u) : 0));
        }
        load_stop(&l, &sc->r);
        if (d)
                leak_probe_take(d->pid, &sc->p1);
        if (sc->kind == SC_UPGRADE || sc->kind == SC_RESTART) {
                for (unsigned i = 0; i <= sc->done; i++)
                        if (!answered_by(&sc->r, pids[i]))
                                problem("load %s: instance %u (pid %ld) never answered a request",
                                        sc->label, i, pids[i]);
                check_service(d, unit, pid);
        }
        /* nginx answers "ok": which master served cannot be seen; its state can. */
        if (sc->kind == SC_NGINX_PV)
                check_service(d, unit, pid);
        free(pids);
}

static void bench_load(const struct options *o)
{
        char units[PATH_MAX], name[64], kinds[256];
        struct daemon d;
        struct scenario sc[N_VARIANTS + 7];
        struct nginx ngx_pv;
        size_t n_sc = 0, i_steady, i_naive, i_ngx_steady = 0, i_ngx = 0, i_ngx_pv_steady = 0,
               i_ngx_pv = 0;
        int ports[N_VARIANTS], naive_port = free_port(), steady_port = free_port();
        struct leak_probe p0 = { 0 }, p1 = { 0 };
        uint64_t t_begin = now_ns();
        unsigned pv_upgrades = 0;
        int fds_expected = 0;
        bool have_nginx = o->nginx != NULL;
        struct variant steady_v = { "steady", "socket", true };

        printf("\n== load: open loop, %u requests/s over %u threads; per scenario %u upgrades, one "
               "every %u ms, in a window of %.1f s ==\n",
               o->rate, o->conns, o->upgrades, o->interval_ms,
               (300 + o->upgrades * o->interval_ms + 300) / 1000.0);
        printf("  load average before: %s\n", loadavg());
        fflush(stdout);
        memset(sc, 0, sizeof(sc));
        path_join(units, sizeof(units), work_dir, "units-load");
        for (size_t i = 0; i < N_VARIANTS; i++) {
                ports[i] = free_port();
                snprintf(name, sizeof(name), "load-%s", variants[i].name);
                write_variant_unit(o, units, name, &variants[i], ports[i]);
        }
        write_variant_unit(o, units, "load-steady", &steady_v, steady_port);
        {
                char body[2 * PATH_MAX];
                snprintf(body, sizeof(body),
                         "[Unit]\nDescription=upgrade-bench naive restart\nStartLimitBurst=0\n"
                         "[Service]\nExecStart=%s --tag v --bind 127.0.0.1:%d\n",
                         o->upserver, naive_port);
                write_unit(units, "load-naive", body);
        }
        if (have_nginx)
                nginx_pv_prepare(&ngx_pv, o, units, "load-nginx-pv", "nginx-pv-load");

        i_steady = n_sc;
        sc[n_sc++] = (struct scenario){ .label = "pidvisor, no upgrade", .tag = "steady",
                                        .kind = SC_STEADY };
        for (size_t i = 0; i < N_VARIANTS; i++)
                sc[n_sc++] = (struct scenario){ .label = variants[i].name, .tag = variants[i].name,
                                                .kind = SC_UPGRADE, .v = &variants[i] };
        i_naive = n_sc;
        sc[n_sc++] = (struct scenario){ .label = "naive restart", .tag = "naive",
                                        .kind = SC_RESTART };
        if (have_nginx) {
                i_ngx_steady = n_sc;
                sc[n_sc++] = (struct scenario){ .label = "nginx, no upgrade", .tag = "nginx-steady",
                                                .kind = SC_NGINX_STEADY };
                i_ngx = n_sc;
                sc[n_sc++] = (struct scenario){ .label = "nginx USR2/QUIT", .tag = "nginx",
                                                .kind = SC_NGINX };
                i_ngx_pv_steady = n_sc;
                sc[n_sc++] = (struct scenario){ .label = "nginx pv, no upgrade", .tag = "nginx-pv-steady",
                                                .kind = SC_NGINX_PV_STEADY };
                i_ngx_pv = n_sc;
                sc[n_sc++] = (struct scenario){ .label = "nginx pv transparent", .tag = "nginx-pv",
                                                .kind = SC_NGINX_PV };
        }

        daemon_spawn(&d, o->pidvisor, units, "load", o->epoll);
        daemon_wait_socket(&d, 10000);
        for (size_t k = 0; k < n_sc; k++) {
                struct scenario *c = &sc[k];
                const char *unit = NULL;
                int port = 0;

                switch (c->kind) {
                case SC_STEADY:
                        unit = "load-steady";
                        port = steady_port;
                        break;
                case SC_UPGRADE:
                        snprintf(name, sizeof(name), "load-%s", c->v->name);
                        unit = name;
                        port = ports[c->v - variants];
                        break;
                case SC_RESTART:
                        unit = "load-naive";
                        port = naive_port;
                        break;
                case SC_NGINX_PV_STEADY:
                case SC_NGINX_PV:
                        unit = "load-nginx-pv";
                        port = ngx_pv.port;
                        break;
                case SC_NGINX_STEADY:
                case SC_NGINX: {
                        struct nginx ngx;
                        nginx_start(&ngx, o->nginx, c->kind == SC_NGINX ? "nginx-load" : "nginx-steady");
                        run_window(o, c, NULL, NULL, ngx.port, &ngx, true);
                        nginx_stop(&ngx, c->label);
                        printf("  %-22s %8lld requests (%.0f/s), failed %lld: %s\n", c->label,
                               c->r.requests, c->r.requests / c->r.seconds, c->r.failed,
                               failures_text(&c->r, kinds, sizeof(kinds)));
                        fflush(stdout);
                        continue;
                }
                }
                start_service(&d, unit);
                if (c->kind == SC_NGINX_PV_STEADY) {
                        long pid = service_pid(&d, unit);
                        struct up_sample u;
                        sleep_ms(100);
                        if (!pv_upgrade(&d, unit, "transparent", &pid, &u))
                                problem("load %s: the upgrade before the window failed", c->label);
                }
                /* Let it settle (socket units: the listener was bound at load). */
                sleep_ms(100);
                run_window(o, c, &d, unit, port, NULL,
                           c->kind == SC_NGINX_PV || c->kind == SC_NGINX_PV_STEADY);
                stop_service(&d, unit);
                if (c->kind == SC_NGINX_PV || c->kind == SC_NGINX_PV_STEADY)
                        nginx_check_errlog(ngx_pv.errlog, c->label, ngx_pv.pidfile);
                if (c->kind == SC_UPGRADE || c->kind == SC_NGINX_PV)
                        pv_upgrades += c->done;
                /* A unit's log file and cgroup directory are opened at its first start and
                 * kept: compare around the window only. */
                if (c->kind == SC_UPGRADE || c->kind == SC_RESTART || c->kind == SC_NGINX_PV ||
                    c->kind == SC_NGINX_PV_STEADY) {
                        if (c->done && (c->kind == SC_NGINX_PV || (c->kind == SC_UPGRADE &&
                                                                   strcmp(c->v->mode, "transparent") == 0)))
                                fds_expected++;
                        p0.fds += c->p0.fds;
                        p1.fds += c->p1.fds;
                        p0.anon_kib = p0.anon_kib ? p0.anon_kib : c->p0.anon_kib;
                        p1.anon_kib = c->p1.anon_kib;
                }
                printf("  %-22s %8lld requests (%.0f/s), failed %lld: %s; daemon descriptors %d -> %d\n",
                       c->label, c->r.requests, c->r.requests / c->r.seconds, c->r.failed,
                       failures_text(&c->r, kinds, sizeof(kinds)), c->p0.fds, c->p1.fds);
                fflush(stdout);
        }
        check_zombies(&d, "load");
        daemon_terminate(&d, 30000, "load");
        check_no_leftovers("load");
        check_cgroup_removed(&d, "load");

        /* The table. */
        printf("  %-22s %4s %8s %7s %7s %7s %7s %7s %7s %7s %7s %7s %7s %7s %7s %7s %9s %9s %9s\n",
               "scenario", "upg", "requests", "failed", "refused", "conerr", "slowcon", "rst_bef",
               "rst_mid", "empty", "short", "timeout", "wrong", "p50ms", "p99ms", "maxms", "upg-ms",
               "mgr-us", "cpu-us");
        for (size_t k = 0; k < n_sc; k++) {
                struct scenario *c = &sc[k];
                struct series_stats ss = { 0 };

                if (c->s.n)
                        ss = series_stats(&c->s);
                printf("  %-22s %4u %8lld %7lld", c->label, c->done, c->r.requests, c->r.failed);
                for (size_t i = 0; i < N_FAIL_KINDS; i++)
                        printf(" %7lld", c->r.kinds[i]);
                printf(" %7.2f %7.2f %7.1f", c->r.p50_ms, c->r.p99_ms, c->r.max_ms);
                if (c->s.n)
                        printf(" %9.2f", ss.wall.median_us / 1000);
                else
                        printf(" %9s", "-");
                if (c->kind == SC_UPGRADE || c->kind == SC_NGINX_PV)
                        printf(" %9.1f", ss.own.median_us);
                else
                        printf(" %9s", "-");
                if (c->kind == SC_UPGRADE || c->kind == SC_RESTART || c->kind == SC_NGINX_PV)
                        printf(" %9.1f", ss.cpu.median_us);
                else
                        printf(" %9s", "-");
                putchar('\n');
        }
        printf("  %s\n", transparent_note);
        printf("  %s\n", nginx_pv_note);
        printf("  upg-ms: median wall time of one upgrade (restart) as the client saw it; mgr-us: "
               "median manager_usec; cpu-us: median CPU time\n  the daemon used per upgrade "
               "(restart)\n");
        printf("  descriptors: summed over the windows, each counted after the unit's start and "
               "after its window; memory: first window's start -> last window's end\n");
        printf("  load average after: %s\n", loadavg());
        leak_probe_report("load", &p0, &p1, pv_upgrades, fds_expected);

        /* Verdicts. */
        for (size_t k = 0; k < n_sc; k++) {
                struct scenario *c = &sc[k];
                if ((c->kind == SC_UPGRADE || c->kind == SC_STEADY || c->kind == SC_NGINX_PV ||
                     c->kind == SC_NGINX_PV_STEADY) &&
                    c->r.failed)
                        problem("load %s: %lld of %lld requests failed (%s)", c->label, c->r.failed,
                                c->r.requests, failures_text(&c->r, kinds, sizeof(kinds)));
                if ((c->kind == SC_UPGRADE || c->kind == SC_RESTART || c->kind == SC_NGINX ||
                     c->kind == SC_NGINX_PV) &&
                    c->done != o->upgrades)
                        problem("load %s: %u of %u upgrades done", c->label, c->done, o->upgrades);
                if (c->r.requests < (long long)(0.8 * o->rate * (c->r.seconds - 0.1)))
                        problem("load %s: %lld requests in %.1f s: the load fell short of %u/s",
                                c->label, c->r.requests, c->r.seconds, o->rate);
        }
        if (sc[i_naive].r.failed == 0)
                problem("load: %u naive restarts under load and no failure seen: the load cannot see "
                        "outages, so the zeros above would mean nothing", sc[i_naive].done);

        {
                long long pv_failed = 0, pv_requests = 0, tr_failed = 0, tr_requests = 0;
                unsigned tr_upgrades = 0;
                for (size_t k = 0; k < n_sc; k++)
                        if (sc[k].kind == SC_UPGRADE || sc[k].kind == SC_NGINX_PV) {
                                pv_failed += sc[k].r.failed;
                                pv_requests += sc[k].r.requests;
                                if (sc[k].kind == SC_NGINX_PV || strcmp(sc[k].v->mode, "transparent") == 0) {
                                        tr_failed += sc[k].r.failed;
                                        tr_requests += sc[k].r.requests;
                                        tr_upgrades += sc[k].done;
                                }
                        }
                printf("summary [load]: pidvisor modes %lld failed of %lld requests over %u upgrades "
                       "(%s; transparent, nginx under pidvisor included: %lld failed of %lld over %u); "
                       "naive restart %lld failed of %lld over %u restarts (%s; %.1f per "
                       "restart)",
                       pv_failed, pv_requests, pv_upgrades,
                       pv_failed == 0 ? "0 as designed" : "NOT 0", tr_failed, tr_requests, tr_upgrades,
                       sc[i_naive].r.failed,
                       sc[i_naive].r.requests, sc[i_naive].done,
                       failures_text(&sc[i_naive].r, kinds, sizeof(kinds)),
                       sc[i_naive].done ? (double)sc[i_naive].r.failed / sc[i_naive].done : 0.0);
                if (have_nginx) {
                        printf("; nginx binary upgrade %lld failed of %lld over %u upgrades (%s)",
                               sc[i_ngx].r.failed, sc[i_ngx].r.requests, sc[i_ngx].done,
                               failures_text(&sc[i_ngx].r, kinds, sizeof(kinds)));
                        printf("; nginx under pidvisor, transparent: %lld failed of %lld over %u "
                               "upgrades (%s)",
                               sc[i_ngx_pv].r.failed, sc[i_ngx_pv].r.requests, sc[i_ngx_pv].done,
                               failures_text(&sc[i_ngx_pv].r, kinds, sizeof(kinds)));
                }
                printf("; p99 latency during upgrades / without: ");
                for (size_t k = 0; k < n_sc; k++)
                        if (sc[k].kind == SC_UPGRADE || sc[k].kind == SC_RESTART)
                                printf("%s %.2fx, ", sc[k].label, sc[k].r.p99_ms / sc[i_steady].r.p99_ms);
                if (have_nginx)
                        printf("nginx %.2fx (nginx alone), nginx pv transparent %.2fx (nginx under "
                               "pidvisor; %.2fx nginx alone)",
                               sc[i_ngx].r.p99_ms / sc[i_ngx_steady].r.p99_ms,
                               sc[i_ngx_pv].r.p99_ms / sc[i_ngx_pv_steady].r.p99_ms,
                               sc[i_ngx_pv].r.p99_ms / sc[i_ngx_steady].r.p99_ms);
                printf("; %.1f s\n", (double)(now_ns() - t_begin) / 1e9);
        }
        fflush(stdout);
        for (size_t k = 0; k < n_sc; k++) {
                series_free(&sc[k].s);
                json_decref(sc[k].r.answers);
        }
}

/* ======================================================================================
 * 4. soak
 * ====================================================================================== */

static void bench_soak(const struct options *o)
{
        const struct variant *v = NULL;
        char units[PATH_MAX], kinds[256], tag[32];
        struct daemon d;
        struct load l, next = { 0 };
        struct load_result total = { 0 }, seg;
        struct series s = { 0 }, seg_s = { 0 };
        struct leak_probe p0, p1;
        long pid;
        long *seg_pids = calloc(o->soak_segment + 1, sizeof(long));
        unsigned done = 0, failed_upgrades = 0, seg_first = 1, seg_no = 0;
        int port = free_port();
        uint64_t t_begin = now_ns(), t_first;
        double worst_p99 = 0;

        for (size_t i = 0; i < N_VARIANTS; i++)
                if (strcmp(variants[i].name, o->soak_variant) == 0)
                        v = &variants[i];
        if (!v)
                die("--soak-variant: no variant \"%s\"", o->soak_variant);
        if (!seg_pids)
                die("out of memory");
        printf("\n== soak: %u upgrades (%s), one every %u ms, open loop %u requests/s over %u "
               "threads; a fresh load client every %u upgrades ==\n",
               o->soak, v->name, o->soak_interval_ms, o->rate, o->conns, o->soak_segment);
        fflush(stdout);
        path_join(units, sizeof(units), work_dir, "units-soak");
        write_variant_unit(o, units, "soak", v, port);
        daemon_spawn(&d, o->pidvisor, units, "soak", o->epoll);
        daemon_wait_socket(&d, 10000);
        start_service(&d, "soak");
        pid = service_pid(&d, "soak");
        leak_probe_take(d.pid, &p0);
        seg_pids[0] = pid;
        snprintf(tag, sizeof(tag), "soak-%u", seg_no);
        load_start(&l, o, port, false, tag);
        sleep_ms(300);
        t_first = now_ns();
        for (unsigned i = 1; i <= o->soak; i++) {
                uint64_t due = t_first + (uint64_t)(i - 1) * o->soak_interval_ms * 1000000u, now = now_ns();
                struct up_sample u;

                if (due > now)
                        sleep_ms((unsigned)((due - now) / 1000000u));
                if (pv_upgrade(&d, "soak", v->mode, &pid, &u)) {
                        series_add(&s, &u);
                        series_add(&seg_s, &u);
                        done++;
                } else
                        failed_upgrades++;
                seg_pids[i - seg_first + 1] = pid;
                if (i - seg_first + 1 == o->soak_segment || i == o->soak) {
                        struct series_stats ss = series_stats(&seg_s);
                        /* The next client first, so that no moment goes without load. */
                        if (i < o->soak) {
                                snprintf(tag, sizeof(tag), "soak-%u", seg_no + 1);
                                load_start(&next, o, port, false, tag);
                        } else
                                sleep_ms(300);
                        memset(&seg, 0, sizeof(seg));
                        load_stop(&l, &seg);
                        for (unsigned k = 0; k <= i - seg_first + 1; k++)
                                if (!answered_by(&seg, seg_pids[k]))
                                        problem("soak: pid %ld (upgrade %u) never answered a request",
                                                seg_pids[k], seg_first - 1 + k);
                        printf("  upgrades %4u-%4u: %8lld requests (%.0f/s), failed %lld (%s), "
                               "p99 %.2f ms, max %.1f ms; upgrade median %.2f ms, manager median "
                               "%.1f us, max %.1f us; load average %s\n",
                               seg_first, i, seg.requests, seg.requests / seg.seconds, seg.failed,
                               failures_text(&seg, kinds, sizeof(kinds)), seg.p99_ms, seg.max_ms,
                               ss.wall.median_us / 1000, ss.own.median_us, (double)ss.own_max / 1000,
                               loadavg());
                        fflush(stdout);
                        if (seg.p99_ms > worst_p99)
                                worst_p99 = seg.p99_ms;
                        load_result_add(&total, &seg);
                        json_decref(seg.answers);
                        series_free(&seg_s);
                        l = next;
                        seg_no++;
                        seg_first = i + 1;
                        seg_pids[0] = pid;
                }
        }
        leak_probe_take(d.pid, &p1);
        check_service(&d, "soak", pid);
        check_zombies(&d, "soak");
        stop_service(&d, "soak");
        daemon_terminate(&d, 30000, "soak");
        check_no_leftovers("soak");
        check_cgroup_removed(&d, "soak");
        leak_probe_report("soak", &p0, &p1, done, strcmp(v->mode, "transparent") == 0 && done ? 1 : 0);
        if (total.failed)
                problem("soak: %lld of %lld requests failed (%s)", total.failed, total.requests,
                        failures_text(&total, kinds, sizeof(kinds)));
        if (failed_upgrades)
                problem("soak: %u upgrades failed", failed_upgrades);
        {
                struct series_stats ss = series_stats(&s);
                printf("summary [soak]: %u of %u upgrades done (%s), %lld requests, %lld failed (%s); "
                       "goal 0 failed over >= 1000 upgrades: %s; by the rule of three, a failure "
                       "rate under %.2g per upgrade and %.2g per request (95%%); upgrade median "
                       "%.2f ms p99 %.2f ms; manager median %.1f us p99 %.1f us max %.1f us (goal < "
                       "1 ms: %s), daemon cpu median %.1f us; worst segment p99 latency %.2f ms, max %.1f ms; %.1f s\n",
                       done, o->soak, v->name, total.requests, total.failed,
                       failures_text(&total, kinds, sizeof(kinds)),
                       total.failed == 0 && failed_upgrades == 0 && done >= 1000 ? "met"
                       : total.failed == 0 && failed_upgrades == 0 ? "0 failed, but fewer than 1000 upgrades"
                                                                   : "NOT met",
                       done ? 3.0 / done : 0.0, total.requests ? 3.0 / (double)total.requests : 0.0,
                       ss.wall.median_us / 1000, ss.wall.p99_us / 1000, ss.own.median_us,
                       ss.own.p99_us, (double)ss.own_max / 1000,
                       ss.own.p99_us < 1000    ? "met, p99 included"
                       : ss.own.median_us < 1000 ? "met at the median, not at p99"
                                                 : "NOT met",
                       ss.cpu.median_us, worst_p99, total.max_ms,
                       (double)(now_ns() - t_begin) / 1e9);
        }
        fflush(stdout);
        series_free(&s);
        free(seg_pids);
}

/* The daemons run with --log-level warning and share their stderr log with the fixtures'
 * (pv-load, the floors' servers): in a clean run it stays empty, so any line in it is a
 * daemon warning or error, or a fixture's complaint.  bench_finish() prints its head. */
static void check_daemon_log(void)
{
        char line[1024];
        FILE *f = fopen(log_path, "re");
        unsigned n = 0;

        while (f && fgets(line, sizeof(line), f))
                n++;
        if (f)
                fclose(f);
        if (n)
                problem("%u lines in the daemon log %s (warnings or errors; see below)", n, log_path);
}

/* --- main ---------------------------------------------------------------------------- */

static void usage(FILE *f)
{
        fprintf(f,
                "usage: upgrade-bench [OPTIONS] [latency] [bind] [load]   (default: all three, ~3 minutes)\n"
                "       upgrade-bench [OPTIONS] --soak[=N]         (only the soak, ~N seconds)\n"
                "  --pidvisor PATH    the pidvisor binary%s%s\n"
                "  --upserver PATH    the pv-upserver fixture%s%s\n"
                "  --load PATH        the pv-load client%s%s\n"
                "  --bindtime PATH    bench/bindtime, whose bind() is timed%s%s\n"
                "  --nginx PATH       nginx for the binary-upgrade baseline (/usr/sbin/nginx; \"none\")\n"
                "  --dir DIR          where to make the work directory (/dev/shm, else $TMPDIR)\n"
                "  --keep             keep the work directory\n"
                "  --epoll            run the daemon with --epoll\n"
                "  --rounds N         latency: upgrades per method (40)\n"
                "  --delay-ms N       ReadyCheck=delay of the delay variants and of nginx under\n"
                "                     pidvisor (100)\n"
                "  --binds N          bind: rounds (200)\n"
                "  --upgrades N       load: upgrades per scenario (20)\n"
                "  --interval-ms N    load: one upgrade every N ms (300)\n"
                "  --rate R           load and soak: requests per second, open loop (2000)\n"
                "  --conns K          load and soak: client threads (16)\n"
                "  --soak[=N]         only the soak: N upgrades (1000)\n"
                "  --soak-interval-ms N  one upgrade every N ms (1000)\n"
                "  --soak-variant V   socket-notify, takeover-notify (default), transparent-notify,\n"
                "                     socket-delay, takeover-delay, transparent-delay\n",
#ifdef PIDVISOR_PATH
                "; default ", PIDVISOR_PATH,
#else
                "", "",
#endif
#ifdef UPSERVER_PATH
                "; default ", UPSERVER_PATH,
#else
                "", "",
#endif
#ifdef LOAD_PATH
                "; default ", LOAD_PATH,
#else
                "", "",
#endif
#ifdef BINDTIME_PATH
                "; default ", BINDTIME_PATH
#else
                "", ""
#endif
        );
}

int main(int argc, char **argv)
{
        enum { O_PIDVISOR = 256, O_UPSERVER, O_LOAD, O_BINDTIME, O_NGINX, O_DIR, O_KEEP, O_EPOLL,
               O_ROUNDS, O_DELAY, O_BINDS, O_UPGRADES, O_INTERVAL, O_RATE, O_CONNS, O_SOAK,
               O_SOAK_INTERVAL, O_SOAK_VARIANT };
        static const struct option longopts[] = {
                { "pidvisor", required_argument, NULL, O_PIDVISOR },
                { "upserver", required_argument, NULL, O_UPSERVER },
                { "load", required_argument, NULL, O_LOAD },
                { "bindtime", required_argument, NULL, O_BINDTIME },
                { "nginx", required_argument, NULL, O_NGINX },
                { "dir", required_argument, NULL, O_DIR },
                { "keep", no_argument, NULL, O_KEEP },
                { "epoll", no_argument, NULL, O_EPOLL },
                { "rounds", required_argument, NULL, O_ROUNDS },
                { "delay-ms", required_argument, NULL, O_DELAY },
                { "binds", required_argument, NULL, O_BINDS },
                { "upgrades", required_argument, NULL, O_UPGRADES },
                { "interval-ms", required_argument, NULL, O_INTERVAL },
                { "rate", required_argument, NULL, O_RATE },
                { "conns", required_argument, NULL, O_CONNS },
                { "soak", optional_argument, NULL, O_SOAK },
                { "soak-interval-ms", required_argument, NULL, O_SOAK_INTERVAL },
                { "soak-variant", required_argument, NULL, O_SOAK_VARIANT },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        struct options o = {
#ifdef PIDVISOR_PATH
                .pidvisor = PIDVISOR_PATH,
#endif
#ifdef UPSERVER_PATH
                .upserver = UPSERVER_PATH,
#endif
#ifdef LOAD_PATH
                .load = LOAD_PATH,
#endif
#ifdef BINDTIME_PATH
                .bindtime = BINDTIME_PATH,
#endif
                .nginx = "/usr/sbin/nginx",
                .rounds = 40,
                .delay_ms = 100,
                .binds = 200,
                .upgrades = 20,
                .interval_ms = 300,
                .rate = 2000,
                .conns = 16,
                .soak_interval_ms = 1000,
                .soak_segment = 50,
                .soak_variant = "takeover-notify",
        };
        bool want[3] = { false }, any = false;
        static const char *const names[3] = { "latency", "bind", "load" };
        int c;

        bench_name = "upgrade-bench";
        while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
                switch (c) {
                case O_PIDVISOR:
                        o.pidvisor = optarg;
                        break;
                case O_UPSERVER:
                        o.upserver = optarg;
                        break;
                case O_LOAD:
                        o.load = optarg;
                        break;
                case O_BINDTIME:
                        o.bindtime = optarg;
                        break;
                case O_NGINX:
                        o.nginx = strcmp(optarg, "none") == 0 ? NULL : optarg;
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
                case O_ROUNDS:
                        o.rounds = parse_uint("--rounds", optarg, 1, 100000);
                        break;
                case O_DELAY:
                        o.delay_ms = parse_uint("--delay-ms", optarg, 1, 60000);
                        break;
                case O_BINDS:
                        o.binds = parse_uint("--binds", optarg, 1, 100000);
                        break;
                case O_UPGRADES:
                        o.upgrades = parse_uint("--upgrades", optarg, 1, 100000);
                        break;
                case O_INTERVAL:
                        o.interval_ms = parse_uint("--interval-ms", optarg, 10, 600000);
                        break;
                case O_RATE:
                        o.rate = parse_uint("--rate", optarg, 1, 1000000);
                        break;
                case O_CONNS:
                        o.conns = parse_uint("--conns", optarg, 1, 1024);
                        break;
                case O_SOAK:
                        o.soak = optarg ? parse_uint("--soak", optarg, 1, 10000000) : 1000;
                        break;
                case O_SOAK_INTERVAL:
                        o.soak_interval_ms = parse_uint("--soak-interval-ms", optarg, 10, 600000);
                        break;
                case O_SOAK_VARIANT:
                        o.soak_variant = optarg;
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
                for (k = 0; k < 3; k++)
                        if (strcmp(argv[i], names[k]) == 0)
                                break;
                if (k == 3) {
                        fprintf(stderr, "upgrade-bench: unknown benchmark \"%s\"\n", argv[i]);
                        usage(stderr);
                        return 2;
                }
                want[k] = any = true;
        }
        if (o.soak && any) {
                fprintf(stderr, "upgrade-bench: --soak runs alone\n");
                return 2;
        }
        if (!any && !o.soak)
                want[0] = want[1] = want[2] = true;
        if (!o.pidvisor || !o.upserver || !o.load) {
                fprintf(stderr, "upgrade-bench: give --pidvisor, --upserver and --load\n");
                return 2;
        }
        if (want[1] && (!o.bindtime || access(o.bindtime, X_OK) < 0)) {
                fprintf(stderr, "upgrade-bench: bind needs --bindtime (bench/bindtime)\n");
                return 2;
        }
        if (access(o.pidvisor, X_OK) < 0 || access(o.upserver, X_OK) < 0 || access(o.load, X_OK) < 0) {
                fprintf(stderr, "upgrade-bench: %s, %s or %s is not executable\n", o.pidvisor,
                        o.upserver, o.load);
                return 2;
        }
        if (o.nginx && access(o.nginx, X_OK) < 0) {
                printf("upgrade-bench: %s is not executable: the nginx baseline is not measured\n",
                       o.nginx);
                o.nginx = NULL;
        }

        /* Orphans come to us: a misbehaving daemon's, and nginx's masters (see above). */
        if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
                die("PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
        signal(SIGPIPE, SIG_IGN);
        spawn_attr_setup(true);
        devnull_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (devnull_fd < 0)
                die("/dev/null: %s", strerror(errno));
        make_work_dir(o.parent_dir, "pv-upbench");
        print_machine(false);
        printf("pidvisor %s; upserver %s; load %s; bindtime %s; nginx %s%s\n", o.pidvisor, o.upserver,
               o.load, o.bindtime ? o.bindtime : "(none)", o.nginx ? o.nginx : "(none)",
               o.epoll ? "; daemon with --epoll" : "");
        fflush(stdout);

        if (o.soak)
                bench_soak(&o);
        if (want[0])
                bench_latency(&o);
        if (want[1])
                bench_bind(&o);
        if (want[2])
                bench_load(&o);
        check_daemon_log();
        return bench_finish(o.keep);
}
