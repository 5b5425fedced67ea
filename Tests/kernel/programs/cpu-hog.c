/* cpu-hog: spins on the CPU, for the governor suite and benchmark.
 *
 *   cpu-hog [--wait-for FILE]
 *
 * With --wait-for it first waits (polling every 5 ms, which costs next to nothing) until
 * FILE exists, so that a script can start every hog at one instant (the overload onset)
 * by creating FILE. Then it spins until killed. One process per hog, so the number of
 * runnable tasks is exactly the number of hogs. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--wait-for") == 0) {
        struct timespec pause = {.tv_sec = 0, .tv_nsec = 5000000};
        while (access(argv[2], F_OK) != 0) nanosleep(&pause, NULL);
    } else if (argc != 1) {
        fprintf(stderr, "usage: cpu-hog [--wait-for FILE]\n");
        return 2;
    }
    volatile unsigned long long spins = 0;
    for (;;) spins++;
}
