/* SPDX-License-Identifier: MIT */
/* The event loop: io_uring, or epoll where io_uring is forbidden.  See loop.h. */
#include "loop.h"

#include <errno.h>
#include <limits.h>
#include <liburing.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/util.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
/* liburing 2.3 predates it (kernel 6.7); we fill the SQE ourselves behind a probe. */
#define PV_IORING_OP_WAITID 50

enum kind {
        KIND_POLL = 1,
        KIND_CHILD_WAITID, /* IORING_OP_WAITID */
        KIND_CHILD_POLL,   /* poll the pidfd, then waitid(WNOHANG) */
        KIND_TIMER,
};

#define SLOT_CHUNK 256u
#define SLOT_MAX_CHUNKS 4096u

/* Loop-owned state of one arm.  An in-flight io_uring request refers to its slot (by
 * index and generation in user_data) and may write into it (the siginfo of WAITID);
 * the slot outlives a disarmed event until the request's completion comes back. */
struct slot {
        struct loop_event *ev; /* NULL: disarmed, or free */
        uint32_t gen;
        uint8_t kind;
        bool in_flight;        /* a request or registration refers to it */
        bool parked;           /* a child watch held back while the loop is parked */
        bool park_cancel;      /* cancelled to be parked: its -ECANCELED is not news */
        int fd;
        uint32_t events;
        usec_t deadline;       /* timers */
        siginfo_t si;
        struct __kernel_timespec ts;
};

struct loop {
        enum loop_backend backend;
        bool has_waitid;
        bool quit;
        struct io_uring ring;
        int epfd;
        int timerfd;
        usec_t timerfd_armed; /* deadline the timerfd is set to, 0 none */

        /* Slots live in chunks that never move: an in-flight request points into them. */
        struct slot *chunks[SLOT_MAX_CHUNKS];
        uint32_t n_slots;     /* index 0 unused: slot 0 means "not armed" */
        uint32_t *free_slots;
        uint32_t n_free;
        uint32_t n_timers;    /* epoll: armed timers */

        struct loop_stats stats;
        siginfo_t child_info; /* of the child event being dispatched */

        /* Before an exec (loop_park_children): no IORING_OP_WAITID may be in flight, since
         * the kernel reaps the child when one completes. */
        bool parking;
        uint32_t n_waitid_in_flight;
        int park_cancel_res;  /* of the bulk cancellation; PARK_PENDING: not answered yet */
};

#define TIMERFD_TAG UINT64_MAX
/* The one cancellation that parks every child watch at once (loop_park_children()). */
#define PARK_CANCEL_TAG (UINT64_MAX - 1)
/* 6.6: cancel by opcode (liburing 2.3 and Debian 12's headers predate it). */
#define PV_IORING_ASYNC_CANCEL_OP (1U << 5)
#define PARK_PENDING INT_MIN

static inline struct slot *slot_at(const struct loop *l, uint32_t idx) {
        return &l->chunks[idx / SLOT_CHUNK][idx % SLOT_CHUNK];
}

static uint64_t slot_data(const struct loop *l, uint32_t idx) {
        return ((uint64_t)slot_at(l, idx)->gen << 32) | idx;
}

static int slot_alloc(struct loop *l, struct loop_event *ev, enum kind kind, uint32_t *ret) {
        uint32_t idx;

        if (l->n_free == 0) {
                uint32_t c = l->n_slots / SLOT_CHUNK, n = l->n_slots + SLOT_CHUNK;
                uint32_t *f;

                if (c >= SLOT_MAX_CHUNKS)
                        return -ENOSPC;
                f = realloc(l->free_slots, n * sizeof(*f));
                if (!f)
                        return -ENOMEM;
                l->free_slots = f;
                l->chunks[c] = calloc(SLOT_CHUNK, sizeof(struct slot));
                if (!l->chunks[c])
                        return -ENOMEM;
                for (uint32_t i = n; i-- > (l->n_slots ? l->n_slots : 1);)
                        l->free_slots[l->n_free++] = i;
                l->n_slots = n;
        }
        idx = l->free_slots[--l->n_free];
        slot_at(l, idx)->ev = ev;
        slot_at(l, idx)->gen++;
        slot_at(l, idx)->kind = (uint8_t)kind;
        slot_at(l, idx)->in_flight = false;
        slot_at(l, idx)->parked = false;
        slot_at(l, idx)->park_cancel = false;
        ev->slot = idx;
        *ret = idx;
        return 0;
}

