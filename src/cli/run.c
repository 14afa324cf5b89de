/* SPDX-License-Identifier: MIT */
/* `pidvisor run`: run a command as a child through libpidvisor, forward signals to it,
 * and exit as it exited; with flags that mirror the unit keys, confined the way a
 * service is (a seccomp policy, capabilities, namespaces, read-only paths, cgroup
 * limits).  The exit codes of our own failures follow env(1): 125 for pidvisor's errors
 * (bad options, unknown user, a setup step failing in the child), 126 for a command that
 * exists but cannot be executed, 127 for one that is not found; 159 (128 + SIGSYS) for a
 * command its seccomp policy killed.  docs/run.md. */
#include "run.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cli.h"
#include "lib/sandbox.h"
#include "lib/strv.h"
#include "lib/util.h"

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
        "  --user U[:G]               run as user U (name or uid), with its primary group\n"
        "                             and supplementary groups, or with group G only\n"
        "  --group G                  run with group G (name or gid) as the only group\n"
        "  --rlimit NAME=SOFT[:HARD]  set a resource limit, e.g. NOFILE=1024:4096, CORE=0,\n"
        "                             STACK=infinity; one value sets both (repeatable)\n"
        "  -h, --help                 show this help\n"
        "\n"
        "Confinement (each as the unit key it names; docs/run.md):\n"
        "  --policy NAME|PATH         seccomp policy: a .policy or Docker/OCI .json file, or\n"
        "                             a NAME from the policy directory (default, server,\n"
        "                             strict); SeccompPolicy=\n"
        "  --syscall-filter LIST      system call names and @groups, a leading ~ for a\n"
        "                             deny-list; repeatable, as SystemCallFilter= lines\n"
        "  --syscall-errno ERRNO      what --syscall-filter's denied calls answer instead\n"
        "                             of a kill; SystemCallErrorNumber=\n"
        "  --cap CAPS                 the only capabilities: bounding set, and permitted,\n"
        "                             effective, inheritable and ambient, so that a --user\n"
        "                             keeps them (\"CAP_NET_BIND_SERVICE\", \"~CAP_SYS_ADMIN\",\n"
        "                             \"\" for none); CapabilityBoundingSet= and\n"
        "                             AmbientCapabilities=\n"
        "  --no-new-privs             execve grants no privilege (setuid, file caps);\n"
        "                             NoNewPrivileges=yes (implied by a policy)\n"
        "  --private-network          a network namespace with only lo; PrivateNetwork=\n"
        "  --private-ipc              an IPC namespace; PrivateIPC=\n"
        "  --private-tmp              a fresh, empty /tmp; PrivateTmp=\n"
        "  --private-pids             a pid namespace: CMD is pid 2 under pidvisor's init\n"
        "  --private-users            a user namespace mapping root and the user only;\n"
        "                             PrivateUsers=\n"
        "  --protect-system MODE      yes (/usr, /boot, /efi read-only), full (and /etc),\n"
        "                             strict (everything but /dev, /proc, /sys), or no\n"
        "  --read-only PATH           read-only (repeatable; a leading '-' ignores a\n"
        "                             missing PATH); ReadOnlyPaths=\n"
        "  --read-write PATH          writable below a read-only one; ReadWritePaths=\n"
        "  --inaccessible PATH        hidden; InaccessiblePaths=\n"
        "  --hostname NAME            a UTS namespace with this host name; Hostname=\n"
        "\n"
        "Resource limits, through a cgroup of the run's own (v2, else v1):\n"
        "  --memory-max SIZE          bytes (K, M, G... 1024-based), N% of RAM, infinity;\n"
        "                             the OOM killer ends CMD past it; MemoryMax=\n"
        "  --tasks-max N              processes and threads (N, N%, infinity); TasksMax=\n"
        "  --cpu-quota PCT            share of one CPU, e.g. 20% or 150%; CPUQuota=\n"
        "  --no-require-limits        run without a limit that no cgroup can enforce\n"
        "                             (a warning) instead of failing\n"
        "\n"
        "Exit status: the command's; 125 if pidvisor itself failed (bad option, unknown\n"
        "user, a setup step such as chdir failing, a limit that cannot be enforced), 126 if\n"
        "CMD cannot be executed, 127 if it is not found; 159 (128 + SIGSYS) if its seccomp\n"
        "policy killed it (\"killed by seccomp (syscall NAME)\" on stderr).\n";

/* One line, written at once: the command shares our stderr, and a line of ours must not
 * be cut by one of its own. */
