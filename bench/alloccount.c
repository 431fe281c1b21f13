/* _alloccount: count every allocation CPython makes, optionally keeping freed blocks.
 *
 * Built by bench/alloc.py (gcc, the interpreter's headers) into bench/results/build/.
 * install() wraps the RAW, MEM and OBJ allocator domains with counters of
 * malloc/calloc/realloc calls. With keep=1, free() is a no-op while installed,
 * so a tracemalloc started before install() keeps a trace of every block
 * allocated in the window, freed or not: that is how the bench attributes
 * transient allocations to file:line. uninstall() restores the allocators.
 * Not thread-safe beyond the GIL; the bench calls it from one thread.
 */
#include <Python.h>

static PyMemAllocatorEx orig[3];
static unsigned long long counts[3];
static int installed = 0;
static int keep = 0;

#define DOMAIN(ctx) ((int)(Py_intptr_t)(ctx))

static void *h_malloc(void *ctx, size_t n) {
    int d = DOMAIN(ctx);
    counts[d]++;
    return orig[d].malloc(orig[d].ctx, n);
}

static void *h_calloc(void *ctx, size_t e, size_t n) {
    int d = DOMAIN(ctx);
    counts[d]++;
    return orig[d].calloc(orig[d].ctx, e, n);
}

static void *h_realloc(void *ctx, void *p, size_t n) {
    int d = DOMAIN(ctx);
    counts[d]++;
    return orig[d].realloc(orig[d].ctx, p, n);
}

static void h_free(void *ctx, void *p) {
    int d = DOMAIN(ctx);
    if (!keep)
        orig[d].free(orig[d].ctx, p);
}

static const PyMemAllocatorDomain domains[3] = {PYMEM_DOMAIN_RAW, PYMEM_DOMAIN_MEM, PYMEM_DOMAIN_OBJ};

static PyObject *install(PyObject *self, PyObject *args) {
    int k = 0;
    if (!PyArg_ParseTuple(args, "|i", &k))
        return NULL;
    if (installed) {
        PyErr_SetString(PyExc_RuntimeError, "already installed");
        return NULL;
    }
    for (int i = 0; i < 3; i++) {
        PyMemAllocatorEx a;
        PyMem_GetAllocator(domains[i], &orig[i]);
        a.ctx = (void *)(Py_intptr_t)i;
        a.malloc = h_malloc;
        a.calloc = h_calloc;
        a.realloc = h_realloc;
        a.free = h_free;
        counts[i] = 0;
        PyMem_SetAllocator(domains[i], &a);
    }
    keep = k;
    installed = 1;
    Py_RETURN_NONE;
}

static PyObject *uninstall(PyObject *self, PyObject *args) {
    if (installed) {
        for (int i = 0; i < 3; i++)
            PyMem_SetAllocator(domains[i], &orig[i]);
        installed = 0;
        keep = 0;
    }
    Py_RETURN_NONE;
}

static PyObject *get_counts(PyObject *self, PyObject *args) {
    return Py_BuildValue("(KKK)", counts[0], counts[1], counts[2]);
}

static PyMethodDef methods[] = {
    {"install", install, METH_VARARGS, "install(keep=0): count allocations; keep=1 makes free a no-op"},
    {"uninstall", uninstall, METH_NOARGS, "restore the previous allocators"},
    {"counts", get_counts, METH_NOARGS, "(raw, mem, obj) allocation calls since install"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "_alloccount", NULL, -1, methods};

PyMODINIT_FUNC PyInit__alloccount(void) { return PyModule_Create(&mod); }
