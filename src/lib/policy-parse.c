/* SPDX-License-Identifier: MIT */
/* The policy language (docs/policy.md): a line-oriented lexer and a recursive-descent
 * parser that adds rules to the policy as it reads them, includes inlined where they
 * appear.  Every error names file:line:col. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy-internal.h"
#include "util.h"

enum tok_kind {
        T_EOF,
        T_NL,
        T_WORD,
        T_LPAREN,
        T_RPAREN,
        T_COMMA,
        T_OR,   /* || */
        T_AND,  /* && */
        T_AMP,  /* & */
        T_PIPE, /* | */
        T_EQ,
        T_NE,
        T_LT,
        T_LE,
        T_GT,
        T_GE,
};

struct tok {
        enum tok_kind kind;
        const char *s;
        size_t len;
        unsigned line, col;
};

/* What a file (with what it includes) declares besides rules. */
struct decls {
        bool has_def, def_conflict;
        struct pv_act def;
        struct pv_src def_src, def_src2;
        bool has_arch, arch_conflict, native;
        uint32_t arches[PV_POLICY_MAX_ARCHES];
        size_t n_arches;
        struct pv_src arch_src, arch_src2;
        bool has_ssb, ssb_conflict;
        enum pv_ssb ssb;
        struct pv_src ssb_src, ssb_src2;
};

struct parser {
        struct pv_policy *p;
        const char *dir;
        struct group_set *groups;
        struct pv_error *err;
        char *stack[PV_POLICY_MAX_DEPTH]; /* real paths of the files being read */
        size_t depth;
        unsigned n_files; /* file instances opened so far */
};

struct lexer {
        struct parser *ps;
        const char *file; /* interned */
        char *base;       /* directory for relative includes */
        const char *text;
        size_t len, pos, bol;
        unsigned line;
        unsigned id; /* this file instance (pv_rule.owner) */
        struct tok peeked;
        bool has_peeked;
        struct decls own, inc;
};

static bool word_char(char c) {
        return isalnum((unsigned char)c) || (c && strchr("_@/.+~-:", c));
}

static struct pv_src tok_src(const struct lexer *lx, const struct tok *t) {
        return (struct pv_src){ lx->file, t->line, t->col };
}

static int lex(struct lexer *lx, struct tok *t) {
        for (;;) {
                char c;

                if (lx->pos >= lx->len) {
                        *t = (struct tok){ T_EOF, lx->text + lx->pos, 0, lx->line,
                                           (unsigned)(lx->pos - lx->bol) + 1 };
                        return 0;
                }
                c = lx->text[lx->pos];
                if (c == ' ' || c == '\t' || c == '\r') {
                        lx->pos++;
                        continue;
                }
                if (c == '#') {
                        while (lx->pos < lx->len && lx->text[lx->pos] != '\n')
                                lx->pos++;
                        continue;
                }
                if (c == '\\' && lx->pos + 1 < lx->len && lx->text[lx->pos + 1] == '\n') {
                        lx->pos += 2;
                        lx->line++;
                        lx->bol = lx->pos;
                        continue;
                }
                break;
        }

        const char *s = lx->text + lx->pos;
        size_t rest = lx->len - lx->pos;
        *t = (struct tok){ T_WORD, s, 1, lx->line, (unsigned)(lx->pos - lx->bol) + 1 };

        switch (s[0]) {
        case '\n':
                t->kind = T_NL;
                lx->pos++;
                lx->line++;
                lx->bol = lx->pos;
                return 0;
        case '(':
                t->kind = T_LPAREN;
                break;
        case ')':
                t->kind = T_RPAREN;
                break;
        case ',':
                t->kind = T_COMMA;
                break;
        case '|':
                t->kind = rest > 1 && s[1] == '|' ? T_OR : T_PIPE;
                break;
        case '&':
                t->kind = rest > 1 && s[1] == '&' ? T_AND : T_AMP;
                break;
        case '=':
                if (rest < 2 || s[1] != '=') {
                        struct pv_src src = tok_src(lx, t);
                        return policy_error(lx->ps->err, -EINVAL, &src,
                                            "\"=\" is not an operator (did you mean \"==\"?)");
                }
                t->kind = T_EQ;
                break;
        case '!':
                if (rest < 2 || s[1] != '=') {
                        struct pv_src src = tok_src(lx, t);
                        return policy_error(lx->ps->err, -EINVAL, &src, "expected \"!=\"");
                }
                t->kind = T_NE;
                break;
        case '<':
                t->kind = rest > 1 && s[1] == '=' ? T_LE : T_LT;
                break;
        case '>':
                t->kind = rest > 1 && s[1] == '=' ? T_GE : T_GT;
                break;
        default:
                if (!word_char(s[0])) {
                        struct pv_src src = tok_src(lx, t);
                        if (isprint((unsigned char)s[0]))
                                return policy_error(lx->ps->err, -EINVAL, &src,
                                                    "unexpected character '%c'", s[0]);
                        return policy_error(lx->ps->err, -EINVAL, &src,
                                            "unexpected byte 0x%02x", (unsigned char)s[0]);
                }
                while (t->len < rest && word_char(s[t->len]))
                        t->len++;
                lx->pos += t->len;
                return 0;
        }
        if (t->kind == T_OR || t->kind == T_AND || t->kind == T_EQ || t->kind == T_NE ||
            t->kind == T_LE || t->kind == T_GE)
                t->len = 2;
        lx->pos += t->len;
        return 0;
}

