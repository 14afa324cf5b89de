/* SPDX-License-Identifier: MIT */
/* Symbolic names a policy may use: errno names, architectures, comparison operators and
 * a table of the common flag constants (values from this system's headers). */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <termios.h>

#include "policy-internal.h"
#include "util.h"

int policy_errno_from_name(const char *s) {
        long n;

        if (!s || !*s)
                return -EINVAL;
        if (parse_long(s, 1, 4095, &n) == 0)
                return (int)n;
        /* aliases strerrorname_np does not return */
        if (strcmp(s, "ENOTSUP") == 0)
                return ENOTSUP;
        if (strcmp(s, "EWOULDBLOCK") == 0)
                return EWOULDBLOCK;
        if (strcmp(s, "EDEADLOCK") == 0)
                return EDEADLOCK;
        for (int e = 1; e < 4096; e++) {
                const char *name = strerrorname_np(e);
                if (name && strcmp(name, s) == 0)
                        return e;
        }
        return -EINVAL;
}

const char *policy_errno_name(int e, char *buf, size_t size) {
        const char *name = e > 0 ? strerrorname_np(e) : NULL;

        if (name)
                return name;
        snprintf(buf, size, "%d", e);
        return buf;
}

static const struct {
        const char *name;
        uint32_t arch;
} arches[] = {
        { "x86_64", SCMP_ARCH_X86_64 },   { "x86-64", SCMP_ARCH_X86_64 },
        { "amd64", SCMP_ARCH_X86_64 },    { "i386", SCMP_ARCH_X86 },
        { "x86", SCMP_ARCH_X86 },         { "i686", SCMP_ARCH_X86 },
        { "x32", SCMP_ARCH_X32 },         { "aarch64", SCMP_ARCH_AARCH64 },
        { "arm64", SCMP_ARCH_AARCH64 },   { "arm", SCMP_ARCH_ARM },
        { "riscv64", SCMP_ARCH_RISCV64 }, { "s390x", SCMP_ARCH_S390X },
        { "s390", SCMP_ARCH_S390 },       { "ppc64le", SCMP_ARCH_PPC64LE },
        { "ppc64", SCMP_ARCH_PPC64 },     { "ppc", SCMP_ARCH_PPC },
        { "mips", SCMP_ARCH_MIPS },       { "mipsel", SCMP_ARCH_MIPSEL },
        { "mips64", SCMP_ARCH_MIPS64 },   { "mipsel64", SCMP_ARCH_MIPSEL64 },
        { "mips64n32", SCMP_ARCH_MIPS64N32 }, { "mipsel64n32", SCMP_ARCH_MIPSEL64N32 },
        { "parisc", SCMP_ARCH_PARISC },   { "parisc64", SCMP_ARCH_PARISC64 },
};

int policy_arch_from_name(const char *s, uint32_t *ret) {
        for (size_t i = 0; i < ELEMENTSOF(arches); i++)
                if (strcmp(arches[i].name, s) == 0) {
                        *ret = arches[i].arch;
                        return 0;
                }
        return -EINVAL;
}

const char *policy_arch_name(uint32_t arch) {
        for (size_t i = 0; i < ELEMENTSOF(arches); i++)
                if (arches[i].arch == arch)
                        return arches[i].name;
        return "?";
}

const char *policy_cmp_name(int op) {
        switch (op) {
        case SCMP_CMP_EQ:
                return "==";
        case SCMP_CMP_NE:
                return "!=";
        case SCMP_CMP_LT:
                return "<";
        case SCMP_CMP_LE:
                return "<=";
        case SCMP_CMP_GT:
                return ">";
        case SCMP_CMP_GE:
                return ">=";
        case SCMP_CMP_MASKED_EQ:
                return "&==";
        default:
                return "?";
        }
}

bool policy_syscall_known(const char *name) {
        /* libseccomp 2.5 has one table for all architectures: a name it knows resolves on
         * every one, to a real or a negative pseudo number. */
        return seccomp_syscall_resolve_name_arch(SCMP_ARCH_NATIVE, name) != __NR_SCMP_ERROR ||
               seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, name) != __NR_SCMP_ERROR ||
               seccomp_syscall_resolve_name_arch(SCMP_ARCH_AARCH64, name) != __NR_SCMP_ERROR;
}