static void slot_release(struct loop *l, uint32_t idx) {
        slot_at(l, idx)->ev = NULL;
        slot_at(l, idx)->in_flight = false;
        slot_at(l, idx)->parked = false;
        l->free_slots[l->n_free++] = idx;
}

/* --- io_uring --------------------------------------------------------------------- */

static struct io_uring_sqe *get_sqe(struct loop *l) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);

        if (!sqe) {
                /* The submission queue is full: hand it to the kernel and try again. */
                io_uring_submit(&l->ring);
                sqe = io_uring_get_sqe(&l->ring);
        }
        return sqe;
}

static int uring_arm(struct loop *l, uint32_t idx) {
        struct slot *s = slot_at(l, idx);
        struct io_uring_sqe *sqe = get_sqe(l);

        if (!sqe)
                return -EBUSY;
        switch ((enum kind)s->kind) {
        case KIND_POLL:
        case KIND_CHILD_POLL:
                io_uring_prep_poll_add(sqe, s->fd, s->events);
                break;
        case KIND_CHILD_WAITID:
                io_uring_prep_rw(PV_IORING_OP_WAITID, sqe, s->fd, NULL, P_PIDFD, 0);
                sqe->file_index = WEXITED; /* the options */
                sqe->addr2 = (uint64_t)(uintptr_t)&s->si;
                break;
        case KIND_TIMER:
                s->ts.tv_sec = (long long)(s->deadline / USEC_PER_SEC);
                s->ts.tv_nsec = (long long)(s->deadline % USEC_PER_SEC) * 1000;
                io_uring_prep_timeout(sqe, &s->ts, 0, IORING_TIMEOUT_ABS);
                break;
        }
        io_uring_sqe_set_data64(sqe, slot_data(l, idx));
        s->in_flight = true;
        if (s->kind == KIND_CHILD_WAITID)
                l->n_waitid_in_flight++;
        return 0;
}

static void uring_cancel(struct loop *l, uint32_t idx) {
        struct io_uring_sqe *sqe = get_sqe(l);

        if (!sqe)
                return; /* the completion will still come, and find the slot disarmed */
        if (slot_at(l, idx)->kind == KIND_TIMER)
                io_uring_prep_timeout_remove(sqe, slot_data(l, idx), 0);
        else
                io_uring_prep_cancel64(sqe, slot_data(l, idx), 0);
        io_uring_sqe_set_data64(sqe, 0); /* its own completion is ignored */
}

/* --- epoll -------------------------------------------------------------------------- */

static void epoll_update_timerfd(struct loop *l) {
        usec_t next = 0;
        struct itimerspec its = { 0 };

        if (l->n_timers > 0)
                for (uint32_t i = 1; i < l->n_slots; i++) {
                        struct slot *s = slot_at(l, i);
                        if (s->ev && s->kind == KIND_TIMER && (next == 0 || s->deadline < next))
                                next = s->deadline;
                }
        if (next == l->timerfd_armed)
                return;
        if (next) {
                /* 0 would disarm the timerfd: a deadline at 0 fires at 1 µs. */
                its.it_value.tv_sec = (time_t)(next / USEC_PER_SEC);
                its.it_value.tv_nsec = (long)(next % USEC_PER_SEC) * 1000;
                if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
                        its.it_value.tv_nsec = 1000;
        }
        timerfd_settime(l->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
        l->timerfd_armed = next;
}

static int epoll_arm(struct loop *l, uint32_t idx) {
        struct slot *s = slot_at(l, idx);
        struct epoll_event ee = { .data.u64 = slot_data(l, idx) };

        if (s->kind == KIND_TIMER) {
                l->n_timers++;
                s->in_flight = true;
                epoll_update_timerfd(l);
                return 0;
        }
        ee.events = EPOLLONESHOT | (s->events & POLLIN ? EPOLLIN : 0) |
                    (s->events & POLLOUT ? EPOLLOUT : 0) | (s->events & POLLPRI ? EPOLLPRI : 0);
        if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, s->fd, &ee) < 0) {
                int r = negerrno();
                /* The same fd may be armed again from its own handler: modify instead. */
                if (r != -EEXIST || epoll_ctl(l->epfd, EPOLL_CTL_MOD, s->fd, &ee) < 0)
                        return r == -EEXIST ? negerrno() : r;
        }
        s->in_flight = true;
        return 0;
}

