/* SPDX-License-Identifier: MIT */
/* The commands that talk to a running daemon over its control socket
 * (docs/protocol.md): status, list, start, stop, restart, upgrade, reload, reset-failed,
 * events. */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <limits.h>
#include <unistd.h>

#include "cli.h"
#include "daemon/daemon.h"
#include "daemon/timeutil.h"
#include "lib/util.h"

struct client {
        int fd;
        FILE *in;
        const char *path;
};

/* A daemon that is coming back (a re-exec that went back to its previous binary, a
 * restart after a crash) refuses connections for a moment: tried again for this long,
 * quietly, before saying so. */
#define CONNECT_RETRY_USEC (2 * USEC_PER_SEC)

static int client_connect(struct client *c) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        usec_t give_up = now_usec(CLOCK_MONOTONIC) + CONNECT_RETRY_USEC;
        int r;

        if (strlen(c->path) >= sizeof(sa.sun_path)) {
                fprintf(stderr, "pidvisor: socket path too long: %s\n", c->path);
                return -ENAMETOOLONG;
        }
        strcpy(sa.sun_path, c->path);
        for (;;) {
                c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (c->fd < 0)
                        return negerrno();
                if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
                        break;
                r = negerrno();
                c->fd = safe_close(c->fd);
                if ((r != -ECONNREFUSED && r != -ENOENT && r != -EAGAIN) || now_usec(CLOCK_MONOTONIC) >= give_up) {
                        fprintf(stderr, "pidvisor: cannot reach the daemon at %s: %s (is `pidvisor daemon` running?)\n",
                                c->path, strerror(-r));
                        return r;
                }
                nanosleep(&(struct timespec){ 0, 20 * 1000 * 1000 }, NULL);
        }
        c->in = fdopen(dup(c->fd), "re");
        return c->in ? 0 : -ENOMEM;
}

static int client_open(struct client *c) {
        char *path = daemon_default_socket();

        if (!path) {
                fprintf(stderr, "pidvisor: no control socket: set PIDVISOR_SOCKET or XDG_RUNTIME_DIR\n");
                return -ENOENT;
        }
        c->path = path;
        return client_connect(c);
}

static void client_close(struct client *c) {
        if (c->in)
                fclose(c->in);
        safe_close(c->fd);
        free((char *)c->path);
}

static int client_send(struct client *c, int id, const char *cmd, json_t *args) {
        json_t *req = json_pack("{s:i, s:s}", "id", id, "cmd", cmd);
        char *s;
        int r = 0;

        if (args)
                json_object_set_new(req, "args", args);
        s = json_dumps(req, JSON_COMPACT);
        json_decref(req);
        if (!s)
                return -ENOMEM;
        if (dprintf(c->fd, "%s\n", s) < 0)
                r = negerrno();
        free(s);
        return r;
}

/* Reads one reply line; NULL at EOF (with a message unless quiet). */
static json_t *client_recv_quiet(struct client *c, bool quiet) {
        char *line = NULL;
        size_t cap = 0;
        ssize_t n = getline(&line, &cap, c->in);
        json_error_t err;
        json_t *o;

        if (n <= 0) {
                free(line);
                if (!quiet)
                        fprintf(stderr, "pidvisor: the daemon closed the connection\n");
                return NULL;
        }
        o = json_loads(line, 0, &err);
        free(line);
        if (!o)
                fprintf(stderr, "pidvisor: unreadable reply from the daemon: %s\n", err.text);
        return o;
}

static json_t *client_recv(struct client *c) {
        return client_recv_quiet(c, false);
}

/* A request that only reads may be sent again on a new connection if the first one was
 * closed without an answer (a daemon that went back to its previous binary). */
static bool read_only(const char *cmd) {
        return !strcmp(cmd, "status") || !strcmp(cmd, "list") || !strcmp(cmd, "ping");
}

