/* seccomp_cache: compiled seccomp programs kept on disk, so that a run
 * reads ~10 KB of BPF instead of having libseccomp compile Docker's
 * profile (several milliseconds of CPU on every container start).
 *
 * The program is a pure function of: the profile tables, the code that
 * turns them into rules (seccomp.c), the libseccomp that compiles them
 * (its syscall tables), the kernel's seccomp API level, the native
 * architecture and the capability set. The file name is the SHA-256 of
 * all of these (the code is represented by the binary's GNU build ID and
 * CACHE_VERSION), so nothing is ever invalidated, only not found again.
 *
 * Trust: the directory is the caller's (the store's, 0700 under a 0700
 * root); a program that passes validation but was written by someone else
 * would be a weaker filter, so entries and the directory must belong to
 * our euid and be writable by nobody else, or they are ignored. Entries
 * are written through temp file + fsync + rename: a crash leaves no torn
 * program behind. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <linux/filter.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/digest.h"
#include "base/fs.h"
#include "base/log.h"
#include "runtime/internal.h"
#include "base/banned.h" /* last: after every system header */

/* Bump when seccomp.c changes the rules it derives from the tables (a
 * build ID also changes then, unless the binary was linked without one). */
#define CACHE_VERSION "mydocker-seccomp-cache-1"
/* Past this many entries (old builds, many capability sets), a store
 * clears the directory: entries are cheap to rebuild. */
#define CACHE_MAX_ENTRIES 64

struct build_id {
	const unsigned char *p;
	size_t len;
};

static size_t align_up(size_t n, size_t a)
{
	return (n + a - 1) & ~(a - 1);
}

/* NT_GNU_BUILD_ID in one PT_NOTE segment; 0 if found. */
static int note_build_id(const char *p, const char *end, size_t align, struct build_id *b)
{
	while ((size_t)(end - p) >= sizeof(ElfW(Nhdr))) {
		const ElfW(Nhdr) *n = (const void *)p;
		const char *name = p + sizeof(*n);
		const char *desc = name + align_up(n->n_namesz, align);

		if (desc > end || (size_t)(end - desc) < n->n_descsz)
			return -1;
		if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && !memcmp(name, "GNU", 4)) {
			b->p = (const unsigned char *)desc;
			b->len = n->n_descsz;
			return 0;
		}
		p = desc + align_up(n->n_descsz, align);
	}
	return -1;
}

/* dl_iterate_phdr lists the executable first: look only at it. */
static int exe_build_id(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr);

		if (ph->p_type == PT_NOTE &&
		    note_build_id(p, p + ph->p_memsz, ph->p_align == 8 ? 8 : 4, data) == 0)
			break;
	}
	return 1;
}

static void hash_str(struct digest_ctx *d, const char *s)
{
	digest_update(d, s, strlen(s) + 1); /* with the NUL: "ab","c" != "a","bc" */
}

static void hash_profile(struct digest_ctx *d)
{
	for (size_t i = 0; rt_seccomp_allow[i]; i++)
		hash_str(d, rt_seccomp_allow[i]);
	for (const struct rt_seccomp_capgroup *g = rt_seccomp_cap_allow; g->names; g++) {
		digest_update(d, &g->cap, sizeof(g->cap));
		for (size_t i = 0; g->names[i]; i++)
			hash_str(d, g->names[i]);
	}
}

/* "<64 hex>.bpf" for caps on this binary, libseccomp, kernel and arch. */
static int cache_name(uint64_t caps, char *name, size_t len)
{
	const struct scmp_version *v = seccomp_version();
	struct build_id id = { NULL, 0 };
	uint32_t env[6] = { v ? v->major : 0,      v ? v->minor : 0,
			    v ? v->micro : 0,      (uint32_t)seccomp_api_get(),
			    seccomp_arch_native(), (uint32_t)sizeof(struct sock_filter) };
	struct digest_ctx d;
	char out[DIGEST_BUF];

	if (digest_init(&d) < 0)
		return -1;
	hash_str(&d, CACHE_VERSION);
	dl_iterate_phdr(exe_build_id, &id);
	digest_update(&d, &id.len, sizeof(id.len));
	if (id.p)
		digest_update(&d, id.p, id.len);
	digest_update(&d, env, sizeof(env));
	digest_update(&d, &caps, sizeof(caps));
	hash_profile(&d);
	digest_final(&d, out);
	return snprintf(name, len, "%s.bpf", digest_hex(out)) < (int)len ? 0 : -1;
}

