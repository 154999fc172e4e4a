/* pty: sync messages with fd passing, the container's pty, the parent's relay. */
#include "runtime/pty.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/banned.h"

int rt_sync_send(int sock, const struct rt_sync_msg *msg, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = sizeof(*msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	memset(&u, 0, sizeof(u));
	if (fd >= 0) {
		struct cmsghdr *c;
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if ((size_t)n != sizeof(*msg)) {
		errno = EPROTO;
		return -1;
	}
	return 0;
}

int rt_sync_recv(int sock, struct rt_sync_msg *msg, int *fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = msg, .iov_len = sizeof(*msg) };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c;
	ssize_t n;

	*fd = -1;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return (int)n;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(fd, CMSG_DATA(c), sizeof(int));
	}
	if ((size_t)n != sizeof(*msg) || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		errno = EPROTO;
		return -1;
	}
	return 1;
}

int rt_sync_await(int sock, int *master_fd, struct err *err)
{
	for (;;) {
		struct rt_sync_msg msg;
		int fd, rc = rt_sync_recv(sock, &msg, &fd);

		if (rc == 0)
			return 0;
		if (rc > 0 && msg.type == RT_SYNC_PTY && fd >= 0 && *master_fd < 0) {
			*master_fd = fd;
			continue;
		}
		if (rc < 0)
			err_sys(err, errno, "read from the container process");
		else if (msg.type != RT_SYNC_ERR)
			err_set(err, EPROTO, "unexpected message from the container process");
		else {
			*err = msg.err;
			err->msg[sizeof(err->msg) - 1] = '\0';
			if (!err->code)
				err->code = EINVAL;
		}
		if (fd >= 0)
			close(fd);
		if (*master_fd >= 0)
			close(*master_fd);
		*master_fd = -1;
		return -1;
	}
}

/* /dev/console must be the container's terminal, not the host's: bind the
 * slave over an empty file, as runc does (a char device node would name the
 * host console, 5:1). */
static int bind_console(int slave_fd, struct err *err)
{
	char src[32];
	int fd = open("/dev/console", O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0)
		return err_sys(err, errno, "create /dev/console");
	close(fd);
	snprintf(src, sizeof(src), "/proc/self/fd/%d", slave_fd);
	if (mount(src, "/dev/console", NULL, MS_BIND, NULL) < 0)
		return err_sys(err, errno, "bind pty over /dev/console");
	return 0;
}

/* A session of its own with the slave as controlling terminal (setsid(2),
 * ioctl_tty(2) TIOCSCTTY), and the slave as stdin/stdout/stderr. */
static int take_terminal(int slave_fd, struct err *err)
{
	if (setsid() < 0)
		return err_sys(err, errno, "setsid");
	if (ioctl(slave_fd, TIOCSCTTY, 0) < 0)
		return err_sys(err, errno, "make the pty the controlling terminal");
	for (int i = 0; i < 3; i++) {
		if (dup2(slave_fd, i) < 0)
			return err_sys(err, errno, "dup pty to fd %d", i);
	}
	return 0;
}

int rt_pty_child_setup(int sync_fd, bool console, struct err *err)
{
	/* /dev/pts/ptmx of the devpts we mounted with newinstance: the pty
	 * belongs to the container, not to the host's devpts. */
	cleanup_close int master_fd = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	cleanup_close int slave_fd = -1;
	struct rt_sync_msg msg = { .type = RT_SYNC_PTY };

	if (master_fd < 0)
		return err_sys(err, errno, "open /dev/pts/ptmx");
	if (unlockpt(master_fd) < 0)
		return err_sys(err, errno, "unlock pty");
	/* TIOCGPTPEER opens the slave from the master itself, no path lookup
	 * in /dev/pts that the container could race (ioctl_tty(2)). */
	slave_fd = ioctl(master_fd, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave_fd < 0)
		return err_sys(err, errno, "open pty slave");
	if (console && bind_console(slave_fd, err) < 0)
		return -1;
	if (rt_sync_send(sync_fd, &msg, master_fd) < 0)
		return err_sys(err, errno, "send pty master");
	if (take_terminal(slave_fd, err) < 0)
		return -1;
	return 0;
}

