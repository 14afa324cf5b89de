/* SPDX-License-Identifier: MIT */
/* Integration tests of socket activation in `pidvisor daemon` (issue 4, "Socket
 * activation"; ../shared/PROTOCOLS.md, "$LISTEN_FDS"): the daemon binds a unit's
 * [Socket] listeners when it loads the unit, holds them for the unit's life, and hands
 * them to the main process at fd 3.. with LISTEN_FDS, LISTEN_PID and LISTEN_FDNAMES.
 *
 * Two real consumers take the sockets: tests/fixtures/pv-listen (C, through libpidvisor's
 * pv_listen_fds_with_names) and tests/fixtures/listen-consumer.py (Python's
 * socket.socket(fileno=3)).  Debian's systemd-socket-activate is the reference producer:
 * what it hands a program is compared with what the daemon hands the same program.  The
 * suite then shows what socket activation is for (a server crashing on every connection
 * refuses none, where the same server binding its own port refuses some), the errors
 * (address in use, a low port for an unprivileged daemon, a bad address), the fd store,
 * sockets kept across a reload, and `pidvisor status`.
 *
 * Ports are found free by binding port 0 (on [::], dual-stack, for TCP and UDP) and
 * closing; each test starts its own daemon (daemonlib.h) and every wait has a deadline. */
#include "daemonlib.h"
#include "testlib.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define PYTHON "/usr/bin/python3"
#define SOCKET_ACTIVATE "/usr/bin/systemd-socket-activate"
#define SETPRIV "/usr/bin/setpriv"

/* ---- the consumers ---- */

static const char *listen_fixture(void) {
        const char *p = getenv("PV_LISTEN");

        ck_assert_msg(p && *p, "PV_LISTEN is not set (run the tests through meson test)");
        return p;
}

static const char *py_consumer(void) {
        const char *p = getenv("PV_LISTEN_PY");

        ck_assert_msg(p && *p, "PV_LISTEN_PY is not set (run the tests through meson test)");
        return p;
}

/* The ExecStart= line of a consumer: the C one serving (args appended), or the Python
 * one. */
static char *exec_start(bool python, const char *args) {
        if (python)
                return pv_test_fmt("ExecStart=%s %s %s", PYTHON, py_consumer(), args ? args : "");
        return pv_test_fmt("ExecStart=%s serve %s", listen_fixture(), args ? args : "");
}

static const char *need_python(void) {
        return access(PYTHON, X_OK) == 0 ? NULL : PYTHON " is missing (apt-get install python3)";
}

static const char *need_socket_activate(void) {
        return access(SOCKET_ACTIVATE, X_OK) == 0 ? NULL : SOCKET_ACTIVATE " is missing (apt-get install systemd)";
}

/* ---- addresses ---- */

struct addr {
        union {
                struct sockaddr sa;
                struct sockaddr_in in;
                struct sockaddr_in6 in6;
                struct sockaddr_un un;
                struct sockaddr_storage ss;
        } u;
        socklen_t len;
        char text[160]; /* for messages */
};

static struct addr addr_ip(const char *ip, unsigned port) {
        struct addr a;

        memset(&a, 0, sizeof(a));
        if (strchr(ip, ':')) {
                a.u.in6.sin6_family = AF_INET6;
                a.u.in6.sin6_port = htons((uint16_t)port);
                ck_assert_int_eq(inet_pton(AF_INET6, ip, &a.u.in6.sin6_addr), 1);
                a.len = sizeof(a.u.in6);
                snprintf(a.text, sizeof(a.text), "[%s]:%u", ip, port);
        } else {
                a.u.in.sin_family = AF_INET;
                a.u.in.sin_port = htons((uint16_t)port);
                ck_assert_int_eq(inet_pton(AF_INET, ip, &a.u.in.sin_addr), 1);
                a.len = sizeof(a.u.in);
                snprintf(a.text, sizeof(a.text), "%s:%u", ip, port);
        }
        return a;
}

static struct addr addr_unix(const char *path) {
        struct addr a;

        memset(&a, 0, sizeof(a));
        a.u.un.sun_family = AF_UNIX;
        ck_assert_uint_lt(strlen(path), sizeof(a.u.un.sun_path));
        strcpy(a.u.un.sun_path, path);
        a.len = sizeof(a.u.un);
        snprintf(a.text, sizeof(a.text), "%s", path);
        return a;
}

/* "@name" in a unit file: the abstract name is exactly those bytes after the NUL. */
static struct addr addr_abstract(const char *name) {
        struct addr a;

        memset(&a, 0, sizeof(a));
        a.u.un.sun_family = AF_UNIX;
        ck_assert_uint_lt(strlen(name) + 1, sizeof(a.u.un.sun_path));
        memcpy(a.u.un.sun_path + 1, name, strlen(name));
        a.len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
        snprintf(a.text, sizeof(a.text), "@%s", name);
        return a;
}

/* A name for an abstract socket that no other run of the suite uses. */
static char *abstract_name(const char *what) {
        return pv_test_fmt("pvtest-sockets-%d-%s", (int)getpid(), what);
}

/* A port that is free now on every address, for TCP and UDP: bound as [::]:0 with
 * IPV6_V6ONLY off (which covers 127.0.0.1 too), then closed.  Never the same port twice
 * in one test process. */
static unsigned free_port(void) {
        static unsigned given[64];
        static size_t n_given;

        for (int attempt = 0; attempt < 50; attempt++) {
                struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
                socklen_t len = sizeof(sa);
                int tcp = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0), udp, zero = 0;
                unsigned port;
                bool ok, seen = false;

                ck_assert_msg(tcp >= 0, "socket: %s", strerror(errno));
                ck_assert_int_eq(setsockopt(tcp, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)), 0);
                ck_assert_msg(bind(tcp, (struct sockaddr *)&sa, sizeof(sa)) == 0, "bind [::]:0: %s", strerror(errno));
                ck_assert_int_eq(getsockname(tcp, (struct sockaddr *)&sa, &len), 0);
                port = ntohs(sa.sin6_port);
                udp = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                ck_assert_msg(udp >= 0, "socket: %s", strerror(errno));
                ck_assert_int_eq(setsockopt(udp, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)), 0);
                ok = bind(udp, (struct sockaddr *)&sa, sizeof(sa)) == 0;
                close(udp);
                close(tcp);
                for (size_t i = 0; i < n_given; i++)
                        seen |= given[i] == port;
                if (ok && !seen) {
                        if (n_given < sizeof(given) / sizeof(given[0]))
                                given[n_given++] = port;
                        return port;
                }
        }
        ck_abort_msg("no free port found in 50 attempts");
        return 0;
}

/* The accept queue's limit of a socket without Backlog=: the daemon asks for SOMAXCONN
 * (as systemd, which asks for more, the kernel caps it at net.core.somaxconn). */
static int default_backlog(void) {
        char *text = dl_read_file("/proc/sys/net/core/somaxconn");
        int max = text ? atoi(text) : SOMAXCONN;

        free(text);
        return max < SOMAXCONN ? max : SOMAXCONN;
}

/* ---- a client ---- */

/* One exchange: for a stream or seqpacket socket, connect and read the reply to EOF;
 * for a datagram socket, send one datagram and read one back.  0 and *reply (malloc'd),
 * or -errno: -ECONNREFUSED, -ECONNRESET, -ETIMEDOUT, -ENODATA (closed without a word). */
static int ask(const struct addr *a, int type, int timeout_ms, char **reply) {
        int64_t deadline = dl_now_ms() + timeout_ms;
        char buf[1024];
        size_t len = 0;
        int fd, r = 0;

        *reply = NULL;
        fd = socket(a->u.sa.sa_family, type | SOCK_CLOEXEC, 0);
        ck_assert_msg(fd >= 0, "socket: %s", strerror(errno));
        if (type == SOCK_DGRAM) {
                if (a->u.sa.sa_family == AF_UNIX) {
                        /* An autobound abstract name, for the answer to come back to. */
                        sa_family_t fam = AF_UNIX;
                        ck_assert_int_eq(bind(fd, (struct sockaddr *)&fam, sizeof(fam)), 0);
                }
                if (sendto(fd, "?", 1, MSG_NOSIGNAL, &a->u.sa, a->len) < 0) {
                        r = -errno;
                        close(fd);
                        return r;
                }
        } else if (connect(fd, &a->u.sa, a->len) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                int64_t left = deadline - dl_now_ms();
                ssize_t n;

                if (left <= 0) {
                        r = -ETIMEDOUT;
                        break;
                }
                n = poll(&p, 1, (int)left);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n == 0)
                        continue;
                n = recv(fd, buf + len, sizeof(buf) - 1 - len, MSG_DONTWAIT);
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        continue;
                if (n < 0) {
                        r = -errno;
                        break;
                }
                len += (size_t)n;
                if (n == 0 || type == SOCK_DGRAM || len == sizeof(buf) - 1)
                        break;
        }
        close(fd);
        if (r == 0 && len == 0)
                r = -ENODATA;
        if (r < 0)
                return r;
        buf[len] = 0;
        *reply = strdup(buf);
        ck_assert_ptr_nonnull(*reply);
        return 0;
}

