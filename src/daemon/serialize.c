/* SPDX-License-Identifier: MIT */
/* The daemon's state as JSON for daemon-reexec (serialize.h, docs/reexec.md).
 *
 * Every struct that is saved has, here, one table of its plain members (numbers, strings,
 * descriptors) and one pair of functions per member that is more than that; next to each
 * table, a comment lists the members that are not saved and why.  Adding a member to one
 * of these structs means one line in its table, or a pair of functions and one line in
 * its list of parts, or one word in the comment.  So that nobody forgets, the size of each
 * struct is checked at compile time below (x86_64): a new member stops the build here
 * until the table, the comment and the size are brought up to date. */
#include "serialize.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pidvisor/pidvisor.h>

#include "lib/util.h"
#include "log.h"
#include "logfile.h"
#include "notify.h"
#include "upgrade.h"
#include "intercept.h"

/* A new member in one of these structs: save it (a table line, or a part), or say in the
 * comment beside its table why not; then update the size here. */
#if defined(__x86_64__) && !defined(PV_SERIALIZE_NO_SIZE_CHECK)
_Static_assert(sizeof(struct service) == 1072, "struct service changed: see serialize.c, service_fields");
_Static_assert(sizeof(struct upgrade) == 720, "struct upgrade changed: see serialize.c, upgrade_fields");
_Static_assert(sizeof(struct conn) == 144, "struct conn changed: see serialize.c, conn_fields");
_Static_assert(sizeof(struct manager) == 360, "struct manager changed: see serialize.c, manager_fields");
_Static_assert(sizeof(struct manager_options) == 56, "struct manager_options changed: see serialize.c, options_fields");
_Static_assert(sizeof(struct exit_record) == 48, "struct exit_record changed: see serialize.c, exit_record_fields");
_Static_assert(sizeof(struct pv_listener) == 160, "struct pv_listener changed: see serialize.c, listener_fields");
#endif

/* ---- an arena for jansson ------------------------------------------------------------------ */

/* A state of 1000 services is some 60000 small JSON values, allocated and freed at once:
 * while a state is written or read, jansson allocates from an arena (one bump pointer,
 * freed as a whole), which halves the time malloc and free took.  Nothing jansson
 * allocates then may outlive it: the text is dumped into a buffer of our own, and the
 * values the reader keeps (request ids) are copied out with the ordinary allocator. */
#define ARENA_CHUNK (1024 * 1024)

struct arena {
        char **chunks;
        size_t n, cap;
        char *cur;
        size_t left;
        json_malloc_t prev_malloc;
        json_free_t prev_free;
};

static struct arena *arena_now;

static void *arena_malloc(size_t size) {
        struct arena *a = arena_now;

        size = (size + 15) & ~(size_t)15;
        if (size > a->left) {
                size_t chunk = size > ARENA_CHUNK ? size : ARENA_CHUNK;
                char *c = malloc(chunk);
                if (!c)
                        return NULL;
                if (a->n == a->cap) {
                        size_t cap = a->cap ? a->cap * 2 : 16;
                        char **g = realloc(a->chunks, cap * sizeof(*g));
                        if (!g) {
                                free(c);
                                return NULL;
                        }
                        a->chunks = g;
                        a->cap = cap;
                }
                a->chunks[a->n++] = c;
                a->cur = c;
                a->left = chunk;
        }
        a->cur += size;
        a->left -= size;
        return a->cur - size;
}

static void arena_free(void *p) {
}

static void arena_begin(struct arena *a) {
        *a = (struct arena){ 0 };
        json_get_alloc_funcs(&a->prev_malloc, &a->prev_free);
        arena_now = a;
        json_set_alloc_funcs(arena_malloc, arena_free);
}

static void arena_end(struct arena *a) {
        json_set_alloc_funcs(a->prev_malloc, a->prev_free);
        arena_now = NULL;
        for (size_t i = 0; i < a->n; i++)
                free(a->chunks[i]);
        free(a->chunks);
}

/* A copy of v made with the ordinary allocator, to outlive the arena. */
static json_t *json_keep(json_t *v) {
        struct arena *a = arena_now;
        json_t *copy;

        if (!a)
                return json_incref(v);
        json_set_alloc_funcs(a->prev_malloc, a->prev_free);
        copy = json_deep_copy(v);
        json_set_alloc_funcs(arena_malloc, arena_free);
        return copy;
}

/* ---- bytes ------------------------------------------------------------------------------ */

static const char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *base64_encode(const unsigned char *p, size_t len) {
        char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;

        if (!out)
                return NULL;
        for (size_t i = 0; i < len; i += 3) {
                uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < len ? (uint32_t)p[i + 1] << 8 : 0) |
                             (i + 2 < len ? p[i + 2] : 0);
                *o++ = b64_alphabet[v >> 18 & 63];
                *o++ = b64_alphabet[v >> 12 & 63];
                *o++ = i + 1 < len ? b64_alphabet[v >> 6 & 63] : '=';
                *o++ = i + 2 < len ? b64_alphabet[v & 63] : '=';
        }
        *o = 0;
        return out;
}

static int b64_value(char c) {
        const char *p = c ? strchr(b64_alphabet, c) : NULL;
        return p ? (int)(p - b64_alphabet) : -1;
}

static int base64_decode(const char *s, size_t len, char **ret, size_t *ret_len) {
        char *out, *o;

        if (len % 4)
                return -EINVAL;
        out = o = malloc(len / 4 * 3 + 1);
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < len; i += 4) {
                int v[4], pad = 0;
                for (int k = 0; k < 4; k++) {
                        if (s[i + k] == '=' && i + 4 == len && k >= 2) {
                                v[k] = 0;
                                pad++;
                                continue;
                        }
                        v[k] = pad ? -1 : b64_value(s[i + k]);
                        if (v[k] < 0) {
                                free(out);
                                return -EINVAL;
                        }
                }
                *o++ = (char)(v[0] << 2 | v[1] >> 4);
                if (pad < 2)
                        *o++ = (char)((v[1] & 15) << 4 | v[2] >> 2);
                if (pad < 1)
                        *o++ = (char)((v[2] & 3) << 6 | v[3]);
        }
        *o = 0;
        *ret = out;
        *ret_len = (size_t)(o - out);
        return 0;
}

json_t *state_bytes(const char *p, size_t len) {
        json_t *o;
        char *b;

        if (!p)
                return json_null();
        if (!memchr(p, 0, len) && utf8_valid(p, len))
                return json_stringn(p, len);
        b = base64_encode((const unsigned char *)p, len);
        o = b ? json_pack("{s:s}", "base64", b) : NULL;
        free(b);
        return o;
}

int state_read_bytes(json_t *v, char **ret, size_t *ret_len) {
        json_t *b;

        if (json_is_string(v)) {
                size_t len = json_string_length(v);
                char *copy = malloc(len + 1);
                if (!copy)
                        return -ENOMEM;
                memcpy(copy, json_string_value(v), len);
                copy[len] = 0;
                *ret = copy;
                *ret_len = len;
                return 0;
        }
        b = json_object_get(v, "base64");
        if (!json_is_object(v) || json_object_size(v) != 1 || !json_is_string(b))
                return -EINVAL;
        return base64_decode(json_string_value(b), json_string_length(b), ret, ret_len);
}

/* ---- descriptors -------------------------------------------------------------------------- */

void fdlist_done(struct fdlist *l) {
        free(l->fds);
        *l = (struct fdlist){ 0 };
}

static int fdlist_add(struct fdlist *l, int fd) {
        if (l->n == l->cap) {
                size_t cap = l->cap ? l->cap * 2 : 256;
                int *g = realloc(l->fds, cap * sizeof(*g));
                if (!g)
                        return -ENOMEM;
                l->fds = g;
                l->cap = cap;
        }
        l->fds[l->n++] = fd;
        return 0;
}

static int cmp_int(const void *a, const void *b) {
        int x = *(const int *)a, y = *(const int *)b;
        return x < y ? -1 : x > y;
}

/* ---- contexts ------------------------------------------------------------------------------ */

struct wctx {
        struct manager *m;
        struct fdlist *keep;
        int error;
};

struct rctx {
        state_claim_fd_t claim;
        void *claim_data;
        struct saved_state *st;
        char *why;
        size_t why_size;
        char where[300];               /* what is being read, for messages */
        struct service_timers *timers; /* of the service being read */
        /* Connections by the number the state gives them (their descriptor now is a
         * claimed one, maybe another number). */
        struct conn **conn_by_index;
        int *conn_numbers;
        size_t n_conns;
};

