// epoll(7) in the sandbox: level- and edge-triggered entries, one-shot, EPOLLOUT, a TCP
// listener and connection on the loopback, the epoll_ctl errors, timeouts, and an entry
// dropped when its file closes. Built with `gcc -static`, run natively and under
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
    return 0;
}
