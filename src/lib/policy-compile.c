/* SPDX-License-Identifier: MIT */
/* Policy -> libseccomp filter -> BPF program (exported once, owned by the program
 * object), with pidvisor's forward-compatibility prefix in front; the program cache; the
 * pseudo-filter dump; naming a syscall number; undecided syscalls of a deny-list. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "policy-internal.h"
#include "util.h"

#define X32_BIT 0x40000000u
#define MAX_RANGES 4

static void seccomp_releasep(scmp_filter_ctx *c) {
        if (*c)
                seccomp_release(*c);
}

static uint32_t scmp_action(const struct pv_act *a) {
        switch (a->kind) {
        case PV_SECCOMP_KILL_PROCESS:
                return SCMP_ACT_KILL_PROCESS;
        case PV_SECCOMP_KILL_THREAD:
                return SCMP_ACT_KILL_THREAD;
        case PV_SECCOMP_ERRNO:
                return SCMP_ACT_ERRNO((uint32_t)a->err);
        case PV_SECCOMP_TRAP:
                return SCMP_ACT_TRAP;
        case PV_SECCOMP_LOG:
                return SCMP_ACT_LOG;
        case PV_SECCOMP_ALLOW:
                return SCMP_ACT_ALLOW;
        }
        return SCMP_ACT_KILL_PROCESS;
}

static bool has_arch(const struct pv_policy *p, uint32_t a) {
        for (size_t i = 0; i < p->n_arches; i++)
                if (p->arches[i] == a)
                        return true;
        return false;
}

static int build_ctx(const struct pv_policy *p, scmp_filter_ctx *ret, struct pv_error *err) {
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        uint32_t native = seccomp_arch_native();
        char b[64];
        int r;

        ctx = seccomp_init(scmp_action(&p->def));
        if (!ctx)
                return pv_error_setf(err, -ENOMEM, "%s: seccomp_init failed", p->path);
        /* No no_new_privs from libseccomp (we export, and the installer sets it), kill the
         * whole process for a foreign ABI, binary-tree syscall lookup. */
        if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)) < 0 ||
            (r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)) < 0)
                return pv_error_set(err, r, "%s: seccomp_attr_set", p->path);
        (void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
        if (p->ssb == PV_SSB_ALLOW)
                (void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_SSB, 1);

        if (!has_arch(p, native) && (r = seccomp_arch_remove(ctx, SCMP_ARCH_NATIVE)) < 0)
                return pv_error_set(err, r, "%s: seccomp_arch_remove", p->path);
        for (size_t i = 0; i < p->n_arches; i++)
                if (p->arches[i] != native && (r = seccomp_arch_add(ctx, p->arches[i])) < 0 &&
                    r != -EEXIST)
                        return pv_error_set(err, r, "%s: architecture %s", p->path,
                                            policy_arch_name(p->arches[i]));

        for (size_t i = 0; i < p->n_rules; i++) {
                const struct pv_rule *rule = &p->rules[i];
                struct scmp_arg_cmp cmp[PV_POLICY_MAX_ARGS];
                int nr;

                if (act_equal(&rule->act, &p->def) ||
                    !policy_syscall_on_arches(rule->name, p->arches, p->n_arches))
                        continue;
                nr = seccomp_syscall_resolve_name(rule->name);
                if (nr == __NR_SCMP_ERROR)
                        return policy_error(err, -EINVAL, &rule->src, "unknown system call \"%s\"",
                                            rule->name);
                for (unsigned k = 0; k < rule->n_conds; k++)
                        cmp[k] = (struct scmp_arg_cmp){ rule->conds[k].arg,
                                                        (enum scmp_compare)rule->conds[k].op,
                                                        rule->conds[k].a, rule->conds[k].b };
                r = seccomp_rule_add_array(ctx, scmp_action(&rule->act), nr, rule->n_conds, cmp);
                if (r < 0)
                        return policy_error(err, r, &rule->src, "%s %s: libseccomp refuses the rule: %s",
                                            act_name(&rule->act, b, sizeof(b)), rule->name,
                                            strerror(-r));
        }
        *ret = TAKE_PTR(ctx);
        return 0;
}