/* One request, one reply: returns the result (owned), or NULL after printing the error. */
static json_t *call(struct client *c, const char *cmd, json_t *args) {
        json_t *reply, *result;
        bool again = read_only(cmd);

        if (again && args)
                json_incref(args);
        if (client_send(c, 1, cmd, args) < 0) {
                if (again)
                        json_decref(args);
                return NULL;
        }
        reply = client_recv_quiet(c, again);
        if (!reply && again) {
                if (c->in)
                        fclose(c->in);
                c->in = NULL;
                c->fd = safe_close(c->fd);
                if (client_connect(c) < 0 || client_send(c, 1, cmd, args) < 0)
                        return NULL;
                reply = client_recv(c);
        } else if (again)
                json_decref(args);
        if (!reply)
                return NULL;
        if (!json_is_true(json_object_get(reply, "ok"))) {
                fprintf(stderr, "pidvisor: %s: %s\n", cmd, json_string_value(json_object_get(reply, "error")));
                json_decref(reply);
                return NULL;
        }
        result = json_incref(json_object_get(reply, "result"));
        json_decref(reply);
        return result;
}

static void print_json(json_t *o) {
        char *s = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
        if (s) {
                puts(s);
                free(s);
        }
}

static const char *fmt_span(char *buf, size_t size, json_t *usec) {
        if (!json_is_integer(usec))
                return "-";
        /* Human output rounds to what a reader cares about. */
        usec_t t = (usec_t)json_integer_value(usec);
        if (t >= 60 * USEC_PER_SEC)
                t -= t % USEC_PER_SEC;
        else if (t >= USEC_PER_SEC)
                t -= t % (100 * USEC_PER_MSEC);
        else
                t -= t % USEC_PER_MSEC;
        return format_timespan(buf, size, t);
}

static const char *str_or(json_t *o, const char *key, const char *dflt) {
        const char *s = json_string_value(json_object_get(o, key));
        return s && *s ? s : dflt;
}

static void print_table(json_t *services) {
        size_t i, w = 4;
        json_t *s;

        json_array_foreach(services, i, s) {
                size_t l = strlen(str_or(s, "name", ""));
                if (l > w)
                        w = l;
        }
        printf("%-*s  %-12s  %7s  %10s  %8s  %s\n", (int)w, "NAME", "STATE", "PID", "UPTIME", "RESTARTS",
               "LAST EXIT");
        json_array_foreach(services, i, s) {
                char pid[16] = "-", up[64];
                if (json_is_integer(json_object_get(s, "pid")))
                        snprintf(pid, sizeof(pid), "%lld", (long long)json_integer_value(json_object_get(s, "pid")));
                printf("%-*s  %-12s  %7s  %10s  %8lld  %s\n", (int)w, str_or(s, "name", "?"),
                       str_or(s, "state", "?"), pid, fmt_span(up, sizeof(up), json_object_get(s, "uptime_usec")),
                       (long long)json_integer_value(json_object_get(s, "restarts")),
                       json_object_get(s, "load_error") && !json_is_null(json_object_get(s, "load_error"))
                               ? "(invalid unit file)"
                               : str_or(s, "last_exit", "-"));
        }
}

static void fmt_time(char *buf, size_t size, json_t *usec) {
        time_t t = (time_t)(json_integer_value(usec) / (json_int_t)USEC_PER_SEC);
        struct tm tm;
        localtime_r(&t, &tm);
        strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
}

