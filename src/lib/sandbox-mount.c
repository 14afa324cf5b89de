/* SPDX-License-Identifier: MIT */
/* The mount namespace of a confined child: private /tmp, ProtectSystem=, read-only,
 * read-write and inaccessible paths.
 *
 * The parent turns the attributes into a flat list of mount operations.  It resolves
 * every path (realpath), sorts them so that a directory comes before what lies below it,
 * merges duplicates, and reads /proc/self/mountinfo to find, for each read-only path,
 * the mounts below it and the per-mount flags each must keep.  The child then makes one
 * system call or a few per operation, in order, and can name the one that failed.
 *
 * The model is systemd's namespace.c: every listed path is bind-mounted onto itself so
 * that it is a mount of its own, whose flags can differ from the mount above it; then
 * read-only paths are remounted read-only (MS_BIND|MS_REMOUNT|MS_RDONLY acts on one
 * mount, so each mount below is remounted as well, unless a deeper listed path decides
 * for it). */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

/* How a listed path is mounted; a higher value wins when a path is listed twice. */
enum entry_kind {
        E_BIND = 0,  /* bound onto itself (read-only or read-write) */
        E_PROC,      /* a fresh procfs */
        E_TMP,       /* private /tmp */
        E_INACC,     /* inaccessible */
};

struct entry {
        char *path; /* canonical, owned */
        enum entry_kind kind;
        bool ro;
        bool is_dir;         /* E_INACC */
        const char *source;  /* E_TMP: a directory to bind, or NULL for a tmpfs */
        const char *why;
};

struct mountpoint {
        char *path;
        unsigned long flags; /* MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_NOSYMFOLLOW */
};

struct builder {
        struct entry *entries;
        size_t n_entries;
        struct mountpoint *mounts;
        size_t n_mounts;
        struct mount_plan *mp;
        size_t ops_cap;
};

/* child is parent or lies below it. */
static bool path_under(const char *child, const char *parent) {
        size_t n = strlen(parent);

        if (strcmp(parent, "/") == 0)
                return true;
        return strncmp(child, parent, n) == 0 && (child[n] == 0 || child[n] == '/');
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s) {
        char *w = s;

        for (char *r = s; *r; r++) {
                if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
                    r[3] >= '0' && r[3] <= '7') {
                        *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
                        r += 3;
                } else
                        *w++ = *r;
        }
        *w = 0;
}

static unsigned long parse_mount_flags(const char *opts) {
        unsigned long f = 0;
        char buf[512], *save = NULL;

        snprintf(buf, sizeof(buf), "%s", opts);
        for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                if (!strcmp(t, "nosuid"))
                        f |= MS_NOSUID;
                else if (!strcmp(t, "nodev"))
                        f |= MS_NODEV;
                else if (!strcmp(t, "noexec"))
                        f |= MS_NOEXEC;
                else if (!strcmp(t, "nosymfollow"))
                        f |= MS_NOSYMFOLLOW;
        }
        return f;
}

/* Every mount point with the per-mount flags of its topmost mount, in mountinfo order
 * (a mount appears after the one it sits on). */
static int read_mountinfo(struct builder *b, struct pv_error *err) {
        FILE *f = fopen("/proc/self/mountinfo", "re");
        char *line = NULL;
        size_t cap = 0;
        int r = 0;

        if (!f)
                return pv_error_set(err, negerrno(), "open \"/proc/self/mountinfo\"");
        while (getline(&line, &cap, f) > 0) {
                char mnt[PATH_MAX], opts[512];
                struct mountpoint *m;
                size_t i;

                if (sscanf(line, "%*s %*s %*s %*s %4095s %511s", mnt, opts) != 2)
                        continue;
                unescape_octal(mnt);
                for (i = 0; i < b->n_mounts; i++)
                        if (strcmp(b->mounts[i].path, mnt) == 0)
                                break;
                if (i == b->n_mounts) {
                        m = reallocarray(b->mounts, b->n_mounts + 1, sizeof(*m));
                        if (!m) {
                                r = -ENOMEM;
                                break;
                        }
                        b->mounts = m;
                        m[i].path = strdup(mnt);
                        if (!m[i].path) {
                                r = -ENOMEM;
                                break;
                        }
                        b->n_mounts++;
                }
                b->mounts[i].flags = parse_mount_flags(opts);
        }
        free(line);
        fclose(f);
        if (r < 0)
                return pv_error_set(err, r, "reading \"/proc/self/mountinfo\"");
        return 0;
}

