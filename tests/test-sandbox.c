/* SPDX-License-Identifier: MIT */
/* pv_spawn's confinement: each attribute shown to take effect in the child (through what
 * the fixture reads of itself), and each new setup step's failure shown to be reported
 * by name.
 *
 * Failures are injected with a seccomp filter that the test case (a forked Check
 * process) installs on itself before spawning: the child inherits it, and the one system
 * call it matches, by number and arguments, answers an errno.  The spawn's own parent
 * side never makes those calls. */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pidvisor/pidvisor.h>

#include "testlib.h"

#define FIXTURE_ARGV(...) ((char *[]){ (char *)pv_test_fixture(), __VA_ARGS__, NULL })
#define NOBODY 65534
#define BIT(cap) (UINT64_C(1) << (cap))

static const gid_t nobody_groups[] = { NOBODY };

static void attr_for(struct pv_spawn_attr *a, char **argv) {
        pv_spawn_attr_init(a);
        a->argv = argv;
}

/* Runs the child with stdout captured; returns what it printed, checks its exit. */
static char *run_capture_status(struct pv_spawn_attr *attr, bool signaled, int want) {
        struct pv_error err = { 0 };
        struct pv_process p;
        struct pv_exit ex;
        int pipes[3];
        char *out;

        attr->stdio[1] = (struct pv_stdio){ .kind = PV_STDIO_PIPE };
        ck_assert_msg(pv_spawn(attr, &p, pipes, &err) == 0, "spawn: %s", err.message);
        out = pv_test_read_all(pipes[1]);
        close(pipes[1]);
        ck_assert_int_eq(pv_process_wait(&p, 0, &ex, NULL), 0);
        ck_assert_msg(ex.signaled == signaled && (signaled ? ex.signal : ex.status) == want,
                      "exit: signaled=%d status=%d (output: %s)", ex.signaled,
                      ex.signaled ? ex.signal : ex.status, out);
        pv_process_release(&p);
        return out;
}

static char *run_capture(struct pv_spawn_attr *attr) {
        return run_capture_status(attr, false, 0);
}

static void assert_output(struct pv_spawn_attr *a, const char *want) {
        char *out = run_capture(a);
        ck_assert_msg(strcmp(out, want) == 0, "output \"%s\", expected \"%s\"", out, want);
        free(out);
}

static void assert_contains(const char *out, const char *want) {
        ck_assert_msg(strstr(out, want), "output \"%s\" lacks \"%s\"", out, want);
}

static int count_fds(void) {
        int n = 0;
        for (int fd = 0; fd < 1024; fd++)
                if (fcntl(fd, F_GETFD) >= 0)
                        n++;
        return n;
}

static void assert_no_children(void) {
        siginfo_t si = { 0 };
        int r = waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT);
        ck_assert_msg(r < 0 && errno == ECHILD, "a child is left behind (pid %d)", (int)si.si_pid);
}

/* The spawn fails with code, op and exactly msg (or, with a trailing '*', a message that
 * starts with msg), and leaves nothing behind. */
static void assert_spawn_fails(struct pv_spawn_attr *a, int code, const char *op, const char *msg) {
        struct pv_error err = { 0 };
        struct pv_process p = PV_PROCESS_NULL;
        int before = count_fds(), listener = -1;
        size_t len = strlen(msg);

        if (!a->seccomp_listener_fd)
                a->seccomp_listener_fd = &listener;
        ck_assert_int_eq(pv_spawn(a, &p, (int[3]){ 0 }, &err), code);
        ck_assert_int_eq(err.code, code);
        if (len > 0 && msg[len - 1] == '*')
                ck_assert_msg(strncmp(err.message, msg, len - 1) == 0, "message \"%s\", expected \"%s\"",
                              err.message, msg);
        else
                ck_assert_msg(strcmp(err.message, msg) == 0, "message \"%s\", expected \"%s\"",
                              err.message, msg);
        if (op)
                ck_assert_msg(err.op && strcmp(err.op, op) == 0, "op %s, expected %s",
                              err.op ? err.op : "(null)", op);
        else
                ck_assert_ptr_null(err.op);
        ck_assert_int_eq(p.pidfd, -1);
        ck_assert_int_eq(listener, -1);
        ck_assert_int_eq(count_fds(), before);
        assert_no_children();
}

/* ---- hand-made BPF ---- */

#define ARCH_NR AUDIT_ARCH_X86_64
#define LD_ARG_LO(i) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[i]))

struct cond {
        int arg;        /* -1: none */
        uint32_t mask;  /* 0: compare the whole low word */
        uint32_t value;
};

/* A filter whose action for syscall nr (when both conditions on its arguments' low 32
 * bits hold) is `action`; everything else is allowed.  Returns a malloc'd program. */
static struct sock_fprog *filter_for(int nr, struct cond c1, struct cond c2, uint32_t action) {
        struct sock_filter *f = calloc(16, sizeof(*f));
        struct sock_fprog *prog = calloc(1, sizeof(*prog));
        struct cond cs[2] = { c1, c2 };
        unsigned short n = 0;

        ck_assert_ptr_nonnull(f);
        ck_assert_ptr_nonnull(prog);
        /* Jumps to "allow" are patched below: its index is only known at the end. */
        f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
        f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH_NR, 0, 0xff);
        f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
        f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 0, 0xff);
        for (int i = 0; i < 2; i++) {
                if (cs[i].arg < 0)
                        continue;
                f[n++] = (struct sock_filter)LD_ARG_LO(cs[i].arg);
                if (cs[i].mask)
                        f[n++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_AND | BPF_K, cs[i].mask);
                f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, cs[i].value, 0, 0xff);
        }
        f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, action);
        f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
        for (unsigned short i = 0; i < n; i++)
                if (BPF_CLASS(f[i].code) == BPF_JMP && f[i].jf == 0xff)
                        f[i].jf = (unsigned char)(n - 1 - i - 1);
        prog->len = n;
        prog->filter = f;
        return prog;
}

static const struct cond NONE = { .arg = -1 };
#define ARG(i, v) ((struct cond){ .arg = (i), .value = (uint32_t)(v) })
#define ARG_MASK(i, m, v) ((struct cond){ .arg = (i), .mask = (uint32_t)(m), .value = (uint32_t)(v) })

