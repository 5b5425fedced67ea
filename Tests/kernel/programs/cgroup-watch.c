/* cgroup-watch: measures how long a cgroup file takes to change after an event.
 *
 *   cgroup-watch --start FILE [--watch CGROUP_FILE] [--timeout SECONDS]
 *
 * Reads CGROUP_FILE (e.g. a batch slice's cpu.max), creates FILE (the signal the
 * cpu-hog processes wait for: the overload onset), then re-reads CGROUP_FILE every
 * 1 ms until its content differs and prints
 *
 *   onset_ns T reaction_ms R before 'OLD' after 'NEW'
 *
 * T being when FILE was created and R the time from then to seeing the change, both on
 * CLOCK_MONOTONIC (which the lateness probe's sample times use too). Prints
 * "onset_ns T no change within S s: still 'OLD'" and exits 1 when the file did not
 * change within the timeout (default 30 s); without --watch only "onset_ns T". Polling a
 * cgroup file is a read of a few bytes: cheap even under TCG. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The file's content without the trailing newline; "" when it cannot be read. */
static void read_file(const char *path, char *buffer, size_t size) {
    buffer[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    ssize_t n = read(fd, buffer, size - 1);
    close(fd);
    if (n < 0) n = 0;
    buffer[n] = '\0';
    while (n > 0 && buffer[n - 1] == '\n') buffer[--n] = '\0';
}

int main(int argc, char **argv) {
    const char *start = NULL, *watched = NULL;
    double timeout = 30;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--start") == 0) start = argv[i + 1];
        else if (strcmp(argv[i], "--watch") == 0) watched = argv[i + 1];
        else if (strcmp(argv[i], "--timeout") == 0) timeout = atof(argv[i + 1]);
        else start = NULL, watched = NULL, i = argc;
    }
    if (!start || argc % 2 == 0) {
        fprintf(stderr, "usage: cgroup-watch --start FILE [--watch CGROUP_FILE] [--timeout SECONDS]\n");
        return 2;
    }
    char before[256] = "", after[256];
    if (watched) read_file(watched, before, sizeof before);
    int fd = open(start, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        perror(start);
        return 2;
    }
    close(fd);
    long long started = now_ns(), limit = started + (long long)(timeout * 1e9);
    printf("onset_ns %lld", started);
    if (!watched) {
        printf("\n");
        return 0;
    }
    struct timespec pause = {.tv_sec = 0, .tv_nsec = 1000000};
    for (;;) {
        read_file(watched, after, sizeof after);
        long long at = now_ns();
        if (strcmp(after, before) != 0) {
            printf(" reaction_ms %.1f before '%s' after '%s'\n", (double)(at - started) / 1e6, before, after);
            return 0;
        }
        if (at > limit) {
            printf(" no change within %.0f s: still '%s'\n", timeout, before);
            return 1;
        }
        nanosleep(&pause, NULL);
    }
}
