/* mooncake._ep: the EP rank and coordinator of libmooncake
 * (api/include/mooncake/ep.h) for mooncake/ep.py, which adds the
 * upstream-shaped surface (process group, Buffer) over numpy arrays and
 * torch CPU tensors.
 *
 * Data arguments are buffer-protocol objects (C-contiguous numpy arrays,
 * torch tensors via .numpy()); their byte sizes are checked against what
 * the call reads or writes. Calls return the library's int codes (and the
 * final set mask); ep.py raises. Every waiting call releases the GIL and
 * holds the object's lock shared; close() takes it exclusively. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "mooncake/ep.h"

typedef struct {
    PyObject_HEAD
    mooncake_ep_t *h;
    uint32_t world;
    pthread_rwlock_t lk;
} py_rank_t;

typedef struct {
    PyObject_HEAD
    mooncake_ep_coord_t *c;
    char addr[300];
} py_coord_t;

#define NOGIL(self, stmt)                                                                                              \
    do {                                                                                                               \
        Py_BEGIN_ALLOW_THREADS pthread_rwlock_rdlock(&(self)->lk);                                                     \
        stmt;                                                                                                          \
        pthread_rwlock_unlock(&(self)->lk);                                                                            \
        Py_END_ALLOW_THREADS                                                                                           \
    } while (0)

static size_t dtype_size(int dt) { return dt == MOONCAKE_EP_FLOAT32 || dt == MOONCAKE_EP_INT32 ? 4 : 8; }

static bool live(py_rank_t *self)
{
    if (!self->h) {
        PyErr_SetString(PyExc_RuntimeError, "rank is closed");
        return false;
    }
    return true;
}

/* The buffer holds at least need bytes (ValueError otherwise). */
static bool fits(Py_buffer *b, size_t need, const char *what)
{
    if ((size_t)b->len < need) {
        PyErr_Format(PyExc_ValueError, "%s: %zd bytes, need %zu", what, b->len, need);
        return false;
    }
    return true;
}

static PyObject *rc_set(int rc, uint64_t set) { return Py_BuildValue("iK", rc, (unsigned long long)set); }

/* ---- Rank ---- */

static int rank_init(py_rank_t *self, PyObject *args, PyObject *kw)
{
    static char *kwl[] = {"rank", "world", "coordinator", "listen_host", "slot_bytes", NULL};
    unsigned rank, world;
    const char *coord, *host = "127.0.0.1";
    Py_ssize_t slot = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "IIs|sn", kwl, &rank, &world, &coord, &host, &slot))
        return -1;
    if (self->h) {
        PyErr_SetString(PyExc_RuntimeError, "rank already created");
        return -1;
    }
    if (slot < 0) {
        PyErr_SetString(PyExc_ValueError, "slot_bytes must be >= 0");
        return -1;
    }
    mooncake_ep_t *h;
    Py_BEGIN_ALLOW_THREADS h = mooncake_ep_create(rank, world, coord, host, (size_t)slot);
    Py_END_ALLOW_THREADS if (!h)
    {
        PyErr_Format(PyExc_RuntimeError, "ep rank: %s", mooncake_ep_last_error());
        return -1;
    }
    self->h = h;
    self->world = world;
    return 0;
}

static PyObject *rank_new(PyTypeObject *t, PyObject *a, PyObject *k)
{
    (void)a, (void)k;
    py_rank_t *self = (py_rank_t *)t->tp_alloc(t, 0);
    if (self)
        pthread_rwlock_init(&self->lk, NULL);
    return (PyObject *)self;
}

static PyObject *rank_close(py_rank_t *self, PyObject *unused)
{
    (void)unused;
    Py_BEGIN_ALLOW_THREADS pthread_rwlock_wrlock(&self->lk);
    mooncake_ep_destroy(self->h);
    self->h = NULL;
    pthread_rwlock_unlock(&self->lk);
    Py_END_ALLOW_THREADS Py_RETURN_NONE;
}

