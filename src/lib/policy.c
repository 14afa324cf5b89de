/* SPDX-License-Identifier: MIT */
/* The resolved policy: loading (dispatch to the text parser or the JSON importer), the
 * rule table and its merge semantics, warnings, the dump and the cache key. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy-internal.h"
#include "util.h"

#ifndef PIDVISOR_POLICY_DIR
#define PIDVISOR_POLICY_DIR "/usr/local/share/pidvisor/policy"
#endif

#define MAX_POLICY_FILE (4u << 20)

const char *pv_policy_dir(void) {
        const char *e = getenv("PIDVISOR_POLICY_DIR");

        return e && *e ? e : PIDVISOR_POLICY_DIR;
}

struct pv_policy *policy_new(const char *path) {
        struct pv_policy *p = calloc(1, sizeof(*p));

        if (!p)
                return NULL;
        p->path = strdup(path ? path : "");
        if (!p->path) {
                free(p);
                return NULL;
        }
        p->def.kind = PV_SECCOMP_KILL_PROCESS;
        return p;
}

void pv_policy_free(struct pv_policy *p) {
        if (!p)
                return;
        for (size_t i = 0; i < p->n_rules; i++)
                free(p->rules[i].name);
        free(p->rules);
        for (size_t i = 0; i < p->n_files; i++)
                free(p->files[i]);
        free(p->files);
        for (size_t i = 0; i < p->n_warnings; i++)
                free(p->warnings[i]);
        free(p->warnings);
        free(p->path);
        free(p);
}

const char *policy_intern(struct pv_policy *p, const char *s) {
        char **n, *c;

        for (size_t i = 0; i < p->n_files; i++)
                if (strcmp(p->files[i], s) == 0)
                        return p->files[i];
        n = realloc(p->files, (p->n_files + 1) * sizeof(*n));
        if (!n)
                return NULL;
        p->files = n;
        c = strdup(s);
        if (!c)
                return NULL;
        p->files[p->n_files++] = c;
        return c;
}

int policy_warn(struct pv_policy *p, const struct pv_src *src, const char *fmt, ...) {
        char text[PV_ERROR_MAX], *s = NULL, **n;
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        if (src && src->file && src->entry &&
            asprintf(&s, "%s: syscalls[%u]: %s", src->file, src->line, text) < 0)
                return -ENOMEM;
        if (src && src->file && !src->entry &&
            asprintf(&s, "%s:%u: %s", src->file, src->line, text) < 0)
                return -ENOMEM;
        if (!s && !(s = strdup(text)))
                return -ENOMEM;
        n = realloc(p->warnings, (p->n_warnings + 1) * sizeof(*n));
        if (!n) {
                free(s);
                return -ENOMEM;
        }
        p->warnings = n;
        p->warnings[p->n_warnings++] = s;
        return 0;
}

int policy_error(struct pv_error *err, int code, const struct pv_src *src, const char *fmt, ...) {
        char text[PV_ERROR_MAX];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        if (src && src->file && src->entry)
                return pv_error_setf(err, code, "%s: syscalls[%u]: %s", src->file, src->line,
                                     text);
        if (src && src->file && src->col)
                return pv_error_setf(err, code, "%s:%u:%u: %s", src->file, src->line, src->col,
                                     text);
        if (src && src->file)
                return pv_error_setf(err, code, "%s:%u: %s", src->file, src->line, text);
        return pv_error_setf(err, code, "%s", text);
}

size_t pv_policy_n_warnings(const struct pv_policy *p) {
        return p ? p->n_warnings : 0;
}

const char *pv_policy_warning(const struct pv_policy *p, size_t i) {
        return p && i < p->n_warnings ? p->warnings[i] : NULL;
}

enum pv_seccomp_action pv_policy_default_action(const struct pv_policy *p, int *ret_errno) {
        if (ret_errno)
                *ret_errno = p->def.kind == PV_SECCOMP_ERRNO ? p->def.err : 0;
        return p->def.kind;
}

bool pv_policy_is_allowlist(const struct pv_policy *p) {
        return p->def.kind != PV_SECCOMP_ALLOW && p->def.kind != PV_SECCOMP_LOG;
}

const char *src_name(const struct pv_src *src, char *buf, size_t size) {
        if (!src->file)
                snprintf(buf, size, "?");
        else if (src->entry)
                snprintf(buf, size, "%s syscalls[%u]", src->file, src->line);
        else
                snprintf(buf, size, "%s:%u", src->file, src->line);
        return buf;
}

bool act_equal(const struct pv_act *a, const struct pv_act *b) {
        return a->kind == b->kind && (a->kind != PV_SECCOMP_ERRNO || a->err == b->err);
}

const char *act_name(const struct pv_act *a, char *buf, size_t size) {
        char e[32];

        switch (a->kind) {
        case PV_SECCOMP_KILL_PROCESS:
                return "kill-process";
        case PV_SECCOMP_KILL_THREAD:
                return "kill-thread";
        case PV_SECCOMP_TRAP:
                return "trap";
        case PV_SECCOMP_LOG:
                return "log";
        case PV_SECCOMP_ALLOW:
                return "allow";
        case PV_SECCOMP_ERRNO:
                snprintf(buf, size, "errno %s", policy_errno_name(a->err, e, sizeof(e)));
                return buf;
        }
        return "?";
}

int policy_set_native_arch(struct pv_policy *p) {
        p->arches[0] = seccomp_arch_native();
        p->n_arches = 1;
        p->arch_native = true;
        return 0;
}

static bool conds_equal(const struct pv_rule *a, const struct pv_rule *b) {
        if (a->n_conds != b->n_conds)
                return false;
        for (unsigned i = 0; i < a->n_conds; i++)
                if (a->conds[i].arg != b->conds[i].arg || a->conds[i].op != b->conds[i].op ||
                    a->conds[i].a != b->conds[i].a || a->conds[i].b != b->conds[i].b)
                        return false;
        return true;
}

static void remove_rule(struct pv_policy *p, size_t i) {
        free(p->rules[i].name);
        memmove(&p->rules[i], &p->rules[i + 1], (p->n_rules - i - 1) * sizeof(p->rules[0]));
        p->n_rules--;
}

static void remove_rules_for(struct pv_policy *p, const char *name, bool conditional_only) {
        for (size_t i = p->n_rules; i-- > 0;)
                if (strcmp(p->rules[i].name, name) == 0 &&
                    (!conditional_only || p->rules[i].n_conds > 0))
                        remove_rule(p, i);
}

/* Rules that the files included by r's file set for the syscall: r's file overrides them. */
static void remove_included_rules(struct pv_policy *p, const struct pv_rule *r) {
        for (size_t i = p->n_rules; i-- > 0;)
                if (p->rules[i].owner > r->owner && strcmp(p->rules[i].name, r->name) == 0)
                        remove_rule(p, i);
}