static int rfail(struct rctx *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int rfail(struct rctx *r, const char *fmt, ...) {
        char what[400];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        if (!r->why[0])
                snprintf(r->why, r->why_size, "%s%s%s", r->where, r->where[0] ? ": " : "", what);
        return -EINVAL;
}

static json_t *w_fd(struct wctx *w, int fd) {
        if (fd < 0)
                return json_null();
        if (fdlist_add(w->keep, fd) < 0)
                w->error = -ENOMEM;
        return json_integer(fd);
}

static int r_fd(struct rctx *r, const char *key, json_t *v, int *ret) {
        struct saved_state *st = r->st;
        json_int_t n;
        int *found, fd;

        if (!v || json_is_null(v)) {
                *ret = -EBADF;
                return 0;
        }
        if (!json_is_integer(v) || (n = json_integer_value(v)) < 0 || n > INT_MAX)
                return rfail(r, "\"%s\": not a descriptor number", key);
        fd = (int)n;
        found = st->n_declared ? bsearch(&fd, st->declared, st->n_declared, sizeof(int), cmp_int) : NULL;
        if (!found)
                return rfail(r, "\"%s\": descriptor %d is not among those the state declares", key, fd);
        if (st->claimed[found - st->declared])
                return rfail(r, "\"%s\": descriptor %d is claimed twice", key, fd);
        st->claimed[found - st->declared] = true;
        fd = r->claim(r->claim_data, fd);
        if (fd < 0)
                return rfail(r, "\"%s\": descriptor %lld: %s", key, (long long)n, strerror(-fd));
        *ret = fd;
        return 0;
}

static int r_int(struct rctx *r, json_t *o, const char *key, long long min, long long max, long long *ret) {
        json_t *v = json_object_get(o, key);

        if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
                return rfail(r, "\"%s\": expected an integer in %lld..%lld", key, min, max);
        *ret = json_integer_value(v);
        return 0;
}

/* ---- plain members, by table ------------------------------------------------------------- */

enum ftype { FT_BOOL, FT_INT, FT_UINT, FT_ULONG, FT_U64, FT_SIZE, FT_STR, FT_CHARS, FT_FD };

struct field {
        const char *key;
        enum ftype type;
        size_t offset;
        size_t size;
};

/* Each entry checks at compile time that the member has the type its entry says. */
#define MEMBER(T, m) (((T *)0)->m)
#define FIELD_OF(T, m, ft, ok)                                                                       \
        {                                                                                            \
                #m, ft,                                                                              \
                        offsetof(T, m) +                                                             \
                                0 * sizeof(struct {                                                  \
                                        _Static_assert(ok, #T "." #m ": not the type its entry says"); \
                                        int x_;                                                      \
                                }),                                                                  \
                        sizeof(MEMBER(T, m))                                                         \
        }
#define F_BOOL(T, m) FIELD_OF(T, m, FT_BOOL, _Generic(MEMBER(T, m), bool: 1, default: 0))
/* int, pid_t, and enums (which are int-sized) */
#define F_INT(T, m) FIELD_OF(T, m, FT_INT, sizeof(MEMBER(T, m)) == sizeof(int) && _Generic(MEMBER(T, m), float: 0, default: 1))
#define F_UINT(T, m) FIELD_OF(T, m, FT_UINT, _Generic(MEMBER(T, m), unsigned: 1, default: 0))
#define F_ULONG(T, m) FIELD_OF(T, m, FT_ULONG, _Generic(MEMBER(T, m), unsigned long: 1, default: 0))
#define F_U64(T, m) FIELD_OF(T, m, FT_U64, _Generic(MEMBER(T, m), uint64_t: 1, default: 0))
#define F_SIZE(T, m) FIELD_OF(T, m, FT_SIZE, _Generic(MEMBER(T, m), size_t: 1, default: 0))
#define F_STR(T, m) FIELD_OF(T, m, FT_STR, _Generic(MEMBER(T, m), char *: 1, default: 0))
#define F_CHARS(T, m) FIELD_OF(T, m, FT_CHARS, _Generic(&MEMBER(T, m)[0], char *: 1, default: 0) && sizeof(MEMBER(T, m)) > sizeof(char *))
#define F_FD(T, m) FIELD_OF(T, m, FT_FD, _Generic(MEMBER(T, m), int: 1, default: 0))

/* Whether a member holds what the template (a fresh object) holds: not written then,
 * since the reader starts from a fresh object too.  Most members of most services are at
 * their defaults, and a smaller state is read faster. */
static bool field_is_default(const struct field *f, const char *p, const char *t) {
        switch (f->type) {
        case FT_STR: {
                const char *a = *(char *const *)p, *b = *(char *const *)t;
                return a == b || (a && b && !strcmp(a, b));
        }
        case FT_CHARS:
                return strncmp(p, t, f->size) == 0;
        case FT_FD:
                return *(const int *)p < 0 && *(const int *)t < 0;
        case FT_BOOL:
        case FT_INT:
        case FT_UINT:
        case FT_ULONG:
        case FT_U64:
        case FT_SIZE:
                break;
        }
        return memcmp(p, t, f->size) == 0;
}

static void write_fields(struct wctx *w, json_t *o, const struct field *f, size_t n, const void *obj,
                         const void *tmpl) {
        for (size_t i = 0; i < n; i++) {
                const char *p = (const char *)obj + f[i].offset;
                json_t *v = NULL;

                if (tmpl && field_is_default(&f[i], p, (const char *)tmpl + f[i].offset))
                        continue;

                switch (f[i].type) {
                case FT_BOOL:
                        v = json_boolean(*(const bool *)p);
                        break;
                case FT_INT:
                        v = json_integer(*(const int *)p);
                        break;
                case FT_UINT:
                        v = json_integer(*(const unsigned *)p);
                        break;
                case FT_ULONG:
                        v = json_integer((json_int_t) * (const unsigned long *)p);
                        break;
                case FT_U64: /* bit for bit: USEC_INFINITY is -1 */
                        v = json_integer((json_int_t) * (const uint64_t *)p);
                        break;
                case FT_SIZE:
                        v = json_integer((json_int_t) * (const size_t *)p);
                        break;
                case FT_STR: {
                        const char *s = *(char *const *)p;
                        v = s ? state_bytes(s, strlen(s)) : json_null();
                        break;
                }
                case FT_CHARS:
                        v = state_bytes(p, strnlen(p, f[i].size));
                        break;
                case FT_FD:
                        v = w_fd(w, *(const int *)p);
                        break;
                }
                if (!v || json_object_set_new(o, f[i].key, v) < 0)
                        w->error = -ENOMEM;
        }
}

static int read_fields(struct rctx *r, json_t *o, const struct field *f, size_t n, void *obj) {
        for (size_t i = 0; i < n; i++) {
                char *p = (char *)obj + f[i].offset;
                json_t *v = json_object_get(o, f[i].key);
                json_int_t x;
                char *s;
                size_t len;
                int k;

                if (!v)
                        continue; /* written by an older binary: the default stays */
                x = json_is_integer(v) ? json_integer_value(v) : 0;
                switch (f[i].type) {
                case FT_BOOL:
                        if (!json_is_boolean(v))
                                return rfail(r, "\"%s\": expected true or false", f[i].key);
                        *(bool *)p = json_is_true(v);
                        break;
                case FT_INT:
                        if (!json_is_integer(v) || x < INT_MIN || x > INT_MAX)
                                return rfail(r, "\"%s\": expected an integer", f[i].key);
                        *(int *)p = (int)x;
                        break;
                case FT_UINT:
                        if (!json_is_integer(v) || x < 0 || x > UINT_MAX)
                                return rfail(r, "\"%s\": expected an unsigned integer", f[i].key);
                        *(unsigned *)p = (unsigned)x;
                        break;
                case FT_ULONG:
                        if (!json_is_integer(v) || x < 0)
                                return rfail(r, "\"%s\": expected an unsigned integer", f[i].key);
                        *(unsigned long *)p = (unsigned long)x;
                        break;
                case FT_U64:
                        if (!json_is_integer(v))
                                return rfail(r, "\"%s\": expected an integer", f[i].key);
                        *(uint64_t *)p = (uint64_t)x;
                        break;
                case FT_SIZE:
                        if (!json_is_integer(v) || x < 0)
                                return rfail(r, "\"%s\": expected an unsigned integer", f[i].key);
                        *(size_t *)p = (size_t)x;
                        break;
                case FT_STR:
                        free(*(char **)p);
                        *(char **)p = NULL;
                        if (json_is_null(v))
                                break;
                        k = state_read_bytes(v, &s, &len);
                        if (k < 0)
                                return k == -ENOMEM ? k : rfail(r, "\"%s\": expected a string", f[i].key);
                        if (strlen(s) != len) {
                                free(s);
                                return rfail(r, "\"%s\": a string with a NUL byte", f[i].key);
                        }
                        *(char **)p = s;
                        break;
                case FT_CHARS:
                        k = state_read_bytes(v, &s, &len);
                        if (k < 0)
                                return k == -ENOMEM ? k : rfail(r, "\"%s\": expected a string", f[i].key);
                        if (strlen(s) != len || len >= f[i].size) {
                                free(s);
                                return rfail(r, "\"%s\": a NUL byte, or longer than %zu bytes", f[i].key,
                                             f[i].size - 1);
                        }
                        memcpy(p, s, len + 1);
                        free(s);
                        break;
                case FT_FD:
                        k = r_fd(r, f[i].key, v, (int *)p);
                        if (k < 0)
                                return k;
                        break;
                }
        }
        return 0;
}

/* Members that are more than a number or a string: one function pair each.  `v` is NULL
 * when the key is absent (the default stays). */
struct part {
        const char *key;
        json_t *(*write)(struct wctx *w, const void *obj);
        int (*read)(struct rctx *r, void *obj, json_t *v);
};

/* A part's writer returns NULL for "nothing to say" (the reader keeps the default); it
 * reports a failure through w->error (wnew() does that for it). */
static void write_parts(struct wctx *w, json_t *o, const struct part *p, size_t n, const void *obj) {
        for (size_t i = 0; i < n; i++) {
                json_t *v = p[i].write(w, obj);
                if (v && json_object_set_new(o, p[i].key, v) < 0)
                        w->error = -ENOMEM;
        }
}

static json_t *wnew(struct wctx *w, json_t *v) {
        if (!v)
                w->error = -ENOMEM;
        return v;
}

static int read_parts(struct rctx *r, json_t *o, const struct part *p, size_t n, void *obj) {
        for (size_t i = 0; i < n; i++) {
                json_t *v = json_object_get(o, p[i].key);
                int k;

                if (!v)
                        continue;
                k = p[i].read(r, obj, v);
                if (k < 0)
                        return k;
        }
        return 0;
}

#define WRITE_TABLE(w, o, t, obj) write_fields(w, o, t, ELEMENTSOF(t), obj, NULL)
#define WRITE_TABLE_DIFF(w, o, t, obj, tmpl) write_fields(w, o, t, ELEMENTSOF(t), obj, tmpl)
#define READ_TABLE(r, o, t, obj) read_fields(r, o, t, ELEMENTSOF(t), obj)

/* ---- small structs -------------------------------------------------------------------------- */

static const struct field process_fields[] = {
        F_INT(struct pv_process, pid),
        F_FD(struct pv_process, pidfd),
};

static json_t *w_process(struct wctx *w, const struct pv_process *p) {
        json_t *o;

        if (p->pidfd < 0 && p->pid == 0)
                return NULL;
        o = wnew(w, json_object());
        if (o)
                WRITE_TABLE(w, o, process_fields, p);
        return o;
}

static int r_process(struct rctx *r, struct pv_process *p, json_t *v) {
        int k;

        if (!json_is_object(v))
                return rfail(r, "a process: expected an object");
        k = READ_TABLE(r, v, process_fields, p);
        if (k < 0)
                return k;
        if (p->pidfd >= 0 && p->pid <= 0)
                return rfail(r, "a process with pid %d", (int)p->pid);
        return 0;
}

/* pv_listener: not saved: nothing (addr is the "addr" part). */
static const struct field listener_fields[] = {
        F_FD(struct pv_listener, fd),
        F_INT(struct pv_listener, source_fd),
        F_INT(struct pv_listener, family),
        F_INT(struct pv_listener, type),
        F_UINT(struct pv_listener, addr_len),
        F_ULONG(struct pv_listener, inode),
};

static json_t *w_listeners(struct wctx *w, const struct pv_listener *l, size_t n) {
        json_t *a = n ? wnew(w, json_array()) : NULL;

        for (size_t i = 0; a && i < n; i++) {
                json_t *o = json_object();
                if (!o) {
                        w->error = -ENOMEM;
                        break;
                }
                WRITE_TABLE(w, o, listener_fields, &l[i]);
                json_object_set_new(o, "addr", state_bytes((const char *)&l[i].addr, l[i].addr_len));
                json_array_append_new(a, o);
        }
        return a;
}

static int r_listeners(struct rctx *r, json_t *v, struct pv_listener **ret, size_t *ret_n) {
        size_t n = json_array_size(v);
        struct pv_listener *l;
        int k = 0;

        if (!json_is_array(v) || n > 4096)
                return rfail(r, "listeners: expected an array (of at most 4096)");
        if (n == 0)
                return 0;
        l = calloc(n, sizeof(*l));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                l[i].fd = -EBADF;
        for (size_t i = 0; i < n && k >= 0; i++) {
                json_t *o = json_array_get(v, i);
                char *addr = NULL;
                size_t len = 0;

                if (!json_is_object(o)) {
                        k = rfail(r, "listeners: expected objects");
                        break;
                }
                k = READ_TABLE(r, o, listener_fields, &l[i]);
                if (k < 0)
                        break;
                if (l[i].fd < 0) {
                        k = rfail(r, "a listener without its descriptor");
                        break;
                }
                k = state_read_bytes(json_object_get(o, "addr"), &addr, &len);
                if (k < 0 || len > sizeof(l[i].addr) || len != l[i].addr_len) {
                        free(addr);
                        k = k == -ENOMEM ? k : rfail(r, "a listener's address");
                        break;
                }
                memcpy(&l[i].addr, addr, len);
                free(addr);
        }
        if (k < 0) {
                pv_listeners_free(l, n);
                return k;
        }
        *ret = l;
        *ret_n = n;
        return 0;
}

static json_t *w_strv_ring(char *const *ring, size_t max, size_t next, size_t n) {
        json_t *a = n ? json_array() : NULL;

        for (size_t i = 0; a && i < n; i++) {
                const char *line = ring[(next + max - n + i) % max];
                json_array_append_new(a, state_bytes(line ? line : "", line ? strlen(line) : 0));
        }
        return a;
}

/* A line of text: no NUL, at most max bytes. */
static int r_line(struct rctx *r, json_t *v, size_t max, char **ret) {
        size_t len;
        char *s;
        int k = state_read_bytes(v, &s, &len);

        if (k < 0)
                return k == -ENOMEM ? k : rfail(r, "expected a string");
        if (strlen(s) != len || len > max) {
                free(s);
                return rfail(r, "a line with a NUL byte, or longer than %zu bytes", max);
        }
        *ret = s;
        return 0;
}

/* ---- unit configs: the text, parsed again --------------------------------------------------- */

static json_t *w_unit(struct wctx *w, const struct unit_config *c) {
        json_t *o;

        if (!c)
                return NULL;
        o = wnew(w, json_pack("{s:o, s:o}", "path", state_bytes(c->path, strlen(c->path)), "text",
                              state_bytes(c->text, c->text_len)));
        if (o && c->socket_path &&
            json_object_set_new(o, "socket_path", state_bytes(c->socket_path, strlen(c->socket_path))) +
                            json_object_set_new(o, "socket_text", state_bytes(c->socket_text, c->socket_text_len)) <
                    0)
                w->error = -ENOMEM;
        return o;
}

static int r_unit(struct rctx *r, json_t *v, struct unit_config **ret) {
        _cleanup_free_ char *path = NULL, *text = NULL, *socket_path = NULL, *socket_text = NULL;
        size_t path_len = 0, len = 0, socket_path_len = 0, socket_len = 0;
        struct diagnostics d = { 0 };
        json_t *sp, *stx;
        int k;

        if (json_is_null(v))
                return 0;
        sp = json_object_get(v, "socket_path");
        stx = json_object_get(v, "socket_text");
        if (!json_is_object(v) || state_read_bytes(json_object_get(v, "path"), &path, &path_len) < 0 ||
            strlen(path) != path_len || state_read_bytes(json_object_get(v, "text"), &text, &len) < 0)
                return rfail(r, "a unit: expected {\"path\", \"text\"}");
        if (sp && !json_is_null(sp)) {
                if (state_read_bytes(sp, &socket_path, &socket_path_len) < 0 ||
                    strlen(socket_path) != socket_path_len ||
                    state_read_bytes(stx, &socket_text, &socket_len) < 0)
                        return rfail(r, "a unit: \"socket_path\" without \"socket_text\"");
        }
        /* The bytes that were loaded, not what the file says now. */
        usec_t t0 = now_usec(CLOCK_MONOTONIC);
        k = unit_load_strings(path, text, len, socket_path, socket_text, socket_len, ret, &d);
        r->st->t_units_usec += now_usec(CLOCK_MONOTONIC) - t0;
        if (k < 0) {
                const char *first = "";
                for (size_t i = 0; i < d.n && !*first; i++)
                        if (d.items[i].error)
                                first = d.items[i].text;
                k = k == -ENOMEM ? k : rfail(r, "the unit text it runs does not parse in this binary: %.300s", first);
        }
        diagnostics_done(&d);
        return k;
}

/* ---- struct upgrade ------------------------------------------------------------------------- */

/* Not saved: s (the owner), old_ev, timer_ev and check_ev (armed again, their deadlines in
 * the service's "timers"), out_fd (open only inside upgrade_begin()), ic (linked again to
 * the successor's restored intercept, see r_intercepts). */
static const struct field upgrade_fields[] = {
        F_INT(struct upgrade, old_session),
        F_INT(struct upgrade, phase),
        F_INT(struct upgrade, mode),
        F_BOOL(struct upgrade, old_not_child),
        F_INT(struct upgrade, drain_signal),
        F_U64(struct upgrade, drain_timeout),
        F_U64(struct upgrade, t_begin),
        F_U64(struct upgrade, t_spawned),
        F_U64(struct upgrade, t_ready),
        F_U64(struct upgrade, t_drain),
        F_U64(struct upgrade, manager_usec),
        F_CHARS(struct upgrade, error),
};

static struct conn *find_conn(struct rctx *r, json_int_t number) {
        for (size_t i = 0; i < r->n_conns; i++)
                if (r->conn_numbers[i] == number)
                        return r->conn_by_index[i];
        return NULL;
}

/* A reference to a connection (its descriptor number) and the request's id. */
static json_t *w_request(const struct conn *c, json_t *id) {
        return json_pack("{s:o, s:O}", "conn", c ? json_integer(c->fd) : json_null(), "id", id ? id : json_null());
}

static int r_request(struct rctx *r, json_t *v, struct conn **ret_conn, json_t **ret_id) {
        json_t *c = json_object_get(v, "conn");

        *ret_conn = NULL;
        *ret_id = NULL;
        if (!json_is_object(v))
                return rfail(r, "a request: expected {\"conn\", \"id\"}");
        if (c && !json_is_null(c)) {
                if (!json_is_integer(c) || !(*ret_conn = find_conn(r, json_integer_value(c))))
                        return rfail(r, "a request on connection %lld, which the state does not have",
                                     (long long)json_integer_value(c));
        }
        *ret_id = json_keep(json_object_get(v, "id"));
        return 0;
}

static json_t *w_upgrade(struct wctx *w, const struct service *s) {
        const struct upgrade *up = s->up;
        json_t *o;

        if (!up)
                return NULL;
        o = wnew(w, json_object());
        if (!o)
                return NULL;
        WRITE_TABLE(w, o, upgrade_fields, up);
        if (up->old.pidfd >= 0)
                json_object_set_new(o, "old", w_process(w, &up->old));
        if (up->n_moved)
                json_object_set_new(o, "moved", w_listeners(w, up->moved, up->n_moved));
        json_object_set_new(o, "request", wnew(w, w_request(up->conn, up->id)));
        return o;
}

static int r_upgrade(struct rctx *r, struct service *s, json_t *v) {
        struct upgrade *up;
        int k;

        if (json_is_null(v))
                return 0;
        if (!json_is_object(v))
                return rfail(r, "\"upgrade\": expected an object");
        up = calloc(1, sizeof(*up));
        if (!up)
                return -ENOMEM;
        up->s = s;
        up->old = PV_PROCESS_NULL;
        up->out_fd[0] = up->out_fd[1] = -EBADF;
        loop_event_init(&up->old_ev, NULL, s);
        loop_event_init(&up->timer_ev, NULL, s);
        loop_event_init(&up->check_ev, NULL, s);
        s->up = up; /* from here, service_free() frees it */
        k = READ_TABLE(r, v, upgrade_fields, up);
        if (k >= 0 && json_object_get(v, "old"))
                k = r_process(r, &up->old, json_object_get(v, "old"));
        if (k >= 0 && json_object_get(v, "moved"))
                k = r_listeners(r, json_object_get(v, "moved"), &up->moved, &up->n_moved);
        if (k >= 0 && json_object_get(v, "request"))
                k = r_request(r, json_object_get(v, "request"), &up->conn, &up->id);
        if (k < 0)
                return k;
        if ((unsigned)up->phase > UPGRADE_DRAINING || up->mode < HOT_RESTART_NO || up->mode > HOT_RESTART_TRANSPARENT)
                return rfail(r, "\"upgrade\": phase %d, mode %d", (int)up->phase, up->mode);
        return 0;
}

/* ---- struct service ----------------------------------------------------------------------- */

/* Not saved: m (the owner); name (the object's "name"); cfg and next_cfg (parts: their
 * text, parsed again); the loop events former_ev, keep_ev, child_ev, timer_ev, reset_ev,
 * watchdog_ev, ready_ev and out[].ev (armed again from the descriptors and the deadlines
 * in "timers"); tail_next, tail_n, history_next, history_n (from the arrays); cgl (the
 * limits are applied again: "cgroup_limits");
 * recover_dirty (every crash-recovery record is written again after a re-exec). */
static const struct field service_fields[] = {
        F_STR(struct service, seccomp_kill),
        F_BOOL(struct service, removed),
        F_STR(struct service, load_error),
        F_INT(struct service, state),
        F_CHARS(struct service, reason),
        F_U64(struct service, state_since),
        F_U64(struct service, active_since_mono),
        F_BOOL(struct service, proc_not_child),
        F_INT(struct service, session),
        F_BOOL(struct service, proc_is_pre),
        F_SIZE(struct service, pre_index),
        F_U64(struct service, timer_deadline),
        F_U64(struct service, watchdog_usec),
        F_INT(struct service, kill_reason),
        F_BOOL(struct service, awaiting_ready),
        F_FD(struct service, ready_fd),
        F_BOOL(struct service, reloading),
        F_STR(struct service, status_text),
        F_INT(struct service, status_errno),
        F_BOOL(struct service, log_warned),
        F_UINT(struct service, n_restarts),
        F_UINT(struct service, backoff_n),
        F_BOOL(struct service, start_limit_hit),
        F_BOOL(struct service, stop_requested),
        F_BOOL(struct service, restart_requested),
        F_BOOL(struct service, have_last_exit),
        F_U64(struct service, start_seq),
        F_BOOL(struct service, queued),
        F_BOOL(struct service, stop_queued),
        F_INT(struct service, desired),
        F_FD(struct service, cgroup_fd),
};

#define SVC(obj) ((const struct service *)(obj))
#define SVCW(obj) ((struct service *)(obj))

static json_t *w_cfg(struct wctx *w, const void *obj) {
        return w_unit(w, SVC(obj)->cfg);
}
static int r_cfg(struct rctx *r, void *obj, json_t *v) {
        return r_unit(r, v, &SVCW(obj)->cfg);
}
static json_t *w_next_cfg(struct wctx *w, const void *obj) {
        return w_unit(w, SVC(obj)->next_cfg);
}
static int r_next_cfg(struct rctx *r, void *obj, json_t *v) {
        return r_unit(r, v, &SVCW(obj)->next_cfg);
}

static json_t *w_proc(struct wctx *w, const void *obj) {
        return w_process(w, &SVC(obj)->proc);
}
static int r_proc(struct rctx *r, void *obj, json_t *v) {
        return r_process(r, &SVCW(obj)->proc, v);
}
static json_t *w_former(struct wctx *w, const void *obj) {
        return w_process(w, &SVC(obj)->former);
}
static int r_former(struct rctx *r, void *obj, json_t *v) {
        return r_process(r, &SVCW(obj)->former, v);
}

static json_t *w_upgrade_part(struct wctx *w, const void *obj) {
        return w_upgrade(w, SVC(obj));
}
static int r_upgrade_part(struct rctx *r, void *obj, json_t *v) {
        return r_upgrade(r, SVCW(obj), v);
}

static json_t *w_kept(struct wctx *w, const void *obj) {
        return w_listeners(w, SVC(obj)->kept, SVC(obj)->n_kept);
}
static int r_kept(struct rctx *r, void *obj, json_t *v) {
        return r_listeners(r, v, &SVCW(obj)->kept, &SVCW(obj)->n_kept);
}

/* The deadlines of its armed timers, CLOCK_MONOTONIC (0: not armed). */
static json_t *w_timers(struct wctx *w, const void *obj) {
        const struct service *s = SVC(obj);
        struct loop *l = w->m->loop;
        const char *keys[] = { "timer", "reset", "watchdog", "keep", "upgrade", "ready_check" };
        usec_t t[] = { loop_timer_deadline(l, &s->timer_ev), loop_timer_deadline(l, &s->reset_ev),
                       loop_timer_deadline(l, &s->watchdog_ev), loop_timer_deadline(l, &s->keep_ev),
                       s->up ? loop_timer_deadline(l, &s->up->timer_ev) : 0,
                       s->up ? loop_timer_deadline(l, &s->up->check_ev) : 0 };
        json_t *o = NULL;

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                if (!t[i])
                        continue;
                if (!o && !(o = wnew(w, json_object())))
                        return NULL;
                json_object_set_new(o, keys[i], json_integer((json_int_t)t[i]));
        }
        return o;
}
static int r_timers(struct rctx *r, void *obj, json_t *v) {
        static const char *const keys[] = { "timer", "reset", "watchdog", "keep", "upgrade", "ready_check" };
        usec_t *dst[] = { &r->timers->timer, &r->timers->reset, &r->timers->watchdog, &r->timers->keep,
                          &r->timers->up_timer, &r->timers->up_check };

        if (!json_is_object(v))
                return rfail(r, "\"timers\": expected an object");
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                json_t *t = json_object_get(v, keys[i]);
                if (!t)
                        continue;
                if (!json_is_integer(t))
                        return rfail(r, "\"timers\": \"%s\": expected an integer", keys[i]);
                *dst[i] = (usec_t)json_integer_value(t);
        }
        return 0;
}

