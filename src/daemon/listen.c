/* SPDX-License-Identifier: MIT */
#include "listen.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <pidvisor/pidvisor.h>

#include "log.h"
#include "manager.h"
#include "upgrade.h"
#include "lib/util.h"

static const char *listen_key_name(int type) {
        return type == SOCK_STREAM ? "ListenStream" : type == SOCK_DGRAM ? "ListenDatagram"
                                                                         : "ListenSequentialPacket";
}

static int setsockopt_int(int fd, int level, int opt, int v) {
        return RET_NERRNO(setsockopt(fd, level, opt, &v, sizeof(v)));
}

static bool have_ipv6(void) {
        static int cached = -1;

        if (cached < 0) {
                int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                cached = fd >= 0 || errno != EAFNOSUPPORT;
                if (fd >= 0)
                        close(fd);
        }
        return cached;
}

/* mkdir -p of the parents of a unix socket's path. */
static int mkdir_parents(const char *path, mode_t mode) {
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
                *s = 0;
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return negerrno();
                *s = '/';
        }
        return 0;
}

int listen_open(const struct unit_config *c, const struct listen_spec *l, int *ret_fd,
                char *why, size_t why_size) {
        struct socket_address a = l->addr;
        int family = a.sockaddr.sa.sa_family, r;
        _cleanup_close_ int fd = -EBADF;
        const char *path = NULL;

        if (a.port_only && !have_ipv6()) {
                uint16_t port = a.sockaddr.in6.sin6_port;
                memset(&a.sockaddr, 0, sizeof(a.sockaddr));
                a.sockaddr.in.sin_family = family = AF_INET;
                a.sockaddr.in.sin_port = port;
                a.sockaddr.in.sin_addr.s_addr = htonl(INADDR_ANY);
                a.len = sizeof(struct sockaddr_in);
        }
        if (family == AF_UNIX && a.sockaddr.un.sun_path[0])
                path = a.sockaddr.un.sun_path;

        fd = RET_NERRNO(socket(family, a.type | SOCK_CLOEXEC, 0));
        if (fd < 0) {
                snprintf(why, why_size, "socket: %s", strerror(-fd));
                return fd;
        }
        /* On every socket, as systemd's socket_address_listen() does: a service that
         * checks its sockets' options sees the same under either manager. */
        r = setsockopt_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);
        if (r < 0) {
                snprintf(why, why_size, "setsockopt SO_REUSEADDR: %s", strerror(-r));
                return r;
        }
        if (family == AF_INET6 && c->bind_ipv6_only >= 0) {
                r = setsockopt_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, c->bind_ipv6_only);
                if (r < 0) {
                        snprintf(why, why_size, "BindIPv6Only=: %s", strerror(-r));
                        return r;
                }
        }
        if (c->reuse_port) {
                r = setsockopt_int(fd, SOL_SOCKET, SO_REUSEPORT, 1);
                if (r < 0) {
                        snprintf(why, why_size, "ReusePort=: %s", strerror(-r));
                        return r;
                }
        }
        if (c->free_bind && (family == AF_INET || family == AF_INET6)) {
                r = family == AF_INET ? setsockopt_int(fd, IPPROTO_IP, IP_FREEBIND, 1)
                                      : setsockopt_int(fd, IPPROTO_IPV6, IPV6_FREEBIND, 1);
                if (r < 0) {
                        snprintf(why, why_size, "FreeBind=: %s", strerror(-r));
                        return r;
                }
        }
        if (path) {
                struct stat st;

                r = mkdir_parents(path, c->directory_mode);
                if (r < 0) {
                        snprintf(why, why_size, "creating the directories of %s: %s", path, strerror(-r));
                        return r;
                }
                /* A socket file left by an earlier run is replaced; anything else at the
                 * path is not ours to remove. */
                if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
                        unlink(path);
        }
        if (path) {
                /* The socket file is created with the mode bind() finds in the umask;
                 * one thread, so setting it around the call is safe. */
                mode_t old = umask(~c->socket_mode & 0777);
                r = RET_NERRNO(bind(fd, &a.sockaddr.sa, a.len));
                umask(old);
        } else
                r = RET_NERRNO(bind(fd, &a.sockaddr.sa, a.len));
        if (r < 0) {
                snprintf(why, why_size, "bind: %s", strerror(-r));
                return r;
        }
        if (path && (c->socket_user || c->socket_group)) {
                struct pv_user user = { 0 };
                struct pv_error err = { 0 };
                uid_t uid = (uid_t)-1;
                gid_t gid = (gid_t)-1;

                if (c->socket_user) {
                        r = pv_user_lookup(c->socket_user, &user, &err);
                        if (r < 0) {
                                snprintf(why, why_size, "SocketUser=%s: %s", c->socket_user, err.message);
                                unlink(path);
                                return r;
                        }
                        uid = user.uid;
                        gid = user.gid;
                        pv_user_done(&user);
                }
                if (c->socket_group) {
                        r = pv_group_lookup(c->socket_group, &gid, &err);
                        if (r < 0) {
                                snprintf(why, why_size, "SocketGroup=%s: %s", c->socket_group, err.message);
                                unlink(path);
                                return r;
                        }
                }
                if (lchown(path, uid, gid) < 0) {
                        r = negerrno();
                        snprintf(why, why_size, "chown %s: %s", path, strerror(-r));
                        unlink(path);
                        return r;
                }
        }
        if (a.type != SOCK_DGRAM) {
                r = RET_NERRNO(listen(fd, (int)(c->backlog > INT32_MAX ? INT32_MAX : c->backlog)));
                if (r < 0) {
                        snprintf(why, why_size, "listen: %s", strerror(-r));
                        return r;
                }
        }
        if (c->non_blocking) {
                int fl = fcntl(fd, F_GETFL);
                if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
                        r = negerrno();
                        snprintf(why, why_size, "NonBlocking=: %s", strerror(-r));
                        return r;
                }
        }
        *ret_fd = fd_move_above(TAKE_FD(fd), DAEMON_FD_HIGH);
        return 0;
}

