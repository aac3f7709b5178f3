/* libFuzzer target: the scenario parser (JSON text from a file a user
 * wrote; both mooncake_sim and the hw runner parse it).
 * MC_FUZZ_REQUIRES: core/scenario
 * MC_FUZZ_SEEDS: scenarios
 * MC_FUZZ_SEEDS: scenarios/bad
 *
 * Contract: any bytes give MC_OK or MC_INVALID_PARAMS with a message, never
 * a crash or leak; an accepted scenario can be freed. The text is passed
 * without a terminating NUL in an exact-size buffer, so a read past len
 * shows up under ASan. */
#include <stdlib.h>
#include <string.h>

#include "scenario/mc_scenario.h"

#define CHECK(c) ((c) ? (void)0 : __builtin_trap())

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = calloc(size ? size : 1, 1); /* exact size, no NUL */
    if (size)
        memcpy(buf, data, size);
    mc_scenario_t s;
    char err[512];
    err[0] = '\0';
    mc_status_t st = mc_scenario_parse(buf, size, "fuzz.json", &s, err, sizeof err);
    if (st == MC_OK) {
        for (size_t i = 1; i < s.nfaults; i++)
            CHECK(s.faults[i - 1].at_ns <= s.faults[i].at_ns);
        for (size_t i = 1; i < s.ncmds; i++)
            CHECK(s.cmds[i - 1].at_ns <= s.cmds[i].at_ns);
        mc_scenario_free(&s);
    } else {
        CHECK(st == MC_INVALID_PARAMS);
        CHECK(err[0] != '\0');
        CHECK(memchr(err, '\0', sizeof err) != NULL);
    }
    free(buf);
    return 0;
}