static void say(const char *prefix, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void say(const char *prefix, const char *fmt, va_list ap) {
        char *msg = NULL, *line = NULL;
        int n;

        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        n = asprintf(&line, "pidvisor run: %s%s\n", prefix, msg ? msg : "out of memory");
        if (n > 0) {
                fflush(stderr);
                (void)!write(STDERR_FILENO, line, (size_t)n);
                free(line);
        }
        free(msg);
}

int run_fail(int code, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        say("", fmt, ap);
        va_end(ap);
        return code;
}

void run_warn(const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        say("warning: ", fmt, ap);
        va_end(ap);
}

struct run_options {
        const char *cwd;
        bool clear_env;
        char **env_assignments; /* borrowed from argv, like every string here */
        size_t n_env;
        const char *user;
        const char *group;
        struct pv_rlimit *rlimits;
        size_t n_rlimits;

        const char *policy;
        struct run_key *keys; /* --syscall-filter, --syscall-errno, --memory-max, ... */
        size_t n_keys;
        bool has_syscall_filter, has_syscall_errno;
        const char *cap;
        uint64_t caps;
        bool no_new_privs;
        bool private_network, private_ipc, private_tmp, private_pids, private_users;
        enum pv_protect_system protect_system;
        const char **read_only, **read_write, **inaccessible;
        size_t n_read_only, n_read_write, n_inaccessible;
        const char *hostname;
        struct run_limit_flags limit_flags;
        char limit_text[_CG_CTL_MAX][128];
        bool no_require_limits;
};

static int parse_rlimit_option(struct run_options *o, const char *arg) {
        _cleanup_free_ char *name = NULL;
        const char *eq = strchr(arg, '=');
        struct pv_error err = { 0 };
        struct pv_rlimit *grown;
        struct rlimit rl;
        int res;

        if (!eq)
                return run_fail(EXIT_RUN_FAILED, "--rlimit \"%s\": expected NAME=SOFT[:HARD]", arg);
        name = strndup(arg, (size_t)(eq - arg));
        if (!name)
                return run_fail(EXIT_RUN_FAILED, "out of memory");
        res = pv_rlimit_from_name(name);
        if (res < 0)
                return run_fail(EXIT_RUN_FAILED,
                                "--rlimit \"%s\": unknown resource \"%s\" (known: CPU FSIZE DATA STACK "
                                "CORE RSS NPROC NOFILE MEMLOCK AS LOCKS SIGPENDING MSGQUEUE NICE "
                                "RTPRIO RTTIME)",
                                arg, name);
        if (pv_rlimit_parse(eq + 1, &rl, &err) < 0)
                return run_fail(EXIT_RUN_FAILED, "--rlimit %s: %s", name, err.message);
        grown = realloc(o->rlimits, (o->n_rlimits + 1) * sizeof(*grown));
        if (!grown)
                return run_fail(EXIT_RUN_FAILED, "out of memory");
        o->rlimits = grown;
        o->rlimits[o->n_rlimits++] = (struct pv_rlimit){ .resource = res, .limit = rl };
        return 0;
}

/* ProtectSystem=: a boolean, full or strict. */
static int parse_protect_system(const char *v, enum pv_protect_system *ret) {
        static const char *const yes[] = { "yes", "true", "on", "1" }, *const no[] = { "no", "false", "off", "0" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (!strcmp(v, yes[i])) {
                        *ret = PV_PROTECT_SYSTEM_YES;
                        return 0;
                }
                if (!strcmp(v, no[i])) {
                        *ret = PV_PROTECT_SYSTEM_NO;
                        return 0;
                }
        }
        if (!strcmp(v, "full"))
                *ret = PV_PROTECT_SYSTEM_FULL;
        else if (!strcmp(v, "strict"))
                *ret = PV_PROTECT_SYSTEM_STRICT;
        else
                return run_fail(EXIT_RUN_FAILED, "--protect-system \"%s\": expected yes, full, strict or no", v);
        return 0;
}

/* A path of --read-only, --read-write, --inaccessible: absolute, and there unless it
 * starts with '-' (checked here so that the message names the flag). */
static int check_path(const char *flag, const char *v) {
        const char *path = v[0] == '-' ? v + 1 : v;
        struct stat st;

        if (path[0] != '/')
                return run_fail(EXIT_RUN_FAILED, "%s \"%s\": expected an absolute path (a leading '-' "
                                "ignores one that does not exist)", flag, v);
        if (v[0] != '-' && stat(path, &st) < 0)
                return run_fail(EXIT_RUN_FAILED, "%s \"%s\": %s (a leading '-' ignores a missing path)", flag,
                                v, strerror(errno));
        return 0;
}

/* A host name as sethostname takes it and resolvers read it: 1 to 64 letters, digits,
 * '-' and '.', not starting or ending with '-' or '.'. */
static int check_hostname(const char *v) {
        size_t n = strlen(v);
        bool ok = n >= 1 && n <= 64 && strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") == n &&
                  v[0] != '-' && v[0] != '.' && v[n - 1] != '-' && v[n - 1] != '.';

        if (!ok)
                return run_fail(EXIT_RUN_FAILED, "--hostname \"%s\": expected 1 to 64 letters, digits, '-' and '.', "
                                "not starting or ending with '-' or '.'", v);
        return 0;
}

static void add_key(struct run_options *o, const char *flag, const char *key, const char *value) {
        o->keys[o->n_keys++] = (struct run_key){ .flag = flag, .key = key, .value = value };
}

static void set_limit_text(struct run_options *o, enum cg_ctl c, const char *flag, const char *value) {
        snprintf(o->limit_text[c], sizeof(o->limit_text[c]), "%s %s", flag, value);
        o->limit_flags.text[c] = o->limit_text[c];
}

enum {
        OPT_CWD = 256,
        OPT_ENV,
        OPT_CLEAR_ENV,
        OPT_USER,
        OPT_GROUP,
        OPT_RLIMIT,
        OPT_POLICY,
        OPT_SYSCALL_FILTER,
        OPT_SYSCALL_ERRNO,
        OPT_CAP,
        OPT_NO_NEW_PRIVS,
        OPT_PRIVATE_NETWORK,
        OPT_PRIVATE_IPC,
        OPT_PRIVATE_TMP,
        OPT_PRIVATE_PIDS,
        OPT_PRIVATE_USERS,
        OPT_PROTECT_SYSTEM,
        OPT_READ_ONLY,
        OPT_READ_WRITE,
        OPT_INACCESSIBLE,
        OPT_HOSTNAME,
        OPT_MEMORY_MAX,
        OPT_TASKS_MAX,
        OPT_CPU_QUOTA,
        OPT_NO_REQUIRE_LIMITS,
};

static const struct option longopts[] = {
        { "cwd", required_argument, NULL, OPT_CWD },
        { "env", required_argument, NULL, OPT_ENV },
        { "clear-env", no_argument, NULL, OPT_CLEAR_ENV },
        { "user", required_argument, NULL, OPT_USER },
        { "group", required_argument, NULL, OPT_GROUP },
        { "rlimit", required_argument, NULL, OPT_RLIMIT },
        { "policy", required_argument, NULL, OPT_POLICY },
        { "syscall-filter", required_argument, NULL, OPT_SYSCALL_FILTER },
        { "syscall-errno", required_argument, NULL, OPT_SYSCALL_ERRNO },
        { "cap", required_argument, NULL, OPT_CAP },
        { "no-new-privs", no_argument, NULL, OPT_NO_NEW_PRIVS },
        { "private-network", no_argument, NULL, OPT_PRIVATE_NETWORK },
        { "private-ipc", no_argument, NULL, OPT_PRIVATE_IPC },
        { "private-tmp", no_argument, NULL, OPT_PRIVATE_TMP },
        { "private-pids", no_argument, NULL, OPT_PRIVATE_PIDS },
        { "private-users", no_argument, NULL, OPT_PRIVATE_USERS },
        { "protect-system", required_argument, NULL, OPT_PROTECT_SYSTEM },
        { "read-only", required_argument, NULL, OPT_READ_ONLY },
        { "read-write", required_argument, NULL, OPT_READ_WRITE },
        { "inaccessible", required_argument, NULL, OPT_INACCESSIBLE },
        { "hostname", required_argument, NULL, OPT_HOSTNAME },
        { "memory-max", required_argument, NULL, OPT_MEMORY_MAX },
        { "tasks-max", required_argument, NULL, OPT_TASKS_MAX },
        { "cpu-quota", required_argument, NULL, OPT_CPU_QUOTA },
        { "no-require-limits", no_argument, NULL, OPT_NO_REQUIRE_LIMITS },
        { "help", no_argument, NULL, 'h' },
        {},
};

/* Returns 0 to go on, or an exit code (help: 0 is returned through *done). */
static int parse_options(int argc, char **argv, struct run_options *o, bool *done) {
        struct pv_error err = { 0 };
        const char *colon;
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
                                return run_fail(EXIT_RUN_FAILED, "--env \"%s\": expected K=V", optarg);
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
                case OPT_POLICY:
                        o->policy = optarg;
                        break;
                case OPT_SYSCALL_FILTER:
                        o->has_syscall_filter = true;
                        add_key(o, "--syscall-filter", "SystemCallFilter", optarg);
                        break;
                case OPT_SYSCALL_ERRNO:
                        o->has_syscall_errno = true;
                        add_key(o, "--syscall-errno", "SystemCallErrorNumber", optarg);
                        break;
                case OPT_CAP:
                        if (pv_caps_parse(optarg, &o->caps, &err) < 0)
                                return run_fail(EXIT_RUN_FAILED, "--cap \"%s\": %s", optarg, err.message);
                        o->cap = optarg;
                        break;
                case OPT_NO_NEW_PRIVS:
                        o->no_new_privs = true;
                        break;
                case OPT_PRIVATE_NETWORK:
                        o->private_network = true;
                        break;
                case OPT_PRIVATE_IPC:
                        o->private_ipc = true;
                        break;
                case OPT_PRIVATE_TMP:
                        o->private_tmp = true;
                        break;
                case OPT_PRIVATE_PIDS:
                        o->private_pids = true;
                        break;
                case OPT_PRIVATE_USERS:
                        o->private_users = true;
                        break;
                case OPT_PROTECT_SYSTEM:
                        r = parse_protect_system(optarg, &o->protect_system);
                        if (r)
                                return r;
                        break;
                case OPT_READ_ONLY:
                        if ((r = check_path("--read-only", optarg)))
                                return r;
                        o->read_only[o->n_read_only++] = optarg;
                        break;
                case OPT_READ_WRITE:
                        if ((r = check_path("--read-write", optarg)))
                                return r;
                        o->read_write[o->n_read_write++] = optarg;
                        break;
                case OPT_INACCESSIBLE:
                        if ((r = check_path("--inaccessible", optarg)))
                                return r;
                        o->inaccessible[o->n_inaccessible++] = optarg;
                        break;
                case OPT_HOSTNAME:
                        if ((r = check_hostname(optarg)))
                                return r;
                        o->hostname = optarg;
                        break;
                case OPT_MEMORY_MAX:
                        add_key(o, "--memory-max", "MemoryMax", optarg);
                        set_limit_text(o, CG_MEMORY, "--memory-max", optarg);
                        break;
                case OPT_TASKS_MAX:
                        add_key(o, "--tasks-max", "TasksMax", optarg);
                        set_limit_text(o, CG_PIDS, "--tasks-max", optarg);
                        break;
                case OPT_CPU_QUOTA:
                        add_key(o, "--cpu-quota", "CPUQuota", optarg);
                        set_limit_text(o, CG_CPU, "--cpu-quota", optarg);
                        break;
                case OPT_NO_REQUIRE_LIMITS:
                        o->no_require_limits = true;
                        break;
                case ':':
                        return run_fail(EXIT_RUN_FAILED, "option \"%s\" needs a value (see --help)",
                                        argv[optind - 1]);
                default:
                        return run_fail(EXIT_RUN_FAILED, "unknown option \"%s\" (see --help)",
                                        argv[optind - 1]);
                }
        }
        if (optind >= argc)
                return run_fail(EXIT_RUN_FAILED, "no command given (see --help)");

        /* --user U:G is --user U --group G. */
        if (o->user && (colon = strchr(o->user, ':'))) {
                if (o->group)
                        return run_fail(EXIT_RUN_FAILED, "--user \"%s\" names a group, and so does --group; "
                                        "give it once", o->user);
                if (colon == o->user || !colon[1])
                        return run_fail(EXIT_RUN_FAILED, "--user \"%s\": expected USER or USER:GROUP", o->user);
                o->group = colon + 1;
                /* argv is ours to cut: the user name ends at the colon. */
                *(char *)colon = 0;
        }
        if (o->policy && o->has_syscall_filter)
                return run_fail(EXIT_RUN_FAILED, "--policy and --syscall-filter both name a seccomp policy; "
                                "use one of the two");
        if (o->has_syscall_errno && !o->has_syscall_filter)
                return run_fail(EXIT_RUN_FAILED, "--syscall-errno is what --syscall-filter's denied calls "
                                "answer; give --syscall-filter too");
        return 0;
}

