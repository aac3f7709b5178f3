/* mooncake_client: the real-client service (upstream real_client_main.cpp,
 * spec store.md §7.1). Runs one store client that mounts its segment on
 * the master and serves dummy clients (Python setup_dummy /
 * mooncake_store_setup_dummy) on --port; SIGINT/SIGTERM stop it cleanly
 * (sessions released, segment unmounted). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "mc_addr.h"
#include "mc_flags.h"
#include "mc_realclient.h"

static int stop_fd = -1;

static void on_signal(int sig)
{
    (void)sig;
    char b = 1;
    if (stop_fd >= 0 && write(stop_fd, &b, 1) < 0) {
        /* nothing more a handler can do */
    }
}

/* "4 GB", "16MB", "1.5 GiB", "0", "1024": binary multiples as upstream. */
static bool parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || v < 0 || !isfinite(v))
        return false;
    while (*end == ' ')
        end++;
    static const struct {
        const char *unit;
        double mul;
    } units[] = {{"", 1},          {"B", 1},          {"K", 1024.0},       {"KB", 1024.0},
                 {"KIB", 1024.0},  {"M", 1048576.0},  {"MB", 1048576.0},   {"MIB", 1048576.0},
                 {"G", 1073741824.0}, {"GB", 1073741824.0}, {"GIB", 1073741824.0},
                 {"T", 1099511627776.0}, {"TB", 1099511627776.0}, {"TIB", 1099511627776.0}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcasecmp(end, units[i].unit) == 0) {
            double b = v * units[i].mul;
            if (b >= 18446744073709551615.0)
                return false;
            *out = (uint64_t)b;
            return true;
        }
    }
    return false;
}

static bool parse_bool(const char *v, bool *out)
{
    if (!strcmp(v, "true") || !strcmp(v, "1")) {
        *out = true;
        return true;
    }
    if (!strcmp(v, "false") || !strcmp(v, "0")) {
        *out = false;
        return true;
    }
    return false;
}

static void usage(FILE *out, const char *prog)
{
    fprintf(out,
            "usage: %s [flags]\n"
            "Real-client service: a store client that mounts a segment on the master and\n"
            "serves dummy clients (setup_dummy) over TCP, with payloads in shared memory.\n\n"
            "  --host HOST[:PORT]                 this client's local_hostname (0.0.0.0); no port: 12300-14300\n"
            "  --port N                           RPC port for dummy clients (50052); also names the\n"
            "                                     shared-memory socket @mooncake_client_<port>.sock\n"
            "  --master_server_address HOST:PORT  master (127.0.0.1:50051)\n"
            "  --metadata_server URL              http://127.0.0.1:8080/metadata, P2PHANDSHAKE, ...\n"
            "  --global_segment_size SIZE         segment mounted on the master (\"4 GB\")\n"
            "  --local_buffer_size SIZE           this client's own staging buffer (\"0\")\n"
            "  --protocol NAME                    transport (tcp)\n"
            "  --device_names LIST                RDMA devices (\"\"; alias --device_name)\n"
            "  --threads N, --tenant_id ID        accepted (one tenant; a thread per dummy)\n"
            "  --enable_offload, --start_offload_rpc_server, --enable_http_server, --http_port\n"
            "                                     accepted; offload and the client HTTP server are\n"
            "                                     not in this build (enabling them is an error)\n"
            "  -v                                 log dummy sessions\n"
            "  --help                             this text\n",
            prog);
}

