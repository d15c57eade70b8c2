// CShim: the C that Swift cannot do itself. Every symbol starts with `cshim_`.
//
// Why each piece is C:
// - syscall(2), prctl(2) and friends are variadic: Swift cannot call variadic C functions.
// - CMSG_* are macros over pointer arithmetic that Swift does not import.
// - CPU_SET and friends are macros over an opaque bit array.
// - the code between fork and exec must not run Swift (no allocation, no locks, no runtime).
#ifndef CSHIM_H
#define CSHIM_H

#include <linux/futex.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/user.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <linux/prctl.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_memfd_create
#define SYS_memfd_create 319
#endif

// Raw syscalls (variadic in libc). Each returns -1 and sets errno on failure.
static inline long cshim_futex(uint32_t *addr, int op, uint32_t val, const struct timespec *timeout, uint32_t *addr2, uint32_t val3) { return syscall(SYS_futex, addr, op, val, timeout, addr2, val3); }
static inline int cshim_memfd_create(const char *name, unsigned int flags) { return (int)syscall(SYS_memfd_create, name, flags); }
static inline int cshim_pidfd_open(pid_t pid, unsigned int flags) { return (int)syscall(SYS_pidfd_open, pid, flags); }
static inline long cshim_syscall6(long number, long a1, long a2, long a3, long a4, long a5, long a6) { return syscall(number, a1, a2, a3, a4, a5, a6); }
/// ioctl(2) with a pointer argument (glibc's is variadic).
static inline int cshim_ioctl(int fd, unsigned long request, void *argument) { return ioctl(fd, request, argument); }
static inline pid_t cshim_gettid(void) { return (pid_t)syscall(SYS_gettid); }
static inline int cshim_tgkill(pid_t tgid, pid_t tid, int sig) { return (int)syscall(SYS_tgkill, tgid, tid, sig); }
static inline int cshim_fcntl_int(int fd, int cmd, int arg) { return fcntl(fd, cmd, arg); }
static inline int cshim_prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5) { return (int)syscall(SYS_prctl, option, a2, a3, a4, a5); }

// The x86 PAUSE instruction for spin-wait loops (no Swift spelling).
static inline void cshim_cpu_relax(void) { __builtin_ia32_pause(); }

// Control-message macros (cmsg(3)).
static inline struct cmsghdr *cshim_cmsg_firsthdr(struct msghdr *msg) { return CMSG_FIRSTHDR(msg); }
static inline struct cmsghdr *cshim_cmsg_nxthdr(struct msghdr *msg, struct cmsghdr *cmsg) { return CMSG_NXTHDR(msg, cmsg); }
static inline unsigned char *cshim_cmsg_data(struct cmsghdr *cmsg) { return CMSG_DATA(cmsg); }
static inline size_t cshim_cmsg_space(size_t len) { return CMSG_SPACE(len); }
static inline size_t cshim_cmsg_len(size_t len) { return CMSG_LEN(len); }

// CPU affinity of the calling thread (CPU_SET is a macro). Returns 0 or -1 with errno.
// GNU extensions, defined in gnu.c, which needs _GNU_SOURCE; this header must not set it, or
// its libc types would differ from those of Swift's Glibc module.
int cshim_pin_thread_to_cpu(int cpu);
int cshim_allowed_cpu_count(void);
int cshim_current_cpu(void);
int cshim_pipe2(int fds[2], int flags);

// Spawning a child without running Swift after fork.
enum {
    /// The child gets SIGKILL when the spawning *thread* exits (PR_SET_PDEATHSIG): spawn with
    /// it only from a thread that lives as long as the child should.
    CSHIM_SPAWN_DIE_WITH_PARENT = 1 << 0,
    /// The child starts a new session (setsid), so terminal signals of the parent skip it.
    CSHIM_SPAWN_NEW_SESSION = 1 << 1,
};

/// fork(2) and execve(2) `path` with `argv` and `envp` (NULL-terminated). The child first
/// leaves the namespaces in `unshare_flags` (CLONE_NEW* bits for unshare(2); 0 for none).
/// With CLONE_NEWPID the program runs as pid 1 of the new namespace, under a process that
/// only waits for it and exits as it exits (the returned pid is that process's). `fd_map` holds
/// `fd_map_count` pairs (parent fd, child fd): each parent fd appears at the child fd number;
/// fds 0-2 that are not targets are inherited as they are, and every other fd is closed on
/// exec. Signal dispositions and the mask are reset in the child; CPU affinity is inherited.
/// Returns 0 and the child's pid in `*pid_out`, or the errno of the step that failed (in the
/// child, reported over a close-on-exec pipe). At most 64 pairs.
int cshim_spawn(const char *path, char *const argv[], char *const envp[], const int *fd_map, int fd_map_count, int flags, int unshare_flags, pid_t *pid_out);

// ptrace(2) is variadic in libc.
static inline long cshim_ptrace(int request, pid_t pid, void *addr, void *data) { return syscall(SYS_ptrace, request, pid, addr, data); }

#include "vdso_parameters.h"

// The sandbox's vDSO (vdso/vdso.c, built by tools/gen-vdso into vdso_image.c): an ELF
// shared object the Sentry maps into every program, its parameter page just below it.
extern const unsigned char cshim_vdso_image[];
extern const unsigned long cshim_vdso_image_size;
static inline const unsigned char *cshim_vdso_image_ptr(void) { return cshim_vdso_image; }

