/* SPDX-License-Identifier: MIT */
/* The control socket: a unix stream socket, mode 0600, one JSON request per line and one
 * JSON reply per line (docs/protocol.md).  Every connection is checked with SO_PEERCRED
 * (root or the daemon's own uid).  A client cannot hurt the others: lines are bounded,
 * a silent or half-written client is dropped after CONN_IDLE_TIMEOUT, and an event
 * subscriber that stops reading is dropped once its backlog passes OUT_MAX. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/util.h"
#include "log.h"
#include "manager.h"
#include "recover.h"
#include "reexec.h"
#include "upgrade.h"

#define LINE_MAX_BYTES (64 * 1024)
#define OUT_MAX (1024 * 1024)
#define CONN_MAX 1024
#define CONN_IDLE_TIMEOUT (10 * USEC_PER_SEC)

static void conn_arm(struct conn *c);
static void conn_free(struct conn *c);

static void on_idle(struct loop_event *ev, int res) {
        struct conn *c = ev->data;

        if (res < 0)
                return;
        if (c->subscribed || c->pending) /* waiting on us, not idle */
                return;
        log_debug("control: closing a connection idle for %llus",
                  (unsigned long long)(CONN_IDLE_TIMEOUT / USEC_PER_SEC));
        conn_free(c);
}

static void conn_touch(struct conn *c) {
        loop_disarm(c->m->loop, &c->idle_ev);
        if (!c->subscribed && !c->pending)
                loop_timer(c->m->loop, &c->idle_ev, now_usec(CLOCK_MONOTONIC) + CONN_IDLE_TIMEOUT);
}

static void conn_free(struct conn *c) {
        struct manager *m = c->m;

        for (size_t i = 0; i < m->n_services; i++)
                service_drop_waiters_of(m->services[i], c);
        reexec_drop_conn(m, c);
        loop_disarm(m->loop, &c->io_ev);
        loop_disarm(m->loop, &c->idle_ev);
        safe_close(c->fd);
        if (c->prev)
                c->prev->next = c->next;
        else
                m->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        m->n_conns--;
        free(c->in);
        free(c->out);
        free(c);
}

/* Queues bytes; a reply that cannot be queued drops the connection. */
static bool conn_write(struct conn *c, const char *data, size_t len) {
        if (c->out_len + len > OUT_MAX) {
                log_warning("control: a client does not read its replies (%zu bytes waiting), dropping it",
                            c->out_len);
                c->closing = true;
                c->out_len = 0;
                return false;
        }
        if (c->out_len + len > c->out_cap) {
                size_t cap = c->out_cap ? c->out_cap : 4096;
                char *n;
                while (cap < c->out_len + len)
                        cap *= 2;
                n = realloc(c->out, cap);
                if (!n)
                        return false;
                c->out = n;
                c->out_cap = cap;
        }
        memcpy(c->out + c->out_len, data, len);
        c->out_len += len;
        return true;
}

static void conn_send_json(struct conn *c, json_t *o) {
        char *s = json_dumps(o, JSON_COMPACT);

        if (s) {
                if (conn_write(c, s, strlen(s)))
                        conn_write(c, "\n", 1);
                free(s);
        }
        json_decref(o);
        conn_arm(c);
}

void control_reply(struct conn *c, json_t *id, bool ok, json_t *result, const char *error) {
        json_t *o = json_object();

        json_object_set(o, "id", id ? id : json_null());
        json_object_set_new(o, "ok", json_boolean(ok));
        if (ok)
                json_object_set_new(o, "result", result ? result : json_object());
        else {
                json_object_set_new(o, "error", json_string(error ? error : "failed"));
                json_decref(result);
        }
        conn_send_json(c, o);
}

void conn_job_done(struct conn *c) {
        if (c->pending)
                c->pending--;
        conn_touch(c);
}

bool control_has_subscribers(const struct manager *m) {
        for (const struct conn *c = m->conns; c; c = c->next)
                if (c->subscribed && !c->closing)
                        return true;
        return false;
}

void control_broadcast_event(struct manager *m, json_t *event) {
        char *s = NULL;

        for (struct conn *c = m->conns; c; c = c->next) {
                if (!c->subscribed || c->closing)
                        continue;
                if (!s)
                        s = json_dumps(event, JSON_COMPACT);
                if (s && conn_write(c, s, strlen(s)))
                        conn_write(c, "\n", 1);
                conn_arm(c);
        }
        free(s);
        json_decref(event);
}

/* --- requests ------------------------------------------------------------------------ */

