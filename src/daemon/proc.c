/* SPDX-License-Identifier: MIT */
#include "proc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int proc_stat_read(pid_t pid, struct proc_stat *ret) {
        char path[64], buf[2048], *p;
        unsigned long long st = 0;
        int ppid = 0, sid = 0;
        char state = 0;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        f = fopen(path, "re");
        if (!f)
                return -ESRCH;
        p = fgets(buf, sizeof(buf), f);
        fclose(f);
        /* The command may hold spaces and parentheses: the fields start after the last ')'. */
        if (!p || !(p = strrchr(buf, ')')) || p[1] != ' ')
                return -EIO;
        /* state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime
         * stime cutime cstime priority nice threads itrealvalue starttime */
        if (sscanf(p + 2, "%c %d %*d %d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", &state,
                   &ppid, &sid, &st) != 4)
                return -EIO;
        *ret = (struct proc_stat){ .state = state, .ppid = ppid, .session = sid, .start_time = st };
        return 0;
}
