/* SPDX-License-Identifier: MIT */
#pragma once

/* Listening addresses as systemd.socket(5) writes them (ListenStream= and friends):
 *
 *   8080             a port alone: every address, IPv6 and IPv4 ("[::]:8080", dual-stack;
 *                    where the kernel has no IPv6, 0.0.0.0:8080 instead, see listen.c)
 *   127.0.0.1:8080   IPv4 address and port
 *   [::1]:8080       IPv6 address and port; [fe80::1%eth0]:8080 with a scope (interface)
 *   /run/x.sock      a unix socket at that path
 *   @name            a unix socket in the abstract namespace
 *
 * Parsing is pure (no system calls except if_nametoindex for a named IPv6 scope), so the
 * unit parser and its fuzz target can use it. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>

union socket_sockaddr {
        struct sockaddr sa;
        struct sockaddr_in in;
        struct sockaddr_in6 in6;
        struct sockaddr_un un;
        struct sockaddr_storage storage;
};

struct socket_address {
        union socket_sockaddr sockaddr;
        socklen_t len;   /* of the sockaddr, as bind() takes it */
        int type;        /* SOCK_STREAM, SOCK_DGRAM or SOCK_SEQPACKET */
        bool port_only;  /* written as a bare port: any address, both families */
};

/* Parses `text` for a socket of `type`.  On error -EINVAL with a reason (static text) in
 * *why; *ret is written only on success. */
int socket_address_parse(const char *text, int type, struct socket_address *ret,
                         const char **why);

/* The address in the syntax above ("127.0.0.1:8080", "[::1]:8080", "/run/x.sock",
 * "@name"; an abstract name's NUL and unprintable bytes as \xNN).  Always terminates
 * buf; returns buf. */
char *socket_address_format(const struct socket_address *a, char *buf, size_t size);

/* "stream", "datagram", "seqpacket" */
const char *socket_type_to_string(int type);
