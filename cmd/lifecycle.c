/* lifecycle: start, stop, kill, restart, wait, pause/unpause and the
 * create / run -d hook: the commands that change a container's state. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/log.h"
#include "cmd/lifecycle.h"
#include "base/banned.h"

int ctr_start(struct cmd_ctx *ctx, const struct storage_container *c, struct err *err)
{
	int fd = ctr_lock(c, err), rc;
	json_t *st;

	if (fd < 0)
		return -1;
	json_decref(cmd_container_state(ctx, c)); /* recovers a dead monitor */
	st = ctr_state_raw(ctx, c);
	if (json_is_true(json_object_get(st, "Running")) ||
	    json_is_true(json_object_get(st, "Restarting"))) {
		json_decref(st);
		close(fd);
		return 0; /* docker start of a running container is a no-op */
	}
	json_decref(st);
	rc = ctr_monitor_spawn(ctx, c, fd, err);
	close(fd);
	return rc;
}

void lifecycle_config_add(json_t *cfg, const struct run_opts *o)
{
	json_t *host = json_object_get(cfg, "HostConfig"), *groups = json_array();
	const char *p = o->restart ? o->restart : "no";
	size_t n = strcspn(p, ":");

	json_object_set_new(host, "RestartPolicy",
			    json_pack("{s:s#, s:i}", "Name", p, (int)n, "MaximumRetryCount",
				      p[n] ? atoi(p + n + 1) : 0));
	for (size_t i = 0; i < o->group_add.n; i++)
		json_array_append_new(groups, json_string(o->group_add.v[i]));
	json_object_set_new(host, "GroupAdd", groups);
	if (o->userns)
		json_object_set_new(host, "UIDMap",
				    json_pack("{s:i, s:i, s:i}", "ContainerID",
					      (int)o->uidmap.container_id, "HostID",
					      (int)o->uidmap.host_id, "Size", (int)o->uidmap.size));
	if (o->userns)
		json_object_set_new(host, "GIDMap",
				    json_pack("{s:i, s:i, s:i}", "ContainerID",
					      (int)o->gidmap.container_id, "HostID",
					      (int)o->gidmap.host_id, "Size", (int)o->gidmap.size));
}

