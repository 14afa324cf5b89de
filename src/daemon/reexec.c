/* SPDX-License-Identifier: MIT */
/* `pidvisor daemon-reexec`: the daemon executes itself in place (reexec.h,
 * docs/reexec.md). */
#include "reexec.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <pidvisor/pidvisor.h>

#include "lib/util.h"
#include "log.h"
#include "manager.h"
#include "recover.h"
#include "serialize.h"

extern char **environ;

/* Test settings, said in the log when used (as $PIDVISOR_TEST_CGROUP_HIDE is): */
/* the old process skips `BINARY --reexec-format`, so that a binary that cannot be
 * executed reaches execve itself (the failure path is then tested for real); */
#define SKIP_CHECK_ENV "PIDVISOR_TEST_REEXEC_SKIP_CHECK"
/* the new process refuses the state once, as a binary that cannot read it would (the
 * fallback it executes does not see this variable any more). */
#define REFUSE_ENV "PIDVISOR_TEST_REEXEC_REFUSE"

#define CHECK_TIMEOUT_USEC (5 * USEC_PER_SEC)

struct reexec {
        struct conn *conn; /* who asked; NULL once gone */
        json_t *id;
        char *binary;      /* what to execute */
        char *previous;    /* what runs now (/proc/self/exe) */
        usec_t t_begin;
};

int reexec_print_formats(void) {
        printf("%s\n", state_formats_read());
        return fflush(stdout) == 0 ? 0 : 1;
}

