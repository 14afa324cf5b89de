/* SPDX-License-Identifier: MIT */
/* The flags of `pidvisor run` that are unit keys (--syscall-filter is SystemCallFilter=,
 * --memory-max is MemoryMax=, ...), read by the daemon's unit parser.  A flag then takes
 * exactly its key's syntax, and --syscall-filter becomes the very policy that the daemon
 * builds for SystemCallFilter= (check_seccomp() in src/daemon/unit.c), as systemd-run
 * turns its --property= assignments into a unit's. */
#include "run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/unit.h"
#include "lib/util.h"

#define UNIT_NAME "pidvisor-run.service"
/* The lines before the first flag's: its line number is FIRST_LINE + its index. */
#define HEADER "[Service]\nExecStart=/bin/true\n"
#define FIRST_LINE 3

/* The keys that are flags, for messages: the parser may name one that was not given
 * ("use SystemCallErrorNumber="). */
static const struct {
        const char *key, *flag;
} key_flags[] = {
        { "SystemCallFilter=", "--syscall-filter" }, { "SystemCallErrorNumber=", "--syscall-errno" },
        { "MemoryMax=", "--memory-max" },            { "TasksMax=", "--tasks-max" },
        { "CPUQuota=", "--cpu-quota" },
};

/* Rewrites each "Key=" to its flag. */
static char *name_flags(const char *text) {
        char *out = strdup(text);

        for (size_t i = 0; out && i < ELEMENTSOF(key_flags); i++) {
                const char *key = key_flags[i].key;
                char *at;

                while (out && (at = strstr(out, key))) {
                        char *g = NULL;

                        if (asprintf(&g, "%.*s%s%s", (int)(at - out), out, key_flags[i].flag, at + strlen(key)) < 0)
                                g = NULL;
                        free(out);
                        out = g;
                }
        }
        return out;
}

/* A diagnostic "pidvisor-run.service:LINE: Key=: why" as "--flag: why". */
static char *message(const char *text) {
        const char *rest = text;
        size_t pl = strlen(UNIT_NAME);

        if (strncmp(rest, UNIT_NAME, pl) == 0) {
                rest += pl;
                if (*rest == ':') {
                        rest++;
                        rest += strspn(rest, "0123456789");
                        if (*rest == ':')
                                rest++;
                }
                rest += strspn(rest, " ");
        }
        return name_flags(rest);
}

int run_keys_parse(const struct run_key *keys, size_t n, struct run_keys_result *ret) {
        _cleanup_free_ char *text = NULL;
        struct diagnostics diag = { 0 };
        struct unit_config *u = NULL;
        size_t len = 0;
        FILE *f;
        int r;

        *ret = (struct run_keys_result){ 0 };
        if (n == 0)
                return 0;
        f = open_memstream(&text, &len);
        if (!f)
                return run_fail(EXIT_RUN_FAILED, "out of memory");
        fputs(HEADER, f);
        for (size_t i = 0; i < n; i++) {
                const char *v = keys[i].value;
                size_t vl = strlen(v);

                /* One line each: nothing that would end it or continue it. */
                if (strpbrk(v, "\n\r") || (vl > 0 && v[vl - 1] == '\\')) {
                        fclose(f);
                        return run_fail(EXIT_RUN_FAILED, "%s: invalid value (a line break or a trailing "
                                        "backslash)", keys[i].flag);
                }
                if (strspn(v, " \t") == vl) {
                        fclose(f);
                        return run_fail(EXIT_RUN_FAILED, "%s: expected a value (see --help)", keys[i].flag);
                }
                fprintf(f, "%s=%s\n", keys[i].key, v);
        }
        if (fclose(f) != 0)
                return run_fail(EXIT_RUN_FAILED, "out of memory");

        r = unit_load_string(UNIT_NAME, text, len, &u, &diag);
        for (size_t i = 0; i < diag.n; i++) {
                _cleanup_free_ char *m = message(diag.items[i].text);

                if (!m) {
                        r = run_fail(EXIT_RUN_FAILED, "out of memory");
                        goto out;
                }
                if (diag.items[i].error) {
                        r = run_fail(EXIT_RUN_FAILED, "%s", m);
                        goto out;
                }
                run_warn("%s", m);
        }
        if (r < 0) {
                r = run_fail(EXIT_RUN_FAILED, "reading the flags: %s", strerror(-r));
                goto out;
        }
        ret->policy = TAKE_PTR(u->policy);
        ret->limits = u->cg_limits;
        r = 0;
out:
        diagnostics_done(&diag);
        if (u)
                unit_config_free(u);
        return r;
}
