// AF_PACKET sockets on a named interface (packet(7)): the Netstack's link to a veth.
#define _GNU_SOURCE 1
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include "CShim.h"

int cshim_packet_open(const char *name, int *ifindex, unsigned char mac[6], int *mtu) {
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
    if (fd < 0) return -errno;
    struct ifreq request;
    memset(&request, 0, sizeof request);
    if (strlen(name) >= IFNAMSIZ) {
        close(fd);
        return -ENAMETOOLONG;
    }
    strcpy(request.ifr_name, name);
    if (ioctl(fd, SIOCGIFINDEX, &request) != 0) goto fail;
    *ifindex = request.ifr_ifindex;
    if (ioctl(fd, SIOCGIFHWADDR, &request) != 0) goto fail;
    memcpy(mac, request.ifr_hwaddr.sa_data, 6);
    if (ioctl(fd, SIOCGIFMTU, &request) != 0) goto fail;
    *mtu = request.ifr_mtu;
    struct sockaddr_ll address;
    memset(&address, 0, sizeof address);
    address.sll_family = AF_PACKET;
    address.sll_protocol = htons(ETH_P_ALL);
    address.sll_ifindex = *ifindex;
    if (bind(fd, (struct sockaddr *)&address, sizeof address) != 0) goto fail;
    // Frames from the host over a veth may carry a TCP or UDP checksum not yet computed
    // (checksum offload): the auxiliary data says so.
    int on = 1;
    if (setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &on, sizeof on) != 0) goto fail;
    return fd;
fail:;
    int error = errno;
    close(fd);
    return -error;
}

ssize_t cshim_packet_receive(int fd, void *buffer, size_t length, int *outgoing, int *checksum_trusted) {
    struct sockaddr_ll from;
    struct iovec vector = {buffer, length};
    union {
        struct cmsghdr header;
        char bytes[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
    } control;
    struct msghdr message = {&from, sizeof from, &vector, 1, &control, sizeof control, 0};
    ssize_t n = recvmsg(fd, &message, 0);
    if (n < 0) return -errno;
    *outgoing = from.sll_pkttype == PACKET_OUTGOING;
    *checksum_trusted = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&message); c != NULL; c = CMSG_NXTHDR(&message, c)) {
        if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA) continue;
        struct tpacket_auxdata data;
        memcpy(&data, CMSG_DATA(c), sizeof data);
        // Not yet computed (the host's own packet, offloaded), or already checked.
        *checksum_trusted = (data.tp_status & (TP_STATUS_CSUMNOTREADY | TP_STATUS_CSUM_VALID)) != 0;
    }
    return n;
}

ssize_t cshim_packet_send(int fd, const void *buffer, size_t length) {
    ssize_t n = send(fd, buffer, length, 0);
    return n < 0 ? -errno : n;
}

int cshim_interface_up(const char *name) {
    if (strlen(name) >= IFNAMSIZ) return -ENAMETOOLONG;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    struct ifreq request;
    memset(&request, 0, sizeof request);
    strcpy(request.ifr_name, name);
    int result = 0;
    if (ioctl(fd, SIOCGIFFLAGS, &request) != 0) {
        result = -errno;
    } else {
        request.ifr_flags |= IFF_UP;
        if (ioctl(fd, SIOCSIFFLAGS, &request) != 0) result = -errno;
    }
    close(fd);
    return result;
}
