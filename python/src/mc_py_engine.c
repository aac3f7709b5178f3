/* mooncake._engine: TransferEngine over libmooncake's transfer-engine
 * handle (api/include/mooncake/transfer_engine.h). mooncake/engine.py adds
 * TransferOpcode and TransferNotify and re-exports it as mooncake.engine.
 *
 * Upstream's surface (shared/spec/transfer.md §11): addresses are ints,
 * results are upstream's ints (0/-1, batch ids, ERR_* codes); only wrong
 * argument types raise (TypeError). Every call that waits on the engine
 * releases the GIL. Calls take the object's lock shared; initialize takes
 * it exclusively, so it cannot race with a running call. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mooncake/transfer_engine.h"

typedef struct py_engine {
    PyObject_HEAD
    mooncake_te_t *te;
    pthread_rwlock_t lk;
} py_engine_t;

/* Run stmt without the GIL, holding the engine lock shared. */
#define NOGIL(self, stmt)                    \
    do {                                     \
        Py_BEGIN_ALLOW_THREADS               \
        pthread_rwlock_rdlock(&(self)->lk);  \
        stmt;                                \
        pthread_rwlock_unlock(&(self)->lk);  \
        Py_END_ALLOW_THREADS                 \
    } while (0)

/* ---- arguments ---- */

static int conv_u64(PyObject *obj, void *out)
{
    if (!PyLong_Check(obj) || PyBool_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "expected a non-negative int, not %.100s", Py_TYPE(obj)->tp_name);
        return 0;
    }
    unsigned long long v = PyLong_AsUnsignedLongLong(obj);
    if (v == (unsigned long long)-1 && PyErr_Occurred()) {
        PyErr_Clear();
        PyErr_SetString(PyExc_TypeError, "expected an int in [0, 2**64)");
        return 0;
    }
    *(uint64_t *)out = v;
    return 1;
}

/* A list/tuple of non-negative ints -> malloc'd u64 array. */
static bool u64_list(PyObject *obj, const char *what, uint64_t **out, Py_ssize_t *n)
{
    PyObject *seq = PySequence_Fast(obj, "expected a list of ints");
    if (!seq) {
        PyErr_Format(PyExc_TypeError, "%s: expected a list of ints", what);
        return false;
    }
    Py_ssize_t len = PySequence_Fast_GET_SIZE(seq);
    uint64_t *v = PyMem_Malloc((size_t)(len ? len : 1) * sizeof *v);
    if (!v) {
        Py_DECREF(seq);
        PyErr_NoMemory();
        return false;
    }
    for (Py_ssize_t i = 0; i < len; i++) {
        if (!conv_u64(PySequence_Fast_GET_ITEM(seq, i), &v[i])) {
            PyMem_Free(v);
            Py_DECREF(seq);
            return false;
        }
    }
    Py_DECREF(seq);
    *out = v;
    *n = len;
    return true;
}

_Static_assert(sizeof(uint64_t) == sizeof(uintptr_t) && sizeof(uint64_t) == sizeof(size_t),
               "64-bit addresses and lengths");

/* Opcode: int (TransferOpcode is an IntEnum); -1 for anything else. */
static int opcode_of(PyObject *o)
{
    if (!PyLong_Check(o) || PyBool_Check(o))
        return -1;
    long v = PyLong_AsLong(o);
    if (v == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return -1;
    }
    return v == MOONCAKE_TE_READ || v == MOONCAKE_TE_WRITE ? (int)v : -1;
}

/* Notify: None or an object with str attributes name and msg. The
 * strings are copied (the GIL is released while they are used). */
typedef struct notify_arg {
    bool set;
    char *name, *msg;
    mooncake_te_notify_t n;
} notify_arg_t;

static char *attr_str(PyObject *o, const char *attr)
{
    PyObject *v = PyObject_GetAttrString(o, attr);
    if (!v)
        return NULL;
    const char *s = PyUnicode_Check(v) ? PyUnicode_AsUTF8(v) : NULL;
    char *copy = s ? strdup(s) : NULL;
    if (!s && !PyErr_Occurred())
        PyErr_Format(PyExc_TypeError, "TransferNotify.%s must be a str", attr);
    Py_DECREF(v);
    return copy;
}