bool policy_syscall_on_arches(const char *name, const uint32_t *a, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (seccomp_syscall_resolve_name_arch(a[i], name) >= 0)
                        return true;
        return false;
}

#define C(x) { #x, (uint64_t)(x) }
static const struct {
        const char *name;
        uint64_t value;
} consts[] = {
        /* socket(2) domains */
        C(AF_UNSPEC), C(AF_UNIX), C(AF_LOCAL), C(AF_INET), C(AF_INET6), C(AF_NETLINK),
        C(AF_PACKET), C(AF_ALG), C(AF_VSOCK), C(AF_BLUETOOTH), C(AF_KEY), C(AF_CAN), C(AF_NFC),
        C(AF_XDP), C(AF_TIPC), C(AF_RDS), C(AF_APPLETALK), C(AF_AX25), C(AF_X25), C(AF_IPX),
        C(AF_BRIDGE), C(AF_SECURITY), C(AF_LLC), C(AF_IB), C(AF_MPLS), C(AF_SMC), C(AF_QIPCRTR),
        C(AF_KCM), C(AF_RXRPC), C(AF_ISDN), C(AF_PHONET), C(AF_IEEE802154), C(AF_CAIF),
        /* socket(2) types and flags */
        C(SOCK_STREAM), C(SOCK_DGRAM), C(SOCK_RAW), C(SOCK_SEQPACKET), C(SOCK_RDM),
        C(SOCK_PACKET), C(SOCK_NONBLOCK), C(SOCK_CLOEXEC),
        /* open(2) */
        C(O_RDONLY), C(O_WRONLY), C(O_RDWR), C(O_ACCMODE), C(O_CREAT), C(O_EXCL), C(O_NOCTTY),
        C(O_TRUNC), C(O_APPEND), C(O_NONBLOCK), C(O_DSYNC), C(O_SYNC), C(O_DIRECT),
        C(O_LARGEFILE), C(O_DIRECTORY), C(O_NOFOLLOW), C(O_NOATIME), C(O_CLOEXEC), C(O_PATH),
        C(O_TMPFILE),
        /* *at(2) flags */
        C(AT_SYMLINK_NOFOLLOW), C(AT_REMOVEDIR), C(AT_SYMLINK_FOLLOW), C(AT_NO_AUTOMOUNT),
        C(AT_EMPTY_PATH),
        /* fcntl(2) commands */
        C(F_DUPFD), C(F_GETFD), C(F_SETFD), C(F_GETFL), C(F_SETFL), C(F_GETLK), C(F_SETLK),
        C(F_SETLKW), C(F_SETOWN), C(F_GETOWN), C(F_SETSIG), C(F_GETSIG), C(F_DUPFD_CLOEXEC),
        C(F_SETPIPE_SZ), C(F_GETPIPE_SZ), C(F_ADD_SEALS), C(F_GET_SEALS), C(F_OFD_GETLK),
        C(F_OFD_SETLK), C(F_OFD_SETLKW), C(F_SETLEASE), C(F_GETLEASE), C(F_NOTIFY),
        /* clone(2) and unshare(2) */
        C(CSIGNAL), C(CLONE_VM), C(CLONE_FS), C(CLONE_FILES), C(CLONE_SIGHAND), C(CLONE_PIDFD),
        C(CLONE_PTRACE), C(CLONE_VFORK), C(CLONE_PARENT), C(CLONE_THREAD), C(CLONE_NEWNS),
        C(CLONE_SYSVSEM), C(CLONE_SETTLS), C(CLONE_PARENT_SETTID), C(CLONE_CHILD_CLEARTID),
        C(CLONE_DETACHED), C(CLONE_UNTRACED), C(CLONE_CHILD_SETTID), C(CLONE_NEWCGROUP),
        C(CLONE_NEWUTS), C(CLONE_NEWIPC), C(CLONE_NEWUSER), C(CLONE_NEWPID), C(CLONE_NEWNET),
        C(CLONE_IO), C(CLONE_NEWTIME),
        /* mmap(2) and mprotect(2) */
        C(PROT_NONE), C(PROT_READ), C(PROT_WRITE), C(PROT_EXEC), C(PROT_GROWSDOWN),
        C(PROT_GROWSUP), C(MAP_SHARED), C(MAP_PRIVATE), C(MAP_SHARED_VALIDATE), C(MAP_FIXED),
        C(MAP_ANONYMOUS), C(MAP_ANON), C(MAP_GROWSDOWN), C(MAP_DENYWRITE), C(MAP_EXECUTABLE),
        C(MAP_LOCKED), C(MAP_NORESERVE), C(MAP_POPULATE), C(MAP_NONBLOCK), C(MAP_STACK),
        C(MAP_HUGETLB), C(MAP_SYNC), C(MAP_FIXED_NOREPLACE), C(MAP_32BIT),
        /* prctl(2) options */
        C(PR_SET_PDEATHSIG), C(PR_GET_PDEATHSIG), C(PR_GET_DUMPABLE), C(PR_SET_DUMPABLE),
        C(PR_GET_KEEPCAPS), C(PR_SET_KEEPCAPS), C(PR_SET_NAME), C(PR_GET_NAME),
        C(PR_GET_SECCOMP), C(PR_SET_SECCOMP), C(PR_CAPBSET_READ), C(PR_CAPBSET_DROP),
        C(PR_GET_TSC), C(PR_SET_TSC), C(PR_GET_SECUREBITS), C(PR_SET_SECUREBITS),
        C(PR_GET_TIMERSLACK), C(PR_SET_TIMERSLACK), C(PR_MCE_KILL), C(PR_MCE_KILL_GET),
        C(PR_SET_MM), C(PR_SET_PTRACER), C(PR_SET_CHILD_SUBREAPER), C(PR_GET_CHILD_SUBREAPER),
        C(PR_SET_NO_NEW_PRIVS), C(PR_GET_NO_NEW_PRIVS), C(PR_GET_TID_ADDRESS),
        C(PR_SET_THP_DISABLE), C(PR_GET_THP_DISABLE), C(PR_CAP_AMBIENT),
        C(PR_GET_SPECULATION_CTRL), C(PR_SET_SPECULATION_CTRL), C(PR_SET_VMA),
        C(PR_SET_IO_FLUSHER), C(PR_GET_IO_FLUSHER), C(PR_SET_SYSCALL_USER_DISPATCH),
        C(PR_SCHED_CORE), C(PR_SET_FP_MODE), C(PR_GET_FP_MODE), C(PR_SET_TAGGED_ADDR_CTRL),
        C(PR_GET_TAGGED_ADDR_CTRL),
        /* ioctl(2) requests */
        C(TIOCSTI), C(TIOCLINUX), C(TIOCSETD), C(TIOCCONS), C(TIOCSCTTY), C(TIOCNOTTY),
        C(TIOCGWINSZ), C(TIOCSWINSZ), C(TIOCGPGRP), C(TIOCSPGRP), C(TCGETS), C(TCSETS),
        C(TCSETSW), C(TCSETSF), C(FIONREAD), C(FIONBIO), C(FIOCLEX), C(FIONCLEX), C(FIOASYNC),
        /* personality(2) */
        C(PER_LINUX), C(PER_LINUX32), C(PER_LINUX_32BIT), C(UNAME26), C(ADDR_NO_RANDOMIZE),
        C(READ_IMPLIES_EXEC), C(ADDR_LIMIT_32BIT), C(ADDR_COMPAT_LAYOUT), C(MMAP_PAGE_ZERO),
        C(SHORT_INODE), C(WHOLE_SECONDS), C(STICKY_TIMEOUTS), C(ADDR_LIMIT_3GB),
        { "PER_QUERY", 0xffffffffu },
};
#undef C

int policy_const_lookup(const char *s, uint64_t *ret) {
        for (size_t i = 0; i < ELEMENTSOF(consts); i++)
                if (strcmp(consts[i].name, s) == 0) {
                        *ret = consts[i].value;
                        return 0;
                }
        return -ENOENT;
}
