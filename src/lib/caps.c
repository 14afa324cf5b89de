/* SPDX-License-Identifier: MIT */
/* Capability names (libcap) and the running kernel's last capability.  What the child
 * does with capabilities is in spawn.c: raw prctl and capset calls on masks prepared
 * here and there. */
#include <pidvisor/spawn.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <unistd.h>

#include "sandbox.h"
#include "util.h"

int pv_caps_last_cap(void) {
        static int cached = -1;
        char buf[32];
        ssize_t n;
        long v;
        int fd, r;

        if (cached >= 0)
                return cached;
        fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negerrno();
        n = read(fd, buf, sizeof(buf) - 1);
        r = n < 0 ? negerrno() : 0;
        close(fd);
        if (r < 0)
                return r;
        buf[n] = 0;
        buf[strcspn(buf, "\n")] = 0;
        r = parse_long(buf, 0, 63, &v);
        if (r < 0)
                return r;
        cached = (int)v;
        return cached;
}

int pv_caps_parse(const char *s, uint64_t *ret, struct pv_error *err) {
        _cleanup_free_ char *copy = NULL;
        char *save = NULL;
        bool invert = false;
        uint64_t mask = 0;
        int last;

        if (!s)
                return pv_error_setf(err, -EINVAL, "capabilities: no list");
        while (isspace((unsigned char)*s))
                s++;
        if (*s == '~') {
                invert = true;
                s++;
        }
        copy = strdup(s);
        if (!copy)
                return pv_error_set(err, -ENOMEM, "capabilities");
        for (char *t = strtok_r(copy, " \t\n,", &save); t; t = strtok_r(NULL, " \t\n,", &save)) {
                cap_value_t cap;

                /* libcap knows the names it was built with, and takes numbers. */
                if (cap_from_name(t, &cap) < 0 || cap < 0 || cap > 63)
                        return pv_error_setf(err, -EINVAL, "unknown capability \"%s\"", t);
                mask |= UINT64_C(1) << cap;
        }
        if (invert) {
                last = pv_caps_last_cap();
                if (last < 0)
                        return pv_error_set(err, last, "reading /proc/sys/kernel/cap_last_cap");
                mask = ~mask & (last >= 63 ? UINT64_MAX : (UINT64_C(1) << (last + 1)) - 1);
        }
        *ret = mask;
        return 0;
}

const char *caps_name(int cap, char *buf, size_t size) {
        char *n = cap_to_name((cap_value_t)cap);

        snprintf(buf, size, "%s", n ? n : "?");
        cap_free(n);
        if (!n)
                snprintf(buf, size, "cap_%d", cap);
        return buf;
}
