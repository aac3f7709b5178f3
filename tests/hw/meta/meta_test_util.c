#include "meta_test_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int res_seq;

void res_cb(void *arg, int err, const char *value, size_t len)
{
    res_t *r = arg;
    r->calls++;
    r->err = err;
    r->null = value == NULL;
    free(r->val);
    r->val = NULL;
    if (value) {
        r->val = malloc(len + 1);
        memcpy(r->val, value, len);
        r->val[len] = '\0';
    }
    r->len = len;
    r->order = ++res_seq;
}

void res_reset(res_t *r)
{
    free(r->val);
    memset(r, 0, sizeof *r);
}

bool run_until(mc_loop_t *l, const int *calls, int n, uint64_t limit_ns)
{
    uint64_t end = mc_loop_clock_ns() + limit_ns;
    while (*calls < n) {
        uint64_t now = mc_loop_clock_ns();
        if (now >= end)
            return false;
        mc_loop_run_once(l, end - now < 20 * MS ? end - now : 20 * MS);
    }
    return true;
}

void run_for(mc_loop_t *l, uint64_t ns)
{
    uint64_t end = mc_loop_clock_ns() + ns;
    while (mc_loop_clock_ns() < end)
        mc_loop_run_once(l, end - mc_loop_clock_ns());
}

static int listen_any(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0) {
        close(fd);
        return -1;
    }
    socklen_t al = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &al);
    *port = ntohs(a.sin_port);
    return fd;
}

uint16_t free_port(void)
{
    uint16_t p = 0;
    int fd = listen_any(&p);
    if (fd >= 0)
        close(fd);
    return p;
}

/* ---- fake HTTP responder ---- */

struct fake_http {
    int lfd;
    uint16_t port;
    int status;
    char *body;
    pthread_t th;
    atomic_int requests;
    atomic_bool stop;
};

/* Reads one request (headers + Content-Length body); false on EOF. */
static bool read_request(int fd)
{
    char buf[65536];
    size_t have = 0;
    char *end = NULL;
    while (!(end = memmem(buf, have, "\r\n\r\n", 4))) {
        if (have == sizeof buf)
            return false;
        ssize_t n = read(fd, buf + have, sizeof buf - have);
        if (n <= 0)
            return false;
        have += (size_t)n;
    }
    size_t hdr = (size_t)(end + 4 - buf);
    long clen = 0;
    char *cl = memmem(buf, hdr, "Content-Length:", 15);
    if (!cl)
        cl = memmem(buf, hdr, "content-length:", 15);
    if (cl)
        clen = strtol(cl + 15, NULL, 10);
    long left = clen - (long)(have - hdr);
    while (left > 0) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0)
            return false;
        left -= n;
    }
    return true;
}

