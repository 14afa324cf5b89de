/* SPDX-License-Identifier: MIT */
#include "notify.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

static int parse_u64(const char *s, size_t n, uint64_t *ret) {
        uint64_t v = 0;

        if (n == 0 || n > 20)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
                        return -ERANGE;
                v = v * 10 + (uint64_t)(s[i] - '0');
        }
        *ret = v;
        return 0;
}

static bool is(const char *line, size_t n, const char *key, const char **value, size_t *vlen) {
        size_t k = strlen(key);

        if (n < k + 1 || memcmp(line, key, k) || line[k] != '=')
                return false;
        *value = line + k + 1;
        *vlen = n - k - 1;
        return true;
}

static bool is_one(const char *v, size_t n) {
        return n == 1 && v[0] == '1';
}

int notify_parse(const char *buf, size_t len, struct notify_msg *ret, const char **why) {
        struct notify_msg m = { .errno_value = -1, .extend_timeout = USEC_INFINITY,
                                .watchdog_usec = USEC_INFINITY };
        const char *p = buf, *end;

        *why = NULL;
        if (len > 0 && buf[len - 1] == 0)
                len--; /* one trailing NUL is tolerated */
        if (memchr(buf, 0, len)) {
                *why = "embedded NUL";
                return -EINVAL;
        }
        if (len == 0) {
                *why = "empty message";
                return -EINVAL;
        }
        end = buf + len;
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p)), *v;
                size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p), vn;
                uint64_t u;

                if (n == 0) {
                        p++;
                        continue;
                }
                if (is(p, n, "READY", &v, &vn))
                        m.ready = m.ready || is_one(v, vn);
                else if (is(p, n, "RELOADING", &v, &vn))
                        m.reloading = m.reloading || is_one(v, vn);
                else if (is(p, n, "STOPPING", &v, &vn))
                        m.stopping = m.stopping || is_one(v, vn);
                else if (is(p, n, "WATCHDOG", &v, &vn)) {
                        if (is_one(v, vn))
                                m.watchdog = true;
                        else if (vn == 7 && memcmp(v, "trigger", 7) == 0)
                                m.watchdog_trigger = true;
                } else if (is(p, n, "FDSTORE", &v, &vn))
                        m.fdstore = m.fdstore || is_one(v, vn);
                else if (is(p, n, "FDSTOREREMOVE", &v, &vn))
                        m.fdstore_remove = m.fdstore_remove || is_one(v, vn);
                else if (is(p, n, "BARRIER", &v, &vn))
                        m.barrier = m.barrier || is_one(v, vn);
                else if (is(p, n, "STATUS", &v, &vn)) {
                        free(m.status);
                        m.status = strndup(v, vn);
                        if (!m.status)
                                goto nomem;
                } else if (is(p, n, "FDNAME", &v, &vn)) {
                        /* At most 255 ASCII characters, no control characters, no ':'. */
                        for (size_t i = 0; i < vn; i++)
                                if ((unsigned char)v[i] < 32 || (unsigned char)v[i] >= 127 || v[i] == ':') {
                                        *why = "FDNAME= with a control character or ':'";
                                        goto invalid;
                                }
                        if (vn == 0 || vn > 255) {
                                *why = "FDNAME= empty or longer than 255";
                                goto invalid;
                        }
                        free(m.fdname);
                        m.fdname = strndup(v, vn);
                        if (!m.fdname)
                                goto nomem;
                } else if (is(p, n, "ERRNO", &v, &vn)) {
                        if (parse_u64(v, vn, &u) < 0 || u > 4095) {
                                *why = "ERRNO= is not a number from 0 to 4095";
                                goto invalid;
                        }
                        m.errno_value = (int)u;
                } else if (is(p, n, "MAINPID", &v, &vn)) {
                        if (parse_u64(v, vn, &u) < 0 || u == 0 || u > INT32_MAX) {
                                *why = "MAINPID= is not a valid pid";
                                goto invalid;
                        }
                        m.mainpid = (int64_t)u;
                } else if (is(p, n, "EXTEND_TIMEOUT_USEC", &v, &vn)) {
                        if (parse_u64(v, vn, &u) < 0) {
                                *why = "EXTEND_TIMEOUT_USEC= is not a number";
                                goto invalid;
                        }
                        m.extend_timeout = u;
                } else if (is(p, n, "WATCHDOG_USEC", &v, &vn)) {
                        if (parse_u64(v, vn, &u) < 0) {
                                *why = "WATCHDOG_USEC= is not a number";
                                goto invalid;
                        }
                        m.watchdog_usec = u;
                } else
                        m.n_unknown++;
                p += n + 1;
        }
        *ret = m;
        return 0;
nomem:
        notify_msg_done(&m);
        return -ENOMEM;
invalid:
        notify_msg_done(&m);
        return -EINVAL;
}

void notify_msg_done(struct notify_msg *m) {
        free(m->status);
        free(m->fdname);
        m->status = m->fdname = NULL;
}

bool utf8_valid(const char *str, size_t len) {
        const unsigned char *s = (const unsigned char *)str;

        for (size_t i = 0; i < len;) {
                unsigned c = s[i], need, min;
                uint32_t cp;

                if (c < 0x80) {
                        i++;
                        continue;
                }
                if (c >= 0xc2 && c <= 0xdf)
                        need = 1, min = 0x80, cp = c & 0x1f;
                else if (c >= 0xe0 && c <= 0xef)
                        need = 2, min = 0x800, cp = c & 0x0f;
                else if (c >= 0xf0 && c <= 0xf4)
                        need = 3, min = 0x10000, cp = c & 0x07;
                else
                        return false;
                for (unsigned k = 1; k <= need; k++) {
                        if (i + k >= len || (s[i + k] & 0xc0) != 0x80)
                                return false;
                        cp = (cp << 6) | (s[i + k] & 0x3f);
                }
                if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                        return false;
                i += need + 1;
        }
        return true;
}

size_t utf8_prefix(const char *str, size_t len, size_t max) {
        const unsigned char *s = (const unsigned char *)str;
        size_t n;

        if (len <= max)
                return len;
        n = max;
        /* Step back over continuation bytes to the start of the cut sequence. */
        while (n > 0 && (s[n] & 0xc0) == 0x80)
                n--;
        return n;
}
