/* SPDX-License-Identifier: MIT */
/* pidvisor policy check|show: load a seccomp policy, report what is wrong with file:line:col,
 * and show what it resolves to (docs/policy.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pidvisor/policy.h>

#include "cli.h"

static const char usage[] =
        "Usage: pidvisor policy check [--dir DIR] FILE|NAME\n"
        "       pidvisor policy show [--dir DIR] [--bpf] [--notify] FILE|NAME\n"
        "\n"
        "check  loads and compiles the policy; errors name file:line:col (exit 1); for a\n"
        "       deny-list policy, lists the system calls of this kernel it never decides\n"
        "show   the resolved rule table, each rule with where it was written;\n"
        "       --bpf: libseccomp's pseudo-filter code instead (--notify: as compiled for\n"
        "       kills enforced through user notification)\n"
        "\n"
        "A NAME is looked up as DIR/NAME.policy or DIR/NAME.json; DIR defaults to\n"
        "$PIDVISOR_POLICY_DIR, else the installed policy directory.\n";

static void print_warnings(const struct pv_policy *p) {
        for (size_t i = 0; i < pv_policy_n_warnings(p); i++)
                fprintf(stderr, "warning: %s\n", pv_policy_warning(p, i));
}

static int check(struct pv_policy *p, const char *file) {
        struct pv_seccomp_program *prog = NULL;
        struct pv_error err = { 0 };
        char **undecided = NULL;
        int r, e;

        r = pv_policy_compile(p, 0, &prog, &err);
        if (r < 0) {
                fprintf(stderr, "pidvisor: %s\n", err.message);
                return 1;
        }
        enum pv_seccomp_action a = pv_policy_default_action(p, &e);
        printf("%s: ok, %s policy, %u BPF instructions\n", file,
               pv_policy_is_allowlist(p) ? "allow-list" : "deny-list", prog->fprog.len);
        pv_seccomp_program_free(prog);
        if (pv_policy_is_allowlist(p))
                return 0;
        r = pv_policy_undecided(p, &undecided);
        if (r < 0) {
                fprintf(stderr, "pidvisor: listing undecided system calls: %s\n", strerror(-r));
                return 1;
        }
        size_t n = 0;
        while (undecided[n])
                n++;
        printf("%zu system calls of this kernel no rule decides (they get the default, %s):\n",
               n, a == PV_SECCOMP_LOG ? "log" : "allow");
        for (size_t i = 0; i < n; i++) {
                printf("  %s%s\n", undecided[i][0] == '?' ? undecided[i] + 1 : undecided[i],
                       undecided[i][0] == '?' ? "  (unknown to libseccomp: a policy cannot name it)"
                                              : "");
                free(undecided[i]);
        }
        free(undecided);
        return 0;
}

int cli_policy(int argc, char **argv) {
        static const struct option opts[] = {
                { "dir", required_argument, NULL, 'd' },
                { "bpf", no_argument, NULL, 'b' },
                { "notify", no_argument, NULL, 'n' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *sub = argc > 1 ? argv[1] : NULL, *dir = NULL;
        struct pv_error err = { 0 };
        struct pv_policy *p = NULL;
        bool bpf = false, notify = false;
        int c, r;

        if (!sub || !strcmp(sub, "--help") || !strcmp(sub, "-h")) {
                fputs(usage, sub ? stdout : stderr);
                return sub ? 0 : 2;
        }
        if (strcmp(sub, "check") && strcmp(sub, "show")) {
                fprintf(stderr, "pidvisor policy: unknown command \"%s\"\n\n%s", sub, usage);
                return 2;
        }
        optind = 1;
        while ((c = getopt_long(argc - 1, argv + 1, "+h", opts, NULL)) != -1) {
                switch (c) {
                case 'd':
                        dir = optarg;
                        break;
                case 'b':
                        bpf = true;
                        break;
                case 'n':
                        notify = true;
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return 0;
                default:
                        fputs(usage, stderr);
                        return 2;
                }
        }
        if (optind + 1 != argc - 1 || ((bpf || notify) && !strcmp(sub, "check"))) {
                fputs(usage, stderr);
                return 2;
        }
        const char *file = argv[optind + 1];

        r = pv_policy_load(file, dir, &p, &err);
        if (r < 0) {
                fprintf(stderr, "pidvisor: %s\n", err.message);
                return 1;
        }
        print_warnings(p);
        if (!strcmp(sub, "check"))
                r = check(p, file);
        else if (bpf) {
                fflush(stdout);
                r = pv_policy_export_pfc(p, notify ? PV_POLICY_NOTIFY_KILLS : 0, STDOUT_FILENO, &err);
                if (r < 0)
                        fprintf(stderr, "pidvisor: %s\n", err.message);
                r = r < 0;
        } else
                r = pv_policy_dump(p, stdout) < 0;
        pv_policy_free(p);
        return r;
}