int main(int argc, char **argv)
{
    const char *prog = "mooncake_client";
    const char *host = "0.0.0.0", *port_s = "50052", *master = "127.0.0.1:50051";
    const char *meta = "http://127.0.0.1:8080/metadata", *proto = "tcp", *devices = "";
    const char *seg_s = "4 GB", *lbuf_s = "0", *v;
    const char *offload = "false", *http = "false";
    int verbose = 0;
    mc_flags_t f;
    mc_flags_init(&f, argc, argv);
    while (mc_flags_peek(&f)) {
        int nv;
        if (mc_flags_bool(&f, "help") || mc_flags_bool(&f, "h")) {
            usage(stdout, prog);
            return 0;
        } else if ((nv = mc_flags_verbose(&f)) > 0) {
            verbose += nv;
        } else if (mc_flags_value(&f, "host", &v)) {
            host = v;
        } else if (mc_flags_value(&f, "port", &v)) {
            port_s = v;
        } else if (mc_flags_value(&f, "master_server_address", &v)) {
            master = v;
        } else if (mc_flags_value(&f, "metadata_server", &v)) {
            meta = v;
        } else if (mc_flags_value(&f, "global_segment_size", &v)) {
            seg_s = v;
        } else if (mc_flags_value(&f, "local_buffer_size", &v)) {
            lbuf_s = v;
        } else if (mc_flags_value(&f, "protocol", &v)) {
            proto = v;
        } else if (mc_flags_value(&f, "device_names", &v) || mc_flags_value(&f, "device_name", &v)) {
            devices = v;
        } else if (mc_flags_value(&f, "enable_offload", &v)) {
            offload = v;
        } else if (mc_flags_value(&f, "enable_http_server", &v)) {
            http = v;
        } else if (mc_flags_value(&f, "threads", &v) || mc_flags_value(&f, "tenant_id", &v) ||
                   mc_flags_value(&f, "start_offload_rpc_server", &v) || mc_flags_value(&f, "http_port", &v)) {
            /* accepted for compatibility */
        } else {
            if (f.err)
                fprintf(stderr, "%s: %s: %s\n", prog, f.err_flag, f.err);
            else
                fprintf(stderr, "%s: unknown flag '%s' (see --help)\n", prog, mc_flags_peek(&f));
            return 2;
        }
    }
    char *end;
    unsigned long port = strtoul(port_s, &end, 10);
    uint64_t seg, lbuf;
    bool b_off, b_http;
    if (*end || port == 0 || port > 65535) {
        fprintf(stderr, "%s: --port '%s': expected 1..65535\n", prog, port_s);
        return 2;
    }
    if (!parse_size(seg_s, &seg) || !parse_size(lbuf_s, &lbuf)) {
        fprintf(stderr, "%s: --global_segment_size/--local_buffer_size: expected a size like \"4 GB\"\n", prog);
        return 2;
    }
    if (!parse_bool(offload, &b_off) || !parse_bool(http, &b_http) || b_off || b_http) {
        fprintf(stderr, "%s: --enable_offload/--enable_http_server: only false is available in this build\n", prog);
        return 2;
    }
    /* RPC address: the host part of --host with --port. */
    char hpart[256];
    uint16_t hport = 0;
    if (!mc_addr_split(host, hpart, sizeof hpart, &hport))
        snprintf(hpart, sizeof hpart, "%s", host);
    char rpc_addr[300];
    snprintf(rpc_addr, sizeof rpc_addr, strchr(hpart, ':') ? "[%s]:%lu" : "%s:%lu", hpart, port);

    mc_rc_server_t srv;
    memset(&srv, 0, sizeof srv);
    srv.verbose = (unsigned)verbose;
    if (pipe(srv.stop_pipe) != 0) {
        perror("pipe");
        return 1;
    }
    stop_fd = srv.stop_pipe[1];
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int rc = mooncake_store_setup(&srv.store, host, meta, seg, lbuf, proto, devices, master);
    if (rc != 0) {
        fprintf(stderr, "%s: setup failed: %d (%s)\n", prog, rc, mooncake_strerror(rc));
        return 1;
    }
    fprintf(stderr, "%s: store client %s mounted %llu bytes on master %s\n", prog,
            mooncake_store_hostname(srv.store), (unsigned long long)seg, master);
    rc = mc_rc_serve(&srv, rpc_addr, (uint16_t)port);
    mooncake_store_close(srv.store);
    close(srv.stop_pipe[0]);
    close(srv.stop_pipe[1]);
    fprintf(stderr, "%s: stopped\n", prog);
    return rc;
}