/* /proc/self/exe: the running binary's path, with " (deleted)" when it was replaced. */
static char *self_exe(bool strip_deleted) {
        char buf[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
        static const char deleted[] = " (deleted)";

        if (n <= 0)
                return NULL;
        buf[n] = 0;
        if (strip_deleted && (size_t)n > strlen(deleted) && !strcmp(buf + n - strlen(deleted), deleted))
                buf[n - strlen(deleted)] = 0;
        return strdup(buf);
}

/* `BINARY --reexec-format` must list the format this daemon writes. */
static int check_format(const char *binary, char *why, size_t why_size) {
        char *argv[] = { (char *)binary, "--reexec-format", NULL };
        struct pv_process p = PV_PROCESS_NULL;
        struct pv_error err = { 0 };
        struct pv_exit ex = { 0 };
        struct pv_spawn_attr a;
        int pipes[3] = { -1, -1, -1 }, r;
        usec_t deadline = now_usec(CLOCK_MONOTONIC) + CHECK_TIMEOUT_USEC;
        char out[512], want[16];
        size_t len = 0;
        bool timed_out = false, found = false;

        pv_spawn_attr_init(&a);
        a.path = binary;
        a.argv = argv;
        a.envp = environ;
        a.stdio[0].kind = PV_STDIO_NULL;
        a.stdio[1].kind = PV_STDIO_PIPE;
        a.stdio[2].kind = PV_STDIO_NULL;
        a.close_other_fds = true;
        r = pv_spawn(&a, &p, pipes, &err);
        if (r < 0) {
                snprintf(why, why_size, "cannot run \"%s --reexec-format\": %s", binary, err.message);
                return r;
        }
        for (;;) {
                struct pollfd pfd = { .fd = pipes[1], .events = POLLIN };
                usec_t now = now_usec(CLOCK_MONOTONIC);
                ssize_t n;

                if (now >= deadline) {
                        timed_out = true;
                        break;
                }
                if (poll(&pfd, 1, (int)((deadline - now) / 1000 + 1)) < 0 && errno != EINTR)
                        break;
                n = read(pipes[1], out + len, sizeof(out) - 1 - len);
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        continue;
                if (n <= 0)
                        break;
                len += (size_t)n;
                if (len == sizeof(out) - 1)
                        break;
        }
        out[len] = 0;
        safe_close(pipes[1]);
        if (timed_out)
                pv_process_signal(&p, SIGKILL, NULL);
        r = pv_process_wait(&p, 0, &ex, NULL);
        pv_process_release(&p);
        if (timed_out) {
                snprintf(why, why_size, "\"%s --reexec-format\" did not answer within %llu s", binary,
                         (unsigned long long)(CHECK_TIMEOUT_USEC / USEC_PER_SEC));
                return -ETIMEDOUT;
        }
        snprintf(want, sizeof(want), "%d", STATE_FORMAT);
        for (char *save = NULL, *tok = strtok_r(out, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save))
                found |= !strcmp(tok, want);
        if (r == 0 && !ex.signaled && ex.status == 0 && found)
                return 0;
        out[strcspn(out, "\n")] = 0;
        if (r == 0 && !ex.signaled && ex.status == 0 && len > 0)
                snprintf(why, why_size, "%s cannot read this daemon's state (format %d; it reads %.60s): not re-executing",
                         binary, STATE_FORMAT, out);
        else
                snprintf(why, why_size, "%s does not take over a running daemon (\"%s --reexec-format\" %s): not re-executing",
                         binary, binary, ex.signaled ? "was killed" : ex.status ? "failed" : "printed nothing");
        return -EPROTONOSUPPORT;
}

int reexec_request(struct manager *m, struct conn *c, json_t *id, const char *binary, char *why,
                   size_t why_size) {
        _cleanup_free_ char *bin = NULL, *previous = NULL;
        struct reexec *rx;
        int r;

        if (m->shutting_down) {
                snprintf(why, why_size, "the daemon is shutting down");
                return -ESHUTDOWN;
        }
        if (m->reexec) {
                snprintf(why, why_size, "a re-exec is under way already (%s)", m->reexec->binary);
                return -EBUSY;
        }
        if (binary && binary[0] != '/') {
                snprintf(why, why_size, "--binary \"%.200s\": give an absolute path", binary);
                return -EINVAL;
        }
        bin = binary ? strdup(binary) : self_exe(true);
        previous = self_exe(false);
        if (!bin || !previous) {
                snprintf(why, why_size, "cannot tell which binary runs now (/proc/self/exe)");
                return -ENOENT;
        }
        if (getenv(SKIP_CHECK_ENV))
                log_warning("daemon-reexec: $%s is set: %s --reexec-format is not asked (a test setting)",
                            SKIP_CHECK_ENV, bin);
        else {
                r = check_format(bin, why, why_size);
                if (r < 0) {
                        log_warning("daemon-reexec refused: %s", why);
                        return r;
                }
        }
        rx = calloc(1, sizeof(*rx));
        if (!rx) {
                snprintf(why, why_size, "out of memory");
                return -ENOMEM;
        }
        rx->conn = c;
        rx->id = json_incref(id);
        rx->binary = TAKE_PTR(bin);
        rx->previous = TAKE_PTR(previous);
        rx->t_begin = now_usec(CLOCK_MONOTONIC);
        if (c)
                c->pending++;
        m->reexec = rx;
        /* The exec happens once the loop has returned to manager_run(): never from inside
         * a handler, whose callers up the stack would be left half-way. */
        loop_quit(m->loop);
        return 0;
}

void reexec_drop_conn(struct manager *m, struct conn *c) {
        if (m->reexec && m->reexec->conn == c)
                m->reexec->conn = NULL;
}

void reexec_free(struct manager *m) {
        struct reexec *rx = m->reexec;

        if (!rx)
                return;
        json_decref(rx->id);
        free(rx->binary);
        free(rx->previous);
        free(rx);
        m->reexec = NULL;
}

static void fail(struct manager *m, const char *why) {
        struct reexec *rx = m->reexec;

        log_error("daemon-reexec failed, carrying on: %s", why);
        if (rx->conn) {
                control_reply(rx->conn, rx->id, false, NULL, why);
                conn_job_done(rx->conn);
        }
        reexec_free(m);
}

static void set_cloexec(const int *fds, size_t n, bool on) {
        for (size_t i = 0; i < n; i++)
                (void)fcntl(fds[i], F_SETFD, on ? FD_CLOEXEC : 0);
}

static int write_memfd(const char *text, size_t len) {
        int fd = memfd_create("pidvisor-state", MFD_CLOEXEC | MFD_ALLOW_SEALING);

        if (fd < 0)
                return negerrno();
        for (size_t done = 0; done < len;) {
                ssize_t n = write(fd, text + done, len - done);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        int r = n < 0 ? negerrno() : -EIO;
                        close(fd);
                        return r;
                }
                done += (size_t)n;
        }
        /* The new binary reads what was written, and nothing can change it afterwards. */
        (void)fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
        return fd;
}

