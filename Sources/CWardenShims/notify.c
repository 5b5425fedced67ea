/* The receiving side of sd_notify(3) for supervised children: credentials come from
 * SCM_CREDENTIALS (the kernel fills them in, the sender cannot lie about its pid), and
 * descriptors a child passes along (FDSTORE=) are closed, since Warden keeps no store. */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "warden_shims.h"

int warden_notify_socket_bind(const char *path) {
    struct sockaddr_un address;
    memset(&address, 0, sizeof(address));
    address.sun_family = AF_UNIX;
    size_t length = strlen(path);
    if (length == 0 || length >= sizeof(address.sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(address.sun_path, path, length);
    socklen_t address_length = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + length);
    if (path[0] == '@') {
        address.sun_path[0] = '\0';
    } else {
        address_length += 1;
    }
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    int on = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) < 0 ||
        bind(fd, (struct sockaddr *)&address, address_length) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

/* The control buffer of one datagram: the credentials and the most descriptors one
 * message can carry (253). */
union warden_notify_control {
    struct cmsghdr align;
    char bytes[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * 253)];
};

/* Reads the credentials of one received message and closes what it passed. */
static void take_control(struct msghdr *message, pid_t *pid, uid_t *uid, gid_t *gid, int *passed_fds) {
    *pid = 0;
    *uid = (uid_t)-1;
    *gid = (gid_t)-1;
    *passed_fds = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(message); c; c = CMSG_NXTHDR(message, c)) {
        if (c->cmsg_level != SOL_SOCKET) continue;
        if (c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len == CMSG_LEN(sizeof(struct ucred))) {
            struct ucred credentials;
            memcpy(&credentials, CMSG_DATA(c), sizeof(credentials));
            *pid = credentials.pid;
            *uid = credentials.uid;
            *gid = credentials.gid;
        } else if (c->cmsg_type == SCM_RIGHTS) {
            size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < count; i++) {
                int passed;
                memcpy(&passed, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                close(passed);
            }
            *passed_fds += (int)count;
        }
    }
    if ((message->msg_flags & MSG_CTRUNC) && *passed_fds == 0) *passed_fds = 1;
}

int warden_notify_receive_batch(int fd, void *buffers, size_t capacity, int count,
                                struct warden_notify_datagram *datagrams) {
    if (count <= 0) return 0;
    if (count > 64) count = 64;
    /* One call takes a whole burst: a flood costs one system call per 64 datagrams. The
     * control buffers are the caller's thread's own (several loops may receive at once). */
    union warden_notify_control *controls = malloc(sizeof(union warden_notify_control) * (size_t)count);
    if (!controls) return -1;
    struct mmsghdr messages[64];
    struct iovec iovs[64];
    memset(messages, 0, sizeof(struct mmsghdr) * (size_t)count);
    for (int i = 0; i < count; i++) {
        iovs[i].iov_base = (char *)buffers + (size_t)i * capacity;
        iovs[i].iov_len = capacity;
        messages[i].msg_hdr.msg_iov = &iovs[i];
        messages[i].msg_hdr.msg_iovlen = 1;
        messages[i].msg_hdr.msg_control = &controls[i];
        messages[i].msg_hdr.msg_controllen = sizeof(controls[i]);
    }
    int received;
    do {
        received = recvmmsg(fd, messages, (unsigned)count, MSG_DONTWAIT | MSG_CMSG_CLOEXEC, NULL);
    } while (received < 0 && errno == EINTR);
    if (received < 0) {
        int saved = errno;
        free(controls);
        if (saved == EWOULDBLOCK || saved == EAGAIN) return 0;
        errno = saved;
        return -1;
    }
    for (int i = 0; i < received; i++) {
        struct warden_notify_datagram *d = &datagrams[i];
        take_control(&messages[i].msg_hdr, &d->pid, &d->uid, &d->gid, &d->passed_fds);
        d->length = (ssize_t)messages[i].msg_len;
        /* recvmmsg has no MSG_TRUNC length: a payload that filled the buffer is taken as
         * cut (the buffer is one byte longer than anything accepted). */
        d->truncated = (messages[i].msg_hdr.msg_flags & MSG_TRUNC) || messages[i].msg_len >= capacity;
    }
    free(controls);
    return received;
}
