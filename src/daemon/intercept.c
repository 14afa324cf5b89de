/* SPDX-License-Identifier: MIT */
#include "intercept.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/util.h"
#include "log.h"
#include "manager.h"
#include "upgrade.h"

#if defined(__x86_64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "intercept.c: add this architecture's AUDIT_ARCH"
#endif

#ifndef SECCOMP_USER_NOTIF_FLAG_CONTINUE
#define SECCOMP_USER_NOTIF_FLAG_CONTINUE (1UL << 0)
#endif

const struct sock_fprog *intercept_transparent_filter(void) {
#ifdef __NR_unlink
#define UNLINK_JUMPS 1
#else
#define UNLINK_JUMPS 0
#endif
        static struct sock_filter f[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_AUDIT_ARCH, 1, 0),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_bind, 2 + UNLINK_JUMPS, 0),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_unlinkat, 1 + UNLINK_JUMPS, 0),
#ifdef __NR_unlink
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_unlink, 1, 0),
#endif
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
        };
        static const struct sock_fprog prog = { .len = ELEMENTSOF(f), .filter = f };
        return &prog;
}

static size_t notif_size, resp_size;

static int sizes(void) {
        struct seccomp_notif_sizes sz;

        if (notif_size)
                return 0;
        if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz) < 0)
                return negerrno();
        notif_size = sz.seccomp_notif > sizeof(struct seccomp_notif) ? sz.seccomp_notif : sizeof(struct seccomp_notif);
        resp_size = sz.seccomp_notif_resp > sizeof(struct seccomp_notif_resp) ? sz.seccomp_notif_resp
                                                                              : sizeof(struct seccomp_notif_resp);
        return 0;
}

static void respond(struct intercept *ic, uint64_t id, int64_t val, int error, uint32_t flags) {
        char buf[64];
        struct seccomp_notif_resp *r = (struct seccomp_notif_resp *)buf;

        memset(buf, 0, sizeof(buf));
        r->id = id;
        r->val = val;
        r->error = error;
        r->flags = flags;
        /* ENOENT: the call is gone (the process was killed, or the call interrupted, in
         * which case the restarted call notifies again). */
        if (ioctl(ic->fd, SECCOMP_IOCTL_NOTIF_SEND, r) < 0 && errno != ENOENT)
                log_debug("%s: seccomp notification %llu: answer: %s", ic->s->name, (unsigned long long)id,
                          strerror(errno));
}

static void resume(struct intercept *ic, uint64_t id) {
        respond(ic, id, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE);
}

/* Reads len bytes at addr in the process: 0, or a negative errno. */
static int read_target(pid_t pid, uint64_t addr, void *buf, size_t len) {
        struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };
        ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);

        if (n < 0)
                return negerrno();
        return (size_t)n == len ? 0 : -EFAULT;
}

/* The thread group (process) of a thread id, from /proc. */
static pid_t tgid_of(pid_t tid) {
        char path[64], line[256];
        pid_t tgid = 0;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
        f = fopen(path, "re");
        while (f && fgets(line, sizeof(line), f))
                if (sscanf(line, "Tgid: %d", &tgid) == 1)
                        break;
        if (f)
                fclose(f);
        return tgid;
}

/* Whether two socket addresses name the same place; sin_zero and a unix path's bytes
 * after its NUL do not count. */
static bool same_address(const struct sockaddr *a, socklen_t alen, const struct sockaddr *b, socklen_t blen) {
        if (alen < sizeof(sa_family_t) || blen < sizeof(sa_family_t) || a->sa_family != b->sa_family)
                return false;
        switch (a->sa_family) {
        case AF_INET: {
                const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
                return alen >= sizeof(*x) && blen >= sizeof(*y) && x->sin_port == y->sin_port &&
                       x->sin_addr.s_addr == y->sin_addr.s_addr;
        }
        case AF_INET6: {
                const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
                return alen >= sizeof(*x) && blen >= sizeof(*y) && x->sin6_port == y->sin6_port &&
                       !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) &&
                       x->sin6_scope_id == y->sin6_scope_id;
        }
        case AF_UNIX: {
                const struct sockaddr_un *x = (const void *)a, *y = (const void *)b;
                size_t off = offsetof(struct sockaddr_un, sun_path), xn = alen - off, yn = blen - off;
                if (alen <= off || blen <= off)
                        return false;
                if (x->sun_path[0] && y->sun_path[0]) /* paths: up to the NUL */
                        return strnlen(x->sun_path, xn) == strnlen(y->sun_path, yn) &&
                               !memcmp(x->sun_path, y->sun_path, strnlen(x->sun_path, xn));
                return xn == yn && !memcmp(x->sun_path, y->sun_path, xn); /* abstract: exactly */
        }
        default:
                return false;
        }
}

