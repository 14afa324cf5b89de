/* SPDX-License-Identifier: MIT */
#pragma once

/* Questions about a loaded policy's rule table that an installer asks before it uses the
 * compiled filter (policy-query.c). */

#include <stdbool.h>

#include <pidvisor/policy.h>

/* Whether the filter compiled from p may kill (kill-process or kill-thread; with
 * PV_POLICY_NOTIFY_KILLS, notify) the native system call `name`.  Arguments are not known
 * in advance, so the answer is conservative: an unconditional rule for the call decides;
 * otherwise each conditional rule's action may apply, and so may the default.  A policy
 * that does not admit the native ABI kills every native call. */
bool policy_may_kill_native(const struct pv_policy *p, const char *name);

/* The first of `names` (NULL-terminated) that p may kill, or NULL. */
const char *policy_first_killed_native(const struct pv_policy *p, const char *const *names);
