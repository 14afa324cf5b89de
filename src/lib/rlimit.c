/* SPDX-License-Identifier: MIT */
#include <pidvisor/spawn.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util.h"

/* systemd's LimitXXX= names, indexed by RLIMIT_* number. */
static const char *const names[RLIM_NLIMITS] = {
        [RLIMIT_CPU] = "CPU",         [RLIMIT_FSIZE] = "FSIZE",   [RLIMIT_DATA] = "DATA",
        [RLIMIT_STACK] = "STACK",     [RLIMIT_CORE] = "CORE",     [RLIMIT_RSS] = "RSS",
        [RLIMIT_NPROC] = "NPROC",     [RLIMIT_NOFILE] = "NOFILE", [RLIMIT_MEMLOCK] = "MEMLOCK",
        [RLIMIT_AS] = "AS",           [RLIMIT_LOCKS] = "LOCKS",   [RLIMIT_SIGPENDING] = "SIGPENDING",
        [RLIMIT_MSGQUEUE] = "MSGQUEUE", [RLIMIT_NICE] = "NICE",   [RLIMIT_RTPRIO] = "RTPRIO",
        [RLIMIT_RTTIME] = "RTTIME",
};

int pv_rlimit_from_name(const char *name) {
        if (!name)
                return -EINVAL;
        if (strncasecmp(name, "RLIMIT_", 7) == 0)
                name += 7;
        else if (strncmp(name, "Limit", 5) == 0)
                name += 5;
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (names[i] && strcasecmp(name, names[i]) == 0)
                        return (int)i;
        return -EINVAL;
}

const char *pv_rlimit_to_name(int resource) {
        return resource >= 0 && resource < (int)ELEMENTSOF(names) ? names[resource] : NULL;
}

static int parse_one(const char *s, size_t len, rlim_t *ret) {
        char buf[32], *end;
        unsigned long long v;

        if (len == 0 || len >= sizeof(buf))
                return -EINVAL;
        memcpy(buf, s, len);
        buf[len] = 0;
        if (strcmp(buf, "infinity") == 0 || strcmp(buf, "unlimited") == 0) {
                *ret = RLIM_INFINITY;
                return 0;
        }
        if (buf[0] < '0' || buf[0] > '9')
                return -EINVAL;
        errno = 0;
        v = strtoull(buf, &end, 10);
        if (*end)
                return -EINVAL;
        if (errno == ERANGE || v >= (unsigned long long)RLIM_INFINITY)
                return -ERANGE;
        *ret = (rlim_t)v;
        return 0;
}

int pv_rlimit_parse(const char *value, struct rlimit *ret, struct pv_error *err) {
        const char *colon;
        struct rlimit rl;
        int r;

        if (!value)
                return pv_error_setf(err, -EINVAL, "missing resource limit value");
        colon = strchr(value, ':');
        r = parse_one(value, colon ? (size_t)(colon - value) : strlen(value), &rl.rlim_cur);
        if (r == 0) {
                if (colon)
                        r = parse_one(colon + 1, strlen(colon + 1), &rl.rlim_max);
                else
                        rl.rlim_max = rl.rlim_cur;
        }
        if (r < 0)
                return pv_error_setf(err, r,
                                     "invalid resource limit \"%s\": expected N, SOFT:HARD or "
                                     "infinity",
                                     value);
        if (rl.rlim_cur > rl.rlim_max)
                return pv_error_setf(err, -EINVAL,
                                     "invalid resource limit \"%s\": soft limit above hard limit",
                                     value);
        *ret = rl;
        return 0;
}