/* Installs on the calling process (a forked test case) a filter that makes syscall nr
 * answer EPERM when the conditions hold; the spawned child inherits it. */
static void inject_eperm(int nr, struct cond c1, struct cond c2) {
        struct sock_fprog *prog = filter_for(nr, c1, c2, SECCOMP_RET_ERRNO | EPERM);

        ck_assert_int_eq(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog), 0);
        free(prog->filter);
        free(prog);
}

static void free_prog(struct sock_fprog *prog) {
        free(prog->filter);
        free(prog);
}

/* ---- requirements ---- */

static const char *need_root_and(const char *ns_file) {
        const char *why = pv_test_need_root();
        char path[64];

        if (why)
                return why;
        if (ns_file) {
                snprintf(path, sizeof(path), "/proc/self/ns/%s", ns_file);
                if (access(path, F_OK) < 0)
                        return "the kernel lacks this namespace type";
        }
        return NULL;
}

static const char *need_userns(void) {
        const char *why = need_root_and("user");
        FILE *f;
        long max = 0;

        if (why)
                return why;
        f = fopen("/proc/sys/user/max_user_namespaces", "re");
        if (f) {
                if (fscanf(f, "%ld", &max) != 1)
                        max = 0;
                fclose(f);
        }
        return max > 0 ? NULL : "user namespaces are disabled (user.max_user_namespaces)";
}

static const char *need_seccomp_listener(void) {
        /* SECCOMP_GET_NOTIF_SIZES exists since 5.0, with the listener. */
        struct seccomp_notif_sizes sz;
        if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz) < 0)
                return "the kernel has no seccomp user notification";
        return NULL;
}

/* ---- capabilities ---- */

START_TEST(test_caps_parse) {
        struct pv_error err = { 0 };
        uint64_t m = 1;
        int last = pv_caps_last_cap();

        ck_assert_int_ge(last, CAP_NET_BIND_SERVICE);
        ck_assert_int_eq(pv_caps_parse("CAP_NET_BIND_SERVICE cap_chown", &m, &err), 0);
        ck_assert_uint_eq(m, BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_CHOWN));
        ck_assert_int_eq(pv_caps_parse("cap_kill,CAP_SETUID\t 12", &m, &err), 0);
        ck_assert_uint_eq(m, BIT(CAP_KILL) | BIT(CAP_SETUID) | BIT(12));
        ck_assert_int_eq(pv_caps_parse("", &m, &err), 0);
        ck_assert_uint_eq(m, 0);
        ck_assert_int_eq(pv_caps_parse("~CAP_SYS_ADMIN", &m, &err), 0);
        ck_assert_uint_eq(m, ((last >= 63 ? UINT64_MAX : BIT(last + 1) - 1)) & ~BIT(CAP_SYS_ADMIN));
        ck_assert_int_eq(pv_caps_parse("~", &m, &err), 0);
        ck_assert_uint_eq(m, last >= 63 ? UINT64_MAX : BIT(last + 1) - 1);

        m = 7;
        ck_assert_int_eq(pv_caps_parse("CAP_CHOWN CAP_NOPE", &m, &err), -EINVAL);
        ck_assert_str_eq(err.message, "unknown capability \"CAP_NOPE\"");
        ck_assert_uint_eq(m, 7); /* untouched on failure */
}
END_TEST

/* The goal case: a service as nobody that may bind port 80, with only
 * CAP_NET_BIND_SERVICE in every set.  In a network namespace of its own, so that port 80
 * is free whatever the host runs. */
static void attr_port80(struct pv_spawn_attr *a, char **argv, bool with_cap) {
        attr_for(a, argv);
        a->set_uid = a->set_gid = a->set_groups = true;
        a->uid = NOBODY;
        a->gid = NOBODY;
        a->groups = nobody_groups;
        a->n_groups = 1;
        a->private_network = true;
        if (!with_cap)
                return;
        a->set_cap_bounding = true;
        a->cap_bounding = BIT(CAP_NET_BIND_SERVICE);
        a->set_caps = true;
        a->cap_permitted = a->cap_effective = a->cap_inheritable = a->cap_ambient =
                BIT(CAP_NET_BIND_SERVICE);
}

#define CAPS_400                                                                               \
        "CapInh:\t0000000000000400\nCapPrm:\t0000000000000400\nCapEff:\t0000000000000400\n"     \
        "CapBnd:\t0000000000000400\nCapAmb:\t0000000000000400\n"

START_TEST(test_caps_port80_nobody) {
        struct pv_spawn_attr a;
        struct pv_error err = { 0 };
        struct pv_process p;
        int pipes[3];
        char *out, *text;
        cap_t caps;

        attr_port80(&a, FIXTURE_ARGV("bind-port", "80"), false);
        assert_output(&a, "bind 80: Permission denied\n");
        attr_port80(&a, FIXTURE_ARGV("bind-port", "80"), true);
        assert_output(&a, "bind 80 ok\n");

        attr_port80(&a, FIXTURE_ARGV("status"), true);
        out = run_capture(&a);
        ck_assert_msg(strncmp(out, CAPS_400, strlen(CAPS_400)) == 0, "%s", out);
        free(out);

        /* What getpcaps shows: libcap's view of the running process. */
        attr_port80(&a, FIXTURE_ARGV("status-wait"), true);
        a.stdio[0].kind = PV_STDIO_PIPE;
        a.stdio[1].kind = PV_STDIO_PIPE;
        ck_assert_msg(pv_spawn(&a, &p, pipes, &err) == 0, "%s", err.message);
        {
                char buf[512] = "";
                size_t n = 0;
                while (!strstr(buf, "ready\n")) {
                        ssize_t k = read(pipes[1], buf + n, sizeof(buf) - 1 - n);
                        ck_assert_int_gt(k, 0);
                        n += (size_t)k;
                        buf[n] = 0;
                }
        }
        caps = cap_get_pid(p.pid);
        ck_assert_ptr_nonnull(caps);
        text = cap_to_text(caps, NULL);
        ck_assert_str_eq(text, "cap_net_bind_service=eip");
        cap_free(text);
        cap_free(caps);
        close(pipes[0]);
        out = pv_test_read_all(pipes[1]);
        free(out);
        close(pipes[1]);
        ck_assert_int_eq(pv_process_wait(&p, 0, NULL, NULL), 0);
        pv_process_release(&p);
}
END_TEST