/* ---- parent side ---------------------------------------------------------- */

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd pf = { .fd = fd, .events = POLLOUT };
			poll(&pf, 1, -1);
			continue;
		}
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void rt_relay_init(struct rt_relay *r, int master_fd, bool interactive)
{
	memset(r, 0, sizeof(*r));
	r->master_fd = master_fd;
	if (master_fd < 0)
		return;
	r->in_open = interactive;
	r->out_open = true;
	/* Non-blocking master: a container that does not read its input must
	 * not stall the copy of its output. */
	fcntl(master_fd, F_SETFL, fcntl(master_fd, F_GETFL) | O_NONBLOCK);
	/* Raw mode (termios(3) cfmakeraw): keys such as ^C reach the
	 * container's line discipline instead of acting on us. */
	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &r->saved) == 0) {
		struct termios raw = r->saved;
		cfmakeraw(&raw);
		if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
			r->raw = true;
	}
	rt_relay_resize(r);
}

int rt_relay_fds(const struct rt_relay *r, struct pollfd *p)
{
	int n = 0;

	if (r->master_fd < 0)
		return 0;
	if (r->out_open || r->len > r->off) {
		p[n].fd = r->master_fd;
		p[n].events = (short)((r->out_open ? POLLIN : 0) | (r->len > r->off ? POLLOUT : 0));
		p[n++].revents = 0;
	}
	/* Read stdin only once the previous chunk went to the master. */
	if (r->in_open && r->len == r->off) {
		p[n].fd = STDIN_FILENO;
		p[n].events = POLLIN;
		p[n++].revents = 0;
	}
	return n;
}

static void copy_output(struct rt_relay *r)
{
	char buf[8192];
	ssize_t n = read(r->master_fd, buf, sizeof(buf));

	if (n > 0) {
		if (write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
			r->out_open = false;
		return;
	}
	/* EIO: every slave fd is closed, i.e. the container is gone. */
	if (n == 0 || (errno != EAGAIN && errno != EINTR))
		r->out_open = false;
}

static void read_input(struct rt_relay *r)
{
	ssize_t n = read(STDIN_FILENO, r->buf, sizeof(r->buf));

	if (n > 0) {
		r->len = (size_t)n;
		r->off = 0;
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	/* End of our input: pass it on as the terminal's EOF character, which
	 * is what a closed keyboard means to a program reading a tty. */
	r->in_open = false;
	r->buf[0] = 0x04;
	r->len = 1;
	r->off = 0;
}

static void write_input(struct rt_relay *r)
{
	ssize_t n = write(r->master_fd, r->buf + r->off, r->len - r->off);

	if (n > 0)
		r->off += (size_t)n;
	else if (n < 0 && errno != EAGAIN && errno != EINTR)
		r->off = r->len; /* the container is gone: drop the input */
	if (r->off == r->len)
		r->off = r->len = 0;
}

void rt_relay_handle(struct rt_relay *r, const struct pollfd *p, int n)
{
	for (int i = 0; i < n; i++) {
		if (p[i].fd == STDIN_FILENO && p[i].revents)
			read_input(r);
		if (p[i].fd != r->master_fd || !p[i].revents)
			continue;
		if (p[i].revents & POLLOUT)
			write_input(r);
		if (p[i].revents & (POLLIN | POLLHUP | POLLERR))
			copy_output(r);
	}
}

void rt_relay_resize(const struct rt_relay *r)
{
	struct winsize ws;

	if (r->master_fd >= 0 && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
		ioctl(r->master_fd, TIOCSWINSZ, &ws);
}

void rt_relay_drain(struct rt_relay *r)
{
	/* The kernel hands slave output to the master asynchronously; read
	 * until EIO (the slave side is closed) or a quiet half second. */
	while (r->master_fd >= 0 && r->out_open) {
		struct pollfd pf = { .fd = r->master_fd, .events = POLLIN };
		if (poll(&pf, 1, 500) <= 0)
			break;
		copy_output(r);
	}
}

void rt_relay_release(struct rt_relay *r)
{
	if (r->raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &r->saved);
	r->raw = false;
	if (r->master_fd >= 0)
		close(r->master_fd);
	r->master_fd = -1;
}
