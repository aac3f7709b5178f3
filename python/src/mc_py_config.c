/* ReplicateConfig: default-constructible, every attribute read/write and
 * type-checked on assignment (TypeError), as upstream's pybind class. */
#include <stddef.h>
#include <string.h>

#include "mc_py.h"

typedef enum field_kind { F_U64, F_BOOL, F_STR, F_STRLIST, F_OPT_U64, F_OPT_STRLIST, F_ACTION } field_kind_t;

typedef struct mc_py_config {
    PyObject_HEAD
    PyObject *replica_num, *with_hard_pin, *prefer_alloc_in_same_node, *preferred_segment, *preferred_segments,
        *soft_pin_action, *soft_pin_ttl_ms, *group_ids, *nof_replica_num, *dfs_replica_num,
        *preferred_nof_segments, *data_type;
} mc_py_config_t;

typedef struct field {
    const char *name;
    size_t off;
    field_kind_t kind;
    const char *doc;
} field_t;

#define FIELD(n, k, d) {#n, offsetof(mc_py_config_t, n), k, d}
static const field_t fields[] = {
    FIELD(replica_num, F_U64, "memory replicas (default 1)"),
    FIELD(with_hard_pin, F_BOOL, "never evict"),
    FIELD(prefer_alloc_in_same_node, F_BOOL, "same-host placement"),
    FIELD(preferred_segment, F_STR, "preferred segment name (overrides preferred_segments)"),
    FIELD(preferred_segments, F_STRLIST, "ordered preferred segment names"),
    FIELD(soft_pin_action, F_ACTION, "SoftPinAction: 0 PRESERVE, 1 ENABLE, 2 DISABLE"),
    FIELD(soft_pin_ttl_ms, F_OPT_U64, "soft pin TTL in ms (None: master default)"),
    FIELD(group_ids, F_OPT_STRLIST, "one group id per key, or None"),
    FIELD(nof_replica_num, F_U64, "NVMe-oF replicas (not supported: must be 0)"),
    FIELD(dfs_replica_num, F_U64, "DFS replicas (not supported: must be 0)"),
    FIELD(preferred_nof_segments, F_STRLIST, "preferred NVMe-oF segments"),
    FIELD(data_type, F_U64, "ObjectDataType (informational)"),
};
#define NFIELDS (sizeof fields / sizeof fields[0])

static PyObject **slot(mc_py_config_t *c, const field_t *f)
{
    return (PyObject **)((char *)c + f->off);
}

static bool str_list_ok(PyObject *v)
{
    if (!PyList_Check(v))
        return false;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(v); i++)
        if (!PyUnicode_Check(PyList_GET_ITEM(v, i)))
            return false;
    return true;
}

/* Validated (new reference) value for field f, or NULL with TypeError. */
static PyObject *validate(const field_t *f, PyObject *v)
{
    uint64_t u;
    switch (f->kind) {
    case F_U64:
        if (!mc_py_u64(v, &u))
            return NULL;
        break;
    case F_ACTION:
        if (!mc_py_u64(v, &u) || u > 2) {
            PyErr_Clear();
            PyErr_SetString(PyExc_TypeError, "soft_pin_action must be a SoftPinAction (0, 1 or 2)");
            return NULL;
        }
        return PyLong_FromUnsignedLongLong(u);
    case F_BOOL:
        if (PyUnicode_Check(v)) { /* the seeds' docs show prefer_alloc_in_same_node = "True" */
            if (PyUnicode_CompareWithASCIIString(v, "True") == 0 || PyUnicode_CompareWithASCIIString(v, "true") == 0)
                Py_RETURN_TRUE;
            if (PyUnicode_CompareWithASCIIString(v, "False") == 0 ||
                PyUnicode_CompareWithASCIIString(v, "false") == 0)
                Py_RETURN_FALSE;
        }
        if (!PyBool_Check(v)) {
            PyErr_Format(PyExc_TypeError, "%s must be bool, not %.100s", f->name, Py_TYPE(v)->tp_name);
            return NULL;
        }
        break;
    case F_STR:
        if (!PyUnicode_Check(v)) {
            PyErr_Format(PyExc_TypeError, "%s must be str, not %.100s", f->name, Py_TYPE(v)->tp_name);
            return NULL;
        }
        break;
    case F_OPT_U64:
        if (v != Py_None && !mc_py_u64(v, &u))
            return NULL;
        break;
    case F_STRLIST:
    case F_OPT_STRLIST:
        if (f->kind == F_OPT_STRLIST && v == Py_None)
            break;
        if (PyTuple_Check(v))
            return PySequence_List(v);
        if (!str_list_ok(v)) {
            PyErr_Format(PyExc_TypeError, "%s must be a list of str", f->name);
            return NULL;
        }
        return PySequence_List(v); /* own copy, like pybind's std::vector */
    }
    Py_INCREF(v);
    return v;
}

