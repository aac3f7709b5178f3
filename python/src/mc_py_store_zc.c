/* Zero-copy calls on integer addresses: register/unregister_buffer,
 * put_from/upsert_from/get_into and their batch and multi-buffer forms,
 * put_from_with_metadata, get_into_ranges. */
#include <stdlib.h>
#include <string.h>

#include "mc_py.h"

#define SELF ((mc_py_store_t *)obj)
#define KW(f) (PyCFunction)(void (*)(void))(f), METH_VARARGS | METH_KEYWORDS

static PyObject *py_register_buffer(PyObject *obj, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"buffer_ptr", "size", NULL};
    void *p;
    uint64_t size;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&O&:register_buffer", kwlist, mc_py_conv_ptr, &p, mc_py_conv_u64,
                                     &size))
        return NULL;
    int rc;
    MC_PY_CALL(SELF, s, rc = mooncake_store_register_buffer(s, p, (size_t)size));
    return PyLong_FromLong(rc);
}

static PyObject *py_unregister_buffer(PyObject *obj, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"buffer_ptr", NULL};
    void *p;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&:unregister_buffer", kwlist, mc_py_conv_ptr, &p))
        return NULL;
    int rc;
    MC_PY_CALL(SELF, s, rc = mooncake_store_unregister_buffer(s, p));
    return PyLong_FromLong(rc);
}

static PyObject *from_common(PyObject *obj, PyObject *args, PyObject *kw, bool upsert)
{
    static char *kwlist[] = {"key", "buffer_ptr", "size", "config", NULL};
    PyObject *keyo, *cfgo = Py_None;
    void *p;
    uint64_t size;
    const char *key;
    size_t klen;
    mc_py_cfg_t cfg;
    if (!PyArg_ParseTupleAndKeywords(args, kw, upsert ? "OO&O&|O:upsert_from" : "OO&O&|O:put_from", kwlist, &keyo,
                                     mc_py_conv_ptr, &p, mc_py_conv_u64, &size, &cfgo) ||
        !mc_py_key(keyo, &key, &klen) || !mc_py_cfg(cfgo, &cfg))
        return NULL;
    int rc;
    MC_PY_CALL(SELF, s,
               rc = upsert ? mooncake_store_upsert_from(s, key, klen, p, (size_t)size, mc_py_cfg_ptr(&cfg))
                           : mooncake_store_put_from(s, key, klen, p, (size_t)size, mc_py_cfg_ptr(&cfg)));
    mc_py_cfg_free(&cfg);
    return PyLong_FromLong(rc);
}

static PyObject *py_put_from(PyObject *obj, PyObject *args, PyObject *kw) { return from_common(obj, args, kw, false); }
static PyObject *py_upsert_from(PyObject *obj, PyObject *args, PyObject *kw) { return from_common(obj, args, kw, true); }

/* Upstream quirk kept (spec §8, §10.10): positive magnitude of a store
 * error, -1 when the store is not set up. */
static PyObject *py_put_from_with_metadata(PyObject *obj, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"key", "buffer_ptr", "metadata_buffer_ptr", "size", "metadata_size", "config", NULL};
    PyObject *keyo, *cfgo = Py_None;
    void *p, *mp;
    uint64_t size, msize;
    const char *key;
    size_t klen;
    mc_py_cfg_t cfg;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO&O&O&O&|O:put_from_with_metadata", kwlist, &keyo, mc_py_conv_ptr,
                                     &p, mc_py_conv_ptr, &mp, mc_py_conv_u64, &size, mc_py_conv_u64, &msize, &cfgo) ||
        !mc_py_key(keyo, &key, &klen) || !mc_py_cfg(cfgo, &cfg))
        return NULL;
    int rc;
    MC_PY_CALL(SELF, s, {
        if (!s)
            rc = -1;
        else
            rc = -mooncake_store_put_from_with_metadata(s, key, klen, p, mp, (size_t)size, (size_t)msize,
                                                        mc_py_cfg_ptr(&cfg));
    });
    mc_py_cfg_free(&cfg);
    return PyLong_FromLong(rc);
}

