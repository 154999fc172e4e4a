/* archive_shim: libarchive loaded on first use, not at start-up.
 *
 * libarchive 3.6 drags in libxml2 -> ICU (30 MB), nettle, acl, lz4,
 * libstdc++ ...; linking its static archive does not help because writing
 * pax pulls archive_write_set_format.o, whose table references every
 * writer (xar needs libxml2, zip nettle). See base/dlib.h for the scheme.
 * The binary links no -larchive, so a call to a function not listed here
 * is an "undefined reference" at link time: add one line for it, with the
 * prototype of <archive.h>/<archive_entry.h> (the compiler checks it). */
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>

#include <archive.h>
#include <archive_entry.h>

#include "base/dlib.h"
#include "base/banned.h" /* last: after every system header */

/* The soname of libarchive 3.x (Debian package libarchive13). */
static struct dlib libarchive = DLIB_INIT("libarchive.so.13", "libarchive13");

/* Variadic: format here and hand the result over as one "%s" argument. */
void archive_set_error(struct archive *a, int code, const char *fmt, ...)
{
	static void *slot;
	void (*fn)(struct archive *, int, const char *, ...) =
		(void (*)(struct archive *, int, const char *, ...))dlib_sym(&libarchive, &slot,
									     "archive_set_error");
	char msg[1024];
	va_list ap;

	if (!fn)
		return;
	if (!fmt) {
		fn(a, code, NULL);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fn(a, code, "%s", msg);
}

/* Generated from the prototypes (gcc -aux-info); arguments a0, a1, ... */
DLIB_FORWARD(libarchive, 0, time_t, archive_entry_atime, (struct archive_entry * a0), (a0))
DLIB_FORWARD(libarchive, 0, int, archive_entry_atime_is_set, (struct archive_entry * a0), (a0))
DLIB_FORWARD(libarchive, 0, long int, archive_entry_atime_nsec, (struct archive_entry * a0), (a0))
DLIB_FORWARD(libarchive, NULL, struct archive_entry *, archive_entry_clear,
	     (struct archive_entry * a0), (a0))
DLIB_FORWARD_VOID(libarchive, archive_entry_copy_hardlink,
		  (struct archive_entry * a0, const char *a1), (a0, a1))
DLIB_FORWARD_VOID(libarchive, archive_entry_copy_pathname,
		  (struct archive_entry * a0, const char *a1), (a0, a1))
DLIB_FORWARD_VOID(libarchive, archive_entry_copy_symlink,
		  (struct archive_entry * a0, const char *a1), (a0, a1))
DLIB_FORWARD(libarchive, 0, int, archive_entry_ctime_is_set, (struct archive_entry * a0), (a0))
DLIB_FORWARD(libarchive, 0, mode_t, archive_entry_filetype, (struct archive_entry * a0), (a0))
DLIB_FORWARD_VOID(libarchive, archive_entry_free, (struct archive_entry * a0), (a0))
DLIB_FORWARD(libarchive, 0, la_int64_t, archive_entry_gid, (struct archive_entry * a0), (a0))
DLIB_FORWARD(libarchive, NULL, const char *, archive_entry_hardlink, (struct archive_entry * a0),
	     (a0))
DLIB_FORWARD(libarchive, 0, mode_t, archive_entry_mode, (struct archive_entry * a0), (a0))
DLIB_FORWARD(libarchive, 0, time_t, archive_entry_mtime, (struct archive_entry * a0), (a0))
DLIB_FORWARD(libarchive, 0, long int, archive_entry_mtime_nsec, (struct archive_entry * a0), (a0))
DLIB_FORWARD(libarchive, NULL, struct archive_entry *, archive_entry_new, (void), ())
DLIB_FORWARD(libarchive, NULL, const char *, archive_entry_pathname, (struct archive_entry * a0),
	     (a0))
DLIB_FORWARD(libarchive, NULL, const char *, archive_entry_pathname_utf8,
	     (struct archive_entry * a0), (a0))
DLIB_FORWARD(libarchive, 0, mode_t, archive_entry_perm, (struct archive_entry * a0), (a0))
DLIB_FORWARD(libarchive, 0, dev_t, archive_entry_rdev, (struct archive_entry * a0), (a0))
DLIB_FORWARD(libarchive, 0, dev_t, archive_entry_rdevmajor, (struct archive_entry * a0), (a0))
DLIB_FORWARD(libarchive, 0, dev_t, archive_entry_rdevminor, (struct archive_entry * a0), (a0))
DLIB_FORWARD_VOID(libarchive, archive_entry_set_filetype,
		  (struct archive_entry * a0, unsigned int a1), (a0, a1))
DLIB_FORWARD_VOID(libarchive, archive_entry_set_gid, (struct archive_entry * a0, la_int64_t a1),
		  (a0, a1))
DLIB_FORWARD_VOID(libarchive, archive_entry_set_hardlink,
		  (struct archive_entry * a0, const char *a1), (a0, a1))
DLIB_FORWARD_VOID(libarchive, archive_entry_set_mode, (struct archive_entry * a0, mode_t a1),
		  (a0, a1))
DLIB_FORWARD_VOID(libarchive, archive_entry_set_mtime,
		  (struct archive_entry * a0, time_t a1, long int a2), (a0, a1, a2))
DLIB_FORWARD_VOID(libarchive, archive_entry_set_pathname,
		  (struct archive_entry * a0, const char *a1), (a0, a1))
DLIB_FORWARD_VOID(libarchive, archive_entry_set_rdev, (struct archive_entry * a0, dev_t a1),
		  (a0, a1))
DLIB_FORWARD_VOID(libarchive, archive_entry_set_size, (struct archive_entry * a0, la_int64_t a1),
		  (a0, a1))
DLIB_FORWARD_VOID(libarchive, archive_entry_set_symlink,
		  (struct archive_entry * a0, const char *a1), (a0, a1))
DLIB_FORWARD_VOID(libarchive, archive_entry_set_uid, (struct archive_entry * a0, la_int64_t a1),
		  (a0, a1))
DLIB_FORWARD(libarchive, 0, la_int64_t, archive_entry_size, (struct archive_entry * a0), (a0))
DLIB_FORWARD(libarchive, 0, int, archive_entry_size_is_set, (struct archive_entry * a0), (a0))
DLIB_FORWARD(libarchive, 0, int, archive_entry_sparse_count, (struct archive_entry * a0), (a0))
DLIB_FORWARD(libarchive, NULL, const char *, archive_entry_symlink, (struct archive_entry * a0),
	     (a0))
DLIB_FORWARD(libarchive, 0, la_int64_t, archive_entry_uid, (struct archive_entry * a0), (a0))
DLIB_FORWARD_VOID(libarchive, archive_entry_xattr_add_entry,
		  (struct archive_entry * a0, const char *a1, const void *a2, size_t a3),
		  (a0, a1, a2, a3))
DLIB_FORWARD(libarchive, 0, int, archive_entry_xattr_count, (struct archive_entry * a0), (a0))
DLIB_FORWARD(libarchive, 0, int, archive_entry_xattr_next,
	     (struct archive_entry * a0, const char **a1, const void **a2, size_t *a3),
	     (a0, a1, a2, a3))
DLIB_FORWARD(libarchive, 0, int, archive_entry_xattr_reset, (struct archive_entry * a0), (a0))
DLIB_FORWARD(libarchive, ARCHIVE_FATAL, int, archive_errno, (struct archive * a0), (a0))
DLIB_FORWARD(libarchive, NULL, const char *, archive_error_string, (struct archive * a0), (a0))
DLIB_FORWARD(libarchive, ARCHIVE_FATAL, int, archive_filter_code, (struct archive * a0, int a1),
	     (a0, a1))
DLIB_FORWARD(libarchive, ARCHIVE_FATAL, la_ssize_t, archive_read_data,
	     (struct archive * a0, void *a1, size_t a2), (a0, a1, a2))
DLIB_FORWARD(libarchive, ARCHIVE_FATAL, int, archive_read_data_block,
	     (struct archive * a0, const void **a1, size_t *a2, la_int64_t *a3), (a0, a1, a2, a3))
DLIB_FORWARD(libarchive, ARCHIVE_FATAL, int, archive_read_free, (struct archive * a0), (a0))
DLIB_FORWARD(libarchive, NULL, struct archive *, archive_read_new, (void), ())
DLIB_FORWARD(libarchive, ARCHIVE_FATAL, int, archive_read_next_header,
	     (struct archive * a0, struct archive_entry **a1), (a0, a1))
DLIB_FORWARD(libarchive, ARCHIVE_FATAL, int, archive_read_open,
	     (struct archive * a0, void *a1, archive_open_callback(*a2), archive_read_callback(*a3),
	      archive_close_callback(*a4)),
	     (a0, a1, a2, a3, a4))
DLIB_FORWARD(libarchive, ARCHIVE_FATAL, int, archive_read_open_fd,
	     (struct archive * a0, int a1, size_t a2), (a0, a1, a2))
DLIB_FORWARD(libarchive, ARCHIVE_FATAL, int, archive_read_open_memory,
	     (struct archive * a0, const void *a1, size_t a2), (a0, a1, a2))
DLIB_FORWARD(libarchive, ARCHIVE_FATAL, int, archive_read_support_filter_all, (struct archive * a0),
	     (a0))
DLIB_FORWARD(libarchive, ARCHIVE_FATAL, int, archive_read_support_filter_bzip2,
	     (struct archive * a0), (a0))
DLIB_FORWARD(libarchive, ARCHIVE_FATAL, int, archive_read_support_filter_gzip,
	     (struct archive * a0), (a0))
DLIB_FORWARD(libarchive, ARCHIVE_FATAL, int, archive_read_support_filter_lzma,
	     (struct archive * a0), (a0))
DLIB_FORWARD(libarchive, ARCHIVE_FATAL, int, archive_read_support_filter_xz, (struct archive * a0),
	     (a0))
DLIB_FORWARD(libarchive, ARCHIVE_FATAL, int, archive_read_support_filter_zstd,
	     (struct archive * a0), (a0))
DLIB_FORWARD(libarchive, ARCHIVE_FATAL, int, archive_read_support_format_gnutar,
	     (struct archive * a0), (a0))
DLIB_FORWARD(libarchive, ARCHIVE_FATAL, int, archive_read_support_format_raw, (struct archive * a0),
	     (a0))
DLIB_FORWARD(libarchive, ARCHIVE_FATAL, int, archive_read_support_format_tar, (struct archive * a0),
	     (a0))
DLIB_FORWARD(libarchive, NULL, const char *, archive_version_string, (void), ())
DLIB_FORWARD(libarchive, ARCHIVE_FATAL, int, archive_write_add_filter,
	     (struct archive * a0, int a1), (a0, a1))
DLIB_FORWARD(libarchive, ARCHIVE_FATAL, int, archive_write_add_filter_gzip, (struct archive * a0),
	     (a0))
DLIB_FORWARD(libarchive, ARCHIVE_FATAL, int, archive_write_add_filter_zstd, (struct archive * a0),
	     (a0))
DLIB_FORWARD(libarchive, ARCHIVE_FATAL, int, archive_write_close, (struct archive * a0), (a0))
DLIB_FORWARD(libarchive, ARCHIVE_FATAL, la_ssize_t, archive_write_data,
	     (struct archive * a0, const void *a1, size_t a2), (a0, a1, a2))
DLIB_FORWARD(libarchive, ARCHIVE_FATAL, int, archive_write_free, (struct archive * a0), (a0))
DLIB_FORWARD(libarchive, ARCHIVE_FATAL, int, archive_write_header,
	     (struct archive * a0, struct archive_entry *a1), (a0, a1))
DLIB_FORWARD(libarchive, NULL, struct archive *, archive_write_new, (void), ())
DLIB_FORWARD(libarchive, ARCHIVE_FATAL, int, archive_write_open,
	     (struct archive * a0, void *a1, archive_open_callback(*a2),
	      archive_write_callback(*a3), archive_close_callback(*a4)),
	     (a0, a1, a2, a3, a4))
DLIB_FORWARD(libarchive, ARCHIVE_FATAL, int, archive_write_open_fd, (struct archive * a0, int a1),
	     (a0, a1))
DLIB_FORWARD(libarchive, ARCHIVE_FATAL, int, archive_write_open_memory,
	     (struct archive * a0, void *a1, size_t a2, size_t *a3), (a0, a1, a2, a3))
DLIB_FORWARD(libarchive, ARCHIVE_FATAL, int, archive_write_set_bytes_in_last_block,
	     (struct archive * a0, int a1), (a0, a1))
DLIB_FORWARD(libarchive, ARCHIVE_FATAL, int, archive_write_set_bytes_per_block,
	     (struct archive * a0, int a1), (a0, a1))
DLIB_FORWARD(libarchive, ARCHIVE_FATAL, int, archive_write_set_filter_option,
	     (struct archive * a0, const char *a1, const char *a2, const char *a3),
	     (a0, a1, a2, a3))
DLIB_FORWARD(libarchive, ARCHIVE_FATAL, int, archive_write_set_format_pax_restricted,
	     (struct archive * a0), (a0))
DLIB_FORWARD(libarchive, ARCHIVE_FATAL, int, archive_write_set_format_raw, (struct archive * a0),
	     (a0))
