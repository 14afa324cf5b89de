/* SPDX-License-Identifier: MIT */
/* The ini layer of unit files (systemd.syntax(7)), the word splitter of systemd's
 * extract_first_word(), and the diagnostics list. */
#include "conf-parse.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

/* ---- diagnostics ---------------------------------------------------------------------- */

static int diagnostics_push(struct diagnostics *d, bool error, char *text) {
        /* One realloc per item: the struct has no capacity field, so any code that appends
         * to a list (ours or a caller's) must be able to do the same. */
        struct diagnostic *items = realloc(d->items, (d->n + 1) * sizeof(*items));

        if (!items)
                return -ENOMEM;
        d->items = items;
        d->items[d->n++] = (struct diagnostic){ .error = error, .text = text };
        if (error)
                d->n_errors++;
        return 0;
}

int diagnostics_add(struct diagnostics *d, bool error, const char *fmt, ...) {
        char *text;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&text, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        r = diagnostics_push(d, error, text);
        if (r < 0)
                free(text);
        return r;
}

int diagnostics_move(struct diagnostics *to, struct diagnostics *from) {
        size_t i;
        int r = 0;

        for (i = 0; i < from->n; i++) {
                if (to) {
                        r = diagnostics_push(to, from->items[i].error, from->items[i].text);
                        if (r < 0)
                                break;
                } else
                        free(from->items[i].text);
        }
        if (r < 0) {
                /* Keep the rest in `from`, in order. */
                memmove(from->items, from->items + i, (from->n - i) * sizeof(*from->items));
                from->n -= i;
                from->n_errors = 0;
                for (size_t j = 0; j < from->n; j++)
                        from->n_errors += from->items[j].error;
                return r;
        }
        free(from->items);
        *from = (struct diagnostics){ 0 };
        return 0;
}

void diagnostics_done(struct diagnostics *d) {
        if (!d)
                return;
        for (size_t i = 0; i < d->n; i++)
                free(d->items[i].text);
        free(d->items);
        *d = (struct diagnostics){ 0 };
}

#define QUOTE_MAX 200

char *conf_quote(const char *value) {
        size_t n = strlen(value), o = 0;
        char *out = malloc(QUOTE_MAX * 4 + 4); /* every byte may become \xNN */

        if (!out)
                return NULL;
        for (size_t i = 0; i < n && i < QUOTE_MAX; i++) {
                unsigned char c = (unsigned char)value[i];

                if (c == '\n') {
                        out[o++] = '\\';
                        out[o++] = 'n';
                } else if (c == '\t') {
                        out[o++] = '\\';
                        out[o++] = 't';
                } else if (c < 0x20 || c == 0x7f)
                        o += (size_t)sprintf(out + o, "\\x%02x", c);
                else
                        out[o++] = (char)c;
        }
        if (n > QUOTE_MAX)
                o += (size_t)sprintf(out + o, "...");
        out[o] = 0;
        return out;
}

/* ---- ini reader ----------------------------------------------------------------------- */

