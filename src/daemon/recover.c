/* SPDX-License-Identifier: MIT */
/* Crash recovery (recover.h, docs/reexec.md). */
#include "recover.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <pidvisor/pidvisor.h>

#include "lib/util.h"
#include "log.h"

void recover_mark(struct service *s) {
        s->recover_dirty = true;
}

void recover_set_desired(struct service *s, enum desired_state d) {
        s->desired = d;
        recover_mark(s);
}

int recover_load(struct manager *m) {
        return 0;
}
void recover_adopt(struct service *s) {
}
bool recover_wants_start(const struct service *s) {
        return s->cfg && s->cfg->auto_start;
}
void recover_loaded_done(struct manager *m) {
}
void recover_forget(struct manager *m, const char *name) {
}
void recover_clean_exit(struct manager *m) {
}
void recover_free(struct manager *m) {
}
