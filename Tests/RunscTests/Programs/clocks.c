// The program's clocks through the vDSO and through the system call: one clock, whichever
// way a program asks. Prints only what native Linux prints too.
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int64_t ns(struct timespec t) { return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec; }

// Reads `clock` `rounds` times as the library's reading, the system call's, the library's
// again; returns how many of those triples were out of order.
static long out_of_order(clockid_t clock, int rounds) {
    long backwards = 0;
    for (int i = 0; i < rounds; i++) {
        struct timespec a, b, c;
        clock_gettime(clock, &a);
        syscall(SYS_clock_gettime, clock, &b);
        clock_gettime(clock, &c);
        if (ns(b) < ns(a) || ns(c) < ns(b)) backwards++;
    }
    return backwards;
}

int main(void) {
    printf("vdso: AT_SYSINFO_EHDR set %d\n", getauxval(AT_SYSINFO_EHDR) != 0);
    printf("monotonic: readings out of order %ld\n", out_of_order(CLOCK_MONOTONIC, 100000));
    long apart = out_of_order(CLOCK_REALTIME, 1000);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    time_t library = time(NULL), direct = syscall(SYS_time, NULL);
    printf("realtime: readings out of order %ld, gettimeofday and time agree %d\n", apart,
           tv.tv_sec <= library && library <= direct && direct - tv.tv_sec <= 1);
    // An absolute sleep ends at or after its deadline on the clock the program reads.
    long early = 0;
    for (int i = 0; i < 20; i++) {
        struct timespec deadline, after;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_nsec += 2000000;
        if (deadline.tv_nsec >= 1000000000) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000;
        }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL);
        clock_gettime(CLOCK_MONOTONIC, &after);
        if (ns(after) < ns(deadline)) early++;
    }
    printf("sleep: absolute sleeps that ended early %ld\n", early);
    // /proc/self/maps names the vDSO, its data page and the stack, as Linux does.
    char maps[16384] = {0};
    FILE *file = fopen("/proc/self/maps", "r");
    size_t got = file ? fread(maps, 1, sizeof maps - 1, file) : 0;
    if (file) fclose(file);
    printf("maps: read %d, [vdso] %d, [vvar] %d, [stack] %d\n", got > 0, strstr(maps, "[vdso]") != NULL, strstr(maps, "[vvar]") != NULL,
           strstr(maps, "[stack]") != NULL);
    // A clock the vDSO does not keep goes to the system call, which refuses a bad one.
    struct timespec unknown;
    int result = clock_gettime(12345, &unknown);
    printf("unknown clock: %d errno %d\n", result, result == -1 ? errno : 0);
    return 0;
}
