/* bpf_devices: cgroup v2 has no devices.allow file; device access is
 * decided by a BPF_PROG_TYPE_CGROUP_DEVICE program attached to the cgroup
 * (bpf(2), Documentation/admin-guide/cgroup-v2.rst "Device controller").
 * Like crun's ebpf.c we emit raw instructions, no libbpf: every allow rule
 * is a block that returns 1 on a match; falling off the end returns 0. */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "runtime/cgroup/cgroup.h"
#include "base/banned.h"

/* Registers after the prologue: R2 device type, R3 requested access,
 * R4 major, R5 minor (struct bpf_cgroup_dev_ctx). */
#define INSN(c, d, s, o, i) \
	((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })
#define LDX_W(d, s, o) INSN(BPF_LDX | BPF_MEM | BPF_W, d, s, o, 0)
#define ALU_K(op, d, i) INSN(BPF_ALU64 | (op) | BPF_K, d, 0, 0, i)
#define MOV_R(d, s) INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define JNE_K(d, i, o) INSN(BPF_JMP | BPF_JNE | BPF_K, d, 0, o, i)
#define EXIT() INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

static int access_mask(const char *a)
{
	int m = 0;

	m |= strchr(a, 'm') ? BPF_DEVCG_ACC_MKNOD : 0;
	m |= strchr(a, 'r') ? BPF_DEVCG_ACC_READ : 0;
	m |= strchr(a, 'w') ? BPF_DEVCG_ACC_WRITE : 0;
	return m;
}

/* Instructions of one rule's block. */
static size_t block_len(const struct runtime_device_rule *r)
{
	const int all = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;

	return (r->type != 'a') + (access_mask(r->access) != all ? 3 : 0) + (r->major >= 0) +
	       (r->minor >= 0) + 2;
}

static void emit_block(const struct runtime_device_rule *r, struct bpf_insn *p)
{
	const int all = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;
	int acc = access_mask(r->access);
	short left = (short)block_len(r);
	size_t i = 0;

	/* Each jump skips the rest of the block: left - (its index + 1). */
#define SKIP() ((short)(left - (short)i - 1))
	if (r->type != 'a') {
		p[i] = JNE_K(2, r->type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK, SKIP());
		i++;
	}
	if (acc != all) {
		/* Allowed only if no requested bit is outside the rule's. */
		p[i++] = MOV_R(1, 3);
		p[i++] = ALU_K(BPF_AND, 1, ~acc);
		p[i] = JNE_K(1, 0, SKIP());
		i++;
	}
	if (r->major >= 0) {
		p[i] = JNE_K(4, (int)r->major, SKIP());
		i++;
	}
	if (r->minor >= 0) {
		p[i] = JNE_K(5, (int)r->minor, SKIP());
		i++;
	}
#undef SKIP
	p[i++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 1);
	p[i] = EXIT();
}

int rt_cg_bpf_build(const struct runtime_device_rule *rules, size_t n, void *buf, size_t max)
{
	struct bpf_insn *p = buf;
	size_t len = 7;

	for (size_t i = 0; i < n; i++)
		len += block_len(&rules[i]);
	if (len > max)
		return -1;
	/* access_type is (access << 16) | type. */
	p[0] = LDX_W(2, 1, 0);
	p[1] = ALU_K(BPF_AND, 2, 0xffff);
	p[2] = LDX_W(3, 1, 0);
	p[3] = ALU_K(BPF_RSH, 3, 16);
	p[4] = LDX_W(4, 1, 4);
	p[5] = LDX_W(5, 1, 8);
	len = 6;
	for (size_t i = 0; i < n; i++) {
		emit_block(&rules[i], p + len);
		len += block_len(&rules[i]);
	}
	p[len++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0);
	p[len++] = EXIT();
	return (int)len;
}

static int prog_load(const struct bpf_insn *insns, int n, struct err *err)
{
	char log[4096] = "";
	union bpf_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	attr.insns = (uint64_t)(uintptr_t)insns;
	attr.insn_cnt = (uint32_t)n;
	attr.license = (uint64_t)(uintptr_t) "GPL";
	attr.log_buf = (uint64_t)(uintptr_t)log;
	attr.log_size = sizeof(log);
	attr.log_level = 1;
	fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	if (fd < 0) {
		log[strcspn(log, "\n")] = '\0';
		return err_sys(err, errno, "load the device BPF program%s%s", log[0] ? ": " : "",
			       log);
	}
	return fd;
}

int rt_cg_bpf_attach(const char *dir, const struct runtime_device_rule *rules, size_t n,
		     struct err *err)
{
	struct bpf_insn insns[1024];
	cleanup_close int dir_fd = -1, prog_fd = -1;
	union bpf_attr attr;
	int len = rt_cg_bpf_build(rules, n, insns, sizeof(insns) / sizeof(insns[0]));

	if (len < 0)
		return err_set(err, E2BIG, "too many device rules for the BPF program");
	prog_fd = prog_load(insns, len, err);
	if (prog_fd < 0)
		return -1;
	dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0)
		return err_sys(err, errno, "open cgroup %s", dir);
	memset(&attr, 0, sizeof(attr));
	attr.target_fd = (uint32_t)dir_fd;
	attr.attach_bpf_fd = (uint32_t)prog_fd;
	attr.attach_type = BPF_CGROUP_DEVICE;
	attr.attach_flags = BPF_F_ALLOW_MULTI;
	if (syscall(SYS_bpf, BPF_PROG_ATTACH, &attr, sizeof(attr)) < 0)
		return err_sys(err, errno, "attach the device BPF program to %s", dir);
	return TAKE_FD(prog_fd);
}
