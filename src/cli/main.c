/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "daemon/daemon.h"
#include "daemon/reexec.h"

static const char usage[] =
        "Usage: pidvisor COMMAND [ARGS...]\n"
        "\n"
        "A service manager in which a child process is a file descriptor.\n"
        "\n"
        "Commands:\n"
        "  run [OPTIONS] [--] CMD [ARGS...]   run CMD as a child, forward signals, exit with\n"
        "                                     its status (see `pidvisor run --help`)\n"
        "  daemon [OPTIONS]                   run the service manager in the foreground\n"
        "  status [NAME] [--json]             services at a glance, or one in detail with its\n"
        "                                     crash history\n"
        "  list [--json]                      the same table as `status`\n"
        "  start|stop|restart NAME...         and wait until it is done\n"
        "  upgrade NAME...                    hot restart: a new instance takes the listeners,\n"
        "                                     then the old one drains (no refused connection)\n"
        "  reset-failed NAME...               clear a failed state and the start limit\n"
        "  reload [--restart-changed]         re-read the units directory\n"
        "  daemon-reexec [--binary PATH]      the daemon executes itself (or PATH) in place,\n"
        "                                     keeping its services, sockets and state\n"
        "  events                             stream state changes, one JSON object per line\n"
        "  logs NAME [-n N] [-f]              a service's last log lines; -f: and what follows\n"
        "  policy check|show FILE             check a seccomp policy, or show what it resolves\n"
        "                                     to (see `pidvisor policy --help`)\n"
        "\n"
        "The CLI finds the daemon at $PIDVISOR_SOCKET, else at its default socket\n"
        "(/run/pidvisor/pidvisor.sock as root, $XDG_RUNTIME_DIR/pidvisor/pidvisor.sock else).\n"
        "\n"
        "Options:\n"
        "  -h, --help      show this help\n"
        "  --version       show the version\n";

int main(int argc, char **argv) {
        const char *cmd = argc > 1 ? argv[1] : NULL;

        if (cmd && (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help"))) {
                fputs(usage, stdout);
                return 0;
        }
        /* Asked by a running daemon before it re-executes into this binary: the state
         * formats this binary reads (src/daemon/reexec.c). */
        if (cmd && !strcmp(cmd, "--reexec-format"))
                return reexec_print_formats();
        if (cmd && !strcmp(cmd, "--version")) {
                printf("pidvisor %s\n", PIDVISOR_VERSION);
                return 0;
        }
        if (cmd && !strcmp(cmd, "run"))
                return cli_run(argc - 1, argv + 1);
        if (cmd && !strcmp(cmd, "logs"))
                return cli_logs(argc - 1, argv + 1);
        if (cmd && !strcmp(cmd, "policy"))
                return cli_policy(argc - 1, argv + 1);
        if (cmd && !strcmp(cmd, "daemon"))
                return daemon_main(argc - 1, argv + 1);
        if (cmd && (!strcmp(cmd, "status") || !strcmp(cmd, "list") || !strcmp(cmd, "start") ||
                    !strcmp(cmd, "stop") || !strcmp(cmd, "restart") || !strcmp(cmd, "reload") ||
                    !strcmp(cmd, "reset-failed") || !strcmp(cmd, "events") || !strcmp(cmd, "upgrade") ||
                    !strcmp(cmd, "daemon-reexec")))
                return cli_client(cmd, argc - 1, argv + 1);

        if (cmd)
                fprintf(stderr, "pidvisor: unknown command \"%s\"\n\n", cmd);
        fputs(usage, stderr);
        return 2;
}
