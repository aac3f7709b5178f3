#include "sim_swarm_gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mc_mem.h"
#include "env/mc_env.h"

mc_scn_fault_t *mc_swarm_add_fault(mc_scenario_t *s, size_t *cap, uint64_t at, mc_fault_kind_t k, char *node)
{
    if (s->nfaults == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        s->faults = mc_realloc(s->faults, *cap * sizeof *s->faults);
    }
    mc_scn_fault_t *f = &s->faults[s->nfaults];
    memset(f, 0, sizeof *f);
    f->at_ns = at;
    f->kind = k;
    f->index = s->nfaults++;
    f->node = node;
    return f;
}

void mc_swarm_add_cut(mc_scenario_t *s, size_t *cap, uint64_t at, uint64_t heal_at, char *node, char *peer,
                      bool oneway)
{
    mc_scn_fault_t *f = mc_swarm_add_fault(s, cap, at, MC_FAULT_PARTITION, NULL);
    f->nodes = mc_calloc(1, sizeof(char *));
    f->nodes[0] = node;
    f->nnodes = 1;
    f->oneway = oneway;
    if (peer) {
        f->peers = mc_calloc(1, sizeof(char *));
        f->peers[0] = peer;
        f->npeers = 1;
    }
    mc_swarm_add_fault(s, cap, heal_at, MC_FAULT_HEAL, NULL);
}

mc_scn_cmd_t *mc_swarm_add_cmd(mc_scenario_t *s, size_t *cap, uint64_t at, char *node, const char *name)
{
    if (s->ncmds == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        s->cmds = mc_realloc(s->cmds, *cap * sizeof *s->cmds);
    }
    mc_scn_cmd_t *c = &s->cmds[s->ncmds];
    memset(c, 0, sizeof *c);
    c->at_ns = at;
    c->node = node;
    c->cmd = mc_strdup(name);
    mc_conf_init(&c->args);
    c->index = s->ncmds++;
    return c;
}

void mc_swarm_conf_u64(mc_conf_t *c, const char *k, uint64_t v)
{
    char b[32];
    snprintf(b, sizeof b, "%llu", (unsigned long long)v);
    mc_conf_set(c, k, b);
}

void mc_swarm_conf_ms(mc_conf_t *c, const char *k, uint64_t ns)
{
    char b[32];
    snprintf(b, sizeof b, "%llums", (unsigned long long)(ns / MC_NS_PER_MS));
    mc_conf_set(c, k, b);
}

static int cmd_cmp(const void *a, const void *b)
{
    const mc_scn_cmd_t *x = a, *y = b;
    if (x->at_ns != y->at_ns)
        return x->at_ns < y->at_ns ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static int fault_cmp(const void *a, const void *b)
{
    const mc_scn_fault_t *x = a, *y = b;
    if (x->at_ns != y->at_ns)
        return x->at_ns < y->at_ns ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

void mc_swarm_sort(mc_scenario_t *s)
{
    if (s->nfaults > 1)
        qsort(s->faults, s->nfaults, sizeof *s->faults, fault_cmp);
    if (s->ncmds > 1)
        qsort(s->cmds, s->ncmds, sizeof *s->cmds, cmd_cmp);
}

void mc_swarm_print_faults(FILE *out, const mc_scenario_t *s)
{
    for (size_t i = 0; i < s->nfaults; i++) {
        const mc_scn_fault_t *f = &s->faults[i];
        fprintf(out, "  fault @%.3fs %s", (double)f->at_ns / 1e9, mc_fault_kind_name(f->kind));
        if (f->node)
            fprintf(out, " node=%s", f->node);
        if (f->kind == MC_FAULT_NIC_DOWN || f->kind == MC_FAULT_NIC_UP)
            fprintf(out, " nic=%u", f->nic);
        if (f->kind == MC_FAULT_PARTITION)
            fprintf(out, " %s -> %s%s", f->nodes[0], f->npeers ? f->peers[0] : "*", f->oneway ? " (one way)" : "");
        fputc('\n', out);
    }
}