/* The per-mount flags of the mount that holds path. */
static unsigned long flags_of(const struct builder *b, const char *path) {
        const struct mountpoint *best = NULL;

        for (size_t i = 0; i < b->n_mounts; i++)
                if (path_under(path, b->mounts[i].path) &&
                    (!best || strlen(b->mounts[i].path) >= strlen(best->path)))
                        best = &b->mounts[i];
        return best ? best->flags : 0;
}

static int add_entry(struct builder *b, const char *path, enum entry_kind kind, bool ro,
                     bool optional, const char *why, const char *source, struct pv_error *err) {
        _cleanup_free_ char *canon = NULL;
        struct entry *e;
        struct stat st;

        if (path[0] == '-') {
                optional = true;
                path++;
        }
        if (path[0] != '/')
                return pv_error_setf(err, -EINVAL, "%s \"%s\": not an absolute path", why, path);
        canon = realpath(path, NULL);
        if (!canon) {
                int r = negerrno();
                if (optional && r == -ENOENT)
                        return 0;
                return pv_error_set(err, r, "%s \"%s\"", why, path);
        }
        if (stat(canon, &st) < 0)
                return pv_error_set(err, negerrno(), "%s \"%s\"", why, path);
        if (kind != E_INACC && !S_ISDIR(st.st_mode) && kind != E_BIND)
                return pv_error_setf(err, -ENOTDIR, "%s \"%s\": not a directory", why, path);

        e = reallocarray(b->entries, b->n_entries + 1, sizeof(*e));
        if (!e)
                return pv_error_set(err, -ENOMEM, "mount namespace");
        b->entries = e;
        b->entries[b->n_entries++] = (struct entry){
                .path = TAKE_PTR(canon), .kind = kind, .ro = ro, .is_dir = S_ISDIR(st.st_mode),
                .source = source, .why = why,
        };
        return 0;
}

static int cmp_entry(const void *x, const void *y) {
        const struct entry *a = x, *b = y;
        int c = strcmp(a->path, b->path);

        /* For equal paths: the winning kind first, so merging keeps it. */
        return c ? c : (int)b->kind - (int)a->kind;
}

/* Sorted by path (a directory sorts before anything below it, since it is a prefix),
 * duplicates merged, paths below an inaccessible one or below the private /tmp dropped:
 * they name what the new mount hides. */
static void normalize_entries(struct builder *b) {
        size_t w = 0;

        if (b->n_entries > 1)
                qsort(b->entries, b->n_entries, sizeof(struct entry), cmp_entry);
        for (size_t i = 0; i < b->n_entries; i++) {
                struct entry *e = &b->entries[i];
                bool drop = false;

                if (w > 0 && strcmp(b->entries[w - 1].path, e->path) == 0) {
                        b->entries[w - 1].ro |= e->ro; /* read-only beats read-write */
                        drop = true;
                } else
                        for (size_t j = 0; j < w; j++)
                                if ((b->entries[j].kind == E_INACC || b->entries[j].kind == E_TMP) &&
                                    path_under(e->path, b->entries[j].path))
                                        drop = true;
                if (drop) {
                        free(e->path);
                        continue;
                }
                b->entries[w++] = *e;
        }
        b->n_entries = w;
}

static int add_op(struct builder *b, struct mount_op op) {
        struct mount_plan *mp = b->mp;

        if (mp->n_ops == b->ops_cap) {
                size_t n = b->ops_cap ? b->ops_cap * 2 : 16;
                struct mount_op *o = reallocarray(mp->ops, n, sizeof(*o));
                if (!o)
                        return -ENOMEM;
                mp->ops = o;
                b->ops_cap = n;
        }
        mp->ops[mp->n_ops++] = op;
        return 0;
}

/* The deepest entry that holds path. */
static const struct entry *owner_of(const struct builder *b, const char *path) {
        const struct entry *best = NULL;

        for (size_t i = 0; i < b->n_entries; i++)
                if (path_under(path, b->entries[i].path))
                        best = &b->entries[i]; /* sorted: later is deeper */
        return best;
}

