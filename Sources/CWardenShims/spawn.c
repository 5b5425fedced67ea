/* The supervised spawn path: everything a child does between clone and execve.
 *
 * Rules for the child side (warden_spawn_child and what it calls):
 *   - only async-signal-safe calls and raw system calls; no malloc, no stdio, no locks;
 *   - set*id and setgroups go through syscall(2) directly: glibc's wrappers broadcast
 *     SIGSETXID to every thread of the *parent* (we share its memory and thread list
 *     under CLONE_VM), which would wedge or corrupt the supervisor;
 *   - every failure is reported as (step, errno, detail) and the child exits 127. A
 *     CLONE_VM|CLONE_VFORK child writes the report into the parent's memory, which it
 *     shares, and the parent reads it once the clone returns (the kernel resumes the
 *     parent only after the child's exec or exit). A fork-style child (clone3) has
 *     its own memory: it writes the report to a close-on-exec pipe, which a successful
 *     execve closes, so the parent reads EOF.
 *
 * Everything that needs computing (the CPU mask, the capability words, the pid text for
 * cgroup.procs) is prepared by the parent before the clone, in warden_spawn.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/sched.h>

#include "warden_shims.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#endif

struct warden_spawn_report {
    int32_t step;
    int32_t error;
    int32_t detail;
};

/* What the child reads: the caller's config plus what the parent precomputed. */
struct warden_spawn_context {
    const struct warden_spawn_config *config;
    /* the error pipe of a fork-style child; -1 for a CLONE_VM child, which fills
     * shared_report instead */
    int report_fd;
    volatile struct warden_spawn_report *shared_report;
    pid_t parent_pid;
    /* set when the child must join the cgroup itself (no CLONE_INTO_CGROUP) */
    int join_cgroup_in_child;
    /* gated spawn: the child reads one byte here before anything else (-1: no gate),
     * and closes its copy of the write end so that a closed gate reads as EOF */
    int gate_read_fd;
    int gate_write_fd;
    cpu_set_t cpu_mask;
    struct __user_cap_header_struct cap_header;
    struct __user_cap_data_struct cap_data[2];
};

static void report_and_exit(const struct warden_spawn_context *ctx, int step, int error, int detail) {
    if (ctx->report_fd < 0) {
        ctx->shared_report->error = error;
        ctx->shared_report->detail = detail;
        ctx->shared_report->step = step;
        _exit(127);
    }
    struct warden_spawn_report report = {step, error, detail};
    ssize_t written;
    do {
        written = write(ctx->report_fd, &report, sizeof(report));
    } while (written < 0 && errno == EINTR);
    _exit(127);
}

static int write_all(int fd, const char *text, size_t length) {
    while (length > 0) {
        ssize_t n = write(fd, text, length);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        text += n;
        length -= (size_t)n;
    }
    return 0;
}

/* Decimal text of a non-negative number into buf (at least 12 bytes); returns its length. */
static size_t format_decimal(char *buf, long value) {
    char digits[24];
    size_t count = 0;
    int negative = value < 0;
    unsigned long magnitude = negative ? (unsigned long)(-value) : (unsigned long)value;
    do {
        digits[count++] = (char)('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude > 0);
    size_t length = 0;
    if (negative) buf[length++] = '-';
    while (count > 0) buf[length++] = digits[--count];
    buf[length] = '\0';
    return length;
}

/* Closes every descriptor from 3 up except `keep` (-1: none kept). */
static void close_descriptors_except(int keep) {
    /* close_range(2) needs Linux 5.9; older kernels get the bounded loop. */
    int failed = 0;
    if (keep < 3) {
        if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0) failed = 1;
    } else {
        if (keep > 3 && syscall(SYS_close_range, 3U, (unsigned)(keep - 1), 0U) < 0) failed = 1;
        if (!failed && syscall(SYS_close_range, (unsigned)(keep + 1), ~0U, 0U) < 0) failed = 1;
    }
    if (!failed) return;
    struct rlimit limit;
    long highest = 65536;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY &&
        limit.rlim_cur < (rlim_t)highest)
        highest = (long)limit.rlim_cur;
    for (long fd = 3; fd < highest; fd++)
        if (fd != keep) close((int)fd);
}

