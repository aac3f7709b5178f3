/* mooncake._store: the C extension behind mooncake.store. Files:
 *   mc_py_module.c      module init, type registration
 *   mc_py_args.c        argument conversion (keys, ints, lists, buffers)
 *   mc_py_config.c      ReplicateConfig
 *   mc_py_buffer.c      BufferHandle (buffer protocol over a get_buffer handle)
 *   mc_py_hostmem.c     MooncakeHostMemAllocator
 *   mc_py_store.c       MooncakeDistributedStore: type, lifecycle
 *   mc_py_store_bytes.c copying calls (put/get/upsert/batches/remove/exist)
 *   mc_py_store_zc.c    zero-copy calls (register, put_from, get_into)
 *   mc_py_ranges.c      get_into_ranges
 *   mc_py_replicas.c    raw replica descriptors (wrapped in store.py)
 *   mc_py_tasks.c       extra segments, copy/move tasks, batch_replica_clear
 * Every blocking call releases the GIL (MC_PY_CALL). */
#ifndef MC_PY_H
#define MC_PY_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "mooncake/store.h"

#define MC_PY_INVALID_PARAMS (-600)

/* ---- the store object ---- */
typedef struct mc_py_store {
    PyObject_HEAD
    mooncake_store_t *s;
    pthread_rwlock_t lk; /* calls hold it shared; setup/close exclusively */
} mc_py_store_t;

extern PyTypeObject mc_py_store_type;
extern PyTypeObject mc_py_config_type;
extern PyTypeObject mc_py_buffer_type;
extern PyTypeObject mc_py_hostmem_type;

/* Run `stmt` without the GIL, with the store shared-locked; `st` names
 * the mooncake_store_t* inside (NULL when not set up). */
#define MC_PY_CALL(self, st, stmt)                   \
    do {                                             \
        Py_BEGIN_ALLOW_THREADS                       \
        pthread_rwlock_rdlock(&(self)->lk);          \
        mooncake_store_t *st = (self)->s;            \
        stmt;                                        \
        pthread_rwlock_unlock(&(self)->lk);          \
        Py_END_ALLOW_THREADS                         \
    } while (0)

extern PyMethodDef mc_py_store_bytes_methods[];
extern PyMethodDef mc_py_store_zc_methods[];
extern PyMethodDef mc_py_store_replica_methods[];
extern PyMethodDef mc_py_store_task_methods[];

/* ---- arguments ---- */
/* A key: str (UTF-8) or bytes; borrowed from obj. TypeError otherwise. */
bool mc_py_key(PyObject *obj, const char **p, size_t *len);
/* Non-negative int (not bool) -> u64; TypeError otherwise. */
bool mc_py_u64(PyObject *obj, uint64_t *out);
/* O& converters for PyArg_Parse*. */
int mc_py_conv_u64(PyObject *obj, void *out);
int mc_py_conv_ptr(PyObject *obj, void *out);
int mc_py_conv_bool(PyObject *obj, void *out);

/* A list/tuple of keys: arrays valid while `seq` (a new ref returned in
 * *fast) lives. Returns false with TypeError. Free with mc_py_keys_free. */
typedef struct mc_py_keys {
    PyObject *fast;
    size_t n;
    const void **p;
    size_t *len;
} mc_py_keys_t;
bool mc_py_keys(PyObject *seq, mc_py_keys_t *k);
void mc_py_keys_free(mc_py_keys_t *k);
/* A list/tuple of non-negative ints. */
bool mc_py_u64_list(PyObject *seq, uint64_t **out, size_t *n);
/* Sequence check with TypeError (str/bytes are not sequences here). */
PyObject *mc_py_fast(PyObject *seq, const char *what);

/* Buffers of values: contiguous bytes (PyBUF_SIMPLE). */
typedef struct mc_py_bufs {
    size_t n;
    Py_buffer *views;
    const void **p;
    size_t *len;
} mc_py_bufs_t;
bool mc_py_bufs(PyObject *seq, mc_py_bufs_t *b);
void mc_py_bufs_free(mc_py_bufs_t *b);

PyObject *mc_py_int_list(const int *v, size_t n);
PyObject *mc_py_i64_list(const int64_t *v, size_t n);
PyObject *mc_py_const_list(long v, size_t n);

/* ---- ReplicateConfig ---- */
/* obj: None or ReplicateConfig. *out owns copies of every string; free
 * with mc_py_cfg_free. Returns false with TypeError. */
typedef struct mc_py_cfg {
    mooncake_replicate_config_t c;
    bool set;
    char *preferred_segment;
    char **pref;
    char **groups;
} mc_py_cfg_t;
bool mc_py_cfg(PyObject *obj, mc_py_cfg_t *out);
void mc_py_cfg_free(mc_py_cfg_t *c);
static inline const mooncake_replicate_config_t *mc_py_cfg_ptr(const mc_py_cfg_t *c) { return c->set ? &c->c : NULL; }

/* ---- BufferHandle ---- */
PyObject *mc_py_buffer_new(mooncake_buffer_t *h);

#endif
