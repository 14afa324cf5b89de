/* SPDX-License-Identifier: MIT */
/* One service's life: start (ExecStartPre=, then ExecStart=), watch, restart with
 * backoff, stop with a timeout, keep its crash history.
 *
 *   inactive --start--> starting --pre ok--> running --exit--> auto-restart --timer--> ...
 *                           |                  |  \--stop--> stopping --exit--> inactive
 *                           \--pre failed------+--exit, no restart--> failed | inactive
 *   auto-restart --start limit hit--> failed --FailedCooldownSec=--> (start again)
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/strv.h"
#include "lib/util.h"
#include "log.h"
#include "manager.h"
#include "listen.h"
#include "logfile.h"
#include "notify.h"
#include "proc.h"
#include "recover.h"
#include "serialize.h"
#include "upgrade.h"
#include "intercept.h"

#include <linux/seccomp.h>

/* What a fresh service environment holds before Environment=, as systemd gives it. */
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const char *const state_names[_SERVICE_STATE_MAX] = {
        [SERVICE_INACTIVE] = "inactive",         [SERVICE_STARTING] = "starting",
        [SERVICE_RUNNING] = "running",           [SERVICE_STOPPING] = "stopping",
        [SERVICE_AUTO_RESTART] = "auto-restart", [SERVICE_FAILED] = "failed",
};

const char *service_state_to_string(enum service_state st) {
        return st < _SERVICE_STATE_MAX ? state_names[st] : "?";
}

bool service_is_active(const struct service *s) {
        return s->proc.pidfd >= 0;
}

bool service_is_tracked_pid(const struct service *s, pid_t pid) {
        return s->proc.pidfd >= 0 && s->proc.pid == pid;
}

static void service_schedule(struct service *s, usec_t delay);
static void service_set_main_pid(struct service *s, pid_t pid);
static void main_started(struct service *s);
static void on_foreign_exit(struct loop_event *ev, int res);
static void on_former_exit(struct loop_event *ev, int res);
static void service_spawn_next(struct service *s);
static void service_enter_running(struct service *s);
static void service_enter_dead(struct service *s, const char *cause, enum exit_cause ec,
                               bool signaled, int code);

struct service *service_new(struct manager *m, const char *name) {
        struct service *s = calloc(1, sizeof(*s));

        if (!s)
                return NULL;
        s->name = strdup(name);
        if (!s->name) {
                free(s);
                return NULL;
        }
        s->m = m;
        s->proc = PV_PROCESS_NULL;
        s->former = PV_PROCESS_NULL;
        loop_event_init(&s->former_ev, NULL, s);
        loop_event_init(&s->keep_ev, NULL, s);
        for (int i = 0; i < 2; i++)
                s->out[i] = (struct outpipe){ .s = s, .fd = -EBADF };
        s->cgroup_fd = -EBADF;
        s->state_since = now_usec(CLOCK_REALTIME);
        loop_event_init(&s->child_ev, NULL, s);
        loop_event_init(&s->timer_ev, NULL, s);
        loop_event_init(&s->reset_ev, NULL, s);
        loop_event_init(&s->watchdog_ev, NULL, s);
        loop_event_init(&s->ready_ev, NULL, s);
        s->ready_fd = -EBADF;
        s->status_errno = -1;
        for (int i = 0; i < 2; i++)
                loop_event_init(&s->out[i].ev, NULL, &s->out[i]);
        return s;
}

static void history_entry_clear(struct exit_record *e) {
        strv_free(e->stderr_tail);
        free(e->cause);
        e->stderr_tail = NULL;
        e->cause = NULL;
        e->n_stderr = 0;
}

static void tail_clear(struct service *s) {
        for (size_t i = 0; i < STDERR_TAIL_MAX; i++) {
                free(s->tail[i]);
                s->tail[i] = NULL;
        }
        s->tail_next = s->tail_n = 0;
}

static void pipe_close(struct outpipe *o) {
        loop_disarm(o->s->m->loop, &o->ev);
        o->fd = safe_close(o->fd);
        o->partial_len = 0;
        free(o->partial);
        o->partial = NULL;
}

void service_free(struct service *s) {
        struct loop *l;

        if (!s)
                return;
        l = s->m->loop;
        upgrade_free(s);
        intercept_free_all(s);
        free(s->seccomp_kill);
        loop_disarm(l, &s->keep_ev);
        pv_listeners_free(s->kept, s->n_kept);
        loop_disarm(l, &s->timer_ev);
        loop_disarm(l, &s->reset_ev);
        loop_disarm(l, &s->watchdog_ev);
        loop_disarm(l, &s->ready_ev);
        safe_close(s->ready_fd);
        free(s->status_text);
        /* Only at teardown: the child stays unreaped for whoever comes next (re-exec). */
        loop_disarm(l, &s->child_ev);
        loop_disarm(l, &s->former_ev);
        pv_process_release(&s->former);
        for (int i = 0; i < 2; i++)
                pipe_close(&s->out[i]);
        logfile_close(s->log);
        pv_process_release(&s->proc);
        safe_close(s->cgroup_fd);
        service_sockets_close(s);
        service_fdstore_release(s);
        while (s->waiters) {
                struct waiter *w = s->waiters;
                s->waiters = w->next;
                json_decref(w->id);
                free(w);
        }
        for (size_t i = 0; s->history && i < HISTORY_MAX; i++)
                history_entry_clear(&s->history[i]);
        free(s->history);
        tail_clear(s);
        start_limit_done(&s->start_limit);
        unit_config_free(s->cfg);
        unit_config_free(s->next_cfg);
        free(s->load_error);
        free(s->name);
        free(s);
}

/* --- events and waiters ------------------------------------------------------------ */

static json_t *event_json(const struct service *s) {
        json_t *e = service_to_json(s, false);
        json_object_set_new(e, "event", json_string("state"));
        json_object_set_new(e, "time", json_integer((json_int_t)now_usec(CLOCK_REALTIME)));
        return e;
}

static void waiters_notify(struct service *s) {
        struct waiter **p = &s->waiters;

        while (*p) {
                struct waiter *w = *p;
                bool done = false, ok = false;
                const char *error = NULL;

                if (w->kind == WAIT_START) {
                        /* Stopping is a step of a restart, not its end. */
                        done = s->state != SERVICE_STARTING && s->state != SERVICE_STOPPING;
                        ok = s->state == SERVICE_RUNNING;
                        if (done && !ok)
                                error = s->reason;
                } else {
                        done = !service_is_active(s) && s->state != SERVICE_STOPPING;
                        ok = true;
                }
                if (!done) {
                        p = &w->next;
                        continue;
                }
                *p = w->next;
                control_reply(w->conn, w->id, ok, ok ? service_to_json(s, false) : NULL, error);
                conn_job_done(w->conn);
                json_decref(w->id);
                free(w);
        }
}

void service_add_waiter(struct service *s, struct conn *c, json_t *id, int kind) {
        struct waiter *w = calloc(1, sizeof(*w));

        if (!w) {
                control_reply(c, id, false, NULL, "out of memory");
                return;
        }
        w->conn = c;
        w->id = json_incref(id);
        w->kind = kind;
        w->next = s->waiters;
        s->waiters = w;
        c->pending++;
        waiters_notify(s); /* it may be done already */
}

void service_drop_waiters_of(struct service *s, struct conn *c) {
        struct waiter **p = &s->waiters;

        while (*p) {
                struct waiter *w = *p;
                if (w->conn != c) {
                        p = &w->next;
                        continue;
                }
                *p = w->next;
                json_decref(w->id);
                free(w);
        }
        upgrade_drop_conn(s, c);
}

void service_set_state(struct service *s, enum service_state st, const char *fmt, ...) {
        char full[1024];
        size_t n;
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(full, sizeof(full), fmt, ap);
        va_end(ap);
        /* Cut where a UTF-8 sequence begins, never in its middle. */
        n = utf8_prefix(full, strlen(full), sizeof(s->reason) - 1);
        memcpy(s->reason, full, n);
        s->reason[n] = 0;
        if (st != s->state)
                s->state_since = now_usec(CLOCK_REALTIME);
        s->state = st;
        recover_mark(s);
        log_info("%s: %s%s%s", s->name, service_state_to_string(st), s->reason[0] ? ": " : "",
                 s->reason);
        if (control_has_subscribers(s->m)) /* no JSON built for nobody */
                control_broadcast_event(s->m, event_json(s));
        waiters_notify(s);
        if (s->removed && !service_is_active(s))
                manager_schedule_collect(s->m);
        /* The fd store lives while the service does, restarts included (a failed unit
         * with a cooldown timer will start again too). */
        if ((st == SERVICE_INACTIVE || st == SERVICE_FAILED) && !loop_event_armed(&s->timer_ev)) {
                service_fdstore_release(s);
                /* KeepListeners= copies too: a stopped service must not keep its port. */
                loop_disarm(s->m->loop, &s->keep_ev);
                if (!s->up) {
                        pv_listeners_free(s->kept, s->n_kept);
                        s->kept = NULL;
                        s->n_kept = 0;
                }
        }
        if (st == SERVICE_INACTIVE || st == SERVICE_FAILED || st == SERVICE_AUTO_RESTART)
                deps_went_down(s);
        deps_dispatch(s->m);
        manager_check_shutdown(s->m);
}

/* A line is buffered up to what fits one log record. */
#define PIPE_LINE_MAX LOGFILE_LINE_MAX
/* One read() of an output pipe takes up to this much, into a buffer that is one for all
 * pipes (the loop has one thread); a wakeup reads at most PIPE_READS times. */
#define PIPE_READ_MAX (256 * 1024)
#define PIPE_READS 2

/* --- output: to the log file, else the daemon's log; stderr's last lines kept -------- */

