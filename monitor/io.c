/* io: the container's output into ctr.log (docker's json-file format) and
 * to the clients of attach.sock, their input back to the container. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "monitor/monitor.h"
#include "base/banned.h"

void mon_fmt_now(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char base[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%09ldZ", base, ts.tv_nsec);
}

/* JSON string escaping of n bytes; dst holds at least 6 * n. */
static size_t json_escape(char *dst, const char *src, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)src[i];
		const char *esc = ch == '"' ? "\\\"" : ch == '\\' ? "\\\\" : ch == '\n' ? "\\n"
				: ch == '\r' ? "\\r" : ch == '\t' ? "\\t" : NULL;
		if (esc) {
			memcpy(dst + o, esc, 2);
			o += 2;
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

/* One record {"log":"...","stream":"stdout","time":"..."} per write(2)
 * on an O_APPEND fd: a reader never sees half a record. Static, not on
 * the stack: its pages are only touched by lines that long. */
static void log_line(struct mon *m, int which, const char *p, size_t n)
{
	static char rec[MON_LINE_MAX * 6 + 128];
	char now[64];
	size_t o;

	if (m->log_fd < 0)
		return;
	mon_fmt_now(now, sizeof(now));
	memcpy(rec, "{\"log\":\"", 8);
	o = 8 + json_escape(rec + 8, p, n);
	o += (size_t)snprintf(rec + o, sizeof(rec) - o, "\",\"stream\":\"%s\",\"time\":\"%s\"}\n",
			      which == MON_OUT ? "stdout" : "stderr", now);
	if (write(m->log_fd, rec, o) < 0)
		return; /* a full disk loses log lines, not the container */
}

static void broadcast(struct mon *m, const char *p, size_t n)
{
	for (int i = 0; i < MON_MAX_CLIENTS; i++) {
		if (m->clients[i] < 0)
			continue;
		/* A slow client loses output rather than stalling the container. */
		if (send(m->clients[i], p, n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno != EAGAIN) {
			close(m->clients[i]);
			m->clients[i] = -1;
		}
	}
}

/* Complete lines go to the log; a partial one waits, unless the buffer is
 * full or flush is set (end of the stream). */
static void stream_emit(struct mon *m, int which, bool flush)
{
	struct mon_stream *s = &m->out[which];
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

static void stream_close(struct mon *m, int which)
{
	struct mon_stream *s = &m->out[which];

	stream_emit(m, which, true);
	if (s->fd == m->master_fd)
		m->master_fd = -1;
	close(s->fd);
	s->fd = -1;
}

bool mon_stream_read(struct mon *m, int which)
{
	struct mon_stream *s = &m->out[which];
	ssize_t n = read(s->fd, s->buf + s->len, sizeof(s->buf) - s->len);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (n <= 0) { /* EOF, or EIO from a pty master whose slave is gone */
		stream_close(m, which);
		return false;
	}
	broadcast(m, s->buf + s->len, (size_t)n);
	s->len += (size_t)n;
	stream_emit(m, which, false);
	return true;
}

/* The PID namespace died with its init, so every writer is gone: the
 * streams end as soon as the pipes are empty. */
void mon_streams_drain(struct mon *m)
{
	for (int i = 0; i < MON_N_STREAMS; i++) {
		struct pollfd pf = { .fd = m->out[i].fd, .events = POLLIN };
		while (pf.fd >= 0 && poll(&pf, 1, 0) > 0 && mon_stream_read(m, i))
			pf.fd = m->out[i].fd;
		if (m->out[i].fd >= 0)
			stream_close(m, i);
	}
	if (m->stdin_fd >= 0)
		close(m->stdin_fd);
	m->stdin_fd = m->master_fd = -1;
}

/* Bound through /proc/self/fd/N/: the store path may be longer than
 * sun_path (108 bytes, unix(7)). */
int mon_attach_listen(const struct mon *m)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int dir_fd = open(m->dir, O_PATH | O_DIRECTORY | O_CLOEXEC), fd = -1;

	if (dir_fd < 0)
		return -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/attach.sock", dir_fd);
	unlinkat(dir_fd, "attach.sock", 0);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd >= 0 && (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0)) {
		close(fd);
		fd = -1;
	}
	if (fd >= 0 && fchmodat(dir_fd, "attach.sock", 0600, 0) < 0) {
		close(fd);
		fd = -1;
	}
	close(dir_fd);
	return fd;
}

void mon_attach_accept(struct mon *m)
{
	int fd = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	for (int i = 0; i < MON_MAX_CLIENTS; i++) {
		if (m->clients[i] < 0) {
			m->clients[i] = fd;
			m->client_eof[i] = false;
			return;
		}
	}
	close(fd);
}

void mon_attach_input(struct mon *m, int i)
{
	char buf[4096];
	ssize_t n = recv(m->clients[i], buf, sizeof(buf), MSG_DONTWAIT);
	int to = m->master_fd >= 0 ? m->master_fd : m->stdin_fd;

	if (n < 0 && errno == EAGAIN)
		return;
	/* A half-close: the attached stdin ended (`start -a -i`, docker's
	 * StdinOnce), so does the container's, or `cat` would wait forever;
	 * the client still gets the output. */
	if (n == 0 && !m->client_eof[i]) {
		m->client_eof[i] = true;
		if (m->stdin_fd >= 0)
			close(m->stdin_fd);
		m->stdin_fd = -1;
		return;
	}
	if (n <= 0) {
		close(m->clients[i]);
		m->clients[i] = -1;
		return;
	}
	if (to >= 0 && write(to, buf, (size_t)n) < 0 && errno == EPIPE && to == m->stdin_fd) {
		close(m->stdin_fd);
		m->stdin_fd = -1;
	}
}

void mon_attach_close(struct mon *m)
{
	for (int i = 0; i < MON_MAX_CLIENTS; i++) {
		if (m->clients[i] >= 0)
			close(m->clients[i]);
		m->clients[i] = -1;
	}
}
