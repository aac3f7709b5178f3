#include <stdio.h>
#include <string.h>

#include "base/mc_bytes.h"
#include "scenario/mc_scenario.h"

void mc_scn_cmd_args(const mc_scn_cmd_t *c, uint32_t i, mc_conf_t *out)
{
    char num[16];
    snprintf(num, sizeof num, "%u", i);
    mc_wbuf_t w;
    mc_wbuf_init(&w);
    for (size_t k = 0; k < c->args.n; k++) {
        const char *v = c->args.kv[k].value;
        mc_wbuf_reset(&w);
        for (const char *p = v; *p;) {
            if (p[0] == '{' && p[1] == 'i' && p[2] == '}') {
                mc_wbuf_put(&w, num, strlen(num));
                p += 3;
            } else {
                mc_wbuf_u8(&w, (uint8_t)*p++);
            }
        }
        mc_wbuf_u8(&w, 0);
        mc_conf_set(out, c->args.kv[k].key, (const char *)w.data);
    }
    mc_wbuf_free(&w);
}
