/* SPDX-License-Identifier: MIT */
/* pv_spawn: clone3(CLONE_PIDFD), with everything prepared in the parent.
 *
 * The child runs on a copy of the parent's memory (clone3 without CLONE_VM, i.e. fork
 * semantics) and makes only raw system calls until execve.  It must not call anything
 * that takes a lock or allocates: the parent may have other threads, whose locks were
 * copied in whatever state they were.  That is also why credentials are changed with
 * raw syscalls: glibc's setresuid() broadcasts to every thread it knows of, and the
 * child's copy of that list names threads that do not exist in it. */
#include <pidvisor/spawn.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox.h"
#include "util.h"

extern char **environ;

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* The setup steps, in the order the child makes them; reported with the errno. */
enum step {
        STEP_FD_UNSHARE = 1,
        STEP_CGROUP,
        STEP_SIGNALS,
        STEP_SETSID,
        STEP_FD_MOVE,
        STEP_FD_PLACE,
        STEP_FD_CLOSE,
        STEP_CLOSE_RANGE,
        STEP_RLIMIT,
        STEP_MOUNT,        /* arg: index of the mount operation */
        STEP_HOSTNAME,
        STEP_LOOPBACK,     /* arg: 0 socket, 1 SIOCGIFFLAGS, 2 SIOCSIFFLAGS */
        STEP_CHDIR,
        STEP_SETGROUPS,
        STEP_USERNS,       /* unshare(CLONE_NEWUSER), or asking the parent for the maps */
        STEP_USERNS_WAIT,  /* waiting for the parent to have written them */
        STEP_PIDNS_FORK,   /* the init forking the service */
        STEP_CAPBSET,      /* arg: the capability */
        STEP_KEEPCAPS,
        STEP_SETGID,
        STEP_SETUID,
        STEP_CAPSET,
        STEP_AMBIENT,      /* arg: the capability, or -1 for clearing */
        STEP_NNP,
        STEP_SECCOMP,
        STEP_SECCOMP_SEND, /* passing the listener to the parent */
        STEP_EXECVE,
};

/* Messages on the report socket that are not failures. */
enum {
        MSG_USERNS_MAPS = 100, /* child -> parent: write my uid_map and gid_map now */
        MSG_LISTENER,          /* child -> parent: the seccomp listener, in SCM_RIGHTS */
};

struct report {
        int32_t step;
        int32_t error; /* positive errno */
        int32_t arg;   /* fd number, resource, capability, ... depending on the step */
};

enum {
        SRC_KEEP = -1,  /* leave the target descriptor as the parent has it */
        SRC_CLOSE = -2, /* close it */
};

/* Descriptor slots handled inline; more extra fds than this are refused (EMFILE would
 * come long before anyway for a real service, and systemd caps LISTEN_FDS likewise). */
#define MAX_SLOTS 1024

struct plan {
        const struct pv_spawn_attr *attr;
        const char *path;
        char *const *envp;
        int src[MAX_SLOTS]; /* source descriptor per target slot */
        int n_slots;
        int report_fd;       /* the child's end of the report socket */
        int cgroup_procs_fd; /* clone() fallback: the child writes itself in */
        char **envp_owned;   /* a copy of envp with a LISTEN_PID= slot, or NULL */
        bool unshare_fds;    /* started with CLONE_FILES: take a private table first */
        int max_needed_fd;   /* the highest descriptor the child uses */
        char listen_pid[32]; /* the slot: "LISTEN_PID=" and digits the child writes */

        /* Confinement, prepared by prepare_confinement(). */
        uint64_t clone_ns;        /* CLONE_NEW* flags for clone3 */
        bool fork_like;           /* the parent must act while the child sets up */
        struct mount_plan mounts; /* empty without a mount namespace */
        size_t hostname_len;
        int last_cap;
        bool keepcaps;
        struct __user_cap_header_struct cap_header;
        struct __user_cap_data_struct cap_data[2];
        bool no_new_privs;
};

/* Writes "LISTEN_PID=<pid>" into the slot: no snprintf in the child. */
static void child_fill_listen_pid(struct plan *p) {
        char digits[16];
        int n = 0;
        long pid = syscall(SYS_getpid);

        do
                digits[n++] = (char)('0' + pid % 10);
        while ((pid /= 10) > 0 && n < (int)sizeof(digits));
        memcpy(p->listen_pid, "LISTEN_PID=", 11);
        for (int i = 0; i < n; i++)
                p->listen_pid[11 + i] = digits[n - 1 - i];
        p->listen_pid[11 + n] = 0;
}

static void child_send(const struct plan *p, const struct report *rep) {
        /* One datagram of a SOCK_SEQPACKET socket; nothing to do if it fails. */
        (void)syscall(SYS_sendto, p->report_fd, rep, sizeof(*rep), MSG_NOSIGNAL, NULL, 0);
}

static _Noreturn void child_fail(const struct plan *p, enum step step, int error, int arg) {
        struct report rep = { .step = step, .error = error, .arg = arg };

        child_send(p, &rep);
        _exit(127);
}

#define CHILD_TRY(p, expr, step, arg)                                                          \
        do {                                                                                   \
                if ((expr) < 0)                                                                \
                        child_fail(p, step, errno, arg);                                       \
        } while (0)

/* Unshares the user namespace and waits until the parent has written its maps: the
 * parent answers one byte on the report socket (or kills us). */