/// Opens a write of the parameter page at `page`: its sequence goes odd, and the vDSO reads
/// nothing from it (it retries, then makes the system call) until `cshim_vdso_publish`.
/// The fence orders the odd sequence before the TSC reads that follow.
static inline void cshim_vdso_begin(void *page) {
    struct cshim_vdso_parameters *p = (struct cshim_vdso_parameters *)page;
    uint32_t sequence = __atomic_load_n(&p->sequence, __ATOMIC_RELAXED);
    if (sequence & 1) return;
    __atomic_store_n(&p->sequence, sequence + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/// Writes `values` into the parameter page at `page` (opened by `cshim_vdso_begin`, or not)
/// and closes the write: the vDSO that read meanwhile sees an odd sequence or a changed
/// one, and reads again.
static inline void cshim_vdso_publish(void *page, const struct cshim_vdso_parameters *values) {
    struct cshim_vdso_parameters *p = (struct cshim_vdso_parameters *)page;
    cshim_vdso_begin(page);
    uint32_t sequence = __atomic_load_n(&p->sequence, __ATOMIC_RELAXED);
    __atomic_store_n(&p->ready, values->ready, __ATOMIC_RELAXED);
    __atomic_store_n(&p->tsc_base, values->tsc_base, __ATOMIC_RELAXED);
    __atomic_store_n(&p->monotonic_base, values->monotonic_base, __ATOMIC_RELAXED);
    __atomic_store_n(&p->realtime_offset, values->realtime_offset, __ATOMIC_RELAXED);
    __atomic_store_n(&p->multiplier, values->multiplier, __ATOMIC_RELAXED);
    __atomic_store_n(&p->maximum_delta, values->maximum_delta, __ATOMIC_RELAXED);
    __atomic_store_n(&p->sequence, sequence + 1, __ATOMIC_RELEASE);
}

/// The TSC, read in order with the loads before it (LFENCE; RDTSC), as the vDSO reads it.
static inline uint64_t cshim_read_tsc(void) {
    uint32_t low, high;
    __asm__ volatile("lfence; rdtsc" : "=a"(low), "=d"(high) : : "memory");
    return ((uint64_t)high << 32) | low;
}

// AF_PACKET on an interface (packet.c). Each returns -errno on failure.
/// A raw packet socket bound to interface `name`, with its index, MAC address and MTU. Every
/// frame in and out carries a virtio-net header (PACKET_VNET_HDR), so the kernel tells which
/// checksums it vouches for and takes frames whose checksum it is to finish and TCP packets it
/// is to cut into segments (checksum and segmentation offload). Frames the socket itself sent
/// are not received back (PACKET_IGNORE_OUTGOING). `buffer_bytes` sizes both socket buffers.
int cshim_packet_open(const char *name, int buffer_bytes, int *ifindex, unsigned char mac[6], int *mtu);

/// A frame received by cshim_packet_receive_batch.
struct cshim_packet_in {
    unsigned int length;
    /// The kernel vouches for the transport checksum: not yet written (a packet of the host's
    /// own, checksum offloaded), or already verified.
    int checksum_trusted;
};
/// Waits for at least one frame and takes up to `count` that are waiting (recvmmsg), frame i
/// into `buffers + i * stride` (`stride` bytes). Returns how many; frames longer than
/// `stride` are cut short (their length then says so).
int cshim_packet_receive_batch(int fd, unsigned char *buffers, size_t stride, unsigned int count, struct cshim_packet_in *frames);

/// A frame for cshim_packet_send_batch: `length` bytes at `offset` of the batch's buffer.
struct cshim_packet_out {
    size_t offset;
    unsigned int length;
    /// Nonzero: the kernel writes the checksum of the transport header at `checksum_start`
    /// (from the frame's start), whose checksum field is at `checksum_offset` within it and
    /// holds the pseudo-header's sum.
    unsigned short checksum_start, checksum_offset;
    /// Nonzero: an IPv4 TCP packet the kernel cuts into segments of this many payload bytes,
    /// each with the headers (`header_length` bytes of them, through TCP's).
    unsigned short segment_size, header_length;
};
/// Sends `count` frames with one sendmmsg; returns how many the kernel took.
int cshim_packet_send_batch(int fd, const unsigned char *buffer, const struct cshim_packet_out *frames, unsigned int count);
/// Sets interface `name` up (SIOCSIFFLAGS with IFF_UP; needs CAP_NET_ADMIN).
int cshim_interface_up(const char *name);

// The ptrace platform's stub (stub.c).
enum { CSHIM_STUB_MEMORY_FD = 3 };
/// The one clone(2) the stub's filter lets through: a new thread of the stub (CLONE_VM |
/// CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_PTRACE), which starts
/// traced by the same tracer with SIGSTOP pending.
enum { CSHIM_STUB_CLONE_FLAGS = 0x12f00 };
/// The host signal that interrupts a stub thread running the program (the only one the stub
/// does not block; its tracer sees it and drops it). SIGURG: ignored by default, so it is
/// harmless should it reach a stub thread between two tracers.
enum { CSHIM_STUB_INTERRUPT_SIGNAL = 23 };
/// Forks a stub process traced by the calling thread (PTRACE_TRACEME: its tracer is the
/// thread that forked it). The stub keeps only `memory_fd`, as fd CSHIM_STUB_MEMORY_FD, maps a
/// page at `stub_address` holding `syscall; int3`, and stops itself with SIGSTOP. It still has
/// every other mapping of this process, which the tracer removes. Returns the pid or -errno.
pid_t cshim_stub_spawn(int memory_fd, uintptr_t stub_address);

// ABI tables for the LinuxABI tests: names and values as the C headers define them.
struct cshim_abi_entry { const char *name; long value; };
const struct cshim_abi_entry *cshim_syscall_entries(int *count);
const struct cshim_abi_entry *cshim_errno_entries(int *count);
/// The value of a constant that needs _GNU_SOURCE (F_SEAL_*, ...), or LONG_MIN if unknown.
long cshim_abi_constant(const char *name);

#endif
