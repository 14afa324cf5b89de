/* SPDX-License-Identifier: MIT */
#include <pidvisor/spawn.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* Go's findExecutable: a regular file (not a directory) that we may execute. */
static int check_executable(const char *path) {
        struct stat st;

        if (stat(path, &st) < 0)
                return negerrno();
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) < 0)
                return negerrno();
        /* root passes X_OK when any execute bit is set; a file with none is not one. */
        if (!(st.st_mode & 0111))
                return -EACCES;
        return 0;
}

int pv_lookpath(const char *name, const char *path_list, char **ret, struct pv_error *err) {
        const char *p;
        int r;

        if (!name || !*name)
                return pv_error_setf(err, -ENOENT, "empty program name");

        if (strchr(name, '/')) {
                char *copy;

                r = check_executable(name);
                if (r < 0)
                        return pv_error_set(err, r, "\"%s\"", name);
                copy = strdup(name);
                if (!copy)
                        return pv_error_set(err, -ENOMEM, "lookpath");
                *ret = copy;
                return 0;
        }

        if (!path_list)
                path_list = getenv("PATH");
        if (!path_list)
                path_list = "";

        /* An empty $PATH has no entries at all (Go's filepath.SplitList("") is empty); an
         * empty entry inside a longer list stands for ".". */
        for (p = path_list; *path_list;) {
                const char *end = strchrnul(p, ':');
                size_t dlen = (size_t)(end - p);
                _cleanup_free_ char *cand = NULL;

                if (asprintf(&cand, "%.*s/%s", (int)(dlen ? dlen : 1), dlen ? p : ".", name) < 0)
                        return pv_error_set(err, -ENOMEM, "lookpath");
                if (check_executable(cand) == 0) {
                        if (cand[0] != '/')
                                return pv_error_setf(err, -EACCES,
                                                     "\"%s\" resolves to executable in current "
                                                     "directory (%s); give its path explicitly",
                                                     name, cand);
                        *ret = TAKE_PTR(cand);
                        return 0;
                }
                if (!*end)
                        break;
                p = end + 1;
        }
        return pv_error_setf(err, -ENOENT, "\"%s\": executable file not found in $PATH", name);
}
