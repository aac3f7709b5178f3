/* get_local_topology: the priority matrix upstream's discovery builds,
 * from sysfs. For every NUMA node "cpu:N": [preferred, avail] = RDMA
 * devices on that node, then the others (a device with no NUMA node is
 * preferred everywhere). device_name (comma list) filters the devices.
 * With no RDMA device every entry is [[], []]. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc_te_api_int.h"

#define MAX_DEVS 64
#define MAX_NODES 64

typedef struct dev {
    char name[64];
    int numa;
} dev_t_;

static bool in_filter(const char *filter, const char *name)
{
    if (!filter || !*filter)
        return true;
    size_t l = strlen(name);
    for (const char *p = filter; *p;) {
        const char *q = strchr(p, ',');
        size_t pl = q ? (size_t)(q - p) : strlen(p);
        if (pl == l && strncmp(p, name, l) == 0)
            return true;
        p = q ? q + 1 : p + pl;
    }
    return false;
}

static int read_int(const char *path, int def)
{
    FILE *f = fopen(path, "r");
    int v = def;
    if (f) {
        if (fscanf(f, "%d", &v) != 1)
            v = def;
        fclose(f);
    }
    return v;
}

static size_t list_devices(const char *filter, dev_t_ *devs)
{
    DIR *d = opendir("/sys/class/infiniband");
    size_t n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) && n < MAX_DEVS) {
        if (e->d_name[0] == '.' || strlen(e->d_name) >= sizeof devs[n].name || !in_filter(filter, e->d_name))
            continue;
        char path[512];
        snprintf(path, sizeof path, "/sys/class/infiniband/%s/device/numa_node", e->d_name);
        memcpy(devs[n].name, e->d_name, strlen(e->d_name) + 1); /* length checked above */
        devs[n].numa = read_int(path, -1);
        n++;
    }
    if (d)
        closedir(d);
    /* stable order: by name */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(devs[j - 1].name, devs[j].name) > 0; j--) {
            dev_t_ t = devs[j];
            devs[j] = devs[j - 1];
            devs[j - 1] = t;
        }
    return n;
}

static size_t list_nodes(int *nodes)
{
    size_t n = 0;
    DIR *d = opendir("/sys/devices/system/node");
    struct dirent *e;
    while (d && (e = readdir(d)) && n < MAX_NODES) {
        int id;
        char rest;
        if (sscanf(e->d_name, "node%d%c", &id, &rest) == 1 && id >= 0)
            nodes[n++] = id;
    }
    if (d)
        closedir(d);
    if (n == 0)
        nodes[n++] = 0;
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && nodes[j - 1] > nodes[j]; j--) {
            int t = nodes[j];
            nodes[j] = nodes[j - 1];
            nodes[j - 1] = t;
        }
    return n;
}

/* Appends printf output to a growing buffer; false on OOM. */
typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf_t;

static bool put(sbuf_t *b, const char *s)
{
    size_t l = strlen(s);
    if (b->len + l + 1 > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 256) + l;
        char *np = realloc(b->p, cap);
        if (!np)
            return false;
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, l + 1);
    b->len += l;
    return true;
}

static bool put_list(sbuf_t *b, const dev_t_ *devs, size_t n, int node, bool preferred)
{
    bool ok = put(b, "["), first = true;
    for (size_t i = 0; ok && i < n; i++) {
        bool pref = devs[i].numa < 0 || devs[i].numa == node;
        if (pref != preferred)
            continue;
        ok = put(b, first ? "\"" : ", \"") && put(b, devs[i].name) && put(b, "\"");
        first = false;
    }
    return ok && put(b, "]");
}

char *mooncake_te_get_local_topology(mooncake_te_t *h, const char *device_name)
{
    (void)h;
    dev_t_ devs[MAX_DEVS];
    int nodes[MAX_NODES];
    size_t nd = list_devices(device_name, devs), nn = list_nodes(nodes);
    sbuf_t b = {0};
    bool ok = put(&b, "{");
    for (size_t i = 0; ok && i < nn; i++) {
        char key[48];
        snprintf(key, sizeof key, "%s\"cpu:%d\": [", i ? ", " : "", nodes[i]);
        ok = put(&b, key) && put_list(&b, devs, nd, nodes[i], true) && put(&b, ", ") &&
             put_list(&b, devs, nd, nodes[i], false) && put(&b, "]");
    }
    ok = ok && put(&b, "}");
    if (!ok) {
        free(b.p);
        mc_te_api_set_error("out of memory");
        return NULL;
    }
    return b.p;
}
