/* SPDX-License-Identifier: MIT */
/* Docker / OCI runtime-spec seccomp profiles (JSON), read with runc's and crun's
 * semantics; what they leave to Docker (includes/excludes) is evaluated as Docker does,
 * against the options' capabilities and kernel release.  docs/policy.md, "JSON". */
#include <errno.h>
#include <jansson.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>
#include <linux/seccomp.h>

#include "policy-internal.h"
#include "util.h"

static void json_unrefp(json_t **j) {
        json_decref(*j);
}

struct importer {
        struct pv_policy *p;
        const char *file;
        const struct pv_policy_options *opts;
        struct pv_error *err;
        const char *native;   /* Docker's name of the native arch: amd64, arm64, ... */
        int kernel[2];        /* major, minor of the release minKernel compares with */
        char *unknown;        /* names libseccomp does not know, comma-separated */
        size_t n_unknown;
        size_t n_cap_skipped;
};

static int jerr(struct importer *im, long entry, int code, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static int jerr(struct importer *im, long entry, int code, const char *fmt, ...) {
        char text[PV_ERROR_MAX];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        if (entry >= 0)
                return pv_error_setf(im->err, code, "%s: syscalls[%ld]: %s", im->file, entry, text);
        return pv_error_setf(im->err, code, "%s: %s", im->file, text);
}

static const char *docker_native_arch(void) {
        switch (seccomp_arch_native()) {
        case SCMP_ARCH_X86_64:
                return "amd64";
        case SCMP_ARCH_X86:
                return "x86";
        case SCMP_ARCH_X32:
                return "x32";
        case SCMP_ARCH_AARCH64:
                return "arm64";
        case SCMP_ARCH_ARM:
                return "arm";
        case SCMP_ARCH_PPC64LE:
                return "ppc64le";
        case SCMP_ARCH_PPC64:
                return "ppc64";
        case SCMP_ARCH_S390X:
                return "s390x";
        case SCMP_ARCH_S390:
                return "s390";
        case SCMP_ARCH_RISCV64:
                return "riscv64";
        case SCMP_ARCH_MIPS64:
                return "mips64";
        case SCMP_ARCH_MIPSEL64:
                return "mips64le";
        default:
                return "?";
        }
}

/* "SCMP_ARCH_X86_64" -> libseccomp token; 0 if unknown. */
static uint32_t scmp_arch(const char *s) {
        char low[32];
        size_t i;

        if (strncmp(s, "SCMP_ARCH_", 10) != 0)
                return 0;
        s += 10;
        for (i = 0; s[i] && i + 1 < sizeof(low); i++)
                low[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
        low[i] = 0;
        return seccomp_arch_resolve_name(low);
}

static int parse_release(const char *s, int v[2]) {
        char *end;
        long a, b = 0;

        a = strtol(s, &end, 10);
        if (end == s || a < 0)
                return -EINVAL;
        if (*end == '.') {
                s = end + 1;
                b = strtol(s, &end, 10);
                if (end == s || b < 0)
                        return -EINVAL;
        }
        v[0] = (int)a;
        v[1] = (int)b;
        return 0;
}

static int parse_action(struct importer *im, long entry, json_t *j, json_t *errno_ret,
                        int default_errno, struct pv_act *ret) {
        const char *s = json_string_value(j);
        json_int_t e = default_errno;

        if (!s)
                return jerr(im, entry, -EINVAL, "action: expected a string");
        if (errno_ret) {
                if (!json_is_integer(errno_ret) || json_integer_value(errno_ret) < 0 ||
                    json_integer_value(errno_ret) > 4095)
                        return jerr(im, entry, -EINVAL, "errnoRet: expected 0 ... 4095");
                e = json_integer_value(errno_ret);
        }
        if (strcmp(s, "SCMP_ACT_ERRNO") == 0) {
                *ret = (struct pv_act){ PV_SECCOMP_ERRNO, (int)e };
                return 0;
        }
        if (errno_ret && strcmp(s, "SCMP_ACT_TRACE") != 0)
                return jerr(im, entry, -EINVAL,
                            "errnoRet is only valid with SCMP_ACT_ERRNO (and SCMP_ACT_TRACE)");
        if (strcmp(s, "SCMP_ACT_ALLOW") == 0)
                *ret = (struct pv_act){ PV_SECCOMP_ALLOW, 0 };
        else if (strcmp(s, "SCMP_ACT_LOG") == 0)
                *ret = (struct pv_act){ PV_SECCOMP_LOG, 0 };
        else if (strcmp(s, "SCMP_ACT_KILL") == 0 || strcmp(s, "SCMP_ACT_KILL_THREAD") == 0)
                *ret = (struct pv_act){ PV_SECCOMP_KILL_THREAD, 0 };
        else if (strcmp(s, "SCMP_ACT_KILL_PROCESS") == 0)
                *ret = (struct pv_act){ PV_SECCOMP_KILL_PROCESS, 0 };
        else if (strcmp(s, "SCMP_ACT_TRAP") == 0)
                *ret = (struct pv_act){ PV_SECCOMP_TRAP, 0 };
        else if (strcmp(s, "SCMP_ACT_TRACE") == 0 || strcmp(s, "SCMP_ACT_NOTIFY") == 0)
                return jerr(im, entry, -EOPNOTSUPP,
                            "%s is not supported (pidvisor installs no tracer and no user "
                            "notification agent for a profile)",
                            s);
        else
                return jerr(im, entry, -EINVAL, "unknown action \"%s\"", s);
        return 0;
}

static int parse_op(const char *s) {
        static const struct {
                const char *name;
                int op;
        } ops[] = {
                { "SCMP_CMP_NE", SCMP_CMP_NE }, { "SCMP_CMP_LT", SCMP_CMP_LT },
                { "SCMP_CMP_LE", SCMP_CMP_LE }, { "SCMP_CMP_EQ", SCMP_CMP_EQ },
                { "SCMP_CMP_GE", SCMP_CMP_GE }, { "SCMP_CMP_GT", SCMP_CMP_GT },
                { "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
        };
        for (size_t i = 0; s && i < ELEMENTSOF(ops); i++)
                if (strcmp(ops[i].name, s) == 0)
                        return ops[i].op;
        return -EINVAL;
}

static int get_u64(json_t *j, uint64_t *ret) {
        if (!j) {
                *ret = 0;
                return 0;
        }
        if (!json_is_integer(j))
                return -EINVAL;
        /* jansson holds json_int_t (long long); values up to 2^63-1 are exact, and Go's
         * encoder writes uint64 values above that as numbers jansson rejects. */
        if (json_integer_value(j) < 0)
                return -ERANGE;
        *ret = (uint64_t)json_integer_value(j);
        return 0;
}

static bool str_in(json_t *arr, const char *s) {
        size_t i;
        json_t *v;

        json_array_foreach(arr, i, v) if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
                return true;
        return false;
}

static int cap_number(const char *s) {
        static const char *const caps[] = {
                "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL",
                "SETGID", "SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE",
                "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER", "SYS_MODULE",
                "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT",
                "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE",
                "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
                "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
        };
        if (strncasecmp(s, "CAP_", 4) == 0)
                s += 4;
        for (size_t i = 0; i < ELEMENTSOF(caps); i++)
                if (strcasecmp(caps[i], s) == 0)
                        return (int)i;
        return -EINVAL;
}

/* Docker's includes/excludes: 1 if the entry applies, 0 if it is left out. */
static int entry_applies(struct importer *im, long entry, json_t *call) {
        json_t *inc = json_object_get(call, "includes"), *exc = json_object_get(call, "excludes");
        struct { json_t *obj; bool include; } parts[] = { { exc, false }, { inc, true } };

        for (size_t k = 0; k < ELEMENTSOF(parts); k++) {
                json_t *o = parts[k].obj, *arches, *caps, *mk;
                bool include = parts[k].include;
                const char *key;
                json_t *v;
                size_t i;

                if (!o || json_is_null(o))
                        continue;
                if (!json_is_object(o))
                        return jerr(im, entry, -EINVAL, "%s: expected an object",
                                    include ? "includes" : "excludes");
                json_object_foreach(o, key, v) {
                        if (strcmp(key, "arches") && strcmp(key, "caps") && strcmp(key, "minKernel"))
                                return jerr(im, entry, -EOPNOTSUPP, "%s.%s is not supported",
                                            include ? "includes" : "excludes", key);
                }
                arches = json_object_get(o, "arches");
                if (arches && json_array_size(arches) > 0) {
                        bool in = str_in(arches, im->native);
                        if (include ? !in : in)
                                return 0;
                }
                caps = json_object_get(o, "caps");
                if (caps && json_array_size(caps) > 0) {
                        json_array_foreach(caps, i, v) {
                                int c = json_is_string(v) ? cap_number(json_string_value(v)) : -EINVAL;
                                bool held;

                                if (c < 0)
                                        return jerr(im, entry, -EINVAL, "unknown capability %s",
                                                    json_is_string(v) ? json_string_value(v) : "?");
                                held = im->opts && (im->opts->caps >> c) & 1;
                                if (include && !held) {
                                        im->n_cap_skipped++;
                                        return 0;
                                }
                                if (!include && held)
                                        return 0;
                        }
                }
                mk = json_object_get(o, "minKernel");
                if (mk && !json_is_null(mk)) {
                        int want[2];
                        bool ge;

                        if (!json_is_string(mk) || parse_release(json_string_value(mk), want) < 0)
                                return jerr(im, entry, -EINVAL, "minKernel: expected \"MAJOR.MINOR\"");
                        ge = im->kernel[0] > want[0] ||
                             (im->kernel[0] == want[0] && im->kernel[1] >= want[1]);
                        if (include ? !ge : ge)
                                return 0;
                }
        }
        return 1;
}

static int note_unknown(struct importer *im, const char *name) {
        size_t len = im->unknown ? strlen(im->unknown) : 0;
        char *n;

        if (im->unknown && strstr(im->unknown, name)) {
                /* already listed (a substring match is good enough to avoid repeats) */
                size_t l = strlen(name);
                for (const char *s = im->unknown; (s = strstr(s, name)); s += l)
                        if ((s == im->unknown || s[-1] == ' ') && (s[l] == ',' || !s[l]))
                                return 0;
        }
        n = realloc(im->unknown, len + strlen(name) + 3);
        if (!n)
                return -ENOMEM;
        im->unknown = n;
        sprintf(n + len, "%s%s", len ? ", " : "", name);
        im->n_unknown++;
        return 0;
}

static int import_call(struct importer *im, long entry, json_t *call) {
        json_t *names = json_object_get(call, "names"), *args = json_object_get(call, "args");
        json_t *one = json_object_get(call, "name");
        struct pv_rule base = { .src = { im->file, (unsigned)entry, 0, true } };
        struct pv_cond conds[PV_POLICY_MAX_ARGS * 4];
        size_t n_conds = 0, i;
        bool split = false;
        unsigned seen = 0;
        json_t *v;
        int r;

        if (!json_is_object(call))
                return jerr(im, entry, -EINVAL, "expected an object");
        r = entry_applies(im, entry, call);
        if (r <= 0)
                return r;
        r = parse_action(im, entry, json_object_get(call, "action"),
                         json_object_get(call, "errnoRet"), EPERM, &base.act);
        if (r < 0)
                return r;

        if (args && !json_is_null(args)) {
                if (!json_is_array(args))
                        return jerr(im, entry, -EINVAL, "args: expected an array");
                if (json_array_size(args) > ELEMENTSOF(conds))
                        return jerr(im, entry, -E2BIG, "args: too many conditions");
                json_array_foreach(args, i, v) {
                        json_t *idx = json_object_get(v, "index");
                        int op = parse_op(json_string_value(json_object_get(v, "op")));
                        struct pv_cond *c = &conds[n_conds++];
                        uint64_t value, two;

                        if (!json_is_integer(idx) || json_integer_value(idx) < 0 ||
                            json_integer_value(idx) >= PV_POLICY_MAX_ARGS)
                                return jerr(im, entry, -EINVAL, "args[%zu].index: expected 0 ... 5", i);
                        if (op < 0)
                                return jerr(im, entry, -EINVAL, "args[%zu].op: unknown operator", i);
                        if (get_u64(json_object_get(v, "value"), &value) < 0 ||
                            get_u64(json_object_get(v, "valueTwo"), &two) < 0)
                                return jerr(im, entry, -EINVAL,
                                            "args[%zu]: value and valueTwo must be unsigned integers", i);
                        c->arg = (unsigned)json_integer_value(idx);
                        c->op = op;
                        c->a = value;
                        c->b = op == SCMP_CMP_MASKED_EQ ? two : 0;
                        if (seen & (1u << c->arg))
                                split = true;
                        seen |= 1u << c->arg;
                }
        }

        json_t *list = names;
        if (!list || json_is_null(list)) {
                if (!json_is_string(one))
                        return jerr(im, entry, -EINVAL, "no names");
                list = NULL;
        } else if (!json_is_array(list))
                return jerr(im, entry, -EINVAL, "names: expected an array");

        for (i = 0; list ? i < json_array_size(list) : i < 1; i++) {
                const char *name = json_string_value(list ? json_array_get(list, i) : one);

                if (!name || !*name)
                        return jerr(im, entry, -EINVAL, "names[%zu]: expected a string", i);
                if (!policy_syscall_known(name)) {
                        /* runc and crun skip names libseccomp does not know.  Leaving out a
                         * rule that denies, in a profile that allows by default, would allow
                         * what was meant to be denied: refuse that. */
                        if (!pv_policy_is_allowlist(im->p) && base.act.kind != PV_SECCOMP_ALLOW &&
                            base.act.kind != PV_SECCOMP_LOG)
                                return jerr(im, entry, -EINVAL,
                                            "unknown system call \"%s\" in a rule that denies, "
                                            "in a profile that allows by default",
                                            name);
                        if ((r = note_unknown(im, name)) < 0)
                                return jerr(im, entry, r, "out of memory");
                        continue;
                }
                base.name = (char *)name;
                if (!split) {
                        struct pv_rule rule = base;
                        rule.n_conds = (unsigned)n_conds;
                        memcpy(rule.conds, conds, n_conds * sizeof(conds[0]));
                        policy_sort_conds(&rule);
                        r = policy_add_rule(im->p, &rule, MERGE_JSON, im->err);
                        if (r < 0)
                                return r;
                        continue;
                }
                /* Two conditions on one argument: runc adds each condition as a rule of its
                 * own (ORed), since libseccomp cannot AND them. */
                for (size_t k = 0; k < n_conds; k++) {
                        struct pv_rule rule = base;
                        rule.n_conds = 1;
                        rule.conds[0] = conds[k];
                        r = policy_add_rule(im->p, &rule, MERGE_JSON, im->err);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

int policy_parse_json(struct pv_policy *p, const char *file, const char *text, size_t len,
                      const struct pv_policy_options *opts, struct pv_error *err) {
        _cleanup_(json_unrefp) json_t *root = NULL;
        struct importer im = { .p = p, .opts = opts, .err = err, .native = docker_native_arch() };
        json_t *v, *syscalls, *archs, *archmap, *flags;
        json_error_t jerror;
        const char *key;
        struct utsname u;
        size_t i;
        int r = 0;

        im.file = policy_intern(p, file);
        if (!im.file)
                return pv_error_set(err, -ENOMEM, "%s", file);
        p->json = true;
        root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerror);
        if (!root)
                return pv_error_setf(err, -EINVAL, "%s:%d:%d: %s", file, jerror.line,
                                     jerror.column, jerror.text);
        if (!json_is_object(root))
                return jerr(&im, -1, -EINVAL, "expected a JSON object");

        const char *release = opts && opts->kernel_release ? opts->kernel_release
                                                            : (uname(&u) == 0 ? u.release : "0.0");
        if (parse_release(release, im.kernel) < 0)
                return jerr(&im, -1, -EINVAL, "cannot read the kernel release \"%s\"", release);

        json_object_foreach(root, key, v) {
                static const char *const known[] = {
                        "defaultAction", "defaultErrnoRet", "architectures", "archMap",
                        "syscalls", "flags", "listenerPath", "listenerMetadata", "comment",
                };
                bool ok = false;
                for (size_t k = 0; k < ELEMENTSOF(known); k++)
                        ok = ok || strcmp(known[k], key) == 0;
                if (!ok && (r = policy_warn(p, NULL, "%s: unknown key \"%s\" ignored", file, key)) < 0)
                        return pv_error_set(err, r, "%s", file);
        }
        if (json_object_get(root, "listenerPath"))
                return jerr(&im, -1, -EOPNOTSUPP,
                            "listenerPath is not supported (SCMP_ACT_NOTIFY needs an agent)");

        v = json_object_get(root, "defaultErrnoRet");
        int default_errno = EPERM;
        if (v && !json_is_null(v)) {
                if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 4095)
                        return jerr(&im, -1, -EINVAL, "defaultErrnoRet: expected 0 ... 4095");
                default_errno = (int)json_integer_value(v);
        }
        r = parse_action(&im, -1, json_object_get(root, "defaultAction"), NULL, default_errno,
                         &p->def);
        if (r < 0)
                return r;
        p->def_src = (struct pv_src){ im.file, 1, 0 };

        /* Architectures: `architectures` (OCI), or Docker's archMap entry for the native
         * architecture with its sub-architectures.  The native one is always included, as
         * libseccomp's context starts with it. */
        policy_set_native_arch(p);
        p->arch_native = false;
        archs = json_object_get(root, "architectures");
        archmap = json_object_get(root, "archMap");
        if (archs && json_array_size(archs) && archmap && json_array_size(archmap))
                return jerr(&im, -1, -EINVAL, "both architectures and archMap");
        json_t *arch_list = NULL, *arch_list2 = NULL;
        if (archs && !json_is_null(archs)) {
                if (!json_is_array(archs))
                        return jerr(&im, -1, -EINVAL, "architectures: expected an array");
                arch_list = archs;
        } else if (archmap && !json_is_null(archmap)) {
                if (!json_is_array(archmap))
                        return jerr(&im, -1, -EINVAL, "archMap: expected an array");
                json_array_foreach(archmap, i, v) {
                        const char *a = json_string_value(json_object_get(v, "architecture"));
                        if (a && scmp_arch(a) == seccomp_arch_native()) {
                                arch_list2 = json_object_get(v, "subArchitectures");
                                break;
                        }
                }
                arch_list = arch_list2;
        }
        if (arch_list && !json_is_null(arch_list)) {
                if (!json_is_array(arch_list))
                        return jerr(&im, -1, -EINVAL, "subArchitectures: expected an array");
                json_array_foreach(arch_list, i, v) {
                        uint32_t a = json_is_string(v) ? scmp_arch(json_string_value(v)) : 0;
                        bool dup = false;

                        if (!a)
                                return jerr(&im, -1, -EINVAL, "unknown architecture %s",
                                            json_is_string(v) ? json_string_value(v) : "(not a string)");
                        for (size_t k = 0; k < p->n_arches; k++)
                                dup = dup || p->arches[k] == a;
                        if (dup)
                                continue;
                        if (p->n_arches == PV_POLICY_MAX_ARCHES)
                                return jerr(&im, -1, -E2BIG, "too many architectures");
                        p->arches[p->n_arches++] = a;
                }
        }
        if (p->n_arches == 1)
                p->arch_native = true;

        flags = json_object_get(root, "flags");
        if (flags && !json_is_null(flags)) {
                if (!json_is_array(flags))
                        return jerr(&im, -1, -EINVAL, "flags: expected an array");
                json_array_foreach(flags, i, v) {
                        const char *f = json_string_value(v);
                        if (f && strcmp(f, "SECCOMP_FILTER_FLAG_SPEC_ALLOW") == 0)
                                p->ssb = PV_SSB_ALLOW;
                        else if (f && strcmp(f, "SECCOMP_FILTER_FLAG_LOG") == 0)
                                p->json_flags |= SECCOMP_FILTER_FLAG_LOG;
                        else if (f && strcmp(f, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") == 0)
                                continue; /* only matters with a notification agent */
                        else
                                return jerr(&im, -1, -EOPNOTSUPP, "flags: %s is not supported",
                                            f ? f : "(not a string)");
                }
        }

        syscalls = json_object_get(root, "syscalls");
        if (syscalls && !json_is_null(syscalls)) {
                if (!json_is_array(syscalls))
                        return jerr(&im, -1, -EINVAL, "syscalls: expected an array");
                json_array_foreach(syscalls, i, v) {
                        r = import_call(&im, (long)i, v);
                        if (r < 0)
                                break;
                }
        }
        if (r >= 0 && im.n_cap_skipped)
                r = policy_warn(p, NULL,
                                "%s: %zu entries need capabilities the service is not given "
                                "(includes.caps): left out",
                                file, im.n_cap_skipped);
        if (r >= 0 && im.n_unknown)
                r = policy_warn(p, NULL,
                                "%s: %zu system calls unknown to libseccomp %u.%u.%u left out "
                                "(where newer than its table they answer ENOSYS): %s",
                                file, im.n_unknown, seccomp_version()->major,
                                seccomp_version()->minor, seccomp_version()->micro, im.unknown);
        free(im.unknown);
        if (r < 0 && err && !err->code)
                pv_error_set(err, r, "%s", file);
        return r;
}
