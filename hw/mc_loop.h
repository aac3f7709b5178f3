/* The hw event loop: one thread, epoll for file descriptors, a timer heap
 * on CLOCK_MONOTONIC driven through one timerfd, and a locked queue plus
 * an eventfd so other threads can post closures into the loop thread.
 *
 * Threading: every function runs on the loop thread except
 * mc_loop_post() and mc_loop_stop(), which any thread may call while the
 * loop exists.
 *
 * Re-entrancy: callbacks may add or remove fds and timers, including
 * their own; an io handle removed during a batch of epoll events is not
 * called again and is freed after the batch. */
#ifndef MC_LOOP_H
#define MC_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

typedef struct mc_loop mc_loop_t;
typedef struct mc_loop_io mc_loop_io_t;

typedef void (*mc_loop_fn)(void *arg);
/* events: EPOLLIN / EPOLLOUT / EPOLLERR / EPOLLHUP / EPOLLRDHUP bits. */
typedef void (*mc_loop_io_fn)(void *arg, uint32_t events);

mc_loop_t *mc_loop_create(void);
/* Frees pending timers and posted closures without running them. The fds
 * of remaining io handles are not closed (the caller owns fds). */
void mc_loop_destroy(mc_loop_t *l);

/* CLOCK_MONOTONIC in nanoseconds (absolute, shared by every process). */
uint64_t mc_loop_clock_ns(void);

/* --- file descriptors (level-triggered) --- */
/* Watch fd for events; fn(arg, events) runs on readiness. NULL on error
 * (errno set). */
mc_loop_io_t *mc_loop_io_add(mc_loop_t *l, int fd, uint32_t events, mc_loop_io_fn fn, void *arg);
int mc_loop_io_mod(mc_loop_t *l, mc_loop_io_t *io, uint32_t events);
/* Stop watching; the handle is invalid afterwards. Does not close fd. */
void mc_loop_io_del(mc_loop_t *l, mc_loop_io_t *io);

/* --- timers --- */
/* fn(arg) once, delay_ns from now. Handles start at 1, never reused. Timers
 * due at the same instant fire in the order they were armed. */
uint64_t mc_loop_timer_arm(mc_loop_t *l, uint64_t delay_ns, mc_loop_fn fn, void *arg);
/* Same at an absolute mc_loop_clock_ns() deadline. */
uint64_t mc_loop_timer_at(mc_loop_t *l, uint64_t deadline_ns, mc_loop_fn fn, void *arg);
/* No-op for fired, cancelled or unknown handles. */
void mc_loop_timer_cancel(mc_loop_t *l, uint64_t id);
uint32_t mc_loop_timer_count(const mc_loop_t *l);

/* --- cross-thread --- */
/* Run fn(arg) on the loop thread soon (FIFO). Thread-safe. Returns 0, or
 * -1 if the loop is shutting down (fn will not run). */
int mc_loop_post(mc_loop_t *l, mc_loop_fn fn, void *arg);
/* Same, but drop(arg) runs (on the destroying thread) if the loop is
 * destroyed before fn ran, so arg can own memory. Thread-safe. */
int mc_loop_post_drop(mc_loop_t *l, mc_loop_fn fn, void *arg, mc_loop_fn drop);

/* --- running --- */
/* Run until mc_loop_stop(). Returns 0, or -1 on a fatal epoll error. */
int mc_loop_run(mc_loop_t *l);
/* One iteration: wait at most max_wait_ns for events (0 = poll), dispatch
 * them, fire due timers and posted closures. Returns 0 or -1. */
int mc_loop_run_once(mc_loop_t *l, uint64_t max_wait_ns);
/* Make mc_loop_run() return after the current iteration. Thread-safe. */
void mc_loop_stop(mc_loop_t *l);
bool mc_loop_stopped(const mc_loop_t *l);

#endif