static PyObject *cfg_get(PyObject *self, void *closure)
{
    PyObject *v = *slot((mc_py_config_t *)self, closure);
    if (((const field_t *)closure)->kind == F_STRLIST || (((const field_t *)closure)->kind == F_OPT_STRLIST && v != Py_None))
        return PySequence_List(v);
    Py_INCREF(v);
    return v;
}

static int cfg_set(PyObject *self, PyObject *v, void *closure)
{
    const field_t *f = closure;
    if (!v) {
        PyErr_Format(PyExc_TypeError, "cannot delete %s", f->name);
        return -1;
    }
    PyObject *nv = validate(f, v);
    if (!nv)
        return -1;
    if ((f->kind == F_STRLIST || f->kind == F_OPT_STRLIST) && nv != Py_None && !str_list_ok(nv)) {
        Py_DECREF(nv);
        PyErr_Format(PyExc_TypeError, "%s must be a list of str", f->name);
        return -1;
    }
    Py_XSETREF(*slot((mc_py_config_t *)self, f), nv);
    return 0;
}

/* with_soft_pin (seeds): bool view of soft_pin_action == ENABLE. */
static PyObject *soft_pin_get(PyObject *self, void *closure)
{
    (void)closure;
    return PyBool_FromLong(PyLong_AsLong(((mc_py_config_t *)self)->soft_pin_action) == 1);
}

static int soft_pin_set(PyObject *self, PyObject *v, void *closure)
{
    (void)closure;
    if (!v || !PyBool_Check(v)) {
        PyErr_SetString(PyExc_TypeError, "with_soft_pin must be bool");
        return -1;
    }
    Py_XSETREF(((mc_py_config_t *)self)->soft_pin_action, PyLong_FromLong(v == Py_True ? 1 : 0));
    return 0;
}

static PyGetSetDef cfg_getset[NFIELDS + 2];

static int cfg_init(PyObject *self, PyObject *args, PyObject *kw)
{
    mc_py_config_t *c = (mc_py_config_t *)self;
    if (PyTuple_GET_SIZE(args)) {
        PyErr_SetString(PyExc_TypeError, "ReplicateConfig() takes no positional arguments");
        return -1;
    }
    Py_XSETREF(c->replica_num, PyLong_FromLong(1));
    Py_XSETREF(c->with_hard_pin, Py_NewRef(Py_False));
    Py_XSETREF(c->prefer_alloc_in_same_node, Py_NewRef(Py_False));
    Py_XSETREF(c->preferred_segment, PyUnicode_FromString(""));
    Py_XSETREF(c->preferred_segments, PyList_New(0));
    Py_XSETREF(c->soft_pin_action, PyLong_FromLong(0));
    Py_XSETREF(c->soft_pin_ttl_ms, Py_NewRef(Py_None));
    Py_XSETREF(c->group_ids, Py_NewRef(Py_None));
    Py_XSETREF(c->nof_replica_num, PyLong_FromLong(0));
    Py_XSETREF(c->dfs_replica_num, PyLong_FromLong(0));
    Py_XSETREF(c->preferred_nof_segments, PyList_New(0));
    Py_XSETREF(c->data_type, PyLong_FromLong(0));
    if (kw) { /* convenience: ReplicateConfig(replica_num=2, ...) */
        PyObject *k, *v;
        Py_ssize_t pos = 0;
        while (PyDict_Next(kw, &pos, &k, &v))
            if (PyObject_SetAttr(self, k, v) != 0)
                return -1;
    }
    return 0;
}

static int cfg_traverse(PyObject *self, visitproc visit, void *arg)
{
    for (size_t i = 0; i < NFIELDS; i++)
        Py_VISIT(*slot((mc_py_config_t *)self, &fields[i]));
    return 0;
}

static int cfg_clear(PyObject *self)
{
    for (size_t i = 0; i < NFIELDS; i++)
        Py_CLEAR(*slot((mc_py_config_t *)self, &fields[i]));
    return 0;
}

static void cfg_dealloc(PyObject *self)
{
    PyObject_GC_UnTrack(self);
    cfg_clear(self);
    Py_TYPE(self)->tp_free(self);
}

