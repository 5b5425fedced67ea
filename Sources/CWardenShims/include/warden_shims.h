#ifndef WARDEN_SHIMS_H
#define WARDEN_SHIMS_H
/* Declarations Swift's Glibc module lacks (epoll, signalfd, pidfd), re-exported
 * here, plus the async-signal-safe spawn path. Prefixed names only. */
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/types.h>
#include <signal.h>

/* pidfd_open(2) through syscall(2): glibc 2.36 has no wrapper. */
int warden_pidfd_open(pid_t pid, unsigned int flags);
/* pidfd_send_signal(2): signal a process by pidfd, so a recycled PID is never hit. */
int warden_pidfd_send_signal(int pidfd, int sig);

#include <stdint.h>
#include <stddef.h>
#include <sys/timerfd.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

/* ---- Spawn (spawn.c) ------------------------------------------------------------- */

/* Where the child stood when it failed; Swift turns these into "setrlimit(RLIMIT_NOFILE)". */
enum {
    WARDEN_SPAWN_STEP_PIPE = 1,
    WARDEN_SPAWN_STEP_STACK,
    WARDEN_SPAWN_STEP_CLONE,
    WARDEN_SPAWN_STEP_CLONE3,
    WARDEN_SPAWN_STEP_CGROUP_JOIN,
    WARDEN_SPAWN_STEP_SETSID,
    WARDEN_SPAWN_STEP_SIGNALS,
    WARDEN_SPAWN_STEP_STDIO,            /* detail: 0, 1 or 2 */
    WARDEN_SPAWN_STEP_CHDIR,
    WARDEN_SPAWN_STEP_RLIMIT,           /* detail: resource */
    WARDEN_SPAWN_STEP_NICE,             /* detail: nice value */
    WARDEN_SPAWN_STEP_AFFINITY,         /* detail: bad CPU number, if any */
    WARDEN_SPAWN_STEP_SCHEDULER,        /* detail: policy */
    WARDEN_SPAWN_STEP_OOM_SCORE_ADJ,    /* detail: value */
    WARDEN_SPAWN_STEP_BOUNDING_SET,     /* detail: capability */
    WARDEN_SPAWN_STEP_SETGROUPS,
    WARDEN_SPAWN_STEP_SETGID,           /* detail: gid */
    WARDEN_SPAWN_STEP_KEEPCAPS,
    WARDEN_SPAWN_STEP_SETUID,           /* detail: uid */
    WARDEN_SPAWN_STEP_CAPSET,
    WARDEN_SPAWN_STEP_AMBIENT,          /* detail: capability */
    WARDEN_SPAWN_STEP_NO_NEW_PRIVS,
    WARDEN_SPAWN_STEP_PARENT_DEATH_SIGNAL,
    WARDEN_SPAWN_STEP_EXECVE,
    WARDEN_SPAWN_STEP_GATE,             /* the gate was closed without opening it */
};

/* stdio[i] values besides a descriptor number. */
#define WARDEN_SPAWN_STDIO_INHERIT (-1)
#define WARDEN_SPAWN_STDIO_NULL (-2)

struct warden_spawn_rlimit {
    int resource;
    uint64_t soft;   /* UINT64_MAX = infinity */
    uint64_t hard;
};

struct warden_spawn_config {
    const char *path;
    char *const *argv;
    char *const *envp;
    const char *working_directory;      /* NULL: keep */
    int stdio[3];                       /* fd, or WARDEN_SPAWN_STDIO_* */
    int set_umask; unsigned int umask;
    const struct warden_spawn_rlimit *rlimits; int rlimit_count;
    int set_nice; int nice;
    const int *cpus; int cpu_count;     /* 0: keep affinity */
    int set_scheduler; int scheduling_policy; int scheduling_priority;
    int set_oom_score_adjust; int oom_score_adjust;
    int set_bounding_set; uint64_t bounding_set;
    int set_ambient; uint64_t ambient;
    int set_groups; const gid_t *groups; int group_count;
    int set_gid; gid_t gid;
    int set_uid; uid_t uid;
    int no_new_privileges;
    int ignore_sigpipe;                 /* SIGPIPE ignored in the program (IgnoreSIGPIPE=) */
    int parent_death_signal;            /* 0: none */
    int cgroup_fd;                      /* -1: stay in the parent's cgroup */
    int last_capability;                /* highest capability the kernel knows */
    int fork_style;                     /* clone3 without CLONE_VM even with no cgroup (tests) */
    int gated;                          /* the child waits at a gate before any setup */
};

struct warden_spawn_result {
    pid_t pid;
    int pidfd;
    int gate_fd;     /* gated spawn: the gate's write end (-1 otherwise) */
    int report_fd;   /* gated spawn: the error pipe's read end (-1 otherwise) */
    int step;     /* WARDEN_SPAWN_STEP_*, when the call failed */
    int error;    /* errno */
    int detail;
};

