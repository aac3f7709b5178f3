/* JSON codec for segment descriptors and RPC meta entries (spec §7.2). */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../base/mc_mem.h"
#include "mc_te_meta_desc.h"
#include "mc_te_status.h"

#define MAX_EXACT_INT 9007199254740992.0 /* 2^53 */

static void add_u64(cJSON *obj, const char *key, uint64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%" PRIu64, v);
    cJSON_AddItemToObject(obj, key, cJSON_CreateRaw(buf));
}

/* A buffer address, right-aligned in 20 columns (JSON allows whitespace
 * before a value; every reader, upstream's jsoncpp included, skips it).
 * The descriptor's byte count must not depend on where the allocator put
 * the buffer: the simulator charges wire time per byte, and a 14-digit
 * glibc heap address vs a 15-digit mmap/ASan one made Debug and Release
 * trace hashes differ (sim/README.md, "Same hash in every build"). */
static void add_addr(cJSON *obj, const char *key, uint64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%20" PRIu64, v);
    cJSON_AddItemToObject(obj, key, cJSON_CreateRaw(buf));
}

static void add_i64(cJSON *obj, const char *key, int64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    cJSON_AddItemToObject(obj, key, cJSON_CreateRaw(buf));
}

static cJSON *u32_array(const uint32_t *v, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        char buf[16];
        snprintf(buf, sizeof buf, "%" PRIu32, v[i]);
        cJSON_AddItemToArray(a, cJSON_CreateRaw(buf));
    }
    return a;
}

static cJSON *str_array(char *const *v, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
    return a;
}

/* cJSON allocates with malloc; hand back an mc_ heap string. */
static char *print_and_free(cJSON *root)
{
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!s)
        return mc_strdup("null");
    char *out = mc_strdup(s);
    cJSON_free(s);
    return out;
}

static void add_protocol(cJSON *obj, const char *protocol)
{
    if (!strchr(protocol, ',')) {
        cJSON_AddStringToObject(obj, "protocol", protocol);
        return;
    }
    cJSON *a = cJSON_CreateArray();
    const char *p = protocol;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char *one = mc_strndup(p, n);
        cJSON_AddItemToArray(a, cJSON_CreateString(one));
        mc_free(one);
        p += n + (e ? 1 : 0);
    }
    cJSON_AddItemToObject(obj, "protocol", a);
}

char *mc_te_seg_desc_encode(const mc_te_seg_desc_t *d)
{
    const char *proto = d->protocol ? d->protocol : "rdma";
    bool rdma = mc_te_proto_has_devices(proto);
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "name", d->name ? d->name : "");
    add_protocol(root, proto);
    add_i64(root, "tcp_data_port", d->tcp_data_port);
    add_i64(root, "tcp_proto_version", d->tcp_proto_version);
    cJSON_AddStringToObject(root, "timestamp", d->timestamp ? d->timestamp : "");
    if (d->rdma_server_name)
        cJSON_AddStringToObject(root, "rdma_server_name", d->rdma_server_name);
    if (d->data_endpoint)
        cJSON_AddStringToObject(root, "mc_data_endpoint", d->data_endpoint);
    if (rdma) {
        cJSON *devs = cJSON_AddArrayToObject(root, "devices");
        for (size_t i = 0; i < d->ndevices; i++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", d->devices[i].name);
            add_u64(o, "lid", d->devices[i].lid);
            cJSON_AddStringToObject(o, "gid", d->devices[i].gid);
            cJSON_AddItemToArray(devs, o);
        }
    }
    cJSON *bufs = cJSON_AddArrayToObject(root, "buffers");
    for (size_t i = 0; i < d->nbuffers; i++) {
        const mc_te_buffer_desc_t *b = &d->buffers[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", b->name);
        add_addr(o, "addr", b->addr);
        add_u64(o, "length", b->length);
        if (rdma || b->nrkey) { /* tcp: our registration key, ignored upstream */
            cJSON_AddItemToObject(o, "rkey", u32_array(b->rkey, b->nrkey));
            cJSON_AddItemToObject(o, "lkey", u32_array(b->lkey, b->nlkey));
        }
        if (b->protocol)
            cJSON_AddStringToObject(o, "protocol", b->protocol);
        cJSON_AddItemToArray(bufs, o);
    }
    if (rdma) {
        cJSON *pm = cJSON_AddObjectToObject(root, "priority_matrix");
        for (size_t i = 0; i < d->ntopo; i++) {
            const mc_te_topo_entry_t *t = &d->topo[i];
            cJSON *row = cJSON_CreateArray();
            cJSON_AddItemToArray(row, str_array(t->preferred, t->npreferred));
            cJSON_AddItemToArray(row, str_array(t->avail, t->navail));
            cJSON_AddItemToObject(pm, t->location, row);
        }
    }
    return print_and_free(root);
}

