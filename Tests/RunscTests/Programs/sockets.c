// AF_INET sockets over the sandbox's loopback: TCP between two processes (accept, connect,
// a large echo, shutdown and end of file), a refused connect, non-blocking connect with
// poll and SO_ERROR, UDP with its source address, getsockname/getpeername, FIONREAD.
// Built with `gcc -static`, run natively and under `runsc run`; the outputs must match.
// Ports are chosen per run (bind to port 0) so that runs never collide.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t broken_pipes;
static void count_broken_pipe(int signal) {
    (void)signal;
    broken_pipes++;
}

static struct sockaddr_in loopback(int port) {
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return address;
}

static int port_of(int fd) {
    struct sockaddr_in address;
    socklen_t length = sizeof address;
    getsockname(fd, (struct sockaddr *)&address, &length);
    return ntohs(address.sin_port);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    enum { size = 3 << 20 };
    static unsigned char sent[size], received[size];
    for (int i = 0; i < size; i++) sent[i] = (unsigned char)(i * 31 + (i >> 12));

    // A listener, and a child that echoes one connection back.
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in address = loopback(0);
    int bound = bind(listener, (struct sockaddr *)&address, sizeof address);
    int listening = listen(listener, 8);
    int port = port_of(listener);
    printf("listen: bind %d, listen %d, port chosen %d\n", bound, listening, port > 0);
    pid_t child = fork();
    if (child == 0) {
        struct sockaddr_in peer;
        socklen_t length = sizeof peer;
        int connection = accept(listener, (struct sockaddr *)&peer, &length);
        char buffer[65536];
        ssize_t n;
        long total = 0;
        while ((n = read(connection, buffer, sizeof buffer)) > 0) {
            for (ssize_t done = 0; done < n;) done += write(connection, buffer + done, n - done);
            total += n;
        }
        close(connection);
        _exit(total == size ? 0 : 1);
    }
    int client = socket(AF_INET, SOCK_STREAM, 0);
    address = loopback(port);
    int connected = connect(client, (struct sockaddr *)&address, sizeof address);
    struct sockaddr_in peer;
    socklen_t length = sizeof peer;
    getpeername(client, (struct sockaddr *)&peer, &length);
    printf("connect: %d, peer 127.0.0.1 %d, same port %d, length %d\n", connected, peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK),
           ntohs(peer.sin_port) == port, (int)length);
    // Write and read at once in slices, so neither side's buffer fills for good.
    long written = 0, got = 0;
    fcntl(client, F_SETFL, O_NONBLOCK);
    while (got < size) {
        if (written < size) {
            ssize_t n = write(client, sent + written, size - written > 65536 ? 65536 : size - written);
            if (n > 0) written += n;
            if (written == size) shutdown(client, SHUT_WR);
        }
        struct pollfd ready = {client, POLLIN, 0};
        poll(&ready, 1, 1000);
        ssize_t n = read(client, received + got, size - got);
        if (n > 0) got += n;
        if (n == 0) break;
    }
    int status;
    waitpid(child, &status, 0);
    char end;
    printf("echo: %ld bytes back, equal %d, then end of file %zd, server exited %d\n", got, memcmp(sent, received, size) == 0,
           read(client, &end, 1), WEXITSTATUS(status));
    close(client);

    // Nobody listens: refused, at once and after a non-blocking connect.
    close(listener);
    int refused = socket(AF_INET, SOCK_STREAM, 0);
    int result = connect(refused, (struct sockaddr *)&address, sizeof address);
    printf("closed port: connect %d errno %d\n", result, errno);
    close(refused);
    int pending = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    result = connect(pending, (struct sockaddr *)&address, sizeof address);
    int in_progress = result == -1 && errno == EINPROGRESS;
    struct pollfd writable = {pending, POLLOUT, 0};
    poll(&writable, 1, 1000);
    int error = 0;
    socklen_t error_length = sizeof error;
    getsockopt(pending, SOL_SOCKET, SO_ERROR, &error, &error_length);
    printf("non-blocking connect: in progress %d, then SO_ERROR %d\n", in_progress || (result == -1 && errno == ECONNREFUSED), error == ECONNREFUSED || (result == -1 && errno == ECONNREFUSED));
    close(pending);

    // UDP: a datagram carries its source; FIONREAD says its size.
    int server = socket(AF_INET, SOCK_DGRAM, 0);
    address = loopback(0);
    bind(server, (struct sockaddr *)&address, sizeof address);
    int udp_port = port_of(server);
    int sender = socket(AF_INET, SOCK_DGRAM, 0);
    address = loopback(udp_port);
    ssize_t sent_bytes = sendto(sender, "datagram", 8, 0, (struct sockaddr *)&address, sizeof address);
    struct pollfd readable = {server, POLLIN, 0};
    poll(&readable, 1, 1000);
    int waiting = 0;
    ioctl(server, FIONREAD, &waiting);
    char datagram[64] = {0};
    struct sockaddr_in source;
    socklen_t source_length = sizeof source;
    ssize_t got_bytes = recvfrom(server, datagram, sizeof datagram, 0, (struct sockaddr *)&source, &source_length);
    printf("udp: sent %zd, FIONREAD %d, got %zd \"%s\", from the sender's port %d\n", sent_bytes, waiting, got_bytes, datagram,
           ntohs(source.sin_port) == port_of(sender));
    char nothing[8];
    printf("udp: nothing more, MSG_DONTWAIT errno %d\n", recv(server, nothing, sizeof nothing, MSG_DONTWAIT) == -1 ? errno : 0);

    // MSG_PEEK: the bytes stay for the next receive, on a stream and on a datagram socket.
    int peek_listener = socket(AF_INET, SOCK_STREAM, 0);
    address = loopback(0);
    bind(peek_listener, (struct sockaddr *)&address, sizeof address);
    listen(peek_listener, 1);
    int peek_client = socket(AF_INET, SOCK_STREAM, 0);
    address = loopback(port_of(peek_listener));
    connect(peek_client, (struct sockaddr *)&address, sizeof address);
    int peek_server = accept(peek_listener, NULL, NULL);
    send(peek_client, "peekaboo", 8, 0);
    char peeked[16] = {0}, taken[16] = {0};
    struct pollfd peekable = {peek_server, POLLIN, 0};
    poll(&peekable, 1, 1000);
    ssize_t peeked_bytes = recv(peek_server, peeked, 4, MSG_PEEK);
    ssize_t taken_bytes = recv(peek_server, taken, sizeof taken - 1, 0);
    printf("peek: stream %zd \"%s\" then %zd \"%s\"", peeked_bytes, peeked, taken_bytes, taken);
    struct tcp_info info;
    memset(&info, 0xff, sizeof info);
    socklen_t info_length = sizeof info;
    int info_result = getsockopt(peek_server, IPPROTO_TCP, TCP_INFO, &info, &info_length);
    printf("; tcp_info %d length %d established %d mss set %d cwnd set %d", info_result, info_length == sizeof info,
           info.tcpi_state == TCP_ESTABLISHED, info.tcpi_snd_mss > 0 && info.tcpi_snd_mss < 70000, info.tcpi_snd_cwnd > 0);
    // TCP_INFO of a listener with a connection waiting, of an unconnected stream socket, of a UDP socket.
    int waiting_client = socket(AF_INET, SOCK_STREAM, 0);
    address = loopback(port_of(peek_listener));
    connect(waiting_client, (struct sockaddr *)&address, sizeof address);
    struct pollfd acceptable = {peek_listener, POLLIN, 0};
    poll(&acceptable, 1, 1000);
    info_length = sizeof info;
    int listener_info = getsockopt(peek_listener, IPPROTO_TCP, TCP_INFO, &info, &info_length);
    printf("; listener %d state %d waiting %u", listener_info, info.tcpi_state, info.tcpi_unacked);
    int unconnected = socket(AF_INET, SOCK_STREAM, 0);
    info_length = sizeof info;
    int unconnected_info = getsockopt(unconnected, IPPROTO_TCP, TCP_INFO, &info, &info_length);
    printf("; unconnected %d state %d rto %u", unconnected_info, info.tcpi_state, info.tcpi_rto);
    info_length = sizeof info;
    int udp_info = getsockopt(sender, IPPROTO_TCP, TCP_INFO, &info, &info_length);
    printf("; udp %d errno %d", udp_info, udp_info == -1 ? errno : 0);
    int nodelay = -1;
    socklen_t nodelay_length = sizeof nodelay;
    int udp_set = setsockopt(sender, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int udp_set_errno = errno;
    int udp_get = getsockopt(sender, IPPROTO_TCP, TCP_NODELAY, &nodelay, &nodelay_length);
    printf("; udp nodelay set %d errno %d get %d errno %d", udp_set, udp_set_errno, udp_get, errno);
    // An accepted socket inherits the listener's TCP_NODELAY and SO_KEEPALIVE.
    int options_listener = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(options_listener, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(options_listener, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    address = loopback(0);
    bind(options_listener, (struct sockaddr *)&address, sizeof address);
    listen(options_listener, 1);
    int options_client = socket(AF_INET, SOCK_STREAM, 0);
    address = loopback(port_of(options_listener));
    connect(options_client, (struct sockaddr *)&address, sizeof address);
    int options_server = accept(options_listener, NULL, NULL);
    int keepalive = -1;
    socklen_t keepalive_length = sizeof keepalive;
    nodelay_length = sizeof nodelay;
    getsockopt(options_server, IPPROTO_TCP, TCP_NODELAY, &nodelay, &nodelay_length);
    getsockopt(options_server, SOL_SOCKET, SO_KEEPALIVE, &keepalive, &keepalive_length);
    printf("; accepted nodelay %d keepalive %d", nodelay != 0, keepalive != 0);
    close(options_server);
    close(options_client);
    close(options_listener);
    close(unconnected);
    close(waiting_client);
    sendto(sender, "again", 5, 0, (struct sockaddr *)&(struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = htons(udp_port)}, sizeof(struct sockaddr_in));
    poll(&readable, 1, 1000);
    char first[16] = {0}, second[16] = {0};
    ssize_t first_bytes = recv(server, first, sizeof first - 1, MSG_PEEK);
    ssize_t second_bytes = recv(server, second, sizeof second - 1, 0);
    printf("; datagram %zd \"%s\" then %zd \"%s\", then nothing %d\n", first_bytes, first, second_bytes, second,
           recv(server, nothing, sizeof nothing, MSG_DONTWAIT | MSG_PEEK) == -1 && errno == EAGAIN);

    // A send on a stream whose sending side is shut: EPIPE, and SIGPIPE unless MSG_NOSIGNAL.
    signal(SIGPIPE, count_broken_pipe);
    int shut = socket(AF_INET, SOCK_STREAM, 0);
    int shut_listener = socket(AF_INET, SOCK_STREAM, 0);
    address = loopback(0);
    bind(shut_listener, (struct sockaddr *)&address, sizeof address);
    listen(shut_listener, 1);
    address = loopback(port_of(shut_listener));
    connect(shut, (struct sockaddr *)&address, sizeof address);
    shutdown(shut, SHUT_WR);
    ssize_t plain = send(shut, "x", 1, 0);
    int plain_errno = errno;
    int after_plain = broken_pipes;
    ssize_t quiet = send(shut, "x", 1, MSG_NOSIGNAL);
    int quiet_errno = errno;
    struct iovec byte = {"x", 1};
    struct msghdr message = {.msg_iov = &byte, .msg_iovlen = 1};
    ssize_t by_message = sendmsg(shut, &message, 0);
    int message_errno = errno;
    printf("sigpipe: send %zd errno %d signals %d; MSG_NOSIGNAL %zd errno %d signals %d; sendmsg %zd errno %d signals %d\n", plain,
           plain_errno, after_plain, quiet, quiet_errno, after_plain, by_message, message_errno, broken_pipes);
    int pair[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, pair);
    close(pair[1]);
    ssize_t unix_sent = send(pair[0], "x", 1, 0);
    printf("sigpipe: AF_UNIX send %zd errno %d signals %d\n", unix_sent, errno, broken_pipes);

    // A connected UDP socket whose peer's port is closed: the port unreachable that comes
    // back is ECONNREFUSED (with POLLERR), once; an unconnected one hears nothing.
    int closed = socket(AF_INET, SOCK_DGRAM, 0);
    address = loopback(0);
    bind(closed, (struct sockaddr *)&address, sizeof address);
    address = loopback(port_of(closed));
    close(closed);
    int udp_refused = socket(AF_INET, SOCK_DGRAM, 0), unconnected_udp = socket(AF_INET, SOCK_DGRAM, 0);
    connect(udp_refused, (struct sockaddr *)&address, sizeof address);
    ssize_t udp_refused_sent = send(udp_refused, "x", 1, 0);
    ssize_t unconnected_sent = sendto(unconnected_udp, "y", 1, 0, (struct sockaddr *)&address, sizeof address);
    struct pollfd refusal = {udp_refused, POLLIN, 0};
    int refusal_polled = poll(&refusal, 1, 1000);
    char refusal_byte;
    ssize_t first_recv = recv(udp_refused, &refusal_byte, 1, MSG_DONTWAIT);
    int first_errno = errno;
    ssize_t second_recv = recv(udp_refused, &refusal_byte, 1, MSG_DONTWAIT);
    int second_errno = errno;
    struct pollfd after_refusal = {udp_refused, POLLIN, 0};
    int polled_after = poll(&after_refusal, 1, 0);
    struct pollfd unconnected_poll = {unconnected_udp, POLLIN, 0};
    printf("udp refused: send %zd, poll %d revents %#x, recv %zd errno %d, again %zd errno %d, then poll %d; unconnected send %zd, poll %d\n",
           udp_refused_sent, refusal_polled, refusal.revents, first_recv, first_errno, second_recv, second_errno, polled_after, unconnected_sent,
           poll(&unconnected_poll, 1, 100));
    return 0;
}