static PyObject *py_get_into(PyObject *obj, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"key", "buffer_ptr", "size", NULL};
    PyObject *keyo;
    void *p;
    uint64_t size;
    const char *key;
    size_t klen;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO&O&:get_into", kwlist, &keyo, mc_py_conv_ptr, &p, mc_py_conv_u64,
                                     &size) ||
        !mc_py_key(keyo, &key, &klen))
        return NULL;
    int64_t rc;
    MC_PY_CALL(SELF, s, rc = mooncake_store_get_into(s, key, klen, p, (size_t)size));
    return PyLong_FromLongLong(rc);
}

/* ---- batch ---- */

typedef struct zc_batch {
    mc_py_keys_t k;
    uint64_t *ptrs, *sizes;
    size_t nptrs, nsizes;
} zc_batch_t;

static bool zc_parse(PyObject *keyso, PyObject *ptrso, PyObject *sizeso, zc_batch_t *b)
{
    memset(b, 0, sizeof *b);
    if (!mc_py_keys(keyso, &b->k))
        return false;
    if (!mc_py_u64_list(ptrso, &b->ptrs, &b->nptrs) || !mc_py_u64_list(sizeso, &b->sizes, &b->nsizes)) {
        mc_py_keys_free(&b->k);
        PyMem_Free(b->ptrs);
        return false;
    }
    return true;
}

static void zc_free(zc_batch_t *b)
{
    mc_py_keys_free(&b->k);
    PyMem_Free(b->ptrs);
    PyMem_Free(b->sizes);
}

static PyObject *batch_from_common(PyObject *obj, PyObject *args, PyObject *kw, bool upsert)
{
    static char *kwlist[] = {"keys", "buffer_ptrs", "sizes", "config", NULL};
    PyObject *keyso, *ptrso, *sizeso, *cfgo = Py_None;
    zc_batch_t b;
    mc_py_cfg_t cfg;
    if (!PyArg_ParseTupleAndKeywords(args, kw, upsert ? "OOO|O:batch_upsert_from" : "OOO|O:batch_put_from", kwlist,
                                     &keyso, &ptrso, &sizeso, &cfgo) ||
        !mc_py_cfg(cfgo, &cfg))
        return NULL;
    if (!zc_parse(keyso, ptrso, sizeso, &b)) {
        mc_py_cfg_free(&cfg);
        return NULL;
    }
    size_t n = b.k.n;
    PyObject *l;
    if (b.nptrs != n || b.nsizes != n) {
        l = mc_py_const_list(MC_PY_INVALID_PARAMS, n);
    } else {
        int *res = calloc(n ? n : 1, sizeof *res);
        MC_PY_CALL(SELF, s, {
            if (upsert)
                mooncake_store_batch_upsert_from(s, n, b.k.p, b.k.len, (const void *const *)b.ptrs, b.sizes,
                                                 mc_py_cfg_ptr(&cfg), res);
            else
                mooncake_store_batch_put_from(s, n, b.k.p, b.k.len, (const void *const *)b.ptrs, b.sizes,
                                              mc_py_cfg_ptr(&cfg), res);
        });
        l = mc_py_int_list(res, n);
        free(res);
    }
    zc_free(&b);
    mc_py_cfg_free(&cfg);
    return l;
}

static PyObject *py_batch_put_from(PyObject *obj, PyObject *args, PyObject *kw) { return batch_from_common(obj, args, kw, false); }
static PyObject *py_batch_upsert_from(PyObject *obj, PyObject *args, PyObject *kw) { return batch_from_common(obj, args, kw, true); }