char *mc_te_rpc_meta_encode(const mc_te_rpc_meta_t *m)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "ip_or_host_name", m->ip_or_host_name ? m->ip_or_host_name : "");
    add_u64(root, "rpc_port", m->rpc_port);
    return print_and_free(root);
}

/* ---- decoding ---- */

typedef struct dec {
    char *err;
    size_t errlen;
    bool failed;
} dec_t;

static bool fail(dec_t *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(dec_t *x, const char *fmt, ...)
{
    if (!x->failed && x->err && x->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(x->err, x->errlen, fmt, ap);
        va_end(ap);
    }
    x->failed = true;
    return false;
}

static bool get_uint(dec_t *x, const cJSON *it, const char *what, double max, uint64_t *out)
{
    if (!cJSON_IsNumber(it))
        return fail(x, "%s: not a number", what);
    double v = it->valuedouble;
    if (!(v >= 0) || v > max || v > MAX_EXACT_INT || v != (double)(uint64_t)v)
        return fail(x, "%s: not an integer in range", what);
    *out = (uint64_t)v;
    return true;
}

static bool get_int(dec_t *x, const cJSON *it, const char *what, int64_t *out)
{
    if (!cJSON_IsNumber(it))
        return fail(x, "%s: not a number", what);
    double v = it->valuedouble;
    if (!(v >= -MAX_EXACT_INT && v <= MAX_EXACT_INT) || v != (double)(int64_t)v)
        return fail(x, "%s: not an integer in range", what);
    *out = (int64_t)v;
    return true;
}

static bool get_str(dec_t *x, const cJSON *obj, const char *key, bool required, char **out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!it) {
        if (required)
            return fail(x, "missing \"%s\"", key);
        return true;
    }
    if (!cJSON_IsString(it) || !it->valuestring)
        return fail(x, "\"%s\": not a string", key);
    *out = mc_strdup(it->valuestring);
    return true;
}

static bool get_keys(dec_t *x, const cJSON *arr, const char *what, uint32_t **out, size_t *n)
{
    if (!arr)
        return true;
    if (!cJSON_IsArray(arr))
        return fail(x, "%s: not an array", what);
    size_t cnt = (size_t)cJSON_GetArraySize(arr);
    if (!cnt)
        return true;
    *out = mc_calloc(cnt, sizeof **out);
    *n = cnt;
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        uint64_t v;
        if (!get_uint(x, it, what, 4294967295.0, &v))
            return false;
        (*out)[i++] = (uint32_t)v;
    }
    return true;
}

static bool get_strv(dec_t *x, const cJSON *arr, const char *what, char ***out, size_t *n)
{
    if (!cJSON_IsArray(arr))
        return fail(x, "%s: not an array of strings", what);
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        if (!cJSON_IsString(it) || !it->valuestring)
            return fail(x, "%s: not an array of strings", what);
        mc_te_topo_add(out, n, it->valuestring);
    }
    return true;
}