static int append_rule(struct pv_policy *p, const struct pv_rule *r) {
        struct pv_rule *n;

        if (p->n_rules == p->cap_rules) {
                size_t cap = p->cap_rules ? p->cap_rules * 2 : 64;
                n = realloc(p->rules, cap * sizeof(*n));
                if (!n)
                        return -ENOMEM;
                p->rules = n;
                p->cap_rules = cap;
        }
        p->rules[p->n_rules] = *r;
        p->rules[p->n_rules].name = strdup(r->name);
        if (!p->rules[p->n_rules].name)
                return -ENOMEM;
        p->n_rules++;
        return 0;
}

int policy_add_rule(struct pv_policy *p, const struct pv_rule *r, enum policy_merge m,
                    struct pv_error *err) {
        ssize_t uncond = -1;
        char b1[48], b2[48], w[PATH_MAX + 32];

        if (m == MERGE_POLICY)
                remove_included_rules(p, r);
        for (size_t i = 0; i < p->n_rules; i++) {
                const struct pv_rule *o = &p->rules[i];

                if (strcmp(o->name, r->name) != 0)
                        continue;
                if (o->n_conds == 0)
                        uncond = (ssize_t)i;
                else if (r->n_conds > 0 && act_equal(&o->act, &r->act) && conds_equal(o, r))
                        return 0; /* the same rule again */
        }

        if (m == MERGE_JSON) {
                if (r->n_conds == 0) {
                        if (uncond >= 0) {
                                const struct pv_rule *o = &p->rules[uncond];
                                if (act_equal(&o->act, &r->act))
                                        return 0;
                                return policy_error(err, -EINVAL, &r->src,
                                                    "%s: %s here, but %s in %s", r->name,
                                                    act_name(&r->act, b1, sizeof(b1)),
                                                    act_name(&o->act, b2, sizeof(b2)),
                                                    src_name(&o->src, w, sizeof(w)));
                        }
                        /* libseccomp: the unconditional rule makes the others moot */
                        remove_rules_for(p, r->name, true);
                        return append_rule(p, r);
                }
                if (uncond >= 0) {
                        const struct pv_rule *o = &p->rules[uncond];
                        if (!act_equal(&o->act, &r->act))
                                return policy_warn(p, &r->src,
                                                   "%s: conditional %s ignored: the "
                                                   "unconditional %s of %s wins (as in runc "
                                                   "and crun)",
                                                   r->name, act_name(&r->act, b1, sizeof(b1)),
                                                   act_name(&o->act, b2, sizeof(b2)),
                                                   src_name(&o->src, w, sizeof(w)));
                        return 0;
                }
                return append_rule(p, r);
        }

        if (r->n_conds == 0) {
                remove_rules_for(p, r->name, false);
                return append_rule(p, r);
        }
        if (uncond >= 0) {
                const struct pv_rule *o = &p->rules[uncond];
                if (!act_equal(&o->act, &r->act)) {
                        const char *rn = act_name(&r->act, b1, sizeof(b1)),
                                   *on = act_name(&o->act, b2, sizeof(b2));
                        return policy_error(
                                err, -EINVAL, &r->src,
                                "%s: a conditional %s rule cannot follow the unconditional %s "
                                "of %s%s%s: what the conditions do not match would get the "
                                "default action, not %s; write the %s cases as conditions "
                                "instead (e.g. `%s %s(arg0 != ...)`)",
                                r->name, rn, on, src_name(&o->src, w, sizeof(w)),
                                o->via ? " via " : "", o->via ? o->via : "", on, on, on, r->name);
                }
                /* Same action: the conditional rule narrows what was allowed outright. */
                remove_rule(p, (size_t)uncond);
        }
        return append_rule(p, r);
}

