#include "mc_env.h"

#include <stdio.h>

void mc_env_logf(mc_env_t *env, int level, const char *component, const char *fmt, ...)
{
    if (level < env->log_level)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    env->ops->log(env, level, component, msg);
}

void mc_env_tracef(mc_env_t *env, const char *event, const char *fmt, ...)
{
    char fields[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fields, sizeof fields, fmt, ap);
    va_end(ap);
    env->ops->trace(env, event, fields);
}
