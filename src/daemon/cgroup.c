/* SPDX-License-Identifier: MIT */
/* Per-service cgroup v2 directories, used to start a service in its own cgroup
 * (CLONE_INTO_CGROUP) and to signal all its processes for KillMode=control-group.  Where
 * no writable cgroup v2 hierarchy exists, the services' process groups stand in (each
 * service runs in its own session, so its main pid is its process group id). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cgroup-limits.h"
#include "lib/util.h"
#include "log.h"
#include "manager.h"
#include "proc.h"

static char *cgroup2_mount(void) {
        FILE *f = fopen("/proc/self/mountinfo", "re");
        char line[4096], *found = NULL;

        if (!f)
                return NULL;
        while (!found && fgets(line, sizeof(line), f)) {
                char mnt[4096], fstype[64];
                const char *dash = strstr(line, " - ");
                if (!dash || sscanf(dash + 3, "%63s", fstype) != 1 || strcmp(fstype, "cgroup2"))
                        continue;
                if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1)
                        found = strdup(mnt);
        }
        fclose(f);
        return found;
}

static char *own_cgroup(void) {
        FILE *f = fopen("/proc/self/cgroup", "re");
        char line[4096], *found = NULL;

        if (!f)
                return NULL;
        while (!found && fgets(line, sizeof(line), f))
                if (strncmp(line, "0::", 3) == 0) {
                        line[strcspn(line, "\n")] = 0;
                        found = strdup(line + 3);
                }
        fclose(f);
        return found;
}

static uint32_t fnv1a(const char *s) {
        uint32_t h = 2166136261u;
        for (; *s; s++)
                h = (h ^ (uint8_t)*s) * 16777619u;
        return h;
}

void cgroup_instance_name(const struct manager *m, char *buf, size_t size) {
        snprintf(buf, size, "pidvisor-%08x", fnv1a(m->opt.state_dir));
}

int cgroup_setup(struct manager *m) {
        _cleanup_free_ char *mnt = cgroup2_mount(), *own = own_cgroup();
        char *base = NULL;
        int fd;

        m->cgroup_base_fd = -EBADF;
        /* After a re-exec: the same directory, even if the daemon has moved into a leaf
         * of it since (cgroup-limits.c), which /proc/self/cgroup would now name. */
        if (m->cgroup_base) {
                fd = open(m->cgroup_base, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
                if (fd >= 0) {
                        m->cgroup_base_fd = fd;
                        return 0;
                }
                log_warning("cgroups: %s: %s; looking again", m->cgroup_base, strerror(errno));
                free(m->cgroup_base);
                m->cgroup_base = NULL;
        }
        if (!mnt || !own) {
                log_notice("cgroups: no cgroup v2 hierarchy found; KillMode=control-group "
                           "signals each service's process group instead");
                return 0;
        }
        /* One directory per daemon instance (named after its state directory, so that it
         * is the same across restarts and distinct for daemons side by side). */
        if (asprintf(&base, "%s%s/pidvisor-%08x", mnt, strcmp(own, "/") ? own : "",
                     fnv1a(m->opt.state_dir)) < 0)
                return -ENOMEM;
        if (mkdir(base, 0755) < 0 && errno != EEXIST) {
                log_notice("cgroups: cannot create %s (%s); KillMode=control-group signals each "
                           "service's process group instead", base, strerror(errno));
                free(base);
                return 0;
        }
        fd = open(base, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                log_notice("cgroups: cannot open %s (%s); using process groups", base, strerror(errno));
                free(base);
                return 0;
        }
        m->cgroup_base = base;
        m->cgroup_base_fd = fd;
        log_info("cgroups: services run in cgroup v2 below %s", base);
        return 0;
}

