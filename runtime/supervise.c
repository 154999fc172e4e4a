/* supervise: the caller's side of a container process, shared by runtime_run
 * and runtime_exec: signals blocked before the fork and forwarded to the
 * process, its terminal relayed, its exit reaped and mapped Docker's way. */
#include <errno.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/pty.h"
#include "base/banned.h"

/* What `docker run` forwards to the container (SIGWINCH only without a tty:
 * with one, a resize is applied to the pty instead). */
static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };

int rt_status_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 125;
}

void rt_signals_reset(void)
{
	sigset_t none;

	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

int rt_signals_block(sigset_t *old, struct err *err)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&set, forwarded[i]);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, old) < 0)
		return err_sys(err, errno, "block signals");
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0) {
		int e = errno;
		sigprocmask(SIG_SETMASK, old, NULL);
		return err_sys(err, e, "signalfd");
	}
	return fd;
}

void rt_signals_restore(const sigset_t *old, int sig_fd)
{
	struct signalfd_siginfo si;

	/* Consume what was meant for the container: unblocked, a late SIGINT
	 * would hit us. */
	while (read(sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		;
	close(sig_fd);
	sigprocmask(SIG_SETMASK, old, NULL);
}

/* Returns true once pid has been reaped into *status. Every pending signal
 * is handled first, so none meant for pid is left behind. */
static bool handle_signals(int sig_fd, pid_t pid, const struct rt_relay *r, int *status)
{
	struct signalfd_siginfo si;
	bool done = false;

	while (read(sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		int sig = (int)si.ssi_signo;
		if (sig == SIGCHLD) {
			if (!done && waitpid(pid, status, WNOHANG) == pid)
				done = true;
		} else if (sig == SIGWINCH && r->master_fd >= 0) {
			rt_relay_resize(r);
		} else if (!done) {
			kill(pid, sig);
		}
	}
	return done;
}

int rt_wait_relay(pid_t pid, int sig_fd, struct rt_relay *r)
{
	int status = 0;

	for (;;) {
		struct pollfd p[3] = { { .fd = sig_fd, .events = POLLIN } };
		int n = 1 + rt_relay_fds(r, p + 1);

		if (poll(p, (nfds_t)n, -1) < 0 && errno != EINTR)
			break;
		if ((p[0].revents & POLLIN) && handle_signals(sig_fd, pid, r, &status)) {
			rt_relay_drain(r);
			return rt_status_code(status);
		}
		rt_relay_handle(r, p + 1, n - 1);
	}
	/* poll failing is not expected; still, never leave a zombie. */
	waitpid(pid, &status, 0);
	return rt_status_code(status);
}