static void rank_dealloc(py_rank_t *self)
{
    if (self->h)
        mooncake_ep_destroy(self->h);
    pthread_rwlock_destroy(&self->lk);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *rank_wait_active(py_rank_t *self, PyObject *args)
{
    unsigned ms;
    int rc;
    if (!PyArg_ParseTuple(args, "I", &ms) || !live(self))
        return NULL;
    NOGIL(self, rc = self->h ? mooncake_ep_wait_active(self->h, ms) : MOONCAKE_EP_ERR_INTERNAL);
    return PyLong_FromLong(rc);
}

/* all_reduce / reduce_scatter (op), all_gather / all_to_all (no op) */
static PyObject *coll(py_rank_t *self, PyObject *args, int kind)
{
    Py_buffer in, out;
    unsigned long long count, tmo;
    int dt, op = 0, rc = MOONCAKE_EP_ERR_INTERNAL;
    uint64_t set = 0;
    bool with_op = kind == 0 || kind == 1;
    if (!(with_op ? PyArg_ParseTuple(args, "y*w*KiiK", &in, &out, &count, &dt, &op, &tmo)
                  : PyArg_ParseTuple(args, "y*w*KiK", &in, &out, &count, &dt, &tmo)))
        return NULL;
    PyObject *res = NULL;
    if (!live(self) || dt < 0 || dt > 3) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "bad dtype");
        goto out;
    }
    size_t blk = (size_t)count * dtype_size(dt), W = self->world;
    size_t in_need = kind == 1 || kind == 3 ? W * blk : blk, out_need = kind == 2 || kind == 3 ? W * blk : blk;
    if (!fits(&in, in_need, "input") || !fits(&out, out_need, "output"))
        goto out;
    switch (kind) {
    case 0: NOGIL(self, rc = self->h ? mooncake_ep_all_reduce(self->h, in.buf, out.buf, count, dt, op, tmo, &set) : rc); break;
    case 1: NOGIL(self, rc = self->h ? mooncake_ep_reduce_scatter(self->h, in.buf, out.buf, count, dt, op, tmo, &set) : rc); break;
    case 2: NOGIL(self, rc = self->h ? mooncake_ep_all_gather(self->h, in.buf, out.buf, count, dt, tmo, &set) : rc); break;
    default: NOGIL(self, rc = self->h ? mooncake_ep_all_to_all(self->h, in.buf, out.buf, count, dt, tmo, &set) : rc); break;
    }
    res = rc_set(rc, set);
out:
    PyBuffer_Release(&in);
    PyBuffer_Release(&out);
    return res;
}

static PyObject *rank_all_reduce(py_rank_t *s, PyObject *a) { return coll(s, a, 0); }
static PyObject *rank_reduce_scatter(py_rank_t *s, PyObject *a) { return coll(s, a, 1); }
static PyObject *rank_all_gather(py_rank_t *s, PyObject *a) { return coll(s, a, 2); }
static PyObject *rank_all_to_all(py_rank_t *s, PyObject *a) { return coll(s, a, 3); }

/* broadcast(buf, count, dtype, root, tmo); send/recv(buf, count, dtype, peer, tmo) */
static PyObject *one_buf(py_rank_t *self, PyObject *args, int kind)
{
    Py_buffer b;
    unsigned long long count, tmo;
    int dt, rc = MOONCAKE_EP_ERR_INTERNAL;
    unsigned peer;
    uint64_t set = 0;
    if (!(kind == 1 ? PyArg_ParseTuple(args, "y*KiIK", &b, &count, &dt, &peer, &tmo)
                    : PyArg_ParseTuple(args, "w*KiIK", &b, &count, &dt, &peer, &tmo)))
        return NULL;
    PyObject *res = NULL;
    if (!live(self) || dt < 0 || dt > 3) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "bad dtype");
        goto out;
    }
    if (!fits(&b, (size_t)count * dtype_size(dt), "buffer"))
        goto out;
    switch (kind) {
    case 0: NOGIL(self, rc = self->h ? mooncake_ep_broadcast(self->h, b.buf, count, dt, peer, tmo, &set) : rc); break;
    case 1: NOGIL(self, rc = self->h ? mooncake_ep_send(self->h, b.buf, count, dt, peer, tmo) : rc); break;
    default: NOGIL(self, rc = self->h ? mooncake_ep_recv(self->h, b.buf, count, dt, peer, tmo) : rc); break;
    }
    res = rc_set(rc, set);
out:
    PyBuffer_Release(&b);
    return res;
}

static PyObject *rank_broadcast(py_rank_t *s, PyObject *a) { return one_buf(s, a, 0); }
static PyObject *rank_send(py_rank_t *s, PyObject *a) { return one_buf(s, a, 1); }
static PyObject *rank_recv(py_rank_t *s, PyObject *a) { return one_buf(s, a, 2); }

