/* SPDX-License-Identifier: MIT */

/* benchlib: what bench/daemon-bench and bench/log-bench share: timing and statistics,
 * spawning and reaping, the work directory, a private `pidvisor daemon` and its control
 * socket, and the clean-up of what a misbehaving daemon leaves behind (processes adopted
 * by the bench as child subreaper, cgroup directories).  See benchlib.h. */

#include "benchlib.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

char env_path[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

const char *bench_name = "bench";
char work_dir[PATH_MAX];
char log_path[PATH_MAX];
int devnull_fd = -1;
int log_fd = -1;
posix_spawnattr_t spawn_attr;
unsigned problems;

/* The daemons running now: killed by cleanup_all() (from die()). */
static struct daemon *running_daemons[4];

/* --- small helpers ----------------------------------------------------------------- */

uint64_t now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void sleep_ms(unsigned ms)
{
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

void die(const char *fmt, ...)
{
        va_list ap;

        fflush(stdout);
        fprintf(stderr, "%s: ", bench_name);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        cleanup_all();
        if (work_dir[0])
                fprintf(stderr, "%s: work directory kept for inspection: %s\n", bench_name,
                        work_dir);
        exit(EXIT_FAILURE);
}

void problem(const char *fmt, ...)
{
        va_list ap;

        problems++;
        printf("PROBLEM: ");
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
        fflush(stdout);
}

void path_join(char *buf, size_t size, const char *a, const char *b)
{
        if ((size_t)snprintf(buf, size, "%s/%s", a, b) >= size)
                die("path too long: %s/%s", a, b);
}

static int cmp_u64(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

        return (x > y) - (x < y);
}

/* Sorts the samples in place.  p99 by nearest rank. */
struct stats compute_stats(uint64_t *ns, size_t n)
{
        struct stats s = { 0 };
        size_t rank;
        double sum = 0;

        if (n == 0)
                return s;
        qsort(ns, n, sizeof(*ns), cmp_u64);
        for (size_t i = 0; i < n; i++)
                sum += (double)ns[i];
        rank = (n * 99 + 99) / 100;
        if (rank < 1)
                rank = 1;
        s.median_us = ((double)ns[(n - 1) / 2] + (double)ns[n / 2]) / 2 / 1000;
        s.p99_us = (double)ns[rank - 1] / 1000;
        s.min_us = (double)ns[0] / 1000;
        s.mean_us = sum / (double)n / 1000;
        return s;
}

int write_file(const char *path, const char *text)
{
        FILE *f = fopen(path, "we");

        if (!f)
                return -errno;
        fputs(text, f);
        if (fclose(f) != 0)
                return -errno;
        return 0;
}

void make_dir(const char *path)
{
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
                die("mkdir %s: %s", path, strerror(errno));
}

int pidfd_open_(pid_t pid)
{
        return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* CPU time of a process (all its threads) in ns, or 0 when it cannot be read. */
uint64_t cpu_ns_of(pid_t pid)
{
        clockid_t clk;
        struct timespec ts;

        if (clock_getcpuclockid(pid, &clk) != 0 || clock_gettime(clk, &ts) != 0)
                return 0;
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t rusage_cpu_ns(const struct rusage *ru)
{
        return ((uint64_t)ru->ru_utime.tv_sec + (uint64_t)ru->ru_stime.tv_sec) * 1000000000u +
               ((uint64_t)ru->ru_utime.tv_usec + (uint64_t)ru->ru_stime.tv_usec) * 1000u;
}

/* --- processes --------------------------------------------------------------------- */

void spawn_attr_setup(bool sig_default)
{
        sigset_t empty, def;

        posix_spawnattr_init(&spawn_attr);
        sigemptyset(&empty);
        posix_spawnattr_setsigmask(&spawn_attr, &empty);
        if (!sig_default) {
                posix_spawnattr_setflags(&spawn_attr, POSIX_SPAWN_SETSIGMASK);
                return;
        }
        sigemptyset(&def);
        sigaddset(&def, SIGPIPE);
        sigaddset(&def, SIGTERM);
        sigaddset(&def, SIGINT);
        posix_spawnattr_setsigdefault(&spawn_attr, &def);
        posix_spawnattr_setflags(&spawn_attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
}

int spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[], int in_fd,
          int out_fd, int err_fd)
{
        posix_spawn_file_actions_t fa;
        int r;

        if (in_fd < 0 && out_fd < 0 && err_fd < 0)
                return posix_spawn(pid, path, NULL, &spawn_attr, argv, envp);
        posix_spawn_file_actions_init(&fa);
        if (in_fd >= 0)
                posix_spawn_file_actions_adddup2(&fa, in_fd, STDIN_FILENO);
        if (out_fd >= 0)
                posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
        if (err_fd >= 0)
                posix_spawn_file_actions_adddup2(&fa, err_fd, STDERR_FILENO);
        r = posix_spawn(pid, path, &fa, &spawn_attr, argv, envp);
        posix_spawn_file_actions_destroy(&fa);
        return r;
}

int wait_status_ru(pid_t pid, struct rusage *ru)
{
        int status;

        while (wait4(pid, &status, 0, ru) < 0) {
                if (errno != EINTR)
                        die("wait4(%d): %s", (int)pid, strerror(errno));
        }
        return status;
}

int wait_status(pid_t pid)
{
        return wait_status_ru(pid, NULL);
}

void describe_status(int status, char *buf, size_t size)
{
        if (WIFEXITED(status))
                snprintf(buf, size, "exited %d", WEXITSTATUS(status));
        else if (WIFSIGNALED(status))
                snprintf(buf, size, "killed by signal %d", WTERMSIG(status));
        else
                snprintf(buf, size, "wait status 0x%x", (unsigned)status);
}

/* Waits up to timeout_ms for a process with a pidfd to exit; reaps it.  Returns its wait
 * status, or -ETIMEDOUT (still running, not reaped). */
int wait_pidfd(pid_t pid, int pidfd, unsigned timeout_ms)
{
        struct pollfd p = { .fd = pidfd, .events = POLLIN };
        uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000u;

        for (;;) {
                uint64_t now = now_ns();
                int r;

                if (now >= deadline)
                        return -ETIMEDOUT;
                r = poll(&p, 1, (int)((deadline - now) / 1000000u) + 1);
                if (r < 0 && errno != EINTR)
                        die("poll(pidfd): %s", strerror(errno));
                if (r > 0)
                        return wait_status(pid);
        }
}


/* Children of this process (adopted orphans included), from /proc; up to max. */
size_t list_children(pid_t *out, size_t max)
{
        DIR *d = opendir("/proc");
        struct dirent *de;
        size_t n = 0;
        pid_t self = getpid();

        if (!d)
                return 0;
        while ((de = readdir(d)) && n < max) {
                char path[64], buf[512], *p;
                FILE *f;
                int ppid;

                if (de->d_name[0] < '0' || de->d_name[0] > '9')
                        continue;
                snprintf(path, sizeof(path), "/proc/%.20s/stat", de->d_name);
                f = fopen(path, "re");
                if (!f)
                        continue;
                if (!fgets(buf, sizeof(buf), f)) {
                        fclose(f);
                        continue;
                }
                fclose(f);
                p = strrchr(buf, ')');
                if (p && sscanf(p + 1, " %*c %d", &ppid) == 1 && ppid == self)
                        out[n++] = (pid_t)atoi(de->d_name);
        }
        closedir(d);
        return n;
}

/* After a daemon has exited: nothing of it may be left.  Kills and reaps what is. */
void check_no_leftovers(const char *what)
{
        pid_t kids[4096];
        size_t n = list_children(kids, 4096);
        int status;

        if (n > 0) {
                problem("%s: %zu processes left behind (adopted by the bench, e.g. pid %d); "
                        "killing them", what, n, (int)kids[0]);
                for (size_t i = 0; i < n; i++)
                        kill(kids[i], SIGKILL);
                for (size_t i = 0; i < n; i++)
                        waitpid(kids[i], &status, 0);
        }
        while (waitpid(-1, &status, WNOHANG) > 0)
                ;
}

/* --- the work directory ------------------------------------------------------------ */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)ftw;
        if (flag == FTW_DP)
                rmdir(path);
        else
                unlink(path);
        return 0;
}

void remove_work_dir(void)
{
        if (work_dir[0])
                nftw(work_dir, rm_entry, 32, FTW_DEPTH | FTW_PHYS);
}
void make_work_dir(const char *parent, const char *prefix)
{
        struct stat st;

        if (!parent)
                parent = stat("/dev/shm", &st) == 0 && access("/dev/shm", W_OK) == 0
                                 ? "/dev/shm"
                                 : (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if ((size_t)snprintf(work_dir, sizeof(work_dir), "%s/%s.XXXXXX", parent, prefix) >=
            sizeof(work_dir))
                die("--dir too long");
        if (!mkdtemp(work_dir))
                die("mkdtemp %s: %s", work_dir, strerror(errno));
        /* The socket path must fit in sun_path: keep the directory short. */
        if (strlen(work_dir) > 70)
                die("work directory %s too long for a socket path; use --dir", work_dir);
        path_join(log_path, sizeof(log_path), work_dir, "daemon.log");
        log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (log_fd < 0)
                die("%s: %s", log_path, strerror(errno));
}

const char *fs_name(const char *path)
{
        struct statfs sf;

        if (statfs(path, &sf) < 0)
                return "?";
        switch ((unsigned long)sf.f_type) {
        case 0x01021994UL:
                return "tmpfs";
        case 0xEF53UL:
                return "ext2/3/4";
        case 0x58465342UL:
                return "xfs";
        case 0x9123683EUL:
                return "btrfs";
        case 0x794c7630UL:
                return "overlayfs";
        default:
                return "other";
        }
}

/* --- the daemon and its control socket ----------------------------------------------- */

static void daemon_forget(struct daemon *d)
{
        for (size_t i = 0; i < 4; i++)
                if (running_daemons[i] == d)
                        running_daemons[i] = NULL;
}

/* Starts `PIDVISOR daemon` on the unit directory units, its state directory and socket
 * named after tag in the work directory, its stderr to the daemon log; with --epoll when
 * epoll.  d is remembered for cleanup_all() until daemon_terminate(). */
void daemon_spawn(struct daemon *d, const char *pidvisor, const char *units, const char *tag,
                  bool epoll)
{
        char *argv[16];
        int k = 0;

        memset(d, 0, sizeof(*d));
        if ((size_t)snprintf(d->state_dir, sizeof(d->state_dir), "%s/state-%s", work_dir, tag) >=
            sizeof(d->state_dir))
                die("state directory path too long");
        if ((size_t)snprintf(d->socket, sizeof(d->socket), "%s/%s.sock", work_dir, tag) >=
            sizeof(d->socket))
                die("socket path too long");
        argv[k++] = (char *)pidvisor;
        argv[k++] = (char *)"daemon";
        argv[k++] = (char *)"--units";
        argv[k++] = (char *)units;
        argv[k++] = (char *)"--state-dir";
        argv[k++] = d->state_dir;
        argv[k++] = (char *)"--socket";
        argv[k++] = d->socket;
        argv[k++] = (char *)"--log-level";
        argv[k++] = (char *)"warning";
        if (epoll)
                argv[k++] = (char *)"--epoll";
        argv[k] = NULL;

        d->t_spawn = now_ns();
        if ((errno = spawn(&d->pid, pidvisor, argv, environ, devnull_fd, devnull_fd, log_fd)) != 0)
                die("posix_spawn %s: %s", pidvisor, strerror(errno));
        d->pidfd = pidfd_open_(d->pid);
        if (d->pidfd < 0)
                die("pidfd_open: %s", strerror(errno));
        for (size_t i = 0; i < 4; i++)
                if (!running_daemons[i]) {
                        running_daemons[i] = d;
                        break;
                }
}

/* SIGTERM, then wait for the exit: returns the time it took in ns, or 0 when it did not
 * exit within timeout_ms (then it is SIGKILLed and that is a problem). */
uint64_t daemon_terminate(struct daemon *d, unsigned timeout_ms, const char *what)
{
        uint64_t t0 = now_ns(), t1;
        int status;
        char desc[64];

        kill(d->pid, SIGTERM);
        status = wait_pidfd(d->pid, d->pidfd, timeout_ms);
        t1 = now_ns();
        if (status == -ETIMEDOUT) {
                problem("%s: the daemon did not exit within %u ms of SIGTERM; SIGKILL", what,
                        timeout_ms);
                kill(d->pid, SIGKILL);
                wait_status(d->pid);
                t1 = 0;
        } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                describe_status(status, desc, sizeof(desc));
                problem("%s: the daemon %s after SIGTERM (expected exit 0)", what, desc);
        }
        close(d->pidfd);
        d->pidfd = -1;
        daemon_forget(d);
        return t1 ? t1 - t0 : 0;
}

int ctl_connect(const char *path)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (fd < 0)
                die("socket: %s", strerror(errno));
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                int e = errno;
                close(fd);
                return -e;
        }
        return fd;
}

