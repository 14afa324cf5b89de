/* SPDX-License-Identifier: MIT */
#pragma once

/* What the policy parser, the JSON importer, the group loader and the compiler share:
 * the resolved policy (a default, an architecture list and a table of rules, each
 * remembering where it was written). */

#include <pidvisor/policy.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#define PV_POLICY_MAX_ARGS 6
#define PV_POLICY_MAX_ARCHES 16
#define PV_POLICY_MAX_DEPTH 32 /* nested includes and groups */

/* A place in a source file; `file` is interned in the policy (pv_policy.files).  In a
 * JSON profile, `entry` is set and `line` is the 0-based index in syscalls[]. */
struct pv_src {
        const char *file;
        unsigned line, col;
        bool entry;
};

struct pv_act {
        enum pv_seccomp_action kind;
        int err; /* PV_SECCOMP_ERRNO only */
};

/* One argument comparison.  op is libseccomp's enum scmp_compare; for SCMP_CMP_MASKED_EQ
 * `a` is the mask and `b` the value, else `a` is the value. */
struct pv_cond {
        unsigned arg;
        int op;
        uint64_t a, b;
};

struct pv_rule {
        char *name; /* the system call */
        struct pv_act act;
        unsigned n_conds; /* 0: unconditional; conditions are ANDed */
        struct pv_cond conds[PV_POLICY_MAX_ARGS];
        struct pv_src src;  /* the rule */
        const char *via;    /* "@group" that named the syscall, interned; or NULL */
        unsigned owner;     /* the file instance that wrote it, numbered in the order the
                             * files were opened: a higher number in the table while a file
                             * is read is one of that file's includes */
};

enum pv_ssb {
        PV_SSB_KERNEL, /* no SECCOMP_FILTER_FLAG_SPEC_ALLOW: the kernel's policy decides */
        PV_SSB_ALLOW,  /* SECCOMP_FILTER_FLAG_SPEC_ALLOW */
};

struct pv_policy {
        char *path;
        struct pv_act def;
        struct pv_src def_src;
        uint32_t arches[PV_POLICY_MAX_ARCHES]; /* libseccomp tokens, native first if present */
        size_t n_arches;
        bool arch_native; /* `arch native` (explicit or by default) */
        enum pv_ssb ssb;
        bool json;
        unsigned json_flags; /* SECCOMP_FILTER_FLAG_* asked for by a JSON profile */

        struct pv_rule *rules;
        size_t n_rules, cap_rules;
        char **files; /* interned strings */
        size_t n_files;
        char **warnings;
        size_t n_warnings;
};

/* policy.c */
struct pv_policy *policy_new(const char *path);
const char *policy_intern(struct pv_policy *p, const char *s);
int policy_warn(struct pv_policy *p, const struct pv_src *src, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* A located error: "file:line:col: text" (or "file: syscalls[N]: text"), code returned. */
int policy_error(struct pv_error *err, int code, const struct pv_src *src, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

enum policy_merge {
        MERGE_POLICY, /* docs/policy.md, "When rules meet" */
        MERGE_JSON,   /* libseccomp's (runc's): an unconditional rule wins */
};
/* Adds a rule (copied, name duplicated) under the merge semantics. */
int policy_add_rule(struct pv_policy *p, const struct pv_rule *r, enum policy_merge m,
                    struct pv_error *err);
/* Sorts the rules by name (stable) so that dumps and cache keys do not depend on order. */
void policy_sort_rules(struct pv_policy *p);
/* Orders a rule's conditions by argument, so that equal rules compare equal. */
void policy_sort_conds(struct pv_rule *r);
bool act_equal(const struct pv_act *a, const struct pv_act *b);
const char *act_name(const struct pv_act *a, char *buf, size_t size);
/* "file:line" or "file syscalls[N]" */
const char *src_name(const struct pv_src *src, char *buf, size_t size);
int policy_set_native_arch(struct pv_policy *p);
/* The canonical text of what the filter does (no source positions): the cache key. */
char *policy_key(const struct pv_policy *p, unsigned flags);
uint64_t policy_hash_bytes(const void *data, size_t len);
/* Reads a whole policy file (bounded size) into a NUL-terminated buffer. */
int policy_read_file(const char *path, char **ret, size_t *ret_len, struct pv_error *err);

/* policy-parse.c: the text language */
int policy_parse_text(struct pv_policy *p, const char *file, const char *text, size_t len,
                      const struct pv_policy_options *opts, struct pv_error *err);

/* policy-json.c: Docker/OCI JSON */
int policy_parse_json(struct pv_policy *p, const char *file, const char *text, size_t len,
                      const struct pv_policy_options *opts, struct pv_error *err);

/* policy-groups.c: @groups from DIR/groups/NAME.group.  A loaded group's members,
 * groups expanded, each with the place it is named. */
struct pv_group_member {
        const char *name; /* interned in the policy */
        struct pv_src src;
};
struct group_set;
void group_set_free(struct group_set *g);
/* The members of @name (name without '@'); pointers stay valid until group_set_free. */
int group_lookup(struct group_set **gs, struct pv_policy *p, const char *dir, const char *name,
                 const struct pv_src *use, const struct pv_group_member **ret, size_t *ret_n,
                 struct pv_error *err);

/* policy-names.c: symbolic names */
int policy_errno_from_name(const char *s);
const char *policy_errno_name(int e, char *buf, size_t size);
int policy_const_lookup(const char *s, uint64_t *ret);
int policy_arch_from_name(const char *s, uint32_t *ret);
const char *policy_arch_name(uint32_t arch);
/* A syscall name is known to libseccomp on some architecture. */
bool policy_syscall_known(const char *name);
/* A syscall name resolves to a real number on at least one of the arches. */
bool policy_syscall_on_arches(const char *name, const uint32_t *arches, size_t n);
const char *policy_cmp_name(int op);
