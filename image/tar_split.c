/* tar_split: record a layer tar's bytes while it is unpacked. A streaming
 * parser walks the 512-byte blocks the way libarchive's tar reader does and
 * keeps everything verbatim except regular-file content, which becomes a
 * reference to the unpacked file (path, size). Anything it does not fully
 * understand spoils the record: the layer is then stored without one and
 * save/push fall back to a regenerated tar. */
#include "image/tar_split.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/banned.h"
#include "base/cleanup.h"
#include "image/image_internal.h"

#define BLOCK 512
#define OUT_BUF (256 * 1024)
#define NO_RAW SIZE_MAX
/* Zero runs this long become 'Z' records (see emit_raw). */
#define ZERO_RUN 16
/* libarchive refuses special-header bodies above 1 MiB and chains of more
 * than 32 headers; we stop earlier, as nothing sane comes close. */
#define EXT_MAX (1 << 20)
#define CHAIN_MAX 16
#define SIZE_LIMIT (1LL << 62)

enum ts_state {
	TS_HEADER,     /* collecting a header block */
	TS_EXT_BODY,   /* body of an extension header (x, g, L, K, A) */
	TS_SPARSE_EXT, /* old GNU sparse map continuation blocks */
	TS_DATA_RAW,   /* data kept verbatim (non-regular, sparse, padding) */
	TS_DATA_FILE,  /* regular-file content: referenced, not kept */
	TS_TRAILER,    /* from the end-of-archive block on: verbatim */
};

/* The extension headers read so far for the entry to come. */
struct ts_ext {
	char type;  /* of the body being read */
	char first; /* 'L' or 'x', whichever came first: it is applied last */
	bool have_pax, have_long, sparse;
	int chain;
	long long pax_size; /* -1 = none */
	char *pax_path, *long_name;
	char *buf;
	size_t len, want, cap;
};

struct image_tar_split {
	int dirfd, fd;
	char name[NAME_MAX + 1];
	struct archive *z;
	unsigned char *out;
	size_t out_len, raw_at; /* raw_at: offset of the open 'R' record */
	uint64_t zeros;         /* zero bytes not yet written as a 'Z' record */
	enum ts_state st;
	unsigned char blk[BLOCK];
	size_t blk_len;
	long long left, pad, after; /* after: data following sparse map blocks */
	long long total;
	struct ts_ext x;
	/* FNV-1a over (path, size) of referenced files, from the parser and
	 * from the unpacker: they must agree for the record to be kept. */
	uint64_t h_parsed, h_unpacked;
	long long n_parsed, n_unpacked;
	bool spoiled;
};

void image_tar_split_spoil(struct image_tar_split *ts)
{
	if (ts)
		ts->spoiled = true;
}

/* ---- output ------------------------------------------------------------- */