/* Forward compatibility.  Syscall numbers above the highest one libseccomp's table has
 * for an architecture (in its main block) are newer than anything a policy can name: in an
 * allow-list they answer ENOSYS, so that libc falls back, rather than the default action.
 * The range ends at the next number the table knows (x32's legacy block at 512) or 1024
 * numbers above the block's start. */
struct range {
        uint32_t audit_arch;
        uint32_t lo, hi;
};

static bool known_nr(uint32_t arch, int nr) {
        char *s = seccomp_syscall_resolve_num_arch(arch, nr);
        free(s);
        return s != NULL;
}

static int arch_range(uint32_t arch, struct range *ret) {
        uint32_t base = arch == SCMP_ARCH_X32 ? X32_BIT : 0, first = UINT32_MAX, top = 0, end;

        for (uint32_t n = base; n < base + 8192; n++)
                if (known_nr(arch, (int)n)) {
                        first = n;
                        break;
                }
        if (first == UINT32_MAX)
                return -ENOENT;
        for (uint32_t n = first; n < first + 512; n++)
                if (known_nr(arch, (int)n))
                        top = n;
        for (end = top + 1; end < first + 1024 && !known_nr(arch, (int)end); end++)
                ;
        *ret = (struct range){ arch == SCMP_ARCH_X32 ? AUDIT_ARCH_X86_64 : arch, top + 1, end - 1 };
        return 0;
}

static size_t forward_ranges(const struct pv_policy *p, struct range *r, size_t max) {
        size_t n = 0;

        if (!pv_policy_is_allowlist(p))
                return 0;
        for (size_t i = 0; i < p->n_arches && n < max; i++)
                if (arch_range(p->arches[i], &r[n]) == 0 && r[n].lo <= r[n].hi)
                        n++;
        return n;
}

#define STMT(c, k) ((struct sock_filter){ (unsigned short)(c), 0, 0, (k) })
#define JUMP(c, k, t, f) ((struct sock_filter){ (unsigned short)(c), (t), (f), (k) })

/* Skips everything when nr is below every range; else for each audit arch: if arch
 * matches, load nr and return ENOSYS when it is in one of the arch's ranges.  Ends with a
 * jump over the shared `ret ENOSYS`. */
static size_t build_prefix(const struct range *rg, size_t n, struct sock_filter *out) {
        size_t len = 0, done[MAX_RANGES] = { 0 }, ret_at;
        size_t jumps[MAX_RANGES * 2]; /* indices of jf/jt to patch to the ret */
        size_t n_jumps = 0;
        uint32_t min_lo = UINT32_MAX;

        /* Most calls are below every range: two instructions and out. */
        for (size_t i = 0; i < n; i++)
                if (rg[i].lo < min_lo)
                        min_lo = rg[i].lo;
        out[len++] = STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
        out[len++] = JUMP(BPF_JMP | BPF_JGE | BPF_K, min_lo, 0, 0); /* jf patched */

        for (size_t i = 0; i < n; i++) {
                size_t block, k, m = 0;

                if (done[i])
                        continue;
                block = len;
                out[len++] = STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
                out[len++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, rg[i].audit_arch, 0, 0); /* jf patched */
                out[len++] = STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
                for (k = i; k < n; k++) {
                        if (rg[k].audit_arch != rg[i].audit_arch)
                                continue;
                        done[k] = 1;
                        m++;
                        /* nr < lo: next test; nr > hi: next test; else ENOSYS */
                        out[len++] = JUMP(BPF_JMP | BPF_JGE | BPF_K, rg[k].lo, 0, 1);
                        out[len] = JUMP(BPF_JMP | BPF_JGT | BPF_K, rg[k].hi, 0, 0);
                        jumps[n_jumps++] = len++;
                }
                (void)m;
                /* arch mismatch skips the block */
                out[block + 1].jf = (unsigned char)(len - (block + 2));
        }
        out[len++] = STMT(BPF_JMP | BPF_JA, 1);
        ret_at = len;
        out[len++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA));
        for (size_t j = 0; j < n_jumps; j++)
                out[jumps[j]].jf = (unsigned char)(ret_at - (jumps[j] + 1));
        out[1].jf = (unsigned char)(len - 2);
        return len;
}