static bool decode_protocol(dec_t *x, const cJSON *root, mc_te_seg_desc_t *d)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(root, "protocol");
    if (!p)
        return fail(x, "missing \"protocol\"");
    if (cJSON_IsString(p) && p->valuestring) {
        if (!p->valuestring[0] || strchr(p->valuestring, ','))
            return fail(x, "\"protocol\": bad value");
        d->protocol = mc_strdup(p->valuestring);
        return true;
    }
    if (!cJSON_IsArray(p) || cJSON_GetArraySize(p) == 0)
        return fail(x, "\"protocol\": not a string or array of strings");
    size_t len = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, p)
    {
        if (!cJSON_IsString(it) || !it->valuestring || !it->valuestring[0] || strchr(it->valuestring, ','))
            return fail(x, "\"protocol\": bad array element");
        len += strlen(it->valuestring) + 1;
    }
    d->protocol = mc_calloc(1, len);
    cJSON_ArrayForEach(it, p)
    {
        if (d->protocol[0])
            strcat(d->protocol, ",");
        strcat(d->protocol, it->valuestring);
    }
    return true;
}

static bool decode_devices(dec_t *x, const cJSON *root, mc_te_seg_desc_t *d)
{
    const cJSON *devs = cJSON_GetObjectItemCaseSensitive(root, "devices");
    if (!devs)
        return true;
    if (!cJSON_IsArray(devs))
        return fail(x, "\"devices\": not an array");
    const cJSON *o;
    cJSON_ArrayForEach(o, devs)
    {
        if (!cJSON_IsObject(o))
            return fail(x, "devices[]: not an object");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
        const cJSON *gid = cJSON_GetObjectItemCaseSensitive(o, "gid");
        if (!cJSON_IsString(name) || !cJSON_IsString(gid))
            return fail(x, "devices[]: missing name or gid");
        uint64_t lid = 0;
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(o, "lid");
        if (l && !get_uint(x, l, "devices[].lid", 65535.0, &lid))
            return false;
        mc_te_seg_desc_add_device(d, name->valuestring, (uint16_t)lid, gid->valuestring);
    }
    return true;
}

static bool decode_buffers(dec_t *x, const cJSON *root, mc_te_seg_desc_t *d)
{
    const cJSON *bufs = cJSON_GetObjectItemCaseSensitive(root, "buffers");
    if (!bufs)
        return true;
    if (!cJSON_IsArray(bufs))
        return fail(x, "\"buffers\": not an array");
    const cJSON *o;
    cJSON_ArrayForEach(o, bufs)
    {
        if (!cJSON_IsObject(o))
            return fail(x, "buffers[]: not an object");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
        const cJSON *addr = cJSON_GetObjectItemCaseSensitive(o, "addr");
        const cJSON *len = cJSON_GetObjectItemCaseSensitive(o, "length");
        if (!cJSON_IsString(name) || !addr || !len)
            return fail(x, "buffers[]: missing name, addr or length");
        uint64_t a, n;
        if (!get_uint(x, addr, "buffers[].addr", MAX_EXACT_INT, &a) ||
            !get_uint(x, len, "buffers[].length", MAX_EXACT_INT, &n))
            return false;
        if (a + n < a)
            return fail(x, "buffers[]: addr+length overflows");
        mc_te_buffer_desc_t *b = mc_te_seg_desc_add_buffer(d, name->valuestring, a, n, 0);
        if (!get_keys(x, cJSON_GetObjectItemCaseSensitive(o, "rkey"), "buffers[].rkey", &b->rkey, &b->nrkey) ||
            !get_keys(x, cJSON_GetObjectItemCaseSensitive(o, "lkey"), "buffers[].lkey", &b->lkey, &b->nlkey) ||
            !get_str(x, o, "protocol", false, &b->protocol))
            return false;
        /* One key per device; a device-less (tcp) descriptor of ours has one. */
        if (b->nrkey && (b->nrkey != b->nlkey || b->nrkey != (d->ndevices ? d->ndevices : 1)))
            return fail(x, "buffers[]: rkey/lkey/devices length mismatch");
    }
    return true;
}

