/* caps: capability sets (Docker's defaults, --cap-add/--cap-drop), rlimits,
 * and the order in which the child drops privileges before exec. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>
#include <grp.h>

#include "runtime/internal.h"
#include "base/banned.h" /* last: after every system header */

/* Index = capability number (linux/capability.h), names without "CAP_". */
static const char *const cap_names[] = {
	"CHOWN",
	"DAC_OVERRIDE",
	"DAC_READ_SEARCH",
	"FOWNER",
	"FSETID",
	"KILL",
	"SETGID",
	"SETUID",
	"SETPCAP",
	"LINUX_IMMUTABLE",
	"NET_BIND_SERVICE",
	"NET_BROADCAST",
	"NET_ADMIN",
	"NET_RAW",
	"IPC_LOCK",
	"IPC_OWNER",
	"SYS_MODULE",
	"SYS_RAWIO",
	"SYS_CHROOT",
	"SYS_PTRACE",
	"SYS_PACCT",
	"SYS_ADMIN",
	"SYS_BOOT",
	"SYS_NICE",
	"SYS_RESOURCE",
	"SYS_TIME",
	"SYS_TTY_CONFIG",
	"MKNOD",
	"LEASE",
	"AUDIT_WRITE",
	"AUDIT_CONTROL",
	"SETFCAP",
	"MAC_OVERRIDE",
	"MAC_ADMIN",
	"SYSLOG",
	"WAKE_ALARM",
	"BLOCK_SUSPEND",
	"AUDIT_READ",
	"PERFMON",
	"BPF",
	"CHECKPOINT_RESTORE",
};
#define N_CAP_NAMES ((int)(sizeof(cap_names) / sizeof(cap_names[0])))

#define BIT(n) (UINT64_C(1) << (n))

/* moby's oci/caps DefaultCapabilities(), also the OCI runtime-spec default. */
uint64_t rt_caps_default(void)
{
	return BIT(CAP_CHOWN) | BIT(CAP_DAC_OVERRIDE) | BIT(CAP_FSETID) | BIT(CAP_FOWNER) |
	       BIT(CAP_MKNOD) | BIT(CAP_NET_RAW) | BIT(CAP_SETGID) | BIT(CAP_SETUID) |
	       BIT(CAP_SETFCAP) | BIT(CAP_SETPCAP) | BIT(CAP_NET_BIND_SERVICE) |
	       BIT(CAP_SYS_CHROOT) | BIT(CAP_KILL) | BIT(CAP_AUDIT_WRITE);
}

int rt_cap_from_name(const char *name)
{
	if (strncasecmp(name, "CAP_", 4) == 0)
		name += 4;
	for (int i = 0; i < N_CAP_NAMES; i++)
		if (strcasecmp(name, cap_names[i]) == 0)
			return i;
	return -1;
}

static bool is_all(const char *name)
{
	return strcasecmp(name, "ALL") == 0;
}

int runtime_cap_valid(const char *name)
{
	return (is_all(name) || rt_cap_from_name(name) >= 0) ? 0 : -1;
}

/* The highest capability this kernel knows. /proc/sys/kernel/cap_last_cap
 * is the documented source (capabilities(7)); libcap's probe is the
 * fallback when /proc is not mounted. */
static int kernel_last_cap(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int last = -1;

	if (f) {
		if (fscanf(f, "%d", &last) != 1)
			last = -1;
		fclose(f);
	}
	if (last < 0 || last > 63)
		last = (int)cap_max_bits() - 1;
	return last < 0 ? CAP_LAST_CAP : last;
}

static uint64_t kernel_all_caps(void)
{
	int last = kernel_last_cap();
	return last >= 63 ? UINT64_MAX : BIT(last + 1) - 1;
}

/* Parse a --cap-add/--cap-drop list into a mask; *all is set by "ALL".
 * Unknown names are rejected with Docker's message, normalised to CAP_X. */
static int caps_mask(char *const *names, uint64_t *mask, bool *all, struct err *err)
{
	*mask = 0;
	*all = false;
	for (size_t i = 0; names && names[i]; i++) {
		const char *n = names[i];
		int cap;

		if (is_all(n)) {
			*all = true;
			continue;
		}
		cap = rt_cap_from_name(n);
		if (cap < 0) {
			char up[64];
			size_t j, off = strncasecmp(n, "CAP_", 4) == 0 ? 4 : 0;
			for (j = 0; n[off + j] && j < sizeof(up) - 1; j++)
				up[j] = (char)toupper((unsigned char)n[off + j]);
			up[j] = '\0';
			return err_set(err, EINVAL, "unknown capability: \"CAP_%s\"", up);
		}
		*mask |= BIT(cap);
	}
	return 0;
}

