/* SPDX-License-Identifier: MIT */
/* The event loop, on both backends: every test runs once on io_uring and once on epoll. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pidvisor/pidvisor.h>

#include "daemon/loop.h"
#include "testlib.h"

struct rec {
        struct loop *loop;
        int calls;
        int res;
        int quit_after;
        usec_t when;
        siginfo_t si;
};

static void on_event(struct loop_event *ev, int res) {
        struct rec *r = ev->data;

        r->calls++;
        r->res = res;
        r->when = now_usec(CLOCK_MONOTONIC);
        r->si = *loop_child_info(r->loop);
        if (r->calls >= r->quit_after)
                loop_quit(r->loop);
}

static struct loop *new_loop(int backend) {
        struct loop *l = NULL;
        const char *why = NULL;

        ck_assert_int_eq(loop_new(&l, backend == LOOP_EPOLL, &why), 0);
        ck_assert_int_eq(loop_backend(l), backend);
        return l;
}

START_TEST(test_poll_pipe) {
        struct loop *l = new_loop(_i);
        struct rec r = { .loop = l, .quit_after = 1 };
        struct loop_event ev;
        int p[2];

        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        loop_event_init(&ev, on_event, &r);
        ck_assert_int_eq(loop_poll(l, &ev, p[0], POLLIN), 0);
        ck_assert(loop_event_armed(&ev));
        ck_assert_int_eq(write(p[1], "x", 1), 1);
        ck_assert_int_eq(loop_run(l), 0);
        ck_assert_int_eq(r.calls, 1);
        ck_assert(r.res & POLLIN);
        ck_assert(!loop_event_armed(&ev));
        /* Re-arm on the same fd works (one-shot semantics). */
        ck_assert_int_eq(loop_poll(l, &ev, p[0], POLLIN), 0);
        ck_assert_int_eq(loop_poll(l, &ev, p[0], POLLIN), -EBUSY); /* already armed */
        r.quit_after = 2;
        ck_assert_int_eq(loop_run(l), 0);
        ck_assert_int_eq(r.calls, 2);
        loop_free(l);
        close(p[0]);
        close(p[1]);
}
END_TEST

START_TEST(test_timers_order_and_disarm) {
        struct loop *l = new_loop(_i);
        struct rec a = { .loop = l, .quit_after = 99 }, b = { .loop = l, .quit_after = 1 },
                   c = { .loop = l, .quit_after = 99 };
        struct loop_event ea, eb, ec;
        usec_t start = now_usec(CLOCK_MONOTONIC);

        loop_event_init(&ea, on_event, &a);
        loop_event_init(&eb, on_event, &b);
        loop_event_init(&ec, on_event, &c);
        ck_assert_int_eq(loop_timer(l, &ea, start + 20 * USEC_PER_MSEC), 0);
        ck_assert_int_eq(loop_timer(l, &eb, start + 60 * USEC_PER_MSEC), 0);
        ck_assert_int_eq(loop_timer(l, &ec, start + 40 * USEC_PER_MSEC), 0);
        loop_disarm(l, &ec); /* never fires */
        ck_assert(!loop_event_armed(&ec));
        ck_assert_int_eq(loop_run(l), 0);
        ck_assert_int_eq(a.calls, 1);
        ck_assert_int_eq(b.calls, 1);
        ck_assert_int_eq(c.calls, 0);
        ck_assert_int_eq(a.res, 0);
        ck_assert_uint_ge(a.when, start + 20 * USEC_PER_MSEC);
        ck_assert_uint_ge(b.when, start + 60 * USEC_PER_MSEC);
        ck_assert_uint_lt(a.when, b.when);
        /* A deadline in the past fires at once. */
        b.quit_after = 2;
        ck_assert_int_eq(loop_timer(l, &eb, 1), 0);
        ck_assert_int_eq(loop_run(l), 0);
        ck_assert_int_eq(b.calls, 2);
        loop_free(l);
}
END_TEST

