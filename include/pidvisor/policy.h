/* SPDX-License-Identifier: MIT */
#pragma once

/* Seccomp policies: load a policy (pidvisor's own language, docs/policy.md, or a
 * Docker/OCI seccomp JSON profile), compile it once into a BPF program, and hand that
 * program to whoever installs it in a child (pv_spawn's seccomp_filter/seccomp_flags).
 *
 *     struct pv_policy *p;
 *     struct pv_seccomp_program *prog;
 *     pv_policy_load("server", NULL, &p, &err);           // $PIDVISOR_POLICY_DIR/server.policy
 *     pv_policy_compile(p, 0, &prog, &err);
 *     // child: prctl(PR_SET_NO_NEW_PRIVS, 1); seccomp(SECCOMP_SET_MODE_FILTER,
 *     //        prog->flags, &prog->fprog); execve(...)
 *     pv_seccomp_program_free(prog);
 *     pv_policy_free(p);
 *
 * Every function returns 0 or a negative errno; those taking a `struct pv_error *` fill it
 * with a message that names the file, line and column where that is what went wrong. */

#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <pidvisor/error.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

struct pv_policy;

enum pv_seccomp_action {
        PV_SECCOMP_KILL_PROCESS,
        PV_SECCOMP_KILL_THREAD,
        PV_SECCOMP_ERRNO,
        PV_SECCOMP_TRAP,
        PV_SECCOMP_LOG,
        PV_SECCOMP_ALLOW,
};

/* Where policies, their includes and the syscall groups (DIR/groups/NAME.group) are
 * found: $PIDVISOR_POLICY_DIR when set and not empty, else the installed directory
 * (meson's datadir/pidvisor/policy). */
const char *pv_policy_dir(void);

struct pv_policy_options {
        const char *dir; /* policy directory; NULL: pv_policy_dir() */
        /* Docker JSON `includes.caps` / `excludes.caps`: the capabilities (bit N = CAP
         * number N) the confined process will hold.  0: none, which is what the JSON
         * importer assumes when no options are given (an entry that needs a capability
         * is left out, with a warning). */
        uint64_t caps;
        /* Docker JSON `minKernel`: the kernel release to compare with ("6.1.0");
         * NULL: the running kernel's (uname). */
        const char *kernel_release;
};

/* Loads a policy.  `path` is a file (a name with a '/' or an existing file; ".json" is
 * read as a Docker/OCI profile) or a NAME, found as DIR/NAME.policy or DIR/NAME.json.
 * `dir` is the policy directory (NULL: pv_policy_dir()). */
int pv_policy_load(const char *path, const char *dir, struct pv_policy **ret, struct pv_error *err);
int pv_policy_load_opts(const char *path, const struct pv_policy_options *opts,
                        struct pv_policy **ret, struct pv_error *err);
/* Parses text (not NUL-terminated, `len` bytes) as if read from the file `name`: a policy
 * unless `name` ends in ".json".  Includes are looked up as for a file in the current
 * directory. */
int pv_policy_parse_string(const char *name, const char *text, size_t len,
                           const struct pv_policy_options *opts, struct pv_policy **ret,
                           struct pv_error *err);
void pv_policy_free(struct pv_policy *p);

/* The default action (and its errno for PV_SECCOMP_ERRNO). */
enum pv_seccomp_action pv_policy_default_action(const struct pv_policy *p, int *ret_errno);
/* An allow-list policy: its default denies (kill, errno, trap).  Otherwise (allow, log)
 * it is a deny-list. */
bool pv_policy_is_allowlist(const struct pv_policy *p);
/* Non-fatal findings of the load (e.g. JSON entries left out): file:line: text. */
size_t pv_policy_n_warnings(const struct pv_policy *p);
const char *pv_policy_warning(const struct pv_policy *p, size_t i);
/* The resolved rule table, one rule per line, with where each rule came from. */
int pv_policy_dump(const struct pv_policy *p, FILE *f);
/* For a deny-list policy: the native system calls the running kernel has that no rule of
 * the policy decides (so they get the default action), as a NULL-terminated array of
 * malloc'd names (free each and the array).  Names the kernel has that libseccomp does not
 * know are listed with a leading '?'. */
