/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/strv.h"
#include "lib/util.h"
#include "log.h"
#include "manager.h"
#include "listen.h"
#include "notify.h"
#include "proc.h"
#include "recover.h"
#include "reexec.h"

/* --- units --------------------------------------------------------------------------- */

struct service *manager_find(struct manager *m, const char *name) {
        for (size_t i = 0; i < m->n_services; i++)
                if (strcmp(m->services[i]->name, name) == 0)
                        return m->services[i];
        return NULL;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The NAME.service files of the units directory, sorted. */
static int list_unit_files(const char *dir, char ***ret) {
        _cleanup_strv_free_ char **names = strv_copy(NULL);
        DIR *d = opendir(dir);
        struct dirent *de;
        size_t n = 0;

        if (!names)
                return -ENOMEM;
        if (!d)
                return negerrno();
        while ((de = readdir(d))) {
                size_t len = strlen(de->d_name);
                char **grown;
                if (de->d_name[0] == '.' || len <= 8 || strcmp(de->d_name + len - 8, ".service"))
                        continue;
                grown = realloc(names, (n + 2) * sizeof(char *));
                if (!grown) {
                        closedir(d);
                        return -ENOMEM;
                }
                names = grown;
                names[n] = strdup(de->d_name);
                names[++n] = NULL;
        }
        closedir(d);
        qsort(names, n, sizeof(char *), cmp_str);
        *ret = TAKE_PTR(names);
        return 0;
}

/* Loads one unit file; logs every diagnostic.  *cfg is NULL and *error set if invalid. */
static void load_unit(const char *path, struct unit_config **cfg, char **error) {
        struct diagnostics d = { 0 };
        size_t len = 0;
        FILE *mem;

        *cfg = NULL;
        *error = NULL;
        unit_load(path, cfg, &d);
        mem = open_memstream(error, &len);
        for (size_t i = 0; i < d.n; i++) {
                if (d.items[i].error) {
                        log_error("%s", d.items[i].text);
                        if (mem)
                                fprintf(mem, "%s%s", ftell(mem) > 0 ? "; " : "", d.items[i].text);
                } else
                        log_warning("%s", d.items[i].text);
        }
        if (mem)
                fclose(mem);
        if (*cfg || len == 0) {
                free(*error);
                *error = NULL;
        }
        if (!*cfg && !*error)
                *error = strdup("the unit file could not be loaded");
        diagnostics_done(&d);
}

/* Binds the sockets of a unit that has just been loaded (or whose file changed while it
 * was down): a unit whose sockets cannot be had is failed, the others go on. */
static void bind_sockets(struct service *s) {
        char why[768];

        recover_adopt(s); /* after a crash: what still runs keeps its sockets */
        if (service_sockets_sync(s, why, sizeof(why)) < 0) {
                log_error("%s: %s", s->name, why);
                service_set_state(s, SERVICE_FAILED, "socket: %s", why);
        } else if (s->state == SERVICE_FAILED && strncmp(s->reason, "socket:", 7) == 0)
                service_set_state(s, SERVICE_INACTIVE, "sockets bound");
}

static struct service *add_service(struct manager *m, const char *name) {
        struct service *s = service_new(m, name), **grown;

