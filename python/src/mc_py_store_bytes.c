/* Copying calls: put/upsert (single, parts, batch), get/get_batch,
 * get_buffer/batch_get_buffer, remove family, is_exist, get_size.
 * Return conventions: spec store.md §8.3. */
#include <stdlib.h>

#include "mc_py.h"

#define SELF ((mc_py_store_t *)obj)
#define KW(f) (PyCFunction)(void (*)(void))(f), METH_VARARGS | METH_KEYWORDS

/* ---- put / upsert ---- */

static PyObject *put_common(PyObject *obj, PyObject *args, PyObject *kw, bool upsert)
{
    static char *kwlist[] = {"key", "value", "config", NULL};
    PyObject *keyo, *valo, *cfgo = Py_None;
    const char *key;
    size_t klen;
    Py_buffer v;
    mc_py_cfg_t cfg;
    if (!PyArg_ParseTupleAndKeywords(args, kw, upsert ? "OO|O:upsert" : "OO|O:put", kwlist, &keyo, &valo, &cfgo))
        return NULL;
    if (!mc_py_key(keyo, &key, &klen) || !mc_py_cfg(cfgo, &cfg))
        return NULL;
    if (PyObject_GetBuffer(valo, &v, PyBUF_SIMPLE) != 0) {
        mc_py_cfg_free(&cfg);
        return NULL;
    }
    int rc;
    MC_PY_CALL(SELF, s,
               rc = upsert ? mooncake_store_upsert(s, key, klen, v.buf, (size_t)v.len, mc_py_cfg_ptr(&cfg))
                           : mooncake_store_put(s, key, klen, v.buf, (size_t)v.len, mc_py_cfg_ptr(&cfg)));
    PyBuffer_Release(&v);
    mc_py_cfg_free(&cfg);
    return PyLong_FromLong(rc);
}

static PyObject *py_put(PyObject *obj, PyObject *args, PyObject *kw) { return put_common(obj, args, kw, false); }
static PyObject *py_upsert(PyObject *obj, PyObject *args, PyObject *kw) { return put_common(obj, args, kw, true); }

static PyObject *parts_common(PyObject *obj, PyObject *args, PyObject *kw, bool upsert)
{
    const char *name = upsert ? "upsert_parts" : "put_parts";
    PyObject *cfgo = Py_None;
    if (kw) {
        PyObject *k, *v;
        Py_ssize_t pos = 0;
        while (PyDict_Next(kw, &pos, &k, &v)) {
            if (PyUnicode_Check(k) && PyUnicode_CompareWithASCIIString(k, "config") == 0) {
                cfgo = v;
            } else {
                PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument %R", name, k);
                return NULL;
            }
        }
    }
    Py_ssize_t nargs = PyTuple_GET_SIZE(args);
    if (nargs < 1) {
        PyErr_Format(PyExc_TypeError, "%s() missing required argument 'key'", name);
        return NULL;
    }
    const char *key;
    size_t klen;
    mc_py_cfg_t cfg;
    if (!mc_py_key(PyTuple_GET_ITEM(args, 0), &key, &klen) || !mc_py_cfg(cfgo, &cfg))
        return NULL;
    size_t n = (size_t)(nargs - 1);
    Py_buffer *views = PyMem_Calloc(n ? n : 1, sizeof *views);
    const void **parts = PyMem_Calloc(n ? n : 1, sizeof *parts);
    size_t *lens = PyMem_Calloc(n ? n : 1, sizeof *lens);
    size_t got = 0;
    PyObject *ret = NULL;
    if (!views || !parts || !lens) {
        PyErr_NoMemory();
        goto out;
    }
    for (; got < n; got++) {
        if (PyObject_GetBuffer(PyTuple_GET_ITEM(args, (Py_ssize_t)got + 1), &views[got],
                               PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) != 0)
            goto out;
        if (views[got].ndim > 1 || views[got].itemsize != 1) {
            got++;
            PyErr_SetString(PyExc_RuntimeError, "parts must be 1-D byte buffers");
            goto out;
        }
        parts[got] = views[got].buf;
        lens[got] = (size_t)views[got].len;
    }
    int rc;
    MC_PY_CALL(SELF, s,
               rc = upsert ? mooncake_store_upsert_parts(s, key, klen, n, parts, lens, mc_py_cfg_ptr(&cfg))
                           : mooncake_store_put_parts(s, key, klen, n, parts, lens, mc_py_cfg_ptr(&cfg)));
    ret = PyLong_FromLong(rc);
out:
    for (size_t i = 0; i < got; i++)
        PyBuffer_Release(&views[i]);
    PyMem_Free(views);
    PyMem_Free(parts);
    PyMem_Free(lens);
    mc_py_cfg_free(&cfg);
    return ret;
}