static int sockopt(int fd, int level, int opt) {
        int v = -1;
        socklen_t len = sizeof(v);
        return getsockopt(fd, level, opt, &v, &len) < 0 ? -1 : v;
}

/* Whether fd `nr` of process `tgid` is close-on-exec (/proc/PID/fdinfo's flags). */
static bool fd_cloexec(pid_t tgid, int nr) {
        char path[64], line[128];
        unsigned flags = 0;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)tgid, nr);
        f = fopen(path, "re");
        while (f && fgets(line, sizeof(line), f))
                if (sscanf(line, "flags: %o", &flags) == 1)
                        break;
        if (f)
                fclose(f);
        return flags & O_CLOEXEC;
}

static void handle_bind(struct intercept *ic, const struct seccomp_notif *req) {
        struct sockaddr_storage want;
        socklen_t len = (socklen_t)req->data.args[2];
        int nr = (int)req->data.args[0], theirs = -EBADF;
        struct pv_process p = PV_PROCESS_NULL;
        size_t i;
        pid_t tgid;

        if (!ic->offer || len < sizeof(sa_family_t) || len > sizeof(want) ||
            read_target(req->pid, req->data.args[1], &want, len) < 0)
                goto cont;
        /* What was read may belong to another call if this one is gone meanwhile. */
        if (ioctl(ic->fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &req->id) < 0)
                return;
        /* The first listener of that address not given yet, or the one given to this
         * very descriptor (a call restarted after a signal notifies again). */
        for (i = 0; i < ic->n_offer; i++)
                if (same_address((const struct sockaddr *)&ic->offer[i].addr, ic->offer[i].addr_len,
                                 (const struct sockaddr *)&want, len) &&
                    (ic->installed_at[i] < 0 || ic->installed_at[i] == nr))
                        break;
        if (i == ic->n_offer)
                goto cont;
        tgid = tgid_of(req->pid);
        if (tgid <= 0 || pv_process_open(tgid, &p, NULL) < 0 || pv_process_getfd(&p, nr, &theirs, NULL) < 0)
                goto cont;
        /* Its own socket must be of the same kind, or the program would be surprised. */
        if (sockopt(theirs, SOL_SOCKET, SO_TYPE) != ic->offer[i].type ||
            sockopt(theirs, SOL_SOCKET, SO_DOMAIN) != ic->offer[i].family ||
            (ic->offer[i].family == AF_INET6 &&
             sockopt(theirs, IPPROTO_IPV6, IPV6_V6ONLY) != sockopt(ic->offer[i].fd, IPPROTO_IPV6, IPV6_V6ONLY))) {
                log_notice("%s: bind of fd %d by pid %d: a socket of another kind than the listener; bound as it is",
                           ic->s->name, nr, (int)req->pid);
                goto cont;
        }
        {
                struct seccomp_notif_addfd add = {
                        .id = req->id,
                        .flags = SECCOMP_ADDFD_FLAG_SETFD,
                        .srcfd = (uint32_t)ic->offer[i].fd,
                        .newfd = (uint32_t)nr,
                        .newfd_flags = fd_cloexec(tgid, nr) ? O_CLOEXEC : 0,
                };
                int fl = fcntl(theirs, F_GETFL);

                if (ioctl(ic->fd, SECCOMP_IOCTL_NOTIF_ADDFD, &add) < 0) {
                        int e = errno;
                        if (e == ENOENT) /* the call is gone */
                                goto out;
                        log_warning("%s: installing the listener at fd %d of pid %d: %s; bound as it is",
                                    ic->s->name, nr, (int)req->pid, strerror(e));
                        goto cont;
                }
                if (ic->installed_at[i] < 0)
                        ic->n_installed++;
                ic->installed_at[i] = nr;
                ic->wanted_flags[i] = fl < 0 ? 0 : (fl & O_NONBLOCK);
                respond(ic, req->id, 0, 0, 0);
                upgrade_bind_answered(ic->s, ic);
                log_debug("%s: bind(%d) of pid %d answered with the old instance's listener", ic->s->name, nr,
                          (int)req->pid);
                goto out;
        }
cont:
        resume(ic, req->id);
out:
        safe_close(theirs);
        pv_process_release(&p);
}

/* unlink()/unlinkat() of a listening unix socket's path would take the live socket's
 * name away: answered 0 without doing it.  Relative paths are resolved against the
 * process's working directory (or the dirfd). */
