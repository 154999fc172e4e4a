/* pty: the sync channel between runtime_run (or runtime_exec) and its
 * child, the container's terminal (created in the child, master passed up),
 * the parent's relay and its wait (runtime/supervise.c). Private to runtime/. */
#ifndef MYDOCKER_RUNTIME_PTY_H
#define MYDOCKER_RUNTIME_PTY_H

#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
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
/* Until the child's exec: 0 at EOF (its CLOEXEC end closed by execve), -1
 * with err (the child's own error, or a read failure). A pty master it sends
 * goes to *master_fd (the caller sets it to -1 first) and is closed again
 * on failure. */
int rt_sync_await(int sock, int *master_fd, struct err *err);

/* In the child, in the container's mount namespace: open a pty in the
 * container's devpts, bind the slave over /dev/console when console (the
 * container's init; not for exec), send the master to the parent over
 * sync_fd, and make the slave the controlling terminal and stdio of a new
 * session. */
int rt_pty_child_setup(int sync_fd, bool console, struct err *err);

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

/* ---- supervision (runtime/supervise.c) ------------------------------------ */

/* Block the signals `docker run` forwards, and SIGCHLD, before the fork so
 * that none is lost in between; returns a signalfd for them, or -1 with err.
 * *old: the mask to give back to rt_signals_restore. */
int rt_signals_block(sigset_t *old, struct err *err);
/* Drop what is still pending, close sig_fd and restore the old mask. */
void rt_signals_restore(const sigset_t *old, int sig_fd);
/* In the forked child: default dispositions and nothing blocked (a SIG_IGN
 * or a blocked signal would survive execve(2) into the container). */
void rt_signals_reset(void);
/* Forward signals to pid and relay its terminal until pid is reaped; its
 * exit code, Docker's way (rt_status_code). */
int rt_wait_relay(pid_t pid, int sig_fd, struct rt_relay *r);
/* A wait(2) status as an exit code: the code, or 128 + the signal. */
int rt_status_code(int status);

#endif
