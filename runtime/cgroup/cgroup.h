/* cgroup: the container's control group, private to runtime/. One ops table
 * per backend (v1: one hierarchy per controller group; v2: the unified
 * hierarchy); a hybrid host uses v1 for its controllers and joins the v2
 * hierarchy only on a best-effort basis (it may hold hugetlb or nothing).
 *
 * Lifecycle, driven by runtime/run.c:
 *   rt_cgroup_setup   parent, before clone: detect, mkdir, write the limits
 *   rt_cgroup_join    parent, between clone and releasing the child
 *   rt_cgroup_mount   child, before pivot_root: /sys/fs/cgroup read-only
 *   rt_cgroup_finish  parent, after the container's init was reaped:
 *                     OOM kills -> result, then remove the directories */
#ifndef MYDOCKER_RUNTIME_CGROUP_H
#define MYDOCKER_RUNTIME_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"
#include "runtime/runtime.h"

#define RT_CG_DEFAULT_PARENT "mydocker"
#define RT_CG_MAX_HIER 16
#define RT_CG_PATH 256

enum rt_cg_mode {
	RT_CG_NONE,
	RT_CG_V1,
	RT_CG_V2,
	RT_CG_HYBRID
};

struct rt_cg_hier {
	char mount[RT_CG_PATH]; /* host mount point, e.g. /sys/fs/cgroup/memory */
	char opts[128];         /* its controllers: "cpu,cpuacct", "name=systemd" */
};

/* Where the hierarchies are, as found at run time (never assumed). */
struct rt_cg_layout {
	enum rt_cg_mode mode;
	char unified[RT_CG_PATH]; /* the cgroup2 mount; "" if none */
	struct rt_cg_hier v1[RT_CG_MAX_HIER];
	size_t n_v1;
};

/* ---- detect.c ------------------------------------------------------------ */
/* statfs(2) of /sys/fs/cgroup (CGROUP2_SUPER_MAGIC: pure v2), then every
 * cgroup/cgroup2 line of /proc/self/mountinfo whose mount point really is
 * one (statfs magic again), cross-checked with /proc/self/cgroup. */
int rt_cg_detect(struct rt_cg_layout *l, struct err *err) WUR;
/* The same from given files, without the statfs checks (unit tests). */
int rt_cg_detect_from(const char *mountinfo, const char *self_cgroup, bool check_magic,
		      struct rt_cg_layout *l, struct err *err) WUR;
/* Index of the v1 hierarchy holding controller ("memory"), or -1. */
int rt_cg_v1_find(const struct rt_cg_layout *l, const char *controller);

/* ---- convert.c: Docker's values -> the kernel's files -------------------- */
/* runc: cpu.shares [2..262144] -> cpu.weight [1..10000]; 0 -> 0 (unset). */
uint64_t rt_cg_shares_to_weight(uint64_t shares);
/* runc: blkio.weight [10..1000] -> io.weight [1..10000]; 0 -> 0. */
uint64_t rt_cg_blkio_to_io_weight(uint64_t weight);
/* --cpus x 1e9 -> quota for period 100000 (Docker's NanoCPUs). */
int64_t rt_cg_nano_cpus_to_quota(int64_t nano_cpus, int64_t period);
/* runc: memory+swap -> memory.swap.max. *out: -1 "max", 0 not set, else
 * bytes of swap alone. */
int rt_cg_swap_v2(int64_t memory, int64_t memory_swap, int64_t *out, struct err *err) WUR;
/* Docker's daemon defaults: swap = 2 x memory when only -m is given,
 * period/quota from --cpus. r is copied in, the result written to out. */
void rt_cg_resources_effective(const struct runtime_resources *r, struct runtime_resources *out);
/* "123", "max" for limits <= -1 ... into buf. */
void rt_cg_limit_str(int64_t v, char *buf, size_t len);
/* "c 1:3 rwm" for v1's devices.allow. */
void rt_cg_rule_str(const struct runtime_device_rule *r, char *buf, size_t len);

/* Docker's default device allow-list (after denying everything). */
extern const struct runtime_device_rule rt_cg_default_devices[];
extern const size_t rt_cg_n_default_devices;

/* ---- files.c: small file helpers shared by the backends ----------------- */
/* Write value to dir/file (O_WRONLY|O_TRUNC, no O_CREAT: a missing control
 * file means the kernel lacks the feature). 0 or -1 with err. */
int rt_cg_write(const char *dir, const char *file, const char *value, struct err *err) WUR;
/* Read dir/file into buf (NUL-terminated, trailing newline kept). */
int rt_cg_read(const char *dir, const char *file, char *buf, size_t len);
/* The value of "key N" in a flat-keyed file (memory.events, cpu.stat). */
int rt_cg_read_key(const char *dir, const char *file, const char *key, uint64_t *val);
bool rt_cg_exists(const char *dir, const char *file);
/* mkdir; EEXIST is fine (a leftover of ours with the same name). */
int rt_cg_mkdir(const char *path, struct err *err) WUR;
/* SIGKILL every pid of dir/cgroup.procs; returns how many there were. */
int rt_cg_kill_procs(const char *dir);
/* rmdir, retrying (and killing what is left) while the cgroup is busy with
 * dying processes. ENOENT is success. */
