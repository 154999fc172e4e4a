/* exec_ns: runtime_exec: a new process inside a running container. It joins
 * the container's cgroups and namespaces through a pidfd of its init, gets
 * the same security set-up as the container's own process and runs the
 * command; the caller relays its terminal and waits for it. */
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "runtime/internal.h"
#include "runtime/pty.h"
#include "base/banned.h"

struct exec_ctx {
	const struct runtime_spec *spec;
	const struct rt_security *sec;
	pid_t init_pid;
	bool detach;
	bool userns; /* the container has its own user namespace */
	int sync_fd; /* child end of the sync socket */
	int pid_fd;  /* write end: the helper reports the exec'd process's pid */
};

static void __attribute__((noreturn)) exec_fail(int sync_fd, const struct err *err)
{
	struct rt_sync_msg msg = { .type = RT_SYNC_ERR, .err = *err };

	(void)rt_sync_send(sync_fd, &msg, -1);
	_exit(1);
}

/* ---- joining ---------------------------------------------------------------- */

static int same_ns(pid_t pid, const char *ns)
{
	char path[64];
	struct stat a, b;

	snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, ns);
	if (stat(path, &a) < 0)
		return 1; /* kernel without it: nothing to join */
	snprintf(path, sizeof(path), "/proc/self/ns/%s", ns);
	if (stat(path, &b) < 0)
		return 1;
	return a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

/* The hierarchy's cgroup file for one /proc/PID/cgroup line "id:ctl:path". */
static int cgroup_procs_path(char *line, char *out, size_t len)
{
	char *ctl = strchr(line, ':'), *cg;

	if (!ctl || !(cg = strchr(ctl + 1, ':')))
		return -1;
	*cg++ = '\0';
	cg[strcspn(cg, "\n")] = '\0';
	ctl++;
	if (!strncmp(ctl, "name=", 5))
		ctl += 5;
	if (*ctl)
		snprintf(out, len, "/sys/fs/cgroup/%s%s/cgroup.procs", ctl, cg);
	else if (access("/sys/fs/cgroup/unified/cgroup.procs", F_OK) == 0)
		snprintf(out, len, "/sys/fs/cgroup/unified%s/cgroup.procs", cg);
	else
		snprintf(out, len, "/sys/fs/cgroup%s/cgroup.procs", cg);
	return 0;
}

/* Move the calling process into each hierarchy's cgroup of pid where it
 * differs from ours: limits and the freezer then cover exec'd processes
 * (cgroups(7), "cgroup.procs"). Before setns, while /sys/fs/cgroup is the
 * host's. */
static int join_cgroups(pid_t pid, struct err *err)
{
	char path[64], line[1024], self[8192] = "\n", target[2048];
	cleanup_fclose FILE *f = NULL;
	cleanup_close int self_fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
	ssize_t n = self_fd >= 0 ? read(self_fd, self + 1, sizeof(self) - 2) : -1;

	if (n < 0)
		return err_sys(err, errno, "read /proc/self/cgroup");
	self[n + 1] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return err_sys(err, errno, "open %s", path);
	while (fgets(line, sizeof(line), f)) {
		char key[1030];
		int fd;

		snprintf(key, sizeof(key), "\n%s", line);
		if (strstr(self, key) || cgroup_procs_path(line, target, sizeof(target)) < 0)
			continue; /* already there */
		fd = open(target, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			continue; /* hierarchy not mounted here */
		if (write(fd, "0", 1) != 1) {
			int e = errno;
			close(fd);
			return err_sys(err, e, "join cgroup %s", target);
		}
		close(fd);
	}
	return 0;
}

/* setns(2) with a pidfd enters several namespaces at once (Linux 5.8). The
 * user namespace only if it is not ours: joining one's own is EINVAL. */
static int join_namespaces(pid_t pid, bool userns, struct err *err)
{
	int flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWPID |
		    CLONE_NEWCGROUP;
	cleanup_close int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (pidfd < 0)
		return err_sys(err, errno, "pidfd_open %d (container not running?)", (int)pid);
	if (userns)
		flags |= CLONE_NEWUSER;
	if (setns(pidfd, flags) < 0)
		return err_sys(err, errno, "setns into the container's namespaces");
	return 0;
}

/* ---- the process in the container ------------------------------------------------ */

static int exec_stdio(const struct exec_ctx *x, struct err *err)
{
	int fd, last;

	if (x->spec->terminal && !x->detach)
		return rt_pty_child_setup(x->sync_fd, false, err);
	/* -d: nothing of ours at all; without -i: no stdin. */
	last = x->detach ? 2 : (x->spec->interactive ? -1 : 0);
	if (last < 0)
		return 0;
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, errno, "open /dev/null");
	for (int i = 0; i <= last; i++)
		if (dup2(fd, i) < 0) {
			close(fd);
			return err_sys(err, errno, "stdio from /dev/null");
		}
	close(fd);
	return 0;
}

static int exec_cwd(int root_fd, const char *cwd, struct err *err)
{
	const char *c = cwd && *cwd ? cwd : "/";
	cleanup_close int fd = -1;

	if (c[0] != '/')
		return err_set(err, EINVAL, "cwd \"%s\" must be an absolute path", c);
	/* Resolved in the container's root without magic links
	 * (CVE-2024-21626). */
	fd = fs_open_in_root(root_fd, c, O_PATH | O_DIRECTORY, 0);
	if (fd < 0 || fchdir(fd) < 0)
		return err_sys(err, errno, "chdir to cwd \"%s\"", c);
	return 0;
}

/* In the container's namespaces, with / already its root (setns(2) of a
 * mount namespace sets root and cwd to the namespace's root). Returns only
 * on failure. */
