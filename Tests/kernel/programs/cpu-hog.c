/* cpu-hog: spins on the CPU, for the governor suite and benchmark.
 *
 *   cpu-hog [--wait-for FILE [--exec PROGRAM [ARG...]]]
 *
 * With --wait-for it first waits until FILE exists, so that a script can start every
 * hog at one instant (the overload onset) by creating FILE. The wait is an inotify
 * watch on FILE's directory, not polling: waiting hogs must cost nothing, since a
 * TCG guest feels every timer wake-up and the governor judges CPU use. Then it spins
 * until killed. One process per hog, so the number of runnable tasks is exactly the
 * number of hogs. With --exec it runs PROGRAM instead of spinning once FILE exists (a load
 * generator such as stress-ng, started at the onset without polling for it). */
#define _GNU_SOURCE
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

static void wait_for(const char *path) {
    char *copy = strdup(path);
    if (!copy) _exit(1);
    int fd = inotify_init1(IN_CLOEXEC);
    if (fd < 0 || inotify_add_watch(fd, dirname(copy), IN_CREATE | IN_MOVED_TO) < 0) {
        perror("cpu-hog: inotify");
        _exit(1);
    }
    /* Checked after the watch is in place, so a creation in between is not missed. */
    char events[4096];
    while (access(path, F_OK) != 0) {
        if (read(fd, events, sizeof events) < 0) {
            perror("cpu-hog: read inotify");
            _exit(1);
        }
    }
    close(fd);
    free(copy);
}

int main(int argc, char **argv) {
    if (argc >= 3 && strcmp(argv[1], "--wait-for") == 0 && (argc == 3 || (argc >= 5 && strcmp(argv[3], "--exec") == 0))) {
        wait_for(argv[2]);
        if (argc >= 5) {
            execvp(argv[4], argv + 4);
            perror(argv[4]);
            return 127;
        }
    } else if (argc != 1) {
        fprintf(stderr, "usage: cpu-hog [--wait-for FILE [--exec PROGRAM [ARG...]]]\n");
        return 2;
    }
    volatile unsigned long long spins = 0;
    for (;;) spins++;
}
