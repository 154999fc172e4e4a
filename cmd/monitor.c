/* monitor: the main binary's side of the per-container monitor
 * (monitor/main.c, a tiny static program embedded in us): spawning it,
 * and the two internal commands it runs us for, so that the heavy work
 * happens in short-lived processes while the resident one stays small:
 *
 *   __start ID RESTARTS LOCKFD   start the container (mount, spec, cgroup,
 *                                network, runtime_start), record it
 *                                running, report to the monitor; the
 *                                container is left to the monitor
 *   __exited ID CODE RESTARTS FINISHED FINAL [ERROR]
 *                                after an exit: OOM kill, cgroup and
 *                                network released, the exit recorded, the
 *                                restart policy applied (exit status
 *                                MON_EXIT_RESTART), else unmount/--rm */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/log.h"
#include "cmd/format.h"
#include "cmd/lifecycle.h"
#include "cmd/net_run.h"
#include "monitor/monitor.h"
#include "base/banned.h"

/* Where our binary is on disk, noted before the sealed re-exec (which
 * leaves /proc/self/exe a memfd): the monitor runs it by path later, as
 * conmon runs podman's exit command. */
#define SELF_EXE_ENV "_MYDOCKER_EXE"

extern const char mydocker_monitor_bin[], mydocker_monitor_bin_end[];
extern char **environ;

void ctr_note_self_exe(void)
{
	char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	const char *del = " (deleted)";
	size_t dl = strlen(del);

	if (n <= 0)
		return;
	path[n] = '\0';
	if (!strncmp(path, "/memfd:", 7))
		return; /* the sealed copy: the original set it */
	/* Replaced on disk (a rebuild): the new file at that path is us. */
	if ((size_t)n > dl && !strcmp(path + n - dl, del))
		path[n - dl] = '\0';
	setenv(SELF_EXE_ENV, path, 1);
}

static const char *self_exe(void)
{
	const char *p = getenv(SELF_EXE_ENV);

	return p && *p ? p : "/proc/self/exe";
}

/* ---- spawning ------------------------------------------------------------------------ */

/* The embedded monitor in a sealed memfd: nothing can change what we
 * exec, and no file of it is left anywhere. */