/* The output pipes: the read end and the unfinished line. */
static json_t *w_out(struct wctx *w, const void *obj) {
        const struct service *s = SVC(obj);
        json_t *a;

        if (s->out[0].fd < 0 && s->out[1].fd < 0 && !s->out[0].partial_len && !s->out[1].partial_len)
                return NULL;
        a = wnew(w, json_array());
        for (int i = 0; a && i < 2; i++) {
                json_t *o = wnew(w, json_pack("{s:o}", "fd", w_fd(w, s->out[i].fd)));
                if (o && s->out[i].partial_len)
                        json_object_set_new(o, "partial", state_bytes(s->out[i].partial, s->out[i].partial_len));
                json_array_append_new(a, o);
        }
        return a;
}
static int r_out(struct rctx *r, void *obj, json_t *v) {
        struct service *s = obj;

        if (!json_is_array(v) || json_array_size(v) != 2)
                return rfail(r, "\"out\": expected two pipes");
        for (int i = 0; i < 2; i++) {
                json_t *o = json_array_get(v, (size_t)i);
                struct outpipe *p = &s->out[i];
                char *partial = NULL;
                size_t len = 0;
                int k = r_fd(r, "out", json_object_get(o, "fd"), &p->fd);

                if (k < 0)
                        return k;
                if (json_object_get(o, "partial") &&
                    (k = state_read_bytes(json_object_get(o, "partial"), &partial, &len)) < 0)
                        return k == -ENOMEM ? k : rfail(r, "\"out\": \"partial\": expected a string");
                if (len >= LOGFILE_LINE_MAX) {
                        free(partial);
                        return rfail(r, "\"out\": an unfinished line of %zu bytes", len);
                }
                if (len == 0) {
                        free(partial);
                        continue;
                }
                p->partial = malloc(LOGFILE_LINE_MAX);
                if (!p->partial) {
                        free(partial);
                        return -ENOMEM;
                }
                memcpy(p->partial, partial, len);
                p->partial_len = len;
                free(partial);
        }
        return 0;
}

