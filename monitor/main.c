/* mydocker-monitor: the per-container parent process, exec'd by
 * `mydocker run -d` / `start` (cmd/monitor.c) from a sealed memfd, in its
 * own session with no terminal:
 *
 *   mydocker-monitor [-i] EXE ROOT ID DIR LOCKFD READYFD
 *
 * EXE is the main binary, ROOT the store, DIR containers/<ID>. LOCKFD is
 * the container lock its spawner holds, READYFD where the spawner waits
 * for a struct err (code 0: the container runs). -i: the container keeps
 * a stdin pipe (run -i without -t).
 *
 * Kept small on purpose (static, libc only, no JSON): it lives as long as
 * the container, so every page it touches is paid per container. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "monitor/monitor.h"
#include "base/banned.h"

static int set_err(struct err *err, int code, const char *msg)
{
	err->code = code;
	snprintf(err->msg, sizeof(err->msg), "%s", msg);
	return -1;
}

/* ---- children: `mydocker __start` and `mydocker __exited` ---------------------- */

/* Move each from[i] to fd i + MON_FD_STDIN (from[i] < 0: /dev/null), in
 * a child about to exec: through high copies first, so that no source is
 * overwritten before it was moved. */
static void place_fds(const int *from, int n)
{
	int tmp[8];

	for (int i = 0; i < n; i++)
		tmp[i] = fcntl(from[i] >= 0 ? from[i] : 0, F_DUPFD_CLOEXEC, 64);
	for (int i = 0; i < n; i++)
		if (tmp[i] < 0 || dup2(tmp[i], MON_FD_STDIN + i) < 0)
			_exit(127);
}

/* fork + exec `EXE --root ROOT args...`; fds 0-2 stay /dev/null. */
static pid_t run_main(struct mon *m, char **args, const int *fds, int n_fds)
{
	char *argv[16] = { "mydocker", "--root", (char *)m->root };
	int k = 3;
	pid_t pid;

	for (int i = 0; args[i] && k < 15; i++)
		argv[k++] = args[i];
	argv[k] = NULL;
	pid = fork();
	if (pid != 0)
		return pid;
	place_fds(fds, n_fds);
	/* The container starts with default dispositions and nothing blocked
	 * (and so do the main binary's own handlers). */
	sigset_t none;
	sigemptyset(&none);
	signal(SIGPIPE, SIG_DFL);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execv(m->exe, argv);
	_exit(127);
}

static int wait_child(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The result of __start: its message and the pty master that may come
 * with it. */
static int recv_start(int ctl_fd, struct mon_start_msg *msg, int *master_fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = msg, .iov_len = sizeof(*msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	ssize_t n;

	do
		n = recvmsg(ctl_fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	cm = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL;
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
		memcpy(master_fd, CMSG_DATA(cm), sizeof(int));
	return n == (ssize_t)sizeof(*msg) ? 0 : -1;
}

static void close_pair(int *p)
{
	for (int i = 0; i < 2; i++)
		if (p[i] >= 0)
			close(p[i]);
	p[0] = p[1] = -1;
}

/* Start the container through `mydocker __start`: it is our child's
 * child, ours once __start exits (we are its subreaper). */
static int start_container(struct mon *m, int lock_fd, struct err *err)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, errp[2] = { -1, -1 }, ctl[2] = { -1, -1 };
	char restarts[16], lock_s[16];
	char *args[] = { "__start", (char *)m->id, restarts, lock_s, NULL };
	struct mon_start_msg msg = { .pid = 0 };
	int rc = -1, status;
	pid_t pid;

	snprintf(restarts, sizeof(restarts), "%d", m->restarts);
	snprintf(lock_s, sizeof(lock_s), "%d", lock_fd >= 0 ? MON_FD_LOCK : -1);
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 ||
	    (m->interactive && pipe2(in, O_CLOEXEC) < 0) ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) < 0) {
		set_err(err, errno, "monitor: cannot make the container's pipes");
		goto out;
	}
	int fds[] = { in[0], out[1], errp[1], ctl[1], lock_fd };
	pid = run_main(m, args, fds, lock_fd >= 0 ? 5 : 4);
	if (pid < 0) {
		set_err(err, errno, "monitor: fork");
		goto out;
	}
	close(ctl[1]);
	ctl[1] = -1;
	m->master_fd = -1;
	rc = recv_start(ctl[0], &msg, &m->master_fd);
	status = wait_child(pid);
	if (rc < 0) {
		snprintf(err->msg, sizeof(err->msg), "monitor: `%s __start` failed (status %d)",
			 m->exe, status);
		err->code = EIO;
	} else if (msg.err.code) {
		*err = msg.err;
		err->msg[sizeof(err->msg) - 1] = '\0';
		rc = -1;
	} else {
		m->pid = msg.pid;
		m->out[MON_OUT].fd = m->master_fd >= 0 ? m->master_fd : out[0];
		m->out[MON_ERR].fd = m->master_fd >= 0 ? -1 : errp[0];
		m->stdin_fd = m->master_fd >= 0 ? -1 : in[1];
		if (m->out[MON_OUT].fd == out[0])
			out[0] = -1;
		if (m->out[MON_ERR].fd == errp[0])
			errp[0] = -1;
		if (m->stdin_fd == in[1])
			in[1] = -1;
	}
	if (rc < 0 && m->master_fd >= 0) {
		close(m->master_fd);
		m->master_fd = -1;
	}
out:
	close_pair(in);
	close_pair(out);
	close_pair(errp);
	close_pair(ctl);
	for (int i = 0; i < MON_N_STREAMS; i++) {
		m->out[i].len = 0;
		if (m->out[i].fd >= 0)
			fcntl(m->out[i].fd, F_SETFL, O_NONBLOCK);
	}
	return rc;
}

