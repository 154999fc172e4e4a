/* monitor: the per-container parent process (like conmon). Spawned by
 * run -d / start as `mydocker __monitor ID LOCKFD READYFD` in its own
 * session with no terminal; it starts the container, writes its output to
 * ctr.log as JSON lines (Docker's json-file format), serves attach.sock,
 * reaps it, records the exit in state.json, applies the restart policy and
 * releases the container when it is done. */
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/log.h"
#include "cmd/format.h"
#include "cmd/lifecycle.h"
#include "cmd/net_run.h"
#include "base/banned.h"

#define LINE_MAX_BYTES 16384 /* Docker splits log lines at 16 KiB too */
#define MAX_CLIENTS 8

enum { IN_OUT, IN_ERR, N_STREAMS };

struct stream {
	int fd;
	size_t len;
	char buf[LINE_MAX_BYTES];
};

struct monitor {
	struct cmd_ctx *ctx;
	struct storage_container c;
	json_t *cfg;
	int sig_fd, log_fd, listen_fd, stdin_fd, master_fd;
	int clients[MAX_CLIENTS];
	struct stream out[N_STREAMS];
	pid_t pid;
	int restarts;
	/* One start's cgroup limits and network endpoint (cmd/run_resources.c,
	 * cmd/net_run.c), released after each exit. */
	struct runtime_resources res;
	bool have_res;
	struct net_run net;
	bool oom_killed;
};

/* ---- the log ------------------------------------------------------------------ */

static size_t json_escape(char *dst, const char *src, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)src[i];
		if (ch == '"' || ch == '\\') {
			dst[o++] = '\\';
			dst[o++] = (char)ch;
		} else if (ch == '\n') {
			dst[o++] = '\\';
			dst[o++] = 'n';
		} else if (ch == '\r') {
			dst[o++] = '\\';
			dst[o++] = 'r';
		} else if (ch == '\t') {
			dst[o++] = '\\';
			dst[o++] = 't';
		} else if (ch < 0x20) {
			memcpy(dst + o, "\\u00", 4);
			dst[o + 4] = hex[ch >> 4];
			dst[o + 5] = hex[ch & 15];
			o += 6;
		} else {
			dst[o++] = (char)ch;
		}
	}
	return o;
}

/* One line {"log":"...","stream":"stdout","time":"..."} per write(2),
 * O_APPEND: a reader never sees half a record. */
static void log_line(struct monitor *m, int stream, const char *p, size_t n)
{
	static char rec[LINE_MAX_BYTES * 6 + 128];
	char now[64];
	size_t o;

	if (m->log_fd < 0)
		return;
	fmt_now(now, sizeof(now));
	o = (size_t)snprintf(rec, sizeof(rec), "{\"log\":\"");
	o += json_escape(rec + o, p, n);
	o += (size_t)snprintf(rec + o, sizeof(rec) - o, "\",\"stream\":\"%s\",\"time\":\"%s\"}\n",
			      stream == IN_OUT ? "stdout" : "stderr", now);
	if (write(m->log_fd, rec, o) < 0)
		log_debug("write log: %s", strerror(errno));
}

