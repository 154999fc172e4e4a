/* run: runtime_run: clone the container into its namespaces, order its set-up
 * with the parent over a sync socket, relay its terminal, forward signals to
 * it, wait for it and report its exit code Docker's way. */
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "runtime/cgroup/cgroup.h"
#include "runtime/internal.h"
#include "runtime/net/net.h"
#include "runtime/pty.h"
#include "base/banned.h"

int runtime_exit_code_for(const struct err *err)
{
	if (!err || !err->code)
		return 0;
	if (err->code == RUNTIME_ERR_NOT_FOUND)
		return 127;
	if (err->code == RUNTIME_ERR_CANNOT_EXEC)
		return 126;
	return 125;
}

/* ---- the child ------------------------------------------------------------ */

static void __attribute__((noreturn)) child_fail(int sync_fd, const struct err *err)
{
	struct rt_sync_msg msg = { .type = RT_SYNC_ERR, .err = *err };

	(void)rt_sync_send(sync_fd, &msg, -1);
	_exit(1);
}

static void wait_go(int sync_fd)
{
	struct rt_sync_msg msg;
	int fd;

	/* Anything but "go" (EOF included) means the parent gave up. */
	if (rt_sync_recv(sync_fd, &msg, &fd) != 1 || msg.type != RT_SYNC_GO)
		_exit(1);
	if (fd >= 0)
		close(fd);
}

/* After the parent wrote our maps: become the namespace's root so that
 * files we create belong to the mapped root, not to the overflow id. */
static int become_userns_root(struct err *err)
{
	if (setresgid(0, 0, 0) < 0)
		return err_sys(err, errno, "setresgid 0 in the user namespace");
	if (setresuid(0, 0, 0) < 0)
		return err_sys(err, errno, "setresuid 0 in the user namespace");
	return 0;
}

static int setup_stdio(const struct runtime_spec *spec, int sync_fd, struct err *err)
{
	int fd;

	if (spec->terminal)
		return rt_pty_child_setup(sync_fd, true, err);
	if (spec->interactive)
		return 0;
	/* Without -i the container reads nothing of ours. */
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, errno, "open /dev/null");
	if (dup2(fd, STDIN_FILENO) < 0) {
		close(fd);
		return err_sys(err, errno, "stdin from /dev/null");
	}
	close(fd);
	return 0;
}

/* The working directory, resolved inside the new root without magic links:
 * a cwd of /proc/self/fd/N naming a leaked host directory is how
 * CVE-2024-21626 escaped. Created if missing, as Docker does. */
static int open_cwd(int root_fd, const char *cwd, struct err *err)
{
	const char *c = cwd && *cwd ? cwd : "/";
	int fd;

	if (c[0] != '/')
		return err_set(err, EINVAL, "cwd \"%s\" must be an absolute path", c);
	fd = fs_open_in_root(root_fd, c, O_PATH | O_DIRECTORY, 0);
	if (fd < 0 && errno == ENOENT) {
		fd = fs_mkdirs_in_root(root_fd, c, 0755);
		if (fd >= 0) {
			close(fd);
			fd = fs_open_in_root(root_fd, c, O_PATH | O_DIRECTORY, 0);
		}
	}
	if (fd < 0)
		return err_sys(err, errno, "chdir to cwd \"%s\"", c);
	return fd;
}

/* PID 1 with --init: forward every signal to the real process, reap every
 * zombie, and leave with the process's code (128+signal if killed). */
static void __attribute__((noreturn)) run_init(pid_t child)
{
	sigset_t all;

	sigfillset(&all);
	close_range(3, ~0U, 0);
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&all, &si), status;
		pid_t p;

		if (sig < 0)
			continue;
		if (sig != SIGCHLD) {
			kill(child, sig);
			continue;
		}
		while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
			if (p == child)
				_exit(rt_status_code(status));
		}
	}
}

/* With --init: fork the real process. Signals stay blocked in PID 1, which
 * takes them with sigwaitinfo(2); a PID 1 ignores signals it has no handler
 * for, but blocked ones are queued (pid_namespaces(7)). The real process
 * waits until PID 1 has closed every fd but stdio (the end of the pipe
 * closes with them), so that not even for a moment does PID 1 hold one
 * the container could reach through /proc/1/fd. */
static int fork_init(struct err *err)
{
	sigset_t all, none;
	int p[2];
	char c;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return err_sys(err, errno, "pipe");
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	pid = fork();
	if (pid < 0)
		return err_sys(err, errno, "fork the container's init");
	if (pid > 0)
		run_init(pid);
	close(p[1]);
	while (read(p[0], &c, 1) < 0 && errno == EINTR)
		;
	close(p[0]);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	return 0;
}

struct child_ids {
	struct rt_user user;
	int root_fd, cwd_fd;
};