START_TEST(test_child_exit) {
        struct loop *l = new_loop(_i);
        struct rec r = { .loop = l, .quit_after = 1 };
        char *argv[] = { (char *)pv_test_fixture(), "exit", "9", NULL };
        struct pv_spawn_attr a;
        struct pv_process p;
        struct loop_event ev;

        pv_spawn_attr_init(&a);
        a.argv = argv;
        ck_assert_int_eq(pv_spawn(&a, &p, NULL, NULL), 0);
        loop_event_init(&ev, on_event, &r);
        ck_assert_int_eq(loop_child(l, &ev, p.pidfd), 0);
        ck_assert_int_eq(loop_run(l), 0);
        ck_assert_int_eq(r.res, 0);
        ck_assert_int_eq(r.si.si_pid, p.pid);
        ck_assert_int_eq(r.si.si_code, CLD_EXITED);
        ck_assert_int_eq(r.si.si_status, 9);
        /* The loop reaped it. */
        ck_assert_int_eq(pv_process_wait(&p, PV_WAIT_NOHANG, NULL, NULL), -ECHILD);
        pv_process_release(&p);
        loop_free(l);
}
END_TEST

/* A child watch disarmed while the child runs never reaps it: the owner may still wait
 * for it itself.  (Disarming after the child exited may race with the reap on io_uring,
 * see loop.h; the supervisor never does that.) */
START_TEST(test_child_disarm_then_free) {
        struct loop *l = new_loop(_i);
        struct rec r = { .loop = l, .quit_after = 1 }, t = { .loop = l, .quit_after = 1 };
        char *argv[] = { (char *)pv_test_fixture(), "sleep", "30", NULL };
        struct pv_spawn_attr a;
        struct pv_process p;
        struct loop_event *ev = malloc(sizeof(*ev)), timer;
        struct pv_exit ex;

        pv_spawn_attr_init(&a);
        a.argv = argv;
        ck_assert_int_eq(pv_spawn(&a, &p, NULL, NULL), 0);
        loop_event_init(ev, on_event, &r);
        ck_assert_int_eq(loop_child(l, ev, p.pidfd), 0);
        /* Let the watch reach the kernel, then disarm it and let the cancel reach it. */
        loop_event_init(&timer, on_event, &t);
        ck_assert_int_eq(loop_timer(l, &timer, now_usec(CLOCK_MONOTONIC) + 10 * USEC_PER_MSEC), 0);
        ck_assert_int_eq(loop_run(l), 0);
        loop_disarm(l, ev);
        free(ev); /* the loop must never touch it again */
        t.quit_after = 2;
        ck_assert_int_eq(loop_timer(l, &timer, now_usec(CLOCK_MONOTONIC) + 10 * USEC_PER_MSEC), 0);
        ck_assert_int_eq(loop_run(l), 0);
        ck_assert_int_eq(pv_process_signal(&p, SIGKILL, NULL), 0);
        t.quit_after = 3;
        ck_assert_int_eq(loop_timer(l, &timer, now_usec(CLOCK_MONOTONIC) + 50 * USEC_PER_MSEC), 0);
        ck_assert_int_eq(loop_run(l), 0);
        ck_assert_int_eq(r.calls, 0);
        ck_assert_int_eq(pv_process_wait(&p, 0, &ex, NULL), 0);
        ck_assert_int_eq(ex.signal, SIGKILL);
        pv_process_release(&p);
        loop_free(l);
}
END_TEST

/* Hundreds of children and timers at once: slots grow without moving in-flight state. */
START_TEST(test_many) {
        enum { N = 300 };
        struct loop *l = new_loop(_i);
        struct rec r = { .loop = l, .quit_after = 2 * N };
        char *argv[] = { (char *)pv_test_fixture(), "exit", "3", NULL };
        struct loop_event *evs = calloc(2 * N, sizeof(*evs));
        struct pv_process *ps = calloc(N, sizeof(*ps));
        struct pv_spawn_attr a;
        usec_t now = now_usec(CLOCK_MONOTONIC);

        pv_spawn_attr_init(&a);
        a.argv = argv;
        for (int i = 0; i < N; i++) {
                ck_assert_int_eq(pv_spawn(&a, &ps[i], NULL, NULL), 0);
                loop_event_init(&evs[i], on_event, &r);
                ck_assert_int_eq(loop_child(l, &evs[i], ps[i].pidfd), 0);
                loop_event_init(&evs[N + i], on_event, &r);
                ck_assert_int_eq(loop_timer(l, &evs[N + i], now + (usec_t)(i % 7) * USEC_PER_MSEC), 0);
        }
        ck_assert_int_eq(loop_run(l), 0);
        ck_assert_int_eq(r.calls, 2 * N);
        for (int i = 0; i < N; i++) {
                ck_assert(!loop_event_armed(&evs[i]));
                pv_process_release(&ps[i]);
        }
        free(evs);
        free(ps);
        loop_free(l);
}
END_TEST

