/* registry commands: pull, push, login, logout; and the per-layer progress
 * display a terminal gets. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "cmd/cmd.h"
#include "image/image.h"

#define MAX_INSECURE 32

enum {
	OPT_INSECURE = 1000,
	OPT_PLATFORM,
	OPT_FORMAT,
	OPT_PASSWORD_STDIN
};

struct reg_flags {
	const char *insecure[MAX_INSECURE + 1];
	size_t n_insecure;
	bool quiet;
};

static int add_insecure(struct reg_flags *f, const char *host)
{
	if (f->n_insecure >= MAX_INSECURE)
		return cmd_fail("too many --insecure-registry flags (at most %d)", MAX_INSECURE);
	f->insecure[f->n_insecure++] = host;
	return 0;
}

static void print_line(void *ctx, const char *line)
{
	if (!((const struct reg_flags *)ctx)->quiet)
		puts(line);
}

/* ---- progress on a terminal --------------------------------------------- */

struct progress_view {
	size_t drawn; /* lines on screen from the last draw */
};

static void human(long long n, char *buf, size_t len)
{
	if (n >= 1000LL * 1000 * 1000)
		snprintf(buf, len, "%.2fGB", (double)n / 1e9);
	else if (n >= 1000LL * 1000)
		snprintf(buf, len, "%.1fMB", (double)n / 1e6);
	else if (n >= 1000)
		snprintf(buf, len, "%.1fkB", (double)n / 1e3);
	else
		snprintf(buf, len, "%lldB", n);
}

static void draw_row(const struct image_layer_progress *r)
{
	char bar[52], cur[16], tot[16];
	int width = 50, fill;

	if (strcmp(r->status, "Downloading") != 0 || r->total <= 0) {
		printf("\033[2K%s: %s\n", r->id, r->status);
		return;
	}
	fill = (int)(r->cur * width / r->total);
	fill = fill > width ? width : fill;
	memset(bar, ' ', (size_t)width);
	memset(bar, '=', (size_t)fill);
	if (fill < width)
		bar[fill] = '>';
	bar[width] = '\0';
	human(r->cur, cur, sizeof(cur));
	human(r->total, tot, sizeof(tot));
	printf("\033[2K%s: Downloading [%s] %s/%s\n", r->id, bar, cur, tot);
}

static void draw_progress(void *ctx, const struct image_layer_progress *rows, size_t n, bool done)
{
	struct progress_view *v = ctx;

	(void)done;
	if (v->drawn)
		printf("\033[%zuA", v->drawn);
	for (size_t i = 0; i < n; i++)
		draw_row(&rows[i]);
	v->drawn = n;
	fflush(stdout);
}

/* ---- pull ------------------------------------------------------------------ */

static bool has_tag_or_digest(const char *arg)
{
	const char *slash = strrchr(arg, '/');
	return strchr(arg, '@') || strchr(slash ? slash : arg, ':');
}

int cmd_pull(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "platform", required_argument, 0, OPT_PLATFORM },
		{ "insecure-registry", required_argument, 0, OPT_INSECURE },
		{ "quiet", no_argument, 0, 'q' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	struct reg_flags f = { 0 };
	struct progress_view view = { 0 };
	struct image_registry_opts o = { .insecure = f.insecure,
					 .print = print_line,
					 .print_ctx = &f };
	char name[600], id[DIGEST_BUF];
	struct err err = { 0 };
	int c;

	optind = 1;
	while ((c = cmd_getopt(ctx, argc, argv, "qh", opts, false)) != -1) {
		if (c == '?')
			return EXIT_USAGE;
		if (c == 'h')
			return cmd_help(ctx);
		if (c == 'q')
			f.quiet = true;
		if (c == OPT_PLATFORM)
			o.platform = optarg;
		if (c == OPT_INSECURE && add_insecure(&f, optarg))
			return EXIT_USAGE;
	}
	if (cmd_nargs(ctx, argc - optind, 1, 1))
		return EXIT_USAGE;
	if (image_ref_normalize(argv[optind], name, sizeof(name), &err) < 0)
		return cmd_fail_err(&err);
	if (!f.quiet && isatty(STDOUT_FILENO)) {
		o.progress = draw_progress;
		o.progress_ctx = &view;
	}
	if (!f.quiet && !has_tag_or_digest(argv[optind]))
		puts("Using default tag: latest");
	if (cmd_store(ctx, &err) < 0 || image_pull(&ctx->store, argv[optind], &o, id, &err) < 0)
		return cmd_fail_err(&err);
	puts(name);
	return 0;
}

/* ---- push ------------------------------------------------------------------ */