static int monitor_memfd(struct err *err)
{
	const char *p = mydocker_monitor_bin;
	/* Two linker symbols around one blob (monitor/blob.S). */
	size_t left =
		(size_t)((uintptr_t)mydocker_monitor_bin_end - (uintptr_t)mydocker_monitor_bin);
	cleanup_close int fd = memfd_create("mydocker-monitor", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		return err_sys(err, errno, "memfd_create");
	while (left > 0) {
		ssize_t n = write(fd, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return err_sys(err, errno, "write the monitor into a memfd");
		p += n;
		left -= (size_t)n;
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
		return err_sys(err, errno, "seal the monitor memfd");
	return TAKE_FD(fd);
}

static void __attribute__((noreturn))
exec_monitor(struct cmd_ctx *ctx, const struct storage_container *c, bool interactive, int mem_fd,
	     int lock_fd, int ready_fd)
{
	char lock_s[16], ready_s[16];
	char *argv[10];
	int k = 0, null_fd = open("/dev/null", O_RDWR);

	argv[k++] = "mydocker-monitor";
	if (interactive)
		argv[k++] = "-i";
	argv[k++] = (char *)self_exe();
	argv[k++] = (char *)ctx->root;
	argv[k++] = (char *)c->id;
	argv[k++] = (char *)c->dir;
	argv[k++] = lock_s;
	argv[k++] = ready_s;
	argv[k] = NULL;
	/* Own session, no terminal, nothing inherited but the two fds. */
	setsid();
	if (fork() != 0)
		_exit(0);
	for (int i = 0; null_fd >= 0 && i < 3; i++)
		dup2(null_fd, i);
	fcntl(lock_fd, F_SETFD, 0);
	fcntl(ready_fd, F_SETFD, 0);
	snprintf(lock_s, sizeof(lock_s), "%d", lock_fd);
	snprintf(ready_s, sizeof(ready_s), "%d", ready_fd);
	fexecve(mem_fd, argv, environ);
	_exit(127);
}

/* The monitor's answer: a struct err, code 0 once the container runs. */
static int await_ready(int fd, const struct storage_container *c, struct err *err)
{
	struct err child = { 0 };
	ssize_t n;

	do
		n = read(fd, &child, sizeof(child));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(child))
		return err_set(err, EIO, "container %.12s: the monitor did not start", c->id);
	if (child.code) {
		child.msg[sizeof(child.msg) - 1] = '\0';
		*err = child;
		return -1;
	}
	return 0;
}

int ctr_monitor_spawn(struct cmd_ctx *ctx, const struct storage_container *c, int lock_fd,
		      struct err *err)
{
	json_t *cfg = storage_container_config(&ctx->store, c, err), *conf;
	cleanup_close int mem_fd = -1;
	int pp[2], rc;
	bool interactive;
	pid_t pid;

	if (!cfg)
		return -1;
	conf = json_object_get(cfg, "Config");
	interactive = json_is_true(json_object_get(conf, "OpenStdin")) &&
		      !json_is_true(json_object_get(conf, "Tty"));
	json_decref(cfg);
	mem_fd = monitor_memfd(err);
	if (mem_fd < 0)
		return -1;
	if (pipe2(pp, O_CLOEXEC) < 0)
		return err_sys(err, errno, "pipe");
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(pp[0]);
		exec_monitor(ctx, c, interactive, mem_fd, lock_fd, pp[1]);
	}
	close(pp[1]);
	if (pid < 0) {
		close(pp[0]);
		return err_sys(err, errno, "fork the monitor");
	}
	waitpid(pid, NULL, 0);
	rc = await_ready(pp[0], c, err);
	close(pp[0]);
	return rc;
}

/* ---- __start ------------------------------------------------------------------------- */

struct start {
	struct storage_container c;
	json_t *cfg;
	struct ctr_spec cs;
	struct runtime_resources res;
	bool have_res, have_spec;
	struct net_run net;
	pid_t pid;
	int master_fd;
	char cache_dir[PATH_MAX];
};

static int on_created(pid_t pid, void *data, struct err *err)
{
	struct start *s = data;

	return ctr_freezer_join(s->c.id, pid, err);
}

/* Limits from HostConfig, the cgroup named after the container; the
 * network from config.json, as `run` does. */
static int prepare(struct cmd_ctx *ctx, struct start *s, struct err *err)
{
	if (ctr_mount(ctx, &s->c, s->cfg, err) < 0 ||
	    ctr_spec_build(&s->c, s->cfg, &s->cs, err) < 0)
		return -1;
	s->have_spec = true;
	if (run_resources_from_json(json_object_get(s->cfg, "HostConfig"), &s->res, err) < 0)
		return -1;
	s->have_res = true;
	s->res.cgroup_name = s->c.id;
	s->cs.spec.resources = &s->res;
	/* Compiled seccomp filters, as run keeps them (runtime/seccomp_cache.c). */
	if (fs_join(s->cache_dir, sizeof(s->cache_dir), ctx->store.root, "cache") == 0)
		s->cs.spec.cache_dir = s->cache_dir;
	if (net_run_prepare(ctx, &s->net, &s->c, s->cs.hostname, s->cs.spec.hosts_path,
			    s->cs.spec.resolv_path, err) < 0)
		return -1;
	net_run_spec(&s->net, &s->cs.spec);
	return 0;
}

/* The container's stdio is the monitor's pipes (fds 3-5, see
 * monitor/monitor.h) unless it has a terminal; ours is /dev/null again
 * right after, and the pipes are closed: the container then holds the
 * only write ends, so the monitor sees EOF when it is gone. */
static int launch(struct start *s, struct err *err)
{
	struct runtime_result rr;
	int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC), rc;

	if (null_fd < 0)
		return err_sys(err, errno, "open /dev/null");
	if (!s->cs.spec.terminal)
		for (int i = 0; i < 3; i++)
			dup2(MON_FD_STDIN + i, i);
	s->cs.spec.on_created = on_created;
	s->cs.spec.hook_data = s;
	rc = runtime_start(&s->cs.spec, &rr, &s->master_fd, err);
	for (int i = 0; i < 3; i++) {
		dup2(null_fd, i);
		close(MON_FD_STDIN + i);
	}
	close(null_fd);
	s->pid = rc == 0 ? rr.pid : 0;
	return rc;
}