/* The log file, its descriptor kept open across the exec (a rotated-away file stays the
 * one being written, as it would have without the exec). */
static const struct field logfile_fields[] = {
        F_FD(struct logfile_saved, fd),
        F_U64(struct logfile_saved, max_bytes),
        F_UINT(struct logfile_saved, keep),
        F_U64(struct logfile_saved, size),
        F_U64(struct logfile_saved, rotate_at),
        F_U64(struct logfile_saved, dropped),
        F_U64(struct logfile_saved, unreported),
        F_INT(struct logfile_saved, drop_errno),
        F_BOOL(struct logfile_saved, mid_line),
        F_BOOL(struct logfile_saved, reopen),
};

static json_t *w_log(struct wctx *w, const void *obj) {
        const struct service *s = SVC(obj);
        struct logfile_saved saved;
        json_t *o;

        if (!s->log)
                return NULL;
        logfile_save(s->log, &saved);
        o = wnew(w, json_object());
        if (!o)
                return NULL;
        WRITE_TABLE_DIFF(w, o, logfile_fields, &saved, &(struct logfile_saved){ .fd = -EBADF });
        json_object_set_new(o, "path", state_bytes(saved.path, strlen(saved.path)));
        return o;
}
static int r_log(struct rctx *r, void *obj, json_t *v) {
        struct service *s = obj;
        struct logfile_saved saved = { .fd = -EBADF };
        _cleanup_free_ char *path = NULL;
        int k;

        if (json_is_null(v))
                return 0;
        if (!json_is_object(v))
                return rfail(r, "\"log\": expected an object");
        k = READ_TABLE(r, v, logfile_fields, &saved);
        if (k >= 0)
                k = r_line(r, json_object_get(v, "path"), PATH_MAX, &path);
        if (k >= 0 && saved.fd < 0)
                k = rfail(r, "\"log\": no descriptor");
        if (k < 0) {
                safe_close(saved.fd);
                return k;
        }
        saved.path = path;
        return logfile_restore(&saved, &s->log);
}

