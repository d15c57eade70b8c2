// Constants the LinuxABI tests compare against that Swift's Glibc module does not import
// (it is built without _GNU_SOURCE).
#define _GNU_SOURCE 1
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <stddef.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include "CShim.h"

static const struct cshim_abi_entry constants[] = {
    {"F_ADD_SEALS", F_ADD_SEALS}, {"F_GET_SEALS", F_GET_SEALS}, {"F_SEAL_SEAL", F_SEAL_SEAL},
    {"F_SEAL_SHRINK", F_SEAL_SHRINK}, {"F_SEAL_GROW", F_SEAL_GROW}, {"F_SEAL_WRITE", F_SEAL_WRITE},
    {"F_SEAL_FUTURE_WRITE", F_SEAL_FUTURE_WRITE}, {"MFD_CLOEXEC", MFD_CLOEXEC},
    {"MFD_ALLOW_SEALING", MFD_ALLOW_SEALING}, {"MAP_FIXED_NOREPLACE", MAP_FIXED_NOREPLACE},
    {"sizeof(struct statx)", sizeof(struct statx)},
    {"offsetof(struct statx, stx_mode)", offsetof(struct statx, stx_mode)},
    {"offsetof(struct statx, stx_ino)", offsetof(struct statx, stx_ino)},
    {"offsetof(struct statx, stx_atime)", offsetof(struct statx, stx_atime)},
    {"offsetof(struct statx, stx_mtime)", offsetof(struct statx, stx_mtime)},
    {"offsetof(struct statx, stx_rdev_major)", offsetof(struct statx, stx_rdev_major)},
    {"offsetof(struct statx, stx_mnt_id)", offsetof(struct statx, stx_mnt_id)},
    {"sizeof(struct statfs)", sizeof(struct statfs)},
    {"offsetof(struct statfs, f_namelen)", offsetof(struct statfs, f_namelen)},
    {"STATX_BASIC_STATS", STATX_BASIC_STATS}, {"AT_EMPTY_PATH", AT_EMPTY_PATH},
    {"AT_SYMLINK_NOFOLLOW", AT_SYMLINK_NOFOLLOW}, {"AT_REMOVEDIR", AT_REMOVEDIR},
    {"O_PATH", O_PATH}, {"O_NOFOLLOW", O_NOFOLLOW}, {"O_DIRECTORY", O_DIRECTORY},
    {"RENAME_NOREPLACE", RENAME_NOREPLACE}, {"RENAME_EXCHANGE", RENAME_EXCHANGE},
    {"NETLINK_ROUTE", NETLINK_ROUTE}, {"sizeof(struct nlmsghdr)", sizeof(struct nlmsghdr)}, {"NLMSG_ALIGNTO", NLMSG_ALIGNTO},
    {"NLMSG_ERROR", NLMSG_ERROR}, {"NLMSG_MIN_TYPE", NLMSG_MIN_TYPE}, {"NLMSG_DONE", NLMSG_DONE}, {"NLM_F_REQUEST", NLM_F_REQUEST},
    {"NLM_F_MULTI", NLM_F_MULTI}, {"NLM_F_ACK", NLM_F_ACK}, {"NLM_F_DUMP", NLM_F_DUMP}, {"NLM_F_DUMP_INTR", NLM_F_DUMP_INTR},
    {"RTM_NEWLINK", RTM_NEWLINK}, {"RTM_GETLINK", RTM_GETLINK}, {"RTM_NEWADDR", RTM_NEWADDR},
    {"RTM_DELADDR", RTM_DELADDR}, {"RTM_GETADDR", RTM_GETADDR}, {"RTM_NEWROUTE", RTM_NEWROUTE},
    {"RTM_GETROUTE", RTM_GETROUTE}, {"sizeof(struct ifinfomsg)", sizeof(struct ifinfomsg)},
    {"sizeof(struct ifaddrmsg)", sizeof(struct ifaddrmsg)}, {"sizeof(struct rtmsg)", sizeof(struct rtmsg)},
    {"sizeof(struct rtattr)", sizeof(struct rtattr)}, {"IFLA_ADDRESS", IFLA_ADDRESS}, {"IFLA_IFNAME", IFLA_IFNAME},
    {"IFLA_MTU", IFLA_MTU}, {"IFA_ADDRESS", IFA_ADDRESS}, {"IFA_LOCAL", IFA_LOCAL}, {"RTA_DST", RTA_DST},
    {"RTA_OIF", RTA_OIF}, {"RTA_GATEWAY", RTA_GATEWAY}, {"RTA_TABLE", RTA_TABLE}, {"IFF_UP", IFF_UP},
    {"IFF_LOOPBACK", IFF_LOOPBACK}, {"ARPHRD_ETHER", ARPHRD_ETHER}, {"RT_TABLE_MAIN", RT_TABLE_MAIN},
    {"RTN_UNICAST", RTN_UNICAST}, {"IFLA_BROADCAST", IFLA_BROADCAST}, {"IFLA_TXQLEN", IFLA_TXQLEN},
    {"IFLA_OPERSTATE", IFLA_OPERSTATE}, {"IFA_LABEL", IFA_LABEL}, {"IFA_BROADCAST", IFA_BROADCAST}, {"RTA_PREFSRC", RTA_PREFSRC},
    {"IFF_BROADCAST", IFF_BROADCAST}, {"IFF_RUNNING", IFF_RUNNING}, {"IFF_MULTICAST", IFF_MULTICAST},
    {"ARPHRD_LOOPBACK", ARPHRD_LOOPBACK}, {"IFA_F_PERMANENT", IFA_F_PERMANENT},
    {"RT_SCOPE_UNIVERSE", RT_SCOPE_UNIVERSE}, {"RT_SCOPE_LINK", RT_SCOPE_LINK}, {"RT_SCOPE_HOST", RT_SCOPE_HOST},
    {"RTPROT_KERNEL", RTPROT_KERNEL}, {"RTPROT_BOOT", RTPROT_BOOT},
};

long cshim_abi_constant(const char *name) {
    for (size_t i = 0; i < sizeof(constants) / sizeof(constants[0]); i++) {
        if (strcmp(constants[i].name, name) == 0) return constants[i].value;
    }
    return LONG_MIN;
}
