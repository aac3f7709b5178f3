/* Transfers: transfer_sync*, batch_transfer_sync/async*, transfer_submit_write,
 * transfer_check_status, get_batch_transfer_status.
 *
 * On the loop thread a transfer opens (or reuses) the target segment,
 * submits one batch and waits for its completion callback. A submit
 * refused with ADDRESS_NOT_REGISTERED re-fetches the target's descriptor
 * once (it may have registered memory since we cached it, like upstream's
 * forced refresh). A failed attempt is resubmitted once while the deadline
 * (MC_TRANSFER_TIMEOUT + 1 ns/byte) allows: upstream makes numContexts()+1
 * attempts, and this engine has one context. */
#include <stdlib.h>
#include <string.h>

#include "mc_te_api_int.h"

#define ATTEMPTS 2

typedef struct xfer {
    const char *target;
    const uintptr_t *bufs, *peers;
    const size_t *lens;
    size_t n;
    int opcode;
    const mooncake_te_notify_t *notify;
    bool async;
    uint64_t seg, batch;
    bool refreshed;
    int attempts;
    uint64_t deadline_ns;
    mc_te_api_call_t *c;
} xfer_t;

static void submit(xfer_t *x);

static void fail(xfer_t *x, const char *what, int err)
{
    mc_te_api_fail(x->c, -1, "%s to '%s': %s", what, x->target, err ? mc_te_err_msg(err) : "failed");
}

static void auto_free(void *arg, uint64_t batch, int status)
{
    mooncake_te_t *h = arg;
    (void)status;
    if (h->te)
        mc_te_free_batch(h->te, batch);
}

/* Frees a batch now, or once its tasks are terminal. */
static void free_batch(mooncake_te_t *h, uint64_t batch)
{
    if (mc_te_free_batch(h->te, batch) == MC_TE_ERR_BATCH_BUSY)
        mc_te_batch_on_done(h->te, batch, auto_free, h);
}

static void opened(void *arg, int err, uint64_t id)
{
    xfer_t *x = arg;
    if (err) {
        fail(x, "open segment", err);
        return;
    }
    x->seg = id;
    submit(x);
}

static void batch_done(void *arg, uint64_t batch, int status)
{
    xfer_t *x = arg;
    mc_te_t *te = x->c->h->te;
    mc_te_free_batch(te, batch);
    if (status == MC_TE_COMPLETED) {
        mc_te_api_done(x->c, 0);
        return;
    }
    if (--x->attempts > 0 && mc_loop_clock_ns() < x->deadline_ns) {
        submit(x);
        return;
    }
    mc_te_api_fail(x->c, -1, "transfer to '%s' %s", x->target,
                   status == MC_TE_TIMEOUT ? "timed out" : "failed (peer unreachable or refused the range)");
}

static void submit(xfer_t *x)
{
    mc_te_t *te = x->c->h->te;
    size_t cap = x->n ? x->n : 1;
    mc_te_request_t *reqs = calloc(cap, sizeof *reqs);
    if (!reqs) {
        fail(x, "submit", MC_TE_ERR_MEMORY);
        return;
    }
    for (size_t i = 0; i < x->n; i++) {
        reqs[i].opcode = (uint8_t)x->opcode;
        reqs[i].source = (void *)x->bufs[i];
        reqs[i].target_id = x->seg;
        reqs[i].target_offset = x->peers[i];
        reqs[i].length = x->lens[i];
    }
    x->batch = cap > UINT32_MAX ? MC_TE_INVALID_BATCH : mc_te_alloc_batch(te, (uint32_t)cap);
    int rc = MC_TE_ERR_TOO_MANY_REQUESTS;
    if (x->batch != MC_TE_INVALID_BATCH)
        rc = x->notify ? mc_te_submit_with_notify(te, x->batch, reqs, x->n, x->notify->name ? x->notify->name : "",
                                                  x->notify->msg ? x->notify->msg : "")
                       : mc_te_submit(te, x->batch, reqs, x->n);
    free(reqs);
    if (rc != 0) {
        if (x->batch != MC_TE_INVALID_BATCH)
            mc_te_free_batch(te, x->batch);
        if (rc == MC_TE_ERR_ADDRESS_NOT_REGISTERED && !x->refreshed && x->seg != MC_TE_LOCAL_SEGMENT_ID) {
            x->refreshed = true;
            int r = mc_te_refresh_segment(te, x->seg, opened, x);
            if (r != MC_TE_IN_PROGRESS)
                fail(x, "refresh segment", r);
            return;
        }
        fail(x, "submit", rc);
        return;
    }
    if (x->async) {
        mc_te_api_done(x->c, 0);
        return;
    }
    mc_te_batch_on_done(te, x->batch, batch_done, x);
}