static void child_user_namespace(const struct plan *p) {
        struct report rep = { .step = MSG_USERNS_MAPS };
        char go;

        CHILD_TRY(p, syscall(SYS_unshare, CLONE_NEWUSER), STEP_USERNS, 0);
        CHILD_TRY(p, syscall(SYS_sendto, p->report_fd, &rep, sizeof(rep), MSG_NOSIGNAL, NULL, 0),
                  STEP_USERNS, 1);
        for (;;) {
                long n = syscall(SYS_read, p->report_fd, &go, 1);
                if (n == 1)
                        return;
                if (n < 0 && errno == EINTR)
                        continue;
                child_fail(p, STEP_USERNS_WAIT, n < 0 ? errno : EPIPE, 0);
        }
}

/* In a new pid namespace this process is pid 1: it forks the service and stays behind as
 * its init.  Returns in the service. */
static void child_pid_namespace(const struct plan *p) {
        sigset_t set, none;
        long pid;

        ns_init_sigset(&set);
        CHILD_TRY(p, syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, NULL, (size_t)(_NSIG / 8)),
                  STEP_SIGNALS, 0);
        pid = syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, 0);
        if (pid < 0)
                child_fail(p, STEP_PIDNS_FORK, errno, 0);
        if (pid > 0)
                ns_init_run((pid_t)pid);
        sigemptyset(&none);
        CHILD_TRY(p, syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, (size_t)(_NSIG / 8)),
                  STEP_SIGNALS, 0);
}

/* Installs the filter (the last step before execve); with a listener, passes it to the
 * parent in SCM_RIGHTS and closes our copy. */
static void child_seccomp(const struct plan *p) {
        const struct pv_spawn_attr *a = p->attr;
        struct report rep = { .step = MSG_LISTENER };
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } u;
        struct iovec iov = { .iov_base = &rep, .iov_len = sizeof(rep) };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                             .msg_controllen = sizeof(u.buf) };
        struct cmsghdr *c = &u.align; /* CMSG_FIRSTHDR(&mh), which cannot be NULL here */
        long fd;

        fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, a->seccomp_flags, a->seccomp_filter);
        if (fd < 0)
                child_fail(p, STEP_SECCOMP, errno, 0);
        if (!(a->seccomp_flags & SECCOMP_FILTER_FLAG_NEW_LISTENER))
                return;
        memset(u.buf, 0, sizeof(u.buf));
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &(int){ (int)fd }, sizeof(int));
        CHILD_TRY(p, syscall(SYS_sendmsg, p->report_fd, &mh, MSG_NOSIGNAL), STEP_SECCOMP_SEND, 0);
        syscall(SYS_close, (int)fd);
}