static int warden_spawn_child(void *argument) {
    const struct warden_spawn_context *ctx = argument;
    const struct warden_spawn_config *c = ctx->config;

    /* The gate: nothing of the program's, not even setsid, happens before the parent
     * has placed this process (a systemd scope) and opened it. Every signal but
     * SIGKILL is still blocked here, so only the parent's cancel can end the wait. */
    if (ctx->gate_read_fd >= 0) {
        close(ctx->gate_write_fd);
        char byte = 0;
        ssize_t got;
        do {
            got = read(ctx->gate_read_fd, &byte, 1);
        } while (got < 0 && errno == EINTR);
        if (got != 1) report_and_exit(ctx, WARDEN_SPAWN_STEP_GATE, got < 0 ? errno : ECANCELED, 0);
        close(ctx->gate_read_fd);
    }

    /* Join the cgroup first, so everything the child allocates is charged there.
     * Only on kernels without clone3's CLONE_INTO_CGROUP. */
    if (ctx->join_cgroup_in_child) {
        int procs = openat(c->cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
        if (procs < 0) report_and_exit(ctx, WARDEN_SPAWN_STEP_CGROUP_JOIN, errno, 0);
        char text[24];
        size_t length = format_decimal(text, (long)getpid());
        if (write_all(procs, text, length) < 0) report_and_exit(ctx, WARDEN_SPAWN_STEP_CGROUP_JOIN, errno, 0);
        close(procs);
    }

    if (setsid() < 0) report_and_exit(ctx, WARDEN_SPAWN_STEP_SETSID, errno, 0);

    /* The parent blocked every signal before the clone so that none of its handlers can
     * run here (under CLONE_VM they would run on the parent's memory). Reset every
     * disposition to the default, then give the program an empty mask. Errors are
     * expected for SIGKILL/SIGSTOP and glibc's internal signals. */
    struct sigaction default_action;
    memset(&default_action, 0, sizeof(default_action));
    default_action.sa_handler = SIG_DFL;
    for (int signo = 1; signo < NSIG; signo++) sigaction(signo, &default_action, NULL);
    /* IgnoreSIGPIPE= (systemd's default): an ignored disposition survives exec, so a
     * write to a pipe whose reader is gone fails with EPIPE instead of killing. */
    if (c->ignore_sigpipe) {
        struct sigaction ignore_action;
        memset(&ignore_action, 0, sizeof(ignore_action));
        ignore_action.sa_handler = SIG_IGN;
        if (sigaction(SIGPIPE, &ignore_action, NULL) < 0) report_and_exit(ctx, WARDEN_SPAWN_STEP_SIGNALS, errno, 0);
    }
    sigset_t empty;
    sigemptyset(&empty);
    if (sigprocmask(SIG_SETMASK, &empty, NULL) < 0) report_and_exit(ctx, WARDEN_SPAWN_STEP_SIGNALS, errno, 0);

    /* Standard streams. A source that is itself 0..2 but meant for another slot is first
     * moved above 2, so that a swap (stdout to 2, stderr to 1) cannot clobber it. */
    int sources[3] = {c->stdio[0], c->stdio[1], c->stdio[2]};
    for (int slot = 0; slot < 3; slot++) {
        if (sources[slot] == WARDEN_SPAWN_STDIO_NULL) {
            int null_fd = open("/dev/null", slot == 0 ? O_RDONLY : O_WRONLY);
            if (null_fd < 0) report_and_exit(ctx, WARDEN_SPAWN_STEP_STDIO, errno, slot);
            sources[slot] = null_fd;
        }
    }
    for (int slot = 0; slot < 3; slot++) {
        if (sources[slot] >= 0 && sources[slot] < 3 && sources[slot] != slot) {
            int moved = fcntl(sources[slot], F_DUPFD, 3);
            if (moved < 0) report_and_exit(ctx, WARDEN_SPAWN_STEP_STDIO, errno, slot);
            sources[slot] = moved;
        }
    }
    for (int slot = 0; slot < 3; slot++) {
        if (sources[slot] == WARDEN_SPAWN_STDIO_INHERIT) continue;
        if (sources[slot] == slot) {
            if (fcntl(slot, F_SETFD, 0) < 0) report_and_exit(ctx, WARDEN_SPAWN_STEP_STDIO, errno, slot);
        } else if (dup2(sources[slot], slot) < 0) {
            report_and_exit(ctx, WARDEN_SPAWN_STEP_STDIO, errno, slot);
        }
    }
    close_descriptors_except(ctx->report_fd);

    if (c->set_umask) umask((mode_t)c->umask);
    if (c->working_directory && chdir(c->working_directory) < 0)
        report_and_exit(ctx, WARDEN_SPAWN_STEP_CHDIR, errno, 0);

    for (int i = 0; i < c->rlimit_count; i++) {
        struct rlimit limit = {
            .rlim_cur = c->rlimits[i].soft == UINT64_MAX ? RLIM_INFINITY : (rlim_t)c->rlimits[i].soft,
            .rlim_max = c->rlimits[i].hard == UINT64_MAX ? RLIM_INFINITY : (rlim_t)c->rlimits[i].hard,
        };
        if (setrlimit((__rlimit_resource_t)c->rlimits[i].resource, &limit) < 0)
            report_and_exit(ctx, WARDEN_SPAWN_STEP_RLIMIT, errno, c->rlimits[i].resource);
    }

    if (c->set_nice && setpriority(PRIO_PROCESS, 0, c->nice) < 0)
        report_and_exit(ctx, WARDEN_SPAWN_STEP_NICE, errno, c->nice);
    if (c->cpu_count > 0 && sched_setaffinity(0, sizeof(ctx->cpu_mask), &ctx->cpu_mask) < 0)
        report_and_exit(ctx, WARDEN_SPAWN_STEP_AFFINITY, errno, 0);
    if (c->set_scheduler) {
        struct sched_param param = {.sched_priority = c->scheduling_priority};
        if (sched_setscheduler(0, c->scheduling_policy, &param) < 0)
            report_and_exit(ctx, WARDEN_SPAWN_STEP_SCHEDULER, errno, c->scheduling_policy);
    }
    if (c->set_oom_score_adjust) {
        int oom = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
        if (oom < 0) report_and_exit(ctx, WARDEN_SPAWN_STEP_OOM_SCORE_ADJ, errno, c->oom_score_adjust);
        char text[24];
        size_t length = format_decimal(text, c->oom_score_adjust);
        if (write_all(oom, text, length) < 0)
            report_and_exit(ctx, WARDEN_SPAWN_STEP_OOM_SCORE_ADJ, errno, c->oom_score_adjust);
        close(oom);
    }

    /* Bounding set: needs CAP_SETPCAP, so before the uid switch. */
    if (c->set_bounding_set) {
        for (int cap = 0; cap <= c->last_capability && cap < 64; cap++) {
            if (c->bounding_set & (1ULL << cap)) continue;
            if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) <= 0) continue;
            if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
                report_and_exit(ctx, WARDEN_SPAWN_STEP_BOUNDING_SET, errno, cap);
        }
    }

    if (c->set_groups && syscall(SYS_setgroups, (size_t)c->group_count, c->groups) < 0)
        report_and_exit(ctx, WARDEN_SPAWN_STEP_SETGROUPS, errno, 0);
    if (c->set_gid && syscall(SYS_setresgid, c->gid, c->gid, c->gid) < 0)
        report_and_exit(ctx, WARDEN_SPAWN_STEP_SETGID, errno, (int)c->gid);
    if (c->set_uid) {
        /* Without KEEPCAPS, leaving uid 0 clears the permitted set and the ambient caps
         * could no longer be raised. */
        if (c->set_ambient && c->uid != 0 && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
            report_and_exit(ctx, WARDEN_SPAWN_STEP_KEEPCAPS, errno, 0);
        if (syscall(SYS_setresuid, c->uid, c->uid, c->uid) < 0)
            report_and_exit(ctx, WARDEN_SPAWN_STEP_SETUID, errno, (int)c->uid);
    }

    if (c->set_ambient) {
        /* Permitted = inheritable = effective = exactly the granted set; an ambient cap
         * must be both permitted and inheritable before it can be raised. */
        struct __user_cap_header_struct header = ctx->cap_header;
        struct __user_cap_data_struct data[2] = {ctx->cap_data[0], ctx->cap_data[1]};
        if (syscall(SYS_capset, &header, data) < 0)
            report_and_exit(ctx, WARDEN_SPAWN_STEP_CAPSET, errno, 0);
        for (int cap = 0; cap <= c->last_capability && cap < 64; cap++) {
            if (!(c->ambient & (1ULL << cap))) continue;
            if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
                report_and_exit(ctx, WARDEN_SPAWN_STEP_AMBIENT, errno, cap);
        }
    }

    if (c->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        report_and_exit(ctx, WARDEN_SPAWN_STEP_NO_NEW_PRIVS, errno, 0);

    if (c->parent_death_signal > 0) {
        if (prctl(PR_SET_PDEATHSIG, c->parent_death_signal, 0, 0, 0) < 0)
            report_and_exit(ctx, WARDEN_SPAWN_STEP_PARENT_DEATH_SIGNAL, errno, c->parent_death_signal);
        /* The parent may have died before the prctl took effect. */
        if (getppid() != ctx->parent_pid)
            report_and_exit(ctx, WARDEN_SPAWN_STEP_PARENT_DEATH_SIGNAL, ESRCH, c->parent_death_signal);
    }

    execve(c->path, c->argv, c->envp);
    report_and_exit(ctx, WARDEN_SPAWN_STEP_EXECVE, errno, 0);
    return 127;
}

/* Child stack for the CLONE_VM path. The child only runs warden_spawn_child and libc
 * wrappers; 64 KiB is ample and only touched pages are ever backed.
 *
 * One stack is kept for every spawn (the supervisor spawns from its one loop thread),
 * instead of an mmap and munmap per spawn: once clone returns, the child has exec'd or
 * exited and no longer runs on it. A spawn that finds it in use (two threads spawning
 * at once, in tests) maps a stack of its own. */
#define WARDEN_SPAWN_STACK_SIZE (64 * 1024)

static pthread_mutex_t spawn_stack_lock = PTHREAD_MUTEX_INITIALIZER;
static void *spawn_stack;

static void *map_stack(void) {
    void *stack = mmap(NULL, WARDEN_SPAWN_STACK_SIZE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    return stack == MAP_FAILED ? NULL : stack;
}

static pid_t clone_vfork(struct warden_spawn_context *ctx, int *pidfd, int *step) {
    int shared = pthread_mutex_trylock(&spawn_stack_lock) == 0;
    void *stack;
    if (shared) {
        if (!spawn_stack) spawn_stack = map_stack();
        stack = spawn_stack;
    } else {
        stack = map_stack();
    }
    if (!stack) {
        if (shared) pthread_mutex_unlock(&spawn_stack_lock);
        *step = WARDEN_SPAWN_STEP_STACK;
        return -1;
    }
    /* CLONE_VFORK suspends this thread until the child has exec'd or exited, so the
     * context on our stack stays valid for the child's whole run. */
    pid_t pid = clone(warden_spawn_child, (char *)stack + WARDEN_SPAWN_STACK_SIZE,
                      CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, ctx, pidfd);
    int saved = errno;
    if (shared) {
        pthread_mutex_unlock(&spawn_stack_lock);
    } else {
        munmap(stack, WARDEN_SPAWN_STACK_SIZE);
    }
    errno = saved;
    if (pid < 0) *step = WARDEN_SPAWN_STEP_CLONE;
    return pid;
}

/* clone3 into the target cgroup. glibc 2.36 has no clone3 wrapper, and a CLONE_VM child
 * cannot continue on a new stack after a raw syscall returns without assembly, so this
 * is the fork-style clone (copy-on-write), about 0.25 ms slower than the CLONE_VM path
 * but atomic: the child never runs outside its cgroup. */
static pid_t clone3_into_cgroup(struct warden_spawn_context *ctx, int *pidfd, int *step) {
    struct clone_args args;
    memset(&args, 0, sizeof(args));
    args.flags = CLONE_PIDFD;
    if (ctx->config->cgroup_fd >= 0) args.flags |= CLONE_INTO_CGROUP;
    args.pidfd = (uint64_t)(uintptr_t)pidfd;
    args.exit_signal = SIGCHLD;
    args.cgroup = (uint64_t)ctx->config->cgroup_fd;
    long pid = syscall(SYS_clone3, &args, sizeof(args));
    if (pid == 0) {
        warden_spawn_child(ctx);
        _exit(127);
    }
    if (pid < 0) *step = WARDEN_SPAWN_STEP_CLONE3;
    return (pid_t)pid;
}

static int await_exec(int report_fd, pid_t pid, int pidfd, struct warden_spawn_result *result);

/* The child has exited 127 (or is about to) after `report`: reap it here, it was never
 * started. */
static int reap_failed(int pidfd, struct warden_spawn_report report, struct warden_spawn_result *result) {
    siginfo_t info;
    while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED) < 0 && errno == EINTR) {}
    close(pidfd);
    result->step = report.step;
    result->error = report.error;
    result->detail = report.detail;
    return -1;
}

