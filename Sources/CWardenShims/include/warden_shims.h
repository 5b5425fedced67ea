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

#endif
