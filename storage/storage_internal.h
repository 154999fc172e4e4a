/* storage internals shared by the files of storage/; not for other modules. */
#ifndef MYDOCKER_STORAGE_INTERNAL_H
#define MYDOCKER_STORAGE_INTERNAL_H

#include <stdbool.h>
#include <jansson.h>

#include "storage/storage.h"

/* Remove staging dirs of dead processes, rolling back their half-done
 * commits. Called by storage_open. */
int storage_cleanup_staging(struct store *s, struct err *err) WUR;
/* true if any image record or container config lists the layer (hex). */
bool storage_layer_referenced(struct store *s, const char *chain_hex);
json_t *storage_layer_json(const struct storage_layer *l);
void storage_blob_remove(struct store *s, const char *digest);
/* Names in dir (below the store root) ending in suffix (stripped; NULL:
 * any), dot files left out, as a vector for storage_strv_free. A missing
 * dir is empty. */
int storage_dir_list(struct store *s, const char *dir, const char *suffix, char ***out, size_t *n,
		     struct err *err) WUR;
/* Read a JSON file under the store root; NULL with err set on failure. */
json_t *storage_json_read(struct store *s, const char *rel, struct err *err);
int storage_json_write(struct store *s, const char *rel, json_t *j, struct err *err) WUR;
/* durable=false: no fsync (see fs_write_file). */
int storage_json_write_file(struct store *s, const char *rel, json_t *j, bool durable,
			    struct err *err) WUR;

#endif
