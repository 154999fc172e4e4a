/* sealed: run mydocker from a sealed memfd copy of itself (CVE-2019-5736).
 *
 * The attack: a process in the container opens /proc/<pid>/exe of a runtime
 * process that has entered the container (or makes the runtime exec
 * "#!/proc/self/exe"), then writes through that fd once the binary is no
 * longer busy, replacing the host's runtime binary. If /proc/self/exe is a
 * memfd sealed against writes, shrinking and growing, no such write can
 * succeed and the host file is never reachable from the container.
 *
 * Alternatives weighed (runc >= 1.1.12 / 1.2 "dmz" work):
 *  - bind-mount /proc/self/exe read-only over itself in a private mount
 *    namespace, or an overlayfs whose only lowerdir holds the binary, then
 *    exec that: no copy, but it needs CAP_SYS_ADMIN and a mount namespace
 *    set up before the re-exec, a read-only mount can be remounted by
 *    anyone who later gains CAP_SYS_ADMIN over it, and the failure modes
 *    (no overlay, nested containers, userns) each need a fallback anyway.
 *  - runc moved away from memfd because its ~10 MB binary was copied once
 *    per container and charged to the container's memory cgroup.
 * We copy once per mydocker invocation, before any cgroup is joined, and
 * the binary is small (a few hundred KB: the copy costs tens of
 * microseconds, see the report), so the sealed memfd is the simpler and
 * stronger choice here: the seals are enforced by the kernel on the inode
 * itself, whatever mounts or capabilities the container ends up with. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "runtime/internal.h"
#include "base/banned.h" /* last: after every system header */

/* Set in the environment of the re-executed copy only, to detect a loop
 * (re-exec happened but the result is still not sealed). */
#define SEALED_ENV "_MYDOCKER_SEALED"

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

extern char **environ;

int rt_self_is_sealed(void)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	int seals;

	if (fd < 0)
		return 0;
	/* F_GET_SEALS fails with EINVAL on anything but a memfd/shmem file. */
	seals = fcntl(fd, F_GET_SEALS);
	close(fd);
	return seals >= 0 && (seals & SEALS) == SEALS;
}

static int copy_self(int src_fd, int dst_fd, struct err *err)
{
	struct stat st;
	off_t off = 0;

	if (fstat(src_fd, &st) < 0)
		return err_sys(err, errno, "stat /proc/self/exe");
	while (off < st.st_size) {
		ssize_t n = sendfile(dst_fd, src_fd, &off, (size_t)(st.st_size - off));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys(err, errno, "copy /proc/self/exe into memfd");
		if (n == 0)
			return err_set(err, EIO, "copy /proc/self/exe: short file");
	}
	return 0;
}

/* A memfd holding a sealed copy of the running binary. */
static int sealed_copy(struct err *err)
{
	cleanup_close int exe_fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	cleanup_close int mem_fd = -1;

	if (exe_fd < 0)
		return err_sys(err, errno, "open /proc/self/exe (is /proc mounted?)");
	mem_fd = memfd_create("mydocker", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mem_fd < 0)
		return err_sys(err, errno, "memfd_create");
	if (copy_self(exe_fd, mem_fd, err) < 0)
		return -1;
	if (fcntl(mem_fd, F_ADD_SEALS, SEALS) < 0)
		return err_sys(err, errno, "seal memfd");
	return TAKE_FD(mem_fd);
}

/* environ plus the marker; the caller frees only the array. */
static char **env_with_marker(void)
{
	size_t n = 0;
	char **env;

	while (environ && environ[n])
		n++;
	env = calloc(n + 2, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++)
		env[i] = environ[i];
	env[n] = (char *)SEALED_ENV "=1";
	return env;
}

int runtime_ensure_sealed_self(int argc, char **argv, struct err *err)
{
	cleanup_close int mem_fd = -1;
	cleanup_free char **env = NULL;

	if (rt_self_is_sealed()) {
		unsetenv(SEALED_ENV); /* keep it out of anything we exec later */
		return 0;
	}
	if (getenv(SEALED_ENV))
		return err_set(err, EINVAL,
			       "re-exec from a sealed copy of mydocker did not "
			       "take effect (/proc/self/exe is not sealed)");
	if (argc < 1 || !argv || argv[argc])
		return err_set(err, EINVAL, "runtime_ensure_sealed_self: bad argv");
	mem_fd = sealed_copy(err);
	if (mem_fd < 0)
		return -1;
	env = env_with_marker();
	if (!env)
		return err_sys(err, ENOMEM, "re-exec");
	/* MFD_CLOEXEC is fine for an ELF binary: the kernel has opened the
	 * file before it closes the fd (only scripts need the fd to stay). */
	fexecve(mem_fd, argv, env);
	return err_sys(err, errno, "fexecve sealed copy of mydocker");
}