static void xfer_start(mc_te_api_call_t *c)
{
    xfer_t *x = c->arg;
    x->c = c;
    uint64_t id = MC_TE_INVALID_SEGMENT;
    int rc = mc_te_open_segment(c->h->te, x->target, opened, x, &id);
    if (rc == MC_TE_ERR_OK)
        opened(x, 0, id);
    else if (rc != MC_TE_IN_PROGRESS)
        fail(x, "open segment", rc);
}

static int run_xfer(mooncake_te_t *h, xfer_t *x)
{
    if (!x->target || !*x->target) {
        mc_te_api_set_error("empty target_hostname");
        return -1;
    }
    if (x->n && (!x->bufs || !x->peers || !x->lens)) {
        mc_te_api_set_error("NULL buffer, address or length list");
        return -1;
    }
    if (x->opcode != MOONCAKE_TE_READ && x->opcode != MOONCAKE_TE_WRITE) {
        mc_te_api_set_error("opcode %d is neither READ (0) nor WRITE (1)", x->opcode);
        return -1;
    }
    if (!h || !h->initialized) {
        mc_te_api_set_error("transfer engine is not initialized");
        return -1;
    }
    uint64_t bytes = 0;
    for (size_t i = 0; i < x->n; i++)
        bytes = x->lens[i] > UINT64_MAX - bytes ? UINT64_MAX : bytes + x->lens[i];
    uint64_t now = mc_loop_clock_ns();
    uint64_t budget = h->timeout_ns + bytes;
    x->deadline_ns = budget < h->timeout_ns || budget > UINT64_MAX - now ? UINT64_MAX : now + budget;
    x->attempts = ATTEMPTS;
    return mc_te_api_run(h, xfer_start, x, -1);
}

int mooncake_te_batch_transfer_sync(mooncake_te_t *h, const char *target, const uintptr_t *buffers,
                                    const uintptr_t *peer_addrs, const size_t *lengths, size_t n, int opcode,
                                    const mooncake_te_notify_t *notify)
{
    xfer_t x = {.target = target, .bufs = buffers, .peers = peer_addrs, .lens = lengths, .n = n,
                .opcode = opcode, .notify = notify};
    return run_xfer(h, &x);
}

int mooncake_te_transfer_sync(mooncake_te_t *h, const char *target, uintptr_t buffer, uintptr_t peer_addr,
                              size_t length, int opcode, const mooncake_te_notify_t *notify)
{
    return mooncake_te_batch_transfer_sync(h, target, &buffer, &peer_addr, &length, 1, opcode, notify);
}

int mooncake_te_transfer_sync_write(mooncake_te_t *h, const char *target, uintptr_t buffer, uintptr_t peer_addr,
                                    size_t length)
{
    return mooncake_te_transfer_sync(h, target, buffer, peer_addr, length, MOONCAKE_TE_WRITE, NULL);
}

int mooncake_te_transfer_sync_read(mooncake_te_t *h, const char *target, uintptr_t buffer, uintptr_t peer_addr,
                                   size_t length)
{
    return mooncake_te_transfer_sync(h, target, buffer, peer_addr, length, MOONCAKE_TE_READ, NULL);
}

int mooncake_te_batch_transfer_sync_write(mooncake_te_t *h, const char *target, const uintptr_t *buffers,
                                          const uintptr_t *peer_addrs, const size_t *lengths, size_t n)
{
    return mooncake_te_batch_transfer_sync(h, target, buffers, peer_addrs, lengths, n, MOONCAKE_TE_WRITE, NULL);
}

int mooncake_te_batch_transfer_sync_read(mooncake_te_t *h, const char *target, const uintptr_t *buffers,
                                         const uintptr_t *peer_addrs, const size_t *lengths, size_t n)
{
    return mooncake_te_batch_transfer_sync(h, target, buffers, peer_addrs, lengths, n, MOONCAKE_TE_READ, NULL);
}

uint64_t mooncake_te_batch_transfer_async(mooncake_te_t *h, const char *target, const uintptr_t *buffers,
                                          const uintptr_t *peer_addrs, const size_t *lengths, size_t n, int opcode)
{
    xfer_t x = {.target = target, .bufs = buffers, .peers = peer_addrs, .lens = lengths, .n = n,
                .opcode = opcode, .async = true};
    return run_xfer(h, &x) == 0 ? x.batch : 0;
}

uint64_t mooncake_te_batch_transfer_async_write(mooncake_te_t *h, const char *target, const uintptr_t *buffers,
                                                const uintptr_t *peer_addrs, const size_t *lengths, size_t n)
{
    return mooncake_te_batch_transfer_async(h, target, buffers, peer_addrs, lengths, n, MOONCAKE_TE_WRITE);
}

