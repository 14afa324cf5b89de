/* SPDX-License-Identifier: MIT */
/* `pidvisor run`: run a command as a child through libpidvisor, forward signals to it,
 * and exit as it exited.  The exit codes of our own failures follow env(1): 125 for
 * pidvisor's errors (bad options, unknown user, a setup step failing in the child), 126
 * for a command that exists but cannot be executed, 127 for one that is not found. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <pidvisor/pidvisor.h>

#include "cli.h"
#include "lib/strv.h"
#include "lib/util.h"

enum {
        EXIT_RUN_FAILED = 125,
        EXIT_CANNOT_EXECUTE = 126,
        EXIT_NOT_FOUND = 127,
};

static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

static const char usage[] =
        "Usage: pidvisor run [OPTIONS] [--] CMD [ARGS...]\n"
        "\n"
        "Runs CMD as a child process (clone3 + pidfd), forwards SIGINT, SIGTERM, SIGHUP,\n"
        "SIGQUIT, SIGUSR1 and SIGUSR2 to it, and exits with its exit status, or 128+N when\n"
        "it was killed by signal N.  CMD without a '/' is searched in $PATH.\n"
        "\n"
        "Options:\n"
        "  --cwd DIR                  run in DIR\n"
        "  --env K=V                  set an environment variable (repeatable)\n"
        "  --clear-env                start from an empty environment (then apply --env)\n"
        "  --user U                   run as user U (name or uid), with its primary group\n"
        "                             and supplementary groups\n"
        "  --group G                  run with group G (name or gid) as the only group\n"
        "  --rlimit NAME=SOFT[:HARD]  set a resource limit, e.g. NOFILE=1024:4096, CORE=0,\n"
        "                             STACK=infinity; one value sets both (repeatable)\n"
        "  -h, --help                 show this help\n"
        "\n"
        "Exit status: the command's; 125 if pidvisor itself failed (bad option, unknown\n"
        "user, a setup step such as chdir failing), 126 if CMD cannot be executed, 127 if\n"
        "it is not found.\n";

static int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(int code, const char *fmt, ...) {
        va_list ap;

        fputs("pidvisor run: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        return code;
}

struct run_options {
        const char *cwd;
        bool clear_env;
        char **env_assignments; /* borrowed from argv */
        size_t n_env;
        const char *user;
        const char *group;
        struct pv_rlimit *rlimits;
        size_t n_rlimits;
};

static int parse_rlimit_option(struct run_options *o, const char *arg) {
        _cleanup_free_ char *name = NULL;
        const char *eq = strchr(arg, '=');
        struct pv_error err = { 0 };
        struct pv_rlimit *grown;
        struct rlimit rl;
        int res;

        if (!eq)
                return fail(EXIT_RUN_FAILED, "--rlimit \"%s\": expected NAME=SOFT[:HARD]", arg);
        name = strndup(arg, (size_t)(eq - arg));
        if (!name)
                return fail(EXIT_RUN_FAILED, "out of memory");
        res = pv_rlimit_from_name(name);
        if (res < 0)
                return fail(EXIT_RUN_FAILED,
                            "--rlimit \"%s\": unknown resource \"%s\" (known: CPU FSIZE DATA STACK "
                            "CORE RSS NPROC NOFILE MEMLOCK AS LOCKS SIGPENDING MSGQUEUE NICE "
                            "RTPRIO RTTIME)",
                            arg, name);
        if (pv_rlimit_parse(eq + 1, &rl, &err) < 0)
                return fail(EXIT_RUN_FAILED, "--rlimit %s: %s", name, err.message);
        grown = realloc(o->rlimits, (o->n_rlimits + 1) * sizeof(*grown));
        if (!grown)
                return fail(EXIT_RUN_FAILED, "out of memory");
        o->rlimits = grown;
        o->rlimits[o->n_rlimits++] = (struct pv_rlimit){ .resource = res, .limit = rl };
        return 0;
}