int rt_cg_rmdir(const char *path, struct err *err) WUR;
/* After removing leaf: rmdir its parent if that is our default "mydocker"
 * parent and now empty (best effort; creators retry on ENOENT). */
void rt_cg_remove_parent(const char *leaf);
/* Seconds since path was created (its ctime), or -1. */
long rt_cg_age(const char *path);
/* runtime_cgroup_prune's throttle: true (and <stamp_dir>/cgroup-prune
 * stamped with now) unless the stamp is less than RT_CG_PRUNE_INTERVAL
 * seconds old; true without stamp_dir. */
#define RT_CG_PRUNE_INTERVAL 5
bool rt_cg_prune_due(const char *stamp_dir, time_t now);

/* ---- backends ------------------------------------------------------------ */
struct rt_cgroup;

struct rt_cg_ops {
	const char *name;
	/* mkdir the parent chain and the leaf (enabling controllers on v2). */
	int (*create)(struct rt_cgroup *cg, struct err *err);
	/* Write the limits into the leaf. */
	int (*set)(struct rt_cgroup *cg, const struct runtime_resources *r, struct err *err);
	int (*join)(struct rt_cgroup *cg, pid_t pid, struct err *err);
	/* OOM kills counted in the leaf so far. */
	uint64_t (*oom_kills)(struct rt_cgroup *cg);
	/* Kill what is left and rmdir every directory create made. */
	int (*destroy)(struct rt_cgroup *cg, struct err *err);
};

extern const struct rt_cg_ops rt_cg_v1_ops;
extern const struct rt_cg_ops rt_cg_v2_ops;

struct rt_cgroup {
	const struct rt_cg_ops *ops;
	struct rt_cg_layout layout;
	char parent[RT_CG_PATH];   /* "mydocker", relative, no leading '/' */
	char rel[RT_CG_PATH];      /* "mydocker/<name>" */
	bool made[RT_CG_MAX_HIER]; /* v1: leaf created in layout.v1[i] */
	bool made_unified;         /* leaf created in layout.unified */
	bool privileged;           /* every device allowed */
	int bpf_fd;                /* v2: the attached device program, or -1 */
	bool active;
};

/* Path of the leaf below hierarchy mount m: "<m>/<rel>". */
int rt_cg_leaf(const struct rt_cgroup *cg, const char *mount, char *buf, size_t len);
/* Init cg for parent/name on layout (no file-system change). */
int rt_cg_init(struct rt_cgroup *cg, const struct rt_cg_layout *l, const char *parent,
	       const char *name, struct err *err) WUR;

/* v2 pieces the unit tests drive on a temporary directory. */
int rt_cg_v2_enable(const char *dir, struct err *err) WUR;
int rt_cg_v2_set(const char *leaf, const struct runtime_resources *r, struct err *err) WUR;
/* v1 limits into the leaves of cg (unit tests use a fake layout too). */
int rt_cg_v1_set(struct rt_cgroup *cg, const struct runtime_resources *r, struct err *err) WUR;

/* ---- bpf_devices.c: v2 device control (as crun) --------------------------- */
/* Build the BPF_PROG_TYPE_CGROUP_DEVICE program allowing rules (everything
 * else denied) into insns (struct bpf_insn[], max entries); returns the
 * instruction count or -1 if it does not fit. */
int rt_cg_bpf_build(const struct runtime_device_rule *rules, size_t n, void *insns, size_t max);
/* Load the program for rules and attach it to the cgroup directory.
 * Returns the program fd (keep it until the cgroup is gone) or -1. */
int rt_cg_bpf_attach(const char *dir, const struct runtime_device_rule *rules, size_t n,
		     struct err *err) WUR;

/* ---- manager.c --------------------------------------------------------- */
int rt_cgroup_setup(struct rt_cgroup *cg, const struct runtime_spec *spec, struct err *err) WUR;
int rt_cgroup_join(struct rt_cgroup *cg, pid_t pid, struct err *err) WUR;
void rt_cgroup_finish(struct rt_cgroup *cg, struct runtime_result *res);

/* runtime_run/runtime_start use the spec's own hook slot: out is a copy of
 * spec whose on_created joins cg first, then calls the caller's hook. */
struct rt_cg_hook {
	struct rt_cgroup *cg;
	int (*next)(pid_t pid, void *data, struct err *err);
	void *next_data;
};
void rt_cgroup_hook(struct rt_cgroup *cg, const struct runtime_spec *spec, struct runtime_spec *out,
		    struct rt_cg_hook *h);

/* ---- mount.c: in the child, after unshare(CLONE_NEWCGROUP) ---------------- */
/* /sys/fs/cgroup beneath root_fd: cgroup2 (v2) or a tmpfs holding one
 * cgroup mount per v1 hierarchy, each showing the container's own cgroup
 * as its root; read-only unless privileged. */
int rt_cgroup_mount(const struct runtime_spec *spec, int root_fd, struct err *err) WUR;

/* ---- stats.c -------------------------------------------------------------- */
/* The cgroup paths of pid (from /proc/<pid>/cgroup) read into st. */
int rt_cg_stats_read(const struct rt_cg_layout *l, const char *proc_cgroup,
		     struct runtime_cgroup_stats *st, struct err *err) WUR;

#endif