static PyObject *py_put_parts(PyObject *obj, PyObject *args, PyObject *kw) { return parts_common(obj, args, kw, false); }
static PyObject *py_upsert_parts(PyObject *obj, PyObject *args, PyObject *kw) { return parts_common(obj, args, kw, true); }

/* put_batch / upsert_batch: 0 or the first failing key's code. */
static PyObject *batch_common(PyObject *obj, PyObject *args, PyObject *kw, bool upsert)
{
    static char *kwlist[] = {"keys", "values", "config", NULL};
    PyObject *keyso, *valso, *cfgo = Py_None;
    mc_py_keys_t k;
    mc_py_bufs_t b;
    mc_py_cfg_t cfg;
    if (!PyArg_ParseTupleAndKeywords(args, kw, upsert ? "OO|O:upsert_batch" : "OO|O:put_batch", kwlist, &keyso,
                                     &valso, &cfgo))
        return NULL;
    if (!mc_py_keys(keyso, &k))
        return NULL;
    if (!mc_py_bufs(valso, &b)) {
        mc_py_keys_free(&k);
        return NULL;
    }
    if (!mc_py_cfg(cfgo, &cfg)) {
        mc_py_bufs_free(&b);
        mc_py_keys_free(&k);
        return NULL;
    }
    int rc = 0;
    if (k.n != b.n) {
        rc = MC_PY_INVALID_PARAMS;
    } else if (k.n) {
        int *res = calloc(k.n, sizeof *res);
        MC_PY_CALL(SELF, s, {
            if (!s)
                rc = MC_PY_INVALID_PARAMS;
            else if (upsert)
                mooncake_store_batch_upsert(s, k.n, k.p, k.len, b.p, b.len, mc_py_cfg_ptr(&cfg), res);
            else
                mooncake_store_batch_put(s, k.n, k.p, k.len, b.p, b.len, mc_py_cfg_ptr(&cfg), res);
        });
        for (size_t i = 0; rc == 0 && i < k.n; i++)
            if (res[i] != 0)
                rc = res[i];
        free(res);
    } else {
        MC_PY_CALL(SELF, s, rc = s ? 0 : MC_PY_INVALID_PARAMS);
    }
    mc_py_cfg_free(&cfg);
    mc_py_bufs_free(&b);
    mc_py_keys_free(&k);
    return PyLong_FromLong(rc);
}

static PyObject *py_put_batch(PyObject *obj, PyObject *args, PyObject *kw) { return batch_common(obj, args, kw, false); }
static PyObject *py_upsert_batch(PyObject *obj, PyObject *args, PyObject *kw) { return batch_common(obj, args, kw, true); }

/* ---- get ---- */

static PyObject *py_get(PyObject *obj, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"key", NULL};
    PyObject *keyo;
    const char *key;
    size_t klen;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O:get", kwlist, &keyo) || !mc_py_key(keyo, &key, &klen))
        return NULL;
    void *val = NULL;
    size_t vlen = 0;
    int rc;
    MC_PY_CALL(SELF, s, rc = mooncake_store_get(s, key, klen, &val, &vlen));
    PyObject *r = PyBytes_FromStringAndSize(rc == 0 ? val : NULL, rc == 0 ? (Py_ssize_t)vlen : 0);
    mooncake_free(val);
    return r;
}

