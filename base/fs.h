/* fs: file-system helpers that every module needs: atomic writes, recursive
 * removal, and path resolution that never leaves a given root. */
#ifndef MYDOCKER_BASE_FS_H
#define MYDOCKER_BASE_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/err.h"

/* Write data to dirfd/name through a temp file + fsync + rename, so a crash
 * leaves either the old or the new content. */
int fs_write_atomic(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
		    struct err *err) WUR;
/* The same; durable=false skips the fsync: still atomic (old or new
 * content) while the system stays up, for files that are worthless after a
 * crash anyway (e.g. records of --rm containers). */
int fs_write_file(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
		  bool durable, struct err *err) WUR;
/* Read a whole file (at most max bytes; larger is an error) into a
 * NUL-terminated heap buffer. len may be NULL. Missing file: err->code ENOENT. */
int fs_read_all(int dirfd, const char *name, char **out, size_t *len, size_t max,
		struct err *err) WUR;
/* mkdir -p for an absolute or cwd-relative host path. */
int fs_mkdir_p(const char *path, mode_t mode, struct err *err) WUR;
/* rm -rf dirfd/name without following symlinks; ENOENT is success. */
int fs_rm_rf_at(int dirfd, const char *name, struct err *err) WUR;
/* openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS): path is resolved as if
 * root_fd were "/", so symlinks in an image or a container can never lead
 * out of it (CVE-2021-30465 class). Returns fd or -1 with errno set. */
int fs_open_in_root(int root_fd, const char *path, int flags, mode_t mode);
/* Create every missing directory of path beneath root_fd (resolved in root)
 * and return an O_PATH|O_DIRECTORY fd of the last one, or -1 with errno. */
int fs_mkdirs_in_root(int root_fd, const char *path, mode_t mode);
/* Split "a/b/c" into parent "a/b" and base "c" (in the caller's buffers).
 * Parent is "." when there is none. Returns -1 if base would be empty. */
int fs_split_path(const char *path, char *parent, size_t plen, char *base, size_t blen);
/* Join into buf; returns -1 (ENAMETOOLONG) when it does not fit. */
int fs_join(char *buf, size_t len, const char *a, const char *b);
/* Directory size in bytes (st_blocks based is avoided: apparent sizes). */
long long fs_du_at(int parent_fd, const char *name);

#endif