int lifecycle_after_create(struct cmd_ctx *ctx, const struct storage_container *c, bool start)
{
	struct err err = { 0 };
	json_t *st = json_pack("{s:s, s:b, s:i}", "Status", "created", "Running", 0, "Pid", 0);

	if (ctr_state_update(ctx, c, -1, st, &err) < 0) {
		json_decref(st);
		return cmd_fail_err(&err);
	}
	json_decref(st);
	if (!start) {
		if (storage_container_umount(&ctx->store, c, &err) < 0)
			log_warn("%s", err.msg);
		puts(c->id);
		return 0;
	}
	if (ctr_start(ctx, c, &err) < 0) {
		fprintf(stderr, "mydocker: %s\n", err.msg);
		return runtime_exit_code_for(&err) ?: EXIT_USAGE;
	}
	puts(c->id);
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Poll the pidfds of fds[0..n) (-1: none) until each has exited or ms
 * passed; each that exited is closed and set to -1. Returns how many are
 * left. */
static size_t poll_exits(int *fds, size_t n, int ms)
{
	cleanup_free struct pollfd *p = calloc(n ? n : 1, sizeof(*p));
	long long end = now_ms() + ms;
	size_t left = n;

	while (p && left > 0) {
		long long wait = end - now_ms();
		left = 0;
		for (size_t i = 0; i < n; i++) {
			p[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
			left += fds[i] >= 0;
		}
		if (left == 0 || wait <= 0 || (poll(p, (nfds_t)n, (int)wait) < 0 && errno != EINTR))
			break;
		for (size_t i = 0; i < n; i++) {
			if (fds[i] >= 0 && p[i].revents) {
				close(fds[i]);
				fds[i] = -1;
			}
		}
	}
	return left;
}

static int pidfd_of(json_t *st, const char *pid_key)
{
	pid_t pid = (pid_t)json_integer_value(json_object_get(st, pid_key));

	return pid > 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
}

static int send_signal(json_t *st, int sig)
{
	pid_t pid = ctr_running_pid(st);
	int pfd;

	if (pid <= 0)
		return -1;
	/* A pidfd pins the process we checked: no signal to a reused pid. */
	pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd < 0)
		return -1;
	if (syscall(SYS_pidfd_send_signal, pfd, sig, NULL, 0) < 0) {
		close(pfd);
		return -1;
	}
	return pfd;
}

static int mark_manual_stop(struct cmd_ctx *ctx, const struct storage_container *c, struct err *err)
{
	json_t *f = json_pack("{s:b}", "ManualStop", 1);
	int rc = ctr_state_update(ctx, c, -1, f, err);

	json_decref(f);
	return rc;
}

static int stop_signal(json_t *cfg)
{
	const char *s =
		json_string_value(json_object_get(json_object_get(cfg, "Config"), "StopSignal"));
	int sig = ctr_signal_parse(s);

	return sig > 0 ? sig : SIGTERM;
}

/* One container being stopped: signalled by stop_begin, waited for
 * with the others by stop_wait, so that `stop` of N containers takes one
 * timeout and not N (as docker does). */
struct stop_op {
	json_t *st;     /* its state when signalled; NULL: nothing to wait for */
	int pid_fd;     /* the container's init, -1 when none */
	int timeout_ms; /* then SIGKILL */
};

static int stop_begin(struct cmd_ctx *ctx, const struct storage_container *c, int timeout,
		      struct stop_op *op, struct err *err)
{
	json_t *st = cmd_container_state(ctx, c), *cfg;
	int sig;

	op->st = NULL;
	op->pid_fd = -1;
	if (!json_is_true(json_object_get(st, "Running")) &&
	    !json_is_true(json_object_get(st, "Restarting"))) {
		json_decref(st);
		return 0;
	}
	cfg = storage_container_config(&ctx->store, c, err);
	sig = stop_signal(cfg);
	if (timeout < 0) {
		json_t *t = json_object_get(json_object_get(cfg, "Config"), "StopTimeout");
		timeout = json_is_integer(t) ? (int)json_integer_value(t) : 10;
	}
	json_decref(cfg);
	if (mark_manual_stop(ctx, c, err) < 0) {
		json_decref(st);
		return -1;
	}
	if (json_is_true(json_object_get(st, "Paused")) &&
	    ctr_freezer_set(c->id, ctr_running_pid(st), false, err) < 0)
		log_warn("%s", err->msg);
	op->st = st;
	op->timeout_ms = timeout * 1000;
	op->pid_fd = send_signal(st, sig);
	if (op->pid_fd < 0) {
		/* Between restarts there is no process: the monitor stops. */
		pid_t m = (pid_t)json_integer_value(json_object_get(st, "MonitorPid"));
		if (m > 0 && ctr_monitor_alive(st))
			kill(m, SIGTERM);
	}
	return 0;
}

/* Wait for every container of ops (SIGKILL once its timeout passed),
 * then for their monitors, which record the exit and unmount before
 * leaving: at most 10 s more. */
static void stop_wait(struct stop_op *ops, size_t n)
{
	cleanup_free int *fds = calloc(n ? n : 1, sizeof(*fds));
	int max_ms = 0;

	if (!fds)
		return;
	for (size_t i = 0; i < n; i++)
		max_ms = ops[i].pid_fd >= 0 && ops[i].timeout_ms > max_ms ? ops[i].timeout_ms :
									    max_ms;
	/* Shortest timeouts first: each round waits until the next one
	 * passes, then kills what is left of those due. */
	for (int done_ms = -1;;) {
		int next = max_ms;
		size_t left = 0;
		for (size_t i = 0; i < n; i++) {
			fds[i] = ops[i].pid_fd;
			if (fds[i] >= 0 && ops[i].timeout_ms > done_ms && ops[i].timeout_ms < next)
				next = ops[i].timeout_ms;
		}
		left = poll_exits(fds, n, next - (done_ms < 0 ? 0 : done_ms));
		for (size_t i = 0; i < n; i++) {
			ops[i].pid_fd = fds[i];
			if (fds[i] >= 0 && ops[i].timeout_ms <= next)
				(void)syscall(SYS_pidfd_send_signal, fds[i], SIGKILL, NULL, 0);
		}
		if (left == 0 || next >= max_ms)
			break;
		done_ms = next;
	}
	for (size_t i = 0; i < n; i++) {
		if (ops[i].pid_fd >= 0)
			close(ops[i].pid_fd);
		fds[i] = ops[i].st && ctr_monitor_alive(ops[i].st) ?
				 pidfd_of(ops[i].st, "MonitorPid") :
				 -1;
	}
	poll_exits(fds, n, 10000);
	for (size_t i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		json_decref(ops[i].st);
	}
}

int ctr_stop(struct cmd_ctx *ctx, const struct storage_container *c, int timeout, struct err *err)
{
	struct stop_op op;

	if (stop_begin(ctx, c, timeout, &op, err) < 0)
		return -1;
	stop_wait(&op, 1);
	return 0;
}

int ctr_wait(struct cmd_ctx *ctx, const struct storage_container *c)
{
	json_t *st = cmd_container_state(ctx, c);
	json_int_t pid = json_integer_value(json_object_get(st, "Pid"));
	int code;

	while (json_is_true(json_object_get(st, "Running")) &&
	       json_integer_value(json_object_get(st, "Pid")) == pid) {
		json_decref(st);
		usleep(20000);
		st = cmd_container_state(ctx, c);
	}
	code = (int)json_integer_value(json_object_get(st, "ExitCode"));
	json_decref(st);
	return code;
}

/* ---- the commands ------------------------------------------------------------ */

typedef int (*ctr_fn)(struct cmd_ctx *ctx, const struct storage_container *c, void *arg,
		      struct err *err);

/* Apply fn to each named container, printing its name as docker does. */
static int each(struct cmd_ctx *ctx, int argc, char **argv, ctr_fn fn, void *arg, bool echo)
{
	struct storage_container c;
	struct err err = { 0 };
	int rc = 0;

	for (int i = optind; i < argc; i++) {
		err_clear(&err);
		if (ctr_find(ctx, argv[i], &c, &err) < 0 || fn(ctx, &c, arg, &err) < 0) {
			rc = cmd_fail_err(&err);
			continue;
		}
		if (echo)
			puts(argv[i]);
	}
	return rc ? 1 : 0;
}

static int simple_opts(struct cmd_ctx *ctx, int argc, char **argv, const char *shortopts,
		       const struct option *opts, int (*take)(int c, void *arg), void *arg)
{
	int c;

	optind = 1;
	while ((c = cmd_getopt(ctx, argc, argv, shortopts, opts, false)) != -1) {
		if (c == '?')
			return EXIT_USAGE;
		if (c == 'h')
			return cmd_help(ctx), -1;
		if (take && take(c, arg) < 0)
			return EXIT_USAGE;
	}
	return cmd_nargs(ctx, argc - optind, 1, -1) ? EXIT_USAGE : 0;
}

static int take_timeout(int c, void *arg)
{
	char *end;

	if (c != 't')
		return 0;
	*(int *)arg = (int)strtol(optarg, &end, 10);
	if (*end || *(int *)arg < 0)
		return cmd_fail("invalid timeout \"%s\"", optarg), -1;
	return 0;
}

/* Signal every container first, then wait for all of them at once (and
 * with restart, start each again): N containers take one timeout, not N. */
static int stop_all(struct cmd_ctx *ctx, int argc, char **argv, int timeout, bool restart)
{
	size_t n = (size_t)(argc - optind);
	cleanup_free struct stop_op *ops = calloc(n ? n : 1, sizeof(*ops));
	cleanup_free struct storage_container *cs = calloc(n ? n : 1, sizeof(*cs));
	cleanup_free bool *ok = calloc(n ? n : 1, sizeof(*ok));
	struct err err = { 0 };
	int rc = 0;

	if (!ops || !cs || !ok)
		return cmd_fail("out of memory");
	for (size_t k = 0; k < n; k++) {
		err_clear(&err);
		if (ctr_find(ctx, argv[optind + (int)k], &cs[k], &err) < 0 ||
		    stop_begin(ctx, &cs[k], timeout, &ops[k], &err) < 0) {
			rc = cmd_fail_err(&err);
			ops[k] = (struct stop_op){ .st = NULL, .pid_fd = -1 };
			continue;
		}
		ok[k] = true;
	}
	stop_wait(ops, n);
	for (size_t k = 0; k < n; k++) {
		err_clear(&err);
		if (ok[k] && restart && ctr_start(ctx, &cs[k], &err) < 0)
			rc = cmd_fail_err(&err);
		else if (ok[k])
			puts(argv[optind + (int)k]);
	}
	return rc ? 1 : 0;
}

/* stop and restart: the same flags, restart starts again what stopped. */
static int stop_cmd(struct cmd_ctx *ctx, int argc, char **argv, bool restart)
{
	static const struct option opts[] = { { "time", required_argument, 0, 't' },
					      { "timeout", required_argument, 0, 't' },
					      { "help", no_argument, 0, 'h' },
					      { 0, 0, 0, 0 } };
	int timeout = -1, rc = simple_opts(ctx, argc, argv, "t:h", opts, take_timeout, &timeout);

	if (rc)
		return rc < 0 ? 0 : rc;
	return stop_all(ctx, argc, argv, timeout, restart);
}

int cmd_stop(struct cmd_ctx *ctx, int argc, char **argv)
{
	return stop_cmd(ctx, argc, argv, false);
}

int cmd_restart(struct cmd_ctx *ctx, int argc, char **argv)
{
	return stop_cmd(ctx, argc, argv, true);
}

static int take_signal(int c, void *arg)
{
	if (c != 's')
		return 0;
	*(int *)arg = ctr_signal_parse(optarg);
	if (*(int *)arg < 0)
		return cmd_fail("kill: invalid signal \"%s\"", optarg), -1;
	return 0;
}

static int do_kill(struct cmd_ctx *ctx, const struct storage_container *c, void *arg,
		   struct err *err)
{
	json_t *st = cmd_container_state(ctx, c), *cfg;
	int sig = *(int *)arg, pfd;

	if (!ctr_running_pid(st)) {
		json_decref(st);
		return err_set(err, EINVAL,
			       "cannot kill container %s: container %.12s is not running", c->name,
			       c->id);
	}
	/* Docker: a kill with the stop signal or SIGKILL is a stop by the user,
	 * which no restart policy undoes. */
	cfg = storage_container_config(&ctx->store, c, err);
	if ((sig == SIGKILL || sig == stop_signal(cfg)) && mark_manual_stop(ctx, c, err) < 0) {
		json_decref(cfg);
		json_decref(st);
		return -1;
	}
	json_decref(cfg);
	if (json_is_true(json_object_get(st, "Paused")) && sig == SIGKILL &&
	    ctr_freezer_set(c->id, ctr_running_pid(st), false, err) < 0)
		log_warn("%s", err->msg);
	pfd = send_signal(st, sig);
	json_decref(st);
	if (pfd < 0)
		return err_sys(err, errno, "kill container %.12s", c->id);
	close(pfd);
	return 0;
}

int cmd_kill(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "signal", required_argument, 0, 's' },
					      { "help", no_argument, 0, 'h' },
					      { 0, 0, 0, 0 } };
	int sig = SIGKILL, rc = simple_opts(ctx, argc, argv, "s:h", opts, take_signal, &sig);

	if (rc)
		return rc < 0 ? 0 : rc;
	return each(ctx, argc, argv, do_kill, &sig, true);
}

