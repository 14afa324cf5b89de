/* SPDX-License-Identifier: MIT */
#include <pidvisor/notify.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "strv.h"
#include "util.h"

int pv_notify_with_fds(bool unset_environment, const char *state, const int *fds, size_t n_fds) {
        const char *e = getenv("NOTIFY_SOCKET");
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct iovec iov = { (void *)state, state ? strlen(state) : 0 };
        struct msghdr mh = { .msg_name = &sa, .msg_iov = &iov, .msg_iovlen = 1 };
        _cleanup_free_ char *control = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t len;
        int r = 0;

        if (!state)
                return -EINVAL;
        if (!e || !*e)
                return 0;
        len = strlen(e);
        if ((e[0] != '/' && e[0] != '@') || len >= sizeof(sa.sun_path)) {
                r = -EAFNOSUPPORT; /* vsock and other transports are not spoken here */
                goto out;
        }
        memcpy(sa.sun_path, e, len);
        if (sa.sun_path[0] == '@')
                sa.sun_path[0] = 0;
        mh.msg_namelen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (e[0] == '/'));
        if (n_fds > 0) {
                struct cmsghdr *c;
                if (n_fds > 253) {
                        r = -E2BIG;
                        goto out;
                }
                control = calloc(1, CMSG_SPACE(sizeof(int) * n_fds));
                if (!control) {
                        r = -ENOMEM;
                        goto out;
                }
                mh.msg_control = control;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
        }
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
                r = negerrno();
                goto out;
        }
        /* The kernel attaches our real credentials (the receiver sets SO_PASSCRED). */
        r = sendmsg(fd, &mh, MSG_NOSIGNAL) < 0 ? negerrno() : 1;
out:
        if (unset_environment)
                unsetenv("NOTIFY_SOCKET");
        return r;
}

int pv_notify(bool unset_environment, const char *state) {
        return pv_notify_with_fds(unset_environment, state, NULL, 0);
}

int pv_notifyf(bool unset_environment, const char *fmt, ...) {
        _cleanup_free_ char *s = NULL;
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -ENOMEM;
        return pv_notify(unset_environment, s);
}

static void unset_listen_env(void) {
        unsetenv("LISTEN_PID");
        unsetenv("LISTEN_FDS");
        unsetenv("LISTEN_FDNAMES");
        unsetenv("LISTEN_PIDFDID");
}

static int listen_fds(bool unset_environment, char ***names) {
        const char *pid_s = getenv("LISTEN_PID"), *fds_s = getenv("LISTEN_FDS"),
                   *names_s = getenv("LISTEN_FDNAMES");
        char **list = NULL;
        long pid, n;
        int r;

        if (!pid_s || !fds_s) {
                r = 0;
                goto out;
        }
        r = parse_long(pid_s, 1, INT32_MAX, &pid);
        if (r < 0) {
                r = -EINVAL;
                goto out;
        }
        /* The check that keeps a grandchild from taking its parent's sockets. */
        if (pid != getpid()) {
                r = 0;
                goto out;
        }
        /* As sd_listen_fds: n <= 0 is malformed, not "no sockets". */
        if (parse_long(fds_s, 1, INT32_MAX - PV_LISTEN_FDS_START, &n) < 0) {
                r = -EINVAL;
                goto out;
        }
        for (long fd = PV_LISTEN_FDS_START; fd < PV_LISTEN_FDS_START + n; fd++)
                if (fcntl((int)fd, F_SETFD, FD_CLOEXEC) < 0) {
                        r = negerrno();
                        goto out;
                }
        if (names) {
                list = calloc((size_t)n + 1, sizeof(char *));
                if (!list) {
                        r = -ENOMEM;
                        goto out;
                }
                /* Every ':' separates two names, so "a:b:" is three names. */
                const char *next = names_s; /* NULL once the last name was taken */
                for (long i = 0; i < n; i++) {
                        if (!names_s)
                                list[i] = strdup("unknown");
                        else if (!next) {
                                r = -EINVAL; /* fewer names than fds */
                                goto out;
                        } else {
                                const char *colon = strchrnul(next, ':');
                                list[i] = strndup(next, (size_t)(colon - next));
                                next = *colon ? colon + 1 : NULL;
                        }
                        if (!list[i]) {
                                r = -ENOMEM;
                                goto out;
                        }
                }
                if (names_s && next) {
                        r = -EINVAL; /* more names than fds */
                        goto out;
                }
                *names = TAKE_PTR(list);
        }
        r = (int)n;
out:
        strv_free(list);
        if (unset_environment)
                unset_listen_env();
        return r;
}

int pv_listen_fds(bool unset_environment) {
        return listen_fds(unset_environment, NULL);
}

int pv_listen_fds_with_names(bool unset_environment, char ***names) {
        return listen_fds(unset_environment, names);
}
