/* SPDX-License-Identifier: MIT */
/* Crash recovery (recover.h, docs/reexec.md "Crash recovery").
 *
 * STATE-DIR/recover/NAME.json, one per unit that has something to say:
 *
 *     {"format": 1, "writer": "pidvisor 0.1.0", "name": "web", "desired": "started",
 *      "state": "running", "restarts": 3,
 *      "instances": [{"role": "main", "pid": 4242, "start_time": 1234567, "session": 4242,
 *                     "listeners": ["127.0.0.1:8080"]},
 *                    {"role": "old", "pid": 4200, "start_time": 1230000, "session": 4200,
 *                     "phase": "draining", "t_drain": 98765432, "drain_timeout": 30000000,
 *                     "drain_signal": 15}]}
 *
 * start_time is field 22 of /proc/PID/stat (clock ticks after boot): with the pid, it
 * names one process for the life of the machine.  A record is written (to NAME.json.tmp,
 * then renamed over NAME.json) at the loop turn after something it holds changed; one
 * whose desired state changed is fsync'ed first.  A unit with nothing to say has no
 * file.  A clean exit removes them all: only a daemon that died leaves records. */
#include "recover.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <pidvisor/pidvisor.h>

#include "lib/util.h"
#include "listen.h"
#include "log.h"
#include "proc.h"
#include "upgrade.h"

#define RECORD_FORMAT 1
#define RECORD_MAX (64 * 1024)
#define MAX_INSTANCES 4

static const char *const desired_names[_DESIRED_MAX] = {
        [DESIRED_NONE] = NULL,
        [DESIRED_STARTED] = "started",
        [DESIRED_STOPPED] = "stopped",
};

/* One recorded process. */
struct instance {
        char role[16];       /* main, pre, former, old */
        pid_t pid, session;
        uint64_t start_time; /* /proc/PID/stat field 22 */
        int phase;           /* old: enum upgrade phase */
        usec_t t_drain, drain_timeout;
        int drain_signal;
        size_t n_listeners;
};

/* One unit's record, as read at start. */
struct record {
        char *name;
        enum desired_state desired;
        unsigned restarts;
        char state[32];
        struct instance inst[MAX_INSTANCES];
        size_t n_inst;
        bool used;
};

struct recovery {
        struct manager *m;
        int dir_fd;
        char *dir;
        struct loop_event write_ev;
        struct record *records; /* left by a daemon that died, until applied */
        size_t n_records;
        unsigned adopted, gone, reused, killed;
};

/* ---- /proc ------------------------------------------------------------------------------- */

/* A live process's start time and session; -ESRCH for a dead one, even if not reaped. */
static int proc_stat(pid_t pid, uint64_t *start_time, pid_t *session) {
        struct proc_stat st;
        int r = proc_stat_read(pid, &st);

        if (r < 0)
                return r;
        if (st.state == 'Z' || st.state == 'X')
                return -ESRCH; /* dead, only not reaped yet */
        *start_time = st.start_time;
        if (session)
                *session = st.session;
        return 0;
}

/* When a process started, on CLOCK_MONOTONIC (for its uptime). */
static usec_t started_mono(uint64_t start_time) {
        long hz = sysconf(_SC_CLK_TCK);
        usec_t boot = now_usec(CLOCK_BOOTTIME), mono = now_usec(CLOCK_MONOTONIC),
               started = hz > 0 ? start_time * USEC_PER_SEC / (usec_t)hz : 0;
        usec_t ago = boot > started ? boot - started : 0;

        return mono > ago ? mono - ago : 1;
}

/* ---- writing ------------------------------------------------------------------------------- */

static json_t *instance_json(const char *role, const struct pv_process *p, pid_t session) {
        uint64_t start_time = 0;

        if (p->pidfd < 0 || proc_stat(p->pid, &start_time, NULL) < 0 || pv_process_signal(p, 0, NULL) < 0)
                return NULL; /* gone: nothing to adopt */
        return json_pack("{s:s, s:i, s:I, s:i}", "role", role, "pid", (int)p->pid, "start_time", (json_int_t)start_time,
                         "session", (int)session);
}