static int cond_cmp(const void *x, const void *y) {
        const struct pv_cond *a = x, *b = y;
        return a->arg < b->arg ? -1 : a->arg > b->arg;
}

void policy_sort_conds(struct pv_rule *r) {
        if (r->n_conds > 1)
                qsort(r->conds, r->n_conds, sizeof(r->conds[0]), cond_cmp);
}

static int rule_cmp(const void *x, const void *y) {
        const struct pv_rule *a = x, *b = y;
        int c = strcmp(a->name, b->name);

        if (c)
                return c;
        if (a->src.file != b->src.file)
                return a->src.file && b->src.file ? strcmp(a->src.file, b->src.file) : 0;
        return a->src.line != b->src.line ? (a->src.line < b->src.line ? -1 : 1)
                                          : (a->src.col < b->src.col ? -1 : a->src.col > b->src.col);
}

void policy_sort_rules(struct pv_policy *p) {
        if (p->n_rules > 1)
                qsort(p->rules, p->n_rules, sizeof(p->rules[0]), rule_cmp);
}

static void format_cond(const struct pv_cond *c, char *buf, size_t size) {
        if (c->op == SCMP_CMP_MASKED_EQ)
                snprintf(buf, size, "arg%u & %#llx == %#llx", c->arg, (unsigned long long)c->a,
                         (unsigned long long)c->b);
        else
                snprintf(buf, size, "arg%u %s %#llx", c->arg, policy_cmp_name(c->op),
                         (unsigned long long)c->a);
}

static void format_conds(const struct pv_rule *r, char *buf, size_t size) {
        size_t n = 0;

        buf[0] = 0;
        for (unsigned i = 0; i < r->n_conds && n < size; i++) {
                char c[96];
                format_cond(&r->conds[i], c, sizeof(c));
                n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? " && " : "(", c);
        }
        if (r->n_conds && n < size)
                snprintf(buf + n, size - n, ")");
}

int pv_policy_dump(const struct pv_policy *p, FILE *f) {
        char b[64], conds[640], where[PATH_MAX + 32];

        fprintf(f, "# %s\n", p->path);
        fprintf(f, "default %s", act_name(&p->def, b, sizeof(b)));
        if (p->def_src.file)
                fprintf(f, "    # %s", src_name(&p->def_src, where, sizeof(where)));
        fputc('\n', f);
        fprintf(f, "arch");
        for (size_t i = 0; i < p->n_arches; i++)
                fprintf(f, " %s", policy_arch_name(p->arches[i]));
        fprintf(f, "%s\n", p->arch_native ? "    # native: other ABIs are killed" : "");
        fprintf(f, "ssb %s\n", p->ssb == PV_SSB_ALLOW ? "allow" : "kernel");
        for (size_t i = 0; i < p->n_rules; i++) {
                const struct pv_rule *r = &p->rules[i];
                const char *skip = act_equal(&r->act, &p->def) ? " (= default)" : "";

                format_conds(r, conds, sizeof(conds));
                fprintf(f, "%-14s %s%s    # %s%s%s%s\n", act_name(&r->act, b, sizeof(b)),
                        r->name, conds, src_name(&r->src, where, sizeof(where)),
                        r->via ? " " : "", r->via ? r->via : "", skip);
        }
        return ferror(f) ? -EIO : 0;
}

