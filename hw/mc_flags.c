/* Command-line helpers; see mc_flags.h. */
#include "mc_flags.h"

#include <stdlib.h>
#include <string.h>

#include "env/mc_env.h"
#include "mc_hw_env.h"

void mc_flags_init(mc_flags_t *f, int argc, char **argv)
{
    f->argc = argc;
    f->argv = argv;
    f->i = 1;
    f->err = NULL;
    f->err_flag = NULL;
}

const char *mc_flags_peek(const mc_flags_t *f)
{
    return f->i < f->argc ? f->argv[f->i] : NULL;
}

/* Strip one or two leading dashes; NULL if the argument is not a flag. */
static const char *mc_flags_name(const char *arg)
{
    if (arg[0] != '-')
        return NULL;
    return arg[1] == '-' ? arg + 2 : arg + 1;
}

bool mc_flags_bool(mc_flags_t *f, const char *name)
{
    const char *a = mc_flags_peek(f);
    const char *n = a ? mc_flags_name(a) : NULL;
    if (!n || strcmp(n, name) != 0)
        return false;
    f->i++;
    return true;
}

bool mc_flags_value(mc_flags_t *f, const char *name, const char **val)
{
    const char *a = mc_flags_peek(f);
    const char *n = a ? mc_flags_name(a) : NULL;
    size_t len = strlen(name);
    if (!n || strncmp(n, name, len) != 0)
        return false;
    if (n[len] == '=') {
        *val = n + len + 1;
        f->i++;
        return true;
    }
    if (n[len] != '\0')
        return false;
    if (f->i + 1 >= f->argc) {
        f->err = "missing value";
        f->err_flag = a;
        f->i++;
        return false;
    }
    *val = f->argv[f->i + 1];
    f->i += 2;
    return true;
}

int mc_flags_verbose(mc_flags_t *f)
{
    const char *a = mc_flags_peek(f);
    if (!a)
        return 0;
    if (strcmp(a, "--verbose") == 0) {
        f->i++;
        return 1;
    }
    if (a[0] != '-' || a[1] != 'v')
        return 0;
    int n = 0;
    for (const char *p = a + 1; *p; p++) {
        if (*p != 'v')
            return 0;
        n++;
    }
    f->i++;
    return n;
}

int mc_flags_log_level(int verbose)
{
    int level = mc_log_level_parse(getenv("MC_LOG_LEVEL"));
    if (level < 0)
        level = MC_LOG_INFO;
    level -= verbose;
    return level < MC_LOG_TRACE ? MC_LOG_TRACE : level;
}