static PyObject *rank_barrier(py_rank_t *self, PyObject *args)
{
    unsigned long long tmo;
    int rc = MOONCAKE_EP_ERR_INTERNAL;
    uint64_t set = 0;
    if (!PyArg_ParseTuple(args, "K", &tmo) || !live(self))
        return NULL;
    NOGIL(self, rc = self->h ? mooncake_ep_barrier(self->h, tmo, &set) : rc);
    return rc_set(rc, set);
}

/* dispatch(x, topk_idx, topk_weights, tokens, active_mask, (T, H, E, K), tmo,
 *          recv_x, recv_count, src_info, layout_range) -> (rc, handle, set) */
static PyObject *rank_dispatch(py_rank_t *self, PyObject *args)
{
    Py_buffer x, idx, w, rx, rc_, si, lr;
    unsigned tokens;
    unsigned long long mask, tmo;
    mooncake_ep_moe_t m;
    if (!PyArg_ParseTuple(args, "y*y*y*IK(IIII)Kw*w*w*w*", &x, &idx, &w, &tokens, &mask, &m.max_tokens, &m.hidden,
                          &m.experts, &m.topk, &tmo, &rx, &rc_, &si, &lr))
        return NULL;
    PyObject *res = NULL;
    int rc = MOONCAKE_EP_ERR_INTERNAL;
    uint64_t handle = 0, set = 0;
    size_t el = 0, rows = 0;
    if (!live(self))
        goto out;
    mooncake_ep_dispatch_sizes(self->h, &m, &el, &rows);
    if (tokens > m.max_tokens) {
        PyErr_SetString(PyExc_ValueError, "tokens > num_max_dispatch_tokens_per_rank");
        goto out;
    }
    if (!fits(&x, (size_t)tokens * m.hidden * 4, "x") || !fits(&idx, (size_t)tokens * m.topk * 8, "topk_idx") ||
        !fits(&w, (size_t)tokens * m.topk * 4, "topk_weights") || !fits(&rx, el * rows * m.hidden * 4, "recv_x") ||
        !fits(&rc_, el * 4, "recv_count") || !fits(&si, el * rows * 4, "src_info") ||
        !fits(&lr, el * self->world * 8, "layout_range"))
        goto out;
    NOGIL(self, rc = self->h ? mooncake_ep_dispatch(self->h, &m, x.buf, idx.buf, w.buf, tokens, mask, tmo, rx.buf,
                                                    rc_.buf, si.buf, lr.buf, &handle, &set)
                             : rc);
    res = Py_BuildValue("iKK", rc, (unsigned long long)handle, (unsigned long long)set);
out:
    PyBuffer_Release(&x);
    PyBuffer_Release(&idx);
    PyBuffer_Release(&w);
    PyBuffer_Release(&rx);
    PyBuffer_Release(&rc_);
    PyBuffer_Release(&si);
    PyBuffer_Release(&lr);
    return res;
}

/* combine(handle, active_mask, (T, H, E, K), tmo, out) -> (rc, set) */
static PyObject *rank_combine(py_rank_t *self, PyObject *args)
{
    Py_buffer out;
    unsigned long long handle, mask, tmo;
    mooncake_ep_moe_t m;
    if (!PyArg_ParseTuple(args, "KK(IIII)Kw*", &handle, &mask, &m.max_tokens, &m.hidden, &m.experts, &m.topk, &tmo,
                          &out))
        return NULL;
    PyObject *res = NULL;
    int rc = MOONCAKE_EP_ERR_INTERNAL;
    uint64_t set = 0;
    if (live(self) && fits(&out, (size_t)m.max_tokens * m.hidden * 4, "out")) {
        NOGIL(self, rc = self->h ? mooncake_ep_combine(self->h, &m, handle, mask, tmo, out.buf, &set) : rc);
        res = rc_set(rc, set);
    }
    PyBuffer_Release(&out);
    return res;
}

enum { Q_ACTIVE, Q_SYNCED, Q_EPOCH, Q_NEXT };
static PyObject *query(py_rank_t *self, int what)
{
    uint64_t v = 0;
    if (!live(self))
        return NULL;
    NOGIL(self, if (self->h) {
        switch (what) {
        case Q_ACTIVE: v = mooncake_ep_active_ranks(self->h); break;
        case Q_SYNCED: v = mooncake_ep_num_synced_ranks(self->h); break;
        case Q_EPOCH: v = mooncake_ep_epoch(self->h); break;
        default: v = mooncake_ep_next_op_id(self->h); break;
        }
    });
    return PyLong_FromUnsignedLongLong(v);
}