#define RO_REMOUNT (MS_BIND | MS_REMOUNT | MS_RDONLY)
#define KEEP_FLAGS (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOSYMFOLLOW)

static int make_ops(struct builder *b) {
        bool staged = false;
        int r;

        r = add_op(b, (struct mount_op){ .kind = MOP_PROPAGATION, .path = "/" });
        for (size_t i = 0; r >= 0 && i < b->n_entries; i++) {
                const struct entry *e = &b->entries[i];
                struct mount_op op = { .path = e->path, .why = e->why };

                switch (e->kind) {
                case E_PROC:
                        op.kind = MOP_PROC;
                        op.flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
                        break;
                case E_TMP:
                        op.kind = e->source ? MOP_TMP_BIND : MOP_TMPFS;
                        op.source = e->source;
                        op.flags = e->source ? MS_BIND | MS_REC : MS_NOSUID | MS_NODEV;
                        break;
                case E_BIND:
                        if (strcmp(e->path, "/") == 0)
                                continue;
                        op.kind = MOP_BIND;
                        op.flags = MS_BIND | MS_REC;
                        break;
                case E_INACC:
                        if (e->is_dir) {
                                op.kind = MOP_INACCESSIBLE_DIR;
                                op.flags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
                                break;
                        }
                        if (!staged) {
                                r = add_op(b, (struct mount_op){ .kind = MOP_STAGING, .path = e->path });
                                staged = true;
                        }
                        op.kind = MOP_INACCESSIBLE_FILE;
                        break;
                }
                if (r >= 0)
                        r = add_op(b, op);
        }

        /* Read-only remounts: each entry that asks for it, then the mounts it owns. */
        for (size_t i = 0; r >= 0 && i < b->n_entries; i++) {
                const struct entry *e = &b->entries[i];
                unsigned long flags;

                if (e->kind == E_INACC && !e->is_dir)
                        flags = MS_NOSUID | MS_NODEV | MS_NOEXEC; /* the staging tmpfs's */
                else if (!e->ro || e->kind == E_INACC)
                        continue;
                else if (e->kind == E_PROC)
                        flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
                else if (e->kind == E_TMP)
                        flags = e->source ? flags_of(b, e->source) : MS_NOSUID | MS_NODEV;
                else
                        flags = flags_of(b, e->path);
                r = add_op(b, (struct mount_op){ .kind = MOP_REMOUNT_RO, .path = e->path,
                                                 .flags = RO_REMOUNT | (flags & KEEP_FLAGS),
                                                 .why = e->why });
                if (e->kind != E_BIND)
                        continue; /* what was below is covered by the new mount */
                for (size_t j = 0; r >= 0 && j < b->n_mounts; j++) {
                        const struct mountpoint *m = &b->mounts[j];
                        if (strcmp(m->path, e->path) == 0 || !path_under(m->path, e->path) ||
                            owner_of(b, m->path) != e)
                                continue;
                        r = add_op(b, (struct mount_op){ .kind = MOP_REMOUNT_RO, .path = m->path,
                                                         .flags = RO_REMOUNT | (m->flags & KEEP_FLAGS),
                                                         .submount = true, .why = e->why });
                }
        }
        return r;
}

static bool wants_mount_ns(const struct pv_spawn_attr *a) {
        return a->private_mounts || a->private_tmp || a->private_tmp_source || a->private_pids ||
               a->protect_system != PV_PROTECT_SYSTEM_NO || a->n_read_only_paths > 0 ||
               a->n_read_write_paths > 0 || a->n_inaccessible_paths > 0;
}

