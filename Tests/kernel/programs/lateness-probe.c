/* lateness-probe: the latency-critical component of the governor suite and benchmark.
 *
 * A loop that sleeps 1 ms (clock_nanosleep on CLOCK_MONOTONIC to an absolute deadline
 * one interval after "now") and records how late it wakes: lateness = wake-up time -
 * deadline. A process that needs the CPU every millisecond feels an overload as exactly
 * this lateness: the wake-up is on time only if a CPU is free (or preempted for it).
 *
 *   lateness-probe [--seconds N] [--interval-us U] [--out FILE] [--samples FILE]
 *
 * It stops after N seconds (default: until SIGTERM or SIGINT) and then writes one line
 *
 *   samples N p50_us X p99_us Y max_us Z
 *
 * to FILE (written whole to FILE.tmp and renamed, so a reader never sees half a line)
 * or to stdout. --samples FILE also writes every sample as "T_NS LATENESS_NS", T being
 * the deadline on CLOCK_MONOTONIC (shared by every process of the machine), so a script
 * can cut the run into phases afterwards. Nothing is written while measuring: I/O
 * would disturb what is measured. Lateness is kept in nanoseconds, printed in µs.
 * Timer slack is set to 1 ns and the first 50 wake-ups (warm-up) are not recorded.
 *
 * --work-us W makes it a periodic task with a deadline: job k is released at T0 + k *
 * interval (absolute deadlines on one grid, so a late job delays the next ones as it
 * would in a real control loop), sleeps until its release, burns W µs of its own CPU time
 * (CLOCK_THREAD_CPUTIME_ID: the same work however slowly the CPU runs it) and must finish
 * before the next release. What is recorded is the completion's lateness: completion -
 * (release + W), 0 on a free CPU; the job misses its deadline when that exceeds
 * interval - W. A job whose deadline passes before it could start is dropped (a miss,
 * recorded with how late it was then), as a control loop skips a period it overran.
 * The summary line then reads
 *
 *   samples N misses M p50_us X p99_us Y max_us Z
 *
 * and --samples lines are "RELEASE_NS LATENESS_NS WAKE_LATENESS_NS" (the wake-up's
 * lateness after the release, for telling a late wake-up from a preempted job). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stopping;

static void on_stop(int signo) {
    (void)signo;
    stopping = 1;
}

static long long ns_of(struct timespec ts) { return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec; }

static struct timespec timespec_of(long long ns) {
    struct timespec ts = {.tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL};
    return ts;
}

static int by_value(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* Burns `ns` of this thread's CPU time. The clock is read between short spins (under
 * TCG reading it is a system call). */
static void burn_cpu(long long ns) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    long long until = ns_of(t) + ns;
    volatile unsigned long spins = 0;
    do {
        for (int i = 0; i < 2000; i++) spins++;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    } while (ns_of(t) < until);
}

/* Nearest-rank percentile of sorted values. */
static long long percentile(const long long *sorted, size_t n, int pct) {
    if (n == 0) return 0;
    size_t rank = (n * (size_t)pct + 99) / 100;
    if (rank == 0) rank = 1;
    return sorted[rank - 1];
}

static void usage(void) {
    fprintf(stderr, "usage: lateness-probe [--seconds N] [--interval-us U] [--work-us W] [--out FILE] [--samples FILE]\n");
    exit(2);
}

