/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the re-exec state reader (src/daemon/serialize.c): state_read() on
 * the input, with a claim function that hands out copies of /dev/null for the descriptors
 * the state names (the reader must never touch a number it merely read), then status
 * JSON of every service read (what the daemon would show right after a re-exec), then
 * freeing it all. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "daemon/manager.h"
#include "daemon/serialize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int devnull = -1;

static int claim_devnull(void *data, int fd) {
        if (devnull < 0)
                devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        return devnull < 0 ? -EBADF : fcntl(devnull, F_DUPFD_CLOEXEC, 3);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct saved_state *st = NULL;
        char why[1024];

        if (state_read((const char *)data, size, claim_devnull, NULL, 0, &st, why, sizeof(why)) < 0) {
                (void)strlen(why);
                return 0;
        }
        for (size_t i = 0; i < st->m->n_services; i++)
                json_decref(service_to_json(st->m->services[i], true));
        saved_state_free(st);
        return 0;
}
