/* lifecycle: private to cmd/: container state (state.json under a
 * per-container lock, crash recovery), the runtime spec rebuilt from
 * config.json, the per-container monitor and its freezer cgroup. */
#ifndef MYDOCKER_CMD_LIFECYCLE_H
#define MYDOCKER_CMD_LIFECYCLE_H

#include <stdbool.h>
#include <sys/types.h>
#include <jansson.h>

#include "cmd/cmd.h"
#include "cmd/run.h"
#include "runtime/runtime.h"
#include "storage/container.h"

/* ---- state (cmd/ctr_state.c) ------------------------------------------------
 * state.json, Docker's State object plus ours:
 *   Status created|running|paused|restarting|exited|dead, Running, Paused,
 *   Restarting, OOMKilled, Dead, Pid, ExitCode, Error, StartedAt, FinishedAt,
 *   RestartCount, PidStart / MonitorPid / MonitorStart (start times from
 *   /proc/PID/stat, so a reused pid is never taken for ours), ManualStop
 *   (stop/kill asked: no restart policy applies). */

/* flock containers/<id>/lock; returns the fd (close to unlock) or -1. */
int ctr_lock(const struct storage_container *c, struct err *err) WUR;
/* state.json as stored ("created" if missing). Never NULL. */
json_t *ctr_state_raw(struct cmd_ctx *ctx, const struct storage_container *c);
/* Merge fields into state.json under the lock (lock_fd < 0: take it). */
int ctr_state_update(struct cmd_ctx *ctx, const struct storage_container *c, int lock_fd,
		     json_t *fields, struct err *err) WUR;
/* A state for an exit: Status exited, Running false, ExitCode, FinishedAt. */
json_t *ctr_state_exited(int code, const char *error);
/* pid is alive and started at start (start 0: no check); see storage_proc_start. */
bool ctr_proc_alive(pid_t pid, unsigned long long start);
/* The monitor of a running container is alive. */
bool ctr_monitor_alive(json_t *st);
/* The container's init pid when running (and the process is ours), else 0. */
pid_t ctr_running_pid(json_t *st);
/* "running", "paused", ... */
const char *ctr_status(json_t *st);
/* After a monitor died: kill what is left, unmount, release the freezer,
 * mark exited (and remove with --rm). Under the lock. */
void ctr_recover(struct cmd_ctx *ctx, const struct storage_container *c);
/* HostConfig.CgroupParent of config.json, NULL for the default. */
const char *ctr_cgroup_parent(json_t *cfg);
/* Drop the freezer cgroup, unmount, remove an AutoRemove container. */
void ctr_release(struct cmd_ctx *ctx, const struct storage_container *c, json_t *cfg,
		 bool auto_remove);
/* Mount the container's union if not mounted yet (config "Layers"). */
int ctr_mount(struct cmd_ctx *ctx, const struct storage_container *c, json_t *cfg,
	      struct err *err) WUR;
/* Find a container by name/id/prefix, with an error for cmd_fail_err. */
int ctr_find(struct cmd_ctx *ctx, const char *arg, struct storage_container *c,
	     struct err *err) WUR;
/* Signal number from "TERM", "SIGTERM", "15"; -1 if unknown. */
int ctr_signal_parse(const char *s);

/* ---- freezer (cmd/ctr_freezer.c) ----------------------------------------------- */
/* Put pid in the container's freezer cgroup (created under mydocker/). */
int ctr_freezer_join(const char *id, pid_t pid, struct err *err) WUR;
/* Freeze or thaw every process of the container and wait until done. */
int ctr_freezer_set(const char *id, pid_t pid, bool frozen, struct err *err) WUR;
/* rmdir the cgroup made by ctr_freezer_join (thawed first). */
void ctr_freezer_remove(const char *id);

/* ---- spec from config.json (cmd/ctr_spec.c) ------------------------------------- */
struct ctr_spec {
	struct runtime_spec spec;
	struct strv env, argv, cap_add, cap_drop, groups;
	struct runtime_mount *mounts;
	size_t n_mounts;
	struct runtime_rlimit rlimits[16];
	char hostname[256];
	char files[3][PATH_MAX];
	char *strings; /* cwd, user: copies */
};
int ctr_spec_build(const struct storage_container *c, json_t *cfg, struct ctr_spec *cs,
		   struct err *err) WUR;
void ctr_spec_release(struct ctr_spec *cs);

/* ---- monitor (cmd/monitor.c) ------------------------------------------------------ */
/* Start the container under a new monitor process (monitor/main.c,
 * embedded: exec'd from a sealed memfd; double fork, own session) and
 * wait until its process runs or failed. lock_fd: the container lock,
 * held by the caller; the monitor's __start inherits it for its first
 * state write. */
int ctr_monitor_spawn(struct cmd_ctx *ctx, const struct storage_container *c, int lock_fd,
		      struct err *err) WUR;
/* The internal commands the monitor runs us for (argv[idx] "__start",
 * "__exited"; see cmd/monitor.c); argv is main's. */
int ctr_internal_main(struct cmd_ctx *ctx, int argc, char **argv, int idx);
/* Note our on-disk path in the environment before a sealed re-exec
 * loses it: the monitor execs it later. First thing in main. */
void ctr_note_self_exe(void);

/* ---- helpers of the commands (cmd/lifecycle.c) ------------------------------------ */
/* Start a created or exited container (lock, state check, monitor). */
int ctr_start(struct cmd_ctx *ctx, const struct storage_container *c, struct err *err) WUR;
/* Stop: stop signal, timeout seconds (-1: config/10), then SIGKILL; wait
 * for the monitor to finish. */
int ctr_stop(struct cmd_ctx *ctx, const struct storage_container *c, int timeout,
	     struct err *err) WUR;
/* attach to a running container's monitor; returns the exit code. */
int ctr_attach(struct cmd_ctx *ctx, const struct storage_container *c, bool in, bool tty,
	       struct err *err);
/* Wait for the next exit of the container; its exit code. */
int ctr_wait(struct cmd_ctx *ctx, const struct storage_container *c);

/* Hooks from cmd/run.c: what start needs in config.json beyond run's own
 * fields, and after prepare() of `run -d` and of `create`. */
void lifecycle_config_add(json_t *cfg, const struct run_opts *o);
int lifecycle_after_create(struct cmd_ctx *ctx, const struct storage_container *c, bool start);

/* Commands. */
int cmd_start(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_stop(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_kill(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_restart(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_pause(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_unpause(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_wait(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_rename(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_port(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_top(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_attach(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_container_prune(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_logs(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_exec(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_create(struct cmd_ctx *ctx, int argc, char **argv);

#endif