int main(int argc, char **argv) {
    double seconds = 0;
    long long interval_ns = 1000000, work_ns = 0;
    const char *out = NULL, *samples_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc) usage();
        if (strcmp(argv[i], "--seconds") == 0) seconds = atof(argv[++i]);
        else if (strcmp(argv[i], "--interval-us") == 0) interval_ns = atoll(argv[++i]) * 1000LL;
        else if (strcmp(argv[i], "--work-us") == 0) work_ns = atoll(argv[++i]) * 1000LL;
        else if (strcmp(argv[i], "--out") == 0) out = argv[++i];
        else if (strcmp(argv[i], "--samples") == 0) samples_path = argv[++i];
        else usage();
    }
    if (interval_ns <= 0 || seconds < 0 || work_ns < 0 || work_ns >= interval_ns) usage();

    struct sigaction action = {.sa_handler = on_stop};
    sigemptyset(&action.sa_mask);
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);

    /* Room for the whole run (or 10 minutes when unbounded), grown if needed. */
    size_t capacity = seconds > 0 ? (size_t)(seconds * 1e9 / (double)interval_ns) + 16
                                  : (size_t)(600LL * 1000000000LL / interval_ns);
    long long *lateness = malloc(capacity * sizeof *lateness);
    long long *deadlines = samples_path ? malloc(capacity * sizeof *deadlines) : NULL;
    long long *wake_lateness = samples_path && work_ns ? malloc(capacity * sizeof *wake_lateness) : NULL;
    if (!lateness || (samples_path && !deadlines) || (samples_path && work_ns && !wake_lateness)) {
        perror("lateness-probe: malloc");
        return 1;
    }
    /* Touch the buffers now: a page fault in the loop would be counted as lateness. */
    memset(lateness, 0, capacity * sizeof *lateness);
    if (deadlines) memset(deadlines, 0, capacity * sizeof *deadlines);
    if (wake_lateness) memset(wake_lateness, 0, capacity * sizeof *wake_lateness);

    /* The default timer slack (50 µs) would be added to every wake-up; what is measured
     * here is the scheduler's lateness, so ask for none. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    /* Not recorded: the first wake-ups pay for cold caches and the timer's set-up. */
    struct timespec now, warm_up = {.tv_sec = 0, .tv_nsec = 1000000};
    for (int i = 0; i < 50 && !stopping; i++) clock_nanosleep(CLOCK_MONOTONIC, 0, &warm_up, NULL);
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long end = seconds > 0 ? ns_of(now) + (long long)(seconds * 1e9) : 0;
    size_t n = 0, misses = 0;
    long long release = ns_of(now) + interval_ns;
    while (work_ns && !stopping) {
        if (end && release + interval_ns > end) break;
        struct timespec target = timespec_of(release);
        int rc;
        do rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &target, NULL);
        while (rc == EINTR && !stopping);
        if (rc != 0) break;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long long woke = ns_of(now);
        burn_cpu(work_ns);
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (n == capacity) break; /* sized for the run, or 10 minutes */
        if (deadlines) deadlines[n] = release;
        if (wake_lateness) wake_lateness[n] = woke - release;
        lateness[n++] = ns_of(now) - release - work_ns;
        if (ns_of(now) > release + interval_ns) misses++;
        release += interval_ns;
        /* Jobs whose deadline has passed before they could start are dropped, each a
         * miss recorded with the lateness it had when dropped: a stall does not leave
         * a backlog that makes every later job miss too. */
        while (ns_of(now) > release + interval_ns && n < capacity) {
            if (deadlines) deadlines[n] = release;
            if (wake_lateness) wake_lateness[n] = ns_of(now) - release;
            lateness[n++] = ns_of(now) - release;
            misses++;
            release += interval_ns;
        }
    }
    while (!work_ns && !stopping) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long long deadline = ns_of(now) + interval_ns;
        if (end && deadline > end) break;
        struct timespec target = timespec_of(deadline);
        int rc;
        do rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &target, NULL);
        while (rc == EINTR && !stopping);
        if (rc != 0) break; /* interrupted by SIGTERM: this sample is not a wake-up */
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (n == capacity) {
            size_t grown = capacity * 2;
            long long *more = realloc(lateness, grown * sizeof *lateness);
            if (!more) break;
            lateness = more;
            if (deadlines) {
                long long *more_deadlines = realloc(deadlines, grown * sizeof *deadlines);
                if (!more_deadlines) break;
                deadlines = more_deadlines;
            }
            capacity = grown;
        }
        if (deadlines) deadlines[n] = deadline;
        lateness[n++] = ns_of(now) - deadline;
    }

    if (samples_path) {
        FILE *f = fopen(samples_path, "w");
        if (!f) {
            perror(samples_path);
            return 1;
        }
        for (size_t i = 0; i < n; i++) {
            if (wake_lateness) fprintf(f, "%lld %lld %lld\n", deadlines[i], lateness[i], wake_lateness[i]);
            else fprintf(f, "%lld %lld\n", deadlines[i], lateness[i]);
        }
        if (fclose(f) != 0) {
            perror(samples_path);
            return 1;
        }
    }
    qsort(lateness, n, sizeof *lateness, by_value);
    char line[200], missed[40] = "";
    if (work_ns) snprintf(missed, sizeof missed, " misses %zu", misses);
    snprintf(line, sizeof line, "samples %zu%s p50_us %lld p99_us %lld max_us %lld\n", n, missed,
             percentile(lateness, n, 50) / 1000, percentile(lateness, n, 99) / 1000,
             n ? lateness[n - 1] / 1000 : 0);
    if (!out) {
        fputs(line, stdout);
        return 0;
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", out);
    FILE *f = fopen(tmp, "w");
    if (!f || fputs(line, f) < 0 || fclose(f) != 0 || rename(tmp, out) != 0) {
        perror(out);
        return 1;
    }
    return 0;
}
