/* SPDX-License-Identifier: MIT */
#pragma once

/* Sub-commands of the `pidvisor` command.  Each returns the process exit code. */
int cli_run(int argc, char **argv);
