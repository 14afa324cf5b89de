/* SPDX-License-Identifier: MIT */
/* Questions about a loaded policy's rule table (policy-query.h). */
#include "policy-query.h"

#include <seccomp.h>
#include <string.h>

#include "policy-internal.h"

static bool is_kill(const struct pv_act *a) {
        return a->kind == PV_SECCOMP_KILL_PROCESS || a->kind == PV_SECCOMP_KILL_THREAD;
}

bool policy_may_kill_native(const struct pv_policy *p, const char *name) {
        uint32_t native = seccomp_arch_native();
        bool admitted = false, conditional_kill = false;

        for (size_t i = 0; i < p->n_arches; i++)
                admitted = admitted || p->arches[i] == native;
        if (!admitted)
                return true; /* the bad-arch action: kill-process */
        for (size_t i = 0; i < p->n_rules; i++) {
                const struct pv_rule *r = &p->rules[i];

                if (strcmp(r->name, name) != 0)
                        continue;
                /* Both merge semantics leave an unconditional rule in charge of its call. */
                if (r->n_conds == 0)
                        return is_kill(&r->act);
                conditional_kill = conditional_kill || is_kill(&r->act);
        }
        return conditional_kill || is_kill(&p->def);
}

const char *policy_first_killed_native(const struct pv_policy *p, const char *const *names) {
        for (; *names; names++)
                if (policy_may_kill_native(p, *names))
                        return *names;
        return NULL;
}
