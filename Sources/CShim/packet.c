// AF_PACKET sockets on a named interface (packet(7)): the Netstack's link to a veth.
#define _GNU_SOURCE 1
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <endian.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include "CShim.h"

int cshim_packet_open(const char *name, int buffer_bytes, int *ifindex, unsigned char mac[6], int *mtu) {
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
    int on = 1;
    // The header must be asked for before the socket is bound.
    if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &on, sizeof on) != 0) goto fail;
    if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &on, sizeof on) != 0) goto fail;
    // Past net.core.rmem_max (needs CAP_NET_ADMIN): a burst from the host must not overflow
    // the queue while the stack is busy. Without the capability, as large as the limit allows.
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buffer_bytes, sizeof buffer_bytes) != 0 &&
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer_bytes, sizeof buffer_bytes) != 0) goto fail;
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buffer_bytes, sizeof buffer_bytes) != 0 &&
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer_bytes, sizeof buffer_bytes) != 0) goto fail;
    struct sockaddr_ll address;
    memset(&address, 0, sizeof address);
    address.sll_family = AF_PACKET;
    address.sll_protocol = htons(ETH_P_ALL);
    address.sll_ifindex = *ifindex;
    if (bind(fd, (struct sockaddr *)&address, sizeof address) != 0) goto fail;
    return fd;
fail:;
    int error = errno;
    close(fd);
    return -error;
}

enum { packet_batch_maximum = 64 };

int cshim_packet_receive_batch(int fd, unsigned char *buffers, size_t stride, unsigned int count, struct cshim_packet_in *frames) {
    if (count > packet_batch_maximum) count = packet_batch_maximum;
    struct virtio_net_hdr headers[packet_batch_maximum];
    struct iovec vectors[packet_batch_maximum][2];
    struct mmsghdr messages[packet_batch_maximum];
    memset(messages, 0, sizeof(struct mmsghdr) * count);
    for (unsigned int i = 0; i < count; i++) {
        vectors[i][0] = (struct iovec){&headers[i], sizeof headers[i]};
        vectors[i][1] = (struct iovec){buffers + i * stride, stride};
        messages[i].msg_hdr.msg_iov = vectors[i];
        messages[i].msg_hdr.msg_iovlen = 2;
    }
    int n = recvmmsg(fd, messages, count, MSG_WAITFORONE, NULL);
    if (n < 0) return -errno;
    for (int i = 0; i < n; i++) {
        size_t length = messages[i].msg_len;
        frames[i].length = length > sizeof headers[i] ? (unsigned int)(length - sizeof headers[i]) : 0;
        // NEEDS_CSUM: the host's own packet, its checksum never written (offloaded);
        // DATA_VALID: checked already.
        frames[i].checksum_trusted = (headers[i].flags & (VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID)) != 0;
    }
    return n;
}

int cshim_packet_send_batch(int fd, const unsigned char *buffer, const struct cshim_packet_out *frames, unsigned int count) {
    if (count > packet_batch_maximum) count = packet_batch_maximum;
    struct virtio_net_hdr headers[packet_batch_maximum];
    struct iovec vectors[packet_batch_maximum][2];
    struct mmsghdr messages[packet_batch_maximum];
    memset(headers, 0, sizeof(struct virtio_net_hdr) * count);
    memset(messages, 0, sizeof(struct mmsghdr) * count);
    for (unsigned int i = 0; i < count; i++) {
        const struct cshim_packet_out *frame = &frames[i];
        // The header's fields are little-endian (virtio 1.0; the host here is x86).
        if (frame->checksum_offset != 0) {
            headers[i].flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
            headers[i].csum_start = htole16(frame->checksum_start);
            headers[i].csum_offset = htole16(frame->checksum_offset);
        }
        if (frame->segment_size != 0) {
            headers[i].gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
            headers[i].gso_size = htole16(frame->segment_size);
            headers[i].hdr_len = htole16(frame->header_length);
        }
        vectors[i][0] = (struct iovec){&headers[i], sizeof headers[i]};
        vectors[i][1] = (struct iovec){(void *)(buffer + frame->offset), frame->length};
        messages[i].msg_hdr.msg_iov = vectors[i];
        messages[i].msg_hdr.msg_iovlen = 2;
    }
    int n = sendmmsg(fd, messages, count, 0);
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