static int do_start(struct cmd_ctx *ctx, const struct storage_container *c, void *arg,
		    struct err *err)
{
	(void)arg;
	return ctr_start(ctx, c, err);
}

static int take_start(int c, void *arg)
{
	bool *f = arg;

	if (c == 'a')
		f[0] = true;
	if (c == 'i')
		f[1] = true;
	return 0;
}

int cmd_start(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "attach", no_argument, 0, 'a' },
					      { "interactive", no_argument, 0, 'i' },
					      { "help", no_argument, 0, 'h' },
					      { 0, 0, 0, 0 } };
	bool f[2] = { false, false };
	struct storage_container c;
	struct err err = { 0 };
	json_t *cfg;
	int rc = simple_opts(ctx, argc, argv, "aih", opts, take_start, f);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (!f[0] && !f[1])
		return each(ctx, argc, argv, do_start, NULL, true);
	if (argc - optind != 1)
		return cmd_fail("start: you cannot start and attach multiple containers at once");
	if (ctr_find(ctx, argv[optind], &c, &err) < 0 || ctr_start(ctx, &c, &err) < 0) {
		cmd_fail_err(&err);
		return runtime_exit_code_for(&err) ?: EXIT_USAGE;
	}
	cfg = storage_container_config(&ctx->store, &c, &err);
	rc = ctr_attach(ctx, &c, f[1],
			json_is_true(json_object_get(json_object_get(cfg, "Config"), "Tty")), &err);
	json_decref(cfg);
	return rc;
}