/* Reads a connected socket to EOF within timeout_ms: the text (malloc'd), or NULL. */
static char *recv_all(int fd, int timeout_ms) {
        int64_t deadline = dl_now_ms() + timeout_ms;
        char buf[1024];
        size_t len = 0;

        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                int64_t left = deadline - dl_now_ms();
                ssize_t n;

                if (left <= 0)
                        return NULL;
                if (poll(&p, 1, (int)left) <= 0)
                        continue;
                n = recv(fd, buf + len, sizeof(buf) - 1 - len, MSG_DONTWAIT);
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        continue;
                if (n < 0)
                        return NULL;
                len += (size_t)n;
                if (n == 0 || len == sizeof(buf) - 1)
                        break;
        }
        buf[len] = 0;
        return strdup(buf);
}

/* The value of key in a reply "pid=1 fd=3 name=x ..." (malloc'd), or NULL. */
static char *reply_field(const char *reply, const char *key) {
        size_t klen = strlen(key);

        for (const char *p = reply; p && *p; p = strchr(p, ' ') ? strchr(p, ' ') + 1 : NULL)
                if (!strncmp(p, key, klen) && p[klen] == '=')
                        return strndup(p + klen + 1, strcspn(p + klen + 1, " \n"));
        return NULL;
}

static long reply_long(const char *reply, const char *key) {
        char *v = reply_field(reply, key);
        long n = v ? strtol(v, NULL, 10) : -1;

        free(v);
        return n;
}

static long unit_pid(struct dl_daemon *d, const char *name) {
        json_t *svc = dl_status(d, name);
        long pid = (long)dl_int(svc, "pid");

        json_decref(svc);
        return pid;
}

/* Asks a (a socket of `unit`) and checks that the main process of unit answered, from
 * descriptor fd under the name fdname (and, for the Python consumer, that it says so).
 * Returns the reply (malloc'd). */
static char *expect_served(struct dl_daemon *d, const char *unit, bool python, const struct addr *a, int type, int fd,
                           const char *fdname) {
        char *reply = NULL, *name;
        long pid = unit_pid(d, unit);
        int r = ask(a, type, 5000, &reply);

        dl_assert(d, r == 0, "%s: asking %s (%s): %s", unit, a->text, type == SOCK_DGRAM ? "datagram" : "connection",
                  strerror(-r));
        name = reply_field(reply, "name");
        dl_assert(d, reply_long(reply, "pid") == pid, "%s: the answer on %s \"%s\" is not from its main pid %ld", unit,
                  a->text, reply, pid);
        dl_assert(d, reply_long(reply, "fd") == fd, "%s: the answer on %s \"%s\" is not from fd %d", unit, a->text,
                  reply, fd);
        dl_assert(d, name && !strcmp(name, fdname), "%s: the answer on %s \"%s\": name is not \"%s\"", unit, a->text,
                  reply, fdname);
        dl_assert(d, !python || strstr(reply, "lang=python"), "%s: the answer \"%s\" is not from the Python consumer",
                  unit, reply);
        free(name);
        return reply;
}

/* Writes DIR/units/NAME.socket. */
static char *write_socket_file(struct dl_daemon *d, const char *name, const char *text) {
        char *path = pv_test_fmt("%s/%s.socket", d->units, name);

        pv_test_write_file(path, text, 0644);
        return path;
}

/* Waits until path holds at least n lines; returns its text (malloc'd). */
static char *wait_lines(struct dl_daemon *d, const char *path, int n, int timeout_ms) {
        int64_t deadline = dl_now_ms() + timeout_ms;

        for (;;) {
                char *text = dl_read_file(path);
                int lines = 0;

                for (const char *p = text; p && (p = strchr(p, '\n')); p++)
                        lines++;
                if (lines >= n)
                        return text;
                if (dl_now_ms() > deadline)
                        dl_fail(d, "%s has %d lines after %d ms, expected %d:\n%s", path, lines, timeout_ms, n,
                                text ? text : "(missing)");
                free(text);
                dl_sleep_ms(5);
        }
}

static bool running_with_other_pid(json_t *svc, void *arg) {
        return !strcmp(dl_str(svc, "state"), "running") && dl_int(svc, "pid") > 0 &&
               dl_int(svc, "pid") != *(long long *)arg;
}

/* ---- 1. the consumers serve ---- */

/* Each test writes a C unit ("c-...") and a Python unit ("py-...") with [Socket] lines of
 * their own (two units cannot bind one address). */
#define FOR_BOTH_CONSUMERS(py) for (int py = 0; py < 2; py++)
static const char *consumer_unit(int py, const char *what) {
        static char name[2][64];

        snprintf(name[py], sizeof(name[py]), "%s-%s", py ? "py" : "c", what);
        return name[py];
}

/* ListenStream=127.0.0.1:PORT; the default descriptor name is NAME.socket. */
START_TEST(test_serve_inet4) {
        struct dl_daemon d;
        struct addr a[2];

        dl_init(&d);
        FOR_BOTH_CONSUMERS(py) {
                char *exec = exec_start(py, NULL);
                a[py] = addr_ip("127.0.0.1", free_port());
                dl_write_unit(&d, consumer_unit(py, "inet4"), "[Socket]\nListenStream=%s\n[Service]\n%s\n", a[py].text,
                              exec);
                free(exec);
        }
        dl_start(&d, NULL);
        FOR_BOTH_CONSUMERS(py) {
                const char *unit = consumer_unit(py, "inet4");
                char *want = pv_test_fmt("%s.socket", unit);
                dl_cli_ok(&d, "start", unit, NULL);
                /* Several connections, all to the one process. */
                for (int i = 0; i < 3; i++)
                        free(expect_served(&d, unit, py, &a[py], SOCK_STREAM, 3, want));
                free(want);
        }
        dl_done(&d);
}
END_TEST

/* ListenStream=/path: the directories are made with DirectoryMode=, the socket file gets
 * SocketMode= and SocketUser=/SocketGroup= (root only: chown). */
START_TEST(test_serve_unix_path) {
        struct passwd *nobody = getpwnam("nobody");
        struct group *daemon_group = getgrnam("daemon");
        struct dl_daemon d;
        char *path[2];

        ck_assert_msg(nobody && daemon_group, "no user nobody or group daemon");
        dl_init(&d);
        FOR_BOTH_CONSUMERS(py) {
                char *exec = exec_start(py, NULL);
                path[py] = pv_test_fmt("%s/run/%s/x.sock", d.dir, py ? "py" : "c");
                dl_write_unit(&d, consumer_unit(py, "unix"),
                              "[Socket]\nListenStream=%s\nSocketMode=0660\nDirectoryMode=0750\n"
                              "SocketUser=nobody\nSocketGroup=daemon\nFileDescriptorName=local\n[Service]\n%s\n",
                              path[py], exec);
                free(exec);
        }
        dl_start(&d, NULL);
        FOR_BOTH_CONSUMERS(py) {
                const char *unit = consumer_unit(py, "unix");
                struct addr a = addr_unix(path[py]);
                char *dir = strndup(path[py], strrchr(path[py], '/') - path[py]);
                struct stat st;

                /* Bound at load: the file is there before the service ever ran. */
                dl_assert(&d, stat(path[py], &st) == 0, "stat %s: %s", path[py], strerror(errno));
                dl_assert(&d, S_ISSOCK(st.st_mode), "%s is not a socket (mode %o)", path[py], st.st_mode);
                dl_assert(&d, (st.st_mode & 07777) == 0660, "%s has mode %04o, SocketMode=0660", path[py],
                          st.st_mode & 07777);
                dl_assert(&d, st.st_uid == nobody->pw_uid && st.st_gid == daemon_group->gr_gid,
                          "%s is owned by %u:%u, SocketUser=nobody (%u) SocketGroup=daemon (%u)", path[py],
                          st.st_uid, st.st_gid, nobody->pw_uid, daemon_group->gr_gid);
                dl_assert(&d, stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0750,
                          "%s: mode %04o, DirectoryMode=0750", dir, st.st_mode & 07777);
                free(dir);
                dl_cli_ok(&d, "start", unit, NULL);
                free(expect_served(&d, unit, py, &a, SOCK_STREAM, 3, "local"));
                free(path[py]);
        }
        dl_done(&d);
}
END_TEST