static int exec_process(const struct exec_ctx *x, struct err *err)
{
	const struct runtime_spec *spec = x->spec;
	cleanup_close int root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct rt_user u;
	char path[4096];
	char **env;

	if (root_fd < 0)
		return err_sys(err, errno, "open /");
	if (x->userns && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
		return err_sys(err, errno, "become root in the user namespace");
	if (exec_stdio(x, err) < 0 ||
	    rt_user_resolve(root_fd, spec->user, spec->add_groups, &u, err) < 0 ||
	    exec_cwd(root_fd, spec->cwd, err) < 0)
		return -1;
	env = rt_exec_env(spec, &u, err);
	if (!env || rt_exec_lookup(spec->argv[0], env, path, sizeof(path), err) < 0 ||
	    rt_rlimits_apply(spec, err) < 0)
		return -1;
	/* Nothing of the caller's may reach the container (CVE-2024-21626);
	 * the sync socket closing on exec tells the caller it happened. */
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		return err_sys(err, errno, "close_range");
	if (rt_security_apply(x->sec, u.uid, u.gid, u.groups, u.n_groups, err) < 0)
		return -1;
	if (!x->detach)
		prctl(PR_SET_PDEATHSIG, SIGKILL);
	execve(path, spec->argv, env);
	return rt_exec_failed(spec->argv[0], errno, err);
}

/* The helper: joins, then clones the real process as a sibling
 * (CLONE_PARENT), so the caller is its parent and reaps it, and the new
 * process is in the container's PID namespace (setns(2) of a PID
 * namespace only applies to children). */
static void __attribute__((noreturn)) exec_helper(const struct exec_ctx *x)
{
	struct err err = { 0 };
	pid_t pid;

	if (join_cgroups(x->init_pid, &err) < 0 ||
	    join_namespaces(x->init_pid, x->userns, &err) < 0)
		exec_fail(x->sync_fd, &err);
	pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid < 0) {
		err_sys(&err, errno, "clone into the container");
		exec_fail(x->sync_fd, &err);
	}
	if (pid == 0) {
		close(x->pid_fd);
		rt_signals_reset();
		exec_process(x, &err);
		exec_fail(x->sync_fd, &err);
	}
	if (write(x->pid_fd, &pid, sizeof(pid)) != (ssize_t)sizeof(pid))
		_exit(1);
	_exit(0);
}

/* ---- the caller ------------------------------------------------------------------- */

/* The exec'd process's pid from the helper, then its exec (EOF), its pty
 * or its error over the sync socket. */
static int await_process(int sync_fd, int pid_rd, pid_t helper, pid_t *pid, int *master_fd,
			 struct err *err)
{
	int status = 0;

	waitpid(helper, &status, 0);
	if (read(pid_rd, pid, sizeof(*pid)) != (ssize_t)sizeof(*pid))
		*pid = -1;
	if (rt_sync_await(sync_fd, master_fd, err) < 0) {
		/* Failed before its exec: it exits on its own (exec_fail). */
		if (*pid > 0)
			waitpid(*pid, NULL, 0);
		return -1;
	}
	if (*pid > 0)
		return 0;
	if (*master_fd >= 0)
		close(*master_fd);
	*master_fd = -1;
	return err_set(err, ECHILD, "exec helper failed");
}

static int exec_run(struct exec_ctx *x, int sig_fd, struct runtime_result *res, struct err *err)
{
	int sv[2], pp[2], master_fd = -1, rc;
	pid_t helper, pid = -1;
	struct rt_relay relay;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return err_sys(err, errno, "socketpair");
	if (pipe2(pp, O_CLOEXEC) < 0) {
		close(sv[0]);
		close(sv[1]);
		return err_sys(err, errno, "pipe");
	}
	x->sync_fd = sv[1];
	x->pid_fd = pp[1];
	helper = fork();
	if (helper == 0) {
		close(sv[0]);
		close(pp[0]);
		exec_helper(x);
	}
	close(sv[1]);
	close(pp[1]);
	if (helper < 0)
		rc = err_sys(err, errno, "fork");
	else
		rc = await_process(sv[0], pp[0], helper, &pid, &master_fd, err);
	close(sv[0]);
	close(pp[0]);
	if (rc < 0)
		return -1;
	res->pid = pid;
	if (x->detach) {
		if (master_fd >= 0)
			close(master_fd);
		return 0;
	}
	rt_relay_init(&relay, master_fd, x->spec->interactive);
	res->exit_code = rt_wait_relay(pid, sig_fd, &relay);
	rt_relay_release(&relay);
	return 0;
}

int runtime_exec(pid_t init_pid, const struct runtime_spec *spec, bool detach,
		 struct runtime_result *res, struct err *err)
{
	struct exec_ctx x = { .spec = spec, .init_pid = init_pid, .detach = detach };
	struct rt_security sec;
	sigset_t old;
	int sig_fd, rc;

	memset(res, 0, sizeof(*res));
	if (!spec->argv || !spec->argv[0])
		return err_set(err, EINVAL, "no command specified");
	if (init_pid <= 0)
		return err_set(err, ESRCH, "container is not running");
	if (rt_security_prepare(spec, &sec, err) < 0)
		return -1;
	x.sec = &sec;
	x.userns = !same_ns(init_pid, "user");
	sig_fd = rt_signals_block(&old, err);
	if (sig_fd < 0) {
		rt_security_release(&sec);
		return -1;
	}
	rc = exec_run(&x, sig_fd, res, err);
	rt_signals_restore(&old, sig_fd);
	rt_security_release(&sec);
	return rc;
}
