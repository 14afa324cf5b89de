/* SPDX-License-Identifier: MIT */
#pragma once

/* Taking a running process's listening sockets (hot restart's takeover, issue 6).
 *
 * pv_listeners_take() walks /proc/PID/fd of a process and copies every socket that is
 * listening (SO_ACCEPTCONN: stream and seqpacket) or, if asked, bound datagram sockets,
 * into the caller with pidfd_getfd(2).  The copy shares the open file description: the
 * same accept queue, the same O_NONBLOCK flag.  The process is addressed by its pidfd,
 * and each /proc entry is re-checked against it, so a recycled pid cannot hand over
 * someone else's sockets. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include <pidvisor/error.h>
#include <pidvisor/process.h>

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

struct pv_listener {
        int fd;         /* the caller's copy (close-on-exec) */
        int source_fd;  /* its number in the process it was taken from */
        int family;     /* AF_INET, AF_INET6, AF_UNIX */
        int type;       /* SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM */
        struct sockaddr_storage addr; /* getsockname() */
        socklen_t addr_len;
        unsigned long inode; /* socket inode, to tell copies apart */
};

enum {
        PV_TAKE_DATAGRAM = 1 << 0, /* also bound datagram sockets */
};

/* pidfd_getfd(pidfd, fd): a copy of another process's descriptor.  -EPERM comes with a
 * message that says what the kernel wants (ptrace access: same uid and dumpable, or
 * CAP_SYS_PTRACE). */
int pv_process_getfd(const struct pv_process *p, int fd, int *ret, struct pv_error *err);

/* The listening sockets of p, sorted by their number in p, one entry per socket (a
 * socket held at two numbers is taken once).  *ret is allocated (free it with
 * pv_listeners_free); *n may be 0. */
int pv_listeners_take(const struct pv_process *p, int flags, struct pv_listener **ret, size_t *n,
                      struct pv_error *err);
void pv_listeners_free(struct pv_listener *l, size_t n);

/* "127.0.0.1:8080", "[::]:80", "/run/x.sock", "@name" (systemd's forms).  Returns buf. */
char *pv_sockaddr_format(const struct sockaddr *sa, socklen_t len, char *buf, size_t size);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