static void broadcast(struct monitor *m, const char *p, size_t n)
{
	for (int i = 0; i < MAX_CLIENTS; i++) {
		if (m->clients[i] < 0)
			continue;
		if (send(m->clients[i], p, n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno != EAGAIN) {
			close(m->clients[i]);
			m->clients[i] = -1;
		}
	}
}

/* Complete lines go to the log; a partial one waits, unless the buffer is
 * full or flush is set (end of the stream). */
static void stream_emit(struct monitor *m, int which, bool flush)
{
	struct stream *s = &m->out[which];
	size_t start = 0;

	for (size_t i = 0; i < s->len; i++) {
		if (s->buf[i] == '\n') {
			log_line(m, which, s->buf + start, i + 1 - start);
			start = i + 1;
		}
	}
	if (start < s->len && (flush || (start == 0 && s->len == sizeof(s->buf)))) {
		log_line(m, which, s->buf + start, s->len - start);
		start = s->len;
	}
	memmove(s->buf, s->buf + start, s->len - start);
	s->len -= start;
}

/* Read what is there; false at EOF or error (the stream is closed). */
static bool stream_read(struct monitor *m, int which)
{
	struct stream *s = &m->out[which];
	ssize_t n = read(s->fd, s->buf + s->len, sizeof(s->buf) - s->len);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (n <= 0) {
		stream_emit(m, which, true);
		if (s->fd == m->master_fd)
			m->master_fd = -1;
		close(s->fd);
		s->fd = -1;
		return false;
	}
	broadcast(m, s->buf + s->len, (size_t)n);
	s->len += (size_t)n;
	stream_emit(m, which, false);
	return true;
}

/* ---- attach.sock ------------------------------------------------------------------ */

/* Bound through /proc/self/fd/N/: the store path may be longer than
 * sun_path (108 bytes, unix(7)). */
static int listen_attach(struct monitor *m)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	cleanup_close int dir_fd = open(m->c.dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int fd;

	if (dir_fd < 0)
		return -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/attach.sock", dir_fd);
	unlinkat(dir_fd, "attach.sock", 0);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0) {
		close(fd);
		return -1;
	}
	if (fchmodat(dir_fd, "attach.sock", 0600, 0) < 0)
		log_debug("chmod attach.sock: %s", strerror(errno));
	return fd;
}

static void accept_client(struct monitor *m)
{
	int fd = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	for (int i = 0; i < MAX_CLIENTS; i++) {
		if (m->clients[i] < 0) {
			m->clients[i] = fd;
			return;
		}
	}
	close(fd);
}

/* Client bytes go to the container's terminal or stdin pipe. */
static void client_input(struct monitor *m, int i)
{
	char buf[4096];
	ssize_t n = recv(m->clients[i], buf, sizeof(buf), MSG_DONTWAIT);
	int to = m->master_fd >= 0 ? m->master_fd : m->stdin_fd;

	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		close(m->clients[i]);
		m->clients[i] = -1;
		return;
	}
	if (to >= 0 && write(to, buf, (size_t)n) < 0)
		log_debug("container input: %s", strerror(errno));
}

static void close_clients(struct monitor *m)
{
	for (int i = 0; i < MAX_CLIENTS; i++) {
		if (m->clients[i] >= 0)
			close(m->clients[i]);
		m->clients[i] = -1;
	}
}

/* ---- starting the container ------------------------------------------------------- */

static int on_created(pid_t pid, void *data, struct err *err)
{
	struct monitor *m = data;

	return ctr_freezer_join(m->c.id, pid, err);
}

/* stdio of the container: pipes to us (the child inherits fds 0-2, which
 * runtime_start leaves alone without a terminal). Ours go back to
 * /dev/null right after the clone. */
static int start_with_stdio(struct monitor *m, struct runtime_spec *sp, struct runtime_result *res,
			    struct err *err)
{
	int out[2] = { -1, -1 }, errp[2] = { -1, -1 }, in[2] = { -1, -1 }, rc;
	int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (null_fd < 0)
		return err_sys(err, errno, "open /dev/null");
	if (!sp->terminal && (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 ||
			      (sp->interactive && pipe2(in, O_CLOEXEC) < 0))) {
		rc = err_sys(err, errno, "pipe");
		goto out;
	}
	if (!sp->terminal) {
		dup2(in[0] >= 0 ? in[0] : null_fd, 0);
		dup2(out[1], 1);
		dup2(errp[1], 2);
	}
	sp->on_created = on_created;
	sp->hook_data = m;
	rc = runtime_start(sp, res, &m->master_fd, err);
	for (int i = 0; i < 3; i++)
		dup2(null_fd, i);
	if (rc == 0) {
		m->out[IN_OUT].fd = sp->terminal ? m->master_fd : out[0];
		m->out[IN_ERR].fd = errp[0];
		m->stdin_fd = in[1];
		out[0] = errp[0] = in[1] = -1;
	}
out:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (errp[i] >= 0)
			close(errp[i]);
		if (in[i] >= 0)
			close(in[i]);
	}
	close(null_fd);
	for (int i = 0; i < N_STREAMS; i++)
		if (m->out[i].fd >= 0)
			fcntl(m->out[i].fd, F_SETFL, O_NONBLOCK);
	return rc;
}

