// A static program with no libc: raw syscalls only. Built by the Sentry tests with
// `gcc -static -nostdlib -ffreestanding -O2`, run natively and in the Sentry.
//
// It prints a greeting, then the results of getpid, of open("/etc/hostname") and of an
// unmapped write buffer, then exits with status 7. In the Sentry, getpid is 1, and open
// fails with ENOSYS: no file system is served yet, and the host's file is never opened.

static long sys3(long n, long a, long b, long c) {
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return r;
}

static void put(const char *s) {
    long n = 0;
    while (s[n]) n++;
    sys3(1, 1, (long)s, n);
}

static void put_number(long value) {
    char buffer[24];
    int i = 23;
    int negative = value < 0;
    unsigned long v = negative ? -(unsigned long)value : (unsigned long)value;
    buffer[i] = 0;
    do {
        buffer[--i] = '0' + v % 10;
        v /= 10;
    } while (v);
    if (negative) buffer[--i] = '-';
    put(buffer + i);
}

void _start(void) {
    put("hello from the sandbox\n");
    put("getpid ");
    put_number(sys3(39, 0, 0, 0));
    put("\nopen ");
    put_number(sys3(2, (long)"/etc/hostname", 0, 0));
    put("\nwrite to an unmapped buffer ");
    put_number(sys3(1, 1, 0x10000, 5));
    put("\nwrite to fd 5 ");
    put_number(sys3(1, 5, (long)"x", 1));
    put("\n");
    sys3(231, 7, 0, 0);
    for (;;) {}
}
