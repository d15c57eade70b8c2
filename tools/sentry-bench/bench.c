// The Sentry benchmark's program: times a syscall-heavy loop and prints ns per operation.
// Built static (gcc -static), run natively, under `runsc run`, and under gVisor's runsc.
//   bench getpid N        N getpid calls
//   bench openclose N F   N open+close of F
//   bench read F          one sequential read of F in 1 MiB chunks (reports MB/s)
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc >= 3 && strcmp(argv[1], "getpid") == 0) {
        long n = atol(argv[2]);
        double start = now();
        for (long i = 0; i < n; i++) syscall(SYS_getpid);
        printf("getpid %.0f\n", (now() - start) / n);
    } else if (argc >= 4 && strcmp(argv[1], "openclose") == 0) {
        long n = atol(argv[2]);
        double start = now();
        for (long i = 0; i < n; i++) {
            int fd = open(argv[3], O_RDONLY);
            if (fd < 0) { perror("open"); return 1; }
            close(fd);
        }
        printf("openclose %.0f\n", (now() - start) / n);
    } else if (argc >= 3 && strcmp(argv[1], "read") == 0) {
        static char buffer[1 << 20];
        int fd = open(argv[2], O_RDONLY);
        if (fd < 0) { perror("open"); return 1; }
        double start = now();
        long total = 0, n;
        while ((n = read(fd, buffer, sizeof buffer)) > 0) total += n;
        double elapsed = now() - start;
        printf("read %.0f\n", total / (elapsed / 1e9) / 1e6);
        close(fd);
    } else {
        fprintf(stderr, "usage: bench getpid N | openclose N FILE | read FILE\n");
        return 2;
    }
    return 0;
}
