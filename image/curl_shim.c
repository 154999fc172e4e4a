/* curl_shim: libcurl loaded on first use, not at start-up.
 *
 * Debian's libcurl4 (OpenSSL flavour) brings ~25 libraries: krb5, ldap,
 * sasl, gnutls (for libssh2/rtmp), nghttp2, ssh2, rtmp, psl, idn2,
 * brotli ...; only registry commands (pull, push, login) need them. See
 * base/dlib.h for the scheme; the binary links no -lcurl, so a call to a
 * function not listed here fails to link: add one line for it, with the
 * prototype of <curl/curl.h>. */
#include <stdarg.h>
#include <stddef.h>

/* typecheck-gcc.h turns curl_easy_setopt/getinfo into macros, which
 * would swallow the definitions below. Callers keep the type checks. */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>

#include "base/dlib.h"
#include "base/banned.h" /* last: after every system header */

/* The soname of libcurl 7.16 and later (libcurl4 / libcurl3-gnutls differ
 * in TLS backend only; we build against libcurl4-openssl-dev). */
static struct dlib libcurl = DLIB_INIT("libcurl.so.4", "libcurl4");

typedef CURLcode (*setopt_fn)(CURL *, CURLoption, ...);
typedef CURLcode (*getinfo_fn)(CURL *, CURLINFO, ...);

/* A C variadic cannot be forwarded as is: read the value with the type the
 * option's number range announces, as curl's own Curl_vsetopt does. */
CURLcode curl_easy_setopt(CURL *c, CURLoption opt, ...)
{
	static void *slot;
	setopt_fn fn = (setopt_fn)dlib_sym(&libcurl, &slot, "curl_easy_setopt");
	CURLcode rc;
	va_list ap;

	if (!fn)
		return CURLE_FAILED_INIT;
	va_start(ap, opt);
	if (opt < CURLOPTTYPE_OBJECTPOINT)
		rc = fn(c, opt, va_arg(ap, long));
	else if (opt < CURLOPTTYPE_FUNCTIONPOINT)
		rc = fn(c, opt, va_arg(ap, void *));
	else if (opt < CURLOPTTYPE_OFF_T)
		rc = fn(c, opt, va_arg(ap, void (*)(void)));
	else if (opt < CURLOPTTYPE_BLOB)
		rc = fn(c, opt, va_arg(ap, curl_off_t));
	else
		rc = fn(c, opt, va_arg(ap, struct curl_blob *));
	va_end(ap);
	return rc;
}

/* Every CURLINFO takes a pointer to where the answer goes. */
CURLcode curl_easy_getinfo(CURL *c, CURLINFO info, ...)
{
	static void *slot;
	getinfo_fn fn = (getinfo_fn)dlib_sym(&libcurl, &slot, "curl_easy_getinfo");
	CURLcode rc;
	va_list ap;

	if (!fn)
		return CURLE_FAILED_INIT;
	va_start(ap, info);
	rc = fn(c, info, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

/* Generated from the prototypes (gcc -aux-info); arguments a0, a1, ... */
DLIB_FORWARD_VOID(libcurl, curl_easy_cleanup, (CURL * a0), (a0))
DLIB_FORWARD(libcurl, NULL, char *, curl_easy_escape, (CURL * a0, const char *a1, int a2),
	     (a0, a1, a2))
DLIB_FORWARD(libcurl, NULL, CURL *, curl_easy_init, (void), ())
DLIB_FORWARD(libcurl, CURLE_FAILED_INIT, CURLcode, curl_easy_perform, (CURL * a0), (a0))
DLIB_FORWARD_VOID(libcurl, curl_easy_reset, (CURL * a0), (a0))
DLIB_FORWARD(libcurl, NULL, const char *, curl_easy_strerror, (CURLcode a0), (a0))
DLIB_FORWARD_VOID(libcurl, curl_free, (void *a0), (a0))
DLIB_FORWARD(libcurl, CURLE_FAILED_INIT, CURLcode, curl_global_init, (long int a0), (a0))
DLIB_FORWARD(libcurl, CURLM_INTERNAL_ERROR, CURLMcode, curl_multi_add_handle,
	     (CURLM * a0, CURL *a1), (a0, a1))
DLIB_FORWARD(libcurl, CURLM_INTERNAL_ERROR, CURLMcode, curl_multi_cleanup, (CURLM * a0), (a0))
DLIB_FORWARD(libcurl, NULL, CURLMsg *, curl_multi_info_read, (CURLM * a0, int *a1), (a0, a1))
DLIB_FORWARD(libcurl, NULL, CURLM *, curl_multi_init, (void), ())
DLIB_FORWARD(libcurl, CURLM_INTERNAL_ERROR, CURLMcode, curl_multi_perform, (CURLM * a0, int *a1),
	     (a0, a1))
DLIB_FORWARD(libcurl, CURLM_INTERNAL_ERROR, CURLMcode, curl_multi_poll,
	     (CURLM * a0, struct curl_waitfd *a1, unsigned int a2, int a3, int *a4),
	     (a0, a1, a2, a3, a4))
DLIB_FORWARD(libcurl, CURLM_INTERNAL_ERROR, CURLMcode, curl_multi_remove_handle,
	     (CURLM * a0, CURL *a1), (a0, a1))
DLIB_FORWARD(libcurl, NULL, struct curl_slist *, curl_slist_append,
	     (struct curl_slist * a0, const char *a1), (a0, a1))
DLIB_FORWARD_VOID(libcurl, curl_slist_free_all, (struct curl_slist * a0), (a0))