static bool notify_parse(PyObject *o, notify_arg_t *out)
{
    memset(out, 0, sizeof *out);
    if (!o || o == Py_None)
        return true;
    out->name = attr_str(o, "name");
    out->msg = out->name ? attr_str(o, "msg") : NULL;
    if (!out->name || !out->msg) {
        free(out->name);
        free(out->msg);
        if (!PyErr_Occurred())
            PyErr_NoMemory();
        return false;
    }
    out->set = true;
    out->n.name = out->name;
    out->n.msg = out->msg;
    return true;
}

static void notify_free(notify_arg_t *a)
{
    free(a->name);
    free(a->msg);
}

/* ---- object ---- */

static PyObject *eng_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    py_engine_t *self = (py_engine_t *)type->tp_alloc(type, 0);
    if (!self)
        return NULL;
    self->te = mooncake_te_new();
    if (!self->te) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    pthread_rwlock_init(&self->lk, NULL);
    return (PyObject *)self;
}

static void eng_dealloc(PyObject *o)
{
    py_engine_t *self = (py_engine_t *)o;
    if (self->te) {
        mooncake_te_t *te = self->te;
        self->te = NULL;
        Py_BEGIN_ALLOW_THREADS
        mooncake_te_destroy(te);
        Py_END_ALLOW_THREADS
        pthread_rwlock_destroy(&self->lk);
    }
    Py_TYPE(o)->tp_free(o);
}

static PyObject *eng_initialize_ext(PyObject *o, PyObject *args, PyObject *kw)
{
    py_engine_t *self = (py_engine_t *)o;
    static char *kws[] = {"local_hostname", "metadata_server", "protocol", "device_name", "metadata_type", NULL};
    const char *host, *meta, *proto, *dev = "", *type = "etcd";
    if (!PyArg_ParseTupleAndKeywords(args, kw, "sss|zs:initialize_ext", kws, &host, &meta, &proto, &dev, &type))
        return NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    pthread_rwlock_wrlock(&self->lk);
    rc = mooncake_te_initialize_ext(self->te, host, meta, proto, dev, type);
    pthread_rwlock_unlock(&self->lk);
    Py_END_ALLOW_THREADS
    if (rc != 0)
        PySys_WriteStderr("TransferEngine.initialize: %s\n", mooncake_te_last_error());
    return PyLong_FromLong(rc);
}

static PyObject *eng_initialize(PyObject *o, PyObject *args, PyObject *kw)
{
    static char *kws[] = {"local_hostname", "metadata_server", "protocol", "device_name", NULL};
    const char *host, *meta, *proto, *dev = "";
    if (!PyArg_ParseTupleAndKeywords(args, kw, "sss|z:initialize", kws, &host, &meta, &proto, &dev))
        return NULL;
    PyObject *a = Py_BuildValue("(sssz)", host, meta, proto, dev);
    if (!a)
        return NULL;
    PyObject *r = eng_initialize_ext(o, a, NULL);
    Py_DECREF(a);
    return r;
}

static PyObject *eng_get_rpc_port(PyObject *o, PyObject *unused)
{
    py_engine_t *self = (py_engine_t *)o;
    return PyLong_FromLong(mooncake_te_get_rpc_port(self->te));
}

static PyObject *eng_last_error(PyObject *o, PyObject *unused)
{
    return PyUnicode_FromString(mooncake_te_last_error());
}

/* ---- buffers ---- */

static PyObject *eng_allocate_managed_buffer(PyObject *o, PyObject *args)
{
    py_engine_t *self = (py_engine_t *)o;
    uint64_t len, addr;
    if (!PyArg_ParseTuple(args, "O&:allocate_managed_buffer", conv_u64, &len))
        return NULL;
    NOGIL(self, addr = mooncake_te_allocate_managed_buffer(self->te, len));
    return PyLong_FromUnsignedLongLong(addr);
}

static PyObject *eng_free_managed_buffer(PyObject *o, PyObject *args)
{
    py_engine_t *self = (py_engine_t *)o;
    uint64_t addr, len;
    int rc;
    if (!PyArg_ParseTuple(args, "O&O&:free_managed_buffer", conv_u64, &addr, conv_u64, &len))
        return NULL;
    NOGIL(self, rc = mooncake_te_free_managed_buffer(self->te, addr, len));
    return PyLong_FromLong(rc);
}