static PyObject *py_get_batch(PyObject *obj, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"keys", NULL};
    PyObject *keyso;
    mc_py_keys_t k;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O:get_batch", kwlist, &keyso) || !mc_py_keys(keyso, &k))
        return NULL;
    void **vals = calloc(k.n ? k.n : 1, sizeof *vals);
    size_t *lens = calloc(k.n ? k.n : 1, sizeof *lens);
    int *res = calloc(k.n ? k.n : 1, sizeof *res);
    bool ready = false;
    MC_PY_CALL(SELF, s, {
        ready = s != NULL;
        if (ready && k.n)
            mooncake_store_batch_get(s, k.n, k.p, k.len, vals, lens, res);
    });
    PyObject *l = NULL;
    if (!ready || k.n == 0) {
        /* upstream quirk (spec §10.10): an empty result becomes [b""] */
        l = Py_BuildValue("[y#]", "", (Py_ssize_t)0);
    } else if ((l = PyList_New((Py_ssize_t)k.n))) {
        for (size_t i = 0; i < k.n; i++)
            PyList_SET_ITEM(l, (Py_ssize_t)i,
                            PyBytes_FromStringAndSize(res[i] == 0 ? vals[i] : NULL, res[i] == 0 ? (Py_ssize_t)lens[i] : 0));
    }
    for (size_t i = 0; i < k.n; i++)
        mooncake_free(vals[i]);
    free(vals);
    free(lens);
    free(res);
    mc_py_keys_free(&k);
    return l;
}

static PyObject *py_get_buffer(PyObject *obj, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"key", NULL};
    PyObject *keyo;
    const char *key;
    size_t klen;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O:get_buffer", kwlist, &keyo) || !mc_py_key(keyo, &key, &klen))
        return NULL;
    mooncake_buffer_t *h;
    MC_PY_CALL(SELF, s, h = mooncake_store_get_buffer(s, key, klen, NULL));
    if (!h)
        Py_RETURN_NONE;
    return mc_py_buffer_new(h);
}

static PyObject *py_batch_get_buffer(PyObject *obj, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"keys", NULL};
    PyObject *keyso;
    mc_py_keys_t k;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O:batch_get_buffer", kwlist, &keyso) || !mc_py_keys(keyso, &k))
        return NULL;
    mooncake_buffer_t **hs = calloc(k.n ? k.n : 1, sizeof *hs);
    MC_PY_CALL(SELF, s, mooncake_store_batch_get_buffer(s, k.n, k.p, k.len, hs, NULL));
    PyObject *l = PyList_New((Py_ssize_t)k.n);
    for (size_t i = 0; i < k.n; i++) {
        PyObject *item = NULL;
        if (!hs[i])
            item = Py_NewRef(Py_None);
        else if (l)
            item = mc_py_buffer_new(hs[i]);
        else
            mooncake_buffer_release(hs[i]);
        if (l && !item) {
            Py_CLEAR(l);
            continue;
        }
        if (l)
            PyList_SET_ITEM(l, (Py_ssize_t)i, item);
        else
            Py_XDECREF(item);
    }
    free(hs);
    mc_py_keys_free(&k);
    return l;
}

/* ---- exist, size, remove ---- */

static PyObject *py_is_exist(PyObject *obj, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"key", NULL};
    PyObject *keyo;
    const char *key;
    size_t klen;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O:is_exist", kwlist, &keyo) || !mc_py_key(keyo, &key, &klen))
        return NULL;
    int rc;
    MC_PY_CALL(SELF, s, rc = mooncake_store_is_exist(s, key, klen));
    return PyLong_FromLong(rc);
}

static PyObject *py_batch_is_exist(PyObject *obj, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"keys", NULL};
    PyObject *keyso;
    mc_py_keys_t k;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O:batch_is_exist", kwlist, &keyso) || !mc_py_keys(keyso, &k))
        return NULL;
    int *res = calloc(k.n ? k.n : 1, sizeof *res);
    MC_PY_CALL(SELF, s, mooncake_store_batch_is_exist(s, k.n, k.p, k.len, res));
    PyObject *l = mc_py_int_list(res, k.n);
    free(res);
    mc_py_keys_free(&k);
    return l;
}

