/* SPDX-License-Identifier: MIT */
#pragma once

/* `pidvisor daemon-reexec [--binary PATH]`: the daemon executes itself (or a new binary)
 * in place, keeping its pid, its children, its sockets and its state (docs/reexec.md).
 *
 * The old process:
 *   1. the request: `BINARY --reexec-format` must list the format this daemon writes,
 *      else the request is refused and nothing happens;
 *   2. from manager_run(), outside every handler: the loop parks its child watches (an
 *      IORING_OP_WAITID in flight would reap an exit and take it along into the exec), the
 *      state is written to a sealed memfd (serialize.c), close-on-exec is cleared on
 *      exactly the descriptors the state names, and execve runs
 *      `BINARY daemon --reexec-state FD --reexec-fallback FD OPTIONS...`;
 *   3. if execve fails: everything is put back, the loop goes on, the request fails.
 * The new process reads the state, adopts the services and connections, arms everything
 * again (a child that exited meanwhile is a zombie its watch reaps at once; deadlines are
 * CLOCK_MONOTONIC and simply armed again) and answers the request.  If it cannot read the
 * state, it executes the previous binary (kept open as --reexec-fallback) with the same
 * state; only if that fails too does the daemon exit, leaving its services running for
 * the next daemon to adopt (recover.c). */

#include <jansson.h>
#include <stdbool.h>

struct manager;
struct conn;
struct saved_state;

/* The control request.  0: it goes ahead, the reply comes later (from the new process);
 * else a negative errno and *why, and nothing changed. */
int reexec_request(struct manager *m, struct conn *c, json_t *id, const char *binary, char *why,
                   size_t why_size);
/* manager_run(), when the loop returned: executes the pending re-exec, or on failure
 * answers the request with why and returns (the loop then goes on). */
void reexec_run(struct manager *m);
/* The asking connection is gone: nobody to answer. */
void reexec_drop_conn(struct manager *m, struct conn *c);
void reexec_free(struct manager *m);

/* The new process, before anything else (daemon.c): reads the state in state_fd.  On
 * failure it logs why and executes the binary in fallback_fd (if >= 0) with the same
 * state and `args` (the daemon's options); returns only if that is impossible too. */
int reexec_load(int state_fd, int fallback_fd, char **args, struct saved_state **ret);
/* manager_new(): the members of the state's manager that are to be kept (descriptors,
 * counters), before the setup that would otherwise make them afresh. */
void reexec_adopt_manager(struct manager *m, struct saved_state *st);
/* manager_new(): the services and connections, armed again. */
int reexec_restore(struct manager *m, struct saved_state *st);
/* manager_run(): answers the request that asked for the re-exec. */
void reexec_finish(struct manager *m, struct saved_state *st);

/* `pidvisor --reexec-format`: prints the formats this binary reads. */
int reexec_print_formats(void);