static int record_running(struct cmd_ctx *ctx, const struct start *s, int restarts, int lock_fd,
			  struct err *err)
{
	char now[64];
	pid_t mon = getppid();
	json_t *st;
	int rc;

	fmt_now(now, sizeof(now));
	st = json_pack(
		"{s:s, s:b, s:b, s:b, s:b, s:b, s:i, s:I, s:i, s:I, s:s, s:i, s:s, s:i, s:b}",
		"Status", "running", "Running", 1, "Paused", 0, "Restarting", 0, "OOMKilled", 0,
		"Dead", 0, "Pid", (int)s->pid, "PidStart", (json_int_t)storage_proc_start(s->pid),
		"MonitorPid", (int)mon, "MonitorStart", (json_int_t)storage_proc_start(mon),
		"StartedAt", now, "ExitCode", 0, "Error", "", "RestartCount", restarts,
		"ManualStop", 0);
	rc = ctr_state_update(ctx, &s->c, lock_fd, st, err);
	json_decref(st);
	return rc;
}

static int start_container(struct cmd_ctx *ctx, struct start *s, const char *id, int restarts,
			   int lock_fd, struct err *err)
{
	int rc;

	if (ctr_find(ctx, id, &s->c, err) < 0 ||
	    !(s->cfg = storage_container_config(&ctx->store, &s->c, err)))
		return -1;
	rc = prepare(ctx, s, err);
	if (rc == 0)
		rc = launch(s, err);
	if (rc == 0) {
		net_run_started(ctx, &s->net, s->pid);
		rc = record_running(ctx, s, restarts, lock_fd, err);
		if (rc < 0)
			kill(s->pid, SIGKILL); /* the monitor reaps it */
	}
	if (rc < 0)
		net_run_release(ctx, &s->net);
	if (s->have_res)
		run_resources_release(&s->res);
	if (s->have_spec)
		ctr_spec_release(&s->cs);
	json_decref(s->cfg);
	return rc;
}

static void send_result(const struct err *err, pid_t pid, int master_fd)
{
	struct mon_start_msg msg = { .err = *err, .pid = (int)pid };
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = &msg, .iov_len = sizeof(msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (master_fd >= 0) {
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &master_fd, sizeof(int));
	}
	if (sendmsg(MON_FD_CTL, &mh, MSG_NOSIGNAL) < 0)
		log_debug("report to the monitor: %s", strerror(errno));
}

static int internal_start(struct cmd_ctx *ctx, int argc, char **argv, int idx)
{
	struct start s = { .master_fd = -1 };
	struct err err = { 0 };
	int rc;

	if (argc - idx != 4)
		return EXIT_USAGE;
	/* This process clones the container's init: it must be a sealed
	 * copy of us (CVE-2019-5736), as for run. */
	rc = runtime_ensure_sealed_self(argc, argv, &err);
	if (rc == 0)
		rc = start_container(ctx, &s, argv[idx + 1], atoi(argv[idx + 2]),
				     atoi(argv[idx + 3]), &err);
	send_result(&err, rc == 0 ? s.pid : 0, s.master_fd);
	if (s.master_fd >= 0)
		close(s.master_fd);
	return rc == 0 ? 0 : 1;
}

/* ---- __exited ---------------------------------------------------------------------- */

/* Docker's policies: no, on-failure[:N], always, unless-stopped. A stop
 * or kill asked by the user (ManualStop) ends any of them. */
static bool should_restart(json_t *cfg, int code, int restarts)
{
	json_t *pol = json_object_get(json_object_get(cfg, "HostConfig"), "RestartPolicy");
	const char *name = json_string_value(json_object_get(pol, "Name")) ?: "no";
	int max = (int)json_integer_value(json_object_get(pol, "MaximumRetryCount"));

	if (!strcmp(name, "always") || !strcmp(name, "unless-stopped"))
		return true;
	if (!strcmp(name, "on-failure"))
		return code != 0 && (max <= 0 || restarts < max);
	return false;
}