int cmd_push(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, 0, OPT_FORMAT },
		{ "insecure-registry", required_argument, 0, OPT_INSECURE },
		{ "quiet", no_argument, 0, 'q' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	struct reg_flags f = { 0 };
	struct image_registry_opts o = { .insecure = f.insecure,
					 .print = print_line,
					 .print_ctx = &f };
	char name[600], digest[DIGEST_BUF];
	long long size = 0;
	struct err err = { 0 };
	int c;

	optind = 1;
	while ((c = cmd_getopt(ctx, argc, argv, "qh", opts, false)) != -1) {
		if (c == '?')
			return EXIT_USAGE;
		if (c == 'h')
			return cmd_help(ctx);
		if (c == 'q')
			f.quiet = true;
		if (c == OPT_FORMAT) {
			if (strcmp(optarg, "oci") && strcmp(optarg, "docker") &&
			    strcmp(optarg, "v2s2"))
				return cmd_fail("push: invalid --format %s: use docker or oci",
						optarg);
			o.oci = strcmp(optarg, "oci") == 0;
		}
		if (c == OPT_INSECURE && add_insecure(&f, optarg))
			return EXIT_USAGE;
	}
	if (cmd_nargs(ctx, argc - optind, 1, 1))
		return EXIT_USAGE;
	if (image_ref_normalize(argv[optind], name, sizeof(name), &err) < 0)
		return cmd_fail_err(&err);
	if (cmd_store(ctx, &err) < 0 || image_push(&ctx->store, name, &o, digest, &size, &err) < 0)
		return cmd_fail_err(&err);
	if (f.quiet)
		puts(name);
	return 0;
}

/* ---- login / logout ----------------------------------------------------- */

/* "https://host/" -> "host": docker accepts a URL as the server. */
static void server_host(const char *arg, char *out, size_t len)
{
	const char *p = strstr(arg, "://");
	size_t n;

	p = p ? p + 3 : arg;
	n = strcspn(p, "/");
	snprintf(out, len, "%.*s", (int)n, p);
}

static int read_line(FILE *in, char *buf, size_t len)
{
	size_t n;

	if (!fgets(buf, (int)len, in))
		return -1;
	n = strlen(buf);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return 0;
}

static int prompt(const char *what, char *buf, size_t len, bool secret)
{
	struct termios old, quiet;
	bool echo_off = false;
	int rc;

	fputs(what, stderr);
	fflush(stderr);
	if (secret && tcgetattr(STDIN_FILENO, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		echo_off = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
	}
	rc = read_line(stdin, buf, len);
	if (echo_off) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	return rc;
}

static int login_creds(const char *user_flag, const char *pass_flag, bool pass_stdin, char *user,
		       size_t ulen, char *pass, size_t plen)
{
	bool tty = isatty(STDIN_FILENO);

	if (pass_flag && pass_stdin)
		return cmd_fail("login: --password and --password-stdin are mutually exclusive");
	if (pass_stdin && !user_flag)
		return cmd_fail("login: must provide --username with --password-stdin");
	if (pass_flag)
		fputs("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n",
		      stderr);
	if (user_flag)
		snprintf(user, ulen, "%s", user_flag);
	else if (!tty || prompt("Username: ", user, ulen, false) < 0)
		return cmd_fail("login: cannot perform an interactive login from a non TTY device");
	if (pass_flag)
		snprintf(pass, plen, "%s", pass_flag);
	else if (pass_stdin ? read_line(stdin, pass, plen) < 0 :
			      (!tty || prompt("Password: ", pass, plen, true) < 0))
		return cmd_fail(
			"login: %s",
			pass_stdin ? "no password on stdin" :
				     "cannot perform an interactive login from a non TTY device");
	if (!user[0] || !pass[0])
		return cmd_fail("login: username and password are required");
	return 0;
}

int cmd_login(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "username", required_argument, 0, 'u' },
		{ "password", required_argument, 0, 'p' },
		{ "password-stdin", no_argument, 0, OPT_PASSWORD_STDIN },
		{ "insecure-registry", required_argument, 0, OPT_INSECURE },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	struct reg_flags f = { 0 };
	struct image_registry_opts o = { .insecure = f.insecure };
	const char *user_flag = NULL, *pass_flag = NULL;
	char host[256], user[256], pass[256];
	bool pass_stdin = false;
	struct err err = { 0 };
	int c, rc;

	optind = 1;
	while ((c = cmd_getopt(ctx, argc, argv, "u:p:h", opts, false)) != -1) {
		if (c == '?')
			return EXIT_USAGE;
		if (c == 'h')
			return cmd_help(ctx);
		if (c == 'u')
			user_flag = optarg;
		if (c == 'p')
			pass_flag = optarg;
		if (c == OPT_PASSWORD_STDIN)
			pass_stdin = true;
		if (c == OPT_INSECURE && add_insecure(&f, optarg))
			return EXIT_USAGE;
	}
	if (cmd_nargs(ctx, argc - optind, 0, 1))
		return EXIT_USAGE;
	server_host(argc > optind ? argv[optind] : "docker.io", host, sizeof(host));
	if (login_creds(user_flag, pass_flag, pass_stdin, user, sizeof(user), pass, sizeof(pass)))
		return EXIT_USAGE;
	rc = image_registry_login(host, user, pass, &o, &err);
	explicit_bzero(pass, sizeof(pass));
	if (rc < 0)
		return cmd_fail_err(&err);
	puts("Login Succeeded");
	return 0;
}

int cmd_logout(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 } };
	char host[256];
	struct err err = { 0 };
	int c, rc;

	optind = 1;
	while ((c = cmd_getopt(ctx, argc, argv, "h", opts, false)) != -1) {
		if (c == '?')
			return EXIT_USAGE;
		return cmd_help(ctx);
	}
	if (cmd_nargs(ctx, argc - optind, 0, 1))
		return EXIT_USAGE;
	server_host(argc > optind ? argv[optind] : "docker.io", host, sizeof(host));
	rc = image_registry_logout(host, NULL, &err);
	if (rc < 0)
		return cmd_fail_err(&err);
	printf("%s %s\n", rc ? "Removing login credentials for" : "Not logged in to", host);
	return 0;
}