        if (!s)
                return NULL;
        grown = realloc(m->services, (m->n_services + 1) * sizeof(*grown));
        if (!grown) {
                service_free(s);
                return NULL;
        }
        m->services = grown;
        m->services[m->n_services++] = s;
        if (m->cgroup_base_fd >= 0) {
                int r = cgroup_service_open(m, name, &s->cgroup_fd);
                if (r < 0)
                        log_warning("%s: no cgroup of its own (%s); its process group stands in",
                                    name, strerror(-r));
        }
        return s;
}

static void drop_service(struct manager *m, struct service *s) {
        for (size_t i = 0; i < m->n_services; i++)
                if (m->services[i] == s) {
                        memmove(m->services + i, m->services + i + 1,
                                (m->n_services - i - 1) * sizeof(*m->services));
                        m->n_services--;
                        break;
                }
        recover_forget(m, s->name);
        cgroup_service_remove(m, s);
        service_free(s);
}

/* Drops removed units whose processes are gone. */
static void collect_removed(struct manager *m) {
        for (size_t i = 0; i < m->n_services;) {
                struct service *s = m->services[i];
                if (s->removed && !service_is_active(s) && !s->waiters) {
                        log_info("%s: unit removed", s->name);
                        drop_service(m, s);
                        continue;
                }
                i++;
        }
}

static void on_collect(struct loop_event *ev, int res) {
        collect_removed(ev->data);
}

void manager_schedule_collect(struct manager *m) {
        if (!loop_event_armed(&m->collect_ev))
                loop_timer(m->loop, &m->collect_ev, 1); /* a deadline in the past: next turn */
}

int manager_reload(struct manager *m, bool restart_changed, json_t **report) {
        _cleanup_strv_free_ char **files = NULL;
        json_t *added = json_array(), *removed = json_array(), *changed = json_array(),
               *errors = json_array();
        int r = list_unit_files(m->opt.units_dir, &files);

        *report = json_pack("{s:o, s:o, s:o, s:o}", "added", added, "removed", removed, "changed",
                            changed, "errors", errors);
        if (r < 0) {
                log_error("units directory %s: %s", m->opt.units_dir, strerror(-r));
                return r;
        }
        for (size_t i = 0; i < m->n_services; i++)
                m->services[i]->removed = true; /* until seen below */
        for (size_t i = 0; files[i]; i++) {
                _cleanup_free_ char *path = NULL, *name = strndup(files[i], strlen(files[i]) - 8), *error = NULL;
                struct unit_config *cfg;
                struct service *s;

                if (!name || asprintf(&path, "%s/%s", m->opt.units_dir, files[i]) < 0)
                        return -ENOMEM;
                s = manager_find(m, name);
                load_unit(path, &cfg, &error);
                if (error)
                        json_array_append_new(errors, json_pack("{s:s, s:s}", "name", name, "error", error));
                if (!s) {
                        s = add_service(m, name);
                        if (!s) {
                                unit_config_free(cfg);
                                return -ENOMEM;
                        }
                        s->cfg = cfg;
                        s->load_error = TAKE_PTR(error);
                        if (s->load_error)
                                service_set_state(s, SERVICE_FAILED, "invalid unit file");
                        else
                                bind_sockets(s);
                        json_array_append_new(added, json_string(name));
                        continue;
                }
                s->removed = false;
                if (!cfg) {
                        /* A broken edit: keep running what was loaded, report the error. */
                        free(s->load_error);
                        s->load_error = TAKE_PTR(error);
                        if (!s->cfg && s->state != SERVICE_FAILED)
                                service_set_state(s, SERVICE_FAILED, "invalid unit file");
                        continue;
                }
                free(s->load_error);
                s->load_error = NULL;
                if (!s->cfg) {
                        s->cfg = cfg;
                        json_array_append_new(changed, json_string(name));
                        if (s->state == SERVICE_FAILED)
                                service_set_state(s, SERVICE_INACTIVE, "unit file fixed");
                        bind_sockets(s);
                        continue;
                }
                if (cfg->hash == (s->next_cfg ? s->next_cfg : s->cfg)->hash) {
                        unit_config_free(cfg);
                        continue;
                }
                json_array_append_new(changed, json_string(name));
                if (!service_is_active(s) && s->state != SERVICE_AUTO_RESTART) {
                        unit_config_free(s->cfg);
                        unit_config_free(s->next_cfg);
                        s->next_cfg = NULL;
                        s->cfg = cfg;
                        bind_sockets(s);
                        continue;
                }
                unit_config_free(s->next_cfg);
                s->next_cfg = cfg;
                if (restart_changed) {
                        const char *why = NULL;
                        if (service_restart(s, &why) < 0)
                                log_error("%s: restart after reload failed: %s", s->name, why);
                } else
                        log_info("%s: unit file changed; applies at its next start", s->name);
        }
        for (size_t i = 0; i < m->n_services; i++) {
                struct service *s = m->services[i];
                if (!s->removed)
                        continue;
                json_array_append_new(removed, json_string(s->name));
                service_stop(s);
        }
        collect_removed(m);
        return 0;
}

/* --- signals and orphans ------------------------------------------------------------- */

static struct service *service_by_pid(struct manager *m, pid_t pid) {
        for (size_t i = 0; i < m->n_services; i++)
                if (service_is_tracked_pid(m->services[i], pid))
                        return m->services[i];
        return NULL;
}

/* As PID 1 or a subreaper we inherit orphans.  Reap them, but never a child that one of
 * our pidfds tracks: peek with WNOWAIT and leave a tracked child to its own watch (which
 * runs this again after it has reaped, so that orphans behind it are not forgotten). */
void manager_reap_orphans(struct manager *m) {
        if (!m->reap_orphans)
                return;
        for (;;) {
                siginfo_t si = { 0 };

                if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0)
                        return;
                pid_t pid = si.si_pid;

                if (service_by_pid(m, pid))
                        return;
                if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG) < 0)
                        return;
                log_debug("reaped orphan %d", (int)pid);
        }
}