/* The user (from the image's /etc/passwd, after pivot_root) and the cwd. */
static int enter_process(const struct runtime_spec *spec, struct child_ids *ids, struct err *err)
{
	ids->root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (ids->root_fd < 0)
		return err_sys(err, errno, "open /");
	if (rt_user_resolve(ids->root_fd, spec->user, spec->add_groups, &ids->user, err) < 0)
		return -1;
	ids->cwd_fd = open_cwd(ids->root_fd, spec->cwd, err);
	if (ids->cwd_fd < 0)
		return -1;
	if (fchdir(ids->cwd_fd) < 0)
		return err_sys(err, errno, "chdir to cwd \"%s\"", spec->cwd ? spec->cwd : "/");
	return 0;
}

/* Returns only on failure. */
static int child_run(const struct runtime_spec *spec, const struct rt_security *sec,
		     const struct rt_detached *det, int sync_fd, bool detached, struct err *err)
{
	struct child_ids ids = { .root_fd = -1, .cwd_fd = -1 };
	char path[4096];
	char **env;

	if (spec->userns && become_userns_root(err) < 0)
		return -1;
	/* The cgroup namespace only now, after on_created put us in the
	 * container's cgroup: its root is then that cgroup, and the container
	 * sees "/" in /proc/self/cgroup (cgroup_namespaces(7); runc does the
	 * same). */
	if (unshare(CLONE_NEWCGROUP) < 0)
		return err_sys(err, errno, "unshare the cgroup namespace");
	umask(022);
	if (rt_rootfs_setup(spec, det, err) < 0 || setup_stdio(spec, sync_fd, err) < 0)
		return -1;
	if (spec->hostname && sethostname(spec->hostname, strlen(spec->hostname)) < 0)
		return err_sys(err, errno, "sethostname %s", spec->hostname);
	if (rt_rlimits_apply(spec, err) < 0 || enter_process(spec, &ids, err) < 0)
		return -1;
	env = rt_exec_env(spec, &ids.user, err);
	if (!env || rt_exec_lookup(spec->argv[0], env, path, sizeof(path), err) < 0)
		return -1;
	/* Nothing of ours or of our caller's may reach the container (leaked
	 * fds: CVE-2024-21626): all of them close on exec, the sync socket
	 * included, whose closing tells the parent the exec happened. */
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		return err_sys(err, errno, "close_range");
	if (rt_security_apply(sec, ids.user.uid, ids.user.gid, ids.user.groups, ids.user.n_groups,
			      err) < 0)
		return -1;
	/* Changing uid cleared the parent-death signal (prctl(2)): set again.
	 * Detached (runtime_start), none once it runs: its caller may hand it
	 * to a subreaper and exit (cmd/monitor.c). */
	prctl(PR_SET_PDEATHSIG, detached ? 0 : SIGKILL);
	if (spec->init && fork_init(err) < 0)
		return -1;
	execve(path, spec->argv, env);
	return rt_exec_failed(spec->argv[0], errno, err);
}