static _Noreturn void child_run(struct plan *p) {
        const struct pv_spawn_attr *a = p->attr;
        struct sigaction dfl = { .sa_handler = SIG_DFL };
        sigset_t none;

        /* With CLONE_FILES the child shares the parent's descriptor table, so that clone3
         * does not copy it (thousands of entries in a busy manager) only for execve to
         * close them again.  Before touching any descriptor it takes a private table
         * holding only what it needs: close_range with CLOSE_RANGE_UNSHARE copies just
         * the descriptors below the range. */
        if (p->unshare_fds &&
            syscall(SYS_close_range, (unsigned)p->max_needed_fd + 1, ~0U, CLOSE_RANGE_UNSHARE) < 0)
                child_fail(p, STEP_FD_UNSHARE, errno, 0);
        if (p->cgroup_procs_fd >= 0 && write(p->cgroup_procs_fd, "0", 1) != 1)
                child_fail(p, STEP_CGROUP, errno, 0);

        /* Signals: the parent blocked all of them around clone3 so that none of its
         * handlers can run here.  Reset every disposition (ignored ones survive execve,
         * handlers must not run before it), then unblock. */
        for (int sig = 1; sig < _NSIG; sig++) {
                if (sig == SIGKILL || sig == SIGSTOP)
                        continue;
                if (sigaction(sig, &dfl, NULL) < 0 && errno != EINVAL)
                        child_fail(p, STEP_SIGNALS, errno, sig);
        }
        sigemptyset(&none);
        CHILD_TRY(p, sigprocmask(SIG_SETMASK, &none, NULL), STEP_SIGNALS, 0);

        if (a->new_session)
                CHILD_TRY(p, setsid(), STEP_SETSID, 0);

        /* Descriptors.  First move every source that sits on a target slot above all the
         * slots, so that placing one can never clobber another's source; then dup2 each
         * into its slot (dup2 clears close-on-exec on the copy). */
        for (int i = 0; i < p->n_slots; i++)
                if (p->src[i] >= 0 && p->src[i] < p->n_slots) {
                        int fd = fcntl(p->src[i], F_DUPFD_CLOEXEC, p->n_slots);
                        if (fd < 0)
                                child_fail(p, STEP_FD_MOVE, errno, p->src[i]);
                        p->src[i] = fd;
                }
        for (int i = 0; i < p->n_slots; i++) {
                if (p->src[i] >= 0)
                        CHILD_TRY(p, dup2(p->src[i], i), STEP_FD_PLACE, i);
                else if (p->src[i] == SRC_CLOSE && close(i) < 0 && errno != EBADF)
                        child_fail(p, STEP_FD_CLOSE, errno, i);
        }
        if (a->close_other_fds) {
                /* Keep the report socket (above every slot) open until execve closes it. */
                if (p->report_fd > p->n_slots)
                        CHILD_TRY(p, syscall(SYS_close_range, p->n_slots, p->report_fd - 1, 0),
                                  STEP_CLOSE_RANGE, 0);
                CHILD_TRY(p, syscall(SYS_close_range, p->report_fd + 1, ~0U, 0), STEP_CLOSE_RANGE,
                          0);
        }

        for (size_t i = 0; i < a->n_rlimits; i++)
                CHILD_TRY(p, setrlimit(a->rlimits[i].resource, &a->rlimits[i].limit), STEP_RLIMIT,
                          (int)i);
        if (a->umask >= 0)
                umask((mode_t)a->umask);

        /* Namespaces made by clone3, set up with the caller's own privileges. */
        if (p->mounts.n_ops > 0) {
                size_t failed = 0;
                int r = mount_plan_apply(&p->mounts, &failed);
                if (r < 0)
                        child_fail(p, STEP_MOUNT, -r, (int)failed);
        }
        if (a->hostname)
                CHILD_TRY(p, syscall(SYS_sethostname, a->hostname, p->hostname_len), STEP_HOSTNAME, 0);
        if (a->private_network) {
                int step = 0, r = ns_loopback_up(&step);
                if (r < 0)
                        child_fail(p, STEP_LOOPBACK, -r, step);
        }
        if (a->cwd)
                CHILD_TRY(p, chdir(a->cwd), STEP_CHDIR, 0);

        /* Groups before the user namespace, which denies setgroups. */
        if (a->set_groups)
                CHILD_TRY(p, syscall(SYS_setgroups, a->n_groups, a->groups), STEP_SETGROUPS, 0);
        if (a->private_users)
                child_user_namespace(p);
        if (a->private_pids)
                child_pid_namespace(p);
        if (p->envp_owned)
                child_fill_listen_pid(p); /* the service's own pid: after the pid-ns fork */

        /* Convention 9: bounding set -> keepcaps -> gid -> uid -> capset -> ambient ->
         * no_new_privs -> seccomp -> execve. */
        if (a->set_cap_bounding)
                for (int cap = 0; cap <= p->last_cap; cap++)
                        if (!(a->cap_bounding & (UINT64_C(1) << cap)))
                                CHILD_TRY(p, syscall(SYS_prctl, PR_CAPBSET_DROP, cap, 0, 0, 0),
                                          STEP_CAPBSET, cap);
        if (p->keepcaps)
                CHILD_TRY(p, syscall(SYS_prctl, PR_SET_KEEPCAPS, 1, 0, 0, 0), STEP_KEEPCAPS, 0);
        if (a->set_gid)
                CHILD_TRY(p, syscall(SYS_setresgid, a->gid, a->gid, a->gid), STEP_SETGID, 0);
        if (a->set_uid)
                CHILD_TRY(p, syscall(SYS_setresuid, a->uid, a->uid, a->uid), STEP_SETUID, 0);
        if (a->set_caps) {
                CHILD_TRY(p, syscall(SYS_capset, &p->cap_header, p->cap_data), STEP_CAPSET, 0);
                CHILD_TRY(p, syscall(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0),
                          STEP_AMBIENT, -1);
                for (int cap = 0; cap <= p->last_cap; cap++)
                        if (a->cap_ambient & (UINT64_C(1) << cap))
                                CHILD_TRY(p, syscall(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE,
                                                     cap, 0, 0),
                                          STEP_AMBIENT, cap);
        }
        if (p->no_new_privs)
                CHILD_TRY(p, syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), STEP_NNP, 0);
        if (a->seccomp_filter)
                child_seccomp(p);

        execve(p->path, a->argv, p->envp);
        child_fail(p, STEP_EXECVE, errno, 0);
}

/* clone3 -> clone fallback, probed once: a seccomp profile older than clone3 (Docker
 * before 20.10) answers ENOSYS or EPERM; clone(CLONE_PIDFD) does the same job. */
static int clone3_state; /* 0 unknown, 1 works, -1 use clone */

/* Asks the kernel with harmless bad arguments: EINVAL means clone3 is there; ENOSYS or
 * EPERM means a filter (or an old kernel) keeps it from us. */
static bool clone3_usable(void) {
        if (clone3_state == 0 && syscall(SYS_clone3, NULL, 0) < 0 &&
            (errno == ENOSYS || errno == EPERM))
                clone3_state = -1;
        return clone3_state >= 0;
}

/* The fast path: clone3(CLONE_VM|CLONE_VFORK) on a stack of its own, as posix_spawn
 * does with clone.  The child shares the parent's memory, so nothing is copied and the
 * cost no longer grows with the parent's size; the calling thread sleeps until the child
 * has exec'd or exited.  What the child writes lands in the parent's memory: only its
 * own stack, the plan's descriptor table and the LISTEN_PID slot, which the parent does
 * not read again, and errno, which the parent does not look at on success.
 *
 * clone3 with a new stack returns into the child on that stack, where the compiler's
 * frame is meaningless: a few instructions of assembly call the child's function there.
 * x86_64 only; sanitizer runtimes cannot follow a foreign stack, so sanitized builds
 * take the fork-like path. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer) || __has_feature(thread_sanitizer)
#define PV_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define PV_SANITIZED 1
#endif
#if defined(__x86_64__) && !defined(PV_SANITIZED)
#define HAVE_VFORK_PATH 1

/* close_range came with CLOSE_RANGE_UNSHARE (5.9): probed once with an empty range and
 * no flags (UNSHARE here would give the calling thread a table of its own). */