static void begin_shutdown(struct manager *m, const char *why);

/* --- sd_notify ----------------------------------------------------------------------- */

/* Which service a sending pid belongs to: its main or ExecStartPre= process, else the
 * service whose cgroup holds it, else (without cgroups) whose session it is in (each
 * service is a session leader, so its main pid is the session id of its whole tree). */
struct service *manager_service_of_pid(struct manager *m, pid_t pid) {
        char path[64], line[4096];
        FILE *f;

        if (m->cgroup_base) {
                snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
                f = fopen(path, "re");
                while (f && fgets(line, sizeof(line), f)) {
                        char *slash, *name;
                        size_t len;
                        if (strncmp(line, "0::", 3))
                                continue;
                        line[strcspn(line, "\n")] = 0;
                        slash = strrchr(line, '/');
                        if (!slash)
                                break;
                        name = slash + 1;
                        len = strlen(name);
                        if (len <= 8 || strcmp(name + len - 8, ".service"))
                                break;
                        name[len - 8] = 0;
                        *slash = 0;
                        /* Only our own cgroups: the parent must be our base directory. */
                        if (!line[3] || !strstr(m->cgroup_base, line + 3) ||
                            strcmp(m->cgroup_base + strlen(m->cgroup_base) - strlen(line + 3), line + 3))
                                break;
                        fclose(f);
                        return manager_find(m, name);
                }
                if (f)
                        fclose(f);
                return NULL;
        }
        {
                struct proc_stat st;
                if (proc_stat_read(pid, &st) < 0)
                        return NULL;
                for (size_t i = 0; i < m->n_services; i++) {
                        struct service *s = m->services[i];
                        if (service_is_active(s) && s->session == st.session)
                                return s;
                }
        }
        return NULL;
}

static struct service *notify_attribute(struct manager *m, pid_t pid, bool *is_main, bool *is_control) {
        *is_main = *is_control = false;
        for (size_t i = 0; i < m->n_services; i++) {
                struct service *s = m->services[i];
                if (service_is_tracked_pid(s, pid)) {
                        *is_main = !s->proc_is_pre;
                        *is_control = s->proc_is_pre;
                        return s;
                }
        }
        return manager_service_of_pid(m, pid);
}

static void notify_handle(struct manager *m, const char *buf, ssize_t n, const struct msghdr *mh,
                          const struct ucred *cred, int *fds, size_t n_fds);