/* Everything that decides what listen_open() makes: two lines with equal keys give
 * sockets that cannot be told apart, so a reload keeps the open one. */
static char *listen_key(const struct unit_config *c, const struct listen_spec *l) {
        char addr[256], *key;

        socket_address_format(&l->addr, addr, sizeof(addr));
        if (asprintf(&key, "%s %s%s backlog=%u reuseport=%d freebind=%d nonblock=%d v6only=%d "
                           "mode=%o dirmode=%o user=%s group=%s",
                     socket_type_to_string(l->addr.type), addr, l->addr.port_only ? " any" : "",
                     c->backlog, c->reuse_port, c->free_bind, c->non_blocking, c->bind_ipv6_only,
                     c->socket_mode, c->directory_mode, c->socket_user ? c->socket_user : "",
                     c->socket_group ? c->socket_group : "") < 0)
                return NULL;
        return key;
}

void service_sockets_close(struct service *s) {
        for (size_t i = 0; i < s->n_listen_fds; i++) {
                safe_close(s->listen_fds[i]);
                free(s->listen_keys[i]);
        }
        free(s->listen_fds);
        free(s->listen_keys);
        s->listen_fds = NULL;
        s->listen_keys = NULL;
        s->n_listen_fds = 0;
}

int service_sockets_sync(struct service *s, char *why, size_t why_size) {
        const struct unit_config *c = s->cfg;
        size_t n = c ? c->n_listen : 0;
        _cleanup_free_ int *fds = NULL;
        _cleanup_free_ char **keys = NULL;
        _cleanup_free_ bool *reused = NULL;
        size_t i;
        int r = 0;

        if (n == 0) {
                service_sockets_close(s);
                return 0;
        }
        fds = malloc(n * sizeof(*fds));
        keys = calloc(n, sizeof(*keys));
        reused = calloc(s->n_listen_fds + 1, sizeof(*reused));
        if (!fds || !keys || !reused) {
                snprintf(why, why_size, "out of memory");
                return -ENOMEM;
        }
        for (i = 0; i < n; i++) {
                const struct listen_spec *l = &c->listen[i];
                char what[512];
                size_t j;

                fds[i] = -EBADF;
                keys[i] = listen_key(c, l);
                if (!keys[i]) {
                        r = -ENOMEM;
                        snprintf(why, why_size, "out of memory");
                        break;
                }
                for (j = 0; j < s->n_listen_fds; j++)
                        if (!reused[j] && strcmp(s->listen_keys[j], keys[i]) == 0)
                                break;
                if (j < s->n_listen_fds) {
                        reused[j] = true;
                        fds[i] = s->listen_fds[j];
                        continue;
                }
                /* Same address and type with other options: the old socket holds the
                 * address, so it goes first (this runs while the service is down). */
                for (j = 0; j < s->n_listen_fds; j++) {
                        const char *o = s->listen_keys[j], *end = strstr(keys[i], " backlog=");
                        size_t where = end ? (size_t)(end - keys[i]) : strlen(keys[i]);
                        if (!reused[j] && s->listen_fds[j] >= 0 && !strncmp(o, keys[i], where) && o[where] == ' ') {
                                s->listen_fds[j] = safe_close(s->listen_fds[j]);
                                reused[j] = true;
                        }
                }
                r = listen_open(c, l, &fds[i], what, sizeof(what));
                if (r < 0) {
                        snprintf(why, why_size, "%s:%u: %s=%s: %s", c->socket_file, l->line,
                                 listen_key_name(l->addr.type), l->text, what);
                        free(keys[i]);
                        keys[i] = NULL;
                        break;
                }
        }
        if (r < 0) {
                /* Undo: close what this call opened, keep the old set. */
                for (size_t k = 0; k < i; k++) {
                        bool old = false;
                        for (size_t j = 0; j < s->n_listen_fds; j++)
                                old |= s->listen_fds[j] == fds[k];
                        if (!old)
                                safe_close(fds[k]);
                        free(keys[k]);
                }
                /* An old socket closed for its new options cannot come back: then none
                 * of the old set is kept, and the next start binds afresh. */
                for (size_t j = 0; j < s->n_listen_fds; j++)
                        if (s->listen_fds[j] < 0) {
                                service_sockets_close(s);
                                break;
                        }
                return r;
        }
        for (size_t j = 0; j < s->n_listen_fds; j++) {
                if (!reused[j])
                        safe_close(s->listen_fds[j]);
                free(s->listen_keys[j]);
        }
        free(s->listen_fds);
        free(s->listen_keys);
        s->listen_fds = TAKE_PTR(fds);
        s->listen_keys = TAKE_PTR(keys);
        s->n_listen_fds = n;
        return 0;
}

