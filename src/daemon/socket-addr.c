/* SPDX-License-Identifier: MIT */
#include "socket-addr.h"

#include <pidvisor/handoff.h>

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

/* A port: 1..65535, decimal digits only. */
static int parse_port(const char *s, size_t n, unsigned *ret) {
        unsigned v = 0;

        if (n == 0 || n > 5)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                v = v * 10 + (unsigned)(s[i] - '0');
        }
        if (v == 0 || v > 65535)
                return -EINVAL;
        *ret = v;
        return 0;
}

int socket_address_parse(const char *text, int type, struct socket_address *ret,
                         const char **why) {
        struct socket_address a = { .type = type };
        size_t n = text ? strlen(text) : 0;
        unsigned port;

        *why = NULL;
        if (type != SOCK_STREAM && type != SOCK_DGRAM && type != SOCK_SEQPACKET) {
                *why = "unknown socket type";
                return -EINVAL;
        }
        if (n == 0) {
                *why = "empty address";
                return -EINVAL;
        }
        if (text[0] == '/' || text[0] == '@') {
                /* sun_path holds 108 bytes: a path needs its NUL, an abstract name does
                 * not (its length is given by the socklen). */
                if (text[0] == '/' && n >= sizeof(a.sockaddr.un.sun_path)) {
                        *why = "unix socket path too long (at most 107 bytes)";
                        return -EINVAL;
                }
                if (text[0] == '@' && n > sizeof(a.sockaddr.un.sun_path)) {
                        *why = "abstract socket name too long (at most 107 bytes after @)";
                        return -EINVAL;
                }
                if (text[0] == '@' && n == 1) {
                        *why = "empty abstract socket name";
                        return -EINVAL;
                }
                a.sockaddr.un.sun_family = AF_UNIX;
                memcpy(a.sockaddr.un.sun_path, text, n);
                if (text[0] == '@') {
                        a.sockaddr.un.sun_path[0] = 0;
                        a.len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
                } else
                        a.len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
                *ret = a;
                return 0;
        }
        if (text[0] == '[') {
                const char *close = strchr(text, ']');
                char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
                char *pct;

                if (!close || close[1] != ':') {
                        *why = "expected [IPv6]:PORT";
                        return -EINVAL;
                }
                if ((size_t)(close - text - 1) >= sizeof(host)) {
                        *why = "invalid IPv6 address";
                        return -EINVAL;
                }
                memcpy(host, text + 1, (size_t)(close - text - 1));
                host[close - text - 1] = 0;
                pct = strchr(host, '%');
                if (pct)
                        *pct++ = 0;
                if (inet_pton(AF_INET6, host, &a.sockaddr.in6.sin6_addr) != 1) {
                        *why = "invalid IPv6 address";
                        return -EINVAL;
                }
                if (parse_port(close + 2, strlen(close + 2), &port) < 0) {
                        *why = "invalid port (expected 1..65535)";
                        return -EINVAL;
                }
                if (pct) {
                        unsigned idx = 0;
                        if (*pct >= '1' && *pct <= '9' && strspn(pct, "0123456789") == strlen(pct) &&
                            strlen(pct) <= 9) {
                                for (const char *d = pct; *d; d++)
                                        idx = idx * 10 + (unsigned)(*d - '0');
                        } else if (*pct && strlen(pct) < IF_NAMESIZE)
                                idx = if_nametoindex(pct);
                        if (idx == 0) {
                                *why = "unknown network interface after %";
                                return -EINVAL;
                        }
                        a.sockaddr.in6.sin6_scope_id = idx;
                }
                a.sockaddr.in6.sin6_family = AF_INET6;
                a.sockaddr.in6.sin6_port = htons((uint16_t)port);
                a.len = sizeof(struct sockaddr_in6);
                *ret = a;
                return 0;
        }
        if (strspn(text, "0123456789") == n) {
                if (parse_port(text, n, &port) < 0) {
                        *why = "invalid port (expected 1..65535)";
                        return -EINVAL;
                }
                a.sockaddr.in6.sin6_family = AF_INET6;
                a.sockaddr.in6.sin6_addr = in6addr_any;
                a.sockaddr.in6.sin6_port = htons((uint16_t)port);
                a.len = sizeof(struct sockaddr_in6);
                a.port_only = true;
                *ret = a;
                return 0;
        }
        {
                const char *colon = strrchr(text, ':');
                char host[INET_ADDRSTRLEN];

                if (!colon) {
                        *why = "expected PORT, IPV4:PORT, [IPV6]:PORT, /PATH or @NAME";
                        return -EINVAL;
                }
                if ((size_t)(colon - text) >= sizeof(host) || memchr(text, ':', (size_t)(colon - text))) {
                        *why = strchr(text, ':') != colon ? "an IPv6 address needs brackets: [IPV6]:PORT"
                                                          : "invalid IPv4 address";
                        return -EINVAL;
                }
                memcpy(host, text, (size_t)(colon - text));
                host[colon - text] = 0;
                if (inet_pton(AF_INET, host, &a.sockaddr.in.sin_addr) != 1) {
                        *why = "invalid IPv4 address";
                        return -EINVAL;
                }
                if (parse_port(colon + 1, strlen(colon + 1), &port) < 0) {
                        *why = "invalid port (expected 1..65535)";
                        return -EINVAL;
                }
                a.sockaddr.in.sin_family = AF_INET;
                a.sockaddr.in.sin_port = htons((uint16_t)port);
                a.len = sizeof(struct sockaddr_in);
                *ret = a;
                return 0;
        }
}

char *socket_address_format(const struct socket_address *a, char *buf, size_t size) {
        return pv_sockaddr_format(&a->sockaddr.sa, a->len, buf, size);
}

const char *socket_type_to_string(int type) {
        switch (type) {
        case SOCK_STREAM:
                return "stream";
        case SOCK_DGRAM:
                return "datagram";
        case SOCK_SEQPACKET:
                return "seqpacket";
        default:
                return "?";
        }
}