static PyObject *py_batch_get_into(PyObject *obj, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"keys", "buffer_ptrs", "sizes", NULL};
    PyObject *keyso, *ptrso, *sizeso;
    zc_batch_t b;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOO:batch_get_into", kwlist, &keyso, &ptrso, &sizeso) ||
        !zc_parse(keyso, ptrso, sizeso, &b))
        return NULL;
    size_t n = b.k.n;
    PyObject *l;
    if (b.nptrs != n || b.nsizes != n) {
        l = mc_py_const_list(MC_PY_INVALID_PARAMS, n);
    } else {
        int64_t *res = calloc(n ? n : 1, sizeof *res);
        MC_PY_CALL(SELF, s,
                   mooncake_store_batch_get_into(s, n, b.k.p, b.k.len, (void *const *)b.ptrs, b.sizes, res));
        l = mc_py_i64_list(res, n);
        free(res);
    }
    zc_free(&b);
    return l;
}

/* ---- multi-buffer ---- */

typedef struct multi {
    size_t n;
    uint64_t **ptrs, **sizes;
    size_t *nbufs;
} multi_t;

static void multi_free(multi_t *m)
{
    for (size_t i = 0; i < m->n; i++) {
        PyMem_Free(m->ptrs ? m->ptrs[i] : NULL);
        PyMem_Free(m->sizes ? m->sizes[i] : NULL);
    }
    PyMem_Free(m->ptrs);
    PyMem_Free(m->sizes);
    PyMem_Free(m->nbufs);
}

/* 0 ok, 1 shape mismatch, -1 TypeError. */
static int multi_parse(PyObject *ptrso, PyObject *sizeso, size_t n, multi_t *m)
{
    memset(m, 0, sizeof *m);
    PyObject *pf = mc_py_fast(ptrso, "all_buffer_ptrs"), *sf = pf ? mc_py_fast(sizeso, "all_sizes") : NULL;
    int rc = -1;
    if (!pf || !sf)
        goto out;
    rc = 1;
    if ((size_t)PySequence_Fast_GET_SIZE(pf) != n || (size_t)PySequence_Fast_GET_SIZE(sf) != n)
        goto out;
    m->n = n;
    m->ptrs = PyMem_Calloc(n ? n : 1, sizeof *m->ptrs);
    m->sizes = PyMem_Calloc(n ? n : 1, sizeof *m->sizes);
    m->nbufs = PyMem_Calloc(n ? n : 1, sizeof *m->nbufs);
    for (size_t i = 0; i < n; i++) {
        size_t np, ns;
        if (!mc_py_u64_list(PySequence_Fast_GET_ITEM(pf, i), &m->ptrs[i], &np) ||
            !mc_py_u64_list(PySequence_Fast_GET_ITEM(sf, i), &m->sizes[i], &ns)) {
            rc = -1;
            goto out;
        }
        if (np != ns) {
            rc = 1;
            goto out;
        }
        m->nbufs[i] = np;
    }
    rc = 0;
out:
    Py_XDECREF(pf);
    Py_XDECREF(sf);
    if (rc != 0)
        multi_free(m);
    return rc;
}

static PyObject *py_batch_put_from_multi_buffers(PyObject *obj, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"keys", "all_buffer_ptrs", "all_sizes", "config", NULL};
    PyObject *keyso, *ptrso, *sizeso, *cfgo = Py_None;
    mc_py_keys_t k;
    mc_py_cfg_t cfg;
    multi_t m;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOO|O:batch_put_from_multi_buffers", kwlist, &keyso, &ptrso,
                                     &sizeso, &cfgo) ||
        !mc_py_keys(keyso, &k))
        return NULL;
    if (!mc_py_cfg(cfgo, &cfg)) {
        mc_py_keys_free(&k);
        return NULL;
    }
    PyObject *l = NULL;
    int shape = multi_parse(ptrso, sizeso, k.n, &m);
    if (shape < 0)
        goto out;
    if (shape > 0) {
        l = mc_py_const_list(MC_PY_INVALID_PARAMS, k.n);
        goto out;
    }
    int *res = calloc(k.n ? k.n : 1, sizeof *res);
    bool ready = false;
    MC_PY_CALL(SELF, s, {
        ready = s != NULL;
        mooncake_store_batch_put_from_multi_buffers(s, k.n, k.p, k.len, (const void *const *const *)m.ptrs,
                                                    (const size_t *const *)m.sizes, m.nbufs, mc_py_cfg_ptr(&cfg),
                                                    res);
    });
    l = ready ? mc_py_int_list(res, k.n) : PyList_New(0); /* upstream: [] when not set up */
    free(res);
    multi_free(&m);
