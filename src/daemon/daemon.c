/* SPDX-License-Identifier: MIT */
/* `pidvisor daemon`: option parsing and defaults; the work is in manager.c. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/close_range.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "daemon.h"
#include "lib/util.h"
#include "log.h"
#include "manager.h"
#include "reexec.h"
#include "serialize.h"
#include "timeutil.h"

static const char usage[] =
        "Usage: pidvisor daemon [OPTIONS]\n"
        "\n"
        "Runs the service manager in the foreground, logging to stderr.\n"
        "\n"
        "Options:\n"
        "  --units DIR        unit files (NAME.service); default /etc/pidvisor/units as root,\n"
        "                     else $XDG_CONFIG_HOME/pidvisor/units\n"
        "  --socket PATH      control socket; default STATE-DIR/pidvisor.sock\n"
        "  --state-dir DIR    default /run/pidvisor as root, else $XDG_RUNTIME_DIR/pidvisor\n"
        "  --log-dir DIR      services' log files NAME.log; default /var/log/pidvisor as\n"
        "                     root, else (or with --state-dir) STATE-DIR/logs\n"
        "  --log-level LEVEL  error, warning, notice, info (default) or debug\n"
        "  --subreaper        adopt and reap orphaned descendants (PR_SET_CHILD_SUBREAPER);\n"
        "                     always on as PID 1\n"
        "  --epoll            use the epoll backend even where io_uring works\n"
        "  -h, --help         show this help\n";

/* Default paths, shared with the CLI (which must find the same socket). */
int daemon_default_paths(char **units, char **state, char **log_dir) {
        const char *xdg;

        if (geteuid() == 0) {
                *units = strdup("/etc/pidvisor/units");
                *state = strdup("/run/pidvisor");
                *log_dir = strdup("/var/log/pidvisor");
                return *units && *state && *log_dir ? 0 : -ENOMEM;
        }
        xdg = getenv("XDG_CONFIG_HOME");
        if (xdg && *xdg) {
                if (asprintf(units, "%s/pidvisor/units", xdg) < 0)
                        return -ENOMEM;
        } else {
                const char *home = getenv("HOME");
                if (!home || asprintf(units, "%s/.config/pidvisor/units", home) < 0)
                        return -ENOENT;
        }
        xdg = getenv("XDG_RUNTIME_DIR");
        if (!xdg || !*xdg)
                return -ENOENT;
        if (asprintf(state, "%s/pidvisor", xdg) < 0 || asprintf(log_dir, "%s/pidvisor/logs", xdg) < 0)
                return -ENOMEM;
        return 0;
}

char *daemon_default_socket(void) {
        const char *env = getenv("PIDVISOR_SOCKET");
        char *units = NULL, *state = NULL, *logs = NULL, *sock = NULL;

        if (env && *env)
                return strdup(env);
        if (daemon_default_paths(&units, &state, &logs) == 0 && asprintf(&sock, "%s/pidvisor.sock", state) < 0)
                sock = NULL;
        free(units);
        free(state);
        free(logs);
        return sock;
}

/* The daemon's own stdin should not be a terminal or a pipe a service could read from. */
static void stdin_to_devnull(void) {
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
                if (fd != STDIN_FILENO) {
                        dup2(fd, STDIN_FILENO);
                        close(fd);
                }
        }
}

/* The options to give again to the binary a re-exec runs: ours, less the re-exec's own. */
static char **copy_args(int argc, char **argv) {
        char **args = calloc((size_t)argc + 1, sizeof(char *));
        size_t k = 0;

        if (!args)
                return NULL;
        for (int i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "--reexec-state") || !strcmp(argv[i], "--reexec-fallback")) {
                        i++;
                        continue;
                }
                if (!strncmp(argv[i], "--reexec-state=", 15) || !strncmp(argv[i], "--reexec-fallback=", 18))
                        continue;
                args[k++] = argv[i];
        }
        return args;
}

/* Every descriptor of ours is close-on-exec from here on. */
static void mark_cloexec(void) {
        /* Whatever our parent left open for us must not reach the services: from here on
         * every descriptor of ours is close-on-exec, which is what lets pv_spawn skip a
         * close_range in each child. */
        if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
                long max = sysconf(_SC_OPEN_MAX); /* kernels before 5.11 */
                for (long fd = 3; fd < (max > 0 ? max : 1024); fd++)
                        (void)fcntl((int)fd, F_SETFD, FD_CLOEXEC);
        }
}

static int parse_fd_arg(const char *s, int *ret) {
        long v;

        if (parse_long(s, 3, 1 << 30, &v) < 0)
                return -EINVAL;
        *ret = (int)v;
        return 0;
}

