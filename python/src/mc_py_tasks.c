/* MooncakeDistributedStore: extra segments (mount_segment & co.), copy /
 * move tasks, query_task (raw tuple; store.py wraps QueryTaskResponse)
 * and batch_replica_clear, with upstream's return shapes (spec §8.3). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc_py.h"

#define KW(f) (PyCFunction)(void (*)(void))(f), METH_VARARGS | METH_KEYWORDS
#define MC_PY_ERR (-1) /* upstream's generic failure (unknown segment id) */

static PyObject *seg_result(int rc, mooncake_uuid_t id, bool with_size, uint64_t allocated)
{
    PyObject *ids = PyList_New(0), *d = PyDict_New(), *v;
    if (!ids || !d)
        goto fail;
    if (rc == 0) {
        char buf[48];
        snprintf(buf, sizeof buf, "%" PRIu64 "-%" PRIu64, id.hi, id.lo);
        v = PyUnicode_FromString(buf);
        if (!v || PyList_Append(ids, v) != 0) {
            Py_XDECREF(v);
            goto fail;
        }
        Py_DECREF(v);
    }
    v = PyLong_FromLong(rc);
    if (!v || PyDict_SetItemString(d, "ret", v) != 0) {
        Py_XDECREF(v);
        goto fail;
    }
    Py_DECREF(v);
    if (PyDict_SetItemString(d, "segment_ids", ids) != 0)
        goto fail;
    if (with_size) {
        v = PyLong_FromUnsignedLongLong(allocated);
        if (!v || PyDict_SetItemString(d, "allocated_size", v) != 0) {
            Py_XDECREF(v);
            goto fail;
        }
        Py_DECREF(v);
    }
    Py_DECREF(ids);
    return d;
fail:
    Py_XDECREF(ids);
    Py_XDECREF(d);
    return NULL;
}

static PyObject *py_mount_segment(PyObject *obj, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"path", "size", "offset", "protocol", "location", NULL};
    const char *path, *proto = "tcp", *loc = "";
    uint64_t size, offset = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "sO&|O&ss:mount_segment", kwlist, &path, mc_py_conv_u64, &size,
                                     mc_py_conv_u64, &offset, &proto, &loc))
        return NULL;
    mooncake_uuid_t id = {0, 0};
    int rc;
    MC_PY_CALL((mc_py_store_t *)obj, s, rc = mooncake_store_mount_segment(s, path, size, offset, proto, loc, &id));
    return seg_result(rc, id, false, 0);
}

static PyObject *py_allocate_and_mount(PyObject *obj, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"size", "protocol", "location", NULL};
    const char *proto = "tcp", *loc = "";
    uint64_t size, allocated = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|ss:allocate_and_mount_segment", kwlist, mc_py_conv_u64, &size,
                                     &proto, &loc))
        return NULL;
    mooncake_uuid_t id = {0, 0};
    int rc;
    MC_PY_CALL((mc_py_store_t *)obj, s,
               rc = mooncake_store_allocate_and_mount_segment(s, size, proto, loc, &id, &allocated));
    return seg_result(rc, id, true, allocated);
}

/* "hi-lo" (two decimal u64s) -> id; false if malformed. */
static bool parse_seg_id(const char *str, mooncake_uuid_t *id)
{
    char *end;
    if (!*str || *str == '-' || *str == '+')
        return false;
    id->hi = strtoull(str, &end, 10);
    if (*end != '-' || !end[1] || end[1] == '-' || end[1] == '+')
        return false;
    id->lo = strtoull(end + 1, &end, 10);
    return *end == '\0';
}

static PyObject *unmount_common(PyObject *obj, PyObject *args, PyObject *kw, bool and_free)
{
    static char *kwlist[] = {"segment_ids", "grace_period_seconds", NULL};
    PyObject *seq;
    uint64_t grace = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, and_free ? "O|O&:unmount_and_free_segment" : "O|O&:unmount_segment",
                                     kwlist, &seq, mc_py_conv_u64, &grace))
        return NULL;
    PyObject *fast = mc_py_fast(seq, "segment_ids");
    if (!fast)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    mooncake_uuid_t *ids = calloc(n ? (size_t)n : 1, sizeof *ids);
    int rc = 0;
    if (!ids) {
        Py_DECREF(fast);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *it = PySequence_Fast_GET_ITEM(fast, i);
        const char *str = PyUnicode_Check(it) ? PyUnicode_AsUTF8(it) : NULL;
        if (!str) {
            free(ids);
            Py_DECREF(fast);
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "segment_ids: expected a list of str");
            return NULL;
        }
        if (!parse_seg_id(str, &ids[i]))
            rc = MC_PY_ERR; /* not an id this client could have handed out */
    }
    if (rc == 0)
        MC_PY_CALL((mc_py_store_t *)obj, s,
                   rc = and_free ? mooncake_store_unmount_and_free_segment(s, ids, (size_t)n, grace)
                                 : mooncake_store_unmount_segment(s, ids, (size_t)n, grace));
    free(ids);
    Py_DECREF(fast);
    return PyLong_FromLong(rc);
}

static PyObject *py_unmount_segment(PyObject *obj, PyObject *args, PyObject *kw)
{
    return unmount_common(obj, args, kw, false);
}

static PyObject *py_unmount_and_free(PyObject *obj, PyObject *args, PyObject *kw)
{
    return unmount_common(obj, args, kw, true);
}

