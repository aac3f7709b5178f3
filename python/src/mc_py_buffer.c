/* BufferHandle: owns a get_buffer handle; exposes it through the buffer
 * protocol (1-D, unsigned bytes, writable), ptr(), size(), len(). The
 * bytes are released when the last reference (including memoryviews and
 * numpy arrays over it) goes away. */
#include "mc_py.h"

typedef struct mc_py_buffer {
    PyObject_HEAD
    mooncake_buffer_t *h;
} mc_py_buffer_t;

PyObject *mc_py_buffer_new(mooncake_buffer_t *h)
{
    mc_py_buffer_t *b = PyObject_New(mc_py_buffer_t, &mc_py_buffer_type);
    if (!b) {
        mooncake_buffer_release(h);
        return NULL;
    }
    b->h = h;
    return (PyObject *)b;
}

static void buf_dealloc(PyObject *self)
{
    mooncake_buffer_release(((mc_py_buffer_t *)self)->h);
    PyObject_Free(self);
}

static int buf_getbuffer(PyObject *self, Py_buffer *view, int flags)
{
    mc_py_buffer_t *b = (mc_py_buffer_t *)self;
    return PyBuffer_FillInfo(view, self, mooncake_buffer_data(b->h), (Py_ssize_t)mooncake_buffer_size(b->h), 0,
                             flags);
}

static PyBufferProcs buf_as_buffer = {.bf_getbuffer = buf_getbuffer};

static PyObject *buf_ptr(PyObject *self, PyObject *unused)
{
    (void)unused;
    return PyLong_FromVoidPtr(mooncake_buffer_data(((mc_py_buffer_t *)self)->h));
}

static PyObject *buf_size(PyObject *self, PyObject *unused)
{
    (void)unused;
    return PyLong_FromSize_t(mooncake_buffer_size(((mc_py_buffer_t *)self)->h));
}

static Py_ssize_t buf_length(PyObject *self)
{
    return (Py_ssize_t)mooncake_buffer_size(((mc_py_buffer_t *)self)->h);
}

static PyObject *buf_repr(PyObject *self)
{
    mc_py_buffer_t *b = (mc_py_buffer_t *)self;
    return PyUnicode_FromFormat("<BufferHandle ptr=%p size=%zu>", mooncake_buffer_data(b->h),
                                mooncake_buffer_size(b->h));
}

static PyMethodDef buf_methods[] = {
    {"ptr", buf_ptr, METH_NOARGS, "address of the bytes (int)"},
    {"size", buf_size, METH_NOARGS, "size in bytes"},
    {"len", buf_size, METH_NOARGS, "size in bytes"},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods buf_as_seq = {.sq_length = buf_length};

PyTypeObject mc_py_buffer_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "mooncake.store.BufferHandle",
    .tp_basicsize = sizeof(mc_py_buffer_t),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "An object's bytes returned by get_buffer (buffer protocol, writable).",
    .tp_dealloc = buf_dealloc,
    .tp_as_buffer = &buf_as_buffer,
    .tp_as_sequence = &buf_as_seq,
    .tp_methods = buf_methods,
    .tp_repr = buf_repr,
};
