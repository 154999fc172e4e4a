/* log: leveled diagnostics on stderr. */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum log_level log_threshold = LOG_WARN;

static const char *const names[] = { "debug", "info", "warn", "error", "fatal" };

int log_set_level(const char *name)
{
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(name, names[i]) == 0) {
			log_threshold = (enum log_level)i;
			return 0;
		}
	}
	if (strcmp(name, "warning") == 0) {
		log_threshold = LOG_WARN;
		return 0;
	}
	return -1;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	if (lvl < log_threshold)
		return;
	fprintf(stderr, "mydocker[%s]: ", names[lvl]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