/* ListenStream=@name: an abstract socket. */
START_TEST(test_serve_abstract) {
        struct dl_daemon d;
        char *name[2];

        dl_init(&d);
        FOR_BOTH_CONSUMERS(py) {
                char *exec = exec_start(py, NULL);
                name[py] = abstract_name(py ? "py" : "c");
                dl_write_unit(&d, consumer_unit(py, "abstract"), "[Socket]\nListenStream=@%s\nFileDescriptorName=abs\n"
                              "[Service]\n%s\n", name[py], exec);
                free(exec);
        }
        dl_start(&d, NULL);
        FOR_BOTH_CONSUMERS(py) {
                const char *unit = consumer_unit(py, "abstract");
                struct addr a = addr_abstract(name[py]);

                dl_cli_ok(&d, "start", unit, NULL);
                free(expect_served(&d, unit, py, &a, SOCK_STREAM, 3, "abs"));
                free(name[py]);
        }
        dl_done(&d);
}
END_TEST

/* ListenDatagram= on UDP and on a unix path: the consumer answers each datagram. */
START_TEST(test_serve_datagram) {
        struct dl_daemon d;
        struct addr udp[2], un[2];

        dl_init(&d);
        FOR_BOTH_CONSUMERS(py) {
                char *exec = exec_start(py, NULL), *path = pv_test_fmt("%s/%s.dgram", d.dir, py ? "py" : "c");
                udp[py] = addr_ip("127.0.0.1", free_port());
                un[py] = addr_unix(path);
                dl_write_unit(&d, consumer_unit(py, "dgram"),
                              "[Socket]\nListenDatagram=%s\nListenDatagram=%s\nFileDescriptorName=dg\n[Service]\n%s\n",
                              udp[py].text, path, exec);
                free(path);
                free(exec);
        }
        dl_start(&d, NULL);
        FOR_BOTH_CONSUMERS(py) {
                const char *unit = consumer_unit(py, "dgram");

                dl_cli_ok(&d, "start", unit, NULL);
                for (int i = 0; i < 2; i++) {
                        free(expect_served(&d, unit, py, &udp[py], SOCK_DGRAM, 3, "dg"));
                        free(expect_served(&d, unit, py, &un[py], SOCK_DGRAM, 4, "dg"));
                }
        }
        dl_done(&d);
}
END_TEST

/* ListenStream=[::1]:PORT: served over ::1, and nothing listens on 127.0.0.1:PORT. */
START_TEST(test_serve_ipv6) {
        struct dl_daemon d;
        unsigned port[2];

        dl_init(&d);
        FOR_BOTH_CONSUMERS(py) {
                char *exec = exec_start(py, NULL);
                port[py] = free_port();
                dl_write_unit(&d, consumer_unit(py, "ipv6"), "[Socket]\nListenStream=[::1]:%u\nFileDescriptorName=six\n"
                              "[Service]\n%s\n", port[py], exec);
                free(exec);
        }
        dl_start(&d, NULL);
        FOR_BOTH_CONSUMERS(py) {
                const char *unit = consumer_unit(py, "ipv6");
                struct addr a6 = addr_ip("::1", port[py]), a4 = addr_ip("127.0.0.1", port[py]);
                char *reply = NULL;
                int r;

                dl_cli_ok(&d, "start", unit, NULL);
                reply = expect_served(&d, unit, py, &a6, SOCK_STREAM, 3, "six");
                dl_assert(&d, !py || strstr(reply, "family=AF_INET6"), "%s: \"%s\" is not from an AF_INET6 socket", unit,
                          reply);
                free(reply);
                r = ask(&a4, SOCK_STREAM, 2000, &reply);
                dl_assert(&d, r == -ECONNREFUSED, "%s: %s answered %s (\"%s\"), but only [::1] is listened on", unit,
                          a4.text, r ? strerror(-r) : "ok", reply ? reply : "");
        }
        dl_done(&d);
}
END_TEST

/* ListenStream=PORT: every address, both families, on one socket ([::]:PORT, dual-stack). */
START_TEST(test_serve_port_only) {
        struct dl_daemon d;
        unsigned port[2];

        dl_init(&d);
        FOR_BOTH_CONSUMERS(py) {
                char *exec = exec_start(py, NULL);
                port[py] = free_port();
                dl_write_unit(&d, consumer_unit(py, "any"), "[Socket]\nListenStream=%u\nFileDescriptorName=any\n"
                              "[Service]\n%s\n", port[py], exec);
                free(exec);
        }
        dl_start(&d, NULL);
        FOR_BOTH_CONSUMERS(py) {
                const char *unit = consumer_unit(py, "any");
                struct addr a4 = addr_ip("127.0.0.1", port[py]), a6 = addr_ip("::1", port[py]);
                char *r4, *r6;

                dl_cli_ok(&d, "start", unit, NULL);
                r4 = expect_served(&d, unit, py, &a4, SOCK_STREAM, 3, "any");
                r6 = expect_served(&d, unit, py, &a6, SOCK_STREAM, 3, "any");
                dl_assert(&d, !py || (strstr(r4, "family=AF_INET6") && strstr(r6, "family=AF_INET6")),
                          "%s: \"%s\" and \"%s\" should both come from the one AF_INET6 socket", unit, r4, r6);
                free(r4);
                free(r6);
        }
        dl_done(&d);
}
END_TEST

/* Several Listen lines of different kinds: passed in the order written, each named by
 * FileDescriptorName=; the C fixture's description shows each descriptor as it came. */
START_TEST(test_serve_several_in_order) {
        struct dl_daemon d;
        struct addr tcp[3], udp[3], seq[3], un[3];
        char *out = NULL, *text, *want;

        dl_init(&d);
        /* py = 2: a third unit, the C fixture's `describe`. */
        for (int py = 0; py < 3; py++) {
                char *exec, *seqname = abstract_name(py == 2 ? "seq-d" : py ? "seq-py" : "seq-c"),
                            *path = pv_test_fmt("%s/multi-%d.sock", d.dir, py);

                if (py == 2) {
                        out = dl_path(&d, "describe.out");
                        exec = pv_test_fmt("ExecStart=%s describe %s", listen_fixture(), out);
                } else
                        exec = exec_start(py, NULL);
                tcp[py] = addr_ip("127.0.0.1", free_port());
                udp[py] = addr_ip("127.0.0.1", free_port());
                seq[py] = addr_abstract(seqname);
                un[py] = addr_unix(path);
                dl_write_unit(&d, py == 2 ? "desc-multi" : consumer_unit(py, "multi"),
                              "[Socket]\nListenStream=%s\nListenDatagram=%s\nListenSequentialPacket=@%s\n"
                              "ListenStream=%s\nFileDescriptorName=multi\n[Service]\n%s\n",
                              tcp[py].text, udp[py].text, seqname, path, exec);
                free(exec);
                free(seqname);
                free(path);
        }
        dl_start(&d, NULL);
        FOR_BOTH_CONSUMERS(py) {
                const char *unit = consumer_unit(py, "multi");

                dl_cli_ok(&d, "start", unit, NULL);
                free(expect_served(&d, unit, py, &tcp[py], SOCK_STREAM, 3, "multi"));
                free(expect_served(&d, unit, py, &udp[py], SOCK_DGRAM, 4, "multi"));
                free(expect_served(&d, unit, py, &seq[py], SOCK_SEQPACKET, 5, "multi"));
                free(expect_served(&d, unit, py, &un[py], SOCK_STREAM, 6, "multi"));
        }
        dl_cli_ok(&d, "start", "desc-multi", NULL);
        text = wait_lines(&d, out, 1, 5000);
        want = pv_test_fmt("LISTEN_FDS=4\nLISTEN_PID=self\nLISTEN_FDNAMES=multi:multi:multi:multi\n"
                           "LISTEN_PIDFDID=unset\nlib=4 multi:multi:multi:multi\n"
                           "fd=3 type=stream family=inet accepting=1 nonblock=0 cloexec=0 reuseaddr=1 reuseport=0 "
                           "backlog=%d v6only=- local=%s\n"
                           "fd=4 type=datagram family=inet accepting=0 nonblock=0 cloexec=0 reuseaddr=1 reuseport=0 "
                           "backlog=- v6only=- local=%s\n"
                           "fd=5 type=seqpacket family=unix accepting=1 nonblock=0 cloexec=0 reuseaddr=1 reuseport=0 "
                           "backlog=- v6only=- local=%s\n"
                           "fd=6 type=stream family=unix accepting=1 nonblock=0 cloexec=0 reuseaddr=1 reuseport=0 "
                           "backlog=- v6only=- local=%s\n"
                           "other_fds=none\n",
                           default_backlog(), tcp[2].text, udp[2].text, seq[2].text, un[2].text);
        dl_assert(&d, !strcmp(text, want), "what desc-multi was given:\n%s\nexpected:\n%s", text, want);
        free(text);
        free(want);
        free(out);
        dl_done(&d);
}
END_TEST