/* moby's TweakCapabilities: privileged -> all; --cap-add ALL -> all but the
 * drops; --cap-drop ALL -> only the adds; else (defaults - drops) + adds. */
static int caps_compute(const struct runtime_spec *spec, uint64_t *out, struct err *err)
{
	uint64_t all = kernel_all_caps(), add, drop;
	bool add_all, drop_all;

	if (spec->privileged) {
		*out = all;
		return 0;
	}
	if (caps_mask(spec->cap_add, &add, &add_all, err) < 0 ||
	    caps_mask(spec->cap_drop, &drop, &drop_all, err) < 0)
		return -1;
	if (add_all)
		*out = all & ~drop;
	else if (drop_all)
		*out = add;
	else
		*out = (rt_caps_default() & ~drop) | add;
	/* A capability newer than the kernel cannot be set (capset EINVAL). */
	*out &= all;
	return 0;
}

int rt_security_prepare(const struct runtime_spec *spec, struct rt_security *sec, struct err *err)
{
	uint64_t caps;

	memset(sec, 0, sizeof(*sec));
	if (caps_compute(spec, &caps, err) < 0)
		return -1;
	sec->bounding = caps;
	sec->effective = caps;
	sec->no_new_privs = spec->no_new_privs;
	/* The filter is compiled here, in the parent, so the child only has
	 * to hand a ready BPF program to the kernel. */
	if (spec->seccomp && !spec->privileged)
		return rt_seccomp_get(caps, spec->cache_dir, &sec->seccomp_bpf, err);
	return 0;
}

void rt_security_release(struct rt_security *sec)
{
	rt_seccomp_free(sec->seccomp_bpf);
	sec->seccomp_bpf = NULL;
}

/* PR_CAPBSET_DROP needs CAP_SETPCAP, so this runs while still full root.
 * PR_CAPBSET_READ answers EINVAL past the kernel's last capability, which
 * avoids reading /proc from inside the container. */