static int record_running(struct monitor *m, int lock_fd, struct err *err)
{
	char now[64];
	json_t *st;
	int rc;

	fmt_now(now, sizeof(now));
	st = json_pack("{s:s, s:b, s:b, s:b, s:b, s:i, s:I, s:i, s:I, s:s, s:i, s:s, s:i, s:b}",
		       "Status", "running", "Running", 1, "Paused", 0, "Restarting", 0,
		       "OOMKilled", 0, "Pid", (int)m->pid, "PidStart",
		       (json_int_t)ctr_proc_start(m->pid), "MonitorPid", (int)getpid(),
		       "MonitorStart", (json_int_t)ctr_proc_start(getpid()), "StartedAt", now,
		       "ExitCode", 0, "Error", "", "RestartCount", m->restarts, "ManualStop", 0);
	rc = ctr_state_update(m->ctx, &m->c, lock_fd, st, err);
	json_decref(st);
	return rc;
}

/* Limits from HostConfig, the cgroup named after the container; the
 * network from config.json, as `run` does. */
static int prepare_start(struct monitor *m, struct ctr_spec *cs, struct err *err)
{
	if (run_resources_from_json(json_object_get(m->cfg, "HostConfig"), &m->res, err) < 0)
		return -1;
	m->have_res = true;
	m->res.cgroup_name = m->c.id;
	cs->spec.resources = &m->res;
	if (net_run_prepare(m->ctx, &m->net, &m->c, cs->hostname, cs->spec.hosts_path,
			    cs->spec.resolv_path, err) < 0)
		return -1;
	net_run_spec(&m->net, &cs->spec);
	return 0;
}

/* After each exit: OOM kills, then the cgroup and the endpoint go. */
static void release_start(struct monitor *m, struct runtime_result *res)
{
	if (m->have_res) {
		runtime_cgroup_release(&m->res, res);
		run_resources_release(&m->res);
		m->have_res = false;
	}
	net_run_release(m->ctx, &m->net);
	memset(&m->net, 0, sizeof(m->net));
}

static int start_once(struct monitor *m, int lock_fd, struct err *err)
{
	struct ctr_spec cs;
	struct runtime_result res;
	int rc;

	for (int i = 0; i < N_STREAMS; i++) {
		m->out[i].fd = -1;
		m->out[i].len = 0;
	}
	m->master_fd = m->stdin_fd = -1;
	if (ctr_mount(m->ctx, &m->c, m->cfg, err) < 0)
		return -1;
	rc = ctr_spec_build(&m->c, m->cfg, &cs, err);
	if (rc == 0)
		rc = prepare_start(m, &cs, err);
	if (rc == 0)
		rc = start_with_stdio(m, &cs.spec, &res, err);
	ctr_spec_release(&cs);
	if (rc < 0) {
		release_start(m, NULL);
		return -1;
	}
	m->pid = res.pid;
	net_run_started(m->ctx, &m->net, m->pid);
	return record_running(m, lock_fd, err);
}

/* ---- waiting ------------------------------------------------------------------------ */

static int fill_fds(struct monitor *m, struct pollfd *p)
{
	int n = 0;

	p[n++] = (struct pollfd){ .fd = m->sig_fd, .events = POLLIN };
	for (int i = 0; i < N_STREAMS; i++)
		p[n++] = (struct pollfd){ .fd = m->out[i].fd, .events = POLLIN };
	p[n++] = (struct pollfd){ .fd = m->listen_fd, .events = POLLIN };
	for (int i = 0; i < MAX_CLIENTS; i++)
		p[n++] = (struct pollfd){ .fd = m->clients[i], .events = POLLIN };
	return n;
}

/* Returns the wait status once the container's init was reaped. */
static int handle_signals(struct monitor *m, bool *done)
{
	struct signalfd_siginfo si;
	int status = 0;

	while (read(m->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo != SIGCHLD) {
			kill(m->pid, (int)si.ssi_signo);
			continue;
		}
		if (!*done && waitpid(m->pid, &status, WNOHANG) == m->pid)
			*done = true;
	}
	return status;
}

