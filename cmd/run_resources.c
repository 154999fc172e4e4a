/* run_resources: the resource flags of `run` (-m, --cpus, --pids-limit, ...),
 * Docker's names and parsing, their HostConfig form in config.json (as
 * docker inspect shows them) and the way back for a container started
 * again; OOMKilled into state.json. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "cmd/run.h"
#include "storage/container.h"
#include "storage/storage_internal.h"
#include "base/banned.h"

static int parse_int(const char *flag, const char *arg, long long min, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(arg, &end, 10);
	if (errno || end == arg || *end || *out < min)
		return cmd_fail("run: invalid --%s \"%s\": want an integer%s", flag, arg,
				min >= 0 ? " >= 0" : "");
	return 0;
}

/* "64m"; --memory-swap also takes -1 (unlimited). */
static int parse_bytes(const char *flag, const char *arg, bool allow_unlimited, int64_t *out)
{
	long long v;

	if (allow_unlimited && !strcmp(arg, "-1")) {
		*out = -1;
		return 0;
	}
	v = cmd_parse_size(arg);
	if (v < 0)
		return cmd_fail("run: invalid --%s \"%s\": want a size like 64m or 1g", flag, arg);
	*out = v;
	return 0;
}

/* --cpus 1.5 -> NanoCpus, as docker's opts.NanoCPUs. */
static int parse_cpus(const char *arg, int64_t *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || *end || !(v >= 0) || v > 1e6)
		return cmd_fail("run: invalid --cpus \"%s\": want a number like 0.5", arg);
	*out = (int64_t)(v * 1e9 + 0.5); /* rounded, v >= 0 */
	return 0;
}

static int add_rule(struct runtime_resources *r, const char *arg)
{
	struct runtime_device_rule rule, *nv;
	struct err err = { 0 };

	if (runtime_device_rule_parse(arg, &rule, &err) < 0)
		return cmd_fail_err(&err);
	nv = realloc(r->devices, (r->n_devices + 1) * sizeof(*nv));
	if (!nv)
		return cmd_fail("out of memory");
	r->devices = nv;
	r->devices[r->n_devices++] = rule;
	return 0;
}

static int take_number(struct runtime_resources *r, int c, const char *arg)
{
	long long v;
	int64_t *dst;
	const char *flag;
	long long min = 0;

	switch (c) {
	case 'c':
		dst = &r->cpu_shares;
		flag = "cpu-shares";
		break;
	case RUN_OPT_CPU_PERIOD:
		dst = &r->cpu_period;
		flag = "cpu-period";
		break;
	case RUN_OPT_CPU_QUOTA:
		dst = &r->cpu_quota;
		flag = "cpu-quota";
		min = -1;
		break;
	case RUN_OPT_PIDS_LIMIT:
		dst = &r->pids_limit;
		flag = "pids-limit";
		min = -1;
		break;
	case RUN_OPT_BLKIO_WEIGHT:
		dst = &r->blkio_weight;
		flag = "blkio-weight";
		break;
	default: return EXIT_USAGE;
	}
	if (parse_int(flag, arg, min, &v))
		return EXIT_USAGE;
	*dst = v;
	/* Docker: 0 and -1 both mean no pids limit. */
	if (c == RUN_OPT_PIDS_LIMIT && v <= 0)
		*dst = -1;
	return 0;
}

int run_resources_opt(struct runtime_resources *r, int c, const char *arg)
{
	switch (c) {
	case 'm': return parse_bytes("memory", arg, false, &r->memory) ? EXIT_USAGE : 0;
	case RUN_OPT_MEMORY_SWAP:
		return parse_bytes("memory-swap", arg, true, &r->memory_swap) ? EXIT_USAGE : 0;
	case RUN_OPT_MEMORY_RESERVATION:
		return parse_bytes("memory-reservation", arg, false, &r->memory_reservation) ?
			       EXIT_USAGE :
			       0;
	case RUN_OPT_CPUS: return parse_cpus(arg, &r->nano_cpus) ? EXIT_USAGE : 0;
	case RUN_OPT_CPUSET_CPUS: r->cpuset_cpus = (char *)arg; return 0;
	case RUN_OPT_CPUSET_MEMS: r->cpuset_mems = (char *)arg; return 0;
	case RUN_OPT_CGROUP_PARENT: r->cgroup_parent = (char *)arg; return 0;
	case RUN_OPT_DEVICE_CGROUP_RULE: return add_rule(r, arg) ? EXIT_USAGE : 0;
	default: return take_number(r, c, arg);
	}
}

int run_resources_check(const struct runtime_resources *r)
{
	struct err err = { 0 };

	if (runtime_resources_check(r, &err) < 0)
		return cmd_fail_err(&err);
	return 0;
}