static void notify_one(struct manager *m) {
        char buf[NOTIFY_BUFFER_MAX + 1];
        union {
                struct cmsghdr h;
                char b[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * 253)];
        } control;
        struct iovec iov = { buf, sizeof(buf) };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
                             .msg_controllen = sizeof(control) };
        struct ucred *cred = NULL;
        int *fds = NULL;
        size_t n_fds = 0;
        ssize_t n;

        for (;;) {
                n = recvmsg(m->notify_fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
                if (n >= 0 || errno != EINTR)
                        break;
        }
        if (n < 0)
                return;
        /* Received descriptors go to the fd store (FDSTORE=1) or are closed, whatever
         * happens to the message (BARRIER=1 only needs its fd closed). */
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                if (c->cmsg_level != SOL_SOCKET)
                        continue;
                if (c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len == CMSG_LEN(sizeof(struct ucred)))
                        cred = (struct ucred *)CMSG_DATA(c);
                else if (c->cmsg_type == SCM_RIGHTS) {
                        int *f = (int *)CMSG_DATA(c);
                        size_t nf = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                        if (!fds) {
                                fds = f;
                                n_fds = nf;
                        } else /* a second array: not something sd_notify sends */
                                for (size_t i = 0; i < nf; i++)
                                        loop_close_async(m->loop, f[i]);
                }
        }
        notify_handle(m, buf, n, &mh, cred, fds, n_fds);
        /* What nobody keeps is closed off the loop's thread: a sender could hand over a
         * descriptor whose close blocks (SO_LINGER with unsent data) to stall the daemon. */
        for (size_t i = 0; i < n_fds; i++)
                if (fds[i] >= 0)
                        loop_close_async(m->loop, fds[i]);
}

/* One received datagram; descriptors it keeps are set to -1 in fds. */
static void notify_handle(struct manager *m, const char *buf, ssize_t n, const struct msghdr *mh,
                          const struct ucred *cred, int *fds, size_t n_fds) {
        struct notify_msg msg;
        struct service *s;
        bool is_main, is_control;
        const char *why;

        if ((mh->msg_flags & MSG_CTRUNC) || !cred || cred->pid <= 0) {
                m->notify_ignored++;
                log_debug("sd_notify: message without credentials, ignored");
                return;
        }
        if ((size_t)n > NOTIFY_BUFFER_MAX || (mh->msg_flags & MSG_TRUNC)) {
                m->notify_ignored++;
                log_warning("sd_notify: message of %zd bytes from pid %d is over %d, ignored", n,
                            (int)cred->pid, NOTIFY_BUFFER_MAX);
                return;
        }
        s = notify_attribute(m, cred->pid, &is_main, &is_control);
        if (!s) {
                m->notify_ignored++;
                log_debug("sd_notify: message from pid %d, which belongs to no service, ignored",
                          (int)cred->pid);
                return;
        }
        if (notify_parse(buf, (size_t)n, &msg, &why) < 0) {
                m->notify_ignored++;
                log_warning("%s: malformed sd_notify message from pid %d ignored: %s", s->name,
                            (int)cred->pid, why ? why : "out of memory");
                return;
        }
        if (!service_notify(s, cred->pid, is_main, is_control, &msg))
                m->notify_ignored++;
        else if (msg.fdstore)
                service_fdstore_add(s, fds, n_fds, msg.fdname);
        notify_msg_done(&msg);
}

static void on_notify(struct loop_event *ev, int res) {
        struct manager *m = ev->data;

        /* A bounded batch per turn, so that a flood cannot starve the other sources. */
        for (int i = 0; i < 64; i++) {
                int avail = 0;
                notify_one(m);
                if (ioctl(m->notify_fd, FIONREAD, &avail) < 0 || avail == 0)
                        break;
        }
        if (loop_poll(m->loop, &m->notify_ev, m->notify_fd, POLLIN) < 0)
                log_error("cannot watch the notify socket any more");
}