/* Parked for an exec (loop_park_children): no child watch may reap in the kernel, so
 * every exit from then on stays a zombie for the next program; an exit reaped before the
 * cancellation reached it runs its handler during the park; unparked, the held-back
 * watches are submitted and every exit comes. */
START_TEST(test_park_children) {
        enum { N = 40 };
        struct loop *l = new_loop(_i);
        struct rec r = { .loop = l, .quit_after = 1 }, t = { .loop = l, .quit_after = 1 };
        char *argv[] = { (char *)pv_test_fixture(), "sleep", "30", NULL };
        struct loop_event *evs = calloc(N, sizeof(*evs)), timer;
        struct pv_process *ps = calloc(N, sizeof(*ps));
        struct pv_spawn_attr a;

        pv_spawn_attr_init(&a);
        a.argv = argv;
        for (int i = 0; i < N; i++) {
                ck_assert_int_eq(pv_spawn(&a, &ps[i], NULL, NULL), 0);
                loop_event_init(&evs[i], on_event, &r);
                ck_assert_int_eq(loop_child(l, &evs[i], ps[i].pidfd), 0);
        }
        /* The watches reach the kernel. */
        loop_event_init(&timer, on_event, &t);
        ck_assert_int_eq(loop_timer(l, &timer, now_usec(CLOCK_MONOTONIC) + 10 * USEC_PER_MSEC), 0);
        ck_assert_int_eq(loop_run(l), 0);
        /* One exits just before the park: on io_uring its watch reaps it at once. */
        ck_assert_int_eq(pv_process_signal(&ps[0], SIGKILL, NULL), 0);
        usleep(20000);
        ck_assert_int_eq(loop_park_children(l), 0);
        ck_assert_int_le(r.calls, 1);
        if (_i == LOOP_IO_URING)
                ck_assert_int_eq(r.calls, 1); /* dispatched during the park, not lost */
        for (int i = 1; i < N; i++)
                ck_assert_int_eq(pv_process_signal(&ps[i], SIGKILL, NULL), 0);
        usleep(100000);
        for (int i = 1; i < N; i++) {
                siginfo_t si = { 0 };
                ck_assert_int_eq(waitid(P_PID, (id_t)ps[i].pid, &si, WEXITED | WNOHANG | WNOWAIT), 0);
                ck_assert_msg(si.si_pid == ps[i].pid, "child %d was reaped while the loop was parked", i);
        }
        loop_unpark_children(l);
        r.quit_after = N;
        ck_assert_int_eq(loop_run(l), 0);
        ck_assert_int_eq(r.calls, N);
        for (int i = 0; i < N; i++) {
                ck_assert(!loop_event_armed(&evs[i]));
                ck_assert_int_eq(pv_process_wait(&ps[i], PV_WAIT_NOHANG, NULL, NULL), -ECHILD);
                pv_process_release(&ps[i]);
        }
        free(evs);
        free(ps);
        loop_free(l);
}
END_TEST

int main(void) {
        Suite *s = pv_test_suite("loop");
        TCase *tc = pv_test_case("both-backends");

        tcase_add_loop_test(tc, test_poll_pipe, LOOP_IO_URING, LOOP_EPOLL + 1);
        tcase_add_loop_test(tc, test_timers_order_and_disarm, LOOP_IO_URING, LOOP_EPOLL + 1);
        tcase_add_loop_test(tc, test_child_exit, LOOP_IO_URING, LOOP_EPOLL + 1);
        tcase_add_loop_test(tc, test_child_disarm_then_free, LOOP_IO_URING, LOOP_EPOLL + 1);
        tcase_add_loop_test(tc, test_many, LOOP_IO_URING, LOOP_EPOLL + 1);
        tcase_add_loop_test(tc, test_park_children, LOOP_IO_URING, LOOP_EPOLL + 1);
        pv_test_add(s, tc, NULL);
        return pv_test_main(s);
}