static void print_detail(json_t *s) {
        char since[64], span[64];
        size_t i;
        json_t *h;

        printf("%s%s%s\n", str_or(s, "name", "?"), json_is_string(json_object_get(s, "description")) ? " - " : "",
               str_or(s, "description", ""));
        fmt_time(since, sizeof(since), json_object_get(s, "since"));
        printf("  state:      %s since %s\n", str_or(s, "state", "?"), since);
        printf("  reason:     %s\n", str_or(s, "reason", "-"));
        if (json_is_integer(json_object_get(s, "pid")))
                printf("  pid:        %lld, up %s\n", (long long)json_integer_value(json_object_get(s, "pid")),
                       fmt_span(span, sizeof(span), json_object_get(s, "uptime_usec")));
        if (json_is_string(json_object_get(s, "status_text")))
                printf("  status:     %s\n", str_or(s, "status_text", ""));
        printf("  restarts:   %lld\n", (long long)json_integer_value(json_object_get(s, "restarts")));
        printf("  unit file:  %s%s\n", str_or(s, "unit_file", "-"),
               json_is_true(json_object_get(s, "reload_pending")) ? " (changed; applies at next start)" : "");
        if (json_is_string(json_object_get(s, "load_error")))
                printf("  error:      %s\n", str_or(s, "load_error", ""));
        printf("  kill scope: %s\n", str_or(s, "kill_scope", "-"));
        {
                /* MemoryMax= and friends as the last start put them in force. */
                json_t *l = json_object_get(s, "limits"), *e;
                const char *key;
                bool first = true;
                json_object_foreach(l, key, e) {
                        const char *how = str_or(e, "enforced", "?"), *lead = first ? "  limits:     " : "              ";
                        first = false;
                        if (!strcmp(how, "none"))
                                printf("%s%s\n", lead, str_or(e, "reason", "not enforced"));
                        else if (!strcmp(how, "v1") || !strcmp(how, "v2")) {
                                /* A percentage, or a CPU quota, with what it came to. */
                                char got[96] = "";
                                const char *v = str_or(e, "value", "?");
                                if (json_is_integer(json_object_get(e, "quota_usec")))
                                        snprintf(got, sizeof(got), " (%lld us per %lld us)",
                                                 (long long)json_integer_value(json_object_get(e, "quota_usec")),
                                                 (long long)json_integer_value(json_object_get(e, "period_usec")));
                                else if (v[strlen(v) - 1] == '%' && json_is_integer(json_object_get(e, "bytes")))
                                        snprintf(got, sizeof(got), " (%lld bytes)",
                                                 (long long)json_integer_value(json_object_get(e, "bytes")));
                                else if (v[strlen(v) - 1] == '%' && json_is_integer(json_object_get(e, "tasks")))
                                        snprintf(got, sizeof(got), " (%lld tasks)",
                                                 (long long)json_integer_value(json_object_get(e, "tasks")));
                                printf("%s%s=%s%s via cgroup %s: %s\n", lead, key, v, got, how, str_or(e, "file", "?"));
                        }
                        else
                                printf("%s%s=%s (no limit)\n", lead, key, str_or(e, "value", "?"));
                }
        }
        {
                json_t *l = json_object_get(s, "listen"), *e;
                size_t k;
                json_array_foreach(l, k, e)
                        printf("  %s %-9s %s (%s)%s\n", k == 0 ? "listen:  " : "         ",
                               str_or(e, "type", "?"), str_or(e, "address", "?"), str_or(e, "name", "?"),
                               json_is_false(json_object_get(e, "open")) ? ", not bound" : "");
                l = json_object_get(s, "fd_store");
                if (json_is_array(l)) {
                        printf("  fd store:   %zu", json_array_size(l));
                        json_array_foreach(l, k, e)
                                printf("%s%s", k == 0 ? " (" : ", ", json_string_value(e));
                        printf("%s\n", json_array_size(l) ? ")" : "");
                }
        }
        if (json_is_string(json_object_get(s, "log_file"))) {
                json_int_t dropped = json_integer_value(json_object_get(s, "log_dropped_bytes"));
                printf("  log file:   %s", str_or(s, "log_file", "-"));
                if (dropped > 0)
                        printf(" (%lld bytes could not be written)", (long long)dropped);
                printf("\n");
        }
        h = json_object_get(s, "history");
        if (json_array_size(h) == 0)
                return;
        printf("  exits (newest first):\n");
        json_array_foreach(h, i, s) {
                size_t j;
                json_t *line;
                fmt_time(since, sizeof(since), json_object_get(s, "time"));
                printf("    %s  %s after %s (pid %lld)\n", since, str_or(s, "cause", "?"),
                       fmt_span(span, sizeof(span), json_object_get(s, "runtime_usec")),
                       (long long)json_integer_value(json_object_get(s, "pid")));
                json_array_foreach(json_object_get(s, "stderr"), j, line)
                        printf("      | %s\n", json_string_value(line));
        }
}

