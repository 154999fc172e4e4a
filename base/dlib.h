/* dlib: load a shared library on first use instead of at process start.
 *
 * libarchive, libcurl and libnftables pull in ~40 more libraries (libxml2
 * and ICU, krb5, gnutls, ldap, gmp, ...) that the dynamic loader would map
 * and relocate on every start of mydocker, twice per `run` (sealed re-exec),
 * although only image, registry and network commands call them. Their
 * shims (image/archive_shim.c, image/curl_shim.c, runtime/net/nft_shim.c)
 * define the functions we call with the library's own prototypes and
 * forward to the real ones, resolved with dlopen/dlsym on the first call.
 *
 * A library that cannot be loaded is reported once on stderr (what to
 * install); its constructors (archive_read_new, curl_easy_init,
 * nft_ctx_new, ...) then return their failure value, which every caller
 * already handles, and nothing else is reachable without their result.
 *
 * Never let a shim's first call happen after entering a container's mount
 * namespace or root: dlopen would search the container's /usr/lib. All
 * three are used only by host-side code (image/, runtime/net/nat.c). */
#ifndef MYDOCKER_BASE_DLIB_H
#define MYDOCKER_BASE_DLIB_H

struct dlib {
	const char *soname;  /* "libcurl.so.4": the ABI we compiled against */
	const char *package; /* the Debian package that ships it */
	void *handle;        /* from dlopen; read and written atomically */
	int reported;        /* the load error was printed */
};

#define DLIB_INIT(soname, package)           \
	{                                    \
		(soname), (package), NULL, 0 \
	}

/* The address of name in lib, cached in *slot (one static per function):
 * loads lib on first use. NULL, after one error line on stderr per
 * library, if the library or the symbol cannot be found. Thread-safe. */
void *dlib_sym(struct dlib *lib, void **slot, const char *name);

/* Define `ret name params` forwarding args to lib's name, or returning
 * fallback if it cannot be resolved. params must name every argument. */
#define DLIB_FORWARD(lib, fallback, ret, name, params, args)                     \
	ret name params                                                          \
	{                                                                        \
		static void *slot;                                               \
		ret(*fn) params = (ret(*) params)dlib_sym(&(lib), &slot, #name); \
		if (!fn)                                                         \
			return fallback;                                         \
		return fn args;                                                  \
	}

/* The same for functions returning void. */
#define DLIB_FORWARD_VOID(lib, name, params, args)                                 \
	void name params                                                           \
	{                                                                          \
		static void *slot;                                                 \
		void(*fn) params = (void(*) params)dlib_sym(&(lib), &slot, #name); \
		if (fn)                                                            \
			fn args;                                                   \
	}

#endif