void run_resources_release(struct runtime_resources *r)
{
	free(r->devices);
	r->devices = NULL;
	r->n_devices = 0;
}

void run_resources_to_json(const struct runtime_resources *r, json_t *hc)
{
	json_t *rules = json_array();

	json_object_set_new(hc, "Memory", json_integer(r->memory));
	json_object_set_new(hc, "MemorySwap", json_integer(r->memory_swap));
	json_object_set_new(hc, "MemoryReservation", json_integer(r->memory_reservation));
	json_object_set_new(hc, "NanoCpus", json_integer(r->nano_cpus));
	json_object_set_new(hc, "CpuShares", json_integer(r->cpu_shares));
	json_object_set_new(hc, "CpuPeriod", json_integer(r->cpu_period));
	json_object_set_new(hc, "CpuQuota", json_integer(r->cpu_quota));
	json_object_set_new(hc, "CpusetCpus", json_string(r->cpuset_cpus ? r->cpuset_cpus : ""));
	json_object_set_new(hc, "CpusetMems", json_string(r->cpuset_mems ? r->cpuset_mems : ""));
	json_object_set_new(hc, "PidsLimit",
			    r->pids_limit ? json_integer(r->pids_limit) : json_null());
	json_object_set_new(hc, "BlkioWeight", json_integer(r->blkio_weight));
	json_object_set_new(hc, "CgroupParent",
			    json_string(r->cgroup_parent ? r->cgroup_parent : ""));
	for (size_t i = 0; i < r->n_devices; i++) {
		const struct runtime_device_rule *d = &r->devices[i];
		char s[64], maj[24] = "*", min[24] = "*"; /* -1 is "*" */
		if (d->major >= 0)
			snprintf(maj, sizeof(maj), "%lld", (long long)d->major);
		if (d->minor >= 0)
			snprintf(min, sizeof(min), "%lld", (long long)d->minor);
		snprintf(s, sizeof(s), "%c %s:%s %s", d->type, maj, min, d->access);
		json_array_append_new(rules, json_string(s));
	}
	json_object_set_new(hc, "DeviceCgroupRules", rules);
}

static char *str_or_null(json_t *hc, const char *key)
{
	const char *s = json_string_value(json_object_get(hc, key));

	return s && *s ? (char *)s : NULL;
}

int run_resources_from_json(json_t *hc, struct runtime_resources *r, struct err *err)
{
	json_t *rules = json_object_get(hc, "DeviceCgroupRules"), *v;
	size_t i;

	memset(r, 0, sizeof(*r));
	r->memory = json_integer_value(json_object_get(hc, "Memory"));
	r->memory_swap = json_integer_value(json_object_get(hc, "MemorySwap"));
	r->memory_reservation = json_integer_value(json_object_get(hc, "MemoryReservation"));
	r->nano_cpus = json_integer_value(json_object_get(hc, "NanoCpus"));
	r->cpu_shares = json_integer_value(json_object_get(hc, "CpuShares"));
	r->cpu_period = json_integer_value(json_object_get(hc, "CpuPeriod"));
	r->cpu_quota = json_integer_value(json_object_get(hc, "CpuQuota"));
	r->pids_limit = json_integer_value(json_object_get(hc, "PidsLimit"));
	r->blkio_weight = json_integer_value(json_object_get(hc, "BlkioWeight"));
	r->cpuset_cpus = str_or_null(hc, "CpusetCpus");
	r->cpuset_mems = str_or_null(hc, "CpusetMems");
	r->cgroup_parent = str_or_null(hc, "CgroupParent");
	if (json_array_size(rules)) {
		r->devices = calloc(json_array_size(rules), sizeof(*r->devices));
		if (!r->devices)
			return err_set(err, ENOMEM, "out of memory");
	}
	json_array_foreach (rules, i, v) {
		if (runtime_device_rule_parse(json_string_value(v) ? json_string_value(v) : "",
					      &r->devices[r->n_devices], err) < 0)
			return -1;
		r->n_devices++;
	}
	return 0;
}

void run_resources_record_oom(struct cmd_ctx *ctx, const struct storage_container *c,
			      bool oom_killed)
{
	char rel[PATH_MAX];
	struct err e = { 0 };
	json_t *st;

	snprintf(rel, sizeof(rel), "containers/%s/state.json", c->id);
	st = storage_json_read(&ctx->store, rel, &e);
	if (!st)
		return;
	json_object_set_new(st, "OOMKilled", json_boolean(oom_killed));
	if (storage_container_set_state(&ctx->store, c, st, &e) < 0)
		log_warn("%s", e.msg);
	json_decref(st);
}