/* NonBlocking=, ReusePort=, BindIPv6Only=, Backlog= reach the socket; without them it is
 * blocking, without SO_REUSEPORT, with the default queue, and a bare port is dual-stack. */
START_TEST(test_socket_options) {
        struct dl_daemon d;
        unsigned p1 = free_port(), p2 = free_port();
        char *out1, *out2, *t1, *t2, *w1, *w2, *reply = NULL;
        struct addr a4 = addr_ip("127.0.0.1", p1), a6 = addr_ip("::1", p1);
        int r;

        dl_init(&d);
        out1 = dl_path(&d, "opts.out");
        out2 = dl_path(&d, "plain.out");
        dl_write_unit(&d, "opts", "[Socket]\nListenStream=%u\nNonBlocking=yes\nReusePort=yes\nBindIPv6Only=ipv6-only\n"
                      "Backlog=16\nFileDescriptorName=opts\n[Service]\nExecStart=%s describe %s\n",
                      p1, listen_fixture(), out1);
        dl_write_unit(&d, "plain", "[Socket]\nListenStream=%u\nFileDescriptorName=plain\n[Service]\n"
                      "ExecStart=%s describe %s\n", p2, listen_fixture(), out2);
        dl_start(&d, NULL);
        dl_cli_ok(&d, "start", "opts", NULL);
        dl_cli_ok(&d, "start", "plain", NULL);
        t1 = wait_lines(&d, out1, 7, 5000);
        t2 = wait_lines(&d, out2, 7, 5000);
        w1 = pv_test_fmt("fd=3 type=stream family=inet6 accepting=1 nonblock=1 cloexec=0 reuseaddr=1 reuseport=1 "
                         "backlog=16 v6only=1 local=[::]:%u\n", p1);
        w2 = pv_test_fmt("fd=3 type=stream family=inet6 accepting=1 nonblock=0 cloexec=0 reuseaddr=1 reuseport=0 "
                         "backlog=%d v6only=0 local=[::]:%u\n", default_backlog(), p2);
        dl_assert(&d, strstr(t1, w1), "opts was given:\n%s\nexpected the line:\n%s", t1, w1);
        dl_assert(&d, strstr(t2, w2), "plain was given:\n%s\nexpected the line:\n%s", t2, w2);
        /* ipv6-only: ::1 is served (the fixture serves after describing), 127.0.0.1 not. */
        free(expect_served(&d, "opts", false, &a6, SOCK_STREAM, 3, "opts"));
        r = ask(&a4, SOCK_STREAM, 2000, &reply);
        dl_assert(&d, r == -ECONNREFUSED, "%s answered %s with BindIPv6Only=ipv6-only", a4.text,
                  r ? strerror(-r) : reply);
        free(t1);
        free(t2);
        free(w1);
        free(w2);
        free(out1);
        free(out2);
        dl_done(&d);
}
END_TEST

/* ---- 2. the reference producer ---- */

/* Runs `systemd-socket-activate ARGS... $PV_LISTEN describe OUT` in a process group of its
 * own, its output going to log. */
static pid_t socket_activate(const char *const *args, const char *out, const char *log) {
        const char *argv[16];
        size_t n = 0;
        pid_t parent = getpid(), pid;

        argv[n++] = SOCKET_ACTIVATE;
        for (size_t i = 0; args[i]; i++)
                argv[n++] = args[i];
        argv[n++] = listen_fixture();
        argv[n++] = "describe";
        argv[n++] = out;
        argv[n] = NULL;
        fflush(NULL);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
                setpgid(0, 0);
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (getppid() != parent || fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
                        _exit(127);
                execv(argv[0], (char *const *)argv);
                _exit(127);
        }
        return pid;
}

/* Waits until systemd-socket-activate says it listens on its n addresses ("Listening on
 * ADDR as FD." each), then sends the exchange that makes it exec the program: a datagram
 * sent before it had bound would be lost, not refused. */
static void trigger(struct dl_daemon *d, const char *log, int n, const struct addr *a, int type) {
        int64_t deadline = dl_now_ms() + 5000;
        char *reply = NULL, *text;
        int r, seen;

        for (;;) {
                text = dl_read_file(log);
                seen = 0;
                for (const char *p = text; p && (p = strstr(p, "Listening on ")); p++)
                        seen++;
                if (seen >= n)
                        break;
                if (dl_now_ms() > deadline)
                        dl_fail(d, "systemd-socket-activate does not listen on %d addresses within 5 s:\n%s", n,
                                text ? text : "(no output)");
                free(text);
                dl_sleep_ms(5);
        }
        r = ask(a, type, 5000, &reply);
        dl_assert(d, r == 0, "%s: %s; systemd-socket-activate said:\n%s", a->text, strerror(-r), text);
        free(text);
        free(reply);
}

/* Replaces every occurrence of `from` by `to` (in place: to is not longer). */
static void replace_all(char *text, const char *from, const char *to) {
        size_t fl = strlen(from), tl = strlen(to);
        char *p;

        ck_assert_uint_le(tl, fl);
        while ((p = strstr(text, from))) {
                memcpy(p, to, tl);
                memmove(p + tl, p + fl, strlen(p + fl) + 1);
        }
}

/* One side of the comparison with the reference producer: the addresses it listens on
 * (its own, since both run at once) and where its program writes what it was given. */
struct side {
        unsigned port, any_port, dport;
        char *path, *dpath, *abs, *out, *dout;
};

static void side_init(struct dl_daemon *d, struct side *sd, const char *who) {
        sd->port = free_port();
        sd->any_port = free_port();
        sd->dport = free_port();
        sd->path = pv_test_fmt("%s/%s.sock", d->dir, who);
        sd->dpath = pv_test_fmt("%s/%s.dgram", d->dir, who);
        sd->abs = abstract_name(who);
        sd->out = pv_test_fmt("%s/%s.out", d->dir, who);
        sd->dout = pv_test_fmt("%s/%s-dgram.out", d->dir, who);
}

static void side_done(struct side *sd) {
        free(sd->path);
        free(sd->dpath);
        free(sd->abs);
        free(sd->out);
        free(sd->dout);
}

/* The side's ports, paths and abstract name in text replaced by placeholders. */
static void side_normalize(const struct side *sd, char *text) {
        char from[64];

        snprintf(from, sizeof(from), ":%u\n", sd->port);
        replace_all(text, from, ":P1\n");
        snprintf(from, sizeof(from), ":%u\n", sd->any_port);
        replace_all(text, from, ":P2\n");
        snprintf(from, sizeof(from), ":%u\n", sd->dport);
        replace_all(text, from, ":P3\n");
        replace_all(text, sd->path, "PATH");
        replace_all(text, sd->dpath, "DPATH");
        replace_all(text, sd->abs, "ABS");
}

/* What systemd-socket-activate hands a program and what the daemon hands it for the
 * equivalent unit are the same but for the addresses (ports, paths, names): stream
 * sockets on 127.0.0.1:PORT, a path, an abstract name and a bare port (dual-stack
 * [::]:PORT); then datagram sockets on 127.0.0.1:PORT and a path (--datagram).  Compared:
 * LISTEN_FDS, LISTEN_PID (== the program's pid), LISTEN_FDNAMES, LISTEN_PIDFDID, and per
 * descriptor its type, family, SO_ACCEPTCONN, O_NONBLOCK, FD_CLOEXEC, SO_REUSEADDR,
 * SO_REUSEPORT, the accept queue's limit, IPV6_V6ONLY, the local address; and that no
 * other descriptor is open. */
