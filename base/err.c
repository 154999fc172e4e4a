/* err: formatting helpers for struct err. */
#include "base/err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int err_setv(struct err *err, int code, const char *fmt, va_list ap)
{
	if (!err)
		return -1;
	err->code = code ? code : EINVAL;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	return -1;
}

int err_set(struct err *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_setv(err, code, fmt, ap);
	va_end(ap);
	return -1;
}

int err_sys(struct err *err, int code, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (!err)
		return -1;
	va_start(ap, fmt);
	err_setv(err, code, fmt, ap);
	va_end(ap);
	n = strlen(err->msg);
	snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(code ? code : EINVAL));
	return -1;
}

int err_prefix(struct err *err, const char *fmt, ...)
{
	char old[sizeof(err->msg)], pre[256];
	va_list ap;

	if (!err)
		return -1;
	memcpy(old, err->msg, sizeof(old));
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	snprintf(err->msg, sizeof(err->msg), "%s: %s", pre, old);
	if (!err->code)
		err->code = EINVAL;
	return -1;
}

void err_clear(struct err *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}