static json_t *w_tail(struct wctx *w, const void *obj) {
        const struct service *s = SVC(obj);
        return s->tail_n ? wnew(w, w_strv_ring(s->tail, STDERR_TAIL_MAX, s->tail_next, s->tail_n)) : NULL;
}
static int r_tail(struct rctx *r, void *obj, json_t *v) {
        struct service *s = obj;
        size_t n = json_array_size(v);

        if (!json_is_array(v) || n > STDERR_TAIL_MAX)
                return rfail(r, "\"tail\": expected at most %d lines", STDERR_TAIL_MAX);
        for (size_t i = 0; i < n; i++) {
                int k = r_line(r, json_array_get(v, i), STDERR_LINE_MAX, &s->tail[i]);
                if (k < 0)
                        return k;
        }
        s->tail_n = n;
        s->tail_next = n % STDERR_TAIL_MAX;
        return 0;
}

/* Crash history, oldest first.  Not saved: n_stderr (the array's length). */
static const struct field exit_record_fields[] = {
        F_U64(struct exit_record, time),
        F_U64(struct exit_record, runtime),
        F_INT(struct exit_record, pid),
        F_STR(struct exit_record, cause),
};

static json_t *w_history(struct wctx *w, const void *obj) {
        const struct service *s = SVC(obj);
        json_t *a = json_array();

        if (!s->history_n) {
                json_decref(a);
                return NULL;
        }
        for (size_t i = 0; a && i < s->history_n; i++) {
                const struct exit_record *e = &s->history[(s->history_next + HISTORY_MAX - s->history_n + i) % HISTORY_MAX];
                json_t *o = wnew(w, json_object());
                if (!o)
                        return a;
                WRITE_TABLE(w, o, exit_record_fields, e);
                if (e->n_stderr)
                        json_object_set_new(o, "stderr", w_strv_ring(e->stderr_tail, e->n_stderr, 0, e->n_stderr));
                json_array_append_new(a, o);
        }
        return wnew(w, a);
}
static int r_history(struct rctx *r, void *obj, json_t *v) {
        struct service *s = obj;
        size_t n = json_array_size(v);

        if (!json_is_array(v) || n > HISTORY_MAX)
                return rfail(r, "\"history\": expected at most %d exits", HISTORY_MAX);
        if (n == 0)
                return 0;
        s->history = calloc(HISTORY_MAX, sizeof(*s->history));
        if (!s->history)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_t *o = json_array_get(v, i), *lines = json_object_get(o, "stderr");
                struct exit_record *e = &s->history[i];
                size_t nl = json_array_size(lines);
                int k;

                if (!json_is_object(o) || (lines && (!json_is_array(lines) || nl > STDERR_TAIL_MAX)))
                        return rfail(r, "\"history\": expected objects with at most %d stderr lines", STDERR_TAIL_MAX);
                k = READ_TABLE(r, o, exit_record_fields, e);
                if (k < 0)
                        return k;
                e->stderr_tail = calloc(nl + 1, sizeof(char *));
                if (!e->stderr_tail)
                        return -ENOMEM;
                for (size_t j = 0; j < nl; j++) {
                        k = r_line(r, json_array_get(lines, j), STDERR_LINE_MAX, &e->stderr_tail[j]);
                        if (k < 0)
                                return k;
                        e->n_stderr++;
                }
        }
        s->history_n = n;
        s->history_next = n % HISTORY_MAX;
        return 0;
}

static json_t *w_start_limit(struct wctx *w, const void *obj) {
        const struct service *s = SVC(obj);
        json_t *a = s->start_limit.n ? wnew(w, json_array()) : NULL;

        for (unsigned i = 0; a && i < s->start_limit.n; i++)
                json_array_append_new(a, json_integer((json_int_t)s->start_limit.starts[i]));
        return a;
}
static int r_start_limit(struct rctx *r, void *obj, json_t *v) {
        struct service *s = obj;
        size_t n = json_array_size(v);

        if (!json_is_array(v) || n > 100000)
                return rfail(r, "\"start_limit\": expected an array of times");
        if (n == 0)
                return 0;
        s->start_limit.starts = calloc(n, sizeof(usec_t));
        if (!s->start_limit.starts)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_t *t = json_array_get(v, i);
                if (!json_is_integer(t))
                        return rfail(r, "\"start_limit\": expected an array of times");
                s->start_limit.starts[i] = (usec_t)json_integer_value(t);
        }
        s->start_limit.n = (unsigned)n;
        return 0;
}

/* [Socket] listeners, with the settings key that lets a reload keep them. */
static json_t *w_listen(struct wctx *w, const void *obj) {
        const struct service *s = SVC(obj);
        json_t *a = s->n_listen_fds ? wnew(w, json_array()) : NULL;

        for (size_t i = 0; a && i < s->n_listen_fds; i++)
                json_array_append_new(a, json_pack("{s:o, s:o}", "fd", w_fd(w, s->listen_fds[i]), "key",
                                                   state_bytes(s->listen_keys[i], strlen(s->listen_keys[i]))));
        return a;
}
static int r_listen(struct rctx *r, void *obj, json_t *v) {
        struct service *s = obj;
        size_t n = json_array_size(v);

        if (!json_is_array(v) || n > 4096)
                return rfail(r, "\"listen\": expected an array");
        if (n == 0)
                return 0;
        s->listen_fds = malloc(n * sizeof(int));
        s->listen_keys = calloc(n, sizeof(char *));
        if (!s->listen_fds || !s->listen_keys)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_t *o = json_array_get(v, i);
                int fd = -EBADF, k = r_fd(r, "listen", json_object_get(o, "fd"), &fd);
                if (k >= 0 && fd < 0)
                        k = rfail(r, "\"listen\": a socket without its descriptor");
                if (k < 0)
                        return k;
                s->listen_fds[i] = fd;
                s->n_listen_fds = i + 1; /* owned from here */
                k = r_line(r, json_object_get(o, "key"), 4096, &s->listen_keys[i]);
                if (k < 0)
                        return k;
        }
        return 0;
}

static json_t *w_fdstore(struct wctx *w, const void *obj) {
        const struct service *s = SVC(obj);
        json_t *a = s->n_fdstore ? wnew(w, json_array()) : NULL;

        for (size_t i = 0; a && i < s->n_fdstore; i++)
                json_array_append_new(a, json_pack("{s:o, s:o}", "fd", w_fd(w, s->fdstore[i].fd), "name",
                                                   state_bytes(s->fdstore[i].name, strlen(s->fdstore[i].name))));
        return a;
}
static int r_fdstore(struct rctx *r, void *obj, json_t *v) {
        struct service *s = obj;
        size_t n = json_array_size(v);

        if (!json_is_array(v) || n > 65536)
                return rfail(r, "\"fdstore\": expected an array");
        if (n == 0)
                return 0;
        s->fdstore = calloc(n, sizeof(*s->fdstore));
        if (!s->fdstore)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_t *o = json_array_get(v, i);
                int fd = -EBADF, k = r_fd(r, "fdstore", json_object_get(o, "fd"), &fd);
                if (k >= 0 && fd < 0)
                        k = rfail(r, "\"fdstore\": an entry without its descriptor");
                if (k < 0)
                        return k;
                s->fdstore[i].fd = fd;
                s->n_fdstore = i + 1;
                k = r_line(r, json_object_get(o, "name"), 4096, &s->fdstore[i].name);
                if (k < 0)
                        return k;
        }
        return 0;
}

