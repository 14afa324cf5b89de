/* SPDX-License-Identifier: MIT */

/* bindtime: the process side of one bind(), for upgrade-bench's "bind" part (issue 6's
 * "the time one intercepted bind costs").  Linked statically, as tiny and stamp are, so
 * that bind() is a direct call (no PLT entry resolved lazily on the first call).
 *
 *   bindtime --bind 127.0.0.1:PORT --out FILE [--notify] [--exit]
 *
 * Makes two fresh TCP sockets and times, with CLOCK_MONOTONIC around the call alone, the
 * bind() of one to 127.0.0.1:0 (an address no listener has: under pidvisor's transparent
 * filter it is intercepted, not matched and continued in the kernel) and the bind() of
 * the other, with SO_REUSEADDR, to --bind (as a successor of a transparent upgrade: the
 * daemon installs the old instance's listener at that descriptor and answers 0).  The
 * order of the two alternates with the pid's parity, so that neither is always the
 * process's first.  Then listen(), and one line appended to FILE in a single write:
 * "PID ORDER OTHER_NS LISTENER_NS\n" (ORDER 0: the other bind first).
 *
 * --exit: exit 0 at once (the bench's runs without any filter, and its floor handler).
 * Else --notify sends READY=1 to $NOTIFY_SOCKET, and it serves "b PID\n" to each
 * connection until SIGTERM or SIGQUIT, on which it exits 0 (the bench puts no load on it,
 * so there is nothing in hand to finish). */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static uint64_t now(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void on_term(int sig)
{
        (void)sig;
        _exit(0);
}

static void notify_ready(void)
{
        const char *path = getenv("NOTIFY_SOCKET");
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        if (!path || !*path || strlen(path) >= sizeof(sa.sun_path))
                return;
        memcpy(sa.sun_path, path, strlen(path));
        if (sa.sun_path[0] == '@')
                sa.sun_path[0] = 0;
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || sendto(fd, "READY=1", 7, 0, (struct sockaddr *)&sa,
                             (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path))) < 0)
                perror("bindtime: READY=1");
        if (fd >= 0)
                close(fd);
}

/* One bind of a fresh TCP socket, timed: the socket (or -1 after a message), *ns. */
static int timed_bind(const struct sockaddr_in *a, bool reuse, uint64_t *ns)
{
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, r;
        uint64_t t0;

        if (fd < 0) {
                perror("bindtime: socket");
                return -1;
        }
        if (reuse)
                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        t0 = now();
        r = bind(fd, (const struct sockaddr *)a, sizeof(*a));
        *ns = now() - t0;
        if (r < 0) {
                fprintf(stderr, "bindtime: bind 127.0.0.1:%d: %s\n", ntohs(a->sin_port), strerror(errno));
                close(fd);
                return -1;
        }
        return fd;
}

int main(int argc, char **argv)
{
        const char *addr = NULL, *out = NULL;
        bool notify = false, exit_now = false;
        struct sockaddr_in want = { .sin_family = AF_INET }, other = { .sin_family = AF_INET };
        struct sigaction sa = { .sa_handler = on_term };
        uint64_t t_other = 0, t_listener = 0;
        int order = (int)(getpid() & 1), ofd, lfd = -1, fd, n;
        char host[64], line[128];
        const char *colon;

        for (int i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "--bind") && i + 1 < argc)
                        addr = argv[++i];
                else if (!strcmp(argv[i], "--out") && i + 1 < argc)
                        out = argv[++i];
                else if (!strcmp(argv[i], "--notify"))
                        notify = true;
                else if (!strcmp(argv[i], "--exit"))
                        exit_now = true;
                else {
                        fprintf(stderr, "bindtime: unknown argument %s\n", argv[i]);
                        return 2;
                }
        }
        if (!addr || !out || !(colon = strrchr(addr, ':')) || (size_t)(colon - addr) >= sizeof(host)) {
                fprintf(stderr, "usage: bindtime --bind 127.0.0.1:PORT --out FILE [--notify] [--exit]\n");
                return 2;
        }
        memcpy(host, addr, (size_t)(colon - addr));
        host[colon - addr] = 0;
        if (inet_pton(AF_INET, host, &want.sin_addr) != 1) {
                fprintf(stderr, "bindtime: %s: not an IPv4 address\n", host);
                return 2;
        }
        want.sin_port = htons((uint16_t)atoi(colon + 1));
        other.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGQUIT, &sa, NULL);
        /* The clock's first call maps the vDSO data; not inside a measurement. */
        for (int i = 0; i < 3; i++)
                (void)now();

        for (int k = 0; k < 2; k++) {
                if ((k == 0) == (order == 0)) {
                        fd = timed_bind(&other, false, &t_other);
                        if (fd < 0)
                                return 1;
                        close(fd);
                } else {
                        lfd = timed_bind(&want, true, &t_listener);
                        if (lfd < 0)
                                return 1;
                }
        }
        if (listen(lfd, 1024) < 0) {
                perror("bindtime: listen");
                return 1;
        }
        n = snprintf(line, sizeof(line), "%d %d %llu %llu\n", (int)getpid(), order,
                     (unsigned long long)t_other, (unsigned long long)t_listener);
        ofd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (ofd < 0 || write(ofd, line, (size_t)n) != n) {
                fprintf(stderr, "bindtime: %s: %s\n", out, strerror(errno));
                return 1;
        }
        close(ofd);
        if (exit_now)
                return 0;
        if (notify)
                notify_ready();
        for (;;) {
                char answer[64];
                int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

                if (c < 0) {
                        /* EAGAIN: the listener's O_NONBLOCK is the old instance's for a while. */
                        if (errno == EAGAIN) {
                                struct pollfd p = { .fd = lfd, .events = POLLIN };
                                poll(&p, 1, -1);
                                continue;
                        }
                        if (errno == EINTR || errno == ECONNABORTED)
                                continue;
                        perror("bindtime: accept");
                        return 1;
                }
                n = snprintf(answer, sizeof(answer), "b %d\n", (int)getpid());
                if (write(c, answer, (size_t)n) < 0)
                        perror("bindtime: write");
                close(c);
        }
}
