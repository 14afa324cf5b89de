/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the unit parser: unit_load_string() on the input, then everything
 * a caller would touch (diagnostics, $VAR expansion of each command, socket addresses
 * formatted back), then freeing it all.  An input holding a form feed is split there: the
 * part after it is a NAME.socket file read beside the service.
 * Short NUL-free inputs also go straight to exec_command_parse() and parse_timespan(). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/timeutil.h"
#include "daemon/unit.h"
#include "lib/strv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void expand_all(const struct exec_command *c, size_t n, char *const *env) {
        for (size_t i = 0; i < n; i++) {
                char **argv = NULL;

                if (exec_command_expand(&c[i], env, &argv) == 0) {
                        for (size_t j = 0; argv[j]; j++)
                                (void)strlen(argv[j]);
                        strv_free(argv);
                }
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static char *env[] = { "A=1", "B=x 'y z'", "C=", NULL };
        struct diagnostics d = { 0 };
        struct unit_config *u = NULL;
        char buf[64];

        const uint8_t *ff = memchr(data, '\f', size);
        size_t service_len = ff ? (size_t)(ff - data) : size;
        int r;

        if (ff)
                r = unit_load_strings("fuzz.service", (const char *)data, service_len, "fuzz.socket",
                                      (const char *)ff + 1, size - service_len - 1, &u, &d);
        else
                r = unit_load_string("fuzz.service", (const char *)data, size, &u, &d);
        if (r == 0) {
                char addr[256];

                for (size_t i = 0; i < u->n_listen; i++)
                        socket_address_format(&u->listen[i].addr, addr, sizeof(addr));
                expand_all(u->exec_start, u->n_exec_start, u->environment);
                expand_all(u->exec_start_pre, u->n_exec_start_pre, env);
                format_timespan(buf, sizeof(buf), u->restart_sec);
                format_timespan(buf, sizeof(buf), u->timeout_stop);
        }
        for (size_t i = 0; i < d.n; i++)
                (void)strlen(d.items[i].text);
        unit_config_free(u);
        diagnostics_done(&d);

        if (size < 4096 && !memchr(data, 0, size)) {
                char *s = strndup((const char *)data, size), *error_text = NULL;
                struct exec_command c = { 0 };
                usec_t t;

                if (!s)
                        return 0;
                if (exec_command_parse(s, &c, &error_text) == 0) {
                        expand_all(&c, 1, env);
                        exec_command_done(&c);
                }
                free(error_text);
                if (parse_timespan(s, &t) == 0) {
                        usec_t back;

                        format_timespan(buf, sizeof(buf), t);
                        /* every printed span parses back to the same value */
                        if (parse_timespan(buf, &back) != 0 || back != t)
                                abort();
                }
                free(s);
        }
        return 0;
}
