/* digest: SHA-256 content digests ("sha256:<64 hex>") via libcrypto, and the
 * OCI chain-ID rule. */
#ifndef MYDOCKER_BASE_DIGEST_H
#define MYDOCKER_BASE_DIGEST_H

#include <stddef.h>

#include "base/err.h"

#define DIGEST_LEN 71 /* "sha256:" + 64 hex */
#define DIGEST_BUF 72

struct digest_ctx {
	void *md; /* EVP_MD_CTX */
};

int digest_init(struct digest_ctx *ctx) WUR;
void digest_update(struct digest_ctx *ctx, const void *data, size_t len);
/* Writes "sha256:<hex>" into out (DIGEST_BUF bytes) and releases ctx. */
void digest_final(struct digest_ctx *ctx, char out[DIGEST_BUF]);
void digest_release(struct digest_ctx *ctx);
int digest_buf(const void *data, size_t len, char out[DIGEST_BUF]) WUR;
/* 1 if s is exactly "sha256:" followed by 64 lowercase hex digits. Guards
 * every digest that becomes a file name (CVE-2014-9358 class). */
int digest_valid(const char *s);
/* 1 if s is 64 lowercase hex digits. */
int digest_hex_valid(const char *s);
/* The hex part of a valid digest. */
const char *digest_hex(const char *digest);
/* chain(n) = sha256(chain(n-1) + " " + diff_id(n)); parent NULL for the base. */
int digest_chain_id(const char *parent, const char *diff_id, char out[DIGEST_BUF]) WUR;

#endif