/* `mydocker __exited ID CODE RESTARTS FINISHED FINAL [ERROR]`: records the
 * exit, releases this start's cgroup and network, unmounts or restarts
 * per the policy. true if the policy restarts it. If the main binary
 * cannot run, the next mydocker command finds our pid gone and recovers
 * the container (cmd/ctr_state.c). */
static bool run_exited(struct mon *m, int code, const char *finished, bool final,
		       const char *error)
{
	char code_s[16], restarts[16];
	char *args[] = { "__exited", (char *)m->id, code_s, restarts, (char *)finished,
			 final ? "1" : "0", (char *)error, NULL };

	snprintf(code_s, sizeof(code_s), "%d", code);
	snprintf(restarts, sizeof(restarts), "%d", m->restarts);
	pid_t pid = run_main(m, args, NULL, 0);
	return pid > 0 && wait_child(pid) == MON_EXIT_RESTART;
}

/* ---- waiting ---------------------------------------------------------------------- */

/* Reap every child that has ended (orphans of the container's start
 * land here too); true once the container's init is among them. */
static bool reap(struct mon *m, int *status)
{
	bool done = false;
	int st;
	pid_t p;

	while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
		if (p == m->pid) {
			*status = st;
			done = true;
		}
	}
	return done;
}

/* Signals: SIGCHLD reaps, the others go to the container. */
static bool handle_signals(struct mon *m, int *status)
{
	struct signalfd_siginfo si;
	bool done = false;

	while (read(m->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			done |= reap(m, status);
		else if (m->pid > 0)
			kill(m->pid, (int)si.ssi_signo);
	}
	return done;
}

static int fill_fds(struct mon *m, struct pollfd *p)
{
	int n = 0;

	p[n++] = (struct pollfd){ .fd = m->sig_fd, .events = POLLIN };
	for (int i = 0; i < MON_N_STREAMS; i++)
		p[n++] = (struct pollfd){ .fd = m->out[i].fd, .events = POLLIN };
	p[n++] = (struct pollfd){ .fd = m->listen_fd, .events = POLLIN };
	for (int i = 0; i < MON_MAX_CLIENTS; i++)
		p[n++] = (struct pollfd){ .fd = m->clients[i],
					  .events = m->client_eof[i] ? 0 : POLLIN };
	return n;
}

/* Until the container's init was reaped: its exit code, Docker's way. */
static int wait_exit(struct mon *m)
{
	struct pollfd p[4 + MON_MAX_CLIENTS];
	int status = 0;
	/* It may have ended before __start did: then it is a zombie already. */
	bool done = reap(m, &status);

	while (!done) {
		int n = fill_fds(m, p);
		if (poll(p, (nfds_t)n, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents & POLLIN)
			done = handle_signals(m, &status);
		for (int i = 0; i < MON_N_STREAMS; i++)
			if (p[1 + i].revents && m->out[i].fd >= 0)
				mon_stream_read(m, i);
		if (p[3].revents & POLLIN)
			mon_attach_accept(m);
		for (int i = 0; i < MON_MAX_CLIENTS; i++)
			if (p[4 + i].revents && m->clients[i] >= 0)
				mon_attach_input(m, i);
	}
	if (!done)
		waitpid(m->pid, &status, 0);
	m->pid = 0;
	mon_streams_drain(m);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 125;
}

/* Docker's back-off: 100 ms, doubling. false if a stop came (a signal
 * other than SIGCHLD). */
static bool backoff(struct mon *m)
{
	int ms = 100 << (m->restarts < 10 ? m->restarts : 10), status;
	struct pollfd p = { .fd = m->sig_fd, .events = POLLIN };
	struct signalfd_siginfo si;

	while (poll(&p, 1, ms) > 0) {
		while (read(m->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			if (si.ssi_signo != SIGCHLD)
				return false;
		reap(m, &status);
	}
	return true;
}

/* Docker's exit code for a start error (cmd/ runtime_exit_code_for). */
static int start_error_code(const struct err *err)
{
	if (err->code == ENOENT)
		return 127;
	return err->code == EACCES || err->code == ENOEXEC ? 126 : 125;
}

static void run_loop(struct mon *m, int lock_fd, int ready_fd)
{
	struct err err = { 0 };
	char finished[64];
	int rc = start_container(m, lock_fd, &err), code;

	/* The spawner waits on ready_fd with the lock held: answer, then
	 * drop the lock (shared with it: one open file description). */
	if (write(ready_fd, &err, sizeof(err)) < 0) {
		/* The spawner is gone: nobody to tell; the state says it all. */
	}
	close(ready_fd);
	flock(lock_fd, LOCK_UN);
	close(lock_fd);
	while (rc == 0) {
		code = wait_exit(m);
		mon_fmt_now(finished, sizeof(finished));
		if (!run_exited(m, code, finished, false, NULL))
			return;
		if (!backoff(m)) {
			run_exited(m, code, finished, true, NULL);
			return;
		}
		m->restarts++;
		rc = start_container(m, -1, &err);
	}
	mon_fmt_now(finished, sizeof(finished));
	run_exited(m, start_error_code(&err), finished, true, err.msg);
}

/* ---- set-up ------------------------------------------------------------------------- */

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

static int open_in(const char *dir, const char *name, int flags)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return open(path, flags | O_CLOEXEC, 0640);
}

int main(int argc, char **argv)
{
	static struct mon m;
	int a = 1, lock_fd, ready_fd;

	if (argc > 1 && !strcmp(argv[1], "-i")) {
		m.interactive = true;
		a++;
	}
	if (argc - a != 6) {
		fputs("usage: mydocker-monitor [-i] EXE ROOT ID DIR LOCKFD READYFD "
		      "(started by mydocker only)\n", stderr);
		return 2;
	}
	m.exe = argv[a];
	m.root = argv[a + 1];
	m.id = argv[a + 2];
	m.dir = argv[a + 3];
	lock_fd = atoi(argv[a + 4]);
	ready_fd = atoi(argv[a + 5]);
	fcntl(lock_fd, F_SETFD, FD_CLOEXEC);
	fcntl(ready_fd, F_SETFD, FD_CLOEXEC);
	for (int i = 0; i < MON_MAX_CLIENTS; i++)
		m.clients[i] = -1;
	m.out[MON_OUT].fd = m.out[MON_ERR].fd = m.stdin_fd = m.master_fd = -1;
	/* Orphans below us (the container, once __start exits) are ours to
	 * reap: PR_SET_CHILD_SUBREAPER, prctl(2). */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	m.sig_fd = block_signals();
	m.log_fd = open_in(m.dir, "ctr.log", O_WRONLY | O_CREAT | O_APPEND);
	m.listen_fd = mon_attach_listen(&m);
	run_loop(&m, lock_fd, ready_fd);
	/* Attach clients learn of the exit when we close them: after the
	 * state was recorded, so that they read the exit code. */
	mon_attach_close(&m);
	if (m.listen_fd >= 0) {
		int dir_fd = open(m.dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dir_fd >= 0)
			unlinkat(dir_fd, "attach.sock", 0);
		close(dir_fd);
	}
	return 0;
}