static json_t *list_json(struct manager *m) {
        json_t *a = json_array();

        for (size_t i = 0; i < m->n_services; i++)
                json_array_append_new(a, service_to_json(m->services[i], false));
        return json_pack("{s:o}", "services", a);
}

static struct service *require_service(struct conn *c, json_t *id, json_t *args) {
        const char *name = json_string_value(json_object_get(args, "name"));
        struct service *s;
        char msg[400];

        if (!name) {
                control_reply(c, id, false, NULL, "missing \"name\" in args");
                return NULL;
        }
        s = manager_find(c->m, name);
        if (!s) {
                snprintf(msg, sizeof(msg), "no such service \"%.300s\"", name);
                control_reply(c, id, false, NULL, msg);
        }
        return s;
}

static void handle_request(struct conn *c, const char *line, size_t len) {
        struct manager *m = c->m;
        json_error_t jerr;
        json_t *req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr), *id, *args;
        const char *cmd, *why = NULL;
        struct service *s;
        char msg[512];

        if (!req || !json_is_object(req)) {
                snprintf(msg, sizeof(msg), "invalid request: %s", req ? "not a JSON object" : jerr.text);
                control_reply(c, NULL, false, NULL, msg);
                json_decref(req);
                return;
        }
        id = json_object_get(req, "id");
        args = json_object_get(req, "args");
        cmd = json_string_value(json_object_get(req, "cmd"));
        if (!cmd) {
                control_reply(c, id, false, NULL, "missing \"cmd\"");
                goto out;
        }
        if (args && !json_is_object(args)) {
                control_reply(c, id, false, NULL, "\"args\" must be an object");
                goto out;
        }

        if (!strcmp(cmd, "ping"))
                control_reply(c, id, true, json_pack("{s:s, s:s}", "version", PIDVISOR_VERSION,
                                                      "loop", loop_backend_name(m->loop)), NULL);
        else if (!strcmp(cmd, "list"))
                control_reply(c, id, true, list_json(m), NULL);
        else if (!strcmp(cmd, "status")) {
                if (!json_object_get(args, "name"))
                        control_reply(c, id, true, list_json(m), NULL);
                else if ((s = require_service(c, id, args)))
                        control_reply(c, id, true, service_to_json(s, true), NULL);
        } else if (!strcmp(cmd, "start") || !strcmp(cmd, "restart")) {
                if (m->shutting_down)
                        control_reply(c, id, false, NULL, "the daemon is shutting down");
                else if ((s = require_service(c, id, args))) {
                        char why_buf[600];
                        int r;
                        if (!strcmp(cmd, "start")) {
                                r = deps_start(s, why_buf, sizeof(why_buf));
                                why = why_buf;
                        } else
                                r = service_restart(s, &why);
                        if (r < 0)
                                control_reply(c, id, false, NULL, why);
                        else {
                                recover_set_desired(s, DESIRED_STARTED);
                                service_add_waiter(s, c, id, WAIT_START);
                        }
                }
        } else if (!strcmp(cmd, "stop")) {
                if ((s = require_service(c, id, args))) {
                        recover_set_desired(s, DESIRED_STOPPED);
                        deps_stop(s);
                        service_add_waiter(s, c, id, WAIT_STOP);
                }
        } else if (!strcmp(cmd, "upgrade")) {
                if (m->shutting_down)
                        control_reply(c, id, false, NULL, "the daemon is shutting down");
                else if ((s = require_service(c, id, args))) {
                        char why_buf[600];
                        if (upgrade_begin(s, c, id, why_buf, sizeof(why_buf)) < 0)
                                control_reply(c, id, false, NULL, why_buf);
                }
        } else if (!strcmp(cmd, "reset-failed")) {
                if ((s = require_service(c, id, args))) {
                        service_reset_failed(s, &why);
                        control_reply(c, id, true, service_to_json(s, false), NULL);
                }
        } else if (!strcmp(cmd, "reload")) {
                json_t *report = NULL;
                int r = manager_reload(m, json_is_true(json_object_get(args, "restart_changed")), &report);
                if (r < 0) {
                        snprintf(msg, sizeof(msg), "reload failed: %s", strerror(-r));
                        control_reply(c, id, false, report, msg);
                } else
                        control_reply(c, id, true, report, NULL);
        } else if (!strcmp(cmd, "daemon-reexec")) {
                json_t *b = json_object_get(args, "binary");
                if (b && !json_is_string(b))
                        control_reply(c, id, false, NULL, "\"binary\" must be a string");
                else if (reexec_request(m, c, id, json_string_value(b), msg, sizeof(msg)) < 0)
                        control_reply(c, id, false, NULL, msg);
        } else if (!strcmp(cmd, "events")) {
                c->subscribed = true;
                loop_disarm(m->loop, &c->idle_ev);
                control_reply(c, id, true, list_json(m), NULL);
        } else {
                snprintf(msg, sizeof(msg),
                         "unknown command \"%.200s\" (known: ping list status start stop restart "
                         "upgrade reset-failed reload events daemon-reexec)", cmd);
                control_reply(c, id, false, NULL, msg);
        }