/* Starts config->path. On success returns 0 with pid and pidfd set (the child has
 * exec'd). On failure returns -1 with step/error/detail set; the child, if one was
 * created, has already been reaped. */
int warden_spawn(const struct warden_spawn_config *config, struct warden_spawn_result *result);

/* With config->gated, warden_spawn returns as soon as the child exists (pid, pidfd,
 * gate_fd and report_fd set): the child is blocked on the gate before it has done
 * anything (no setsid, no exec, no fork), so the caller can place it (a systemd scope)
 * first. Then exactly one of:
 *   warden_spawn_open_gate: lets it run on; returns 0 once it has exec'd, or -1 with
 *     step/error/detail set and the child reaped and its pidfd closed;
 *   warden_spawn_cancel: SIGKILLs and reaps it, closes every descriptor. */
int warden_spawn_open_gate(struct warden_spawn_result *result);
void warden_spawn_cancel(struct warden_spawn_result *result);

/* ---- Notify socket (notify.c) ---------------------------------------------------- */

/* Creates a non-blocking close-on-exec AF_UNIX datagram socket bound to path
 * (a leading '@' means the abstract namespace) with SO_PASSCRED on.
 * Returns the fd, or -1 with errno set. */
int warden_notify_socket_bind(const char *path);

/* What is known of one received datagram. */
struct warden_notify_datagram {
    ssize_t length;
    pid_t pid;
    uid_t uid;
    gid_t gid;
    int passed_fds;
    int truncated;
};

/* Up to count datagrams in one recvmmsg(2): datagram i's payload at buffers + i * capacity
 * (length >= capacity, or truncated set: the payload was cut). Returns how many were
 * received (0 when nothing is queued), or -1 with errno. Descriptors passed along are
 * closed and counted in passed_fds. */
int warden_notify_receive_batch(int fd, void *buffers, size_t capacity, int count,
                                struct warden_notify_datagram *datagrams);

/* ---- Small helpers (process.c) --------------------------------------------------- */

/* waitid(P_PIDFD, pidfd, WEXITED | extra). Fills code (CLD_*) and status. */
int warden_wait_pidfd(int pidfd, int extra_flags, int *code, int *status, pid_t *pid);
/* waitid(P_ALL, 0, WEXITED | WNOHANG | extra): pid 0 when no child has exited. */
int warden_wait_any(int extra_flags, int *code, int *status, pid_t *pid);
/* waitid(P_PID, pid, WEXITED | WNOHANG). */
int warden_wait_pid(pid_t pid, int *code, int *status);
/* tgkill(2): a signal for one thread. */
int warden_tgkill(pid_t tgid, pid_t tid, int sig);
pid_t warden_gettid(void);
int warden_set_child_subreaper(int on);
int warden_is_child_subreaper(void);
/* renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_EXCHANGE): swaps two existing names
 * atomically (glibc 2.36's wrapper is not visible to Swift). -1 with errno. */
int warden_rename_exchange(const char *from, const char *to);
/* getrandom(2) with no flags (not visible to Swift through Glibc). */
long warden_getrandom(void *buffer, unsigned long length);
/* sigabbrev_np(3): "TERM" for 15, NULL for an unknown number. */
const char *warden_signal_abbrev(int sig);



/* fstatfs(2)'s f_type (the file system magic, e.g. CGROUP2_SUPER_MAGIC): Swift's Glibc
 * module does not import <sys/vfs.h>. Returns 0, or -1 with errno set. */
int warden_fstatfs_type(int fd, long *type);

/* fgetxattr(2) on an open file (a cgroup's systemd tags): Swift's Glibc module does not
 * import <sys/xattr.h>. Returns the value's length, or -1 with errno set. */
long warden_fgetxattr(int fd, const char *name, void *value, unsigned long size);

/* statvfs(2)'s ST_RDONLY for `path`: 1 read-only, 0 read-write, -1 with errno set. */
int warden_path_is_read_only(const char *path);

/* ---- CPUID (cpuid.c) -------------------------------------------------------------- */

/* The hypervisor's CPUID signature (leaf 0x40000000, e.g. "KVMKVMKVM"), NUL-terminated,
 * into `vendor` (13 bytes). Returns 1 when the CPU reports a hypervisor, 0 when it does
 * not or is not x86. */
int warden_cpuid_hypervisor(char vendor[13]);

/* ---- Libraries opened at first use (library.c) ------------------------------------ */

struct warden_symbol {
    const char *name;
    void **slot;
};

/* dlopen(file), then every symbol into its slot. On failure: -1, and `error` says what
 * was missing and `install_hint` how to get it ("Debian: apt install libssl3"). */
int warden_load_library(const char *file, const char *install_hint, const struct warden_symbol *symbols,
                        size_t count, char *error, size_t error_size);

#endif