/* Waits until the daemon's socket accepts a connection. */
void daemon_wait_socket(struct daemon *d, unsigned timeout_ms)
{
        uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000u;

        for (;;) {
                struct pollfd p = { .fd = d->pidfd, .events = POLLIN };
                int fd = ctl_connect(d->socket);

                if (fd >= 0) {
                        close(fd);
                        return;
                }
                if (poll(&p, 1, 0) > 0)
                        die("the daemon exited before its socket was up (see %s)", log_path);
                if (now_ns() >= deadline)
                        die("the daemon's socket %s did not come up in %u ms", d->socket,
                            timeout_ms);
                sleep_ms(2);
        }
}

/* Reads one line (malloc'd, without the newline) within timeout_ms; NULL on EOF/timeout. */
char *read_line(int fd, unsigned timeout_ms)
{
        size_t len = 0, cap = 4096;
        char *buf = malloc(cap);
        uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000u;

        if (!buf)
                die("out of memory");
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                uint64_t now = now_ns();
                ssize_t k;
                char *nl;

                if (now >= deadline) {
                        free(buf);
                        return NULL;
                }
                if (poll(&p, 1, (int)((deadline - now) / 1000000u) + 1) <= 0)
                        continue;
                if (len + 4096 > cap) {
                        char *grown = realloc(buf, cap * 2);
                        if (!grown)
                                die("out of memory");
                        buf = grown;
                        cap *= 2;
                }
                k = read(fd, buf + len, cap - len - 1);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0) {
                        free(buf);
                        return NULL;
                }
                nl = memchr(buf + len, '\n', (size_t)k);
                len += (size_t)k;
                if (nl) {
                        *nl = '\0';
                        return buf;
                }
        }
}

