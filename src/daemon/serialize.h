/* SPDX-License-Identifier: MIT */
#pragma once

/* The daemon's whole state as one JSON document, for `pidvisor daemon-reexec`
 * (reexec.c; the format is described in docs/reexec.md).
 *
 * Writing walks the manager, its services (with their upgrade, crash history, output
 * pipes, listeners, fd store, waiters...) and its control connections, one table of plain
 * members per struct and one pair of functions per member that is more than a number or
 * a string.  Every descriptor the state names is collected: exactly those must survive
 * the exec.  Deadlines are CLOCK_MONOTONIC absolute values (the clock is the machine's,
 * the same before and after the exec).
 *
 * Reading builds the same objects, detached from any loop (a `struct manager` with no
 * loop holds them), for reexec.c to adopt and arm.  A descriptor is taken only through
 * the caller's claim function, and only if the state declared it, once: the reader never
 * touches a descriptor number it merely read.  Unknown keys are ignored and missing ones
 * keep their defaults; a change that an older reader must not ignore bumps STATE_FORMAT. */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "manager.h"

/* What this binary writes, and the oldest it reads (`pidvisor --reexec-format`). */
#define STATE_FORMAT 1
#define STATE_FORMAT_MIN 1

struct fdlist {
        int *fds;
        size_t n, cap;
};
void fdlist_done(struct fdlist *l);

/* The request that asked for the re-exec: answered by the new process. */
struct state_reply {
        int conn_fd;          /* -1: nobody to answer (the connection went away) */
        json_t *id;
        usec_t t_begin;       /* CLOCK_MONOTONIC, when it was asked for */
        const char *binary;   /* what is exec'd */
        const char *previous; /* what runs now */
};

/* The state of m as JSON text (*ret, *ret_len; malloc'd).  Every descriptor it names is
 * appended to *keep, sorted, each once.  A negative errno (and *why) if it cannot be
 * written: out of memory, or a descriptor that two places claim to own. */
int state_write(struct manager *m, const struct state_reply *reply, char **ret, size_t *ret_len,
                struct fdlist *keep, char *why, size_t why_size);

/* The reader's source of descriptors: given a number the state declared (each at most
 * once), returns a descriptor the reader then owns, or a negative errno.  The daemon's own
 * (reexec.c) checks the inherited descriptor is open and returns it; tests and the fuzz
 * target return copies of something harmless. */
typedef int (*state_claim_fd_t)(void *data, int fd);

/* Timers to arm again, per service (0: none). */
struct service_timers {
        usec_t timer, reset, watchdog, keep, up_timer, up_check;
};

struct saved_state {
        int format;
        char *writer;              /* "pidvisor 0.1.0" */
        usec_t written;            /* CLOCK_MONOTONIC */
        struct manager_options opt;
        int log_level;
        /* Services (m->services), connections (m->conns) and the manager's own members,
         * detached: m->loop is NULL. */
        struct manager *m;
        struct service_timers *timers; /* parallel to m->services */
        struct conn *reply_conn;   /* among m->conns, or NULL */
        json_t *reply_id;
        usec_t reply_t_begin;
        char *reply_binary, *reply_previous;
        /* The descriptors the state declared, sorted; claimed[i] once taken. */
        int *declared;
        bool *claimed;
        size_t n_declared;
        /* Where the time went (CLOCK_MONOTONIC), for the log and the benchmark. */
        usec_t t_read_begin, t_json, t_units_usec, t_read_end;
};

/* Parses a state.  On error a negative errno and *why ("service \"web\": \"history\": not
 * an array").  A format this binary does not read is -EPROTONOSUPPORT.
 * STATE_READ_KEEP_CLAIMED: on error, what was read is not freed, so that no descriptor
 * claimed so far is closed (reexec.c then executes the previous binary with them; the
 * memory goes with the exec). */
#define STATE_READ_KEEP_CLAIMED 1u
int state_read(const char *text, size_t len, state_claim_fd_t claim, void *claim_data, unsigned flags,
               struct saved_state **ret, char *why, size_t why_size);
/* Frees what the state still owns (services and connections not adopted by then). */
void saved_state_free(struct saved_state *st);

/* The formats this binary reads, as `pidvisor --reexec-format` prints them: "1". */
const char *state_formats_read(void);

/* Encodes bytes as a JSON string when they are valid UTF-8 without NUL, else as
 * {"base64": "..."}; and back (recover.c uses them too). */
json_t *state_bytes(const char *p, size_t len);
int state_read_bytes(json_t *v, char **ret, size_t *ret_len);