out:
        json_decref(req);
}

/* --- I/O ----------------------------------------------------------------------------- */

static void on_conn_io(struct loop_event *ev, int res);

/* Never frees: a connection is freed only by its own handlers, so that no caller up the
 * stack (a waiter list being walked, a request being handled) is left with a dangling
 * pointer.  To close, it arms POLLOUT, which fires at once, and the handler frees. */
static void conn_arm(struct conn *c) {
        uint32_t events = 0;

        if (c->eof && !c->pending && !c->subscribed)
                c->closing = true;
        if (c->eof && c->subscribed)
                c->closing = true;
        if (c->closing)
                events = POLLOUT;
        else {
                if (!c->eof)
                        events |= POLLIN;
                if (c->out_len)
                        events |= POLLOUT;
        }
        loop_disarm(c->m->loop, &c->io_ev);
        if (events && loop_poll(c->m->loop, &c->io_ev, c->fd, events) < 0)
                log_error("control: cannot watch a connection; it is left hanging");
}

static bool conn_flush(struct conn *c) {
        while (c->out_len) {
                ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0)
                        return errno == EAGAIN || errno == EINTR;
                memmove(c->out, c->out + n, c->out_len - (size_t)n);
                c->out_len -= (size_t)n;
        }
        return true;
}

static void on_conn_io(struct loop_event *ev, int res) {
        struct conn *c = ev->data;

        if (res < 0 || (res & POLLERR) || c->closing) {
                if (res >= 0 && c->closing)
                        conn_flush(c);
                conn_free(c);
                return;
        }
        if ((res & POLLOUT) && !conn_flush(c)) {
                conn_free(c);
                return;
        }
        if (res & (POLLIN | POLLHUP)) {
                for (;;) {
                        ssize_t n;
                        char *nl;

                        if (c->in_cap - c->in_len < 4096) {
                                size_t cap = c->in_cap ? c->in_cap * 2 : 8192;
                                char *b = realloc(c->in, cap);
                                if (!b) {
                                        conn_free(c);
                                        return;
                                }
                                c->in = b;
                                c->in_cap = cap;
                        }
                        n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
                        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                                break;
                        if (n <= 0) {
                                /* EOF (or an error): answer what is complete, then go.  A
                                 * client that half-closes but waits for a job is answered
                                 * when the job is done. */
                                c->eof = true;
                                break;
                        }
                        c->in_len += (size_t)n;
                        while ((nl = memchr(c->in, '\n', c->in_len))) {
                                size_t linelen = (size_t)(nl - c->in);
                                if (linelen > 0)
                                        handle_request(c, c->in, linelen);
                                memmove(c->in, nl + 1, c->in_len - linelen - 1);
                                c->in_len -= linelen + 1;
                                /* Only a whole request counts as activity: a client that
                                 * drips a byte at a time is still idle. */
                                conn_touch(c);
                        }
                        if (c->in_len > LINE_MAX_BYTES) {
                                char msg[96];
                                snprintf(msg, sizeof(msg), "request too long (more than %d bytes without a newline)",
                                         LINE_MAX_BYTES);
                                control_reply(c, NULL, false, NULL, msg);
                                c->in_len = 0;
                                c->closing = true;
                                break;
                        }
                }
        }
        conn_arm(c);
        if (c->closing) {
                conn_flush(c); /* best effort: the last reply, e.g. why we close */
                conn_free(c);
        }
}

struct conn *control_adopt(struct manager *m, int fd, uid_t uid) {
        struct conn *c = calloc(1, sizeof(*c));

        if (!c)
                return NULL;
        c->m = m;
        c->fd = fd;
        c->uid = uid;
        loop_event_init(&c->io_ev, on_conn_io, c);
        loop_event_init(&c->idle_ev, on_idle, c);
        c->next = m->conns;
        if (m->conns)
                m->conns->prev = c;
        m->conns = c;
        m->n_conns++;
        conn_touch(c);
        conn_arm(c);
        return c;
}

