#include <sys/vfs.h>
#include "warden_shims.h"

int warden_fstatfs_type(int fd, long *type) {
    struct statfs info;
    if (fstatfs(fd, &info) != 0) return -1;
    *type = (long)info.f_type;
    return 0;
}

#include <sys/statvfs.h>

int warden_path_is_read_only(const char *path) {
    struct statvfs info;
    if (statvfs(path, &info) != 0) return -1;
    return (info.f_flag & ST_RDONLY) ? 1 : 0;
}

#include <sys/xattr.h>

long warden_fgetxattr(int fd, const char *name, void *value, unsigned long size) {
    return (long)fgetxattr(fd, name, value, (size_t)size);
}
