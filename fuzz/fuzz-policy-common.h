/* SPDX-License-Identifier: MIT */
#pragma once

/* What fuzz-policy and fuzz-seccomp-json do with one input, named `name` (its suffix
 * chooses the language). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pidvisor/policy.h>

static inline void fuzz_policy_one(const char *name, const uint8_t *data, size_t size) {
        struct pv_policy_options o = { .dir = PV_FUZZ_POLICY_DIR, .kernel_release = "6.1" };
        struct pv_seccomp_program *prog = NULL;
        struct pv_policy *p = NULL;
        struct pv_error err;
        char *buf = NULL, **u = NULL;
        size_t len = 0;
        FILE *f;

        if (pv_policy_parse_string(name, (const char *)data, size, &o, &p, &err) < 0) {
                if (!err.message[0] || err.code >= 0)
                        abort(); /* every failure explains itself */
                return;
        }
        for (size_t i = 0; i < pv_policy_n_warnings(p); i++)
                (void)strlen(pv_policy_warning(p, i));
        f = open_memstream(&buf, &len);
        if (f) {
                pv_policy_dump(p, f);
                fclose(f);
        }
        free(buf);
        if (pv_policy_compile(p, PV_POLICY_NOTIFY_KILLS, &prog, &err) == 0) {
                if (prog->fprog.len == 0)
                        abort();
                pv_seccomp_program_free(prog);
        }
        if (!pv_policy_is_allowlist(p) && pv_policy_undecided(p, &u) == 0) {
                for (size_t i = 0; u[i]; i++)
                        free(u[i]);
                free(u);
        }
        pv_policy_free(p);
}