int send_request(int fd, const char *cmd, const char *name)
{
        char req[512];
        int n;

        if (name)
                n = snprintf(req, sizeof(req), "{\"id\":1,\"cmd\":\"%s\",\"args\":{\"name\":\"%s\"}}\n",
                             cmd, name);
        else
                n = snprintf(req, sizeof(req), "{\"id\":1,\"cmd\":\"%s\"}\n", cmd);
        return write(fd, req, (size_t)n) == n ? 0 : -errno;
}

/* Checks a reply line: ok must be true.  Returns the "result" (new reference) or NULL. */
json_t *parse_reply(const char *line, const char *what)
{
        json_error_t jerr;
        json_t *reply = line ? json_loads(line, 0, &jerr) : NULL, *result;

        if (!reply) {
                problem("%s: %s", what, line ? "unreadable reply" : "no reply (timeout or EOF)");
                return NULL;
        }
        if (!json_is_true(json_object_get(reply, "ok"))) {
                problem("%s: error reply: %s", what,
                        json_string_value(json_object_get(reply, "error")));
                json_decref(reply);
                return NULL;
        }
        result = json_incref(json_object_get(reply, "result"));
        json_decref(reply);
        return result;
}

/* One request on a fresh connection; the result (new reference) or NULL (a problem). */
json_t *ctl_call(struct daemon *d, const char *cmd, const char *name, unsigned timeout_ms)
{
        char what[128], *line;
        json_t *result;
        int fd = ctl_connect(d->socket);

        snprintf(what, sizeof(what), "%s %s", cmd, name ? name : "");
        if (fd < 0) {
                problem("%s: cannot connect to %s: %s", what, d->socket, strerror(-fd));
                return NULL;
        }
        if (send_request(fd, cmd, name) < 0)
                die("%s: write: %s", what, strerror(errno));
        line = read_line(fd, timeout_ms);
        close(fd);
        result = parse_reply(line, what);
        free(line);
        return result;
}