static int export_bpf(scmp_filter_ctx ctx, const struct pv_policy *p, struct sock_filter **ret,
                      size_t *ret_n, struct pv_error *err) {
        _cleanup_close_ int fd = memfd_create("pidvisor-seccomp", MFD_CLOEXEC);
        _cleanup_free_ struct sock_filter *f = NULL;
        off_t size;
        ssize_t n;
        int r;

        if (fd < 0)
                return pv_error_set(err, negerrno(), "%s: memfd_create", p->path);
        r = seccomp_export_bpf(ctx, fd);
        if (r < 0)
                return pv_error_set(err, r, "%s: seccomp_export_bpf", p->path);
        size = lseek(fd, 0, SEEK_END);
        if (size < 0)
                return pv_error_set(err, negerrno(), "%s: lseek", p->path);
        if (size == 0 || size % (off_t)sizeof(struct sock_filter) != 0)
                return pv_error_setf(err, -EIO, "%s: libseccomp exported %lld bytes", p->path,
                                     (long long)size);
        f = malloc((size_t)size);
        if (!f)
                return pv_error_set(err, -ENOMEM, "%s", p->path);
        n = pread(fd, f, (size_t)size, 0);
        if (n != size)
                return pv_error_set(err, n < 0 ? negerrno() : -EIO, "%s: reading the exported filter",
                                    p->path);
        *ret = TAKE_PTR(f);
        *ret_n = (size_t)size / sizeof(struct sock_filter);
        return 0;
}


/* PV_POLICY_NOTIFY_BINDS: a prefix stores in scratch memory M[0] whether the call is one
 * that transparent hot restart intercepts (bind, unlink, unlinkat of the native ABI);
 * every ALLOW and LOG of the program then jumps to a tail that notifies when M[0] says
 * so and returns the original action otherwise.  Denials are untouched: the policy still
 * has the last word on a call it forbids.  `out` gets the prefix, the program, the
 * tails; returns the new length (at most n + NOTIFY_BINDS_MAX). */