static int next(struct lexer *lx, struct tok *t) {
        if (lx->has_peeked) {
                *t = lx->peeked;
                lx->has_peeked = false;
                return 0;
        }
        return lex(lx, t);
}

static int peek(struct lexer *lx, struct tok *t) {
        int r;

        if (!lx->has_peeked) {
                r = lex(lx, &lx->peeked);
                if (r < 0)
                        return r;
                lx->has_peeked = true;
        }
        *t = lx->peeked;
        return 0;
}

/* Next token, skipping newlines (inside parentheses, after a comma or an operator). */
static int next_skip_nl(struct lexer *lx, struct tok *t) {
        int r;

        do
                r = next(lx, t);
        while (r == 0 && t->kind == T_NL);
        return r;
}

static int peek_skip_nl(struct lexer *lx, struct tok *t) {
        int r;

        for (;;) {
                r = peek(lx, t);
                if (r < 0 || t->kind != T_NL)
                        return r;
                lx->has_peeked = false;
        }
}

static bool tok_is(const struct tok *t, const char *w) {
        return t->kind == T_WORD && strlen(w) == t->len && memcmp(t->s, w, t->len) == 0;
}

static const char *tok_desc(const struct tok *t, char *buf, size_t size) {
        if (t->kind == T_EOF)
                return "end of file";
        if (t->kind == T_NL)
                return "end of line";
        snprintf(buf, size, "\"%.*s\"", (int)(t->len > 40 ? 40 : t->len), t->s);
        return buf;
}