/* --- cgroup leftovers ---------------------------------------------------------------- */

/* The daemon's cgroup directory (src/daemon/cgroup.c: MOUNT OWN/pidvisor-FNV(state_dir)),
 * or "" when there is no cgroup v2 hierarchy. */
void daemon_cgroup_dir(const struct daemon *d, char *buf, size_t size)
{
        char line[4096], mnt[4096] = "", own[4096] = "";
        FILE *f = fopen("/proc/self/mountinfo", "re");
        uint32_t h = 2166136261u;

        buf[0] = '\0';
        while (f && fgets(line, sizeof(line), f)) {
                char fstype[64];
                const char *dash = strstr(line, " - ");
                if (dash && sscanf(dash + 3, "%63s", fstype) == 1 && strcmp(fstype, "cgroup2") == 0 &&
                    sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1)
                        break;
        }
        if (f)
                fclose(f);
        f = fopen("/proc/self/cgroup", "re");
        while (f && fgets(line, sizeof(line), f))
                if (strncmp(line, "0::", 3) == 0) {
                        line[strcspn(line, "\n")] = '\0';
                        snprintf(own, sizeof(own), "%s", line + 3);
                }
        if (f)
                fclose(f);
        if (!mnt[0] || !own[0])
                return;
        for (const char *s = d->state_dir; *s; s++)
                h = (h ^ (uint8_t)*s) * 16777619u;
        snprintf(buf, size, "%.2000s%.2000s/pidvisor-%08x", mnt, strcmp(own, "/") ? own : "", h);
}