/* A root service is confined by its bounding set: execve gives uid 0 all of it. */
START_TEST(test_caps_bounding_root) {
        struct pv_spawn_attr a;
        struct pv_error err = { 0 };
        char want[64], *out;
        uint64_t m;

        ck_assert_int_eq(pv_caps_parse("~CAP_SYS_ADMIN CAP_NET_RAW", &m, &err), 0);
        attr_for(&a, FIXTURE_ARGV("status"));
        a.set_cap_bounding = true;
        a.cap_bounding = m;
        out = run_capture(&a);
        /* Whatever the host's bounding set, those two bits are gone. */
        {
                const char *l = strstr(out, "CapBnd:\t");
                unsigned long long bnd;
                ck_assert_ptr_nonnull(l);
                ck_assert_int_eq(sscanf(l + 8, "%llx", &bnd), 1);
                ck_assert_uint_eq(bnd & (BIT(CAP_SYS_ADMIN) | BIT(CAP_NET_RAW)), 0);
                ck_assert_uint_ne(bnd & BIT(CAP_CHOWN), 0);
                snprintf(want, sizeof(want), "CapEff:\t%016llx\n", bnd);
                assert_contains(out, want);
        }
        free(out);
}
END_TEST

START_TEST(test_caps_refused_in_parent) {
        struct pv_spawn_attr a;

        attr_for(&a, FIXTURE_ARGV("exit", "0"));
        a.set_caps = true;
        a.cap_permitted = BIT(CAP_CHOWN);
        a.cap_effective = BIT(CAP_KILL);
        assert_spawn_fails(&a, -EINVAL, NULL, "effective capabilities 0x20 not in the permitted set 0x1");
        a.cap_effective = 0;
        a.cap_ambient = BIT(CAP_CHOWN);
        assert_spawn_fails(&a, -EINVAL, NULL,
                           "ambient capabilities 0x1 not in both the permitted and the inheritable set");
        a.cap_ambient = 0;
        a.cap_permitted = BIT(63);
        assert_spawn_fails(&a, -EINVAL, NULL, "capabilities 0x8000000000000000: not known to the "
                                             "running kernel*");
}
END_TEST

START_TEST(test_fail_capbset) {
        struct pv_spawn_attr a;

        inject_eperm(SYS_prctl, ARG(0, PR_CAPBSET_DROP), NONE);
        attr_for(&a, FIXTURE_ARGV("exit", "0"));
        a.set_cap_bounding = true;
        a.cap_bounding = BIT(CAP_CHOWN); /* the first one dropped is then CAP_DAC_OVERRIDE */
        assert_spawn_fails(&a, -EPERM, "capbset",
                           "prctl PR_CAPBSET_DROP cap_dac_override: Operation not permitted");
}
END_TEST

START_TEST(test_fail_keepcaps) {
        struct pv_spawn_attr a;

        inject_eperm(SYS_prctl, ARG(0, PR_SET_KEEPCAPS), NONE);
        attr_port80(&a, FIXTURE_ARGV("exit", "0"), true);
        assert_spawn_fails(&a, -EPERM, "keepcaps", "prctl PR_SET_KEEPCAPS: Operation not permitted");
}
END_TEST

START_TEST(test_fail_capset) {
        struct pv_spawn_attr a;

        inject_eperm(SYS_capset, NONE, NONE);
        attr_port80(&a, FIXTURE_ARGV("exit", "0"), true);
        assert_spawn_fails(&a, -EPERM, "capset",
                           "capset (permitted 0x400, effective 0x400, inheritable 0x400): "
                           "Operation not permitted");
}
END_TEST

START_TEST(test_fail_ambient) {
        struct pv_spawn_attr a;

        inject_eperm(SYS_prctl, ARG(0, PR_CAP_AMBIENT), ARG(1, PR_CAP_AMBIENT_RAISE));
        attr_port80(&a, FIXTURE_ARGV("exit", "0"), true);
        assert_spawn_fails(&a, -EPERM, "ambient",
                           "prctl PR_CAP_AMBIENT_RAISE cap_net_bind_service: Operation not permitted");
}
END_TEST

/* ---- no_new_privs and seccomp ---- */

START_TEST(test_no_new_privs) {
        struct pv_spawn_attr a;
        char *out;

        attr_for(&a, FIXTURE_ARGV("status"));
        out = run_capture(&a);
        if (!getenv("PV_ENOSYS_ACTIVE")) /* pv-enosys sets it on the whole test */
                assert_contains(out, "NoNewPrivs:\t0\n");
        free(out);
        a.no_new_privs = true;
        out = run_capture(&a);
        assert_contains(out, "NoNewPrivs:\t1\n");
        free(out);
}
END_TEST

START_TEST(test_fail_no_new_privs) {
        struct pv_spawn_attr a;

        inject_eperm(SYS_prctl, ARG(0, PR_SET_NO_NEW_PRIVS), NONE);
        attr_for(&a, FIXTURE_ARGV("exit", "0"));
        a.no_new_privs = true;
        assert_spawn_fails(&a, -EPERM, "no_new_privs", "prctl PR_SET_NO_NEW_PRIVS: Operation not permitted");
}
END_TEST

/* A filter implies no_new_privs; getppid answers EPERM under it and nowhere else. */
START_TEST(test_seccomp_errno) {
        struct sock_fprog *prog = filter_for(SYS_getppid, NONE, NONE, SECCOMP_RET_ERRNO | EPERM);
        struct pv_spawn_attr a;
        char *out;

        attr_for(&a, FIXTURE_ARGV("getppid"));
        out = run_capture(&a);
        ck_assert_msg(strncmp(out, "getppid ", 8) == 0, "%s", out);
        free(out);
        a.seccomp_filter = prog;
        assert_output(&a, "getppid: Operation not permitted\n");
        a.argv = FIXTURE_ARGV("status");
        out = run_capture(&a);
        assert_contains(out, "NoNewPrivs:\t1\nSeccomp:\t2\n");
        free(out);
        free_prog(prog);
}
END_TEST

/* SECCOMP_FILTER_FLAG_NEW_LISTENER: the listener reaches us, and we answer the child's
 * getppid for it. */
