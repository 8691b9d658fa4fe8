/* transforms.minhash's per-document minimum, in C: for each document's shingle hashes
 * (already mixed by fmix32), the minimum over its shingles of (hash * a + b) mod 2**32 for
 * every permutation (a, b), as `signatures_from_shingles` computes it with numpy blocks (the
 * reference: tests compare the two). Built when a C compiler is at hand (module
 * transforms._c_passes, `optional` in pyproject.toml); without it numpy runs alone.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

static int buffer_of(PyObject *object, Py_buffer *view, Py_ssize_t itemsize, int writable, const char *name) {
    if (PyObject_GetBuffer(object, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0)) < 0)
        return -1;
    if (view->itemsize != itemsize) {
        PyErr_Format(PyExc_TypeError, "minhash_into: %s must hold %zd-byte items", name, itemsize);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* minhash_into(mixed: uint32[k], offsets: int64[n + 1], a: uint32[p], b: uint32[p],
 * out: uint32[n, p]): out[d] = min(out[d], min over mixed[offsets[d]:offsets[d + 1]] of
 * (hash * a + b)), elementwise over the permutations. */
PyObject *c_minhash_into(PyObject *module, PyObject *args) {
    (void)module;
    PyObject *objects[5];
    if (!PyArg_ParseTuple(args, "OOOOO:minhash_into", &objects[0], &objects[1], &objects[2], &objects[3],
                          &objects[4]))
        return NULL;
    static const char *names[5] = {"mixed", "offsets", "a", "b", "out"};
    static const Py_ssize_t sizes[5] = {4, 8, 4, 4, 4};
    Py_buffer views[5];
    int held = 0;
    for (; held < 5; held++)
        if (buffer_of(objects[held], &views[held], sizes[held], held == 4, names[held]) < 0) break;
    PyObject *result = NULL;
    if (held == 5) {
        const uint32_t *mixed = views[0].buf, *a = views[2].buf, *b = views[3].buf;
        const int64_t *offsets = views[1].buf;
        uint32_t *out = views[4].buf;
        Py_ssize_t shingles = views[0].len / 4, bounds = views[1].len / 8, perms = views[2].len / 4;
        Py_ssize_t documents = bounds - 1;
        if (bounds < 1 || views[3].len / 4 != perms || views[4].len / 4 != documents * perms) {
            PyErr_SetString(PyExc_ValueError, "minhash_into: shapes do not agree");
        } else {
            int bad = 0;
            for (Py_ssize_t d = 0; d < documents && !bad; d++)
                bad = offsets[d] < 0 || offsets[d] > offsets[d + 1] || offsets[d + 1] > shingles;
            if (bad) {
                PyErr_SetString(PyExc_ValueError, "minhash_into: offsets out of order or range");
            } else {
                Py_BEGIN_ALLOW_THREADS
                for (Py_ssize_t d = 0; d < documents; d++) {
                    uint32_t *row = out + d * perms;
                    for (int64_t s = offsets[d]; s < offsets[d + 1]; s++) {
                        uint32_t hash = mixed[s];
                        for (Py_ssize_t p = 0; p < perms; p++) {
                            uint32_t value = hash * a[p] + b[p];
                            row[p] = value < row[p] ? value : row[p];
                        }
                    }
                }
                Py_END_ALLOW_THREADS
                Py_INCREF(Py_None);
                result = Py_None;
            }
        }
    }
    while (held > 0) PyBuffer_Release(&views[--held]);
    return result;
}