/* Control requests waiting for a job of this service. */
static json_t *w_waiters(struct wctx *w, const void *obj) {
        json_t *a = SVC(obj)->waiters ? wnew(w, json_array()) : NULL;

        for (const struct waiter *x = SVC(obj)->waiters; a && x; x = x->next) {
                json_t *o = w_request(x->conn, x->id);
                json_object_set_new(o, "kind", json_string(x->kind == WAIT_START ? "start" : "stop"));
                json_array_append_new(a, o);
        }
        return a;
}
static int r_waiters(struct rctx *r, void *obj, json_t *v) {
        struct service *s = obj;
        struct waiter **tail = &s->waiters;
        size_t n = json_array_size(v);

        if (!json_is_array(v))
                return rfail(r, "\"waiters\": expected an array");
        for (size_t i = 0; i < n; i++) {
                json_t *o = json_array_get(v, i);
                const char *kind = json_string_value(json_object_get(o, "kind"));
                struct waiter *x;
                int k;

                if (!kind || (strcmp(kind, "start") && strcmp(kind, "stop")))
                        return rfail(r, "\"waiters\": \"kind\": expected start or stop");
                x = calloc(1, sizeof(*x));
                if (!x)
                        return -ENOMEM;
                *tail = x; /* owned by the service from here, in the order written */
                tail = &x->next;
                x->kind = strcmp(kind, "start") ? WAIT_STOP : WAIT_START;
                k = r_request(r, o, &x->conn, &x->id);
                if (k < 0)
                        return k;
                if (!x->conn)
                        return rfail(r, "\"waiters\": a waiter without its connection");
        }
        return 0;
}

/* Whether resource limits were in force: applied again from the config after the exec. */
static json_t *w_cgroup_limits(struct wctx *w, const void *obj) {
        return SVC(obj)->cgl ? json_true() : NULL;
}
static int r_cgroup_limits(struct rctx *r, void *obj, json_t *v) {
        if (!json_is_boolean(v))
                return rfail(r, "\"cgroup_limits\": expected true or false");
        /* Nothing to keep: reexec.c applies the config's limits again when it is running. */
        return 0;
}


/* Seccomp listeners (intercept.c): a filter whose listener closed would turn every call
 * it notifies into ENOSYS, so each one goes across the exec, with what it offers.
 * Not saved: s, ev (armed again), next (the list). */
static const struct field intercept_fields[] = {
        F_FD(struct intercept, fd),
        F_INT(struct intercept, pid),
        F_BOOL(struct intercept, kills),
        F_SIZE(struct intercept, n_installed),
};

static json_t *w_intercepts(struct wctx *w, const void *obj) {
        json_t *a = NULL;

        for (const struct intercept *ic = SVC(obj)->intercepts; ic; ic = ic->next) {
                json_t *o = wnew(w, json_object()), *inst = json_array(), *flags = json_array();
                if (!a && !(a = wnew(w, json_array())))
                        return NULL;
                if (!o || !inst || !flags) {
                        w->error = -ENOMEM;
                        json_decref(inst);
                        json_decref(flags);
                        return a;
                }
                WRITE_TABLE(w, o, intercept_fields, ic);
                for (size_t i = 0; i < ic->n_offer; i++) {
                        json_array_append_new(inst, json_integer(ic->installed_at[i]));
                        json_array_append_new(flags, json_integer(ic->wanted_flags[i]));
                }
                if (ic->n_offer)
                        json_object_set_new(o, "offer", w_listeners(w, ic->offer, ic->n_offer));
                json_object_set_new(o, "installed_at", inst);
                json_object_set_new(o, "wanted_flags", flags);
                json_array_append_new(a, o);
        }
        return a;
}

static int r_intercepts(struct rctx *r, void *obj, json_t *v) {
        struct service *s = SVCW(obj);
        size_t i;
        json_t *o;

        if (!json_is_array(v))
                return rfail(r, "\"intercepts\": expected an array");
        json_array_foreach(v, i, o) {
                struct intercept tmp = { .fd = -EBADF };
                struct pv_listener *offer = NULL;
                size_t n = 0;
                int k = READ_TABLE(r, o, intercept_fields, &tmp);

                if (k >= 0 && json_object_get(o, "offer"))
                        k = r_listeners(r, json_object_get(o, "offer"), &offer, &n);
                if (k >= 0 && (json_array_size(json_object_get(o, "installed_at")) != n ||
                               json_array_size(json_object_get(o, "wanted_flags")) != n || tmp.fd < 0))
                        k = rfail(r, "an intercept");
                if (k >= 0) {
                        struct intercept *ic = NULL;
                        k = intercept_add(s, tmp.fd, tmp.pid, tmp.kills, &ic);
                        tmp.fd = -EBADF; /* taken, also on failure */
                        if (k >= 0 && n) {
                                intercept_offer(ic, offer, n);
                                for (size_t j = 0; ic->offer && j < n; j++) {
                                        ic->installed_at[j] = (int)json_integer_value(json_array_get(json_object_get(o, "installed_at"), j));
                                        ic->wanted_flags[j] = (int)json_integer_value(json_array_get(json_object_get(o, "wanted_flags"), j));
                                }
                                ic->n_installed = tmp.n_installed;
                        }
                        if (k >= 0 && s->up && ic->pid == s->proc.pid)
                                s->up->ic = ic;
                }
                pv_listeners_free(offer, n);
                safe_close(tmp.fd);
                if (k < 0)
                        return k;
        }
        return 0;
}

static const struct part service_parts[] = {
        { "cfg", w_cfg, r_cfg },
        { "next_cfg", w_next_cfg, r_next_cfg },
        { "proc", w_proc, r_proc },
        { "former", w_former, r_former },
        { "upgrade", w_upgrade_part, r_upgrade_part },
        { "kept", w_kept, r_kept },
        { "timers", w_timers, r_timers },
        { "out", w_out, r_out },
        { "log", w_log, r_log },
        { "tail", w_tail, r_tail },
        { "history", w_history, r_history },
        { "start_limit", w_start_limit, r_start_limit },
        { "listen", w_listen, r_listen },
        { "fdstore", w_fdstore, r_fdstore },
        { "waiters", w_waiters, r_waiters },
        { "cgroup_limits", w_cgroup_limits, r_cgroup_limits },
        { "intercepts", w_intercepts, r_intercepts },
};

static json_t *w_service(struct wctx *w, const struct service *s, const struct service *tmpl) {
        json_t *o = wnew(w, json_pack("{s:s}", "name", s->name));

        if (!o)
                return NULL;
        WRITE_TABLE_DIFF(w, o, service_fields, s, tmpl);
        write_parts(w, o, service_parts, ELEMENTSOF(service_parts), s);
        return o;
}

/* What the rest of the daemon takes for granted about a service. */
static int check_service(struct rctx *r, const struct service *s) {
        bool has_process = s->proc.pidfd >= 0;

        if ((unsigned)s->state >= _SERVICE_STATE_MAX || (unsigned)s->kill_reason > KILLED_WATCHDOG ||
            (unsigned)s->desired >= _DESIRED_MAX)
                return rfail(r, "state %d, kill_reason %d, desired %d", (int)s->state, (int)s->kill_reason,
                             (int)s->desired);
        if (!s->cfg && (has_process || s->up ||
                        (s->state != SERVICE_INACTIVE && s->state != SERVICE_FAILED)))
                return rfail(r, "%s without a unit config", service_state_to_string(s->state));
        if (s->proc_is_pre && (!has_process || s->pre_index >= s->cfg->n_exec_start_pre))
                return rfail(r, "ExecStartPre= %zu of %zu", s->pre_index + 1, s->cfg ? s->cfg->n_exec_start_pre : 0);
        if (s->up && (!has_process || s->proc_is_pre))
                return rfail(r, "an upgrade without a successor");
        if (s->have_last_exit && !s->history_n)
                return rfail(r, "a last exit without a history");
        return 0;
}

static int r_service(struct rctx *r, struct manager *m, json_t *o, struct service_timers *timers) {
        const char *name = json_string_value(json_object_get(o, "name"));
        struct service *s, **grown;
        int k;

        if (!json_is_object(o) || !name || !*name || strlen(name) > 255 || strchr(name, '/'))
                return rfail(r, "a service without a valid \"name\"");
        s = service_new(m, name);
        grown = s ? realloc(m->services, (m->n_services + 1) * sizeof(*grown)) : NULL;
        if (!grown) {
                service_free(s);
                return -ENOMEM;
        }
        m->services = grown;
        m->services[m->n_services++] = s; /* owned by m from here */
        snprintf(r->where, sizeof(r->where), "service \"%s\"", name);
        r->timers = timers;
        k = READ_TABLE(r, o, service_fields, s);
        if (k >= 0)
                k = read_parts(r, o, service_parts, ELEMENTSOF(service_parts), s);
        if (k >= 0)
                k = check_service(r, s);
        return k;
}

/* ---- struct conn -------------------------------------------------------------------------- */

/* Not saved: m (the owner), io_ev and idle_ev (armed again: the idle time starts over),
 * in_cap and out_cap (from the buffers), next and prev (the order of "conns"); fd is the
 * "fd" part, which the waiters name. */
static const struct field conn_fields[] = {
        F_FD(struct conn, fd),
        F_BOOL(struct conn, subscribed),
        F_BOOL(struct conn, eof),
        F_BOOL(struct conn, closing),
        F_UINT(struct conn, pending),
        F_UINT(struct conn, uid),
};

