/* SPDX-License-Identifier: MIT */
#pragma once

/* NULL-terminated string arrays (argv, environment blocks).  Internal to pidvisor. */

#include <stdbool.h>
#include <stddef.h>

size_t strv_length(char *const *v);
void strv_free(char **v);
static inline void strv_freep(char ***v) {
        strv_free(*v);
}
#define _cleanup_strv_free_ __attribute__((cleanup(strv_freep)))

/* A deep copy; NULL copies to an empty array.  NULL on ENOMEM. */
char **strv_copy(char *const *v);

/* Sets "KEY=VALUE" in an environment block, replacing an earlier KEY.  -EINVAL when the
 * assignment has no '=' or an empty key; -ENOMEM. */
int env_assign(char ***env, const char *assignment);
/* Removes KEY; returns true if it was there. */
bool env_unset(char **env, const char *key);
