/* fuzz_ref: image references (image_ref_parse) and the archive path checks
 * of load (load_path_valid, load_path_digest) on arbitrary strings.
 * Oracle beyond "no crash": a parsed reference printed in its familiar form
 * parses back to the same reference, and a path accepted as valid has no
 * ".." component and is not absolute (CVE-2014-9358). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#include "image/load_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_REF_MAX 4096

static void fuzz_ref_roundtrip(const char *s)
{
	struct image_ref a, b;
	struct err err = { 0 };
	char fam[1024];

	if (image_ref_parse(s, &a, &err) < 0)
		return;
	if (image_ref_familiar(&a, fam, sizeof(fam)) < 0)
		return;
	/* The store keys refs by this form: it must be a fixed point. */
	if (image_ref_parse(fam, &b, &err) < 0 || strcmp(a.domain, b.domain) != 0 ||
	    strcmp(a.path, b.path) != 0 || strcmp(a.tag, b.tag) != 0 ||
	    strcmp(a.digest, b.digest) != 0)
		abort();
}

static void fuzz_ref_paths(const char *s)
{
	char dig[DIGEST_BUF], blob[256];
	struct err err = { 0 };

	if (load_path_valid(s)) {
		const char *p = s;
		if (s[0] == '/')
			abort();
		while ((p = strstr(p, "..")) != NULL) {
			if ((p == s || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
				abort();
			p += 2;
		}
	}
	(void)load_path_digest(s, dig);
	if (load_blob_path(s, blob, sizeof(blob), &err) == 0 && strstr(blob, ".."))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size > FUZZ_REF_MAX)
		return 0;
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	fuzz_ref_roundtrip(s);
	fuzz_ref_paths(s);
	free(s);
	return 0;
}
