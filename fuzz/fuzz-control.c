/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the control protocol: each input is split into lines and fed to
 * the request handler of a real manager (one unit whose start fails before spawning, so
 * that no process is created), as a connected client's lines would be.  The replies
 * queue in the connection's buffer, which is emptied after each input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/log.h"
#include "daemon/manager.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct manager *m;
static struct conn *c;
static char dir[] = "/tmp/pv-fuzz-control.XXXXXX";

static void teardown(void) {
        char cmd[128];

        manager_free(m); /* closes the connection, removes the cgroup directory */
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
                fprintf(stderr, "fuzz-control: could not remove %s\n", dir);
}

static void setup(void) {
        static char units[64], state[64], sock[64];
        struct manager_options o = { 0 };
        int sv[2];
        FILE *f;

        if (!mkdtemp(dir))
                abort();
        snprintf(units, sizeof(units), "%s/units", dir);
        snprintf(state, sizeof(state), "%s/state", dir);
        snprintf(sock, sizeof(sock), "%s/sock", dir);
        mkdir(units, 0755);
        f = fopen(strcat(strcpy((char[128]){ 0 }, units), "/svc.service"), "w");
        if (!f)
                abort();
        fputs("[Service]\nExecStart=/nonexistent/program\nRestart=no\n", f);
        fclose(f);
        o.units_dir = units;
        o.state_dir = state;
        o.socket_path = sock;
        o.force_epoll = true; /* no ring per fuzz process */
        log_max_level = LOG_LEVEL_ERROR - 1; /* quiet */
        if (manager_new(&m, &o) < 0)
                abort();
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
                abort();
        c = control_adopt(m, sv[0], 0);
        if (!c)
                abort();
        atexit(teardown);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *p = (const char *)data, *end = p + size;

        if (!m)
                setup();
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

                if (len > 0)
                        control_handle_line(c, p, len);
                p += len + 1;
        }
        c->out_len = 0;
        c->subscribed = false;
        c->closing = false;
        return 0;
}
