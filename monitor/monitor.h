/* monitor: private header of the tiny per-container monitor
 * (mydocker-monitor), a static libc-only program like podman's conmon.
 * It is the container's parent (a subreaper), copies its output into
 * ctr.log as docker json-file lines, serves attach.sock, and runs the
 * main binary for the heavy work only: `mydocker __start ID` to start the
 * container, `mydocker __exited ID ...` after each exit (state, cgroup,
 * network, unmount, restart decision). Not linked with anything of
 * mydocker but base/err.h's struct. */
#ifndef MYDOCKER_MONITOR_H
#define MYDOCKER_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/err.h"

#define MON_LINE_MAX 16384 /* Docker splits log lines at 16 KiB too */
#define MON_MAX_CLIENTS 8

/* The fds `mydocker __start` finds: the container's stdin, stdout and
 * stderr, and the control socket its result goes back on. */
enum { MON_FD_STDIN = 3, MON_FD_STDOUT, MON_FD_STDERR, MON_FD_CTL, MON_FD_LOCK };

/* What __start sends on MON_FD_CTL (with the pty master as SCM_RIGHTS
 * when the container has a terminal). */
struct mon_start_msg {
	struct err err;
	int pid;
};

/* __exited's exit status when the restart policy starts it again. */
#define MON_EXIT_RESTART 75

enum { MON_OUT, MON_ERR, MON_N_STREAMS };

struct mon_stream {
	int fd;
	size_t len;
	char buf[MON_LINE_MAX];
};

struct mon {
	const char *exe, *root, *id, *dir;
	bool interactive;
	int sig_fd, log_fd, listen_fd, stdin_fd, master_fd;
	int clients[MON_MAX_CLIENTS];
	bool client_eof[MON_MAX_CLIENTS]; /* its input ended: output only */
	struct mon_stream out[MON_N_STREAMS];
	pid_t pid; /* the container's init, 0 when none */
	int restarts;
};

/* ---- monitor/io.c ---- */
/* Read what a stream has: to attach clients as is, to the log by line.
 * false once it is at EOF (and closed). */
bool mon_stream_read(struct mon *m, int which);
/* Read each stream to its end, write the last partial lines, close. */
void mon_streams_drain(struct mon *m);
/* attach.sock in m->dir; -1 on failure (no attach then, not fatal). */
int mon_attach_listen(const struct mon *m);
void mon_attach_accept(struct mon *m);
/* Bytes from client i to the container's terminal or stdin. */
void mon_attach_input(struct mon *m, int i);
void mon_attach_close(struct mon *m);
/* "2006-01-02T15:04:05.000000000Z", as docker writes times. */
void mon_fmt_now(char *buf, size_t len);

#endif