static int drop_bounding(uint64_t keep, struct err *err)
{
	for (int cap = 0; cap < 64; cap++) {
		if (prctl(PR_CAPBSET_READ, (unsigned long)cap, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				break;
			return err_sys(err, errno, "read bounding capability %d", cap);
		}
		if (keep & BIT(cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, (unsigned long)cap, 0, 0, 0) < 0)
			return err_sys(err, errno, "drop bounding capability %d", cap);
	}
	return 0;
}

/* setgroups before setgid before setuid: each needs the privilege the next
 * one gives up. KEEPCAPS only matters when staying root; for another uid
 * the kernel clearing the permitted set at setuid is what we want. */
static int switch_user(uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups, struct err *err)
{
	if (setgroups(n_groups, groups) < 0)
		return err_sys(err, errno, "setgroups");
	if (setgid(gid) < 0)
		return err_sys(err, errno, "setgid %u", (unsigned)gid);
	if (uid == 0 && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return err_sys(err, errno, "prctl PR_SET_KEEPCAPS");
	if (setuid(uid) < 0)
		return err_sys(err, errno, "setuid %u", (unsigned)uid);
	if (uid == 0 && prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return err_sys(err, errno, "prctl PR_SET_KEEPCAPS");
	return 0;
}

/* Raw capget/capset(2) (v3, 64 bits) rather than cap_set_proc: no
 * allocation in the child. Only what we hold can be granted: mydocker may
 * itself run with a reduced set (--privileged then means "everything we
 * have", as with runc inside a restricted parent). Inheritable stays empty,
 * so nothing leaks through exec into file capabilities (CVE-2022-24769). */
static int set_caps(uint64_t mask, struct err *err)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	uint64_t held;

	memset(data, 0, sizeof(data));
	if (capget(&hdr, data) < 0)
		return err_sys(err, errno, "capget");
	held = (uint64_t)data[1].permitted << 32 | data[0].permitted;
	mask &= held;
	memset(data, 0, sizeof(data));
	for (int i = 0; i < 2; i++) {
		data[i].effective = (uint32_t)(mask >> (32 * i));
		data[i].permitted = data[i].effective;
	}
	if (capset(&hdr, data) < 0)
		return err_sys(err, errno, "capset");
	return 0;
}

int rt_security_apply(const struct rt_security *sec, uid_t uid, gid_t gid, const gid_t *groups,
		      size_t n_groups, struct err *err)
{
	/* Without no_new_privs the kernel requires CAP_SYS_ADMIN to install a
	 * filter (seccomp(2)), which we only hold until the drops below. */
	if (sec->seccomp_bpf && !sec->no_new_privs && rt_seccomp_load(sec->seccomp_bpf, err) < 0)
		return -1;
	if (drop_bounding(sec->bounding, err) < 0 ||
	    switch_user(uid, gid, groups, n_groups, err) < 0)
		return -1;
	/* A non-root user gets empty effective/permitted sets, as in Docker
	 * since CVE-2022-24769: it gains caps only through setuid/file caps
	 * within the bounding set. */
	if (set_caps(uid == 0 ? sec->effective : 0, err) < 0)
		return -1;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return err_sys(err, errno, "clear ambient capabilities");
	if (sec->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return err_sys(err, errno, "prctl PR_SET_NO_NEW_PRIVS");
	/* With no_new_privs the filter goes last so it constrains as little
	 * of our own set-up as possible. */
	if (sec->seccomp_bpf && sec->no_new_privs && rt_seccomp_load(sec->seccomp_bpf, err) < 0)
		return -1;
	return 0;
}

/* ---- rlimits ---------------------------------------------------------- */

static const char *const rlimit_names[] = {
	[RLIMIT_CPU] = "RLIMIT_CPU",           [RLIMIT_FSIZE] = "RLIMIT_FSIZE",
	[RLIMIT_DATA] = "RLIMIT_DATA",         [RLIMIT_STACK] = "RLIMIT_STACK",
	[RLIMIT_CORE] = "RLIMIT_CORE",         [RLIMIT_RSS] = "RLIMIT_RSS",
	[RLIMIT_NPROC] = "RLIMIT_NPROC",       [RLIMIT_NOFILE] = "RLIMIT_NOFILE",
	[RLIMIT_MEMLOCK] = "RLIMIT_MEMLOCK",   [RLIMIT_AS] = "RLIMIT_AS",
	[RLIMIT_LOCKS] = "RLIMIT_LOCKS",       [RLIMIT_SIGPENDING] = "RLIMIT_SIGPENDING",
	[RLIMIT_MSGQUEUE] = "RLIMIT_MSGQUEUE", [RLIMIT_NICE] = "RLIMIT_NICE",
	[RLIMIT_RTPRIO] = "RLIMIT_RTPRIO",     [RLIMIT_RTTIME] = "RLIMIT_RTTIME",
};

static const char *rlimit_name(int res, char *buf, size_t len)
{
	if (res >= 0 && (size_t)res < sizeof(rlimit_names) / sizeof(rlimit_names[0]) &&
	    rlimit_names[res])
		return rlimit_names[res];
	snprintf(buf, len, "resource %d", res);
	return buf;
}

/* Docker sets nothing by default: the container inherits the engine's own
 * limits. Raising a hard limit needs CAP_SYS_RESOURCE, which the default
 * set lacks, so say so instead of a bare EPERM. */
static int rlimit_apply_one(const struct runtime_rlimit *rl, struct err *err)
{
	struct rlimit r = { .rlim_cur = rl->soft, .rlim_max = rl->hard };
	char buf[32];
	const char *name = rlimit_name(rl->resource, buf, sizeof(buf));

	if (rl->soft > rl->hard)
		return err_set(err, EINVAL, "setrlimit %s: soft limit %llu exceeds hard limit %llu",
			       name, (unsigned long long)rl->soft, (unsigned long long)rl->hard);
	if (prlimit(0, rl->resource, &r, NULL) == 0)
		return 0;
	if (errno == EPERM) {
		struct rlimit cur;
		if (getrlimit(rl->resource, &cur) == 0)
			return err_set(err, EPERM,
				       "setrlimit %s: %s (hard limit %llu is above the current "
				       "%llu; raising it needs CAP_SYS_RESOURCE)",
				       name, strerror(EPERM), (unsigned long long)rl->hard,
				       (unsigned long long)cur.rlim_max);
	}
	return err_sys(err, errno, "setrlimit %s", name);
}

int rt_rlimits_apply(const struct runtime_spec *spec, struct err *err)
{
	for (size_t i = 0; i < spec->n_rlimits; i++)
		if (rlimit_apply_one(&spec->rlimits[i], err) < 0)
			return -1;
	return 0;
}
