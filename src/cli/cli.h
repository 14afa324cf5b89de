/* SPDX-License-Identifier: MIT */
#pragma once

/* Sub-commands of the `pidvisor` command.  Each returns the process exit code. */
int cli_run(int argc, char **argv);
/* status, list, start, stop, restart, reload, reset-failed, events: argv[0] is cmd. */
int cli_client(const char *cmd, int argc, char **argv);
/* logs NAME [-n N] [-f]: argv[0] is "logs" (src/cli/logs.c). */
int cli_logs(int argc, char **argv);