static void *fake_main(void *arg)
{
    fake_http_t *f = arg;
    while (!atomic_load(&f->stop)) {
        int c = accept(f->lfd, NULL, NULL);
        if (c < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        while (read_request(c)) {
            atomic_fetch_add(&f->requests, 1);
            if (f->status == 0)
                continue; /* black hole: keep reading, never answer */
            char hdr[256];
            int n = snprintf(hdr, sizeof hdr,
                             "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                             "Connection: close\r\n\r\n",
                             f->status, strlen(f->body));
            if (write(c, hdr, (size_t)n) < 0 || write(c, f->body, strlen(f->body)) < 0)
                break;
            break;
        }
        close(c);
    }
    return NULL;
}

fake_http_t *fake_http_start(int status, const char *body)
{
    fake_http_t *f = calloc(1, sizeof *f);
    f->lfd = listen_any(&f->port);
    f->status = status;
    f->body = strdup(body ? body : "");
    pthread_create(&f->th, NULL, fake_main, f);
    return f;
}

uint16_t fake_http_port(const fake_http_t *f)
{
    return f->port;
}

int fake_http_requests(const fake_http_t *f)
{
    return atomic_load(&((fake_http_t *)f)->requests);
}

void fake_http_stop(fake_http_t *f)
{
    atomic_store(&f->stop, true);
    shutdown(f->lfd, SHUT_RDWR); /* wakes accept() */
    /* A black-hole reader blocks in read(): poke it with a connection
     * so it loops back to the stop check only after the client closed;
     * tests destroy their clients (closing the socket) before stopping. */
    pthread_join(f->th, NULL);
    close(f->lfd);
    free(f->body);
    free(f);
}

/* ---- etcd ---- */

struct etcd_proc {
    pid_t pid;
    uint16_t port;
    char dir[64];
};

static const char *etcd_bin(void)
{
    static const char *const cands[] = {"/usr/bin/etcd", "/usr/local/bin/etcd"};
    for (size_t i = 0; i < sizeof cands / sizeof *cands; i++)
        if (access(cands[i], X_OK) == 0)
            return cands[i];
    return NULL;
}

bool etcd_available(void)
{
    return etcd_bin() != NULL;
}

static void rm_rf(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

etcd_proc_t *etcd_start(uint16_t port, char *why, size_t whylen)
{
    const char *bin = etcd_bin();
    if (!bin) {
        snprintf(why, whylen, "etcd binary not found (apt-get install etcd-server)");
        return NULL;
    }
    etcd_proc_t *e = calloc(1, sizeof *e);
    snprintf(e->dir, sizeof e->dir, "/tmp/mc-etcd-XXXXXX");
    if (!mkdtemp(e->dir)) {
        snprintf(why, whylen, "mkdtemp: %s", strerror(errno));
        free(e);
        return NULL;
    }
    e->port = port ? port : free_port();
    uint16_t peer = free_port();
    char client_url[64], peer_url[64], cluster[96], data[96], log[96];
    snprintf(client_url, sizeof client_url, "http://127.0.0.1:%u", e->port);
    snprintf(peer_url, sizeof peer_url, "http://127.0.0.1:%u", peer);
    snprintf(cluster, sizeof cluster, "t=%s", peer_url);
    snprintf(data, sizeof data, "%s/data", e->dir);
    snprintf(log, sizeof log, "%s/etcd.log", e->dir);
    e->pid = fork();
    if (e->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        FILE *lf = freopen(log, "w", stderr);
        (void)lf;
        if (!freopen("/dev/null", "w", stdout))
            _exit(127);
        execl(bin, bin, "--name", "t", "--data-dir", data, "--listen-client-urls", client_url,
              "--advertise-client-urls", client_url, "--listen-peer-urls", peer_url,
              "--initial-advertise-peer-urls", peer_url, "--initial-cluster", cluster,
              "--log-level", "error", (char *)NULL);
        _exit(127);
    }
    /* Ready when a get through our own backend answers. */
    mc_loop_t *l = mc_loop_create();
    char conn[64], err[256];
    snprintf(conn, sizeof conn, "127.0.0.1:%u", e->port);
    mc_te_meta_t *m = mc_hw_meta_open(l, conn, err, sizeof err);
    bool up = false;
    for (int i = 0; i < 150 && !up; i++) {
        res_t r = {0};
        mc_te_meta_get(m, "mc-test/ready", res_cb, &r);
        run_until(l, &r.calls, 1, 5000 * MS);
        up = r.calls == 1 && r.err == 0;
        res_reset(&r);
        int st;
        if (!up && waitpid(e->pid, &st, WNOHANG) == e->pid) {
            snprintf(why, whylen, "etcd exited during start (log %s)", log);
            e->pid = 0;
            break;
        }
        if (!up)
            usleep(100 * 1000);
    }
    mc_te_meta_destroy(m);
    mc_loop_destroy(l);
    if (!up) {
        if (e->pid)
            snprintf(why, whylen, "etcd did not answer on %s (log %s)", conn, log);
        etcd_stop(e);
        return NULL;
    }
    return e;
}

uint16_t etcd_port(const etcd_proc_t *e)
{
    return e->port;
}

void etcd_stop(etcd_proc_t *e)
{
    if (!e)
        return;
    if (e->pid > 0) {
        kill(e->pid, SIGKILL);
        waitpid(e->pid, NULL, 0);
    }
    rm_rf(e->dir);
    free(e);
}

/* ---- sync wrappers ---- */

int meta_put_sync(mc_loop_t *l, mc_te_meta_t *m, const char *key, const char *v, size_t len)
{
    res_t r = {0};
    mc_te_meta_put(m, key, v, len, res_cb, &r);
    if (!run_until(l, &r.calls, 1, 20000 * MS))
        return 999;
    int err = r.err;
    res_reset(&r);
    return err;
}

int meta_get_sync(mc_loop_t *l, mc_te_meta_t *m, const char *key, res_t *out)
{
    res_reset(out);
    mc_te_meta_get(m, key, res_cb, out);
    if (!run_until(l, &out->calls, 1, 20000 * MS))
        return 999;
    return out->err;
}

int meta_del_sync(mc_loop_t *l, mc_te_meta_t *m, const char *key)
{
    res_t r = {0};
    mc_te_meta_del(m, key, res_cb, &r);
    if (!run_until(l, &r.calls, 1, 20000 * MS))
        return 999;
    int err = r.err;
    res_reset(&r);
    return err;
}
