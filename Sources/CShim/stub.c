// The ptrace platform's stub process: a child that the calling thread traces and that runs
// nothing of its own. Only async-signal-safe calls between fork and the stop.
#define _GNU_SOURCE 1
#include <errno.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/rseq.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/close_range.h>
#include "CShim.h"

pid_t cshim_stub_spawn(int memory_fd, uintptr_t stub_address) {
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        // The stub dies with the Sentry, holds nothing of the Sentry's but the memory file
        // (as fd 3), and has one page of code of its own: `syscall; int3`, where the tracer
        // points it to run a host syscall on the Sentry's behalf.
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(120);
        // glibc registered an rseq area for the forking thread, in memory the tracer is about
        // to unmap: the kernel would fault the stub (and later write into the program's
        // memory). Unregister it, with the length glibc registered (32 in glibc 2.35+).
        if (__rseq_size > 0) {
            void *area = (char *)__builtin_thread_pointer() + __rseq_offset;
            if (syscall(SYS_rseq, area, 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) != 0 &&
                syscall(SYS_rseq, area, __rseq_size, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) != 0) _exit(125);
        }
        if (memory_fd != CSHIM_STUB_MEMORY_FD && dup2(memory_fd, CSHIM_STUB_MEMORY_FD) < 0) _exit(121);
        syscall(SYS_close_range, 0, CSHIM_STUB_MEMORY_FD - 1, 0);
        syscall(SYS_close_range, CSHIM_STUB_MEMORY_FD + 1, ~0U, 0);
        unsigned char *page = mmap((void *)stub_address, 4096, PROT_READ | PROT_WRITE,
                                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (page == MAP_FAILED) _exit(122);
        page[0] = 0x0f;  // syscall
        page[1] = 0x05;
        page[2] = 0xcc;  // int3
        if (mprotect(page, 4096, PROT_READ | PROT_EXEC) != 0) _exit(123);
        if (ptrace(PTRACE_TRACEME, 0, 0, 0) != 0) _exit(124);
        kill(getpid(), SIGSTOP);  // the tracer takes over here
        for (;;) pause();
    }
    int fork_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return pid < 0 ? -fork_errno : pid;
}
