/* exec: the container process's environment, and its command found in its
 * PATH inside the new root. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/internal.h"
#include "base/banned.h"

/* Docker's default PATH for a container without one. */
#define RT_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const char *env_get(char *const *env, const char *key)
{
	size_t n = strlen(key);

	for (size_t i = 0; env && env[i]; i++) {
		if (strncmp(env[i], key, n) == 0 && env[i][n] == '=')
			return env[i] + n + 1;
	}
	return NULL;
}

static int env_add(char **env, size_t *n, const char *key, const char *val)
{
	if (env_get(env, key))
		return 0;
	if (asprintf(&env[*n], "%s=%s", key, val) < 0)
		return -1;
	(*n)++;
	return 0;
}

char **rt_exec_env(const struct runtime_spec *spec, const struct rt_user *u, struct err *err)
{
	size_t n = 0;
	char **env;
	char host[256] = "";

	while (spec->env && spec->env[n])
		n++;
	env = calloc(n + 5, sizeof(*env));
	if (!env) {
		err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	if (n)
		memcpy(env, spec->env, n * sizeof(*env));
	gethostname(host, sizeof(host) - 1);
	if (env_add(env, &n, "HOSTNAME", host) < 0 ||
	    env_add(env, &n, "HOME", u->home[0] ? u->home : "/") < 0 ||
	    env_add(env, &n, "PATH", RT_DEFAULT_PATH) < 0 ||
	    (spec->terminal && env_add(env, &n, "TERM", "xterm") < 0)) {
		err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	return env;
}

int rt_exec_failed(const char *argv0, int e, struct err *err)
{
	err_sys(err, e, "exec: \"%s\"", argv0);
	err->code = e == ENOENT ? RUNTIME_ERR_NOT_FOUND : RUNTIME_ERR_CANNOT_EXEC;
	return -1;
}

/* 0 if path is an executable regular file, else -1 with errno:
 * ENOENT/ENOTDIR (not there), EISDIR, EACCES (no execute bit). */
static int probe(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -1;
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		return -1;
	}
	if (!S_ISREG(st.st_mode) || !(st.st_mode & 0111)) {
		errno = EACCES;
		return -1;
	}
	return 0;
}

static int copy_out(const char *path, char *out, size_t len, struct err *err)
{
	if (snprintf(out, len, "%s", path) >= (int)len)
		return err_set(err, ENAMETOOLONG, "exec: \"%s\": path too long", path);
	return 0;
}

/* A name with a slash is used as is (execvp(3) semantics). */
static int check_path(const char *argv0, char *out, size_t len, struct err *err)
{
	if (probe(argv0) == 0)
		return copy_out(argv0, out, len, err);
	if (errno == EISDIR)
		return err_set(err, RUNTIME_ERR_CANNOT_EXEC, "exec: \"%s\": is a directory", argv0);
	if (errno == EACCES)
		return err_set(err, RUNTIME_ERR_CANNOT_EXEC, "exec: \"%s\": permission denied",
			       argv0);
	if (errno == ENOENT || errno == ENOTDIR)
		return err_set(err, RUNTIME_ERR_NOT_FOUND,
			       "exec: \"%s\": stat %s: no such file or directory", argv0, argv0);
	return err_sys(err, errno, "exec: \"%s\": stat %s", argv0, argv0);
}

int rt_exec_lookup(const char *argv0, char *const *env, char *out, size_t len, struct err *err)
{
	const char *path, *p;

	if (!argv0 || !*argv0)
		return err_set(err, RUNTIME_ERR_NOT_FOUND,
			       "exec: \"\": executable file not found in $PATH");
	if (strchr(argv0, '/'))
		return check_path(argv0, out, len, err);
	path = env_get(env, "PATH");
	if (!path)
		path = RT_DEFAULT_PATH;
	/* Like Go's exec.LookPath (what Docker reports): the first executable
	 * regular file wins; others are passed over; "" means ".". */
	for (p = path;; p++) {
		size_t n = strcspn(p, ":");
		char cand[4096];
		int w = n ? snprintf(cand, sizeof(cand), "%.*s/%s", (int)n, p, argv0) :
			    snprintf(cand, sizeof(cand), "./%s", argv0);
		if (w > 0 && (size_t)w < sizeof(cand) && probe(cand) == 0)
			return copy_out(cand, out, len, err);
		p += n;
		if (!*p)
			break;
	}
	return err_set(err, RUNTIME_ERR_NOT_FOUND,
		       "exec: \"%s\": executable file not found in $PATH", argv0);
}
