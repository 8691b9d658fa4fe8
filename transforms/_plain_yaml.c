/* transforms.plain_yaml's reader of plain front matter, in C: the same dict, or None where
 * the header needs PyYAML, as `_read_plain_yaml_in_python` returns (the reference: tests
 * compare the two, and hold both to PyYAML). Built when a C compiler is at hand (module
 * transforms._c_passes, `optional` in pyproject.toml); without it the Python reader runs alone.
 *
 * Its regular expressions, as character rules:
 *   _KEY_LINE      ( *)([A-Za-z0-9_][A-Za-z0-9_. /-]*):(?: +(.*))?\Z
 *   _PLAIN_SCALAR  a first character that is no indicator, no ": " or " #" inside, and a
 *                  last character that is not ':' or ' '
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define PLAIN 0
#define NOT_PLAIN 1
#define FAILED (-1)
#define MAX_DEPTH 8

typedef struct {
    Py_ssize_t start, end;
} Span;

typedef struct {
    PyObject *text;
    int kind;
    const void *data;
    Span *lines;
    Py_ssize_t count;
} Header;

static inline Py_UCS4 at(const Header *h, Py_ssize_t i) { return PyUnicode_READ(h->kind, h->data, i); }

static inline int key_first(Py_UCS4 c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

static inline int key_char(Py_UCS4 c) { return key_first(c) || c == '.' || c == ' ' || c == '/' || c == '-'; }

/* Characters PyYAML decides about: outside YAML's printable set, \x85, \u2028, \u2029, a BOM. */
static inline int unusual(Py_UCS4 c) {
    if (c == '\n') return 0;
    if (c < 0x20 || c == 0x7f) return 1;
    if (c < 0x7f) return 0;
    if (c < 0xa0) return 1;
    if (c <= 0x2027) return 0;
    if (c < 0x202a) return 1;
    if (c <= 0xd7ff) return 0;
    if (c < 0xe000) return 1;
    if (c <= 0xfefe) return 0;
    if (c < 0xff00) return 1;
    if (c <= 0xfffd) return 0;
    return c < 0x10000;
}

static Py_ssize_t indent_of(const Header *h, Py_ssize_t line) {
    Py_ssize_t i = h->lines[line].start;
    while (i < h->lines[line].end && at(h, i) == ' ') i++;
    return i - h->lines[line].start;
}

static int is_blank(const Header *h, Py_ssize_t line) { return h->lines[line].start == h->lines[line].end; }

/* Indent of the next non-empty line from `start`; -1 at the end. */
static Py_ssize_t next_indent(const Header *h, Py_ssize_t start) {
    for (Py_ssize_t line = start; line < h->count; line++)
        if (!is_blank(h, line)) return indent_of(h, line);
    return -1;
}

static int equals_ascii(const Header *h, Py_ssize_t start, Py_ssize_t end, const char *word) {
    Py_ssize_t n = (Py_ssize_t)strlen(word);
    if (end - start != n) return 0;
    for (Py_ssize_t i = 0; i < n; i++)
        if (at(h, start + i) != (Py_UCS4)(unsigned char)word[i]) return 0;
    return 1;
}

static int null_word(const Header *h, Py_ssize_t start, Py_ssize_t end) {
    return equals_ascii(h, start, end, "~") || equals_ascii(h, start, end, "null") ||
           equals_ascii(h, start, end, "Null") || equals_ascii(h, start, end, "NULL");
}