static int notify_setup(struct manager *m) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int one = 1, fd;

        if (asprintf(&m->notify_path, "%s/notify", m->opt.state_dir) < 0)
                return -ENOMEM;
        if (m->notify_fd >= 0) /* kept across a re-exec */
                goto arm;
        if (strlen(m->notify_path) >= sizeof(sa.sun_path)) {
                log_error("notify socket path too long: %s", m->notify_path);
                return -ENAMETOOLONG;
        }
        strcpy(sa.sun_path, m->notify_path);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return negerrno();
        unlink(m->notify_path);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
            setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0) {
                int r = negerrno();
                log_error("notify socket %s: %s", m->notify_path, strerror(-r));
                close(fd);
                return r;
        }
        /* Services of other users (User=) must be able to send. */
        chmod(m->notify_path, 0666);
        m->notify_fd = fd;
arm:
        loop_event_init(&m->notify_ev, on_notify, m);
        return loop_poll(m->loop, &m->notify_ev, m->notify_fd, POLLIN);
}

static void on_signal(struct loop_event *ev, int res) {
        struct manager *m = ev->data;
        struct signalfd_siginfo si;
        char name[32];

        while (read(m->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                switch (si.ssi_signo) {
                case SIGTERM:
                case SIGINT:
                        begin_shutdown(m, pv_signal_name((int)si.ssi_signo, name, sizeof(name)));
                        break;
                case SIGHUP: {
                        json_t *report = NULL;
                        log_info("SIGHUP: reloading units");
                        manager_reload(m, false, &report);
                        json_decref(report);
                        break;
                }
                case SIGCHLD:
                        manager_reap_orphans(m);
                        break;
                default:
                        break;
                }
        }
        if (loop_poll(m->loop, &m->signal_ev, m->signal_fd, POLLIN) < 0)
                log_error("cannot watch signals any more");
}

static int setup_signals(struct manager *m) {
        sigset_t mask;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (m->reap_orphans)
                sigaddset(&mask, SIGCHLD);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return negerrno();
        m->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (m->signal_fd < 0)
                return negerrno();
        /* Writing to a client that went away must not kill the manager, nor a log file
         * over RLIMIT_FSIZE (that is EFBIG, counted as dropped output). */
        signal(SIGPIPE, SIG_IGN);
        signal(SIGXFSZ, SIG_IGN);
        loop_event_init(&m->signal_ev, on_signal, m);
        return loop_poll(m->loop, &m->signal_ev, m->signal_fd, POLLIN);
}

/* --- shutdown: stop services one by one, newest first -------------------------------- */

static struct service *newest_active(struct manager *m) {
        struct service *best = NULL;

        for (size_t i = 0; i < m->n_services; i++) {
                struct service *s = m->services[i];
                if (service_is_active(s) && (!best || s->start_seq > best->start_seq))
                        best = s;
        }
        return best;
}

void manager_check_shutdown(struct manager *m) {
        struct service *s;

        if (!m->shutting_down || m->exiting)
                return;
        for (size_t i = 0; i < m->n_services; i++) {
                s = m->services[i];
                if (s->state == SERVICE_AUTO_RESTART || (s->state == SERVICE_FAILED && loop_event_armed(&s->timer_ev)))
                        service_stop(s);
                if (s->state == SERVICE_STOPPING)
                        return; /* one at a time, in reverse start order */
        }
        s = newest_active(m);
        if (s) {
                service_stop(s);
                return;
        }
        log_info("all services stopped, exiting");
        m->exiting = true;
        loop_quit(m->loop);
}

static void begin_shutdown(struct manager *m, const char *why) {
        if (m->shutting_down)
                return;
        log_info("%s: stopping all services in reverse start order", why);
        m->shutting_down = true;
        manager_check_shutdown(m);
}

/* --- setup --------------------------------------------------------------------------- */

double manager_random01(struct manager *m) {
        /* xorshift64*: plenty for spreading restart delays. */
        m->rng ^= m->rng >> 12;
        m->rng ^= m->rng << 25;
        m->rng ^= m->rng >> 27;
        return (double)((m->rng * 2685821657736338717ULL) >> 11) / (double)(1ULL << 53);
}

static int mkdir_p(const char *path, mode_t mode) {
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++)
                if (*s == '/') {
                        *s = 0;
                        if (mkdir(p, mode) < 0 && errno != EEXIST)
                                return negerrno();
                        *s = '/';
                }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return negerrno();
        return 0;
}

