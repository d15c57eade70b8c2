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
};

long cshim_abi_constant(const char *name) {
    for (size_t i = 0; i < sizeof(constants) / sizeof(constants[0]); i++) {
        if (strcmp(constants[i].name, name) == 0) return constants[i].value;
    }
    return LONG_MIN;
}
