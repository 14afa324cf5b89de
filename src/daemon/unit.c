/* SPDX-License-Identifier: MIT */
/* NAME.service files: systemd's keys, read into a struct unit_config.  The ini layer is
 * conf-parse.c; this file knows what each key means.  Reference: docs/units.md. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pidvisor/pidvisor.h>

#include "conf-parse.h"
#include "lib/strv.h"
#include "lib/policy-internal.h"
#include "lib/util.h"

#define UNIT_FILE_MAX ((size_t)1 << 20)
#define SUFFIX ".service"

enum {
        SEC_UNIT = 1 << 0,
        SEC_SERVICE = 1 << 1,
        SEC_INSTALL = 1 << 2,
        SEC_PIDVISOR = 1 << 3,
        SEC_SOCKET = 1 << 4,
};

static const char *const sections[] = { "Unit", "Service", "Install", "X-Pidvisor", "Socket", NULL };
/* What NAME.socket may hold. */
static const char *const socket_file_sections[] = { "Unit", "Socket", "Install", NULL };

struct parser {
        const char *path;
        struct unit_config *u;
        struct diagnostics diag;
        unsigned exec_start_line;        /* of the ExecStart= in effect, 0: none */
        unsigned restart_steps_line;
        unsigned restart_max_delay_line;
        char **env;                      /* Environment= assignments in order, repeats */
        size_t n_env;                    /* included: env_finish() folds them */
        int auto_start;                  /* AutoStart=: -1 not given */
        int notify_access;               /* NotifyAccess=: -1 not given */
        bool wanted_by_default;          /* [Install] WantedBy= names a boot target */
        int hot_restart;                 /* HotRestart=: -1 not given */
        /* SystemCallFilter= and friends, turned into a policy in check_seccomp() */
        char *scf_text;                  /* the rules so far, in the policy language */
        size_t scf_len;
        int scf_mode;                    /* 0: none yet, 1: allow-list, -1: deny-list */
        unsigned scf_line;
        char *scf_errno;                 /* SystemCallErrorNumber=: NULL: kill */
        char *scf_arch;                  /* SystemCallArchitectures=: policy arch names */
        char *scf_log;                   /* SystemCallLog= names */
        char *seccomp_policy;            /* SeccompPolicy= */
        unsigned seccomp_policy_line;
        unsigned hot_restart_line, keep_listeners_line;
        const char *file;                /* the file being read: path, or the .socket's */
        bool in_socket_file;             /* reading NAME.socket */
        bool socket_keys_seen;           /* a [Socket] key in the current file */
        bool listen_seen;                /* a Listen*= line, valid or not */
        unsigned socket_mode_line;
};

struct key;
typedef int (*key_parse_fn)(struct parser *p, const struct key *k, unsigned line,
                            const char *value);
struct key {
        unsigned sections;
        const char *name;
        key_parse_fn parse;
        size_t offset; /* the field in struct unit_config, where the parser uses one */
};

/* ---- messages ------------------------------------------------------------------------- */

static int report(struct parser *p, bool error, unsigned line, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static int report(struct parser *p, bool error, unsigned line, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0) {
                msg = NULL;
                return -ENOMEM;
        }
        if (line > 0)
                return diagnostics_add(&p->diag, error, "%s:%u: %s", p->file, line, msg);
        return diagnostics_add(&p->diag, error, "%s: %s", p->file, msg);
}

/* `Key=: invalid value "V" (expected ...)` */
static int invalid(struct parser *p, unsigned line, const char *key, const char *value,
                   const char *expected) {
        _cleanup_free_ char *q = conf_quote(value);

        if (!q)
                return -ENOMEM;
        return report(p, true, line, "%s=: invalid value \"%s\" (expected %s)", key, q,
                      expected);
}

/* `Key=: invalid value "V" (reason)` */
static int invalid_because(struct parser *p, unsigned line, const char *key, const char *value,
                           const char *reason) {
        _cleanup_free_ char *q = conf_quote(value);

        if (!q)
                return -ENOMEM;
        return report(p, true, line, "%s=: invalid value \"%s\" (%s)", key, q, reason);
}

/* ---- value parsers -------------------------------------------------------------------- */

