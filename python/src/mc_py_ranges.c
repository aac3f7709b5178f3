/* get_into_ranges(buffer_ptrs, all_keys, all_dst_offsets, all_src_offsets,
 * all_sizes) -> results[i][j][k] (spec store.md §6.6). Shape mismatches:
 * top level (or a buffer's key count) => every result of that buffer
 * -600; a key's three fragment lists differ => that key's fragments -600. */
#include <stdlib.h>
#include <string.h>

#include "mc_py.h"

typedef struct rkey {
    mooncake_range_key_t k;
    bool bad;     /* shape mismatch: results are -600 */
    size_t nres;  /* results to report */
    uint64_t *dst, *src, *sizes;
    int64_t *res;
} rkey_t;

typedef struct rbuf {
    mooncake_range_buffer_t b;
    rkey_t *keys;
    mooncake_range_key_t *ckeys;
    size_t nkeys;
    bool bad;
} rbuf_t;

static Py_ssize_t seq_len(PyObject *seq, Py_ssize_t i)
{
    if (!seq || (!PyList_Check(seq) && !PyTuple_Check(seq)) || i >= PySequence_Size(seq))
        return -1;
    PyObject *it = PySequence_GetItem(seq, i);
    Py_ssize_t n = it && (PyList_Check(it) || PyTuple_Check(it)) ? PySequence_Size(it) : -1;
    Py_XDECREF(it);
    return n;
}

static PyObject *item(PyObject *seq, Py_ssize_t i)
{
    return PySequence_GetItem(seq, i); /* new ref */
}

static bool parse_key(PyObject *keyo, PyObject *dsto, PyObject *srco, PyObject *szo, rkey_t *r)
{
    const char *kp;
    size_t nd = 0, ns = 0, nz = 0;
    if (!mc_py_key(keyo, &kp, &r->k.klen))
        return false;
    r->k.key = kp;
    if (!mc_py_u64_list(dsto, &r->dst, &nd) || !mc_py_u64_list(srco, &r->src, &ns) ||
        !mc_py_u64_list(szo, &r->sizes, &nz))
        return false;
    r->nres = nz;
    r->bad = nd != nz || ns != nz;
    r->res = PyMem_Calloc(nz ? nz : 1, sizeof *r->res);
    if (!r->res) {
        PyErr_NoMemory();
        return false;
    }
    for (size_t f = 0; f < nz; f++)
        r->res[f] = MC_PY_INVALID_PARAMS;
    r->k.nfrags = r->bad ? 0 : nz;
    r->k.dst_offsets = r->dst;
    r->k.src_offsets = r->src;
    r->k.sizes = r->sizes;
    r->k.results = r->res;
    return true;
}

static bool parse_buffer(PyObject *keys, PyObject *dst, PyObject *src, PyObject *sz, rbuf_t *b)
{
    PyObject *kf = mc_py_fast(keys, "all_keys[i]");
    if (!kf)
        return false;
    b->nkeys = (size_t)PySequence_Fast_GET_SIZE(kf);
    b->keys = PyMem_Calloc(b->nkeys ? b->nkeys : 1, sizeof *b->keys);
    b->ckeys = PyMem_Calloc(b->nkeys ? b->nkeys : 1, sizeof *b->ckeys);
    bool ok = b->keys && b->ckeys;
    for (size_t j = 0; ok && j < b->nkeys; j++) {
        rkey_t *r = &b->keys[j];
        Py_ssize_t nf = seq_len(sz, (Py_ssize_t)j);
        if (b->bad) {
            r->nres = nf > 0 ? (size_t)nf : 1;
            r->res = PyMem_Calloc(r->nres, sizeof *r->res);
            ok = r->res != NULL;
            for (size_t f = 0; ok && f < r->nres; f++)
                r->res[f] = MC_PY_INVALID_PARAMS;
            continue;
        }
        PyObject *d = item(dst, (Py_ssize_t)j), *s = item(src, (Py_ssize_t)j), *z = item(sz, (Py_ssize_t)j);
        ok = d && s && z && parse_key(PySequence_Fast_GET_ITEM(kf, j), d, s, z, r);
        Py_XDECREF(d);
        Py_XDECREF(s);
        Py_XDECREF(z);
        if (ok)
            b->ckeys[j] = r->k;
    }
    if (!ok && !PyErr_Occurred())
        PyErr_NoMemory();
    b->b.nkeys = b->bad ? 0 : b->nkeys;
    b->b.keys = b->ckeys;
    Py_DECREF(kf);
    return ok;
}