void reexec_run(struct manager *m) {
        struct reexec *rx = m->reexec;
        struct fdlist keep = { 0 };
        _cleanup_free_ char *text = NULL;
        char why[600], state_arg[16], fallback_arg[16];
        const char **argv = NULL;
        size_t len = 0, n_args = 0;
        int memfd = -EBADF, fallback = -EBADF, r;
        usec_t t0 = now_usec(CLOCK_MONOTONIC), t_parked;

        if (!rx)
                return;
        if (m->shutting_down || m->exiting) {
                fail(m, "the daemon is shutting down");
                return;
        }
        r = loop_park_children(m->loop);
        t_parked = now_usec(CLOCK_MONOTONIC);
        if (r < 0) {
                snprintf(why, sizeof(why), "cannot quiet the event loop's child watches: %s", strerror(-r));
                fail(m, why);
                return;
        }
        if (m->shutting_down || m->exiting) { /* a signal came while parking */
                loop_unpark_children(m->loop);
                fail(m, "the daemon is shutting down");
                return;
        }
        /* The state says how to answer: the new process does. */
        r = state_write(m,
                        &(struct state_reply){ .conn_fd = rx->conn ? rx->conn->fd : -1, .id = rx->id,
                                               .t_begin = rx->t_begin, .binary = rx->binary, .previous = rx->previous },
                        &text, &len, &keep, why, sizeof(why));
        if (r < 0)
                goto failed;
        memfd = write_memfd(text, len);
        if (memfd < 0) {
                r = memfd;
                snprintf(why, sizeof(why), "memfd for the state: %s", strerror(-r));
                goto failed;
        }
        /* The binary running now, even if its file was replaced: where to go back to if
         * the new one cannot read the state after all. */
        fallback = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        snprintf(state_arg, sizeof(state_arg), "%d", memfd);
        snprintf(fallback_arg, sizeof(fallback_arg), "%d", fallback);
        for (size_t i = 0; m->opt.args && m->opt.args[i]; i++)
                n_args++;
        argv = calloc(n_args + 8, sizeof(char *));
        if (!argv) {
                r = -ENOMEM;
                snprintf(why, sizeof(why), "out of memory");
                goto failed;
        }
        {
                size_t k = 0;
                argv[k++] = rx->binary;
                argv[k++] = "daemon";
                argv[k++] = "--reexec-state";
                argv[k++] = state_arg;
                if (fallback >= 0) {
                        argv[k++] = "--reexec-fallback";
                        argv[k++] = fallback_arg;
                }
                for (size_t i = 0; i < n_args; i++)
                        argv[k++] = m->opt.args[i];
                argv[k] = NULL;
        }
        log_info("daemon-reexec: executing %s (state format %d, %zu bytes, %zu descriptors kept, %zu services; "
                 "child watches parked in %.3f ms, state written in %.3f ms)",
                 rx->binary, STATE_FORMAT, len, keep.n, m->n_services, (double)(t_parked - t0) / 1000.0,
                 (double)(now_usec(CLOCK_MONOTONIC) - t_parked) / 1000.0);
        /* Exactly these survive the exec; everything else the daemon holds is close-on-exec
         * (the ring, the signalfd, the epoll and timer descriptors, cgroup directories...). */
        set_cloexec(keep.fds, keep.n, false);
        set_cloexec(&memfd, 1, false);
        if (fallback >= 0)
                set_cloexec(&fallback, 1, false);
        log_debug("daemon-reexec: execve at %llu", (unsigned long long)now_usec(CLOCK_MONOTONIC));
        execve(rx->binary, (char *const *)argv, environ);
        r = negerrno();
        set_cloexec(keep.fds, keep.n, true);
        snprintf(why, sizeof(why), "execve \"%s\": %s", rx->binary, strerror(-r));
failed:
        free(argv);
        safe_close(memfd);
        safe_close(fallback);
        fdlist_done(&keep);
        loop_unpark_children(m->loop);
        fail(m, why);
}

