/* Argument conversion with pybind11-like strictness: wrong types raise
 * TypeError, never a store error. */
#include <string.h>

#include "mc_py.h"

bool mc_py_key(PyObject *obj, const char **p, size_t *len)
{
    Py_ssize_t n;
    if (PyUnicode_Check(obj)) {
        *p = PyUnicode_AsUTF8AndSize(obj, &n);
        if (!*p)
            return false;
    } else if (PyBytes_Check(obj)) {
        *p = PyBytes_AS_STRING(obj);
        n = PyBytes_GET_SIZE(obj);
    } else {
        PyErr_Format(PyExc_TypeError, "key must be str, not %.100s", Py_TYPE(obj)->tp_name);
        return false;
    }
    *len = (size_t)n;
    return true;
}

bool mc_py_u64(PyObject *obj, uint64_t *out)
{
    if (!PyLong_Check(obj) || PyBool_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "expected a non-negative int, not %.100s", Py_TYPE(obj)->tp_name);
        return false;
    }
    unsigned long long v = PyLong_AsUnsignedLongLong(obj);
    if (v == (unsigned long long)-1 && PyErr_Occurred()) {
        PyErr_Clear();
        PyErr_SetString(PyExc_TypeError, "expected an int in [0, 2**64)");
        return false;
    }
    *out = v;
    return true;
}

int mc_py_conv_u64(PyObject *obj, void *out)
{
    return mc_py_u64(obj, out) ? 1 : 0;
}

int mc_py_conv_ptr(PyObject *obj, void *out)
{
    uint64_t v;
    if (!mc_py_u64(obj, &v))
        return 0;
    *(void **)out = (void *)(uintptr_t)v;
    return 1;
}

int mc_py_conv_bool(PyObject *obj, void *out)
{
    if (!PyBool_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "expected bool, not %.100s", Py_TYPE(obj)->tp_name);
        return 0;
    }
    *(bool *)out = obj == Py_True;
    return 1;
}

PyObject *mc_py_fast(PyObject *seq, const char *what)
{
    if (!PyList_Check(seq) && !PyTuple_Check(seq)) {
        PyErr_Format(PyExc_TypeError, "%s must be a list, not %.100s", what, Py_TYPE(seq)->tp_name);
        return NULL;
    }
    return PySequence_Fast(seq, what);
}

bool mc_py_keys(PyObject *seq, mc_py_keys_t *k)
{
    memset(k, 0, sizeof *k);
    if (!(k->fast = mc_py_fast(seq, "keys")))
        return false;
    k->n = (size_t)PySequence_Fast_GET_SIZE(k->fast);
    k->p = PyMem_Calloc(k->n ? k->n : 1, sizeof *k->p);
    k->len = PyMem_Calloc(k->n ? k->n : 1, sizeof *k->len);
    if (!k->p || !k->len) {
        PyErr_NoMemory();
        goto fail;
    }
    for (size_t i = 0; i < k->n; i++) {
        const char *p;
        if (!mc_py_key(PySequence_Fast_GET_ITEM(k->fast, i), &p, &k->len[i]))
            goto fail;
        k->p[i] = p;
    }
    return true;
fail:
    mc_py_keys_free(k);
    return false;
}

void mc_py_keys_free(mc_py_keys_t *k)
{
    Py_CLEAR(k->fast);
    PyMem_Free(k->p);
    PyMem_Free(k->len);
    k->p = NULL;
    k->len = NULL;
}

bool mc_py_u64_list(PyObject *seq, uint64_t **out, size_t *n)
{
    PyObject *fast = mc_py_fast(seq, "list of ints");
    if (!fast)
        return false;
    *n = (size_t)PySequence_Fast_GET_SIZE(fast);
    *out = PyMem_Calloc(*n ? *n : 1, sizeof **out);
    if (!*out) {
        Py_DECREF(fast);
        PyErr_NoMemory();
        return false;
    }
    for (size_t i = 0; i < *n; i++) {
        if (!mc_py_u64(PySequence_Fast_GET_ITEM(fast, i), &(*out)[i])) {
            PyMem_Free(*out);
            *out = NULL;
            Py_DECREF(fast);
            return false;
        }
    }
    Py_DECREF(fast);
    return true;
}

bool mc_py_bufs(PyObject *seq, mc_py_bufs_t *b)
{
    memset(b, 0, sizeof *b);
    PyObject *fast = mc_py_fast(seq, "values");
    if (!fast)
        return false;
    size_t n = (size_t)PySequence_Fast_GET_SIZE(fast);
    b->views = PyMem_Calloc(n ? n : 1, sizeof *b->views);
    b->p = PyMem_Calloc(n ? n : 1, sizeof *b->p);
    b->len = PyMem_Calloc(n ? n : 1, sizeof *b->len);
    if (!b->views || !b->p || !b->len) {
        PyErr_NoMemory();
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        if (PyObject_GetBuffer(PySequence_Fast_GET_ITEM(fast, i), &b->views[i], PyBUF_SIMPLE) != 0)
            goto fail;
        b->n = i + 1;
        b->p[i] = b->views[i].buf;
        b->len[i] = (size_t)b->views[i].len;
    }
    b->n = n;
    Py_DECREF(fast);
    return true;
fail:
    Py_DECREF(fast);
    mc_py_bufs_free(b);
    return false;
}

void mc_py_bufs_free(mc_py_bufs_t *b)
{
    for (size_t i = 0; i < b->n; i++)
        PyBuffer_Release(&b->views[i]);
    PyMem_Free(b->views);
    PyMem_Free(b->p);
    PyMem_Free(b->len);
    memset(b, 0, sizeof *b);
}

PyObject *mc_py_int_list(const int *v, size_t n)
{
    PyObject *l = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; l && i < n; i++)
        PyList_SET_ITEM(l, (Py_ssize_t)i, PyLong_FromLong(v[i]));
    return l;
}

PyObject *mc_py_i64_list(const int64_t *v, size_t n)
{
    PyObject *l = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; l && i < n; i++)
        PyList_SET_ITEM(l, (Py_ssize_t)i, PyLong_FromLongLong(v[i]));
    return l;
}

PyObject *mc_py_const_list(long v, size_t n)
{
    PyObject *l = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; l && i < n; i++)
        PyList_SET_ITEM(l, (Py_ssize_t)i, PyLong_FromLong(v));
    return l;
}
