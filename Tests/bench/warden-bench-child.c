/* The component the benchmarks supervise: a C program, so what is measured is
 * Warden's latency and not a language runtime's start-up. Each event is one
 * write(2) of a line to an O_APPEND file, so lines of concurrent children never mix:
 *
 *   start PID NS    main() entered (the replacement is exec'd)
 *   exit PID NS     about to _exit(1) (mode crash)
 *   ready PID NS    READY=1 sent (mode notify)
 *
 * NS is CLOCK_MONOTONIC, which every process on the machine shares.
 *
 * `flood SOCKET SECONDS`: as uid/gid 65534, sends sd_notify datagrams to SOCKET as fast
 * as Warden takes them for SECONDS (a blocking send waits while the socket's queue is
 * full, so the sender spins no CPU of its own), then prints how many it sent: a local
 * user with no business with the stack, loading Warden's notify socket. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <grp.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void record(int fd, const char *event, long long ns) {
    char line[96];
    int n = snprintf(line, sizeof line, "%s %d %lld\n", event, (int)getpid(), ns);
    if (write(fd, line, (size_t)n) != n) _exit(3);
}

static int notify_ready(void) {
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path) return -1;
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    size_t length = strlen(path);
    if (length >= sizeof address.sun_path) return -1;
    memcpy(address.sun_path, path, length);
    if (path[0] == '@') address.sun_path[0] = '\0';
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    static const char message[] = "READY=1";
    ssize_t sent = sendto(fd, message, sizeof message - 1, 0, (struct sockaddr *)&address,
                          (socklen_t)(offsetof(struct sockaddr_un, sun_path) + length));
    close(fd);
    return sent < 0 ? -1 : 0;
}

static int flood(const char *path, const char *seconds_text) {
    if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0) return 5;
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    size_t length = strlen(path);
    if (length >= sizeof address.sun_path) return 2;
    memcpy(address.sun_path, path, length);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 3;
    static const char message[] = "READY=1\nSTATUS=flooding\nWATCHDOG=1";
    long long until = now_ns() + (long long)(atof(seconds_text) * 1e9);
    long long sent = 0;
    while (now_ns() < until) {
        for (int i = 0; i < 256; i++) {
            if (sendto(fd, message, sizeof message - 1, 0, (struct sockaddr *)&address,
                       (socklen_t)(offsetof(struct sockaddr_un, sun_path) + length)) > 0)
                sent++;
        }
    }
    printf("%lld\n", sent);
    return 0;
}

int main(int argc, char **argv) {
    long long started = now_ns();
    if (argc == 4 && strcmp(argv[1], "flood") == 0) return flood(argv[2], argv[3]);
    if (argc != 3) {
        fprintf(stderr, "usage: warden-bench-child crash|sleep|notify FILE, or flood SOCKET SECONDS\n");
        return 2;
    }
    int fd = open(argv[2], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return 3;
    record(fd, "start", started);
    if (strcmp(argv[1], "crash") == 0) {
        record(fd, "exit", now_ns());
        _exit(1);
    }
    if (strcmp(argv[1], "notify") == 0) {
        long long before = now_ns();
        if (notify_ready() != 0) return 4;
        record(fd, "ready", before);
    } else if (strcmp(argv[1], "sleep") != 0) {
        return 2;
    }
    /* Idle until told to stop: SIGTERM's default action ends the process. */
    for (;;) pause();
}
