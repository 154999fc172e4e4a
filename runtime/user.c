/* user: resolve --user/--group-add against the container's own /etc/passwd
 * and /etc/group. Never getpwnam(3): that would read the host's files (and
 * NSS modules) instead of the image's. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "runtime/internal.h"
#include "base/banned.h" /* last: after every system header */

#define ETC_MAX (4 << 20) /* a passwd file larger than this is not a passwd file */

struct pwent {
	char name[256];
	uid_t uid;
	gid_t gid;
	char home[256];
};

/* Strict decimal id: "1000" yes; "1000x", "-1", "" no (those are names). */
static int parse_id(const char *s, uint32_t *out)
{
	unsigned long long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned)(*s - '0');
		if (v > 0xfffffffeULL) /* (uid_t)-1 means "unchanged" to setuid */
			return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

/* Read path beneath root_fd (RESOLVE_IN_ROOT: a symlinked /etc/passwd in the
 * image cannot point at the host's). A missing file reads as empty. */
static int read_etc(int root_fd, const char *path, char **out, struct err *err)
{
	cleanup_close int fd = fs_open_in_root(root_fd, path, O_RDONLY | O_NOCTTY, 0);
	cleanup_free char *buf = NULL;
	size_t len = 0, cap = 0;

	*out = NULL;
	if (fd < 0)
		return errno == ENOENT ? 0 : err_sys(err, errno, "open %s", path);
	for (;;) {
		ssize_t n;
		if (len + 4096 + 1 > cap) {
			char *nb;
			cap = cap ? cap * 2 : 8192;
			if (cap > ETC_MAX)
				return err_set(err, EFBIG, "%s is larger than %d bytes", path,
					       ETC_MAX);
			nb = realloc(buf, cap);
			if (!nb)
				return err_sys(err, ENOMEM, "read %s", path);
			buf = nb;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys(err, errno, "read %s", path);
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*out = TAKE_PTR(buf);
	return 0;
}

/* Iterate the lines of buf into line (truncated to len), splitting on ':'
 * into at most max fields. Returns the number of fields, or -1 at the end. */
static int next_entry(const char **pos, char *line, size_t len, char **fields, int max)
{
	const char *p = *pos, *eol;
	size_t n;
	int nf = 0;
	char *s, *tok;

	if (!p || !*p)
		return -1;
	eol = strchr(p, '\n');
	n = eol ? (size_t)(eol - p) : strlen(p);
	*pos = eol ? eol + 1 : p + n;
	if (n >= len)
		n = len - 1;
	memcpy(line, p, n);
	line[n] = '\0';
	s = line;
	while (nf < max && (tok = strsep(&s, ":")) != NULL)
		fields[nf++] = tok;
	return nf;
}

/* passwd(5): name:password:UID:GID:GECOS:directory:shell. The first entry
 * matching the numeric uid (by_id) or the name wins, as in runc. */
static bool find_passwd(const char *buf, const char *name, bool by_id, uid_t uid, struct pwent *pw)
{
	char line[1024], *f[7];
	const char *pos = buf;
	int nf;

	while ((nf = next_entry(&pos, line, sizeof(line), f, 7)) >= 0) {
		uint32_t id, gid;
		if (nf < 4 || f[0][0] == '#' || parse_id(f[2], &id) < 0 || parse_id(f[3], &gid) < 0)
			continue;
		if (by_id ? id != uid : strcmp(f[0], name) != 0)
			continue;
		snprintf(pw->name, sizeof(pw->name), "%s", f[0]);
		pw->uid = id;
		pw->gid = gid;
		snprintf(pw->home, sizeof(pw->home), "%s", nf > 5 ? f[5] : "");
		return true;
	}
	return false;
}

/* group(5): name:password:GID:user_list. By name, or by id when numeric. */
static bool find_group(const char *buf, const char *name, gid_t *gid)
{
	char line[4096], *f[4];
	const char *pos = buf;
	uint32_t want, id;
	bool numeric = parse_id(name, &want) == 0;
	int nf;

	if (numeric) {
		*gid = want; /* a numeric group needs no entry */
		return true;
	}
	while ((nf = next_entry(&pos, line, sizeof(line), f, 4)) >= 0)
		if (nf >= 3 && strcmp(f[0], name) == 0 && parse_id(f[2], &id) == 0) {
			*gid = id;
			return true;
		}
	return false;
}

static int add_group(struct rt_user *u, gid_t gid, struct err *err)
{
	for (size_t i = 0; i < u->n_groups; i++)
		if (u->groups[i] == gid)
			return 0;
	if (u->n_groups >= sizeof(u->groups) / sizeof(u->groups[0]))
		return err_set(err, E2BIG, "more than %zu supplementary groups",
			       sizeof(u->groups) / sizeof(u->groups[0]));
	u->groups[u->n_groups++] = gid;
	return 0;
}

static bool in_list(char *list, const char *name)
{
	char *tok;

	while ((tok = strsep(&list, ",")) != NULL)
		if (strcmp(tok, name) == 0)
			return true;
	return false;
}

/* Every group whose member list names the user (initgroups(3) semantics). */
static int add_member_groups(const char *buf, const char *user, struct rt_user *u, struct err *err)
{
	char line[4096], *f[4];
	const char *pos = buf;
	uint32_t id;
	int nf;

	while ((nf = next_entry(&pos, line, sizeof(line), f, 4)) >= 0)
		if (nf == 4 && parse_id(f[2], &id) == 0 && in_list(f[3], user) &&
		    add_group(u, id, err) < 0)
			return -1;
	return 0;
}

/* The user half of the spec: numeric uids need no entry (gid 0 then);
 * names must exist. Docker's wording for the error. */
static int resolve_user(const char *passwd, const char *user, struct rt_user *u, struct pwent *pw,
			struct err *err)
{
	uint32_t uid = 0;
	bool numeric = parse_id(user, &uid) == 0;

	if (find_passwd(passwd ? passwd : "", user, numeric, uid, pw)) {
		u->uid = pw->uid;
		u->gid = pw->gid;
		return 0;
	}
	if (!numeric)
		return err_set(err, ESRCH,
			       "unable to find user %s: no matching entries in passwd file", user);
	u->uid = uid;
	u->gid = 0;
	return 0;
}

static int split_spec(const char *spec, char *user, size_t ulen, char *group, size_t glen,
		      struct err *err)
{
	const char *colon;
	size_t n;

	if (!spec || !*spec)
		spec = "0";
	colon = strchr(spec, ':');
	n = colon ? (size_t)(colon - spec) : strlen(spec);
	if (n == 0 || n >= ulen || (colon && (!colon[1] || strlen(colon + 1) >= glen)))
		return err_set(err, EINVAL,
			       "invalid user \"%s\": expected uid[:gid] or name[:group]", spec);
	memcpy(user, spec, n);
	user[n] = '\0';
	snprintf(group, glen, "%s", colon ? colon + 1 : "");
	return 0;
}

static int resolve_groups(const char *groups, const char *grp_arg, const struct pwent *pw,
			  char *const *add_groups, struct rt_user *u, struct err *err)
{
	const char *g = groups ? groups : "";

	if (*grp_arg) {
		if (!find_group(g, grp_arg, &u->gid))
			return err_set(err, ESRCH,
				       "unable to find group %s: no matching entries in group file",
				       grp_arg);
		/* An explicit group is the only one, as in runc. */
		if (add_group(u, u->gid, err) < 0)
			return -1;
	} else if (add_group(u, u->gid, err) < 0 ||
		   (pw->name[0] && add_member_groups(g, pw->name, u, err) < 0)) {
		return -1;
	}
	for (size_t i = 0; add_groups && add_groups[i]; i++) {
		gid_t gid;
		if (!find_group(g, add_groups[i], &gid))
			return err_set(err, ESRCH,
				       "unable to find group %s: no matching entries in group file",
				       add_groups[i]);
		if (add_group(u, gid, err) < 0)
			return -1;
	}
	return 0;
}

int rt_user_resolve(int root_fd, const char *spec, char *const *add_groups, struct rt_user *u,
		    struct err *err)
{
	cleanup_free char *passwd = NULL;
	cleanup_free char *groups = NULL;
	char user[256], grp_arg[256];
	struct pwent pw;

	memset(u, 0, sizeof(*u));
	memset(&pw, 0, sizeof(pw));
	if (split_spec(spec, user, sizeof(user), grp_arg, sizeof(grp_arg), err) < 0 ||
	    read_etc(root_fd, "/etc/passwd", &passwd, err) < 0 ||
	    read_etc(root_fd, "/etc/group", &groups, err) < 0 ||
	    resolve_user(passwd, user, u, &pw, err) < 0 ||
	    resolve_groups(groups, grp_arg, &pw, add_groups, u, err) < 0)
		return -1;
	if (pw.home[0])
		snprintf(u->home, sizeof(u->home), "%s", pw.home);
	else
		snprintf(u->home, sizeof(u->home), "%s", u->uid == 0 ? "/root" : "/");
	return 0;
}