static void epoll_cancel(struct loop *l, uint32_t idx) {
        struct slot *s = slot_at(l, idx);

        if (s->kind == KIND_TIMER) {
                l->n_timers--;
                s->ev = NULL;
                epoll_update_timerfd(l);
                return;
        }
        epoll_ctl(l->epfd, EPOLL_CTL_DEL, s->fd, NULL);
}

/* --- common ------------------------------------------------------------------------- */

static int arm(struct loop *l, struct loop_event *ev, enum kind kind, int fd, uint32_t events,
               usec_t deadline) {
        uint32_t idx;
        int r;

        if (ev->slot)
                return -EBUSY;
        r = slot_alloc(l, ev, kind, &idx);
        if (r < 0)
                return r;
        slot_at(l, idx)->fd = fd;
        slot_at(l, idx)->events = events;
        slot_at(l, idx)->deadline = deadline;
        memset(&slot_at(l, idx)->si, 0, sizeof(siginfo_t));
        if (kind == KIND_CHILD_WAITID && l->parking) {
                slot_at(l, idx)->parked = true; /* submitted by loop_unpark_children() */
                return 0;
        }
        r = l->backend == LOOP_IO_URING ? uring_arm(l, idx) : epoll_arm(l, idx);
        if (r < 0) {
                ev->slot = 0;
                slot_release(l, idx);
        }
        return r;
}

int loop_poll(struct loop *l, struct loop_event *ev, int fd, uint32_t events) {
        return arm(l, ev, KIND_POLL, fd, events, 0);
}

int loop_child(struct loop *l, struct loop_event *ev, int pidfd) {
        return arm(l, ev, l->has_waitid ? KIND_CHILD_WAITID : KIND_CHILD_POLL, pidfd, POLLIN, 0);
}

int loop_timer(struct loop *l, struct loop_event *ev, usec_t deadline) {
        /* 0 is the epoll backend's "no timer": a deadline is at least 1 µs. */
        return arm(l, ev, KIND_TIMER, -1, 0, deadline ? deadline : 1);
}

void loop_close_async(struct loop *l, int fd) {
        struct io_uring_sqe *sqe;

        if (fd < 0)
                return;
        if (l->backend == LOOP_IO_URING && (sqe = get_sqe(l))) {
                /* In an io-wq worker (IOSQE_ASYNC): a close that blocks (a socket with
                 * SO_LINGER and unsent data, a FUSE file's flush) blocks the worker, not the
                 * loop.  The completion carries user_data 0 and is ignored. */
                io_uring_prep_close(sqe, fd);
                sqe->flags |= IOSQE_ASYNC;
                io_uring_sqe_set_data64(sqe, 0);
                return;
        }
        close(fd);
}

void loop_event_move(struct loop *l, struct loop_event *from, struct loop_event *to) {
        uint32_t idx = from->slot;

        loop_disarm(l, to);
        to->slot = idx;
        from->slot = 0;
        if (idx)
                slot_at(l, idx)->ev = to;
}

void loop_disarm(struct loop *l, struct loop_event *ev) {
        uint32_t idx = ev->slot;

        if (!idx)
                return;
        ev->slot = 0;
        if (l->backend == LOOP_IO_URING) {
                /* The request stays in flight until its (cancelled) completion arrives;
                 * the slot waits for it, detached from the event. */
                slot_at(l, idx)->ev = NULL;
                if (slot_at(l, idx)->in_flight)
                        uring_cancel(l, idx);
                else
                        slot_release(l, idx);
        } else {
                epoll_cancel(l, idx);
                slot_release(l, idx);
        }
}

