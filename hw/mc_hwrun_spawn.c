/* fork/exec of one node process; see mc_hwrun.h. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "mc_hwrun.h"

static void mc_hwrun_close_pair(int p[2])
{
    if (p[0] >= 0)
        close(p[0]);
    if (p[1] >= 0)
        close(p[1]);
    p[0] = p[1] = -1;
}

pid_t mc_hwrun_spawn(char *const argv[], int netns_fd, int *in_fd, int *out_fd, int *err_fd, char *err,
                     size_t errlen)
{
    int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
    pid_t pid = -1;
    if (pipe2(pin, O_CLOEXEC) < 0 || pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        goto cleanup;
    }
    pid_t parent = getpid();
    pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        goto cleanup;
    }
    if (pid == 0) {
        /* Child: only async-signal-safe calls until exec. */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        setpgid(0, 0); /* terminal signals go to the runner, which stops us */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127); /* the runner died before prctl */
        if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET) < 0) {
            static const char msg[] = "mooncake_hwrun: setns into the node's network namespace failed\n";
            ssize_t w = write(perr[1], msg, sizeof msg - 1);
            (void)w;
            _exit(127);
        }
        if (dup2(pin[0], STDIN_FILENO) < 0 || dup2(pout[1], STDOUT_FILENO) < 0 ||
            dup2(perr[1], STDERR_FILENO) < 0)
            _exit(127);
        execv(argv[0], argv);
        static const char msg[] = "mooncake_hwrun: exec failed\n";
        ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)w;
        _exit(127);
    }
    close(pin[0]);
    close(pout[1]);
    close(perr[1]);
    fcntl(pin[1], F_SETFL, O_NONBLOCK);
    fcntl(pout[0], F_SETFL, O_NONBLOCK);
    fcntl(perr[0], F_SETFL, O_NONBLOCK);
    *in_fd = pin[1];
    *out_fd = pout[0];
    *err_fd = perr[0];
    return pid;
cleanup:
    mc_hwrun_close_pair(pin);
    mc_hwrun_close_pair(pout);
    mc_hwrun_close_pair(perr);
    return -1;
}
