/* attach: connect the terminal to a running container through its
 * monitor's attach.sock; ctrl-p ctrl-q detaches, as in Docker. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "cmd/lifecycle.h"
#include "base/banned.h"

static int connect_attach(const struct storage_container *c, struct err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	cleanup_close int dir_fd = open(c->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int fd;

	if (dir_fd < 0)
		return err_sys(err, errno, "open %s", c->dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/attach.sock", dir_fd);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_sys(err, errno, "socket");
	for (int i = 0; i < 50; i++) {
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		usleep(10000);
	}
	close(fd);
	return err_set(err, ENOENT, "cannot attach to container %.12s: its monitor does not answer",
		       c->id);
}

/* Copy stdin -> sock (if in) and sock -> stdout until the monitor closes
 * (the container exited) or the detach keys come. true if detached. */
static bool relay(int sock, bool in, bool tty)
{
	char buf[4096];
	bool in_open = in, saw_p = false;

	for (;;) {
		struct pollfd p[2] = { { .fd = sock, .events = POLLIN },
				       { .fd = in_open ? 0 : -1, .events = POLLIN } };
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return false;
		if (p[0].revents) {
			ssize_t n = read(sock, buf, sizeof(buf));
			if (n <= 0 || write(1, buf, (size_t)n) < 0)
				return false;
		}
		if (p[1].revents) {
			ssize_t n = read(0, buf, sizeof(buf));
			if (n <= 0) {
				in_open = false;
				shutdown(sock, SHUT_WR);
				continue;
			}
			for (ssize_t i = 0; tty && i < n; i++) {
				if (saw_p && buf[i] == 0x11)
					return true;
				saw_p = buf[i] == 0x10;
			}
			if (write(sock, buf, (size_t)n) < 0)
				return false;
		}
	}
}

int ctr_attach(struct cmd_ctx *ctx, const struct storage_container *c, bool in, bool tty,
	       struct err *err)
{
	struct termios saved, raw;
	bool is_raw = false, detached;
	int sock = connect_attach(c, err);

	if (sock < 0)
		return cmd_fail_err(err);
	if (tty && in && isatty(0) && tcgetattr(0, &saved) == 0) {
		raw = saved;
		cfmakeraw(&raw);
		is_raw = tcsetattr(0, TCSANOW, &raw) == 0;
	}
	detached = relay(sock, in, tty);
	if (is_raw)
		tcsetattr(0, TCSANOW, &saved);
	close(sock);
	if (detached)
		return 0;
	return ctr_wait(ctx, c);
}

int cmd_attach(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "no-stdin", no_argument, 0, 'n' },
					      { "help", no_argument, 0, 'h' },
					      { 0, 0, 0, 0 } };
	struct storage_container c;
	struct err err = { 0 };
	bool no_stdin = false;
	json_t *cfg, *st;
	int o, running;

	optind = 1;
	while ((o = cmd_getopt(ctx, argc, argv, "h", opts, false)) != -1) {
		if (o == '?')
			return EXIT_USAGE;
		if (o == 'h')
			return cmd_help(ctx);
		no_stdin |= o == 'n';
	}
	if (cmd_nargs(ctx, argc - optind, 1, 1))
		return EXIT_USAGE;
	if (ctr_find(ctx, argv[optind], &c, &err) < 0)
		return cmd_fail_err(&err);
	st = cmd_container_state(ctx, &c);
	running = ctr_running_pid(st) > 0;
	json_decref(st);
	if (!running)
		return cmd_fail("You cannot attach to a stopped container, start it first");
	cfg = storage_container_config(&ctx->store, &c, &err);
	o = ctr_attach(ctx, &c,
		       !no_stdin && json_is_true(json_object_get(json_object_get(cfg, "Config"),
								 "OpenStdin")),
		       json_is_true(json_object_get(json_object_get(cfg, "Config"), "Tty")), &err);
	json_decref(cfg);
	return o;
}
