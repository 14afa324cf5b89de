/* SPDX-License-Identifier: MIT */
#include "strv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

size_t strv_length(char *const *v) {
        size_t n = 0;

        while (v && v[n])
                n++;
        return n;
}

void strv_free(char **v) {
        for (size_t i = 0; v && v[i]; i++)
                free(v[i]);
        free(v);
}

char **strv_copy(char *const *v) {
        size_t n = strv_length(v);
        char **c = calloc(n + 1, sizeof(char *));

        if (!c)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                c[i] = strdup(v[i]);
                if (!c[i]) {
                        strv_free(c);
                        return NULL;
                }
        }
        return c;
}

static bool key_matches(const char *entry, const char *key, size_t klen) {
        return strncmp(entry, key, klen) == 0 && entry[klen] == '=';
}

int env_assign(char ***env, const char *assignment) {
        const char *eq = strchr(assignment, '=');
        size_t klen, n;
        char *copy, **grown;

        if (!eq || eq == assignment)
                return -EINVAL;
        klen = (size_t)(eq - assignment);
        copy = strdup(assignment);
        if (!copy)
                return -ENOMEM;
        n = strv_length(*env);
        for (size_t i = 0; i < n; i++)
                if (key_matches((*env)[i], assignment, klen)) {
                        free((*env)[i]);
                        (*env)[i] = copy;
                        return 0;
                }
        grown = realloc(*env, (n + 2) * sizeof(char *));
        if (!grown) {
                free(copy);
                return -ENOMEM;
        }
        grown[n] = copy;
        grown[n + 1] = NULL;
        *env = grown;
        return 0;
}

bool env_unset(char **env, const char *key) {
        size_t klen = strlen(key), n = strv_length(env);

        for (size_t i = 0; i < n; i++)
                if (key_matches(env[i], key, klen)) {
                        free(env[i]);
                        memmove(env + i, env + i + 1, (n - i) * sizeof(char *));
                        return true;
                }
        return false;
}
