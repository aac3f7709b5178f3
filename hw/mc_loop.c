/* epoll + timerfd event loop; see mc_loop.h. */
#include "mc_loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "base/mc_assert.h"
#include "base/mc_heap.h"
#include "base/mc_list.h"
#include "base/mc_map.h"
#include "base/mc_mem.h"

#define MC_LOOP_MAX_EVENTS 64

struct mc_loop_io {
    int fd;
    uint32_t events;
    mc_loop_io_fn fn;
    void *arg;
    bool dead;
    mc_list_t link; /* in l->ios while live, l->dead_ios after del */
};

typedef struct mc_loop_timer {
    mc_heap_item_t item;
    uint64_t id;
    mc_loop_fn fn;
    void *arg;
} mc_loop_timer_t;

typedef struct mc_loop_posted {
    mc_list_t link;
    mc_loop_fn fn;
    void *arg;
    mc_loop_fn drop; /* run instead of fn if the loop is destroyed first */
} mc_loop_posted_t;

struct mc_loop {
    int epfd;
    int tfd; /* timerfd armed at the earliest timer deadline */
    int efd; /* eventfd: posted closures and stop requests */
    mc_loop_io_t *tfd_io;
    mc_loop_io_t *efd_io;
    mc_list_t ios;
    mc_list_t dead_ios;

    mc_heap_t timers;
    mc_map_t timer_by_id; /* id -> mc_loop_timer_t* */
    uint64_t next_timer_id;
    uint64_t tfd_deadline; /* what tfd is armed for; 0 = disarmed */
    bool tfd_fired;        /* tfd expired since the last re-arm */

    pthread_mutex_t mu; /* guards posted and closing */
    mc_list_t posted;
    bool closing;
    atomic_bool stop;
};

uint64_t mc_loop_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void mc_loop_wake(mc_loop_t *l)
{
    uint64_t one = 1;
    /* EAGAIN means the counter is already non-zero: the loop will wake. */
    while (write(l->efd, &one, sizeof one) < 0 && errno == EINTR) {
    }
}

static void mc_loop_posted_run(mc_loop_t *l)
{
    uint64_t cnt;
    while (read(l->efd, &cnt, sizeof cnt) < 0 && errno == EINTR) {
    }
    /* Read the eventfd before taking the list: a post after the swap
     * finds an empty list and writes the eventfd again. */
    mc_list_t batch;
    mc_list_init(&batch);
    pthread_mutex_lock(&l->mu);
    if (!mc_list_empty(&l->posted)) {
        batch.next = l->posted.next;
        batch.prev = l->posted.prev;
        batch.next->prev = &batch;
        batch.prev->next = &batch;
        mc_list_init(&l->posted);
    }
    pthread_mutex_unlock(&l->mu);
    mc_list_t *pos, *tmp;
    mc_list_for_each_safe(pos, tmp, &batch) {
        mc_loop_posted_t *p = mc_container_of(pos, mc_loop_posted_t, link);
        mc_list_del(pos);
        mc_loop_fn fn = p->fn;
        void *arg = p->arg;
        mc_free(p);
        fn(arg);
    }
}

static void mc_loop_efd_ready(void *arg, uint32_t events)
{
    (void)events;
    mc_loop_posted_run(arg);
}

static void mc_loop_tfd_ready(void *arg, uint32_t events)
{
    (void)events;
    mc_loop_t *l = arg;
    uint64_t expirations;
    while (read(l->tfd, &expirations, sizeof expirations) < 0 && errno == EINTR) {
    }
    l->tfd_fired = true; /* due timers fire after the batch */
}

mc_loop_t *mc_loop_create(void)
{
    mc_loop_t *l = mc_calloc(1, sizeof *l);
    l->epfd = l->tfd = l->efd = -1;
    mc_list_init(&l->ios);
    mc_list_init(&l->dead_ios);
    mc_list_init(&l->posted);
    mc_heap_init(&l->timers);
    mc_map_init(&l->timer_by_id);
    l->next_timer_id = 1;
    atomic_init(&l->stop, false);
    pthread_mutex_init(&l->mu, NULL);

    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0)
        goto fail;
    l->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (l->tfd < 0)
        goto fail;
    l->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (l->efd < 0)
        goto fail;
    l->tfd_io = mc_loop_io_add(l, l->tfd, EPOLLIN, mc_loop_tfd_ready, l);
    if (!l->tfd_io)
        goto fail;
    l->efd_io = mc_loop_io_add(l, l->efd, EPOLLIN, mc_loop_efd_ready, l);
    if (!l->efd_io)
        goto fail;
    return l;
