/* libFuzzer target: the "@trace <t_ns> <node> <event> <fields>" line parser
 * (hw runners read these lines from child processes) and the field lookup.
 * MC_FUZZ_REQUIRES: core/scenario */
#include <stdlib.h>
#include <string.h>

#include "scenario/mc_scenario.h"

#define CHECK(c) ((c) ? (void)0 : __builtin_trap())

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = malloc(size + 1);
    if (size)
        memcpy(line, data, size);
    line[size] = '\0'; /* the API takes a C string */
    mc_trace_log_t log;
    mc_trace_log_init(&log);
    bool ok = mc_trace_parse_line(line, &log);
    CHECK(log.n == (ok ? 1u : 0u));
    if (ok) {
        char val[64];
        const mc_trace_rec_t *r = &log.recs[0];
        CHECK(r->node && r->event && r->fields);
        (void)mc_trace_field(r->fields, "client", val, sizeof val);
        (void)mc_trace_field(r->fields, "", val, 1);
    }
    mc_trace_log_free(&log);
    free(line);
    return 0;
}
