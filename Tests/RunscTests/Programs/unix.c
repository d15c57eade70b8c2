// AF_UNIX socket pairs in the sandbox: a stream between processes (shutdown and end of
// file), datagram boundaries and truncation, an fd passed with SCM_RIGHTS (and used by the
// receiver), sendmsg/recvmsg iovecs, EPIPE once the peer is gone, poll readiness.
// Built with `gcc -static`, run natively and under `runsc run`; the outputs must match.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    signal(SIGPIPE, SIG_IGN);
    int pair[2];
    printf("socketpair: %d\n", socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair));
    pid_t child = fork();
    if (child == 0) {
        close(pair[0]);
        char buffer[64];
        ssize_t n = read(pair[1], buffer, sizeof buffer);
        for (ssize_t i = 0; i < n; i++) buffer[i] = buffer[i] >= 'a' && buffer[i] <= 'z' ? buffer[i] - 32 : buffer[i];
        write(pair[1], buffer, n);
        shutdown(pair[1], SHUT_WR);
        _exit(0);
    }
    close(pair[1]);
    write(pair[0], "hello, child", 12);
    char buffer[64] = {0};
    ssize_t n = read(pair[0], buffer, sizeof buffer);
    ssize_t end = read(pair[0], buffer + 40, 8);
    int status;
    waitpid(child, &status, 0);
    printf("stream: \"%.*s\" (%zd), then end of file %zd\n", (int)n, buffer, n, end);
    char one;
    printf("after the peer closed: write errno %d\n", write(pair[0], "x", 1) == -1 ? errno : 0);
    (void)one;
    close(pair[0]);

    int datagrams[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, datagrams);
    send(datagrams[0], "first", 5, 0);
    send(datagrams[0], "second message", 14, 0);
    char small[4];
    ssize_t a = recv(datagrams[1], small, sizeof small, 0);
    struct pollfd ready = {datagrams[1], POLLIN, 0};
    int readable = poll(&ready, 1, 0);
    char whole[32] = {0};
    ssize_t b = recv(datagrams[1], whole, sizeof whole, 0);
    printf("datagrams: %zd \"%.*s\" (cut), readable %d, %zd \"%s\"\n", a, (int)a, small, readable, b, whole);
    printf("nothing more: errno %d\n", recv(datagrams[1], whole, sizeof whole, MSG_DONTWAIT) == -1 ? errno : 0);

    // An fd through the pair: the receiver reads a pipe the sender made.
    int pipe_fds[2];
    pipe(pipe_fds);
    write(pipe_fds[1], "through the pipe", 16);
    char control[CMSG_SPACE(sizeof(int))];
    memset(control, 0, sizeof control);
    struct iovec vector[2] = {{"fd", 2}, {" here", 5}};
    struct msghdr message = {.msg_iov = vector, .msg_iovlen = 2, .msg_control = control, .msg_controllen = sizeof control};
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(header), &pipe_fds[0], sizeof(int));
    ssize_t sent = sendmsg(datagrams[0], &message, 0);
    close(pipe_fds[0]);
    char text[16] = {0}, rest[16] = {0};
    struct iovec into[2] = {{text, 4}, {rest, sizeof rest}};
    char received_control[CMSG_SPACE(sizeof(int))];
    struct msghdr incoming = {.msg_iov = into, .msg_iovlen = 2, .msg_control = received_control, .msg_controllen = sizeof received_control};
    ssize_t got = recvmsg(datagrams[1], &incoming, MSG_CMSG_CLOEXEC);
    struct cmsghdr *arrived = CMSG_FIRSTHDR(&incoming);
    int passed = -1;
    if (arrived && arrived->cmsg_type == SCM_RIGHTS) memcpy(&passed, CMSG_DATA(arrived), sizeof passed);
    char piped[32] = {0};
    ssize_t from_pipe = read(passed, piped, sizeof piped);
    printf("rights: sent %zd, got %zd \"%s|%s\", fd passed %d, cloexec %d, reads \"%s\"\n", sent, got, text, rest, passed >= 0,
           (fcntl(passed, F_GETFD) & FD_CLOEXEC) != 0, piped);
    (void)from_pipe;

    // A named socket: bind to a path, listen, a child connects, both talk; the path is a
    // socket file; a second bind to it is EADDRINUSE; a path that is no socket refuses.
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    snprintf(address.sun_path, sizeof address.sun_path, "/tmp/runsc-unix-%d", (int)getpid());
    int listener = socket(AF_UNIX, SOCK_STREAM, 0);
    int bound = bind(listener, (struct sockaddr *)&address, sizeof address);
    int listening = listen(listener, 4);
    struct stat info;
    stat(address.sun_path, &info);
    int again = socket(AF_UNIX, SOCK_STREAM, 0);
    int in_use = bind(again, (struct sockaddr *)&address, sizeof address) == -1 ? errno : 0;
    printf("named: bind %d, listen %d, a socket file %d, second bind errno %d\n", bound, listening, S_ISSOCK(info.st_mode), in_use);
    pid_t talker = fork();
    if (talker == 0) {
        int client = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(client, (struct sockaddr *)&address, sizeof address) != 0) _exit(1);
        write(client, "ping", 4);
        char answer[8] = {0};
        read(client, answer, sizeof answer);
        _exit(strcmp(answer, "pong") == 0 ? 7 : 2);
    }
    int connection = accept(listener, NULL, NULL);
    char request[8] = {0};
    read(connection, request, sizeof request);
    write(connection, "pong", 4);
    waitpid(talker, &status, 0);
    struct sockaddr_un name;
    socklen_t name_length = sizeof name;
    getsockname(listener, (struct sockaddr *)&name, &name_length);
    printf("named: got \"%s\", child exited %d, getsockname matches %d\n", request, WEXITSTATUS(status),
           strcmp(name.sun_path, address.sun_path) == 0);
    close(connection);
    close(listener);
    int late = socket(AF_UNIX, SOCK_STREAM, 0);
    int refused = connect(late, (struct sockaddr *)&address, sizeof address) == -1 ? errno : 0;
    unlink(address.sun_path);
    struct sockaddr_un nowhere = {.sun_family = AF_UNIX};
    snprintf(nowhere.sun_path, sizeof nowhere.sun_path, "/tmp/runsc-no-socket-%d", (int)getpid());
    int missing = connect(late, (struct sockaddr *)&nowhere, sizeof nowhere) == -1 ? errno : 0;
    printf("named: after close errno %d, missing path errno %d\n", refused, missing);

    // The abstract namespace: no file, the same connect and accept.
    struct sockaddr_un abstract = {.sun_family = AF_UNIX};
    int length = snprintf(abstract.sun_path + 1, sizeof abstract.sun_path - 1, "runsc-abstract-%d", (int)getpid()) + 1;
    socklen_t abstract_length = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + length);
    int server = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    bind(server, (struct sockaddr *)&abstract, abstract_length);
    listen(server, 1);
    int client = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    int connected = connect(client, (struct sockaddr *)&abstract, abstract_length);
    int peer = accept(server, NULL, NULL);
    send(client, "one", 3, 0);
    send(client, "two", 3, 0);
    char first[8] = {0};
    ssize_t first_length = recv(peer, first, sizeof first, 0);
    printf("abstract: connect %d, seqpacket keeps boundaries %zd \"%s\"\n", connected, first_length, first);
    // Names on a connection: the connector's peer and the accepted end are the listener's
    // name; the accepted end's peer (an unbound connector) is unnamed.
    struct sockaddr_un seen;
    socklen_t seen_length = sizeof seen;
    getpeername(client, (struct sockaddr *)&seen, &seen_length);
    int client_peer = seen_length == abstract_length && memcmp(seen.sun_path, abstract.sun_path, (size_t)length) == 0;
    seen_length = sizeof seen;
    getsockname(peer, (struct sockaddr *)&seen, &seen_length);
    int accepted_own = seen_length == abstract_length && memcmp(seen.sun_path, abstract.sun_path, (size_t)length) == 0;
    seen_length = sizeof seen;
    int accepted_peer = getpeername(peer, (struct sockaddr *)&seen, &seen_length) == 0 && seen_length == sizeof(sa_family_t);
    printf("names: connector's peer %d, accepted end's own %d, accepted end's peer unnamed %d\n", client_peer, accepted_own, accepted_peer);

    // Named datagram sockets: an unnamed sender, then a named one answered at its name.
    struct sockaddr_un server_name = {.sun_family = AF_UNIX}, client_name = {.sun_family = AF_UNIX};
    snprintf(server_name.sun_path, sizeof server_name.sun_path, "/tmp/runsc-dgram-server-%d", (int)getpid());
    snprintf(client_name.sun_path, sizeof client_name.sun_path, "/tmp/runsc-dgram-client-%d", (int)getpid());
    int receiver = socket(AF_UNIX, SOCK_DGRAM, 0);
    bind(receiver, (struct sockaddr *)&server_name, sizeof server_name);
    int sender = socket(AF_UNIX, SOCK_DGRAM, 0);
    ssize_t anonymous = sendto(sender, "anonymous", 9, 0, (struct sockaddr *)&server_name, sizeof server_name);
    struct sockaddr_un from;
    socklen_t from_length = sizeof from;
    char datagram[32] = {0};
    ssize_t got_anonymous = recvfrom(receiver, datagram, sizeof datagram, 0, (struct sockaddr *)&from, &from_length);
    printf("dgram: sent %zd, got %zd \"%s\" from an unnamed sender: name length %d\n", anonymous, got_anonymous, datagram, (int)from_length);
    bind(sender, (struct sockaddr *)&client_name, sizeof client_name);
    sendto(sender, "named", 5, 0, (struct sockaddr *)&server_name, sizeof server_name);
    from_length = sizeof from;
    memset(datagram, 0, sizeof datagram);
    recvfrom(receiver, datagram, sizeof datagram, 0, (struct sockaddr *)&from, &from_length);
    sendto(receiver, "reply", 5, 0, (struct sockaddr *)&from, from_length);
    char reply[16] = {0};
    ssize_t got_reply = recv(sender, reply, sizeof reply, 0);
    printf("dgram: \"%s\" from %d, reply %zd \"%s\"\n", datagram, strcmp(from.sun_path, client_name.sun_path) == 0, got_reply, reply);
    unlink(server_name.sun_path);
    unlink(client_name.sun_path);

    // MSG_PEEK: a stream peek across two writes leaves both; a datagram peek leaves it whole.
    int peeking[2], dgrams[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, peeking);
    write(peeking[0], "ab", 2);
    write(peeking[0], "cd", 2);
    char look[8] = {0}, remainder[8] = {0};
    ssize_t looked = recv(peeking[1], look, 3, MSG_PEEK);
    ssize_t read_after = recv(peeking[1], remainder, sizeof remainder - 1, 0);
    socketpair(AF_UNIX, SOCK_DGRAM, 0, dgrams);
    send(dgrams[0], "one", 3, 0);
    send(dgrams[0], "two", 3, 0);
    char d1[8] = {0}, d2[8] = {0}, d3[8] = {0};
    ssize_t p1 = recv(dgrams[1], d1, sizeof d1 - 1, MSG_PEEK);
    ssize_t p2 = recv(dgrams[1], d2, sizeof d2 - 1, 0);
    ssize_t p3 = recv(dgrams[1], d3, sizeof d3 - 1, MSG_DONTWAIT);
    printf("peek: stream %zd \"%s\" then %zd \"%s\"; datagrams %zd \"%s\" %zd \"%s\" %zd \"%s\"\n", looked, look, read_after, remainder, p1, d1, p2, d2, p3, d3);

    // A long chain of sockets, each in the queue of the next: closing the last closes them
    // all (one after another, not by recursion that could overflow a stack).
    int previous = -1;
    for (int i = 0; i < 20000; i++) {
        int link[2];
        socketpair(AF_UNIX, SOCK_STREAM, 0, link);
        if (previous >= 0) {
            char chain_control[CMSG_SPACE(sizeof(int))];
            memset(chain_control, 0, sizeof chain_control);
            struct iovec one = {"x", 1};
            struct msghdr carrying = {.msg_iov = &one, .msg_iovlen = 1, .msg_control = chain_control, .msg_controllen = sizeof chain_control};
            struct cmsghdr *rights = CMSG_FIRSTHDR(&carrying);
            rights->cmsg_level = SOL_SOCKET;
            rights->cmsg_type = SCM_RIGHTS;
            rights->cmsg_len = CMSG_LEN(sizeof(int));
            memcpy(CMSG_DATA(rights), &previous, sizeof previous);
            sendmsg(link[0], &carrying, 0);
            close(previous);
        }
        close(link[0]);
        previous = link[1];
    }
    printf("chain: closing the last of 20000 sockets: %d\n", close(previous));
    return 0;
}
