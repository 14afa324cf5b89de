/* SPDX-License-Identifier: MIT */
/* serialize.c: the daemon's state written and read back.
 *
 * A manager with two services in which every member holds a value other than its
 * default (real descriptors: pidfds of real children, pipes, listening sockets, a log
 * file, a cgroup-like directory; text that is not UTF-8 and holds NUL bytes where the
 * member allows it), two connections with buffered bytes, waiters, an upgrade and armed
 * timers: written, read back through a claim function that hands out copies, and
 * compared member by member (descriptors by the file they refer to).  Then what the
 * reader refuses, each with its reason; and the bytes encoding. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <pidvisor/pidvisor.h>

#include "lib/strv.h"
#include "daemon/log.h"
#include "daemon/logfile.h"
#include "daemon/manager.h"
#include "daemon/serialize.h"
#include "daemon/upgrade.h"
#include "testlib.h"

/* ---- helpers ------------------------------------------------------------------------------ */

static int claim_copy(void *data, int fd) {
        int *count = data, copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);

        if (copy < 0)
                return -errno;
        (*count)++;
        return copy;
}

static int claim_refuse(void *data, int fd) {
        return -EBADF;
}

/* Whether two descriptors refer to the same file (a pidfd: the same process). */
static long fdinfo_pid(int fd) {
        char path[64], line[256];
        long pid = -1;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
        f = fopen(path, "re");
        while (f && fgets(line, sizeof(line), f))
                if (!strncmp(line, "Pid:", 4))
                        pid = atol(line + 4);
        if (f)
                fclose(f);
        return pid;
}

static void assert_same_file(int a, int b, const char *what) {
        struct stat sa, sb;

        ck_assert_msg(a >= 0 && b >= 0, "%s: descriptors %d and %d", what, a, b);
        ck_assert_msg(a != b, "%s: the reader returned the number it read, not its claim", what);
        ck_assert_int_eq(fstat(a, &sa), 0);
        ck_assert_int_eq(fstat(b, &sb), 0);
        ck_assert_msg(sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino, "%s: not the same file", what);
        ck_assert_msg(fdinfo_pid(a) == fdinfo_pid(b), "%s: pidfds of different processes", what);
}

static pid_t child_pause(struct pv_process *p) {
        pid_t pid = fork();

        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                for (;;)
                        pause();
        }
        ck_assert_int_eq(pv_process_open(pid, p, NULL), 0);
        return pid;
}

static void child_end(struct pv_process *p) {
        pid_t pid = p->pid;
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
}

static int listener(void) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
        ck_assert_int_eq(listen(fd, 4), 0);
        return fd;
}

static void fill_listener(struct pv_listener *l, int k) {
        socklen_t len = sizeof(l->addr);

        memset(l, 0, sizeof(*l));
        l->fd = listener();
        l->source_fd = 3 + k;
        l->family = AF_INET;
        l->type = SOCK_STREAM;
        ck_assert_int_eq(getsockname(l->fd, (struct sockaddr *)&l->addr, &len), 0);
        l->addr_len = len;
        l->inode = 1000000UL + (unsigned long)k;
}

static void assert_listeners(const struct pv_listener *a, size_t na, const struct pv_listener *b, size_t nb) {
        ck_assert_uint_eq(na, nb);
        for (size_t i = 0; i < na; i++) {
                assert_same_file(a[i].fd, b[i].fd, "listener");
                ck_assert_int_eq(a[i].source_fd, b[i].source_fd);
                ck_assert_int_eq(a[i].family, b[i].family);
                ck_assert_int_eq(a[i].type, b[i].type);
                ck_assert_uint_eq(a[i].addr_len, b[i].addr_len);
                ck_assert(memcmp(&a[i].addr, &b[i].addr, a[i].addr_len) == 0);
                ck_assert_uint_eq(a[i].inode, b[i].inode);
        }
}

static struct unit_config *load_unit(const char *path, const char *text, size_t len, const char *socket_path,
                                     const char *socket_text, size_t socket_len) {
        struct unit_config *u = NULL;
        struct diagnostics d = { 0 };
        int r = unit_load_strings(path, text, len, socket_path, socket_text, socket_len, &u, &d);

        ck_assert_msg(r == 0, "%s: %s", path, d.n ? d.items[0].text : "?");
        diagnostics_done(&d);
        return u;
}

static void on_nothing(struct loop_event *ev, int res) {
}

/* Arms a timer event of the loop at a deadline far away. */
static void arm(struct loop *l, struct loop_event *ev, usec_t deadline) {
        ev->handler = on_nothing;
        ck_assert_int_eq(loop_timer(l, ev, deadline), 0);
}

/* ---- the rig: a manager, two services, two connections ------------------------------------ */

/* Not UTF-8, with a NUL: only the base64 form carries these. */
static const char binary_bytes[] = { 'a', (char)0xff, 0, 'b', (char)0xc3, '\n', 'z' };

