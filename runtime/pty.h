/* pty: the sync channel between runtime_run and its child, the container's
 * terminal (created in the child, master passed up), and the parent's relay.
 * Private to runtime/. */
#ifndef MYDOCKER_RUNTIME_PTY_H
#define MYDOCKER_RUNTIME_PTY_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <termios.h>

#include "base/err.h"

/* One fixed-size message per SOCK_SEQPACKET datagram. The child's success is
 * not a message: the socket closes when execve(2) closes its CLOEXEC end. */
enum rt_sync_type {
	RT_SYNC_GO = 1, /* parent -> child: maps written, hooks run, carry on */
	RT_SYNC_PTY,    /* child -> parent: pty master attached (SCM_RIGHTS) */
	RT_SYNC_ERR,    /* child -> parent: setup failed, err is the reason */
};

struct rt_sync_msg {
	int type;
	struct err err;
};

/* Send msg, with fd attached when fd >= 0. 0 or -1 with errno. */
int rt_sync_send(int sock, const struct rt_sync_msg *msg, int fd);
/* Receive one message: 1 when one came (*fd = passed fd or -1), 0 at EOF,
 * -1 with errno. Passed fds arrive close-on-exec. */
int rt_sync_recv(int sock, struct rt_sync_msg *msg, int *fd);

/* In the child after pivot_root: open a pty in the container's devpts, bind
 * the slave over /dev/console, send the master to the parent over sync_fd,
 * and make the slave the controlling terminal and stdio of a new session. */
int rt_pty_child_setup(int sync_fd, struct err *err);

/* The parent's side of -t: copies stdin -> master (with -i) and master ->
 * stdout, keeps the caller's terminal raw meanwhile and its size in step. */
struct rt_relay {
	int master_fd; /* -1: no tty, the relay does nothing */
	bool in_open;  /* stdin still copied */
	bool out_open; /* master still readable */
	bool raw;      /* our terminal was put in raw mode: restore it */
	struct termios saved;
	char buf[4096]; /* stdin bytes not yet accepted by the master */
	size_t len, off;
};

/* Takes ownership of master_fd (-1 for none). */
void rt_relay_init(struct rt_relay *r, int master_fd, bool interactive);
/* Fill up to 2 pollfds; returns how many. */
int rt_relay_fds(const struct rt_relay *r, struct pollfd *p);
/* Act on the pollfds filled by rt_relay_fds. */
void rt_relay_handle(struct rt_relay *r, const struct pollfd *p, int n);
/* Copy the caller's terminal size to the container's (SIGWINCH). */
void rt_relay_resize(const struct rt_relay *r);
/* After the container exited: copy what output is left. */
void rt_relay_drain(struct rt_relay *r);
/* Restore the caller's terminal and close the master. */
void rt_relay_release(struct rt_relay *r);

#endif
