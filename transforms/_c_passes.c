/* The module of the optional C passes: each is the C twin of a Python function, in its own
 * file, and runs where this module was built (pyproject.toml `ext-modules`, `optional`);
 * transforms.c_passes says which are in use. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

PyObject *c_read_plain_yaml(PyObject *module, PyObject *header);    /* _plain_yaml.c */
PyObject *c_count_document(PyObject *module, PyObject *args);       /* _readability_counts.c */
PyObject *c_stems_of(PyObject *module, PyObject *args);             /* _keyword_tokens.c */
PyObject *c_minhash_into(PyObject *module, PyObject *args);         /* _minhash.c */

static PyMethodDef methods[] = {
    {"read_plain_yaml", c_read_plain_yaml, METH_O,
     "read_plain_yaml(header) -> dict | None\n\n"
     "transforms.plain_yaml.read_plain_yaml in C: the header as a dict when it is plain YAML, else None."},
    {"count_document", c_count_document, METH_VARARGS,
     "count_document(text, compact, learn, long_sentence_words) -> tuple\n\n"
     "transforms.readability.DocumentCounts of one text, as its _count_document computes them.\n"
     "compact: token -> syllables << 5 | polysyllable | Dale-Chall hard << 1 | Gunning-fog hard << 2\n"
     "| Linsear easy << 3 | difficult << 4; learn(set_of_tokens) adds the tokens it lacks."},
    {"stems_of", c_stems_of, METH_VARARGS,
     "stems_of(folded, cache, stem_new, piece_tokens) -> tuple\n\n"
     "The stems of the tokens of a normalised, case-folded text, as transforms.keywords.Stemmer\n"
     "computes them: cache[token], else stem_new(token); piece_tokens(piece) gives the tokens of\n"
     "a piece neither alphanumeric nor ASCII."},
    {"minhash_into", c_minhash_into, METH_VARARGS,
     "minhash_into(mixed, offsets, a, b, out) -> None\n\n"
     "transforms.minhash's per-document minimum: out[d] = min(out[d], min over the shingle hashes\n"
     "mixed[offsets[d]:offsets[d + 1]] of hash * a + b mod 2**32), per permutation; uint32 arrays\n"
     "but for the int64 offsets, out of shape (documents, permutations)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_definition = {
    PyModuleDef_HEAD_INIT, "transforms._c_passes", "C twins of per-page hot loops (transforms.c_passes).", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__c_passes(void) { return PyModule_Create(&module_definition); }