static PyObject *cfg_str(PyObject *self)
{
    PyObject *parts = PyList_New(0);
    if (!parts)
        return NULL;
    for (size_t i = 0; i < NFIELDS; i++) {
        PyObject *s = PyUnicode_FromFormat("%s=%R", fields[i].name, *slot((mc_py_config_t *)self, &fields[i]));
        if (!s || PyList_Append(parts, s) != 0) {
            Py_XDECREF(s);
            Py_DECREF(parts);
            return NULL;
        }
        Py_DECREF(s);
    }
    PyObject *sep = PyUnicode_FromString(", ");
    PyObject *body = sep ? PyUnicode_Join(sep, parts) : NULL;
    Py_XDECREF(sep);
    Py_DECREF(parts);
    if (!body)
        return NULL;
    PyObject *r = PyUnicode_FromFormat("ReplicateConfig(%U)", body);
    Py_DECREF(body);
    return r;
}

PyTypeObject mc_py_config_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "mooncake.store.ReplicateConfig",
    .tp_basicsize = sizeof(mc_py_config_t),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Replication settings of a write (replica_num, pins, preferred segments, group_ids, ...).",
    .tp_new = PyType_GenericNew,
    .tp_init = cfg_init,
    .tp_dealloc = cfg_dealloc,
    .tp_traverse = cfg_traverse,
    .tp_clear = cfg_clear,
    .tp_str = cfg_str,
    .tp_repr = cfg_str,
    .tp_getset = cfg_getset,
};

/* Called by the module before PyType_Ready. */
void mc_py_config_prepare(void);
void mc_py_config_prepare(void)
{
    for (size_t i = 0; i < NFIELDS; i++)
        cfg_getset[i] = (PyGetSetDef){(char *)fields[i].name, cfg_get, cfg_set, (char *)fields[i].doc,
                                      (void *)&fields[i]};
    cfg_getset[NFIELDS] =
        (PyGetSetDef){"with_soft_pin", soft_pin_get, soft_pin_set, "soft pin (soft_pin_action ENABLE)", NULL};
}

/* ---- conversion for calls ---- */

static char *dup_str(PyObject *s)
{
    const char *u = PyUnicode_AsUTF8(s);
    return u ? strdup(u) : NULL;
}

static char **dup_list(PyObject *l, size_t *n)
{
    *n = (size_t)PyList_GET_SIZE(l);
    char **v = calloc(*n + 1, sizeof *v);
    for (size_t i = 0; v && i < *n; i++)
        v[i] = dup_str(PyList_GET_ITEM(l, i));
    return v;
}

static void free_list(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

bool mc_py_cfg(PyObject *obj, mc_py_cfg_t *out)
{
    memset(out, 0, sizeof *out);
    mooncake_replicate_config_init(&out->c);
    if (!obj || obj == Py_None)
        return true;
    if (!PyObject_TypeCheck(obj, &mc_py_config_type)) {
        PyErr_Format(PyExc_TypeError, "config must be a ReplicateConfig, not %.100s", Py_TYPE(obj)->tp_name);
        return false;
    }
    mc_py_config_t *c = (mc_py_config_t *)obj;
    out->set = true;
    out->c.replica_num = (uint32_t)PyLong_AsUnsignedLongLong(c->replica_num);
    if (PyLong_AsUnsignedLongLong(c->replica_num) > UINT32_MAX)
        out->c.replica_num = 0; /* rejected as INVALID_PARAMS */
    out->c.with_hard_pin = c->with_hard_pin == Py_True;
    out->c.prefer_alloc_in_same_node = c->prefer_alloc_in_same_node == Py_True;
    out->c.soft_pin_action = (int)PyLong_AsLong(c->soft_pin_action);
    if (c->soft_pin_ttl_ms != Py_None) {
        out->c.has_soft_pin_ttl = true;
        out->c.soft_pin_ttl_ms = PyLong_AsUnsignedLongLong(c->soft_pin_ttl_ms);
    }
    out->preferred_segment = dup_str(c->preferred_segment);
    out->c.preferred_segment = out->preferred_segment;
    size_t n = 0;
    out->pref = dup_list(c->preferred_segments, &n);
    out->c.preferred_segments = (const char *const *)out->pref;
    out->c.n_preferred_segments = n;
    if (c->group_ids != Py_None) {
        out->groups = dup_list(c->group_ids, &n);
        out->c.group_ids = (const char *const *)out->groups;
        out->c.n_group_ids = n;
    }
    if (PyLong_AsLong(c->nof_replica_num) != 0 || PyLong_AsLong(c->dfs_replica_num) != 0)
        out->c.replica_num = 0; /* NoF/DFS tiers are not available: INVALID_PARAMS */
    return true;
}

void mc_py_cfg_free(mc_py_cfg_t *c)
{
    free(c->preferred_segment);
    free_list(c->pref);
    free_list(c->groups);
    memset(c, 0, sizeof *c);
}
