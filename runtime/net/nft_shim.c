/* nft_shim: libnftables loaded on first use, not at start-up.
 *
 * libnftables brings libnftnl, libxtables and libgmp; only network set-up
 * (runtime/net/nat.c, on the host, never inside a container's root) needs
 * them. See base/dlib.h for the scheme; the binary links no -lnftables, so
 * a call to a function not listed here fails to link: add one line for it,
 * with the prototype of <nftables/libnftables.h>. */
#include <stddef.h>
#include <stdint.h>

#include <nftables/libnftables.h>

#include "base/dlib.h"
#include "base/banned.h" /* last: after every system header */

/* libnftables1's soname (nftables >= 0.9.x). */
static struct dlib libnftables = DLIB_INIT("libnftables.so.1", "libnftables1");

DLIB_FORWARD(libnftables, -1, int, nft_ctx_buffer_error, (struct nft_ctx * a0), (a0))
DLIB_FORWARD(libnftables, -1, int, nft_ctx_buffer_output, (struct nft_ctx * a0), (a0))
DLIB_FORWARD_VOID(libnftables, nft_ctx_free, (struct nft_ctx * a0), (a0))
DLIB_FORWARD(libnftables, NULL, const char *, nft_ctx_get_error_buffer, (struct nft_ctx * a0), (a0))
DLIB_FORWARD(libnftables, NULL, struct nft_ctx *, nft_ctx_new, (uint32_t a0), (a0))
DLIB_FORWARD(libnftables, -1, int, nft_run_cmd_from_buffer, (struct nft_ctx * a0, const char *a1),
	     (a0, a1))