/* Runs the handler of slot idx for a completion with result res. */
static void dispatch(struct loop *l, uint32_t idx, int res) {
        struct slot *s = slot_at(l, idx);
        struct loop_event *ev = s->ev;
        enum kind kind = (enum kind)s->kind;

        if (kind == KIND_CHILD_WAITID && s->in_flight)
                l->n_waitid_in_flight--;
        s->in_flight = false;
        if (ev && s->park_cancel) {
                s->park_cancel = false;
                if (res == -ECANCELED) { /* not exited: held back until unparked */
                        s->parked = true;
                        return;
                }
        }
        if (!ev) { /* disarmed while in flight */
                slot_release(l, idx);
                return;
        }
        ev->slot = 0;
        if (kind == KIND_TIMER && l->backend == LOOP_EPOLL)
                l->n_timers--;

        switch (kind) {
        case KIND_TIMER:
                res = (res == -ETIME || res >= 0) ? 0 : res;
                break;
        case KIND_CHILD_WAITID:
                if (res >= 0) {
                        l->child_info = s->si;
                        res = 0;
                }
                break;
        case KIND_CHILD_POLL:
                if (res >= 0) {
                        memset(&l->child_info, 0, sizeof(l->child_info));
                        do
                                res = RET_NERRNO(waitid((idtype_t)P_PIDFD, (id_t)s->fd, &l->child_info,
                                                        WEXITED | WNOHANG));
                        while (res == -EINTR);
                        if (res == 0 && l->child_info.si_pid == 0) {
                                /* Spurious: not exited after all.  Poll again. */
                                int fd = s->fd;
                                slot_release(l, idx);
                                if (loop_child(l, ev, fd) == 0)
                                        return;
                                res = -EIO;
                                ev->handler(ev, res);
                                return;
                        }
                }
                break;
        case KIND_POLL:
                break;
        }
        slot_release(l, idx);
        l->stats.dispatched++;
        ev->handler(ev, res);
}

/* One wait for completions (at most `timeout`, NULL: no limit) and their handlers. */
static int uring_turn(struct loop *l, struct __kernel_timespec *timeout) {
        struct io_uring_cqe *cqe;
        unsigned head, n = 0;
        int r;

        if (timeout) {
                struct io_uring_cqe *first = NULL;
                r = io_uring_submit_and_wait_timeout(&l->ring, &first, 1, timeout, NULL);
                if (r == -ETIME)
                        return r;
        } else
                r = io_uring_submit_and_wait(&l->ring, 1);
        if (r < 0 && r != -EINTR && r != -EBUSY && r != -EAGAIN)
                return r;
        l->stats.wakeups++;
        io_uring_for_each_cqe(&l->ring, head, cqe) {
                uint64_t data = io_uring_cqe_get_data64(cqe);
                uint32_t idx = (uint32_t)data, gen = (uint32_t)(data >> 32);
                int res = cqe->res;

                n++;
                if (data == PARK_CANCEL_TAG) {
                        l->park_cancel_res = res;
                        continue;
                }
                if (data == 0 || idx >= l->n_slots || slot_at(l, idx)->gen != gen)
                        continue;
                /* Advance first: a handler may arm new requests. */
                io_uring_cq_advance(&l->ring, n);
                n = 0;
                dispatch(l, idx, res);
                if (l->quit)
                        break;
        }
        if (n)
                io_uring_cq_advance(&l->ring, n);
        return 0;
}