static bool have_close_range_unshare(void) {
        static int cached = -1;

        if (cached < 0)
                cached = syscall(SYS_close_range, ~0U, ~0U, 0) == 0;
        return cached;
}
#define CHILD_STACK_SIZE (256 * 1024)

static _Noreturn void child_entry(struct plan *p) {
        child_run(p);
}

static long raw_clone3_on_stack(struct clone_args *ca, struct plan *p) {
        register void *fn __asm__("r12") = (void *)child_entry;
        register void *arg __asm__("r13") = p;
        long ret;

        /* rdi, rsi, r12 and r13 survive the syscall in both processes; the child starts
         * with rsp at the top of its stack (16-byte aligned), so the call below leaves
         * the ABI's alignment for child_entry. */
        __asm__ volatile("syscall\n\t"
                         "testq %%rax, %%rax\n\t"
                         "jnz 1f\n\t"
                         "xorl %%ebp, %%ebp\n\t"
                         "movq %%r13, %%rdi\n\t"
                         "callq *%%r12\n\t"
                         "movl $60, %%eax\n\t" /* not reached: child_entry does not return */
                         "movl $127, %%edi\n\t"
                         "syscall\n\t"
                         "ud2\n"
                         "1:"
                         : "=a"(ret)
                         : "0"((long)SYS_clone3), "D"(ca), "S"(sizeof(*ca)), "r"(fn), "r"(arg)
                         : "rcx", "r11", "memory", "cc");
        if (ret < 0) {
                errno = (int)-ret;
                return -1;
        }
        return ret;
}
#endif

/* The fork-like path (no CLONE_VM) is taken where the vfork path cannot work: the
 * parent must act while the child sets up (user namespace maps), or the child never
 * execs (the init of a pid namespace), and the parent would sleep forever under
 * CLONE_VFORK. */