START_TEST(test_seccomp_listener) {
        struct sock_fprog *prog = filter_for(SYS_getppid, NONE, NONE, SECCOMP_RET_USER_NOTIF);
        struct seccomp_notif_sizes sizes;
        struct seccomp_notif *req;
        struct seccomp_notif_resp *resp;
        struct pv_spawn_attr a;
        struct pv_error err = { 0 };
        struct pv_process p;
        struct pollfd pfd;
        int listener = -1, pipes[3];
        char *out;

        ck_assert_int_eq(syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes), 0);
        req = calloc(1, sizes.seccomp_notif > sizeof(*req) ? sizes.seccomp_notif : sizeof(*req));
        resp = calloc(1, sizes.seccomp_notif_resp > sizeof(*resp) ? sizes.seccomp_notif_resp : sizeof(*resp));
        attr_for(&a, FIXTURE_ARGV("getppid"));
        a.seccomp_filter = prog;
        a.seccomp_flags = SECCOMP_FILTER_FLAG_NEW_LISTENER;
        a.seccomp_listener_fd = &listener;
        a.stdio[1].kind = PV_STDIO_PIPE;
        ck_assert_msg(pv_spawn(&a, &p, pipes, &err) == 0, "%s", err.message);
        ck_assert_int_ge(listener, 0);
        ck_assert_int_ne(fcntl(listener, F_GETFD) & FD_CLOEXEC, 0);

        pfd = (struct pollfd){ .fd = listener, .events = POLLIN };
        ck_assert_int_eq(poll(&pfd, 1, 10000), 1);
        ck_assert_int_eq(ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req), 0);
        ck_assert_int_eq(req->data.nr, SYS_getppid);
        ck_assert_int_eq((int)req->pid, (int)p.pid);
        resp->id = req->id;
        resp->val = 4242;
        ck_assert_int_eq(ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp), 0);

        out = pv_test_read_all(pipes[1]);
        ck_assert_str_eq(out, "getppid 4242\n");
        free(out);
        close(pipes[1]);
        ck_assert_int_eq(pv_process_wait(&p, 0, NULL, NULL), 0);
        pv_process_release(&p);
        close(listener);
        free(req);
        free(resp);
        free_prog(prog);
}
END_TEST

/* execve itself answered with an errno by the filter: reported as the execve step. */
START_TEST(test_seccomp_execve_denied) {
        struct sock_fprog *prog = filter_for(SYS_execve, NONE, NONE, SECCOMP_RET_ERRNO | EACCES);
        struct pv_spawn_attr a;
        char want[4200];

        attr_for(&a, FIXTURE_ARGV("exit", "0"));
        a.seccomp_filter = prog;
        snprintf(want, sizeof(want), "execve \"%s\": Permission denied", pv_test_fixture());
        assert_spawn_fails(&a, -EACCES, "execve", want);

        /* The same with a listener: it reached us before execve failed, and is closed. */
        a.seccomp_flags = SECCOMP_FILTER_FLAG_NEW_LISTENER;
        if (!need_seccomp_listener())
                assert_spawn_fails(&a, -EACCES, "execve", want);
        free_prog(prog);
}
END_TEST