/* ---- the new process ------------------------------------------------------------------- */

/* An inherited descriptor the state names: open, it is the daemon's (close-on-exec is
 * set again for all of them once the state has been read whole, daemon.c). */
static int claim_inherited(void *data, int fd) {
        return fcntl(fd, F_GETFD) < 0 ? negerrno() : fd;
}

static int read_all(int fd, char **ret, size_t *ret_len) {
        struct stat st;
        char *buf;
        size_t len = 0;

        if (fstat(fd, &st) < 0)
                return negerrno();
        if (st.st_size <= 0 || st.st_size > 1024 * 1024 * 1024)
                return -EINVAL;
        buf = malloc((size_t)st.st_size + 1);
        if (!buf)
                return -ENOMEM;
        while (len < (size_t)st.st_size) {
                ssize_t n = pread(fd, buf + len, (size_t)st.st_size - len, (off_t)len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        free(buf);
                        return n < 0 ? negerrno() : -EIO;
                }
                len += (size_t)n;
        }
        buf[len] = 0;
        *ret = buf;
        *ret_len = len;
        return 0;
}

/* The previous binary, with the same state: the safest place to go. */
static void exec_fallback(int state_fd, int fallback_fd, char **args) {
        char path[PATH_MAX] = "pidvisor", link[64], state_arg[16];
        const char **argv;
        size_t n = 0, k = 0;
        ssize_t got;

        snprintf(link, sizeof(link), "/proc/self/fd/%d", fallback_fd);
        got = readlink(link, path, sizeof(path) - 1);
        if (got > 0)
                path[got] = 0;
        for (size_t i = 0; args && args[i]; i++)
                n++;
        argv = calloc(n + 5, sizeof(char *));
        if (!argv)
                return;
        snprintf(state_arg, sizeof(state_arg), "%d", state_fd);
        argv[k++] = path;
        argv[k++] = "daemon";
        argv[k++] = "--reexec-state";
        argv[k++] = state_arg;
        for (size_t i = 0; i < n; i++)
                argv[k++] = args[i];
        argv[k] = NULL;
        unsetenv(REFUSE_ENV);
        log_notice("daemon-reexec: going back to the binary that wrote the state (%s)", path);
        syscall(SYS_execveat, fallback_fd, "", argv, environ, AT_EMPTY_PATH);
        log_error("daemon-reexec: cannot execute the previous binary %s: %s", path, strerror(errno));
        free(argv);
}

int reexec_load(int state_fd, int fallback_fd, char **args, struct saved_state **ret) {
        _cleanup_free_ char *text = NULL;
        struct saved_state *st = NULL;
        char why[1024] = "";
        size_t len = 0;
        int r;

        r = read_all(state_fd, &text, &len);
        if (r < 0)
                snprintf(why, sizeof(why), "reading descriptor %d: %s", state_fd, strerror(-r));
        else if (getenv(REFUSE_ENV)) {
                r = -EPROTONOSUPPORT;
                snprintf(why, sizeof(why), "refused because $%s is set (a test setting)", REFUSE_ENV);
        } else
                /* On error nothing read is freed: every inherited descriptor stays open, as
                 * it came, for the previous binary. */
                r = state_read(text, len, claim_inherited, NULL, STATE_READ_KEEP_CLAIMED, &st, why, sizeof(why));
        if (r < 0) {
                log_error("daemon-reexec: this binary (pidvisor %s) cannot take over the daemon's state: %s",
                          PIDVISOR_VERSION, why);
                if (fallback_fd >= 0)
                        exec_fallback(state_fd, fallback_fd, args);
                log_error("daemon-reexec: giving up; the services keep running, and the next `pidvisor daemon` "
                          "with this state directory adopts them (crash recovery)");
                return r;
        }
        for (size_t i = 0; i < st->n_declared; i++)
                if (!st->claimed[i]) {
                        log_warning("daemon-reexec: descriptor %d was declared but nothing in the state owns it; closed",
                                    st->declared[i]);
                        close(st->declared[i]);
                }
        safe_close(state_fd);
        safe_close(fallback_fd);
        *ret = st;
        return 0;
}