static pid_t clone_pidfd(struct plan *p, int *pidfd, int cgroup_fd) {
        if (clone3_state >= 0) {
                struct clone_args ca = {
                        .flags = CLONE_PIDFD | p->clone_ns | (cgroup_fd >= 0 ? CLONE_INTO_CGROUP : 0),
                        .pidfd = (uint64_t)(uintptr_t)pidfd,
                        .exit_signal = SIGCHLD,
                        .cgroup = cgroup_fd >= 0 ? (uint64_t)cgroup_fd : 0,
                };
                long r;
#ifdef HAVE_VFORK_PATH
                void *stack = p->fork_like ? MAP_FAILED :
                                                  mmap(NULL, CHILD_STACK_SIZE, PROT_READ | PROT_WRITE,
                                                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
                if (stack != MAP_FAILED) {
                        int saved;
                        ca.flags |= CLONE_VM | CLONE_VFORK | (p->unshare_fds ? CLONE_FILES : 0);
                        ca.stack = (uint64_t)(uintptr_t)stack;
                        ca.stack_size = CHILD_STACK_SIZE;
                        r = raw_clone3_on_stack(&ca, p);
                        saved = errno;
                        munmap(stack, CHILD_STACK_SIZE); /* the child has exec'd or exited */
                        errno = saved;
                        if (r >= 0)
                                clone3_state = 1;
                        if (r >= 0 || (errno != ENOSYS && errno != EPERM) || clone3_state == 1)
                                return (pid_t)r;
                        clone3_state = -1;
                        goto fallback;
                }
                /* Fork-like on purpose, or no memory for a stack: the clone3 below works. */
#endif
                r = syscall(SYS_clone3, &ca, sizeof(ca));
                if (r >= 0 || (errno != ENOSYS && errno != EPERM)) {
                        if (r >= 0)
                                clone3_state = 1;
                        return (pid_t)r;
                }
                if (clone3_state == 1)
                        return -1; /* it worked before: this EPERM is real */
                clone3_state = -1;
        }
#ifdef HAVE_VFORK_PATH
fallback:
#endif
        /* x86_64, arm64, riscv: clone(flags, stack, parent_tid, child_tid, tls); with
         * CLONE_PIDFD the pidfd is stored through parent_tid. */
        return (pid_t)syscall(SYS_clone, CLONE_PIDFD | SIGCHLD | p->clone_ns, NULL, pidfd, NULL, 0);
}

void pv_spawn_attr_init(struct pv_spawn_attr *attr) {
        *attr = (struct pv_spawn_attr){ .umask = -1, .cgroup_fd = -1 };
        for (int i = 0; i < 3; i++)
                attr->stdio[i] = (struct pv_stdio){ .kind = PV_STDIO_INHERIT, .fd = -1 };
}

static const char *stream_name(int i) {
        return i == 0 ? "stdin" : i == 1 ? "stdout" : "stderr";
}

/* Opens what the parent must open for stdio stream i; *child_fd is the descriptor the
 * child places (owned by the caller, except for PV_STDIO_FD), *parent_fd the pipe end. */
static int prepare_stdio(const struct pv_stdio *s, int i, int *child_fd, int *parent_fd,
                         bool *owned, struct pv_error *err) {
        int fds[2];

        *owned = false;
        switch (s->kind) {
        case PV_STDIO_INHERIT:
                *child_fd = SRC_KEEP;
                return 0;
        case PV_STDIO_CLOSE:
                *child_fd = SRC_CLOSE;
                return 0;
        case PV_STDIO_FD:
                if (s->fd < 0)
                        return pv_error_setf(err, -EBADF, "%s: invalid descriptor %d",
                                             stream_name(i), s->fd);
                *child_fd = s->fd;
                return 0;
        case PV_STDIO_NULL:
                *child_fd = RET_NERRNO(open("/dev/null", (i == 0 ? O_RDONLY : O_WRONLY) | O_CLOEXEC));
                if (*child_fd < 0)
                        return pv_error_set(err, *child_fd, "%s: open \"/dev/null\"", stream_name(i));
                *owned = true;
                return 0;
        case PV_STDIO_FILE:
                if (!s->path)
                        return pv_error_setf(err, -EINVAL, "%s: no file name", stream_name(i));
                *child_fd = RET_NERRNO(open(s->path, s->flags | O_CLOEXEC, s->mode));
                if (*child_fd < 0)
                        return pv_error_set(err, *child_fd, "%s: open \"%s\"", stream_name(i),
                                            s->path);
                *owned = true;
                return 0;
        case PV_STDIO_PIPE:
                if (pipe2(fds, O_CLOEXEC) < 0)
                        return pv_error_set(err, negerrno(), "%s: pipe", stream_name(i));
                *child_fd = i == 0 ? fds[0] : fds[1];
                *parent_fd = i == 0 ? fds[1] : fds[0];
                *owned = true;
                return 0;
        }
        return pv_error_setf(err, -EINVAL, "%s: unknown stdio kind %d", stream_name(i), (int)s->kind);
}

static const char *step_op(int step) {
        static const char *const ops[] = {
                [STEP_FD_UNSHARE] = "close_range", [STEP_CGROUP] = "cgroup",
                [STEP_SIGNALS] = "sigaction",
                [STEP_SETSID] = "setsid",
                [STEP_FD_MOVE] = "fcntl",       [STEP_FD_PLACE] = "dup2",
                [STEP_FD_CLOSE] = "close",      [STEP_CLOSE_RANGE] = "close_range",
                [STEP_RLIMIT] = "setrlimit",    [STEP_MOUNT] = "mount",
                [STEP_HOSTNAME] = "sethostname", [STEP_LOOPBACK] = "loopback",
                [STEP_CHDIR] = "chdir",         [STEP_SETGROUPS] = "setgroups",
                [STEP_USERNS] = "unshare",      [STEP_USERNS_WAIT] = "unshare",
                [STEP_PIDNS_FORK] = "fork",     [STEP_CAPBSET] = "capbset",
                [STEP_KEEPCAPS] = "keepcaps",   [STEP_SETGID] = "setresgid",
                [STEP_SETUID] = "setresuid",    [STEP_CAPSET] = "capset",
                [STEP_AMBIENT] = "ambient",     [STEP_NNP] = "no_new_privs",
                [STEP_SECCOMP] = "seccomp",     [STEP_SECCOMP_SEND] = "seccomp",
                [STEP_EXECVE] = "execve",
        };
        return step > 0 && step < (int)ELEMENTSOF(ops) ? ops[step] : NULL;
}

/* envp without any LISTEN_PID=, plus the slot the child fills. */
static int prepare_listen_pid_env(struct plan *p) {
        size_t n = 0, j = 0;

        while (p->envp[n])
                n++;
        p->envp_owned = calloc(n + 2, sizeof(char *));
        if (!p->envp_owned)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (strncmp(p->envp[i], "LISTEN_PID=", 11) != 0)
                        p->envp_owned[j++] = p->envp[i];
        p->envp_owned[j] = p->listen_pid;
        p->envp = p->envp_owned;
        return 0;
}

static int describe_failure(const struct pv_spawn_attr *a, const struct plan *p,
                            const struct report *rep, struct pv_error *err) {
        int r = -rep->error;
        char name[32];

        switch ((enum step)rep->step) {
        case STEP_FD_UNSHARE:
                return pv_error_set(err, r, "close_range (unsharing the descriptor table)");
        case STEP_CGROUP:
                return pv_error_set(err, r, "joining the cgroup (cgroup.procs)");
        case STEP_SIGNALS:
                return pv_error_set(err, r, "resetting signal %d", rep->arg);
        case STEP_SETSID:
                return pv_error_set(err, r, "setsid");
        case STEP_FD_MOVE:
                return pv_error_set(err, r, "moving descriptor %d out of the way", rep->arg);
        case STEP_FD_PLACE:
                return pv_error_set(err, r, "placing descriptor at %d", rep->arg);
        case STEP_FD_CLOSE:
                return pv_error_set(err, r, "closing descriptor %d", rep->arg);
        case STEP_CLOSE_RANGE:
                return pv_error_set(err, r, "close_range");
        case STEP_RLIMIT: {
                const struct pv_rlimit *l = &a->rlimits[rep->arg];
                const char *n = pv_rlimit_to_name(l->resource);
                if (!n) {
                        snprintf(name, sizeof(name), "%d", l->resource);
                        n = name;
                }
                return pv_error_set(err, r, "setrlimit %s", n);
        }
        case STEP_CHDIR:
                return pv_error_set(err, r, "chdir \"%s\"", a->cwd);
        case STEP_SETGROUPS:
                return pv_error_set(err, r, "setgroups (%zu groups)", a->n_groups);
        case STEP_SETGID:
                return pv_error_set(err, r, "setresgid %u", (unsigned)a->gid);
        case STEP_SETUID:
                return pv_error_set(err, r, "setresuid %u", (unsigned)a->uid);
        case STEP_MOUNT:
                if (rep->arg < 0 || (size_t)rep->arg >= p->mounts.n_ops)
                        break;
                return mount_op_describe(&p->mounts.ops[rep->arg], r, err);
        case STEP_HOSTNAME:
                return pv_error_set(err, r, "sethostname \"%s\"", a->hostname);
        case STEP_LOOPBACK:
                return pv_error_set(err, r, "loopback \"lo\" up (%s)",
                                    rep->arg == 0 ? "socket AF_INET" :
                                    rep->arg == 1 ? "ioctl SIOCGIFFLAGS" : "ioctl SIOCSIFFLAGS");
        case STEP_USERNS:
                return pv_error_set(err, r, "unshare CLONE_NEWUSER%s",
                                    rep->arg == 1 ? " (asking for the maps)" : "");
        case STEP_USERNS_WAIT:
                return pv_error_set(err, r, "user namespace: waiting for the maps");
        case STEP_PIDNS_FORK:
                return pv_error_set(err, r, "fork of the service in the new pid namespace");
        case STEP_CAPBSET:
                return pv_error_set(err, r, "prctl PR_CAPBSET_DROP %s",
                                    caps_name(rep->arg, name, sizeof(name)));
        case STEP_KEEPCAPS:
                return pv_error_set(err, r, "prctl PR_SET_KEEPCAPS");
        case STEP_CAPSET:
                return pv_error_set(err, r, "capset (permitted 0x%" PRIx64 ", effective 0x%" PRIx64
                                    ", inheritable 0x%" PRIx64 ")", a->cap_permitted,
                                    a->cap_effective, a->cap_inheritable);
        case STEP_AMBIENT:
                if (rep->arg < 0)
                        return pv_error_set(err, r, "prctl PR_CAP_AMBIENT_CLEAR_ALL");
                return pv_error_set(err, r, "prctl PR_CAP_AMBIENT_RAISE %s",
                                    caps_name(rep->arg, name, sizeof(name)));
        case STEP_NNP:
                return pv_error_set(err, r, "prctl PR_SET_NO_NEW_PRIVS");
        case STEP_SECCOMP:
                return pv_error_set(err, r, "seccomp SECCOMP_SET_MODE_FILTER (%u instructions, "
                                    "flags 0x%x)", (unsigned)a->seccomp_filter->len,
                                    a->seccomp_flags);
        case STEP_SECCOMP_SEND:
                return pv_error_set(err, r, "passing the seccomp listener to the parent (sendmsg)");
        case STEP_EXECVE:
                return pv_error_set(err, r, "execve \"%s\"", p->path);
        }
        return pv_error_set(err, r, "child setup step %d", rep->step);
}

static uint64_t caps_known(int last_cap) {
        return last_cap >= 63 ? UINT64_MAX : (UINT64_C(1) << (last_cap + 1)) - 1;
}

/* Everything the confinement steps need, computed before clone3: namespace flags, the
 * mount operations, the raw capability sets. */
static int prepare_confinement(const struct pv_spawn_attr *a, struct plan *p, struct pv_error *err) {
        bool mount_ns = false;
        int r;

        if (a->hostname) {
                p->hostname_len = strlen(a->hostname);
                if (p->hostname_len == 0 || p->hostname_len > 64)
                        return pv_error_setf(err, -EINVAL, "hostname \"%s\": must be 1 to 64 bytes",
                                             a->hostname);
                p->clone_ns |= CLONE_NEWUTS;
        }
        if (a->private_network)
                p->clone_ns |= CLONE_NEWNET;
        if (a->private_ipc)
                p->clone_ns |= CLONE_NEWIPC;
        if (a->private_pids)
                p->clone_ns |= CLONE_NEWPID;
        r = mount_plan_build(a, &p->mounts, &mount_ns, err);
        if (r < 0)
                return r;
        if (mount_ns)
                p->clone_ns |= CLONE_NEWNS;
        p->fork_like = a->private_users || a->private_pids;

        if (a->set_cap_bounding || a->set_caps) {
                uint64_t known;

                p->last_cap = pv_caps_last_cap();
                if (p->last_cap < 0)
                        return pv_error_set(err, p->last_cap, "reading /proc/sys/kernel/cap_last_cap");
                known = caps_known(p->last_cap);
                if (a->set_caps) {
                        uint64_t all = a->cap_permitted | a->cap_effective | a->cap_inheritable |
                                       a->cap_ambient;
                        if (all & ~known)
                                return pv_error_setf(err, -EINVAL, "capabilities 0x%" PRIx64 ": not "
                                                     "known to the running kernel (last is %d)",
                                                     all & ~known, p->last_cap);
                        if (a->cap_effective & ~a->cap_permitted)
                                return pv_error_setf(err, -EINVAL, "effective capabilities 0x%" PRIx64
                                                     " not in the permitted set 0x%" PRIx64,
                                                     a->cap_effective, a->cap_permitted);
                        if (a->cap_ambient & ~(a->cap_permitted & a->cap_inheritable))
                                return pv_error_setf(err, -EINVAL, "ambient capabilities 0x%" PRIx64
                                                     " not in both the permitted and the inheritable "
                                                     "set", a->cap_ambient);
                        p->cap_header = (struct __user_cap_header_struct){
                                .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
                        for (int i = 0; i < 2; i++)
                                p->cap_data[i] = (struct __user_cap_data_struct){
                                        .effective = (uint32_t)(a->cap_effective >> (32 * i)),
                                        .permitted = (uint32_t)(a->cap_permitted >> (32 * i)),
                                        .inheritable = (uint32_t)(a->cap_inheritable >> (32 * i)),
                                };
                        /* Without the keep-caps bit, setresuid away from 0 empties the
                         * permitted set, and capset could not raise anything back. */
                        p->keepcaps = a->set_uid;
                }
        }

        p->no_new_privs = a->no_new_privs || a->seccomp_filter;
        if (a->seccomp_filter) {
                if (!a->seccomp_filter->filter || a->seccomp_filter->len == 0 ||
                    a->seccomp_filter->len > BPF_MAXINSNS)
                        return pv_error_setf(err, -EINVAL, "seccomp: a program of %u instructions "
                                             "(1 to %d)", (unsigned)a->seccomp_filter->len, BPF_MAXINSNS);
                if ((a->seccomp_flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) && !a->seccomp_listener_fd)
                        return pv_error_setf(err, -EINVAL, "seccomp: a listener is asked for "
                                             "(SECCOMP_FILTER_FLAG_NEW_LISTENER) but there is no "
                                             "place to store it");
        }
        return 0;
}

static void kill_and_reap(int pidfd) {
        siginfo_t si;

        (void)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
        while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0 && errno == EINTR)
                ;
}

/* Reads the child's messages until execve closes its end (0), answering a user
 * namespace's request for maps and taking a seccomp listener on the way.  On failure the
 * child has been reaped. */
static int read_reports(const struct pv_spawn_attr *a, const struct plan *p, int fd, pid_t pid,
                        int pidfd, int *listener, struct pv_error *err) {
        for (;;) {
                struct report rep;
                union {
                        char buf[CMSG_SPACE(sizeof(int) * 4)];
                        struct cmsghdr align;
                } u;
                struct iovec iov = { .iov_base = &rep, .iov_len = sizeof(rep) };
                struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                                     .msg_controllen = sizeof(u.buf) };
                int r, got_fd = -EBADF;
                ssize_t n;

                n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
                if (n < 0 && errno == EINTR)
                        continue;
                for (struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL; c; c = CMSG_NXTHDR(&mh, c))
                        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
                                for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
                                        int f;
                                        memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                                        if (got_fd < 0)
                                                got_fd = f;
                                        else
                                                close(f);
                                }
                if (n == 0)
                        return 0; /* execve succeeded */
                if (n == (ssize_t)sizeof(rep) && rep.step == MSG_LISTENER && got_fd >= 0 &&
                    *listener < 0) {
                        *listener = got_fd;
                        continue;
                }
                safe_close(got_fd);
                if (n == (ssize_t)sizeof(rep) && rep.step == MSG_USERNS_MAPS) {
                        r = ns_write_id_maps(pid, a->set_uid ? a->uid : 0, a->set_gid ? a->gid : 0, err);
                        if (r >= 0 && send(fd, "", 1, MSG_NOSIGNAL) != 1)
                                r = pv_error_set(err, negerrno(), "user namespace: telling the child to go on");
                        if (r < 0) {
                                kill_and_reap(pidfd);
                                if (err)
                                        err->op = "uid_map";
                                return r;
                        }
                        continue;
                }
                if (n != (ssize_t)sizeof(rep) || rep.step >= MSG_USERNS_MAPS) {
                        r = pv_error_set(err, n < 0 ? negerrno() : -EIO, "spawn: reading the child's report");
                        kill_and_reap(pidfd);
                        return r;
                }
                /* The child failed a step and exits: reap it, so no zombie stays. */
                kill_and_reap(pidfd);
                r = describe_failure(a, p, &rep, err);
                if (err)
                        err->op = step_op(rep.step);
                return r;
        }
}

