/* digest: SHA-256 through OpenSSL's EVP interface. */
#include "base/digest.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

int digest_init(struct digest_ctx *ctx)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		ctx->md = NULL;
		errno = ENOMEM;
		return -1;
	}
	ctx->md = md;
	return 0;
}

void digest_update(struct digest_ctx *ctx, const void *data, size_t len)
{
	if (ctx->md && len)
		EVP_DigestUpdate(ctx->md, data, len);
}

void digest_final(struct digest_ctx *ctx, char out[DIGEST_BUF])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	memcpy(out, "sha256:", 7);
	EVP_DigestFinal_ex(ctx->md, md, &n);
	for (unsigned i = 0; i < 32; i++) {
		out[7 + 2 * i] = hex[md[i] >> 4];
		out[8 + 2 * i] = hex[md[i] & 15];
	}
	out[DIGEST_LEN] = '\0';
	digest_release(ctx);
}

void digest_release(struct digest_ctx *ctx)
{
	EVP_MD_CTX_free(ctx->md);
	ctx->md = NULL;
}

int digest_buf(const void *data, size_t len, char out[DIGEST_BUF])
{
	struct digest_ctx c;
	if (digest_init(&c) < 0)
		return -1;
	digest_update(&c, data, len);
	digest_final(&c, out);
	return 0;
}

int digest_hex_valid(const char *s)
{
	size_t i;
	for (i = 0; i < 64; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return 0;
	}
	return s[64] == '\0';
}

int digest_valid(const char *s)
{
	return s && strncmp(s, "sha256:", 7) == 0 && digest_hex_valid(s + 7);
}

const char *digest_hex(const char *digest)
{
	return strncmp(digest, "sha256:", 7) == 0 ? digest + 7 : digest;
}

int digest_chain_id(const char *parent, const char *diff_id, char out[DIGEST_BUF])
{
	char buf[2 * DIGEST_BUF + 2];

	if (!parent) {
		memcpy(out, diff_id, DIGEST_BUF);
		out[DIGEST_LEN] = '\0';
		return 0;
	}
	snprintf(buf, sizeof(buf), "%s %s", parent, diff_id);
	return digest_buf(buf, strlen(buf), out);
}