/* Returns 0 to go on, or an exit code (help: 0 is returned through *done). */
static int parse_options(int argc, char **argv, struct run_options *o, bool *done) {
        enum { OPT_CWD = 256, OPT_ENV, OPT_CLEAR_ENV, OPT_USER, OPT_GROUP, OPT_RLIMIT };
        static const struct option longopts[] = {
                { "cwd", required_argument, NULL, OPT_CWD },
                { "env", required_argument, NULL, OPT_ENV },
                { "clear-env", no_argument, NULL, OPT_CLEAR_ENV },
                { "user", required_argument, NULL, OPT_USER },
                { "group", required_argument, NULL, OPT_GROUP },
                { "rlimit", required_argument, NULL, OPT_RLIMIT },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int c, r;

        opterr = 0;
        optind = 1;
        /* '+': stop at the first non-option, so CMD's own options stay CMD's. */
        while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
                switch (c) {
                case 'h':
                        fputs(usage, stdout);
                        *done = true;
                        return 0;
                case OPT_CWD:
                        o->cwd = optarg;
                        break;
                case OPT_ENV:
                        if (!strchr(optarg, '=') || optarg[0] == '=')
                                return fail(EXIT_RUN_FAILED, "--env \"%s\": expected K=V", optarg);
                        o->env_assignments[o->n_env++] = optarg;
                        break;
                case OPT_CLEAR_ENV:
                        o->clear_env = true;
                        break;
                case OPT_USER:
                        o->user = optarg;
                        break;
                case OPT_GROUP:
                        o->group = optarg;
                        break;
                case OPT_RLIMIT:
                        r = parse_rlimit_option(o, optarg);
                        if (r)
                                return r;
                        break;
                case ':':
                        return fail(EXIT_RUN_FAILED, "option \"%s\" needs a value (see --help)",
                                    argv[optind - 1]);
                default:
                        return fail(EXIT_RUN_FAILED, "unknown option \"%s\" (see --help)",
                                    argv[optind - 1]);
                }
        }
        if (optind >= argc)
                return fail(EXIT_RUN_FAILED, "no command given (see --help)");
        return 0;
}

extern char **environ;

static int build_env(const struct run_options *o, char ***ret) {
        char **env = strv_copy(o->clear_env ? NULL : environ);

        if (!env)
                return fail(EXIT_RUN_FAILED, "out of memory");
        for (size_t i = 0; i < o->n_env; i++)
                if (env_assign(&env, o->env_assignments[i]) < 0) {
                        strv_free(env);
                        return fail(EXIT_RUN_FAILED, "out of memory");
                }
        *ret = env;
        return 0;
}

/* --user and --group into the spawn attributes; user->groups stays owned by *user. */
static int resolve_credentials(const struct run_options *o, struct pv_spawn_attr *a,
                               struct pv_user *user, gid_t *group) {
        struct pv_error err = { 0 };
        int r;

        if (o->group) {
                if (pv_group_lookup(o->group, group, &err) < 0)
                        return fail(EXIT_RUN_FAILED, "%s", err.message);
                a->set_gid = true;
                a->gid = *group;
                a->set_groups = true;
                a->groups = group;
                a->n_groups = 1;
        }
        if (o->user) {
                long num;

                r = pv_user_lookup(o->user, user, &err);
                if (r == -ESRCH && o->group && parse_long(o->user, 0, (long)UINT32_MAX - 1, &num) == 0) {
                        /* A bare uid without a passwd entry is fine when the group is given. */
                        a->set_uid = true;
                        a->uid = (uid_t)num;
                        return 0;
                }
                if (r < 0) {
                        if (r == -ESRCH && parse_long(o->user, 0, (long)UINT32_MAX - 1, &num) == 0)
                                return fail(EXIT_RUN_FAILED,
                                            "%s: uid %s has no passwd entry, give --group too",
                                            err.message, o->user);
                        return fail(EXIT_RUN_FAILED, "%s", err.message);
                }
                a->set_uid = true;
                a->uid = user->uid;
                if (!o->group) {
                        a->set_gid = true;
                        a->gid = user->gid;
                        a->set_groups = true;
                        a->groups = user->groups;
                        a->n_groups = user->n_groups;
                }
        }
        return 0;
}

