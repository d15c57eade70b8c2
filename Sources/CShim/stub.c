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
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include "CShim.h"

/// Installs the stub's seccomp filter: a syscall runs only if it comes from the instruction
/// after the `syscall` of the stub's code page (so only the Sentry's injected calls run) and
/// is one of the few the Sentry injects (clone only with the flags of a new stub thread);
/// anything else kills the stub. The program's own syscalls never reach the filter:
/// PTRACE_SYSEMU skips them before seccomp looks.
static int install_stub_filter(uintptr_t stub_address) {
    uint64_t ip = stub_address + 2;
    enum { allow = 19, clone_check = 20 };
    struct sock_filter program[] = {
        /* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        /* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        /* 2 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        /* 3 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer)),
        /* 4 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)ip, 1, 0),
        /* 5 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        /* 6 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer) + 4),
        /* 7 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)(ip >> 32), 1, 0),
        /* 8 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        /* 9 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        /* 10 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mmap, allow - 11, 0),
        /* 11 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_munmap, allow - 12, 0),
        /* 12 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mprotect, allow - 13, 0),
        /* 13 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_madvise, allow - 14, 0),
        /* 14 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_kill, allow - 15, 0),
        /* 15 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_exit_group, allow - 16, 0),
        /* 16 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_exit, allow - 17, 0),
        /* 17 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, clone_check - 18, 0),
        /* 18 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        /* 19 allow */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        /* 20 clone_check */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
        /* 21 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, CSHIM_STUB_CLONE_FLAGS, 0, 3),
        /* 22 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]) + 4),
        /* 23 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
        /* 24 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        /* 25 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    };
    struct sock_fprog fprog = {.len = sizeof(program) / sizeof(program[0]), .filter = program};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
    return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog);
}

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
        // A parent that died before the prctl took effect shows as another parent pid; in a new
        // pid namespace (the stub is its init) the parent is outside and shows as 0.
        pid_t seen = getppid();
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || (seen != parent && seen != 0)) _exit(120);
        // glibc registered an rseq area for the forking thread, in memory the tracer is about
        // to unmap: the kernel would fault the stub (and later write into the program's
        // memory). Unregister it, with the length glibc registered (32 in glibc 2.35+).
        if (__rseq_size > 0) {
            void *area = (char *)__builtin_thread_pointer() + __rseq_offset;
            if (syscall(SYS_rseq, area, 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) != 0 &&
                syscall(SYS_rseq, area, __rseq_size, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) != 0) _exit(125);
        }
        // Every host signal stays blocked in the stub but the tracer's interrupt (faults are
        // forced through regardless), so none but that one stops the program.
        sigset_t interrupt;
        sigemptyset(&interrupt);
        sigaddset(&interrupt, CSHIM_STUB_INTERRUPT_SIGNAL);
        if (sigprocmask(SIG_UNBLOCK, &interrupt, NULL) != 0) _exit(127);
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
        long self = getpid();
        if (install_stub_filter(stub_address) != 0) _exit(126);
        // From here only the code page may make syscalls: stop there (kill(self, SIGSTOP)),
        // and the tracer takes over. As pid 1 of a pid namespace the stub ignores its own
        // SIGSTOP and stops at the int3 after it instead.
        register long number __asm__("rax") = SYS_kill;
        register long target __asm__("rdi") = self;
        register long signal_number __asm__("rsi") = SIGSTOP;
        __asm__ volatile("call *%[page]"
                         : "+r"(number)
                         : [page] "r"(stub_address), "r"(target), "r"(signal_number)
                         : "rcx", "r11", "memory");
        for (;;) {}
    }
    int fork_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return pid < 0 ? -fork_errno : pid;
}
