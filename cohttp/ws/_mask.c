/* cohttp.ws._mask: WebSocket masking (RFC 6455 section 5.3) in C.

   The optional compiled twin of cohttp.ws.protocol._unmask_py: setup.py builds it where a
   C compiler and Python's headers are present, and cohttp.ws.protocol falls back to the
   pure-Python function where they are not. Both compute the same bytes; the tests check
   one against the other.

   unmask(key, buf, start, end) -> bytes
       buf[start:end] XORed with the 4-byte key repeated from start: byte i of the result
       is buf[start + i] ^ key[i % 4]. The key and buf are any objects with the buffer
       protocol (bytes, bytearray, memoryview). */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

static PyObject *
unmask(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 4) {
        PyErr_Format(PyExc_TypeError,
                     "unmask(key, buf, start, end) takes 4 arguments (%zd given)", nargs);
        return NULL;
    }
    Py_ssize_t start = PyLong_AsSsize_t(args[2]);
    if (start == -1 && PyErr_Occurred()) {
        return NULL;
    }
    Py_ssize_t end = PyLong_AsSsize_t(args[3]);
    if (end == -1 && PyErr_Occurred()) {
        return NULL;
    }
    Py_buffer key;
    if (PyObject_GetBuffer(args[0], &key, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    if (key.len != 4) {
        PyErr_Format(PyExc_ValueError, "a masking key is 4 bytes, not %zd", key.len);
        PyBuffer_Release(&key);
        return NULL;
    }
    Py_buffer buf;
    if (PyObject_GetBuffer(args[1], &buf, PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(&key);
        return NULL;
    }
    PyObject *out = NULL;
    if (start < 0 || end < start || end > buf.len) {
        PyErr_Format(PyExc_ValueError, "span %zd:%zd is not within a buffer of %zd bytes",
                     start, end, buf.len);
        goto done;
    }
    Py_ssize_t n = end - start;
    out = PyBytes_FromStringAndSize(NULL, n);
    if (out == NULL) {
        goto done;
    }
    const unsigned char *k = (const unsigned char *)key.buf;
    const unsigned char *src = (const unsigned char *)buf.buf + start;
    unsigned char *dst = (unsigned char *)PyBytes_AS_STRING(out);
    /* The key twice in memory order: XORing 8 bytes at a time keeps byte i against
       key[i % 4] whatever the machine's byte order, since loads and stores go through
       memcpy in that same order. */
    unsigned char twice[8] = {k[0], k[1], k[2], k[3], k[0], k[1], k[2], k[3]};
    uint64_t k8;
    memcpy(&k8, twice, 8);
    Py_ssize_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, src + i, 8);
        v ^= k8;
        memcpy(dst + i, &v, 8);
    }
    for (; i < n; i++) {
        dst[i] = src[i] ^ k[i & 3];
    }
done:
    PyBuffer_Release(&buf);
    PyBuffer_Release(&key);
    return out;
}

static PyMethodDef methods[] = {
    {"unmask", (PyCFunction)(void (*)(void))unmask, METH_FASTCALL,
     "unmask(key, buf, start, end) -> bytes\n\n"
     "buf[start:end] XORed with the 4-byte key repeated from start (RFC 6455 5.3)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef_Slot slots[] = {
#ifdef Py_mod_multiple_interpreters
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
    {0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "cohttp.ws._mask",
    .m_doc = "WebSocket masking (RFC 6455 section 5.3) in C: the compiled twin of "
             "cohttp.ws.protocol._unmask_py.",
    .m_size = 0,
    .m_methods = methods,
    .m_slots = slots,
};

PyMODINIT_FUNC
PyInit__mask(void)
{
    return PyModuleDef_Init(&module_def);
}
