/* Module mooncake._store: registers the types; mooncake/store.py adds the
 * enums and re-exports everything as mooncake.store. */
#include "mc_py.h"

void mc_py_config_prepare(void);
void mc_py_store_prepare(void);

static PyObject *py_strerror(PyObject *mod, PyObject *arg)
{
    (void)mod;
    long code = PyLong_AsLong(arg);
    if (code == -1 && PyErr_Occurred())
        return NULL;
    return PyUnicode_FromString(mooncake_strerror((int)code));
}

static PyMethodDef module_methods[] = {
    {"error_name", py_strerror, METH_O, "error_name(code) -> upstream ErrorCode name ('UNKNOWN_ERROR' if unknown)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "mooncake._store",
    .m_doc = "C extension of mooncake.store (import mooncake.store instead).",
    .m_size = -1,
    .m_methods = module_methods,
};

static int add_type(PyObject *m, PyTypeObject *t, const char *name)
{
    if (PyType_Ready(t) < 0)
        return -1;
    Py_INCREF(t);
    if (PyModule_AddObject(m, name, (PyObject *)t) < 0) {
        Py_DECREF(t);
        return -1;
    }
    return 0;
}

PyMODINIT_FUNC PyInit__store(void);
PyMODINIT_FUNC PyInit__store(void)
{
    mc_py_config_prepare();
    mc_py_store_prepare();
    PyObject *m = PyModule_Create(&module_def);
    if (!m)
        return NULL;
    if (add_type(m, &mc_py_store_type, "MooncakeDistributedStore") < 0 ||
        add_type(m, &mc_py_config_type, "ReplicateConfig") < 0 ||
        add_type(m, &mc_py_buffer_type, "BufferHandle") < 0 ||
        add_type(m, &mc_py_hostmem_type, "MooncakeHostMemAllocator") < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