static PyObject *task_result(mooncake_uuid_t id, int rc)
{
    if (rc != 0)
        id = (mooncake_uuid_t){0, 0};
    return Py_BuildValue("((KK)i)", (unsigned long long)id.hi, (unsigned long long)id.lo, rc);
}

static PyObject *py_create_copy_task(PyObject *obj, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"key", "targets", NULL};
    PyObject *keyo, *seq;
    const char *key;
    size_t klen;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO:create_copy_task", kwlist, &keyo, &seq) ||
        !mc_py_key(keyo, &key, &klen))
        return NULL;
    PyObject *fast = mc_py_fast(seq, "targets");
    if (!fast)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    const char **tg = calloc(n ? (size_t)n : 1, sizeof *tg);
    if (!tg) {
        Py_DECREF(fast);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *it = PySequence_Fast_GET_ITEM(fast, i);
        tg[i] = PyUnicode_Check(it) ? PyUnicode_AsUTF8(it) : NULL;
        if (!tg[i]) {
            free(tg);
            Py_DECREF(fast);
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "targets: expected a list of str");
            return NULL;
        }
    }
    mooncake_uuid_t id = {0, 0};
    int rc;
    MC_PY_CALL((mc_py_store_t *)obj, s, rc = mooncake_store_create_copy_task(s, key, klen, tg, (size_t)n, &id));
    free(tg);
    Py_DECREF(fast);
    return task_result(id, rc);
}

static PyObject *py_create_move_task(PyObject *obj, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"key", "source", "target", NULL};
    PyObject *keyo;
    const char *key, *src, *tgt;
    size_t klen;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "Oss:create_move_task", kwlist, &keyo, &src, &tgt) ||
        !mc_py_key(keyo, &key, &klen))
        return NULL;
    mooncake_uuid_t id = {0, 0};
    int rc;
    MC_PY_CALL((mc_py_store_t *)obj, s, rc = mooncake_store_create_move_task(s, key, klen, src, tgt, &id));
    return task_result(id, rc);
}

/* _query_task((hi, lo)) -> ((id, type, status, created, updated, assigned, message) | None, code) */
static PyObject *py_query_task(PyObject *obj, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"task_id", NULL};
    PyObject *t;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O!:query_task", kwlist, &PyTuple_Type, &t))
        return NULL;
    uint64_t hi, lo;
    if (PyTuple_GET_SIZE(t) != 2 || !mc_py_u64(PyTuple_GET_ITEM(t, 0), &hi) || !mc_py_u64(PyTuple_GET_ITEM(t, 1), &lo)) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "task_id: expected a (int, int) tuple");
        return NULL;
    }
    mooncake_task_info_t info;
    int rc;
    MC_PY_CALL((mc_py_store_t *)obj, s, rc = mooncake_store_query_task(s, (mooncake_uuid_t){hi, lo}, &info));
    if (rc != 0)
        return Py_BuildValue("(Oi)", Py_None, rc);
    return Py_BuildValue("((KK)iiKK(KK)s)i", (unsigned long long)info.id.hi, (unsigned long long)info.id.lo,
                         info.type, info.status, (unsigned long long)info.created_at_ms,
                         (unsigned long long)info.last_updated_at_ms, (unsigned long long)info.assigned_client.hi,
                         (unsigned long long)info.assigned_client.lo, info.message, rc);
}

static PyObject *py_batch_replica_clear(PyObject *obj, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"keys", "segment_name", NULL};
    PyObject *keyso;
    const char *seg = "";
    mc_py_keys_t k;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|s:batch_replica_clear", kwlist, &keyso, &seg) ||
        !mc_py_keys(keyso, &k))
        return NULL;
    bool *cleared = calloc(k.n ? k.n : 1, sizeof *cleared);
    PyObject *out = cleared ? PyList_New(0) : PyErr_NoMemory();
    if (out) {
        int rc;
        MC_PY_CALL((mc_py_store_t *)obj, s, rc = mooncake_store_batch_replica_clear(s, k.n, k.p, k.len, seg, cleared));
        for (size_t i = 0; rc > 0 && i < k.n; i++) {
            if (cleared[i] && PyList_Append(out, PySequence_Fast_GET_ITEM(k.fast, i)) != 0) {
                Py_CLEAR(out);
                break;
            }
        }
    }
    free(cleared);
    mc_py_keys_free(&k);
    return out;
}

PyMethodDef mc_py_store_task_methods[] = {
    {"mount_segment", KW(py_mount_segment),
     "mount_segment(path, size, offset=0, protocol='tcp', location='') -> {'ret', 'segment_ids'}"},
    {"allocate_and_mount_segment", KW(py_allocate_and_mount),
     "allocate_and_mount_segment(size, protocol='tcp', location='') -> {'ret', 'segment_ids', 'allocated_size'}"},
    {"unmount_segment", KW(py_unmount_segment), "unmount_segment(segment_ids, grace_period_seconds=0) -> int"},
    {"unmount_and_free_segment", KW(py_unmount_and_free),
     "unmount_and_free_segment(segment_ids, grace_period_seconds=0) -> int"},
    {"create_copy_task", KW(py_create_copy_task), "create_copy_task(key, targets) -> ((hi, lo), code)"},
    {"create_move_task", KW(py_create_move_task), "create_move_task(key, source, target) -> ((hi, lo), code)"},
    {"_query_task", KW(py_query_task), "raw form of query_task"},
    {"batch_replica_clear", KW(py_batch_replica_clear),
     "batch_replica_clear(keys, segment_name='') -> list of cleared keys"},
    {NULL, NULL, 0, NULL},
};
