/* SPDX-License-Identifier: MIT */
/* ExecStart= command lines: systemd's splitting and prefixes, and $VAR substitution. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf-parse.h"
#include "lib/strv.h"
#include "lib/util.h"
#include "unit.h"

/* A growing NULL-terminated argv. */
struct argv_buf {
        char **v;
        size_t n;
};

static int argv_push(struct argv_buf *a, char *s) {
        char **v = realloc(a->v, (a->n + 2) * sizeof(char *));

        if (!v) {
                free(s);
                return -ENOMEM;
        }
        v[a->n++] = s;
        v[a->n] = NULL;
        a->v = v;
        return 0;
}

static int argv_finish(struct argv_buf *a, char ***ret) {
        if (!a->v) {
                a->v = calloc(1, sizeof(char *));
                if (!a->v)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(a->v);
        a->n = 0;
        return 0;
}

static int set_error(char **error_text, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int set_error(char **error_text, const char *fmt, ...) {
        va_list ap;

        if (error_text) {
                free(*error_text);
                va_start(ap, fmt);
                if (vasprintf(error_text, fmt, ap) < 0)
                        *error_text = NULL;
                va_end(ap);
        }
        return -EINVAL;
}

static bool is_space(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

void exec_command_done(struct exec_command *c) {
        if (!c)
                return;
        free(c->path);
        strv_free(c->argv);
        *c = (struct exec_command){ 0 };
}

static int check_path(const char *path, char **error_text) {
        size_t n = strlen(path);
        _cleanup_free_ char *q = NULL;

        if (n == 0)
                return set_error(error_text, "no program after the prefixes");
        if (path[0] == '/' && path[n - 1] != '/')
                return 0;
        if (path[0] != '/' && !strchr(path, '/') && strcmp(path, ".") != 0 &&
            strcmp(path, "..") != 0)
                return 0; /* a plain file name, looked up in $PATH */
        q = conf_quote(path);
        if (!q)
                return -ENOMEM;
        if (path[n - 1] == '/')
                return set_error(error_text, "the program \"%s\" ends with '/', expected a file",
                                 q);
        return set_error(error_text,
                         "the program \"%s\" is neither an absolute path nor a plain file name",
                         q);
}

int exec_command_parse(const char *value, struct exec_command *ret, char **error_text) {
        _cleanup_free_ char *first = NULL, *path = NULL;
        struct argv_buf argv = { 0 };
        bool ignore = false, separate_argv0 = false, no_env = false;
        const char *p = value, *f, *reason = NULL;
        char **v = NULL;
        int r;

        if (!value)
                return -EINVAL;
        for (;;) {
                char *word = NULL;

                while (is_space(*p))
                        p++;
                /* An unquoted lone ';' separated commands in systemd; one command per line
                 * here.  "\;" is the literal argument ";", as in systemd. */
                if (p[0] == ';' && (p[1] == 0 || is_space(p[1]))) {
                        r = set_error(error_text, "a lone ';' is not supported, give one command "
                                                  "per line (\\; is a literal ';' argument)");
                        break;
                }
                if (p[0] == '\\' && p[1] == ';' && (p[2] == 0 || is_space(p[2]))) {
                        p += 2;
                        word = strdup(";");
                        r = word ? 1 : -ENOMEM;
                } else
                        r = conf_extract_word(&p, &word, CONF_WORD_CUNESCAPE, &reason);
                if (r == -EINVAL)
                        r = set_error(error_text, "%s", reason);
                if (r <= 0)
                        break;
                if (!first)
                        first = word;
                else if ((r = argv_push(&argv, word)) < 0)
                        break;
        }
        if (r < 0)
                goto fail;
        if (!first) {
                r = set_error(error_text, "empty command, expected a program and its arguments");
                goto fail;
        }

        /* Prefixes, in any order, each at most once (a second '-' is part of the path). */
        for (f = first;; f++) {
                if (*f == '-' && !ignore)
                        ignore = true;
                else if (*f == '@' && !separate_argv0)
                        separate_argv0 = true;
                else if (*f == ':' && !no_env)
                        no_env = true;
                else if (*f == '+' || *f == '!' || *f == '|') {
                        r = set_error(error_text,
                                      "prefix '%s' is not supported, only '-', '@' and ':' are",
                                      f[0] == '!' && f[1] == '!' ? "!!"
                                      : f[0] == '+'             ? "+"
                                      : f[0] == '!'             ? "!"
                                                                : "|");
                        goto fail;
                } else
                        break;
        }
        r = check_path(f, error_text);
        if (r < 0)
                goto fail;
        path = strdup(f);
        if (!path) {
                r = -ENOMEM;
                goto fail;
        }
        if (separate_argv0) {
                if (argv.n == 0) {
                        r = set_error(error_text, "'@' needs argv[0] after the program");
                        goto fail;
                }
        } else {
                /* argv[0] is the program as written, in front of the other words. */
                char *a0 = strdup(f);

                r = argv_push(&argv, a0);
                if (r < 0)
                        goto fail;
                memmove(argv.v + 1, argv.v, (argv.n - 1) * sizeof(char *));
                argv.v[0] = a0;
        }

        r = argv_finish(&argv, &v);
        if (r < 0)
                goto fail;
        *ret = (struct exec_command){
                .path = TAKE_PTR(path),
                .argv = v,
                .ignore_failure = ignore,
                .no_env_expand = no_env,
        };
        return 0;

fail:
        strv_free(argv.v);
        return r;
}

/* The environment as a sorted array with the winning (last) assignment of each name,
 * so that a command with many ${VAR} against a large environment stays O(n log n). */
struct env_index {
        struct conf_env_entry *e;
        size_t n;
};

static int env_index_build(char *const *env, struct env_index *ret) {
        size_t n = strv_length(env), k = 0;
        struct conf_env_entry *e;

        e = malloc((n ? n : 1) * sizeof(*e));
        if (!e)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const char *eq = strchr(env[i], '=');

                if (eq)
                        e[k++] = (struct conf_env_entry){ env[i], (size_t)(eq - env[i]), i };
        }
        qsort(e, k, sizeof(*e), conf_env_entry_compare);
        n = 0;
        for (size_t i = 0; i < k; i++)
                if (i + 1 == k || e[i + 1].key_len != e[i].key_len ||
                    memcmp(e[i + 1].s, e[i].s, e[i].key_len) != 0)
                        e[n++] = e[i]; /* the last of its run */
        *ret = (struct env_index){ e, n };
        return 0;
}

/* The value of `name` (len bytes), or NULL. */
static const char *env_lookup(const struct env_index *idx, const char *name, size_t len) {
        size_t lo = 0, hi = idx->n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                const struct conf_env_entry *m = &idx->e[mid];
                int c = memcmp(name, m->s, len < m->key_len ? len : m->key_len);

                if (c == 0 && len != m->key_len)
                        c = len < m->key_len ? -1 : 1;
                if (c == 0)
                        return m->s + m->key_len + 1;
                if (c < 0)
                        hi = mid;
                else
                        lo = mid + 1;
        }
        return NULL;
}

static int put(char **s, size_t *len, const char *add, size_t n) {
        char *g = realloc(*s, *len + n + 1);

        if (!g)
                return -ENOMEM;
        memcpy(g + *len, add, n);
        *len += n;
        g[*len] = 0;
        *s = g;
        return 0;
}

/* ${VAR} anywhere, and $$ for '$'; any other '$' stays as it is.  "${A:-x}" (shell's
 * extended forms) is left alone, as systemd does for command lines. */
static int replace_env(const char *word, const struct env_index *env, char **ret) {
        _cleanup_free_ char *out = NULL;
        size_t len = 0;
        const char *s = word;
        int r;

        r = put(&out, &len, "", 0);
        while (r >= 0 && *s) {
                const char *run = s, *end, *v;

                while (*s && *s != '$')
                        s++;
                r = put(&out, &len, run, (size_t)(s - run));
                if (r < 0 || !*s)
                        break;
                if (s[1] == '$') {
                        r = put(&out, &len, "$", 1);
                        s += 2;
                } else if (s[1] == '{') {
                        end = s + 2 + strcspn(s + 2, "}:");
                        if (*end == '}') {
                                v = env_lookup(env, s + 2, (size_t)(end - s - 2));
                                r = v ? put(&out, &len, v, strlen(v)) : 0;
                                s = end + 1;
                        } else if (*end == ':') {
                                r = put(&out, &len, s, (size_t)(end + 1 - s));
                                s = end + 1;
                        } else {
                                r = put(&out, &len, s, strlen(s));
                                s += strlen(s);
                        }
                } else {
                        r = put(&out, &len, "$", 1);
                        s++;
                }
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(out);
        return 0;
}

int exec_command_expand(const struct exec_command *cmd, char *const *env, char ***ret) {
        struct argv_buf out = { 0 };
        struct env_index idx = { 0 };
        int r = 0;

        if (!cmd->no_env_expand)
                r = env_index_build(env, &idx);
        for (size_t i = 0; r >= 0 && cmd->argv && cmd->argv[i]; i++) {
                const char *w = cmd->argv[i], *v, *p;
                char *word = NULL;

                if (cmd->no_env_expand) {
                        word = strdup(w);
                        r = word ? argv_push(&out, word) : -ENOMEM;
                        continue;
                }
                if (w[0] == '$' && conf_env_name_valid(w + 1, strlen(w + 1))) {
                        /* $VAR as a whole word: the value's words, split as systemd does
                         * (quotes group, nothing is an error). */
                        v = env_lookup(&idx, w + 1, strlen(w + 1));
                        for (p = v; p && r >= 0;) {
                                const char *reason;

                                r = conf_extract_word(&p, &word, CONF_WORD_RELAX, &reason);
                                if (r <= 0)
                                        break;
                                r = argv_push(&out, word);
                        }
                        continue;
                }
                r = replace_env(w, &idx, &word);
                if (r >= 0)
                        r = argv_push(&out, word);
        }
        free(idx.e);
        if (r >= 0)
                r = argv_finish(&out, ret);
        strv_free(out.v);
        return r < 0 ? r : 0;
}