static int do_pause(struct cmd_ctx *ctx, const struct storage_container *c, void *arg,
		    struct err *err)
{
	bool pause = *(bool *)arg;
	json_t *st = cmd_container_state(ctx, c), *f;
	pid_t pid = ctr_running_pid(st);
	bool paused = json_is_true(json_object_get(st, "Paused"));
	int rc;

	json_decref(st);
	if (!pid)
		return err_set(err, EINVAL, "container %.12s is not running", c->id);
	if (paused == pause)
		return err_set(err, EINVAL, "container %.12s is %s paused", c->id,
			       pause ? "already" : "not");
	if (ctr_freezer_set(c->id, pid, pause, err) < 0)
		return -1;
	f = json_pack("{s:s, s:b}", "Status", pause ? "paused" : "running", "Paused", pause);
	rc = ctr_state_update(ctx, c, -1, f, err);
	json_decref(f);
	return rc;
}

int cmd_pause(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 } };
	bool pause = true;
	int rc = simple_opts(ctx, argc, argv, "h", opts, NULL, NULL);

	if (rc)
		return rc < 0 ? 0 : rc;
	return each(ctx, argc, argv, do_pause, &pause, true);
}

int cmd_unpause(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 } };
	bool pause = false;
	int rc = simple_opts(ctx, argc, argv, "h", opts, NULL, NULL);

	if (rc)
		return rc < 0 ? 0 : rc;
	return each(ctx, argc, argv, do_pause, &pause, true);
}

static int do_wait(struct cmd_ctx *ctx, const struct storage_container *c, void *arg,
		   struct err *err)
{
	(void)arg;
	(void)err;
	printf("%d\n", ctr_wait(ctx, c));
	fflush(stdout);
	return 0;
}

int cmd_wait(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 } };
	int rc = simple_opts(ctx, argc, argv, "h", opts, NULL, NULL);

	if (rc)
		return rc < 0 ? 0 : rc;
	return each(ctx, argc, argv, do_wait, NULL, false);
}

int cmd_create(struct cmd_ctx *ctx, int argc, char **argv)
{
	/* cmd_run sees ctx->name "create" and stops after the record. */
	return cmd_run(ctx, argc, argv);
}