static PyObject *eng_write_bytes_to_buffer(PyObject *o, PyObject *args)
{
    py_engine_t *self = (py_engine_t *)o;
    uint64_t dest, len;
    Py_buffer src;
    int rc;
    if (!PyArg_ParseTuple(args, "O&y*O&:write_bytes_to_buffer", conv_u64, &dest, &src, conv_u64, &len))
        return NULL;
    if (len > (uint64_t)src.len) { /* upstream would read past the bytes object */
        PyBuffer_Release(&src);
        return PyLong_FromLong(-1);
    }
    NOGIL(self, rc = mooncake_te_write_bytes_to_buffer(self->te, dest, src.buf, len));
    PyBuffer_Release(&src);
    return PyLong_FromLong(rc);
}

static PyObject *eng_read_bytes_from_buffer(PyObject *o, PyObject *args)
{
    py_engine_t *self = (py_engine_t *)o;
    uint64_t src, len;
    int rc;
    if (!PyArg_ParseTuple(args, "O&O&:read_bytes_from_buffer", conv_u64, &src, conv_u64, &len))
        return NULL;
    if (len > PY_SSIZE_T_MAX) {
        PyErr_SetString(PyExc_ValueError, "read_bytes_from_buffer: length too large");
        return NULL;
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)len);
    if (!out)
        return NULL;
    char *dst = PyBytes_AS_STRING(out);
    NOGIL(self, rc = mooncake_te_read_bytes_from_buffer(self->te, src, dst, len));
    if (rc != 0) {
        Py_DECREF(out);
        PyErr_SetString(PyExc_ValueError, mooncake_te_last_error());
        return NULL;
    }
    return out;
}

static PyObject *eng_register_memory(PyObject *o, PyObject *args, PyObject *kw)
{
    py_engine_t *self = (py_engine_t *)o;
    static char *kws[] = {"buffer_addr", "capacity", "location", NULL};
    uint64_t addr, cap;
    const char *loc = "*";
    int rc;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&O&|s:register_memory", kws, conv_u64, &addr, conv_u64, &cap,
                                     &loc))
        return NULL;
    NOGIL(self, rc = mooncake_te_register_memory(self->te, addr, cap, loc));
    return PyLong_FromLong(rc);
}

static PyObject *eng_unregister_memory(PyObject *o, PyObject *args)
{
    py_engine_t *self = (py_engine_t *)o;
    uint64_t addr;
    int rc;
    if (!PyArg_ParseTuple(args, "O&:unregister_memory", conv_u64, &addr))
        return NULL;
    NOGIL(self, rc = mooncake_te_unregister_memory(self->te, addr));
    return PyLong_FromLong(rc);
}

static PyObject *eng_batch_register_memory(PyObject *o, PyObject *args, PyObject *kw)
{
    py_engine_t *self = (py_engine_t *)o;
    static char *kws[] = {"buffer_addresses", "capacities", "location", NULL};
    PyObject *la, *lc;
    const char *loc = "*";
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|s:batch_register_memory", kws, &la, &lc, &loc))
        return NULL;
    uint64_t *a = NULL, *c = NULL;
    Py_ssize_t na, nc;
    if (!u64_list(la, "buffer_addresses", &a, &na))
        return NULL;
    if (!u64_list(lc, "capacities", &c, &nc)) {
        PyMem_Free(a);
        return NULL;
    }
    int rc = MOONCAKE_TE_ERR_INVALID_ARGUMENT;
    if (na == nc)
        NOGIL(self, rc = mooncake_te_batch_register_memory(self->te, (const uintptr_t *)a, (const size_t *)c,
                                                           (size_t)na, loc));
    PyMem_Free(a);
    PyMem_Free(c);
    return PyLong_FromLong(rc);
}

static PyObject *eng_batch_unregister_memory(PyObject *o, PyObject *args)
{
    py_engine_t *self = (py_engine_t *)o;
    PyObject *la;
    if (!PyArg_ParseTuple(args, "O:batch_unregister_memory", &la))
        return NULL;
    uint64_t *a;
    Py_ssize_t na;
    int rc;
    if (!u64_list(la, "buffer_addresses", &a, &na))
        return NULL;
    NOGIL(self, rc = mooncake_te_batch_unregister_memory(self->te, (const uintptr_t *)a, (size_t)na));
    PyMem_Free(a);
    return PyLong_FromLong(rc);
}

/* ---- transfers ---- */