#define NOTIFY_BINDS_MAX 20
static size_t notify_binds(const struct sock_filter *in, size_t n, struct sock_filter *out) {
        static const int calls[] = { __NR_bind, __NR_unlinkat,
#ifdef __NR_unlink
                                     __NR_unlink,
#endif
        };
        size_t nc = sizeof(calls) / sizeof(calls[0]), k = 0, body, tail_allow, tail_log;

        /* 0: LD arch; 1: JEQ native, else "store 0" */
        out[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
        out[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, seccomp_arch_native(), 0, (uint8_t)(1 + nc));
        out[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
        for (size_t i = 0; i < nc; i++) /* equal: to "store 1", past the rest and "store 0" */
                out[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)calls[i],
                                                        (uint8_t)(nc - 1 - i + 3), 0);
        out[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_IMM, 0);
        out[k++] = (struct sock_filter)BPF_STMT(BPF_ST, 0);
        out[k++] = (struct sock_filter)BPF_STMT(BPF_JMP | BPF_JA, 2);
        out[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_IMM, 1);
        out[k++] = (struct sock_filter)BPF_STMT(BPF_ST, 0);
        body = k;
        memcpy(out + body, in, n * sizeof(*in));
        k += n;
        tail_allow = k;
        out[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_MEM, 0);
        out[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 1);
        out[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF);
        out[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
        tail_log = k;
        out[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_MEM, 0);
        out[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 1);
        out[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF);
        out[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_LOG);
        for (size_t i = body; i < body + n; i++) {
                uint32_t act = out[i].k & SECCOMP_RET_ACTION_FULL;
                if (out[i].code != (BPF_RET | BPF_K) || (act != SECCOMP_RET_ALLOW && act != SECCOMP_RET_LOG))
                        continue;
                out[i] = (struct sock_filter)BPF_STMT(BPF_JMP | BPF_JA,
                                                      (uint32_t)((act == SECCOMP_RET_ALLOW ? tail_allow : tail_log) - i - 1));
        }
        return k;
}

/* PV_POLICY_NOTIFY_KILLS: every kill becomes a jump to a tail that answers
 * SECCOMP_RET_USER_NOTIF, except for the few calls a spawning child makes between
 * installing the filter and execve (pv_spawn's handshake: sendmsg to pass the listener,
 * close, execve, and sendto/exit_group to report a failure), and those transparent hot
 * restart intercepts (bind, unlink, unlinkat).  Those still kill outright:
 * a notification then would wait for a supervisor that does not hold the listener yet,
 * and the spawn would never finish.  The tail adds NOTIFY_TAIL_MAX instructions at most;
 * returns how many. */
#define NOTIFY_TAIL_MAX 16
static size_t notify_kills(struct sock_filter *f, size_t n) {
        static const int direct[] = { __NR_execve, __NR_execveat, __NR_sendmsg, __NR_sendto,
                                      __NR_close, __NR_exit_group, __NR_exit,
                                      /* The calls transparent hot restart intercepts: a
                                       * notification of one of them means "allowed,
                                       * intercept it", so a kill of one must not notify
                                       * (the daemon cannot tell the two apart). */
                                      __NR_bind, __NR_unlinkat,
#ifdef __NR_unlink
                                      __NR_unlink,
#endif
        };
        size_t tail = n, k = n, n_direct = sizeof(direct) / sizeof(direct[0]);

        for (size_t i = 0; i < n; i++) {
                uint32_t act = f[i].k & SECCOMP_RET_ACTION_FULL;
                if (f[i].code == (BPF_RET | BPF_K) &&
                    (act == SECCOMP_RET_KILL_PROCESS || act == SECCOMP_RET_KILL_THREAD))
                        f[i] = (struct sock_filter)BPF_STMT(BPF_JMP | BPF_JA, (uint32_t)(tail - i - 1));
        }
        f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
        for (size_t i = 0; i < n_direct; i++)
                /* equal: jump over the rest of the list and the notify, to the kill */
                f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)direct[i],
                                                      (uint8_t)(n_direct - i), 0);
        f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF);
        f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
        return k - n;
}

