/* One pass of C over a document for transforms.readability: the same counts as its
 * pure-Python `_count_document`, which stays the reference (tests compare the two on
 * textstat's cases, the real corpora and generated Unicode text). Built when a C compiler
 * is at hand (`optional` in pyproject.toml); without it the Python code runs alone.
 *
 * The regular expressions of the Python code, as character rules (Python's `re` on str:
 * \w is str.isalnum() or '_', \s is str.isspace()):
 *   _NONCONTRACTION_APOSTROPHE  '(?![tsd]|ve|ll|re)  dropped, in the original text
 *   _PUNCTUATION                [^\w\s']             dropped
 *   _SENTENCE                   \b[^.!?]+[.!?]*      segments
 *   _WORD_PIECE                 \w\S*                one per whitespace-separated piece
 *                                                    holding a word character
 *   _PUNCTUATION_PIECE          a piece whose leading run of [^\w\s] characters holds
 *                               a sentence end or is the whole piece
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

typedef struct {
    int kind;
    const void *data;
    Py_ssize_t length;
} Text;

static unsigned char ascii_word[128];

static inline Py_UCS4 char_at(const Text *text, Py_ssize_t i) {
    return PyUnicode_READ(text->kind, text->data, i);
}

static inline int is_word(Py_UCS4 c) {
    if (c < 128) return ascii_word[c];
    return Py_UNICODE_ISALNUM(c);
}

static inline int is_space(Py_UCS4 c) { return Py_UNICODE_ISSPACE(c); }

static inline int is_sentence_end(Py_UCS4 c) { return c == '.' || c == '!' || c == '?'; }

/* Words in text[start:end): whitespace-separated pieces (str.split), or in exact mode
 * those holding a word character (matches of \w\S*). */
static Py_ssize_t count_words(const Text *text, Py_ssize_t start, Py_ssize_t end, int exact) {
    Py_ssize_t count = 0, i = start;
    while (i < end) {
        while (i < end && is_space(char_at(text, i))) i++;
        if (i >= end) break;
        int has_word = 0;
        while (i < end) {
            Py_UCS4 c = char_at(text, i);
            if (is_space(c)) break;
            has_word |= is_word(c);
            i++;
        }
        count += exact ? has_word : 1;
    }
    return count;
}

/* textstat's sentences in text[0:end): segments of more than two words, and how many of
 * those have more than long_words words. */
static void count_sentences(const Text *text, Py_ssize_t end, int exact, Py_ssize_t long_words,
                            Py_ssize_t *counted, Py_ssize_t *long_sentences) {
    Py_ssize_t p = 0;
    int previous_is_word = 0;
    *counted = 0;
    *long_sentences = 0;
    while (p < end) {
        Py_UCS4 c = char_at(text, p);
        int word = is_word(c);
        if (word == previous_is_word || is_sentence_end(c)) { /* no \b here, or no [^.!?] */
            previous_is_word = word;
            p++;
            continue;
        }
        Py_ssize_t q = p;
        while (q < end && !is_sentence_end(char_at(text, q))) q++;
        while (q < end && is_sentence_end(char_at(text, q))) q++;
        Py_ssize_t words = count_words(text, p, q, exact);
        if (words > 2) {
            (*counted)++;
            if (words > long_words) (*long_sentences)++;
        }
        previous_is_word = is_word(char_at(text, q - 1));
        p = q;
    }
}

/* Whether a piece of punctuation alone, or one a sentence end splits off, is in the text:
 * a piece whose leading run of characters that are neither word nor space holds a
 * sentence end, or is the whole piece. */
static int has_punctuation_piece(const Text *text) {
    Py_ssize_t i = 0, n = text->length;
    while (i < n) {
        while (i < n && is_space(char_at(text, i))) i++;
        Py_ssize_t run_start = i;
        while (i < n) {
            Py_UCS4 c = char_at(text, i);
            if (is_space(c) || is_word(c)) break;
            if (is_sentence_end(c)) return 1;
            i++;
        }
        if (i > run_start && (i >= n || is_space(char_at(text, i)))) return 1;
        while (i < n && !is_space(char_at(text, i))) i++;
    }
    return 0;
}

/* An apostrophe kept by textstat's punctuation removal: followed by t, s, d, ve, ll, re. */
static int kept_apostrophe(const Text *text, Py_ssize_t i) {
    Py_ssize_t n = text->length;
    if (i + 1 >= n) return 0;
    Py_UCS4 next = char_at(text, i + 1);
    if (next == 't' || next == 's' || next == 'd') return 1;
    if (i + 2 >= n) return 0;
    Py_UCS4 after = char_at(text, i + 2);
    return (next == 'v' && after == 'e') || (next == 'l' && after == 'l') || (next == 'r' && after == 'e');
}