void reexec_adopt_manager(struct manager *m, struct saved_state *st) {
        struct manager *src = st->m;

        m->restored = true;
        m->start_seq = src->start_seq;
        m->notify_ignored = src->notify_ignored;
        m->rng = src->rng;
        m->nofile_for_services = src->nofile_for_services;
        m->lock_fd = TAKE_FD(src->lock_fd);
        m->notify_fd = TAKE_FD(src->notify_fd);
        m->listen_fd = TAKE_FD(src->listen_fd);
        free(m->cgroup_base);
        m->cgroup_base = TAKE_PTR(src->cgroup_base);
}

int reexec_restore(struct manager *m, struct saved_state *st) {
        struct manager *src = st->m;
        size_t n_active = 0;

        /* Connections first: waiters and upgrades name them. */
        m->conns = TAKE_PTR(src->conns);
        m->n_conns = src->n_conns;
        src->n_conns = 0;
        for (struct conn *c = m->conns; c; c = c->next) {
                c->m = m;
                control_restore_conn(c);
        }
        m->services = TAKE_PTR(src->services);
        m->n_services = src->n_services;
        src->n_services = 0;
        for (size_t i = 0; i < m->n_services; i++) {
                struct service *s = m->services[i];
                char why[600];

                s->m = m;
                if (m->cgroup_base_fd >= 0 && s->cgroup_fd < 0) {
                        int r = cgroup_service_open(m, s->name, &s->cgroup_fd);
                        if (r < 0)
                                log_warning("%s: no cgroup of its own (%s); its process group stands in", s->name,
                                            strerror(-r));
                }
                /* What the last start put in force, decided and written again (the same
                 * values: the config is the same), so that status shows it. */
                if (service_is_active(s) && !cg_limits_config_empty(&s->cfg->cg_limits) &&
                    cgroup_limits_prepare(s, why, sizeof(why)) < 0)
                        log_warning("%s: resource limits after the re-exec: %s", s->name, why);
                if (s->queued)
                        m->n_queued++;
                if (s->stop_queued)
                        m->n_stop_queued++;
                n_active += service_is_active(s);
                service_restore_watches(s, &st->timers[i]);
        }
        log_info("daemon-reexec: took over %zu services (%zu with processes) and %zu connections from %s "
                 "(state format %d): exec %.1f ms, reading %.1f ms (JSON %.1f ms, unit files %.1f ms), "
                 "arming %.1f ms",
                 m->n_services, n_active, m->n_conns, st->writer ? st->writer : "?", st->format,
                 (double)(st->t_read_begin - st->written) / 1000.0, (double)(st->t_read_end - st->t_read_begin) / 1000.0,
                 (double)(st->t_json - st->t_read_begin) / 1000.0, (double)st->t_units_usec / 1000.0,
                 (double)(now_usec(CLOCK_MONOTONIC) - st->t_read_end) / 1000.0);
        return 0;
}

void reexec_finish(struct manager *m, struct saved_state *st) {
        struct conn *c = st->reply_conn;
        usec_t now = now_usec(CLOCK_MONOTONIC);

        if (m->n_queued || m->n_stop_queued)
                deps_dispatch(m);
        log_info("daemon-reexec: done in %.3f ms since it was asked for", (double)(now - st->reply_t_begin) / 1000.0);
        if (!c)
                return;
        control_reply(c, st->reply_id, true,
                      json_pack("{s:i, s:s?, s:s?, s:i, s:s, s:I, s:I}", "pid", (int)getpid(), "binary", st->reply_binary,
                                "previous", st->reply_previous, "format", st->format, "version", PIDVISOR_VERSION,
                                "services", (json_int_t)m->n_services, "usec", (json_int_t)(now - st->reply_t_begin)),
                      NULL);
        conn_job_done(c);
        st->reply_conn = NULL;
}
