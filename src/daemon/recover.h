/* SPDX-License-Identifier: MIT */
#pragma once

/* Crash recovery (docs/reexec.md, "Crash recovery"): what a daemon that did not exit
 * cleanly leaves for the next one in STATE-DIR/recover/NAME.json, one small file per
 * unit, replaced atomically (write, rename) whenever it changes:
 *   - the desired state: started or stopped by hand (`pidvisor start/stop`);
 *   - the running instances: pid, start time (/proc/PID/stat field 22), role (main, an
 *     upgrade's old instance), and where its output pipes' read ends live on in it.
 * The next daemon adopts each recorded instance that still runs (pidfd_open, then the
 * start time compared, so that a recycled pid is never taken), watches it through its
 * pidfd (its exit status is unknown: it is not our child), takes back its [Socket] and
 * kept listeners and its output pipes with pidfd_getfd, and starts no second instance;
 * a unit started by hand that does not run any more is started again. */

#include <stdbool.h>

#include "manager.h"

struct pv_spawn_attr;
struct pv_fd_map;

/* manager_new() (not after a re-exec): reads the records a crashed daemon left. */
int recover_load(struct manager *m);
/* manager.c, before a freshly loaded unit binds its sockets: adopts what still runs of
 * it, with its listeners (so that binding keeps them instead of replacing them). */
void recover_adopt(struct service *s);
/* manager_run(): whether a unit is to be started now (AutoStart=, or started by hand
 * before a crash and not running), once the records are applied. */
bool recover_wants_start(const struct service *s);
/* The records were applied: forget them. */
void recover_loaded_done(struct manager *m);

/* Something a record holds changed: it is written again at the next loop turn. */
void recover_mark(struct service *s);
/* `pidvisor start/restart` (DESIRED_STARTED) or `stop` (DESIRED_STOPPED). */
void recover_set_desired(struct service *s, enum desired_state d);
/* The unit is gone: so is its record. */
void recover_forget(struct manager *m, const char *name);
/* The daemon exits cleanly: every record goes (a deliberate restart starts afresh). */
void recover_clean_exit(struct manager *m);
void recover_free(struct manager *m);

/* The output pipes' lifeline ([X-Pidvisor] OutputLifeline=yes): the main process gets a
 * copy of the read end of its stdout and stderr pipes at RECOVER_LIFELINE_FD (+1), so that
 * the pipes outlive a crashed daemon (no SIGPIPE) and the next one takes them back.  Off
 * by default: a service then sees exactly what systemd would give it, and after a crash
 * its output pipes are broken (docs/reexec.md says what that costs).  spawn_command() calls prepare
 * before pv_spawn (it makes the pipes itself and adds them to the fd map) and done after
 * it (the read ends become the service's pipes). */
#define RECOVER_LIFELINE_FD 510
struct recover_lifeline {
        int pipe[2][2];        /* [stdout, stderr][read, write]; -1 when not made here */
        struct pv_fd_map *map; /* the attribute's fd map with ours added */
        size_t n_map;
};
int recover_lifeline_prepare(struct service *s, struct pv_spawn_attr *a, bool is_main,
                             struct recover_lifeline *l);
/* After pv_spawn: ok tells whether it succeeded; the read ends go into pipes[1], [2]. */
void recover_lifeline_done(struct recover_lifeline *l, bool ok, int pipes[3]);