static PyObject *py_get_size(PyObject *obj, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"key", NULL};
    PyObject *keyo;
    const char *key;
    size_t klen;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O:get_size", kwlist, &keyo) || !mc_py_key(keyo, &key, &klen))
        return NULL;
    int64_t rc;
    MC_PY_CALL(SELF, s, rc = mooncake_store_get_size(s, key, klen));
    return PyLong_FromLongLong(rc);
}

static PyObject *py_remove(PyObject *obj, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"key", "force", NULL};
    PyObject *keyo;
    const char *key;
    size_t klen;
    bool force = false;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|O&:remove", kwlist, &keyo, mc_py_conv_bool, &force) ||
        !mc_py_key(keyo, &key, &klen))
        return NULL;
    int rc;
    MC_PY_CALL(SELF, s, rc = mooncake_store_remove(s, key, klen, force));
    return PyLong_FromLong(rc);
}

static PyObject *py_remove_by_regex(PyObject *obj, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"regex_pattern", "force", NULL};
    const char *re;
    bool force = false;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "s|O&:remove_by_regex", kwlist, &re, mc_py_conv_bool, &force))
        return NULL;
    int64_t rc;
    MC_PY_CALL(SELF, s, rc = mooncake_store_remove_by_regex(s, re, force));
    return PyLong_FromLongLong(rc);
}

static PyObject *py_remove_all(PyObject *obj, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"force", NULL};
    bool force = false;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O&:remove_all", kwlist, mc_py_conv_bool, &force))
        return NULL;
    int64_t rc;
    MC_PY_CALL(SELF, s, rc = mooncake_store_remove_all(s, force));
    return PyLong_FromLongLong(rc);
}

static PyObject *py_batch_remove(PyObject *obj, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"keys", "force", NULL};
    PyObject *keyso;
    bool force = false;
    mc_py_keys_t k;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|O&:batch_remove", kwlist, &keyso, mc_py_conv_bool, &force) ||
        !mc_py_keys(keyso, &k))
        return NULL;
    int *res = calloc(k.n ? k.n : 1, sizeof *res);
    MC_PY_CALL(SELF, s, mooncake_store_batch_remove(s, k.n, k.p, k.len, force, res));
    PyObject *l = mc_py_int_list(res, k.n);
    free(res);
    mc_py_keys_free(&k);
    return l;
}

PyMethodDef mc_py_store_bytes_methods[] = {
    {"put", KW(py_put), "put(key, value, config=None) -> int; an existing key is kept (first writer wins)"},
    {"upsert", KW(py_upsert), "upsert(key, value, config=None) -> int"},
    {"put_parts", KW(py_put_parts), "put_parts(key, *parts, config=None) -> int"},
    {"upsert_parts", KW(py_upsert_parts), "upsert_parts(key, *parts, config=None) -> int"},
    {"put_batch", KW(py_put_batch), "put_batch(keys, values, config=None) -> int (0 or the first error)"},
    {"upsert_batch", KW(py_upsert_batch), "upsert_batch(keys, values, config=None) -> int"},
    {"get", KW(py_get), "get(key) -> bytes (b'' on any failure)"},
    {"get_batch", KW(py_get_batch), "get_batch(keys) -> list[bytes] (b'' per failed key)"},
    {"get_buffer", KW(py_get_buffer), "get_buffer(key) -> BufferHandle or None"},
    {"batch_get_buffer", KW(py_batch_get_buffer), "batch_get_buffer(keys) -> list[BufferHandle or None]"},
    {"is_exist", KW(py_is_exist), "is_exist(key) -> 1, 0 or a negative error"},
    {"batch_is_exist", KW(py_batch_is_exist), "batch_is_exist(keys) -> list[int]"},
    {"get_size", KW(py_get_size), "get_size(key) -> size or a negative error"},
    {"remove", KW(py_remove), "remove(key, force=False) -> int"},
    {"remove_by_regex", KW(py_remove_by_regex), "remove_by_regex(regex_pattern, force=False) -> count or error"},
    {"remove_all", KW(py_remove_all), "remove_all(force=False) -> count or error"},
    {"batch_remove", KW(py_batch_remove), "batch_remove(keys, force=False) -> list[int]"},
    {NULL, NULL, 0, NULL},
};