static void free_buffers(rbuf_t *bufs, size_t n)
{
    for (size_t i = 0; bufs && i < n; i++) {
        for (size_t j = 0; bufs[i].keys && j < bufs[i].nkeys; j++) {
            PyMem_Free(bufs[i].keys[j].dst);
            PyMem_Free(bufs[i].keys[j].src);
            PyMem_Free(bufs[i].keys[j].sizes);
            PyMem_Free(bufs[i].keys[j].res);
        }
        PyMem_Free(bufs[i].keys);
        PyMem_Free(bufs[i].ckeys);
    }
    PyMem_Free(bufs);
}

static PyObject *results(const rbuf_t *bufs, size_t n)
{
    PyObject *out = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; out && i < n; i++) {
        PyObject *bl = PyList_New((Py_ssize_t)bufs[i].nkeys);
        if (!bl) {
            Py_CLEAR(out);
            break;
        }
        for (size_t j = 0; j < bufs[i].nkeys; j++)
            PyList_SET_ITEM(bl, (Py_ssize_t)j, mc_py_i64_list(bufs[i].keys[j].res, bufs[i].keys[j].nres));
        PyList_SET_ITEM(out, (Py_ssize_t)i, bl);
    }
    return out;
}

PyObject *mc_py_get_into_ranges(PyObject *obj, PyObject *args, PyObject *kw);
PyObject *mc_py_get_into_ranges(PyObject *obj, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"buffer_ptrs", "all_keys", "all_dst_offsets", "all_src_offsets", "all_sizes", NULL};
    PyObject *ptrso, *keyso, *dsto, *srco, *szo;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOOOO:get_into_ranges", kwlist, &ptrso, &keyso, &dsto, &srco, &szo))
        return NULL;
    uint64_t *ptrs = NULL;
    size_t n = 0;
    if (!mc_py_u64_list(ptrso, &ptrs, &n))
        return NULL;
    PyObject *fk = mc_py_fast(keyso, "all_keys"), *fd = fk ? mc_py_fast(dsto, "all_dst_offsets") : NULL;
    PyObject *fs = fd ? mc_py_fast(srco, "all_src_offsets") : NULL, *fz = fs ? mc_py_fast(szo, "all_sizes") : NULL;
    rbuf_t *bufs = NULL;
    PyObject *out = NULL;
    if (!fz)
        goto done;
    bool top_bad = (size_t)PySequence_Fast_GET_SIZE(fk) != n || (size_t)PySequence_Fast_GET_SIZE(fd) != n ||
                   (size_t)PySequence_Fast_GET_SIZE(fs) != n || (size_t)PySequence_Fast_GET_SIZE(fz) != n;
    bufs = PyMem_Calloc(n ? n : 1, sizeof *bufs);
    if (!bufs) {
        PyErr_NoMemory();
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        rbuf_t *b = &bufs[i];
        b->b.buffer = (void *)(uintptr_t)ptrs[i];
        PyObject *empty = NULL;
        PyObject *keys = i < (size_t)PySequence_Fast_GET_SIZE(fk) ? PySequence_Fast_GET_ITEM(fk, i)
                                                                   : (empty = PyList_New(0));
        Py_ssize_t nk = seq_len(fk, (Py_ssize_t)i);
        PyObject *z = i < (size_t)PySequence_Fast_GET_SIZE(fz) ? PySequence_Fast_GET_ITEM(fz, i) : NULL;
        b->bad = top_bad || nk < 0 || seq_len(fd, (Py_ssize_t)i) != nk || seq_len(fs, (Py_ssize_t)i) != nk ||
                 seq_len(fz, (Py_ssize_t)i) != nk;
        bool ok = keys && parse_buffer(keys, b->bad ? NULL : PySequence_Fast_GET_ITEM(fd, i),
                                       b->bad ? NULL : PySequence_Fast_GET_ITEM(fs, i), z, b);
        Py_XDECREF(empty);
        if (!ok)
            goto done;
    }
    mooncake_range_buffer_t *cb = PyMem_Calloc(n ? n : 1, sizeof *cb);
    if (!cb) {
        PyErr_NoMemory();
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        cb[i] = bufs[i].b;
    MC_PY_CALL((mc_py_store_t *)obj, s, {
        if (!s) {
            for (size_t i = 0; i < n; i++)
                cb[i].nkeys = 0; /* results stay -600 */
        } else {
            mooncake_store_get_into_ranges(s, n, cb);
        }
    });
    PyMem_Free(cb);
    out = results(bufs, n);
done:
    free_buffers(bufs, n);
    Py_XDECREF(fk);
    Py_XDECREF(fd);
    Py_XDECREF(fs);
    Py_XDECREF(fz);
    PyMem_Free(ptrs);
    return out;
}