static bool decode_topo(dec_t *x, const cJSON *root, mc_te_seg_desc_t *d)
{
    const cJSON *pm = cJSON_GetObjectItemCaseSensitive(root, "priority_matrix");
    if (!pm)
        return true;
    if (!cJSON_IsObject(pm))
        return fail(x, "\"priority_matrix\": not an object");
    const cJSON *row;
    cJSON_ArrayForEach(row, pm)
    {
        if (!row->string || !cJSON_IsArray(row) || cJSON_GetArraySize(row) != 2)
            return fail(x, "priority_matrix: entry is not [preferred, avail]");
        mc_te_topo_entry_t *t = mc_te_seg_desc_add_topo(d, row->string);
        if (!get_strv(x, cJSON_GetArrayItem(row, 0), "priority_matrix preferred", &t->preferred,
                      &t->npreferred) ||
            !get_strv(x, cJSON_GetArrayItem(row, 1), "priority_matrix avail", &t->avail, &t->navail))
            return false;
    }
    return true;
}

static cJSON *parse_object(dec_t *x, const char *json, size_t len)
{
    if (!json)
        return fail(x, "no JSON text"), NULL;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, false);
    if (!root)
        return fail(x, "not valid JSON"), NULL;
    /* Only whitespace may follow (stores append a '\n'); never garbage. */
    for (; end && end < json + len; end++) {
        if (*end != ' ' && *end != '\n' && *end != '\r' && *end != '\t' && *end != '\0') {
            cJSON_Delete(root);
            return fail(x, "trailing data after JSON"), NULL;
        }
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return fail(x, "not a JSON object"), NULL;
    }
    return root;
}

int mc_te_seg_desc_decode(const char *json, size_t len, mc_te_seg_desc_t *d, char *err, size_t errlen)
{
    dec_t x = {err, errlen, false};
    mc_te_seg_desc_init(d);
    cJSON *root = parse_object(&x, json, len);
    if (!root)
        goto out;
    if (!get_str(&x, root, "name", true, &d->name) || !decode_protocol(&x, root, d))
        goto out;
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, "tcp_data_port");
    int64_t v;
    if (it) {
        if (!get_int(&x, it, "tcp_data_port", &v))
            goto out;
        d->tcp_data_port = v;
    }
    it = cJSON_GetObjectItemCaseSensitive(root, "tcp_proto_version");
    if (it) {
        if (!get_int(&x, it, "tcp_proto_version", &v))
            goto out;
        if (v < 0 || v > 0x7fffffff) {
            fail(&x, "tcp_proto_version: out of range");
            goto out;
        }
        d->tcp_proto_version = (int32_t)v;
    }
    if (!get_str(&x, root, "timestamp", false, &d->timestamp) ||
        !get_str(&x, root, "rdma_server_name", false, &d->rdma_server_name) ||
        !get_str(&x, root, "mc_data_endpoint", false, &d->data_endpoint) ||
        !decode_devices(&x, root, d) || !decode_buffers(&x, root, d) || !decode_topo(&x, root, d))
        goto out;
out:
    cJSON_Delete(root);
    if (x.failed) {
        mc_te_seg_desc_free(d);
        return MC_TE_ERR_MALFORMED_JSON;
    }
    return MC_TE_ERR_OK;
}

int mc_te_rpc_meta_decode(const char *json, size_t len, mc_te_rpc_meta_t *m, char *err, size_t errlen)
{
    dec_t x = {err, errlen, false};
    m->ip_or_host_name = NULL;
    m->rpc_port = 0;
    cJSON *root = parse_object(&x, json, len);
    if (!root)
        goto out;
    const cJSON *port = cJSON_GetObjectItemCaseSensitive(root, "rpc_port");
    uint64_t p = 0;
    if (!get_str(&x, root, "ip_or_host_name", true, &m->ip_or_host_name))
        goto out;
    if (!port) {
        fail(&x, "missing \"rpc_port\"");
        goto out;
    }
    if (!get_uint(&x, port, "rpc_port", 65535.0, &p))
        goto out;
    m->rpc_port = (uint16_t)p;
out:
    cJSON_Delete(root);
    if (x.failed) {
        mc_te_rpc_meta_free(m);
        return MC_TE_ERR_MALFORMED_JSON;
    }
    return MC_TE_ERR_OK;
}