static int exit_code_for_spawn_error(const struct pv_error *err) {
        if (err->op && (!strcmp(err->op, "lookpath") || !strcmp(err->op, "execve")))
                return err->code == -ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXECUTE;
        return EXIT_RUN_FAILED;
}

/* Forwards the signals until the child exits; returns its exit code. */
static int supervise(struct pv_process *child, int sigfd) {
        pid_t own_pgrp = getpgrp();

        for (;;) {
                struct pollfd pfd[2] = {
                        { .fd = child->pidfd, .events = POLLIN },
                        { .fd = sigfd, .events = POLLIN },
                };
                struct signalfd_siginfo si;
                struct pv_error err = { 0 };
                struct pv_exit ex;

                if (poll(pfd, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return fail(EXIT_RUN_FAILED, "poll: %s", strerror(errno));
                }
                if (pfd[1].revents & POLLIN) {
                        if (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                                /* A signal from the terminal (SI_KERNEL) already reached the
                                 * child when it shares our process group: sending it again
                                 * would deliver it twice, which many programs take as "force
                                 * quit". */
                                bool from_tty = si.ssi_code == SI_KERNEL;
                                if (!from_tty || getpgid(child->pid) != own_pgrp)
                                        pv_process_signal(child, (int)si.ssi_signo, NULL);
                        }
                }
                if (pfd[0].revents & POLLIN) {
                        if (pv_process_wait(child, 0, &ex, &err) < 0)
                                return fail(EXIT_RUN_FAILED, "%s", err.message);
                        return pv_exit_code(&ex);
                }
        }
}

int cli_run(int argc, char **argv) {
        _cleanup_free_ char **assign = calloc((size_t)argc + 1, sizeof(char *));
        struct run_options o = { .env_assignments = assign };
        _cleanup_strv_free_ char **env = NULL;
        struct pv_user user = { 0 };
        struct pv_process child = PV_PROCESS_NULL;
        struct pv_spawn_attr a;
        struct pv_error err = { 0 };
        _cleanup_close_ int sigfd = -EBADF;
        sigset_t mask, saved;
        bool done = false;
        gid_t group = 0;
        int r;

        if (!assign)
                return fail(EXIT_RUN_FAILED, "out of memory");
        r = parse_options(argc, argv, &o, &done);
        if (r || done)
                goto out;
        r = build_env(&o, &env);
        if (r)
                goto out;

        pv_spawn_attr_init(&a);
        a.argv = argv + optind;
        a.envp = env;
        a.cwd = o.cwd;
        a.rlimits = o.rlimits;
        a.n_rlimits = o.n_rlimits;
        r = resolve_credentials(&o, &a, &user, &group);
        if (r)
                goto out;

        /* Block the forwarded signals before the child exists, so none is lost between
         * its start and our first read; pv_spawn gives the child an empty mask. */
        sigemptyset(&mask);
        for (size_t i = 0; i < ELEMENTSOF(forwarded); i++)
                sigaddset(&mask, forwarded[i]);
        sigprocmask(SIG_BLOCK, &mask, &saved);
        sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
        if (sigfd < 0) {
                r = fail(EXIT_RUN_FAILED, "signalfd: %s", strerror(errno));
                goto out;
        }

        if (pv_spawn(&a, &child, NULL, &err) < 0) {
                r = fail(exit_code_for_spawn_error(&err), "%s", err.message);
                goto out;
        }
        r = supervise(&child, sigfd);
        pv_process_release(&child);
out:
        pv_user_done(&user);
        free(o.rlimits);
        return r;
}