/* Whether a socket taken from a process is the one listen_open() made for line l. */
static bool same_listener(const struct listen_spec *l, const struct pv_listener *t) {
        const struct socket_address *a = &l->addr;

        if (t->fd < 0 || t->type != a->type)
                return false;
        if (a->port_only) {
                /* Any address, IPv6 where the machine has it, else IPv4: the port decides. */
                const struct sockaddr_in *in4 = (const struct sockaddr_in *)&t->addr;
                const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&t->addr;
                uint16_t port = a->sockaddr.in6.sin6_port;
                return (t->family == AF_INET6 && in6->sin6_port == port) ||
                       (t->family == AF_INET && in4->sin_port == port);
        }
        if (t->family == AF_UNIX && a->sockaddr.sa.sa_family == AF_UNIX) {
                /* getsockname() may report the path with or without its trailing NUL. */
                size_t off = offsetof(struct sockaddr_un, sun_path);
                const char *x = a->sockaddr.un.sun_path, *y = ((const struct sockaddr_un *)&t->addr)->sun_path;
                size_t lx = a->len > off ? a->len - off : 0, ly = t->addr_len > off ? t->addr_len - off : 0;
                while (lx > 0 && x[lx - 1] == 0 && x[0])
                        lx--;
                while (ly > 0 && y[ly - 1] == 0 && y[0])
                        ly--;
                return lx == ly && memcmp(x, y, lx) == 0;
        }
        return t->addr_len == a->len && memcmp(&t->addr, &a->sockaddr, a->len) == 0;
}

size_t service_sockets_adopt(struct service *s, struct pv_listener *taken, size_t n) {
        const struct unit_config *c = s->cfg;
        size_t matched = 0;

        if (!c || c->n_listen == 0 || s->n_listen_fds > 0)
                return 0;
        s->listen_fds = calloc(c->n_listen, sizeof(int));
        s->listen_keys = calloc(c->n_listen, sizeof(char *));
        if (!s->listen_fds || !s->listen_keys) {
                free(s->listen_fds);
                free(s->listen_keys);
                s->listen_fds = NULL;
                s->listen_keys = NULL;
                return 0;
        }
        for (size_t i = 0; i < c->n_listen; i++) {
                s->listen_fds[i] = -EBADF;
                for (size_t j = 0; j < n; j++)
                        if (same_listener(&c->listen[i], &taken[j])) {
                                s->listen_keys[i] = listen_key(c, &c->listen[i]);
                                if (!s->listen_keys[i])
                                        break;
                                s->listen_fds[i] = fd_move_above(taken[j].fd, DAEMON_FD_HIGH);
                                taken[j].fd = -EBADF;
                                matched++;
                                break;
                        }
        }
        /* Only whole entries: the ones not found are bound afresh by the sync. */
        for (size_t i = 0, k = 0; i < c->n_listen; i++)
                if (s->listen_fds[i] >= 0) {
                        s->listen_fds[k] = s->listen_fds[i];
                        s->listen_keys[k++] = s->listen_keys[i];
                } else
                        free(s->listen_keys[i]);
        s->n_listen_fds = matched;
        return matched;
}

/* --- the fd store -------------------------------------------------------------------- */

/* Whether a and b are the same open file (kcmp), else the same inode. */
static bool same_file(int a, int b) {
        pid_t self = getpid();
        struct stat sa, sb;
        long r = syscall(SYS_kcmp, self, self, KCMP_FILE, a, b);

        if (r >= 0)
                return r == 0;
        return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
               sa.st_ino == sb.st_ino;
}

