/* SPDX-License-Identifier: MIT */
#include <pidvisor/handoff.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "util.h"

#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

int pv_process_getfd(const struct pv_process *p, int fd, int *ret, struct pv_error *err) {
        int r;

        if (!p || p->pidfd < 0)
                return pv_error_setf(err, -EBADF, "pidfd_getfd: process handle released");
        r = RET_NERRNO(syscall(SYS_pidfd_getfd, p->pidfd, fd, 0));
        if (r == -EPERM)
                return pv_error_setf(err, r,
                                     "pidfd_getfd of fd %d of pid %d: Operation not permitted (it takes "
                                     "ptrace access: the same user and a dumpable process, or "
                                     "CAP_SYS_PTRACE)",
                                     fd, (int)p->pid);
        if (r < 0)
                return pv_error_set(err, r, "pidfd_getfd of fd %d of pid %d", fd, (int)p->pid);
        *ret = r; /* pidfd_getfd always sets O_CLOEXEC */
        return 0;
}

void pv_listeners_free(struct pv_listener *l, size_t n) {
        for (size_t i = 0; l && i < n; i++)
                safe_close(l[i].fd);
        free(l);
}

static int cmp_source(const void *a, const void *b) {
        const struct pv_listener *x = a, *y = b;
        return (x->source_fd > y->source_fd) - (x->source_fd < y->source_fd);
}

static int getsockopt_int(int fd, int opt, int *v) {
        socklen_t len = sizeof(*v);
        return RET_NERRNO(getsockopt(fd, SOL_SOCKET, opt, v, &len));
}

/* Whether a datagram socket is bound: a port, or a unix name. */
static bool is_bound(const struct pv_listener *l) {
        switch (l->family) {
        case AF_INET:
                return ((const struct sockaddr_in *)&l->addr)->sin_port != 0;
        case AF_INET6:
                return ((const struct sockaddr_in6 *)&l->addr)->sin6_port != 0;
        case AF_UNIX:
                return l->addr_len > offsetof(struct sockaddr_un, sun_path);
        default:
                return false;
        }
}

int pv_listeners_take(const struct pv_process *p, int flags, struct pv_listener **ret, size_t *n,
                      struct pv_error *err) {
        struct pv_listener *list = NULL;
        size_t count = 0, cap = 0;
        char dir[64];
        DIR *d;
        struct dirent *de;
        int r = 0;

        snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)p->pid);
        d = opendir(dir);
        if (!d && (errno == EACCES || errno == EPERM))
                return pv_error_setf(err, -EPERM,
                                     "cannot list the descriptors of pid %d (%s): Permission denied (it takes "
                                     "ptrace access: the same user and a dumpable process, or CAP_SYS_PTRACE)",
                                     (int)p->pid, dir);
        if (!d)
                return pv_error_set(err, negerrno(), "opendir %s", dir);
        while ((de = readdir(d))) {
                char link[320], target[64];
                struct pv_listener l = { .fd = -EBADF };
                unsigned long ino;
                ssize_t len;
                int accepting = 0;
                bool dup = false;

                if (de->d_name[0] < '0' || de->d_name[0] > '9')
                        continue;
                l.source_fd = atoi(de->d_name);
                snprintf(link, sizeof(link), "%s/%s", dir, de->d_name);
                len = readlink(link, target, sizeof(target) - 1);
                if (len <= 0)
                        continue;
                target[len] = 0;
                if (sscanf(target, "socket:[%lu]", &ino) != 1)
                        continue;
                for (size_t i = 0; i < count; i++)
                        dup |= list[i].inode == ino;
                if (dup)
                        continue;
                r = pv_process_getfd(p, l.source_fd, &l.fd, err);
                if (r == -EBADF) { /* closed meanwhile */
                        r = 0;
                        continue;
                }
                if (r < 0)
                        break;
                l.inode = ino;
                l.addr_len = sizeof(l.addr);
                if (getsockopt_int(l.fd, SO_DOMAIN, &l.family) < 0 || getsockopt_int(l.fd, SO_TYPE, &l.type) < 0 ||
                    getsockname(l.fd, (struct sockaddr *)&l.addr, &l.addr_len) < 0 ||
                    (l.family != AF_INET && l.family != AF_INET6 && l.family != AF_UNIX)) {
                        safe_close(l.fd);
                        continue;
                }
                if (l.type == SOCK_STREAM || l.type == SOCK_SEQPACKET)
                        (void)getsockopt_int(l.fd, SO_ACCEPTCONN, &accepting);
                else if (l.type == SOCK_DGRAM && (flags & PV_TAKE_DATAGRAM))
                        accepting = is_bound(&l);
                if (!accepting) {
                        safe_close(l.fd);
                        continue;
                }
                if (count == cap) {
                        struct pv_listener *g = realloc(list, (cap ? cap * 2 : 8) * sizeof(*g));
                        if (!g) {
                                safe_close(l.fd);
                                r = pv_error_setf(err, -ENOMEM, "out of memory");
                                break;
                        }
                        list = g;
                        cap = cap ? cap * 2 : 8;
                }
                list[count++] = l;
        }
        closedir(d);
        /* The pid was read from /proc: make sure it is still the process of the pidfd
         * (an exited process answers ESRCH; its number may since belong to another). */
        if (r == 0 && syscall(SYS_pidfd_send_signal, p->pidfd, 0, NULL, 0) < 0)
                r = pv_error_set(err, negerrno(), "pid %d", (int)p->pid);
        if (r < 0) {
                pv_listeners_free(list, count);
                return r;
        }
        if (count > 0) /* qsort's array may not be NULL, even for 0 elements (UBSan) */
                qsort(list, count, sizeof(*list), cmp_source);
        *ret = list;
        *n = count;
        return 0;
}

char *pv_sockaddr_format(const struct sockaddr *sa, socklen_t len, char *buf, size_t size) {
        char host[INET6_ADDRSTRLEN] = "";

        if (size == 0)
                return buf;
        buf[0] = 0;
        switch (sa->sa_family) {
        case AF_INET: {
                const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
                inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
                snprintf(buf, size, "%s:%u", host, ntohs(in->sin_port));
                break;
        }
        case AF_INET6: {
                const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
                inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
                if (in6->sin6_scope_id)
                        snprintf(buf, size, "[%s%%%u]:%u", host, in6->sin6_scope_id, ntohs(in6->sin6_port));
                else
                        snprintf(buf, size, "[%s]:%u", host, ntohs(in6->sin6_port));
                break;
        }
        case AF_UNIX: {
                const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
                size_t n = len > offsetof(struct sockaddr_un, sun_path) ? len - offsetof(struct sockaddr_un, sun_path) : 0;
                size_t o = 0;

                if (n == 0) {
                        snprintf(buf, size, "(unnamed)");
                        break;
                }
                if (un->sun_path[0]) {
                        snprintf(buf, size, "%.*s", (int)strnlen(un->sun_path, n), un->sun_path);
                        break;
                }
                for (size_t i = 0; i < n && o + 5 < size; i++) {
                        unsigned char c = (unsigned char)un->sun_path[i];
                        if (i == 0)
                                buf[o++] = '@';
                        else if (c >= 0x20 && c < 0x7f && c != '\\')
                                buf[o++] = (char)c;
                        else
                                o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
                }
                buf[o < size ? o : size - 1] = 0;
                break;
        }
        default:
                snprintf(buf, size, "(family %d)", sa->sa_family);
        }
        return buf;
}