/* Words of the longest SECTION_BREAK-separated section ("\n\n\n"), from the words of each
 * line: a section of k lines is followed by the break's two empty lines. */
static Py_ssize_t longest_section(const Text *text, const Py_ssize_t *line_words, Py_ssize_t lines) {
    Py_ssize_t n = text->length, position = 0, first_line = 0, longest = 0;
    for (;;) {
        Py_ssize_t brk = -1, newlines = 0, i;
        for (i = position; i < n; i++) {
            if (char_at(text, i) != '\n') continue;
            if (i + 2 < n && char_at(text, i + 1) == '\n' && char_at(text, i + 2) == '\n') {
                brk = i;
                break;
            }
            newlines++;
        }
        Py_ssize_t section_lines = newlines + 1, words = 0;
        for (Py_ssize_t k = first_line; k < first_line + section_lines && k < lines; k++) words += line_words[k];
        if (words > longest) longest = words;
        first_line += section_lines + 2;
        if (brk < 0) break;
        position = brk + 3;
    }
    return longest;
}

/* Adds a token's packed counts to sum[5]; 1, 0 when the token is not in `compact`, -1 on error. */
static int add_packed(PyObject *compact, PyObject *token, long long *sum) {
    PyObject *value = PyDict_GetItemWithError(compact, token);
    if (value == NULL) return PyErr_Occurred() ? -1 : 0;
    long long packed = PyLong_AsLongLong(value);
    if (packed == -1 && PyErr_Occurred()) return -1;
    sum[0] += packed >> 4;       /* syllables */
    sum[1] += packed & 1;        /* polysyllable */
    sum[2] += (packed >> 1) & 1; /* Dale-Chall hard */
    sum[3] += (packed >> 2) & 1; /* Gunning-fog hard */
    sum[4] += (packed >> 3) & 1; /* Linsear easy */
    return 1;
}

/* Totals of the tokens' packed counts, over all tokens and over the first `head`.
 * Returns 1, 0 when a token is not in `compact`, -1 on error. */
static int sum_tokens(PyObject *compact, PyObject *tokens, Py_ssize_t head, long long *totals,
                      long long *head_totals) {
    Py_ssize_t count = PyList_GET_SIZE(tokens);
    for (int f = 0; f < 5; f++) totals[f] = head_totals[f] = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        long long one[5] = {0, 0, 0, 0, 0};
        int found = add_packed(compact, PyList_GET_ITEM(tokens, i), one);
        if (found <= 0) return found;
        for (int f = 0; f < 5; f++) {
            totals[f] += one[f];
            if (i < head) head_totals[f] += one[f];
        }
    }
    return 1;
}