fail: {
    int saved = errno;
    mc_loop_destroy(l);
    errno = saved;
    return NULL;
}
}

static void mc_loop_ios_free(mc_list_t *head)
{
    mc_list_t *pos, *tmp;
    mc_list_for_each_safe(pos, tmp, head) {
        mc_list_del(pos);
        mc_free(mc_container_of(pos, mc_loop_io_t, link));
    }
}

void mc_loop_destroy(mc_loop_t *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    l->closing = true;
    mc_list_t *pos, *tmp;
    mc_list_for_each_safe(pos, tmp, &l->posted) {
        mc_loop_posted_t *p = mc_container_of(pos, mc_loop_posted_t, link);
        mc_list_del(pos);
        if (p->drop)
            p->drop(p->arg);
        mc_free(p);
    }
    pthread_mutex_unlock(&l->mu);

    mc_heap_item_t *it;
    while ((it = mc_heap_pop(&l->timers)) != NULL)
        mc_free(it->value);
    mc_heap_free(&l->timers);
    mc_map_free(&l->timer_by_id);

    mc_loop_ios_free(&l->ios);
    mc_loop_ios_free(&l->dead_ios);
    if (l->epfd >= 0)
        close(l->epfd);
    if (l->tfd >= 0)
        close(l->tfd);
    if (l->efd >= 0)
        close(l->efd);
    pthread_mutex_destroy(&l->mu);
    mc_free(l);
}

/* ---------------------------------------------------------------- io --- */

mc_loop_io_t *mc_loop_io_add(mc_loop_t *l, int fd, uint32_t events, mc_loop_io_fn fn, void *arg)
{
    mc_loop_io_t *io = mc_calloc(1, sizeof *io);
    io->fd = fd;
    io->events = events;
    io->fn = fn;
    io->arg = arg;
    struct epoll_event ev = {.events = events, .data.ptr = io};
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        int saved = errno;
        mc_free(io);
        errno = saved;
        return NULL;
    }
    mc_list_push_back(&l->ios, &io->link);
    return io;
}

int mc_loop_io_mod(mc_loop_t *l, mc_loop_io_t *io, uint32_t events)
{
    MC_ASSERT(!io->dead);
    if (io->events == events)
        return 0;
    struct epoll_event ev = {.events = events, .data.ptr = io};
    if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, io->fd, &ev) < 0)
        return -1;
    io->events = events;
    return 0;
}

void mc_loop_io_del(mc_loop_t *l, mc_loop_io_t *io)
{
    if (!io)
        return;
    MC_ASSERT(!io->dead);
    /* Fails harmlessly if the caller already closed fd. */
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, io->fd, NULL);
    io->dead = true;
    mc_list_del(&io->link);
    /* Freed after the current batch: an event for io may still be queued. */
    mc_list_push_back(&l->dead_ios, &io->link);
}

/* ------------------------------------------------------------ timers --- */

