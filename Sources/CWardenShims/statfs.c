#include <sys/vfs.h>
#include "warden_shims.h"

int warden_fstatfs_type(int fd, long *type) {
    struct statfs info;
    if (fstatfs(fd, &info) != 0) return -1;
    *type = (long)info.f_type;
    return 0;
}
