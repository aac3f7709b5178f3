/* mooncake_http_metadata_server: the standalone HTTP metadata server
 * (upstream ships it as a Python script with the same flags). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "env/mc_conf.h"
#include "mc_flags.h"
#include "mc_http_meta.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

int main(int argc, char **argv)
{
    const char *prog = "mooncake_http_metadata_server", *host = "0.0.0.0", *port = "8080", *v;
    mc_flags_t f;
    mc_flags_init(&f, argc, argv);
    while (mc_flags_peek(&f)) {
        if (mc_flags_bool(&f, "help") || mc_flags_bool(&f, "h")) {
            printf("Usage: %s [--port 8080] [--host 0.0.0.0] [--log-level LEVEL]\n"
                   "Serves GET/PUT/DELETE /metadata?key=K and GET /health (in memory).\n",
                   prog);
            return 0;
        } else if (mc_flags_value(&f, "port", &v)) {
            port = v;
        } else if (mc_flags_value(&f, "host", &v)) {
            host = v;
        } else if (mc_flags_value(&f, "log-level", &v) || mc_flags_value(&f, "log_level", &v)) {
            /* accepted for compatibility; the server logs only errors */
        } else {
            fprintf(stderr, "%s: %s '%s' (see --help)\n", prog, f.err ? f.err : "unknown flag", mc_flags_peek(&f));
            return 2;
        }
    }
    uint64_t n;
    if (!mc_parse_u64(port, &n) || n > 65535) {
        fprintf(stderr, "%s: --port '%s': expected 0..65535\n", prog, port);
        return 2;
    }
    char err[256];
    mc_http_meta_t *m = mc_http_meta_start(host, (uint16_t)n, err, sizeof err);
    if (!m) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return 1;
    }
    printf("listening on http://%s:%u/metadata\n", host, mc_http_meta_port(m));
    fflush(stdout);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    while (!stop)
        pause();
    mc_http_meta_stop(m);
    return 0;
}
