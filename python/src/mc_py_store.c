/* MooncakeDistributedStore: the type and its lifecycle (setup, setup_dummy,
 * init_all, close, health_check, get_hostname, alloc_from_mem_pool). */
#include <string.h>

#include "mc_py.h"

#define DEFAULT_SEGMENT (16ULL << 20)
#define DEFAULT_LOCAL_BUFFER (1ULL << 30)

static PyObject *store_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    (void)args;
    (void)kw;
    mc_py_store_t *self = (mc_py_store_t *)type->tp_alloc(type, 0);
    if (!self)
        return NULL;
    self->s = NULL;
    pthread_rwlock_init(&self->lk, NULL);
    return (PyObject *)self;
}

static void store_close_locked(mc_py_store_t *self)
{
    Py_BEGIN_ALLOW_THREADS
    pthread_rwlock_wrlock(&self->lk);
    mooncake_store_close(self->s);
    self->s = NULL;
    pthread_rwlock_unlock(&self->lk);
    Py_END_ALLOW_THREADS
}

static void store_dealloc(PyObject *obj)
{
    mc_py_store_t *self = (mc_py_store_t *)obj;
    if (self->s)
        store_close_locked(self);
    pthread_rwlock_destroy(&self->lk);
    Py_TYPE(obj)->tp_free(obj);
}

static int do_setup(mc_py_store_t *self, const char *host, const char *meta, uint64_t seg, uint64_t lbuf,
                    const char *proto, const char *devs, const char *master)
{
    int rc;
    Py_BEGIN_ALLOW_THREADS
    pthread_rwlock_wrlock(&self->lk);
    if (self->s) {
        rc = MC_PY_INVALID_PARAMS; /* already set up: close() first */
    } else {
        mooncake_store_t *s = NULL;
        rc = mooncake_store_setup(&s, host, meta, seg, lbuf, proto, devs, master);
        if (rc == 0)
            self->s = s;
    }
    pthread_rwlock_unlock(&self->lk);
    Py_END_ALLOW_THREADS
    return rc;
}

static PyObject *store_setup(PyObject *obj, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"local_hostname", "metadata_server", "global_segment_size", "local_buffer_size",
                             "protocol", "rdma_devices", "master_server_addr", "engine", "enable_ssd_offload",
                             "ssd_offload_path", "tenant_id", "enable_client_http_server", "client_http_port",
                             NULL};
    const char *host, *meta, *proto = "tcp", *devs = "", *master = "127.0.0.1:50051", *ssd_path = "",
                             *tenant = "default";
    uint64_t seg = DEFAULT_SEGMENT, lbuf = DEFAULT_LOCAL_BUFFER, http_port = 9300;
    PyObject *engine = Py_None;
    bool ssd = false, http = false;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "ss|O&O&sssOO&ssO&O&:setup", kwlist, &host, &meta, mc_py_conv_u64,
                                     &seg, mc_py_conv_u64, &lbuf, &proto, &devs, &master, &engine, mc_py_conv_bool,
                                     &ssd, &ssd_path, &tenant, mc_py_conv_bool, &http, mc_py_conv_u64, &http_port))
        return NULL;
    if (engine != Py_None) {
        PyErr_SetString(PyExc_TypeError, "setup(): engine= is not supported (pass None)");
        return NULL;
    }
    /* SSD offload and the client HTTP server are not available in this
     * build; tenant ids are accepted (single tenant). */
    if (ssd || http)
        return PyLong_FromLong(MC_PY_INVALID_PARAMS);
    return PyLong_FromLong(do_setup((mc_py_store_t *)obj, host, meta, seg, lbuf, proto, devs, master));
}

static PyObject *store_init_all(PyObject *obj, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"protocol", "device_name", "mount_segment_size", NULL};
    const char *proto, *dev;
    uint64_t seg = DEFAULT_SEGMENT;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "ss|O&:init_all", kwlist, &proto, &dev, mc_py_conv_u64, &seg))
        return NULL;
    /* Upstream's legacy shortcut: fixed identity, etcd metadata, 1 GiB buffer. */
    return PyLong_FromLong(do_setup((mc_py_store_t *)obj, "localhost:12345", "127.0.0.1:2379", seg,
                                    DEFAULT_LOCAL_BUFFER, proto, dev, "127.0.0.1:50051"));
}

static PyObject *store_close(PyObject *obj, PyObject *unused)
{
    (void)unused;
    store_close_locked((mc_py_store_t *)obj);
    return PyLong_FromLong(0);
}

static PyObject *store_health(PyObject *obj, PyObject *unused)
{
    (void)unused;
    int rc;
    MC_PY_CALL((mc_py_store_t *)obj, s, rc = mooncake_store_health(s));
    return PyLong_FromLong(rc);
}