static json_t *w_conn(struct wctx *w, const struct conn *c) {
        json_t *o = wnew(w, json_object());

        if (!o)
                return NULL;
        WRITE_TABLE(w, o, conn_fields, c);
        if (c->in_len)
                json_object_set_new(o, "in", state_bytes(c->in, c->in_len));
        if (c->out_len)
                json_object_set_new(o, "out", state_bytes(c->out, c->out_len));
        return o;
}

static int r_buffer(struct rctx *r, json_t *v, char **buf, size_t *len, size_t *cap) {
        int k;

        if (!v)
                return 0;
        k = state_read_bytes(v, buf, len);
        if (k < 0)
                return k == -ENOMEM ? k : rfail(r, "a buffer: expected a string");
        *cap = *len + 1;
        if (*len > 2 * 1024 * 1024)
                return rfail(r, "a buffer of %zu bytes", *len);
        return 0;
}

static void conn_detached_free(struct conn *c) {
        safe_close(c->fd);
        free(c->in);
        free(c->out);
        free(c);
}

static int r_conn(struct rctx *r, struct manager *m, json_t *o, size_t index) {
        json_t *number = json_object_get(o, "fd");
        struct conn *c;
        int k;

        if (!json_is_object(o) || !json_is_integer(number))
                return rfail(r, "\"conns\": expected objects with an \"fd\"");
        if (find_conn(r, json_integer_value(number)))
                return rfail(r, "connection %lld twice", (long long)json_integer_value(number));
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->m = m;
        c->fd = -EBADF;
        loop_event_init(&c->io_ev, NULL, c);
        loop_event_init(&c->idle_ev, NULL, c);
        /* Appended, in the order written: owned by m from here. */
        if (!m->conns)
                m->conns = c;
        else {
                struct conn *last = m->conns;
                while (last->next)
                        last = last->next;
                last->next = c;
                c->prev = last;
        }
        m->n_conns++;
        r->conn_by_index[index] = c;
        r->conn_numbers[index] = (int)json_integer_value(number);
        r->n_conns = index + 1;
        k = READ_TABLE(r, o, conn_fields, c);
        if (k >= 0)
                k = r_buffer(r, json_object_get(o, "in"), &c->in, &c->in_len, &c->in_cap);
        if (k >= 0)
                k = r_buffer(r, json_object_get(o, "out"), &c->out, &c->out_len, &c->out_cap);
        if (k >= 0 && c->fd < 0)
                k = rfail(r, "a connection without its descriptor");
        if (k >= 0 && c->in_len > 64 * 1024 + 8192)
                k = rfail(r, "a connection's input of %zu bytes", c->in_len);
        return k;
}

/* ---- struct manager and its options -------------------------------------------------------- */

/* Not saved: loop, signal_fd, signal_ev, listen_ev, notify_ev, collect_ev (made again);
 * policy_cache (compiled again on demand, from the units' policies);
 * reap_orphans (from the options); services and conns (arrays of their own); n_services,
 * n_conns, n_queued, n_stop_queued (counted again); shutting_down, exiting, exit_code,
 * dispatching, dispatch_again (no re-exec while shutting down or inside a dispatch);
 * notify_path and log_dir (from the options); cgroup_base_fd (opened again); cgl (made
 * again at the first start with limits); reexec (the request is "reply"); recovery (read
 * again from the state directory); restored. */
static const struct field manager_fields[] = {
        F_U64(struct manager, start_seq),
        F_U64(struct manager, notify_ignored),
        F_U64(struct manager, rng),
        F_FD(struct manager, lock_fd),
        F_FD(struct manager, notify_fd),
        F_FD(struct manager, listen_fd),
        F_STR(struct manager, cgroup_base),
};

/* Not saved: restore.  args is written apart. */
static const struct field options_fields[] = {
        F_STR(struct manager_options, units_dir),
        F_STR(struct manager_options, socket_path),
        F_STR(struct manager_options, state_dir),
        F_STR(struct manager_options, log_dir),
        F_BOOL(struct manager_options, subreaper),
        F_BOOL(struct manager_options, force_epoll),
};

const char *state_formats_read(void) {
        return "1";
}

struct textbuf {
        char *p;
        size_t len, cap;
};

static int dump_append(const char *buffer, size_t size, void *data) {
        struct textbuf *t = data;

        if (t->len + size + 1 > t->cap) {
                size_t cap = t->cap ? t->cap : 64 * 1024;
                char *g;
                while (cap < t->len + size + 1)
                        cap *= 2;
                g = realloc(t->p, cap);
                if (!g)
                        return -1;
                t->p = g;
                t->cap = cap;
        }
        memcpy(t->p + t->len, buffer, size);
        t->len += size;
        t->p[t->len] = 0;
        return 0;
}

int state_write(struct manager *m, const struct state_reply *reply, char **ret, size_t *ret_len,
                struct fdlist *keep, char *why, size_t why_size) {
        struct wctx w = { .m = m, .keep = keep };
        struct arena arena;
        struct textbuf text = { 0 };
        json_t *root, *opt, *mgr, *services, *conns, *args, *fds;
        int r = 0;

        arena_begin(&arena);
        root = json_object();
        opt = json_object();
        mgr = json_object();
        services = json_array();
        conns = json_array();
        args = json_array();
        fds = json_array();

        if (!root || !opt || !mgr || !services || !conns || !args || !fds) {
                w.error = -ENOMEM;
                goto out;
        }
        json_object_set_new(root, "format", json_integer(STATE_FORMAT));
        json_object_set_new(root, "writer", json_string("pidvisor " PIDVISOR_VERSION));
        json_object_set_new(root, "written", json_integer((json_int_t)now_usec(CLOCK_MONOTONIC)));
        WRITE_TABLE(&w, opt, options_fields, &m->opt);
        for (size_t i = 0; m->opt.args && m->opt.args[i]; i++)
                json_array_append_new(args, state_bytes(m->opt.args[i], strlen(m->opt.args[i])));
        json_object_set(opt, "args", args);
        json_object_set(root, "options", opt);
        json_object_set_new(root, "log_level", json_integer(log_max_level));
        WRITE_TABLE(&w, mgr, manager_fields, m);
        json_object_set_new(mgr, "nofile", json_pack("{s:I, s:I}", "cur", (json_int_t)m->nofile_for_services.rlim_cur,
                                                     "max", (json_int_t)m->nofile_for_services.rlim_max));
        json_object_set(root, "manager", mgr);
        for (struct conn *c = m->conns; c; c = c->next)
                json_array_append_new(conns, w_conn(&w, c));
        json_object_set(root, "conns", conns);
        {
                /* What the reader starts from: only what differs is written. */
                struct service *tmpl = service_new(m, "-");
                if (!tmpl)
                        w.error = -ENOMEM;
                for (size_t i = 0; tmpl && i < m->n_services; i++)
                        json_array_append_new(services, w_service(&w, m->services[i], tmpl));
                service_free(tmpl);
        }
        json_object_set(root, "services", services);
        if (reply)
                json_object_set_new(root, "reply",
                                    json_pack("{s:o, s:O, s:I, s:s?, s:s?}", "conn",
                                              reply->conn_fd >= 0 ? json_integer(reply->conn_fd) : json_null(), "id",
                                              reply->id ? reply->id : json_null(), "t_begin",
                                              (json_int_t)reply->t_begin, "binary", reply->binary, "previous",
                                              reply->previous));
        if (w.error)
                goto out;
        /* Each descriptor once: two owners of one would close it twice. */
        if (keep->n)
                qsort(keep->fds, keep->n, sizeof(int), cmp_int);
        for (size_t i = 0; i < keep->n; i++) {
                if (i > 0 && keep->fds[i] == keep->fds[i - 1]) {
                        snprintf(why, why_size, "descriptor %d is named twice in the state", keep->fds[i]);
                        r = -EEXIST;
                        goto out;
                }
                json_array_append_new(fds, json_integer(keep->fds[i]));
        }
        json_object_set(root, "fds", fds);
        if (json_dump_callback(root, dump_append, &text, JSON_COMPACT) < 0 || !text.p)
                w.error = -ENOMEM;
out:
        if (w.error && r == 0) {
                r = w.error;
                snprintf(why, why_size, "writing the state: %s", strerror(-r));
        }
        json_decref(opt);
        json_decref(mgr);
        json_decref(services);
        json_decref(conns);
        json_decref(args);
        json_decref(fds);
        json_decref(root);
        arena_end(&arena);
        if (r < 0) {
                free(text.p);
                return r;
        }
        *ret = text.p;
        *ret_len = text.len;
        return 0;
}

/* ---- reading ---------------------------------------------------------------------------- */

static struct manager *detached_manager(void) {
        struct manager *m = calloc(1, sizeof(*m));

        if (!m)
                return NULL;
        m->signal_fd = m->listen_fd = m->cgroup_base_fd = m->notify_fd = m->lock_fd = -EBADF;
        return m;
}

