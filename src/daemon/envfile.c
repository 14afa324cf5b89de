/* SPDX-License-Identifier: MIT */
/* EnvironmentFile=: KEY=VALUE lines, '#' and ';' comments, blank lines, an optional
 * `export `, values in single quotes (taken literally) or double quotes (backslash
 * escapes \" \\ \$ \` and line continuation), and unquoted values trimmed. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strv.h"
#include "lib/util.h"
#include "manager.h"

static bool valid_name(const char *s, size_t n) {
        if (n == 0 || isdigit((unsigned char)s[0]))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
                        return false;
        return true;
}

int env_file_load(const char *path, char ***env, char **error_text) {
        _cleanup_free_ char *text = NULL, *value = NULL;
        size_t len = 0, lineno = 0;
        FILE *f = fopen(path, "re");
        const char *p, *end;

        if (!f) {
                int r = negerrno();
                if (asprintf(error_text, "EnvironmentFile=%s: %s", path, strerror(-r)) < 0)
                        *error_text = NULL;
                return r;
        }
        {
                FILE *mem = open_memstream(&text, &len);
                char buf[4096];
                size_t n;
                if (!mem) {
                        fclose(f);
                        return -ENOMEM;
                }
                while ((n = fread(buf, 1, sizeof(buf), f)) > 0 && len < (1 << 20))
                        fwrite(buf, 1, n, mem);
                fclose(mem);
                fclose(f);
        }
        value = malloc(len + 1);
        if (!value)
                return -ENOMEM;
        p = text;
        end = text + len;
        while (p < end) {
                const char *k, *eq;
                size_t vlen = 0;
                char *assign;
                int r;

                lineno++;
                while (p < end && (*p == ' ' || *p == '\t'))
                        p++;
                if (p >= end)
                        break;
                if (*p == '\n' || *p == '#' || *p == ';') {
                        while (p < end && *p != '\n')
                                p++;
                        p++;
                        continue;
                }
                if (strncmp(p, "export ", 7) == 0)
                        p += 7;
                k = p;
                while (p < end && *p != '=' && *p != '\n')
                        p++;
                eq = p;
                while (eq > k && (eq[-1] == ' ' || eq[-1] == '\t'))
                        eq--;
                if (p >= end || *p != '=' || !valid_name(k, (size_t)(eq - k))) {
                        if (asprintf(error_text, "EnvironmentFile=%s:%zu: expected NAME=VALUE", path, lineno) < 0)
                                *error_text = NULL;
                        return -EINVAL;
                }
                p++;
                while (p < end && (*p == ' ' || *p == '\t'))
                        p++;
                if (p < end && *p == '\'') {
                        for (p++; p < end && *p != '\''; p++) {
                                if (*p == '\n')
                                        lineno++;
                                value[vlen++] = *p;
                        }
                        p++;
                } else if (p < end && *p == '"') {
                        for (p++; p < end && *p != '"'; p++) {
                                if (*p == '\\' && p + 1 < end) {
                                        p++;
                                        if (*p == '\n') {
                                                lineno++;
                                                continue;
                                        }
                                        if (!strchr("\"\\$`", *p))
                                                value[vlen++] = '\\';
                                } else if (*p == '\n')
                                        lineno++;
                                value[vlen++] = *p;
                        }
                        p++;
                } else {
                        while (p < end && *p != '\n') {
                                if (*p == '\\' && p + 1 < end && p[1] == '\n') {
                                        p += 2;
                                        lineno++;
                                        continue;
                                }
                                value[vlen++] = *p++;
                        }
                        while (vlen > 0 && (value[vlen - 1] == ' ' || value[vlen - 1] == '\t'))
                                vlen--;
                }
                /* The rest of the line after a closing quote is ignored. */
                while (p < end && *p != '\n')
                        p++;
                p++;
                if (asprintf(&assign, "%.*s=%.*s", (int)(eq - k), k, (int)vlen, value) < 0)
                        return -ENOMEM;
                r = env_assign(env, assign);
                free(assign);
                if (r < 0)
                        return r;
        }
        return 0;
}