/* transfer_sync(target, buffer, peer_addr, length, opcode, notify=None, transport_hint="") */
static PyObject *xfer_one(py_engine_t *self, PyObject *args, PyObject *kw, int fixed_op, bool submit_only)
{
    static char *kws_op[] = {"target_hostname", "buffer", "peer_buffer_address", "length", "opcode", "notify",
                             "transport_hint", NULL};
    static char *kws[] = {"target_hostname", "buffer", "peer_buffer_address", "length", "transport_hint", NULL};
    const char *target, *hint = "";
    uint64_t buf, peer, len;
    PyObject *opo = NULL, *no = NULL;
    if (fixed_op < 0) {
        if (!PyArg_ParseTupleAndKeywords(args, kw, "sO&O&O&O|Os:transfer_sync", kws_op, &target, conv_u64, &buf,
                                         conv_u64, &peer, conv_u64, &len, &opo, &no, &hint))
            return NULL;
    } else if (!PyArg_ParseTupleAndKeywords(args, kw, "sO&O&O&|s:transfer", kws, &target, conv_u64, &buf, conv_u64,
                                            &peer, conv_u64, &len, &hint)) {
        return NULL;
    }
    (void)hint; /* TENT-only upstream */
    int op = fixed_op >= 0 ? fixed_op : opcode_of(opo);
    notify_arg_t na;
    if (!notify_parse(no, &na))
        return NULL;
    PyObject *res;
    if (submit_only) {
        uint64_t id;
        NOGIL(self, id = mooncake_te_transfer_submit_write(self->te, target, buf, peer, len));
        res = PyLong_FromUnsignedLongLong(id);
    } else {
        int rc;
        NOGIL(self, rc = mooncake_te_transfer_sync(self->te, target, buf, peer, len, op, na.set ? &na.n : NULL));
        res = PyLong_FromLong(rc);
    }
    notify_free(&na);
    return res;
}

static PyObject *eng_transfer_sync(PyObject *o, PyObject *a, PyObject *k) { return xfer_one((py_engine_t *)o, a, k, -1, false); }
static PyObject *eng_transfer_sync_write(PyObject *o, PyObject *a, PyObject *k)
{
    return xfer_one((py_engine_t *)o, a, k, MOONCAKE_TE_WRITE, false);
}
static PyObject *eng_transfer_sync_read(PyObject *o, PyObject *a, PyObject *k)
{
    return xfer_one((py_engine_t *)o, a, k, MOONCAKE_TE_READ, false);
}
static PyObject *eng_transfer_submit_write(PyObject *o, PyObject *a, PyObject *k)
{
    return xfer_one((py_engine_t *)o, a, k, MOONCAKE_TE_WRITE, true);
}

/* batch_transfer_sync(target, buffers, peer_addrs, lengths, opcode, notify=None, transport_hint="")
 * and the async form (no notify). */
static PyObject *xfer_batch(py_engine_t *self, PyObject *args, PyObject *kw, int fixed_op, bool async)
{
    static char *kws_op[] = {"target_hostname", "buffers", "peer_buffer_addresses", "lengths", "opcode", "notify",
                             "transport_hint", NULL};
    static char *kws_async_op[] = {"target_hostname", "buffers", "peer_buffer_addresses", "lengths", "opcode",
                                   "transport_hint", NULL};
    static char *kws[] = {"target_hostname", "buffers", "peer_buffer_addresses", "lengths", "transport_hint", NULL};
    const char *target, *hint = "";
    PyObject *lb, *lp, *ll, *opo = NULL, *no = NULL;
    bool ok;
    if (fixed_op >= 0)
        ok = PyArg_ParseTupleAndKeywords(args, kw, "sOOO|s:batch_transfer", kws, &target, &lb, &lp, &ll, &hint);
    else if (async)
        ok = PyArg_ParseTupleAndKeywords(args, kw, "sOOOO|s:batch_transfer_async", kws_async_op, &target, &lb, &lp,
                                         &ll, &opo, &hint);
    else
        ok = PyArg_ParseTupleAndKeywords(args, kw, "sOOOO|Os:batch_transfer_sync", kws_op, &target, &lb, &lp, &ll,
                                         &opo, &no, &hint);
    if (!ok)
        return NULL;
    (void)hint;
    int op = fixed_op >= 0 ? fixed_op : opcode_of(opo);
    uint64_t *b = NULL, *p = NULL, *l = NULL;
    Py_ssize_t nb = 0, np = 0, nl = 0;
    notify_arg_t na = {0};
    PyObject *res = NULL;
    if (!u64_list(lb, "buffers", &b, &nb) || !u64_list(lp, "peer_buffer_addresses", &p, &np) ||
        !u64_list(ll, "lengths", &l, &nl) || !notify_parse(no, &na))
        goto out;
    if (nb != np || nb != nl) { /* upstream: -1 (async: 0) on length mismatch */
        res = PyLong_FromLong(async ? 0 : -1);
        goto out;
    }
    if (async) {
        uint64_t id;
        NOGIL(self, id = mooncake_te_batch_transfer_async(self->te, target, (const uintptr_t *)b,
                                                          (const uintptr_t *)p, (const size_t *)l, (size_t)nb, op));
        res = PyLong_FromUnsignedLongLong(id);
    } else {
        int rc;
        NOGIL(self, rc = mooncake_te_batch_transfer_sync(self->te, target, (const uintptr_t *)b, (const uintptr_t *)p,
                                                         (const size_t *)l, (size_t)nb, op, na.set ? &na.n : NULL));
        res = PyLong_FromLong(rc);
    }
out:
    PyMem_Free(b);
    PyMem_Free(p);
    PyMem_Free(l);
    notify_free(&na);
    return res;
}

