/* ctr_state: state.json under the per-container lock, liveness of the
 * container and its monitor by pid + start time, crash recovery. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/log.h"
#include "cmd/format.h"
#include "cmd/lifecycle.h"
#include "cmd/net_run.h"
#include "storage/storage_internal.h"
#include "base/banned.h"

int ctr_lock(const struct storage_container *c, struct err *err)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/lock", c->dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_sys(err, errno, "open %s", path);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int e = errno;
			close(fd);
			return err_sys(err, e, "lock container %.12s", c->id);
		}
	}
	return fd;
}

json_t *ctr_state_raw(struct cmd_ctx *ctx, const struct storage_container *c)
{
	char rel[128];
	struct err e = { 0 };
	json_t *st;

	snprintf(rel, sizeof(rel), "containers/%s/state.json", c->id);
	st = storage_json_read(&ctx->store, rel, &e);
	if (!json_is_object(st)) {
		json_decref(st);
		st = json_pack("{s:s, s:b, s:b, s:i, s:i, s:s, s:s}", "Status", "created",
			       "Running", 0, "Paused", 0, "Pid", 0, "ExitCode", 0, "StartedAt",
			       "0001-01-01T00:00:00Z", "FinishedAt", "0001-01-01T00:00:00Z");
	}
	return st;
}

int ctr_state_update(struct cmd_ctx *ctx, const struct storage_container *c, int lock_fd,
		     json_t *fields, struct err *err)
{
	int fd = lock_fd >= 0 ? lock_fd : ctr_lock(c, err);
	json_t *st;
	int rc;

	if (fd < 0)
		return -1;
	st = ctr_state_raw(ctx, c);
	json_object_update(st, fields);
	rc = storage_container_set_state(&ctx->store, c, st, err);
	json_decref(st);
	if (lock_fd < 0)
		close(fd);
	return rc;
}

json_t *ctr_state_exited(int code, const char *error)
{
	char now[64];

	fmt_now(now, sizeof(now));
	return json_pack("{s:s, s:b, s:b, s:b, s:i, s:i, s:s, s:s, s:i, s:i}", "Status", "exited",
			 "Running", 0, "Paused", 0, "Restarting", 0, "Pid", 0, "ExitCode", code,
			 "FinishedAt", now, "Error", error ? error : "", "MonitorPid", 0,
			 "PidStart", 0);
}

bool ctr_proc_alive(pid_t pid, unsigned long long start)
{
	unsigned long long now = storage_proc_start(pid);

	return now != 0 && (start == 0 || now == start);
}

bool ctr_monitor_alive(json_t *st)
{
	pid_t m = (pid_t)json_integer_value(json_object_get(st, "MonitorPid"));

	return m > 0 && ctr_proc_alive(m, (unsigned long long)json_integer_value(
						  json_object_get(st, "MonitorStart")));
}

const char *ctr_status(json_t *st)
{
	return json_string_value(json_object_get(st, "Status")) ?: "created";
}

pid_t ctr_running_pid(json_t *st)
{
	pid_t pid = (pid_t)json_integer_value(json_object_get(st, "Pid"));

	if (!json_is_true(json_object_get(st, "Running")) || pid <= 0)
		return 0;
	return ctr_proc_alive(pid, (unsigned long long)json_integer_value(
					   json_object_get(st, "PidStart"))) ?
		       pid :
		       0;
}

static bool is_mounted(const char *path)
{
	cleanup_fclose FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	size_t n = strlen(path);

	while (f && fgets(line, sizeof(line), f)) {
		char *p = line;
		for (int i = 0; i < 4 && p; i++)
			p = strchr(p + 1, ' ');
		if (p && !strncmp(p + 1, path, n) && p[1 + n] == ' ')
			return true;
	}
	return false;
}

int ctr_mount(struct cmd_ctx *ctx, const struct storage_container *c, json_t *cfg, struct err *err)
{
	json_t *layers = json_object_get(cfg, "Layers");
	size_t n = json_array_size(layers);
	cleanup_free char **chains = NULL;
	int rc;

	if (is_mounted(c->merged))
		return 0;
	chains = calloc(n + 1, sizeof(*chains));
	if (!chains)
		return err_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		chains[i] = (char *)json_string_value(json_array_get(layers, i));
	rc = storage_container_mount(&ctx->store, c, chains, n, err);
	return rc;
}

const char *ctr_cgroup_parent(json_t *cfg)
{
	json_t *hc = json_object_get(cfg, "HostConfig");
	const char *p = json_string_value(json_object_get(hc, "CgroupParent"));

	return p && *p ? p : NULL;
}

void ctr_release(struct cmd_ctx *ctx, const struct storage_container *c, json_t *cfg,
		 bool auto_remove)
{
	struct err e = { 0 };

	ctr_freezer_remove(c->id);
	for (int i = 0; i < 8 && is_mounted(c->merged); i++) {
		if (storage_container_umount(&ctx->store, c, &e) < 0) {
			log_warn("%s", e.msg);
			break;
		}
	}
	if (!auto_remove)
		return;
	if (storage_container_delete(&ctx->store, c, &e) < 0)
		log_warn("%s", e.msg);
	else if (cfg)
		run_remove_anonymous_volumes(ctx, json_object_get(cfg, "Mounts"));
}

void ctr_recover(struct cmd_ctx *ctx, const struct storage_container *c)
{
	struct err e = { 0 };
	int fd = ctr_lock(c, &e);
	json_t *st, *cfg, *ex;
	pid_t pid;

	if (fd < 0)
		return;
	st = ctr_state_raw(ctx, c);
	/* Re-checked under the lock: someone else may have recovered it. */
	if (!json_is_true(json_object_get(st, "Running")) &&
	    !json_is_true(json_object_get(st, "Restarting"))) {
		json_decref(st);
		close(fd);
		return;
	}
	if (ctr_monitor_alive(st)) {
		json_decref(st);
		close(fd);
		return;
	}
	pid = ctr_running_pid(st);
	/* A frozen process would keep its SIGKILL pending forever. */
	if (json_is_true(json_object_get(st, "Paused")))
		if (ctr_freezer_set(c->id, pid, false, &e) < 0)
			log_warn("%s", e.msg);
	if (pid > 0)
		kill(pid, SIGKILL);
	for (int i = 0; pid > 0 && i < 200 && ctr_proc_alive(pid, 0); i++)
		usleep(5000);
	/* What the monitor held for this start: its endpoint and cgroup. */
	net_container_release(ctx, c->id);
	cfg = storage_container_config(&ctx->store, c, &e);
	if (runtime_cgroup_remove(ctr_cgroup_parent(cfg), c->id, &e) < 0)
		log_warn("%s", e.msg);
	ex = ctr_state_exited(137, "monitor died");
	if (storage_container_set_state(&ctx->store, c, ex, &e) < 0)
		log_warn("%s", e.msg);
	json_decref(ex);
	json_decref(st);
	ctr_release(
		ctx, c, cfg,
		json_is_true(json_object_get(json_object_get(cfg, "HostConfig"), "AutoRemove")));
	json_decref(cfg);
	close(fd);
}