static int wait_exit(struct monitor *m)
{
	struct pollfd p[4 + MAX_CLIENTS];
	bool done = false;
	int status = 0;

	while (!done) {
		int n = fill_fds(m, p);
		if (poll(p, (nfds_t)n, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents & POLLIN)
			status = handle_signals(m, &done);
		for (int i = 0; i < N_STREAMS; i++)
			if (p[1 + i].revents && m->out[i].fd >= 0)
				stream_read(m, i);
		if (p[3].revents & POLLIN)
			accept_client(m);
		for (int i = 0; i < MAX_CLIENTS; i++)
			if (p[4 + i].revents && m->clients[i] >= 0)
				client_input(m, i);
	}
	if (!done)
		waitpid(m->pid, &status, 0);
	/* The PID namespace died with its init: the pipes are at EOF soon. */
	for (int i = 0; i < N_STREAMS; i++) {
		struct pollfd pf = { .fd = m->out[i].fd, .events = POLLIN };
		while (pf.fd >= 0 && poll(&pf, 1, 0) > 0 && stream_read(m, i))
			pf.fd = m->out[i].fd;
	}
	for (int i = 0; i < N_STREAMS; i++)
		if (m->out[i].fd >= 0) {
			stream_emit(m, i, true);
			close(m->out[i].fd);
			m->out[i].fd = -1;
		}
	if (m->stdin_fd >= 0)
		close(m->stdin_fd);
	m->stdin_fd = m->master_fd = -1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 125;
}

/* Docker's policies: no, on-failure[:N], always, unless-stopped. A stop
 * or kill asked by the user (ManualStop) ends any of them. */
static bool should_restart(struct monitor *m, int code, bool manual)
{
	json_t *pol = json_object_get(json_object_get(m->cfg, "HostConfig"), "RestartPolicy");
	const char *name = json_string_value(json_object_get(pol, "Name")) ?: "no";
	int max = (int)json_integer_value(json_object_get(pol, "MaximumRetryCount"));

	if (manual)
		return false;
	if (!strcmp(name, "always") || !strcmp(name, "unless-stopped"))
		return true;
	if (!strcmp(name, "on-failure"))
		return code != 0 && (max <= 0 || m->restarts < max);
	return false;
}

/* Record the exit; true if the policy restarts it. */
static bool record_exit(struct monitor *m, int code, const char *error)
{
	struct err e = { 0 };
	int fd = ctr_lock(&m->c, &e);
	json_t *st = ctr_state_raw(m->ctx, &m->c), *ex = ctr_state_exited(code, error);
	bool manual = json_is_true(json_object_get(st, "ManualStop")), again;

	again = !error && should_restart(m, code, manual);
	json_object_update(st, ex);
	json_object_set_new(st, "ManualStop", json_boolean(manual));
	json_object_set_new(st, "RestartCount", json_integer(m->restarts));
	json_object_set_new(st, "OOMKilled", json_boolean(m->oom_killed));
	if (again) {
		json_object_set_new(st, "Status", json_string("restarting"));
		json_object_set_new(st, "Restarting", json_true());
		json_object_set_new(st, "MonitorPid", json_integer(getpid()));
		json_object_set_new(st, "MonitorStart", json_integer((json_int_t)ctr_proc_start(getpid())));
	}
	if (storage_container_set_state(&m->ctx->store, &m->c, st, &e) < 0)
		log_warn("%s", e.msg);
	json_decref(st);
	json_decref(ex);
	if (fd >= 0)
		close(fd);
	return again;
}

/* Docker's back-off: 100 ms, doubling. A stop (SIGTERM to us) ends it. */
static bool backoff(struct monitor *m)
{
	int ms = 100 << (m->restarts < 10 ? m->restarts : 10);
	struct pollfd p = { .fd = m->sig_fd, .events = POLLIN };
	struct signalfd_siginfo si;

	if (poll(&p, 1, ms) > 0) {
		while (read(m->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			if (si.ssi_signo != SIGCHLD)
				return false;
	}
	return true;
}

static void run_loop(struct monitor *m, int lock_fd, int ready_fd)
{
	struct err err = { 0 };
	int rc = start_once(m, lock_fd, &err);

	/* The spawner waits on ready_fd with the lock held: answer, then
	 * drop our share of its lock. */
	if (write(ready_fd, &err, sizeof(err)) < 0)
		log_debug("ready: %s", strerror(errno));
	close(ready_fd);
	flock(lock_fd, LOCK_UN);
	close(lock_fd);
	if (rc < 0) {
		record_exit(m, runtime_exit_code_for(&err), err.msg);
		return;
	}
	for (;;) {
		int code = wait_exit(m);
		struct runtime_result res = { .exit_code = code, .pid = m->pid };
		release_start(m, &res);
		m->oom_killed = res.oom_killed;
		if (!record_exit(m, code, NULL) || !backoff(m))
			break;
		m->restarts++;
		err_clear(&err);
		if (start_once(m, -1, &err) < 0) {
			record_exit(m, runtime_exit_code_for(&err), err.msg);
			break;
		}
	}
}

static int block_signals(void)
{
	static const int sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&set, sigs[i]);
	signal(SIGPIPE, SIG_IGN);
	sigprocmask(SIG_BLOCK, &set, NULL);
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static int open_log(const struct storage_container *c)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/ctr.log", c->dir);
	return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
}

int cmd_monitor(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct monitor *m = calloc(1, sizeof(*m));
	struct err err = { 0 };
	int lock_fd, ready_fd, rc = 0;

	if (!m || argc != 4)
		return EXIT_USAGE;
	lock_fd = atoi(argv[2]);
	ready_fd = atoi(argv[3]);
	m->ctx = ctx;
	for (int i = 0; i < MAX_CLIENTS; i++)
		m->clients[i] = -1;
	m->sig_fd = block_signals();
	if (ctr_find(ctx, argv[1], &m->c, &err) < 0 ||
	    !(m->cfg = storage_container_config(&ctx->store, &m->c, &err))) {
		if (write(ready_fd, &err, sizeof(err)) < 0)
			rc = 1;
		free(m);
		return rc ? rc : 1;
	}
	m->log_fd = open_log(&m->c);
	m->listen_fd = listen_attach(m);
	run_loop(m, lock_fd, ready_fd);
	close_clients(m);
	if (m->listen_fd >= 0) {
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/attach.sock", m->c.dir);
		close(m->listen_fd);
		unlink(path);
	}
	if (m->log_fd >= 0)
		close(m->log_fd);
	ctr_release(ctx, &m->c, m->cfg,
		    json_is_true(json_object_get(json_object_get(m->cfg, "HostConfig"), "AutoRemove")));
	json_decref(m->cfg);
	close(m->sig_fd);
	free(m);
	return 0;
}

/* ---- spawning ------------------------------------------------------------------------ */

static void __attribute__((noreturn)) exec_monitor(struct cmd_ctx *ctx, const char *id,
						    int lock_fd, int ready_fd)
{
	char lock_s[16], ready_s[16];
	char *argv[] = { "mydocker", "--root", (char *)ctx->root, "__monitor", (char *)id,
			 lock_s, ready_s, NULL };
	int null_fd = open("/dev/null", O_RDWR);

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
	execv("/proc/self/exe", argv);
	_exit(127);
}

int ctr_monitor_spawn(struct cmd_ctx *ctx, const struct storage_container *c, int lock_fd,
		      struct err *err)
{
	int pp[2], status;
	struct err child = { 0 };
	ssize_t n;
	pid_t pid;

	if (pipe2(pp, O_CLOEXEC) < 0)
		return err_sys(err, errno, "pipe");
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(pp[0]);
		close(pp[1]);
		return err_sys(err, errno, "fork the monitor");
	}
	if (pid == 0) {
		close(pp[0]);
		exec_monitor(ctx, c->id, lock_fd, pp[1]);
	}
	close(pp[1]);
	waitpid(pid, &status, 0);
	do
		n = read(pp[0], &child, sizeof(child));
	while (n < 0 && errno == EINTR);
	close(pp[0]);
	if (n != (ssize_t)sizeof(child))
		return err_set(err, EIO, "container %.12s: the monitor did not start", c->id);
	if (child.code) {
		child.msg[sizeof(child.msg) - 1] = '\0';
		*err = child;
		return -1;
	}
	return 0;
}