static PyObject *eng_batch_sync(PyObject *o, PyObject *a, PyObject *k) { return xfer_batch((py_engine_t *)o, a, k, -1, false); }
static PyObject *eng_batch_sync_write(PyObject *o, PyObject *a, PyObject *k)
{
    return xfer_batch((py_engine_t *)o, a, k, MOONCAKE_TE_WRITE, false);
}
static PyObject *eng_batch_sync_read(PyObject *o, PyObject *a, PyObject *k)
{
    return xfer_batch((py_engine_t *)o, a, k, MOONCAKE_TE_READ, false);
}
static PyObject *eng_batch_async(PyObject *o, PyObject *a, PyObject *k) { return xfer_batch((py_engine_t *)o, a, k, -1, true); }
static PyObject *eng_batch_async_write(PyObject *o, PyObject *a, PyObject *k)
{
    return xfer_batch((py_engine_t *)o, a, k, MOONCAKE_TE_WRITE, true);
}
static PyObject *eng_batch_async_read(PyObject *o, PyObject *a, PyObject *k)
{
    return xfer_batch((py_engine_t *)o, a, k, MOONCAKE_TE_READ, true);
}

static PyObject *eng_transfer_check_status(PyObject *o, PyObject *args)
{
    py_engine_t *self = (py_engine_t *)o;
    uint64_t id;
    int rc;
    if (!PyArg_ParseTuple(args, "O&:transfer_check_status", conv_u64, &id))
        return NULL;
    NOGIL(self, rc = mooncake_te_transfer_check_status(self->te, id));
    return PyLong_FromLong(rc);
}

static PyObject *eng_get_batch_transfer_status(PyObject *o, PyObject *args)
{
    py_engine_t *self = (py_engine_t *)o;
    PyObject *l;
    if (!PyArg_ParseTuple(args, "O:get_batch_transfer_status", &l))
        return NULL;
    uint64_t *ids;
    Py_ssize_t n;
    int rc;
    if (!u64_list(l, "batch_ids", &ids, &n))
        return NULL;
    NOGIL(self, rc = mooncake_te_get_batch_transfer_status(self->te, ids, (size_t)n));
    PyMem_Free(ids);
    return PyLong_FromLong(rc);
}

/* ---- segments, topology, notifications ---- */

static PyObject *eng_get_first_buffer_address(PyObject *o, PyObject *args)
{
    py_engine_t *self = (py_engine_t *)o;
    const char *name;
    uint64_t addr;
    if (!PyArg_ParseTuple(args, "s:get_first_buffer_address", &name))
        return NULL;
    NOGIL(self, addr = mooncake_te_get_first_buffer_address(self->te, name));
    return PyLong_FromUnsignedLongLong(addr);
}

static PyObject *eng_get_local_topology(PyObject *o, PyObject *args, PyObject *kw)
{
    py_engine_t *self = (py_engine_t *)o;
    static char *kws[] = {"device_name", NULL};
    const char *dev = NULL;
    char *json;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|z:get_local_topology", kws, &dev))
        return NULL;
    NOGIL(self, json = mooncake_te_get_local_topology(self->te, dev));
    if (!json)
        return PyErr_NoMemory();
    PyObject *r = PyUnicode_FromString(json);
    mooncake_free(json);
    return r;
}

