/* SPDX-License-Identifier: MIT */
/* System call groups (@system-service, ...) are data: DIR/groups/NAME.group holds names
 * and @groups, separated by white space or commas, with # comments.  Loaded on first use
 * during one policy load, expanded, checked (an unknown name is an error at its place in
 * the group file) and cycle-checked. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy-internal.h"
#include "util.h"

struct group {
        char *name;
        struct pv_group_member *members;
        size_t n, cap;
        bool loaded;
};

struct group_set {
        struct group *g;
        size_t n;
};

void group_set_free(struct group_set *gs) {
        if (!gs)
                return;
        for (size_t i = 0; i < gs->n; i++) {
                free(gs->g[i].name);
                free(gs->g[i].members);
        }
        free(gs->g);
        free(gs);
}

static bool valid_group_name(const char *s) {
        if (!*s || strlen(s) > 64)
                return false;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' ||
                      *s == '_'))
                        return false;
        return true;
}

static int add_member(struct group *g, const char *name, const struct pv_src *src) {
        for (size_t i = 0; i < g->n; i++)
                if (strcmp(g->members[i].name, name) == 0)
                        return 0;
        if (g->n == g->cap) {
                size_t cap = g->cap ? g->cap * 2 : 32;
                struct pv_group_member *m = realloc(g->members, cap * sizeof(*m));
                if (!m)
                        return -ENOMEM;
                g->members = m;
                g->cap = cap;
        }
        g->members[g->n++] = (struct pv_group_member){ name, *src };
        return 0;
}

static int load_group(struct group_set *gs, size_t gi, struct pv_policy *p, const char *dir,
                      const char *path, const char *text, struct pv_error *err) {
        const char *file = policy_intern(p, path);
        unsigned line = 1;
        const char *s = text, *bol = text;

        if (!file)
                return pv_error_set(err, -ENOMEM, "group \"%s\"", path);
        while (*s) {
                char word[128];
                size_t len = 0;
                struct pv_src src;
                int r;

                if (*s == '\n') {
                        line++;
                        bol = ++s;
                        continue;
                }
                if (*s == ' ' || *s == '\t' || *s == ',' || *s == '\r') {
                        s++;
                        continue;
                }
                if (*s == '#') {
                        while (*s && *s != '\n')
                                s++;
                        continue;
                }
                src = (struct pv_src){ file, line, (unsigned)(s - bol) + 1 };
                while (s[len] && !strchr(" \t\r\n,#", s[len]))
                        len++;
                if (len >= sizeof(word))
                        return policy_error(err, -EINVAL, &src, "name too long");
                memcpy(word, s, len);
                word[len] = 0;
                s += len;

                if (word[0] == '@') {
                        const struct pv_group_member *m;
                        size_t n;

                        r = group_lookup(&gs, p, dir, word + 1, &src, &m, &n, err);
                        if (r < 0)
                                return r;
                        for (size_t i = 0; i < n; i++)
                                if ((r = add_member(&gs->g[gi], m[i].name, &m[i].src)) < 0)
                                        return pv_error_set(err, r, "group \"%s\"", path);
                        continue;
                }
                if (!policy_syscall_known(word))
                        return policy_error(err, -EINVAL, &src,
                                            "unknown system call \"%s\" in group @%s", word,
                                            gs->g[gi].name);
                const char *name = policy_intern(p, word);
                if (!name || (r = add_member(&gs->g[gi], name, &src)) < 0)
                        return pv_error_set(err, -ENOMEM, "group \"%s\"", path);
        }
        return 0;
}

int group_lookup(struct group_set **gsp, struct pv_policy *p, const char *dir, const char *name,
                 const struct pv_src *use, const struct pv_group_member **ret, size_t *ret_n,
                 struct pv_error *err) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        struct group_set *gs = *gsp;
        struct pv_error sub;
        struct group *ng;
        size_t gi, len;
        int r;

        if (!gs) {
                gs = calloc(1, sizeof(*gs));
                if (!gs)
                        return pv_error_set(err, -ENOMEM, "group @%s", name);
                *gsp = gs;
        }
        if (!valid_group_name(name))
                return policy_error(err, -EINVAL, use, "invalid group name \"@%s\"", name);
        for (gi = 0; gi < gs->n; gi++)
                if (strcmp(gs->g[gi].name, name) == 0) {
                        if (!gs->g[gi].loaded)
                                return policy_error(err, -ELOOP, use,
                                                    "group @%s includes itself", name);
                        *ret = gs->g[gi].members;
                        *ret_n = gs->g[gi].n;
                        return 0;
                }

        if (asprintf(&path, "%s/groups/%s.group", dir, name) < 0)
                return pv_error_set(err, -ENOMEM, "group @%s", name);
        r = policy_read_file(path, &text, &len, &sub);
        if (r == -ENOENT)
                return policy_error(err, r, use, "unknown group @%s (no %s)", name, path);
        if (r < 0)
                return policy_error(err, r, use, "group @%s: %s", name, sub.message);

        ng = realloc(gs->g, (gs->n + 1) * sizeof(*ng));
        if (!ng)
                return pv_error_set(err, -ENOMEM, "group @%s", name);
        gs->g = ng;
        gi = gs->n++;
        gs->g[gi] = (struct group){ .name = strdup(name) };
        if (!gs->g[gi].name)
                return pv_error_set(err, -ENOMEM, "group @%s", name);
        r = load_group(gs, gi, p, dir, path, text, err);
        if (r < 0)
                return r;
        gs->g[gi].loaded = true;
        *ret = gs->g[gi].members;
        *ret_n = gs->g[gi].n;
        return 0;
}
