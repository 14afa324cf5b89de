/* SPDX-License-Identifier: MIT */
#include <pidvisor/spawn.h>

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdbool.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* getpwnam_r/getgrnam_r answer 0 with no result for "not found"; some NSS modules answer
 * ENOENT/ESRCH/EBADF/EPERM for the same thing (see getpwnam(3)). */
static bool is_not_found(int e) {
        return e == 0 || e == ENOENT || e == ESRCH || e == EBADF || e == EPERM;
}

static int get_buf_size(int which) {
        long n = sysconf(which);
        return n > 0 && n < (1 << 20) ? (int)n : 16384;
}

int pv_user_lookup(const char *name, struct pv_user *ret, struct pv_error *err) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_free_ gid_t *groups = NULL;
        struct passwd pw, *res = NULL;
        size_t size = (size_t)get_buf_size(_SC_GETPW_R_SIZE_MAX);
        long num;
        int e, ng;

        if (!name || !*name)
                return pv_error_setf(err, -EINVAL, "empty user name");
        for (;;) {
                free(buf);
                buf = malloc(size);
                if (!buf)
                        return pv_error_set(err, -ENOMEM, "user \"%s\"", name);
                if (parse_long(name, 0, UINT_MAX - 1, &num) == 0)
                        e = getpwuid_r((uid_t)num, &pw, buf, size, &res);
                else
                        e = getpwnam_r(name, &pw, buf, size, &res);
                if (e != ERANGE)
                        break;
                size *= 2;
        }
        if (!res) {
                if (is_not_found(e))
                        return pv_error_setf(err, -ESRCH, "unknown user \"%s\"", name);
                return pv_error_set(err, -e, "looking up user \"%s\"", name);
        }

        ng = 32;
        for (;;) {
                int want = ng;
                gid_t *n = realloc(groups, sizeof(gid_t) * (size_t)want);
                if (!n)
                        return pv_error_set(err, -ENOMEM, "groups of user \"%s\"", name);
                groups = n;
                if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &ng) >= 0)
                        break;
                if (ng <= want) /* cannot happen per the man page; avoid spinning */
                        ng = want * 2;
        }

        {
                _cleanup_free_ char *n = strdup(pw.pw_name), *h = strdup(pw.pw_dir ? pw.pw_dir : "/"),
                                    *sh = strdup(pw.pw_shell && *pw.pw_shell ? pw.pw_shell : "/bin/sh");
                if (!n || !h || !sh)
                        return pv_error_set(err, -ENOMEM, "user \"%s\"", name);
                *ret = (struct pv_user){
                        .uid = pw.pw_uid,
                        .gid = pw.pw_gid,
                        .groups = TAKE_PTR(groups),
                        .n_groups = (size_t)ng,
                        .name = TAKE_PTR(n),
                        .home = TAKE_PTR(h),
                        .shell = TAKE_PTR(sh),
                };
        }
        return 0;
}

void pv_user_done(struct pv_user *u) {
        if (u) {
                free(u->groups);
                free(u->name);
                free(u->home);
                free(u->shell);
                *u = (struct pv_user){ 0 };
        }
}

int pv_group_lookup(const char *name, gid_t *ret, struct pv_error *err) {
        _cleanup_free_ char *buf = NULL;
        struct group gr, *res = NULL;
        size_t size = (size_t)get_buf_size(_SC_GETGR_R_SIZE_MAX);
        long num;
        int e;

        if (!name || !*name)
                return pv_error_setf(err, -EINVAL, "empty group name");
        if (parse_long(name, 0, UINT_MAX - 1, &num) == 0) {
                /* A numeric gid needs no entry in /etc/group, as with chown and setpriv. */
                *ret = (gid_t)num;
                return 0;
        }
        for (;;) {
                free(buf);
                buf = malloc(size);
                if (!buf)
                        return pv_error_set(err, -ENOMEM, "group \"%s\"", name);
                e = getgrnam_r(name, &gr, buf, size, &res);
                if (e != ERANGE)
                        break;
                size *= 2;
        }
        if (!res) {
                if (is_not_found(e))
                        return pv_error_setf(err, -ESRCH, "unknown group \"%s\"", name);
                return pv_error_set(err, -e, "looking up group \"%s\"", name);
        }
        *ret = gr.gr_gid;
        return 0;
}
