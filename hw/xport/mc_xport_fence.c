/* The TCP receiver's fence table; see mc_xport_fence.h. */
#include "mc_xport_fence.h"

#include <assert.h>
#include <stdlib.h>
#include <time.h>

#include "mc_xport_int.h"

/* At most this many entries of initiators with no open connection are
 * kept (least recently used dropped first). */
#define MC_XPORT_FENCE_IDLE_MAX 1024

/* What one initiator fence id has been seen doing. */
struct mc_xport_fence {
    mc_xport_fence_t *next; /* t->mu */
    uint32_t id;            /* t->mu */
    unsigned refs;          /* t->mu: server connections using it */
    uint64_t idle_since;    /* t->mu: when refs dropped to 0 */
    pthread_mutex_t mu;
    pthread_cond_t cv;      /* old applies drained */
    uint32_t newest;        /* mu: newest generation seen */
    unsigned cur;           /* mu: WRITEs of generation newest landing */
    unsigned old;           /* mu: WRITEs of older generations landing */
    unsigned waiters;       /* mu */
};

static void fence_free(mc_xport_fence_t *f)
{
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

void mc_xport_fences_init(mc_xport_fences_t *t)
{
    pthread_mutex_init(&t->mu, NULL);
    t->list = NULL;
    t->nidle = 0;
    atomic_init(&t->stale, 0);
}

void mc_xport_fences_fini(mc_xport_fences_t *t)
{
    while (t->list) {
        mc_xport_fence_t *f = t->list;
        t->list = f->next;
        fence_free(f);
    }
    pthread_mutex_destroy(&t->mu);
}

uint32_t mc_xport_fence_id(const mc_xport_fence_t *f)
{
    return f->id;
}

/* Entries with no server connection are kept up to
 * MC_XPORT_FENCE_IDLE_MAX, then the one idle longest is dropped. Why that
 * is safe enough: an entry in use by a connection is never dropped, and a
 * stale request needs a connection, so the entry can only be gone if
 * every connection of that initiator closed and MC_XPORT_FENCE_IDLE_MAX
 * other initiators were seen after that while the stale connection still
 * sat unaccepted in the listen backlog (accept runs as soon as the
 * receiver runs). Dropping by age instead would not be: a receiver
 * stopped longer than the age would forget the fence just when a stale
 * write is waiting in its socket buffer. */
mc_xport_fence_t *mc_xport_fence_get(mc_xport_fences_t *t, uint32_t id)
{
    pthread_mutex_lock(&t->mu);
    mc_xport_fence_t *f = t->list;
    while (f && f->id != id)
        f = f->next;
    if (f) {
        if (f->refs++ == 0)
            t->nidle--;
        goto out;
    }
    if (t->nidle >= MC_XPORT_FENCE_IDLE_MAX) {
        mc_xport_fence_t **victim = NULL;
        for (mc_xport_fence_t **pp = &t->list; *pp; pp = &(*pp)->next)
            if ((*pp)->refs == 0 && (!victim || (*pp)->idle_since < (*victim)->idle_since))
                victim = pp;
        if (victim) {
            mc_xport_fence_t *v = *victim;
            *victim = v->next;
            t->nidle--;
            fence_free(v);
        }
    }
    f = calloc(1, sizeof *f);
    if (!f)
        goto out;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&f->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&f->mu, NULL);
    f->id = id;
    f->refs = 1;
    f->next = t->list;
    t->list = f;
out:
    pthread_mutex_unlock(&t->mu);
    return f;
}

void mc_xport_fence_put(mc_xport_fences_t *t, mc_xport_fence_t *f)
{
    pthread_mutex_lock(&t->mu);
    assert(f->refs > 0);
    if (--f->refs == 0) {
        f->idle_since = mc_xport_now_ns();
        t->nidle++;
    }
    pthread_mutex_unlock(&t->mu);
}

/* One atomic step per initiator (f->mu). A newer generation becomes the
 * newest at once (later requests of older ones are STALE from then on)
 * but its WRITE waits until the older WRITEs already landing are done
 * (bounded: their connections time out after the op timeout,
 * SO_RCVTIMEO). Same-generation WRITEs do not wait for each other. READs
 * are checked but not counted (they change nothing). */
int mc_xport_fence_enter(mc_xport_fences_t *t, mc_xport_fence_t *f, uint32_t gen, bool write,
                         int (*flush)(void *arg), void *arg, const atomic_bool *stopping)
{
    bool flushed = false;
    pthread_mutex_lock(&f->mu);
    for (;;) {
        if (gen < f->newest) {
            pthread_mutex_unlock(&f->mu);
            atomic_fetch_add(&t->stale, 1);
            return MC_XPORT_FENCE_STALE;
        }
        if (gen > f->newest) {
            f->old += f->cur;
            f->cur = 0;
            f->newest = gen;
        }
        if (!write)
            break;
        if (f->old == 0) {
            f->cur++;
            break;
        }
        if (!flushed) { /* answers already due must not wait with us */
            pthread_mutex_unlock(&f->mu);
            flushed = true;
            if (flush(arg) != 0)
                return MC_XPORT_FENCE_ERR;
            pthread_mutex_lock(&f->mu);
            continue;
        }
        if (atomic_load(stopping)) {
            pthread_mutex_unlock(&f->mu);
            return MC_XPORT_FENCE_ERR;
        }
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += 100 * 1000000L; /* re-check stopping */
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        f->waiters++;
        (void)pthread_cond_timedwait(&f->cv, &f->mu, &ts);
        f->waiters--;
    }
    pthread_mutex_unlock(&f->mu);
    return MC_XPORT_FENCE_PASS;
}

void mc_xport_fence_leave(mc_xport_fence_t *f, uint32_t gen)
{
    pthread_mutex_lock(&f->mu);
    if (gen == f->newest) {
        assert(f->cur > 0);
        f->cur--;
    } else {
        assert(f->old > 0);
        if (--f->old == 0 && f->waiters)
            pthread_cond_broadcast(&f->cv);
    }
    pthread_mutex_unlock(&f->mu);
}