static PyObject *notify_type; /* mooncake.engine.TransferNotify, set by engine.py */

static PyObject *eng_get_notifies(PyObject *o, PyObject *unused)
{
    py_engine_t *self = (py_engine_t *)o;
    mooncake_te_notify_t *v;
    size_t n;
    NOGIL(self, n = mooncake_te_get_notifies(self->te, &v));
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) {
        PyObject *item = notify_type ? PyObject_CallFunction(notify_type, "ss", v[i].name, v[i].msg)
                                     : Py_BuildValue("(ss)", v[i].name, v[i].msg);
        if (!item) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, item);
    }
    mooncake_te_notifies_free(v, n);
    return list;
}

static PyObject *eng_send_notify(PyObject *o, PyObject *args)
{
    py_engine_t *self = (py_engine_t *)o;
    const char *target;
    PyObject *no;
    int rc;
    if (!PyArg_ParseTuple(args, "sO:send_notify", &target, &no))
        return NULL;
    notify_arg_t na;
    if (!notify_parse(no, &na))
        return NULL;
    NOGIL(self, rc = na.set ? mooncake_te_send_notify(self->te, target, &na.n) : -1);
    notify_free(&na);
    return PyLong_FromLong(rc);
}

static PyObject *eng_send_probe(PyObject *o, PyObject *args)
{
    py_engine_t *self = (py_engine_t *)o;
    const char *name;
    int rc;
    if (!PyArg_ParseTuple(args, "s:send_probe", &name))
        return NULL;
    NOGIL(self, rc = mooncake_te_send_probe(self->te, name));
    return PyLong_FromLong(rc);
}

static PyObject *eng_warmup_efa_segment(PyObject *o, PyObject *args)
{
    const char *name;
    if (!PyArg_ParseTuple(args, "s:warmup_efa_segment", &name))
        return NULL;
    return PyLong_FromLong(0); /* upstream: EFA builds only, 0 elsewhere */
}