/* One warning per problem with the log file, not one per line: r is what writing
 * answered, dropped_before the drop count before it.  A negative answer with nothing
 * dropped is a failed rotation: the records were written.  Dropped records went to the
 * daemon's log (copy_dropped), and the file gets a notice of the gap once writing works
 * again. */
static void log_result(struct service *s, int r, uint64_t dropped_before) {
        if (r >= 0) {
                s->log_warned = false; /* the next problem is news again */
                return;
        }
        if (s->log_warned)
                return;
        if (logfile_dropped(s->log) == dropped_before)
                log_warning("%s: rotating %s failed: %s; writing on", s->name, logfile_path(s->log), strerror(-r));
        else
                log_warning("%s: cannot write %s (%s); its output goes to this log until it can", s->name,
                            logfile_path(s->log), strerror(-r));
        s->log_warned = true;
}

/* The log file's drop hook: a record that could not be written goes to the daemon's log. */
static void copy_dropped(void *data, const char *record, size_t len) {
        struct service *s = data;
        char prefix[300];

        snprintf(prefix, sizeof(prefix), "%s[%d]: ", s->name, (int)s->proc.pid);
        log_raw_line(prefix, record, len);
}

static void tail_add(struct service *s, const char *line, size_t len) {
        if (len > STDERR_LINE_MAX)
                len = STDERR_LINE_MAX;
        free(s->tail[s->tail_next]);
        s->tail[s->tail_next] = strndup(line, len);
        s->tail_next = (s->tail_next + 1) % STDERR_TAIL_MAX;
        if (s->tail_n < STDERR_TAIL_MAX)
                s->tail_n++;
}

/* A line (or, with partial, the first piece of a line too long for one record) that a
 * service wrote, read at `now`: to its log file, else to the daemon's log; stderr's lines
 * also to the ring of last lines kept for the crash history. */
static void emit_line(struct outpipe *o, const char *line, size_t len, bool partial, usec_t now) {
        struct service *s = o->s;
        bool is_stderr = o == &s->out[1];

        if (s->log) {
                uint64_t dropped = logfile_dropped(s->log);
                const char *stream = is_stderr ? "stderr" : "stdout";
                log_result(s, partial ? logfile_write_partial(s->log, now, stream, line, len)
                                      : logfile_write(s->log, now, stream, line, len),
                           dropped);
        } else {
                char prefix[300];
                snprintf(prefix, sizeof(prefix), "%s[%d]: ", s->name, (int)s->proc.pid);
                log_raw_line(prefix, line, len);
        }
        if (is_stderr && !partial)
                tail_add(s, line, len);
}

/* Where the last n lines of text (len > 0, ending in a newline) start. */
static const char *last_lines(const char *text, size_t len, int n) {
        const char *end = text + len - 1; /* the last line's newline */

        while (n-- > 0) {
                const char *nl = memrchr(text, '\n', (size_t)(end - text));
                if (!nl)
                        return text;
                end = nl;
        }
        return end + 1;
}

/* The complete lines of one read (text ends in a newline), read at `now`: into the log
 * file all at once (one prefix for all, records built straight into the batch). */
static void emit_lines(struct outpipe *o, const char *text, size_t len, usec_t now) {
        struct service *s = o->s;
        bool is_stderr = o == &s->out[1];
        const char *p = text, *end = text + len;

        if (s->log) {
                uint64_t dropped = logfile_dropped(s->log);
                log_result(s, logfile_write_lines(s->log, now, is_stderr ? "stderr" : "stdout", text, len),
                           dropped);
                if (!is_stderr)
                        return;
                /* Only the last lines can stay in the ring. */
                for (p = last_lines(text, len, STDERR_TAIL_MAX); p < end;) {
                        const char *nl = memchr(p, '\n', (size_t)(end - p));
                        tail_add(s, p, (size_t)(nl - p));
                        p = nl + 1;
                }
                return;
        }
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                emit_line(o, p, (size_t)(nl - p), false, now);
                p = nl + 1;
        }
}

/* Adds p[0..end) to the line that goes on in the next read; a line that outgrows a record
 * is written in pieces that say they continue. */
static void partial_add(struct outpipe *o, const char *p, const char *end, usec_t now) {
        size_t len = (size_t)(end - p);

        while (len > 0) {
                size_t take = PIPE_LINE_MAX - o->partial_len;
                if (!o->partial && !(o->partial = malloc(PIPE_LINE_MAX)))
                        return; /* the bytes are lost, the daemon lives on */
                if (take > len)
                        take = len;
                memcpy(o->partial + o->partial_len, p, take);
                o->partial_len += take;
                p += take;
                len -= take;
                if (o->partial_len == PIPE_LINE_MAX) {
                        emit_line(o, o->partial, o->partial_len, true, now);
                        o->partial_len = 0;
                }
        }
}

/* Reads what is there now (a bounded amount, so one chatty service cannot starve the
 * others: what it leaves waits in its pipe, and when the pipe is full the service blocks
 * on its write: backpressure, nothing lost).  Returns false at EOF or on error. */
static bool pipe_drain(struct outpipe *o) {
        static char buf[PIPE_READ_MAX]; /* one for all pipes; untouched until output comes */
        struct logfile *log = o->s->log;
        bool alive = true;

        if (log)
                logfile_begin(log); /* one write() per batch of records, not per line */
        for (int round = 0; round < PIPE_READS; round++) {
                ssize_t n = read(o->fd, buf, sizeof(buf));
                const char *p = buf, *end, *last;
                usec_t now;

                if (n <= 0) {
                        alive = n < 0 && (errno == EAGAIN || errno == EINTR);
                        break;
                }
                /* The lines of one read arrived at one instant: they share its time. */
                now = now_usec(CLOCK_REALTIME);
                end = buf + n;
                if (o->partial_len > 0) {
                        /* The rest of the line that the last read ended in. */
                        const char *nl = memchr(p, '\n', (size_t)(end - p));
                        partial_add(o, p, nl ? nl : end, now);
                        p = nl ? nl + 1 : end;
                        if (nl) {
                                emit_line(o, o->partial ? o->partial : "", o->partial_len, false, now);
                                o->partial_len = 0;
                        }
                }
                last = p < end ? memrchr(p, '\n', (size_t)(end - p)) : NULL;
                if (last) {
                        emit_lines(o, p, (size_t)(last + 1 - p), now);
                        p = last + 1;
                }
                partial_add(o, p, end, now); /* the start of a line that goes on */
                if ((size_t)n < sizeof(buf))
                        break; /* the pipe is empty: no read just to hear EAGAIN */
        }
        if (log) {
                uint64_t dropped = logfile_dropped(log);
                log_result(o->s, logfile_end(log), dropped);
        }
        return alive;
}

static bool has_pending_input(int fd) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        return poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

static void pipe_flush_partial(struct outpipe *o) {
        if (o->partial_len) {
                emit_line(o, o->partial, o->partial_len, false, now_usec(CLOCK_REALTIME));
                o->partial_len = 0;
        }
}

static void on_pipe(struct loop_event *ev, int res) {
        struct outpipe *o = ev->data;

        if (res >= 0 && pipe_drain(o) && loop_poll(o->s->m->loop, &o->ev, o->fd, POLLIN) == 0)
                return;
        pipe_flush_partial(o);
        pipe_close(o);
}

/* --- killing ------------------------------------------------------------------------- */

static void kill_main(struct service *s, int sig) {
        struct pv_error err = { 0 };

        if (s->proc.pidfd >= 0 && pv_process_signal(&s->proc, sig, &err) < 0 && err.code != -ESRCH)
                log_warning("%s: %s", s->name, err.message);
}

static void kill_service(struct service *s, int sig, bool whole) {
        enum kill_mode mode = s->cfg ? s->cfg->kill_mode : KILL_CONTROL_GROUP;

        if (whole && mode != KILL_PROCESS) {
                int r = cgroup_kill_service(s, sig, s->proc.pidfd >= 0 ? s->proc.pid : 0);
                if (r < 0 && r != -ESRCH)
                        log_warning("%s: killing its processes: %s", s->name, strerror(-r));
        }
        kill_main(s, sig);
}

/* --- timers -------------------------------------------------------------------------- */

static void on_timer(struct loop_event *ev, int res);

static void service_schedule(struct service *s, usec_t delay) {
        usec_t deadline = delay == USEC_INFINITY ? USEC_INFINITY : now_usec(CLOCK_MONOTONIC) + delay;

        loop_disarm(s->m->loop, &s->timer_ev);
        if (delay == USEC_INFINITY)
                return;
        s->timer_ev.handler = on_timer;
        s->timer_deadline = deadline;
        if (loop_timer(s->m->loop, &s->timer_ev, deadline) < 0)
                log_error("%s: cannot arm a timer: the next step will not happen on its own", s->name);
}

static void on_reset_timer(struct loop_event *ev, int res) {
        struct service *s = ev->data;

        if (res < 0 || s->state != SERVICE_RUNNING)
                return;
        if (s->backoff_n || s->start_limit.n)
                log_info("%s: ran for RestartResetSec=, backoff and start limit reset", s->name);
        s->backoff_n = 0;
        start_limit_reset(&s->start_limit);
}

/* --- starting ------------------------------------------------------------------------ */

static void on_child(struct loop_event *ev, int res);