static PyObject *rank_active(py_rank_t *s, PyObject *u) { (void)u; return query(s, Q_ACTIVE); }
static PyObject *rank_synced(py_rank_t *s, PyObject *u) { (void)u; return query(s, Q_SYNCED); }
static PyObject *rank_epoch(py_rank_t *s, PyObject *u) { (void)u; return query(s, Q_EPOCH); }
static PyObject *rank_next_id(py_rank_t *s, PyObject *u) { (void)u; return query(s, Q_NEXT); }

static PyObject *rank_set_next_id(py_rank_t *self, PyObject *args)
{
    unsigned long long id;
    if (!PyArg_ParseTuple(args, "K", &id) || !live(self))
        return NULL;
    NOGIL(self, if (self->h) mooncake_ep_set_next_op_id(self->h, id));
    Py_RETURN_NONE;
}

static PyObject *rank_peer_state(py_rank_t *self, PyObject *args)
{
    unsigned r;
    int v = MOONCAKE_EP_ERR_INTERNAL;
    if (!PyArg_ParseTuple(args, "I", &r) || !live(self))
        return NULL;
    NOGIL(self, v = self->h ? mooncake_ep_peer_state(self->h, r) : v);
    return PyLong_FromLong(v);
}

static PyObject *rank_propose(py_rank_t *self, PyObject *args)
{
    unsigned long long targets;
    int activate, rc = MOONCAKE_EP_ERR_INTERNAL;
    if (!PyArg_ParseTuple(args, "Kp", &targets, &activate) || !live(self))
        return NULL;
    NOGIL(self, rc = self->h ? mooncake_ep_propose(self->h, targets, activate) : rc);
    return PyLong_FromLong(rc);
}

static PyObject *rank_last_error(PyObject *m, PyObject *u)
{
    (void)m, (void)u;
    return PyUnicode_FromString(mooncake_ep_last_error());
}