int cgroup_service_open(struct manager *m, const char *name, int *ret_fd) {
        char dir[512];
        int fd;

        if (m->cgroup_base_fd < 0)
                return -EOPNOTSUPP;
        snprintf(dir, sizeof(dir), "%s.service", name);
        if (mkdirat(m->cgroup_base_fd, dir, 0755) < 0 && errno != EEXIST)
                return negerrno();
        fd = openat(m->cgroup_base_fd, dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negerrno();
        *ret_fd = fd_move_above(fd, DAEMON_FD_HIGH);
        return 0;
}

/* Signals each pid listed in cgroup.procs through a pidfd, re-checking after opening it
 * that the pid still belongs to the cgroup (it may have exited and been reused).
 *
 * Not cgroup.kill, although it would be atomic against forks: on the kernels we run
 * (6.18 seen), once a cgroup has been killed through cgroup.kill, every later child
 * placed into it with CLONE_INTO_CGROUP is SIGKILLed at birth, so a service could never
 * be restarted in its cgroup (the daemon's restart tests would catch a regression). */
static int kill_cgroup(struct service *s, int sig) {
        int fd, n = 0;
        FILE *f;
        char line[64];

        fd = openat(s->cgroup_fd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negerrno();
        f = fdopen(fd, "re");
        if (!f) {
                close(fd);
                return -ENOMEM;
        }
        while (fgets(line, sizeof(line), f)) {
                pid_t pid = (pid_t)atoi(line);
                struct pv_process p;
                char path[64], cg[512];
                FILE *c;
                bool member = false;

                if (pid <= 0 || pv_process_open(pid, &p, NULL) < 0)
                        continue;
                snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
                c = fopen(path, "re");
                if (c) {
                        char want[600];
                        snprintf(want, sizeof(want), "/%s.service\n", s->name);
                        while (fgets(cg, sizeof(cg), c))
                                if (strncmp(cg, "0::", 3) == 0 && strlen(cg) >= strlen(want) &&
                                    strcmp(cg + strlen(cg) - strlen(want), want) == 0)
                                        member = true;
                        fclose(c);
                }
                if (member && pv_process_signal(&p, sig, NULL) == 0)
                        n++;
                pv_process_release(&p);
        }
        fclose(f);
        return n;
}

int cgroup_kill_service(struct service *s, int sig, pid_t pgid) {
        if (s->cgroup_fd >= 0)
                return kill_cgroup(s, sig);
        if (pgid <= 0)
                return 0;
        if (kill(-pgid, sig) < 0)
                return errno == ESRCH ? 0 : negerrno();
        return 1;
}

/* Whether every process cgroup.procs of dirfd/name lists is gone or dead (a zombie). */
static bool only_dying(int dirfd, const char *name) {
        char path[600], line[64];
        bool ok = true;
        int fd;
        FILE *f;

        snprintf(path, sizeof(path), "%s/cgroup.procs", name);
        fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
        f = fd >= 0 ? fdopen(fd, "re") : NULL;
        if (!f) {
                safe_close(fd);
                return false;
        }
        while (ok && fgets(line, sizeof(line), f)) {
                struct proc_stat st;
                int r = proc_stat_read(atoi(line), &st);

                if (r == -ESRCH)
                        continue; /* gone */
                ok = r == 0 && (st.state == 'Z' || st.state == 'X');
        }
        fclose(f);
        return ok;
}

int cgroup_rmdir(int dirfd, const char *name) {
        /* A process whose exit the daemon has already reaped can still be counted in its
         * cgroup for a moment (seen on 6.18: cgroup.procs still listed it, populated 1),
         * so EBUSY is tried again, briefly, as long as nothing alive is left in it: a
         * cgroup that still holds live processes (KillMode=process) fails at once. */
        for (int i = 0;; i++) {
                struct timespec ms = { 0, 1000 * 1000 };

                if (unlinkat(dirfd, name, AT_REMOVEDIR) == 0)
                        return i;
                if (errno != EBUSY || i >= 100 || !only_dying(dirfd, name))
                        return negerrno();
                nanosleep(&ms, NULL);
        }
}

void cgroup_service_remove(struct manager *m, struct service *s) {
        char dir[512];
        int r;

        cgroup_limits_service_remove(m, s); /* its cgroup v1 directories, if it had limits */
        if (s->cgroup_fd < 0 || m->cgroup_base_fd < 0)
                return;
        s->cgroup_fd = safe_close(s->cgroup_fd);
        snprintf(dir, sizeof(dir), "%s.service", s->name);
        r = cgroup_rmdir(m->cgroup_base_fd, dir);
        if (r < 0 && r != -ENOENT)
                log_warning("%s: cgroup %s/%s not removed: %s", s->name, m->cgroup_base, dir, strerror(-r));
        else if (r > 0)
                log_debug("%s: cgroup removed after %d tries (it was still busy)", s->name, r + 1);
}
