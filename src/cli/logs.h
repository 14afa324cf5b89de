/* SPDX-License-Identifier: MIT */
#pragma once

/* The file side of `pidvisor logs` (src/cli/logs.c), apart from the daemon so that tests
 * can drive it on files of their own.  Both return 0 or -errno: -ENOENT, no file at path;
 * -ESTALE (logs_follow), the watch on its directory went away (unmounted); -EPIPE and the like,
 * out could not be written. */

#include <signal.h>
#include <stdio.h>

/* Prints the last n lines of path (a line is what ends in '\n', or the unterminated rest
 * at the end), taking the older ones from path.1 when path has fewer than n. */
int logs_tail(const char *path, unsigned n, FILE *out);

/* logs_tail(path, n, out), then everything written to path from then on, until *stop is
 * set.  Waits with inotify on path's directory (no timer).  When path is rotated (renamed
 * away or deleted, then created anew), reads the old file to its end, then any rotated
 * file that came between (path.1, path.2..., found by inode), then the new file from its
 * start: nothing is printed twice or left out while the files still exist.
 * The caller should block SIGINT and SIGTERM and set *stop from their handlers: the
 * function unblocks them only while it waits (ppoll), so a signal cannot slip in between
 * the check of *stop and the wait. */
int logs_follow(const char *path, unsigned n, FILE *out, volatile sig_atomic_t *stop);

/* `pidvisor logs` (argv[0] is "logs"); also declared in cli.h with the other commands. */
int cli_logs(int argc, char **argv);
