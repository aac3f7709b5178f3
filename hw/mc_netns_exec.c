/* Running ip(8) and nft(8) for mc_netns, optionally inside a network
 * namespace; see mc_netns_int.h. */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/mc_mem.h"
#include "mc_netns_int.h"

#define MC_NETNS_DIR "/run/netns" /* where ip(8) keeps named namespaces */
#define MC_NETNS_MAX_ARGS 32

typedef struct mc_netns_tool_cache {
    const char *name;
    char path[256];
    bool looked;
} mc_netns_tool_cache_t;

static mc_netns_tool_cache_t mc_netns_tools[] = {{"ip", "", false}, {"nft", "", false}};

static bool mc_netns_in_dir(const char *dir, size_t dirlen, const char *name, char *out, size_t outlen)
{
    if (dirlen == 0 || (size_t)snprintf(out, outlen, "%.*s/%s", (int)dirlen, dir, name) >= outlen)
        return false;
    return access(out, X_OK) == 0;
}

const char *mc_netns_tool(const char *name)
{
    mc_netns_tool_cache_t *c = NULL;
    for (size_t i = 0; i < sizeof mc_netns_tools / sizeof mc_netns_tools[0]; i++)
        if (strcmp(mc_netns_tools[i].name, name) == 0)
            c = &mc_netns_tools[i];
    if (!c)
        return NULL;
    if (!c->looked) {
        c->looked = true;
        const char *path = getenv("PATH");
        bool found = false;
        for (const char *p = path; p && *p && !found;) {
            const char *colon = strchr(p, ':');
            size_t len = colon ? (size_t)(colon - p) : strlen(p);
            found = mc_netns_in_dir(p, len, name, c->path, sizeof c->path);
            p = colon ? colon + 1 : NULL;
        }
        static const char *const sbin[] = {"/usr/sbin", "/sbin"}; /* root's tools, often not in PATH */
        for (size_t i = 0; i < 2 && !found; i++)
            found = mc_netns_in_dir(sbin[i], strlen(sbin[i]), name, c->path, sizeof c->path);
        if (!found)
            c->path[0] = '\0';
    }
    return c->path[0] ? c->path : NULL;
}

/* Keep the first line of the tool's output as the error message. */
static void mc_netns_first_line(const char *out, const char *tool, int st, char *err, size_t errlen)
{
    const char *nl = strchr(out, '\n');
    int len = nl ? (int)(nl - out) : (int)strlen(out);
    const char *base = strrchr(tool, '/') ? strrchr(tool, '/') + 1 : tool;
    if (WIFEXITED(st))
        snprintf(err, errlen, "%s exited %d: %.*s", base, WEXITSTATUS(st), len, out);
    else
        snprintf(err, errlen, "%s died (status %d): %.*s", base, st, len, out);
}

int mc_netns_start(mc_netns_job_t *j, const char *tool, const char *const args[], const char *input, int ns_fd,
                   char *err, size_t errlen)
{
    const char *argv[MC_NETNS_MAX_ARGS + 2];
    size_t argc = 0;
    int in_fd = -1, pout[2] = {-1, -1};
    j->pid = -1;
    j->out_fd = -1;
    j->tool = tool;
    argv[argc++] = tool;
    for (size_t i = 0; args[i]; i++) {
        if (argc > MC_NETNS_MAX_ARGS) {
            snprintf(err, errlen, "too many arguments for %s", tool);
            return -1;
        }
        argv[argc++] = args[i];
    }
    argv[argc] = NULL;
    /* stdin from a memfd, not a pipe: no deadlock whatever the sizes. */
    if (input) {
        size_t len = strlen(input), off = 0;
        in_fd = memfd_create("mc_netns_input", MFD_CLOEXEC);
        if (in_fd < 0) {
            snprintf(err, errlen, "memfd_create: %s", strerror(errno));
            goto fail;
        }
        while (off < len) {
            ssize_t w = write(in_fd, input + off, len - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                snprintf(err, errlen, "memfd write: %s", strerror(errno));
                goto fail;
            }
            off += (size_t)w;
        }
        lseek(in_fd, 0, SEEK_SET);
    }
    if (pipe2(pout, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        goto fail;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        goto fail;
    }
    if (pid == 0) {
        /* Child: only async-signal-safe calls until exec. Own process
         * group: a terminal ^C goes to the runner, which cleans up. */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        setpgid(0, 0);
        int devnull = input ? -1 : open("/dev/null", O_RDONLY | O_CLOEXEC);
        if ((ns_fd >= 0 && setns(ns_fd, CLONE_NEWNET) < 0) || dup2(input ? in_fd : devnull, STDIN_FILENO) < 0 ||
            dup2(pout[1], STDOUT_FILENO) < 0 || dup2(pout[1], STDERR_FILENO) < 0) {
            static const char msg[] = "cannot enter the namespace or set up stdio\n";
            ssize_t w = write(pout[1], msg, sizeof msg - 1);
            (void)w;
            _exit(126);
        }
        execv(tool, (char *const *)argv);
        static const char msg[] = "exec failed\n";
        ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)w;
        _exit(127);
    }
    if (in_fd >= 0)
        close(in_fd);
    close(pout[1]);
    j->pid = pid;
    j->out_fd = pout[0];
    return 0;
fail:
    if (in_fd >= 0)
        close(in_fd);
    if (pout[0] >= 0)
        close(pout[0]);
    if (pout[1] >= 0)
        close(pout[1]);
    return -1;
}

int mc_netns_wait(mc_netns_job_t *j, char *err, size_t errlen)
{
    assert(j->pid > 0 && j->out_fd >= 0);
    char out[1024];
    size_t n = 0;
    for (;;) {
        char chunk[512];
        ssize_t r = read(j->out_fd, chunk, sizeof chunk);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        size_t take = (size_t)r < sizeof out - 1 - n ? (size_t)r : sizeof out - 1 - n;
        memcpy(out + n, chunk, take);
        n += take;
    }
    out[n] = '\0';
    close(j->out_fd);
    j->out_fd = -1;
    int st = 0;
    while (waitpid(j->pid, &st, 0) < 0 && errno == EINTR)
        ;
    j->pid = -1;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    mc_netns_first_line(out, j->tool, st, err, errlen);
    return -1;
}

int mc_netns_run(const char *tool, const char *const args[], const char *input, int ns_fd, char *err,
                 size_t errlen)
{
    mc_netns_job_t j;
    if (mc_netns_start(&j, tool, args, input, ns_fd, err, errlen) < 0)
        return -1;
    return mc_netns_wait(&j, err, errlen);
}

size_t mc_netns_delete_prefix(const char *prefix)
{
    const char *ip = mc_netns_tool("ip");
    DIR *d = opendir(MC_NETNS_DIR);
    size_t n = 0, cap = 0, len = 0;
    char *script = NULL;
    if (!d || !ip)
        goto cleanup;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
            continue;
        size_t need = strlen(de->d_name) + 16;
        if (cap - len < need) {
            cap = (cap + need) * 2;
            script = mc_realloc(script, cap);
        }
        len += (size_t)snprintf(script + len, cap - len, "netns del %s\n", de->d_name);
        n++;
    }
    if (n) {
        char err[256];
        static const char *const args[] = {"-force", "-batch", "-", NULL};
        if (mc_netns_run(ip, args, script, -1, err, sizeof err) < 0)
            fprintf(stderr, "hwrun: netns cleanup (%s*): %s\n", prefix, err);
    }
cleanup:
    if (d)
        closedir(d);
    mc_free(script);
    return n;
}
