// epoll(7) in the sandbox: level- and edge-triggered entries, one-shot, EPOLLOUT, a TCP
// listener and connection on the loopback, the epoll_ctl errors, timeouts, an entry
// dropped when its file closes, and edge-triggered entries that report each file's own
// events only (pipes, AF_UNIX stream and datagram pairs, TCP). Built with `gcc -static`, run natively and under
// `runsc run`; the outputs must match.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static int wait_for(int epoll, int timeout, struct epoll_event *event) {
    memset(event, 0, sizeof *event);
    return epoll_wait(epoll, event, 1, timeout);
}

/// Two edge-triggered entries, on read ends `a` and `b` (written through `wa` and `wb`):
/// what each wait reports after a write to a, a write to b, a partial read of a, and a
/// new write to a. Linux reports only the file that had an event each time.
static void edges(const char *name, int a, int wa, int b, int wb) {
    int epoll = epoll_create1(0);
    struct epoll_event first = {.events = EPOLLIN | EPOLLET, .data.u32 = 1}, second = {.events = EPOLLIN | EPOLLET, .data.u32 = 2};
    epoll_ctl(epoll, EPOLL_CTL_ADD, a, &first);
    epoll_ctl(epoll, EPOLL_CTL_ADD, b, &second);
    struct epoll_event got[4];
    char byte;
    write(wa, "aa", 2);
    int n1 = epoll_wait(epoll, got, 4, 1000);
    unsigned which1 = n1 == 1 ? got[0].data.u32 : 0;
    write(wb, "b", 1);
    int n2 = epoll_wait(epoll, got, 4, 1000);
    unsigned which2 = n2 == 1 ? got[0].data.u32 : 0;
    read(a, &byte, 1);
    int n3 = epoll_wait(epoll, got, 4, 50);
    write(wa, "a", 1);
    int n4 = epoll_wait(epoll, got, 4, 1000);
    unsigned which4 = n4 == 1 ? got[0].data.u32 : 0;
    int n5 = epoll_wait(epoll, got, 4, 50);
    printf("edges %s: %d (%u), %d (%u), after a partial read %d, after a new write %d (%u), then %d\n", name, n1, which1, n2, which2, n3,
           n4, which4, n5);
    close(epoll);
}

