/* log: leveled diagnostics on stderr (--log-level); user-facing errors go through cmd/. */
#ifndef MYDOCKER_BASE_LOG_H
#define MYDOCKER_BASE_LOG_H

enum log_level {
	LOG_DEBUG,
	LOG_INFO,
	LOG_WARN,
	LOG_ERROR,
	LOG_FATAL
};

extern enum log_level log_threshold;

/* Returns 0 and sets the threshold, or -1 for an unknown name. */
int log_set_level(const char *name);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