static void handle_unlink(struct intercept *ic, const struct seccomp_notif *req) {
        bool at = req->data.nr == __NR_unlinkat;
        uint64_t ptr = at ? req->data.args[1] : req->data.args[0];
        char path[PATH_MAX], full[PATH_MAX + 64];
        size_t n = 0;

        if (!ic->offer || (at && (req->data.args[2] & AT_REMOVEDIR)))
                goto cont;
        /* Byte by byte in pages would be more exact; a path ends well within PATH_MAX. */
        while (n < sizeof(path) - 1) {
                size_t chunk = 256 < sizeof(path) - 1 - n ? 256 : sizeof(path) - 1 - n;
                struct iovec local = { path + n, chunk }, remote = { (void *)(uintptr_t)(ptr + n), chunk };
                ssize_t got = process_vm_readv(req->pid, &local, 1, &remote, 1, 0);
                if (got <= 0)
                        break;
                if (memchr(path + n, 0, (size_t)got)) {
                        n += (size_t)got;
                        break;
                }
                n += (size_t)got;
        }
        path[n < sizeof(path) ? n : sizeof(path) - 1] = 0;
        if (!memchr(path, 0, n ? n : 1) || !path[0])
                goto cont;
        if (ioctl(ic->fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &req->id) < 0)
                return;
        if (path[0] != '/') {
                char link[64], base[PATH_MAX];
                ssize_t bl;
                int dirfd = at ? (int)req->data.args[0] : AT_FDCWD;

                if (dirfd == AT_FDCWD)
                        snprintf(link, sizeof(link), "/proc/%d/cwd", (int)req->pid);
                else
                        snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)req->pid, dirfd);
                bl = readlink(link, base, sizeof(base) - 1);
                if (bl <= 0)
                        goto cont;
                base[bl] = 0;
                /* Too long to be a unix socket's path (107 bytes at most) anyway. */
                if (strlen(base) + 1 + strlen(path) >= sizeof(full))
                        goto cont;
                memcpy(full, base, strlen(base));
                full[strlen(base)] = '/';
                memcpy(full + strlen(base) + 1, path, strlen(path) + 1);
        } else
                snprintf(full, sizeof(full), "%s", path);
        for (size_t i = 0; i < ic->n_offer; i++) {
                const struct sockaddr_un *un = (const void *)&ic->offer[i].addr;
                if (ic->offer[i].family == AF_UNIX && un->sun_path[0] && !strcmp(un->sun_path, full)) {
                        log_debug("%s: unlink(\"%s\") by pid %d answered 0: the listener lives on", ic->s->name,
                                  full, (int)req->pid);
                        respond(ic, req->id, 0, 0, 0);
                        return;
                }
        }
cont:
        resume(ic, req->id);
}

static void handle_kill(struct intercept *ic, const struct seccomp_notif *req) {
        char name[64];
        pid_t tgid = tgid_of(req->pid);
        struct pv_process p = PV_PROCESS_NULL;

        pv_seccomp_syscall_name(req->data.arch == NATIVE_AUDIT_ARCH ? 0 : req->data.arch, req->data.nr, name,
                                sizeof(name));
        /* The process is killed; which call did it is what the service's exit will say. */
        service_seccomp_violation(ic->s, tgid, name);
        if (tgid > 0 && pv_process_open(tgid, &p, NULL) == 0 &&
            ioctl(ic->fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &req->id) == 0)
                pv_process_signal(&p, SIGKILL, NULL);
        pv_process_release(&p);
        respond(ic, req->id, 0, EPERM, 0);
}

static void intercept_free(struct intercept *ic) {
        struct intercept **pp;

        if (ic->s->up && ic->s->up->ic == ic)
                ic->s->up->ic = NULL;
        intercept_offer(ic, NULL, 0);

        for (pp = &ic->s->intercepts; *pp; pp = &(*pp)->next)
                if (*pp == ic) {
                        *pp = ic->next;
                        break;
                }
        loop_disarm(ic->s->m->loop, &ic->ev);
        safe_close(ic->fd);
        free(ic->installed_at);
        free(ic->wanted_flags);
        free(ic);
}