int pv_policy_compile(const struct pv_policy *p, unsigned int flags,
                      struct pv_seccomp_program **ret, struct pv_error *err) {
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        _cleanup_free_ struct sock_filter *body = NULL, *all = NULL;
        struct sock_filter prefix[10 + MAX_RANGES * 5];
        struct range rg[MAX_RANGES];
        struct pv_seccomp_program *prog;
        _cleanup_free_ char *key = NULL;
        size_t n_body = 0, n_prefix = 0, n_rg;
        int r;

        r = build_ctx(p, &ctx, err);
        if (r < 0)
                return r;
        r = export_bpf(ctx, p, &body, &n_body, err);
        if (r < 0)
                return r;
        n_rg = forward_ranges(p, rg, MAX_RANGES);
        if (n_rg > 0)
                n_prefix = build_prefix(rg, n_rg, prefix);
        if (n_prefix + n_body > BPF_MAXINSNS)
                return pv_error_setf(err, -E2BIG,
                                     "%s: the filter has %zu instructions, more than the kernel's "
                                     "limit of %d",
                                     p->path, n_prefix + n_body, BPF_MAXINSNS);
        all = malloc((n_prefix + n_body + NOTIFY_TAIL_MAX) * sizeof(*all));
        key = policy_key(p, flags);
        prog = calloc(1, sizeof(*prog));
        if (!all || !key || !prog) {
                free(prog);
                return pv_error_set(err, -ENOMEM, "%s", p->path);
        }
        memcpy(all, prefix, n_prefix * sizeof(*all));
        memcpy(all + n_prefix, body, n_body * sizeof(*all));

        if (flags & PV_POLICY_NOTIFY_BINDS) {
                struct sock_filter *wrapped = malloc((n_prefix + n_body + NOTIFY_BINDS_MAX + NOTIFY_TAIL_MAX) * sizeof(*all));
                size_t n;
                if (!wrapped) {
                        free(prog);
                        return pv_error_set(err, -ENOMEM, "%s", p->path);
                }
                n = notify_binds(all, n_prefix + n_body, wrapped);
                free(all);
                all = wrapped;
                n_body = n - n_prefix;
        }
        if (flags & PV_POLICY_NOTIFY_KILLS)
                n_body += notify_kills(all, n_prefix + n_body);
        if (n_prefix + n_body > BPF_MAXINSNS) {
                free(prog);
                return pv_error_setf(err, -E2BIG, "%s: the filter has %zu instructions, more than the kernel's limit of %d",
                                     p->path, n_prefix + n_body, BPF_MAXINSNS);
        }

        prog->fprog.len = (unsigned short)(n_prefix + n_body);
        prog->fprog.filter = TAKE_PTR(all);
        prog->flags = p->json_flags;
        if (p->ssb == PV_SSB_ALLOW || (flags & PV_POLICY_SSB_ALLOW))
                prog->flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
        if (flags & (PV_POLICY_NOTIFY_KILLS | PV_POLICY_NOTIFY_BINDS))
                prog->flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
        prog->hash = policy_hash_bytes(key, strlen(key));
        prog->refs = 1;
        *ret = prog;
        return 0;
}

struct pv_seccomp_program *pv_seccomp_program_ref(struct pv_seccomp_program *prog) {
        if (prog)
                prog->refs++;
        return prog;
}

void pv_seccomp_program_free(struct pv_seccomp_program *prog) {
        if (!prog || --prog->refs > 0)
                return;
        free(prog->fprog.filter);
        free(prog);
}

int pv_policy_export_pfc(const struct pv_policy *p, unsigned int flags, int fd,
                         struct pv_error *err) {
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        struct range rg[MAX_RANGES];
        size_t n_rg;
        int r;

        r = build_ctx(p, &ctx, err);
        if (r < 0)
                return r;
        n_rg = forward_ranges(p, rg, MAX_RANGES);
        dprintf(fd, "#\n# pidvisor: before libseccomp's filter\n#\n");
        for (size_t i = 0; i < n_rg; i++)
                dprintf(fd, "if ($arch == %u && $syscall >= %u && $syscall <= %u)\n  action ERRNO(%d);  # newer than libseccomp's table\n",
                        rg[i].audit_arch, rg[i].lo, rg[i].hi, ENOSYS);
        if (flags & PV_POLICY_NOTIFY_KILLS)
                dprintf(fd, "# every KILL / KILL_PROCESS action below is NOTIFY (user notification)\n");
        if (!n_rg)
                dprintf(fd, "# (nothing: %s)\n", pv_policy_is_allowlist(p)
                                                           ? "no range above the table"
                                                           : "a deny-list policy");
        r = seccomp_export_pfc(ctx, fd);
        if (r < 0)
                return pv_error_set(err, r, "%s: seccomp_export_pfc", p->path);
        return 0;
}

