/* One pass of C over a document for transforms.readability: the same counts as its
 * pure-Python `_count_document`, which stays the reference (tests compare the two on
 * textstat's cases, the real corpora and generated Unicode text). Built when a C compiler
 * is at hand (module transforms._c_passes, `optional` in pyproject.toml); without it the
 * Python code runs alone.
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

static inline Py_UCS4 char_at(const Text *text, Py_ssize_t i) {
    return PyUnicode_READ(text->kind, text->data, i);
}

static inline int is_word(Py_UCS4 c) {
    if (c < 128) return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    return Py_UNICODE_ISALNUM(c);
}

static inline int is_space(Py_UCS4 c) { return Py_UNICODE_ISSPACE(c); }

static inline int is_sentence_end(Py_UCS4 c) { return c == '.' || c == '!' || c == '?'; }

/* Words in text[start:end): whitespace-separated pieces (str.split), or in exact mode
 * those holding a word character (matches of \w\S*); counting stops after `limit` words,
 * and *stop (when given) is where it stopped: the end of the last word counted, or `end`. */
static Py_ssize_t count_words_until(const Text *text, Py_ssize_t start, Py_ssize_t end, int exact,
                                    Py_ssize_t limit, Py_ssize_t *stop) {
    Py_ssize_t count = 0, i = start;
    while (i < end && count < limit) {
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
    if (stop != NULL) *stop = i;
    return count;
}

static Py_ssize_t count_words(const Text *text, Py_ssize_t start, Py_ssize_t end, int exact) {
    return count_words_until(text, start, end, exact, PY_SSIZE_T_MAX, NULL);
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

/* Sums over a document's tokens: syllables, polysyllables, Dale-Chall hard, Gunning-fog
 * hard and Linsear easy words, over all tokens and over the first `head`. */
typedef struct {
    long long all[5], head[5];
} Totals;

/* The tokens of the text with textstat's punctuation removed (its pieces, less the
 * characters dropped; a piece left empty is no token), summed from `compact`. A token
 * missing from `compact` goes into `missing` (a set) and adds nothing; difficult tokens go
 * into `difficult` (a set: textstat counts them once). Also counts pieces, their
 * characters and the word characters. Returns the number of tokens, -1 on error. */
static Py_ssize_t token_pass(PyObject *source, const Text *text, PyObject *compact, Py_ssize_t head,
                             void *buffer, Totals *totals, PyObject *difficult, PyObject *missing,
                             Py_ssize_t *pieces, Py_ssize_t *characters, Py_ssize_t *letters) {
    Py_ssize_t n = text->length, i = 0, tokens = 0;
    memset(totals, 0, sizeof(*totals));
    *pieces = *characters = *letters = 0;
    while (i < n) {
        while (i < n && is_space(char_at(text, i))) i++;
        if (i >= n) break;
        Py_ssize_t start = i, kept = 0;
        int whole = 1;
        (*pieces)++;
        for (; i < n; i++) {
            Py_UCS4 c = char_at(text, i);
            if (is_space(c)) break;
            int keep = is_word(c);
            *letters += keep;
            if (!keep && c == '\'') keep = kept_apostrophe(text, i);
            if (keep)
                PyUnicode_WRITE(text->kind, buffer, kept++, c);
            else
                whole = 0;
        }
        *characters += i - start;
        if (kept == 0) continue;
        PyObject *token = whole ? PyUnicode_Substring(source, start, i)
                                : PyUnicode_FromKindAndData(text->kind, buffer, kept);
        if (token == NULL) return -1;
        PyObject *value = PyDict_GetItemWithError(compact, token);
        int failed = 0;
        if (value == NULL) {
            failed = PyErr_Occurred() || PySet_Add(missing, token) < 0;
        } else {
            long long packed = PyLong_AsLongLong(value);
            failed = packed == -1 && PyErr_Occurred();
            long long one[5] = {packed >> 5, packed & 1, (packed >> 1) & 1, (packed >> 2) & 1, (packed >> 3) & 1};
            for (int f = 0; f < 5; f++) {
                totals->all[f] += one[f];
                if (tokens < head) totals->head[f] += one[f];
            }
            if (!failed && (packed >> 4) & 1) failed = PySet_Add(difficult, token) < 0;
        }
        Py_DECREF(token);
        if (failed) return -1;
        tokens++;
    }
    return tokens;
}

PyObject *c_count_document(PyObject *module, PyObject *args) {
    (void)module;
    PyObject *source, *compact, *learn;
    Py_ssize_t long_words;
    if (!PyArg_ParseTuple(args, "UO!On:count_document", &source, &PyDict_Type, &compact, &learn, &long_words))
        return NULL;
    Text text = {PyUnicode_KIND(source), PyUnicode_DATA(source), PyUnicode_GET_LENGTH(source)};
    Py_ssize_t n = text.length, i;

    PyObject *difficult = PySet_New(NULL), *missing = PySet_New(NULL), *result = NULL;
    Py_ssize_t *line_words = NULL;
    void *buffer = PyMem_Malloc((n > 0 ? n : 1) * text.kind);
    if (difficult == NULL || missing == NULL) goto done;
    if (buffer == NULL) {
        PyErr_NoMemory();
        goto done;
    }

    int exact = has_punctuation_piece(&text);
    Totals totals;
    Py_ssize_t pieces, characters, letters;
    /* Linsear Write reads the first 100 words when the text has more than 100 pieces and at
     * least 100 words; the token pass learns which after it. */
    Py_ssize_t words = token_pass(source, &text, compact, 100, buffer, &totals, difficult, missing, &pieces,
                                  &characters, &letters);
    if (words < 0) goto done;
    /* New words: the lexicon learns them, then the tokens are counted again. Another thread
     * may clear a full lexicon between the two (the thread task runner), hence a few tries. */
    for (int tries = 0; PySet_GET_SIZE(missing) > 0; tries++) {
        if (tries == 3) {
            PyErr_SetString(PyExc_KeyError, "count_document: learn() left a token unknown");
            goto done;
        }
        PyObject *learned = PyObject_CallOneArg(learn, missing);
        if (learned == NULL) goto done;
        Py_DECREF(learned);
        if (PySet_Clear(missing) < 0 || PySet_Clear(difficult) < 0) goto done;
        words = token_pass(source, &text, compact, 100, buffer, &totals, difficult, missing, &pieces,
                           &characters, &letters);
        if (words < 0) goto done;
    }
    Py_ssize_t end = n;
    long long *head = totals.all;
    if (pieces > 100 && words >= 100) {
        count_words_until(&text, 0, n, exact, 100, &end); /* Linsear Write's first 100 words */
        head = totals.head;
    }

    Py_ssize_t counted = 0, long_sentences = 0, linsear_counted = 0, unused = 0;
    count_sentences(&text, n, exact, long_words, &counted, &long_sentences);
    if (end == n)
        linsear_counted = counted;
    else
        count_sentences(&text, end, exact, long_words, &linsear_counted, &unused);

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

    result = Py_BuildValue("(nnnnLLLLnnnnLLnnn)", words, n ? (counted > 1 ? counted : 1) : 0, counted,
                           long_sentences, totals.all[0], totals.all[1], totals.all[3], totals.all[2],
                           PySet_GET_SIZE(difficult), letters, characters, pieces, head[4], head[1],
                           pieces ? (linsear_counted > 1 ? linsear_counted : 1) : 0, longest_paragraph,
                           longest_section(&text, line_words, lines));

done:
    PyMem_Free(line_words);
    PyMem_Free(buffer);
    Py_XDECREF(difficult);
    Py_XDECREF(missing);
    return result;
}