int warden_spawn(const struct warden_spawn_config *config, struct warden_spawn_result *result) {
    memset(result, 0, sizeof(*result));
    result->pid = -1;
    result->pidfd = -1;
    result->gate_fd = -1;
    result->report_fd = -1;

    struct warden_spawn_context ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.config = config;
    /* Only the parent-death check needs it (getpid is a system call in glibc 2.36). */
    ctx.parent_pid = config->parent_death_signal > 0 ? getpid() : 0;
    ctx.gate_read_fd = -1;
    ctx.gate_write_fd = -1;

    CPU_ZERO(&ctx.cpu_mask);
    for (int i = 0; i < config->cpu_count; i++) {
        if (config->cpus[i] < 0 || config->cpus[i] >= CPU_SETSIZE) {
            result->step = WARDEN_SPAWN_STEP_AFFINITY;
            result->error = EINVAL;
            result->detail = config->cpus[i];
            return -1;
        }
        CPU_SET(config->cpus[i], &ctx.cpu_mask);
    }
    ctx.cap_header.version = _LINUX_CAPABILITY_VERSION_3;
    ctx.cap_header.pid = 0;
    for (int word = 0; word < 2; word++) {
        uint32_t bits = (uint32_t)(config->ambient >> (32 * word));
        ctx.cap_data[word].effective = bits;
        ctx.cap_data[word].permitted = bits;
        ctx.cap_data[word].inheritable = bits;
    }

    /* A gated child blocks, so it cannot be a CLONE_VFORK child (that would block
     * this thread until its exec): the fork-style clone, as with a cgroup. */
    int fork_style = config->cgroup_fd >= 0 || config->fork_style || config->gated;

    /* The fork-style child has memory of its own: its report needs a pipe. The
     * CLONE_VM child writes it here, into memory it shares with us. */
    struct warden_spawn_report shared_report = {0, 0, 0};
    ctx.shared_report = &shared_report;
    int report_pipe[2] = {-1, -1};
    if (fork_style) {
        if (pipe2(report_pipe, O_CLOEXEC) < 0) {
            result->step = WARDEN_SPAWN_STEP_PIPE;
            result->error = errno;
            return -1;
        }
        /* Keep the write end above the standard streams so the child's dup2s never hit it. */
        if (report_pipe[1] < 3) {
            int moved = fcntl(report_pipe[1], F_DUPFD_CLOEXEC, 3);
            int saved = errno;
            close(report_pipe[1]);
            if (moved < 0) {
                close(report_pipe[0]);
                result->step = WARDEN_SPAWN_STEP_PIPE;
                result->error = saved;
                return -1;
            }
            report_pipe[1] = moved;
        }
    }
    ctx.report_fd = report_pipe[1];

    if (config->gated) {
        /* A socket pair, not a pipe: opening the gate of a child that already died
         * must not raise SIGPIPE in the supervisor (send's MSG_NOSIGNAL). */
        int gate[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, gate) < 0) {
            result->step = WARDEN_SPAWN_STEP_PIPE;
            result->error = errno;
            close(report_pipe[0]);
            close(report_pipe[1]);
            return -1;
        }
        ctx.gate_read_fd = gate[0];
        ctx.gate_write_fd = gate[1];
    }

    /* No signal handler of ours may run in the child; the child resets and unblocks. */
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);

    int pidfd = -1;
    int failed_step = 0;
    pid_t pid;
    if (fork_style) {
        pid = clone3_into_cgroup(&ctx, &pidfd, &failed_step);
        if (pid < 0 && config->cgroup_fd >= 0 && (errno == ENOSYS || errno == E2BIG)) {
            /* Kernel before 5.7: join by writing cgroup.procs from the child instead
             * (its report still goes through the pipe). */
            ctx.join_cgroup_in_child = 1;
            pid = clone_vfork(&ctx, &pidfd, &failed_step);
        }
    } else {
        pid = clone_vfork(&ctx, &pidfd, &failed_step);
    }
    int clone_errno = errno;
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    if (report_pipe[1] >= 0) close(report_pipe[1]);

    if (ctx.gate_read_fd >= 0) close(ctx.gate_read_fd);
    if (pid < 0) {
        if (report_pipe[0] >= 0) close(report_pipe[0]);
        if (ctx.gate_write_fd >= 0) close(ctx.gate_write_fd);
        result->step = failed_step;
        result->error = clone_errno;
        return -1;
    }
    if (config->gated) {
        result->pid = pid;
        result->pidfd = pidfd;
        result->gate_fd = ctx.gate_write_fd;
        result->report_fd = report_pipe[0];
        return 0;
    }
    if (report_pipe[0] >= 0) return await_exec(report_pipe[0], pid, pidfd, result);
    /* CLONE_VFORK: the child has exec'd (no report) or has exited with one. */
    if (shared_report.step == 0) {
        result->pid = pid;
        result->pidfd = pidfd;
        return 0;
    }
    return reap_failed(pidfd, shared_report, result);
}