START_TEST(test_compare_with_reference) {
        struct dl_daemon d;
        struct side ref, pv;
        char *ref_text, *pv_text, *ref_dtext, *pv_dtext, *l[6], *log, *dlog;
        struct addr trig, dtrig;
        pid_t ssa, ssa_d;
        int st;

        dl_init(&d);
        side_init(&d, &ref, "ref");
        side_init(&d, &pv, "pv");
        l[0] = pv_test_fmt("--listen=127.0.0.1:%u", ref.port);
        l[1] = pv_test_fmt("--listen=%s", ref.path);
        l[2] = pv_test_fmt("--listen=@%s", ref.abs);
        l[3] = pv_test_fmt("--listen=%u", ref.any_port);
        l[4] = pv_test_fmt("--listen=127.0.0.1:%u", ref.dport);
        l[5] = pv_test_fmt("--listen=%s", ref.dpath);
        {
                const char *args[] = { l[0], l[1], l[2], l[3], "--fdname=web:web:web:web", NULL };
                const char *dargs[] = { "--datagram", l[4], l[5], "--fdname=dg:dg", NULL };
                log = dl_path(&d, "ssa.log");
                dlog = dl_path(&d, "ssa-dgram.log");
                ssa = socket_activate(args, ref.out, log);
                ssa_d = socket_activate(dargs, ref.dout, dlog);
        }
        /* It listens, and execs the program on the first connection or datagram. */
        trig = addr_ip("127.0.0.1", ref.port);
        dtrig = addr_ip("127.0.0.1", ref.dport);
        trigger(&d, log, 4, &trig, SOCK_STREAM);
        trigger(&d, dlog, 2, &dtrig, SOCK_DGRAM);
        ref_text = wait_lines(&d, ref.out, 10, 5000);
        ref_dtext = wait_lines(&d, ref.dout, 8, 5000);
        kill(ssa, SIGKILL);
        kill(ssa_d, SIGKILL);
        ck_assert_int_eq(waitpid(ssa, &st, 0), ssa);
        ck_assert_int_eq(waitpid(ssa_d, &st, 0), ssa_d);

        dl_write_unit(&d, "web", "[Socket]\nListenStream=127.0.0.1:%u\nListenStream=%s\nListenStream=@%s\n"
                      "ListenStream=%u\nFileDescriptorName=web\n[Service]\nExecStart=%s describe %s\n",
                      pv.port, pv.path, pv.abs, pv.any_port, listen_fixture(), pv.out);
        dl_write_unit(&d, "dg", "[Socket]\nListenDatagram=127.0.0.1:%u\nListenDatagram=%s\nFileDescriptorName=dg\n"
                      "[Service]\nExecStart=%s describe %s\n", pv.dport, pv.dpath, listen_fixture(), pv.dout);
        dl_start(&d, NULL);
        dl_cli_ok(&d, "start", "web", NULL);
        dl_cli_ok(&d, "start", "dg", NULL);
        pv_text = wait_lines(&d, pv.out, 10, 5000);
        pv_dtext = wait_lines(&d, pv.dout, 8, 5000);

        /* The essentials, stated on their own; then everything must match. */
        dl_assert(&d, strstr(pv_text, "LISTEN_FDS=4\nLISTEN_PID=self\nLISTEN_FDNAMES=web:web:web:web\n") &&
                              strstr(pv_text, "fd=3 type=stream family=inet accepting=1 nonblock=0 cloexec=0 "),
                  "the daemon gave:\n%s", pv_text);
        dl_assert(&d, strstr(pv_dtext, "LISTEN_FDS=2\nLISTEN_PID=self\nLISTEN_FDNAMES=dg:dg\n") &&
                              strstr(pv_dtext, "fd=3 type=datagram family=inet accepting=0 nonblock=0 cloexec=0 "),
                  "the daemon gave:\n%s", pv_dtext);
        side_normalize(&ref, ref_text);
        side_normalize(&ref, ref_dtext);
        side_normalize(&pv, pv_text);
        side_normalize(&pv, pv_dtext);
        dl_assert(&d, !strcmp(ref_text, pv_text),
                  "stream sockets: systemd-socket-activate gave\n%s\nand pidvisor gave\n%s", ref_text, pv_text);
        dl_assert(&d, !strcmp(ref_dtext, pv_dtext),
                  "datagram sockets: systemd-socket-activate gave\n%s\nand pidvisor gave\n%s", ref_dtext, pv_dtext);
        fprintf(stderr, "systemd-socket-activate and pidvisor gave the same (addresses aside):\n%s%s", pv_text,
                pv_dtext);
        for (size_t i = 0; i < 6; i++)
                free(l[i]);
        free(log);
        free(dlog);
        free(ref_text);
        free(pv_text);
        free(ref_dtext);
        free(pv_dtext);
        side_done(&ref);
        side_done(&pv);
        dl_done(&d);
}
END_TEST

/* ---- 3. a crash loop refuses nothing ---- */

struct loop_result {
        int replies, refused, reset, other, attempts;
        int64_t ms;
        char first_other[128];
};

/* Sequential exchanges with a (connect, read the reply, close) until `want` replies came
 * or deadline_ms passed.  A refusal is retried after 1 ms. */
static void client_loop(const struct addr *a, int want, int deadline_ms, struct loop_result *res) {
        int64_t start = dl_now_ms(), deadline = start + deadline_ms;

        memset(res, 0, sizeof(*res));
        while (res->replies < want && dl_now_ms() < deadline) {
                char *reply = NULL;
                int r = ask(a, SOCK_STREAM, 3000, &reply);

                res->attempts++;
                if (r == 0 && !strncmp(reply, "pid=", 4))
                        res->replies++;
                else if (r == -ECONNREFUSED) {
                        res->refused++;
                        dl_sleep_ms(1);
                } else if (r == -ECONNRESET || r == -ENODATA || r == -EPIPE)
                        res->reset++;
                else {
                        if (!res->other)
                                snprintf(res->first_other, sizeof(res->first_other), "%s",
                                         r ? strerror(-r) : reply);
                        res->other++;
                }
                free(reply);
        }
        res->ms = dl_now_ms() - start;
}

/* A server that exits 1 after every connection, restarted at once (Restart=always,
 * RestartSec=0, no start limit): 200 sequential clients see 200 replies and not one
 * refusal or reset, since the listening socket (and its queue) is the daemon's.  The same
 * loop against the same server binding its own port sees refusals. */
START_TEST(test_crash_loop_refuses_nothing) {
        struct dl_daemon d;
        unsigned p_act = free_port(), p_self = free_port();
        struct addr a_act = addr_ip("127.0.0.1", p_act), a_self = addr_ip("127.0.0.1", p_self);
        struct loop_result act, self;
        json_t *svc;
        long long restarts;

        dl_init(&d);
        dl_write_unit(&d, "act", "[Socket]\nListenStream=%s\n[Service]\nExecStart=%s serve --exit-after 1\n"
                      "Restart=always\nRestartSec=0\nStartLimitIntervalSec=0\n", a_act.text, listen_fixture());
        dl_write_unit(&d, "self", "[Service]\nExecStart=%s self-bind %u --exit-after 1\n"
                      "Restart=always\nRestartSec=0\nStartLimitIntervalSec=0\n", listen_fixture(), p_self);
        /* --log-level info: a debug line per restart would only slow the daemon down. */
        dl_start(&d, "--log-level", "info", NULL);

        dl_cli_ok(&d, "start", "act", NULL);
        client_loop(&a_act, 200, 15000, &act);
        svc = dl_status(&d, "act");
        restarts = dl_int(svc, "restarts");
        json_decref(svc);
        dl_cli_ok(&d, "stop", "act", NULL);
        fprintf(stderr, "socket-activated crash loop: %d replies, %d refused, %d reset, %d other in %d attempts, "
                "%lld restarts, %lld ms\n", act.replies, act.refused, act.reset, act.other, act.attempts, restarts,
                (long long)act.ms);
        dl_assert(&d, act.replies == 200, "%d replies of 200 within 15 s (%d refused, %d reset, %d other: %s)",
                  act.replies, act.refused, act.reset, act.other, act.first_other);
        dl_assert(&d, act.refused == 0 && act.reset == 0 && act.other == 0,
                  "a socket-activated server refused %d, reset %d, failed %d (%s) of %d connections", act.refused,
                  act.reset, act.other, act.first_other, act.attempts);
        dl_assert(&d, restarts >= 199, "only %lld restarts for 200 connections that each end the server", restarts);

        dl_cli_ok(&d, "start", "self", NULL);
        client_loop(&a_self, 100, 4000, &self);
        dl_cli_ok(&d, "stop", "self", NULL);
        fprintf(stderr, "self-bound crash loop: %d replies, %d refused, %d reset, %d other (%s) in %d attempts, %lld ms\n",
                self.replies, self.refused, self.reset, self.other, self.other ? self.first_other : "-", self.attempts,
                (long long)self.ms);
        dl_assert(&d, self.replies >= 10, "the self-binding server answered only %d times", self.replies);
        dl_assert(&d, self.refused + self.reset > 0,
                  "the self-binding server refused nothing in %d attempts: the loop cannot see refusals",
                  self.attempts);
        dl_done(&d);
}
END_TEST

/* ---- 4. errors ---- */