const char *pv_seccomp_syscall_name(uint32_t audit_arch, int nr, char *buf, size_t size) {
        uint32_t native = seccomp_arch_native(), arch = audit_arch ? audit_arch : native;
        char *name;

        if (arch == SCMP_ARCH_X86_64 && nr >= 0 && ((uint32_t)nr & X32_BIT))
                arch = SCMP_ARCH_X32;
        name = seccomp_syscall_resolve_num_arch(arch, nr);
        if (name && arch == native)
                snprintf(buf, size, "%s", name);
        else if (name)
                snprintf(buf, size, "%s (%s)", name, policy_arch_name(arch));
        else if (arch == native)
                snprintf(buf, size, "syscall %d", nr);
        else
                snprintf(buf, size, "syscall %d (%s)", nr,
                         strcmp(policy_arch_name(arch), "?") ? policy_arch_name(arch) : "foreign ABI");
        free(name);
        return buf;
}

/* The cache */

struct cache_entry {
        char *key;
        uint64_t hash;
        struct pv_seccomp_program *prog;
};

struct pv_policy_cache {
        struct cache_entry *e;
        size_t n;
};

int pv_policy_cache_new(struct pv_policy_cache **ret) {
        *ret = calloc(1, sizeof(**ret));
        return *ret ? 0 : -ENOMEM;
}

void pv_policy_cache_free(struct pv_policy_cache *c) {
        if (!c)
                return;
        for (size_t i = 0; i < c->n; i++) {
                free(c->e[i].key);
                pv_seccomp_program_free(c->e[i].prog);
        }
        free(c->e);
        free(c);
}

int pv_policy_cache_get(struct pv_policy_cache *c, const struct pv_policy *p, unsigned int flags,
                        struct pv_seccomp_program **ret, struct pv_error *err) {
        _cleanup_free_ char *key = policy_key(p, flags);
        struct pv_seccomp_program *prog;
        struct cache_entry *n;
        uint64_t h;
        int r;

        if (!key)
                return pv_error_set(err, -ENOMEM, "%s", p->path);
        h = policy_hash_bytes(key, strlen(key));
        for (size_t i = 0; i < c->n; i++)
                if (c->e[i].hash == h && strcmp(c->e[i].key, key) == 0) {
                        *ret = pv_seccomp_program_ref(c->e[i].prog);
                        return 0;
                }
        r = pv_policy_compile(p, flags, &prog, err);
        if (r < 0)
                return r;
        n = realloc(c->e, (c->n + 1) * sizeof(*n));
        if (!n) {
                pv_seccomp_program_free(prog);
                return pv_error_set(err, -ENOMEM, "%s", p->path);
        }
        c->e = n;
        c->e[c->n++] = (struct cache_entry){ TAKE_PTR(key), h, prog };
        *ret = pv_seccomp_program_ref(prog);
        return 0;
}

size_t pv_policy_cache_prune(struct pv_policy_cache *c) {
        size_t dropped = 0;

        for (size_t i = c->n; i-- > 0;)
                if (c->e[i].prog->refs == 1) {
                        free(c->e[i].key);
                        pv_seccomp_program_free(c->e[i].prog);
                        c->e[i] = c->e[--c->n];
                        dropped++;
                }
        return dropped;
}

size_t pv_policy_cache_size(const struct pv_policy_cache *c) {
        return c ? c->n : 0;
}

/* Undecided syscalls of a deny-list */

static const char *kallsyms_prefix(void) {
        switch (seccomp_arch_native()) {
        case SCMP_ARCH_X86_64:
                return "__x64_sys_";
        case SCMP_ARCH_AARCH64:
                return "__arm64_sys_";
        case SCMP_ARCH_RISCV64:
                return "__riscv_sys_";
        case SCMP_ARCH_S390X:
                return "__s390x_sys_";
        default:
                return NULL;
        }
}

static int strv_push(char ***v, size_t *n, const char *prefix, const char *s) {
        char **nv = realloc(*v, (*n + 2) * sizeof(char *));
        if (!nv)
                return -ENOMEM;
        *v = nv;
        if (asprintf(&nv[*n], "%s%s", prefix, s) < 0)
                return -ENOMEM;
        nv[++*n] = NULL;
        return 0;
}

static bool strv_has(char **v, size_t n, const char *s) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(v[i], s) == 0)
                        return true;
        return false;
}