/* One daemon per state directory: its sockets, its cgroups and (later) its saved state
 * are there.  An flock is released by the kernel the moment its holder dies, so a crashed
 * daemon never blocks the next one; it is taken before anything in the directory or the
 * cgroups is touched, so a refused second daemon cannot disturb the first. */
static int lock_state_dir(struct manager *m) {
        _cleanup_free_ char *path = NULL;
        char buf[32];
        int fd, n;

        if (asprintf(&path, "%s/lock", m->opt.state_dir) < 0)
                return -ENOMEM;
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) {
                n = negerrno();
                log_error("lock file %s: %s", path, strerror(-n));
                return n;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                int r = negerrno();
                ssize_t got = read(fd, buf, sizeof(buf) - 1);
                buf[got > 0 ? got : 0] = 0;
                buf[strcspn(buf, "\n")] = 0;
                if (r == -EWOULDBLOCK)
                        log_error("another daemon (pid %s) is running with the state directory %s",
                                  *buf ? buf : "?", m->opt.state_dir);
                else
                        log_error("locking %s: %s", path, strerror(-r));
                close(fd);
                return r == -EWOULDBLOCK ? -EBUSY : r;
        }
        n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
        if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n)
                log_warning("cannot write our pid to %s", path);
        m->lock_fd = fd;
        return 0;
}

int manager_new(struct manager **ret, const struct manager_options *opt) {
        struct manager *m = calloc(1, sizeof(*m));
        const char *why_epoll = NULL;
        json_t *report = NULL;
        int r;

        if (!m)
                return -ENOMEM;
        m->opt = *opt;
        m->signal_fd = m->listen_fd = m->cgroup_base_fd = m->notify_fd = m->lock_fd = -EBADF;
        m->rng = now_usec(CLOCK_REALTIME) ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ULL;
        m->reap_orphans = opt->subreaper || getpid() == 1;
        loop_event_init(&m->collect_ev, on_collect, m);
        *ret = m;

        /* A pidfd, a stderr pipe and a cgroup directory per service: 1000 services need
         * more than the usual soft limit of 1024.  Raise ours to the hard limit, and give
         * services the limit we were started with unless their LimitNOFILE= says
         * otherwise (as systemd does, for programs that still use select()). */
        if (getrlimit(RLIMIT_NOFILE, &m->nofile_for_services) == 0 &&
            m->nofile_for_services.rlim_cur < m->nofile_for_services.rlim_max) {
                struct rlimit raised = { m->nofile_for_services.rlim_max, m->nofile_for_services.rlim_max };
                if (setrlimit(RLIMIT_NOFILE, &raised) < 0)
                        log_warning("cannot raise the open file limit to %llu: %s",
                                    (unsigned long long)raised.rlim_max, strerror(errno));
        }
        /* After a re-exec: the descriptors and counters of the state, not fresh ones. */
        if (opt->restore)
                reexec_adopt_manager(m, opt->restore);

        r = loop_new(&m->loop, opt->force_epoll, &why_epoll);
        if (r < 0) {
                log_error("cannot create the event loop: %s", strerror(-r));
                return r;
        }
        if (why_epoll)
                log_notice("event loop: epoll, because %s", why_epoll);
        log_info("event loop: %s", loop_backend_name(m->loop));

        if (opt->subreaper && getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
                r = negerrno();
                log_error("PR_SET_CHILD_SUBREAPER: %s", strerror(-r));
                return r;
        }
        r = setup_signals(m);
        if (r < 0) {
                log_error("signals: %s", strerror(-r));
                return r;
        }
        r = mkdir_p(opt->state_dir, 0755);
        if (r < 0) {
                log_error("state directory %s: %s", opt->state_dir, strerror(-r));
                return r;
        }
        {
                _cleanup_free_ char *sockdir = strdup(opt->socket_path);
                char *slash = sockdir ? strrchr(sockdir, '/') : NULL;
                if (slash && slash != sockdir) {
                        *slash = 0;
                        mkdir_p(sockdir, 0755);
                }
        }
        r = m->lock_fd >= 0 ? 0 : lock_state_dir(m);
        if (r < 0)
                return r;
        /* Without --log-dir, logs live beside the state they belong to. */
        if (opt->log_dir)
                m->log_dir = strdup(opt->log_dir);
        else if (asprintf(&m->log_dir, "%s/logs", opt->state_dir) < 0)
                m->log_dir = NULL;
        if (!m->log_dir)
                return -ENOMEM;
        r = notify_setup(m);
        if (r < 0)
                return r;
        r = cgroup_setup(m);
        if (r < 0)
                return r;
        r = pv_policy_cache_new(&m->policy_cache);
        if (r < 0)
                return r;
        /* The records a crashed daemon left (not after a re-exec: they are ours). */
        r = recover_load(m);
        if (r < 0)
                return r;
        if (opt->restore)
                r = reexec_restore(m, opt->restore);
        else {
                r = manager_reload(m, false, &report);
                json_decref(report);
                if (r >= 0)
                        log_info("loaded %zu units from %s", m->n_services, opt->units_dir);
        }
        if (r < 0)
                return r;
        return control_listen(m);
}

