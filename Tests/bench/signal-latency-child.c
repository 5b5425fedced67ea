/* The component of scripts/bench-signal: it installs a SIGTERM handler, says so by
 * creating PATH.ready, and when the signal arrives writes CLOCK_MONOTONIC in nanoseconds
 * to PATH and exits 0. The benchmark compares that instant with the moment it sent
 * SIGTERM to the init (PID 1 of a PID namespace) that runs this program. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int result_fd = -1;

static void on_term(int signal_number) {
    (void)signal_number;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    char text[32];
    int length = 0;
    unsigned long long ns = (unsigned long long)now.tv_sec * 1000000000ull + (unsigned long long)now.tv_nsec;
    char digits[24];
    int count = 0;
    do {
        digits[count++] = (char)('0' + ns % 10);
        ns /= 10;
    } while (ns != 0);
    while (count > 0) text[length++] = digits[--count];
    text[length++] = '\n';
    (void)!write(result_fd, text, (size_t)length);
    _exit(0);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: signal-latency-child PATH\n");
        return 2;
    }
    result_fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (result_fd < 0) return 3;
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = on_term;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGTERM, &action, NULL) != 0) return 4;
    char ready[4096];
    snprintf(ready, sizeof(ready), "%s.ready", argv[1]);
    int fd = open(ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return 5;
    close(fd);
    for (;;) pause();
}
