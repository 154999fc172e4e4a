/* dlib: load a shared library on first use (see dlib.h for why). */
#include <dlfcn.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/dlib.h"
#include "base/log.h"
#include "base/banned.h" /* last: after every system header */

/* dlopen returns the same handle for a library already loaded, so two
 * threads racing here both get it; the loser drops its extra reference. */
static void *lib_handle(struct dlib *lib)
{
	void *h = __atomic_load_n(&lib->handle, __ATOMIC_ACQUIRE);
	void *expected = NULL;

	if (h)
		return h;
	/* RTLD_NOW: a library too old for a symbol we need fails here, on
	 * first use, not in the middle of an operation. RTLD_LOCAL keeps its
	 * symbols out of the global scope (ours are the shims). */
	h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return NULL;
	if (!__atomic_compare_exchange_n(&lib->handle, &expected, h, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		dlclose(h);
		h = expected;
	}
	return h;
}

static void report(struct dlib *lib, const char *what)
{
	if (__atomic_exchange_n(&lib->reported, 1, __ATOMIC_ACQ_REL))
		return;
	log_error("cannot load %s (%s); install the Debian package %s", lib->soname, what,
		  lib->package);
}

void *dlib_sym(struct dlib *lib, void **slot, const char *name)
{
	void *h, *p = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	const char *e;

	if (p)
		return p;
	h = lib_handle(lib);
	if (!h) {
		e = dlerror();
		report(lib, e ? e : "dlopen failed");
		return NULL;
	}
	(void)dlerror();
	p = dlsym(h, name);
	if (!p) {
		e = dlerror();
		report(lib, e ? e : name);
		return NULL;
	}
	__atomic_store_n(slot, p, __ATOMIC_RELEASE);
	return p;
}