out:
    mc_py_cfg_free(&cfg);
    mc_py_keys_free(&k);
    return l;
}

static PyObject *py_batch_get_into_multi_buffers(PyObject *obj, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"keys", "all_buffer_ptrs", "all_sizes", "prefer_alloc_in_same_node", NULL};
    PyObject *keyso, *ptrso, *sizeso;
    bool same_node = false;
    mc_py_keys_t k;
    multi_t m;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOO|O&:batch_get_into_multi_buffers", kwlist, &keyso, &ptrso,
                                     &sizeso, mc_py_conv_bool, &same_node) ||
        !mc_py_keys(keyso, &k))
        return NULL;
    PyObject *l = NULL;
    int shape = multi_parse(ptrso, sizeso, k.n, &m);
    if (shape < 0)
        goto out;
    if (shape > 0) {
        l = mc_py_const_list(MC_PY_INVALID_PARAMS, k.n);
        goto out;
    }
    int64_t *res = calloc(k.n ? k.n : 1, sizeof *res);
    bool ready = false;
    MC_PY_CALL(SELF, s, {
        ready = s != NULL;
        mooncake_store_batch_get_into_multi_buffers(s, k.n, k.p, k.len, (void *const *const *)m.ptrs,
                                                    (const size_t *const *)m.sizes, m.nbufs, res);
    });
    l = ready ? mc_py_i64_list(res, k.n) : PyList_New(0);
    free(res);
    multi_free(&m);
out:
    mc_py_keys_free(&k);
    return l;
}

extern PyObject *mc_py_get_into_ranges(PyObject *obj, PyObject *args, PyObject *kw);

PyMethodDef mc_py_store_zc_methods[] = {
    {"register_buffer", KW(py_register_buffer), "register_buffer(buffer_ptr, size) -> 0 or -600"},
    {"unregister_buffer", KW(py_unregister_buffer), "unregister_buffer(buffer_ptr) -> 0 or -600"},
    {"put_from", KW(py_put_from), "put_from(key, buffer_ptr, size, config=None) -> int"},
    {"upsert_from", KW(py_upsert_from), "upsert_from(key, buffer_ptr, size, config=None) -> int"},
    {"put_from_with_metadata", KW(py_put_from_with_metadata),
     "put_from_with_metadata(key, buffer_ptr, metadata_buffer_ptr, size, metadata_size, config=None) -> "
     "0, -1 (not set up) or the positive magnitude of the error"},
    {"get_into", KW(py_get_into), "get_into(key, buffer_ptr, size) -> bytes read or a negative error"},
    {"batch_put_from", KW(py_batch_put_from), "batch_put_from(keys, buffer_ptrs, sizes, config=None) -> list[int]"},
    {"batch_upsert_from", KW(py_batch_upsert_from),
     "batch_upsert_from(keys, buffer_ptrs, sizes, config=None) -> list[int]"},
    {"batch_get_into", KW(py_batch_get_into), "batch_get_into(keys, buffer_ptrs, sizes) -> list[int]"},
    {"batch_put_from_multi_buffers", KW(py_batch_put_from_multi_buffers),
     "batch_put_from_multi_buffers(keys, all_buffer_ptrs, all_sizes, config=None) -> list[int]"},
    {"batch_get_into_multi_buffers", KW(py_batch_get_into_multi_buffers),
     "batch_get_into_multi_buffers(keys, all_buffer_ptrs, all_sizes, prefer_alloc_in_same_node=False) -> list[int]"},
    {"get_into_ranges", KW(mc_py_get_into_ranges),
     "get_into_ranges(buffer_ptrs, all_keys, all_dst_offsets, all_src_offsets, all_sizes) -> list[list[list[int]]]"},
    {NULL, NULL, 0, NULL},
};