#define UNIT_A "[Unit]\nDescription=caf\xc3\xa9 \xff\n[Service]\nExecStart=/bin/sleep 1000\n"
#define SOCKET_A "[Socket]\nListenStream=127.0.0.1:1\n# \xfe\xfe not UTF-8\n"
#define UNIT_B "[Service]\nExecStartPre=/bin/true\nExecStartPre=/bin/true\nExecStart=/bin/sleep 2\n"

struct rig {
        struct manager m;
        struct loop *loop;
        char *dir;
        struct conn *conn[2];
        struct service *a, *b;
        struct pv_process procs[4];
        json_t *reply_id;
};

static struct conn *make_conn(struct rig *r, int k) {
        struct conn *c = calloc(1, sizeof(*c));
        int sv[2];

        ck_assert_ptr_nonnull(c);
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        close(sv[1]);
        c->m = &r->m;
        c->fd = sv[0];
        c->in = malloc(16);
        c->out = malloc(16);
        memcpy(c->in, k ? "{\"id\":1,\"cm" : "x", k ? 11 : 1);
        c->in_len = k ? 11 : 1;
        c->in_cap = 16;
        memcpy(c->out, binary_bytes, sizeof(binary_bytes));
        c->out_len = sizeof(binary_bytes);
        c->out_cap = 16;
        c->subscribed = k == 1;
        c->eof = k == 0;
        c->closing = k == 1;
        c->pending = 3 + (unsigned)k;
        c->uid = 1000 + (unsigned)k;
        c->next = r->m.conns;
        if (r->m.conns)
                r->m.conns->prev = c;
        r->m.conns = c;
        r->m.n_conns++;
        return c;
}

static void add_waiter(struct service *s, struct conn *c, json_t *id, int kind) {
        struct waiter *w = calloc(1, sizeof(*w)), **tail = &s->waiters;

        ck_assert_ptr_nonnull(w);
        w->conn = c;
        w->id = id;
        w->kind = kind;
        while (*tail)
                tail = &(*tail)->next;
        *tail = w;
}

