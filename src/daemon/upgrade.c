/* SPDX-License-Identifier: MIT */
#include "upgrade.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util.h"
#include "log.h"
#include "manager.h"
#include "intercept.h"
#include "proc.h"
#include "recover.h"

static void on_upgrade_timer(struct loop_event *ev, int res);
static void on_ready_check(struct loop_event *ev, int res);
static void on_old_exit(struct loop_event *ev, int res);
static void kill_session(struct service *s, pid_t sid, int sig);
static void on_keep(struct loop_event *ev, int res);
static int watch_old(struct service *s, struct upgrade *up);

/* Time in the daemon's own handlers, for the reply's manager_usec. */
#define ACCOUNT_BEGIN usec_t account_t0 = now_usec(CLOCK_MONOTONIC)
#define ACCOUNT_END(up) ((up)->manager_usec += now_usec(CLOCK_MONOTONIC) - account_t0)

/* Whether the datagram socket l is one TakeoverDatagram= names. */
static bool datagram_wanted(const struct unit_config *c, const struct pv_listener *l) {
        for (size_t i = 0; i < c->n_takeover_datagram; i++) {
                const struct socket_address *a = &c->takeover_datagram[i];
                if (a->len == l->addr_len && memcmp(&a->sockaddr, &l->addr, a->len) == 0)
                        return true;
        }
        return false;
}

/* Takes the listeners out of the running instance (takeover, transparent). */
static int take_listeners(struct service *s, struct upgrade *up, char *why, size_t why_size) {
        const struct unit_config *c = s->cfg;
        struct pv_error err = { 0 };
        struct pv_listener *l = NULL;
        size_t n = 0, k = 0;
        int r;

        r = pv_listeners_take(&s->proc, c->n_takeover_datagram ? PV_TAKE_DATAGRAM : 0, &l, &n, &err);
        if (r < 0) {
                snprintf(why, why_size, "cannot take the listeners of pid %d: %s", (int)s->proc.pid, err.message);
                return r;
        }
        for (size_t i = 0; i < n; i++) {
                if (l[i].type == SOCK_DGRAM && !datagram_wanted(c, &l[i])) {
                        safe_close(l[i].fd);
                        continue;
                }
                l[i].fd = fd_move_above(l[i].fd, DAEMON_FD_HIGH);
                l[k++] = l[i];
        }
        if (k == 0) {
                free(l);
                snprintf(why, why_size,
                         "pid %d has no listening socket to move (HotRestart=%s takes listening stream "
                         "sockets, and the datagram sockets TakeoverDatagram= names)",
                         (int)s->proc.pid, hot_restart_to_string(c->hot_restart));
                return -ENOENT;
        }
        up->moved = l;
        up->n_moved = k;
        return 0;
}

/* The old instance's stdout/stderr, if they still are the pipes the daemon reads. */
static void take_output(struct service *s, struct upgrade *up) {
        for (int i = 0; i < 2; i++) {
                struct stat ours, theirs;
                int fd;

                up->out_fd[i] = -EBADF;
                if (s->out[i].fd < 0 || pv_process_getfd(&s->proc, 1 + i, &fd, NULL) < 0)
                        continue;
                if (fstat(s->out[i].fd, &ours) == 0 && fstat(fd, &theirs) == 0 &&
                    S_ISFIFO(theirs.st_mode) && ours.st_ino == theirs.st_ino && ours.st_dev == theirs.st_dev)
                        up->out_fd[i] = fd;
                else
                        safe_close(fd);
        }
}

void upgrade_share_output(struct service *s, struct pv_stdio stdio[3]) {
        struct upgrade *up = s->up;

        for (int i = 0; up && i < 2; i++)
                if (up->out_fd[i] >= 0 && stdio[1 + i].kind == PV_STDIO_PIPE)
                        stdio[1 + i] = (struct pv_stdio){ .kind = PV_STDIO_FD, .fd = up->out_fd[i] };
}

static int watch_old(struct service *s, struct upgrade *up) {
        loop_event_init(&up->old_ev, on_old_exit, s);
        if (up->old_not_child)
                return loop_poll(s->m->loop, &up->old_ev, up->old.pidfd, POLLIN);
        return loop_child(s->m->loop, &up->old_ev, up->old.pidfd);
}

