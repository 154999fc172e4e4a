/* seccomp: compile Docker's default profile for a capability set into a
 * BPF program (in the parent), and install it (in the child). */
#include <errno.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "runtime/internal.h"
#include "base/banned.h" /* last: after every system header */

#define HAS_CAP(caps, c) (((caps) >> (c)) & 1)

/* The namespace flags a process without CAP_SYS_ADMIN may not pass to
 * clone(2): NEWNS|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET|NEWCGROUP. */
#define CLONE_NS_FLAGS 0x7E020000ULL

static void ctx_releasep(scmp_filter_ctx *ctx)
{
	if (*ctx)
		seccomp_release(*ctx);
}

/* Add one rule by name. A name libseccomp does not know at all (newer than
 * the library) resolves to __NR_SCMP_ERROR and is skipped; names that exist
 * only on another architecture resolve to a pseudo number that
 * seccomp_rule_add quietly ignores where it does not apply. */
static int add_rule(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned n_args,
		    const struct scmp_arg_cmp *args, struct err *err)
{
	int nr = seccomp_syscall_resolve_name(name);
	int rc;

	if (nr == __NR_SCMP_ERROR)
		return 0;
	rc = seccomp_rule_add_array(ctx, action, nr, n_args, args);
	if (rc < 0 && rc != -EEXIST)
		return err_sys(err, -rc, "seccomp rule for %s", name);
	return 0;
}

static int add_list(scmp_filter_ctx ctx, const char *const *names, struct err *err)
{
	for (size_t i = 0; names[i]; i++)
		if (add_rule(ctx, SCMP_ACT_ALLOW, names[i], 0, NULL, err) < 0)
			return -1;
	return 0;
}

/* personality(2) only for the execution domains Docker allows: PER_LINUX,
 * PER_LINUX32, UNAME26 variants, and the 0xffffffff query. */
static int add_personality(scmp_filter_ctx ctx, struct err *err)
{
	static const uint64_t ok[] = { 0x0, 0x8, 0x20000, 0x20008, 0xffffffff };

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct scmp_arg_cmp a = SCMP_A0(SCMP_CMP_EQ, ok[i]);
		if (add_rule(ctx, SCMP_ACT_ALLOW, "personality", 1, &a, err) < 0)
			return -1;
	}
	return 0;
}

/* Without CAP_SYS_ADMIN: clone only without namespace flags (the flags are
 * argument 1 on s390), and clone3 answers ENOSYS because its flags live in
 * memory seccomp cannot inspect; glibc then falls back to clone. */
static int add_clone(scmp_filter_ctx ctx, uint64_t caps, struct err *err)
{
	uint32_t arch = seccomp_arch_native();
	unsigned idx = (arch == SCMP_ARCH_S390X || arch == SCMP_ARCH_S390) ? 1 : 0;
	struct scmp_arg_cmp a = { idx, SCMP_CMP_MASKED_EQ, CLONE_NS_FLAGS, 0 };

	if (HAS_CAP(caps, CAP_SYS_ADMIN))
		return 0; /* allowed outright by the CAP_SYS_ADMIN group */
	if (add_rule(ctx, SCMP_ACT_ALLOW, "clone", 1, &a, err) < 0)
		return -1;
	return add_rule(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL, err);
}

static int add_conditional(scmp_filter_ctx ctx, uint64_t caps, struct err *err)
{
	/* socket(2) for every family but AF_VSOCK (40), which reaches the host. */
	struct scmp_arg_cmp vsock = SCMP_A0(SCMP_CMP_NE, 40);

	if (add_rule(ctx, SCMP_ACT_ALLOW, "socket", 1, &vsock, err) < 0 ||
	    add_personality(ctx, err) < 0 || add_clone(ctx, caps, err) < 0)
		return -1;
	for (const struct rt_seccomp_capgroup *g = rt_seccomp_cap_allow; g->names; g++)
		if (HAS_CAP(caps, g->cap) && add_list(ctx, g->names, err) < 0)
			return -1;
	return 0;
}

/* Docker's archMap: on x86_64 the i386 and x32 ABIs get the same rules
 * instead of being killed as a foreign architecture. */
static int add_arches(scmp_filter_ctx ctx, struct err *err)
{
#if defined(__x86_64__)
	static const uint32_t extra[] = { SCMP_ARCH_X86, SCMP_ARCH_X32 };
#elif defined(__aarch64__)
	static const uint32_t extra[] = { SCMP_ARCH_ARM };
#elif defined(__s390x__)
	static const uint32_t extra[] = { SCMP_ARCH_S390 };
#else
	static const uint32_t extra[] = { SCMP_ARCH_NATIVE };
#endif
	for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		int rc = seccomp_arch_add(ctx, extra[i]);
		if (rc < 0 && rc != -EEXIST)
			return err_sys(err, -rc, "seccomp: add architecture");
	}
	return 0;
}

/* libseccomp 2.5 can only export to an fd; a memfd keeps it in memory.
 * The result is one allocation: the sock_fprog header, then the code. */
static int export_prog(scmp_filter_ctx ctx, void **prog, struct err *err)
{
	cleanup_close int fd = memfd_create("mydocker-seccomp", MFD_CLOEXEC);
	struct sock_fprog *fp;
	struct stat st;
	size_t n;
	int rc;

	if (fd < 0)
		return err_sys(err, errno, "memfd_create");
	rc = seccomp_export_bpf(ctx, fd);
	if (rc < 0)
		return err_sys(err, -rc, "seccomp: export BPF");
	if (fstat(fd, &st) < 0)
		return err_sys(err, errno, "fstat seccomp memfd");
	n = (size_t)st.st_size / sizeof(struct sock_filter);
	if (n == 0 || n > BPF_MAXINSNS)
		return err_set(err, E2BIG, "seccomp: filter has %zu instructions", n);
	fp = malloc(sizeof(*fp) + n * sizeof(struct sock_filter));
	if (!fp)
		return err_sys(err, ENOMEM, "seccomp filter");
	fp->len = (unsigned short)n;
	fp->filter = (struct sock_filter *)(fp + 1);
	if (pread(fd, fp->filter, n * sizeof(struct sock_filter), 0) !=
	    (ssize_t)(n * sizeof(struct sock_filter))) {
		free(fp);
		return err_sys(err, errno ? errno : EIO, "read seccomp filter");
	}
	*prog = fp;
	return 0;
}

int rt_seccomp_build(uint64_t caps, void **prog, struct err *err)
{
	__attribute__((cleanup(ctx_releasep))) scmp_filter_ctx ctx = NULL;

	*prog = NULL;
	ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	if (!ctx)
		return err_set(err, ENOMEM, "seccomp_init failed");
	/* A binary tree keeps the ~350-entry allow list cheap per syscall;
	 * older libseccomp lacks the attribute, which is only a speed loss. */
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (add_arches(ctx, err) < 0 || add_list(ctx, rt_seccomp_allow, err) < 0 ||
	    add_conditional(ctx, caps, err) < 0)
		return -1;
	return export_prog(ctx, prog, err);
}

void rt_seccomp_free(void *prog)
{
	free(prog);
}

int rt_seccomp_load(const void *prog, struct err *err)
{
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog, 0, 0) < 0)
		return err_sys(err, errno, "load seccomp filter");
	return 0;
}
