/* SPDX-License-Identifier: MIT */
#pragma once

/* What the daemon holds for a service across its restarts: the listening sockets of its
 * [Socket] section (bound when the unit loads, closed when it is removed), and the fd
 * store (FDSTORE=1).  Both are handed to the main process at fd 3.. with LISTEN_FDS,
 * LISTEN_PID and LISTEN_FDNAMES: sockets first, in the order of the Listen lines, then
 * the stored descriptors in the order they were stored (as systemd does). */

#include <stddef.h>

#include "unit.h"

struct service;

/* Opens one listening socket as systemd does (SO_REUSEADDR on every socket, Backlog=,
 * ReusePort=, FreeBind=, BindIPv6Only=, a unix path's parents created with
 * DirectoryMode= and a stale socket file replaced, SocketMode=, SocketUser=/Group=).
 * The descriptor is close-on-exec, blocking unless NonBlocking=.  On error a negative
 * errno and *why as "bind: Address already in use". */
int listen_open(const struct unit_config *c, const struct listen_spec *l, int *ret_fd,
                char *why, size_t why_size);

/* Makes the service's sockets those of s->cfg: sockets whose settings did not change are
 * kept (same descriptor, same accept queue), others opened, the rest closed.  All or
 * nothing: on error the old set stays and *why says which line failed, as
 * "web.service:7: ListenStream=80: bind: Address already in use". */
int service_sockets_sync(struct service *s, char *why, size_t why_size);
void service_sockets_close(struct service *s);

struct pv_listener;
/* Crash recovery (recover.c): the [Socket] listeners a running main process still holds,
 * taken out of it with pidfd_getfd, become the service's again, each matched to its
 * Listen line by type and address, so that service_sockets_sync() keeps them instead of
 * binding anew (which would fail, or replace a unix socket's path under the service).
 * Matched entries are taken (fd set to -1); returns how many were matched. */
size_t service_sockets_adopt(struct service *s, struct pv_listener *taken, size_t n);

/* FDSTORE=1: keeps fds[i] (setting the entry to -1 when taken) under `name` (NULL:
 * "stored"), up to FileDescriptorStoreMax=; a descriptor of a file already stored is not
 * kept twice.  Logs what it refused. */
void service_fdstore_add(struct service *s, int *fds, size_t n_fds, const char *name);
/* FDSTOREREMOVE=1: drops every stored descriptor with that name. */
void service_fdstore_remove(struct service *s, const char *name);
void service_fdstore_release(struct service *s);

/* The descriptors for the main process (sockets, then the store), and LISTEN_FDNAMES's
 * value.  *fds is allocated; NULL and 0 when there are none. */
int service_listen_fds(const struct service *s, int **fds, size_t *n_fds, char **names);