static PyMethodDef rank_methods[] = {
    {"close", (PyCFunction)rank_close, METH_NOARGS, "destroy the rank (leaves the group)"},
    {"wait_active", (PyCFunction)rank_wait_active, METH_VARARGS, "wait_active(timeout_ms) -> rc"},
    {"all_reduce", (PyCFunction)rank_all_reduce, METH_VARARGS, "(in, out, count, dtype, op, timeout_us) -> (rc, set)"},
    {"reduce_scatter", (PyCFunction)rank_reduce_scatter, METH_VARARGS, "(in, out, count, dtype, op, timeout_us)"},
    {"all_gather", (PyCFunction)rank_all_gather, METH_VARARGS, "(in, out, count, dtype, timeout_us) -> (rc, set)"},
    {"all_to_all", (PyCFunction)rank_all_to_all, METH_VARARGS, "(in, out, count, dtype, timeout_us) -> (rc, set)"},
    {"broadcast", (PyCFunction)rank_broadcast, METH_VARARGS, "(buf, count, dtype, root, timeout_us) -> (rc, set)"},
    {"send", (PyCFunction)rank_send, METH_VARARGS, "(buf, count, dtype, peer, timeout_us) -> (rc, 0)"},
    {"recv", (PyCFunction)rank_recv, METH_VARARGS, "(buf, count, dtype, peer, timeout_us) -> (rc, 0)"},
    {"barrier", (PyCFunction)rank_barrier, METH_VARARGS, "(timeout_us) -> (rc, set)"},
    {"dispatch", (PyCFunction)rank_dispatch, METH_VARARGS, "see mc_py_ep.c"},
    {"combine", (PyCFunction)rank_combine, METH_VARARGS, "see mc_py_ep.c"},
    {"active_ranks", (PyCFunction)rank_active, METH_NOARGS, "bit mask of active ranks"},
    {"num_synced_ranks", (PyCFunction)rank_synced, METH_NOARGS, ""},
    {"epoch", (PyCFunction)rank_epoch, METH_NOARGS, ""},
    {"next_op_id", (PyCFunction)rank_next_id, METH_NOARGS, ""},
    {"set_next_op_id", (PyCFunction)rank_set_next_id, METH_VARARGS, ""},
    {"peer_state", (PyCFunction)rank_peer_state, METH_VARARGS, "peer_state(rank) -> 1/0"},
    {"propose", (PyCFunction)rank_propose, METH_VARARGS, "propose(mask, activate) -> 0/1/2 or < 0"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject rank_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "mooncake._ep.Rank",
    .tp_basicsize = sizeof(py_rank_t),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Rank(rank, world, coordinator, listen_host='127.0.0.1', slot_bytes=0)",
    .tp_new = rank_new,
    .tp_init = (initproc)rank_init,
    .tp_dealloc = (destructor)rank_dealloc,
    .tp_methods = rank_methods,
};

/* ---- Coordinator ---- */

static int coord_init(py_coord_t *self, PyObject *args, PyObject *kw)
{
    static char *kwl[] = {"world", "listen", "hb_timeout_ms", NULL};
    unsigned world, hb = 1000;
    const char *listen = "127.0.0.1:0";
    if (!PyArg_ParseTupleAndKeywords(args, kw, "I|sI", kwl, &world, &listen, &hb))
        return -1;
    if (self->c) {
        PyErr_SetString(PyExc_RuntimeError, "coordinator already started");
        return -1;
    }
    mooncake_ep_coord_t *c;
    Py_BEGIN_ALLOW_THREADS c = mooncake_ep_coord_start(listen, world, hb, self->addr, sizeof self->addr);
    Py_END_ALLOW_THREADS if (!c)
    {
        PyErr_Format(PyExc_RuntimeError, "ep coordinator: %s", mooncake_ep_last_error());
        return -1;
    }
    self->c = c;
    return 0;
}

static PyObject *coord_stop(py_coord_t *self, PyObject *u)
{
    (void)u;
    mooncake_ep_coord_t *c = self->c;
    self->c = NULL;
    Py_BEGIN_ALLOW_THREADS mooncake_ep_coord_stop(c);
    Py_END_ALLOW_THREADS Py_RETURN_NONE;
}

static PyObject *coord_address(py_coord_t *self, void *u)
{
    (void)u;
    return PyUnicode_FromString(self->addr);
}

static void coord_dealloc(py_coord_t *self)
{
    mooncake_ep_coord_stop(self->c);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef coord_methods[] = {
    {"stop", (PyCFunction)coord_stop, METH_NOARGS, "stop the coordinator"},
    {NULL, NULL, 0, NULL},
};
static PyGetSetDef coord_getset[] = {
    {"address", (getter)coord_address, NULL, "host:port ranks connect to", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject coord_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "mooncake._ep.Coordinator",
    .tp_basicsize = sizeof(py_coord_t),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Coordinator(world, listen='127.0.0.1:0', hb_timeout_ms=1000)",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)coord_init,
    .tp_dealloc = (destructor)coord_dealloc,
    .tp_methods = coord_methods,
    .tp_getset = coord_getset,
};

/* ---- module ---- */

static PyObject *mod_size_hint(PyObject *m, PyObject *args)
{
    (void)m;
    unsigned long long t, h, n, e;
    if (!PyArg_ParseTuple(args, "KKKK", &t, &h, &n, &e))
        return NULL;
    return PyLong_FromUnsignedLongLong(mooncake_ep_buffer_size_hint(t, h, n, e));
}

static PyMethodDef mod_methods[] = {
    {"get_ep_buffer_size_hint", mod_size_hint, METH_VARARGS, "(T, H, N, E) -> bytes"},
    {"last_error", rank_last_error, METH_NOARGS, "the calling thread's last error text"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "mooncake._ep", "EP rank and coordinator (libmooncake)", -1, mod_methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__ep(void);
PyMODINIT_FUNC PyInit__ep(void)
{
    if (PyType_Ready(&rank_type) < 0 || PyType_Ready(&coord_type) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module_def);
    if (!m)
        return NULL;
    Py_INCREF(&rank_type);
    Py_INCREF(&coord_type);
    if (PyModule_AddObject(m, "Rank", (PyObject *)&rank_type) < 0 ||
        PyModule_AddObject(m, "Coordinator", (PyObject *)&coord_type) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    PyModule_AddIntConstant(m, "OK", MOONCAKE_EP_OK);
    PyModule_AddIntConstant(m, "ERR_INVALID", MOONCAKE_EP_ERR_INVALID);
    PyModule_AddIntConstant(m, "ERR_INACTIVE", MOONCAKE_EP_ERR_INACTIVE);
    PyModule_AddIntConstant(m, "ERR_DROPPED", MOONCAKE_EP_ERR_DROPPED);
    PyModule_AddIntConstant(m, "ERR_TIMEOUT", MOONCAKE_EP_ERR_TIMEOUT);
    PyModule_AddIntConstant(m, "ERR_INTERNAL", MOONCAKE_EP_ERR_INTERNAL);
    PyModule_AddIntConstant(m, "ERR_MIXED", MOONCAKE_EP_ERR_MIXED);
    return m;
}
