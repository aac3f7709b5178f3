/* Raw replica descriptors for mooncake.store's ReplicaDescriptor wrappers:
 * _get_replica_desc(key) -> [(status, type, buffer_address, size,
 * transport_endpoint)], [] on any error; _batch_get_replica_desc(keys) ->
 * {key: [...]}, failed keys omitted. */
#include <stdlib.h>

#include "mc_py.h"

#define KW(f) (PyCFunction)(void (*)(void))(f), METH_VARARGS | METH_KEYWORDS

static PyObject *desc_list(const mooncake_replica_desc_t *d, int n)
{
    PyObject *l = PyList_New(n > 0 ? n : 0);
    for (int i = 0; l && i < n; i++) {
        PyObject *t = Py_BuildValue("(iiKKs)", d[i].status, d[i].type, (unsigned long long)d[i].buffer_address,
                                    (unsigned long long)d[i].size, d[i].transport_endpoint);
        if (!t) {
            Py_CLEAR(l);
            break;
        }
        PyList_SET_ITEM(l, i, t);
    }
    return l;
}

static PyObject *py_get_replica_desc(PyObject *obj, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"key", NULL};
    PyObject *keyo;
    const char *key;
    size_t klen;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O:get_replica_desc", kwlist, &keyo) || !mc_py_key(keyo, &key, &klen))
        return NULL;
    mooncake_replica_desc_t d[MOONCAKE_MAX_REPLICAS];
    int n;
    MC_PY_CALL((mc_py_store_t *)obj, s, n = mooncake_store_get_replica_desc(s, key, klen, d, MOONCAKE_MAX_REPLICAS));
    return desc_list(d, n > MOONCAKE_MAX_REPLICAS ? MOONCAKE_MAX_REPLICAS : n);
}

static PyObject *py_batch_get_replica_desc(PyObject *obj, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"keys", NULL};
    PyObject *keyso;
    mc_py_keys_t k;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O:batch_get_replica_desc", kwlist, &keyso) || !mc_py_keys(keyso, &k))
        return NULL;
    mooncake_replica_desc_t *d = calloc(k.n ? k.n * MOONCAKE_MAX_REPLICAS : 1, sizeof *d);
    int *counts = calloc(k.n ? k.n : 1, sizeof *counts);
    PyObject *dict = d && counts ? PyDict_New() : PyErr_NoMemory();
    if (dict) {
        MC_PY_CALL((mc_py_store_t *)obj, s,
                   mooncake_store_batch_get_replica_desc(s, k.n, k.p, k.len, d, MOONCAKE_MAX_REPLICAS, counts));
        for (size_t i = 0; i < k.n; i++) {
            if (counts[i] < 0)
                continue;
            int n = counts[i] > MOONCAKE_MAX_REPLICAS ? MOONCAKE_MAX_REPLICAS : counts[i];
            PyObject *l = desc_list(d + i * MOONCAKE_MAX_REPLICAS, n);
            if (!l || PyDict_SetItem(dict, PySequence_Fast_GET_ITEM(k.fast, i), l) != 0) {
                Py_XDECREF(l);
                Py_CLEAR(dict);
                break;
            }
            Py_DECREF(l);
        }
    }
    free(d);
    free(counts);
    mc_py_keys_free(&k);
    return dict;
}

PyMethodDef mc_py_store_replica_methods[] = {
    {"_get_replica_desc", KW(py_get_replica_desc), "raw form of get_replica_desc"},
    {"_batch_get_replica_desc", KW(py_batch_get_replica_desc), "raw form of batch_get_replica_desc"},
    {NULL, NULL, 0, NULL},
};
