/* fuzz_unpack: image_layer_unpack on arbitrary bytes (any compression, any
 * tar dialect libarchive reads) into a fresh directory. Oracle beyond "no
 * crash": nothing may appear or change outside the layer directory: its
 * parent holds only the layer and a sentinel file, checked after every
 * input (tar breakouts: CVE-2014-6407/9356, CVE-2021-32760).
 *
 * As root it writes devices, owners and xattrs as an image would: run it
 * through tests/fuzz/run.sh, which puts it in a private mount namespace
 * with the host's file systems read-only. FUZZ_UNPACK_DIR picks the scratch
 * directory (default /dev/shm). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "image/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SENTINEL "sentinel"
#define SENTINEL_DATA "mydocker fuzz sentinel\n"

struct fuzz_unpack_mem {
	const uint8_t *data;
	size_t size;
	size_t chunk; /* bytes per read: odd sizes exercise the block joins */
	int done;
};

static ssize_t fuzz_unpack_read(void *ctx, const void **buf)
{
	struct fuzz_unpack_mem *m = ctx;
	size_t n = m->size < m->chunk ? m->size : m->chunk;

	*buf = m->data;
	m->data += n;
	m->size -= n;
	return (ssize_t)n;
}

/* The scratch parent (its path kept for whoever cleans up: the corpus
 * replay in tests/unit/test_fuzz_corpus.c) and its sentinel, made once. */
static char fuzz_unpack_dir[256];
static int fuzz_unpack_base_fd = -1;

static int fuzz_unpack_base(void)
{
	const char *dir = getenv("FUZZ_UNPACK_DIR");
	int fd, base_fd;

	if (fuzz_unpack_base_fd >= 0)
		return fuzz_unpack_base_fd;
	snprintf(fuzz_unpack_dir, sizeof(fuzz_unpack_dir), "%s/mydocker-fuzz-unpack.XXXXXX",
		 dir ? dir : "/dev/shm");
	if (!mkdtemp(fuzz_unpack_dir))
		abort();
	base_fd = fuzz_unpack_base_fd = open(fuzz_unpack_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fd = openat(base_fd, SENTINEL, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (base_fd < 0 || fd < 0 || write(fd, SENTINEL_DATA, strlen(SENTINEL_DATA)) < 0)
		abort();
	close(fd);
	return base_fd;
}

/* The parent holds exactly "layer" and an unchanged sentinel. */
static void fuzz_unpack_check_outside(int base_fd)
{
	char buf[64] = "";
	struct stat st;
	int fd = openat(base_fd, SENTINEL, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d;
	struct dirent *de;

	if (fd < 0 || fstat(fd, &st) < 0 || read(fd, buf, sizeof(buf) - 1) < 0)
		abort();
	close(fd);
	if (strcmp(buf, SENTINEL_DATA) != 0 || (st.st_mode & 07777) != 0600 ||
	    st.st_uid != geteuid())
		abort();
	fd = openat(base_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d)
		abort();
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    strcmp(de->d_name, "layer") && strcmp(de->d_name, SENTINEL))
			abort();
	}
	closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_unpack_mem m = { .data = data, .size = size, .chunk = 4093 };
	struct image_unpack_result res;
	struct err err = { 0 };
	int base_fd = fuzz_unpack_base(), layer_fd;
	/* Both forms from the same bytes: the size's parity chooses. */
	enum whiteout_form wf = (size & 1) ? WHITEOUT_OCI : WHITEOUT_OVERLAY;

	if (mkdirat(base_fd, "layer", 0755) < 0)
		abort();
	layer_fd = openat(base_fd, "layer", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (layer_fd < 0)
		abort();
	if (image_layer_unpack(fuzz_unpack_read, &m, layer_fd, wf, &res, &err) < 0 &&
	    (!err.code || !err.msg[0]))
		abort(); /* a failure always says why */
	close(layer_fd);
	fuzz_unpack_check_outside(base_fd);
	/* The unpacked tree may hold read-only dirs: rm_rf copes with them. */
	if (fs_rm_rf_at(base_fd, "layer", &err) < 0)
		abort();
	return 0;
}