static void on_notification(struct loop_event *ev, int res) {
        struct intercept *ic = ev->data;
        char buf[256] __attribute__((aligned(8)));
        struct seccomp_notif *req = (struct seccomp_notif *)buf;

        if (res < 0 || (res & (POLLHUP | POLLERR | POLLNVAL))) {
                /* Every process under the filter is gone. */
                log_debug("%s: seccomp listener of pid %d closed", ic->s->name, (int)ic->pid);
                intercept_free(ic);
                return;
        }
        for (int i = 0; i < 64; i++) {
                memset(buf, 0, notif_size);
                if (ioctl(ic->fd, SECCOMP_IOCTL_NOTIF_RECV, req) < 0) {
                        if (errno == EINTR)
                                continue;
                        break; /* ENOENT: the caller went away; EAGAIN-like: nothing more */
                }
                if (req->data.arch == NATIVE_AUDIT_ARCH && req->data.nr == __NR_bind)
                        handle_bind(ic, req);
                else if (req->data.arch == NATIVE_AUDIT_ARCH &&
                         (req->data.nr == __NR_unlinkat
#ifdef __NR_unlink
                          || req->data.nr == __NR_unlink
#endif
                          ))
                        handle_unlink(ic, req);
                else if (ic->kills)
                        handle_kill(ic, req);
                else
                        resume(ic, req->id);
                struct pollfd p = { .fd = ic->fd, .events = POLLIN };
                if (poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN))
                        break;
        }
        if (loop_poll(ic->s->m->loop, &ic->ev, ic->fd, POLLIN) < 0) {
                log_error("%s: cannot watch the seccomp listener any more", ic->s->name);
                intercept_free(ic);
        }
}

int intercept_add(struct service *s, int fd, pid_t pid, bool kills, struct intercept **ret) {
        struct intercept *ic;
        int r = sizes();

        if (r < 0 || notif_size > 256 || resp_size > 64) {
                safe_close(fd);
                return r < 0 ? r : -EOVERFLOW;
        }
        ic = calloc(1, sizeof(*ic));
        if (!ic) {
                safe_close(fd);
                return -ENOMEM;
        }
        ic->s = s;
        ic->fd = fd_move_above(fd, DAEMON_FD_HIGH);
        ic->pid = pid;
        ic->kills = kills;
        loop_event_init(&ic->ev, on_notification, ic);
        r = loop_poll(s->m->loop, &ic->ev, ic->fd, POLLIN);
        if (r < 0) {
                safe_close(ic->fd);
                free(ic);
                return r;
        }
        ic->next = s->intercepts;
        s->intercepts = ic;
        if (ret)
                *ret = ic;
        return 0;
}

void intercept_offer(struct intercept *ic, const struct pv_listener *l, size_t n) {
        /* Copies, descriptors included: the offer must outlive whatever array it came from
         * (KeepListeners= replaces its copies while the instance runs). */
        pv_listeners_free(ic->offer, ic->n_offer);
        free(ic->installed_at);
        free(ic->wanted_flags);
        ic->installed_at = ic->wanted_flags = NULL;
        ic->offer = NULL;
        ic->n_offer = ic->n_installed = 0;
        if (!l || n == 0)
                return;
        ic->offer = calloc(n, sizeof(*ic->offer));
        ic->installed_at = malloc(n * sizeof(int));
        ic->wanted_flags = calloc(n, sizeof(int));
        if (!ic->offer || !ic->installed_at || !ic->wanted_flags)
                goto fail;
        for (size_t i = 0; i < n; i++) {
                ic->offer[i] = l[i];
                ic->offer[i].fd = fcntl(l[i].fd, F_DUPFD_CLOEXEC, DAEMON_FD_HIGH);
                ic->installed_at[i] = -1;
                if (ic->offer[i].fd < 0) {
                        while (i-- > 0)
                                safe_close(ic->offer[i].fd);
                        goto fail;
                }
        }
        ic->n_offer = n;
        return;
fail:
        log_error("%s: cannot offer the listeners to pid %d: %s; its binds go on as they are", ic->s->name,
                  (int)ic->pid, strerror(errno ? errno : ENOMEM));
        free(ic->offer);
        free(ic->installed_at);
        free(ic->wanted_flags);
        ic->offer = NULL;
        ic->installed_at = ic->wanted_flags = NULL;
}

void intercept_restore_flags(struct intercept *ic) {
        for (size_t i = 0; ic->offer && i < ic->n_offer; i++) {
                int fl;
                if (ic->installed_at[i] < 0 || (fl = fcntl(ic->offer[i].fd, F_GETFL)) < 0)
                        continue;
                if ((fl & O_NONBLOCK) != ic->wanted_flags[i])
                        fcntl(ic->offer[i].fd, F_SETFL, (fl & ~O_NONBLOCK) | ic->wanted_flags[i]);
        }
}

void intercept_free_all(struct service *s) {
        while (s->intercepts)
                intercept_free(s->intercepts);
}