START_TEST(test_fail_seccomp) {
        struct sock_filter bad[] = {
                BPF_JUMP(BPF_JMP | BPF_JA, 5, 0, 0), /* out of the program */
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog prog = { .len = 2, .filter = bad };
        struct pv_spawn_attr a;
        int listener = -1;

        attr_for(&a, FIXTURE_ARGV("exit", "0"));
        a.seccomp_filter = &prog;
        assert_spawn_fails(&a, -EINVAL, "seccomp",
                           "seccomp SECCOMP_SET_MODE_FILTER (2 instructions, flags 0x0): Invalid argument");

        /* Checked in the parent: an empty program, a listener with nowhere to go. */
        prog.len = 0;
        assert_spawn_fails(&a, -EINVAL, NULL, "seccomp: a program of 0 instructions (1 to 4096)");
        prog.len = 2;
        bad[0] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
        a.seccomp_flags = SECCOMP_FILTER_FLAG_NEW_LISTENER;
        a.seccomp_listener_fd = NULL;
        {
                struct pv_error err = { 0 };
                struct pv_process p = PV_PROCESS_NULL;
                ck_assert_int_eq(pv_spawn(&a, &p, NULL, &err), -EINVAL);
                ck_assert_str_eq(err.message, "seccomp: a listener is asked for "
                                              "(SECCOMP_FILTER_FLAG_NEW_LISTENER) but there is no "
                                              "place to store it");
        }

        /* The listener cannot be passed: the child says so and does not exec. */
        if (!need_seccomp_listener()) {
                inject_eperm(SYS_sendmsg, NONE, NONE);
                a.seccomp_listener_fd = &listener;
                assert_spawn_fails(&a, -EPERM, "seccomp",
                                   "passing the seccomp listener to the parent (sendmsg): "
                                   "Operation not permitted");
        }
}
END_TEST

/* ---- network, UTS, IPC ---- */

START_TEST(test_private_network) {
        struct pv_spawn_attr a;

        attr_for(&a, FIXTURE_ARGV("net"));
        a.private_network = true;
        assert_output(&a, "lo\nlo up\ntcp ok\n");

        /* With close_other_fds the vfork path also shares our descriptor table
         * (CLONE_FILES) until the child unshares it: namespaces must not mind. */
        a.close_other_fds = true;
        a.private_tmp = true;
        assert_output(&a, "lo\nlo up\ntcp ok\n");
}
END_TEST

START_TEST(test_fail_loopback) {
        struct pv_spawn_attr a;

        inject_eperm(SYS_ioctl, ARG(1, SIOCSIFFLAGS), NONE);
        attr_for(&a, FIXTURE_ARGV("exit", "0"));
        a.private_network = true;
        assert_spawn_fails(&a, -EPERM, "loopback",
                           "loopback \"lo\" up (ioctl SIOCSIFFLAGS): Operation not permitted");
}
END_TEST

START_TEST(test_hostname_and_ipc) {
        struct pv_spawn_attr a;
        char own[256], want[300], *out;
        ssize_t n;

        attr_for(&a, FIXTURE_ARGV("hostname"));
        a.hostname = "pv-sandboxed";
        assert_output(&a, "pv-sandboxed\n");

        n = readlink("/proc/self/ns/ipc", own, sizeof(own) - 1);
        ck_assert_int_gt(n, 0);
        own[n] = 0;
        snprintf(want, sizeof(want), "%s\n", own);
        attr_for(&a, FIXTURE_ARGV("ns", "ipc"));
        assert_output(&a, want);
        a.private_ipc = true;
        out = run_capture(&a);
        ck_assert_msg(strncmp(out, "ipc:[", 5) == 0 && strcmp(out, want) != 0, "%s", out);
        free(out);

        /* private_mounts alone: a mount namespace of its own, nothing else changed. */
        n = readlink("/proc/self/ns/mnt", own, sizeof(own) - 1);
        ck_assert_int_gt(n, 0);
        own[n] = 0;
        attr_for(&a, FIXTURE_ARGV("ns", "mnt"));
        a.private_mounts = true;
        out = run_capture(&a);
        ck_assert_msg(strncmp(out, "mnt:[", 5) == 0 && strncmp(out, own, strlen(own)) != 0, "%s", out);
        free(out);
}
END_TEST

START_TEST(test_fail_hostname) {
        struct pv_spawn_attr a;

        attr_for(&a, FIXTURE_ARGV("exit", "0"));
        a.hostname = "0123456789012345678901234567890123456789012345678901234567890123456789";
        assert_spawn_fails(&a, -EINVAL, NULL,
                           "hostname \"0123456789012345678901234567890123456789012345678901234567890123456789\": "
                           "must be 1 to 64 bytes");
        inject_eperm(SYS_sethostname, NONE, NONE);
        a.hostname = "pv-sandboxed";
        assert_spawn_fails(&a, -EPERM, "sethostname", "sethostname \"pv-sandboxed\": Operation not permitted");
}
END_TEST

/* ---- mounts ---- */

START_TEST(test_private_tmp) {
        char *dir = pv_test_mkdtemp(), *marker = pv_test_fmt("/tmp/pvtest-host-marker-%d", (int)getpid());
        char *inside = pv_test_fmt("%s/inside", dir);
        struct pv_spawn_attr a;

        pv_test_write_file(marker, "host", 0644);
        attr_for(&a, FIXTURE_ARGV("ls", "/tmp"));
        a.private_tmp = true;
        assert_output(&a, "\n"); /* empty */
        a.argv = FIXTURE_ARGV("write-file", "/tmp/pvtest-written-inside");
        assert_output(&a, "ok\n");
        ck_assert_int_ne(access("/tmp/pvtest-written-inside", F_OK), 0);
        a.argv = FIXTURE_ARGV("access-w", "/tmp");
        assert_output(&a, "/tmp ok\n");
        a.argv = FIXTURE_ARGV("mountopts", "/tmp");
        {
                char *out = run_capture(&a);
                assert_contains(out, "rw,nosuid,nodev");
                free(out);
        }

        /* A directory of the caller's instead of a fresh tmpfs. */
        pv_test_write_file(inside, "x", 0644);
        attr_for(&a, FIXTURE_ARGV("ls", "/tmp"));
        a.private_tmp_source = dir;
        assert_output(&a, "inside\n");

        unlink(marker);
        pv_test_rmtree(dir);
        free(inside);
        free(marker);
        free(dir);
}
END_TEST

START_TEST(test_fail_private_tmp) {
        struct pv_spawn_attr a;

        attr_for(&a, FIXTURE_ARGV("exit", "0"));
        a.private_tmp_source = "/nonexistent-pvtest";
        assert_spawn_fails(&a, -ENOENT, "mount",
                           "mount \"/tmp\" (private, bind of \"/nonexistent-pvtest\"): No such file or directory");
        inject_eperm(SYS_mount, ARG(3, MS_NOSUID | MS_NODEV), NONE);
        attr_for(&a, FIXTURE_ARGV("exit", "0"));
        a.private_tmp = true;
        assert_spawn_fails(&a, -EPERM, "mount", "mount \"/tmp\" (private tmpfs): Operation not permitted");
}
END_TEST

START_TEST(test_protect_system) {
        struct pv_spawn_attr a;
        char *dir = pv_test_mkdtemp(), *want;

        attr_for(&a, FIXTURE_ARGV("access-w", "/usr", "/etc", "/var", "/dev/null", "/proc/self/comm"));
        a.protect_system = PV_PROTECT_SYSTEM_YES;
        assert_output(&a, "/usr: Read-only file system\n/etc ok\n/var ok\n/dev/null ok\n"
                          "/proc/self/comm ok\n");
        a.protect_system = PV_PROTECT_SYSTEM_FULL;
        assert_output(&a, "/usr: Read-only file system\n/etc: Read-only file system\n/var ok\n"
                          "/dev/null ok\n/proc/self/comm ok\n");

        /* strict: everything but /dev, /proc, /sys and what is listed read-write; /dev/shm,
         * a mount below /dev, stays writable. */
        attr_for(&a, FIXTURE_ARGV("access-w", "/usr", "/etc", "/var", "/", "/tmp", "/dev/null",
                                  "/dev/shm", "/proc/self/comm", dir));
        a.protect_system = PV_PROTECT_SYSTEM_STRICT;
        a.read_write_paths = (const char *const[]){ dir };
        a.n_read_write_paths = 1;
        want = pv_test_fmt("/usr: Read-only file system\n/etc: Read-only file system\n"
                           "/var: Read-only file system\n/: Read-only file system\n"
                           "/tmp: Read-only file system\n/dev/null ok\n/dev/shm ok\n"
                           "/proc/self/comm ok\n%s ok\n", dir);
        assert_output(&a, want);
        free(want);

        /* With a private /tmp, /tmp is writable under strict. */
        a.private_tmp = true;
        a.argv = FIXTURE_ARGV("access-w", "/tmp", "/var");
        assert_output(&a, "/tmp ok\n/var: Read-only file system\n");
        pv_test_rmtree(dir);
        free(dir);
}
END_TEST

/* Read-only and read-write paths nested, and a mount below a read-only path (made in a
 * mount namespace of this test's own) that must become read-only too, keeping its
 * nosuid, nodev and noexec. */
START_TEST(test_read_only_paths_and_submounts) {
        char *dir = pv_test_mkdtemp();
        char *sub = pv_test_fmt("%s/sub", dir), *rw = pv_test_fmt("%s/rw", dir);
        char *subrw = pv_test_fmt("%s/sub/w", dir), *want;
        struct pv_spawn_attr a;

        ck_assert_int_eq(unshare(CLONE_NEWNS), 0);
        ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
        ck_assert_int_eq(mkdir(sub, 0755), 0);
        ck_assert_int_eq(mkdir(rw, 0755), 0);
        ck_assert_int_eq(mount("tmpfs", sub, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755"), 0);
        ck_assert_int_eq(mkdir(subrw, 0755), 0);

        attr_for(&a, FIXTURE_ARGV("access-w", dir, sub, rw, subrw));
        a.read_only_paths = (const char *const[]){ dir };
        a.n_read_only_paths = 1;
        a.read_write_paths = (const char *const[]){ rw, subrw };
        a.n_read_write_paths = 2;
        want = pv_test_fmt("%s: Read-only file system\n%s: Read-only file system\n%s ok\n%s ok\n",
                           dir, sub, rw, subrw);
        assert_output(&a, want);
        free(want);

        a.argv = FIXTURE_ARGV("mountopts", sub);
        {
                char *out = run_capture(&a);
                ck_assert_msg(strncmp(out, "ro,nosuid,nodev,noexec", 22) == 0, "%s", out);
                free(out);
        }
        /* Untouched outside. */
        ck_assert_int_eq(access(sub, W_OK), 0);

        /* A missing path is an error, unless it starts with '-'. */
        a.read_only_paths = (const char *const[]){ "/nonexistent-pvtest" };
        a.n_read_only_paths = 1;
        a.n_read_write_paths = 0;
        assert_spawn_fails(&a, -ENOENT, NULL,
                           "read-only path \"/nonexistent-pvtest\": No such file or directory");
        a.read_only_paths = (const char *const[]){ "-/nonexistent-pvtest" };
        a.argv = FIXTURE_ARGV("exit", "0");
        assert_output(&a, "");
        a.read_only_paths = (const char *const[]){ "relative/path" };
        assert_spawn_fails(&a, -EINVAL, NULL, "read-only path \"relative/path\": not an absolute path");

        umount2(sub, MNT_DETACH);
        pv_test_rmtree(dir);
        free(sub);
        free(rw);
        free(subrw);
        free(dir);
}
END_TEST

START_TEST(test_inaccessible_paths) {
        char *dir = pv_test_mkdtemp();
        char *secret = pv_test_fmt("%s/secret", dir), *file = pv_test_fmt("%s/file", dir);
        char *in_secret = pv_test_fmt("%s/secret/x", dir), *want;
        struct pv_spawn_attr a;

        ck_assert_int_eq(chmod(dir, 0755), 0);
        ck_assert_int_eq(mkdir(secret, 0755), 0);
        pv_test_write_file(in_secret, "hidden", 0644);
        pv_test_write_file(file, "hidden too", 0644);

        /* Root sees an empty, read-only, mode 0000 directory and file. */
        attr_for(&a, FIXTURE_ARGV("ls", secret));
        a.inaccessible_paths = (const char *const[]){ secret, file };
        a.n_inaccessible_paths = 2;
        assert_output(&a, "\n");
        a.argv = FIXTURE_ARGV("stat", secret);
        assert_output(&a, "mode 0000 dir\n");
        a.argv = FIXTURE_ARGV("stat", file);
        assert_output(&a, "mode 0000 file\n");
        a.argv = FIXTURE_ARGV("read-file", file);
        assert_output(&a, "read 0 bytes\n");
        a.argv = FIXTURE_ARGV("access-w", secret, file);
        want = pv_test_fmt("%s: Read-only file system\n%s: Read-only file system\n", secret, file);
        assert_output(&a, want);
        free(want);

        /* Anyone else cannot open them at all. */
        a.set_uid = a.set_gid = true;
        a.uid = a.gid = NOBODY;
        a.argv = FIXTURE_ARGV("ls", secret);
        assert_output(&a, "ls: Permission denied\n");
        a.argv = FIXTURE_ARGV("read-file", file);
        assert_output(&a, "read: Permission denied\n");

        pv_test_rmtree(dir);
        free(secret);
        free(file);
        free(in_secret);
        free(dir);
}
END_TEST

START_TEST(test_fail_mounts) {
        char *dir = pv_test_mkdtemp(), *file = pv_test_fmt("%s/f", dir), *want;
        struct pv_spawn_attr a;
        pid_t pid;
        int status;

        const char *const dir_list[] = { dir }, *const file_list[] = { file };

        pv_test_write_file(file, "x", 0644);
        /* Each failure in a process of its own: a filter cannot be taken off again. */
        enum { RO_DIR, INACC_FILE, INACC_DIR, PIDS };
        struct {
                int nr;
                struct cond c;
                int setup;
                const char *msg;
        } cases[] = {
                { SYS_mount, ARG(3, MS_REC | MS_SLAVE), RO_DIR,
                  "mount \"/\" (propagation: slave): Operation not permitted" },
                { SYS_mount, ARG(3, MS_BIND | MS_REC), RO_DIR,
                  "mount \"%s\" (bind onto itself, read-only path): Operation not permitted" },
                { SYS_mount, ARG_MASK(3, MS_REMOUNT, MS_REMOUNT), RO_DIR,
                  "mount \"%s\" (remount read-only, read-only path): Operation not permitted" },
                { SYS_move_mount, NONE, INACC_FILE,
                  "move_mount \"%s/f\" (inaccessible file): Operation not permitted" },
                { SYS_fsopen, NONE, INACC_FILE,
                  "fsopen/fsmount tmpfs (an inaccessible file for \"%s/f\"): Operation not permitted" },
                { SYS_mount, ARG(3, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC), INACC_DIR,
                  "mount \"%s\" (inaccessible tmpfs): Operation not permitted" },
                { SYS_mount, ARG(3, MS_NOSUID | MS_NODEV | MS_NOEXEC), PIDS,
                  "mount \"/proc\" (fresh procfs): Operation not permitted" },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                pid = fork();
                ck_assert_int_ge(pid, 0);
                if (pid == 0) {
                        inject_eperm(cases[i].nr, cases[i].c, NONE);
                        attr_for(&a, FIXTURE_ARGV("exit", "0"));
                        switch (cases[i].setup) {
                        case RO_DIR:
                                a.read_only_paths = dir_list;
                                a.n_read_only_paths = 1;
                                break;
                        case INACC_FILE:
                                a.inaccessible_paths = file_list;
                                a.n_inaccessible_paths = 1;
                                break;
                        case INACC_DIR:
                                a.inaccessible_paths = dir_list;
                                a.n_inaccessible_paths = 1;
                                break;
                        default:
                                a.private_pids = true;
                        }
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
                        want = pv_test_fmt(cases[i].msg, dir); /* each has one %s, or none */
#pragma GCC diagnostic pop
                        {
                                /* Not through ck_assert: this is a process of our own. */
                                struct pv_error err = { 0 };
                                struct pv_process p = PV_PROCESS_NULL;
                                int r = pv_spawn(&a, &p, NULL, &err);
                                if (r != -EPERM || strcmp(err.message, want) || !err.op ||
                                    strcmp(err.op, "mount")) {
                                        fprintf(stderr, "case %zu: %d \"%s\" (%s), expected \"%s\"\n", i,
                                                r, err.message, err.op ? err.op : "no op", want);
                                        _exit(1);
                                }
                                if (waitid(P_ALL, 0, &(siginfo_t){ 0 }, WEXITED | WNOHANG) == 0) {
                                        fprintf(stderr, "case %zu: a child is left\n", i);
                                        _exit(1);
                                }
                        }
                        free(want);
                        _exit(0);
                }
                ck_assert_int_eq(waitpid(pid, &status, 0), pid);
                ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "case %zu failed (status 0x%x)", i,
                              (unsigned)status);
        }
        pv_test_rmtree(dir);
        free(file);
        free(dir);
}
END_TEST

/* ---- user namespace ---- */

START_TEST(test_private_users) {
        struct pv_spawn_attr a;

        attr_for(&a, FIXTURE_ARGV("userns"));
        a.private_users = true;
        a.set_uid = a.set_gid = a.set_groups = true;
        a.uid = a.gid = NOBODY;
        a.groups = (const gid_t[]){ NOBODY };
        a.n_groups = 1;
        assert_output(&a, "uid_map 0 0 1\nuid_map 65534 65534 1\ngid_map 0 0 1\ngid_map 65534 65534 1\n"
                          "setgroups deny\nuid=65534 euid=65534 gid=65534 egid=65534 groups=65534\n");

        /* As root: only root is mapped; the manager's groups are dropped before. */
        attr_for(&a, FIXTURE_ARGV("userns"));
        a.private_users = true;
        a.set_groups = true;
        assert_output(&a, "uid_map 0 0 1\ngid_map 0 0 1\nsetgroups deny\n"
                          "uid=0 euid=0 gid=0 egid=0 groups=\n");

        /* Root in it has every capability, of the new namespace only. */
        attr_for(&a, FIXTURE_ARGV("status"));
        a.private_users = true;
        {
                char *out = run_capture(&a);
                assert_contains(out, "CapEff:\t000001ffffffffff\n");
                free(out);
        }
}
END_TEST

START_TEST(test_fail_private_users) {
        struct pv_spawn_attr a;

        inject_eperm(SYS_unshare, ARG(0, CLONE_NEWUSER), NONE);
        attr_for(&a, FIXTURE_ARGV("exit", "0"));
        a.private_users = true;
        assert_spawn_fails(&a, -EPERM, "unshare", "unshare CLONE_NEWUSER: Operation not permitted");
}
END_TEST

/* The parent cannot write a map of two ranges without CAP_SETUID: it says so, kills the
 * waiting child and reaps it. */
START_TEST(test_fail_id_maps) {
        struct pv_spawn_attr a;
        cap_t caps = cap_get_proc();
        cap_value_t v = CAP_SETUID;

        ck_assert_ptr_nonnull(caps);
        ck_assert_int_eq(cap_set_flag(caps, CAP_EFFECTIVE, 1, &v, CAP_CLEAR), 0);
        ck_assert_int_eq(cap_set_flag(caps, CAP_PERMITTED, 1, &v, CAP_CLEAR), 0);
        ck_assert_int_eq(cap_set_proc(caps), 0);
        cap_free(caps);
        attr_for(&a, FIXTURE_ARGV("exit", "0"));
        a.private_users = true;
        a.set_uid = true;
        a.uid = NOBODY;
        assert_spawn_fails(&a, -EPERM, "uid_map", "user namespace: writing \"0 0 1\" to \"/proc/*");
}
END_TEST

/* ---- pid namespace ---- */

START_TEST(test_private_pids) {
        struct pv_spawn_attr a;
        char *out;

        attr_for(&a, FIXTURE_ARGV("pid-info"));
        a.private_pids = true;
        assert_output(&a, "pid 2 ppid 1\n");

        /* An orphan is reaped by our init; the service's exit status comes through. */
        attr_for(&a, FIXTURE_ARGV("orphan-zombie", "7"));
        a.private_pids = true;
        out = run_capture_status(&a, false, 7);
        ck_assert_str_eq(out, "orphan ppid=1\nreaped\n");
        free(out);

        /* Killed by a signal: the init exits 128+N. */
        attr_for(&a, FIXTURE_ARGV("raise", "15"));
        a.private_pids = true;
        out = run_capture_status(&a, false, 128 + SIGTERM);
        free(out);

        /* LISTEN_PID is the service's own pid. */
        attr_for(&a, FIXTURE_ARGV("env", "LISTEN_PID"));
        a.private_pids = true;
        a.set_listen_pid = true;
        a.envp = (char *[]){ NULL };
        assert_output(&a, "2\n");
}
END_TEST

/* Signals sent to the init (what a supervisor holds) reach the service. */
START_TEST(test_private_pids_forwarding) {
        struct pv_spawn_attr a;
        struct pv_error err = { 0 };
        struct pv_process p;
        struct pv_exit ex;
        int pipes[3];
        char buf[256];
        size_t n = 0;

        attr_for(&a, FIXTURE_ARGV("ready-wait"));
        a.private_pids = true;
        a.stdio[1].kind = PV_STDIO_PIPE;
        ck_assert_msg(pv_spawn(&a, &p, pipes, &err) == 0, "%s", err.message);
        buf[0] = 0;
        while (!strstr(buf, "ready\n")) {
                ssize_t k = read(pipes[1], buf + n, sizeof(buf) - 1 - n);
                ck_assert_int_gt(k, 0);
                n += (size_t)k;
                buf[n] = 0;
        }
        ck_assert_int_eq(pv_process_signal(&p, SIGUSR1, NULL), 0);
        while (!strstr(buf, "got 10\n")) {
                ssize_t k = read(pipes[1], buf + n, sizeof(buf) - 1 - n);
                ck_assert_int_gt(k, 0);
                n += (size_t)k;
                buf[n] = 0;
        }
        ck_assert_int_eq(pv_process_signal(&p, SIGTERM, NULL), 0);
        ck_assert_int_eq(pv_process_wait(&p, 0, &ex, NULL), 0);
        ck_assert(!ex.signaled && ex.status == 0); /* ready-wait exits 0 on SIGTERM */
        close(pipes[1]);
        pv_process_release(&p);
}
END_TEST

START_TEST(test_fail_private_pids) {
        struct pv_spawn_attr a;

        inject_eperm(SYS_clone, ARG(0, SIGCHLD), NONE);
        attr_for(&a, FIXTURE_ARGV("exit", "0"));
        a.private_pids = true;
        assert_spawn_fails(&a, -EPERM, "fork",
                           "fork of the service in the new pid namespace: Operation not permitted");
}
END_TEST

/* ---- everything at once ---- */

START_TEST(test_full_sandbox) {
        struct sock_fprog *prog = filter_for(SYS_getppid, NONE, NONE, SECCOMP_RET_ERRNO | EPERM);
        struct pv_spawn_attr a;
        char *out;

        attr_port80(&a, FIXTURE_ARGV("status"), true);
        a.seccomp_filter = prog;
        a.private_tmp = a.private_ipc = a.private_pids = a.private_users = true;
        a.hostname = "pv-full";
        a.protect_system = PV_PROTECT_SYSTEM_STRICT;
        a.new_session = true;
        a.close_other_fds = true;
        out = run_capture(&a);
        ck_assert_str_eq(out, CAPS_400 "NoNewPrivs:\t1\nSeccomp:\t2\n");
        free(out);
        /* The network namespace belongs to our user namespace, not the service's (it is
         * made first, with our privileges): the capability does not reach it.  systemd,
         * privileged, also unshares the user namespace last.  Without it, it does. */
        a.argv = FIXTURE_ARGV("bind-port", "80");
        assert_output(&a, "bind 80: Permission denied\n");
        a.private_users = false;
        assert_output(&a, "bind 80 ok\n");
        a.private_users = true;
        a.argv = FIXTURE_ARGV("getppid");
        assert_output(&a, "getppid: Operation not permitted\n");
        /* /var/tmp is writable by anyone but read-only under strict; the private /tmp is
         * writable. */
        a.argv = FIXTURE_ARGV("access-w", "/var/tmp", "/tmp");
        assert_output(&a, "/var/tmp: Read-only file system\n/tmp ok\n");
        a.argv = FIXTURE_ARGV("ids");
        assert_output(&a, "uid=65534 euid=65534 gid=65534 egid=65534 groups=65534\n");
        a.argv = FIXTURE_ARGV("hostname");
        assert_output(&a, "pv-full\n");
        free_prog(prog);
}
END_TEST

int main(void) {
        Suite *s = pv_test_suite(getenv("PV_ENOSYS_ACTIVE") ? "sandbox-clone-fallback" : "sandbox");
        const char *root = pv_test_need_root();
        TCase *tc;

        tc = pv_test_case("caps-parse");
        tcase_add_test(tc, test_caps_parse);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("caps");
        tcase_add_test(tc, test_caps_port80_nobody);
        tcase_add_test(tc, test_caps_bounding_root);
        tcase_add_test(tc, test_caps_refused_in_parent);
        tcase_add_test(tc, test_fail_capbset);
        tcase_add_test(tc, test_fail_keepcaps);
        tcase_add_test(tc, test_fail_capset);
        tcase_add_test(tc, test_fail_ambient);
        pv_test_add(s, tc, need_root_and("net"));

        tc = pv_test_case("seccomp");
        tcase_add_test(tc, test_no_new_privs);
        tcase_add_test(tc, test_fail_no_new_privs);
        tcase_add_test(tc, test_seccomp_errno);
        tcase_add_test(tc, test_seccomp_execve_denied);
        tcase_add_test(tc, test_fail_seccomp);
        pv_test_add(s, tc, root);

        tc = pv_test_case("seccomp-listener");
        tcase_add_test(tc, test_seccomp_listener);
        pv_test_add(s, tc, root ? root : need_seccomp_listener());

        tc = pv_test_case("net-uts-ipc");
        tcase_add_test(tc, test_private_network);
        tcase_add_test(tc, test_fail_loopback);
        tcase_add_test(tc, test_hostname_and_ipc);
        tcase_add_test(tc, test_fail_hostname);
        pv_test_add(s, tc, need_root_and("net") ? need_root_and("net") : need_root_and("ipc"));

        tc = pv_test_case("mounts");
        tcase_add_test(tc, test_private_tmp);
        tcase_add_test(tc, test_fail_private_tmp);
        tcase_add_test(tc, test_protect_system);
        tcase_add_test(tc, test_read_only_paths_and_submounts);
        tcase_add_test(tc, test_inaccessible_paths);
        tcase_add_test(tc, test_fail_mounts);
        pv_test_add(s, tc, need_root_and("mnt"));

        tc = pv_test_case("users");
        tcase_add_test(tc, test_private_users);
        tcase_add_test(tc, test_fail_private_users);
        tcase_add_test(tc, test_fail_id_maps);
        pv_test_add(s, tc, need_userns());

        tc = pv_test_case("pids");
        tcase_add_test(tc, test_private_pids);
        tcase_add_test(tc, test_private_pids_forwarding);
        tcase_add_test(tc, test_fail_private_pids);
        pv_test_add(s, tc, need_root_and("pid"));

        tc = pv_test_case("full");
        tcase_add_test(tc, test_full_sandbox);
        pv_test_add(s, tc, need_userns());
        return pv_test_main(s);
}