static void mc_loop_tfd_rearm(mc_loop_t *l)
{
    mc_heap_item_t *top = mc_heap_peek(&l->timers);
    uint64_t want = top ? (top->key ? top->key : 1) : 0;
    if (want == l->tfd_deadline)
        return;
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    its.it_value.tv_sec = (time_t)(want / 1000000000ULL);
    its.it_value.tv_nsec = (long)(want % 1000000000ULL);
    /* A deadline in the past fires at once (absolute timer). */
    if (timerfd_settime(l->tfd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
        l->tfd_deadline = want;
}

uint64_t mc_loop_timer_at(mc_loop_t *l, uint64_t deadline_ns, mc_loop_fn fn, void *arg)
{
    mc_loop_timer_t *t = mc_calloc(1, sizeof *t);
    t->id = l->next_timer_id++;
    t->fn = fn;
    t->arg = arg;
    mc_heap_push(&l->timers, &t->item, deadline_ns, t);
    mc_map_putu(&l->timer_by_id, t->id, t);
    mc_loop_tfd_rearm(l);
    return t->id;
}

uint64_t mc_loop_timer_arm(mc_loop_t *l, uint64_t delay_ns, mc_loop_fn fn, void *arg)
{
    uint64_t now = mc_loop_clock_ns();
    uint64_t at = delay_ns > UINT64_MAX - now ? UINT64_MAX : now + delay_ns;
    return mc_loop_timer_at(l, at, fn, arg);
}

void mc_loop_timer_cancel(mc_loop_t *l, uint64_t id)
{
    if (!id)
        return;
    mc_loop_timer_t *t = mc_map_delu(&l->timer_by_id, id);
    if (!t)
        return;
    mc_heap_remove(&l->timers, &t->item);
    mc_free(t);
    /* tfd may stay armed for the cancelled deadline: a spurious wake-up
     * finds nothing due and re-arms. */
}

uint32_t mc_loop_timer_count(const mc_loop_t *l)
{
    return mc_heap_len(&l->timers);
}

static void mc_loop_timers_fire(mc_loop_t *l)
{
    uint64_t now = mc_loop_clock_ns();
    /* Timers armed while firing are due no earlier than now, so they sort
     * after every timer due now and wait for the next iteration. */
    uint64_t seq_limit = l->timers.next_seq;
    mc_heap_item_t *top;
    while ((top = mc_heap_peek(&l->timers)) != NULL && top->key <= now && top->seq < seq_limit) {
        mc_heap_pop(&l->timers);
        mc_loop_timer_t *t = top->value;
        mc_map_delu(&l->timer_by_id, t->id);
        mc_loop_fn fn = t->fn;
        void *arg = t->arg;
        mc_free(t);
        fn(arg);
        if (atomic_load(&l->stop))
            break;
    }
    if (l->tfd_fired) { /* the expired deadline no longer stands */
        l->tfd_fired = false;
        l->tfd_deadline = UINT64_MAX;
    }
    mc_loop_tfd_rearm(l);
}

/* ------------------------------------------------------- cross-thread --- */

int mc_loop_post(mc_loop_t *l, mc_loop_fn fn, void *arg)
{
    return mc_loop_post_drop(l, fn, arg, NULL);
}

int mc_loop_post_drop(mc_loop_t *l, mc_loop_fn fn, void *arg, mc_loop_fn drop)
{
    mc_loop_posted_t *p = mc_malloc(sizeof *p);
    p->fn = fn;
    p->arg = arg;
    p->drop = drop;
    pthread_mutex_lock(&l->mu);
    if (l->closing) {
        pthread_mutex_unlock(&l->mu);
        mc_free(p);
        return -1;
    }
    bool was_empty = mc_list_empty(&l->posted);
    mc_list_push_back(&l->posted, &p->link);
    pthread_mutex_unlock(&l->mu);
    if (was_empty)
        mc_loop_wake(l);
    return 0;
}

void mc_loop_stop(mc_loop_t *l)
{
    atomic_store(&l->stop, true);
    mc_loop_wake(l);
}

bool mc_loop_stopped(const mc_loop_t *l)
{
    return atomic_load(&((mc_loop_t *)l)->stop);
}

/* ------------------------------------------------------------ running --- */

static int mc_loop_wait(mc_loop_t *l, int timeout_ms)
{
    struct epoll_event evs[MC_LOOP_MAX_EVENTS];
    int n = epoll_wait(l->epfd, evs, MC_LOOP_MAX_EVENTS, timeout_ms);
    if (n < 0) {
        if (errno == EINTR)
            return 0;
        return -1;
    }
    for (int i = 0; i < n; i++) {
        mc_loop_io_t *io = evs[i].data.ptr;
        if (io->dead)
            continue;
        io->fn(io->arg, evs[i].events);
    }
    return 0;
}

int mc_loop_run_once(mc_loop_t *l, uint64_t max_wait_ns)
{
    int timeout_ms;
    if (max_wait_ns == UINT64_MAX)
        timeout_ms = -1;
    else if (max_wait_ns / 1000000ULL >= (uint64_t)__INT_MAX__)
        timeout_ms = __INT_MAX__;
    else
        timeout_ms = (int)((max_wait_ns + 999999ULL) / 1000000ULL);
    int rc = mc_loop_wait(l, timeout_ms);
    if (rc == 0)
        mc_loop_timers_fire(l);
    mc_loop_ios_free(&l->dead_ios);
    return rc;
}

int mc_loop_run(mc_loop_t *l)
{
    while (!atomic_load(&l->stop)) {
        if (mc_loop_run_once(l, UINT64_MAX) < 0) {
            fprintf(stderr, "mc_loop: epoll_wait: %s\n", strerror(errno));
            return -1;
        }
    }
    return 0;
}
