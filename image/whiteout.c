/* whiteout: how OCI whiteout markers in a layer tar map to a layer
 * directory's form (overlay devices/xattrs or the OCI names kept as-is). */
#include "image/image_internal.h"

#include <string.h>

enum whiteout_kind image_whiteout_classify(const char *base, const char **target)
{
	const char *name;

	if (strncmp(base, WHITEOUT_PREFIX, strlen(WHITEOUT_PREFIX)) != 0)
		return WHITEOUT_KIND_NONE;
	if (strcmp(base, WHITEOUT_OPAQUE) == 0)
		return WHITEOUT_KIND_OPAQUE;
	/* aufs keeps hard-link and dir bookkeeping under ".wh..wh."; it never
	 * names a user file, so it carries no deletion. */
	if (strncmp(base, WHITEOUT_META_PREFIX, strlen(WHITEOUT_META_PREFIX)) == 0)
		return WHITEOUT_KIND_META;
	name = base + strlen(WHITEOUT_PREFIX);
	/* ".wh..." would delete the parent, ".wh.." the dir itself. */
	if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strchr(name, '/'))
		return WHITEOUT_KIND_BAD;
	if (target)
		*target = name;
	return WHITEOUT_KIND_FILE;
}

enum whiteout_action image_whiteout_action(enum whiteout_kind kind, enum whiteout_form wf)
{
	switch (kind) {
	case WHITEOUT_KIND_NONE: return WHITEOUT_ACT_ENTRY;
	case WHITEOUT_KIND_OPAQUE:
		return wf == WHITEOUT_OVERLAY ? WHITEOUT_ACT_OPAQUE : WHITEOUT_ACT_EMPTY_FILE;
	case WHITEOUT_KIND_FILE:
		return wf == WHITEOUT_OVERLAY ? WHITEOUT_ACT_CHARDEV : WHITEOUT_ACT_EMPTY_FILE;
	case WHITEOUT_KIND_META: return WHITEOUT_ACT_SKIP;
	case WHITEOUT_KIND_BAD: break;
	}
	return WHITEOUT_ACT_REJECT;
}

bool image_xattr_forbidden(const char *name)
{
	/* trusted.overlay.* is what overlayfs reads as root; with the
	 * "userxattr" mount option (rootless) it reads user.overlay.*. */
	return strncmp(name, "trusted.overlay.", 16) == 0 ||
	       strncmp(name, "user.overlay.", 13) == 0;
}