static json_t *record_json(const struct service *s) {
        json_t *inst = json_array(), *o, *main_inst = NULL;

        if (!inst)
                return NULL;
        if (s->proc.pidfd >= 0) {
                main_inst = instance_json(s->proc_is_pre ? "pre" : "main", &s->proc, s->session);
                if (main_inst && !s->proc_is_pre && s->cfg && s->cfg->n_listen) {
                        json_t *ls = json_array();
                        char addr[256];
                        for (size_t i = 0; i < s->cfg->n_listen; i++)
                                json_array_append_new(ls, json_string(socket_address_format(&s->cfg->listen[i].addr, addr,
                                                                                            sizeof(addr))));
                        json_object_set_new(main_inst, "listeners", ls);
                }
                if (main_inst)
                        json_array_append_new(inst, main_inst);
        }
        if (s->former.pidfd >= 0 && (o = instance_json("former", &s->former, s->session)))
                json_array_append_new(inst, o);
        if (s->up && s->up->old.pidfd >= 0 && (o = instance_json("old", &s->up->old, s->up->old.pid))) {
                json_object_set_new(o, "phase", json_string(s->up->phase == UPGRADE_DRAINING ? "draining" : "starting"));
                json_object_set_new(o, "t_drain", json_integer((json_int_t)s->up->t_drain));
                json_object_set_new(o, "drain_timeout", json_integer((json_int_t)s->up->drain_timeout));
                json_object_set_new(o, "drain_signal", json_integer(s->up->drain_signal));
                json_array_append_new(inst, o);
        }
        if (json_array_size(inst) == 0 && s->desired == DESIRED_NONE) {
                json_decref(inst);
                return json_null(); /* nothing to say: no file */
        }
        o = json_pack("{s:i, s:s, s:s, s:s?, s:s, s:i, s:o}", "format", RECORD_FORMAT, "writer", "pidvisor " PIDVISOR_VERSION,
                      "name", s->name, "desired", desired_names[s->desired], "state", service_state_to_string(s->state),
                      "restarts", (int)s->n_restarts, "instances", inst);
        return o;
}

/* Writes the service's record (or removes it when there is nothing to say); with sync,
 * fsync'ed before it replaces the old one. */
