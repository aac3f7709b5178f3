/* MooncakeHostMemAllocator: alloc(size) -> address of a shared-memory
 * (memfd) mapping, 0 on failure; free(ptr) -> 0, or -600 for an address
 * it did not allocate. Mappings still allocated are unmapped with the
 * allocator. */
#include <sys/mman.h>
#include <unistd.h>

#include "mc_py.h"

typedef struct mc_py_hostmem {
    PyObject_HEAD
    PyObject *maps; /* dict: address -> size */
} mc_py_hostmem_t;

static int hm_init(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kw, ":MooncakeHostMemAllocator", kwlist))
        return -1;
    Py_XSETREF(((mc_py_hostmem_t *)self)->maps, PyDict_New());
    return ((mc_py_hostmem_t *)self)->maps ? 0 : -1;
}

static void *map_shared(size_t size)
{
    int fd = memfd_create("mooncake_host_mem", MFD_CLOEXEC);
    if (fd < 0)
        return NULL;
    void *p = NULL;
    if (ftruncate(fd, (off_t)size) == 0) {
        p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED)
            p = NULL;
    }
    close(fd);
    return p;
}

static PyObject *hm_alloc(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"size", NULL};
    uint64_t size;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&:alloc", kwlist, mc_py_conv_u64, &size))
        return NULL;
    if (size == 0 || size > PY_SSIZE_T_MAX)
        return PyLong_FromLong(0);
    void *p;
    Py_BEGIN_ALLOW_THREADS
    p = map_shared((size_t)size);
    Py_END_ALLOW_THREADS
    if (!p)
        return PyLong_FromLong(0);
    PyObject *k = PyLong_FromVoidPtr(p), *v = PyLong_FromUnsignedLongLong(size);
    if (!k || !v || PyDict_SetItem(((mc_py_hostmem_t *)self)->maps, k, v) != 0) {
        munmap(p, (size_t)size);
        Py_XDECREF(k);
        Py_XDECREF(v);
        return NULL;
    }
    Py_DECREF(v);
    return k;
}

static PyObject *hm_free(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"ptr", NULL};
    uint64_t ptr;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&:free", kwlist, mc_py_conv_u64, &ptr))
        return NULL;
    PyObject *k = PyLong_FromUnsignedLongLong(ptr);
    if (!k)
        return NULL;
    PyObject *v = PyDict_GetItemWithError(((mc_py_hostmem_t *)self)->maps, k);
    if (!v) {
        Py_DECREF(k);
        return PyErr_Occurred() ? NULL : PyLong_FromLong(MC_PY_INVALID_PARAMS);
    }
    munmap((void *)(uintptr_t)ptr, (size_t)PyLong_AsUnsignedLongLong(v));
    int rc = PyDict_DelItem(((mc_py_hostmem_t *)self)->maps, k);
    Py_DECREF(k);
    return rc == 0 ? PyLong_FromLong(0) : NULL;
}

static void hm_dealloc(PyObject *self)
{
    mc_py_hostmem_t *h = (mc_py_hostmem_t *)self;
    if (h->maps) {
        PyObject *k, *v;
        Py_ssize_t pos = 0;
        while (PyDict_Next(h->maps, &pos, &k, &v))
            munmap(PyLong_AsVoidPtr(k), (size_t)PyLong_AsUnsignedLongLong(v));
        Py_CLEAR(h->maps);
    }
    Py_TYPE(self)->tp_free(self);
}

static PyMethodDef hm_methods[] = {
    {"alloc", (PyCFunction)(void (*)(void))hm_alloc, METH_VARARGS | METH_KEYWORDS,
     "alloc(size) -> address of a shared-memory allocation, 0 on failure"},
    {"free", (PyCFunction)(void (*)(void))hm_free, METH_VARARGS | METH_KEYWORDS,
     "free(ptr) -> 0, or -600 for an unknown address"},
    {NULL, NULL, 0, NULL},
};

PyTypeObject mc_py_hostmem_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "mooncake.store.MooncakeHostMemAllocator",
    .tp_basicsize = sizeof(mc_py_hostmem_t),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Host memory allocator (memfd shared memory).",
    .tp_new = PyType_GenericNew,
    .tp_init = hm_init,
    .tp_dealloc = hm_dealloc,
    .tp_methods = hm_methods,
};