/* A `>-` (folded: `joiner` ' ') or `|-` (literal: '\n') block scalar from line `start`. */
static int read_block(const Header *h, Py_ssize_t start, Py_ssize_t indent, Py_UCS4 joiner, PyObject **out,
                      Py_ssize_t *end) {
    if (start >= h->count) return NOT_PLAIN;
    Py_ssize_t content_indent = indent_of(h, start);
    Py_ssize_t first_length = h->lines[start].end - h->lines[start].start;
    if (content_indent <= indent || content_indent == first_length) return NOT_PLAIN;
    Py_ssize_t line = start, length = 0;
    Py_UCS4 widest = joiner;
    while (line < h->count) {
        Span s = h->lines[line];
        if (s.end - s.start < content_indent || indent_of(h, line) < content_indent) break;
        if (s.end - s.start == content_indent || at(h, s.start + content_indent) == ' ') return NOT_PLAIN;
        for (Py_ssize_t i = s.start + content_indent; i < s.end; i++)
            if (at(h, i) > widest) widest = at(h, i);
        length += s.end - s.start - content_indent + (line > start);
        line++;
    }
    if (line < h->count && (is_blank(h, line) || (at(h, h->lines[line].start) == ' ' && indent_of(h, line) > indent)))
        return NOT_PLAIN;
    PyObject *value = PyUnicode_New(length, widest);
    if (value == NULL) return FAILED;
    int kind = PyUnicode_KIND(value);
    void *data = PyUnicode_DATA(value);
    Py_ssize_t k = 0;
    for (Py_ssize_t l = start; l < line; l++) {
        if (l > start) PyUnicode_WRITE(kind, data, k++, joiner);
        for (Py_ssize_t i = h->lines[l].start + content_indent; i < h->lines[l].end; i++)
            PyUnicode_WRITE(kind, data, k++, at(h, i));
    }
    *out = value;
    *end = line;
    return PLAIN;
}

/* A one-line scalar text[start:end) (not empty): quoted, plain, or a null word (None). */
static int read_scalar(const Header *h, Py_ssize_t start, Py_ssize_t end, PyObject **out) {
    Py_UCS4 first = at(h, start);
    if (first == '"' || first == '\'') {
        if (end - start < 2 || at(h, end - 1) != first) return NOT_PLAIN;
        if (first == '"') {
            for (Py_ssize_t i = start + 1; i < end - 1; i++)
                if (at(h, i) == '"' || at(h, i) == '\\') return NOT_PLAIN;
            *out = PyUnicode_Substring(h->text, start + 1, end - 1);
            return *out == NULL ? FAILED : PLAIN;
        }
        int doubled = 0;
        for (Py_ssize_t i = start + 1; i < end - 1; i++) {
            if (at(h, i) != '\'') continue;
            if (i + 1 < end - 1 && at(h, i + 1) == '\'') {
                doubled = 1;
                i++;
            } else {
                return NOT_PLAIN;
            }
        }
        PyObject *inner = PyUnicode_Substring(h->text, start + 1, end - 1);
        if (inner == NULL || !doubled) {
            *out = inner;
            return inner == NULL ? FAILED : PLAIN;
        }
        *out = PyObject_CallMethod(inner, "replace", "ss", "''", "'");
        Py_DECREF(inner);
        return *out == NULL ? FAILED : PLAIN;
    }
    if (first < 128 && first != 0 && strchr("-?:,[]{}#&*!|>'\"%@` ", (int)first) != NULL) return NOT_PLAIN;
    for (Py_ssize_t i = start + 1; i + 1 < end; i++) {
        Py_UCS4 c = at(h, i), next = at(h, i + 1);
        if ((c == ':' && next == ' ') || (c == ' ' && next == '#')) return NOT_PLAIN;
    }
    Py_UCS4 last = at(h, end - 1);
    if (last == ':' || last == ' ') return NOT_PLAIN;
    if (null_word(h, start, end)) {
        Py_INCREF(Py_None);
        *out = Py_None;
        return PLAIN;
    }
    *out = PyUnicode_Substring(h->text, start, end);
    return *out == NULL ? FAILED : PLAIN;
}

