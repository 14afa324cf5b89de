/* SPDX-License-Identifier: MIT */

/* stamp: the service of bench/daemon-bench (issue 3).
 *
 *   stamp crash FILE   append a START record, then an EXIT record, then exit 1
 *   stamp pause FILE   append a START record, then sleep in pause() until a signal
 *                      (SIGTERM keeps its default disposition: it kills)
 *
 * A record is 16 bytes: the CLOCK_MONOTONIC time in ns (START: taken first thing in main;
 * EXIT: taken just before the last write and _exit), the pid, and the kind.  FILE must
 * exist; it is opened O_APPEND, so that records of many processes never overwrite each
 * other (one write(2) of 16 bytes to a regular file is atomic with respect to the append
 * offset).  It writes nothing to stdout or stderr unless something fails (exit 2 or 3).
 *
 * Two builds of this one file (bench/meson.build):
 *
 *   stamp          glibc, linked -static, like bench/tiny: no dynamic loading, but
 *                  glibc's static start-up still runs before main (on an x86 virtual
 *                  machine its CPU feature and cache probing executes CPUID many times,
 *                  each a trap to the hypervisor: some 0.4 ms per start on the machine
 *                  of docs/benchmarks.md).
 *   stamp-nolibc   -DSTAMP_NOLIBC -nostdlib -static, x86_64 only: its own _start and raw
 *                  system calls, so that START is taken a few instructions after execve
 *                  returns to user space and the fixture costs next to nothing.  It shows
 *                  the supervisor's own share undiluted.
 */

#include <fcntl.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>

/* Keep in step with struct stamp_record in bench/daemon-bench.c. */
struct stamp_record {
        uint64_t ns;
        int32_t pid;
        uint32_t kind; /* 1: START, 2: EXIT */
};

_Static_assert(sizeof(struct stamp_record) == 16, "struct stamp_record must be 16 bytes");

#ifdef STAMP_NOLIBC

#ifndef __x86_64__
#error "STAMP_NOLIBC is implemented for x86_64 only"
#endif

/* The kernel enters at _start with argc at (%rsp) and argv after it. */
__asm__(".text\n"
        ".globl _start\n"
        ".type _start, @function\n"
        "_start:\n"
        "\txor %ebp, %ebp\n"
        "\tmov (%rsp), %edi\n"
        "\tlea 8(%rsp), %rsi\n"
        "\tand $-16, %rsp\n"
        "\tcall main\n"
        "\tmov %eax, %edi\n"
        "\tmov $231, %eax\n" /* exit_group */
        "\tsyscall\n"
        "\thlt\n");

static long sys3(long n, long a, long b, long c)
{
        long r;

        __asm__ volatile("syscall"
                         : "=a"(r)
                         : "a"(n), "D"(a), "S"(b), "d"(c)
                         : "rcx", "r11", "memory");
        return r;
}

static uint64_t now_ns(void)
{
        struct timespec ts;

        sys3(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&ts, 0);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int x_open_append(const char *path)
{
        return (int)sys3(SYS_open, (long)path, O_WRONLY | O_APPEND | O_CLOEXEC, 0);
}

static long x_write(int fd, const void *buf, unsigned long len)
{
        return sys3(SYS_write, fd, (long)buf, (long)len);
}

static int x_getpid(void)
{
        return (int)sys3(SYS_getpid, 0, 0, 0);
}

static void x_close(int fd)
{
        sys3(SYS_close, fd, 0, 0);
}

static void x_pause(void)
{
        sys3(SYS_pause, 0, 0, 0);
}

static void x_exit(int status) __attribute__((noreturn));

static void x_exit(int status)
{
        for (;;)
                sys3(SYS_exit_group, status, 0, 0);
}

#else /* glibc */

#include <unistd.h>

static uint64_t now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int x_open_append(const char *path)
{
        return open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
}

static long x_write(int fd, const void *buf, unsigned long len)
{
        return (long)write(fd, buf, len);
}

static int x_getpid(void)
{
        return (int)getpid();
}

static void x_close(int fd)
{
        close(fd);
}

static void x_pause(void)
{
        pause();
}

static void x_exit(int status) __attribute__((noreturn));

static void x_exit(int status)
{
        _exit(status);
}

#endif

static unsigned long x_strlen(const char *s)
{
        unsigned long n = 0;

        while (s[n])
                n++;
        return n;
}

static int x_streq(const char *a, const char *b)
{
        while (*a && *a == *b)
                a++, b++;
        return *a == *b;
}

static void fail(const char *what)
{
        x_write(2, "stamp: ", 7);
        x_write(2, what, x_strlen(what));
        x_write(2, "\n", 1);
}

static int put(int fd, uint64_t ns, uint32_t kind)
{
        struct stamp_record rec;

        rec.ns = ns;
        rec.pid = (int32_t)x_getpid();
        rec.kind = kind;
        return x_write(fd, &rec, sizeof(rec)) == (long)sizeof(rec) ? 0 : -1;
}

int main(int argc, char **argv)
{
        uint64_t t_start = now_ns();
        int fd;

        if (argc != 3 || (!x_streq(argv[1], "crash") && !x_streq(argv[1], "pause"))) {
                fail("usage: stamp crash|pause FILE");
                return 2;
        }
        fd = x_open_append(argv[2]);
        if (fd < 0 || put(fd, t_start, 1) < 0) {
                fail("cannot append to the stamp file");
                return 3;
        }
        if (argv[1][0] == 'p') {
                x_close(fd);
                for (;;)
                        x_pause();
        }
        if (put(fd, now_ns(), 2) < 0) {
                fail("cannot append to the stamp file");
                return 3;
        }
        x_exit(1); /* the crash: Restart=always (or on-failure) brings the next one */
}
