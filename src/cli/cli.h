/* SPDX-License-Identifier: MIT */
#pragma once

/* Sub-commands of the `pidvisor` command.  Each returns the process exit code. */
int cli_run(int argc, char **argv);
#include <jansson.h>

/* One request to the daemon on a connection of its own: the result (owned by the caller),
 * or NULL after printing why (no daemon, an error reply).  Steals args. */
json_t *cli_request(const char *cmd, json_t *args);

/* status, list, start, stop, restart, reload, reset-failed, events: argv[0] is cmd. */
int cli_client(const char *cmd, int argc, char **argv);
/* logs NAME [-n N] [-f]: argv[0] is "logs" (src/cli/logs.c). */
int cli_logs(int argc, char **argv);
/* policy check|show FILE (src/cli/policy.c): argv[0] is "policy". */
int cli_policy(int argc, char **argv);
