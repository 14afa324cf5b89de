/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the policy language: pv_policy_parse_string() on the input (groups
 * and includes from the source tree's policy/ directory), then everything a caller would
 * do with a policy that loaded: dump it, compile it, list what a deny-list leaves
 * undecided, and free it all. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <pidvisor/policy.h>

#include "fuzz-policy-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        fuzz_policy_one("fuzz.policy", data, size);
        return 0;
}