static int collect(struct builder *b, const struct pv_spawn_attr *a, struct pv_error *err) {
        static const char *const sys_yes[] = { "/usr", "/boot", "/efi" };
        static const char *const sys_strict_rw[] = { "/dev", "/proc", "/sys" };
        int r = 0;

        switch (a->protect_system) {
        case PV_PROTECT_SYSTEM_NO:
                break;
        case PV_PROTECT_SYSTEM_FULL:
                r = add_entry(b, "/etc", E_BIND, true, true, "protect_system", NULL, err);
                /* fall through */
        case PV_PROTECT_SYSTEM_YES:
                for (size_t i = 0; r >= 0 && i < ELEMENTSOF(sys_yes); i++)
                        r = add_entry(b, sys_yes[i], E_BIND, true, true, "protect_system", NULL, err);
                break;
        case PV_PROTECT_SYSTEM_STRICT:
                r = add_entry(b, "/", E_BIND, true, false, "protect_system", NULL, err);
                for (size_t i = 0; r >= 0 && i < ELEMENTSOF(sys_strict_rw); i++)
                        r = add_entry(b, sys_strict_rw[i], E_BIND, false, true, "protect_system",
                                      NULL, err);
                break;
        default:
                return pv_error_setf(err, -EINVAL, "protect_system: unknown value %d",
                                     (int)a->protect_system);
        }
        for (size_t i = 0; r >= 0 && i < a->n_read_only_paths; i++)
                r = add_entry(b, a->read_only_paths[i], E_BIND, true, false, "read-only path",
                              NULL, err);
        for (size_t i = 0; r >= 0 && i < a->n_read_write_paths; i++)
                r = add_entry(b, a->read_write_paths[i], E_BIND, false, false, "read-write path",
                              NULL, err);
        for (size_t i = 0; r >= 0 && i < a->n_inaccessible_paths; i++)
                r = add_entry(b, a->inaccessible_paths[i], E_INACC, false, false,
                              "inaccessible path", NULL, err);
        if (r >= 0 && (a->private_tmp || a->private_tmp_source))
                r = add_entry(b, "/tmp", E_TMP, false, false, "private /tmp",
                              a->private_tmp_source, err);
        if (r >= 0 && a->private_pids)
                r = add_entry(b, "/proc", E_PROC, false, false, "/proc", NULL, err);
        return r;
}

/* Moves every string the ops may point to (entries' and mount points' paths) into the
 * plan, which frees them. */
static int keep_strings(struct builder *b, struct mount_plan *mp) {
        mp->strings = calloc(b->n_entries + b->n_mounts, sizeof(char *));
        if (!mp->strings)
                return -ENOMEM;
        for (size_t i = 0; i < b->n_entries; i++)
                mp->strings[mp->n_strings++] = TAKE_PTR(b->entries[i].path);
        for (size_t i = 0; i < b->n_mounts; i++)
                mp->strings[mp->n_strings++] = TAKE_PTR(b->mounts[i].path);
        return 0;
}

int mount_plan_build(const struct pv_spawn_attr *a, struct mount_plan *mp, bool *needed,
                     struct pv_error *err) {
        struct builder b = { .mp = mp };
        int r;

        *mp = (struct mount_plan){ 0 };
        *needed = wants_mount_ns(a);
        if (!*needed)
                return 0;
        if (a->private_tmp_source && a->private_tmp_source[0] != '/')
                return pv_error_setf(err, -EINVAL, "private /tmp source \"%s\": not an absolute path",
                                     a->private_tmp_source);

        r = collect(&b, a, err);
        if (r >= 0) {
                normalize_entries(&b);
                r = read_mountinfo(&b, err);
        }
        if (r >= 0) {
                r = make_ops(&b);
                if (r >= 0)
                        r = keep_strings(&b, mp);
                if (r < 0)
                        pv_error_set(err, r, "mount namespace");
        }
        for (size_t i = 0; i < b.n_entries; i++)
                free(b.entries[i].path);
        free(b.entries);
        for (size_t i = 0; i < b.n_mounts; i++)
                free(b.mounts[i].path);
        free(b.mounts);
        if (r < 0)
                mount_plan_done(mp);
        return r < 0 ? r : 0;
}

void mount_plan_done(struct mount_plan *mp) {
        for (size_t i = 0; i < mp->n_strings; i++)
                free(mp->strings[i]);
        free(mp->strings);
        free(mp->ops);
        *mp = (struct mount_plan){ 0 };
}

/* ---- the child's side: raw system calls on the prepared list ---- */

/* A detached tmpfs (nosuid, nodev, noexec) holding one empty file "f" of mode 0000, to
 * clone over inaccessible non-directories.  Returns its mount fd, or -1 with errno. */
