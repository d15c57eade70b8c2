// The vDSO's parameter page (vdso/vdso.c reads it; the Sentry's Timekeeper writes it): a
// sequence lock around the TSC-to-time conversion of the program's clocks.
#ifndef CSHIM_VDSO_PARAMETERS_H
#define CSHIM_VDSO_PARAMETERS_H
#include <stdint.h>

struct cshim_vdso_parameters {
    uint32_t sequence;         // odd while the Sentry writes
    uint32_t ready;            // 0: the vDSO makes the system call
    uint64_t tsc_base;         // the TSC at the base
    int64_t monotonic_base;    // CLOCK_MONOTONIC at tsc_base, in ns
    int64_t realtime_offset;   // CLOCK_REALTIME = CLOCK_MONOTONIC + this
    uint64_t multiplier;       // ns since the base = (tsc - tsc_base) * multiplier >> 32
    uint64_t maximum_delta;    // more TSC cycles since the base than this: stale
};

#endif