static void __attribute__((noreturn))
child_main(const struct runtime_spec *spec, const struct rt_security *sec,
	   const struct rt_detached *det, int sync_fd, bool detached)
{
	struct err err = { 0 };

	/* The container starts with default dispositions and nothing blocked,
	 * not with what the caller had. */
	rt_signals_reset();
	/* The container does not outlive runtime_run's process: with nobody
	 * to wait for it, its exit code and its cleanup would be lost. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	wait_go(sync_fd);
	child_run(spec, sec, det, sync_fd, detached, &err);
	child_fail(sync_fd, &err);
}

/* ---- the parent ----------------------------------------------------------- */

/* Between clone and go: id maps (user_namespaces(7): written by us, root in
 * the parent namespace, so no "setgroups deny" is needed), then the
 * caller's hook (cgroup, network). */
static int release_child(const struct runtime_spec *spec, pid_t pid, int sync_fd, struct err *err)
{
	struct rt_sync_msg go = { .type = RT_SYNC_GO };

	if (spec->userns && rt_idmap_write_maps(pid, spec, err) < 0)
		return -1;
	if (spec->netmode == RT_NET_BRIDGE && spec->net &&
	    runtime_net_attach(spec->net, pid, err) < 0)
		return -1;
	if (spec->on_created && spec->on_created(pid, spec->hook_data, err) < 0)
		return -1;
	if (rt_sync_send(sync_fd, &go, -1) < 0)
		return err_sys(err, errno, "start the container process");
	return 0;
}

/* clone(2) without a new stack behaves like fork(2): the child continues
 * on a copy of ours, already in its namespaces (owned by the new user
 * namespace when there is one, because they are created together). The
 * cgroup namespace comes later, in the child (see child_run). */
static pid_t clone_container(const struct runtime_spec *spec)
{
	unsigned long flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | SIGCHLD;

	if (spec->netmode != RT_NET_HOST)
		flags |= CLONE_NEWNET;
	if (spec->userns)
		flags |= CLONE_NEWUSER;
	return (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
}

/* Clone the child; its pid, with *sync_fd the parent's end of the sync
 * socket, or -1 with err. */
static pid_t spawn(const struct runtime_spec *spec, const struct rt_security *sec, bool detached,
		   int *sync_fd, struct err *err)
{
	struct rt_detached det __attribute__((cleanup(rt_detached_release)));
	int sv[2], e;
	pid_t pid;

	if (rt_detached_prepare(spec, &det, err) < 0)
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return err_sys(err, errno, "socketpair");
	pid = clone_container(spec);
	if (pid == 0) {
		close(sv[0]);
		child_main(spec, sec, &det, sv[1], detached);
	}
	e = errno;
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return err_sys(err, e, "clone the container process");
	}
	*sync_fd = sv[0];
	return pid;
}

/* Let the child go and wait for its exec; on failure it is killed and
 * reaped, and *master_fd closed. */
static int launch(const struct runtime_spec *spec, pid_t pid, int sync_fd, int *master_fd,
		  struct err *err)
{
	int rc = 0;

	if (release_child(spec, pid, sync_fd, err) < 0 ||
	    rt_sync_await(sync_fd, master_fd, err) < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		rc = -1;
	}
	close(sync_fd);
	return rc;
}

static int start(const struct runtime_spec *spec, const struct rt_security *sec,
		 struct runtime_result *res, struct err *err)
{
	struct rt_relay relay;
	int sync_fd, sig_fd, master_fd = -1, rc = -1;
	sigset_t old;
	pid_t pid;

	/* Blocked before clone, so that nothing is lost in between; the child
	 * unblocks its own copy (rt_signals_reset). */
	sig_fd = rt_signals_block(&old, err);
	if (sig_fd < 0)
		return -1;
	pid = spawn(spec, sec, false, &sync_fd, err);
	if (pid > 0 && launch(spec, pid, sync_fd, &master_fd, err) == 0) {
		res->pid = pid;
		rt_relay_init(&relay, master_fd, spec->interactive);
		res->exit_code = rt_wait_relay(pid, sig_fd, &relay);
		rt_relay_release(&relay);
		rc = 0;
	}
	rt_signals_restore(&old, sig_fd);
	return rc;
}

/* Until the exec, as start() does, then hand the process to the caller. */
static int start_detached(const struct runtime_spec *spec, const struct rt_security *sec,
			  struct runtime_result *res, int *master_fd, struct err *err)
{
	int sync_fd;
	pid_t pid = spawn(spec, sec, true, &sync_fd, err);

	if (pid < 0 || launch(spec, pid, sync_fd, master_fd, err) < 0)
		return -1;
	res->pid = pid;
	return 0;
}

/* What runtime_run and runtime_start set up before clone. */
struct prepared {
	struct rt_security sec;
	struct rt_cgroup cg; /* made, with its limits */
	struct rt_cg_hook hook;
	struct runtime_spec spec; /* the caller's, with a hook that puts the
				   * child in cg before letting it go */
};

static int prepare(const struct runtime_spec *spec, struct prepared *p, struct err *err)
{
	if (!spec->argv || !spec->argv[0])
		return err_set(err, EINVAL, "no command specified");
	if (!spec->rootfs || spec->rootfs[0] != '/')
		return err_set(err, EINVAL, "rootfs must be an absolute path");
	if (rt_security_prepare(spec, &p->sec, err) < 0)
		return -1;
	if (rt_cgroup_setup(&p->cg, spec, err) < 0) {
		rt_security_release(&p->sec);
		return -1;
	}
	rt_cgroup_hook(&p->cg, spec, &p->spec, &p->hook);
	return 0;
}

int runtime_start(const struct runtime_spec *spec, struct runtime_result *res, int *master_fd,
		  struct err *err)
{
	struct prepared p;
	int rc;

	memset(res, 0, sizeof(*res));
	*master_fd = -1;
	if (prepare(spec, &p, err) < 0)
		return -1;
	/* The cgroup outlives this call: runtime_cgroup_release removes it. */
	rc = start_detached(&p.spec, &p.sec, res, master_fd, err);
	if (rc < 0)
		rt_cgroup_finish(&p.cg, NULL);
	rt_security_release(&p.sec);
	return rc;
}

int runtime_run(const struct runtime_spec *spec, struct runtime_result *res, struct err *err)
{
	struct prepared p;
	int rc;

	memset(res, 0, sizeof(*res));
	if (prepare(spec, &p, err) < 0)
		return -1;
	/* The cgroup goes when the container's init is reaped. */
	rc = start(&p.spec, &p.sec, res, err);
	rt_cgroup_finish(&p.cg, rc == 0 ? res : NULL);
	rt_security_release(&p.sec);
	return rc;
}