static int staging_create(void) {
        int fs, mnt, f;

        fs = (int)syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
        if (fs < 0)
                return -1;
        if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "mode", "0755", 0) < 0 ||
            syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
                int e = errno;
                close(fs);
                errno = e;
                return -1;
        }
        mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC,
                           MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
        if (mnt < 0) {
                int e = errno;
                close(fs);
                errno = e;
                return -1;
        }
        close(fs);
        f = (int)syscall(SYS_openat, mnt, "f", O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0);
        if (f < 0) {
                int e = errno;
                close(mnt);
                errno = e;
                return -1;
        }
        close(f);
        return mnt;
}

static long inaccessible_file(int staging, const char *path) {
        long r;
        int t;

        t = (int)syscall(SYS_open_tree, staging, "f", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (t < 0)
                return -1;
        r = syscall(SYS_move_mount, t, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH);
        if (r < 0) {
                int e = errno;
                close(t);
                errno = e;
                return -1;
        }
        close(t);
        return 0;
}

int mount_plan_apply(const struct mount_plan *mp, size_t *failed) {
        int staging = -1;

        for (size_t i = 0; i < mp->n_ops; i++) {
                const struct mount_op *op = &mp->ops[i];
                long r = 0;

                switch (op->kind) {
                case MOP_PROPAGATION:
                        r = syscall(SYS_mount, NULL, "/", NULL, MS_REC | MS_SLAVE, NULL);
                        break;
                case MOP_PROC:
                        r = syscall(SYS_mount, "proc", op->path, "proc", op->flags, NULL);
                        break;
                case MOP_TMPFS:
                        r = syscall(SYS_mount, "tmpfs", op->path, "tmpfs", op->flags, "mode=1777");
                        break;
                case MOP_TMP_BIND:
                        r = syscall(SYS_mount, op->source, op->path, NULL, op->flags, NULL);
                        break;
                case MOP_BIND:
                        r = syscall(SYS_mount, op->path, op->path, NULL, op->flags, NULL);
                        break;
                case MOP_INACCESSIBLE_DIR:
                        r = syscall(SYS_mount, "tmpfs", op->path, "tmpfs", op->flags, "mode=000");
                        break;
                case MOP_STAGING:
                        staging = staging_create();
                        r = staging < 0 ? -1 : 0;
                        break;
                case MOP_INACCESSIBLE_FILE:
                        r = inaccessible_file(staging, op->path);
                        break;
                case MOP_REMOUNT_RO:
                        r = syscall(SYS_mount, NULL, op->path, NULL, op->flags, NULL);
                        /* A mount below a read-only path that went away since the parent
                         * listed it: what is there now belongs to the read-only mount. */
                        if (r < 0 && op->submount && (errno == ENOENT || errno == EINVAL))
                                r = 0;
                        break;
                }
                if (r < 0) {
                        int e = errno;
                        if (staging >= 0)
                                close(staging);
                        *failed = i;
                        return -e;
                }
        }
        if (staging >= 0)
                close(staging);
        return 0;
}

int mount_op_describe(const struct mount_op *op, int r, struct pv_error *err) {
        switch (op->kind) {
        case MOP_PROPAGATION:
                return pv_error_set(err, r, "mount \"/\" (propagation: slave)");
        case MOP_PROC:
                return pv_error_set(err, r, "mount \"%s\" (fresh procfs)", op->path);
        case MOP_TMPFS:
                return pv_error_set(err, r, "mount \"%s\" (private tmpfs)", op->path);
        case MOP_TMP_BIND:
                return pv_error_set(err, r, "mount \"%s\" (private, bind of \"%s\")", op->path,
                                    op->source);
        case MOP_BIND:
                return pv_error_set(err, r, "mount \"%s\" (bind onto itself, %s)", op->path, op->why);
        case MOP_INACCESSIBLE_DIR:
                return pv_error_set(err, r, "mount \"%s\" (inaccessible tmpfs)", op->path);
        case MOP_STAGING:
                return pv_error_set(err, r, "fsopen/fsmount tmpfs (an inaccessible file for \"%s\")",
                                    op->path);
        case MOP_INACCESSIBLE_FILE:
                return pv_error_set(err, r, "move_mount \"%s\" (inaccessible file)", op->path);
        case MOP_REMOUNT_RO:
                return pv_error_set(err, r, "mount \"%s\" (remount read-only, %s)", op->path, op->why);
        }
        return pv_error_set(err, r, "mount \"%s\"", op->path);
}