/* This start's cgroup (its OOM count first) and network endpoint. */
static bool release_start(struct cmd_ctx *ctx, const struct storage_container *c, json_t *cfg,
			  int code)
{
	struct runtime_resources res;
	struct runtime_result rr = { .exit_code = code };
	struct err e = { 0 };

	if (run_resources_from_json(json_object_get(cfg, "HostConfig"), &res, &e) == 0) {
		res.cgroup_name = (char *)c->id;
		runtime_cgroup_release(&res, &rr);
		run_resources_release(&res);
	} else if (runtime_cgroup_remove(ctr_cgroup_parent(cfg), c->id, &e) < 0) {
		log_warn("%s", e.msg);
	}
	net_container_release(ctx, c->id);
	return rr.oom_killed;
}

struct exit_info {
	int code, restarts;
	const char *finished, *error;
	bool final;
};

/* Record the exit under the lock; true if the policy restarts it. */
static bool record_exit(struct cmd_ctx *ctx, const struct storage_container *c, json_t *cfg,
			const struct exit_info *x, bool oom)
{
	struct err e = { 0 };
	json_t *st = ctr_state_raw(ctx, c), *ex = ctr_state_exited(x->code, x->error);
	bool manual = json_is_true(json_object_get(st, "ManualStop")), again;
	pid_t mon = getppid();

	again = !x->final && !x->error && !manual && should_restart(cfg, x->code, x->restarts);
	json_object_update(st, ex);
	json_object_set_new(st, "FinishedAt", json_string(x->finished));
	json_object_set_new(st, "ManualStop", json_boolean(manual));
	json_object_set_new(st, "RestartCount", json_integer(x->restarts));
	json_object_set_new(st, "OOMKilled", json_boolean(oom));
	if (again) {
		json_object_set_new(st, "Status", json_string("restarting"));
		json_object_set_new(st, "Restarting", json_true());
		json_object_set_new(st, "MonitorPid", json_integer(mon));
		json_object_set_new(st, "MonitorStart",
				    json_integer((json_int_t)storage_proc_start(mon)));
	}
	if (storage_container_set_state(&ctx->store, c, st, &e) < 0)
		log_warn("%s", e.msg);
	json_decref(st);
	json_decref(ex);
	return again;
}

static int internal_exited(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct exit_info x = { 0 };
	struct storage_container c;
	struct err err = { 0 };
	json_t *cfg;
	bool again = false;
	int fd;

	if (argc != 6 && argc != 7)
		return EXIT_USAGE;
	x.code = atoi(argv[2]);
	x.restarts = atoi(argv[3]);
	x.finished = argv[4];
	x.final = !strcmp(argv[5], "1");
	x.error = argc == 7 ? argv[6] : NULL;
	if (ctr_find(ctx, argv[1], &c, &err) < 0 ||
	    !(cfg = storage_container_config(&ctx->store, &c, &err)))
		return cmd_fail_err(&err);
	/* Under the lock to the end: a `start` must not mount while we
	 * unmount. */
	fd = ctr_lock(&c, &err);
	if (fd >= 0) {
		bool oom = release_start(ctx, &c, cfg, x.code);
		again = record_exit(ctx, &c, cfg, &x, oom);
		if (!again)
			ctr_release(ctx, &c, cfg,
				    json_is_true(json_object_get(json_object_get(cfg, "HostConfig"),
								 "AutoRemove")));
		close(fd);
	}
	json_decref(cfg);
	return fd < 0 ? cmd_fail_err(&err) : again ? MON_EXIT_RESTART : 0;
}

int ctr_internal_main(struct cmd_ctx *ctx, int argc, char **argv, int idx)
{
	if (!strcmp(argv[idx], "__start"))
		return internal_start(ctx, argc, argv, idx);
	if (!strcmp(argv[idx], "__exited"))
		return internal_exited(ctx, argc - idx, argv + idx);
	return cmd_fail("'%s' is not a mydocker command. (see 'mydocker --help')", argv[idx]);
}