static bool is_space(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool all_digits(const char *s) {
        if (!*s)
                return false;
        for (; *s; s++)
                if (*s < '0' || *s > '9')
                        return false;
        return true;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *ret) {
        uint64_t v = 0;

        if (!all_digits(s))
                return -EINVAL;
        for (; *s; s++) {
                if (v > (UINT64_MAX - 9) / 10)
                        return -ERANGE;
                v = v * 10 + (uint64_t)(*s - '0');
        }
        if (v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

/* systemd's parse_boolean(). */
static int parse_bool(const char *s) {
        static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char *const no[] = { "0", "no", "n", "false", "f", "off" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (strcasecmp(s, yes[i]) == 0)
                        return 1;
                if (strcasecmp(s, no[i]) == 0)
                        return 0;
        }
        return -EINVAL;
}

/* A byte count: digits, an optional fraction, an optional 1024-based suffix. */
static int parse_size(const char *s, uint64_t *ret) {
        static const struct {
                char suffix;
                uint64_t factor;
        } suffixes[] = {
                { 'B', 1 },          { 'K', 1ULL << 10 }, { 'M', 1ULL << 20 }, { 'G', 1ULL << 30 },
                { 'T', 1ULL << 40 }, { 'P', 1ULL << 50 }, { 'E', 1ULL << 60 },
        };
        const char *num = s, *frac = NULL;
        uint64_t whole = 0, factor = 1, sum;

        for (; *s >= '0' && *s <= '9'; s++) {
                if (whole > (UINT64_MAX - 9) / 10)
                        return -ERANGE;
                whole = whole * 10 + (uint64_t)(*s - '0');
        }
        if (s == num)
                return -EINVAL;
        if (*s == '.') {
                frac = ++s;
                while (*s >= '0' && *s <= '9')
                        s++;
                if (s == frac)
                        return -EINVAL;
        }
        while (is_space(*s))
                s++;
        if (*s) {
                size_t i;

                for (i = 0; i < ELEMENTSOF(suffixes) && suffixes[i].suffix != *s; i++)
                        ;
                if (i == ELEMENTSOF(suffixes) || s[1])
                        return -EINVAL;
                factor = suffixes[i].factor;
        }
        if (whole > UINT64_MAX / factor)
                return -ERANGE;
        sum = whole * factor;
        if (frac) {
                /* The fraction exactly, truncated to whole bytes: "1.5K" is 1536. */
                unsigned __int128 f = 0, pow = 1;

                for (unsigned i = 0; i < 18 && frac[i] >= '0' && frac[i] <= '9'; i++) {
                        f = f * 10 + (unsigned)(frac[i] - '0');
                        pow *= 10;
                }
                f = f * factor / pow;
                if (f > UINT64_MAX - sum)
                        return -ERANGE;
                sum += (uint64_t)f;
        }
        *ret = sum;
        return 0;
}

/* RestartJitter=: "0.2" or "20%", within 0..1. */
static int parse_fraction(const char *s, double *ret) {
        static const double pow10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
                                        1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18 };
        uint64_t mant = 0;
        unsigned sig = 0, scale = 0, n_int = 0, n_frac = 0;
        bool dot = false;
        double v;

        /* The digits as one integer and a power of ten, then a single division: "0.2"
         * gives exactly the double 0.2, whatever the locale.  Digits past the 18th
         * significant one (or the 18th decimal) are dropped. */
        for (; (*s >= '0' && *s <= '9') || (*s == '.' && !dot); s++) {
                if (*s == '.') {
                        dot = true;
                        continue;
                }
                if (dot)
                        n_frac++;
                else
                        n_int++;
                if (sig >= 18 || scale >= 18) {
                        if (!dot)
                                return -ERANGE;
                        continue;
                }
                mant = mant * 10 + (uint64_t)(*s - '0');
                if (mant > 0)
                        sig++;
                if (dot)
                        scale++;
        }
        if (n_int + n_frac == 0 || (dot && n_frac == 0))
                return -EINVAL; /* "", ".", "%", "1." */
        if (*s == '%' && !s[1])
                v = (double)mant / pow10[scale] / 100.0;
        else if (!*s)
                v = (double)mant / pow10[scale];
        else
                return -EINVAL;
        if (v > 1.0)
                return -ERANGE;
        *ret = v;
        return 0;
}

/* User= and Group=: a name, or a number below 2^32 - 1. */
static bool user_name_valid(const char *s) {
        uint64_t id;
        size_t n = strlen(s);

        if (n == 0 || n > 256 || s[0] == '-' || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
                return false;
        if (all_digits(s))
                return parse_u64(s, UINT32_MAX - 1, &id) == 0;
        for (; *s; s++)
                if ((unsigned char)*s <= ' ' || *s == 0x7f || *s == ':' || *s == '/')
                        return false;
        return true;
}

/* Unit names: systemd's characters, without '@' (templates are not supported) and '\'. */
static bool unit_name_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == ':' || c == '-' || c == '_' || c == '.';
}

/* Specifiers (systemd.unit(5)): the few that mean something without templates and
 * without a user manager.  Returns 1 with *ret set, 0 when the problem was reported,
 * -ENOMEM. */
static int expand_specifiers(struct parser *p, unsigned line, const char *key,
                             const char *value, const char *s, char **ret) {
        const char *name = p->u->name ?: "";
        _cleanup_free_ char *out = NULL;
        size_t len = 0, cap = strlen(s) + 1;

        out = malloc(cap);
        if (!out)
                return -ENOMEM;
        for (; *s; s++) {
                const char *add = s;
                char *g;
                size_t n = 1;
                bool suffix = false;

                if (*s == '%' && s[1]) {
                        s++;
                        switch (*s) {
                        case '%':
                                break;
                        case 'n':
                                suffix = true;
                                add = name;
                                n = strlen(name);
                                break;
                        case 'N':
                        case 'p':
                        case 'P':
                                add = name;
                                n = strlen(name);
                                break;
                        case 'i':
                        case 'I':
                                n = 0;
                                break;
                        default: {
                                _cleanup_free_ char *q = conf_quote(value);
                                char spec[3] = { '%', *s, 0 };
                                _cleanup_free_ char *qs = conf_quote(spec);
                                int r;

                                if (!q || !qs)
                                        return -ENOMEM;
                                r = report(p, true, line,
                                           "%s=: invalid value \"%s\" (specifier %s is not "
                                           "supported, only %%n %%N %%p %%P %%i %%I and %%%% "
                                           "are)",
                                           key, q, qs);
                                return r < 0 ? r : 0;
                        }
                        }
                }
                if (len + n + (suffix ? strlen(SUFFIX) : 0) + 1 > cap) {
                        cap = (len + n + strlen(SUFFIX) + 1) * 2;
                        g = realloc(out, cap);
                        if (!g)
                                return -ENOMEM;
                        out = g;
                }
                memcpy(out + len, add, n);
                len += n;
                if (suffix) {
                        memcpy(out + len, SUFFIX, strlen(SUFFIX));
                        len += strlen(SUFFIX);
                }
        }
        out[len] = 0;
        *ret = TAKE_PTR(out);
        return 1;
}

/* ---- keys ----------------------------------------------------------------------------- */

#define FIELD(p, k, type) ((type *)((char *)(p)->u + (k)->offset))

static void unit_defaults(struct unit_config *u) {
        *u = (struct unit_config){
                .start_limit_interval = 10 * USEC_PER_SEC,
                .start_limit_burst = 5,
                .type = SERVICE_SIMPLE,
                .restart = RESTART_NO,
                .restart_sec = 100 * USEC_PER_MSEC,
                .restart_max_delay = USEC_INFINITY,
                .umask = 0022,
                .kill_signal = SIGTERM,
                .kill_mode = KILL_CONTROL_GROUP,
                .timeout_stop = 90 * USEC_PER_SEC,
                .timeout_start = 90 * USEC_PER_SEC,
                .std_output = { .kind = STD_OUTPUT_LOG },
                .std_error = { .kind = STD_OUTPUT_INHERIT },
                .log_max_bytes = 10 * 1024 * 1024,
                .log_keep = 5,
                .notification_fd = -1,
                .backlog = INT32_MAX, /* as systemd asks: the kernel caps it at somaxconn */
                .bind_ipv6_only = -1,
                .socket_mode = 0666,
                .directory_mode = 0755,
                .upgrade_timeout = 30 * USEC_PER_SEC,
                .drain_timeout = DRAIN_TIMEOUT_UNSET,
                .ready_delay = 500 * USEC_PER_MSEC,
        };
}

/* An empty value resets a scalar key to its default. */
static void reset_field(struct parser *p, const struct key *k, size_t size) {
        struct unit_config d;

        unit_defaults(&d);
        memcpy((char *)p->u + k->offset, (const char *)&d + k->offset, size);
}

static int parse_ignore(struct parser *p, const struct key *k, unsigned line,
                        const char *value) {
        return 0;
}

static int parse_not_yet(struct parser *p, const struct key *k, unsigned line,
                         const char *value) {
        return report(p, false, line, "%s= is not supported yet, ignoring", k->name);
}

/* Appends a copy of word to *list unless it is there already. */
static int strv_append_unique(char ***list, const char *word) {
        size_t n = strv_length(*list);
        char **grown;

        for (size_t i = 0; i < n; i++)
                if (strcmp((*list)[i], word) == 0)
                        return 0;
        grown = realloc(*list, (n + 2) * sizeof(char *));
        if (!grown)
                return -ENOMEM;
        *list = grown;
        grown[n] = strdup(word);
        grown[n + 1] = NULL;
        return grown[n] ? 0 : -ENOMEM;
}

/* Requires=, BindsTo=, Wants=, After=, Before=: unit names separated by spaces; lists
 * accumulate and an empty value resets.  NAME.service becomes NAME; a bare NAME is taken
 * as a service; other unit types are reported and left out. */
static int parse_deps(struct parser *p, const struct key *k, unsigned line, const char *value) {
        char ***field = FIELD(p, k, char **);
        const char *s = value;

        if (!*value) {
                strv_free(*field);
                *field = NULL;
                return 0;
        }
        while (*s) {
                size_t n = strcspn(s, " \t\n\r");
                _cleanup_free_ char *word = strndup(s, n), *q = NULL;
                const char *dot;
                size_t len;
                int r;

                if (!word)
                        return -ENOMEM;
                s += n;
                s += strspn(s, " \t\n\r");
                len = strlen(word);
                dot = strrchr(word, '.');
                if (dot && strcmp(dot, ".service") != 0) {
                        q = conf_quote(word);
                        r = report(p, false, line, "%s=: %s is not a service; pidvisor knows only "
                                   "services, ignoring it", k->name, q ? q : "?");
                        if (r < 0)
                                return r;
                        continue;
                }
                if (dot)
                        word[len - 8] = 0;
                for (size_t i = 0; word[i]; i++)
                        if (!unit_name_char(word[i]))
                                return invalid(p, line, k->name, value, "unit names such as web.service");
                if (!*word)
                        return invalid(p, line, k->name, value, "unit names such as web.service");
                if (strv_append_unique(field, word) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int parse_string(struct parser *p, const struct key *k, unsigned line,
                        const char *value) {
        char **field = FIELD(p, k, char *), *s = NULL;
        int r;

        if (*value) {
                r = expand_specifiers(p, line, k->name, value, value, &s);
                if (r <= 0)
                        return r;
        }
        free(*field);
        *field = s;
        return 0;
}

/* StandardOutput=, StandardError=: where the stream goes. */
static int parse_std_output(struct parser *p, const struct key *k, unsigned line,
                            const char *value) {
        struct std_output *o = FIELD(p, k, struct std_output);
        static const struct {
                const char *prefix;
                enum std_output_kind kind;
        } files[] = { { "file:", STD_OUTPUT_FILE }, { "append:", STD_OUTPUT_APPEND },
                      { "truncate:", STD_OUTPUT_TRUNCATE } };
        _cleanup_free_ char *path = NULL;
        enum std_output_kind kind;
        int r;

        if (!*value || !strcmp(value, "journal") || !strcmp(value, "journal+console") ||
            !strcmp(value, "kmsg") || !strcmp(value, "kmsg+console"))
                kind = *value ? STD_OUTPUT_LOG
                              : (strcmp(k->name, "StandardOutput") == 0 ? STD_OUTPUT_LOG : STD_OUTPUT_INHERIT);
        else if (!strcmp(value, "inherit"))
                kind = STD_OUTPUT_INHERIT;
        else if (!strcmp(value, "null"))
                kind = STD_OUTPUT_NULL;
        else {
                size_t i;
                for (i = 0; i < ELEMENTSOF(files); i++)
                        if (!strncmp(value, files[i].prefix, strlen(files[i].prefix)))
                                break;
                if (i == ELEMENTSOF(files))
                        return invalid(p, line, k->name, value,
                                       "journal (the service's log file), inherit, null, file:PATH, "
                                       "append:PATH or truncate:PATH");
                r = expand_specifiers(p, line, k->name, value, value + strlen(files[i].prefix), &path);
                if (r <= 0)
                        return r;
                if (path[0] != '/')
                        return invalid(p, line, k->name, value, "an absolute path after the colon");
                kind = files[i].kind;
        }
        free(o->path);
        o->kind = kind;
        o->path = TAKE_PTR(path);
        return 0;
}

/* NotificationFD=: s6's notification-fd, 3 or above (0-2 are stdio). */
static int parse_notification_fd(struct parser *p, const struct key *k, unsigned line,
                                 const char *value) {
        uint64_t v;

        if (!*value) {
                p->u->notification_fd = -1;
                return 0;
        }
        if (parse_u64(value, 1023, &v) < 0 || v < 3)
                return invalid(p, line, k->name, value, "a descriptor number from 3 to 1023");
        p->u->notification_fd = (int)v;
        return 0;
}

static int parse_log_max_bytes(struct parser *p, const struct key *k, unsigned line,
                               const char *value) {
        uint64_t v;

        if (!*value) {
                p->u->log_max_bytes = 10 * 1024 * 1024;
                return 0;
        }
        if (parse_size(value, &v) < 0 || (v > 0 && v < 4096))
                return invalid(p, line, k->name, value,
                               "a size of at least 4K such as 10M, or 0 for no rotation");
        p->u->log_max_bytes = v;
        return 0;
}

static int parse_user(struct parser *p, const struct key *k, unsigned line, const char *value) {
        _cleanup_free_ char *s = NULL;
        char **field = FIELD(p, k, char *);
        int r;

        if (*value) {
                r = expand_specifiers(p, line, k->name, value, value, &s);
                if (r <= 0)
                        return r;
                if (!user_name_valid(s))
                        return invalid(p, line, k->name, value,
                                       strstr(k->name, "User")
                                               ? "a user name or a numeric UID"
                                               : "a group name or a numeric GID");
        }
        free(*field);
        *field = TAKE_PTR(s);
        if (strcmp(k->name, "SocketUser") == 0 || strcmp(k->name, "SocketGroup") == 0) {
                p->u->socket_user_line = line;
                p->socket_keys_seen = true;
        }
        return 0;
}

#define TIMESPAN_EXPECTED "a time span such as 5s, 250ms, 1min 30s or infinity"

static int parse_sec(struct parser *p, const struct key *k, unsigned line, const char *value) {
        usec_t t;

        if (!*value) {
                reset_field(p, k, sizeof(usec_t));
                return 0;
        }
        if (parse_timespan(value, &t) < 0)
                return invalid(p, line, k->name, value, TIMESPAN_EXPECTED);
        *FIELD(p, k, usec_t) = t;
        return 0;
}

/* TimeoutStopSec=, TimeoutSec=: 0 means no timeout, as in systemd. */
static int parse_timeout(struct parser *p, const struct key *k, unsigned line,
                         const char *value) {
        int r = parse_sec(p, k, line, value);

        if (r >= 0 && *value && *FIELD(p, k, usec_t) == 0)
                *FIELD(p, k, usec_t) = USEC_INFINITY;
        return r;
}

static int parse_restart_max_delay(struct parser *p, const struct key *k, unsigned line,
                                   const char *value) {
        p->restart_max_delay_line = *value ? line : 0;
        return parse_sec(p, k, line, value);
}

static int parse_unsigned(struct parser *p, const struct key *k, unsigned line,
                          const char *value) {
        uint64_t v;
        char expected[64];

        if (!*value) {
                reset_field(p, k, sizeof(unsigned));
                return 0;
        }
        if (parse_u64(value, UINT_MAX, &v) < 0) {
                snprintf(expected, sizeof(expected), "a whole number from 0 to %u", UINT_MAX);
                return invalid(p, line, k->name, value, expected);
        }
        *FIELD(p, k, unsigned) = (unsigned)v;
        if (strcmp(k->name, "RestartSteps") == 0)
                p->restart_steps_line = line;
        return 0;
}

struct enum_name {
        const char *name;
        int value; /* -1: systemd's, not supported here */
};

static const struct enum_name service_types[] = {
        { "simple", SERVICE_SIMPLE }, { "exec", SERVICE_EXEC },   { "notify", SERVICE_NOTIFY },
        { "notify-reload", -1 },      { "forking", -1 },          { "oneshot", -1 },
        { "dbus", -1 },               { "idle", -1 },             { NULL, 0 },
};
static const struct enum_name restart_modes[] = {
        { "no", RESTART_NO },
        { "on-success", RESTART_ON_SUCCESS },
        { "on-failure", RESTART_ON_FAILURE },
        { "on-abnormal", RESTART_ON_ABNORMAL },
        { "on-watchdog", RESTART_ON_WATCHDOG },
        { "on-abort", RESTART_ON_ABORT },
        { "always", RESTART_ALWAYS },
        { NULL, 0 },
};
static const struct enum_name notify_accesses[] = {
        { "none", NOTIFY_ACCESS_NONE },
        { "main", NOTIFY_ACCESS_MAIN },
        { "exec", NOTIFY_ACCESS_EXEC },
        { "all", NOTIFY_ACCESS_ALL },
        { NULL, 0 },
};
static const struct enum_name kill_modes[] = {
        { "control-group", KILL_CONTROL_GROUP },
        { "mixed", KILL_MIXED },
        { "process", KILL_PROCESS },
        { "none", -1 },
        { NULL, 0 },
};

static int parse_enum(struct parser *p, const struct key *k, unsigned line, const char *value,
                      const struct enum_name *names) {
        char expected[256] = "";
        size_t len = 0;

        if (!*value) {
                reset_field(p, k, sizeof(int));
                return 0;
        }
        for (const struct enum_name *e = names; e->name; e++)
                if (strcmp(e->name, value) == 0 && e->value >= 0) {
                        *FIELD(p, k, int) = e->value;
                        return 0;
                }
        for (const struct enum_name *e = names; e->name; e++)
                if (e->value >= 0)
                        len += (size_t)snprintf(expected + len, sizeof(expected) - len, "%s%s",
                                                len ? ", " : "", e->name);
        for (const struct enum_name *e = names; e->name; e++)
                if (strcmp(e->name, value) == 0)
                        return report(p, true, line, "%s=%s is not supported (supported: %s)",
                                      k->name, value, expected);
        return invalid(p, line, k->name, value, expected);
}

static int parse_type(struct parser *p, const struct key *k, unsigned line, const char *value) {
        return parse_enum(p, k, line, value, service_types);
}

static int parse_restart(struct parser *p, const struct key *k, unsigned line,
                         const char *value) {
        return parse_enum(p, k, line, value, restart_modes);
}

static int parse_kill_mode(struct parser *p, const struct key *k, unsigned line,
                           const char *value) {
        return parse_enum(p, k, line, value, kill_modes);
}

static int parse_notify_access(struct parser *p, const struct key *k, unsigned line,
                               const char *value) {
        int r = parse_enum(p, k, line, value, notify_accesses);

        if (r >= 0)
                p->notify_access = *value ? (int)p->u->notify_access : -1;
        return r;
}

/* TimeoutSec= sets the start and the stop timeout, as in systemd. */
static int parse_timeout_both(struct parser *p, const struct key *k, unsigned line,
                              const char *value) {
        const struct key stop = { k->sections, k->name, NULL, offsetof(struct unit_config, timeout_stop) };
        const struct key start = { k->sections, k->name, NULL, offsetof(struct unit_config, timeout_start) };
        size_t errors = p->diag.n_errors;
        int r = parse_timeout(p, &stop, line, value);

        if (r < 0 || p->diag.n_errors > errors)
                return r; /* reported once */
        return parse_timeout(p, &start, line, value);
}

static const char *enum_to_string(const struct enum_name *names, int v) {
        for (const struct enum_name *e = names; e->name; e++)
                if (e->value == v)
                        return e->name;
        return NULL;
}

const char *service_type_to_string(enum service_type t) {
        return enum_to_string(service_types, (int)t);
}
const char *restart_mode_to_string(enum restart_mode m) {
        return enum_to_string(restart_modes, (int)m);
}
const char *kill_mode_to_string(enum kill_mode m) {
        return enum_to_string(kill_modes, (int)m);
}
const char *notify_access_to_string(enum notify_access a) {
        return enum_to_string(notify_accesses, (int)a);
}

static int parse_exec(struct parser *p, const struct key *k, unsigned line, const char *value) {
        bool start = strcmp(k->name, "ExecStart") == 0;
        struct exec_command **list = start ? &p->u->exec_start : &p->u->exec_start_pre;
        size_t *n = start ? &p->u->n_exec_start : &p->u->n_exec_start_pre;
        _cleanup_free_ char *error_text = NULL;
        struct exec_command c = { 0 }, *grown;
        int r;

        if (!*value) {
                for (size_t i = 0; i < *n; i++)
                        exec_command_done(&(*list)[i]);
                free(*list);
                *list = NULL;
                *n = 0;
                if (start)
                        p->exec_start_line = 0;
                return 0;
        }
        r = exec_command_parse(value, &c, &error_text);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return invalid_because(p, line, k->name, value,
                                       error_text ?: "expected a program and its arguments");
        if (start && *n > 0) {
                exec_command_done(&c);
                return report(p, true, line,
                              "ExecStart=: more than one command (the first is on line %u); "
                              "Type=simple and Type=exec take exactly one, and an empty "
                              "ExecStart= clears the list",
                              p->exec_start_line);
        }

        /* Specifiers in every word, as systemd does. */
        for (size_t i = 0; (i == 0 || c.argv[i - 1]) && r >= 0; i++) {
                char **w = i == 0 ? &c.path : &c.argv[i - 1], *s = NULL;

                if (!strchr(*w, '%'))
                        continue;
                r = expand_specifiers(p, line, k->name, value, *w, &s);
                if (r > 0) {
                        free(*w);
                        *w = s;
                }
                if (r == 0)
                        r = -EINVAL;
        }
        if (r < 0 || !(grown = realloc(*list, (*n + 1) * sizeof(**list)))) {
                exec_command_done(&c);
                return r == -EINVAL ? 0 : -ENOMEM;
        }
        c.line = line;
        grown[(*n)++] = c;
        *list = grown;
        if (start)
                p->exec_start_line = line;
        return 0;
}

#define STATUS_EXPECTED                                                                        \
        "exit statuses from 0 to 255 and signal names such as SIGKILL, separated by spaces"

static int parse_status_set(struct parser *p, const struct key *k, unsigned line,
                            const char *value) {
        struct exit_status_set *set = FIELD(p, k, struct exit_status_set);
        const char *s = value;

        if (!*value) {
                *set = (struct exit_status_set){ 0 };
                return 0;
        }
        while (*s) {
                size_t n = strcspn(s, " \t\n\r");
                _cleanup_free_ char *word = strndup(s, n);
                uint64_t status;
                int sig, r;

                if (!word)
                        return -ENOMEM;
                s += n;
                s += strspn(s, " \t\n\r");
                if (all_digits(word)) {
                        if (parse_u64(word, 255, &status) < 0) {
                                r = invalid(p, line, k->name, word, STATUS_EXPECTED);
                                if (r < 0)
                                        return r;
                                continue;
                        }
                        set->status[status / 64] |= UINT64_C(1) << (status % 64);
                        continue;
                }
                sig = pv_signal_from_name(word);
                if (sig < 1 || sig > 64) {
                        r = invalid(p, line, k->name, word, STATUS_EXPECTED);
                        if (r < 0)
                                return r;
                        continue;
                }
                set->signal |= UINT64_C(1) << (sig - 1);
        }
        return 0;
}

static int parse_working_directory(struct parser *p, const struct key *k, unsigned line,
                                   const char *value) {
        const char *v = value;
        bool missing_ok = false;
        _cleanup_free_ char *s = NULL;
        int r;

        if (!*value) {
                free(p->u->working_directory);
                p->u->working_directory = NULL;
                p->u->working_directory_missing_ok = false;
                return 0;
        }
        if (*v == '-') {
                missing_ok = true;
                v++;
        }
        r = expand_specifiers(p, line, k->name, value, v, &s);
        if (r <= 0)
                return r;
        if (strcmp(s, "~") != 0 && s[0] != '/')
                return invalid(p, line, k->name, value,
                               "an absolute path or ~, optionally prefixed with -");
        free(p->u->working_directory);
        p->u->working_directory = TAKE_PTR(s);
        p->u->working_directory_missing_ok = missing_ok;
        return 0;
}

static int parse_environment(struct parser *p, const struct key *k, unsigned line,
                             const char *value) {
        const char *s = value;
        int r;

        if (!*value) {
                for (size_t i = 0; i < p->n_env; i++)
                        free(p->env[i]);
                free(p->env);
                p->env = NULL;
                p->n_env = 0;
                return 0;
        }
        for (;;) {
                char **grown;

                _cleanup_free_ char *word = NULL, *expanded = NULL, *q = NULL;
                const char *reason = NULL, *eq;

                r = conf_extract_word(&s, &word, CONF_WORD_CUNESCAPE, &reason);
                if (r == -EINVAL)
                        return invalid_because(p, line, k->name, value, reason);
                if (r <= 0)
                        return r;
                r = expand_specifiers(p, line, k->name, value, word, &expanded);
                if (r <= 0)
                        return r;
                eq = strchr(expanded, '=');
                if (!eq || !conf_env_name_valid(expanded, (size_t)(eq - expanded))) {
                        q = conf_quote(expanded);
                        if (!q)
                                return -ENOMEM;
                        r = report(p, true, line,
                                   "%s=: invalid assignment \"%s\" (expected NAME=VALUE, the "
                                   "NAME of letters, digits and _, not starting with a digit)",
                                   k->name, q);
                        if (r < 0)
                                return r;
                        continue;
                }
                grown = realloc(p->env, (p->n_env + 1) * sizeof(char *));
                if (!grown)
                        return -ENOMEM;
                p->env = grown;
                p->env[p->n_env++] = TAKE_PTR(expanded);
        }
}

/* u->environment from the Environment= assignments: one entry per name, where the name
 * first appeared, with its last value (env_assign()'s rule, in O(n log n) rather than
 * O(n^2): a 1 MiB file may hold 200000 assignments). */
static int env_finish(struct parser *p) {
        _cleanup_free_ struct conf_env_entry *e = NULL;
        _cleanup_free_ size_t *pick = NULL;
        char **out;
        size_t n = p->n_env, k = 0;

        if (n == 0)
                return 0;
        e = malloc(n * sizeof(*e));
        pick = malloc(n * sizeof(*pick));
        out = malloc((n + 1) * sizeof(char *));
        if (!e || !pick || !out) {
                free(out);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                e[i] = (struct conf_env_entry){ p->env[i], strcspn(p->env[i], "="), i };
                pick[i] = SIZE_MAX;
        }
        qsort(e, n, sizeof(*e), conf_env_entry_compare);
        for (size_t i = 0, j; i < n; i = j) {
                /* a run of one name, oldest first: the first place, the last value */
                for (j = i + 1; j < n && e[j].key_len == e[i].key_len &&
                                memcmp(e[j].s, e[i].s, e[i].key_len) == 0;
                     j++)
                        ;
                pick[e[i].index] = e[j - 1].index;
        }
        for (size_t i = 0; i < n; i++)
                if (pick[i] != SIZE_MAX) {
                        out[k++] = p->env[pick[i]];
                        p->env[pick[i]] = NULL;
                }
        out[k] = NULL;
        for (size_t i = 0; i < n; i++)
                free(p->env[i]);
        free(p->env);
        p->env = NULL;
        p->n_env = 0;
        p->u->environment = out;
        return 0;
}

static int parse_environment_file(struct parser *p, const struct key *k, unsigned line,
                                  const char *value) {
        struct unit_config *u = p->u;
        _cleanup_free_ char *s = NULL;
        const char *v = value;
        bool missing_ok = false;
        struct env_file *grown;
        int r;

        if (!*value) {
                for (size_t i = 0; i < u->n_environment_files; i++)
                        free(u->environment_files[i].path);
                free(u->environment_files);
                u->environment_files = NULL;
                u->n_environment_files = 0;
                return 0;
        }
        if (*v == '-') {
                missing_ok = true;
                v++;
        }
        r = expand_specifiers(p, line, k->name, value, v, &s);
        if (r <= 0)
                return r;
        if (s[0] != '/')
                return invalid(p, line, k->name, value,
                               "an absolute path, optionally prefixed with -");
        grown = realloc(u->environment_files, (u->n_environment_files + 1) * sizeof(*grown));
        if (!grown)
                return -ENOMEM;
        u->environment_files = grown;
        grown[u->n_environment_files++] = (struct env_file){ TAKE_PTR(s), missing_ok };
        return 0;
}

static int parse_umask(struct parser *p, const struct key *k, unsigned line, const char *value) {
        int v = 0;

        if (!*value) {
                p->u->umask = 0022;
                return 0;
        }
        for (const char *s = value; *s; s++) {
                if (*s < '0' || *s > '7' || v > 0777) {
                        v = -1;
                        break;
                }
                v = v * 8 + (*s - '0');
        }
        if (v < 0 || v > 0777)
                return invalid(p, line, k->name, value, "an octal mode from 0000 to 0777");
        p->u->umask = v;
        return 0;
}

static int parse_kill_signal(struct parser *p, const struct key *k, unsigned line,
                             const char *value) {
        int sig;

        if (!*value) {
                p->u->kill_signal = SIGTERM;
                return 0;
        }
        sig = pv_signal_from_name(value);
        if (sig < 1 || sig > 64)
                return invalid(p, line, k->name, value,
                               "a signal name such as SIGTERM or TERM, or a number from 1 to 64");
        p->u->kill_signal = sig;
        return 0;
}

enum limit_kind { LIMIT_NUMBER, LIMIT_BYTES, LIMIT_SECONDS, LIMIT_USEC, LIMIT_NICE };

static enum limit_kind limit_kind(int resource) {
        switch (resource) {
        case RLIMIT_CPU:
                return LIMIT_SECONDS;
        case RLIMIT_RTTIME:
                return LIMIT_USEC;
        case RLIMIT_NICE:
                return LIMIT_NICE;
        case RLIMIT_FSIZE:
        case RLIMIT_DATA:
        case RLIMIT_STACK:
        case RLIMIT_CORE:
        case RLIMIT_RSS:
        case RLIMIT_AS:
        case RLIMIT_MEMLOCK:
        case RLIMIT_MSGQUEUE:
                return LIMIT_BYTES;
        default:
                return LIMIT_NUMBER;
        }
}

static int parse_limit_one(enum limit_kind kind, const char *s, rlim_t *ret) {
        uint64_t v;
        usec_t t;
        int r;

        if (strcmp(s, "infinity") == 0 || strcmp(s, "unlimited") == 0) {
                *ret = RLIM_INFINITY;
                return 0;
        }
        switch (kind) {
        case LIMIT_NUMBER:
                r = parse_u64(s, UINT64_MAX, &v);
                break;
        case LIMIT_BYTES:
                r = parse_size(s, &v);
                break;
        case LIMIT_SECONDS:
        case LIMIT_USEC:
                r = parse_timespan_with_unit(s, kind == LIMIT_SECONDS ? USEC_PER_SEC : 1, &t);
                if (r < 0)
                        return r;
                if (t == USEC_INFINITY) {
                        *ret = RLIM_INFINITY;
                        return 0;
                }
                /* CPU time is counted in whole seconds; round up, as systemd does. */
                v = kind == LIMIT_SECONDS ? t / USEC_PER_SEC + (t % USEC_PER_SEC != 0) : t;
                break;
        case LIMIT_NICE:
                /* "+N"/"-N" is a nice level (-20..19), a bare number the raw 0..40. */
                r = parse_u64(s + (*s == '+' || *s == '-'), 40, &v);
                if (r < 0)
                        return r;
                if (*s == '+' && v > 19)
                        return -ERANGE;
                if (*s == '-' && v > 20)
                        return -ERANGE;
                v = *s == '+' ? 20 - v : *s == '-' ? 20 + v : v;
                break;
        default:
                return -EINVAL;
        }
        if (r < 0)
                return r;
        if (v >= (uint64_t)RLIM_INFINITY)
                return -ERANGE;
        *ret = (rlim_t)v;
        return 0;
}

static int parse_limit(struct parser *p, const struct key *k, unsigned line,
                       const char *value, int resource) {
        static const char *const expected[] = {
                [LIMIT_NUMBER] = "a number, SOFT:HARD or infinity",
                [LIMIT_BYTES] = "a size in bytes with an optional K, M, G, T, P or E suffix "
                                "(1024-based) such as 512K or 1G, SOFT:HARD or infinity",
                [LIMIT_SECONDS] = "a time span (seconds by default) such as 60 or 1min, "
                                  "SOFT:HARD or infinity",
                [LIMIT_USEC] = "a time span (microseconds by default) such as 500 or 500ms, "
                               "SOFT:HARD or infinity",
                [LIMIT_NICE] = "a nice level with its sign from -20 to +19, a raw value from 0 "
                               "to 40, SOFT:HARD or infinity",
        };
        enum limit_kind kind = limit_kind(resource);
        _cleanup_free_ char *soft = NULL;
        const char *colon;
        struct rlimit rl;
        int r;

        if (!*value) {
                p->u->limit_set[resource] = false;
                p->u->limits[resource] = (struct rlimit){ 0 };
                return 0;
        }
        colon = strchr(value, ':');
        soft = strndup(value, colon ? (size_t)(colon - value) : strlen(value));
        if (!soft)
                return -ENOMEM;
        if (kind == LIMIT_NUMBER)
                r = pv_rlimit_parse(value, &rl, NULL) == 0 ? 0 : -EINVAL;
        else {
                r = parse_limit_one(kind, soft, &rl.rlim_cur);
                rl.rlim_max = rl.rlim_cur;
                if (r >= 0 && colon)
                        r = parse_limit_one(kind, colon + 1, &rl.rlim_max);
                if (r >= 0 && rl.rlim_cur > rl.rlim_max)
                        r = -EINVAL;
        }
        if (r < 0) {
                /* Say which problem it is when the sides parse but are the wrong way. */
                struct rlimit a, b;

                if (colon && parse_limit_one(kind, soft, &a.rlim_cur) == 0 &&
                    parse_limit_one(kind, colon + 1, &b.rlim_cur) == 0 &&
                    a.rlim_cur > b.rlim_cur)
                        return invalid(p, line, k->name, value,
                                       "the soft limit not above the hard limit");
                return invalid(p, line, k->name, value, expected[kind]);
        }
        p->u->limits[resource] = rl;
        p->u->limit_set[resource] = true;
        return 0;
}

static int parse_jitter(struct parser *p, const struct key *k, unsigned line,
                        const char *value) {
        double v;

        if (!*value) {
                p->u->restart_jitter = 0;
                return 0;
        }
        if (parse_fraction(value, &v) < 0)
                return invalid(p, line, k->name, value,
                               "a fraction from 0 to 1 such as 0.2, or a percentage such as "
                               "20%");
        p->u->restart_jitter = v;
        return 0;
}

static int parse_auto_start(struct parser *p, const struct key *k, unsigned line,
                            const char *value) {
        int b;

        if (!*value) {
                p->auto_start = -1;
                return 0;
        }
        b = parse_bool(value);
        if (b < 0)
                return invalid(p, line, k->name, value,
                               "a boolean: yes, no, true, false, on, off, 1 or 0");
        p->auto_start = b;
        return 0;
}

static int parse_wanted_by(struct parser *p, const struct key *k, unsigned line,
                           const char *value) {
        const char *s = value;

        if (!*value) {
                p->wanted_by_default = false;
                return 0;
        }
        while (*s) {
                size_t n = strcspn(s, " \t\n\r");

                if ((n == 14 && strncmp(s, "default.target", n) == 0) ||
                    (n == 17 && strncmp(s, "multi-user.target", n) == 0))
                        p->wanted_by_default = true;
                s += n;
                s += strspn(s, " \t\n\r");
        }
        return 0;
}

/* ---- resource limits (systemd.resource-control(5)); enforced by cgroup-limits.c ------- */

/* "20%", "12.5%", "0.05%": hundredths of a percent (2000, 1250, 5); up to two decimals,
 * above 0; at most 100% unless unbounded (CPUQuota=, which counts CPUs). */
static int parse_permyriad(const char *s, bool unbounded, uint64_t *ret) {
        uint64_t whole = 0, frac = 0;
        unsigned n_frac = 0;
        const char *p = s;

        for (; *p >= '0' && *p <= '9'; p++) {
                whole = whole * 10 + (uint64_t)(*p - '0');
                if (whole > 10000000) /* 10 million percent: 100000 CPUs */
                        return -ERANGE;
        }
        if (p == s)
                return -EINVAL;
        if (*p == '.') {
                const char *f = ++p;
                for (; *p >= '0' && *p <= '9'; p++) {
                        if (++n_frac > 2)
                                return -EINVAL;
                        frac = frac * 10 + (uint64_t)(*p - '0');
                }
                if (p == f)
                        return -EINVAL;
        }
        if (p[0] != '%' || p[1])
                return -EINVAL;
        if (n_frac == 1)
                frac *= 10;
        whole = whole * 100 + frac;
        if (whole == 0 || (!unbounded && whole > 10000))
                return -ERANGE;
        *ret = whole;
        return 0;
}

/* The limits that take an amount, a percentage, or infinity: how each reads its
 * absolute form, and what to tell the user when a value is wrong. */
static int parse_memory_bytes(const char *s, uint64_t *ret) {
        return parse_size(s, ret) < 0 || *ret == 0 || *ret == UINT64_MAX ? -EINVAL : 0;
}

static int parse_task_count(const char *s, uint64_t *ret) {
        return parse_u64(s, UINT64_MAX - 1, ret) < 0 || *ret == 0 ? -EINVAL : 0;
}

static int parse_amount(struct parser *p, const struct key *k, unsigned line, const char *value,
                        int (*absolute)(const char *s, uint64_t *ret), const char *percent_expected,
                        const char *expected) {
        struct cg_amount *a = FIELD(p, k, struct cg_amount), v;

        if (!*value) {
                *a = (struct cg_amount){ CG_AMOUNT_UNSET, 0 };
                return 0;
        }
        if (strcmp(value, "infinity") == 0)
                v = (struct cg_amount){ CG_AMOUNT_INFINITY, 0 };
        else if (value[strlen(value) - 1] == '%') {
                v.kind = CG_AMOUNT_PERCENT;
                if (parse_permyriad(value, false, &v.value) < 0)
                        return invalid(p, line, k->name, value, percent_expected);
        } else {
                v.kind = CG_AMOUNT_ABSOLUTE;
                if (absolute(value, &v.value) < 0)
                        return invalid(p, line, k->name, value, expected);
        }
        *a = v;
        return 0;
}

/* MemoryMax=, MemoryHigh=: bytes (1024-based suffixes), a share of physical memory, or
 * infinity.  0 is refused, as systemd does: the service could not even start. */
static int parse_memory_limit(struct parser *p, const struct key *k, unsigned line, const char *value) {
        return parse_amount(p, k, line, value, parse_memory_bytes,
                            "a percentage of physical memory above 0% and at most 100%, "
                            "with at most two decimals, such as 50% or 12.5%",
                            "a size in bytes above 0 with an optional K, M, G, T, P or E suffix "
                            "(1024-based) such as 512M, a percentage of physical memory such as "
                            "50%, or infinity");
}

/* TasksMax=: a number of tasks, a share of the system's maximum, or infinity. */
static int parse_tasks_max(struct parser *p, const struct key *k, unsigned line, const char *value) {
        return parse_amount(p, k, line, value, parse_task_count,
                            "a percentage of the system's maximum number of tasks above 0% and "
                            "at most 100%, with at most two decimals, such as 10%",
                            "a number of tasks from 1 such as 512, a percentage of the system's "
                            "maximum such as 10%, or infinity");
}

/* CPUQuota=: a share of one CPU, above 100% for more than one. */
static int parse_cpu_quota(struct parser *p, const struct key *k, unsigned line, const char *value) {
        uint64_t v;

        if (!*value) {
                p->u->cg_limits.cpu_quota = 0;
                return 0;
        }
        if (parse_permyriad(value, true, &v) < 0)
                return invalid(p, line, k->name, value,
                               "a percentage of one CPU's time above 0%, with at most two decimals, such as "
                               "20% or 150% (1.5 CPUs)");
        p->u->cg_limits.cpu_quota = v;
        return 0;
}

/* CPUQuotaPeriodSec=: the kernel takes 1 ms .. 1 s; outside that is an error here
 * (systemd clamps it with a warning). */
static int parse_cpu_quota_period(struct parser *p, const struct key *k, unsigned line,
                                  const char *value) {
        usec_t t;

        if (!*value) {
                p->u->cg_limits.cpu_quota_period = 0;
                return 0;
        }
        if (parse_timespan(value, &t) < 0 || t < USEC_PER_MSEC || t > USEC_PER_SEC)
                return invalid(p, line, k->name, value, "a time span from 1ms to 1s such as 100ms");
        p->u->cg_limits.cpu_quota_period = t;
        return 0;
}

static int parse_require_cgroup_limits(struct parser *p, const struct key *k, unsigned line,
                                       const char *value) {
        int b = *value ? parse_bool(value) : 0;

        if (b < 0)
                return invalid(p, line, k->name, value, "a boolean: yes, no, true, false, on, off, 1 or 0");
        p->u->cg_limits.require = b;
        return 0;
}


/* ---- [Socket] ------------------------------------------------------------------------- */

/* ListenStream=, ListenDatagram=, ListenSequentialPacket=: one address each; lines
 * accumulate, an empty value resets the list (systemd). */
static int parse_listen(struct parser *p, const struct key *k, unsigned line, const char *value) {
        struct unit_config *u = p->u;
        int type = strcmp(k->name, "ListenStream") == 0     ? SOCK_STREAM
                   : strcmp(k->name, "ListenDatagram") == 0 ? SOCK_DGRAM
                                                             : SOCK_SEQPACKET;
        _cleanup_free_ char *text = NULL;
        struct socket_address addr;
        struct listen_spec *grown;
        const char *why;
        int r;

        p->socket_keys_seen = true;
        p->listen_seen = true;
        if (!*value) {
                for (size_t i = 0; i < u->n_listen; i++)
                        free(u->listen[i].text);
                free(u->listen);
                u->listen = NULL;
                u->n_listen = 0;
                return 0;
        }
        r = expand_specifiers(p, line, k->name, value, value, &text);
        if (r <= 0)
                return r;
        if (socket_address_parse(text, type, &addr, &why) < 0)
                return invalid_because(p, line, k->name, value, why);
        if (u->n_listen >= 64)
                return invalid_because(p, line, k->name, value, "more than 64 listeners");
        grown = realloc(u->listen, (u->n_listen + 1) * sizeof(*grown));
        if (!grown)
                return -ENOMEM;
        u->listen = grown;
        u->listen[u->n_listen++] = (struct listen_spec){ .addr = addr, .text = TAKE_PTR(text),
                                                         .line = line };
        if (!u->socket_file) {
                u->socket_file = strdup(p->file);
                if (!u->socket_file)
                        return -ENOMEM;
        }
        return 0;
}

static int parse_flag(struct parser *p, const struct key *k, unsigned line, const char *value) {
        int b;

        if (!*value) {
                reset_field(p, k, sizeof(bool));
                return 0;
        }
        b = parse_bool(value);
        if (b < 0)
                return invalid(p, line, k->name, value,
                               "a boolean: yes, no, true, false, on, off, 1 or 0");
        *FIELD(p, k, bool) = b;
        return 0;
}

/* SocketMode=, DirectoryMode=: octal, at most 07777. */
static int parse_mode(struct parser *p, const struct key *k, unsigned line, const char *value) {
        unsigned v = 0;

        p->socket_keys_seen = true;
        if (!*value) {
                reset_field(p, k, sizeof(unsigned));
                return 0;
        }
        if (strspn(value, "01234567") != strlen(value) || strlen(value) > 5)
                return invalid(p, line, k->name, value, "an octal mode such as 0660");
        for (const char *c = value; *c; c++)
                v = v * 8 + (unsigned)(*c - '0');
        if (v > 07777)
                return invalid(p, line, k->name, value, "an octal mode such as 0660");
        *FIELD(p, k, unsigned) = v;
        return 0;
}

static int parse_socket_flag(struct parser *p, const struct key *k, unsigned line, const char *value) {
        p->socket_keys_seen = true;
        return parse_flag(p, k, line, value);
}

static int parse_backlog(struct parser *p, const struct key *k, unsigned line, const char *value) {
        p->socket_keys_seen = true;
        return parse_unsigned(p, k, line, value);
}

/* FileDescriptorName=: as sd_listen_fds_with_names() accepts, printable ASCII without ':',
 * at most 255 characters. */
static int parse_fd_name(struct parser *p, const struct key *k, unsigned line, const char *value) {
        char **field = FIELD(p, k, char *);
        _cleanup_free_ char *s = NULL;
        int r;

        p->socket_keys_seen = true;
        if (*value) {
                r = expand_specifiers(p, line, k->name, value, value, &s);
                if (r <= 0)
                        return r;
                if (strlen(s) > 255)
                        return invalid(p, line, k->name, value, "at most 255 characters");
                for (const char *c = s; *c; c++)
                        if (*c <= ' ' || *c >= 0x7f || *c == ':')
                                return invalid(p, line, k->name, value,
                                               "printable ASCII without spaces or ':'");
        }
        free(*field);
        *field = TAKE_PTR(s);
        return 0;
}

static int parse_accept(struct parser *p, const struct key *k, unsigned line, const char *value) {
        int b = *value ? parse_bool(value) : 0;

        p->socket_keys_seen = true;
        if (b < 0)
                return invalid(p, line, k->name, value, "a boolean");
        if (b)
                return invalid_because(p, line, k->name, value,
                                       "Accept=yes, a service instance per connection, is not "
                                       "supported: the service gets the listening socket "
                                       "(Accept=no)");
        return 0;
}

static int parse_bind_ipv6_only(struct parser *p, const struct key *k, unsigned line,
                                const char *value) {
        p->socket_keys_seen = true;
        if (!*value || strcmp(value, "default") == 0)
                p->u->bind_ipv6_only = -1;
        else if (strcmp(value, "both") == 0)
                p->u->bind_ipv6_only = 0;
        else if (strcmp(value, "ipv6-only") == 0)
                p->u->bind_ipv6_only = 1;
        else
                return invalid(p, line, k->name, value, "default, both or ipv6-only");
        return 0;
}

static int parse_socket_unsupported(struct parser *p, const struct key *k, unsigned line,
                                    const char *value) {
        p->socket_keys_seen = true;
        p->listen_seen = true;
        return report(p, true, line, "%s= is not supported (pidvisor's sockets are the "
                      "Listen{Stream,Datagram,SequentialPacket}= kinds)", k->name);
}

/* ---- hot restart ([X-Pidvisor]) ------------------------------------------------------ */

static const struct enum_name hot_restarts[] = {
        { "no", HOT_RESTART_NO },
        { "socket", HOT_RESTART_SOCKET },
        { "takeover", HOT_RESTART_TAKEOVER },
        { "transparent", HOT_RESTART_TRANSPARENT },
        { NULL, 0 },
};

const char *hot_restart_to_string(enum hot_restart h) {
        for (const struct enum_name *e = hot_restarts; e->name; e++)
                if (e->value == (int)h)
                        return e->name;
        return "?";
}

static int parse_hot_restart(struct parser *p, const struct key *k, unsigned line, const char *value) {
        if (!*value) {
                p->hot_restart = -1;
                return 0;
        }
        for (const struct enum_name *e = hot_restarts; e->name; e++)
                if (strcmp(e->name, value) == 0) {
                        p->u->hot_restart = (enum hot_restart)e->value;
                        p->hot_restart = e->value;
                        p->hot_restart_line = line;
                        return 0;
                }
        return invalid(p, line, k->name, value, "no, socket, takeover or transparent");
}

/* ReadyCheck=: alive (default), connect, or delay DURATION. */
static int parse_ready_check(struct parser *p, const struct key *k, unsigned line, const char *value) {
        usec_t t;

        if (!*value || strcmp(value, "alive") == 0) {
                p->u->ready_check = READY_CHECK_ALIVE;
                return 0;
        }
        if (strcmp(value, "connect") == 0) {
                p->u->ready_check = READY_CHECK_CONNECT;
                return 0;
        }
        if (strncmp(value, "delay", 5) == 0 && is_space(value[5])) {
                const char *d = value + 6;
                while (is_space(*d))
                        d++;
                if (parse_timespan(d, &t) == 0 && t != USEC_INFINITY) {
                        p->u->ready_check = READY_CHECK_DELAY;
                        p->u->ready_delay = t;
                        return 0;
                }
        }
        return invalid(p, line, k->name, value, "alive, connect, or delay DURATION (delay 2s)");
}

static int parse_drain_signal(struct parser *p, const struct key *k, unsigned line, const char *value) {
        int sig;

        if (!*value) {
                p->u->drain_signal = 0;
                return 0;
        }
        sig = pv_signal_from_name(value);
        if (sig < 1 || sig > 64)
                return invalid(p, line, k->name, value,
                               "a signal name such as SIGQUIT or QUIT, or a number from 1 to 64");
        p->u->drain_signal = sig;
        return 0;
}

static int parse_takeover_datagram(struct parser *p, const struct key *k, unsigned line,
                                   const char *value) {
        struct unit_config *u = p->u;
        struct socket_address a, *grown;
        const char *why;

        if (!*value) {
                free(u->takeover_datagram);
                u->takeover_datagram = NULL;
                u->n_takeover_datagram = 0;
                return 0;
        }
        if (socket_address_parse(value, SOCK_DGRAM, &a, &why) < 0)
                return invalid_because(p, line, k->name, value, why);
        grown = realloc(u->takeover_datagram, (u->n_takeover_datagram + 1) * sizeof(*grown));
        if (!grown)
                return -ENOMEM;
        u->takeover_datagram = grown;
        u->takeover_datagram[u->n_takeover_datagram++] = a;
        return 0;
}

static int parse_keep_listeners(struct parser *p, const struct key *k, unsigned line,
                                const char *value) {
        int b = *value ? parse_bool(value) : 0;

        if (b < 0)
                return invalid(p, line, k->name, value, "a boolean");
        p->u->keep_listeners = b;
        p->keep_listeners_line = line;
        return 0;
}

static int check_hot_restart(struct parser *p) {
        struct unit_config *u = p->u;

        if (p->hot_restart < 0)
                u->hot_restart = u->n_listen > 0 ? HOT_RESTART_SOCKET : HOT_RESTART_NO;
        else if (u->hot_restart == HOT_RESTART_SOCKET && u->n_listen == 0)
                return report(p, true, p->hot_restart_line,
                              "HotRestart=socket: the unit has no [Socket] listeners (ListenStream= ...) "
                              "to keep; use takeover or transparent to move the service's own");
        if (u->drain_timeout == DRAIN_TIMEOUT_UNSET)
                u->drain_timeout = u->timeout_stop;
        if (u->keep_listeners && u->hot_restart != HOT_RESTART_TAKEOVER &&
            u->hot_restart != HOT_RESTART_TRANSPARENT)
                return report(p, false, p->keep_listeners_line,
                              "KeepListeners=: has no effect with HotRestart=%s (the [Socket] listeners "
                              "are kept anyway, or there is nothing to keep), ignoring",
                              hot_restart_to_string(u->hot_restart));
        return 0;
}

/* ---- privileges and namespaces -------------------------------------------------------- */

/* CapabilityBoundingSet=, AmbientCapabilities=: lists accumulate (ORed), a '~' list
 * takes names out, an empty value resets, as systemd does. */
static int parse_caps(struct parser *p, const struct key *k, unsigned line, const char *value) {
        bool bounding = strcmp(k->name, "CapabilityBoundingSet") == 0;
        uint64_t *field = bounding ? &p->u->cap_bounding : &p->u->cap_ambient;
        struct pv_error err = { 0 };
        uint64_t v;

        if (!*value) {
                *field = 0;
                if (bounding)
                        p->u->set_cap_bounding = false;
                return 0;
        }
        if (pv_caps_parse(value[0] == '~' ? value + 1 : value, &v, &err) < 0)
                return invalid_because(p, line, k->name, value, err.message);
        if (value[0] == '~') {
                /* the first assignment being "~X" means "everything but X" */
                if (bounding && !p->u->set_cap_bounding)
                        *field = UINT64_MAX;
                *field &= ~v;
        } else
                *field |= v;
        if (bounding)
                p->u->set_cap_bounding = true;
        return 0;
}

static int parse_protect_system(struct parser *p, const struct key *k, unsigned line, const char *value) {
        int b;

        if (!strcmp(value, "strict"))
                p->u->protect_system = PV_PROTECT_SYSTEM_STRICT;
        else if (!strcmp(value, "full"))
                p->u->protect_system = PV_PROTECT_SYSTEM_FULL;
        else if (!*value)
                p->u->protect_system = PV_PROTECT_SYSTEM_NO;
        else if ((b = parse_bool(value)) >= 0)
                p->u->protect_system = b ? PV_PROTECT_SYSTEM_YES : PV_PROTECT_SYSTEM_NO;
        else
                return invalid(p, line, k->name, value, "yes, no, full or strict");
        return 0;
}

/* ReadOnlyPaths= and friends: absolute paths separated by spaces (a leading '-' each:
 * ignored when missing); lists accumulate, empty resets. */
static int parse_paths(struct parser *p, const struct key *k, unsigned line, const char *value) {
        char ***field = FIELD(p, k, char **);
        _cleanup_free_ char *copy = NULL;
        int r;

        if (!*value) {
                strv_free(*field);
                *field = NULL;
                return 0;
        }
        r = expand_specifiers(p, line, k->name, value, value, &copy);
        if (r <= 0)
                return r;
        for (char *save = NULL, *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
                const char *path = w[0] == '-' ? w + 1 : w, *dots = strstr(path, "/..");
                if (path[0] != '/' || (dots && (dots[3] == '/' || dots[3] == 0)))
                        return invalid(p, line, k->name, value, "absolute paths (a leading - each: may be missing)");
                if (strv_append_unique(field, w) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int parse_hostname(struct parser *p, const struct key *k, unsigned line, const char *value) {
        if (*value && (strlen(value) > 64 || strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") != strlen(value)))
                return invalid(p, line, k->name, value, "a host name: letters, digits, - and ., at most 64");
        return parse_string(p, k, line, value);
}

/* systemd's confinement keys that pidvisor does not implement.  Ignoring one would run the
 * service less confined than its unit file says, so anything that asks for confinement is
 * an error (fail closed); an empty or false value asks for nothing and is accepted. */
static int parse_sandbox_unsupported(struct parser *p, const struct key *k, unsigned line, const char *value) {
        if (!*value || parse_bool(value) == 0)
                return 0;
        return report(p, true, line,
                      "%s= is not supported: the service would run less confined than its unit file says "
                      "(docs/sandbox.md lists the confinement keys pidvisor implements)",
                      k->name);
}

/* ---- seccomp ([Service] SystemCallFilter= ..., [X-Pidvisor] SeccompPolicy=) ------------ */

/* A list of syscall names and @groups as systemd writes them, checked as a policy would
 * check it (so an unknown name is an error on this line), and turned into the policy
 * language's list.  "name:errno" (systemd 247) is not supported. */
static int scf_names(struct parser *p, const struct key *k, unsigned line, const char *value,
                     const char *list, char **ret) {
        _cleanup_free_ char *names = strdup(list), *text = NULL;
        struct pv_policy *pol = NULL;
        struct pv_error err = { 0 };
        int r;

        if (!names)
                return -ENOMEM;
        for (char *c = names; *c; c++)
                if (*c == ':')
                        return invalid_because(p, line, k->name, value,
                                               "NAME:ERRNO is not supported; use SystemCallErrorNumber=");
        if (!*names || strspn(names, " \t") == strlen(names))
                return invalid(p, line, k->name, value, "syscall names or @groups");
        if (asprintf(&text, "default allow\nallow %s\n", names) < 0)
                return -ENOMEM;
        r = pv_policy_parse_string(k->name, text, strlen(text), NULL, &pol, &err);
        pv_policy_free(pol);
        if (r < 0) {
                /* "SystemCallFilter:2:7: unknown syscall "fork2"": keep the part after the
                 * position, the line is ours. */
                const char *why = err.message, *colon = strstr(why, ": ");
                return invalid_because(p, line, k->name, value, colon ? colon + 2 : why);
        }
        *ret = TAKE_PTR(names);
        return 0;
}

static int scf_append(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int scf_append(struct parser *p, const char *fmt, ...) {
        _cleanup_free_ char *add = NULL;
        va_list ap;
        char *g;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&add, fmt, ap);
        va_end(ap);
        if (n < 0) {
                add = NULL;
                return -ENOMEM;
        }
        g = realloc(p->scf_text, p->scf_len + (size_t)n + 1);
        if (!g)
                return -ENOMEM;
        memcpy(g + p->scf_len, add, (size_t)n + 1);
        p->scf_text = g;
        p->scf_len += (size_t)n;
        return 0;
}

/* SystemCallFilter=: lines accumulate; the first decides allow-list or deny-list (~);
 * later lines of the other kind take names out again, as systemd does.  Empty resets. */
static int parse_syscall_filter(struct parser *p, const struct key *k, unsigned line, const char *value) {
        _cleanup_free_ char *names = NULL;
        bool deny = value[0] == '~';
        int r;

        if (!*value) {
                free(p->scf_text);
                p->scf_text = NULL;
                p->scf_len = 0;
                p->scf_mode = 0;
                return 0;
        }
        r = scf_names(p, k, line, value, value + deny, &names);
        if (r < 0 || !names)
                return r;
        if (p->scf_mode == 0) {
                p->scf_mode = deny ? -1 : 1;
                p->scf_line = line;
        }
        /* "DENY" is replaced by the deny action in check_seccomp(), once
         * SystemCallErrorNumber= is known (it may come later in the file). */
        return scf_append(p, "%s %s   # %s:%u\n", deny ? "DENY" : "allow", names, p->file, line);
}

static int parse_syscall_errno(struct parser *p, const struct key *k, unsigned line, const char *value) {
        free(p->scf_errno);
        p->scf_errno = NULL;
        if (!*value || strcmp(value, "kill") == 0)
                return 0;
        if (policy_errno_from_name(value) <= 0)
                return invalid(p, line, k->name, value, "an errno name such as EPERM, a number from 1 to 4095, or kill");
        p->scf_errno = strdup(value);
        return p->scf_errno ? 0 : -ENOMEM;
}

static int parse_syscall_arch(struct parser *p, const struct key *k, unsigned line, const char *value) {
        _cleanup_free_ char *list = strdup(value), *out = NULL;
        size_t len = 0;

        if (!list)
                return -ENOMEM;
        free(p->scf_arch);
        p->scf_arch = NULL;
        if (!*value)
                return 0;
        for (char *save = NULL, *w = strtok_r(list, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
                /* systemd's names; the policy language's are libseccomp's */
                const char *name = !strcmp(w, "x86-64") ? "x86_64" : !strcmp(w, "x86") ? "i386" : w;
                uint32_t arch;
                char *g;

                if (strcmp(name, "native") != 0 && policy_arch_from_name(name, &arch) < 0)
                        return invalid(p, line, k->name, value, "native, or architectures such as x86-64 x86 x32");
                g = realloc(out, len + strlen(name) + 2);
                if (!g)
                        return -ENOMEM;
                out = g;
                len += (size_t)sprintf(out + len, "%s%s", len ? " " : "", name);
        }
        p->scf_arch = TAKE_PTR(out);
        return 0;
}

static int parse_syscall_log(struct parser *p, const struct key *k, unsigned line, const char *value) {
        _cleanup_free_ char *names = NULL;
        char *g;
        int r;

        if (!*value) {
                free(p->scf_log);
                p->scf_log = NULL;
                return 0;
        }
        if (value[0] == '~')
                return invalid_because(p, line, k->name, value, "a deny-list of logged calls (~) is not supported");
        r = scf_names(p, k, line, value, value, &names);
        if (r < 0 || !names)
                return r;
        g = realloc(p->scf_log, (p->scf_log ? strlen(p->scf_log) : 0) + strlen(names) + 2);
        if (!g)
                return -ENOMEM;
        if (!p->scf_log)
                g[0] = 0;
        else
                strcat(g, " ");
        strcat(g, names);
        p->scf_log = g;
        return 0;
}

static int parse_seccomp_policy(struct parser *p, const struct key *k, unsigned line, const char *value) {
        free(p->seccomp_policy);
        p->seccomp_policy = NULL;
        p->seccomp_policy_line = line;
        if (!*value)
                return 0;
        p->seccomp_policy = strdup(value);
        return p->seccomp_policy ? 0 : -ENOMEM;
}

/* Speculative Store Bypass under the filter: "kernel" (default: the kernel's own policy,
 * which for seccomp tasks may mean the mitigation is forced on) or "allow"
 * (SECCOMP_FILTER_FLAG_SPEC_ALLOW: no forced mitigation; docs/policy.md). */
static int parse_seccomp_ssb(struct parser *p, const struct key *k, unsigned line, const char *value) {
        if (!*value || !strcmp(value, "kernel"))
                p->u->seccomp_ssb_allow = false;
        else if (!strcmp(value, "allow"))
                p->u->seccomp_ssb_allow = true;
        else
                return invalid(p, line, k->name, value, "kernel or allow");
        return 0;
}

static int parse_seccomp_violation(struct parser *p, const struct key *k, unsigned line, const char *value) {
        if (!*value || !strcmp(value, "fail"))
                p->u->seccomp_violation_restart = false;
        else if (!strcmp(value, "restart"))
                p->u->seccomp_violation_restart = true;
        else
                return invalid(p, line, k->name, value, "fail or restart");
        return 0;
}

/* The seccomp policy of the unit: SeccompPolicy= (a file), or the SystemCallFilter=
 * family written out in the policy language. */
static int check_seccomp(struct parser *p) {
        struct unit_config *u = p->u;
        _cleanup_free_ char *text = NULL, *deny = NULL;
        struct pv_error err = { 0 };
        size_t len = 0;
        int r;

        if (p->seccomp_policy && p->scf_mode)
                return report(p, true, p->seccomp_policy_line,
                              "SeccompPolicy=: SystemCallFilter= is set too (line %u); use one of the two",
                              p->scf_line);
        if (p->seccomp_policy) {
                _cleanup_free_ char *path = NULL;
                const char *name = p->seccomp_policy;

                /* A relative path is the unit file's neighbour; a bare NAME is looked up in
                 * the policy directory. */
                if (strchr(name, '/') && name[0] != '/') {
                        const char *slash = strrchr(p->path, '/');
                        if (slash && asprintf(&path, "%.*s/%s", (int)(slash - p->path), p->path, name) < 0)
                                return -ENOMEM;
                        if (path)
                                name = path;
                }
                r = pv_policy_load(name, NULL, &u->policy, &err);
                if (r < 0)
                        return report(p, true, p->seccomp_policy_line, "SeccompPolicy=: %s", err.message);
                for (size_t i = 0; i < pv_policy_n_warnings(u->policy); i++) {
                        r = report(p, false, p->seccomp_policy_line, "SeccompPolicy=: %s", pv_policy_warning(u->policy, i));
                        if (r < 0)
                                return r;
                }
                return 0;
        }
        if (!p->scf_mode) {
                if (p->scf_errno || p->scf_log)
                        return report(p, false, 0, "SystemCallErrorNumber=/SystemCallLog= without SystemCallFilter= have no effect");
                if (p->scf_arch)
                        /* SystemCallArchitectures= alone: an allow-all filter for those ABIs
                         * (every other one is killed). */
                        p->scf_mode = -1;
                else
                        return 0;
        }
        if (p->scf_errno)
                r = asprintf(&deny, "errno %s", p->scf_errno);
        else
                r = asprintf(&deny, "kill-process");
        if (r < 0)
                return -ENOMEM;
        {
                FILE *f = open_memstream(&text, &len);
                if (!f)
                        return -ENOMEM;
                fprintf(f, "# from %s\n", p->path);
                /* Without SystemCallArchitectures= every ABI the machine runs is admitted,
                 * as systemd does; the rules apply to each. */
                fprintf(f, "arch %s\n", p->scf_arch ? p->scf_arch : "native x32 i386");
                if (p->scf_mode > 0)
                        fprintf(f, "default %s\nallow @default\n", deny);
                else
                        fprintf(f, "default allow\n");
                for (const char *line = p->scf_text; line && *line;) {
                        const char *nl = strchr(line, '\n');
                        size_t n = nl ? (size_t)(nl - line + 1) : strlen(line);
                        if (!strncmp(line, "DENY ", 5))
                                fprintf(f, "%s %.*s", deny, (int)(n - 5), line + 5);
                        else
                                fprintf(f, "%.*s", (int)n, line);
                        line += n;
                }
                if (p->scf_log)
                        fprintf(f, "log %s\n", p->scf_log);
                if (fclose(f) != 0)
                        return -ENOMEM;
        }
        r = pv_policy_parse_string(p->path, text, len, NULL, &u->policy, &err);
        if (r < 0)
                return report(p, true, p->scf_line, "SystemCallFilter=: %s", err.message);
        return 0;
}

#define F(field) offsetof(struct unit_config, field)
static const struct key keys[] = {
        { SEC_UNIT, "Description", parse_string, F(description) },
        { SEC_UNIT, "Documentation", parse_ignore, 0 },
        { SEC_UNIT, "DefaultDependencies", parse_ignore, 0 },
        { SEC_UNIT | SEC_SERVICE, "StartLimitIntervalSec", parse_sec, F(start_limit_interval) },
        { SEC_UNIT | SEC_SERVICE, "StartLimitInterval", parse_sec, F(start_limit_interval) },
        { SEC_UNIT | SEC_SERVICE, "StartLimitBurst", parse_unsigned, F(start_limit_burst) },
        { SEC_UNIT, "After", parse_deps, F(after) },
        { SEC_UNIT, "Before", parse_deps, F(before) },
        { SEC_UNIT, "Requires", parse_deps, F(requires) },
        { SEC_UNIT, "Wants", parse_deps, F(wants) },
        { SEC_UNIT, "BindsTo", parse_deps, F(binds_to) },
        { SEC_UNIT, "PartOf", parse_not_yet, 0 },
        { SEC_UNIT, "Requisite", parse_not_yet, 0 },
        { SEC_UNIT, "Conflicts", parse_not_yet, 0 },
        { SEC_UNIT, "Upholds", parse_not_yet, 0 },
        { SEC_UNIT, "OnFailure", parse_not_yet, 0 },
        { SEC_UNIT, "OnSuccess", parse_not_yet, 0 },

        { SEC_SERVICE, "Type", parse_type, F(type) },
        { SEC_SERVICE, "ExecStart", parse_exec, 0 },
        { SEC_SERVICE, "ExecStartPre", parse_exec, 0 },
        { SEC_SERVICE, "Restart", parse_restart, F(restart) },
        { SEC_SERVICE, "RestartSec", parse_sec, F(restart_sec) },
        { SEC_SERVICE, "RestartSteps", parse_unsigned, F(restart_steps) },
        { SEC_SERVICE, "RestartMaxDelaySec", parse_restart_max_delay, F(restart_max_delay) },
        { SEC_SERVICE, "SuccessExitStatus", parse_status_set, F(success_status) },
        { SEC_SERVICE, "RestartPreventExitStatus", parse_status_set, F(restart_prevent) },
        { SEC_SERVICE, "RestartForceExitStatus", parse_status_set, F(restart_force) },
        { SEC_SERVICE, "User", parse_user, F(user) },
        { SEC_SERVICE, "Group", parse_user, F(group) },
        { SEC_SERVICE, "WorkingDirectory", parse_working_directory, 0 },
        { SEC_SERVICE, "Environment", parse_environment, 0 },
        { SEC_SERVICE, "EnvironmentFile", parse_environment_file, 0 },
        { SEC_SERVICE, "UMask", parse_umask, 0 },
        { SEC_SERVICE, "KillSignal", parse_kill_signal, 0 },
        { SEC_SERVICE, "KillMode", parse_kill_mode, F(kill_mode) },
        { SEC_SERVICE, "TimeoutStopSec", parse_timeout, F(timeout_stop) },
        { SEC_SERVICE, "TimeoutStartSec", parse_timeout, F(timeout_start) },
        { SEC_SERVICE, "TimeoutSec", parse_timeout_both, 0 },
        { SEC_SERVICE, "NotifyAccess", parse_notify_access, F(notify_access) },
        { SEC_SERVICE, "WatchdogSec", parse_sec, F(watchdog) },
        { SEC_SERVICE, "StandardOutput", parse_std_output, F(std_output) },
        { SEC_SERVICE, "StandardError", parse_std_output, F(std_error) },

        { SEC_SERVICE, "FileDescriptorStoreMax", parse_unsigned, F(fd_store_max) },
        { SEC_SERVICE, "SystemCallFilter", parse_syscall_filter, 0 },
        { SEC_SERVICE, "SystemCallErrorNumber", parse_syscall_errno, 0 },
        { SEC_SERVICE, "SystemCallArchitectures", parse_syscall_arch, 0 },
        { SEC_SERVICE, "SystemCallLog", parse_syscall_log, 0 },
        { SEC_SERVICE, "NoNewPrivileges", parse_flag, F(no_new_privs) },
        { SEC_SERVICE, "CapabilityBoundingSet", parse_caps, 0 },
        { SEC_SERVICE, "AmbientCapabilities", parse_caps, 0 },
        { SEC_SERVICE, "PrivateNetwork", parse_flag, F(private_network) },
        { SEC_SERVICE, "PrivateTmp", parse_flag, F(private_tmp) },
        { SEC_SERVICE, "PrivateIPC", parse_flag, F(private_ipc) },
        { SEC_SERVICE, "PrivateUsers", parse_flag, F(private_users) },
        { SEC_SERVICE, "ProtectSystem", parse_protect_system, 0 },
        { SEC_SERVICE, "ReadOnlyPaths", parse_paths, F(read_only_paths) },
        { SEC_SERVICE, "ReadWritePaths", parse_paths, F(read_write_paths) },
        { SEC_SERVICE, "InaccessiblePaths", parse_paths, F(inaccessible_paths) },
        { SEC_SERVICE | SEC_PIDVISOR, "Hostname", parse_hostname, F(hostname) },
        { SEC_PIDVISOR, "PrivatePIDs", parse_flag, F(private_pids) },
        /* systemd's older names */
        { SEC_SERVICE, "ReadOnlyDirectories", parse_paths, F(read_only_paths) },
        { SEC_SERVICE, "ReadWriteDirectories", parse_paths, F(read_write_paths) },
        { SEC_SERVICE, "InaccessibleDirectories", parse_paths, F(inaccessible_paths) },
        { SEC_SERVICE, "ProtectHome", parse_sandbox_unsupported, 0 },
        { SEC_SERVICE, "PrivateDevices", parse_sandbox_unsupported, 0 },
        { SEC_SERVICE, "PrivateMounts", parse_sandbox_unsupported, 0 },
        { SEC_SERVICE, "ProtectKernelTunables", parse_sandbox_unsupported, 0 },
        { SEC_SERVICE, "ProtectKernelModules", parse_sandbox_unsupported, 0 },
        { SEC_SERVICE, "ProtectKernelLogs", parse_sandbox_unsupported, 0 },
        { SEC_SERVICE, "ProtectControlGroups", parse_sandbox_unsupported, 0 },
        { SEC_SERVICE, "ProtectClock", parse_sandbox_unsupported, 0 },
        { SEC_SERVICE, "ProtectHostname", parse_sandbox_unsupported, 0 },
        { SEC_SERVICE, "ProtectProc", parse_sandbox_unsupported, 0 },
        { SEC_SERVICE, "ProcSubset", parse_sandbox_unsupported, 0 },
        { SEC_SERVICE, "RestrictAddressFamilies", parse_sandbox_unsupported, 0 },
        { SEC_SERVICE, "RestrictNamespaces", parse_sandbox_unsupported, 0 },
        { SEC_SERVICE, "RestrictRealtime", parse_sandbox_unsupported, 0 },
        { SEC_SERVICE, "RestrictSUIDSGID", parse_sandbox_unsupported, 0 },
        { SEC_SERVICE, "LockPersonality", parse_sandbox_unsupported, 0 },
        { SEC_SERVICE, "MemoryDenyWriteExecute", parse_sandbox_unsupported, 0 },
        { SEC_SERVICE, "RemoveIPC", parse_sandbox_unsupported, 0 },
        { SEC_SERVICE, "DynamicUser", parse_sandbox_unsupported, 0 },
        { SEC_SERVICE, "RootDirectory", parse_sandbox_unsupported, 0 },
        { SEC_SERVICE, "RootImage", parse_sandbox_unsupported, 0 },
        { SEC_SERVICE, "BindPaths", parse_sandbox_unsupported, 0 },
        { SEC_SERVICE, "BindReadOnlyPaths", parse_sandbox_unsupported, 0 },
        { SEC_SERVICE, "TemporaryFileSystem", parse_sandbox_unsupported, 0 },
        { SEC_SERVICE, "DevicePolicy", parse_sandbox_unsupported, 0 },
        { SEC_SERVICE, "DeviceAllow", parse_sandbox_unsupported, 0 },
        { SEC_SERVICE, "IPAddressDeny", parse_sandbox_unsupported, 0 },
        { SEC_SERVICE, "IPAddressAllow", parse_sandbox_unsupported, 0 },
        { SEC_SERVICE, "SecureBits", parse_sandbox_unsupported, 0 },
        { SEC_SERVICE, "NetworkNamespacePath", parse_sandbox_unsupported, 0 },
        { SEC_SERVICE, "IPCNamespacePath", parse_sandbox_unsupported, 0 },
        { SEC_SERVICE, "RestrictFileSystems", parse_sandbox_unsupported, 0 },
        { SEC_PIDVISOR, "SeccompPolicy", parse_seccomp_policy, 0 },
        { SEC_PIDVISOR, "SeccompViolation", parse_seccomp_violation, 0 },
        { SEC_PIDVISOR, "SeccompSpeculativeStoreBypass", parse_seccomp_ssb, 0 },

        /* resource limits through cgroups (cgroup-limits.c) */
        { SEC_SERVICE, "MemoryMax", parse_memory_limit, F(cg_limits.memory_max) },
        { SEC_SERVICE, "MemoryHigh", parse_memory_limit, F(cg_limits.memory_high) },
        { SEC_SERVICE, "TasksMax", parse_tasks_max, F(cg_limits.tasks_max) },
        { SEC_SERVICE, "CPUQuota", parse_cpu_quota, 0 },
        { SEC_SERVICE, "CPUQuotaPeriodSec", parse_cpu_quota_period, 0 },
        { SEC_PIDVISOR, "RequireCgroupLimits", parse_require_cgroup_limits, 0 },

        { SEC_SOCKET, "ListenStream", parse_listen, 0 },
        { SEC_SOCKET, "ListenDatagram", parse_listen, 0 },
        { SEC_SOCKET, "ListenSequentialPacket", parse_listen, 0 },
        { SEC_SOCKET, "ListenFIFO", parse_socket_unsupported, 0 },
        { SEC_SOCKET, "ListenSpecial", parse_socket_unsupported, 0 },
        { SEC_SOCKET, "ListenNetlink", parse_socket_unsupported, 0 },
        { SEC_SOCKET, "ListenMessageQueue", parse_socket_unsupported, 0 },
        { SEC_SOCKET, "ListenUSBFunction", parse_socket_unsupported, 0 },
        { SEC_SOCKET, "Backlog", parse_backlog, F(backlog) },
        { SEC_SOCKET, "ReusePort", parse_socket_flag, F(reuse_port) },
        { SEC_SOCKET, "FreeBind", parse_socket_flag, F(free_bind) },
        { SEC_SOCKET, "NonBlocking", parse_socket_flag, F(non_blocking) },
        { SEC_SOCKET, "BindIPv6Only", parse_bind_ipv6_only, 0 },
        { SEC_SOCKET, "SocketMode", parse_mode, F(socket_mode) },
        { SEC_SOCKET, "DirectoryMode", parse_mode, F(directory_mode) },
        { SEC_SOCKET, "SocketUser", parse_user, F(socket_user) },
        { SEC_SOCKET, "SocketGroup", parse_user, F(socket_group) },
        { SEC_SOCKET, "FileDescriptorName", parse_fd_name, F(fd_name) },
        { SEC_SOCKET, "Accept", parse_accept, 0 },
        { SEC_SOCKET, "Service", parse_socket_unsupported, 0 },

        { SEC_PIDVISOR, "HotRestart", parse_hot_restart, F(hot_restart) },
        { SEC_PIDVISOR, "ReadyCheck", parse_ready_check, 0 },
        { SEC_PIDVISOR, "UpgradeTimeoutSec", parse_timeout, F(upgrade_timeout) },
        { SEC_PIDVISOR, "DrainSignal", parse_drain_signal, 0 },
        { SEC_PIDVISOR, "DrainTimeoutSec", parse_timeout, F(drain_timeout) },
        { SEC_PIDVISOR, "TakeoverDatagram", parse_takeover_datagram, 0 },
        { SEC_PIDVISOR, "KeepListeners", parse_keep_listeners, 0 },
        { SEC_PIDVISOR, "RestartJitter", parse_jitter, 0 },
        { SEC_PIDVISOR, "RestartResetSec", parse_sec, F(restart_reset) },
        { SEC_PIDVISOR, "FailedCooldownSec", parse_sec, F(failed_cooldown) },
        { SEC_PIDVISOR, "AutoStart", parse_auto_start, 0 },
        { SEC_PIDVISOR, "LogMaxBytes", parse_log_max_bytes, 0 },
        { SEC_PIDVISOR, "NotificationFD", parse_notification_fd, 0 },
        { SEC_PIDVISOR, "LogKeep", parse_unsigned, F(log_keep) },
        { SEC_PIDVISOR, "OutputLifeline", parse_flag, F(output_lifeline) },

        { SEC_INSTALL, "WantedBy", parse_wanted_by, 0 },
};
#undef F

static unsigned section_bit(const char *section) {
        for (size_t i = 0; sections[i]; i++)
                if (strcmp(sections[i], section) == 0)
                        return 1U << i;
        return 0;
}

static int assign(void *userdata, unsigned line, const char *section, const char *key,
                  const char *value) {
        struct parser *p = userdata;
        unsigned bit = section_bit(section);
        _cleanup_free_ char *q = NULL;
        int resource;

        /* NAME.socket: its [Unit] section describes the socket unit, which pidvisor folds
         * into the service; ordering and the like belong in NAME.service. */
        if (p->in_socket_file && bit == SEC_UNIT) {
                if (strcmp(key, "Description") == 0 || strcmp(key, "Documentation") == 0 ||
                    strcmp(key, "DefaultDependencies") == 0)
                        return 0;
                q = conf_quote(key);
                if (!q)
                        return -ENOMEM;
                return report(p, false, line,
                              "%s= in the [Unit] section of a .socket file has no effect in "
                              "pidvisor (put it in the .service file), ignoring", q);
        }

        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if ((keys[i].sections & bit) && strcmp(keys[i].name, key) == 0)
                        return keys[i].parse(p, &keys[i], line, value);

        /* LimitNOFILE= and friends, spelled exactly as systemd does. */
        if (bit == SEC_SERVICE && strncmp(key, "Limit", 5) == 0 &&
            (resource = pv_rlimit_from_name(key + 5)) >= 0 && resource < RLIM_NLIMITS &&
            strcmp(pv_rlimit_to_name(resource), key + 5) == 0) {
                const struct key k = { SEC_SERVICE, key, NULL, 0 };

                return parse_limit(p, &k, line, value, resource);
        }

        /* [Install] only matters to `systemctl enable`; X-* keys are extensions. */
        if (bit == SEC_INSTALL || strncmp(key, "X-", 2) == 0)
                return 0;
        q = conf_quote(key);
        if (!q)
                return -ENOMEM;
        return report(p, false, line, "Unknown key \"%s\" in section [%s], ignoring", q,
                      section);
}

/* ---- loading -------------------------------------------------------------------------- */

void unit_config_free(struct unit_config *u) {
        if (!u)
                return;
        free(u->name);
        free(u->path);
        free(u->text);
        free(u->socket_path);
        free(u->socket_text);
        free(u->description);
        for (size_t i = 0; i < u->n_exec_start; i++)
                exec_command_done(&u->exec_start[i]);
        free(u->exec_start);
        for (size_t i = 0; i < u->n_exec_start_pre; i++)
                exec_command_done(&u->exec_start_pre[i]);
        free(u->exec_start_pre);
        free(u->user);
        free(u->group);
        free(u->working_directory);
        strv_free(u->environment);
        for (size_t i = 0; i < u->n_environment_files; i++)
                free(u->environment_files[i].path);
        free(u->environment_files);
        free(u->std_output.path);
        free(u->std_error.path);
        strv_free(u->requires);
        strv_free(u->binds_to);
        strv_free(u->wants);
        strv_free(u->after);
        strv_free(u->before);
        free(u->socket_file);
        for (size_t i = 0; i < u->n_listen; i++)
                free(u->listen[i].text);
        free(u->listen);
        free(u->socket_user);
        free(u->socket_group);
        free(u->fd_name);
        free(u->takeover_datagram);
        pv_seccomp_program_free(u->prog);
        pv_policy_free(u->policy);
        strv_free(u->read_only_paths);
        strv_free(u->read_write_paths);
        strv_free(u->inaccessible_paths);
        free(u->hostname);
        free(u);
}

static void unit_config_freep(struct unit_config **u) {
        unit_config_free(*u);
}

static void parser_done(struct parser *p) {
        free(p->scf_text);
        free(p->scf_errno);
        free(p->scf_arch);
        free(p->scf_log);
        free(p->seccomp_policy);
        for (size_t i = 0; i < p->n_env; i++)
                free(p->env[i]);
        free(p->env);
        diagnostics_done(&p->diag);
}

static uint64_t fnv1a_more(uint64_t h, const char *s, size_t n) {
        for (size_t i = 0; i < n; i++) {
                h ^= (unsigned char)s[i];
                h *= UINT64_C(1099511628211);
        }
        return h;
}

static uint64_t fnv1a(const char *s, size_t n) {
        return fnv1a_more(UINT64_C(14695981039346656037), s, n);
}

/* "web" from ".../web.service"; problems are reported. */
static int unit_name(struct parser *p) {
        const char *base = strrchr(p->path, '/');
        _cleanup_free_ char *q = NULL;
        size_t n, sn = strlen(SUFFIX);

        base = base ? base + 1 : p->path;
        n = strlen(base);
        q = conf_quote(base);
        if (!q)
                return -ENOMEM;
        if (n <= sn || strcmp(base + n - sn, SUFFIX) != 0)
                return report(p, true, 0,
                              "invalid file name \"%s\" (expected NAME.service)", q);
        n -= sn;
        if (memchr(base, '@', n))
                return report(p, true, 0,
                              "invalid file name \"%s\" (template units, NAME@.service, are "
                              "not supported)",
                              q);
        if (n > 255 - sn)
                return report(p, true, 0,
                              "invalid file name \"%s\" (expected a name of at most %zu "
                              "characters before .service)",
                              q, 255 - sn);
        for (size_t i = 0; i < n; i++)
                if (!unit_name_char(base[i]))
                        return report(p, true, 0,
                                      "invalid file name \"%s\" (expected letters, digits, "
                                      "and : - _ . before .service)",
                                      q);
        p->u->name = strndup(base, n);
        return p->u->name ? 0 : -ENOMEM;
}

static int check_unit(struct parser *p) {
        struct unit_config *u = p->u;
        char a[64], b[64];
        int r;

        if (u->n_exec_start == 0) {
                r = report(p, true, 0, "[Service] ExecStart= is required");
                if (r < 0)
                        return r;
        }
        if (u->restart_max_delay != USEC_INFINITY && u->restart_max_delay < u->restart_sec) {
                r = report(p, true, p->restart_max_delay_line,
                           "RestartMaxDelaySec=: %s is below RestartSec= (%s); expected at "
                           "least RestartSec=",
                           format_timespan(a, sizeof(a), u->restart_max_delay),
                           format_timespan(b, sizeof(b), u->restart_sec));
                if (r < 0)
                        return r;
        }
        if (u->restart_steps > 0 && u->restart_max_delay == USEC_INFINITY) {
                r = report(p, false, p->restart_steps_line,
                           "RestartSteps=: has no effect without RestartMaxDelaySec=, ignoring");
                if (r < 0)
                        return r;
        }
        if (u->restart_steps == 0 && u->restart_max_delay != USEC_INFINITY) {
                r = report(p, false, p->restart_max_delay_line,
                           "RestartMaxDelaySec=: has no effect without RestartSteps=, "
                           "ignoring");
                if (r < 0)
                        return r;
        }
        u->auto_start = p->auto_start >= 0 ? p->auto_start : p->wanted_by_default;
        /* systemd: NotifyAccess= defaults to none, and to main for Type=notify, when a
         * watchdog is set, or with an fd store (FileDescriptorStoreMax=). */
        if (p->notify_access >= 0)
                u->notify_access = (enum notify_access)p->notify_access;
        else if (u->type == SERVICE_NOTIFY || (u->watchdog > 0 && u->watchdog != USEC_INFINITY) ||
                 u->fd_store_max > 0)
                u->notify_access = NOTIFY_ACCESS_MAIN;
        if (u->watchdog == USEC_INFINITY)
                u->watchdog = 0;
        return 0;
}

/* NAME.socket: its [Socket] section, after NAME.service has been read. */
static int parse_socket_file(struct parser *p, const char *path, const char *text, size_t len) {
        bool service_had_listeners = p->u->n_listen > 0 || p->socket_keys_seen;

        p->file = path;
        p->in_socket_file = true;
        p->socket_keys_seen = false;
        if (len > UNIT_FILE_MAX)
                return report(p, true, 0, "the file is %zu bytes, over the limit of 1 MiB", len);
        if (service_had_listeners)
                return report(p, true, 0,
                              "%s has a [Socket] section already: define the sockets in one "
                              "of the two files",
                              p->path);
        return conf_parse(path, text, len, socket_file_sections, assign, p, &p->diag);
}

static int check_sockets(struct parser *p) {
        struct unit_config *u = p->u;

        if (u->n_listen == 0) {
                if (p->socket_keys_seen && !p->listen_seen)
                        return report(p, false, 0,
                                      "[Socket] settings without ListenStream=, ListenDatagram= "
                                      "or ListenSequentialPacket= have no effect");
                return 0;
        }
        if (!u->fd_name && asprintf(&u->fd_name, "%s.socket", u->name) < 0) {
                u->fd_name = NULL;
                return -ENOMEM;
        }
        return 0;
}

int unit_load_strings(const char *path, const char *text, size_t len, const char *socket_path,
                      const char *socket_text, size_t socket_len, struct unit_config **ret,
                      struct diagnostics *diag) {
        _cleanup_(unit_config_freep) struct unit_config *u = NULL;
        _cleanup_(parser_done) struct parser p = { .path = path, .file = path, .auto_start = -1,
                                                   .notify_access = -1, .hot_restart = -1 };
        int r;

        if (!path || (!text && len > 0) || !ret || (socket_text && !socket_path))
                return -EINVAL;
        /* Reports to a local list, which is what decides success, then hands it over. */
        if (len > UNIT_FILE_MAX) {
                r = report(&p, true, 0, "the file is %zu bytes, over the limit of 1 MiB", len);
                goto done;
        }
        u = calloc(1, sizeof(*u));
        if (!u)
                return -ENOMEM;
        unit_defaults(u);
        p.u = u;
        u->hash = fnv1a(text, len);
        if (socket_text)
                u->hash = fnv1a_more(fnv1a_more(u->hash, "\0socket\0", 8), socket_text, socket_len);
        u->path = strdup(path);
        u->text = malloc(len + 1);
        if (!u->path || !u->text)
                return -ENOMEM;
        memcpy(u->text, text ? text : "", len);
        u->text[len] = 0;
        u->text_len = len;
        if (socket_text) {
                u->socket_path = strdup(socket_path);
                u->socket_text = malloc(socket_len + 1);
                if (!u->socket_path || !u->socket_text)
                        return -ENOMEM;
                memcpy(u->socket_text, socket_text, socket_len);
                u->socket_text[socket_len] = 0;
                u->socket_text_len = socket_len;
        }
        r = unit_name(&p);
        if (r >= 0)
                r = conf_parse(path, text, len, sections, assign, &p, &p.diag);
        if (r >= 0 && socket_text)
                r = parse_socket_file(&p, socket_path, socket_text, socket_len);
        p.file = path;
        if (r >= 0)
                r = env_finish(&p);
        if (r >= 0)
                r = check_unit(&p);
        if (r >= 0) {
                p.file = u->socket_file ? u->socket_file : p.in_socket_file ? socket_path : path;
                r = check_sockets(&p);
                p.file = path;
        }
        if (r >= 0)
                r = check_hot_restart(&p);
        if (r >= 0)
                r = check_seccomp(&p);

done:
        if (r < 0)
                return r;
        r = p.diag.n_errors > 0 ? -EINVAL : 0;
        if (diagnostics_move(diag, &p.diag) < 0)
                return -ENOMEM;
        if (r == 0)
                *ret = TAKE_PTR(u);
        return r;
}

int unit_load_string(const char *path, const char *text, size_t len, struct unit_config **ret,
                     struct diagnostics *diag) {
        return unit_load_strings(path, text, len, NULL, NULL, 0, ret, diag);
}

/* Reads a whole unit file (at most UNIT_FILE_MAX + 1 bytes: the caller reports a file
 * over the limit).  Problems are reported in diag.  -ENOENT is not reported when
 * missing_ok. */
static int read_unit_file(const char *path, bool missing_ok, char **ret, size_t *ret_len,
                          struct diagnostics *diag) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, cap;
        struct stat st;
        int r;

        fd = RET_NERRNO(open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
        if (fd < 0) {
                r = fd;
                if (r == -ENOENT && missing_ok)
                        return r;
                goto fail;
        }
        r = RET_NERRNO(fstat(fd, &st));
        if (r < 0)
                goto fail;
        if (S_ISDIR(st.st_mode)) {
                r = -EISDIR;
                goto fail;
        }
        if (!S_ISREG(st.st_mode)) {
                if (diag && diagnostics_add(diag, true, "%s: cannot read: not a regular file",
                                            path) < 0)
                        return -ENOMEM;
                return -EINVAL;
        }
        if ((uint64_t)st.st_size > UNIT_FILE_MAX) {
                if (diag && diagnostics_add(diag, true,
                                            "%s: the file is %jd bytes, over the limit of 1 MiB",
                                            path, (intmax_t)st.st_size) < 0)
                        return -ENOMEM;
                return -EINVAL;
        }

        /* Read to EOF (the file may have grown since fstat), one byte past the limit. */
        cap = (size_t)st.st_size + 1;
        buf = malloc(cap);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n;

                if (len == cap) {
                        char *g;

                        if (cap > UNIT_FILE_MAX)
                                break;
                        cap = cap * 2 > UNIT_FILE_MAX + 1 ? UNIT_FILE_MAX + 1 : cap * 2;
                        g = realloc(buf, cap);
                        if (!g)
                                return -ENOMEM;
                        buf = g;
                }
                n = read(fd, buf + len, cap - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = negerrno();
                        goto fail;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;

fail:
        if (diag && diagnostics_add(diag, true, "%s: cannot read: %s", path, strerror(-r)) < 0)
                return -ENOMEM;
        return r;
}

int unit_load(const char *path, struct unit_config **ret, struct diagnostics *diag) {
        _cleanup_free_ char *buf = NULL, *socket_path = NULL, *socket_buf = NULL;
        size_t len = 0, socket_len = 0, n;
        int r;

        if (!path || !ret)
                return -EINVAL;
        r = read_unit_file(path, false, &buf, &len, diag);
        if (r < 0)
                return r;
        /* NAME.socket beside NAME.service, as systemd pairs them. */
        n = strlen(path);
        if (n > strlen(SUFFIX) && strcmp(path + n - strlen(SUFFIX), SUFFIX) == 0) {
                if (asprintf(&socket_path, "%.*s.socket", (int)(n - strlen(SUFFIX)), path) < 0) {
                        socket_path = NULL;
                        return -ENOMEM;
                }
                r = read_unit_file(socket_path, true, &socket_buf, &socket_len, diag);
                if (r == -ENOENT)
                {
                        free(socket_path);
                        socket_path = NULL;
                }
                else if (r < 0)
                        return r == -ENOMEM ? r : -EINVAL;
        }
        return unit_load_strings(path, buf, len, socket_path, socket_buf, socket_len, ret, diag);
}