static int cmd_status(struct client *c, int argc, char **argv, bool list) {
        bool as_json = false;
        const char *name = NULL;
        json_t *res;

        for (int i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "--json"))
                        as_json = true;
                else if (argv[i][0] == '-') {
                        fprintf(stderr, "pidvisor: unknown option \"%s\"\n", argv[i]);
                        return 2;
                } else if (!list && !name)
                        name = argv[i];
                else {
                        fprintf(stderr, "pidvisor: unexpected argument \"%s\"\n", argv[i]);
                        return 2;
                }
        }
        res = call(c, name ? "status" : "list", name ? json_pack("{s:s}", "name", name) : NULL);
        if (!res)
                return 1;
        if (as_json)
                print_json(res);
        else if (name)
                print_detail(res);
        else
                print_table(json_object_get(res, "services"));
        json_decref(res);
        return 0;
}

/* start/stop/restart/reset-failed NAME...: all requests at once, then every reply. */
static int cmd_jobs(struct client *c, const char *cmd, int argc, char **argv) {
        int failed = 0, n = 0;

        if (argc < 2) {
                fprintf(stderr, "pidvisor %s: give at least one service name\n", cmd);
                return 2;
        }
        for (int i = 1; i < argc; i++) {
                if (client_send(c, i, cmd, json_pack("{s:s}", "name", argv[i])) < 0)
                        return 1;
                n++;
        }
        for (int k = 0; k < n; k++) {
                json_t *reply = client_recv(c);
                json_int_t id;
                if (!reply)
                        return 1;
                id = json_integer_value(json_object_get(reply, "id"));
                if (!json_is_true(json_object_get(reply, "ok"))) {
                        fprintf(stderr, "pidvisor %s %s: %s\n", cmd, id >= 1 && id < argc ? argv[id] : "?",
                                str_or(reply, "error", "failed"));
                        failed++;
                }
                json_decref(reply);
        }
        return failed ? 1 : 0;
}

/* upgrade NAME...: one at a time, each reported as it ends. */
static int cmd_upgrade(struct client *c, int argc, char **argv) {
        int failed = 0;

        if (argc < 2) {
                fprintf(stderr, "pidvisor upgrade: give at least one service name\n");
                return 2;
        }
        for (int i = 1; i < argc; i++) {
                json_t *res = call(c, "upgrade", json_pack("{s:s}", "name", argv[i])), *l, *v;
                size_t k;

                if (!res) {
                        failed++;
                        continue;
                }
                printf("%s: pid %lld replaced by pid %lld (%s", argv[i],
                       (long long)json_integer_value(json_object_get(res, "old_pid")),
                       (long long)json_integer_value(json_object_get(res, "new_pid")), str_or(res, "mode", "?"));
                l = json_object_get(res, "listeners");
                json_array_foreach(l, k, v)
                        printf("%s%s", k == 0 ? ": " : ", ", json_string_value(v));
                printf("); ready after %.1f ms, old instance gone %.1f ms later, daemon busy %.3f ms\n",
                       json_integer_value(json_object_get(res, "ready_usec")) / 1000.0,
                       json_integer_value(json_object_get(res, "drain_usec")) / 1000.0,
                       json_integer_value(json_object_get(res, "manager_usec")) / 1000.0);
                json_decref(res);
        }
        return failed ? 1 : 0;
}

/* daemon-reexec [--binary PATH] */
static int cmd_reexec(struct client *c, int argc, char **argv) {
        char abs[PATH_MAX];
        const char *binary = NULL;
        json_t *res;

        for (int i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "--binary") && i + 1 < argc)
                        binary = argv[++i];
                else if (!strncmp(argv[i], "--binary=", 9))
                        binary = argv[i] + 9;
                else {
                        fprintf(stderr, "pidvisor daemon-reexec: unexpected argument \"%s\" (see --help)\n", argv[i]);
                        return 2;
                }
        }
        /* The daemon's working directory is not ours: it gets an absolute path. */
        if (binary && binary[0] != '/' && realpath(binary, abs))
                binary = abs;
        res = call(c, "daemon-reexec", binary ? json_pack("{s:s}", "binary", binary) : NULL);
        if (!res)
                return 1;
        printf("pid %lld now runs %s (pidvisor %s, state format %lld, %lld services) after %.1f ms\n",
               (long long)json_integer_value(json_object_get(res, "pid")), str_or(res, "binary", "?"),
               str_or(res, "version", "?"), (long long)json_integer_value(json_object_get(res, "format")),
               (long long)json_integer_value(json_object_get(res, "services")),
               json_integer_value(json_object_get(res, "usec")) / 1000.0);
        json_decref(res);
        return 0;
}

