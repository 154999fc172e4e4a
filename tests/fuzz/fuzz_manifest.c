/* fuzz_manifest: the JSON documents an archive or a registry hands us:
 * image configs (image_config_parse), docker-archive manifest.json, OCI
 * index.json and image manifests (image/load_internal.h). Every parser sees
 * every input; whatever one accepts must carry only valid archive paths. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "image/image.h"
#include "image/load_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_manifest_check_image(const struct load_image *im)
{
	/* Paths from a manifest are opened inside the archive: an accepted
	 * one that is absolute or has ".." would be CVE-2014-9358. */
	if (im->config_path && !load_path_valid(im->config_path))
		abort();
	for (size_t i = 0; i < im->n_layers; i++)
		if (!load_path_valid(im->layer_paths[i]))
			abort();
}

static void fuzz_manifest_docker(const char *json, size_t len)
{
	struct load_image *v = NULL;
	struct err err = { 0 };
	size_t n = 0;

	if (load_docker_manifest_parse(json, len, &v, &n, &err) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		fuzz_manifest_check_image(&v[i]);
	load_images_free(v, n);
}

static void fuzz_manifest_index(const char *json, size_t len)
{
	struct load_desc *v = NULL;
	struct err err = { 0 };
	char blob[256];
	size_t n = 0;

	if (load_oci_index_parse(json, len, &v, &n, &err) < 0)
		return;
	(void)load_oci_index_pick(v, n, "amd64");
	for (size_t i = 0; i < n; i++) {
		(void)load_media_is_index(v[i].media_type);
		if (load_blob_path(v[i].digest, blob, sizeof(blob), &err) == 0 &&
		    !load_path_valid(blob))
			abort();
	}
	load_descs_free(v, n);
}

static void fuzz_manifest_oci(const char *json, size_t len)
{
	struct load_image im = { 0 };
	struct err err = { 0 };

	if (load_oci_manifest_parse(json, len, &im, &err) == 0) {
		fuzz_manifest_check_image(&im);
		for (size_t i = 0; i < im.n_layers; i++)
			(void)load_media_is_layer(im.layer_media[i]);
	}
	load_image_release(&im);
}

static void fuzz_manifest_config(const char *json, size_t len)
{
	struct image_config c = { 0 };
	struct err err = { 0 };

	if (image_config_parse(json, len, &c, &err) == 0) {
		char(*chain)[DIGEST_BUF] = calloc(c.n_diff_ids + 1, DIGEST_BUF);
		if (chain && image_chain_ids(c.diff_ids, c.n_diff_ids, chain) < 0)
			abort(); /* parse validated the diff_ids */
		free(chain);
	}
	image_config_release(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *json = (const char *)data;

	if (size > LOAD_JSON_MAX)
		return 0;
	fuzz_manifest_config(json, size);
	fuzz_manifest_docker(json, size);
	fuzz_manifest_index(json, size);
	fuzz_manifest_oci(json, size);
	return 0;
}
