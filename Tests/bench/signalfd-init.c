/* A reference for scripts/bench-signal: the smallest init built like Warden's event loop,
 * with SIGTERM read from a signalfd in epoll (tini, dumb-init and catatonit wait in
 * sigtimedwait or sigwaitinfo instead) and passed on to its one child with kill(2). What
 * it takes is what that way of waiting costs, before any work of a supervisor. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: signalfd-init PROGRAM [ARG...]\n");
        return 2;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) return 3;
    int signals = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    int poller = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event interest = {.events = EPOLLIN, .data.fd = signals};
    if (signals < 0 || poller < 0 || epoll_ctl(poller, EPOLL_CTL_ADD, signals, &interest) != 0) return 4;
    pid_t child = fork();
    if (child < 0) return 5;
    if (child == 0) {
        sigprocmask(SIG_UNBLOCK, &set, NULL);
        execv(argv[1], argv + 1);
        _exit(127);
    }
    for (;;) {
        struct epoll_event ready;
        if (epoll_wait(poller, &ready, 1, -1) <= 0) continue;
        struct signalfd_siginfo info;
        while (read(signals, &info, sizeof info) == sizeof info) {
            if (info.ssi_signo == SIGTERM) kill(child, SIGTERM);
            int status;
            if (info.ssi_signo == SIGCHLD && waitpid(child, &status, WNOHANG) == child) return 0;
        }
    }
}
