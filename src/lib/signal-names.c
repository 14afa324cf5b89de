/* SPDX-License-Identifier: MIT */
#include <pidvisor/process.h>

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util.h"

static const char *const names[] = {
        [SIGHUP] = "HUP",   [SIGINT] = "INT",       [SIGQUIT] = "QUIT",     [SIGILL] = "ILL",
        [SIGTRAP] = "TRAP", [SIGABRT] = "ABRT",     [SIGBUS] = "BUS",       [SIGFPE] = "FPE",
        [SIGKILL] = "KILL", [SIGUSR1] = "USR1",     [SIGSEGV] = "SEGV",     [SIGUSR2] = "USR2",
        [SIGPIPE] = "PIPE", [SIGALRM] = "ALRM",     [SIGTERM] = "TERM",     [SIGSTKFLT] = "STKFLT",
        [SIGCHLD] = "CHLD", [SIGCONT] = "CONT",     [SIGSTOP] = "STOP",     [SIGTSTP] = "TSTP",
        [SIGTTIN] = "TTIN", [SIGTTOU] = "TTOU",     [SIGURG] = "URG",       [SIGXCPU] = "XCPU",
        [SIGXFSZ] = "XFSZ", [SIGVTALRM] = "VTALRM", [SIGPROF] = "PROF",     [SIGWINCH] = "WINCH",
        [SIGIO] = "IO",     [SIGPWR] = "PWR",       [SIGSYS] = "SYS",
};

const char *pv_signal_name(int sig, char *buf, size_t size) {
        if (sig > 0 && (size_t)sig < ELEMENTSOF(names) && names[sig])
                snprintf(buf, size, "SIG%s", names[sig]);
        else if (sig == SIGRTMIN)
                snprintf(buf, size, "SIGRTMIN");
        else if (sig > SIGRTMIN && sig <= SIGRTMAX)
                snprintf(buf, size, "SIGRTMIN+%d", sig - SIGRTMIN);
        else
                snprintf(buf, size, "signal %d", sig);
        return buf;
}

int pv_signal_from_name(const char *s) {
        long n;

        if (!s || !*s)
                return -EINVAL;
        if (isdigit((unsigned char)*s))
                return parse_long(s, 1, SIGRTMAX, &n) < 0 ? -EINVAL : (int)n;
        if (strncasecmp(s, "SIG", 3) == 0)
                s += 3;
        for (size_t i = 1; i < ELEMENTSOF(names); i++)
                if (names[i] && strcasecmp(s, names[i]) == 0)
                        return (int)i;
        if (strncasecmp(s, "RTMIN", 5) == 0) {
                if (s[5] == 0)
                        return SIGRTMIN;
                if (s[5] == '+' && parse_long(s + 6, 0, SIGRTMAX - SIGRTMIN, &n) == 0)
                        return SIGRTMIN + (int)n;
        }
        if (strncasecmp(s, "RTMAX", 5) == 0) {
                if (s[5] == 0)
                        return SIGRTMAX;
                if (s[5] == '-' && parse_long(s + 6, 0, SIGRTMAX - SIGRTMIN, &n) == 0)
                        return SIGRTMAX - (int)n;
        }
        return -EINVAL;
}