static void record_write(struct recovery *rc, struct service *s, bool sync) {
        char tmp[PATH_MAX], name[PATH_MAX];
        json_t *o;
        char *text;
        int fd, r;

        s->recover_dirty = false;
        snprintf(name, sizeof(name), "%s.json", s->name);
        snprintf(tmp, sizeof(tmp), "%s.json.tmp", s->name);
        o = record_json(s);
        if (json_is_null(o)) {
                json_decref(o);
                if (unlinkat(rc->dir_fd, name, 0) < 0 && errno != ENOENT)
                        log_warning("%s: crash-recovery record %s/%s: %s", s->name, rc->dir, name, strerror(errno));
                return;
        }
        text = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        if (!text) {
                log_error("%s: crash-recovery record: out of memory", s->name);
                return;
        }
        fd = openat(rc->dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                r = negerrno();
        else {
                size_t len = strlen(text);
                r = write(fd, text, len) == (ssize_t)len ? 0 : -EIO;
                if (r == 0 && sync && fsync(fd) < 0)
                        r = negerrno();
                if (close(fd) < 0 && r == 0)
                        r = negerrno();
                if (r == 0 && renameat(rc->dir_fd, tmp, rc->dir_fd, name) < 0)
                        r = negerrno();
                if (r < 0)
                        unlinkat(rc->dir_fd, tmp, 0);
        }
        if (r < 0)
                log_warning("%s: crash-recovery record %s/%s not written: %s", s->name, rc->dir, name, strerror(-r));
        free(text);
}

static void on_write(struct loop_event *ev, int res) {
        struct recovery *rc = ev->data;
        struct manager *m = rc->m;

        for (size_t i = 0; i < m->n_services; i++)
                if (m->services[i]->recover_dirty)
                        record_write(rc, m->services[i], false);
}

#define RECOVER_COALESCE (20 * USEC_PER_MSEC)

void recover_mark(struct service *s) {
        struct recovery *rc = s->m ? s->m->recovery : NULL;

        s->recover_dirty = true;
        /* One write per burst of changes, at most every RECOVER_COALESCE: a service in a
         * tight crash loop would otherwise rewrite its record at every restart, on the
         * restart's own path (measured: about 10% of a crash->restart cycle).  The price is
         * a window that long in which a daemon crash misses the newest process (docs/reexec.md). */
        if (rc && rc->dir_fd >= 0 && !loop_event_armed(&rc->write_ev))
                loop_timer(s->m->loop, &rc->write_ev, now_usec(CLOCK_MONOTONIC) + RECOVER_COALESCE);
}

void recover_set_desired(struct service *s, enum desired_state d) {
        struct recovery *rc = s->m->recovery;
        bool changed = s->desired != d;

        s->desired = d;
        /* Asked by hand: on disk before the answer, through a machine crash too. */
        if (rc && rc->dir_fd >= 0)
                record_write(rc, s, changed);
        else
                recover_mark(s);
}

void recover_forget(struct manager *m, const char *name) {
        struct recovery *rc = m->recovery;
        char file[PATH_MAX];

        if (!rc || rc->dir_fd < 0)
                return;
        snprintf(file, sizeof(file), "%s.json", name);
        (void)unlinkat(rc->dir_fd, file, 0);
}

void recover_clean_exit(struct manager *m) {
        struct recovery *rc = m->recovery;
        DIR *d;
        struct dirent *de;
        int fd;

        if (!rc || rc->dir_fd < 0)
                return;
        loop_disarm(m->loop, &rc->write_ev);
        fd = dup(rc->dir_fd);
        d = fd >= 0 ? fdopendir(fd) : NULL;
        if (d)
                rewinddir(d); /* the offset is shared with dir_fd, read to its end before */
        while (d && (de = readdir(d)))
                if (de->d_name[0] != '.')
                        (void)unlinkat(rc->dir_fd, de->d_name, 0);
        if (d)
                closedir(d);
        else
                safe_close(fd);
        log_debug("crash recovery: clean exit, records removed");
}

static void free_records(struct recovery *rc) {
        for (size_t i = 0; i < rc->n_records; i++)
                free(rc->records[i].name);
        free(rc->records);
        rc->records = NULL;
        rc->n_records = 0;
}

void recover_free(struct manager *m) {
        struct recovery *rc = m->recovery;

        if (!rc)
                return;
        if (m->loop)
                loop_disarm(m->loop, &rc->write_ev);
        free_records(rc);
        safe_close(rc->dir_fd);
        free(rc->dir);
        free(rc);
        m->recovery = NULL;
}

/* ---- reading, at start ----------------------------------------------------------------------- */

static int parse_record(const char *text, size_t len, struct record *rec, char *why, size_t why_size) {
        json_t *o = json_loadb(text, len, 0, NULL), *inst, *v;
        const char *name, *desired;
        size_t i;

        *rec = (struct record){ 0 };
        name = json_string_value(json_object_get(o, "name"));
        desired = json_string_value(json_object_get(o, "desired"));
        inst = json_object_get(o, "instances");
        if (!json_is_object(o) || json_integer_value(json_object_get(o, "format")) != RECORD_FORMAT || !name ||
            !json_is_array(inst)) {
                snprintf(why, why_size, "not a record of format %d", RECORD_FORMAT);
                json_decref(o);
                return -EINVAL;
        }
        rec->name = strdup(name);
        rec->desired = desired && !strcmp(desired, "started")   ? DESIRED_STARTED
                       : desired && !strcmp(desired, "stopped") ? DESIRED_STOPPED
                                                                 : DESIRED_NONE;
        rec->restarts = (unsigned)json_integer_value(json_object_get(o, "restarts"));
        snprintf(rec->state, sizeof(rec->state), "%s", json_string_value(json_object_get(o, "state")) ?: "?");
        json_array_foreach(inst, i, v) {
                struct instance *x;
                const char *role = json_string_value(json_object_get(v, "role"));
                if (rec->n_inst == MAX_INSTANCES || !role || json_integer_value(json_object_get(v, "pid")) <= 0)
                        continue;
                x = &rec->inst[rec->n_inst++];
                snprintf(x->role, sizeof(x->role), "%s", role);
                x->pid = (pid_t)json_integer_value(json_object_get(v, "pid"));
                x->session = (pid_t)json_integer_value(json_object_get(v, "session"));
                x->start_time = (uint64_t)json_integer_value(json_object_get(v, "start_time"));
                x->phase = !strcmp(json_string_value(json_object_get(v, "phase")) ?: "", "draining") ? UPGRADE_DRAINING
                                                                                                     : UPGRADE_STARTING;
                x->t_drain = (usec_t)json_integer_value(json_object_get(v, "t_drain"));
                x->drain_timeout = (usec_t)json_integer_value(json_object_get(v, "drain_timeout"));
                x->drain_signal = (int)json_integer_value(json_object_get(v, "drain_signal"));
                x->n_listeners = json_array_size(json_object_get(v, "listeners"));
        }
        json_decref(o);
        return rec->name ? 0 : -ENOMEM;
}

static void load_records(struct recovery *rc) {
        int fd = dup(rc->dir_fd);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        struct dirent *de;

        if (!d) {
                safe_close(fd);
                return;
        }
        rewinddir(d);
        while ((de = readdir(d))) {
                size_t len = strlen(de->d_name);
                char buf[RECORD_MAX + 1], why[128];
                struct record rec, *grown;
                ssize_t n;
                int f;

                if (de->d_name[0] == '.' || len <= 5 || strcmp(de->d_name + len - 5, ".json"))
                        continue;
                f = openat(rc->dir_fd, de->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                n = f >= 0 ? read(f, buf, RECORD_MAX) : -1;
                safe_close(f);
                if (n <= 0 || parse_record(buf, (size_t)n, &rec, why, sizeof(why)) < 0) {
                        log_warning("crash recovery: %s/%s ignored: %s", rc->dir, de->d_name,
                                    n <= 0 ? "unreadable" : why);
                        continue;
                }
                grown = realloc(rc->records, (rc->n_records + 1) * sizeof(*grown));
                if (!grown) {
                        free(rec.name);
                        break;
                }
                rc->records = grown;
                rc->records[rc->n_records++] = rec;
        }
        closedir(d);
}

int recover_load(struct manager *m) {
        struct recovery *rc = calloc(1, sizeof(*rc));

        if (!rc)
                return -ENOMEM;
        rc->m = m;
        rc->dir_fd = -EBADF;
        loop_event_init(&rc->write_ev, on_write, rc);
        m->recovery = rc;
        if (asprintf(&rc->dir, "%s/recover", m->opt.state_dir) < 0) {
                rc->dir = NULL;
                return -ENOMEM;
        }
        if (mkdir(rc->dir, 0700) < 0 && errno != EEXIST)
                log_warning("crash recovery: cannot create %s (%s): nothing will be recorded", rc->dir, strerror(errno));
        rc->dir_fd = open(rc->dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (rc->dir_fd < 0)
                return 0;
        rc->dir_fd = fd_move_above(rc->dir_fd, DAEMON_FD_HIGH);
        /* After a re-exec the records on disk are the running daemon's own. */
        if (m->restored)
                return 0;
        load_records(rc);
        if (rc->n_records)
                log_notice("crash recovery: %zu records left by a daemon that did not exit cleanly; taking over what "
                           "still runs", rc->n_records);
        return 0;
}

static struct record *find_record(struct recovery *rc, const char *name) {
        for (size_t i = 0; rc && i < rc->n_records; i++)
                if (!rc->records[i].used && !strcmp(rc->records[i].name, name))
                        return &rc->records[i];
        return NULL;
}

/* The recorded process, if it still is the one recorded: pidfd first, then its start
 * time read, then the pidfd asked again (the pid may have been reused in between, the
 * pidfd cannot). */
static int open_instance(struct recovery *rc, const char *name, const struct instance *x, struct pv_process *ret) {
        struct pv_process p = PV_PROCESS_NULL;
        uint64_t start_time = 0;
        pid_t session = 0;
        int r;

        r = pv_process_open(x->pid, &p, NULL);
        if (r < 0) {
                log_info("%s: recorded %s pid %d is gone", name, x->role, (int)x->pid);
                rc->gone++;
                return r;
        }
        r = proc_stat(x->pid, &start_time, &session);
        if (r < 0 || pv_process_signal(&p, 0, NULL) < 0) {
                log_info("%s: recorded %s pid %d is gone", name, x->role, (int)x->pid);
                pv_process_release(&p);
                rc->gone++;
                return -ESRCH;
        }
        if (start_time != x->start_time || (x->session && session != x->session)) {
                log_warning("%s: pid %d is another process now (started at tick %llu in session %d; the recorded %s "
                            "started at %llu in session %d): not adopted",
                            name, (int)x->pid, (unsigned long long)start_time, (int)session, x->role,
                            (unsigned long long)x->start_time, (int)x->session);
                pv_process_release(&p);
                rc->reused++;
                return -ESRCH;
        }
        *ret = p;
        return 0;
}

/* Its output pipes' read ends, from the lifeline copies it holds, checked to be the
 * pipes its stdout and stderr write into. */
static void take_pipes(const struct pv_process *p, int out[2]) {
        for (int i = 0; i < 2; i++) {
                struct stat life, std;
                int fd = -EBADF, std_fd = -EBADF;

                out[i] = -EBADF;
                if (pv_process_getfd(p, RECOVER_LIFELINE_FD + i, &fd, NULL) < 0)
                        continue;
                if (pv_process_getfd(p, 1 + i, &std_fd, NULL) == 0 && fstat(fd, &life) == 0 && fstat(std_fd, &std) == 0 &&
                    S_ISFIFO(life.st_mode) && life.st_ino == std.st_ino && life.st_dev == std.st_dev &&
                    (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY)
                        out[i] = TAKE_FD(fd);
                safe_close(fd);
                safe_close(std_fd);
        }
}

static void adopt_main(struct recovery *rc, struct service *s, const struct instance *x, const struct record *rec) {
        struct pv_process p = PV_PROCESS_NULL;
        struct pv_listener *taken = NULL;
        size_t n_taken = 0, matched = 0;
        int out[2];

        if (open_instance(rc, s->name, x, &p) < 0)
                return;
        /* Its listeners: the [Socket] ones become the daemon's again (before the unit binds
         * its sockets, which would fail or replace them), the rest are KeepListeners='s. */
        if (pv_listeners_take(&p, PV_TAKE_DATAGRAM, &taken, &n_taken, NULL) == 0) {
                matched = service_sockets_adopt(s, taken, n_taken);
                if (s->cfg->keep_listeners && s->cfg->hot_restart == HOT_RESTART_TAKEOVER) {
                        size_t k = 0;
                        for (size_t i = 0; i < n_taken; i++)
                                if (taken[i].fd >= 0) {
                                        taken[i].fd = fd_move_above(taken[i].fd, DAEMON_FD_HIGH);
                                        taken[k++] = taken[i];
                                }
                        pv_listeners_free(s->kept, s->n_kept);
                        s->kept = k ? TAKE_PTR(taken) : NULL;
                        s->n_kept = k;
                }
                pv_listeners_free(taken, taken ? n_taken : 0);
        }
        take_pipes(&p, out);
        log_info("%s: adopting pid %d (%s before the crash): %zu of %zu listeners and %d output pipes taken back",
                 s->name, (int)x->pid, rec->state, matched, s->cfg->n_listen, (out[0] >= 0) + (out[1] >= 0));
        service_adopt_main(s, &p, x->session ? x->session : x->pid, started_mono(x->start_time), out);
        rc->adopted++;
        if (!strcmp(rec->state, "stopping")) /* a stop under way: it goes on, with a fresh timeout */
                service_stop(s);
}

void recover_adopt(struct service *s) {
        struct recovery *rc = s->m->recovery;
        struct record *rec = find_record(rc, s->name);

        if (!rec)
                return;
        rec->used = true;
        s->desired = rec->desired;
        s->n_restarts = rec->restarts;
        if (!s->cfg || service_is_active(s))
                return;
        for (size_t i = 0; i < rec->n_inst; i++) {
                const struct instance *x = &rec->inst[i];
                struct pv_process p = PV_PROCESS_NULL;

                if (!strcmp(x->role, "main"))
                        adopt_main(rc, s, x, rec);
                else if (!strcmp(x->role, "pre")) {
                        /* Half-way through ExecStartPre=: started afresh, if wanted. */
                        if (open_instance(rc, s->name, x, &p) == 0) {
                                log_notice("%s: ExecStartPre= pid %d was running when the daemon died: killed", s->name,
                                           (int)x->pid);
                                pv_process_signal(&p, SIGKILL, NULL);
                                if (x->session > 1)
                                        kill(-x->session, SIGKILL);
                                pv_process_release(&p);
                                rc->killed++;
                        }
                }
        }
        /* An upgrade's old instance, once the main process is back. */
        for (size_t i = 0; i < rec->n_inst; i++) {
                const struct instance *x = &rec->inst[i];
                struct pv_process p = PV_PROCESS_NULL;

                if (strcmp(x->role, "old") || !service_is_active(s) || open_instance(rc, s->name, x, &p) < 0)
                        continue;
                upgrade_adopt_old(s, &p, x->phase, x->t_drain, x->drain_timeout, x->drain_signal);
                pv_process_release(&p);
                rc->adopted++;
        }
}

bool recover_wants_start(const struct service *s) {
        if (!s->cfg || s->m->restored || service_is_active(s) || s->desired == DESIRED_STOPPED)
                return false;
        return s->desired == DESIRED_STARTED || s->cfg->auto_start;
}

void recover_loaded_done(struct manager *m) {
        struct recovery *rc = m->recovery;

        if (!rc || !rc->records)
                return;
        for (size_t i = 0; i < rc->n_records; i++)
                if (!rc->records[i].used)
                        log_notice("crash recovery: %s has a record but no loadable unit file any more; its processes "
                                   "(if any) are left alone", rc->records[i].name);
        log_notice("crash recovery: %u processes adopted, %u gone, %u pids reused by other processes, %u killed", rc->adopted,
                   rc->gone, rc->reused, rc->killed);
        free_records(rc);
        /* Every record again, for what runs now. */
        for (size_t i = 0; i < m->n_services; i++)
                recover_mark(m->services[i]);
}

/* ---- the lifeline --------------------------------------------------------------------------- */

int recover_lifeline_prepare(struct service *s, struct pv_spawn_attr *a, bool is_main, struct recover_lifeline *l) {
        size_t n = 0;

        *l = (struct recover_lifeline){ .pipe = { { -EBADF, -EBADF }, { -EBADF, -EBADF } } };
        if (!is_main || !s->cfg->output_lifeline || 3 + (int)a->n_fds > RECOVER_LIFELINE_FD)
                return 0;
        for (size_t i = 0; i < a->n_fd_map; i++)
                if (a->fd_map[i].target == RECOVER_LIFELINE_FD || a->fd_map[i].target == RECOVER_LIFELINE_FD + 1)
                        return 0; /* NotificationFD= there: no lifeline for this one */
        l->map = calloc(a->n_fd_map + 2, sizeof(*l->map));
        if (!l->map)
                return -ENOMEM;
        for (size_t i = 0; i < a->n_fd_map; i++)
                l->map[n++] = a->fd_map[i];
        for (int i = 0; i < 2; i++) {
                struct pv_stdio *st = &a->stdio[1 + i];
                int read_end = -EBADF;

                if (st->kind == PV_STDIO_PIPE) {
                        /* Made here rather than by pv_spawn, so that the child can hold the
                         * read end too. */
                        if (pipe2(l->pipe[i], O_CLOEXEC) < 0) {
                                int r = negerrno();
                                recover_lifeline_done(l, false, NULL);
                                return r;
                        }
                        *st = (struct pv_stdio){ .kind = PV_STDIO_FD, .fd = l->pipe[i][1] };
                        read_end = l->pipe[i][0];
                } else if (st->kind == PV_STDIO_FD && s->up && s->out[i].fd >= 0)
                        read_end = s->out[i].fd; /* an upgrade's successor writes into the old pipes */
                if (read_end >= 0)
                        l->map[n++] = (struct pv_fd_map){ .fd = read_end, .target = RECOVER_LIFELINE_FD + i };
        }
        a->fd_map = l->map;
        a->n_fd_map = n;
        l->n_map = n;
        return 0;
}

void recover_lifeline_done(struct recover_lifeline *l, bool ok, int pipes[3]) {
        for (int i = 0; i < 2; i++) {
                l->pipe[i][1] = safe_close(l->pipe[i][1]);
                if (l->pipe[i][0] < 0)
                        continue;
                if (ok && pipes)
                        pipes[1 + i] = TAKE_FD(l->pipe[i][0]); /* as if pv_spawn had made it */
                else
                        l->pipe[i][0] = safe_close(l->pipe[i][0]);
        }
        free(l->map);
        l->map = NULL;
}