/* Binds and listens on a, as another program holding the port would; the descriptor. */
static int hold_port(const struct addr *a) {
        int fd = socket(a->u.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

        ck_assert_int_ge(fd, 0);
        ck_assert_msg(bind(fd, &a->u.sa, a->len) == 0 && listen(fd, 1) == 0, "holding %s: %s", a->text,
                      strerror(errno));
        return fd;
}

/* Held ports: each unit fails at load with file:line, key, value and the errno (both
 * forms: [Socket] in NAME.service and NAME.socket), `status` says its socket is not
 * bound, the other units run, a start while the port is held fails the same way, and
 * once the port is free a start binds and serves; the socket then stays the daemon's
 * while the service is stopped. */
START_TEST(test_address_in_use) {
        struct dl_daemon d;
        struct addr held = addr_ip("127.0.0.1", free_port()), held2 = addr_ip("127.0.0.1", free_port()),
                    other = addr_ip("127.0.0.1", free_port());
        int hold = hold_port(&held), hold2 = hold_port(&held2), probe;
        char *want_svc, *want_sock, *sockfile, *sockfile_text;
        struct dl_cli r;
        json_t *svc;

        dl_init(&d);
        /* ListenStream= on line 3 of busy.service, line 4 of busy2.socket. */
        dl_write_unit(&d, "busy", "[Unit]\n[Socket]\nListenStream=%s\n[Service]\nExecStart=%s serve\n", held.text,
                      listen_fixture());
        dl_write_unit(&d, "busy2", "[Service]\nExecStart=%s serve\n", listen_fixture());
        sockfile_text = pv_test_fmt("[Unit]\nDescription=the second\n[Socket]\nListenStream=%s\n", held2.text);
        sockfile = write_socket_file(&d, "busy2", sockfile_text);
        dl_write_unit(&d, "other", "[Socket]\nListenStream=%s\n[Service]\nExecStart=%s serve\n", other.text,
                      listen_fixture());
        dl_start(&d, NULL);

        want_svc = pv_test_fmt("socket: %s/busy.service:3: ListenStream=%s: bind: Address already in use", d.units,
                               held.text);
        want_sock = pv_test_fmt("socket: %s:4: ListenStream=%s: bind: Address already in use", sockfile, held2.text);
        svc = dl_wait_state(&d, "busy", "failed", 5000);
        dl_assert(&d, !strcmp(dl_str(svc, "reason"), want_svc), "busy: reason \"%s\", expected \"%s\"",
                  dl_str(svc, "reason"), want_svc);
        json_decref(svc);
        svc = dl_wait_state(&d, "busy2", "failed", 5000);
        dl_assert(&d, !strcmp(dl_str(svc, "reason"), want_sock), "busy2: reason \"%s\", expected \"%s\"",
                  dl_str(svc, "reason"), want_sock);
        json_decref(svc);
        dl_assert(&d, dl_log_count(&d, "bind: Address already in use") >= 2, "the daemon log does not say why");

        /* The others run. */
        dl_cli_ok(&d, "start", "other", NULL);
        free(expect_served(&d, "other", false, &other, SOCK_STREAM, 3, "other.socket"));

        /* `pidvisor status busy` says the socket is not bound, and why. */
        r = dl_cli_run(&d, "status", "busy", NULL);
        dl_assert(&d, r.code == 0 && strstr(r.out, ", not bound") && strstr(r.out, "Address already in use"),
                  "`pidvisor status busy` exited %d:\n%s", r.code, r.out);
        dl_cli_done(&r);

        /* Still held: a start fails, saying why. */
        r = dl_cli_run(&d, "start", "busy", NULL);
        dl_assert(&d, r.code != 0 && strstr(r.err, "busy.service:3: ListenStream=") &&
                              strstr(r.err, "Address already in use"),
                  "start busy while the port is held exited %d: \"%s\"", r.code, r.err);
        dl_cli_done(&r);
        svc = dl_status(&d, "busy");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "failed") && !strcmp(dl_str(svc, "reason"), want_svc),
                  "busy: %s \"%s\" after a start while the port is held", dl_str(svc, "state"), dl_str(svc, "reason"));
        json_decref(svc);

        /* Freed: the next start binds. */
        close(hold);
        close(hold2);
        dl_cli_ok(&d, "start", "busy", NULL);
        free(expect_served(&d, "busy", false, &held, SOCK_STREAM, 3, "busy.socket"));
        dl_cli_ok(&d, "start", "busy2", NULL);
        free(expect_served(&d, "busy2", false, &held2, SOCK_STREAM, 3, "busy2.socket"));

        /* Stopped, the unit keeps its socket: the port is still taken. */
        dl_cli_ok(&d, "stop", "busy", NULL);
        probe = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(probe, 0);
        dl_assert(&d, bind(probe, &held.u.sa, held.len) < 0 && errno == EADDRINUSE,
                  "%s could be bound again after `stop busy`: the daemon let go of the socket", held.text);
        close(probe);
        free(want_svc);
        free(want_sock);
        free(sockfile);
        free(sockfile_text);
        dl_done(&d);
}
END_TEST

static const char *need_root_setpriv_low_port(void) {
        const char *missing = pv_test_need_root();
        FILE *f;
        int start = -1;

        if (missing)
                return missing;
        if (access(SETPRIV, X_OK) != 0)
                return SETPRIV " is missing (apt-get install util-linux)";
        if (!getpwuid(65534))
                return "no user with uid 65534 (nobody)";
        /* Plain stdio: this runs outside any test, where Check's asserts may not be used. */
        f = fopen("/proc/sys/net/ipv4/ip_unprivileged_port_start", "re");
        if (!f || fscanf(f, "%d", &start) != 1)
                start = -1;
        if (f)
                fclose(f);
        if (start <= 81)
                return "net.ipv4.ip_unprivileged_port_start is not above 81: any user may bind port 81";
        return NULL;
}

/* A daemon running as nobody (setpriv): ListenStream=127.0.0.1:81 fails with
 * "Permission denied" naming file and line; another unit binds a high port and serves. */
START_TEST(test_permission_denied_low_port) {
        static const char *const prefix[] = { SETPRIV, "--reuid=65534", "--regid=65534", "--clear-groups", NULL };
        static const char *const extra[] = { "--log-level", "debug", NULL };
        struct dl_daemon d;
        struct addr high = addr_ip("127.0.0.1", free_port());
        char *want;
        json_t *svc;
        long pid;

        dl_init(&d);
        ck_assert_int_eq(chown(d.dir, 65534, 65534), 0);
        dl_write_unit(&d, "low", "[Socket]\nListenStream=127.0.0.1:81\n[Service]\nExecStart=%s serve\n",
                      listen_fixture());
        dl_write_unit(&d, "high", "[Socket]\nListenStream=%s\n[Service]\nExecStart=%s serve\n", high.text,
                      listen_fixture());
        dl_start_full(&d, prefix, extra);
        dl_assert(&d, dl_proc_status_field(d.pid, "Uid") == 65534, "the daemon does not run as uid 65534");

        want = pv_test_fmt("socket: %s/low.service:2: ListenStream=127.0.0.1:81: bind: Permission denied", d.units);
        svc = dl_wait_state(&d, "low", "failed", 5000);
        dl_assert(&d, !strcmp(dl_str(svc, "reason"), want), "low: reason \"%s\", expected \"%s\"",
                  dl_str(svc, "reason"), want);
        json_decref(svc);
        dl_cli_ok(&d, "start", "high", NULL);
        free(expect_served(&d, "high", false, &high, SOCK_STREAM, 3, "high.socket"));
        pid = unit_pid(&d, "high");
        dl_assert(&d, dl_proc_status_field((pid_t)pid, "Uid") == 65534, "high's server %ld does not run as nobody", pid);
        free(want);
        dl_done(&d);
}
END_TEST

/* Addresses that do not parse, and Accept=yes: the unit does not load, its error names
 * file and line; the other units load and run. */
START_TEST(test_bad_address) {
        static const struct {
                const char *name, *line, *key;
                unsigned lineno;
        } bad[] = {
                { "port", "ListenStream=127.0.0.1:99999", "ListenStream=", 2 },
                { "host", "ListenStream=not-an-address:80", "ListenStream=", 2 },
                { "v6", "ListenDatagram=[::1:80", "ListenDatagram=", 2 },
                { "zero", "ListenStream=0", "ListenStream=", 2 },
                { "accept", "ListenStream=@pvtest-accept\nAccept=yes", "Accept=", 3 },
        };
        struct dl_daemon d;
        struct addr ok = addr_ip("127.0.0.1", free_port());

        dl_init(&d);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                dl_write_unit(&d, bad[i].name, "[Socket]\n%s\n[Service]\nExecStart=%s serve\n", bad[i].line,
                              listen_fixture());
        dl_write_unit(&d, "ok", "[Socket]\nListenStream=%s\n[Service]\nExecStart=%s serve\n", ok.text,
                      listen_fixture());
        dl_start(&d, NULL);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                json_t *svc = dl_status(&d, bad[i].name);
                char *where = pv_test_fmt("%s/%s.service:%u: ", d.units, bad[i].name, bad[i].lineno);
                const char *err = dl_str(svc, "load_error");

                dl_assert(&d, !strcmp(dl_str(svc, "state"), "failed"), "%s: state %s with \"%s\"", bad[i].name,
                          dl_str(svc, "state"), bad[i].line);
                dl_assert(&d, strstr(err, where) && strstr(err, bad[i].key),
                          "%s: load_error \"%s\" should name \"%s\" and %s", bad[i].name, err, where, bad[i].key);
                free(where);
                json_decref(svc);
        }
        dl_cli_ok(&d, "start", "ok", NULL);
        free(expect_served(&d, "ok", false, &ok, SOCK_STREAM, 3, "ok.socket"));
        dl_done(&d);
}
END_TEST