/* state.json with what is true now: a container whose monitor died is
 * recovered first (crash, kill -9, reboot); a runner without a monitor
 * (foreground run) is checked by its pid. */
json_t *cmd_container_state(struct cmd_ctx *ctx, const struct storage_container *c)
{
	json_t *st = ctr_state_raw(ctx, c);
	bool live = json_is_true(json_object_get(st, "Running")) ||
		    json_is_true(json_object_get(st, "Restarting"));

	if (!live)
		return st;
	if (json_integer_value(json_object_get(st, "MonitorPid")) > 0) {
		if (ctr_monitor_alive(st))
			return st;
		json_decref(st);
		ctr_recover(ctx, c);
		return ctr_state_raw(ctx, c);
	}
	pid_t pid = (pid_t)json_integer_value(json_object_get(st, "Pid"));
	if (pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH)) {
		json_object_set_new(st, "Status", json_string("exited"));
		json_object_set_new(st, "Running", json_false());
	}
	return st;
}

int ctr_find(struct cmd_ctx *ctx, const char *arg, struct storage_container *c, struct err *err)
{
	if (cmd_store(ctx, err) < 0)
		return -1;
	return storage_container_lookup(&ctx->store, arg, c, err);
}

int ctr_signal_parse(const char *s)
{
	static const struct {
		const char *name;
		int sig;
	} names[] = { { "HUP", SIGHUP },   { "INT", SIGINT },     { "QUIT", SIGQUIT },
		      { "KILL", SIGKILL }, { "TERM", SIGTERM },   { "USR1", SIGUSR1 },
		      { "USR2", SIGUSR2 }, { "STOP", SIGSTOP },   { "CONT", SIGCONT },
		      { "ALRM", SIGALRM }, { "WINCH", SIGWINCH }, { "PIPE", SIGPIPE } };
	char *end;
	long n;

	if (!s || !*s)
		return -1;
	if (isdigit((unsigned char)s[0])) {
		n = strtol(s, &end, 10);
		return (*end || n <= 0 || n >= NSIG) ? -1 : (int)n;
	}
	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcasecmp(s, names[i].name))
			return names[i].sig;
	return -1;
}