static int err_at(struct lexer *lx, const struct tok *t, int code, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static int err_at(struct lexer *lx, const struct tok *t, int code, const char *fmt, ...) {
        struct pv_src src = tok_src(lx, t);
        char text[PV_ERROR_MAX];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        return policy_error(lx->ps->err, code, &src, "%s", text);
}

static int expect_end(struct lexer *lx) {
        struct tok t;
        char b[64];
        int r = next(lx, &t);

        if (r < 0)
                return r;
        if (t.kind != T_NL && t.kind != T_EOF)
                return err_at(lx, &t, -EINVAL, "expected end of line, found %s",
                              tok_desc(&t, b, sizeof(b)));
        return 0;
}

static int tok_string(struct lexer *lx, const struct tok *t, char *buf, size_t size) {
        if (t->len >= size)
                return err_at(lx, t, -EINVAL, "\"%.*s...\" is too long", 20, t->s);
        memcpy(buf, t->s, t->len);
        buf[t->len] = 0;
        return 0;
}

/* An action keyword and, for errno, its errno name. */
static int parse_action(struct lexer *lx, const struct tok *kw, struct pv_act *ret) {
        struct tok t;
        char name[64];
        int r, e;

        if (tok_is(kw, "allow"))
                *ret = (struct pv_act){ PV_SECCOMP_ALLOW, 0 };
        else if (tok_is(kw, "log"))
                *ret = (struct pv_act){ PV_SECCOMP_LOG, 0 };
        else if (tok_is(kw, "kill") || tok_is(kw, "kill-process"))
                *ret = (struct pv_act){ PV_SECCOMP_KILL_PROCESS, 0 };
        else if (tok_is(kw, "kill-thread"))
                *ret = (struct pv_act){ PV_SECCOMP_KILL_THREAD, 0 };
        else if (tok_is(kw, "trap"))
                *ret = (struct pv_act){ PV_SECCOMP_TRAP, 0 };
        else if (tok_is(kw, "errno")) {
                r = next(lx, &t);
                if (r < 0)
                        return r;
                if (t.kind != T_WORD)
                        return err_at(lx, &t, -EINVAL, "errno needs an errno name, e.g. EPERM");
                r = tok_string(lx, &t, name, sizeof(name));
                if (r < 0)
                        return r;
                e = policy_errno_from_name(name);
                if (e < 0)
                        return err_at(lx, &t, -EINVAL, "unknown errno name \"%s\"", name);
                *ret = (struct pv_act){ PV_SECCOMP_ERRNO, e };
        } else
                return -ENOENT;
        return 0;
}

static int parse_number(struct lexer *lx, const struct tok *t, uint64_t *ret) {
        char buf[80], *end;
        unsigned long long v;

        if (t->kind != T_WORD)
                return err_at(lx, t, -EINVAL, "expected a number or a constant");
        int r = tok_string(lx, t, buf, sizeof(buf));
        if (r < 0)
                return r;
        if (isdigit((unsigned char)buf[0])) {
                errno = 0;
                v = strtoull(buf, &end, 0);
                if (*end || errno == ERANGE)
                        return err_at(lx, t, -EINVAL, "invalid number \"%s\"", buf);
                *ret = v;
                return 0;
        }
        if (buf[0] == '-')
                return err_at(lx, t, -EINVAL,
                              "negative numbers are not supported: write the value the "
                              "kernel sees, in hex (e.g. 0xffffffff)");
        if (policy_const_lookup(buf, ret) < 0)
                return err_at(lx, t, -EINVAL, "unknown constant \"%s\" (see docs/policy.md)", buf);
        return 0;
}

/* value := term ('|' term)* */
static int parse_value(struct lexer *lx, uint64_t *ret) {
        struct tok t;
        uint64_t v = 0, x;
        int r;

        for (;;) {
                r = next_skip_nl(lx, &t);
                if (r < 0)
                        return r;
                r = parse_number(lx, &t, &x);
                if (r < 0)
                        return r;
                v |= x;
                r = peek_skip_nl(lx, &t);
                if (r < 0)
                        return r;
                if (t.kind != T_PIPE)
                        break;
                lx->has_peeked = false;
        }
        *ret = v;
        return 0;
}

/* cmp := argN OP value | argN '&' value '==' value */
static int parse_cmp(struct lexer *lx, struct pv_cond *c, struct tok *at) {
        struct tok t;
        char b[64];
        int r;

        r = next_skip_nl(lx, &t);
        if (r < 0)
                return r;
        *at = t;
        if (t.kind != T_WORD || t.len != 4 || memcmp(t.s, "arg", 3) != 0 || t.s[3] < '0' ||
            t.s[3] > '5')
                return err_at(lx, &t, -EINVAL, "expected arg0 ... arg5, found %s",
                              tok_desc(&t, b, sizeof(b)));
        c->arg = (unsigned)(t.s[3] - '0');
        r = next_skip_nl(lx, &t);
        if (r < 0)
                return r;
        switch (t.kind) {
        case T_AMP: {
                struct tok eq;
                r = parse_value(lx, &c->a);
                if (r < 0)
                        return r;
                r = next_skip_nl(lx, &eq);
                if (r < 0)
                        return r;
                if (eq.kind != T_EQ)
                        return err_at(lx, &eq, -EINVAL,
                                      "a mask compares with == only (arg & MASK == VALUE, "
                                      "libseccomp's SCMP_CMP_MASKED_EQ), found %s",
                                      tok_desc(&eq, b, sizeof(b)));
                r = parse_value(lx, &c->b);
                if (r < 0)
                        return r;
                if (c->b & ~c->a)
                        return err_at(lx, &eq, -EINVAL,
                                      "value %#llx has bits outside the mask %#llx: the "
                                      "comparison could never match",
                                      (unsigned long long)c->b, (unsigned long long)c->a);
                c->op = SCMP_CMP_MASKED_EQ;
                return 0;
        }
        case T_EQ:
                c->op = SCMP_CMP_EQ;
                break;
        case T_NE:
                c->op = SCMP_CMP_NE;
                break;
        case T_LT:
                c->op = SCMP_CMP_LT;
                break;
        case T_LE:
                c->op = SCMP_CMP_LE;
                break;
        case T_GT:
                c->op = SCMP_CMP_GT;
                break;
        case T_GE:
                c->op = SCMP_CMP_GE;
                break;
        case T_EOF:
        case T_NL:
        case T_WORD:
        case T_LPAREN:
        case T_RPAREN:
        case T_COMMA:
        case T_OR:
        case T_AND:
        case T_PIPE:
        default:
                return err_at(lx, &t, -EINVAL,
                              "expected a comparison (== != < <= > >= or & MASK ==), found %s",
                              tok_desc(&t, b, sizeof(b)));
        }
        c->b = 0;
        return parse_value(lx, &c->a);
}

/* Inside the parentheses: alternatives separated by ||, each conditions joined by &&.
 * Each alternative becomes one rule (template copied). */
static int parse_conditions(struct lexer *lx, struct pv_rule *tmpl, struct pv_rule **ret,
                            size_t *ret_n) {
        _cleanup_free_ struct pv_rule *alts = NULL;
        size_t n = 0;
        struct tok t;
        char b[64];
        int r;

        for (;;) {
                struct pv_rule *na = realloc(alts, (n + 1) * sizeof(*na));
                struct pv_rule *cur;

                if (!na)
                        return pv_error_set(lx->ps->err, -ENOMEM, "%s", lx->file);
                alts = na;
                cur = &alts[n++];
                *cur = *tmpl;
                cur->n_conds = 0;
                for (;;) {
                        struct pv_cond c;
                        struct tok at;

                        r = parse_cmp(lx, &c, &at);
                        if (r < 0)
                                return r;
                        for (unsigned i = 0; i < cur->n_conds; i++)
                                if (cur->conds[i].arg == c.arg)
                                        return err_at(lx, &at, -EINVAL,
                                                      "a second comparison of arg%u in one "
                                                      "rule: libseccomp 2.5 allows one per "
                                                      "argument (split it with ||, or use a "
                                                      "mask)",
                                                      c.arg);
                        cur->conds[cur->n_conds++] = c;
                        r = next_skip_nl(lx, &t);
                        if (r < 0)
                                return r;
                        if (t.kind != T_AND)
                                break;
                }
                policy_sort_conds(cur);
                if (t.kind == T_OR)
                        continue;
                if (t.kind == T_RPAREN)
                        break;
                return err_at(lx, &t, -EINVAL, "expected &&, || or \")\", found %s",
                              tok_desc(&t, b, sizeof(b)));
        }
        *ret = TAKE_PTR(alts);
        *ret_n = n;
        return 0;
}

static int add(struct lexer *lx, const struct pv_rule *r) {
        return policy_add_rule(lx->ps->p, r, MERGE_POLICY, lx->ps->err);
}

/* The syscall list of a rule: names and @groups, comma or white space separated; a
 * trailing comma continues the list on the next line. */
static int parse_rule(struct lexer *lx, const struct pv_act *act) {
        struct tok t;
        char name[128], b[64];
        int r;

        r = next(lx, &t);
        if (r < 0)
                return r;
        if (t.kind != T_WORD)
                return err_at(lx, &t, -EINVAL, "expected a system call or @group, found %s",
                              tok_desc(&t, b, sizeof(b)));
        for (;;) {
                struct pv_rule tmpl = { .act = *act, .src = tok_src(lx, &t), .owner = lx->id };
                struct tok after;

                r = tok_string(lx, &t, name, sizeof(name));
                if (r < 0)
                        return r;
                r = peek(lx, &after);
                if (r < 0)
                        return r;
                if (name[0] == '@') {
                        const struct pv_group_member *m = NULL;
                        size_t n = 0;

                        if (after.kind == T_LPAREN)
                                return err_at(lx, &after, -EINVAL,
                                              "conditions apply to one system call, not to a "
                                              "group");
                        r = group_lookup(&lx->ps->groups, lx->ps->p, lx->ps->dir, name + 1,
                                         &tmpl.src, &m, &n, lx->ps->err);
                        if (r < 0)
                                return r;
                        tmpl.via = policy_intern(lx->ps->p, name);
                        if (!tmpl.via)
                                return pv_error_set(lx->ps->err, -ENOMEM, "%s", lx->file);
                        for (size_t i = 0; i < n; i++) {
                                tmpl.name = (char *)m[i].name;
                                if ((r = add(lx, &tmpl)) < 0)
                                        return r;
                        }
                } else {
                        if (!policy_syscall_known(name))
                                return err_at(lx, &t, -EINVAL,
                                              "unknown system call \"%s\" (libseccomp %u.%u.%u "
                                              "does not know it)",
                                              name, seccomp_version()->major,
                                              seccomp_version()->minor, seccomp_version()->micro);
                        tmpl.name = name;
                        if (after.kind == T_LPAREN) {
                                _cleanup_free_ struct pv_rule *alts = NULL;
                                size_t n = 0;

                                lx->has_peeked = false;
                                r = parse_conditions(lx, &tmpl, &alts, &n);
                                if (r < 0)
                                        return r;
                                for (size_t i = 0; i < n; i++)
                                        if ((r = add(lx, &alts[i])) < 0)
                                                return r;
                        } else if ((r = add(lx, &tmpl)) < 0)
                                return r;
                }

                r = next(lx, &t);
                if (r < 0)
                        return r;
                if (t.kind == T_COMMA) {
                        r = next_skip_nl(lx, &t);
                        if (r < 0)
                                return r;
                }
                if (t.kind == T_NL || t.kind == T_EOF)
                        return 0;
                if (t.kind != T_WORD)
                        return err_at(lx, &t, -EINVAL,
                                      "expected a system call, @group, \",\" or end of line, "
                                      "found %s",
                                      tok_desc(&t, b, sizeof(b)));
        }
}

static int parse_arch(struct lexer *lx, const struct tok *kw) {
        struct decls *d = &lx->own;
        struct tok t;
        char name[32], b[64];
        int r;

        if (d->has_arch)
                return err_at(lx, kw, -EINVAL, "a second arch line (the first is line %u)",
                              d->arch_src.line);
        d->has_arch = true;
        d->arch_src = tok_src(lx, kw);
        d->n_arches = 0;
        d->native = false;
        for (;;) {
                uint32_t a;

                r = next(lx, &t);
                if (r < 0)
                        return r;
                if (t.kind == T_NL || t.kind == T_EOF)
                        break;
                if (t.kind == T_COMMA)
                        continue;
                if (t.kind != T_WORD)
                        return err_at(lx, &t, -EINVAL, "expected an architecture, found %s",
                                      tok_desc(&t, b, sizeof(b)));
                r = tok_string(lx, &t, name, sizeof(name));
                if (r < 0)
                        return r;
                if (strcmp(name, "native") == 0)
                        a = seccomp_arch_native();
                else if (policy_arch_from_name(name, &a) < 0)
                        return err_at(lx, &t, -EINVAL, "unknown architecture \"%s\"", name);
                if (strcmp(name, "native") == 0 && d->n_arches == 0)
                        d->native = true;
                else
                        d->native = false;
                bool dup = false;
                for (size_t i = 0; i < d->n_arches; i++)
                        dup = dup || d->arches[i] == a;
                if (dup)
                        continue;
                if (d->n_arches == PV_POLICY_MAX_ARCHES)
                        return err_at(lx, &t, -EINVAL, "too many architectures");
                d->arches[d->n_arches++] = a;
        }
        if (d->n_arches == 0)
                return err_at(lx, kw, -EINVAL, "arch needs \"native\" or a list of architectures");
        if (d->native && d->n_arches > 1)
                d->native = false;
        return 0;
}

static int parse_file(struct parser *ps, const char *path, const char *display, const char *text,
                      size_t len, struct decls *ret);

/* `include NAME`: NAME.policy in the policy directory; a name with a '/' is a path,
 * relative to the including file's directory. */
static int parse_include(struct lexer *lx, const struct tok *kw) {
        struct parser *ps = lx->ps;
        _cleanup_free_ char *path = NULL, *real = NULL, *text = NULL;
        struct decls d = { 0 };
        struct pv_error sub;
        char name[PATH_MAX], b[64];
        struct tok t;
        size_t len;
        int r;

        r = next(lx, &t);
        if (r < 0)
                return r;
        if (t.kind != T_WORD)
                return err_at(lx, &t, -EINVAL, "include needs a policy name or path, found %s",
                              tok_desc(&t, b, sizeof(b)));
        r = tok_string(lx, &t, name, sizeof(name));
        if (r < 0)
                return r;
        r = expect_end(lx);
        if (r < 0)
                return r;
        if (strchr(name, '/')) {
                if (name[0] == '/')
                        path = strdup(name);
                else if (asprintf(&path, "%s/%s", lx->base, name) < 0)
                        path = NULL;
        } else if (asprintf(&path, "%s/%s.policy", ps->dir, name) < 0)
                path = NULL;
        if (!path)
                return pv_error_set(ps->err, -ENOMEM, "%s", lx->file);
        real = realpath(path, NULL);
        if (!real)
                return err_at(lx, &t, negerrno(), "include \"%s\": %s: %s", name, path,
                              strerror(errno));
        for (size_t i = 0; i < ps->depth; i++)
                if (strcmp(ps->stack[i], real) == 0)
                        return err_at(lx, &t, -ELOOP, "include cycle: \"%s\" is already being read",
                                      path);
        if (ps->depth >= PV_POLICY_MAX_DEPTH)
                return err_at(lx, &t, -ELOOP, "includes nested too deep");
        if (strlen(path) > 5 && strcmp(path + strlen(path) - 5, ".json") == 0)
                return err_at(lx, &t, -EINVAL, "cannot include a JSON profile");
        r = policy_read_file(real, &text, &len, &sub);
        if (r < 0)
                return err_at(lx, &t, r, "include: %s", sub.message);
        if (memchr(text, 0, len))
                return err_at(lx, &t, -EINVAL, "include \"%s\": contains a NUL byte", path);

        ps->stack[ps->depth++] = TAKE_PTR(real);
        r = parse_file(ps, ps->stack[ps->depth - 1], path, text, len, &d);
        free(ps->stack[--ps->depth]);
        if (r < 0)
                return r;

        /* Sibling includes must agree on what the including file does not state itself. */
        struct decls *inc = &lx->inc;
        if (d.has_def) {
                if (inc->has_def && !act_equal(&inc->def, &d.def) && !inc->def_conflict) {
                        inc->def_conflict = true;
                        inc->def_src2 = d.def_src;
                } else if (!inc->has_def) {
                        inc->has_def = true;
                        inc->def = d.def;
                        inc->def_src = d.def_src;
                }
        }
        if (d.has_arch) {
                bool same = inc->n_arches == d.n_arches &&
                            memcmp(inc->arches, d.arches, d.n_arches * sizeof(d.arches[0])) == 0;
                if (inc->has_arch && !same && !inc->arch_conflict) {
                        inc->arch_conflict = true;
                        inc->arch_src2 = d.arch_src;
                } else if (!inc->has_arch) {
                        inc->has_arch = true;
                        inc->native = d.native;
                        inc->n_arches = d.n_arches;
                        memcpy(inc->arches, d.arches, sizeof(d.arches));
                        inc->arch_src = d.arch_src;
                }
        }
        if (d.has_ssb) {
                if (inc->has_ssb && inc->ssb != d.ssb && !inc->ssb_conflict) {
                        inc->ssb_conflict = true;
                        inc->ssb_src2 = d.ssb_src;
                } else if (!inc->has_ssb) {
                        inc->has_ssb = true;
                        inc->ssb = d.ssb;
                        inc->ssb_src = d.ssb_src;
                }
        }
        return 0;
}

static int parse_statement(struct lexer *lx, const struct tok *kw) {
        struct decls *d = &lx->own;
        struct pv_act act;
        struct tok t;
        char b[64];
        int r;

        if (tok_is(kw, "default")) {
                struct tok a;
                if (d->has_def)
                        return err_at(lx, kw, -EINVAL,
                                      "a second default (the first is line %u)", d->def_src.line);
                r = next(lx, &a);
                if (r < 0)
                        return r;
                r = a.kind == T_WORD ? parse_action(lx, &a, &act) : -ENOENT;
                if (r == -ENOENT)
                        return err_at(lx, &a, -EINVAL,
                                      "default needs kill-process, kill-thread, errno NAME, "
                                      "trap, log or allow, found %s",
                                      tok_desc(&a, b, sizeof(b)));
                if (r < 0)
                        return r;
                d->has_def = true;
                d->def = act;
                d->def_src = tok_src(lx, kw);
                return expect_end(lx);
        }
        if (tok_is(kw, "include"))
                return parse_include(lx, kw);
        if (tok_is(kw, "arch"))
                return parse_arch(lx, kw);
        if (tok_is(kw, "ssb")) {
                if (d->has_ssb)
                        return err_at(lx, kw, -EINVAL, "a second ssb line (the first is line %u)",
                                      d->ssb_src.line);
                r = next(lx, &t);
                if (r < 0)
                        return r;
                if (tok_is(&t, "kernel"))
                        d->ssb = PV_SSB_KERNEL;
                else if (tok_is(&t, "allow"))
                        d->ssb = PV_SSB_ALLOW;
                else
                        return err_at(lx, &t, -EINVAL, "ssb takes \"kernel\" or \"allow\", found %s",
                                      tok_desc(&t, b, sizeof(b)));
                d->has_ssb = true;
                d->ssb_src = tok_src(lx, kw);
                return expect_end(lx);
        }
        r = parse_action(lx, kw, &act);
        if (r == -ENOENT)
                return err_at(lx, kw, -EINVAL,
                              "unknown keyword %s (expected default, include, arch, ssb, allow, "
                              "log, kill, kill-process, kill-thread, trap or errno)",
                              tok_desc(kw, b, sizeof(b)));
        if (r < 0)
                return r;
        return parse_rule(lx, &act);
}

static int conflict(struct parser *ps, const char *what, const struct pv_src *a,
                    const struct pv_src *b, const char *file) {
        struct pv_src here = { file, 1, 0 };
        return policy_error(ps->err, -EINVAL, &here,
                            "the included files disagree on %s (%s:%u and %s:%u): state it in "
                            "this file",
                            what, a->file, a->line, b->file, b->line);
}

static int parse_file(struct parser *ps, const char *real, const char *display, const char *text,
                      size_t len, struct decls *ret) {
        struct lexer lx = { .ps = ps, .text = text, .len = len, .line = 1, .id = ++ps->n_files };
        _cleanup_free_ char *base = NULL;
        const char *slash;
        int r;

        lx.file = policy_intern(ps->p, display);
        slash = strrchr(real, '/');
        base = slash ? strndup(real, (size_t)(slash - real)) : strdup(".");
        if (!lx.file || !base)
                return pv_error_set(ps->err, -ENOMEM, "%s", display);
        if (!*base) {
                free(base);
                base = strdup("/");
                if (!base)
                        return pv_error_set(ps->err, -ENOMEM, "%s", display);
        }
        lx.base = base;

        for (;;) {
                struct tok t;

                r = next(&lx, &t);
                if (r < 0)
                        return r;
                if (t.kind == T_EOF)
                        break;
                if (t.kind == T_NL)
                        continue;
                if (t.kind != T_WORD) {
                        char b[64];
                        return err_at(&lx, &t, -EINVAL, "expected a statement, found %s",
                                      tok_desc(&t, b, sizeof(b)));
                }
                r = parse_statement(&lx, &t);
                if (r < 0)
                        return r;
        }

        /* What this file states wins over what its includes state. */
        *ret = lx.own;
        if (!lx.own.has_def && lx.inc.has_def) {
                if (lx.inc.def_conflict)
                        return conflict(ps, "the default action", &lx.inc.def_src,
                                        &lx.inc.def_src2, lx.file);
                ret->has_def = true;
                ret->def = lx.inc.def;
                ret->def_src = lx.inc.def_src;
        }
        if (!lx.own.has_arch && lx.inc.has_arch) {
                if (lx.inc.arch_conflict)
                        return conflict(ps, "arch", &lx.inc.arch_src, &lx.inc.arch_src2, lx.file);
                ret->has_arch = true;
                ret->native = lx.inc.native;
                ret->n_arches = lx.inc.n_arches;
                memcpy(ret->arches, lx.inc.arches, sizeof(ret->arches));
                ret->arch_src = lx.inc.arch_src;
        }
        if (!lx.own.has_ssb && lx.inc.has_ssb) {
                if (lx.inc.ssb_conflict)
                        return conflict(ps, "ssb", &lx.inc.ssb_src, &lx.inc.ssb_src2, lx.file);
                ret->has_ssb = true;
                ret->ssb = lx.inc.ssb;
                ret->ssb_src = lx.inc.ssb_src;
        }
        return 0;
}

int policy_parse_text(struct pv_policy *p, const char *file, const char *text, size_t len,
                      const struct pv_policy_options *opts, struct pv_error *err) {
        struct parser ps = {
                .p = p,
                .dir = opts && opts->dir ? opts->dir : pv_policy_dir(),
                .err = err,
        };
        struct decls d = { 0 };
        char *real;
        int r;

        /* The root file is on the include stack too, so that including it is a cycle. */
        real = realpath(file, NULL);
        if (!real)
                real = strdup(file);
        if (!real)
                return pv_error_set(err, -ENOMEM, "%s", file);
        ps.stack[ps.depth++] = real;
        r = parse_file(&ps, real, file, text, len, &d);
        free(ps.stack[0]);
        group_set_free(ps.groups);
        if (r < 0)
                return r;

        if (!d.has_def) {
                struct pv_src src = { policy_intern(p, file), 1, 0 };
                return policy_error(err, -EINVAL, &src,
                                    "no default action: add a line such as `default "
                                    "kill-process` or `default errno EPERM`");
        }
        p->def = d.def;
        p->def_src = d.def_src;
        if (d.has_arch) {
                memcpy(p->arches, d.arches, sizeof(p->arches));
                p->n_arches = d.n_arches;
                p->arch_native = d.native;
        } else
                policy_set_native_arch(p);
        p->ssb = d.has_ssb ? d.ssb : PV_SSB_KERNEL;
        return 0;
}