/* The environment a command of this service gets. */
static int build_env(struct service *s, const struct pv_user *user, char ***ret, char **error_text) {
        const struct unit_config *c = s->cfg;
        _cleanup_strv_free_ char **env = NULL;
        char *path_assign = "PATH=" DEFAULT_PATH;
        int r;

        env = strv_copy(NULL);
        if (!env || env_assign(&env, path_assign) < 0)
                return -ENOMEM;
        if (user) {
                char *kv[4] = { NULL };
                if (asprintf(&kv[0], "HOME=%s", user->home) < 0 ||
                    asprintf(&kv[1], "USER=%s", user->name) < 0 ||
                    asprintf(&kv[2], "LOGNAME=%s", user->name) < 0 ||
                    asprintf(&kv[3], "SHELL=%s", user->shell) < 0)
                        r = -ENOMEM;
                else
                        r = 0;
                for (int i = 0; i < 4; i++) {
                        if (r == 0 && kv[i])
                                r = env_assign(&env, kv[i]);
                        free(kv[i]);
                }
                if (r < 0)
                        return r;
        }
        if (c->notify_access != NOTIFY_ACCESS_NONE && s->m->notify_path) {
                _cleanup_free_ char *kv = NULL;
                if (asprintf(&kv, "NOTIFY_SOCKET=%s", s->m->notify_path) < 0 || env_assign(&env, kv) < 0)
                        return -ENOMEM;
        }
        if (c->watchdog > 0) {
                _cleanup_free_ char *kv = NULL;
                if (asprintf(&kv, "WATCHDOG_USEC=%llu", (unsigned long long)c->watchdog) < 0 ||
                    env_assign(&env, kv) < 0)
                        return -ENOMEM;
        }
        for (size_t i = 0; c->environment && c->environment[i]; i++)
                if (env_assign(&env, c->environment[i]) < 0)
                        return -ENOMEM;
        /* EnvironmentFile= overrides Environment=, as in systemd. */
        for (size_t i = 0; i < c->n_environment_files; i++) {
                r = env_file_load(c->environment_files[i].path, &env, error_text);
                if (r == -ENOENT && c->environment_files[i].missing_ok) {
                        free(*error_text);
                        *error_text = NULL;
                        continue;
                }
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(env);
        return 0;
}

static const char *env_get(char **env, const char *key) {
        size_t klen = strlen(key);
        for (size_t i = 0; env && env[i]; i++)
                if (strncmp(env[i], key, klen) == 0 && env[i][klen] == '=')
                        return env[i] + klen + 1;
        return NULL;
}

/* Opens StandardOutput=/StandardError= file: targets; *fd is the caller's to close. */
static int open_output_file(const struct std_output *o, int *fd, char *why, size_t why_size) {
        int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY;

        if (o->kind == STD_OUTPUT_APPEND)
                flags |= O_APPEND;
        else if (o->kind == STD_OUTPUT_TRUNCATE)
                flags |= O_TRUNC;
        *fd = open(o->path, flags, 0644);
        if (*fd < 0) {
                int r = negerrno();
                snprintf(why, why_size, "opening \"%s\" for output: %s", o->path, strerror(-r));
                return r;
        }
        return 0;
}

/* StandardOutput= and StandardError= into spawn attributes.  The log file (the default)
 * takes a pipe per stream, so that records say which stream they came from; stderr's pipe
 * also feeds the crash history.  StandardError=inherit means "where stdout goes", and
 * StandardOutput=inherit "where stdin goes" (/dev/null), as in systemd. */
static int route_output(struct service *s, struct pv_spawn_attr *a, int fds[2], char *why, size_t why_size) {
        const struct unit_config *c = s->cfg;
        const struct std_output *outs[2] = { &c->std_output, &c->std_error };
        bool want_log = false;

        for (int i = 0; i < 2; i++) {
                const struct std_output *o = outs[i];
                struct pv_stdio *st = &a->stdio[1 + i];
                int r;

                if (i == 1 && o->kind == STD_OUTPUT_INHERIT) {
                        if (c->std_output.kind == STD_OUTPUT_LOG) {
                                *st = (struct pv_stdio){ .kind = PV_STDIO_PIPE };
                                want_log = true;
                        } else if (fds[0] >= 0)
                                *st = (struct pv_stdio){ .kind = PV_STDIO_FD, .fd = fds[0] };
                        else
                                *st = a->stdio[1];
                        continue;
                }
                switch (o->kind) {
                case STD_OUTPUT_LOG:
                        *st = (struct pv_stdio){ .kind = PV_STDIO_PIPE };
                        want_log = true;
                        break;
                case STD_OUTPUT_INHERIT:
                case STD_OUTPUT_NULL:
                        *st = (struct pv_stdio){ .kind = PV_STDIO_NULL };
                        break;
                case STD_OUTPUT_FILE:
                case STD_OUTPUT_APPEND:
                case STD_OUTPUT_TRUNCATE:
                        r = open_output_file(o, &fds[i], why, why_size);
                        if (r < 0)
                                return r;
                        *st = (struct pv_stdio){ .kind = PV_STDIO_FD, .fd = fds[i] };
                        break;
                }
        }
        if (want_log && !s->log) {
                _cleanup_free_ char *error_text = NULL;
                if (logfile_open(s->m->log_dir, s->name, c->log_max_bytes, c->log_keep, &s->log,
                                 &error_text) < 0)
                        log_error("%s: no log file (%s); its output goes to the daemon's log",
                                  s->name, error_text ? error_text : "error");
                else
                        logfile_set_drop_hook(s->log, copy_dropped, s);
        }
        return 0;
}

static void ready_close(struct service *s) {
        loop_disarm(s->m->loop, &s->ready_ev);
        s->ready_fd = safe_close(s->ready_fd);
}

/* s6's readiness: a newline on NotificationFD= means ready; the rest of what is written
 * is ignored, and the fd is closed once it has served. */
static void on_ready_fd(struct loop_event *ev, int res) {
        struct service *s = ev->data;
        char buf[512];
        ssize_t n;

        if (res < 0) {
                ready_close(s);
                return;
        }
        while ((n = read(s->ready_fd, buf, sizeof(buf))) > 0)
                if (memchr(buf, '\n', (size_t)n)) {
                        ready_close(s);
                        if (upgrade_awaits_ready(s))
                                upgrade_successor_ready(s);
                        else if (s->state == SERVICE_STARTING && s->awaiting_ready && !s->proc_is_pre)
                                service_enter_running(s);
                        return;
                }
        if (n == 0 || errno != EAGAIN) {
                /* Closed without a newline: s6 takes that as "never ready". */
                ready_close(s);
                return;
        }
        if (loop_poll(s->m->loop, &s->ready_ev, s->ready_fd, POLLIN) < 0)
                ready_close(s);
}

/* Spawns one command of the service; on failure fills `why` and returns <0. */

/* What confine() set up for one spawn, released after it. */
struct sandbox {
        struct pv_seccomp_program *prog;
        int listener;      /* the seccomp listener pv_spawn hands back, or -1 */
        bool kills;        /* the policy's kills come as notifications */
        bool offer;        /* transparent hot restart: binds are answered with listeners */
};

static void sandbox_done(struct sandbox *b) {
        pv_seccomp_program_free(b->prog);
        safe_close(b->listener);
}

/* The unit's confinement as pv_spawn attributes (docs/sandbox.md).  The seccomp program
 * comes from the manager's cache: compiled once per distinct policy and flags. */
static int confine(struct service *s, struct pv_spawn_attr *a, struct sandbox *b, char *why, size_t why_size) {
        const struct unit_config *c = s->cfg;
        bool transparent = upgrade_wants_binds(s);
        struct pv_error err = { 0 };

        a->no_new_privs = c->no_new_privs;
        if (c->set_cap_bounding) {
                a->set_cap_bounding = true;
                a->cap_bounding = c->cap_bounding;
        }
        if (c->cap_ambient && a->set_uid && a->uid != 0) {
                /* A non-root service keeps exactly these, in all sets (systemd's
                 * AmbientCapabilities=); root gets its bounding set at execve anyway. */
                uint64_t caps = c->cap_ambient & (c->set_cap_bounding ? c->cap_bounding : UINT64_MAX);
                a->set_caps = true;
                a->cap_permitted = a->cap_effective = a->cap_inheritable = a->cap_ambient = caps;
        }
        a->private_network = c->private_network;
        a->private_tmp = c->private_tmp;
        a->private_ipc = c->private_ipc;
        a->private_users = c->private_users;
        a->private_pids = c->private_pids;
        a->hostname = c->hostname;
        a->protect_system = (enum pv_protect_system)c->protect_system;
        a->read_only_paths = (const char *const *)c->read_only_paths;
        a->n_read_only_paths = strv_length(c->read_only_paths);
        a->read_write_paths = (const char *const *)c->read_write_paths;
        a->n_read_write_paths = strv_length(c->read_write_paths);
        a->inaccessible_paths = (const char *const *)c->inaccessible_paths;
        a->n_inaccessible_paths = strv_length(c->inaccessible_paths);

        if (c->policy) {
                unsigned flags = PV_POLICY_NOTIFY_KILLS | (transparent ? PV_POLICY_NOTIFY_BINDS : 0) |
                                 (c->seccomp_ssb_allow ? PV_POLICY_SSB_ALLOW : 0);
                /* The unit keeps the program it used last: a restart does not rebuild the
                 * policy's cache key (every rule as text) to find it again. */
                struct unit_config *uc = s->cfg;
                if (!uc->prog || uc->prog_flags != flags) {
                        struct pv_seccomp_program *prog;
                        int r = pv_policy_cache_get(s->m->policy_cache, c->policy, flags, &prog, &err);
                        if (r < 0) {
                                snprintf(why, why_size, "seccomp policy: %s", err.message);
                                return r;
                        }
                        pv_seccomp_program_free(uc->prog);
                        uc->prog = prog;
                        uc->prog_flags = flags;
                }
                b->prog = pv_seccomp_program_ref(uc->prog);
                a->seccomp_filter = &b->prog->fprog;
                a->seccomp_flags = b->prog->flags;
                b->kills = true;
        } else if (transparent) {
                a->seccomp_filter = intercept_transparent_filter();
                a->seccomp_flags = SECCOMP_FILTER_FLAG_NEW_LISTENER;
        }
        if (a->seccomp_flags & SECCOMP_FILTER_FLAG_NEW_LISTENER)
                a->seccomp_listener_fd = &b->listener;
        b->offer = transparent;
        return 0;
}

static int spawn_command(struct service *s, const struct exec_command *cmd, char *why, size_t why_size) {
        const struct unit_config *c = s->cfg;
        _cleanup_strv_free_ char **env = NULL, **argv = NULL;
        _cleanup_free_ char *path = NULL, *env_error = NULL, *workdir = NULL;
        struct pv_user user = { 0 };
        struct pv_spawn_attr a;
        struct pv_error err = { 0 };
        struct pv_rlimit limits[RLIM_NLIMITS + 1];
        gid_t group = 0;
        int pipes[3] = { -1, -1, -1 }, output_fds[2] = { -EBADF, -EBADF }, r;
        int ready_pipe[2] = { -EBADF, -EBADF };
        struct pv_fd_map ready_map;
        struct recover_lifeline lifeline;
        _cleanup_free_ int *listen_fds = NULL;
        _cleanup_free_ char *listen_names = NULL;
        size_t n_listen = 0;
        bool is_main = cmd == &c->exec_start[0];
        _cleanup_(sandbox_done) struct sandbox sandbox = { .listener = -EBADF };

        if (c->user) {
                r = pv_user_lookup(c->user, &user, &err);
                if (r < 0) {
                        snprintf(why, why_size, "User=%s: %s", c->user, err.message);
                        return r;
                }
        }
        r = build_env(s, c->user ? &user : NULL, &env, &env_error);
        if (r < 0) {
                snprintf(why, why_size, "environment: %s", env_error ? env_error : strerror(-r));
                goto out;
        }
        /* Socket activation (sd_listen_fds(3)): the main process gets the sockets and the
         * fd store at 3..; LISTEN_PID is its own pid, which pv_spawn fills in. */
        if (is_main) {
                r = service_listen_fds(s, &listen_fds, &n_listen, &listen_names);
                if (r >= 0 && n_listen > 0) {
                        _cleanup_free_ char *kv1 = NULL, *kv2 = NULL;
                        if (asprintf(&kv1, "LISTEN_FDS=%zu", n_listen) < 0 ||
                            asprintf(&kv2, "LISTEN_FDNAMES=%s", listen_names) < 0)
                                r = -ENOMEM;
                        else if (env_assign(&env, kv1) < 0 || env_assign(&env, kv2) < 0)
                                r = -ENOMEM;
                }
                if (r < 0) {
                        snprintf(why, why_size, "out of memory");
                        goto out;
                }
        }
        r = exec_command_expand(cmd, env, &argv);
        if (r < 0 || !argv || !argv[0]) {
                snprintf(why, why_size, "line %u: expanding the command: %s", cmd->line,
                         r < 0 ? strerror(-r) : "empty");
                r = r < 0 ? r : -EINVAL;
                goto out;
        }
        /* The program is looked up in the service's own PATH, not the daemon's. */
        r = pv_lookpath(cmd->path, env_get(env, "PATH"), &path, &err);
        if (r < 0) {
                snprintf(why, why_size, "%s", err.message);
                goto out;
        }

        pv_spawn_attr_init(&a);
        a.path = path;
        a.argv = argv;
        a.envp = env;
        a.umask = c->umask;
        a.new_session = true;
        /* Every descriptor of the daemon is close-on-exec already (the inherited ones are
         * marked so at start, daemon.c); close_other_fds is the safety net, and on the
         * vfork path it also makes the child share our table and keep a private copy of
         * only its low part, instead of copying thousands of entries for execve to close
         * (that made starting 1000 services quadratic). */
        a.close_other_fds = true;
        a.stdio[0].kind = PV_STDIO_NULL;
        r = route_output(s, &a, output_fds, why, why_size);
        if (r < 0)
                goto out;
        upgrade_share_output(s, a.stdio);
        a.cgroup_fd = s->cgroup_fd;
        if (c->working_directory) {
                if (strcmp(c->working_directory, "~") == 0)
                        workdir = strdup(c->user ? user.home : (getenv("HOME") ? getenv("HOME") : "/"));
                else
                        workdir = strdup(c->working_directory);
                if (!workdir) {
                        r = -ENOMEM;
                        snprintf(why, why_size, "out of memory");
                        goto out;
                }
                if (c->working_directory_missing_ok && access(workdir, F_OK) < 0)
                        a.cwd = "/";
                else
                        a.cwd = workdir;
        } else
                a.cwd = "/";
        {
                size_t n = 0;
                for (int i = 0; i < RLIM_NLIMITS; i++)
                        if (c->limit_set[i])
                                limits[n++] = (struct pv_rlimit){ .resource = i, .limit = c->limits[i] };
                if (!c->limit_set[RLIMIT_NOFILE] && s->m->nofile_for_services.rlim_max)
                        limits[n++] = (struct pv_rlimit){ .resource = RLIMIT_NOFILE,
                                                          .limit = s->m->nofile_for_services };
                a.rlimits = limits;
                a.n_rlimits = n;
        }
        if (c->group) {
                r = pv_group_lookup(c->group, &group, &err);
                if (r < 0) {
                        snprintf(why, why_size, "Group=%s: %s", c->group, err.message);
                        goto out;
                }
                a.set_gid = true;
                a.gid = group;
        }
        if (c->user) {
                a.set_uid = true;
                a.uid = user.uid;
                if (!c->group) {
                        a.set_gid = true;
                        a.gid = user.gid;
                }
                a.set_groups = true;
                a.groups = c->group ? &group : user.groups;
                a.n_groups = c->group ? 1 : user.n_groups;
        }

        /* s6 readiness: a pipe whose write end the main process gets at NotificationFD=. */
        if (n_listen > 0) {
                a.fds = listen_fds;
                a.n_fds = n_listen;
                a.set_listen_pid = true;
        }
        if (c->notification_fd >= 3 && is_main) {
                if (pipe2(ready_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
                        r = negerrno();
                        snprintf(why, why_size, "NotificationFD=: pipe: %s", strerror(-r));
                        goto out;
                }
                ready_map = (struct pv_fd_map){ .fd = ready_pipe[1], .target = c->notification_fd };
                a.fd_map = &ready_map;
                a.n_fd_map = 1;
        }
        r = confine(s, &a, &sandbox, why, why_size);
        if (r < 0) {
                close_pair(ready_pipe);
                goto out;
        }
        /* Crash recovery: the main process holds a copy of its output pipes' read ends. */
        r = recover_lifeline_prepare(s, &a, is_main, &lifeline);
        if (r < 0) {
                snprintf(why, why_size, "output pipes: %s", strerror(-r));
                close_pair(ready_pipe);
                goto out;
        }
        /* Limits through cgroup v1: the child is born in the cgroups the daemon is in. */
        r = cgroup_limits_spawn_begin(s, why, why_size);
        if (r < 0) {
                recover_lifeline_done(&lifeline, false, pipes);
                close_pair(ready_pipe);
                goto out;
        }
        r = pv_spawn(&a, &s->proc, pipes, &err);
        cgroup_limits_spawn_end(s, r >= 0 ? &s->proc : NULL);
        recover_lifeline_done(&lifeline, r >= 0, pipes);
        safe_close(ready_pipe[1]);
        if (r < 0)
                safe_close(ready_pipe[0]);
        else if (ready_pipe[0] >= 0) {
                loop_disarm(s->m->loop, &s->ready_ev);
                safe_close(s->ready_fd);
                s->ready_fd = fd_move_above(ready_pipe[0], DAEMON_FD_HIGH);
                s->ready_ev.handler = on_ready_fd;
                if (loop_poll(s->m->loop, &s->ready_ev, s->ready_fd, POLLIN) < 0)
                        s->ready_fd = safe_close(s->ready_fd);
        }
        if (r < 0) {
                snprintf(why, why_size, "%s", err.message);
                goto out;
        }
        s->proc.pidfd = fd_move_above(s->proc.pidfd, DAEMON_FD_HIGH);
        s->proc_not_child = false;
        if (sandbox.listener >= 0) {
                struct intercept *ic = NULL;
                int q = intercept_add(s, TAKE_FD(sandbox.listener), s->proc.pid, sandbox.kills, &ic);
                if (q < 0)
                        /* Its notified calls now fail with ENOSYS: say so, it runs on. */
                        log_error("%s: cannot answer the seccomp notifications of pid %d: %s", s->name,
                                  (int)s->proc.pid, strerror(-q));
                else if (sandbox.offer)
                        upgrade_intercept_started(s, ic);
        }
        s->session = s->proc.pid; /* new_session: it leads its own */
        for (int i = 0; i < 2; i++) {
                struct outpipe *o = &s->out[i];
                if (pipes[1 + i] < 0)
                        continue;
                pipe_close(o); /* an earlier command's pipe, if someone still held it */
                o->fd = fd_move_above(pipes[1 + i], DAEMON_FD_HIGH);
                fcntl(o->fd, F_SETFL, O_NONBLOCK);
                o->ev.handler = on_pipe;
                if (loop_poll(s->m->loop, &o->ev, o->fd, POLLIN) < 0)
                        pipe_close(o);
        }
        s->child_ev.handler = on_child;
        r = loop_child(s->m->loop, &s->child_ev, s->proc.pidfd);
        if (r < 0) {
                /* Without a watch we would never learn of its exit: do not run it blind. */
                snprintf(why, why_size, "cannot watch the process: %s", strerror(-r));
                pv_process_signal(&s->proc, SIGKILL, NULL);
                pv_process_wait(&s->proc, 0, NULL, NULL);
                pv_process_release(&s->proc);
                goto out;
        }
        r = 0;
out:
        pv_user_done(&user);
        safe_close(output_fds[0]);
        safe_close(output_fds[1]);
        return r;
}

static void on_watchdog(struct loop_event *ev, int res);

static void watchdog_arm(struct service *s) {
        loop_disarm(s->m->loop, &s->watchdog_ev);
        if (s->watchdog_usec == 0 || s->watchdog_usec == USEC_INFINITY)
                return;
        s->watchdog_ev.handler = on_watchdog;
        loop_timer(s->m->loop, &s->watchdog_ev, now_usec(CLOCK_MONOTONIC) + s->watchdog_usec);
}

/* The main process runs (and, for Type=notify, said READY=1). */
static void service_enter_running(struct service *s) {
        const struct unit_config *c = s->cfg;

        s->awaiting_ready = false;
        loop_disarm(s->m->loop, &s->timer_ev);
        if (c->restart_reset > 0 && c->restart_reset != USEC_INFINITY) {
                loop_disarm(s->m->loop, &s->reset_ev);
                s->reset_ev.handler = on_reset_timer;
                loop_timer(s->m->loop, &s->reset_ev, now_usec(CLOCK_MONOTONIC) + c->restart_reset);
        }
        watchdog_arm(s);
        upgrade_keep_listeners_later(s);
        service_set_state(s, SERVICE_RUNNING, "pid %d%s%s", (int)s->proc.pid, s->status_text ? ": " : "",
                          s->status_text ? s->status_text : "");
}

/* Kills the service for a start timeout or a missed watchdog: like a stop (KillSignal=,
 * then SIGKILL after TimeoutStopSec=), but the exit counts as that failure. */
static void service_kill_for(struct service *s, int reason, int sig, const char *what) {
        char signame[32], t[64];

        s->kill_reason = reason;
        loop_disarm(s->m->loop, &s->watchdog_ev);
        loop_disarm(s->m->loop, &s->reset_ev);
        kill_service(s, sig, s->cfg->kill_mode == KILL_CONTROL_GROUP);
        service_schedule(s, s->cfg->timeout_stop);
        service_set_state(s, SERVICE_STOPPING, "%s: sent %s, SIGKILL in %s", what,
                          pv_signal_name(sig, signame, sizeof(signame)),
                          format_timespan(t, sizeof(t), s->cfg->timeout_stop));
}

static void on_watchdog(struct loop_event *ev, int res) {
        struct service *s = ev->data;
        char t[64];

        if (res < 0 || s->state != SERVICE_RUNNING)
                return;
        log_warning("%s: watchdog timeout (no WATCHDOG=1 within %s)", s->name,
                    format_timespan(t, sizeof(t), s->watchdog_usec));
        service_kill_for(s, KILLED_WATCHDOG, SIGABRT, "watchdog timeout");
}

bool service_notify(struct service *s, pid_t pid, bool is_main, bool is_control,
                    const struct notify_msg *msg) {
        const struct unit_config *c = s->cfg;
        enum notify_access a = c ? c->notify_access : NOTIFY_ACCESS_NONE;

        if (a == NOTIFY_ACCESS_NONE || (a == NOTIFY_ACCESS_MAIN && !is_main) ||
            (a == NOTIFY_ACCESS_EXEC && !is_main && !is_control)) {
                log_debug("%s: sd_notify message from pid %d refused by NotifyAccess=%s", s->name,
                          (int)pid, notify_access_to_string(a));
                return false;
        }
        if (msg->status) {
                free(s->status_text);
                s->status_text = strndup(msg->status, utf8_prefix(msg->status, strlen(msg->status), 512));
        }
        if (msg->errno_value >= 0)
                s->status_errno = msg->errno_value;
        if (msg->fdstore_remove && msg->fdname)
                service_fdstore_remove(s, msg->fdname);
        if (msg->mainpid && msg->mainpid != s->proc.pid)
                service_set_main_pid(s, (pid_t)msg->mainpid);
        if (msg->watchdog_usec != USEC_INFINITY) {
                s->watchdog_usec = msg->watchdog_usec;
                if (s->state == SERVICE_RUNNING)
                        watchdog_arm(s);
        }
        if (msg->watchdog && s->state == SERVICE_RUNNING)
                watchdog_arm(s);
        if (msg->extend_timeout != USEC_INFINITY && loop_event_armed(&s->timer_ev) &&
            (s->state == SERVICE_STARTING || s->state == SERVICE_STOPPING)) {
                usec_t want = now_usec(CLOCK_MONOTONIC) + msg->extend_timeout;
                if (want > s->timer_deadline) {
                        loop_disarm(s->m->loop, &s->timer_ev);
                        s->timer_deadline = want;
                        loop_timer(s->m->loop, &s->timer_ev, want);
                }
        }
        if (msg->reloading && s->state == SERVICE_RUNNING) {
                s->reloading = true;
                service_set_state(s, SERVICE_RUNNING, "pid %d, reloading", (int)s->proc.pid);
        }
        if (msg->stopping && s->state == SERVICE_RUNNING)
                service_set_state(s, SERVICE_RUNNING, "pid %d, stopping on its own", (int)s->proc.pid);
        if (msg->ready && is_main && upgrade_awaits_ready(s))
                upgrade_successor_ready(s);
        else if (msg->ready && s->state == SERVICE_STARTING && s->awaiting_ready && !s->proc_is_pre)
                service_enter_running(s);
        else if (msg->ready && s->reloading) {
                s->reloading = false;
                service_enter_running(s);
        } else if (msg->status && s->state == SERVICE_RUNNING)
                service_set_state(s, SERVICE_RUNNING, "pid %d: %s", (int)s->proc.pid, s->status_text);
        if (msg->watchdog_trigger && s->state == SERVICE_RUNNING)
                service_kill_for(s, KILLED_WATCHDOG, SIGABRT, "watchdog triggered by the service");
        return true;
}

/* Starts the next command: the next ExecStartPre=, or ExecStart=. */
static void service_spawn_next(struct service *s) {
        const struct unit_config *c = s->cfg;
        char why[600];
        bool pre = s->pre_index < c->n_exec_start_pre;
        const struct exec_command *cmd = pre ? &c->exec_start_pre[s->pre_index] : &c->exec_start[0];

        tail_clear(s);
        if (spawn_command(s, cmd, why, sizeof(why)) < 0) {
                log_error("%s: %s failed to start: %s", s->name, pre ? "ExecStartPre=" : "ExecStart=", why);
                char cause[200];
                snprintf(cause, sizeof(cause), "spawn failed: %.180s", why);
                service_enter_dead(s, cause, EXIT_CAUSE_UNCLEAN_CODE, false, 203);
                return;
        }
        if (pre) {
                s->proc_is_pre = true;
                s->active_since_mono = now_usec(CLOCK_MONOTONIC);
                service_set_state(s, SERVICE_STARTING, "ExecStartPre= %zu (pid %d)", s->pre_index + 1,
                                  (int)s->proc.pid);
                return;
        }
        main_started(s);
        if (c->type == SERVICE_NOTIFY || c->notification_fd >= 3) {
                char t[64];
                s->awaiting_ready = true;
                service_schedule(s, c->timeout_start);
                service_set_state(s, SERVICE_STARTING, "pid %d, waiting for %s (TimeoutStartSec=%s)",
                                  (int)s->proc.pid,
                                  c->type == SERVICE_NOTIFY ? "READY=1" : "a line on NotificationFD=",
                                  format_timespan(t, sizeof(t), c->timeout_start));
                return;
        }
        service_enter_running(s);
}

/* A reloaded unit file, if any, takes effect; the sockets follow the config in force (a
 * reload that changed them, or a bind that failed earlier, such as an address in use).
 * On error the old config stays. */
int service_apply_pending_config(struct service *s, char *why, size_t why_size) {
        struct unit_config *old = s->cfg;
        int r;

        if (s->next_cfg)
                s->cfg = s->next_cfg;
        r = service_sockets_sync(s, why, why_size);
        if (r < 0) {
                s->cfg = old;
                return r;
        }
        if (s->next_cfg) {
                s->next_cfg = NULL;
                unit_config_free(old);
                log_info("%s: now running the reloaded unit file", s->name);
        }
        return 0;
}

/* Per-instance state of a new main process. */
static void main_started(struct service *s) {
        s->proc_is_pre = false;
        free(s->seccomp_kill);
        s->seccomp_kill = NULL;
        s->active_since_mono = now_usec(CLOCK_MONOTONIC);
        s->start_seq = ++s->m->start_seq;
        s->kill_reason = KILLED_NONE;
        s->reloading = false;
        s->status_errno = -1;
        free(s->status_text);
        s->status_text = NULL;
        s->watchdog_usec = s->cfg->watchdog;
}

int service_spawn_successor(struct service *s, char *why, size_t why_size) {
        /* The successor gets the limits the unit file says now (shared with the old one). */
        int r = cgroup_limits_prepare(s, why, why_size);

        if (r >= 0)
                r = spawn_command(s, &s->cfg->exec_start[0], why, why_size);

        if (r >= 0)
                main_started(s);
        return r;
}

void service_watch_handler(struct service *s) {
        s->child_ev.handler = s->proc_not_child ? on_foreign_exit : on_child;
        s->child_ev.data = s;
}

void service_watch_main(struct service *s) {
        int r;

        loop_disarm(s->m->loop, &s->child_ev);
        service_watch_handler(s);
        if (s->proc_not_child)
                r = loop_poll(s->m->loop, &s->child_ev, s->proc.pidfd, POLLIN);
        else
                r = loop_child(s->m->loop, &s->child_ev, s->proc.pidfd);
        if (r < 0)
                log_error("%s: cannot watch pid %d: %s", s->name, (int)s->proc.pid, strerror(-r));
}

void service_watchdog_rearm(struct service *s) {
        if (s->state == SERVICE_RUNNING)
                watchdog_arm(s);
}

void service_adopt_former(struct service *s, struct pv_process *p, struct loop_event *ev) {
        loop_disarm(s->m->loop, &s->former_ev);
        pv_process_release(&s->former);
        s->former = *p;
        *p = PV_PROCESS_NULL;
        s->former_ev.handler = on_former_exit;
        s->former_ev.data = s;
        if (ev && loop_event_armed(ev))
                loop_event_move(s->m->loop, ev, &s->former_ev);
        else if (loop_child(s->m->loop, &s->former_ev, s->former.pidfd) < 0)
                pv_process_release(&s->former);
}

/* A start attempt, automatic or asked for: applies a pending config, checks the start
 * limit, then runs the commands. */
static int service_begin(struct service *s, bool automatic) {
        char why[768];
        int r;

        r = service_apply_pending_config(s, why, sizeof(why));
        if (r < 0) {
                log_error("%s: %s", s->name, why);
                service_set_state(s, SERVICE_FAILED, "socket: %s", why);
                return r;
        }
        if (!start_limit_admit(&s->start_limit, s->cfg, now_usec(CLOCK_MONOTONIC))) {
                char limit[128], sec[64];
                s->start_limit_hit = true;
                format_timespan(sec, sizeof(sec), s->cfg->start_limit_interval);
                snprintf(limit, sizeof(limit), "%u starts in %s", s->cfg->start_limit_burst, sec);
                if (s->cfg->failed_cooldown > 0 && s->cfg->failed_cooldown != USEC_INFINITY) {
                        char cd[64];
                        format_timespan(cd, sizeof(cd), s->cfg->failed_cooldown);
                        service_schedule(s, s->cfg->failed_cooldown);
                        service_set_state(s, SERVICE_FAILED,
                                          "start limit hit (%s), trying again in %s (FailedCooldownSec=)",
                                          limit, cd);
                } else
                        service_set_state(s, SERVICE_FAILED,
                                          "start limit hit (%s); `pidvisor reset-failed %s` to allow starts",
                                          limit, s->name);
                return -EAGAIN;
        }
        /* MemoryMax=, TasksMax=, CPUQuota=...: decided and applied at each start. */
        r = cgroup_limits_prepare(s, why, sizeof(why));
        if (r < 0) {
                log_error("%s: %s", s->name, why);
                service_set_state(s, SERVICE_FAILED, "%s", why);
                return r;
        }
        s->stop_requested = false;
        s->pre_index = 0;
        if (!automatic)
                s->backoff_n = 0;
        service_spawn_next(s);
        return 0;
}

int service_start(struct service *s, const char **why) {
        if (s->removed) {
                *why = "its unit file was removed";
                return -ENOENT;
        }
        if (!s->cfg) {
                *why = s->load_error ? s->load_error : "the unit file is invalid";
                return -EINVAL;
        }
        switch (s->state) {
        case SERVICE_RUNNING:
        case SERVICE_STARTING:
                return 0; /* already */
        case SERVICE_STOPPING:
                s->restart_requested = true; /* start once it is down */
                return 0;
        case SERVICE_FAILED:
                if (s->start_limit_hit) {
                        *why = "start limit hit: run `pidvisor reset-failed` first";
                        return -EAGAIN;
                }
                break;
        case SERVICE_INACTIVE:
        case SERVICE_AUTO_RESTART:
        case _SERVICE_STATE_MAX:
                break;
        }
        loop_disarm(s->m->loop, &s->timer_ev);
        if (service_begin(s, false) < 0) {
                *why = s->reason;
                return -EAGAIN;
        }
        return 0;
}

/* --- stopping ------------------------------------------------------------------------ */

int service_stop(struct service *s) {
        upgrade_abort(s, "the service is being stopped");
        loop_disarm(s->m->loop, &s->reset_ev);
        s->restart_requested = false;
        switch (s->state) {
        case SERVICE_RUNNING:
        case SERVICE_STARTING: {
                char t[64];
                int sig = s->cfg ? s->cfg->kill_signal : SIGTERM;
                usec_t timeout = s->cfg ? s->cfg->timeout_stop : 90 * USEC_PER_SEC;
                char signame[32];

                s->stop_requested = true;
                kill_service(s, sig, !s->cfg || s->cfg->kill_mode == KILL_CONTROL_GROUP);
                service_schedule(s, timeout);
                format_timespan(t, sizeof(t), timeout);
                service_set_state(s, SERVICE_STOPPING, "sent %s, SIGKILL in %s",
                                  pv_signal_name(sig, signame, sizeof(signame)), t);
                return 0;
        }
        case SERVICE_STOPPING:
                return 0;
        case SERVICE_AUTO_RESTART:
                loop_disarm(s->m->loop, &s->timer_ev);
                service_set_state(s, SERVICE_INACTIVE, "stopped while waiting to restart");
                return 0;
        case SERVICE_FAILED:
                loop_disarm(s->m->loop, &s->timer_ev); /* no cool-down retry after a stop */
                return 0;
        case SERVICE_INACTIVE:
        case _SERVICE_STATE_MAX:
                return 0;
        }
        return 0;
}

int service_restart(struct service *s, const char **why) {
        if (!s->cfg && !s->next_cfg) {
                *why = s->load_error ? s->load_error : "the unit file is invalid";
                return -EINVAL;
        }
        if (service_is_active(s)) {
                service_stop(s);
                s->restart_requested = true;
                return 0;
        }
        if (s->state == SERVICE_FAILED && s->start_limit_hit) {
                *why = "start limit hit: run `pidvisor reset-failed` first";
                return -EAGAIN;
        }
        loop_disarm(s->m->loop, &s->timer_ev);
        if (s->state == SERVICE_FAILED || s->state == SERVICE_AUTO_RESTART)
                s->state = SERVICE_INACTIVE;
        return service_start(s, why);
}

int service_reset_failed(struct service *s, const char **why) {
        start_limit_reset(&s->start_limit);
        s->start_limit_hit = false;
        s->backoff_n = 0;
        if (s->state == SERVICE_FAILED) {
                loop_disarm(s->m->loop, &s->timer_ev);
                service_set_state(s, SERVICE_INACTIVE, "failed state reset");
        }
        return 0;
}

/* --- exits --------------------------------------------------------------------------- */

static void history_add(struct service *s, const char *cause, pid_t pid) {
        size_t n = s->tail_n, first = (s->tail_next + STDERR_TAIL_MAX - n) % STDERR_TAIL_MAX;
        struct exit_record *e;

        if (!s->history) {
                s->history = calloc(HISTORY_MAX, sizeof(*s->history));
                if (!s->history) {
                        log_error("%s: out of memory, exit not recorded: %s", s->name, cause);
                        return;
                }
        }
        e = &s->history[s->history_next];
        history_entry_clear(e);
        *e = (struct exit_record){
                .time = now_usec(CLOCK_REALTIME),
                .runtime = s->active_since_mono ? now_usec(CLOCK_MONOTONIC) - s->active_since_mono : 0,
                .pid = pid,
        };
        e->cause = strdup(cause);
        e->stderr_tail = calloc(n + 1, sizeof(char *));
        if (e->stderr_tail) {
                for (size_t i = 0; i < n; i++) {
                        const char *line = s->tail[(first + i) % STDERR_TAIL_MAX];
                        e->stderr_tail[e->n_stderr] = strdup(line ? line : "");
                        if (e->stderr_tail[e->n_stderr])
                                e->n_stderr++;
                }
        }
        s->history_next = (s->history_next + 1) % HISTORY_MAX;
        if (s->history_n < HISTORY_MAX)
                s->history_n++;
        s->have_last_exit = true;
}

/* The main process (or a failing start command) is gone: decide what comes next. */
static void service_enter_dead(struct service *s, const char *cause, enum exit_cause ec,
                               bool signaled, int code) {
        const struct unit_config *c = s->cfg;
        pid_t pid = s->proc.pid;

        char reasoned[200];

        loop_disarm(s->m->loop, &s->timer_ev);
        loop_disarm(s->m->loop, &s->reset_ev);
        loop_disarm(s->m->loop, &s->watchdog_ev);
        ready_close(s);
        s->awaiting_ready = false;
        if (s->kill_reason != KILLED_NONE && !s->stop_requested) {
                ec = s->kill_reason == KILLED_TIMEOUT ? EXIT_CAUSE_TIMEOUT : EXIT_CAUSE_WATCHDOG;
                snprintf(reasoned, sizeof(reasoned), "%s, %.150s",
                         s->kill_reason == KILLED_TIMEOUT ? "start timeout" : "watchdog", cause);
                cause = reasoned;
        }
        s->kill_reason = KILLED_NONE;
        history_add(s, cause, pid);
        s->active_since_mono = 0;

        if (s->stop_requested || s->m->shutting_down) {
                s->stop_requested = false;
                if (s->restart_requested && !s->m->shutting_down) {
                        const char *why = NULL;
                        s->restart_requested = false;
                        s->state = SERVICE_INACTIVE;
                        if (service_start(s, &why) < 0)
                                log_error("%s: restart failed: %s", s->name, why);
                        return;
                }
                service_set_state(s, SERVICE_INACTIVE, "stopped (%s)", cause);
                return;
        }
        if (restart_wanted(c, ec, signaled, code)) {
                char t[64];
                usec_t d = restart_delay(c, ++s->backoff_n, manager_random01(s->m));

                s->n_restarts++;
                format_timespan(t, sizeof(t), d);
                service_schedule(s, d);
                service_set_state(s, SERVICE_AUTO_RESTART, "%s (%s), restart %u in %s", cause,
                                  exit_cause_to_string(ec), s->n_restarts, t);
                return;
        }
        if (ec == EXIT_CAUSE_CLEAN)
                service_set_state(s, SERVICE_INACTIVE, "%s", cause);
        else
                service_set_state(s, SERVICE_FAILED, "%s (%s)", cause, exit_cause_to_string(ec));
}

static void service_proc_exited(struct service *s, const struct pv_exit *exit_info, bool known);

static void on_child(struct loop_event *ev, int res) {
        struct service *s = ev->data;
        struct pv_exit ex = { 0 };

        if (res < 0) {
                /* The watch itself failed: fall back to a blocking wait; it has exited or
                 * will, and losing its status would be worse than a short stall. */
                log_error("%s: watching pid %d failed (%s), waiting for it directly", s->name,
                          (int)s->proc.pid, strerror(-res));
                if (pv_process_wait(&s->proc, 0, &ex, NULL) < 0) {
                        /* Reaped elsewhere: how it ended is not known, and not invented. */
                        ex = (struct pv_exit){ .pid = s->proc.pid };
                        service_proc_exited(s, &ex, false);
                        return;
                }
        } else {
                const siginfo_t *si = loop_child_info(s->m->loop);
                ex.pid = si->si_pid;
                if (si->si_code == CLD_EXITED)
                        ex.status = si->si_status;
                else {
                        ex.signaled = true;
                        ex.signal = si->si_status;
                        ex.core_dumped = si->si_code == CLD_DUMPED;
                }
        }
        service_proc_exited(s, &ex, true);
}

/* The exit of a main process that MAINPID= named: its pidfd became readable.  If it is
 * our child after all (reparented to us as subreaper) its status is there to take;
 * otherwise nobody can tell us how it ended, and status says so. */
static void on_foreign_exit(struct loop_event *ev, int res) {
        struct service *s = ev->data;
        struct pv_exit ex = { .pid = s->proc.pid };

        if (pv_process_wait(&s->proc, PV_WAIT_NOHANG, &ex, NULL) == 0)
                service_proc_exited(s, &ex, true);
        else {
                ex = (struct pv_exit){ .pid = s->proc.pid };
                service_proc_exited(s, &ex, false);
        }
}

/* The main process before MAINPID= moved the role: reaped, and that is all. */
static void on_former_exit(struct loop_event *ev, int res) {
        struct service *s = ev->data;

        log_debug("%s: former main process %d ended", s->name, (int)s->former.pid);
        pv_process_release(&s->former);
}

/* MAINPID=: the service says its main process is now another of its processes (a daemon
 * that re-executed itself into a child, say).  Accepted only for a process of the same
 * service (its cgroup, else its session), checked after the pidfd is open so that a
 * recycled pid cannot slip in between. */
static void service_set_main_pid(struct service *s, pid_t pid) {
        struct pv_process p = PV_PROCESS_NULL;
        pid_t ppid = 0;
        int r;

        if (s->proc_is_pre || (s->state != SERVICE_RUNNING && s->state != SERVICE_STARTING)) {
                log_notice("%s: MAINPID=%d ignored: no main process running", s->name, (int)pid);
                return;
        }
        r = pv_process_open(pid, &p, NULL);
        if (r < 0) {
                log_warning("%s: MAINPID=%d ignored: %s", s->name, (int)pid, strerror(-r));
                return;
        }
        if (manager_service_of_pid(s->m, pid) != s || pv_process_signal(&p, 0, NULL) < 0) {
                log_warning("%s: MAINPID=%d ignored: that process is not one of the service's",
                            s->name, (int)pid);
                pv_process_release(&p);
                return;
        }
        {
                struct proc_stat st;
                if (proc_stat_read(pid, &st) == 0)
                        ppid = st.ppid;
        }
        p.pidfd = fd_move_above(p.pidfd, DAEMON_FD_HIGH);

        /* The old main process, if it was our child, is still ours to reap (its watch
         * handed over, so an exit already reaped is not lost). */
        if (!s->proc_not_child)
                service_adopt_former(s, &s->proc, &s->child_ev);
        else {
                loop_disarm(s->m->loop, &s->child_ev);
                pv_process_release(&s->proc);
        }
        s->proc = p;
        s->proc_not_child = ppid != getpid();
        recover_mark(s);
        service_watch_main(s);
        log_info("%s: main process is now %d (MAINPID=)%s", s->name, (int)pid,
                 s->proc_not_child ? ", not a child of pidvisor: its exit status will not be known" : "");
        if (s->state == SERVICE_RUNNING)
                service_set_state(s, SERVICE_RUNNING, "pid %d", (int)pid);
}

/* A process of the service called what its policy kills (intercept.c, which kills it).
 * For the main process, its exit will say so; another process's end is only logged. */
void service_seccomp_violation(struct service *s, pid_t pid, const char *syscall) {
        bool main = pid == s->proc.pid;

        /* Under PrivatePIDs= our process is the namespace's init and the command is its
         * child (the caller holds it stopped in the notified call, so /proc is current). */
        if (!main && s->cfg && s->cfg->private_pids) {
                struct proc_stat st;
                main = proc_stat_read(pid, &st) == 0 && st.ppid == s->proc.pid;
        }
        if (main) {
                free(s->seccomp_kill);
                s->seccomp_kill = strdup(syscall);
        } else
                log_warning("%s: pid %d killed by seccomp (syscall %s)", s->name, (int)pid, syscall);
}

/* The main process (or an ExecStartPre= command) ended.  known: false when it was not
 * our child, so only the fact of its end is known. */
static void service_proc_exited(struct service *s, const struct pv_exit *exit_info, bool known) {
        const struct unit_config *c = s->cfg;
        struct pv_exit ex = *exit_info;
        char cause[160];
        bool was_pre = s->proc_is_pre;
        enum exit_cause ec;

        /* Everything it wrote before dying belongs to this exit's record (what a
         * leftover process writes later still reaches the log through the pipe). */
        for (int i = 0; i < 2; i++) {
                struct outpipe *o = &s->out[i];
                if (o->fd < 0)
                        continue;
                while (pipe_drain(o) && has_pending_input(o->fd))
                        ;
                pipe_flush_partial(o);
        }
        /* (Under PrivatePIDs= the init reports the kill as 128+SIGKILL.) */
        if (known && s->seccomp_kill &&
            (ex.signaled || (c->private_pids && ex.status == 128 + SIGKILL))) {
                /* A policy kill is not a crash: no tight restart loop on it.  The unit
                 * chooses (SeccompViolation=): failed at once, or Restart= with backoff. */
                snprintf(cause, sizeof(cause), "killed by seccomp (syscall %.100s)", s->seccomp_kill);
                ec = EXIT_CAUSE_SECCOMP;
        } else if (known) {
                pv_exit_describe(&ex, cause, sizeof(cause));
                ec = exit_cause_classify(c, ex.signaled, ex.signaled ? ex.signal : ex.status);
        } else {
                /* Counted as a failure: a crash must not pass for a clean exit. */
                snprintf(cause, sizeof(cause), "exited, status unknown (pid %d was not a child of pidvisor)",
                         (int)ex.pid);
                ec = EXIT_CAUSE_UNCLEAN_CODE;
                ex.status = 255;
        }
        /* A pending kill belongs to this exit only, not to the next command's. */
        free(s->seccomp_kill);
        s->seccomp_kill = NULL;
        /* An upgrade's successor that dies before it is ready: the old instance serves on. */
        if (s->up && !was_pre && upgrade_successor_exited(s, cause))
                return;
        /* Leftovers of its group go with it (KillMode=control-group or mixed); during an
         * upgrade the cgroup also holds the draining old instance, which has its own end. */
        if (c->kill_mode != KILL_PROCESS && !s->up)
                cgroup_kill_service(s, SIGKILL, s->proc.pid);
        pv_process_release(&s->proc);
        loop_disarm(s->m->loop, &s->timer_ev);

        if (was_pre) {
                const struct exec_command *cmd = &c->exec_start_pre[s->pre_index];
                bool ok = (!ex.signaled && ex.status == 0) || cmd->ignore_failure;
                if (ok && !s->stop_requested && !s->m->shutting_down) {
                        s->pre_index++;
                        service_spawn_next(s);
                        manager_reap_orphans(s->m);
                        return;
                }
                if (!ok) {
                        char pre_cause[200];
                        snprintf(pre_cause, sizeof(pre_cause), "ExecStartPre= %zu %s", s->pre_index + 1, cause);
                        service_enter_dead(s, pre_cause, ec == EXIT_CAUSE_CLEAN ? EXIT_CAUSE_UNCLEAN_CODE : ec,
                                           ex.signaled, ex.signaled ? ex.signal : ex.status);
                        manager_reap_orphans(s->m);
                        return;
                }
        }
        service_enter_dead(s, cause, ec, ex.signaled, ex.signaled ? ex.signal : ex.status);
        manager_reap_orphans(s->m);
}

static void on_timer(struct loop_event *ev, int res) {
        struct service *s = ev->data;

        if (res < 0)
                return;
        switch (s->state) {
        case SERVICE_STOPPING: {
                log_warning("%s: did not stop within TimeoutStopSec=, sending SIGKILL", s->name);
                kill_service(s, SIGKILL, true);
                service_set_state(s, SERVICE_STOPPING, "stop timed out, sent SIGKILL");
                break;
        }
        case SERVICE_AUTO_RESTART:
                service_begin(s, true);
                break;
        case SERVICE_FAILED:
                /* FailedCooldownSec= has passed: start afresh. */
                start_limit_reset(&s->start_limit);
                s->start_limit_hit = false;
                s->backoff_n = 0;
                log_info("%s: FailedCooldownSec= passed, starting again", s->name);
                service_begin(s, true);
                break;
        case SERVICE_STARTING:
                if (s->awaiting_ready) {
                        char t[64];
                        log_warning("%s: no READY=1 within TimeoutStartSec=%s", s->name,
                                    format_timespan(t, sizeof(t), s->cfg->timeout_start));
                        service_kill_for(s, KILLED_TIMEOUT, s->cfg->kill_signal, "start timeout");
                }
                break;
        case SERVICE_INACTIVE:
        case SERVICE_RUNNING:
        case _SERVICE_STATE_MAX:
                break;
        }
}

/* --- status -------------------------------------------------------------------------- */

/* A JSON string of text that may not be UTF-8 (what a service wrote to stderr, a path):
 * bytes that are not part of a valid sequence become '?', instead of the whole value
 * silently vanishing (jansson refuses invalid UTF-8). */
static json_t *jstr(const char *text) {
        size_t len;
        char *copy;
        json_t *j;

        if (!text)
                return json_null();
        len = strlen(text);
        if (utf8_valid(text, len))
                return json_stringn(text, len);
        copy = strdup(text);
        if (!copy)
                return json_null();
        for (size_t i = 0; i < len;) {
                size_t step = 1;
                for (size_t k = 4; k >= 1; k--)
                        if (i + k <= len && utf8_valid(copy + i, k)) {
                                step = k;
                                break;
                        }
                if (step == 1 && (unsigned char)copy[i] >= 0x80)
                        copy[i] = '?';
                i += step;
        }
        j = json_stringn(copy, len);
        free(copy);
        return j;
}

static json_t *exit_record_json(const struct exit_record *e) {
        json_t *lines = json_array();

        for (size_t i = 0; i < e->n_stderr; i++)
                json_array_append_new(lines, jstr(e->stderr_tail[i]));
        return json_pack("{s:I, s:I, s:i, s:o, s:o}", "time", (json_int_t)e->time, "runtime_usec",
                         (json_int_t)e->runtime, "pid", (int)e->pid, "cause", jstr(e->cause), "stderr", lines);
}

json_t *service_to_json(const struct service *s, bool full) {
        json_t *o = json_object(), *l;
        const struct unit_config *c = s->cfg ? s->cfg : s->next_cfg;

        json_object_set_new(o, "name", json_string(s->name));
        json_object_set_new(o, "state", json_string(service_state_to_string(s->state)));
        json_object_set_new(o, "reason", jstr(s->reason));
        json_object_set_new(o, "since", json_integer((json_int_t)s->state_since));
        json_object_set_new(o, "pid", service_is_active(s) ? json_integer(s->proc.pid) : json_null());
        json_object_set_new(o, "uptime_usec",
                            service_is_active(s) && s->active_since_mono
                                    ? json_integer((json_int_t)(now_usec(CLOCK_MONOTONIC) - s->active_since_mono))
                                    : json_null());
        json_object_set_new(o, "restarts", json_integer(s->n_restarts));
        if (s->have_last_exit) {
                const struct exit_record *last = &s->history[(s->history_next + HISTORY_MAX - 1) % HISTORY_MAX];
                json_object_set_new(o, "last_exit", jstr(last->cause));
        } else
                json_object_set_new(o, "last_exit", json_null());
        json_object_set_new(o, "description", jstr(c ? c->description : NULL));
        json_object_set_new(o, "load_error", jstr(s->load_error));
        json_object_set_new(o, "reload_pending", json_boolean(s->next_cfg != NULL));
        json_object_set_new(o, "status_text", jstr(s->status_text));
        if (s->up)
                json_object_set_new(o, "upgrade", upgrade_json(s));
        if (s->status_errno >= 0)
                json_object_set_new(o, "status_errno", json_integer(s->status_errno));
        if (full) {
                json_t *h = json_array();
                for (size_t i = 0; i < s->history_n; i++) {
                        size_t idx = (s->history_next + HISTORY_MAX - 1 - i) % HISTORY_MAX;
                        json_array_append_new(h, exit_record_json(&s->history[idx]));
                }
                json_object_set_new(o, "history", h); /* newest first */
                json_object_set_new(o, "log_file", jstr(s->log ? logfile_path(s->log) : NULL));
                if (s->log)
                        json_object_set_new(o, "log_dropped_bytes", json_integer((json_int_t)logfile_dropped(s->log)));
                json_object_set_new(o, "kill_scope", json_string(s->cgroup_fd >= 0 ? "cgroup" : "process-group"));
                if ((l = cgroup_limits_to_json(s)))
                        json_object_set_new(o, "limits", l); /* what the last start put in force */
                if (c && c->n_listen > 0) {
                        json_t *ls = json_array();
                        for (size_t i = 0; i < c->n_listen; i++) {
                                char addr[256];
                                socket_address_format(&c->listen[i].addr, addr, sizeof(addr));
                                json_array_append_new(
                                        ls, json_pack("{s:s, s:s, s:s, s:b}", "type",
                                                      socket_type_to_string(c->listen[i].addr.type),
                                                      "address", addr, "name", c->fd_name,
                                                      "open", s->n_listen_fds == c->n_listen));
                        }
                        json_object_set_new(o, "listen", ls);
                }
                if (s->n_fdstore > 0 || (c && c->fd_store_max > 0)) {
                        json_t *names = json_array();
                        for (size_t i = 0; i < s->n_fdstore; i++)
                                json_array_append_new(names, json_string(s->fdstore[i].name));
                        json_object_set_new(o, "fd_store", names);
                }
                if (c) {
                        json_object_set_new(o, "unit_file", jstr(c->path));
                        json_object_set_new(o, "restart", json_string(restart_mode_to_string(c->restart)));
                }
        }
        return o;
}

/* After a re-exec (reexec.c): every watch again, from the descriptors and the deadlines
 * the state kept.  A child that exited meanwhile is a zombie: its watch reaps it at once. */
void service_restore_watches(struct service *s, const struct service_timers *t) {
        struct loop *l = s->m->loop;

        if (s->log)
                logfile_set_drop_hook(s->log, copy_dropped, s);
        if (s->proc.pidfd >= 0)
                service_watch_main(s);
        if (s->former.pidfd >= 0) {
                s->former_ev.handler = on_former_exit;
                if (loop_child(l, &s->former_ev, s->former.pidfd) < 0)
                        log_error("%s: cannot watch pid %d", s->name, (int)s->former.pid);
        }
        if (t->timer) {
                s->timer_ev.handler = on_timer;
                loop_timer(l, &s->timer_ev, t->timer);
        }
        if (t->reset) {
                s->reset_ev.handler = on_reset_timer;
                loop_timer(l, &s->reset_ev, t->reset);
        }
        if (t->watchdog) {
                s->watchdog_ev.handler = on_watchdog;
                loop_timer(l, &s->watchdog_ev, t->watchdog);
        }
        if (s->ready_fd >= 0) {
                s->ready_ev.handler = on_ready_fd;
                if (loop_poll(l, &s->ready_ev, s->ready_fd, POLLIN) < 0)
                        ready_close(s);
        }
        for (int i = 0; i < 2; i++) {
                struct outpipe *o = &s->out[i];
                if (o->fd < 0)
                        continue;
                o->ev.handler = on_pipe;
                if (loop_poll(l, &o->ev, o->fd, POLLIN) < 0)
                        pipe_close(o);
        }
        upgrade_restore_watches(s, t->up_timer, t->up_check, t->keep);
}

/* Crash recovery (recover.c): a main process that still runs after the daemon that
 * started it died.  It is not our child: watched through its pidfd, its exit status
 * unknown.  out_fds: the read ends of its output pipes, taken back (-1: none). */
void service_adopt_main(struct service *s, struct pv_process *p, pid_t session, usec_t started_mono,
                        const int out_fds[2]) {
        const struct unit_config *c = s->cfg;

        s->proc = *p;
        *p = PV_PROCESS_NULL;
        s->proc.pidfd = fd_move_above(s->proc.pidfd, DAEMON_FD_HIGH);
        s->proc_not_child = true;
        s->proc_is_pre = false;
        s->session = session;
        s->start_seq = ++s->m->start_seq;
        s->watchdog_usec = c->watchdog;
        for (int i = 0; i < 2; i++) {
                struct outpipe *o = &s->out[i];
                if (out_fds[i] < 0)
                        continue;
                pipe_close(o);
                o->fd = fd_move_above(out_fds[i], DAEMON_FD_HIGH);
                fcntl(o->fd, F_SETFL, O_NONBLOCK);
                o->ev.handler = on_pipe;
                if (loop_poll(s->m->loop, &o->ev, o->fd, POLLIN) < 0)
                        pipe_close(o);
        }
        if ((out_fds[0] >= 0 || out_fds[1] >= 0) && !s->log && c->std_output.kind == STD_OUTPUT_LOG) {
                _cleanup_free_ char *error_text = NULL;
                if (logfile_open(s->m->log_dir, s->name, c->log_max_bytes, c->log_keep, &s->log, &error_text) < 0)
                        log_error("%s: no log file (%s); its output goes to the daemon's log", s->name,
                                  error_text ? error_text : "error");
                else
                        logfile_set_drop_hook(s->log, copy_dropped, s);
        }
        service_watch_main(s);
        /* Uptime from when it really started, not from now. */
        s->active_since_mono = started_mono;
        s->awaiting_ready = false;
        watchdog_arm(s);
        upgrade_keep_listeners_later(s);
        service_set_state(s, SERVICE_RUNNING, "pid %d (adopted after a daemon crash; not a child of this daemon: its "
                          "exit status will not be known)", (int)s->proc.pid);
}
