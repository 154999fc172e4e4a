/* err: the one error shape of mydocker; owned by the caller, never allocated. */
#ifndef MYDOCKER_BASE_ERR_H
#define MYDOCKER_BASE_ERR_H

#include <stdarg.h>

/* code is errno-like (0 = no error). msg is one line meant for the user.
 * Fixed size so it can be written whole over a pipe from a child. */
struct err {
	int code;
	char msg[512];
};

#define WUR __attribute__((warn_unused_result))

/* Set err (if not NULL) and return -1, so callers can `return err_set(...)`. */
int err_set(struct err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int err_setv(struct err *err, int code, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
/* Like err_set, with ": strerror(code)" appended. */
int err_sys(struct err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Prepend context to an existing message: "context: old message". Returns -1. */
int err_prefix(struct err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void err_clear(struct err *err);

#endif