static int run_uring(struct loop *l) {
        while (!l->quit) {
                int r = uring_turn(l, NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int run_epoll(struct loop *l) {
        struct epoll_event evs[64];

        while (!l->quit) {
                int n = epoll_wait(l->epfd, evs, (int)ELEMENTSOF(evs), -1);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negerrno();
                }
                l->stats.wakeups++;
                for (int i = 0; i < n && !l->quit; i++) {
                        uint64_t data = evs[i].data.u64;
                        uint32_t idx = (uint32_t)data, gen = (uint32_t)(data >> 32);
                        uint32_t revents = 0;

                        if (data == TIMERFD_TAG) {
                                usec_t now = now_usec(CLOCK_MONOTONIC);
                                uint64_t ticks;

                                (void)!read(l->timerfd, &ticks, sizeof(ticks));
                                l->timerfd_armed = 0;
                                for (uint32_t j = 1; j < l->n_slots && !l->quit; j++) {
                                        struct slot *s = slot_at(l, j);
                                        if (s->ev && s->kind == KIND_TIMER && s->deadline <= now)
                                                dispatch(l, j, -ETIME);
                                }
                                epoll_update_timerfd(l);
                                continue;
                        }
                        if (idx >= l->n_slots || slot_at(l, idx)->gen != gen || !slot_at(l, idx)->ev)
                                continue;
                        if (evs[i].events & EPOLLIN)
                                revents |= POLLIN;
                        if (evs[i].events & EPOLLOUT)
                                revents |= POLLOUT;
                        if (evs[i].events & EPOLLPRI)
                                revents |= POLLPRI;
                        if (evs[i].events & EPOLLERR)
                                revents |= POLLERR;
                        if (evs[i].events & EPOLLHUP)
                                revents |= POLLHUP;
                        /* One-shot: the registration stays but is inactive; remove it so
                         * that a later arm of another fd with this number is clean. */
                        epoll_ctl(l->epfd, EPOLL_CTL_DEL, slot_at(l, idx)->fd, NULL);
                        dispatch(l, idx, (int)revents);
                }
        }
        return 0;
}

int loop_run(struct loop *l) {
        l->quit = false;
        return l->backend == LOOP_IO_URING ? run_uring(l) : run_epoll(l);
}

void loop_quit(struct loop *l) {
        l->quit = true;
}

static bool probe_waitid(struct io_uring *ring) {
        struct io_uring_probe *p = io_uring_get_probe_ring(ring);
        bool ok = p && io_uring_opcode_supported(p, PV_IORING_OP_WAITID) &&
                  io_uring_opcode_supported(p, IORING_OP_POLL_ADD);

        io_uring_free_probe(p);
        return ok;
}

int loop_new(struct loop **ret, bool force_epoll, const char **why_epoll) {
        struct loop *l = calloc(1, sizeof(*l));
        struct epoll_event ee = { .events = EPOLLIN, .data.u64 = TIMERFD_TAG };
        int r;

        if (!l)
                return -ENOMEM;
        l->epfd = l->timerfd = -EBADF;
        if (why_epoll)
                *why_epoll = NULL;
        if (!force_epoll) {
                struct io_uring_params p = { .flags = IORING_SETUP_CLAMP };
                r = io_uring_queue_init_params(1024, &l->ring, &p);
                if (r == 0 && !(p.features & IORING_FEAT_NODROP)) {
                        io_uring_queue_exit(&l->ring);
                        r = -EOPNOTSUPP;
                }
                if (r == 0) {
                        l->backend = LOOP_IO_URING;
                        l->has_waitid = probe_waitid(&l->ring);
                        *ret = l;
                        return 0;
                }
                if (why_epoll)
                        *why_epoll = r == -ENOSYS   ? "io_uring_setup is not available (ENOSYS)"
                                     : r == -EPERM  ? "io_uring_setup is not permitted (EPERM: "
                                                      "seccomp profile or kernel.io_uring_disabled)"
                                     : r == -EOPNOTSUPP ? "the kernel's io_uring can drop completions"
                                                    : "io_uring_setup failed";
        } else if (why_epoll)
                *why_epoll = "asked for";

        l->backend = LOOP_EPOLL;
        l->epfd = epoll_create1(EPOLL_CLOEXEC);
        l->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        if (l->epfd < 0 || l->timerfd < 0 ||
            epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->timerfd, &ee) < 0) {
                r = negerrno();
                loop_free(l);
                return r;
        }
        *ret = l;
        return 0;
}

void loop_free(struct loop *l) {
        if (!l)
                return;
        if (l->backend == LOOP_IO_URING)
                io_uring_queue_exit(&l->ring);
        safe_close(l->epfd);
        safe_close(l->timerfd);
        for (uint32_t c = 0; c < SLOT_MAX_CHUNKS && l->chunks[c]; c++)
                free(l->chunks[c]);
        free(l->free_slots);
        free(l);
}

enum loop_backend loop_backend(const struct loop *l) {
        return l->backend;
}

bool loop_has_waitid(const struct loop *l) {
        return l->has_waitid;
}

const char *loop_backend_name(const struct loop *l) {
        if (l->backend == LOOP_EPOLL)
                return "epoll";
        return l->has_waitid ? "io_uring (waitid)" : "io_uring (poll+waitid)";
}

usec_t loop_timer_deadline(const struct loop *l, const struct loop_event *ev) {
        const struct slot *s;

        if (!ev->slot)
                return 0;
        s = slot_at(l, ev->slot);
        return s->ev == ev && s->kind == KIND_TIMER ? s->deadline : 0;
}

/* Cancels each in-flight WAITID on its own (kernels before 6.6, or if the bulk one failed). */
static void park_cancel_each(struct loop *l) {
        for (uint32_t i = 1; i < l->n_slots; i++) {
                struct slot *s = slot_at(l, i);
                if (s->kind == KIND_CHILD_WAITID && s->in_flight && !s->park_cancel) {
                        s->park_cancel = true;
                        uring_cancel(l, i);
                }
        }
}

int loop_park_children(struct loop *l) {
        usec_t give_up = now_usec(CLOCK_MONOTONIC) + USEC_PER_SEC;
        bool quit = l->quit, each = false;
        struct io_uring_sqe *sqe;

        l->parking = true;
        if (l->backend != LOOP_IO_URING || !l->has_waitid)
                return 0; /* a child watch is a poll there: nothing reaps in the kernel */
        /* One request cancels every WAITID (each cancellation looks its request up in a
         * list: 1000 of them one by one took 3-4 ms here); a kernel that does not know
         * IORING_ASYNC_CANCEL_OP answers EINVAL, and each is cancelled on its own. */
        for (uint32_t i = 1; i < l->n_slots; i++) {
                struct slot *s = slot_at(l, i);
                if (s->kind == KIND_CHILD_WAITID && s->in_flight)
                        s->park_cancel = true;
        }
        sqe = l->n_waitid_in_flight ? get_sqe(l) : NULL;
        l->park_cancel_res = PARK_PENDING;
        if (sqe) {
                io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ALL | PV_IORING_ASYNC_CANCEL_OP);
                sqe->len = PV_IORING_OP_WAITID;
                io_uring_sqe_set_data64(sqe, PARK_CANCEL_TAG);
        } else if (l->n_waitid_in_flight) {
                park_cancel_each(l);
                each = true;
        }
        /* Every completion is dispatched as usual meanwhile: an exit reaped before the
         * cancellation reached it runs its handler now, instead of being lost. */
        l->quit = false;
        while (l->n_waitid_in_flight > 0 || (!each && l->park_cancel_res == PARK_PENDING && sqe)) {
                usec_t now = now_usec(CLOCK_MONOTONIC);
                struct __kernel_timespec ts;
                int r;

                if (!each && l->park_cancel_res != PARK_PENDING && l->park_cancel_res < 0 &&
                    l->park_cancel_res != -ENOENT) {
                        park_cancel_each(l);
                        each = true;
                }
                if (l->n_waitid_in_flight == 0 && l->park_cancel_res != PARK_PENDING)
                        break;
                if (now >= give_up) {
                        l->quit = quit;
                        loop_unpark_children(l);
                        return -ETIMEDOUT;
                }
                ts.tv_sec = (long long)((give_up - now) / USEC_PER_SEC);
                ts.tv_nsec = (long long)((give_up - now) % USEC_PER_SEC) * 1000;
                r = uring_turn(l, &ts);
                if (r < 0 && r != -ETIME) {
                        l->quit = quit;
                        loop_unpark_children(l);
                        return r;
                }
        }
        l->quit = l->quit || quit;
        return 0;
}

void loop_unpark_children(struct loop *l) {
        l->parking = false;
        if (l->backend != LOOP_IO_URING)
                return;
        for (uint32_t i = 1; i < l->n_slots; i++) {
                struct slot *s = slot_at(l, i);
                if (s->ev && s->parked) {
                        s->parked = false;
                        if (uring_arm(l, i) < 0)
                                s->parked = true; /* the SQ is full: the next unpark tries again */
                }
        }
}

const siginfo_t *loop_child_info(const struct loop *l) {
        return &l->child_info;
}

void loop_get_stats(const struct loop *l, struct loop_stats *ret) {
        *ret = l->stats;
}
