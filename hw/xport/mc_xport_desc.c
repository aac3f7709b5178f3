/* Data-endpoint descriptor "mcx1 host=<h> port=<p> shm=<0|1>[ rdma=<p>]": pure
 * format/parse (fuzzed with the protocol headers). Unknown keys are
 * ignored so later versions may add fields (e.g. rdma). */
#include <stdio.h>
#include <string.h>

#include "mc_xport.h"

void mc_xport_desc_format(const mc_xport_endpoint_t *ep, char *buf, size_t len)
{
    int n = snprintf(buf, len, "mcx1 host=%s port=%u shm=%d", ep->host, (unsigned)ep->data_port, ep->shm ? 1 : 0);
    if (ep->rdma_port && n > 0 && (size_t)n < len)
        snprintf(buf + n, len - (size_t)n, " rdma=%u", (unsigned)ep->rdma_port);
}

/* Parse a decimal number in [0, max] spanning exactly [s, e). */
static int mc_xport_desc_num(const char *s, const char *e, unsigned long max, unsigned long *out)
{
    if (s == e || e - s > 10)
        return -1;
    unsigned long v = 0;
    for (const char *p = s; p < e; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (unsigned long)(*p - '0');
    }
    if (v > max)
        return -1;
    *out = v;
    return 0;
}

int mc_xport_desc_parse(const char *desc, mc_xport_endpoint_t *out)
{
    if (!desc || strncmp(desc, "mcx1", 4) != 0 || (desc[4] != ' ' && desc[4] != '\0'))
        return -1;
    mc_xport_endpoint_t ep;
    memset(&ep, 0, sizeof ep);
    bool have_host = false, have_port = false;
    const char *p = desc + 4;
    while (*p) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        const char *tok = p;
        while (*p && *p != ' ')
            p++;
        const char *eq = memchr(tok, '=', (size_t)(p - tok));
        if (!eq)
            return -1;
        size_t klen = (size_t)(eq - tok);
        const char *v = eq + 1;
        unsigned long n;
        if (klen == 4 && memcmp(tok, "host", 4) == 0) {
            size_t vlen = (size_t)(p - v);
            if (vlen == 0 || vlen >= sizeof ep.host)
                return -1;
            memcpy(ep.host, v, vlen);
            ep.host[vlen] = '\0';
            have_host = true;
        } else if (klen == 4 && memcmp(tok, "port", 4) == 0) {
            if (mc_xport_desc_num(v, p, 65535, &n) != 0 || n == 0)
                return -1;
            ep.data_port = (uint16_t)n;
            have_port = true;
        } else if (klen == 3 && memcmp(tok, "shm", 3) == 0) {
            if (mc_xport_desc_num(v, p, 1, &n) != 0)
                return -1;
            ep.shm = n == 1;
        } else if (klen == 4 && memcmp(tok, "rdma", 4) == 0) {
            if (mc_xport_desc_num(v, p, 65535, &n) != 0)
                return -1;
            ep.rdma_port = (uint16_t)n;
        }
    }
    if (!have_host || !have_port)
        return -1;
    *out = ep;
    return 0;
}