void check_cgroup_removed(const struct daemon *d, const char *what)
{
        char dir[4200];

        daemon_cgroup_dir(d, dir, sizeof(dir));
        if (dir[0] && access(dir, F_OK) == 0) {
                problem("%s: the daemon left its cgroup directory %s behind", what, dir);
                rmdir(dir);
        }
}

/* After a SIGKILL: the daemon could not remove its cgroup directories; we do. */
void remove_cgroup_dirs(const struct daemon *d)
{
        char dir[4200], sub[4500];
        DIR *dd;
        struct dirent *de;

        daemon_cgroup_dir(d, dir, sizeof(dir));
        if (!dir[0] || !(dd = opendir(dir)))
                return;
        while ((de = readdir(dd)))
                if (de->d_type == DT_DIR && de->d_name[0] != '.') {
                        snprintf(sub, sizeof(sub), "%s/%.255s", dir, de->d_name);
                        rmdir(sub);
                }
        closedir(dd);
        rmdir(dir);
}

void cleanup_all(void)
{
        for (size_t i = 0; i < 4; i++) {
                struct daemon *d = running_daemons[i];
                if (!d)
                        continue;
                kill(d->pid, SIGKILL);
                waitpid(d->pid, NULL, 0);
                running_daemons[i] = NULL;
                remove_cgroup_dirs(d);
        }
        /* Children, then what they leave to us (e.g. daemon-bench's holder's stamps), a few
         * times. */
        for (int pass = 0; pass < 5; pass++) {
                pid_t kids[4096];
                size_t n = list_children(kids, 4096);
                for (size_t i = 0; i < n; i++)
                        kill(kids[i], SIGKILL);
                for (size_t i = 0; i < n; i++)
                        waitpid(kids[i], NULL, 0);
                if (n == 0)
                        break;
        }
}

/* --- options ------------------------------------------------------------------------ */

unsigned parse_uint(const char *name, const char *s, unsigned min, unsigned max)
{
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v > max || v < min) {
                if (max == UINT_MAX)
                        fprintf(stderr, "%s: %s: want an integer >= %u, not \"%s\"\n", bench_name,
                                name, min, s);
                else
                        fprintf(stderr, "%s: %s: want an integer from %u to %u, not \"%s\"\n",
                                bench_name, name, min, max, s);
                exit(2);
        }
        return (unsigned)v;
}

/* --- the report ---------------------------------------------------------------------- */

void print_machine(bool show_fs)
{
        struct utsname u;
        char line[512], model[256] = "?";
        FILE *f = fopen("/proc/cpuinfo", "re");
        time_t t = time(NULL);
        char date[64];

        while (f && fgets(line, sizeof(line), f))
                if (strncmp(line, "model name", 10) == 0) {
                        const char *p = strchr(line, ':');
                        snprintf(model, sizeof(model), "%.200s", p ? p + 2 : line);
                        model[strcspn(model, "\n")] = '\0';
                        break;
                }
        if (f)
                fclose(f);
        uname(&u);
        strftime(date, sizeof(date), "%a %b %e %H:%M:%S UTC %Y", gmtime(&t));
        printf("%s: %s; nproc %ld; %s; kernel %s; work dir %s", bench_name, date,
               sysconf(_SC_NPROCESSORS_ONLN), model, u.release, work_dir);
        if (show_fs)
                printf(" (%s)", fs_name(work_dir));
        putchar('\n');
}

int bench_finish(bool keep)
{
        struct stat st;

        if (fstat(log_fd, &st) == 0 && st.st_size > 0) {
                char line[512];
                FILE *f = fopen(log_path, "re");
                unsigned n = 0;
                printf("\ndaemon log (%s, warnings and errors):\n", log_path);
                while (f && fgets(line, sizeof(line), f) && n++ < 20)
                        printf("  %s", line);
                if (f)
                        fclose(f);
        } else
                printf("\ndaemon log: empty (no warning or error)\n");
        printf("daemon problems seen: %u\n", problems);
        if (!keep)
                remove_work_dir();
        else
                printf("kept %s\n", work_dir);
        return problems ? 1 : 0;
}