int pv_policy_undecided(const struct pv_policy *p, char ***ret);

/* pv_policy_compile flags */
enum {
        /* kill-process and kill-thread actions (including the default and the action for
         * a foreign ABI) become SECCOMP_RET_USER_NOTIF, and the program's flags include
         * SECCOMP_FILTER_FLAG_NEW_LISTENER: seccomp(2) then returns the listener fd, and
         * the installer's supervisor answers each notification (typically by killing the
         * process after reading the syscall number: pv_seccomp_syscall_name). */
        PV_POLICY_NOTIFY_KILLS = 1 << 0,
        /* Install with SECCOMP_FILTER_FLAG_SPEC_ALLOW whatever the policy says (the
         * policy's `ssb allow`); see docs/policy.md, "Speculative Store Bypass". */
        PV_POLICY_SSB_ALLOW = 1 << 1,
        /* For hot restart's transparent mode: bind, unlink and unlinkat of the native ABI,
         * where the policy allows them (or logs them), become SECCOMP_RET_USER_NOTIF, and
         * the flags include SECCOMP_FILTER_FLAG_NEW_LISTENER.  Where the policy denies
         * them, it still does. */
        PV_POLICY_NOTIFY_BINDS = 1 << 2,
};

/* A compiled filter, ready to install:
 *     seccomp(SECCOMP_SET_MODE_FILTER, prog->flags, &prog->fprog)
 * after PR_SET_NO_NEW_PRIVS (or with CAP_SYS_ADMIN).  Reference-counted: the cache hands
 * out references; pv_seccomp_program_free drops one. */
struct pv_seccomp_program {
        struct sock_fprog fprog;
        unsigned int flags;    /* SECCOMP_FILTER_FLAG_* */
        uint64_t hash;         /* of the resolved policy and the compile flags */
        unsigned int refs;     /* private */
};

int pv_policy_compile(const struct pv_policy *p, unsigned int flags,
                      struct pv_seccomp_program **ret, struct pv_error *err);
struct pv_seccomp_program *pv_seccomp_program_ref(struct pv_seccomp_program *prog);
void pv_seccomp_program_free(struct pv_seccomp_program *prog);
/* libseccomp's pseudo-filter code (seccomp_export_pfc) for the policy, written to fd,
 * preceded by a comment for what pidvisor adds in front of libseccomp's program. */
int pv_policy_export_pfc(const struct pv_policy *p, unsigned int flags, int fd,
                         struct pv_error *err);

/* The name of system call `nr` for messages: "ptrace", or "ptrace (i386)" for a foreign
 * ABI, or "syscall 999".  `audit_arch` is seccomp_data.arch (AUDIT_ARCH_*; 0: native); an
 * x32 call is AUDIT_ARCH_X86_64 with nr | 0x40000000, as the kernel reports it. */
const char *pv_seccomp_syscall_name(uint32_t audit_arch, int nr, char *buf, size_t size);

/* An in-memory cache of compiled programs, keyed by the resolved content of a policy
 * (default, arches, every rule, options) and the compile flags: two services whose
 * policies resolve to the same rules share one program, and a changed included file or
 * group changes the key.  Not thread-safe (the daemon has one thread). */
struct pv_policy_cache;
int pv_policy_cache_new(struct pv_policy_cache **ret);
void pv_policy_cache_free(struct pv_policy_cache *c);
/* A reference to the program for (p, flags), compiled now or earlier. */
int pv_policy_cache_get(struct pv_policy_cache *c, const struct pv_policy *p, unsigned int flags,
                        struct pv_seccomp_program **ret, struct pv_error *err);
/* Drops the programs no caller holds a reference to any more; returns how many. */
size_t pv_policy_cache_prune(struct pv_policy_cache *c);
size_t pv_policy_cache_size(const struct pv_policy_cache *c);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