extern char **environ;

static int build_env(const struct run_options *o, char ***ret) {
        char **env = strv_copy(o->clear_env ? NULL : environ);

        if (!env)
                return run_fail(EXIT_RUN_FAILED, "out of memory");
        for (size_t i = 0; i < o->n_env; i++)
                if (env_assign(&env, o->env_assignments[i]) < 0) {
                        strv_free(env);
                        return run_fail(EXIT_RUN_FAILED, "out of memory");
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
                        return run_fail(EXIT_RUN_FAILED, "%s: %s", o->user ? "--user" : "--group", err.message);
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
                                return run_fail(EXIT_RUN_FAILED,
                                                "--user: %s: uid %s has no passwd entry, give a group too",
                                                err.message, o->user);
                        return run_fail(EXIT_RUN_FAILED, "--user: %s", err.message);
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

/* Our permitted capabilities: what we can hand on. */
static uint64_t permitted_caps(void) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[2] = { 0 };

        if (syscall(SYS_capget, &h, d) < 0)
                return 0;
        return (uint64_t)d[0].permitted | (uint64_t)d[1].permitted << 32;
}

/* --cap's sets are within what we hold: "~CAP_X" means every capability we could give
 * but X; one named that we do not hold is an error.  In a user namespace of its own the
 * child holds them all (of that namespace). */
static int check_caps(struct run_options *o) {
        uint64_t held = permitted_caps(), missing;
        char name[64];

        if (!o->cap || o->private_users)
                return 0;
        if (o->cap[strspn(o->cap, " \t")] == '~') {
                o->caps &= held;
                return 0;
        }
        missing = o->caps & ~held;
        if (!missing)
                return 0;
        return run_fail(EXIT_RUN_FAILED, "--cap \"%s\": %s is not ours to give (pidvisor run does not hold it)",
                        o->cap, caps_name(__builtin_ctzll(missing), name, sizeof(name)));
}

/* The confinement flags into the spawn attributes. */
static void confine(const struct run_options *o, struct pv_spawn_attr *a) {
        if (o->cap) {
                /* The bounding set limits a root command (execve gives root every
                 * capability of it); the four sets, ambient included, are what a
                 * non-root --user keeps across execve. */
                a->set_cap_bounding = true;
                a->cap_bounding = o->caps;
                a->set_caps = true;
                a->cap_permitted = a->cap_effective = a->cap_inheritable = a->cap_ambient = o->caps;
        }
        a->no_new_privs = o->no_new_privs;
        a->private_network = o->private_network;
        a->private_ipc = o->private_ipc;
        a->private_tmp = o->private_tmp;
        a->private_pids = o->private_pids;
        a->private_users = o->private_users;
        a->protect_system = o->protect_system;
        a->read_only_paths = o->read_only;
        a->n_read_only_paths = o->n_read_only;
        a->read_write_paths = o->read_write;
        a->n_read_write_paths = o->n_read_write;
        a->inaccessible_paths = o->inaccessible;
        a->n_inaccessible_paths = o->n_inaccessible;
        a->hostname = o->hostname;
}

/* The capabilities the command will hold, for a Docker profile's includes/excludes by
 * capability: --cap's, else ours for root, else none. */
static uint64_t held_caps(const struct run_options *o, const struct pv_spawn_attr *a) {
        if (o->cap)
                return o->caps;
        return (a->set_uid ? a->uid : geteuid()) == 0 ? permitted_caps() : 0;
}

static int exit_code_for_spawn_error(const struct pv_error *err) {
        if (err->op && (!strcmp(err->op, "lookpath") || !strcmp(err->op, "execve")))
                return err->code == -ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXECUTE;
        return EXIT_RUN_FAILED;
}

/* How the command ended, as our exit code, with what the seccomp listener and the
 * cgroup saw. */
static int report_exit(const struct run_options *o, const struct pv_exit *ex, struct run_seccomp *sc,
                       const struct run_cgroup *cg) {
        int code = pv_exit_code(ex);
        /* A private pid namespace's init passes a signal on as the exit status 128+N. */
        bool sigkill = ex->signaled ? ex->signal == SIGKILL : o->private_pids && ex->status == 128 + SIGKILL;
        bool sigsys = ex->signaled ? ex->signal == SIGSYS : o->private_pids && ex->status == 128 + SIGSYS;

        if (sc->main_killed) {
                run_fail(0, "killed by seccomp (syscall %s)", sc->main_syscall);
                return EXIT_SECCOMP_KILLED;
        }
        if (sc->prog && !sc->notify && sigsys) {
                run_fail(0, "killed by seccomp (SIGSYS: a system call the policy kills; which one is not "
                         "known, since the policy may also kill %s, which reporting it needs)",
                         sc->no_notify_because);
                return EXIT_SECCOMP_KILLED;
        }
        if (sigkill && run_cgroup_oom_kills(cg) > 0)
                run_fail(0, "killed by the OOM killer (%s)", o->limit_flags.text[CG_MEMORY]);
        return code;
}

/* Forwards the signals and answers the seccomp listener until the child exits; returns
 * its exit code. */
static int supervise(const struct run_options *o, struct pv_process *child, int sigfd, struct run_seccomp *sc,
                     const struct run_cgroup *cg) {
        pid_t own_pgrp = getpgrp();

        for (;;) {
                struct pollfd pfd[3] = {
                        { .fd = child->pidfd, .events = POLLIN },
                        { .fd = sigfd, .events = POLLIN },
                        { .fd = sc->listener, .events = POLLIN },
                };
                struct signalfd_siginfo si;
                struct pv_error err = { 0 };
                struct pv_exit ex;

                if (poll(pfd, sc->listener >= 0 ? 3 : 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return run_fail(EXIT_RUN_FAILED, "poll: %s", strerror(errno));
                }
                /* A violation first: the exit it causes must find it known. */
                if (sc->listener >= 0 && pfd[2].revents)
                        run_seccomp_handle(sc, child, o->private_pids);
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
                                return run_fail(EXIT_RUN_FAILED, "%s", err.message);
                        return report_exit(o, &ex, sc, cg);
                }
        }
}

int cli_run(int argc, char **argv) {
        size_t slots = (size_t)argc + 1;
        _cleanup_free_ char **assign = calloc(slots, sizeof(char *));
        _cleanup_free_ struct run_key *keys = calloc(slots, sizeof(struct run_key));
        _cleanup_free_ const char **ro = calloc(slots, sizeof(char *)), **rw = calloc(slots, sizeof(char *)),
                                  **inacc = calloc(slots, sizeof(char *));
        struct run_options o = { .env_assignments = assign, .keys = keys, .read_only = ro, .read_write = rw,
                                 .inaccessible = inacc };
        struct run_keys_result kr = { 0 };
        struct run_seccomp sc = { .listener = -EBADF };
        struct run_cgroup *cg = NULL;
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

        if (!assign || !keys || !ro || !rw || !inacc)
                return run_fail(EXIT_RUN_FAILED, "out of memory");
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
        r = check_caps(&o);
        if (r)
                goto out;
        confine(&o, &a);

        /* The flags that are unit keys, then the policy, then the cgroup: the cgroup is
         * made last, once nothing else can fail before the spawn. */
        r = run_keys_parse(o.keys, o.n_keys, &kr);
        if (r)
                goto out;
        r = run_seccomp_prepare(&sc, o.policy, TAKE_PTR(kr.policy), held_caps(&o, &a));
        if (r)
                goto out;
        if (sc.prog) {
                a.seccomp_filter = &sc.prog->fprog;
                a.seccomp_flags = sc.prog->flags;
                a.seccomp_listener_fd = &sc.listener;
        }
        /* Block the forwarded signals before the child exists, so none is lost between
         * its start and our first read (pv_spawn gives the child an empty mask), and
         * before the cgroup is made, so that none ends us with it left behind. */
        sigemptyset(&mask);
        for (size_t i = 0; i < ELEMENTSOF(forwarded); i++)
                sigaddset(&mask, forwarded[i]);
        sigprocmask(SIG_BLOCK, &mask, &saved);
        sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
        if (sigfd < 0) {
                r = run_fail(EXIT_RUN_FAILED, "signalfd: %s", strerror(errno));
                goto out;
        }

        r = run_cgroup_prepare(&kr.limits, &o.limit_flags, !o.no_require_limits, &cg);
        if (r)
                goto out;
        a.cgroup_fd = run_cgroup_v2_fd(cg);

        r = run_cgroup_enter(cg);
        if (r)
                goto out;
        if (pv_spawn(&a, &child, NULL, &err) < 0) {
                run_cgroup_leave(cg, NULL);
                r = run_fail(exit_code_for_spawn_error(&err), "%s", err.message);
                goto out;
        }
        run_cgroup_leave(cg, &child);
        r = supervise(&o, &child, sigfd, &sc, cg);
        pv_process_release(&child);
out:
        run_cgroup_free(cg);
        run_seccomp_done(&sc);
        pv_user_done(&user);
        free(o.rlimits);
        return r;
}
