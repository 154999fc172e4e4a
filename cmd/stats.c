/* stats: live resource usage of running containers, docker stats' columns,
 * read from each container's cgroups (through its init's /proc/PID/cgroup)
 * and its network namespace's /proc/PID/net/dev. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "cmd/cmd.h"
#include "cmd/format.h"
#include "runtime/runtime.h"
#include "storage/container.h"
#include "base/banned.h"

#define MAX_ROWS 256

struct row {
	struct storage_container c;
	pid_t pid;
	bool ok;
	struct runtime_cgroup_stats a, b; /* two samples */
	uint64_t net_rx, net_tx;
};

/* Docker's units.BytesSize: binary units, 4 significant digits. */
static void fmt_bytes(uint64_t v, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double d = (double)v;
	size_t u = 0;

	while (d >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		d /= 1024;
		u++;
	}
	snprintf(buf, len, "%.4g%s", d, units[u]);
}

/* Bytes received and sent on every interface but lo of pid's netns. */
static void net_io(pid_t pid, uint64_t *rx, uint64_t *tx)
{
	char path[64], line[512];
	cleanup_fclose FILE *f = NULL;

	*rx = *tx = 0;
	snprintf(path, sizeof(path), "/proc/%d/net/dev", (int)pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f)) {
		char name[64];
		unsigned long long r, t;
		if (sscanf(line, " %63[^:]: %llu %*u %*u %*u %*u %*u %*u %*u %llu", name, &r, &t) !=
			    3 ||
		    !strcmp(name, "lo"))
			continue;
		*rx += r;
		*tx += t;
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The container's init pid if it is running, else 0. */
static pid_t running_pid(struct cmd_ctx *ctx, const struct storage_container *c)
{
	json_t *st = cmd_container_state(ctx, c);
	pid_t pid = 0;

	if (json_is_true(json_object_get(st, "Running")))
		pid = (pid_t)json_integer_value(json_object_get(st, "Pid"));
	json_decref(st);
	return pid;
}

/* The rows: the named containers, or every running one. */
static int collect(struct cmd_ctx *ctx, char **names, int n, struct row *rows, size_t *nrows,
		   struct err *err)
{
	char **ids = NULL;
	size_t nids = 0;

	*nrows = 0;
	if (n > 0) {
		for (int i = 0; i < n && *nrows < MAX_ROWS; i++) {
			struct row *r = &rows[*nrows];
			memset(r, 0, sizeof(*r));
			if (storage_container_lookup(&ctx->store, names[i], &r->c, err) < 0)
				return err_set(err, ENOENT, "No such container: %s", names[i]);
			r->pid = running_pid(ctx, &r->c);
			(*nrows)++;
		}
		return 0;
	}
	if (storage_container_list(&ctx->store, &ids, &nids, err) < 0)
		return -1;
	for (size_t i = 0; i < nids && *nrows < MAX_ROWS; i++) {
		struct row *r = &rows[*nrows];
		struct err e = { 0 };
		memset(r, 0, sizeof(*r));
		if (storage_container_lookup(&ctx->store, ids[i], &r->c, &e) == 0 &&
		    (r->pid = running_pid(ctx, &r->c)) > 0)
			(*nrows)++;
		free(ids[i]);
	}
	free(ids);
	return 0;
}

static void sample(struct row *rows, size_t n, bool second)
{
	for (size_t i = 0; i < n; i++) {
		struct err e = { 0 };
		if (rows[i].pid <= 0)
			continue;
		rows[i].ok = runtime_cgroup_stats(rows[i].pid, second ? &rows[i].b : &rows[i].a,
						  &e) == 0;
		if (second)
			net_io(rows[i].pid, &rows[i].net_rx, &rows[i].net_tx);
	}
}

static void print_row(const struct row *r, double wall, bool no_trunc)
{
	char usage[32], limit[32], mem[80], rx[32], tx[32], br[32], bw[32], net[80], blk[80];
	char cpus[24], mems[24];
	double cpu = 0, memp = 0;

	if (!r->ok) {
		printf("%-14.*s %-20s %-8s %-22s %-7s %-16s %-16s %s\n", no_trunc ? 64 : 12,
		       r->c.id, r->c.name, "--", "-- / --", "--", "--", "--", "--");
		return;
	}
	/* Docker's CPU %: CPU time over elapsed time, 100% per core. */
	if (wall > 0 && r->b.cpu_ns >= r->a.cpu_ns)
		cpu = (double)(r->b.cpu_ns - r->a.cpu_ns) / (wall * 1e9) * 100.0;
	if (r->b.mem_limit)
		memp = (double)r->b.mem_usage / (double)r->b.mem_limit * 100.0;
	fmt_bytes(r->b.mem_usage, usage, sizeof(usage));
	fmt_bytes(r->b.mem_limit, limit, sizeof(limit));
	snprintf(mem, sizeof(mem), "%s / %s", usage, limit);
	fmt_size((long long)r->net_rx, rx, sizeof(rx));
	fmt_size((long long)r->net_tx, tx, sizeof(tx));
	snprintf(net, sizeof(net), "%s / %s", rx, tx);
	fmt_size((long long)r->b.blk_read, br, sizeof(br));
	fmt_size((long long)r->b.blk_write, bw, sizeof(bw));
	snprintf(blk, sizeof(blk), "%s / %s", br, bw);
	snprintf(cpus, sizeof(cpus), "%.2f%%", cpu);
	snprintf(mems, sizeof(mems), "%.2f%%", memp);
	printf("%-14.*s %-20s %-8s %-22s %-7s %-16s %-16s %llu\n", no_trunc ? 64 : 12, r->c.id,
	       r->c.name, cpus, mem, mems, net, blk, (unsigned long long)r->b.pids);
}

static void print_table(const struct row *rows, size_t n, double wall, bool no_trunc)
{
	printf("%-14s %-20s %-8s %-22s %-7s %-16s %-16s %s\n", "CONTAINER ID", "NAME", "CPU %",
	       "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS");
	for (size_t i = 0; i < n; i++)
		print_row(&rows[i], wall, no_trunc);
	fflush(stdout);
}

static int stats_once(struct cmd_ctx *ctx, char **names, int n, bool stream, bool no_trunc,
		      struct row *rows)
{
	struct err err = { 0 };
	size_t nrows;
	double t0;

	if (collect(ctx, names, n, rows, &nrows, &err) < 0)
		return cmd_fail_err(&err);
	sample(rows, nrows, false);
	t0 = now_s();
	sleep(1);
	sample(rows, nrows, true);
	if (stream)
		fputs("\033[2J\033[H", stdout); /* clear, as docker does */
	print_table(rows, nrows, now_s() - t0, no_trunc);
	return 0;
}

int cmd_stats(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "no-stream", no_argument, 0, 'n' },
					      { "no-trunc", no_argument, 0, 't' },
					      { "all", no_argument, 0, 'a' },
					      { "help", no_argument, 0, 'h' },
					      { 0, 0, 0, 0 } };
	bool stream = true, no_trunc = false;
	cleanup_free struct row *rows = calloc(MAX_ROWS, sizeof(*rows));
	struct err err = { 0 };
	int c, rc;

	optind = 1;
	while ((c = cmd_getopt(ctx, argc, argv, "ah", opts, false)) != -1) {
		if (c == '?')
			return EXIT_USAGE;
		if (c == 'h')
			return cmd_help(ctx);
		stream &= c != 'n';
		no_trunc |= c == 't';
	}
	if (!rows)
		return cmd_fail("out of memory");
	if (cmd_store(ctx, &err) < 0)
		return cmd_fail_err(&err);
	runtime_cgroup_prune(NULL, NULL);
	do {
		rc = stats_once(ctx, argv + optind, argc - optind, stream, no_trunc, rows);
	} while (rc == 0 && stream);
	return rc;
}
