/* Calls handed to the engine's loop thread; the caller waits on a
 * condition variable until the call reports its result. Also the
 * per-thread error text behind mooncake_te_last_error(). */
#include <stdarg.h>
#include <stdio.h>

#include "mc_te_api_int.h"

static _Thread_local char last_error[512];

void mc_te_api_set_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
}

void mc_te_api_clear_error(void) { last_error[0] = '\0'; }

const char *mooncake_te_last_error(void) { return last_error; }

void mc_te_api_done(mc_te_api_call_t *c, int rc)
{
    pthread_mutex_lock(&c->mu);
    c->rc = rc;
    c->done = true;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

void mc_te_api_fail(mc_te_api_call_t *c, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
    mc_te_api_done(c, rc);
}

static void call_start(void *arg)
{
    mc_te_api_call_t *c = arg;
    c->start(c);
}

int mc_te_api_run(mooncake_te_t *h, mc_te_api_start_fn start, void *arg, int fallback)
{
    if (!h || !h->initialized) {
        mc_te_api_set_error("transfer engine is not initialized");
        return fallback;
    }
    mc_te_api_call_t c = {.h = h, .start = start, .arg = arg, .rc = fallback};
    pthread_mutex_init(&c.mu, NULL);
    pthread_cond_init(&c.cv, NULL);
    if (mc_loop_post(h->loop, call_start, &c) != 0) {
        mc_te_api_set_error("transfer engine is shutting down");
    } else {
        pthread_mutex_lock(&c.mu);
        while (!c.done)
            pthread_cond_wait(&c.cv, &c.mu);
        pthread_mutex_unlock(&c.mu);
        if (c.err[0])
            mc_te_api_set_error("%s", c.err);
        else
            mc_te_api_clear_error();
    }
    pthread_cond_destroy(&c.cv);
    pthread_mutex_destroy(&c.mu);
    return c.rc;
}