void control_restore_conn(struct conn *c) {
        loop_event_init(&c->io_ev, on_conn_io, c);
        loop_event_init(&c->idle_ev, on_idle, c);
        conn_touch(c);
        conn_arm(c);
}

void control_handle_line(struct conn *c, const char *line, size_t len) {
        handle_request(c, line, len);
}

/* Out of descriptors, the listening socket stays readable: without this, the loop would
 * spin on it.  A descriptor kept in reserve lets us accept the client, tell it why, and
 * close it; the reserve is taken again afterwards. */
static int reserve_fd = -1;

static void refuse_for_lack_of_fds(struct manager *m) {
        static const char msg[] = "{\"id\":null,\"ok\":false,\"error\":\"the daemon is out of file "
                                  "descriptors\"}\n";
        int fd;

        if (reserve_fd < 0)
                return;
        reserve_fd = safe_close(reserve_fd);
        fd = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd >= 0) {
                (void)!send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
                close(fd);
        }
        reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        log_warning("control: out of file descriptors, refused a client");
}

static void on_accept(struct loop_event *ev, int res) {
        struct manager *m = ev->data;

        for (int i = 0; i < 64; i++) {
                struct ucred cred;
                socklen_t sl = sizeof(cred);
                int fd = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

                if (fd < 0) {
                        if (errno == EMFILE || errno == ENFILE)
                                refuse_for_lack_of_fds(m);
                        break;
                }
                if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &sl) < 0 ||
                    (cred.uid != 0 && cred.uid != geteuid())) {
                        static const char denied[] =
                                "{\"id\":null,\"ok\":false,\"error\":\"permission denied: only root "
                                "and the daemon's own user may use this socket\"}\n";
                        log_warning("control: refused a client with uid %u (pid %d)", (unsigned)cred.uid,
                                    (int)cred.pid);
                        (void)!send(fd, denied, sizeof(denied) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
                        close(fd);
                        continue;
                }
                if (m->n_conns >= CONN_MAX) {
                        static const char busy[] =
                                "{\"id\":null,\"ok\":false,\"error\":\"too many connections\"}\n";
                        (void)!send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
                        close(fd);
                        continue;
                }
                if (!control_adopt(m, fd, cred.uid))
                        close(fd);
        }
        if (loop_poll(m->loop, &m->listen_ev, m->listen_fd, POLLIN) < 0)
                log_error("control: cannot watch the socket any more; no more clients");
}

int control_listen(struct manager *m) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        const char *path = m->opt.socket_path;
        mode_t old;
        int fd, r;

        if (m->listen_fd >= 0) /* kept across a re-exec: clients queued meanwhile */
                goto arm;

        if (strlen(path) >= sizeof(sa.sun_path)) {
                log_error("control socket path too long (at most %zu bytes): %s", sizeof(sa.sun_path) - 1, path);
                return -ENAMETOOLONG;
        }
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return negerrno();
        /* The state directory's lock (manager.c) proves no live daemon uses this state; a
         * live daemon with another state directory but this socket still answers, and is
         * not replaced. */
        for (int tries = 0;; tries++) {
                /* A daemon killed a moment ago may still answer for a few ms while the
                 * kernel tears its io_uring down; a live one keeps answering. */
                if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                        break;
                close(fd);
                if (tries == 20) {
                        log_error("another daemon is already listening on %s", path);
                        return -EADDRINUSE;
                }
                usleep(10000);
                fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
                if (fd < 0)
                        return negerrno();
        }
        close(fd);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return negerrno();
        unlink(path);
        old = umask(0177);
        r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
        umask(old);
        if (r < 0 || listen(fd, 256) < 0) {
                r = negerrno();
                log_error("control socket %s: %s", path, strerror(-r));
                close(fd);
                return r;
        }
        chmod(path, 0600);
        m->listen_fd = fd;
arm:
        if (reserve_fd < 0)
                reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        loop_event_init(&m->listen_ev, on_accept, m);
        return loop_poll(m->loop, &m->listen_ev, m->listen_fd, POLLIN);
}

void control_close_all(struct manager *m) {
        while (m->conns) {
                struct conn *c = m->conns;
                conn_flush(c);
                conn_free(c);
        }
        if (m->listen_fd >= 0) {
                loop_disarm(m->loop, &m->listen_ev);
                m->listen_fd = safe_close(m->listen_fd);
                unlink(m->opt.socket_path);
        }
        reserve_fd = safe_close(reserve_fd);
}