static void put_le(unsigned char *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static size_t zero_run(const unsigned char *p, size_t n)
{
	size_t i = 0;
	uint64_t w;

	while (i + 8 <= n && (memcpy(&w, p + i, 8), w == 0))
		i += 8;
	while (i < n && p[i] == 0)
		i++;
	return i;
}

static void close_raw(struct image_tar_split *ts)
{
	if (ts->raw_at == NO_RAW)
		return;
	put_le(ts->out + ts->raw_at + 1, ts->out_len - ts->raw_at - 5, 4);
	ts->raw_at = NO_RAW;
}

static void flush(struct image_tar_split *ts)
{
	close_raw(ts);
	if (ts->out_len &&
	    archive_write_data(ts->z, ts->out, ts->out_len) != (la_ssize_t)ts->out_len)
		ts->spoiled = true;
	ts->out_len = 0;
}

static void put_zeros(struct image_tar_split *ts)
{
	if (!ts->zeros)
		return;
	close_raw(ts);
	if (OUT_BUF - ts->out_len < 9)
		flush(ts);
	ts->out[ts->out_len] = 'Z';
	put_le(ts->out + ts->out_len + 1, ts->zeros, 8);
	ts->out_len += 9;
	ts->zeros = 0;
}

static void emit_bytes(struct image_tar_split *ts, const unsigned char *p, size_t n)
{
	if (n > 0)
		put_zeros(ts);
	while (n > 0 && !ts->spoiled) {
		size_t room, k;
		if (ts->raw_at == NO_RAW) {
			if (OUT_BUF - ts->out_len < 64)
				flush(ts);
			ts->raw_at = ts->out_len;
			ts->out[ts->out_len] = 'R';
			ts->out_len += 5;
		}
		room = OUT_BUF - ts->out_len;
		k = n < room ? n : room;
		memcpy(ts->out + ts->out_len, p, k);
		ts->out_len += k;
		p += k;
		n -= k;
		if (ts->out_len == OUT_BUF)
			flush(ts);
	}
}

/* Zeros (padding, the unused parts of headers, the end blocks) are most of
 * the raw bytes; counted instead of copied they spare zstd, the main cost
 * of recording, most of its input. */
static void emit_raw(struct image_tar_split *ts, const unsigned char *p, size_t n)
{
	size_t start = 0, i = 0;

	while (i < n) {
		const unsigned char *z = memchr(p + i, 0, n - i);
		size_t run;
		if (!z)
			break;
		i = (size_t)(z - p);
		run = zero_run(p + i, n - i);
		if (run >= ZERO_RUN) {
			emit_bytes(ts, p + start, i - start);
			ts->zeros += run;
			start = i + run;
		}
		i += run;
	}
	emit_bytes(ts, p + start, n - start);
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

static uint64_t mix(uint64_t h, const char *path, long long size)
{
	unsigned char sz[8];

	put_le(sz, (uint64_t)size, 8);
	return fnv(fnv(h, path, strlen(path) + 1), sz, sizeof(sz));
}

static void emit_file(struct image_tar_split *ts, const char *path, long long size)
{
	size_t n = strlen(path);

	put_zeros(ts);
	close_raw(ts);
	if (OUT_BUF - ts->out_len < 1 + 2 + n + 8)
		flush(ts);
	ts->out[ts->out_len++] = 'F';
	put_le(ts->out + ts->out_len, n, 2);
	memcpy(ts->out + ts->out_len + 2, path, n);
	put_le(ts->out + ts->out_len + 2 + n, (uint64_t)size, 8);
	ts->out_len += 2 + n + 8;
	ts->h_parsed = mix(ts->h_parsed, path, size);
	ts->n_parsed++;
}

/* ---- header fields, read as libarchive reads them ----------------------- */

/* tar_atol: base-256 when the high bit is set, else octal after blanks.
 * Negative or absurd values are not ours to interpret. */
static int read_num(const unsigned char *p, size_t n, long long *out)
{
	unsigned long long v = 0;
	size_t i = 0;

	if (p[0] & 0x80) {
		if (p[0] & 0x40)
			return -1;
		v = p[0] & 0x3f;
		for (i = 1; i < n; i++) {
			if (v > (unsigned long long)SIZE_LIMIT >> 8)
				return -1;
			v = v << 8 | p[i];
		}
	} else {
		while (i < n && (p[i] == ' ' || p[i] == '\t'))
			i++;
		if (i < n && p[i] == '-')
			return -1;
		for (; i < n && p[i] >= '0' && p[i] <= '7'; i++) {
			if (v > (unsigned long long)SIZE_LIMIT >> 3)
				return -1;
			v = v << 3 | (unsigned)(p[i] - '0');
		}
	}
	*out = (long long)v;
	return 0;
}

static bool checksum_ok(const unsigned char *h)
{
	long long want;
	long sum_u = 0, sum_s = 0;

	for (int i = 148; i < 156; i++)
		if (h[i] != ' ' && h[i] != '\0' && (h[i] < '0' || h[i] > '7'))
			return false;
	if (read_num(h + 148, 8, &want) < 0)
		return false;
	/* Unsigned bytes (POSIX), else signed (old BSD/Solaris/HP-UX tars):
	 * the field itself counts as eight blanks. Straight loops, as this
	 * runs once per entry of every layer. */
	for (int i = 0; i < BLOCK; i++)
		sum_u += h[i];
	for (int i = 148; i < 156; i++)
		sum_u += ' ' - h[i];
	if (want == sum_u)
		return true;
	for (int i = 0; i < BLOCK; i++)
		sum_s += (signed char)h[i];
	for (int i = 148; i < 156; i++)
		sum_s += ' ' - (signed char)h[i];
	return want == sum_s;
}

static bool is_zero(const unsigned char *h)
{
	return h[0] == 0 && zero_run(h, BLOCK) == BLOCK;
}

static long long round_block(long long n)
{
	return (n + BLOCK - 1) & ~(long long)(BLOCK - 1);
}

/* ---- extension headers --------------------------------------------------- */

static void ext_reset(struct ts_ext *x)
{
	free(x->pax_path);
	free(x->long_name);
	*x = (struct ts_ext){ .pax_size = -1, .buf = x->buf, .cap = x->cap };
}

static int pax_value_size(const char *v, size_t n, long long *out)
{
	long long s = 0;

	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9' || s > SIZE_LIMIT / 10)
			return -1;
		s = s * 10 + (v[i] - '0');
	}
	*out = s;
	return 0;
}

static int pax_keyword(struct ts_ext *x, const char *key, size_t klen, const char *val, size_t vlen)
{
	/* libarchive keeps values as C strings. */
	vlen = strnlen(val, vlen);
	if (klen == 4 && memcmp(key, "path", 4) == 0) {
		free(x->pax_path);
		return (x->pax_path = strndup(val, vlen)) ? 0 : -1;
	}
	if (klen == 4 && memcmp(key, "size", 4) == 0)
		return pax_value_size(val, vlen, &x->pax_size);
	/* Sparse maps and sizes that are not the data's: kept verbatim. */
	if ((klen > 11 && memcmp(key, "GNU.sparse.", 11) == 0) ||
	    (klen == 15 && memcmp(key, "SCHILY.realsize", 15) == 0) ||
	    (klen == 13 && memcmp(key, "SUN.holesdata", 13) == 0))
		x->sparse = true;
	return 0;
}

/* "LEN key=value\n" records (pax_header() in libarchive): anything it would
 * reject or half-apply makes us give up. */
static int parse_pax(struct ts_ext *x, const char *a, size_t n)
{
	while (n > 0) {
		size_t line = 0, i = 0, k;
		while (i < n && a[i] != ' ') {
			if (a[i] < '0' || a[i] > '9' || line > 999999)
				return -1;
			line = line * 10 + (size_t)(a[i++] - '0');
		}
		if (line < 1 || line > n || a[line - 1] != '\n' || i + 1 >= line)
			return -1;
		for (k = i + 1; k < line - 1 && a[k] != '=' && a[k] != '\0'; k++)
			;
		if (k == i + 1 || k >= line - 1 || a[k] != '=')
			return -1;
		if (pax_keyword(x, a + i + 1, k - i - 1, a + k + 1, line - 2 - k) < 0)
			return -1;
		a += line;
		n -= line;
	}
	return 0;
}

static int ext_end(struct image_tar_split *ts);

static int ext_begin(struct image_tar_split *ts, const unsigned char *h, char type)
{
	struct ts_ext *x = &ts->x;
	long long size;

	if (read_num(h + 124, 12, &size) < 0 || size > EXT_MAX)
		return -1;
	/* A repeated 'x' or 'L' overwrites libarchive's one buffer half-way. */
	if ((type == 'x' && x->have_pax) || (type == 'L' && x->have_long))
		return -1;
	if ((type == 'x' || type == 'L') && (size_t)size + 1 > x->cap) {
		char *nb = realloc(x->buf, (size_t)size + 1);
		if (!nb)
			return -1;
		x->buf = nb;
		x->cap = (size_t)size + 1;
	}
	x->type = type;
	x->want = (size_t)size;
	x->len = 0;
	ts->left = round_block(size);
	ts->st = TS_EXT_BODY;
	return size == 0 ? ext_end(ts) : 0;
}

static int ext_end(struct image_tar_split *ts)
{
	struct ts_ext *x = &ts->x;

	ts->st = TS_HEADER;
	if (x->type != 'x' && x->type != 'L')
		return 0;
	x->buf[x->len] = '\0';
	if (!x->first)
		x->first = x->type;
	if (x->type == 'L') {
		x->have_long = true;
		return (x->long_name = strdup(x->buf)) ? 0 : -1;
	}
	x->have_pax = true;
	return parse_pax(x, x->buf, strlen(x->buf));
}

/* ---- entries ------------------------------------------------------------- */

/* The header's own name: ustar joins prefix and name, GNU and v7 do not. */
static void header_name(const unsigned char *h, char *out, size_t len)
{
	bool ustar = memcmp(h + 257, "ustar", 5) == 0 && memcmp(h + 257, "ustar  \0", 8) != 0;
	size_t np = ustar ? strnlen((const char *)h + 345, 155) : 0;
	size_t nn = strnlen((const char *)h, 100);

	snprintf(out, len, "%.*s%s%.*s", (int)np, (const char *)h + 345,
		 np && h[345 + np - 1] != '/' ? "/" : "", (int)nn, (const char *)h);
}

/* libarchive applies the innermost extension first, so the first one read
 * wins; an empty pax path leaves the name alone. */
static const char *entry_name(const struct ts_ext *x, const char *hdr)
{
	const char *pax = x->pax_path && *x->pax_path ? x->pax_path : NULL;

	if (x->first == 'L')
		return x->have_long ? x->long_name : hdr;
	if (pax)
		return pax;
	return x->have_long ? x->long_name : hdr;
}

/* Where a regular file's content will be after unpacking, or false when
 * the unpacker does not write it as such (whiteouts, odd names). */
static bool content_path(const char *name, char *out, size_t len)
{
	size_t n = strlen(name);
	const char *base;

	/* "name/" of type regular is a directory to libarchive. */
	if (n == 0 || name[n - 1] == '/' || image_entry_name_clean(name, out, len) < 0 || !*out)
		return false;
	base = strrchr(out, '/');
	return image_whiteout_classify(base ? base + 1 : out, NULL) == WHITEOUT_KIND_NONE;
}

/* Data bytes after the header (header_common: links, devices, dirs and
 * fifos have none, unless pax says otherwise). */
static int data_size(const unsigned char *h, const struct ts_ext *x, long long *size)
{
	char type = (char)h[156];

	if (read_num(h + 124, 12, size) < 0)
		return -1;
	if (type == '1' && *size > 0)
		return -1; /* libarchive guesses whether such a body exists */
	if (type >= '1' && type <= '6')
		*size = 0;
	if (x->pax_size >= 0)
		*size = x->pax_size;
	return type == '1' && *size > 0 ? -1 : 0;
}

static int entry_header(struct image_tar_split *ts, const unsigned char *h)
{
	struct ts_ext *x = &ts->x;
	char type = (char)h[156], hdr[PATH_MAX], path[PATH_MAX];
	bool gnu = memcmp(h + 257, "ustar  \0", 8) == 0;
	bool sparse = x->sparse || (gnu && (type == 'S' || h[386] || h[483]));
	bool sparse_blocks = gnu && h[386] && h[482];
	long long size;

	if (data_size(h, x, &size) < 0 || (gnu && type == 'S' && !h[386] && h[482]))
		return -1;
	header_name(h, hdr, sizeof(hdr));
	if ((type == '0' || type == '\0' || type == '7') && !sparse && size > 0 &&
	    content_path(entry_name(x, hdr), path, sizeof(path))) {
		emit_file(ts, path, size);
		ts->left = size;
		ts->pad = round_block(size) - size;
		ts->st = TS_DATA_FILE;
	} else {
		ts->left = ts->after = round_block(size);
		ts->st = sparse_blocks ? TS_SPARSE_EXT : ts->left ? TS_DATA_RAW : TS_HEADER;
	}
	ext_reset(x);
	return 0;
}

static int header_block(struct image_tar_split *ts, const unsigned char *h)
{
	if (is_zero(h)) {
		/* libarchive ends at the first zero block; the rest is trailer. */
		ts->st = TS_TRAILER;
		return 0;
	}
	if (!checksum_ok(h) || ++ts->x.chain > CHAIN_MAX)
		return -1;
	switch (h[156]) {
	case 'x':
	case 'X': return ext_begin(ts, h, 'x');
	case 'L':
	case 'K':
	case 'g':
	case 'A': return ext_begin(ts, h, (char)h[156]);
	case 'V': return 0; /* a volume label: no body, the entry follows */
	default: return entry_header(ts, h);
	}
}

static int block_done(struct image_tar_split *ts, const unsigned char *h)
{
	emit_raw(ts, h, BLOCK);
	if (ts->st == TS_HEADER)
		return header_block(ts, h);
	/* A sparse map continuation: byte 504 says whether another follows. */
	if (!h[504]) {
		ts->left = ts->after;
		ts->st = ts->left ? TS_DATA_RAW : TS_HEADER;
	}
	return 0;
}

/* ---- the stream ----------------------------------------------------------- */

static size_t take_block(struct image_tar_split *ts, const unsigned char *p, size_t len)
{
	size_t k;

	if (ts->blk_len == 0 && len >= BLOCK) {
		if (block_done(ts, p) < 0)
			ts->spoiled = true;
		return BLOCK;
	}
	k = BLOCK - ts->blk_len < len ? BLOCK - ts->blk_len : len;
	memcpy(ts->blk + ts->blk_len, p, k);
	ts->blk_len += k;
	if (ts->blk_len == BLOCK) {
		ts->blk_len = 0;
		if (block_done(ts, ts->blk) < 0)
			ts->spoiled = true;
	}
	return k;
}

static size_t take_data(struct image_tar_split *ts, const unsigned char *p, size_t len)
{
	size_t k = (unsigned long long)ts->left < len ? (size_t)ts->left : len;
	struct ts_ext *x = &ts->x;

	if (ts->st == TS_DATA_FILE) {
		ts->left -= (long long)k;
		if (ts->left == 0) {
			ts->left = ts->pad;
			ts->st = ts->pad ? TS_DATA_RAW : TS_HEADER;
		}
		return k;
	}
	emit_raw(ts, p, k);
	if (ts->st == TS_EXT_BODY && x->len < x->want) {
		size_t c = x->want - x->len < k ? x->want - x->len : k;
		if (x->type == 'x' || x->type == 'L')
			memcpy(x->buf + x->len, p, c);
		x->len += c;
	}
	ts->left -= (long long)k;
	if (ts->left == 0 && ts->st == TS_EXT_BODY && ext_end(ts) < 0)
		ts->spoiled = true;
	else if (ts->left == 0)
		ts->st = TS_HEADER;
	return k;
}

void image_tar_split_feed(struct image_tar_split *ts, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	if (!ts || ts->spoiled)
		return;
	ts->total += (long long)len;
	while (len > 0 && !ts->spoiled) {
		size_t k;
		if (ts->st == TS_TRAILER) {
			emit_raw(ts, p, len);
			return;
		}
		if (ts->st == TS_HEADER || ts->st == TS_SPARSE_EXT)
			k = take_block(ts, p, len);
		else
			k = take_data(ts, p, len);
		p += k;
		len -= k;
	}
}

void image_tar_split_note(struct image_tar_split *ts, struct archive_entry *e, const char *path)
{
	const char *base;

	if (!ts || ts->spoiled || archive_entry_filetype(e) != AE_IFREG ||
	    archive_entry_hardlink(e) || archive_entry_size(e) <= 0 ||
	    archive_entry_sparse_count(e) > 0)
		return;
	base = strrchr(path, '/');
	if (image_whiteout_classify(base ? base + 1 : path, NULL) != WHITEOUT_KIND_NONE)
		return;
	ts->h_unpacked = mix(ts->h_unpacked, path, archive_entry_size(e));
	ts->n_unpacked++;
}

/* ---- begin and end ---------------------------------------------------------- */

/* A zstd stream of one raw entry, level 1: compressing is most of the cost
 * of recording (gzip -1 took three times as long for 15% less), and import
 * speed matters more than a few KiB. In-process only: libarchive's
 * fallback to an external zstd program (ARCHIVE_WARN) would cost far more;
 * the layer is then stored without a record. */
static int open_writer(struct image_tar_split *ts)
{
	struct archive_entry *e;
	int r;

	if (!(ts->z = archive_write_new()) || !(e = archive_entry_new()))
		return -1;
	if (archive_write_set_format_raw(ts->z) != ARCHIVE_OK ||
	    archive_write_add_filter_zstd(ts->z) != ARCHIVE_OK ||
	    archive_write_set_filter_option(ts->z, "zstd", "compression-level", "1") !=
		    ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(ts->z, 0) != ARCHIVE_OK ||
	    archive_write_open_fd(ts->z, ts->fd) != ARCHIVE_OK) {
		archive_entry_free(e);
		return -1;
	}
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_pathname(e, TAR_SPLIT_FILE);
	r = archive_write_header(ts->z, e);
	archive_entry_free(e);
	return r == ARCHIVE_OK ? 0 : -1;
}

struct image_tar_split *image_tar_split_open(int dirfd, const char *name)
{
	struct image_tar_split *ts = calloc(1, sizeof(*ts));

	if (!ts) {
		close(dirfd);
		return NULL;
	}
	ts->dirfd = dirfd;
	ts->raw_at = NO_RAW;
	ts->x.pax_size = -1;
	ts->h_parsed = ts->h_unpacked = 0xcbf29ce484222325ULL;
	ts->fd = -1;
	if (snprintf(ts->name, sizeof(ts->name), "%s", name) < (int)sizeof(ts->name))
		ts->fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
				0600);
	if (ts->fd < 0 || !(ts->out = malloc(OUT_BUF)) || open_writer(ts) < 0) {
		image_tar_split_end(ts, NULL);
		return NULL;
	}
	memcpy(ts->out, TAR_SPLIT_MAGIC, strlen(TAR_SPLIT_MAGIC));
	ts->out_len = strlen(TAR_SPLIT_MAGIC);
	return ts;
}

