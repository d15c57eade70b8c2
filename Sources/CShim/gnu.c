// GNU extensions that Swift's Glibc module does not declare (it is built without
// _GNU_SOURCE), and CPU_SET and friends, which are macros over an opaque bit array.
#define _GNU_SOURCE 1
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>
#include "CShim.h"

int cshim_pin_thread_to_cpu(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof(set), &set);
}

int cshim_allowed_cpu_count(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) != 0) return -1;
    return CPU_COUNT(&set);
}

int cshim_current_cpu(void) { return sched_getcpu(); }

int cshim_pipe2(int fds[2], int flags) { return pipe2(fds, flags); }