static void fill_service_a(struct rig *r, struct service *s) {
        struct logfile_saved saved;
        struct logfile *lf = NULL;
        struct upgrade *up;
        int p[2], fd;

        s->cfg = load_unit("/units/a.service", UNIT_A, strlen(UNIT_A), "/units/a.socket", SOCKET_A, strlen(SOCKET_A));
        s->next_cfg = load_unit("/units/a.service", UNIT_A "Restart=always\n", strlen(UNIT_A) + 15, NULL, NULL, 0);
        s->load_error = strdup("a.service:3: a broken edit");
        s->removed = true;
        s->state = SERVICE_RUNNING;
        snprintf(s->reason, sizeof(s->reason), "pid 42: caf\xc3\xa9");
        s->state_since = 1795000000123456ULL;
        s->active_since_mono = 987654321;
        child_pause(&r->procs[0]);
        s->proc = r->procs[0];
        s->proc_not_child = true;
        s->session = 4242;
        child_pause(&r->procs[1]);
        s->former = r->procs[1];
        s->proc_is_pre = false;
        s->pre_index = 7;
        s->timer_deadline = 5555555;
        s->watchdog_usec = USEC_INFINITY;
        s->kill_reason = KILLED_WATCHDOG;
        s->awaiting_ready = true;
        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        s->ready_fd = p[0];
        close(p[1]);
        s->reloading = true;
        s->status_text = strdup("serving \xe2\x9c\x93");
        s->status_errno = 17;
        for (int i = 0; i < 2; i++) {
                ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
                s->out[i].fd = p[0];
                close(p[1]);
                s->out[i].partial = malloc(LOGFILE_LINE_MAX);
                memcpy(s->out[i].partial, binary_bytes, sizeof(binary_bytes));
                s->out[i].partial_len = sizeof(binary_bytes) - (size_t)i;
        }
        ck_assert_int_eq(logfile_open(r->dir, "a", 4096, 3, &lf, NULL), 0);
        logfile_save(lf, &saved);
        saved.fd = fcntl(saved.fd, F_DUPFD_CLOEXEC, 3);
        saved.size = 77;
        saved.rotate_at = 4000;
        saved.dropped = 123;
        saved.unreported = 45;
        saved.drop_errno = ENOSPC;
        saved.mid_line = true;
        saved.reopen = true;
        ck_assert_int_eq(logfile_restore(&saved, &s->log), 0);
        logfile_close(lf);
        s->log_warned = true;
        for (int i = 0; i < STDERR_TAIL_MAX + 3; i++) {
                char line[64];
                snprintf(line, sizeof(line), "stderr line %d \xff", i);
                free(s->tail[s->tail_next]);
                s->tail[s->tail_next] = strdup(line);
                s->tail_next = (s->tail_next + 1) % STDERR_TAIL_MAX;
                if (s->tail_n < STDERR_TAIL_MAX)
                        s->tail_n++;
        }
        s->n_restarts = 31;
        s->backoff_n = 4;
        s->start_limit.starts = calloc(3, sizeof(usec_t));
        s->start_limit.starts[0] = 11;
        s->start_limit.starts[1] = 22;
        s->start_limit.starts[2] = 33;
        s->start_limit.n = 3;
        s->start_limit_hit = true;
        s->stop_requested = true;
        s->restart_requested = true;
        s->have_last_exit = true;
        s->history = calloc(HISTORY_MAX, sizeof(*s->history));
        for (int i = 0; i < HISTORY_MAX + 4; i++) { /* wraps around */
                struct exit_record *e = &s->history[s->history_next];
                char cause[64];
                strv_free(e->stderr_tail);
                free(e->cause);
                snprintf(cause, sizeof(cause), "exited %d", i);
                *e = (struct exit_record){ .time = 1000 + (usec_t)i, .runtime = 50 + (usec_t)i, .pid = 300 + i };
                e->cause = strdup(cause);
                e->stderr_tail = calloc(3, sizeof(char *));
                e->stderr_tail[0] = strdup("first");
                e->stderr_tail[1] = strdup(i % 2 ? "second \xff" : "second");
                e->n_stderr = 2;
                s->history_next = (s->history_next + 1) % HISTORY_MAX;
                if (s->history_n < HISTORY_MAX)
                        s->history_n++;
        }
        fd = open(r->dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        s->cgroup_fd = fd;
        s->listen_fds = calloc(2, sizeof(int));
        s->listen_keys = calloc(2, sizeof(char *));
        for (int i = 0; i < 2; i++) {
                s->listen_fds[i] = listener();
                s->listen_keys[i] = strdup(i ? "stream 127.0.0.1:2 backlog=5" : "stream 127.0.0.1:1 backlog=4");
        }
        s->n_listen_fds = 2;
        s->fdstore = calloc(2, sizeof(*s->fdstore));
        for (int i = 0; i < 2; i++) {
                ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
                close(p[0]);
                s->fdstore[i].fd = p[1];
                s->fdstore[i].name = strdup(i ? "second" : "stored");
        }
        s->n_fdstore = 2;
        s->start_seq = 99;
        add_waiter(s, r->conn[0], json_integer(5), WAIT_START);
        add_waiter(s, r->conn[1], json_string("x"), WAIT_STOP);
        s->queued = true;
        s->stop_queued = true;
        s->desired = DESIRED_STOPPED;
        s->kept = calloc(1, sizeof(*s->kept));
        fill_listener(&s->kept[0], 9);
        s->n_kept = 1;

        up = calloc(1, sizeof(*up));
        up->s = s;
        child_pause(&r->procs[2]);
        up->old = r->procs[2];
        up->old_not_child = true;
        up->old_session = r->procs[2].pid;
        up->conn = r->conn[1];
        up->id = json_pack("{s:i}", "upgrade", 1);
        up->phase = UPGRADE_DRAINING;
        up->mode = HOT_RESTART_TAKEOVER;
        up->moved = calloc(2, sizeof(*up->moved));
        fill_listener(&up->moved[0], 0);
        fill_listener(&up->moved[1], 1);
        up->n_moved = 2;
        up->out_fd[0] = up->out_fd[1] = -EBADF;
        up->drain_signal = SIGQUIT;
        up->drain_timeout = 2500000;
        up->t_begin = 10;
        up->t_spawned = 20;
        up->t_ready = 30;
        up->t_drain = 40;
        up->manager_usec = 50;
        snprintf(up->error, sizeof(up->error), "an error \xff");
        loop_event_init(&up->old_ev, NULL, s);
        loop_event_init(&up->timer_ev, NULL, s);
        loop_event_init(&up->check_ev, NULL, s);
        s->up = up;

        arm(r->loop, &s->timer_ev, 100000000001ULL);
        arm(r->loop, &s->reset_ev, 100000000002ULL);
        arm(r->loop, &s->watchdog_ev, 100000000003ULL);
        arm(r->loop, &s->keep_ev, 100000000004ULL);
        arm(r->loop, &up->timer_ev, 100000000005ULL);
        arm(r->loop, &up->check_ev, 100000000006ULL);
}

static char *rig_args[] = { (char *)"--units", (char *)"/units", (char *)"--subreaper", NULL };

static void rig_init(struct rig *r) {
        memset(r, 0, sizeof(*r));
        r->dir = pv_test_mkdtemp();
        ck_assert_int_eq(loop_new(&r->loop, false, NULL), 0);
        r->m.loop = r->loop;
        r->m.opt.units_dir = (char *)"/units";
        r->m.opt.socket_path = (char *)"/run/x/pidvisor.sock";
        r->m.opt.state_dir = (char *)"/run/x";
        r->m.opt.log_dir = NULL;
        r->m.opt.subreaper = true;
        r->m.opt.force_epoll = true;
        r->m.opt.args = rig_args;
        r->m.start_seq = 1234;
        r->m.notify_ignored = 56;
        r->m.rng = 0xfedcba9876543210ULL;
        r->m.nofile_for_services = (struct rlimit){ 1024, 524288 };
        r->m.lock_fd = open(r->dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        r->m.notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        r->m.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        r->m.cgroup_base = strdup("/sys/fs/cgroup/x/pidvisor-0");
        r->m.signal_fd = r->m.cgroup_base_fd = -EBADF;
        r->conn[0] = make_conn(r, 0);
        r->conn[1] = make_conn(r, 1);
        r->a = service_new(&r->m, "a");
        r->b = service_new(&r->m, "b-with-defaults");
        r->m.services = calloc(2, sizeof(struct service *));
        r->m.services[0] = r->a;
        r->m.services[1] = r->b;
        r->m.n_services = 2;
        fill_service_a(r, r->a);
        /* b: what a fresh service holds, but running its second ExecStartPre=. */
        r->b->cfg = load_unit("/units/b.service", UNIT_B, strlen(UNIT_B), NULL, NULL, 0);
        r->b->state = SERVICE_STARTING;
        r->b->proc_is_pre = true;
        r->b->pre_index = 1;
        child_pause(&r->procs[3]);
        r->b->proc = r->procs[3];
        r->reply_id = json_pack("{s:[i,s]}", "asked", 1, "by");
}

static void rig_done(struct rig *r) {
        for (size_t i = 0; i < r->m.n_services; i++) {
                struct service *s = r->m.services[i];
                if (s->up)
                        s->up->conn = NULL;
                service_free(s);
        }
        free(r->m.services);
        while (r->m.conns) {
                struct conn *c = r->m.conns;
                r->m.conns = c->next;
                close(c->fd);
                free(c->in);
                free(c->out);
                free(c);
        }
        for (int i = 0; i < 4; i++)
                child_end(&r->procs[i]);
        close(r->m.lock_fd);
        close(r->m.notify_fd);
        close(r->m.listen_fd);
        free(r->m.cgroup_base);
        json_decref(r->reply_id);
        loop_free(r->loop);
        pv_test_rmtree(r->dir);
        free(r->dir);
}

static char *write_state(struct rig *r, struct fdlist *keep) {
        char why[256] = "", *text = NULL;
        size_t len = 0;
        int k = state_write(&r->m,
                            &(struct state_reply){ .conn_fd = r->conn[0]->fd, .id = r->reply_id, .t_begin = 777,
                                                   .binary = "/usr/bin/pidvisor", .previous = "/usr/bin/pidvisor (deleted)" },
                            &text, &len, keep, why, sizeof(why));

        ck_assert_msg(k == 0, "state_write: %s", why);
        ck_assert_uint_eq(strlen(text), len);
        {
                /* A seed for the fuzz target's corpus, when asked for. */
                const char *dump = getenv("PV_SERIALIZE_DUMP");
                if (dump)
                        pv_test_write_file(dump, text, 0644);
        }
        return text;
}

static struct conn *parsed_conn(struct saved_state *st, int k) {
        /* In the order written: the manager's list (conn[1] first: added last). */
        struct conn *c = st->m->conns;
        for (int i = 0; i < k; i++)
                c = c->next;
        return c;
}

/* ---- the round trip --------------------------------------------------------------------- */

START_TEST(test_round_trip) {
        struct rig r;
        struct fdlist keep = { 0 };
        struct saved_state *st = NULL;
        char why[512], *text;
        int claims = 0;
        struct service *a, *b;

        rig_init(&r);
        text = write_state(&r, &keep);
        ck_assert_msg(state_read(text, strlen(text), claim_copy, &claims, 0, &st, why, sizeof(why)) == 0, "state_read: %s",
                      why);

        /* Every descriptor the writer named was declared, sorted, and claimed once. */
        ck_assert_uint_eq(st->n_declared, keep.n);
        ck_assert_int_eq(claims, (int)keep.n);
        for (size_t i = 0; i < keep.n; i++) {
                ck_assert_int_eq(st->declared[i], keep.fds[i]);
                ck_assert(st->claimed[i]);
                if (i)
                        ck_assert_int_lt(keep.fds[i - 1], keep.fds[i]);
        }
        /* 3 manager fds, 2 conns; a: proc, former, ready, 2 pipes, log, cgroup, 2 listen,
         * 2 fdstore, 1 kept, upgrade old + 2 moved (15); b: proc. */
        ck_assert_uint_eq(keep.n, 3 + 2 + 15 + 1);

        ck_assert_int_eq(st->format, STATE_FORMAT);
        ck_assert_str_eq(st->writer, "pidvisor " PIDVISOR_VERSION);
        ck_assert_str_eq(st->opt.units_dir, "/units");
        ck_assert_str_eq(st->opt.socket_path, "/run/x/pidvisor.sock");
        ck_assert_str_eq(st->opt.state_dir, "/run/x");
        ck_assert_ptr_null(st->opt.log_dir);
        ck_assert(st->opt.subreaper && st->opt.force_epoll);
        ck_assert_str_eq(st->opt.args[0], "--units");
        ck_assert_str_eq(st->opt.args[2], "--subreaper");
        ck_assert_ptr_null(st->opt.args[3]);
        ck_assert_int_eq(st->log_level, (int)log_max_level);

        ck_assert_uint_eq(st->m->start_seq, 1234);
        ck_assert_uint_eq(st->m->notify_ignored, 56);
        ck_assert_uint_eq(st->m->rng, 0xfedcba9876543210ULL);
        ck_assert_uint_eq(st->m->nofile_for_services.rlim_cur, 1024);
        ck_assert_uint_eq(st->m->nofile_for_services.rlim_max, 524288);
        assert_same_file(st->m->lock_fd, r.m.lock_fd, "lock");
        assert_same_file(st->m->notify_fd, r.m.notify_fd, "notify");
        assert_same_file(st->m->listen_fd, r.m.listen_fd, "control");
        ck_assert_str_eq(st->m->cgroup_base, "/sys/fs/cgroup/x/pidvisor-0");

        /* Connections, in their order. */
        ck_assert_uint_eq(st->m->n_conns, 2);
        for (int k = 0; k < 2; k++) {
                struct conn *o = k ? r.conn[0] : r.conn[1], *c = parsed_conn(st, k);
                assert_same_file(c->fd, o->fd, "connection");
                ck_assert_uint_eq(c->in_len, o->in_len);
                ck_assert(memcmp(c->in, o->in, o->in_len) == 0);
                ck_assert_uint_eq(c->out_len, o->out_len);
                ck_assert(memcmp(c->out, o->out, o->out_len) == 0);
                ck_assert_int_eq(c->subscribed, o->subscribed);
                ck_assert_int_eq(c->eof, o->eof);
                ck_assert_int_eq(c->closing, o->closing);
                ck_assert_uint_eq(c->pending, o->pending);
                ck_assert_uint_eq(c->uid, o->uid);
                ck_assert_ptr_eq(c->m, st->m);
        }
        ck_assert_ptr_eq(st->reply_conn, parsed_conn(st, 1));
        ck_assert(json_equal(st->reply_id, r.reply_id));
        ck_assert_uint_eq(st->reply_t_begin, 777);
        ck_assert_str_eq(st->reply_binary, "/usr/bin/pidvisor");
        ck_assert_str_eq(st->reply_previous, "/usr/bin/pidvisor (deleted)");

        ck_assert_uint_eq(st->m->n_services, 2);
        a = st->m->services[0];
        b = st->m->services[1];
        ck_assert_str_eq(a->name, "a");
        ck_assert_ptr_eq(a->m, st->m);
        /* Units: the same text, parsed again (same hash), the .socket text too. */
        ck_assert_uint_eq(a->cfg->text_len, strlen(UNIT_A));
        ck_assert(memcmp(a->cfg->text, UNIT_A, strlen(UNIT_A)) == 0);
        ck_assert_str_eq(a->cfg->socket_path, "/units/a.socket");
        ck_assert(memcmp(a->cfg->socket_text, SOCKET_A, strlen(SOCKET_A)) == 0);
        ck_assert_uint_eq(a->cfg->hash, r.a->cfg->hash);
        ck_assert_uint_eq(a->cfg->n_listen, 1);
        ck_assert_str_eq(a->cfg->path, "/units/a.service");
        ck_assert_uint_eq(a->next_cfg->hash, r.a->next_cfg->hash);
        ck_assert_int_eq(a->next_cfg->restart, RESTART_ALWAYS);
        ck_assert_ptr_null(a->next_cfg->socket_path);
        /* Every member. */
        ck_assert_str_eq(a->load_error, r.a->load_error);
        ck_assert(a->removed);
        ck_assert_int_eq(a->state, SERVICE_RUNNING);
        ck_assert_str_eq(a->reason, r.a->reason);
        ck_assert_uint_eq(a->state_since, r.a->state_since);
        ck_assert_uint_eq(a->active_since_mono, r.a->active_since_mono);
        ck_assert_int_eq(a->proc.pid, r.a->proc.pid);
        assert_same_file(a->proc.pidfd, r.a->proc.pidfd, "proc");
        ck_assert(a->proc_not_child);
        ck_assert_int_eq(a->session, 4242);
        ck_assert_int_eq(a->former.pid, r.a->former.pid);
        assert_same_file(a->former.pidfd, r.a->former.pidfd, "former");
        ck_assert(!a->proc_is_pre);
        ck_assert_uint_eq(a->pre_index, 7);
        ck_assert_uint_eq(a->timer_deadline, 5555555);
        ck_assert_uint_eq(a->watchdog_usec, USEC_INFINITY);
        ck_assert_int_eq(a->kill_reason, KILLED_WATCHDOG);
        ck_assert(a->awaiting_ready);
        assert_same_file(a->ready_fd, r.a->ready_fd, "ready");
        ck_assert(a->reloading);
        ck_assert_str_eq(a->status_text, r.a->status_text);
        ck_assert_int_eq(a->status_errno, 17);
        for (int i = 0; i < 2; i++) {
                assert_same_file(a->out[i].fd, r.a->out[i].fd, "pipe");
                ck_assert_ptr_eq(a->out[i].s, a);
                ck_assert_uint_eq(a->out[i].partial_len, r.a->out[i].partial_len);
                ck_assert(memcmp(a->out[i].partial, binary_bytes, a->out[i].partial_len) == 0);
        }
        {
                struct logfile_saved x, y;
                logfile_save(a->log, &x);
                logfile_save(r.a->log, &y);
                assert_same_file(x.fd, y.fd, "log");
                ck_assert_str_eq(x.path, y.path);
                ck_assert_uint_eq(x.max_bytes, y.max_bytes);
                ck_assert_uint_eq(x.keep, y.keep);
                ck_assert_uint_eq(x.size, 77);
                ck_assert_uint_eq(x.rotate_at, 4000);
                ck_assert_uint_eq(x.dropped, 123);
                ck_assert_uint_eq(x.unreported, 45);
                ck_assert_int_eq(x.drop_errno, ENOSPC);
                ck_assert(x.mid_line && x.reopen);
        }
        ck_assert(a->log_warned);
        ck_assert_uint_eq(a->tail_n, STDERR_TAIL_MAX);
        for (size_t i = 0; i < STDERR_TAIL_MAX; i++) /* oldest first, wherever the ring starts */
                ck_assert_str_eq(a->tail[(a->tail_next + i) % STDERR_TAIL_MAX],
                                 r.a->tail[(r.a->tail_next + i) % STDERR_TAIL_MAX]);
        ck_assert_uint_eq(a->n_restarts, 31);
        ck_assert_uint_eq(a->backoff_n, 4);
        ck_assert_uint_eq(a->start_limit.n, 3);
        ck_assert_uint_eq(a->start_limit.starts[2], 33);
        ck_assert(a->start_limit_hit && a->stop_requested && a->restart_requested && a->have_last_exit);
        ck_assert_uint_eq(a->history_n, HISTORY_MAX);
        for (size_t i = 0; i < HISTORY_MAX; i++) {
                const struct exit_record *x = &a->history[(a->history_next + i) % HISTORY_MAX],
                                         *y = &r.a->history[(r.a->history_next + i) % HISTORY_MAX];
                ck_assert_uint_eq(x->time, y->time);
                ck_assert_uint_eq(x->runtime, y->runtime);
                ck_assert_int_eq(x->pid, y->pid);
                ck_assert_str_eq(x->cause, y->cause);
                ck_assert_uint_eq(x->n_stderr, 2);
                ck_assert_str_eq(x->stderr_tail[1], y->stderr_tail[1]);
                ck_assert_ptr_null(x->stderr_tail[2]);
        }
        assert_same_file(a->cgroup_fd, r.a->cgroup_fd, "cgroup");
        ck_assert_uint_eq(a->n_listen_fds, 2);
        for (int i = 0; i < 2; i++) {
                assert_same_file(a->listen_fds[i], r.a->listen_fds[i], "[Socket] listener");
                ck_assert_str_eq(a->listen_keys[i], r.a->listen_keys[i]);
        }
        ck_assert_uint_eq(a->n_fdstore, 2);
        for (int i = 0; i < 2; i++) {
                assert_same_file(a->fdstore[i].fd, r.a->fdstore[i].fd, "fd store");
                ck_assert_str_eq(a->fdstore[i].name, r.a->fdstore[i].name);
        }
        ck_assert_uint_eq(a->start_seq, 99);
        ck_assert(a->waiters && a->waiters->next && !a->waiters->next->next);
        ck_assert_ptr_eq(a->waiters->conn, parsed_conn(st, 1));
        ck_assert_int_eq(a->waiters->kind, WAIT_START);
        ck_assert(json_equal(a->waiters->id, r.a->waiters->id));
        ck_assert_ptr_eq(a->waiters->next->conn, parsed_conn(st, 0));
        ck_assert_int_eq(a->waiters->next->kind, WAIT_STOP);
        ck_assert(json_equal(a->waiters->next->id, r.a->waiters->next->id));
        ck_assert(a->queued && a->stop_queued);
        ck_assert_int_eq(a->desired, DESIRED_STOPPED);
        assert_listeners(a->kept, a->n_kept, r.a->kept, r.a->n_kept);
        /* The upgrade, every member. */
        ck_assert_ptr_nonnull(a->up);
        ck_assert_ptr_eq(a->up->s, a);
        ck_assert_ptr_eq(a->up->conn, parsed_conn(st, 0));
        ck_assert(json_equal(a->up->id, r.a->up->id));
        ck_assert_int_eq(a->up->phase, UPGRADE_DRAINING);
        ck_assert_int_eq(a->up->mode, HOT_RESTART_TAKEOVER);
        ck_assert_int_eq(a->up->old.pid, r.a->up->old.pid);
        assert_same_file(a->up->old.pidfd, r.a->up->old.pidfd, "old instance");
        ck_assert(a->up->old_not_child);
        assert_listeners(a->up->moved, a->up->n_moved, r.a->up->moved, r.a->up->n_moved);
        ck_assert_int_eq(a->up->out_fd[0], -EBADF);
        ck_assert_int_eq(a->up->drain_signal, SIGQUIT);
        ck_assert_uint_eq(a->up->drain_timeout, 2500000);
        ck_assert_uint_eq(a->up->t_begin, 10);
        ck_assert_uint_eq(a->up->t_spawned, 20);
        ck_assert_uint_eq(a->up->t_ready, 30);
        ck_assert_uint_eq(a->up->t_drain, 40);
        ck_assert_uint_eq(a->up->manager_usec, 50);
        ck_assert_str_eq(a->up->error, r.a->up->error);
        /* The deadlines of the armed timers. */
        ck_assert_uint_eq(st->timers[0].timer, 100000000001ULL);
        ck_assert_uint_eq(st->timers[0].reset, 100000000002ULL);
        ck_assert_uint_eq(st->timers[0].watchdog, 100000000003ULL);
        ck_assert_uint_eq(st->timers[0].keep, 100000000004ULL);
        ck_assert_uint_eq(st->timers[0].up_timer, 100000000005ULL);
        ck_assert_uint_eq(st->timers[0].up_check, 100000000006ULL);
        /* Nothing is armed in a detached state. */
        ck_assert(!loop_event_armed(&a->timer_ev) && !loop_event_armed(&a->child_ev));

        /* b: defaults stay defaults. */
        ck_assert_str_eq(b->name, "b-with-defaults");
        ck_assert_int_eq(b->state, SERVICE_STARTING);
        ck_assert(b->proc_is_pre);
        ck_assert_uint_eq(b->pre_index, 1);
        assert_same_file(b->proc.pidfd, r.b->proc.pidfd, "b's ExecStartPre=");
        ck_assert_int_eq(b->ready_fd, -EBADF);
        ck_assert_int_eq(b->status_errno, -1);
        ck_assert_int_eq(b->out[0].fd, -EBADF);
        ck_assert_int_eq(b->cgroup_fd, -EBADF);
        ck_assert_ptr_null(b->next_cfg);
        ck_assert_ptr_null(b->log);
        ck_assert_ptr_null(b->history);
        ck_assert_ptr_null(b->up);
        ck_assert_int_eq(b->former.pidfd, -1);
        ck_assert_uint_eq(st->timers[1].timer, 0);
        ck_assert_int_eq(b->desired, DESIRED_NONE);

        saved_state_free(st);
        fdlist_done(&keep);
        free(text);
        rig_done(&r);
}
END_TEST

/* ---- what the reader refuses ---------------------------------------------------------------- */

/* The rig's state with one edit (a JSON merge into the object at `path`, "" for the root,
 * or a key removed when value is NULL), read back: must fail with `want` in the reason. */
static void refused(const char *path, const char *key, json_t *value, int err, const char *want) {
        struct rig r;
        struct fdlist keep = { 0 };
        struct saved_state *st = NULL;
        char why[512], *text = NULL, *edited;
        json_t *root, *at;
        int claims = 0, k;

        rig_init(&r);
        text = write_state(&r, &keep);
        root = json_loads(text, 0, NULL);
        ck_assert_ptr_nonnull(root);
        at = root;
        if (*path) {
                char *p = strdup(path), *save = NULL;
                for (char *tok = strtok_r(p, "/", &save); tok; tok = strtok_r(NULL, "/", &save))
                        at = json_is_array(at) ? json_array_get(at, (size_t)atoi(tok)) : json_object_get(at, tok);
                free(p);
        }
        ck_assert_ptr_nonnull(at);
        if (value)
                json_object_set_new(at, key, value);
        else
                json_object_del(at, key);
        edited = json_dumps(root, JSON_COMPACT);
        k = state_read(edited, strlen(edited), claim_copy, &claims, 0, &st, why, sizeof(why));
        ck_assert_msg(k == err, "%s/%s: state_read returned %d (%s), expected %d", path, key, k, why, err);
        ck_assert_msg(strstr(why, want), "%s/%s: reason \"%s\", expected it to say \"%s\"", path, key, why, want);
        ck_assert_ptr_null(st);
        free(edited);
        json_decref(root);
        fdlist_done(&keep);
        free(text);
        rig_done(&r);
}

START_TEST(test_refused) {
        refused("", "format", json_integer(STATE_FORMAT + 1), -EPROTONOSUPPORT, "this binary reads formats 1");
        refused("", "format", NULL, -EINVAL, "not a pidvisor state");
        refused("", "fds", json_pack("[i,i]", 9, 8), -EINVAL, "not sorted");
        refused("", "fds", json_pack("[i]", 1), -EINVAL, "not a descriptor number");
        refused("services/0", "ready_fd", json_integer(100000), -EINVAL,
                "service \"a\": \"ready_fd\": descriptor 100000 is not among those the state declares");
        refused("services/0", "state", json_integer(99), -EINVAL, "service \"a\": state 99");
        {
                char long_reason[400];
                memset(long_reason, 'x', sizeof(long_reason) - 1);
                long_reason[sizeof(long_reason) - 1] = 0;
                refused("services/0", "reason", json_string(long_reason), -EINVAL, "\"reason\": a NUL byte, or longer than 255 bytes");
        }
}
END_TEST

/* A descriptor two members name, a service without a config, bad encodings... */
START_TEST(test_refused_more) {
        refused("services/1", "pre_index", json_integer(5), -EINVAL, "service \"b-with-defaults\": ExecStartPre= 6 of 2");
        refused("services/1", "cfg", NULL, -EINVAL, "service \"b-with-defaults\": starting without a unit config");
        refused("services/0", "tail", json_pack("[s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s]", "", "", "", "", "", "", "",
                                                "", "", "", "", "", "", "", "", "", "", "", "", "", ""),
                -EINVAL, "\"tail\": expected at most 20 lines");
        refused("services/0", "status_text", json_pack("{s:s}", "base64", "!!"), -EINVAL, "\"status_text\": expected a string");
        refused("services/0", "status_text", json_pack("{s:s}", "base64", "YQBi"), -EINVAL, "a NUL byte");
        refused("services/0/cfg", "text", json_string("[Service]\nNoSuchSection\n"), -EINVAL,
                "service \"a\": the unit text it runs does not parse in this binary");
        refused("services/1", "name", json_string("a"), -EINVAL, "service \"a\" twice");
        refused("manager", "lock_fd", NULL, -EINVAL, "the lock, notify socket and control socket descriptors are required");
        refused("services/0", "waiters", json_pack("[{s:i, s:s, s:i}]", "conn", 12345, "kind", "start", "id", 1), -EINVAL,
                "a request on connection 12345, which the state does not have");
        refused("", "options", json_pack("{s:s}", "units_dir", "/u"), -EINVAL, "units_dir, socket_path and state_dir are required");
        /* Found by fuzz-state: status reads the last exit from the history. */
        refused("services/0", "history", NULL, -EINVAL, "service \"a\": a last exit without a history");
}
END_TEST

/* A descriptor named twice: the writer refuses to write such a state. */
START_TEST(test_writer_refuses_twice) {
        struct rig r;
        struct fdlist keep = { 0 };
        char why[256] = "", *text = NULL;
        size_t len;

        rig_init(&r);
        r.b->ready_fd = r.a->ready_fd; /* two owners */
        ck_assert_int_eq(state_write(&r.m, NULL, &text, &len, &keep, why, sizeof(why)), -EEXIST);
        ck_assert_msg(strstr(why, "is named twice"), "%s", why);
        r.b->ready_fd = -EBADF;
        fdlist_done(&keep);
        rig_done(&r);
}
END_TEST

/* A claim that fails fails the read, and the reader closes what it took. */
START_TEST(test_claim_fails) {
        struct rig r;
        struct fdlist keep = { 0 };
        struct saved_state *st = NULL;
        char why[512], *text;

        rig_init(&r);
        text = write_state(&r, &keep);
        ck_assert_int_eq(state_read(text, strlen(text), claim_refuse, NULL, 0, &st, why, sizeof(why)), -EINVAL);
        ck_assert_msg(strstr(why, "Bad file descriptor"), "%s", why);
        fdlist_done(&keep);
        free(text);
        rig_done(&r);
}
END_TEST

/* ---- bytes -------------------------------------------------------------------------------- */

static void bytes_round_trip(const char *p, size_t len, bool as_string) {
        json_t *v = state_bytes(p, len);
        char *back = NULL;
        size_t blen = 0;

        ck_assert_ptr_nonnull(v);
        ck_assert_int_eq(json_is_string(v), as_string);
        ck_assert_int_eq(state_read_bytes(v, &back, &blen), 0);
        ck_assert_uint_eq(blen, len);
        ck_assert(memcmp(back, p, len) == 0);
        ck_assert_int_eq(back[len], 0);
        free(back);
        json_decref(v);
}

START_TEST(test_bytes) {
        char all[256];

        for (int i = 0; i < 256; i++)
                all[i] = (char)i;
        bytes_round_trip("", 0, true);
        bytes_round_trip("plain text\n\ttabs", 16, true);
        bytes_round_trip("caf\xc3\xa9", 5, true);
        bytes_round_trip("\xff", 1, false);
        bytes_round_trip("a\0b", 3, false);
        for (size_t n = 0; n <= 256; n++)
                bytes_round_trip(all + (256 - n), n, n == 0);
        {
                char *out = NULL;
                size_t len;
                json_t *bad = json_pack("{s:s}", "base64", "YQ=");
                ck_assert_int_eq(state_read_bytes(bad, &out, &len), -EINVAL);
                json_decref(bad);
                bad = json_pack("{s:s, s:i}", "base64", "YQ==", "more", 1);
                ck_assert_int_eq(state_read_bytes(bad, &out, &len), -EINVAL);
                json_decref(bad);
                bad = json_integer(3);
                ck_assert_int_eq(state_read_bytes(bad, &out, &len), -EINVAL);
                json_decref(bad);
        }
}
END_TEST

int main(void) {
        Suite *s = pv_test_suite("serialize");
        TCase *tc = pv_test_case("serialize");

        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_round_trip);
        tcase_add_test(tc, test_refused);
        tcase_add_test(tc, test_refused_more);
        tcase_add_test(tc, test_writer_refuses_twice);
        tcase_add_test(tc, test_claim_fails);
        tcase_add_test(tc, test_bytes);
        pv_test_add(s, tc, NULL);
        return pv_test_main(s);
}
