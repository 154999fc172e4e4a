/* common: helpers shared by the command handlers. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "runtime/runtime.h"

int cmd_store(struct cmd_ctx *ctx, struct err *err)
{
	if (ctx->store_open)
		return 0;
	if (storage_open(&ctx->store, ctx->root, ctx->driver, err) < 0)
		return -1;
	ctx->store_open = true;
	return 0;
}

int cmd_fail(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("mydocker: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_USAGE;
}

int cmd_fail_err(const struct err *err)
{
	return cmd_fail("%s", err->msg[0] ? err->msg : "unknown error");
}

int cmd_getopt(struct cmd_ctx *ctx, int argc, char **argv, const char *shortopts,
	       const struct option *longopts, bool stop_at_arg)
{
	char spec[128];
	int c, idx = optind;

	snprintf(spec, sizeof(spec), "%s:%s", stop_at_arg ? "+" : "", shortopts);
	opterr = 0;
	c = getopt_long(argc, argv, spec, longopts, NULL);
	if (c == '?') {
		const char *bad = argv[idx < argc ? idx : argc - 1];
		if (optopt && optopt < 256)
			cmd_fail(
				"%s: unknown shorthand flag: '%c' in %s (see 'mydocker %s --help')",
				ctx->name, optopt, bad, ctx->name);
		else
			cmd_fail("%s: unknown flag: %s (see 'mydocker %s --help')", ctx->name, bad,
				 ctx->name);
		return '?';
	}
	if (c == ':') {
		cmd_fail("%s: flag needs an argument: %s (see 'mydocker %s --help')", ctx->name,
			 argv[optind - 1], ctx->name);
		return '?';
	}
	return c;
}

int cmd_help(struct cmd_ctx *ctx)
{
	const struct cmd_def *d = cmd_lookup(ctx->name);
	if (d) {
		fputs(d->usage, stdout);
		printf("\n%s\n", d->summary);
	} else {
		/* A sub-command ("container prune") without a table entry. */
		printf("Usage:  mydocker %s [OPTIONS]\n", ctx->name);
	}
	return 0;
}

int cmd_nargs(struct cmd_ctx *ctx, int n, int min, int max)
{
	if (n < min)
		return cmd_fail("\"%s\" requires %s%d argument%s. (see 'mydocker %s --help')",
				ctx->name, max == min ? "exactly " : "at least ", min,
				min == 1 ? "" : "s", ctx->name);
	if (max >= 0 && n > max)
		return cmd_fail("\"%s\" requires %s%d argument%s. (see 'mydocker %s --help')",
				ctx->name, max == min ? "exactly " : "at most ", max,
				max == 1 ? "" : "s", ctx->name);
	return 0;
}

long long cmd_parse_size(const char *s)
{
	char *end;
	double v;
	long long mul = 1;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -1;
	switch (tolower((unsigned char)*end)) {
	case '\0': break;
	case 'b': mul = 1; break;
	case 'k': mul = 1LL << 10; break;
	case 'm': mul = 1LL << 20; break;
	case 'g': mul = 1LL << 30; break;
	case 't': mul = 1LL << 40; break;
	default: return -1;
	}
	if (*end && end[1] && !(tolower((unsigned char)end[1]) == 'b' && end[2] == '\0'))
		return -1;
	return (long long)(v * (double)mul);
}

int cmd_dispatch(struct cmd_ctx *ctx, int argc, char **argv, const struct cmd_sub *subs, size_t n)
{
	const char *family = ctx->name;
	struct err err = { 0 };

	if (argc < 2)
		return cmd_help(ctx), EXIT_USAGE;
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return cmd_help(ctx);
	for (size_t i = 0; i < n; i++) {
		const struct cmd_def *d;

		if (strcmp(argv[1], subs[i].name))
			continue;
		if (subs[i].fn) {
			ctx->name = subs[i].as ? subs[i].as : family;
			return subs[i].fn(ctx, argc - 1, argv + 1);
		}
		d = cmd_lookup(subs[i].as);
		if (!d)
			break;
		ctx->name = d->name;
		/* `container exec` enters a container as `exec` does: the same
		 * sealed re-exec first (CVE-2019-5736), of the whole command line. */
		if (d->seal && runtime_ensure_sealed_self(ctx->argc, ctx->argv, &err) < 0)
			return cmd_fail_err(&err);
		return d->fn(ctx, argc - 1, argv + 1);
	}
	return cmd_fail("%s: unknown command \"%s\" (see 'mydocker %s --help')", family, argv[1],
			family);
}
