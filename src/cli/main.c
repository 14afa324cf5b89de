/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
        "Usage: pidvisor COMMAND [ARGS...]\n"
        "\n"
        "A service manager in which a child process is a file descriptor.\n"
        "\n"
        "Commands:\n"
        "  run [OPTIONS] [--] CMD [ARGS...]   run CMD as a child, forward signals, exit with\n"
        "                                     its status (see `pidvisor run --help`)\n"
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
        if (cmd && !strcmp(cmd, "--version")) {
                printf("pidvisor %s\n", PIDVISOR_VERSION);
                return 0;
        }
        if (cmd && !strcmp(cmd, "run"))
                return cli_run(argc - 1, argv + 1);

        if (cmd)
                fprintf(stderr, "pidvisor: unknown command \"%s\"\n\n", cmd);
        fputs(usage, stderr);
        return 2;
}