#define KW (PyCFunction)(void (*)(void))
static PyMethodDef eng_methods[] = {
    {"initialize", KW eng_initialize, METH_VARARGS | METH_KEYWORDS,
     "initialize(local_hostname, metadata_server, protocol, device_name) -> 0 / -1"},
    {"initialize_ext", KW eng_initialize_ext, METH_VARARGS | METH_KEYWORDS,
     "initialize_ext(local_hostname, metadata_server, protocol, device_name, metadata_type) -> 0 / -1"},
    {"get_rpc_port", eng_get_rpc_port, METH_NOARGS, "get_rpc_port() -> int"},
    {"last_error", eng_last_error, METH_NOARGS, "last_error() -> why the last failing call of this thread failed"},
    {"allocate_managed_buffer", eng_allocate_managed_buffer, METH_VARARGS, "allocate_managed_buffer(length) -> addr / 0"},
    {"free_managed_buffer", eng_free_managed_buffer, METH_VARARGS, "free_managed_buffer(addr, length) -> 0 / -1"},
    {"write_bytes_to_buffer", eng_write_bytes_to_buffer, METH_VARARGS,
     "write_bytes_to_buffer(dest_address, src, length) -> 0 / -1"},
    {"read_bytes_from_buffer", eng_read_bytes_from_buffer, METH_VARARGS,
     "read_bytes_from_buffer(source_address, length) -> bytes"},
    {"register_memory", KW eng_register_memory, METH_VARARGS | METH_KEYWORDS,
     "register_memory(buffer_addr, capacity, location='*') -> 0 / ERR_*"},
    {"unregister_memory", eng_unregister_memory, METH_VARARGS, "unregister_memory(buffer_addr) -> 0 / ERR_*"},
    {"batch_register_memory", KW eng_batch_register_memory, METH_VARARGS | METH_KEYWORDS,
     "batch_register_memory(buffer_addresses, capacities, location='*') -> 0 / ERR_*"},
    {"batch_unregister_memory", eng_batch_unregister_memory, METH_VARARGS,
     "batch_unregister_memory(buffer_addresses) -> 0 / ERR_*"},
    {"transfer_sync", KW eng_transfer_sync, METH_VARARGS | METH_KEYWORDS,
     "transfer_sync(target_hostname, buffer, peer_buffer_address, length, opcode, notify=None, transport_hint='')"},
    {"transfer_sync_write", KW eng_transfer_sync_write, METH_VARARGS | METH_KEYWORDS,
     "transfer_sync_write(target_hostname, buffer, peer_buffer_address, length, transport_hint='') -> 0 / -1"},
    {"transfer_sync_read", KW eng_transfer_sync_read, METH_VARARGS | METH_KEYWORDS,
     "transfer_sync_read(target_hostname, buffer, peer_buffer_address, length, transport_hint='') -> 0 / -1"},
    {"transfer_submit_write", KW eng_transfer_submit_write, METH_VARARGS | METH_KEYWORDS,
     "transfer_submit_write(target_hostname, buffer, peer_buffer_address, length, transport_hint='') -> batch_id / 0"},
    {"transfer_check_status", eng_transfer_check_status, METH_VARARGS,
     "transfer_check_status(batch_id) -> 1 done, 0 running, -1 failed, -2 timeout"},
    {"batch_transfer_sync", KW eng_batch_sync, METH_VARARGS | METH_KEYWORDS,
     "batch_transfer_sync(target_hostname, buffers, peer_buffer_addresses, lengths, opcode, notify=None, "
     "transport_hint='') -> 0 / -1"},
    {"batch_transfer_sync_write", KW eng_batch_sync_write, METH_VARARGS | METH_KEYWORDS,
     "batch_transfer_sync_write(target_hostname, buffers, peer_buffer_addresses, lengths) -> 0 / -1"},
    {"batch_transfer_sync_read", KW eng_batch_sync_read, METH_VARARGS | METH_KEYWORDS,
     "batch_transfer_sync_read(target_hostname, buffers, peer_buffer_addresses, lengths) -> 0 / -1"},
    {"batch_transfer_async", KW eng_batch_async, METH_VARARGS | METH_KEYWORDS,
     "batch_transfer_async(target_hostname, buffers, peer_buffer_addresses, lengths, opcode) -> batch_id / 0"},
    {"batch_transfer_async_write", KW eng_batch_async_write, METH_VARARGS | METH_KEYWORDS,
     "batch_transfer_async_write(target_hostname, buffers, peer_buffer_addresses, lengths) -> batch_id / 0"},
    {"batch_transfer_async_read", KW eng_batch_async_read, METH_VARARGS | METH_KEYWORDS,
     "batch_transfer_async_read(target_hostname, buffers, peer_buffer_addresses, lengths) -> batch_id / 0"},
    {"get_batch_transfer_status", eng_get_batch_transfer_status, METH_VARARGS,
     "get_batch_transfer_status(batch_ids) -> 0 / -1 (waits; frees the batches)"},
    {"get_first_buffer_address", eng_get_first_buffer_address, METH_VARARGS,
     "get_first_buffer_address(segment_name) -> addr / 0"},
    {"get_local_topology", KW eng_get_local_topology, METH_VARARGS | METH_KEYWORDS,
     "get_local_topology(device_name=None) -> JSON str"},
    {"get_notifies", eng_get_notifies, METH_NOARGS, "get_notifies() -> list[TransferNotify]"},
    {"send_notify", eng_send_notify, METH_VARARGS, "send_notify(target_hostname, notify) -> 0 / -1"},
    {"send_probe", eng_send_probe, METH_VARARGS, "send_probe(peer_server_name) -> 0 / -1"},
    {"warmup_efa_segment", eng_warmup_efa_segment, METH_VARARGS, "warmup_efa_segment(segment_name) -> 0"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject engine_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "mooncake.engine.TransferEngine",
    .tp_basicsize = sizeof(py_engine_t),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "TransferEngine(): moves bytes between registered memory of processes (upstream mooncake.engine).",
    .tp_new = eng_new,
    .tp_dealloc = eng_dealloc,
    .tp_methods = eng_methods,
};

static PyObject *mod_set_notify_type(PyObject *mod, PyObject *t)
{
    Py_XINCREF(t);
    Py_XSETREF(notify_type, t);
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"_set_notify_type", mod_set_notify_type, METH_O, "internal: the class get_notifies() returns"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "mooncake._engine",
    .m_doc = "C extension of mooncake.engine (import mooncake.engine instead).",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__engine(void);
PyMODINIT_FUNC PyInit__engine(void)
{
    if (PyType_Ready(&engine_type) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module_def);
    if (!m)
        return NULL;
    Py_INCREF(&engine_type);
    if (PyModule_AddObject(m, "TransferEngine", (PyObject *)&engine_type) < 0) {
        Py_DECREF(&engine_type);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
