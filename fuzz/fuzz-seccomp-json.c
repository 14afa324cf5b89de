/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the Docker/OCI seccomp JSON importer: the input is read as a
 * ".json" policy, and what loads is dumped, compiled and freed, as fuzz-policy does. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz-policy-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        fuzz_policy_one("fuzz.json", data, size);
        return 0;
}