/* The kernel's syscall entry points by name, from /proc/kallsyms (NULL if unreadable). */
static char **kernel_syscalls(size_t *ret_n) {
        const char *prefix = kallsyms_prefix();
        size_t plen = prefix ? strlen(prefix) : 0, n = 0;
        char **v = NULL, *line = NULL;
        size_t cap = 0;
        FILE *f;

        if (!prefix || !(f = fopen("/proc/kallsyms", "re")))
                return NULL;
        while (getline(&line, &cap, f) > 0) {
                char *sym = strrchr(line, ' ');
                if (!sym || strncmp(++sym, prefix, plen) != 0)
                        continue;
                sym += plen;
                sym[strcspn(sym, "\n\t ")] = 0;
                if (!*sym || strcmp(sym, "ni_syscall") == 0 || strv_has(v, n, sym))
                        continue;
                if (strv_push(&v, &n, "", sym) < 0)
                        break;
        }
        free(line);
        fclose(f);
        *ret_n = n;
        return v;
}

/* The kernel also builds entry points for the compat ABIs and helpers under the native
 * prefix (ia32_pread64, chown16, clock_gettime32, old_readdir, setitimer.cold): not
 * syscalls a native program makes.  A best effort, for names libseccomp cannot give. */
static bool native_entry_name(const char *s) {
        static const char *const prefixes[] = { "ia32_", "old", "s390_" };
        static const char *const others[] = { "mmap_pgoff", "llseek", "gethostname" };
        size_t len = strlen(s);

        if (strchr(s, '.') || (len > 2 && (!strcmp(s + len - 2, "16") || !strcmp(s + len - 2, "32"))))
                return false;
        for (size_t i = 0; i < ELEMENTSOF(prefixes); i++)
                if (strncmp(s, prefixes[i], strlen(prefixes[i])) == 0)
                        return false;
        for (size_t i = 0; i < ELEMENTSOF(others); i++)
                if (strcmp(s, others[i]) == 0)
                        return false;
        return true;
}

static bool kernel_has(char **k, size_t n, const char *name) {
        char alt[128];

        if (strv_has(k, n, name))
                return true;
        /* entry points named differently from the syscall */
        snprintf(alt, sizeof(alt), "new%s", name);
        if (strv_has(k, n, alt))
                return true;
        return strcmp(name, "umount2") == 0 && strv_has(k, n, "umount");
}

int pv_policy_undecided(const struct pv_policy *p, char ***ret) {
        uint32_t native = seccomp_arch_native();
        size_t nk = 0, n = 0;
        char **k = kernel_syscalls(&nk), **v = NULL;
        struct range rg;
        int r = 0;

        if (arch_range(native, &rg) < 0)
                rg.lo = 1024;
        for (uint32_t nr = 0; nr < rg.lo && r == 0; nr++) {
                char *name = seccomp_syscall_resolve_num_arch(native, (int)nr);
                bool decided = false;

                if (!name)
                        continue;
                for (size_t i = 0; i < p->n_rules && !decided; i++)
                        decided = strcmp(p->rules[i].name, name) == 0;
                if (!decided && (!k || kernel_has(k, nk, name)))
                        r = strv_push(&v, &n, "", name);
                free(name);
        }
        for (size_t i = 0; k && i < nk && r == 0; i++) {
                if (policy_syscall_known(k[i]) ||
                    (strncmp(k[i], "new", 3) == 0 && policy_syscall_known(k[i] + 3)) ||
                    strcmp(k[i], "umount") == 0 || !native_entry_name(k[i]))
                        continue;
                r = strv_push(&v, &n, "?", k[i]);
        }
        for (size_t i = 0; i < nk; i++)
                free(k[i]);
        free(k);
        if (r < 0) {
                for (size_t i = 0; i < n; i++)
                        free(v[i]);
                free(v);
                return r;
        }
        if (!v && !(v = calloc(1, sizeof(char *))))
                return -ENOMEM;
        *ret = v;
        return 0;
}