/* Ours alone: owned by our euid, writable by nobody else. */
static int private_fd(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -1;
	if (st.st_uid != geteuid() || (st.st_mode & 022)) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

/* dir_fd/name as a private directory (created 0700), or -1 with errno. */
static int open_private_dir(int dir_fd, const char *name)
{
	int fd;

	if (mkdirat(dir_fd, name, 0700) < 0 && errno != EEXIST)
		return -1;
	fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 && private_fd(fd) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int open_cache(const char *cache_dir)
{
	cleanup_close int top_fd = open_private_dir(AT_FDCWD, cache_dir);

	if (top_fd < 0)
		return -1;
	return open_private_dir(top_fd, "seccomp");
}

static int read_exact(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len > 0) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The kernel's classic-BPF check wants a RET last (bpf_check_classic); a
 * zero-filled or cut file fails this, before it could fail in the child. */
static int valid_prog(const struct sock_fprog *fp)
{
	__u16 code = fp->filter[fp->len - 1].code;

	return code == (BPF_RET | BPF_K) || code == (BPF_RET | BPF_A);
}

/* The program in dir_fd/name as rt_seccomp_build makes it, or -1. */
static int cache_load(int dir_fd, const char *name, void **prog)
{
	cleanup_close int fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct sock_fprog *fp;
	struct stat st;
	size_t n;

	if (fd < 0 || private_fd(fd) < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return -1;
	if (st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) ||
	    st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS)
		return -1;
	n = (size_t)st.st_size / sizeof(struct sock_filter);
	fp = malloc(sizeof(*fp) + n * sizeof(struct sock_filter));
	if (!fp)
		return -1;
	fp->len = (unsigned short)n;
	fp->filter = (struct sock_filter *)(fp + 1);
	if (read_exact(fd, fp->filter, n * sizeof(struct sock_filter)) < 0 || !valid_prog(fp)) {
		free(fp);
		return -1;
	}
	*prog = fp;
	return 0;
}

/* Remove every entry once there are too many (stale builds pile up). */
static void cache_trim(int dir_fd)
{
	cleanup_close int fd = dup(dir_fd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	size_t n = 0;

	if (!d)
		return;
	(void)TAKE_FD(fd); /* owned by d now */
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	if (n >= CACHE_MAX_ENTRIES) {
		rewinddir(d);
		while ((de = readdir(d)))
			if (de->d_name[0] != '.')
				(void)unlinkat(dir_fd, de->d_name, 0);
	}
	closedir(d);
}

static void cache_store(int dir_fd, const char *name, const struct sock_fprog *fp)
{
	struct err e = { 0 };

	cache_trim(dir_fd);
	if (fs_write_atomic(dir_fd, name, fp->filter, fp->len * sizeof(struct sock_filter), 0600,
			    &e) < 0)
		log_debug("seccomp cache: %s", e.msg);
}

int rt_seccomp_get(uint64_t caps, const char *cache_dir, void **prog, struct err *err)
{
	cleanup_close int dir_fd = -1;
	char name[80];

	*prog = NULL;
	if (!cache_dir || cache_name(caps, name, sizeof(name)) < 0)
		return rt_seccomp_build(caps, prog, err);
	dir_fd = open_cache(cache_dir);
	if (dir_fd < 0)
		log_debug("seccomp cache %s: %s", cache_dir, strerror(errno));
	else if (cache_load(dir_fd, name, prog) == 0)
		return 0;
	if (rt_seccomp_build(caps, prog, err) < 0)
		return -1;
	if (dir_fd >= 0)
		cache_store(dir_fd, name, *prog);
	return 0;
}