/* The mapping whose keys sit at `indent` from line `start`; *end: the first line after it. */
static int read_mapping(const Header *h, Py_ssize_t start, Py_ssize_t indent, int depth, PyObject **out,
                        Py_ssize_t *end) {
    if (depth > MAX_DEPTH) return NOT_PLAIN;
    PyObject *mapping = PyDict_New();
    if (mapping == NULL) return FAILED;
    Py_ssize_t line = start;
    int status = PLAIN;
    while (line < h->count) {
        if (is_blank(h, line)) {
            line++;
            continue;
        }
        Span s = h->lines[line];
        Py_ssize_t i = s.start;
        while (i < s.end && at(h, i) == ' ') i++;
        Py_ssize_t line_indent = i - s.start, key_start = i;
        if (i >= s.end || !key_first(at(h, i))) {
            status = NOT_PLAIN;
            break;
        }
        while (i < s.end && key_char(at(h, i))) i++;
        if (i >= s.end || at(h, i) != ':') {
            status = NOT_PLAIN;
            break;
        }
        Py_ssize_t key_end = i++, value_start = s.end, value_end = s.end;
        if (i < s.end) {
            if (at(h, i) != ' ') {
                status = NOT_PLAIN;
                break;
            }
            while (i < s.end && at(h, i) == ' ') i++;
            value_start = i;
            while (value_end > value_start && at(h, value_end - 1) == ' ') value_end--;
        }
        if (line_indent < indent) break;
        if (line_indent > indent || at(h, key_end - 1) == ' ' || null_word(h, key_start, key_end)) {
            status = NOT_PLAIN;
            break;
        }
        PyObject *key = PyUnicode_Substring(h->text, key_start, key_end), *value = NULL;
        if (key == NULL) {
            status = FAILED;
            break;
        }
        int seen = PyDict_Contains(mapping, key);
        if (seen != 0) {
            Py_DECREF(key);
            status = seen < 0 ? FAILED : NOT_PLAIN;
            break;
        }
        line++;
        int folded = equals_ascii(h, value_start, value_end, ">-"), literal = equals_ascii(h, value_start, value_end, "|-");
        if (folded || literal) {
            status = read_block(h, line, indent, folded ? ' ' : '\n', &value, &line);
        } else {
            Py_ssize_t following = next_indent(h, line);
            if (value_start == value_end) {
                if (following > indent) {
                    status = read_mapping(h, line, following, depth + 1, &value, &line);
                } else {
                    Py_INCREF(Py_None);
                    value = Py_None;
                }
            } else if (following > indent) {
                status = NOT_PLAIN;
            } else {
                status = read_scalar(h, value_start, value_end, &value);
            }
        }
        if (status == PLAIN && PyDict_SetItem(mapping, key, value) < 0) status = FAILED;
        Py_DECREF(key);
        Py_XDECREF(value);
        if (status != PLAIN) break;
    }
    if (status != PLAIN) {
        Py_DECREF(mapping);
        return status;
    }
    *out = mapping;
    *end = line;
    return PLAIN;
}

PyObject *c_read_plain_yaml(PyObject *module, PyObject *text) {
    (void)module;
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "read_plain_yaml: the header must be a str");
        return NULL;
    }
    Header h = {text, PyUnicode_KIND(text), PyUnicode_DATA(text), NULL, 0};
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), lines = 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = at(&h, i);
        if (unusual(c)) Py_RETURN_NONE;
        lines += c == '\n';
    }
    h.lines = PyMem_Malloc(lines * sizeof(Span));
    if (h.lines == NULL) return PyErr_NoMemory();
    Py_ssize_t start = 0;
    for (Py_ssize_t i = 0; i <= n; i++) {
        if (i < n && at(&h, i) != '\n') continue;
        h.lines[h.count++] = (Span){start, i};
        start = i + 1;
    }
    PyObject *mapping = NULL;
    Py_ssize_t end = 0;
    int status = read_mapping(&h, 0, 0, 0, &mapping, &end);
    PyMem_Free(h.lines);
    if (status == FAILED) return NULL;
    if (status == NOT_PLAIN || end != h.count) {
        Py_XDECREF(mapping);
        Py_RETURN_NONE;
    }
    return mapping;
}
