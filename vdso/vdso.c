// The sandbox's vDSO: clock_gettime, gettimeofday and time for the program without a system
// call, from the Sentry's timekeeper (Sources/Sentry/Kernel/Timekeeper.swift). The Sentry
// maps its parameter page read-only just below this image and keeps it current; the time is
// the parameters' base plus the TSC cycles since, scaled. What the page cannot answer (a
// clock it does not keep, parameters being rewritten for too long, or gone stale) goes to
// the Sentry as an ordinary system call, which the platform intercepts like any other.
//
// Built by tools/gen-vdso into Sources/CShim/vdso_image.c. Freestanding: no libc, no
// relocations, nothing writable.
#include <stdint.h>

#include "../Sources/CShim/include/vdso_parameters.h"

// The page just below the image (the linker script places the symbol there).
extern const volatile struct cshim_vdso_parameters vdso_parameters __attribute__((visibility("hidden")));

struct timespec_ {
    int64_t tv_sec;
    int64_t tv_nsec;
};
struct timeval_ {
    int64_t tv_sec;
    int64_t tv_usec;
};

enum { clock_realtime = 0, clock_monotonic = 1, clock_monotonic_raw = 4, clock_realtime_coarse = 5, clock_monotonic_coarse = 6, clock_boottime = 7 };
enum { sys_gettimeofday = 96, sys_time = 201, sys_clock_gettime = 228, sys_clock_getres = 229 };

static long system_call2(long number, long first, long second) {
    long result;
    __asm__ volatile("syscall" : "=a"(result) : "a"(number), "D"(first), "S"(second) : "rcx", "r11", "memory");
    return result;
}

static uint64_t read_tsc(void) {
    uint32_t low, high;
    // LFENCE keeps the read from running ahead of the loads before it.
    __asm__ volatile("lfence; rdtsc" : "=a"(low), "=d"(high) : : "memory");
    return ((uint64_t)high << 32) | low;
}

// Nanoseconds on the monotonic clock (realtime: on the realtime clock); 0 if the page cannot
// answer now.
static int read_clock(int realtime, int64_t *nanoseconds) {
    const volatile struct cshim_vdso_parameters *p = &vdso_parameters;
    for (int attempt = 0; attempt < 64; attempt++) {
        uint32_t sequence = p->sequence;
        __asm__ volatile("" ::: "memory");
        if (sequence & 1) continue;
        if (!p->ready) return 0;
        uint64_t base = p->tsc_base, multiplier = p->multiplier, maximum = p->maximum_delta;
        int64_t monotonic = p->monotonic_base, offset = p->realtime_offset;
        uint64_t tsc = read_tsc();
        __asm__ volatile("" ::: "memory");
        if (p->sequence != sequence) continue;
        uint64_t delta = tsc - base;
        if (tsc < base || delta > maximum) return 0;
        int64_t elapsed = (int64_t)(((unsigned __int128)delta * multiplier) >> 32);
        *nanoseconds = monotonic + elapsed + (realtime ? offset : 0);
        return 1;
    }
    return 0;
}

int __vdso_clock_gettime(int clock, struct timespec_ *ts) {
    int realtime;
    switch (clock) {
    case clock_realtime:
    case clock_realtime_coarse: realtime = 1; break;
    case clock_monotonic:
    case clock_monotonic_raw:
    case clock_monotonic_coarse:
    case clock_boottime: realtime = 0; break;
    default: return (int)system_call2(sys_clock_gettime, clock, (long)ts);
    }
    int64_t now;
    if (!read_clock(realtime, &now)) return (int)system_call2(sys_clock_gettime, clock, (long)ts);
    ts->tv_sec = now / 1000000000;
    ts->tv_nsec = now % 1000000000;
    return 0;
}

int __vdso_gettimeofday(struct timeval_ *tv, void *tz) {
    int64_t now;
    if (tz != 0 || !read_clock(1, &now)) return (int)system_call2(sys_gettimeofday, (long)tv, (long)tz);
    if (tv != 0) {
        tv->tv_sec = now / 1000000000;
        tv->tv_usec = now % 1000000000 / 1000;
    }
    return 0;
}

int64_t __vdso_time(int64_t *t) {
    int64_t now;
    if (!read_clock(1, &now)) return system_call2(sys_time, (long)t, 0);
    int64_t seconds = now / 1000000000;
    if (t != 0) *t = seconds;
    return seconds;
}

int __vdso_clock_getres(int clock, struct timespec_ *res) {
    return (int)system_call2(sys_clock_getres, clock, (long)res);
}

int clock_gettime(int, struct timespec_ *) __attribute__((weak, alias("__vdso_clock_gettime")));
int gettimeofday(struct timeval_ *, void *) __attribute__((weak, alias("__vdso_gettimeofday")));
int64_t time(int64_t *) __attribute__((weak, alias("__vdso_time")));
int clock_getres(int, struct timespec_ *) __attribute__((weak, alias("__vdso_clock_getres")));