int pv_spawn(const struct pv_spawn_attr *attr, struct pv_process *proc, int pipes[3],
             struct pv_error *err) {
        _cleanup_free_ char *looked_up = NULL;
        _cleanup_free_ struct plan *p = NULL;
        _cleanup_close_pair_ int report[2] = { -EBADF, -EBADF };
        _cleanup_close_ int cgroup_procs = -EBADF;
        int owned_fds[3] = { -EBADF, -EBADF, -EBADF };
        int parent_ends[3] = { -EBADF, -EBADF, -EBADF };
        int listener = -EBADF;
        sigset_t all, saved;
        int pidfd = -EBADF, r;
        pid_t pid;

        if (!attr || !attr->argv || !attr->argv[0])
                return pv_error_setf(err, -EINVAL, "spawn: no argv[0]");
        if (attr->n_fds > MAX_SLOTS - 3)
                return pv_error_setf(err, -E2BIG, "spawn: %zu extra descriptors (at most %d)",
                                     attr->n_fds, MAX_SLOTS - 3);
        for (int i = 0; i < 3; i++)
                if (attr->stdio[i].kind == PV_STDIO_PIPE && !pipes)
                        return pv_error_setf(err, -EINVAL, "spawn: %s is a pipe but no array "
                                             "was given for its end", stream_name(i));

        p = calloc(1, sizeof(*p));
        if (!p)
                return pv_error_set(err, -ENOMEM, "spawn");
        p->attr = attr;
        p->envp = attr->envp ? attr->envp : environ;
        p->path = attr->path;
        if (!p->path) {
                if (strchr(attr->argv[0], '/'))
                        p->path = attr->argv[0];
                else {
                        r = pv_lookpath(attr->argv[0], NULL, &looked_up, err);
                        if (r < 0) {
                                if (err)
                                        err->op = "lookpath";
                                return r;
                        }
                        p->path = looked_up;
                }
        }

        if (attr->set_listen_pid && prepare_listen_pid_env(p) < 0)
                return pv_error_set(err, -ENOMEM, "spawn");
        r = prepare_confinement(attr, p, err);
        if (r < 0)
                goto fail;
        p->n_slots = 3 + (int)attr->n_fds;
        for (int i = 0; i < 3; i++) {
                bool owned;

                r = prepare_stdio(&attr->stdio[i], i, &p->src[i], &parent_ends[i], &owned, err);
                if (r < 0)
                        goto fail;
                if (owned)
                        owned_fds[i] = p->src[i];
        }
        for (size_t i = 0; i < attr->n_fds; i++) {
                if (attr->fds[i] < 0) {
                        r = pv_error_setf(err, -EBADF, "spawn: extra descriptor %zu is %d", i,
                                          attr->fds[i]);
                        goto fail;
                }
                p->src[3 + i] = attr->fds[i];
        }
        /* Chosen numbers widen the slot range; the slots between keep what is there
         * (SRC_KEEP), which the move-out-of-the-way step then also protects. */
        for (size_t i = 0; i < attr->n_fd_map; i++) {
                const struct pv_fd_map *f = &attr->fd_map[i];
                if (f->fd < 0 || f->target < 3 + (int)attr->n_fds || f->target >= MAX_SLOTS ||
                    (f->target < p->n_slots && p->src[f->target] >= 0)) {
                        r = pv_error_setf(err, -EINVAL, "spawn: descriptor %d cannot go to %d (taken, "
                                          "or not in %d..%d)", f->fd, f->target, 3 + (int)attr->n_fds,
                                          MAX_SLOTS - 1);
                        goto fail;
                }
                while (p->n_slots <= f->target)
                        p->src[p->n_slots++] = SRC_KEEP;
                p->src[f->target] = f->fd;
        }

        /* The report socket: the child's failures, its seccomp listener (SCM_RIGHTS, which
         * a pipe cannot carry) and, with a user namespace, the request for its maps and
         * our answer.  SOCK_SEQPACKET keeps each message whole; the child's end sits above
         * every slot so the child never has to move it. */
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, report) < 0) {
                r = pv_error_set(err, negerrno(), "spawn: socketpair");
                goto fail;
        }
        if (report[1] < p->n_slots) {
                int fd = fcntl(report[1], F_DUPFD_CLOEXEC, p->n_slots);
                if (fd < 0) {
                        r = pv_error_set(err, negerrno(), "spawn: fcntl");
                        goto fail;
                }
                safe_close(report[1]);
                report[1] = fd;
        }
        p->report_fd = report[1];
        p->cgroup_procs_fd = -1;
