/* etcd v3 JSON-gateway codec: base64 and the three responses we read. */
#include "mc_hw_meta_etcd_json.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/mc_mem.h"

static const char b64_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *mc_b64_encode(const void *src, size_t n)
{
    const unsigned char *s = src;
    char *out = mc_malloc((n + 2) / 3 * 4 + 1), *o = out;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
        *o++ = b64_alpha[v >> 18 & 63];
        *o++ = b64_alpha[v >> 12 & 63];
        *o++ = b64_alpha[v >> 6 & 63];
        *o++ = b64_alpha[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)s[i] << 16;
        *o++ = b64_alpha[v >> 18 & 63];
        *o++ = b64_alpha[v >> 12 & 63];
        *o++ = '=';
        *o++ = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
        *o++ = b64_alpha[v >> 18 & 63];
        *o++ = b64_alpha[v >> 12 & 63];
        *o++ = b64_alpha[v >> 6 & 63];
        *o++ = '=';
    }
    *o = '\0';
    return out;
}

static int b64_val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

long mc_b64_decode(const char *src, size_t n, unsigned char *out)
{
    if (n % 4 != 0)
        return -1;
    long len = 0;
    for (size_t i = 0; i < n; i += 4) {
        bool last = i + 4 == n;
        int pad = 0;
        if (last && src[i + 3] == '=')
            pad = src[i + 2] == '=' ? 2 : 1;
        int v[4];
        for (int k = 0; k < 4 - pad; k++)
            if ((v[k] = b64_val(src[i + k])) < 0)
                return -1;
        for (int k = 4 - pad; k < 4; k++)
            v[k] = 0;
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        /* Non-zero bits under the padding would not survive a re-encode. */
        if ((pad == 1 && (w & 0xff)) || (pad == 2 && (w & 0xffff)))
            return -1;
        out[len++] = (unsigned char)(w >> 16);
        if (pad < 2)
            out[len++] = (unsigned char)(w >> 8);
        if (pad < 1)
            out[len++] = (unsigned char)w;
    }
    return len;
}

/* cJSON only fails on out-of-memory, which is fatal here (mc_mem rule). */
static char *req_print(cJSON *o)
{
    char *p = o ? cJSON_PrintUnformatted(o) : NULL;
    if (!p)
        abort();
    char *s = mc_strdup(p);
    cJSON_free(p);
    cJSON_Delete(o);
    return s;
}

static void add_b64(cJSON *o, const char *name, const void *src, size_t n)
{
    char *b = mc_b64_encode(src, n);
    if (!cJSON_AddStringToObject(o, name, b))
        abort();
    mc_free(b);
}

char *mc_etcd_req_key(const char *key)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        abort();
    add_b64(o, "key", key, strlen(key));
    return req_print(o);
}

char *mc_etcd_req_put(const char *key, const char *value, size_t len)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        abort();
    add_b64(o, "key", key, strlen(key));
    add_b64(o, "value", value, len);
    return req_print(o);
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Parses body as a JSON object that is not an etcd error. */
static cJSON *parse_obj(const char *body, size_t n, char *err, size_t errlen)
{
    cJSON *o = cJSON_ParseWithLength(body, n);
    if (!o) {
        fail(err, errlen, "etcd: response is not JSON");
        return NULL;
    }
    if (!cJSON_IsObject(o)) {
        fail(err, errlen, "etcd: response is not a JSON object");
        goto bad;
    }
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");
    if (e) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "message");
        const char *msg = cJSON_IsString(m) ? m->valuestring : cJSON_IsString(e) ? e->valuestring : "?";
        fail(err, errlen, "etcd: error response: %.160s", msg);
        goto bad;
    }
    if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(o, "header"))) {
        fail(err, errlen, "etcd: response has no header object");
        goto bad;
    }
    return o;
bad:
    cJSON_Delete(o);
    return NULL;
}

int mc_etcd_parse_ok(const char *body, size_t n, char *err, size_t errlen)
{
    cJSON *o = parse_obj(body, n, err, errlen);
    if (!o)
        return -1;
    cJSON_Delete(o);
    return 0;
}

/* Decodes a base64 string member; an absent member is the empty value
 * (protobuf-JSON omits empty bytes). Heap result, NUL-terminated. */
static int get_b64(const cJSON *kv, const char *name, char **out, size_t *len, char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(kv, name);
    *out = NULL;
    if (!v) {
        *out = mc_strdup("");
        *len = 0;
        return 0;
    }
    if (!cJSON_IsString(v))
        return fail(err, errlen, "etcd: kvs[0].%s is not a string", name);
    size_t sn = strlen(v->valuestring);
    unsigned char *buf = mc_malloc(sn / 4 * 3 + 1);
    long got = mc_b64_decode(v->valuestring, sn, buf);
    if (got < 0) {
        mc_free(buf);
        return fail(err, errlen, "etcd: kvs[0].%s is not valid base64", name);
    }
    buf[got] = '\0';
    *out = (char *)buf;
    *len = (size_t)got;
    return 0;
}

int mc_etcd_parse_range(const char *body, size_t n, const char *key, char **value, size_t *len,
                        char *err, size_t errlen)
{
    *value = NULL;
    *len = 0;
    int rc = -1;
    char *k = NULL;
    size_t klen = 0;
    cJSON *o = parse_obj(body, n, err, errlen);
    if (!o)
        return -1;
    const cJSON *kvs = cJSON_GetObjectItemCaseSensitive(o, "kvs");
    if (!kvs || (cJSON_IsArray(kvs) && cJSON_GetArraySize(kvs) == 0)) {
        rc = 0;
        goto out;
    }
    if (!cJSON_IsArray(kvs) || cJSON_GetArraySize(kvs) != 1) {
        fail(err, errlen, "etcd: kvs is not an array of one entry");
        goto out;
    }
    const cJSON *kv = cJSON_GetArrayItem(kvs, 0);
    if (!cJSON_IsObject(kv)) {
        fail(err, errlen, "etcd: kvs[0] is not an object");
        goto out;
    }
    if (!cJSON_GetObjectItemCaseSensitive(kv, "key")) {
        fail(err, errlen, "etcd: kvs[0] has no key");
        goto out;
    }
    if (get_b64(kv, "key", &k, &klen, err, errlen) < 0)
        goto out;
    if (klen != strlen(key) || memcmp(k, key, klen) != 0) {
        fail(err, errlen, "etcd: kvs[0] is for another key");
        goto out;
    }
    if (get_b64(kv, "value", value, len, err, errlen) < 0)
        goto out;
    rc = 1;
out:
    mc_free(k);
    cJSON_Delete(o);
    return rc;
}