/* Waits for the child's exec (EOF on the error pipe) or its failure report. */
static int await_exec(int report_fd, pid_t pid, int pidfd, struct warden_spawn_result *result) {
    struct warden_spawn_report report;
    ssize_t got;
    do {
        got = read(report_fd, &report, sizeof(report));
    } while (got < 0 && errno == EINTR);
    close(report_fd);

    if (got == (ssize_t)sizeof(report)) return reap_failed(pidfd, report, result);
    result->pid = pid;
    result->pidfd = pidfd;
    return 0;
}

int warden_spawn_open_gate(struct warden_spawn_result *result) {
    char byte = 1;
    ssize_t written;
    do {
        written = send(result->gate_fd, &byte, 1, MSG_NOSIGNAL);
    } while (written < 0 && errno == EINTR);
    /* A failed write (the child died: EPIPE) shows up as the child's exit below. */
    close(result->gate_fd);
    result->gate_fd = -1;
    int report_fd = result->report_fd;
    result->report_fd = -1;
    pid_t pid = result->pid;
    int pidfd = result->pidfd;
    result->pid = -1;
    result->pidfd = -1;
    return await_exec(report_fd, pid, pidfd, result);
}

void warden_spawn_cancel(struct warden_spawn_result *result) {
    if (result->pidfd >= 0) {
        warden_pidfd_send_signal(result->pidfd, SIGKILL);
        siginfo_t info;
        while (waitid((idtype_t)P_PIDFD, (id_t)result->pidfd, &info, WEXITED) < 0 && errno == EINTR) {}
        close(result->pidfd);
    }
    if (result->gate_fd >= 0) close(result->gate_fd);
    if (result->report_fd >= 0) close(result->report_fd);
    result->pid = -1;
    result->pidfd = -1;
    result->gate_fd = -1;
    result->report_fd = -1;
}