int daemon_main(int argc, char **argv) {
        enum { OPT_UNITS = 256, OPT_SOCKET, OPT_STATE, OPT_LOG_DIR, OPT_LOG_LEVEL, OPT_SUBREAPER, OPT_EPOLL,
               OPT_REEXEC_STATE, OPT_REEXEC_FALLBACK };
        static const struct option longopts[] = {
                { "units", required_argument, NULL, OPT_UNITS },
                { "socket", required_argument, NULL, OPT_SOCKET },
                { "state-dir", required_argument, NULL, OPT_STATE },
                { "log-dir", required_argument, NULL, OPT_LOG_DIR },
                { "log-level", required_argument, NULL, OPT_LOG_LEVEL },
                { "subreaper", no_argument, NULL, OPT_SUBREAPER },
                { "epoll", no_argument, NULL, OPT_EPOLL },
                /* Given by a re-exec (reexec.c), not by people. */
                { "reexec-state", required_argument, NULL, OPT_REEXEC_STATE },
                { "reexec-fallback", required_argument, NULL, OPT_REEXEC_FALLBACK },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        struct manager_options o = { 0 };
        char *d_units = NULL, *d_state = NULL, *d_logs = NULL;
        struct manager *m = NULL;
        struct saved_state *restore = NULL;
        _cleanup_free_ char **args = NULL;
        bool state_given = false;
        int c, r, level, reexec_state = -1, reexec_fallback = -1;

        opterr = 0;
        optind = 1;
        while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
                switch (c) {
                case 'h':
                        fputs(usage, stdout);
                        return 0;
                case OPT_UNITS:
                        o.units_dir = optarg;
                        break;
                case OPT_SOCKET:
                        o.socket_path = optarg;
                        break;
                case OPT_STATE:
                        o.state_dir = optarg;
                        state_given = true;
                        break;
                case OPT_LOG_DIR:
                        o.log_dir = optarg;
                        break;
                case OPT_LOG_LEVEL:
                        level = log_level_from_string(optarg);
                        if (level < 0) {
                                fprintf(stderr, "pidvisor daemon: --log-level \"%s\": expected error, "
                                                "warning, notice, info or debug\n", optarg);
                                return 2;
                        }
                        log_max_level = (enum log_level)level;
                        break;
                case OPT_SUBREAPER:
                        o.subreaper = true;
                        break;
                case OPT_EPOLL:
                        o.force_epoll = true;
                        break;
                case OPT_REEXEC_STATE:
                case OPT_REEXEC_FALLBACK:
                        if (parse_fd_arg(optarg, c == OPT_REEXEC_STATE ? &reexec_state : &reexec_fallback) < 0) {
                                fprintf(stderr, "pidvisor daemon: --reexec-state/--reexec-fallback \"%s\": "
                                                "expected a descriptor number\n", optarg);
                                return 2;
                        }
                        break;
                case ':':
                        fprintf(stderr, "pidvisor daemon: option \"%s\" needs a value\n", argv[optind - 1]);
                        return 2;
                default:
                        fprintf(stderr, "pidvisor daemon: unknown option \"%s\" (see --help)\n", argv[optind - 1]);
                        return 2;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "pidvisor daemon: unexpected argument \"%s\"\n", argv[optind]);
                return 2;
        }
        args = copy_args(argc, argv);
        if (!args)
                return 1;
        if (reexec_state >= 0) {
                log_debug("daemon-reexec: main at %llu", (unsigned long long)now_usec(CLOCK_MONOTONIC));
                /* A re-exec: everything comes from the state, the options included. */
                stdin_to_devnull();
                r = reexec_load(reexec_state, reexec_fallback, args, &restore);
                if (r < 0)
                        return 1;
                mark_cloexec();
                o = restore->opt;
                o.restore = restore;
                log_max_level = (enum log_level)restore->log_level;
                r = manager_new(&m, &o);
                if (r >= 0)
                        r = manager_run(m);
                manager_free(m);
                saved_state_free(restore);
                return r < 0 ? 1 : r;
        }
        o.args = args;
        r = daemon_default_paths(&d_units, &d_state, &d_logs);
        if (!o.units_dir)
                o.units_dir = d_units;
        if (!o.state_dir)
                o.state_dir = d_state;
        /* An explicit --state-dir without --log-dir keeps the logs in STATE-DIR/logs
         * (manager.c), so that daemons side by side never share log files. */
        if (!o.log_dir && !state_given)
                o.log_dir = d_logs;
        if (!o.units_dir || !o.state_dir) {
                fprintf(stderr, "pidvisor daemon: no default directories (%s): give --units and --state-dir\n",
                        strerror(-r));
                r = 2;
                goto out;
        }
        {
                char *sock = NULL;
                if (!o.socket_path) {
                        const char *env = getenv("PIDVISOR_SOCKET");
                        if (env && *env)
                                o.socket_path = sock = strdup(env);
                        else if (asprintf(&sock, "%s/pidvisor.sock", o.state_dir) >= 0)
                                o.socket_path = sock;
                }
                stdin_to_devnull();
                mark_cloexec();
                r = manager_new(&m, &o);
                if (r >= 0)
                        r = manager_run(m);
                manager_free(m);
                free(sock);
        }
        r = r < 0 ? 1 : r;
out:
        free(d_units);
        free(d_state);
        free(d_logs);
        return r;
}