/* ---- 5. the fd store ---- */

/* "counter=1 names=-\ncounter=2 names=counter\n..." for counters from..to. */
static char *counter_lines(int from, int to, bool first_without) {
        char *text = strdup(""), *next;

        for (int i = from; i <= to; i++) {
                next = pv_test_fmt("%scounter=%d names=%s\n", text, i, i == from && first_without ? "-" : "counter");
                free(text);
                text = next;
        }
        return text;
}

static json_t *fd_store_of(struct dl_daemon *d, const char *name) {
        json_t *svc = dl_status(d, name), *fs = json_incref(json_object_get(svc, "fd_store"));

        json_decref(svc);
        return fs;
}

static bool fd_store_is(json_t *fs, const char *only) {
        return json_is_array(fs) && (only ? json_array_size(fs) == 1 && !strcmp(json_string_value(json_array_get(fs, 0)), only)
                                          : json_array_size(fs) == 0);
}

/* NotifyAccess=main is implied by FileDescriptorStoreMax= > 0, as in systemd
 * (service_add_extras): the units leave it out, so these tests check that too.  With
 * FileDescriptorStoreMax=0 it has to be written out for the refused FDSTORE=1 to arrive. */
#define FDSTORE_UNIT "[Service]\nExecStart=%s fdstore %s %s\nFileDescriptorStoreMax=%d\n"

/* A counter in a memfd in the fd store: 1, 2, 3 across crashes and restarts (Restart=
 * always), 4 then, and 5 after `pidvisor restart`; stored once although the service
 * stores it on every start; `status` lists it; after stop + start it is gone (1 again). */
START_TEST(test_fdstore_survives_restarts) {
        struct dl_daemon d;
        char *out, *text, *want;
        struct dl_cli r;
        json_t *fs, *svc;

        dl_init(&d);
        out = dl_path(&d, "counter.out");
        dl_write_unit(&d, "fs", FDSTORE_UNIT "Restart=always\nRestartSec=50ms\nStartLimitIntervalSec=0\n", listen_fixture(), out,
                      "--crash-until 4", 4);
        dl_start(&d, NULL);
        dl_cli_ok(&d, "start", "fs", NULL);
        text = wait_lines(&d, out, 4, 10000);
        want = counter_lines(1, 4, true);
        dl_assert(&d, !strcmp(text, want), "the counter across 3 crashes:\n%s\nexpected:\n%s", text, want);
        free(text);
        free(want);
        svc = dl_wait_state(&d, "fs", "running", 5000);
        dl_assert(&d, dl_int(svc, "restarts") == 3, "%lld restarts, expected 3", dl_int(svc, "restarts"));
        fs = json_incref(json_object_get(svc, "fd_store"));
        dl_assert(&d, fd_store_is(fs, "counter"), "fd_store %s, expected [\"counter\"] (stored once)",
                  json_dumps(fs, JSON_COMPACT));
        json_decref(fs);
        json_decref(svc);
        r = dl_cli_run(&d, "status", "fs", NULL);
        dl_assert(&d, r.code == 0 && strstr(r.out, "fd store:   1 (counter)"), "`pidvisor status fs`:\n%s", r.out);
        dl_cli_done(&r);

        /* `restart` keeps the store. */
        dl_cli_ok(&d, "restart", "fs", NULL);
        text = wait_lines(&d, out, 5, 5000);
        want = counter_lines(1, 5, true);
        dl_assert(&d, !strcmp(text, want), "the counter after `pidvisor restart`:\n%s\nexpected:\n%s", text, want);
        free(text);
        free(want);

        /* stop releases it. */
        dl_cli_ok(&d, "stop", "fs", NULL);
        fs = fd_store_of(&d, "fs");
        dl_assert(&d, fd_store_is(fs, NULL), "fd_store %s after stop, expected []", json_dumps(fs, JSON_COMPACT));
        json_decref(fs);
        dl_cli_ok(&d, "start", "fs", NULL);
        text = wait_lines(&d, out, 6, 5000);
        dl_assert(&d, strstr(text, "counter=5 names=counter\ncounter=1 names=-\n"),
                  "the counter after stop and start:\n%s", text);
        free(text);
        free(out);
        dl_cli_ok(&d, "stop", "fs", NULL);
        dl_done(&d);
}
END_TEST

/* FileDescriptorStoreMax=0 (the default): FDSTORE=1 is refused, the daemon log says why,
 * and every start counts from 1. */
START_TEST(test_fdstore_off) {
        struct dl_daemon d;
        char *out, *text, *want;
        json_t *fs;

        dl_init(&d);
        out = dl_path(&d, "counter.out");
        dl_write_unit(&d, "off", FDSTORE_UNIT "NotifyAccess=main\n", listen_fixture(), out, "", 0);
        dl_start(&d, NULL);
        dl_cli_ok(&d, "start", "off", NULL);
        free(wait_lines(&d, out, 1, 5000));
        dl_wait_log(&d, "off: FDSTORE=1: the fd store is off (FileDescriptorStoreMax=0), descriptor closed", 5000);
        dl_cli_ok(&d, "restart", "off", NULL);
        text = wait_lines(&d, out, 2, 5000);
        want = pv_test_fmt("counter=1 names=-\ncounter=1 names=-\n");
        dl_assert(&d, !strcmp(text, want), "the counter without a store:\n%s\nexpected:\n%s", text, want);
        fs = fd_store_of(&d, "off");
        dl_assert(&d, !fs || fd_store_is(fs, NULL), "fd_store %s", json_dumps(fs, JSON_COMPACT));
        json_decref(fs);
        free(text);
        free(want);
        free(out);
        dl_cli_ok(&d, "stop", "off", NULL);
        dl_done(&d);
}
END_TEST

/* FDSTOREREMOVE=1 FDNAME=counter: at 2 the service drops the counter; `status` no longer
 * lists it and the next start counts from 1. */
START_TEST(test_fdstore_remove) {
        struct dl_daemon d;
        char *out, *text, *want;
        json_t *fs;

        dl_init(&d);
        out = dl_path(&d, "counter.out");
        dl_write_unit(&d, "rm", FDSTORE_UNIT, listen_fixture(), out, "--remove-at 2", 4);
        dl_start(&d, NULL);
        dl_cli_ok(&d, "start", "rm", NULL);
        free(wait_lines(&d, out, 1, 5000));
        fs = fd_store_of(&d, "rm");
        dl_assert(&d, fd_store_is(fs, "counter"), "fd_store %s at 1", json_dumps(fs, JSON_COMPACT));
        json_decref(fs);
        dl_cli_ok(&d, "restart", "rm", NULL);
        free(wait_lines(&d, out, 2, 5000));
        fs = fd_store_of(&d, "rm");
        dl_assert(&d, fd_store_is(fs, NULL), "fd_store %s after FDSTOREREMOVE=1", json_dumps(fs, JSON_COMPACT));
        json_decref(fs);
        dl_cli_ok(&d, "restart", "rm", NULL);
        text = wait_lines(&d, out, 3, 5000);
        want = pv_test_fmt("counter=1 names=-\ncounter=2 names=counter\ncounter=1 names=-\n");
        dl_assert(&d, !strcmp(text, want), "the counter around FDSTOREREMOVE=1:\n%s\nexpected:\n%s", text, want);
        free(text);
        free(want);
        free(out);
        dl_cli_ok(&d, "stop", "rm", NULL);
        dl_done(&d);
}
END_TEST

/* ---- 6. reload ---- */

/* The inode of /proc/PID/fd/FD (a socket's inode names the socket). */
static ino_t fd_inode(struct dl_daemon *d, long pid, int fd) {
        char path[64];
        struct stat st;

        snprintf(path, sizeof(path), "/proc/%ld/fd/%d", pid, fd);
        dl_assert(d, stat(path, &st) == 0, "stat %s: %s", path, strerror(errno));
        return st.st_ino;
}