struct image_tar_split *image_tar_split_begin(int dest_dirfd)
{
	char link[64], path[PATH_MAX], name[NAME_MAX + 1];
	cleanup_close int parent = -1;
	struct stat a, b;
	const char *base;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", dest_dirfd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0)
		return NULL;
	path[n] = '\0';
	base = strrchr(path, '/');
	if (!base || !base[1] ||
	    snprintf(name, sizeof(name), "%s" TAR_SPLIT_SUFFIX, base + 1) >= (int)sizeof(name))
		return NULL;
	base++;
	/* Only beside a layer staged by storage_staging_new (its dir holds the
	 * owner's ".lock"): other callers' directories are left untouched. */
	parent = openat(dest_dirfd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (parent < 0 || faccessat(parent, ".lock", F_OK, AT_SYMLINK_NOFOLLOW) < 0)
		return NULL;
	if (fstat(dest_dirfd, &a) < 0 || fstatat(parent, base, &b, AT_SYMLINK_NOFOLLOW) < 0 ||
	    a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return NULL;
	return image_tar_split_open(TAKE_FD(parent), name);
}

/* The record describes the whole stream and matches what was unpacked. */
static bool consistent(const struct image_tar_split *ts)
{
	bool at_end = ts->st == TS_TRAILER ||
		      (ts->st == TS_HEADER && ts->blk_len == 0 && ts->x.chain == 0);

	return !ts->spoiled && at_end && ts->n_parsed == ts->n_unpacked &&
	       ts->h_parsed == ts->h_unpacked;
}

static bool finish(struct image_tar_split *ts, const char *diff_id)
{
	unsigned char end[1 + 8 + DIGEST_LEN];

	if (!diff_id || strlen(diff_id) != DIGEST_LEN || !consistent(ts))
		return false;
	put_zeros(ts);
	close_raw(ts);
	if (OUT_BUF - ts->out_len < sizeof(end))
		flush(ts);
	end[0] = 'E';
	put_le(end + 1, (uint64_t)ts->total, 8);
	memcpy(end + 9, diff_id, DIGEST_LEN);
	memcpy(ts->out + ts->out_len, end, sizeof(end));
	ts->out_len += sizeof(end);
	flush(ts);
	return !ts->spoiled && archive_write_close(ts->z) == ARCHIVE_OK;
}

bool image_tar_split_end(struct image_tar_split *ts, const char *diff_id)
{
	bool kept;

	if (!ts)
		return false;
	kept = ts->z && ts->fd >= 0 && ts->out && finish(ts, diff_id);
	if (ts->z)
		archive_write_free(ts->z);
	if (ts->fd >= 0 && close(ts->fd) < 0)
		kept = false;
	if (!kept && ts->fd >= 0)
		unlinkat(ts->dirfd, ts->name, 0);
	close(ts->dirfd);
	ext_reset(&ts->x);
	free(ts->x.buf);
	free(ts->out);
	free(ts);
	return kept;
}