void service_fdstore_add(struct service *s, int *fds, size_t n_fds, const char *name) {
        unsigned max = s->cfg ? s->cfg->fd_store_max : 0;

        if (!name)
                name = "stored";
        for (size_t i = 0; i < n_fds; i++) {
                struct stored_fd *grown;
                bool dup = false;

                if (fds[i] < 0)
                        continue;
                for (size_t j = 0; j < s->n_fdstore && !dup; j++)
                        dup = same_file(s->fdstore[j].fd, fds[i]);
                if (dup) {
                        log_debug("%s: FDSTORE=1: descriptor already stored, not kept twice", s->name);
                        continue;
                }
                if (s->n_fdstore >= max) {
                        log_warning("%s: FDSTORE=1: %s, descriptor closed",
                                    s->name, max == 0 ? "the fd store is off (FileDescriptorStoreMax=0)"
                                                      : "the fd store is full (FileDescriptorStoreMax=)");
                        continue;
                }
                grown = realloc(s->fdstore, (s->n_fdstore + 1) * sizeof(*grown));
                if (!grown) {
                        log_error("%s: FDSTORE=1: out of memory, descriptor closed", s->name);
                        return;
                }
                s->fdstore = grown;
                s->fdstore[s->n_fdstore].name = strdup(name);
                if (!s->fdstore[s->n_fdstore].name) {
                        log_error("%s: FDSTORE=1: out of memory, descriptor closed", s->name);
                        return;
                }
                s->fdstore[s->n_fdstore].fd = fd_move_above(fds[i], DAEMON_FD_HIGH);
                fds[i] = -EBADF;
                s->n_fdstore++;
                log_debug("%s: stored a descriptor as \"%s\" (%zu stored)", s->name, name, s->n_fdstore);
        }
}

void service_fdstore_remove(struct service *s, const char *name) {
        size_t k = 0;

        for (size_t i = 0; i < s->n_fdstore; i++) {
                if (strcmp(s->fdstore[i].name, name) == 0) {
                        safe_close(s->fdstore[i].fd);
                        free(s->fdstore[i].name);
                } else
                        s->fdstore[k++] = s->fdstore[i];
        }
        if (k != s->n_fdstore)
                log_debug("%s: FDSTOREREMOVE=1: removed %zu descriptors named \"%s\"", s->name,
                          s->n_fdstore - k, name);
        s->n_fdstore = k;
}

void service_fdstore_release(struct service *s) {
        for (size_t i = 0; i < s->n_fdstore; i++) {
                safe_close(s->fdstore[i].fd);
                free(s->fdstore[i].name);
        }
        free(s->fdstore);
        s->fdstore = NULL;
        s->n_fdstore = 0;
}

int service_listen_fds(const struct service *s, int **ret_fds, size_t *ret_n, char **ret_names) {
        size_t n_taken = 0, n, len = 0, k = 0;
        const struct pv_listener *taken = upgrade_passed_listeners(s, &n_taken);
        _cleanup_free_ int *fds = NULL;
        _cleanup_free_ char *names = NULL, *default_name = NULL;
        const char *sock_name = s->cfg ? s->cfg->fd_name : NULL;

        *ret_fds = NULL;
        *ret_n = 0;
        *ret_names = NULL;
        n = s->n_listen_fds + n_taken + s->n_fdstore;
        if (n == 0)
                return 0;
        /* Taken listeners are named as a socket unit's would be, so that a service that
         * looks its listeners up by name finds them either way. */
        if (!sock_name) {
                if (asprintf(&default_name, "%s.socket", s->name) < 0)
                        return -ENOMEM;
                sock_name = default_name;
        }
        len = (s->n_listen_fds + n_taken) * (strlen(sock_name) + 1);
        for (size_t i = 0; i < s->n_fdstore; i++)
                len += strlen(s->fdstore[i].name) + 1;
        fds = malloc(n * sizeof(*fds));
        names = malloc(len + 1);
        if (!fds || !names)
                return -ENOMEM;
        names[0] = 0;
        len = 0;
        for (size_t i = 0; i < s->n_listen_fds; i++, k++) {
                fds[k] = s->listen_fds[i];
                len += (size_t)sprintf(names + len, "%s%s", k ? ":" : "", sock_name);
        }
        for (size_t i = 0; i < n_taken; i++, k++) {
                fds[k] = taken[i].fd;
                len += (size_t)sprintf(names + len, "%s%s", k ? ":" : "", sock_name);
        }
        for (size_t i = 0; i < s->n_fdstore; i++, k++) {
                fds[k] = s->fdstore[i].fd;
                len += (size_t)sprintf(names + len, "%s%s", k ? ":" : "", s->fdstore[i].name);
        }
        *ret_fds = TAKE_PTR(fds);
        *ret_n = n;
        *ret_names = TAKE_PTR(names);
        return 0;
}
