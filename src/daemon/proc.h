/* SPDX-License-Identifier: MIT */
#pragma once

/* /proc/PID/stat, read once for whoever asks.  What it says may be stale by the time it
 * is used: callers that act on a process re-check it through a pidfd. */

#include <stdint.h>
#include <sys/types.h>

struct proc_stat {
        char state;          /* R S D Z X ... */
        pid_t ppid;
        pid_t session;
        uint64_t start_time; /* clock ticks since boot (field 22) */
};

/* -ESRCH if there is no such process, -EIO if the file cannot be parsed. */
int proc_stat_read(pid_t pid, struct proc_stat *ret);