/* The old instance is the main process again: its watch goes back to the service. */
static void rewatch_old_as_main(struct service *s, struct upgrade *up) {
        if (loop_event_armed(&up->old_ev)) {
                loop_event_move(s->m->loop, &up->old_ev, &s->child_ev);
                service_watch_handler(s);
        } else
                service_watch_main(s);
}

static json_t *listener_names(const struct service *s, const struct upgrade *up) {
        json_t *a = json_array();
        char buf[256];

        if (up->mode == HOT_RESTART_SOCKET) {
                for (size_t i = 0; s->cfg && i < s->cfg->n_listen; i++)
                        json_array_append_new(a, json_string(socket_address_format(&s->cfg->listen[i].addr, buf, sizeof(buf))));
        } else
                for (size_t i = 0; i < up->n_moved; i++)
                        json_array_append_new(a, json_string(pv_sockaddr_format((const struct sockaddr *)&up->moved[i].addr,
                                                                                up->moved[i].addr_len, buf, sizeof(buf))));
        return a;
}

/* Answers the request (once) and, when the old instance is gone, frees everything. */
static void reply(struct service *s, bool ok) {
        struct upgrade *up = s->up;
        usec_t now = now_usec(CLOCK_MONOTONIC);
        json_t *result;

        if (!up->conn)
                return;
        if (ok) {
                result = json_pack("{s:s, s:i, s:i, s:s, s:o, s:I, s:I, s:I, s:I}", "name", s->name, "old_pid",
                                   (int)up->old.pid, "new_pid", (int)s->proc.pid, "mode",
                                   hot_restart_to_string((enum hot_restart)up->mode), "listeners",
                                   listener_names(s, up), "ready_usec", (json_int_t)(up->t_ready - up->t_begin),
                                   "drain_usec", (json_int_t)(now - up->t_drain), "total_usec",
                                   (json_int_t)(now - up->t_begin), "manager_usec", (json_int_t)up->manager_usec);
                control_reply(up->conn, up->id, true, result, NULL);
        } else
                control_reply(up->conn, up->id, false, NULL, up->error);
        conn_job_done(up->conn);
        up->conn = NULL;
}

void upgrade_restore_watches(struct service *s, usec_t timer, usec_t check, usec_t keep) {
        struct upgrade *up = s->up;

        if (keep) {
                s->keep_ev.handler = on_keep;
                loop_timer(s->m->loop, &s->keep_ev, keep);
        }
        if (!up)
                return;
        if (up->old.pidfd >= 0 && watch_old(s, up) < 0)
                log_warning("%s: cannot watch the old instance (pid %d) any more", s->name, (int)up->old.pid);
        if (timer) {
                up->timer_ev.handler = on_upgrade_timer;
                loop_timer(s->m->loop, &up->timer_ev, timer);
        }
        if (check) {
                up->check_ev.handler = on_ready_check;
                loop_timer(s->m->loop, &up->check_ev, check);
        }
}

void upgrade_free(struct service *s) {
        struct upgrade *up = s->up;

        if (!up)
                return;
        if (up->conn) {
                if (!up->error[0])
                        snprintf(up->error, sizeof(up->error), "the upgrade was abandoned");
                reply(s, false);
        }
        loop_disarm(s->m->loop, &up->timer_ev);
        loop_disarm(s->m->loop, &up->check_ev);
        if (up->old.pidfd >= 0 && s->m->loop && (s->removed || s->m->shutting_down)) {
                /* Freed while the old instance still runs (the unit removed, the daemon
                 * going away): it is not left unsupervised.  (Other frees, such as a state
                 * read that failed, must not touch the processes.) */
                kill_session(s, up->old_session, SIGKILL);
                pv_process_signal(&up->old, SIGKILL, NULL);
                service_adopt_former(s, &up->old, &up->old_ev);
        }
        loop_disarm(s->m->loop, &up->old_ev);
        pv_process_release(&up->old);
        if (up->ic) {
                /* The successor's later binds continue as they are; the shared sockets get
                 * the blocking mode it asked for, now that the old instance is gone. */
                intercept_restore_flags(up->ic);
                intercept_offer(up->ic, NULL, 0);
        }
        /* KeepListeners=: the taken copies stay for the next crash-restart. */
        if (s->cfg && s->cfg->keep_listeners && up->n_moved > 0) {
                pv_listeners_free(s->kept, s->n_kept);
                s->kept = up->moved;
                s->n_kept = up->n_moved;
        } else
                pv_listeners_free(up->moved, up->n_moved);
        for (int i = 0; i < 2; i++)
                safe_close(up->out_fd[i]);
        json_decref(up->id);
        free(up);
        s->up = NULL;
        recover_mark(s);
}

