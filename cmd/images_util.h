/* images_util: the image-side logic behind images, rmi, prune and inspect. */
#ifndef MYDOCKER_CMD_IMAGES_UTIL_H
#define MYDOCKER_CMD_IMAGES_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "cmd/cmd.h"

struct images_opts {
	bool quiet, digests, no_trunc;
	const char *format, *filter;
};

/* Names (ref keys) in refs pointing at id; fills out[0..max) if given and
 * returns the total count. */
size_t images_names_of(json_t *refs, const char *id, const char **out, size_t max);
void images_print_untags(struct store *s, const char *id);
int images_list(struct cmd_ctx *ctx, const struct images_opts *o, struct err *err) WUR;
int images_prune(struct cmd_ctx *ctx, bool all, struct err *err) WUR;
/* docker inspect's object for an image; NULL with err set. */
json_t *images_inspect(struct cmd_ctx *ctx, const char *id, struct err *err);
/* Sum of the layer sizes of an image. */
long long images_size(struct store *s, json_t *record);

#endif