/* Not upstream: the read-path counters, for tests and tuning. */
static PyObject *store_read_stats(PyObject *obj, PyObject *unused)
{
    (void)unused;
    mooncake_read_stats_t st = {0, 0};
    int rc = -600; /* INVALID_PARAMS: not set up */
    MC_PY_CALL((mc_py_store_t *)obj, s, rc = mooncake_store_read_stats(s, &st));
    if (rc != 0)
        return PyLong_FromLong(rc);
    return Py_BuildValue("{s:K,s:K}", "direct_keys", (unsigned long long)st.direct_keys, "loop_keys",
                         (unsigned long long)st.loop_keys);
}

static PyObject *store_hostname(PyObject *obj, PyObject *unused)
{
    (void)unused;
    mc_py_store_t *self = (mc_py_store_t *)obj;
    char name[320] = "";
    MC_PY_CALL(self, s, if (s) snprintf(name, sizeof name, "%s", mooncake_store_hostname(s)));
    return PyUnicode_FromString(name);
}

static PyObject *store_setup_dummy(PyObject *obj, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"mem_pool_size", "local_buffer_size", "server_address", NULL};
    mc_py_store_t *self = (mc_py_store_t *)obj;
    uint64_t pool, lbuf;
    const char *server;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&O&s:setup_dummy", kwlist, mc_py_conv_u64, &pool, mc_py_conv_u64,
                                     &lbuf, &server))
        return NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    pthread_rwlock_wrlock(&self->lk);
    if (self->s) {
        rc = MC_PY_INVALID_PARAMS; /* already set up: close() first */
    } else {
        mooncake_store_t *s = NULL;
        rc = mooncake_store_setup_dummy(&s, pool, lbuf, server);
        if (rc == 0)
            self->s = s;
    }
    pthread_rwlock_unlock(&self->lk);
    Py_END_ALLOW_THREADS
    return PyLong_FromLong(rc);
}

static PyObject *store_alloc_from_mem_pool(PyObject *obj, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"size", NULL};
    uint64_t size, addr = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&:alloc_from_mem_pool", kwlist, mc_py_conv_u64, &size))
        return NULL;
    /* a dummy's shared-memory region; 0 on a real client (upstream) */
    MC_PY_CALL((mc_py_store_t *)obj, s, addr = mooncake_store_alloc_from_mem_pool(s, size));
    return PyLong_FromUnsignedLongLong(addr);
}

#define KW(f) (PyCFunction)(void (*)(void))(f), METH_VARARGS | METH_KEYWORDS
static PyMethodDef lifecycle_methods[] = {
    {"setup", KW(store_setup),
     "setup(local_hostname, metadata_server, global_segment_size=16MiB, local_buffer_size=1GiB, protocol='tcp', "
     "rdma_devices='', master_server_addr='127.0.0.1:50051') -> int"},
    {"init_all", KW(store_init_all), "init_all(protocol, device_name, mount_segment_size=16MiB) -> int"},
    {"close", store_close, METH_NOARGS, "close() -> 0; unmounts this client's segment"},
    {"health_check", store_health, METH_NOARGS, "0 healthy, 1 not set up/closed, 2 master unreachable"},
    {"get_hostname", store_hostname, METH_NOARGS, "'host:port' of this client ('' if not set up)"},
    {"_read_stats", store_read_stats, METH_NOARGS,
     "_read_stats() -> {'direct_keys', 'loop_keys'}: gets served on the caller's thread / by the loop "
     "(not upstream; -600 for a dummy client)"},
    {"setup_dummy", KW(store_setup_dummy),
     "setup_dummy(mem_pool_size, local_buffer_size, server_address) -> 0 / -1: forward to a mooncake_client"},
    {"alloc_from_mem_pool", KW(store_alloc_from_mem_pool),
     "alloc_from_mem_pool(size) -> address of a new shared-memory region (dummy clients; 0 otherwise)"},
    {NULL, NULL, 0, NULL},
};

static PyMethodDef all_methods[96];

PyTypeObject mc_py_store_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "mooncake.store.MooncakeDistributedStore",
    .tp_basicsize = sizeof(mc_py_store_t),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "A Mooncake store client (see the seeds' Python API reference).",
    .tp_new = store_new,
    .tp_dealloc = store_dealloc,
    .tp_methods = all_methods,
};

static size_t append(size_t at, const PyMethodDef *m)
{
    for (; m->ml_name && at + 1 < sizeof all_methods / sizeof all_methods[0]; m++)
        all_methods[at++] = *m;
    return at;
}

/* Called by the module before PyType_Ready. */
void mc_py_store_prepare(void);
void mc_py_store_prepare(void)
{
    size_t n = append(0, lifecycle_methods);
    n = append(n, mc_py_store_bytes_methods);
    n = append(n, mc_py_store_zc_methods);
    n = append(n, mc_py_store_replica_methods);
    n = append(n, mc_py_store_task_methods);
    all_methods[n] = (PyMethodDef){NULL, NULL, 0, NULL};
}
