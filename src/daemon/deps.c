/* SPDX-License-Identifier: MIT */
/* Dependencies between services: Requires=, BindsTo= and Wants= pull units into a start,
 * After= and Before= order it; a stop takes along the units that require or are bound to
 * the stopped one, and goes in reverse order.  A start or stop "job" is a flag on the
 * service (queued, stop_queued); deps_dispatch() runs every job whose ordering allows it,
 * and runs again whenever a service changes state. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strv.h"
#include "log.h"
#include "manager.h"

static bool listed(char **list, const char *name) {
        for (size_t i = 0; list && list[i]; i++)
                if (strcmp(list[i], name) == 0)
                        return true;
        return false;
}

static const struct unit_config *cfg_of(const struct service *s) {
        return s->cfg;
}

/* Whether a must start after b (a After=b, or b Before=a). */
static bool ordered_after(const struct service *a, const struct service *b) {
        const struct unit_config *ca = cfg_of(a), *cb = cfg_of(b);
        return (ca && listed(ca->after, b->name)) || (cb && listed(cb->before, a->name));
}

/* Whether a needs b to be up (Requires= or BindsTo=). */
static bool requires_(const struct service *a, const struct service *b) {
        const struct unit_config *ca = cfg_of(a);
        return ca && (listed(ca->requires, b->name) || listed(ca->binds_to, b->name));
}

static bool is_down(const struct service *s) {
        return !service_is_active(s) && s->state != SERVICE_STOPPING && s->state != SERVICE_STARTING;
}

/* Whether any ordering names s, either way. */
static bool has_ordering(const struct service *s) {
        const struct manager *m = s->m;

        if (s->cfg && (s->cfg->after || s->cfg->before))
                return true;
        for (size_t i = 0; i < m->n_services; i++) {
                const struct unit_config *c = cfg_of(m->services[i]);
                if (c && (listed(c->after, s->name) || listed(c->before, s->name)))
                        return true;
        }
        return false;
}

/* --- the set of units a start pulls in ------------------------------------------------ */

struct set {
        struct service **items;
        size_t n;
};

static bool set_has(const struct set *set, const struct service *s) {
        for (size_t i = 0; i < set->n; i++)
                if (set->items[i] == s)
                        return true;
        return false;
}

static int set_add(struct set *set, struct service *s) {
        struct service **grown = realloc(set->items, (set->n + 1) * sizeof(*grown));
        if (!grown)
                return -ENOMEM;
        set->items = grown;
        set->items[set->n++] = s;
        return 0;
}

static int pull_in(struct manager *m, struct set *set, struct service *s, char *why, size_t why_size) {
        const struct unit_config *c = cfg_of(s);
        char **lists[3];
        int r;

        if (set_has(set, s))
                return 0;
        r = set_add(set, s);
        if (r < 0 || !c)
                return r;
        lists[0] = c->requires;
        lists[1] = c->binds_to;
        lists[2] = c->wants;
        for (int l = 0; l < 3; l++)
                for (size_t i = 0; lists[l] && lists[l][i]; i++) {
                        struct service *d = manager_find(m, lists[l][i]);
                        if (!d) {
                                if (l == 2) {
                                        log_info("%s: Wants=%s, which does not exist; going on", s->name,
                                                 lists[l][i]);
                                        continue;
                                }
                                snprintf(why, why_size, "%s %s=%s, which does not exist", s->name,
                                         l == 0 ? "Requires" : "BindsTo", lists[l][i]);
                                return -ENOENT;
                        }
                        r = pull_in(m, set, d, why, why_size);
                        if (r < 0)
                                return r;
                }
        return 0;
}

/* Depth-first search for an ordering cycle inside the set; fills why with its path. */
static bool find_cycle(const struct set *set, struct service *s, unsigned char *color, struct service **path,
                       size_t depth, char *why, size_t why_size) {
        size_t si = 0;

        while (set->items[si] != s)
                si++;
        color[si] = 1;
        path[depth] = s;
        for (size_t j = 0; j < set->n; j++) {
                struct service *t = set->items[j];
                if (!ordered_after(s, t))
                        continue;
                if (color[j] == 1) {
                        size_t from = 0, len = 0;
                        while (path[from] != t)
                                from++;
                        len += (size_t)snprintf(why, why_size, "ordering cycle: ");
                        for (size_t k = from; k <= depth && len < why_size; k++)
                                len += (size_t)snprintf(why + len, why_size - len, "%s after ", path[k]->name);
                        if (len < why_size)
                                snprintf(why + len, why_size - len, "%s", t->name);
                        return true;
                }
                if (color[j] == 0 && find_cycle(set, t, color, path, depth + 1, why, why_size))
                        return true;
        }
        color[si] = 2;
        return false;
}