#define RELOAD_UNIT "[Socket]\nListenStream=%s\nFileDescriptorName=rl\n[Service]\nEnvironment=GENERATION=%d\n" \
                    "ExecStartPre=/bin/sleep 0.5\nExecStart=%s serve\n"

/* The socket is bound at load: a client that connects before the first start is queued
 * and served once the service runs.  A reload that changes the unit but not its sockets
 * keeps the very socket (same inode in the new process), and clients that connect while
 * the service is down in the restart (old process gone, ExecStartPre= still sleeping)
 * are all served by the new process.  A changed address is rebound: the new one serves,
 * the old one refuses. */
START_TEST(test_reload_keeps_or_rebinds) {
        struct dl_daemon d;
        struct addr a = addr_ip("127.0.0.1", free_port()), b = addr_ip("127.0.0.1", free_port());
        long long pid1, pid2, pid3;
        ino_t ino1, ino2, ino3;
        int fds[5], early, old_pidfd;
        json_t *svc;
        char *reply = NULL;
        int r;

        dl_init(&d);
        dl_write_unit(&d, "rl", RELOAD_UNIT, a.text, 1, listen_fixture());
        dl_start(&d, NULL);

        early = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(early, 0);
        dl_assert(&d, connect(early, &a.u.sa, a.len) == 0, "connecting to %s before the first start: %s", a.text,
                  strerror(errno));
        dl_cli_ok(&d, "start", "rl", NULL);
        pid1 = unit_pid(&d, "rl");
        {
                char *text = recv_all(early, 5000);
                dl_assert(&d, text && reply_long(text, "pid") == pid1,
                          "the client queued before the start got \"%s\", expected an answer from %lld",
                          text ? text : "nothing within 5 s", pid1);
                free(text);
                close(early);
        }
        ino1 = fd_inode(&d, pid1, 3);

        /* Changed unit, same socket. */
        dl_write_unit(&d, "rl", RELOAD_UNIT, a.text, 2, listen_fixture());
        old_pidfd = dl_pidfd_open((pid_t)pid1);
        dl_cli_ok(&d, "reload", "--restart-changed", NULL);
        dl_assert(&d, dl_pidfd_wait_exit(old_pidfd, 5000), "the old process %lld did not exit", pid1);
        close(old_pidfd);
        json_decref(dl_wait_state(&d, "rl", "starting", 5000));
        for (int i = 0; i < 5; i++) {
                fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                ck_assert_int_ge(fds[i], 0);
                dl_assert(&d, connect(fds[i], &a.u.sa, a.len) == 0, "connecting during the restart: %s",
                          strerror(errno));
        }
        /* Still in ExecStartPre=: no server process existed while they connected. */
        svc = dl_status(&d, "rl");
        dl_assert(&d, !strcmp(dl_str(svc, "state"), "starting"),
                  "rl is %s after the clients connected, expected still starting (ExecStartPre= sleeps 0.5 s)",
                  dl_str(svc, "state"));
        json_decref(svc);
        svc = dl_wait_status(&d, "rl", 5000, "running again", running_with_other_pid, &pid1);
        pid2 = dl_int(svc, "pid");
        json_decref(svc);
        for (int i = 0; i < 5; i++) {
                char *text = recv_all(fds[i], 5000);
                dl_assert(&d, text && reply_long(text, "pid") == pid2,
                          "client %d, connected during the restart, got \"%s\", expected an answer from %lld", i,
                          text ? text : "nothing within 5 s", pid2);
                free(text);
                close(fds[i]);
        }
        ino2 = fd_inode(&d, pid2, 3);
        dl_assert(&d, ino2 == ino1, "the socket changed across a reload that kept its settings (inode %lu, was %lu)",
                  (unsigned long)ino2, (unsigned long)ino1);

        /* Changed address: rebound. */
        dl_write_unit(&d, "rl", RELOAD_UNIT, b.text, 2, listen_fixture());
        dl_cli_ok(&d, "reload", "--restart-changed", NULL);
        svc = dl_wait_status(&d, "rl", 5000, "running again", running_with_other_pid, &pid2);
        pid3 = dl_int(svc, "pid");
        json_decref(svc);
        ino3 = fd_inode(&d, pid3, 3);
        dl_assert(&d, ino3 != ino2, "the socket was kept although its address changed");
        free(expect_served(&d, "rl", false, &b, SOCK_STREAM, 3, "rl"));
        r = ask(&a, SOCK_STREAM, 2000, &reply);
        dl_assert(&d, r == -ECONNREFUSED, "the old address %s answered %s after the rebind", a.text,
                  r ? strerror(-r) : reply);
        dl_cli_ok(&d, "stop", "rl", NULL);
        dl_done(&d);
}
END_TEST

/* ---- 7. status ---- */

START_TEST(test_status_shows_listeners) {
        struct dl_daemon d;
        struct addr a = addr_ip("127.0.0.1", free_port());
        char *path, *abs = abstract_name("status"), *want;
        struct dl_cli r;
        json_t *svc, *l;

        dl_init(&d);
        path = dl_path(&d, "st.dgram");
        dl_write_unit(&d, "st", "[Socket]\nListenStream=%s\nListenDatagram=%s\nListenSequentialPacket=@%s\n"
                      "FileDescriptorName=st\n[Service]\nExecStart=%s serve\n", a.text, path, abs, listen_fixture());
        dl_start(&d, NULL);
        r = dl_cli_run(&d, "status", "st", NULL);
        want = pv_test_fmt("  listen:   stream    %s (st)\n"
                           "            datagram  %s (st)\n"
                           "            seqpacket @%s (st)\n", a.text, path, abs);
        dl_assert(&d, r.code == 0 && strstr(r.out, want), "`pidvisor status st`:\n%s\nshould show:\n%s", r.out, want);
        dl_cli_done(&r);
        svc = dl_status(&d, "st");
        l = json_object_get(svc, "listen");
        dl_assert(&d, json_array_size(l) == 3, "status: listen %s", json_dumps(l, JSON_COMPACT));
        for (size_t i = 0; i < 3; i++) {
                json_t *e = json_array_get(l, i);
                const char *type = i == 0 ? "stream" : i == 1 ? "datagram" : "seqpacket";
                dl_assert(&d, !strcmp(dl_str(e, "type"), type) && !strcmp(dl_str(e, "name"), "st") &&
                                      json_is_true(json_object_get(e, "open")),
                          "status: listen[%zu] %s", i, json_dumps(e, JSON_COMPACT));
        }
        dl_assert(&d, !strcmp(dl_str(json_array_get(l, 0), "address"), a.text) &&
                              !strcmp(dl_str(json_array_get(l, 1), "address"), path),
                  "status: listen %s", json_dumps(l, JSON_COMPACT));
        json_decref(svc);
        free(want);
        free(path);
        free(abs);
        dl_done(&d);
}
END_TEST

int main(void) {
        Suite *s = pv_test_suite("sockets");
        TCase *tc;
        int ret;

        dl_suite_begin("sockets");

        tc = pv_test_case("consumers");
        tcase_add_test(tc, test_serve_inet4);
        tcase_add_test(tc, test_serve_abstract);
        tcase_add_test(tc, test_serve_datagram);
        tcase_add_test(tc, test_serve_ipv6);
        tcase_add_test(tc, test_serve_port_only);
        tcase_add_test(tc, test_serve_several_in_order);
        pv_test_add(s, tc, need_python());

        tc = pv_test_case("unix-path");
        tcase_add_test(tc, test_serve_unix_path);
        {
                const char *missing = need_python();
                pv_test_add(s, tc, missing ? missing : pv_test_need_root());
        }

        tc = pv_test_case("options");
        tcase_add_test(tc, test_socket_options);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("reference");
        tcase_add_test(tc, test_compare_with_reference);
        pv_test_add(s, tc, need_socket_activate());

        tc = pv_test_case("crash-loop");
        tcase_add_test(tc, test_crash_loop_refuses_nothing);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("errors");
        tcase_add_test(tc, test_address_in_use);
        tcase_add_test(tc, test_bad_address);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("low-port");
        tcase_add_test(tc, test_permission_denied_low_port);
        pv_test_add(s, tc, need_root_setpriv_low_port());

        tc = pv_test_case("fd-store");
        tcase_add_test(tc, test_fdstore_survives_restarts);
        tcase_add_test(tc, test_fdstore_off);
        tcase_add_test(tc, test_fdstore_remove);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("reload");
        tcase_add_test(tc, test_reload_keeps_or_rebinds);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("status");
        tcase_add_test(tc, test_status_shows_listeners);
        pv_test_add(s, tc, NULL);

        ret = pv_test_main(s);
        dl_suite_end();
        return ret;
}
