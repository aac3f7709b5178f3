/* Tiny command-line helpers shared by the hw binaries. Flags are accepted
 * gflags-style as upstream's binaries take them: "--name value",
 * "--name=value", "-name value" and "-name=value". */
#ifndef MC_FLAGS_H
#define MC_FLAGS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct mc_flags {
    int argc;
    char **argv;
    int i;           /* index of the argument being looked at */
    const char *err; /* set when a flag is missing its value */
    const char *err_flag;
} mc_flags_t;

void mc_flags_init(mc_flags_t *f, int argc, char **argv);
/* The current argument, or NULL when all are consumed. */
const char *mc_flags_peek(const mc_flags_t *f);
/* A value-less flag (e.g. "--help"). Consumes it on a match. */
bool mc_flags_bool(mc_flags_t *f, const char *name);
/* A flag with a value; on a match consumes it and stores the value. A
 * matching flag without a value sets f->err and returns false. */
bool mc_flags_value(mc_flags_t *f, const char *name, const char **val);
/* Count of "-v"/"-vv"/"-vvv"/"--verbose" consumed at the current argument
 * (0 if it is not one). */
int mc_flags_verbose(mc_flags_t *f);

/* The log level from MC_LOG_LEVEL (default info), lowered one step per -v. */
int mc_flags_log_level(int verbose);

#endif
