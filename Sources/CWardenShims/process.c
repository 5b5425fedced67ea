#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>
#include <linux/fs.h>
#include "warden_shims.h"

/* glibc 2.36 knows the syscall but not the idtype. */
#define WARDEN_P_PIDFD 3

static int wait_common(idtype_t type, id_t id, int flags, int *code, int *status, pid_t *pid) {
    siginfo_t info;
    info.si_pid = 0;
    int rc;
    do {
        rc = waitid(type, id, &info, flags);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) return -1;
    if (pid) *pid = info.si_pid;
    if (code) *code = info.si_code;
    if (status) *status = info.si_status;
    return 0;
}

int warden_wait_pidfd(int pidfd, int extra_flags, int *code, int *status, pid_t *pid) {
    return wait_common((idtype_t)WARDEN_P_PIDFD, (id_t)pidfd, WEXITED | extra_flags, code, status, pid);
}

int warden_wait_any(int extra_flags, int *code, int *status, pid_t *pid) {
    return wait_common(P_ALL, 0, WEXITED | WNOHANG | extra_flags, code, status, pid);
}

int warden_wait_pid(pid_t pid, int *code, int *status) {
    pid_t found = 0;
    int rc = wait_common(P_PID, (id_t)pid, WEXITED | WNOHANG, code, status, &found);
    if (rc < 0) return -1;
    return found == pid ? 1 : 0;
}

int warden_tgkill(pid_t tgid, pid_t tid, int sig) {
    return (int)syscall(SYS_tgkill, tgid, tid, sig);
}

pid_t warden_gettid(void) { return (pid_t)syscall(SYS_gettid); }

int warden_set_child_subreaper(int on) { return prctl(PR_SET_CHILD_SUBREAPER, on ? 1 : 0, 0, 0, 0); }

int warden_is_child_subreaper(void) {
    int value = 0;
    if (prctl(PR_GET_CHILD_SUBREAPER, &value, 0, 0, 0) < 0) return -1;
    return value;
}

const char *warden_signal_abbrev(int sig) { return sigabbrev_np(sig); }

int warden_rename_exchange(const char *from, const char *to) {
    return (int)syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, RENAME_EXCHANGE);
}

long warden_getrandom(void *buffer, unsigned long length) {
    return (long)getrandom(buffer, (size_t)length, 0);
}