static bool is_space(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static char *strip(char *s) {
        size_t n;

        while (is_space(*s))
                s++;
        n = strlen(s);
        while (n > 0 && is_space(s[n - 1]))
                s[--n] = 0;
        return s;
}

struct reader {
        const char *path;
        const char *const *sections;
        conf_assign_fn assign;
        void *userdata;
        struct diagnostics *diag;
        char *section;        /* current known section, NULL before the first one */
        bool section_ignored; /* inside an unknown section: skip its keys */
};

static bool section_valid(const char *s) {
        if (!*s)
                return false;
        for (; *s; s++)
                if ((unsigned char)*s < 0x20 || *s == 0x7f || *s == '[' || *s == ']')
                        return false;
        return true;
}

static int reader_section(struct reader *rd, unsigned line, char *l) {
        size_t n = strlen(l);
        _cleanup_free_ char *q = NULL;
        const char *name;
        bool valid = n >= 2 && l[n - 1] == ']';

        if (valid) {
                l[n - 1] = 0;
                valid = section_valid(l + 1);
                l[n - 1] = ']';
        }
        if (!valid) {
                /* Keys under a broken header are skipped: the error is enough. */
                free(rd->section);
                rd->section = NULL;
                rd->section_ignored = true;
                q = conf_quote(l);
                if (!q)
                        return -ENOMEM;
                return diagnostics_add(rd->diag, true,
                                       "%s:%u: invalid section header \"%s\" (expected [Name], the "
                                       "name without brackets or control characters)",
                                       rd->path, line, q);
        }
        l[n - 1] = 0;
        name = l + 1;
        free(rd->section);
        rd->section = NULL;
        rd->section_ignored = false;
        for (const char *const *s = rd->sections; *s; s++)
                if (strcmp(*s, name) == 0) {
                        rd->section = strdup(name);
                        return rd->section ? 0 : -ENOMEM;
                }
        rd->section_ignored = true;
        if (strncmp(name, "X-", 2) == 0)
                return 0;
        q = conf_quote(name);
        if (!q)
                return -ENOMEM;
        return diagnostics_add(rd->diag, false, "%s:%u: Unknown section [%s], ignoring",
                               rd->path, line, q);
}

static int reader_line(struct reader *rd, unsigned line, char *l) {
        _cleanup_free_ char *q = NULL;
        char *eq;

        l = strip(l);
        if (!*l)
                return 0;
        if (*l == '[')
                return reader_section(rd, line, l);
        if (rd->section_ignored)
                return 0;

        eq = strchr(l, '=');
        if (!rd->section || !eq || eq == l) {
                q = conf_quote(l);
                if (!q)
                        return -ENOMEM;
        }
        if (!rd->section)
                return diagnostics_add(rd->diag, true,
                                       "%s:%u: \"%s\" is outside of any section (expected a "
                                       "[Section] header first)",
                                       rd->path, line, q);
        if (!eq)
                return diagnostics_add(rd->diag, true,
                                       "%s:%u: invalid line \"%s\" (expected Key=Value, a "
                                       "[Section] header, or a comment starting with # or ;)",
                                       rd->path, line, q);
        if (eq == l)
                return diagnostics_add(rd->diag, true,
                                       "%s:%u: invalid line \"%s\" (expected a key name "
                                       "before '=')",
                                       rd->path, line, q);
        *eq = 0;
        return rd->assign(rd->userdata, line, rd->section, strip(l), strip(eq + 1));
}

int conf_parse(const char *path, const char *text, size_t len, const char *const *sections,
               conf_assign_fn assign, void *userdata, struct diagnostics *diag) {
        struct reader rd = {
                .path = path,
                .sections = sections,
                .assign = assign,
                .userdata = userdata,
                .diag = diag,
        };
        _cleanup_free_ char *buf = NULL; /* the logical line being assembled */
        size_t buf_len = 0, buf_cap = 0, pos = 0;
        unsigned line = 0, start_line = 0;
        int r = 0;

        while (pos < len && r >= 0) {
                const char *raw = text + pos, *nl = memchr(raw, '\n', len - pos);
                size_t n = nl ? (size_t)(nl - raw) : len - pos;
                const char *first;
                bool escaped = false;

                pos += n + 1;
                line++;
                if (n > 0 && raw[n - 1] == '\r')
                        n--;
                if (memchr(raw, 0, n)) {
                        r = diagnostics_add(diag, true, "%s:%u: the line contains a NUL byte",
                                            path, line);
                        continue;
                }
                if (line == 1 && n >= 3 && memcmp(raw, "\xef\xbb\xbf", 3) == 0) {
                        raw += 3; /* a UTF-8 byte order mark */
                        n -= 3;
                }

                /* Comment lines are skipped even inside a continuation. */
                first = raw;
                while (first < raw + n && is_space(*first))
                        first++;
                if (first < raw + n && (*first == '#' || *first == ';'))
                        continue;

                if (buf_len == 0)
                        start_line = line;
                if (buf_len + n + 1 > buf_cap) {
                        size_t cap = buf_cap ? buf_cap : 256;
                        char *p;

                        while (cap < buf_len + n + 1)
                                cap *= 2;
                        p = realloc(buf, cap);
                        if (!p) {
                                r = -ENOMEM;
                                break;
                        }
                        buf = p;
                        buf_cap = cap;
                }
                memcpy(buf + buf_len, raw, n);
                buf_len += n;
                buf[buf_len] = 0;

                /* A trailing backslash that is not itself escaped continues the line; the
                 * text before this physical line never ends escaped (its own trailing
                 * backslash became a space), so scanning the new part is enough. */
                for (size_t i = 0; i < n; i++)
                        escaped = escaped ? false : raw[i] == '\\';
                if (escaped) {
                        buf[buf_len - 1] = ' ';
                        continue;
                }
                r = reader_line(&rd, start_line, buf);
                buf_len = 0;
        }
        if (r >= 0 && buf_len > 0)
                r = reader_line(&rd, start_line, buf); /* a continuation at the end */
        free(rd.section);
        return r;
}

/* ---- words ---------------------------------------------------------------------------- */

struct sbuf {
        char *s;
        size_t n, cap;
};

static int sbuf_put(struct sbuf *b, const char *s, size_t n) {
        if (b->n + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 32;
                char *p;

                while (cap < b->n + n + 1)
                        cap *= 2;
                p = realloc(b->s, cap);
                if (!p)
                        return -ENOMEM;
                b->s = p;
                b->cap = cap;
        }
        memcpy(b->s + b->n, s, n);
        b->n += n;
        b->s[b->n] = 0;
        return 0;
}

static int unhex(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

static size_t utf8_encode(uint32_t c, char out[4]) {
        if (c < 0x80) {
                out[0] = (char)c;
                return 1;
        }
        if (c < 0x800) {
                out[0] = (char)(0xc0 | (c >> 6));
                out[1] = (char)(0x80 | (c & 0x3f));
                return 2;
        }
        if (c < 0x10000) {
                out[0] = (char)(0xe0 | (c >> 12));
                out[1] = (char)(0x80 | ((c >> 6) & 0x3f));
                out[2] = (char)(0x80 | (c & 0x3f));
                return 3;
        }
        out[0] = (char)(0xf0 | (c >> 18));
        out[1] = (char)(0x80 | ((c >> 12) & 0x3f));
        out[2] = (char)(0x80 | ((c >> 6) & 0x3f));
        out[3] = (char)(0x80 | (c & 0x3f));
        return 4;
}

/* One C escape after a backslash at p: the bytes it stands for in out[], their number in
 * *out_len; returns how many characters of p it used, or 0 if it is not valid. */
static size_t cunescape_one(const char *p, char out[4], size_t *out_len) {
        static const char simple[] = "a\ab\bf\fn\nr\rt\tv\v\\\\\"\"''s ";
        uint32_t c = 0;
        size_t digits;

        for (size_t i = 0; simple[i]; i += 2)
                if (*p == simple[i]) {
                        out[0] = simple[i + 1];
                        *out_len = 1;
                        return 1;
                }
        switch (*p) {
        case 'x':
                if (unhex(p[1]) < 0 || unhex(p[2]) < 0)
                        return 0;
                c = (uint32_t)(unhex(p[1]) << 4 | unhex(p[2]));
                if (c == 0)
                        return 0; /* no NUL bytes */
                out[0] = (char)c;
                *out_len = 1;
                return 3;
        case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7':
                for (size_t i = 0; i < 3; i++) {
                        if (p[i] < '0' || p[i] > '7')
                                return 0;
                        c = c * 8 + (uint32_t)(p[i] - '0');
                }
                if (c == 0 || c > 255)
                        return 0;
                out[0] = (char)c;
                *out_len = 1;
                return 3;
        case 'u':
        case 'U':
                digits = *p == 'u' ? 4 : 8;
                for (size_t i = 1; i <= digits; i++) {
                        if (unhex(p[i]) < 0)
                                return 0;
                        c = c << 4 | (uint32_t)unhex(p[i]);
                }
                if (c == 0 || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
                        return 0;
                *out_len = utf8_encode(c, out);
                return digits + 1;
        default:
                return 0;
        }
}

int conf_extract_word(const char **p, char **ret, unsigned flags, const char **reason) {
        struct sbuf b = { 0 };
        const char *s = *p;
        char quote = 0;
        int r = 0;

        while (is_space(*s))
                s++;
        if (!*s) {
                *p = s;
                return 0;
        }
        r = sbuf_put(&b, "", 0); /* "" is a word too */
        while (r >= 0) {
                const char *run = s;

                /* Copy the plain run up to the next special character. */
                while (*s && *s != '\\' && (quote ? *s != quote
                                                  : !is_space(*s) && *s != '"' && *s != '\''))
                        s++;
                r = sbuf_put(&b, run, (size_t)(s - run));
                if (r < 0)
                        break;

                if (!*s) {
                        if (quote && !(flags & CONF_WORD_RELAX)) {
                                *reason = "unterminated quote";
                                r = -EINVAL;
                        }
                        break;
                }
                if (*s == '\\') {
                        char out[4];
                        size_t out_len = 0, used;

                        s++;
                        if (!*s) {
                                if (!(flags & CONF_WORD_RELAX)) {
                                        *reason = "trailing backslash";
                                        r = -EINVAL;
                                }
                                break;
                        }
                        if (flags & CONF_WORD_CUNESCAPE) {
                                used = cunescape_one(s, out, &out_len);
                                if (used == 0) {
                                        *reason = "invalid backslash escape, expected one of "
                                                  "\\a \\b \\f \\n \\r \\t \\v \\\\ \\\" \\' "
                                                  "\\s \\xNN \\NNN \\uNNNN \\UNNNNNNNN";
                                        r = -EINVAL;
                                        break;
                                }
                        } else {
                                out[0] = *s;
                                out_len = used = 1;
                        }
                        r = sbuf_put(&b, out, out_len);
                        s += used;
                } else if (quote && *s == quote) {
                        quote = 0;
                        s++;
                } else if (!quote && (*s == '"' || *s == '\'')) {
                        quote = *s++;
                } else {
                        /* White space outside quotes ends the word. */
                        while (is_space(*s))
                                s++;
                        break;
                }
        }
        if (r < 0) {
                free(b.s);
                return r;
        }
        *p = s;
        *ret = b.s;
        return 1;
}

int conf_env_entry_compare(const void *a, const void *b) {
        const struct conf_env_entry *x = a, *y = b;
        int c = memcmp(x->s, y->s, x->key_len < y->key_len ? x->key_len : y->key_len);

        if (c != 0)
                return c;
        if (x->key_len != y->key_len)
                return x->key_len < y->key_len ? -1 : 1;
        return x->index < y->index ? -1 : x->index > y->index;
}

bool conf_env_name_valid(const char *s, size_t n) {
        if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
                        return false;
        return true;
}