int deps_start(struct service *root, char *why, size_t why_size) {
        struct manager *m = root->m;
        struct set set = { 0 };
        unsigned char *color = NULL;
        struct service **path = NULL;
        int r;

        r = pull_in(m, &set, root, why, why_size);
        if (r < 0)
                goto out;
        if (set.n == 1 && !has_ordering(root)) {
                /* Nothing to wait for: the common case, and the one a thousand independent
                 * services take at daemon start, costs no job at all. */
                const char *w = NULL;
                free(set.items);
                if (service_start(root, &w) < 0) {
                        snprintf(why, why_size, "%s", w ? w : "failed");
                        return -EAGAIN;
                }
                return 0;
        }
        color = calloc(set.n, 1);
        path = calloc(set.n + 1, sizeof(*path));
        if (!color || !path) {
                r = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i < set.n; i++)
                if (color[i] == 0 && find_cycle(&set, set.items[i], color, path, 0, why, why_size)) {
                        r = -ELOOP;
                        goto out;
                }
        for (size_t i = 0; i < set.n; i++) {
                struct service *s = set.items[i];
                if (!s->cfg) {
                        snprintf(why, why_size, "%s: %s", s->name,
                                 s->load_error ? s->load_error : "the unit file is invalid");
                        r = -EINVAL;
                        goto out;
                }
                if (s != root && s->state == SERVICE_FAILED && s->start_limit_hit) {
                        snprintf(why, why_size, "%s: start limit hit: run `pidvisor reset-failed %s` first",
                                 s->name, s->name);
                        r = -EAGAIN;
                        goto out;
                }
                if (s == root && s->state == SERVICE_FAILED && s->start_limit_hit) {
                        snprintf(why, why_size, "start limit hit: run `pidvisor reset-failed` first");
                        r = -EAGAIN;
                        goto out;
                }
        }
        for (size_t i = 0; i < set.n; i++) {
                struct service *s = set.items[i];
                if (s->queued || service_is_active(s) || s->state == SERVICE_STARTING)
                        continue;
                if (s->stop_queued) {
                        s->stop_queued = false;
                        m->n_stop_queued--;
                }
                s->queued = true;
                m->n_queued++;
        }
        r = 0;
        deps_dispatch(m);
out:
        free(color);
        free(path);
        free(set.items);
        return r;
}

/* --- stop: the units that need this one go first ----------------------------------- */

static void mark_stop(struct manager *m, struct service *s, struct set *seen) {
        if (set_has(seen, s) || set_add(seen, s) < 0)
                return;
        if (s->queued) {
                s->queued = false;
                m->n_queued--;
                if (s->state == SERVICE_STARTING && !service_is_active(s))
                        service_set_state(s, SERVICE_INACTIVE, "start cancelled by a stop");
        }
        if (service_is_active(s) || s->state == SERVICE_AUTO_RESTART) {
                if (!s->stop_queued)
                        m->n_stop_queued++;
                s->stop_queued = true;
        } else
                service_stop(s); /* nothing runs: only cancels timers */
        for (size_t i = 0; i < m->n_services; i++) {
                struct service *t = m->services[i];
                if (t != s && requires_(t, s))
                        mark_stop(m, t, seen);
        }
}

void deps_stop(struct service *root) {
        struct set seen = { 0 };

        mark_stop(root->m, root, &seen);
        free(seen.items);
        deps_dispatch(root->m);
}

/* --- running the jobs ------------------------------------------------------------------ */

static bool dispatch_once(struct manager *m) {
        bool changed = false;

        for (size_t i = 0; i < m->n_services; i++) {
                struct service *s = m->services[i];

                if (s->stop_queued) {
                        bool wait = false;
                        /* Those ordered after it stop first. */
                        for (size_t j = 0; j < m->n_services && !wait; j++) {
                                struct service *t = m->services[j];
                                if (t != s && ordered_after(t, s) && (t->stop_queued || !is_down(t)) &&
                                    requires_(t, s))
                                        wait = true;
                        }
                        if (!wait) {
                                s->stop_queued = false;
                                m->n_stop_queued--;
                                service_stop(s);
                                changed = true;
                        }
                        continue;
                }
                if (s->queued) {
                        const char *blocker = NULL, *failed = NULL;
                        for (size_t j = 0; j < m->n_services; j++) {
                                struct service *t = m->services[j];
                                if (t == s)
                                        continue;
                                if (ordered_after(s, t)) {
                                        if (t->queued || t->state == SERVICE_STARTING ||
                                            t->state == SERVICE_STOPPING)
                                                blocker = t->name;
                                        else if (requires_(s, t) && t->state != SERVICE_RUNNING)
                                                failed = t->name;
                                } else if (requires_(s, t) && (t->state == SERVICE_FAILED) && !t->queued)
                                        failed = t->name;
                                if (failed)
                                        break;
                        }
                        if (failed) {
                                s->queued = false;
                                m->n_queued--;
                                service_set_state(s, SERVICE_FAILED, "dependency %s did not start", failed);
                                changed = true;
                        } else if (!blocker) {
                                const char *why = NULL;
                                s->queued = false;
                                m->n_queued--;
                                if (s->state == SERVICE_STARTING && !service_is_active(s))
                                        s->state = SERVICE_INACTIVE; /* was only waiting */
                                if (service_start(s, &why) < 0)
                                        service_set_state(s, SERVICE_FAILED, "%s", why);
                                changed = true;
                        } else if (s->state != SERVICE_STARTING) {
                                service_set_state(s, SERVICE_STARTING, "waiting for %s", blocker);
                                changed = true;
                        }
                }
        }
        return changed;
}

void deps_dispatch(struct manager *m) {
        if (m->n_queued == 0 && m->n_stop_queued == 0)
                return;
        if (m->dispatching) {
                m->dispatch_again = true;
                return;
        }
        m->dispatching = true;
        do {
                m->dispatch_again = false;
                while (dispatch_once(m))
                        ;
        } while (m->dispatch_again);
        m->dispatching = false;
}

/* A service went down: units bound to it go down too. */
void deps_went_down(struct service *s) {
        struct manager *m = s->m;

        for (size_t i = 0; i < m->n_services; i++) {
                struct service *t = m->services[i];
                if (t != s && t->cfg && listed(t->cfg->binds_to, s->name) && service_is_active(t) &&
                    !t->stop_requested && !t->stop_queued) {
                        log_info("%s: BindsTo=%s, which went down: stopping", t->name, s->name);
                        t->stop_queued = true;
                        m->n_stop_queued++;
                }
        }
}