static PyObject *count_document(PyObject *module, PyObject *args) {
    (void)module;
    PyObject *source, *compact, *difficult, *learn;
    Py_ssize_t long_words;
    if (!PyArg_ParseTuple(args, "UO!O!On:count_document", &source, &PyDict_Type, &compact, &PyDict_Type,
                          &difficult, &learn, &long_words))
        return NULL;
    Text text = {PyUnicode_KIND(source), PyUnicode_DATA(source), PyUnicode_GET_LENGTH(source)};
    Py_ssize_t n = text.length;

    PyObject *tokens = PyList_New(0), *distinct = PySet_New(NULL), *result = NULL;
    Py_ssize_t *line_words = NULL;
    void *buffer = NULL;
    if (tokens == NULL || distinct == NULL) goto done;
    buffer = PyMem_Malloc((n > 0 ? n : 1) * text.kind);
    if (buffer == NULL) {
        PyErr_NoMemory();
        goto done;
    }

    /* Pieces, characters, letters and the tokens of the punctuation-free text. */
    Py_ssize_t pieces = 0, characters = 0, letters = 0, i = 0;
    while (i < n) {
        while (i < n && is_space(char_at(&text, i))) i++;
        if (i >= n) break;
        Py_ssize_t start = i, kept = 0;
        int whole = 1;
        pieces++;
        for (; i < n; i++) {
            Py_UCS4 c = char_at(&text, i);
            if (is_space(c)) break;
            int keep = is_word(c);
            letters += keep;
            if (!keep && c == '\'') keep = kept_apostrophe(&text, i);
            if (keep)
                PyUnicode_WRITE(text.kind, buffer, kept++, c);
            else
                whole = 0;
        }
        characters += i - start;
        if (kept == 0) continue;
        PyObject *token = whole ? PyUnicode_Substring(source, start, i)
                                : PyUnicode_FromKindAndData(text.kind, buffer, kept);
        if (token == NULL) goto done;
        int failed = PyList_Append(tokens, token) < 0 || PySet_Add(distinct, token) < 0;
        Py_DECREF(token);
        if (failed) goto done;
    }
    Py_ssize_t words = PyList_GET_SIZE(tokens);

    int exact = has_punctuation_piece(&text);

    /* Linsear Write: the first 100 words, and the text up to the 100th word. */
    Py_ssize_t head = words, linsear_end = n;
    if (pieces > 100 && words >= 100) {
        head = 100;
        Py_ssize_t seen = 0;
        i = 0;
        while (i < n && seen < 100) {
            while (i < n && is_space(char_at(&text, i))) i++;
            if (i >= n) break;
            int has_word = 0;
            while (i < n && !is_space(char_at(&text, i))) has_word |= is_word(char_at(&text, i++));
            seen += exact ? has_word : 1;
        }
        linsear_end = i;
    }

    long long totals[5], head_totals[5];
    int found = sum_tokens(compact, tokens, head, totals, head_totals);
    if (found == 0) { /* new words: the lexicon learns them, once */
        PyObject *learned = PyObject_CallOneArg(learn, distinct);
        if (learned == NULL) goto done;
        Py_DECREF(learned);
        found = sum_tokens(compact, tokens, head, totals, head_totals);
        if (found == 0) {
            PyErr_SetString(PyExc_KeyError, "count_document: learn() left a token unknown");
            goto done;
        }
    }
    if (found < 0) goto done;

    Py_ssize_t difficult_words = 0;
    PyObject *iterator = PyObject_GetIter(distinct), *token;
    if (iterator == NULL) goto done;
    while ((token = PyIter_Next(iterator)) != NULL) {
        PyObject *value = PyDict_GetItemWithError(difficult, token);
        Py_DECREF(token);
        if (value == NULL) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_KeyError, "count_document: a token without difficulty");
            break;
        }
        difficult_words += PyLong_AsSsize_t(value);
        if (PyErr_Occurred()) break;
    }
    Py_DECREF(iterator);
    if (PyErr_Occurred()) goto done;

    Py_ssize_t counted = 0, long_sentences = 0, linsear_counted = 0, unused = 0;
    count_sentences(&text, n, exact, long_words, &counted, &long_sentences);
    if (linsear_end == n)
        linsear_counted = counted;
    else
        count_sentences(&text, linsear_end, exact, long_words, &linsear_counted, &unused);

    /* Words per line (split on "\n"). */
    Py_ssize_t lines = 1;
    for (i = 0; i < n; i++) lines += char_at(&text, i) == '\n';
    line_words = PyMem_Malloc(lines * sizeof(Py_ssize_t));
    if (line_words == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t line = 0, line_start = 0, longest_paragraph = 0;
    for (i = 0; i <= n; i++) {
        if (i < n && char_at(&text, i) != '\n') continue;
        line_words[line] = count_words(&text, line_start, i, exact);
        if (line_words[line] > longest_paragraph) longest_paragraph = line_words[line];
        line++;
        line_start = i + 1;
    }

    result = Py_BuildValue(
        "(nnnnLLLLnnnnLLnnn)", words, n ? (counted > 1 ? counted : 1) : 0, counted, long_sentences,
        totals[0], totals[1], totals[3], totals[2], difficult_words, letters, characters, pieces,
        head_totals[4], head_totals[1], pieces ? (linsear_counted > 1 ? linsear_counted : 1) : 0,
        longest_paragraph, longest_section(&text, line_words, lines));

done:
    PyMem_Free(line_words);
    PyMem_Free(buffer);
    Py_XDECREF(tokens);
    Py_XDECREF(distinct);
    return result;
}

static PyMethodDef methods[] = {
    {"count_document", count_document, METH_VARARGS,
     "count_document(text, compact, difficult, learn, long_sentence_words) -> tuple\n\n"
     "transforms.readability.DocumentCounts of one text, as its _count_document computes them.\n"
     "compact: token -> syllables << 4 | polysyllable | Dale-Chall hard << 1 | Gunning-fog hard << 2\n"
     "| Linsear easy << 3; difficult: token -> 1 or 0; learn(set_of_tokens) fills both for\n"
     "tokens they lack."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_definition = {
    PyModuleDef_HEAD_INIT, "transforms._readability_counts",
    "C pass of transforms.readability's per-document counts.", -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__readability_counts(void) {
    for (int c = 0; c < 128; c++)
        ascii_word[c] = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    return PyModule_Create(&module_definition);
}