/* Signals the processes of a session: the old instance's (its main process leads it),
 * found in the service's cgroup (re-checked through each pidfd), else its process group. */
static void kill_session(struct service *s, pid_t sid, int sig) {
        char line[64];
        FILE *f;
        int fd;

        if (sid <= 0) /* kill(-0) would be our own process group */
                return;

        if (s->cgroup_fd < 0) {
                if (kill(-sid, sig) < 0 && errno != ESRCH)
                        log_warning("%s: kill(-%d): %s", s->name, (int)sid, strerror(errno));
                return;
        }
        fd = openat(s->cgroup_fd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
        f = fd >= 0 ? fdopen(fd, "re") : NULL;
        if (!f) {
                safe_close(fd);
                return;
        }
        while (fgets(line, sizeof(line), f)) {
                pid_t pid = (pid_t)atoi(line);
                struct proc_stat st;
                struct pv_process p;

                if (pid <= 0 || pv_process_open(pid, &p, NULL) < 0)
                        continue;
                if (proc_stat_read(pid, &st) == 0 && st.session == sid)
                        pv_process_signal(&p, sig, NULL);
                pv_process_release(&p);
        }
        fclose(f);
}

int upgrade_begin(struct service *s, struct conn *c, json_t *id, char *why, size_t why_size) {
        ACCOUNT_BEGIN;
        struct upgrade *up;
        const struct unit_config *c_old = s->cfg;
        int drain_signal, r;
        usec_t drain_timeout;
        char t[64];

        if (s->up) {
                snprintf(why, why_size, "an upgrade of %s is under way already (%s pid %d)", s->name,
                         s->up->phase == UPGRADE_STARTING ? "starting successor" : "draining old instance",
                         s->up->phase == UPGRADE_STARTING ? (int)s->proc.pid : (int)s->up->old.pid);
                return -EBUSY;
        }
        if (!s->cfg || s->state != SERVICE_RUNNING || s->proc_is_pre || s->proc.pidfd < 0) {
                snprintf(why, why_size, "%s is not running (%s): nothing to upgrade; use start", s->name,
                         service_state_to_string(s->state));
                return -ESRCH;
        }
        drain_signal = c_old->drain_signal ? c_old->drain_signal : c_old->kill_signal;
        drain_timeout = c_old->drain_timeout;
        /* The successor runs what the unit file says now. */
        r = service_apply_pending_config(s, why, why_size);
        if (r < 0)
                return r;
        if (s->cfg->hot_restart == HOT_RESTART_NO) {
                snprintf(why, why_size,
                         "%s has no listeners to keep (HotRestart=no): give it a [Socket] section, or set "
                         "[X-Pidvisor] HotRestart=takeover (it reads LISTEN_FDS) or transparent (it does not)",
                         s->name);
                return -EOPNOTSUPP;
        }
        up = calloc(1, sizeof(*up));
        if (!up) {
                snprintf(why, why_size, "out of memory");
                return -ENOMEM;
        }
        up->s = s;
        up->mode = s->cfg->hot_restart;
        up->t_begin = account_t0;
        up->drain_signal = drain_signal;
        up->drain_timeout = drain_timeout;
        up->out_fd[0] = up->out_fd[1] = -EBADF;
        up->old = PV_PROCESS_NULL;
        loop_event_init(&up->timer_ev, on_upgrade_timer, s);
        loop_event_init(&up->check_ev, on_ready_check, s);
        loop_event_init(&up->old_ev, on_old_exit, s);
        if (up->mode == HOT_RESTART_SOCKET && s->n_listen_fds == 0) {
                snprintf(why, why_size, "%s's [Socket] listeners are not bound", s->name);
                free(up);
                return -ENOENT;
        }
        if (up->mode == HOT_RESTART_TAKEOVER || up->mode == HOT_RESTART_TRANSPARENT) {
                /* Taken before anything is signalled: the old instance still holds them. */
                r = take_listeners(s, up, why, why_size);
                if (r < 0) {
                        free(up);
                        return r;
                }
        }
        take_output(s, up);

        /* The old instance steps aside: s->proc becomes the successor.  Its watch is
         * handed over, not re-armed, so an exit already reaped is not lost. */
        up->old = s->proc;
        up->old_not_child = s->proc_not_child;
        up->old_session = s->session;
        loop_event_init(&up->old_ev, on_old_exit, s);
        if (loop_event_armed(&s->child_ev))
                loop_event_move(s->m->loop, &s->child_ev, &up->old_ev);
        else if (watch_old(s, up) < 0)
                log_warning("%s: cannot watch the old instance (pid %d) any more", s->name, (int)up->old.pid);
        s->proc = PV_PROCESS_NULL;
        s->up = up;
        up->conn = c;
        up->id = json_incref(id);
        c->pending++;

        /* The watchdog follows the successor once it is ready (the old instance's
         * WATCHDOG=1 no longer counts under NotifyAccess=main). */
        loop_disarm(s->m->loop, &s->watchdog_ev);
        r = service_spawn_successor(s, why, why_size);
        for (int i = 0; i < 2; i++)
                up->out_fd[i] = safe_close(up->out_fd[i]);
        if (r < 0) {
                /* Nothing happened to the old instance: it is the main process again. */
                s->proc = up->old;
                s->proc_not_child = up->old_not_child;
                s->session = up->old_session;
                up->old = PV_PROCESS_NULL;
                rewatch_old_as_main(s, up);
                c->pending--;
                up->conn = NULL;
                upgrade_free(s);
                return r;
        }
        up->t_spawned = now_usec(CLOCK_MONOTONIC);
        log_info("%s: upgrade (HotRestart=%s): successor pid %d started, pid %d serving", s->name,
                 hot_restart_to_string((enum hot_restart)up->mode), (int)s->proc.pid, (int)up->old.pid);
        if (s->cfg->upgrade_timeout != USEC_INFINITY)
                loop_timer(s->m->loop, &up->timer_ev, up->t_spawned + s->cfg->upgrade_timeout);
        /* Transparent: the alive check starts when its last bind has been answered. */
        if (!upgrade_awaits_ready(s) && up->mode != HOT_RESTART_TRANSPARENT)
                loop_timer(s->m->loop, &up->check_ev, up->t_spawned + s->cfg->ready_delay);
        service_set_state(s, SERVICE_RUNNING, "upgrading: successor pid %d starting (ready within %s), pid %d serving",
                          (int)s->proc.pid, format_timespan(t, sizeof(t), s->cfg->upgrade_timeout),
                          (int)up->old.pid);
        ACCOUNT_END(up);
        return 0;
}

void upgrade_adopt_old(struct service *s, struct pv_process *old, int phase, usec_t t_drain, usec_t drain_timeout,
                       int drain_signal) {
        struct upgrade *up = calloc(1, sizeof(*up));
        char sig[32];

        if (!up || s->up) {
                free(up);
                log_error("%s: cannot take the old instance pid %d back", s->name, (int)old->pid);
                return;
        }
        up->s = s;
        up->mode = s->cfg->hot_restart;
        up->old = *old;
        *old = PV_PROCESS_NULL;
        up->old.pidfd = fd_move_above(up->old.pidfd, DAEMON_FD_HIGH);
        up->old_not_child = true;
        up->out_fd[0] = up->out_fd[1] = -EBADF;
        up->drain_signal = drain_signal;
        up->drain_timeout = drain_timeout;
        up->t_begin = up->t_drain = t_drain;
        up->phase = phase == UPGRADE_DRAINING ? UPGRADE_DRAINING : UPGRADE_STARTING;
        loop_event_init(&up->timer_ev, on_upgrade_timer, s);
        loop_event_init(&up->check_ev, on_ready_check, s);
        loop_event_init(&up->old_ev, on_old_exit, s);
        s->up = up;
        if (watch_old(s, up) < 0)
                log_warning("%s: cannot watch the old instance (pid %d)", s->name, (int)up->old.pid);
        if (up->phase == UPGRADE_DRAINING) {
                log_info("%s: old instance pid %d still draining (%s sent before the crash)", s->name, (int)up->old.pid,
                         pv_signal_name(drain_signal, sig, sizeof(sig)));
                if (drain_timeout != USEC_INFINITY)
                        loop_timer(s->m->loop, &up->timer_ev, t_drain + drain_timeout);
                return;
        }
        /* Nobody knows whether the successor got ready: it goes, the old instance serves
         * on (its exit comes through upgrade_successor_exited(), which rolls back). */
        snprintf(up->error, sizeof(up->error), "the daemon restarted during the upgrade");
        log_notice("%s: the upgrade was under way when the daemon died: successor pid %d killed, pid %d serves on",
                   s->name, (int)s->proc.pid, (int)up->old.pid);
        kill_session(s, s->session, SIGKILL);
        pv_process_signal(&s->proc, SIGKILL, NULL);
}

bool upgrade_awaits_ready(const struct service *s) {
        const struct unit_config *c = s->cfg;

        return s->up && s->up->phase == UPGRADE_STARTING &&
               (c->type == SERVICE_NOTIFY || c->notification_fd >= 3);
}

void upgrade_successor_ready(struct service *s) {
        ACCOUNT_BEGIN;
        struct upgrade *up = s->up;
        char t[64], sig[32];

        if (!up || up->phase != UPGRADE_STARTING)
                return;
        loop_disarm(s->m->loop, &up->timer_ev);
        loop_disarm(s->m->loop, &up->check_ev);
        up->phase = UPGRADE_DRAINING;
        up->t_ready = up->t_drain = now_usec(CLOCK_MONOTONIC);
        if (up->old.pidfd < 0) { /* it is gone already */
                service_set_state(s, SERVICE_RUNNING, "pid %d (upgraded)", (int)s->proc.pid);
                reply(s, true);
                upgrade_free(s);
                return;
        }
        service_watchdog_rearm(s);
        log_info("%s: successor pid %d ready; draining pid %d with %s", s->name, (int)s->proc.pid,
                 (int)up->old.pid, pv_signal_name(up->drain_signal, sig, sizeof(sig)));
        pv_process_signal(&up->old, up->drain_signal, NULL);
        if (up->drain_timeout != USEC_INFINITY)
                loop_timer(s->m->loop, &up->timer_ev, up->t_drain + up->drain_timeout);
        service_set_state(s, SERVICE_RUNNING, "pid %d (upgraded; pid %d draining, SIGKILL in %s)", (int)s->proc.pid,
                          (int)up->old.pid,
                          up->drain_timeout == USEC_INFINITY ? "never"
                                                             : format_timespan(t, sizeof(t), up->drain_timeout));
        ACCOUNT_END(up);
}

/* The successor's start was given up: it is killed (its session), the old one serves. */
static void give_up(struct service *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void give_up(struct service *s, const char *fmt, ...) {
        struct upgrade *up = s->up;
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(up->error, sizeof(up->error), fmt, ap);
        va_end(ap);
        log_warning("%s: upgrade failed: %s", s->name, up->error);
        loop_disarm(s->m->loop, &up->timer_ev);
        loop_disarm(s->m->loop, &up->check_ev);
}

static void on_upgrade_timer(struct loop_event *ev, int res) {
        struct service *s = ev->data;
        struct upgrade *up = s->up;
        char t[64];

        if (res < 0 || !up)
                return;
        if (up->phase == UPGRADE_STARTING) {
                give_up(s, "successor pid %d not ready within %s (UpgradeTimeoutSec=); killed, pid %d keeps serving",
                        (int)s->proc.pid, format_timespan(t, sizeof(t), s->cfg->upgrade_timeout), (int)up->old.pid);
                /* Its exit comes through upgrade_successor_exited(), which rolls back. */
                kill_session(s, s->session, SIGKILL);
                pv_process_signal(&s->proc, SIGKILL, NULL);
                return;
        }
        log_warning("%s: old instance pid %d still there after DrainTimeoutSec=%s: SIGKILL", s->name,
                    (int)up->old.pid, format_timespan(t, sizeof(t), up->drain_timeout));
        kill_session(s, up->old_session, SIGKILL);
        pv_process_signal(&up->old, SIGKILL, NULL);
}

static void on_ready_check(struct loop_event *ev, int res) {
        struct service *s = ev->data;

        if (res < 0 || !s->up || s->up->phase != UPGRADE_STARTING)
                return;
        /* Alive ReadyCheck= later: it did not die of the takeover. */
        if (pv_process_signal(&s->proc, 0, NULL) == 0)
                upgrade_successor_ready(s);
}

bool upgrade_successor_exited(struct service *s, const char *cause) {
        struct upgrade *up = s->up;

        if (!up)
                return false;
        if (up->phase == UPGRADE_STARTING && up->old.pidfd >= 0) {
                ACCOUNT_BEGIN;
                pid_t succ = s->proc.pid;
                if (!up->error[0])
                        give_up(s, "successor pid %d %s before it was ready; pid %d keeps serving", (int)succ,
                                cause, (int)up->old.pid);
                kill_session(s, s->session, SIGKILL); /* what it left behind */
                pv_process_release(&s->proc);
                s->proc = up->old;
                s->proc_not_child = up->old_not_child;
                s->session = up->old_session;
                up->old = PV_PROCESS_NULL;
                rewatch_old_as_main(s, up);
                service_watchdog_rearm(s);
                ACCOUNT_END(up);
                reply(s, false);
                upgrade_free(s);
                service_set_state(s, SERVICE_RUNNING, "pid %d (upgrade failed: successor %s)", (int)s->proc.pid, cause);
                return true;
        }
        /* Too late to go back: the old instance is draining (or gone).  The service
         * crashed, and Restart= decides; the drain goes on. */
        snprintf(up->error, sizeof(up->error), "successor pid %d %s%s", (int)s->proc.pid, cause,
                 up->phase == UPGRADE_DRAINING ? " while the old instance was draining" : " and the old instance is gone");
        reply(s, false);
        if (up->old.pidfd < 0)
                upgrade_free(s);
        return false;
}

static void on_old_exit(struct loop_event *ev, int res) {
        struct service *s = ev->data;
        struct upgrade *up = s->up;
        struct pv_exit ex = { .pid = up->old.pid };
        char cause[160] = "exited (status unknown: not a child of pidvisor)";

        if (!up->old_not_child && res == 0) { /* reaped by the loop's child watch */
                const siginfo_t *si = loop_child_info(s->m->loop);
                ex.signaled = si->si_code != CLD_EXITED;
                ex.status = ex.signaled ? 0 : si->si_status;
                ex.signal = ex.signaled ? si->si_status : 0;
                ex.core_dumped = si->si_code == CLD_DUMPED;
                pv_exit_describe(&ex, cause, sizeof(cause));
        } else if (!up->old_not_child && pv_process_wait(&up->old, PV_WAIT_NOHANG, &ex, NULL) == 0)
                pv_exit_describe(&ex, cause, sizeof(cause));
        log_info("%s: old instance pid %d %s%s", s->name, (int)up->old.pid, cause,
                 up->phase == UPGRADE_STARTING ? " before its successor was ready" : "");
        pv_process_release(&up->old);
        if (up->phase == UPGRADE_STARTING)
                return; /* the successor is all there is now; its readiness ends the upgrade */
        /* Leftovers of its session (workers that ignored the drain) go with it. */
        kill_session(s, up->old_session, SIGKILL);
        if (s->state == SERVICE_RUNNING && s->proc.pidfd >= 0 && !up->error[0])
                service_set_state(s, SERVICE_RUNNING, "pid %d (upgraded from pid %d)", (int)s->proc.pid, (int)ex.pid);
        reply(s, !up->error[0]);
        upgrade_free(s);
}

void upgrade_abort(struct service *s, const char *why) {
        struct upgrade *up = s->up;

        if (!up)
                return;
        if (!up->error[0])
                snprintf(up->error, sizeof(up->error), "%s", why);
        reply(s, false);
        loop_disarm(s->m->loop, &up->check_ev);
        if (up->old.pidfd < 0) {
                upgrade_free(s);
                return;
        }
        /* The old instance goes with the service: stopped as a stop would, SIGKILL after
         * the drain timeout; its exit ends the upgrade. */
        up->phase = UPGRADE_DRAINING;
        kill_session(s, up->old_session, s->cfg ? s->cfg->kill_signal : SIGTERM);
        pv_process_signal(&up->old, s->cfg ? s->cfg->kill_signal : SIGTERM, NULL);
        loop_disarm(s->m->loop, &up->timer_ev);
        up->t_drain = now_usec(CLOCK_MONOTONIC);
        up->drain_timeout = s->m->shutting_down ? 0 : s->cfg ? s->cfg->timeout_stop : 90 * USEC_PER_SEC;
        if (up->drain_timeout != USEC_INFINITY)
                loop_timer(s->m->loop, &up->timer_ev, up->t_drain + up->drain_timeout + 1);
}

void upgrade_drop_conn(struct service *s, struct conn *c) {
        if (s->up && s->up->conn == c) {
                s->up->conn = NULL;
                json_decref(s->up->id);
                s->up->id = NULL;
        }
}

json_t *upgrade_json(const struct service *s) {
        const struct upgrade *up = s->up;

        if (!up)
                return json_null();
        return json_pack("{s:s, s:s, s:i}", "phase", up->phase == UPGRADE_STARTING ? "starting" : "draining",
                         "mode", hot_restart_to_string((enum hot_restart)up->mode), "old_pid", (int)up->old.pid);
}

/* --- KeepListeners= ------------------------------------------------------------------ */

static void on_keep(struct loop_event *ev, int res) {
        struct service *s = ev->data;
        struct upgrade tmp = { 0 };
        char why[512];

        if (res < 0 || s->state != SERVICE_RUNNING || s->up || s->proc.pidfd < 0)
                return;
        if (take_listeners(s, &tmp, why, sizeof(why)) < 0) {
                log_notice("%s: KeepListeners=: %s", s->name, why);
                return;
        }
        pv_listeners_free(s->kept, s->n_kept);
        s->kept = tmp.moved;
        s->n_kept = tmp.n_moved;
        log_debug("%s: KeepListeners=: holding %zu listeners of pid %d", s->name, s->n_kept, (int)s->proc.pid);
}

void upgrade_keep_listeners_later(struct service *s) {
        const struct unit_config *c = s->cfg;

        if (!c || !c->keep_listeners || (c->hot_restart != HOT_RESTART_TAKEOVER && c->hot_restart != HOT_RESTART_TRANSPARENT) || s->up)
                return;
        loop_disarm(s->m->loop, &s->keep_ev);
        s->keep_ev.handler = on_keep;
        loop_timer(s->m->loop, &s->keep_ev, now_usec(CLOCK_MONOTONIC) + c->ready_delay);
}

const struct pv_listener *upgrade_passed_listeners(const struct service *s, size_t *n) {
        const struct unit_config *c = s->cfg;

        *n = 0;
        if (!c || c->hot_restart != HOT_RESTART_TAKEOVER)
                return NULL;
        if (s->up && s->up->n_moved) {
                *n = s->up->n_moved;
                return s->up->moved;
        }
        *n = s->n_kept;
        return s->kept;
}

/* --- transparent ------------------------------------------------------------------------ */

bool upgrade_wants_binds(const struct service *s) {
        const struct unit_config *c = s->cfg;

        if (s->up)
                return s->up->mode == HOT_RESTART_TRANSPARENT && s->up->phase == UPGRADE_STARTING && s->up->n_moved;
        /* KeepListeners=: a crash-restart of a transparent service gets the kept ones. */
        return c && c->hot_restart == HOT_RESTART_TRANSPARENT && s->n_kept > 0;
}

void upgrade_intercept_started(struct service *s, struct intercept *ic) {
        if (s->up) {
                s->up->ic = ic;
                intercept_offer(ic, s->up->moved, s->up->n_moved);
        } else
                intercept_offer(ic, s->kept, s->n_kept);
}

void upgrade_bind_answered(struct service *s, struct intercept *ic) {
        struct upgrade *up = s->up;

        if (!up || up->ic != ic || up->phase != UPGRADE_STARTING || ic->n_installed < ic->n_offer)
                return;
        /* Every listener is in the successor's hands: alive ReadyCheck= later, ready. */
        log_debug("%s: successor pid %d bound all %zu listeners", s->name, (int)s->proc.pid, ic->n_offer);
        if (!upgrade_awaits_ready(s)) {
                loop_disarm(s->m->loop, &up->check_ev);
                loop_timer(s->m->loop, &up->check_ev, now_usec(CLOCK_MONOTONIC) + s->cfg->ready_delay);
        }
}