void saved_state_free(struct saved_state *st) {
        struct manager *m;

        if (!st)
                return;
        m = st->m;
        if (m) {
                for (size_t i = 0; i < m->n_services; i++) {
                        struct service *s = m->services[i];
                        /* Nobody to answer here: the connections are not live. */
                        if (s->up) {
                                s->up->conn = NULL;
                                json_decref(s->up->id);
                                s->up->id = NULL;
                        }
                        service_free(s);
                }
                free(m->services);
                while (m->conns) {
                        struct conn *c = m->conns;
                        m->conns = c->next;
                        conn_detached_free(c);
                }
                safe_close(m->lock_fd);
                safe_close(m->notify_fd);
                safe_close(m->listen_fd);
                free(m->cgroup_base);
                free(m);
        }
        free(st->opt.units_dir);
        free(st->opt.socket_path);
        free(st->opt.state_dir);
        free(st->opt.log_dir);
        for (size_t i = 0; st->opt.args && st->opt.args[i]; i++)
                free(st->opt.args[i]);
        free(st->opt.args);
        free(st->timers);
        json_decref(st->reply_id);
        free(st->reply_binary);
        free(st->reply_previous);
        free(st->writer);
        free(st->declared);
        free(st->claimed);
        free(st);
}

static int r_declared(struct rctx *r, json_t *fds) {
        struct saved_state *st = r->st;
        size_t n = json_array_size(fds);

        if (!json_is_array(fds) || n > 1024 * 1024)
                return rfail(r, "\"fds\": expected an array of descriptor numbers");
        st->declared = calloc(n + 1, sizeof(int));
        st->claimed = calloc(n + 1, sizeof(bool));
        if (!st->declared || !st->claimed)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_t *v = json_array_get(fds, i);
                /* 0, 1, 2 are the daemon's stdio: never the state's. */
                if (!json_is_integer(v) || json_integer_value(v) < 3 || json_integer_value(v) > INT_MAX)
                        return rfail(r, "\"fds\": %s is not a descriptor number", json_is_integer(v) ? "a value" : "an entry");
                st->declared[i] = (int)json_integer_value(v);
                if (i > 0 && st->declared[i] <= st->declared[i - 1])
                        return rfail(r, "\"fds\": not sorted, or a descriptor twice");
        }
        st->n_declared = n;
        return 0;
}

static int r_options(struct rctx *r, json_t *o) {
        struct saved_state *st = r->st;
        json_t *args = json_object_get(o, "args");
        size_t n = json_array_size(args);
        int k;

        if (!json_is_object(o))
                return rfail(r, "\"options\": expected an object");
        k = READ_TABLE(r, o, options_fields, &st->opt);
        if (k < 0)
                return k;
        if (!st->opt.units_dir || !st->opt.socket_path || !st->opt.state_dir)
                return rfail(r, "\"options\": units_dir, socket_path and state_dir are required");
        if (args && (!json_is_array(args) || n > 256))
                return rfail(r, "\"options\": \"args\": expected an array");
        st->opt.args = calloc(n + 1, sizeof(char *));
        if (!st->opt.args)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                k = r_line(r, json_array_get(args, i), 4096, &st->opt.args[i]);
                if (k < 0)
                        return k;
        }
        return 0;
}

static int r_manager(struct rctx *r, json_t *o) {
        struct manager *m = r->st->m;
        json_t *nofile = json_object_get(o, "nofile");
        long long cur, max;
        int k;

        if (!json_is_object(o))
                return rfail(r, "\"manager\": expected an object");
        k = READ_TABLE(r, o, manager_fields, m);
        if (k < 0)
                return k;
        if (nofile) {
                if ((k = r_int(r, nofile, "cur", 0, LLONG_MAX, &cur)) < 0 ||
                    (k = r_int(r, nofile, "max", 0, LLONG_MAX, &max)) < 0)
                        return k;
                m->nofile_for_services = (struct rlimit){ (rlim_t)cur, (rlim_t)max };
        }
        if (m->lock_fd < 0 || m->notify_fd < 0 || m->listen_fd < 0)
                return rfail(r, "the lock, notify socket and control socket descriptors are required");
        return 0;
}

static int r_reply(struct rctx *r, json_t *o) {
        struct saved_state *st = r->st;
        json_t *t = json_object_get(o, "t_begin");
        int k;

        if (!json_is_object(o))
                return rfail(r, "\"reply\": expected an object");
        k = r_request(r, o, &st->reply_conn, &st->reply_id);
        if (k < 0)
                return k;
        if (json_is_integer(t))
                st->reply_t_begin = (usec_t)json_integer_value(t);
        if (json_is_string(json_object_get(o, "binary")))
                st->reply_binary = strdup(json_string_value(json_object_get(o, "binary")));
        if (json_is_string(json_object_get(o, "previous")))
                st->reply_previous = strdup(json_string_value(json_object_get(o, "previous")));
        return 0;
}

static int cmp_service_name(const void *a, const void *b) {
        return strcmp((*(struct service *const *)a)->name, (*(struct service *const *)b)->name);
}

/* No name twice (checked once all are read: a search per service would be quadratic). */
static int check_names(struct rctx *r, struct manager *m) {
        struct service **sorted;
        int k = 0;

        if (m->n_services < 2)
                return 0;
        sorted = malloc(m->n_services * sizeof(*sorted));
        if (!sorted)
                return -ENOMEM;
        memcpy(sorted, m->services, m->n_services * sizeof(*sorted));
        qsort(sorted, m->n_services, sizeof(*sorted), cmp_service_name);
        for (size_t i = 1; i < m->n_services && k == 0; i++)
                if (!strcmp(sorted[i]->name, sorted[i - 1]->name))
                        k = rfail(r, "service \"%s\" twice", sorted[i]->name);
        free(sorted);
        return k;
}

int state_read(const char *text, size_t len, state_claim_fd_t claim, void *claim_data, unsigned flags,
               struct saved_state **ret, char *why, size_t why_size) {
        struct saved_state *st = calloc(1, sizeof(*st));
        struct rctx r = { .claim = claim, .claim_data = claim_data, .st = st, .why = why, .why_size = why_size };
        struct arena arena;
        json_error_t jerr;
        json_t *root = NULL, *services, *conns, *v;
        long long level = LOG_LEVEL_INFO;
        int k = 0;

        why[0] = 0;
        if (!st)
                return -ENOMEM;
        st->t_read_begin = now_usec(CLOCK_MONOTONIC);
        arena_begin(&arena);
        root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
        st->t_json = now_usec(CLOCK_MONOTONIC);
        if (!json_is_object(root)) {
                snprintf(why, why_size, "not a state: %s (line %d, column %d)", root ? "not an object" : jerr.text,
                         jerr.line, jerr.column);
                k = -EINVAL;
                goto out;
        }
        v = json_object_get(root, "format");
        if (json_is_string(json_object_get(root, "writer")))
                st->writer = strdup(json_string_value(json_object_get(root, "writer")));
        if (!json_is_integer(v)) {
                k = rfail(&r, "no \"format\": not a pidvisor state");
                goto out;
        }
        st->format = (int)json_integer_value(v);
        if (json_integer_value(v) < STATE_FORMAT_MIN || json_integer_value(v) > STATE_FORMAT) {
                snprintf(why, why_size, "state format %lld (written by %s); this binary reads formats %s",
                         (long long)json_integer_value(v), st->writer ? st->writer : "an unknown writer",
                         state_formats_read());
                k = -EPROTONOSUPPORT;
                goto out;
        }
        if (json_is_integer(json_object_get(root, "written")))
                st->written = (usec_t)json_integer_value(json_object_get(root, "written"));
        if ((k = r_declared(&r, json_object_get(root, "fds"))) < 0 ||
            (k = r_options(&r, json_object_get(root, "options"))) < 0)
                goto out;
        if (json_object_get(root, "log_level") &&
            (k = r_int(&r, root, "log_level", LOG_LEVEL_ERROR, LOG_LEVEL_DEBUG, &level)) < 0)
                goto out;
        st->log_level = (int)level;
        st->m = detached_manager();
        if (!st->m) {
                k = -ENOMEM;
                goto out;
        }
        if ((k = r_manager(&r, json_object_get(root, "manager"))) < 0)
                goto out;
        conns = json_object_get(root, "conns");
        if (conns && !json_is_array(conns)) {
                k = rfail(&r, "\"conns\": expected an array");
                goto out;
        }
        r.conn_by_index = calloc(json_array_size(conns) + 1, sizeof(struct conn *));
        r.conn_numbers = calloc(json_array_size(conns) + 1, sizeof(int));
        if (!r.conn_by_index || !r.conn_numbers) {
                k = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i < json_array_size(conns) && k >= 0; i++) {
                snprintf(r.where, sizeof(r.where), "connection %zu", i);
                k = r_conn(&r, st->m, json_array_get(conns, i), i);
        }
        r.where[0] = 0;
        if (k < 0)
                goto out;
        services = json_object_get(root, "services");
        if (!json_is_array(services) || json_array_size(services) > 1000000) {
                k = rfail(&r, "\"services\": expected an array");
                goto out;
        }
        st->timers = calloc(json_array_size(services) + 1, sizeof(*st->timers));
        if (!st->timers) {
                k = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i < json_array_size(services) && k >= 0; i++)
                k = r_service(&r, st->m, json_array_get(services, i), &st->timers[i]);
        r.where[0] = 0;
        if (k >= 0)
                k = check_names(&r, st->m);
        if (k >= 0 && json_object_get(root, "reply"))
                k = r_reply(&r, json_object_get(root, "reply"));
out:
        json_decref(root);
        arena_end(&arena);
        st->t_read_end = now_usec(CLOCK_MONOTONIC);
        free(r.conn_by_index);
        free(r.conn_numbers);
        if (k < 0) {
                if (!why[0])
                        snprintf(why, why_size, "%s", strerror(-k));
                if (!(flags & STATE_READ_KEEP_CLAIMED))
                        saved_state_free(st);
                return k;
        }
        *ret = st;
        return 0;
}