int manager_run(struct manager *m) {
        size_t started = 0;
        int r;

        if (m->restored) /* a re-exec: everything runs already */
                reexec_finish(m, m->opt.restore);
        else {
                for (size_t i = 0; i < m->n_services; i++) {
                        struct service *s = m->services[i];
                        char why[600];
                        /* AutoStart=, or started by hand before a crash (recover.c). */
                        if (recover_wants_start(s)) {
                                /* In dependency order, in parallel where independent. */
                                if (deps_start(s, why, sizeof(why)) < 0)
                                        log_error("%s: not started: %s", s->name, why);
                                started++;
                        }
                }
                recover_loaded_done(m);
                log_info("ready: %zu units, %zu started, control socket %s", m->n_services, started,
                         m->opt.socket_path);
        }
        for (;;) {
                r = loop_run(m->loop);
                if (r < 0 || !m->reexec)
                        break;
                reexec_run(m); /* returns only when the exec did not happen */
        }
        if (r < 0)
                log_error("event loop failed: %s", strerror(-r));
        else if (m->exiting)
                recover_clean_exit(m);
        return r < 0 ? r : m->exit_code;
}

void manager_free(struct manager *m) {
        if (!m)
                return;
        if (m->loop) {
                control_close_all(m);
                loop_disarm(m->loop, &m->collect_ev);
        }
        reexec_free(m);
        recover_free(m);
        for (size_t i = 0; i < m->n_services; i++) {
                cgroup_service_remove(m, m->services[i]);
                service_free(m->services[i]);
        }
        free(m->services);
        if (m->loop && m->signal_fd >= 0)
                loop_disarm(m->loop, &m->signal_ev);
        safe_close(m->signal_fd);
        if (m->notify_fd >= 0) {
                loop_disarm(m->loop, &m->notify_ev);
                safe_close(m->notify_fd);
                unlink(m->notify_path);
        }
        free(m->notify_path);
        cgroup_limits_free(m);
        if (m->cgroup_base_fd >= 0) {
                safe_close(m->cgroup_base_fd);
                rmdir(m->cgroup_base);
        }
        free(m->cgroup_base);
        free(m->log_dir);
        pv_policy_cache_free(m->policy_cache);
        loop_free(m->loop);
        safe_close(m->lock_fd); /* last: everything in the state directory is released */
        free(m);
}