uint64_t mooncake_te_batch_transfer_async_read(mooncake_te_t *h, const char *target, const uintptr_t *buffers,
                                               const uintptr_t *peer_addrs, const size_t *lengths, size_t n)
{
    return mooncake_te_batch_transfer_async(h, target, buffers, peer_addrs, lengths, n, MOONCAKE_TE_READ);
}

uint64_t mooncake_te_transfer_submit_write(mooncake_te_t *h, const char *target, uintptr_t buffer,
                                           uintptr_t peer_addr, size_t length)
{
    return mooncake_te_batch_transfer_async(h, target, &buffer, &peer_addr, &length, 1, MOONCAKE_TE_WRITE);
}

/* ---- status ---- */

static void check_start(mc_te_api_call_t *c)
{
    uint64_t batch = *(uint64_t *)c->arg;
    mooncake_te_t *h = c->h;
    mc_te_task_status_t st;
    if (mc_te_get_transfer_status(h->te, batch, 0, &st) != 0) {
        mc_te_api_fail(c, MOONCAKE_TE_STATUS_FAILED, "unknown batch id %llu", (unsigned long long)batch);
        return;
    }
    switch (st.status) {
    case MC_TE_COMPLETED: free_batch(h, batch); mc_te_api_done(c, MOONCAKE_TE_STATUS_DONE); break;
    case MC_TE_TIMEOUT:
        free_batch(h, batch);
        mc_te_api_fail(c, MOONCAKE_TE_STATUS_TIMEOUT, "batch %llu timed out", (unsigned long long)batch);
        break;
    case MC_TE_FAILED:
        free_batch(h, batch);
        mc_te_api_fail(c, MOONCAKE_TE_STATUS_FAILED, "batch %llu failed", (unsigned long long)batch);
        break;
    default: mc_te_api_done(c, MOONCAKE_TE_STATUS_RUNNING); break;
    }
}

int mooncake_te_transfer_check_status(mooncake_te_t *h, uint64_t batch_id)
{
    return mc_te_api_run(h, check_start, &batch_id, MOONCAKE_TE_STATUS_FAILED);
}

typedef struct bstat {
    const uint64_t *ids;
    size_t n;
    bool *waiting; /* per id: our callback is registered */
    size_t remaining;
    bool failed;
    mc_te_api_call_t *c;
} bstat_t;

/* Decided: batches still running are freed when they finish; bs is the
 * caller's and must not be touched after mc_te_api_done. */
static void bstat_finish(bstat_t *bs)
{
    mooncake_te_t *h = bs->c->h;
    for (size_t i = 0; i < bs->n; i++)
        if (bs->waiting[i])
            mc_te_batch_on_done(h->te, bs->ids[i], auto_free, h);
    if (bs->failed)
        mc_te_api_fail(bs->c, -1, "a batch failed, timed out or is unknown");
    else
        mc_te_api_done(bs->c, 0);
}

static void bstat_one(void *arg, uint64_t batch, int status)
{
    bstat_t *bs = arg;
    mooncake_te_t *h = bs->c->h;
    for (size_t i = 0; i < bs->n; i++) {
        if (bs->ids[i] == batch && bs->waiting[i]) {
            bs->waiting[i] = false;
            break;
        }
    }
    mc_te_free_batch(h->te, batch);
    if (status != MC_TE_COMPLETED)
        bs->failed = true;
    if (--bs->remaining == 0 || bs->failed)
        bstat_finish(bs);
}

static void bstat_start(mc_te_api_call_t *c)
{
    bstat_t *bs = c->arg;
    bs->c = c;
    mc_te_t *te = c->h->te;
    for (size_t i = 0; i < bs->n; i++) {
        mc_te_task_status_t st;
        bool dup = false;
        for (size_t j = 0; j < i && !dup; j++)
            dup = bs->ids[j] == bs->ids[i];
        if (dup || mc_te_get_batch_status(te, bs->ids[i], &st) != 0) {
            bs->failed = true; /* unknown or listed twice */
            continue;
        }
        bs->waiting[i] = true;
        bs->remaining++;
    }
    if (bs->failed || bs->remaining == 0) {
        bstat_finish(bs);
        return;
    }
    for (size_t i = 0; i < bs->n; i++)
        if (bs->waiting[i])
            mc_te_batch_on_done(te, bs->ids[i], bstat_one, bs);
}

int mooncake_te_get_batch_transfer_status(mooncake_te_t *h, const uint64_t *batch_ids, size_t n)
{
    if (n == 0)
        return 0;
    if (!batch_ids) {
        mc_te_api_set_error("NULL batch id list");
        return -1;
    }
    bstat_t bs = {.ids = batch_ids, .n = n, .waiting = calloc(n, sizeof(bool))};
    if (!bs.waiting) {
        mc_te_api_set_error("out of memory");
        return -1;
    }
    int rc = mc_te_api_run(h, bstat_start, &bs, -1);
    free(bs.waiting);
    return rc;
}
