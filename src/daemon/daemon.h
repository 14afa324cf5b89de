/* SPDX-License-Identifier: MIT */
#pragma once

/* Entry of `pidvisor daemon`, and the default paths the CLI shares with it. */
int daemon_main(int argc, char **argv);
int daemon_default_paths(char **units, char **state, char **log_dir);
/* $PIDVISOR_SOCKET, else the default state directory's pidvisor.sock; NULL if none. */
char *daemon_default_socket(void);