int main(int argc, char **argv) {
    (void)argc;
    setvbuf(stdout, NULL, _IONBF, 0);
    int epoll = epoll_create1(EPOLL_CLOEXEC);
    int fds[2];
    pipe2(fds, O_NONBLOCK);
    struct epoll_event event = {.events = EPOLLIN, .data.u64 = 0x1122334455667788ULL};
    int added = epoll_ctl(epoll, EPOLL_CTL_ADD, fds[0], &event);
    int again = epoll_ctl(epoll, EPOLL_CTL_ADD, fds[0], &event) == -1 ? errno : 0;
    printf("ctl: add %d, add again errno %d\n", added, again);
    struct epoll_event got;
    printf("empty: %d\n", wait_for(epoll, 50, &got));
    write(fds[1], "ab", 2);
    int n = wait_for(epoll, 1000, &got);
    printf("level: %d events %#x data %#llx, again %d\n", n, got.events, (unsigned long long)got.data.u64, wait_for(epoll, 0, &got));

    event.events = EPOLLIN | EPOLLET;
    epoll_ctl(epoll, EPOLL_CTL_MOD, fds[0], &event);
    n = wait_for(epoll, 0, &got);
    char buffer[16];
    while (read(fds[0], buffer, sizeof buffer) > 0) {}
    int after_drain = wait_for(epoll, 0, &got);
    write(fds[1], "c", 1);
    printf("edge: %d, after draining %d, after a new write %d\n", n, after_drain, wait_for(epoll, 1000, &got));
    while (read(fds[0], buffer, sizeof buffer) > 0) {}

    event.events = EPOLLIN | EPOLLONESHOT;
    epoll_ctl(epoll, EPOLL_CTL_MOD, fds[0], &event);
    write(fds[1], "d", 1);
    n = wait_for(epoll, 1000, &got);
    int disarmed = wait_for(epoll, 0, &got);
    epoll_ctl(epoll, EPOLL_CTL_MOD, fds[0], &event);
    printf("oneshot: %d, then %d, re-armed %d\n", n, disarmed, wait_for(epoll, 0, &got));
    epoll_ctl(epoll, EPOLL_CTL_DEL, fds[0], NULL);

    struct epoll_event out = {.events = EPOLLOUT, .data.fd = fds[1]};
    epoll_ctl(epoll, EPOLL_CTL_ADD, fds[1], &out);
    n = wait_for(epoll, 1000, &got);
    printf("out: %d events %#x fd matches %d\n", n, got.events, got.data.fd == fds[1]);
    epoll_ctl(epoll, EPOLL_CTL_DEL, fds[1], NULL);

    int file = open(argv[0], O_RDONLY);  // this program: a regular file
    int regular = epoll_ctl(epoll, EPOLL_CTL_ADD, file, &event) == -1 ? errno : 0;
    int itself = epoll_ctl(epoll, EPOLL_CTL_ADD, epoll, &event) == -1 ? errno : 0;
    int unknown = epoll_ctl(epoll, EPOLL_CTL_DEL, fds[0], NULL) == -1 ? errno : 0;
    int bad = epoll_ctl(epoll, 99, fds[0], &event) == -1 ? errno : 0;
    printf("errors: regular file %d, itself %d, del unknown %d, bad op %d\n", regular, itself, unknown, bad);

    // Two instances that would watch each other: the second ADD is refused.
    int outer = epoll_create1(0), inner = epoll_create1(0);
    struct epoll_event nested = {.events = EPOLLIN};
    int first_nest = epoll_ctl(outer, EPOLL_CTL_ADD, inner, &nested);
    int cycle = epoll_ctl(inner, EPOLL_CTL_ADD, outer, &nested) == -1 ? errno : 0;
    printf("nesting: %d, cycle errno %d\n", first_nest, cycle);
    close(outer);
    close(inner);

    // A listener and a connection on the loopback.
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(listener, (struct sockaddr *)&address, sizeof address);
    socklen_t length = sizeof address;
    getsockname(listener, (struct sockaddr *)&address, &length);
    listen(listener, 4);
    struct epoll_event accepting = {.events = EPOLLIN, .data.fd = listener};
    epoll_ctl(epoll, EPOLL_CTL_ADD, listener, &accepting);
    int client = socket(AF_INET, SOCK_STREAM, 0);
    connect(client, (struct sockaddr *)&address, sizeof address);
    n = wait_for(epoll, 1000, &got);
    int connection = accept4(listener, NULL, NULL, SOCK_NONBLOCK);
    struct epoll_event reading = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = connection};
    epoll_ctl(epoll, EPOLL_CTL_ADD, connection, &reading);
    epoll_ctl(epoll, EPOLL_CTL_DEL, listener, NULL);
    write(client, "hello", 5);
    int data_ready = wait_for(epoll, 1000, &got);
    ssize_t got_bytes = read(connection, buffer, sizeof buffer);
    close(client);
    int hangup = wait_for(epoll, 1000, &got);
    printf("tcp: accept ready %d, data %d (%zd bytes), peer closed %d rdhup %d\n", n, data_ready, got_bytes, hangup,
           (got.events & EPOLLRDHUP) != 0);

    // Closing the last fd of a watched file drops it.
    epoll_ctl(epoll, EPOLL_CTL_DEL, connection, NULL);
    int other[2];
    pipe(other);
    struct epoll_event gone = {.events = EPOLLIN};
    epoll_ctl(epoll, EPOLL_CTL_ADD, other[0], &gone);
    write(other[1], "x", 1);
    close(other[0]);
    printf("closed: %d\n", wait_for(epoll, 50, &got));

    int p1[2], p2[2];
    pipe2(p1, O_NONBLOCK);
    pipe2(p2, O_NONBLOCK);
    edges("pipes", p1[0], p1[1], p2[0], p2[1]);
    int s1[2], s2[2];
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, s1);
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, s2);
    edges("unix streams", s1[0], s1[1], s2[0], s2[1]);
    int d1[2], d2[2];
    socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, d1);
    socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, d2);
    edges("unix datagrams", d1[0], d1[1], d2[0], d2[1]);
    // Two TCP connections on the loopback.
    int tcp_listener = socket(AF_INET, SOCK_STREAM, 0);
    address.sin_port = 0;
    bind(tcp_listener, (struct sockaddr *)&address, sizeof address);
    length = sizeof address;
    getsockname(tcp_listener, (struct sockaddr *)&address, &length);
    listen(tcp_listener, 4);
    int c1 = socket(AF_INET, SOCK_STREAM, 0), c2 = socket(AF_INET, SOCK_STREAM, 0);
    connect(c1, (struct sockaddr *)&address, sizeof address);
    int a1 = accept4(tcp_listener, NULL, NULL, SOCK_NONBLOCK);
    connect(c2, (struct sockaddr *)&address, sizeof address);
    int a2 = accept4(tcp_listener, NULL, NULL, SOCK_NONBLOCK);
    edges("tcp", a1, c1, a2, c2);

    // An edge-triggered listener: woken by each new connection, not by what still waits
    // after an accept.
    int et_listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    address.sin_port = 0;
    bind(et_listener, (struct sockaddr *)&address, sizeof address);
    length = sizeof address;
    getsockname(et_listener, (struct sockaddr *)&address, &length);
    listen(et_listener, 8);
    int et_epoll = epoll_create1(0);
    struct epoll_event incoming = {.events = EPOLLIN | EPOLLET};
    epoll_ctl(et_epoll, EPOLL_CTL_ADD, et_listener, &incoming);
    int k1 = socket(AF_INET, SOCK_STREAM, 0), k2 = socket(AF_INET, SOCK_STREAM, 0), k3 = socket(AF_INET, SOCK_STREAM, 0);
    connect(k1, (struct sockaddr *)&address, sizeof address);
    connect(k2, (struct sockaddr *)&address, sizeof address);
    struct epoll_event seen[4];
    int first_wait = epoll_wait(et_epoll, seen, 4, 1000);
    int first_accept = accept(et_listener, NULL, NULL) >= 0;
    int after_accept = epoll_wait(et_epoll, seen, 4, 50);
    connect(k3, (struct sockaddr *)&address, sizeof address);
    int after_third = epoll_wait(et_epoll, seen, 4, 1000);
    printf("edge listener: %d, accepted %d, then %d, after a new connection %d\n", first_wait, first_accept, after_accept, after_third);
    return 0;
}