char *policy_key(const struct pv_policy *p, unsigned flags) {
        char *buf = NULL, b[64], conds[640];
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return NULL;
        fprintf(f, "flags %u json %u\ndefault %s\narch", flags, p->json_flags,
                act_name(&p->def, b, sizeof(b)));
        for (size_t i = 0; i < p->n_arches; i++)
                fprintf(f, " %u", p->arches[i]);
        fprintf(f, "\nssb %d\n", (int)p->ssb);
        for (size_t i = 0; i < p->n_rules; i++) {
                format_conds(&p->rules[i], conds, sizeof(conds));
                fprintf(f, "%s %s%s\n", act_name(&p->rules[i].act, b, sizeof(b)),
                        p->rules[i].name, conds);
        }
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

uint64_t policy_hash_bytes(const void *data, size_t len) {
        const unsigned char *s = data;
        uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

        for (size_t i = 0; i < len; i++) {
                h ^= s[i];
                h *= 0x100000001b3ULL;
        }
        return h;
}

static bool ends_with(const char *s, const char *suffix) {
        size_t a = strlen(s), b = strlen(suffix);
        return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int read_file(const char *path, char **ret, size_t *ret_len, struct pv_error *err) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, cap = 0;
        struct stat st;

        if (fd < 0)
                return pv_error_set(err, negerrno(), "policy \"%s\"", path);
        if (fstat(fd, &st) < 0)
                return pv_error_set(err, negerrno(), "policy \"%s\"", path);
        if (!S_ISREG(st.st_mode))
                return pv_error_setf(err, -EINVAL, "policy \"%s\": not a regular file", path);
        for (;;) {
                ssize_t n;

                if (cap - len < 4096) {
                        char *nb;
                        cap = cap ? cap * 2 : 16384;
                        if (cap > MAX_POLICY_FILE + 4096)
                                return pv_error_setf(err, -EFBIG, "policy \"%s\": larger than %u bytes",
                                                     path, MAX_POLICY_FILE);
                        nb = realloc(buf, cap);
                        if (!nb)
                                return pv_error_set(err, -ENOMEM, "policy \"%s\"", path);
                        buf = nb;
                }
                n = read(fd, buf + len, cap - len - 1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return pv_error_set(err, negerrno(), "policy \"%s\"", path);
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        buf[len] = 0;
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

int pv_policy_parse_string(const char *name, const char *text, size_t len,
                           const struct pv_policy_options *opts, struct pv_policy **ret,
                           struct pv_error *err) {
        struct pv_policy *p = policy_new(name);
        int r;

        if (!p)
                return pv_error_set(err, -ENOMEM, "policy \"%s\"", name);
        if (ends_with(name, ".json"))
                r = policy_parse_json(p, name, text, len, opts, err);
        else
                r = policy_parse_text(p, name, text, len, opts, err);
        if (r < 0) {
                pv_policy_free(p);
                return r;
        }
        policy_sort_rules(p);
        *ret = p;
        return 0;
}

static bool file_exists(const char *path) {
        struct stat st;
        return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int pv_policy_load_opts(const char *path, const struct pv_policy_options *opts,
                        struct pv_policy **ret, struct pv_error *err) {
        const char *dir = opts && opts->dir ? opts->dir : pv_policy_dir();
        _cleanup_free_ char *resolved = NULL, *text = NULL;
        size_t len;
        int r;

        if (!path || !*path)
                return pv_error_setf(err, -EINVAL, "no policy named");
        if (strchr(path, '/') || file_exists(path)) {
                resolved = strdup(path);
        } else {
                if (asprintf(&resolved, "%s/%s.policy", dir, path) < 0)
                        resolved = NULL;
                else if (!file_exists(resolved)) {
                        free(resolved);
                        if (asprintf(&resolved, "%s/%s.json", dir, path) < 0)
                                resolved = NULL;
                        else if (!file_exists(resolved))
                                return pv_error_setf(err, -ENOENT,
                                                     "policy \"%s\": no %s/%s.policy or .json",
                                                     path, dir, path);
                }
        }
        if (!resolved)
                return pv_error_set(err, -ENOMEM, "policy \"%s\"", path);
        r = read_file(resolved, &text, &len, err);
        if (r < 0)
                return r;
        if (memchr(text, 0, len))
                return pv_error_setf(err, -EINVAL, "policy \"%s\": contains a NUL byte", resolved);
        return pv_policy_parse_string(resolved, text, len, opts, ret, err);
}

int pv_policy_load(const char *path, const char *dir, struct pv_policy **ret, struct pv_error *err) {
        struct pv_policy_options o = { .dir = dir };

        return pv_policy_load_opts(path, &o, ret, err);
}

int policy_read_file(const char *path, char **ret, size_t *ret_len, struct pv_error *err) {
        return read_file(path, ret, ret_len, err);
}
