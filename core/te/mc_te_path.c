/* Local path (NIC) selection and the pause policy.
 *
 * Selection: each request starts on the next path of an engine-wide
 * round robin and its k-th slice goes to start+k (mod paths), so one
 * large request spreads over every NIC and many small ones alternate.
 * (Upstream keeps one local NIC per request and spreads over peer NICs;
 * mc_xfer_op_t names only the local path, so the spreading moves here.)
 * Paused paths are skipped; if every path is paused the preferred one is
 * used anyway (a probe), so a fully degraded node still makes progress
 * or fails through the retry budget instead of stalling.
 *
 * Retry: a failed attempt moves to the next un-paused path after the one
 * that failed (deterministic walk, like upstream's retry>0 selection).
 *
 * Pause (upstream rail state, spec §4.2): a path's error count restarts
 * when more than path_error_window (5 s) passed since its last error; at
 * path_pause_errors (5) errors the path is paused for rail_pause (30 s).
 * The pause is lifted lazily by the first lookup after it expires (no
 * timer), which also clears the error count. Successes do not reset the
 * count, so a lossy path still gets paused. */
#include "mc_te_int.h"

void te_paths_init(mc_te_t *te)
{
    te->paths = mc_calloc(te->npaths, sizeof *te->paths);
}

bool te_path_paused(mc_te_t *te, uint32_t p)
{
    MC_ASSERT(p < te->npaths);
    te_path_t *x = &te->paths[p];
    if (!x->paused_until)
        return false;
    if (mc_env_now(te->env) < x->paused_until)
        return true;
    x->paused_until = 0;
    x->errors = 0;
    mc_env_tracef(te->env, "te.path_resume", "segment=%s path=%u", te->name, p);
    return false;
}

uint8_t te_path_pick(mc_te_t *te, uint32_t preferred)
{
    for (uint32_t i = 0; i < te->npaths; i++) {
        uint32_t c = (preferred + i) % te->npaths;
        if (!te_path_paused(te, c))
            return (uint8_t)c;
    }
    return (uint8_t)(preferred % te->npaths);
}

uint8_t te_path_pick_retry(mc_te_t *te, uint32_t failed, uint32_t attempt)
{
    (void)attempt;
    return te_path_pick(te, (failed + 1) % te->npaths);
}

void te_path_error(mc_te_t *te, uint32_t p)
{
    MC_ASSERT(p < te->npaths);
    te_path_t *x = &te->paths[p];
    uint64_t now = mc_env_now(te->env);
    x->failed++;
    if (te_path_paused(te, p))
        return; /* already paused: do not extend */
    if (x->errors && now - x->last_err_ns > te->err_window_ns)
        x->errors = 0;
    x->errors++;
    x->last_err_ns = now;
    if (x->errors < te->pause_errors || te->pause_ns == 0)
        return;
    x->errors = 0;
    x->paused_until = now + te->pause_ns;
    te->stats.path_pauses++;
    mc_env_tracef(te->env, "te.path_pause", "segment=%s path=%u for_ns=%llu", te->name, p,
                  (unsigned long long)te->pause_ns);
}

void te_path_ok(mc_te_t *te, uint32_t p)
{
    MC_ASSERT(p < te->npaths);
    te->paths[p].ok++;
}