static void print_names(const char *label, json_t *a) {
        size_t i;
        json_t *v;

        if (json_array_size(a) == 0)
                return;
        printf("%s:", label);
        json_array_foreach(a, i, v)
                printf(" %s", json_is_string(v) ? json_string_value(v) : str_or(v, "name", "?"));
        printf("\n");
}

static int cmd_reload(struct client *c, int argc, char **argv) {
        bool restart_changed = false;
        json_t *res, *v;
        size_t i;

        for (int k = 1; k < argc; k++) {
                if (!strcmp(argv[k], "--restart-changed"))
                        restart_changed = true;
                else {
                        fprintf(stderr, "pidvisor reload: unknown argument \"%s\"\n", argv[k]);
                        return 2;
                }
        }
        res = call(c, "reload", json_pack("{s:b}", "restart_changed", restart_changed));
        if (!res)
                return 1;
        print_names("added", json_object_get(res, "added"));
        print_names("removed", json_object_get(res, "removed"));
        print_names("changed", json_object_get(res, "changed"));
        json_array_foreach(json_object_get(res, "errors"), i, v)
                fprintf(stderr, "error: %s\n", str_or(v, "error", "?"));
        i = json_array_size(json_object_get(res, "errors"));
        json_decref(res);
        return i ? 1 : 0;
}

static int cmd_events(struct client *c) {
        json_t *res = call(c, "events", NULL);
        char *line = NULL;
        size_t cap = 0;

        if (!res)
                return 1;
        json_decref(res);
        setvbuf(stdout, NULL, _IOLBF, 0);
        while (getline(&line, &cap, c->in) > 0)
                fputs(line, stdout);
        free(line);
        return 0;
}

json_t *cli_request(const char *cmd, json_t *args) {
        struct client c = { .fd = -EBADF };
        json_t *res = NULL;

        if (client_open(&c) == 0)
                res = call(&c, cmd, args);
        else
                json_decref(args);
        client_close(&c);
        return res;
}

int cli_client(const char *cmd, int argc, char **argv) {
        struct client c = { .fd = -EBADF };
        int r;

        for (int i = 1; i < argc; i++)
                if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
                        printf("Usage: pidvisor %s %s\n", cmd,
                               !strcmp(cmd, "status")   ? "[NAME] [--json]"
                               : !strcmp(cmd, "list")   ? "[--json]"
                               : !strcmp(cmd, "reload") ? "[--restart-changed]"
                               : !strcmp(cmd, "events") ? ""
                               : !strcmp(cmd, "daemon-reexec") ? "[--binary PATH]"
                                                         : "NAME...");
                        return 0;
                }
        if (client_open(&c) < 0) {
                client_close(&c);
                return 1;
        }
        if (!strcmp(cmd, "status"))
                r = cmd_status(&c, argc, argv, false);
        else if (!strcmp(cmd, "list"))
                r = cmd_status(&c, argc, argv, true);
        else if (!strcmp(cmd, "reload"))
                r = cmd_reload(&c, argc, argv);
        else if (!strcmp(cmd, "events"))
                r = cmd_events(&c);
        else if (!strcmp(cmd, "upgrade"))
                r = cmd_upgrade(&c, argc, argv);
        else if (!strcmp(cmd, "daemon-reexec"))
                r = cmd_reexec(&c, argc, argv);
        else
                r = cmd_jobs(&c, cmd, argc, argv);
        client_close(&c);
        return r;
}