#ifdef HAVE_VFORK_PATH
        /* Only where the caller wants the other descriptors closed anyway: the private
         * table keeps nothing above what the child needs. */
        p->unshare_fds = !p->fork_like && attr->close_other_fds && have_close_range_unshare();
#endif
        if (attr->cgroup_fd >= 0 && !clone3_usable()) {
                cgroup_procs = openat(attr->cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
                if (cgroup_procs < 0) {
                        r = pv_error_set(err, negerrno(), "spawn: opening cgroup.procs");
                        goto fail;
                }
                p->cgroup_procs_fd = cgroup_procs;
        }

        p->max_needed_fd = p->report_fd;
        for (int i = 0; i < p->n_slots; i++)
                if (p->src[i] > p->max_needed_fd)
                        p->max_needed_fd = p->src[i];
        if (p->cgroup_procs_fd > p->max_needed_fd)
                p->max_needed_fd = p->cgroup_procs_fd;
        if (p->n_slots - 1 > p->max_needed_fd)
                p->max_needed_fd = p->n_slots - 1;

        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &saved);
        pid = clone_pidfd(p, &pidfd, p->cgroup_procs_fd >= 0 ? -1 : attr->cgroup_fd);
        if (pid == 0)
                child_run(p); /* the fork-like paths return here in the child */
        r = pid < 0 ? negerrno() : 0;
        pthread_sigmask(SIG_SETMASK, &saved, NULL);
        if (r < 0) {
                pv_error_set(err, r, "clone3");
                goto fail;
        }

        report[1] = safe_close(report[1]);
        for (int i = 0; i < 3; i++)
                owned_fds[i] = safe_close(owned_fds[i]);

        r = read_reports(attr, p, report[0], pid, pidfd, &listener, err);
        if (r < 0) {
                safe_close(pidfd);
                safe_close(listener);
                goto fail;
        }

        if (attr->seccomp_filter && (attr->seccomp_flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) &&
            listener < 0) {
                /* Not reached: the child reports a failed sendmsg before it execs. */
                r = pv_error_setf(err, -EIO, "seccomp: the child exec'd without passing its listener");
                kill_and_reap(pidfd);
                safe_close(pidfd);
                goto fail;
        }

        free(p->envp_owned);
        mount_plan_done(&p->mounts);
        *proc = (struct pv_process){ .pid = pid, .pidfd = pidfd };
        if (pipes)
                for (int i = 0; i < 3; i++)
                        pipes[i] = parent_ends[i] >= 0 ? TAKE_FD(parent_ends[i]) : -1;
        if (attr->seccomp_filter && (attr->seccomp_flags & SECCOMP_FILTER_FLAG_NEW_LISTENER))
                *attr->seccomp_listener_fd = TAKE_FD(listener);
        return 0;

fail:
        for (int i = 0; i < 3; i++) {
                safe_close(owned_fds[i]);
                safe_close(parent_ends[i]);
        }
        free(p->envp_owned);
        mount_plan_done(&p->mounts);
        return r;
}
