/* One pass of C over a folded text for transforms.keywords: its tokens' stems, as
 * `Stemmer._tokenise` computes them in Python (the reference: tests compare the two on
 * generated text and the real corpora). Built when a C compiler is at hand (module
 * transforms._c_passes, `optional` in pyproject.toml); without it the Python code runs alone.
 *
 * The tokens of a whitespace-separated piece (Python's str.split()):
 *   - every character alphanumeric (str.isalnum()): the piece;
 *   - ASCII: the matches of `\w++(?:'\w++)*+[+#]*+|(?<![\w.])\.\w++[+#]*+` (keywords._TOKEN_RE),
 *     scanned here by hand;
 *   - otherwise (a piece that may hold marks): what `piece_tokens(piece)` returns.
 * A token's stem is `cache[token]`, or `stem_new(token)` for a token not in the cache.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static inline int ascii_word(Py_UCS4 c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static inline int symbol_suffix(Py_UCS4 c) { return c == '+' || c == '#'; }

/* Appends the stem of text[start:end] to `stems`; 0, or -1 on error. */
static int add_stem(PyObject *stems, PyObject *text, Py_ssize_t start, Py_ssize_t end, PyObject *cache,
                    PyObject *stem_new) {
    PyObject *token = PyUnicode_Substring(text, start, end);
    if (token == NULL) return -1;
    PyObject *stem = PyDict_GetItemWithError(cache, token);
    if (stem != NULL) {
        Py_INCREF(stem);
    } else if (!PyErr_Occurred()) {
        stem = PyObject_CallOneArg(stem_new, token);
    }
    Py_DECREF(token);
    if (stem == NULL) return -1;
    int failed = PyList_Append(stems, stem);
    Py_DECREF(stem);
    return failed;
}

/* The tokens of an ASCII piece text[start:end], by keywords._TOKEN_RE's rule. */
static int ascii_piece_stems(PyObject *stems, PyObject *text, int kind, const void *data, Py_ssize_t start,
                             Py_ssize_t end, PyObject *cache, PyObject *stem_new) {
    Py_ssize_t i = start;
    while (i < end) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        Py_ssize_t first = i;
        if (ascii_word(c)) {
            while (i < end && ascii_word(PyUnicode_READ(kind, data, i))) i++;
            while (i + 1 < end && PyUnicode_READ(kind, data, i) == '\'' &&
                   ascii_word(PyUnicode_READ(kind, data, i + 1))) {
                i++;
                while (i < end && ascii_word(PyUnicode_READ(kind, data, i))) i++;
            }
        } else if (c == '.' && i + 1 < end && ascii_word(PyUnicode_READ(kind, data, i + 1)) &&
                   (i == start || (!ascii_word(PyUnicode_READ(kind, data, i - 1)) &&
                                   PyUnicode_READ(kind, data, i - 1) != '.'))) {
            i++;
            while (i < end && ascii_word(PyUnicode_READ(kind, data, i))) i++;
        } else {
            i++;
            continue;
        }
        while (i < end && symbol_suffix(PyUnicode_READ(kind, data, i))) i++;
        if (add_stem(stems, text, first, i, cache, stem_new) < 0) return -1;
    }
    return 0;
}

PyObject *c_stems_of(PyObject *module, PyObject *args) {
    (void)module;
    PyObject *text, *cache, *stem_new, *piece_tokens;
    if (!PyArg_ParseTuple(args, "UO!OO:stems_of", &text, &PyDict_Type, &cache, &stem_new, &piece_tokens))
        return NULL;
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), i = 0;
    PyObject *stems = PyList_New(0);
    if (stems == NULL) return NULL;
    while (i < n) {
        while (i < n && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, i))) i++;
        if (i >= n) break;
        Py_ssize_t start = i;
        int alphanumeric = 1, ascii = 1;
        for (; i < n; i++) {
            Py_UCS4 c = PyUnicode_READ(kind, data, i);
            if (Py_UNICODE_ISSPACE(c)) break;
            if (c < 128) {
                alphanumeric &= ascii_word(c) && c != '_';
            } else {
                ascii = 0;
                alphanumeric &= Py_UNICODE_ISALNUM(c) != 0;
            }
        }
        int failed;
        if (alphanumeric) {
            failed = add_stem(stems, text, start, i, cache, stem_new);
        } else if (ascii) {
            failed = ascii_piece_stems(stems, text, kind, data, start, i, cache, stem_new);
        } else {
            PyObject *piece = PyUnicode_Substring(text, start, i), *tokens = NULL;
            failed = piece == NULL || (tokens = PyObject_CallOneArg(piece_tokens, piece)) == NULL;
            Py_XDECREF(piece);
            if (!failed) {
                PyObject *fast = PySequence_Fast(tokens, "piece_tokens must return a sequence");
                failed = fast == NULL;
                for (Py_ssize_t k = 0; !failed && k < PySequence_Fast_GET_SIZE(fast); k++) {
                    PyObject *token = PySequence_Fast_GET_ITEM(fast, k);
                    if (!PyUnicode_Check(token)) {
                        PyErr_SetString(PyExc_TypeError, "piece_tokens must return str tokens");
                        failed = 1;
                    } else {
                        failed = add_stem(stems, token, 0, PyUnicode_GET_LENGTH(token), cache, stem_new) < 0;
                    }
                }
                Py_XDECREF(fast);
            }
            Py_XDECREF(tokens);
        }
        if (failed) {
            Py_DECREF(stems);
            return NULL;
        }
    }
    PyObject *result = PyList_AsTuple(stems);
    Py_DECREF(stems);
    return result;
}
