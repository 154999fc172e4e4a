#!/bin/bash
# bench/run_latency.sh: start-to-exit latency of `true` in the busybox
# image: mydocker run --rm beside crun and runc on an OCI bundle of the same
# rootfs and podman run --rm of the same image. Median and p95 in ms.
#
# Env: MYDOCKER, BUSYBOX_TAR, BENCH_DIR, N (runs per tool, default 50),
# BENCH_NO_INSTALL=1 (do not apt-get install missing peers).
set -u

# crun 1.8 refuses a hybrid host whose v2 hierarchy holds a controller (here
# hugetlb). Measure every tool in a private mount namespace without that v2
# mount: the host's own mounts stay untouched, and all tools see the same
# cgroup v1 layout.
if [ -z "${MYDOCKER_BENCH_PRIVNS:-}" ] && [ "$(id -u)" = 0 ] &&
	[ -n "$(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null)" ] &&
	command -v unshare >/dev/null; then
	exec env MYDOCKER_BENCH_PRIVNS=1 unshare -m --propagation private bash "$0" "$@"
fi
if [ -n "${MYDOCKER_BENCH_PRIVNS:-}" ]; then
	umount /sys/fs/cgroup/unified 2>/dev/null &&
		echo "# measured in a private mount namespace without /sys/fs/cgroup/unified (for crun)"
fi

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

: "${N:=50}"
TOOLS=(mydocker crun runc podman)
declare -A NOTE CMD_OK HINT

# ---- per-tool set-up: each defines run_<tool> ID, or sets NOTE[tool] ----

setup_mydocker() {
	MD_STORE=$SCRATCH/mydocker-store
	MD_NET=()
	bench_have_mydocker || { NOTE[mydocker]="no binary (make)"; return 1; }
	# --network none is the default; pass it only where the flag exists.
	"$MYDOCKER" run --help 2>/dev/null | grep -q -- '--network' && MD_NET=(--network none)
	"$MYDOCKER" --root "$MD_STORE" import "$BUSYBOX_TAR" busybox:latest >/dev/null \
		2>"$SCRATCH/err" || { NOTE[mydocker]="import: $(head -n1 "$SCRATCH/err")"; return 1; }
	NOTE[mydocker]="run --rm ${MD_NET[*]}"
}
run_mydocker() {
	"$MYDOCKER" --root "$MD_STORE" run --rm "${MD_NET[@]}" busybox true
}

# One bundle for crun and runc: runc's default spec (namespaces, masked
# paths, caps, cgroups) with the busybox rootfs and `true` as the process.
make_bundle() {
	BUNDLE=$SCRATCH/bundle
	[ -f "$BUNDLE/config.json" ] && return 0
	mkdir -p "$BUNDLE/rootfs"
	tar -xpf "$BUSYBOX_TAR" -C "$BUNDLE/rootfs" --numeric-owner || return 1
	runc spec --bundle "$BUNDLE" || return 1
	sed -i -e 's/"terminal": true/"terminal": false/' \
		-e 's/^\([[:space:]]*\)"sh"$/\1"true"/' "$BUNDLE/config.json"
	grep -q '^[[:space:]]*"true"$' "$BUNDLE/config.json"
}

setup_oci() {
	local rt=$1
	command -v "$rt" >/dev/null || { NOTE[$rt]="not installed"; return 1; }
	if ! command -v runc >/dev/null || ! make_bundle; then
		NOTE[$rt]="no bundle (needs runc spec)"
		return 1
	fi
	NOTE[$rt]="$rt run, bundle from runc spec"
}
setup_runc() { setup_oci runc; }
setup_crun() {
	setup_oci crun || return 1
	# Outside the private namespace above (not root, no unshare), crun 1.8
	# still refuses hybrid cgroups: report why.
	# (cgroupfs files report size 0: read, do not test -s.)
	local v2
	v2=$(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null)
	[ -n "$v2" ] && HINT[crun]="hybrid cgroups: v2 at /sys/fs/cgroup/unified holds $v2"
	return 0
}
run_oci() {
	local rt=$1 id=mydocker-bench-$1-$2
	"$rt" --root "$SCRATCH/$rt-state" run --bundle "$BUNDLE" "$id"
	local rc=$?
	"$rt" --root "$SCRATCH/$rt-state" delete -f "$id" >/dev/null 2>&1
	return $rc
}
run_runc() { run_oci runc "$1"; }
run_crun() { run_oci crun "$1"; }

# A private podman store; cgroupfs and file events so no systemd or
# journald is needed; cgroups under /mydocker-bench (removed at the end).
# Rlimits as in the runc bundle: podman's default (nofile 1048576) needs
# CAP_SYS_RESOURCE, which a confined root may lack.
setup_podman() {
	command -v podman >/dev/null || { NOTE[podman]="not installed"; return 1; }
	PODMAN=(podman --root "$SCRATCH/podman/root" --runroot "$SCRATCH/podman/run"
		--tmpdir "$SCRATCH/podman/tmp" --cgroup-manager cgroupfs
		--events-backend file --storage-driver overlay)
	PODMAN_RUN=(--rm --network none --cgroup-parent /mydocker-bench
		--ulimit nofile=1024:1024 --ulimit nproc=4096:4096)
	# podman's default runtime is crun; use runc when crun cannot run here.
	[ -n "${CMD_OK[crun]:-}" ] || PODMAN_RUN+=(--runtime runc)
	"${PODMAN[@]}" import "$BUSYBOX_TAR" mydocker-bench-busybox >/dev/null 2>"$SCRATCH/err" ||
		{ NOTE[podman]="import: $(tail -n1 "$SCRATCH/err")"; return 1; }
	NOTE[podman]="run --rm --network none${CMD_OK[crun]:+ (crun)}"
	[ -n "${CMD_OK[crun]:-}" ] || NOTE[podman]+=" (runtime runc)"
}
run_podman() {
	"${PODMAN[@]}" run "${PODMAN_RUN[@]}" mydocker-bench-busybox true
}

cleanup_cgroups() {
	local d
	for d in /sys/fs/cgroup/*/mydocker-bench*; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	return 0
}

# ---- measurement --------------------------------------------------------

# Set up each tool and do one warm-up run; a failure makes it n/a with the
# first line of its error as the reason.
prepare() {
	local t
	for t in "${TOOLS[@]}"; do
		if ! "setup_$t" 2>"$SCRATCH/err"; then
			NOTE[$t]="n/a: ${NOTE[$t]:-$(head -n1 "$SCRATCH/err")}"
			continue
		fi
		if "run_$t" 0 >/dev/null 2>"$SCRATCH/err" </dev/null; then
			CMD_OK[$t]=1
		else
			NOTE[$t]="n/a: $(grep -v '^$' "$SCRATCH/err" | head -n1 | cut -c1-100)"
			[ -n "${HINT[$t]:-}" ] && NOTE[$t]+=" (${HINT[$t]})"
		fi
	done
}

# Interleave the tools run by run so drift (page cache, CPU frequency) hits
# all of them alike.
measure() {
	local i t t0 t1
	for ((i = 1; i <= N; i++)); do
		for t in "${TOOLS[@]}"; do
			[ -n "${CMD_OK[$t]:-}" ] || continue
			t0=$(bench_now_us)
			if "run_$t" "$i" >/dev/null 2>"$SCRATCH/err" </dev/null; then
				t1=$(bench_now_us)
				echo $((t1 - t0)) >>"$SCRATCH/t.$t"
			else
				echo "x" >>"$SCRATCH/fail.$t"
			fi
		done
	done
}

report() {
	local t med p95 fails
	declare -A MED
	echo
	echo "run latency: \`true\` in busybox, $N runs per tool, ms (wall clock, fork to exit)"
	printf '%-10s %9s %9s %6s  %s\n' tool median p95 fails notes
	for t in "${TOOLS[@]}"; do
		med=n/a p95=n/a
		[ -s "$SCRATCH/t.$t" ] && read -r med p95 < <(bench_stats "$SCRATCH/t.$t" 1000)
		fails=0
		[ -f "$SCRATCH/fail.$t" ] && fails=$(wc -l <"$SCRATCH/fail.$t")
		MED[$t]=$med
		printf '%-10s %9s %9s %6s  %s\n' "$t" "$med" "$p95" "$fails" "${NOTE[$t]:-}"
	done
	printf 'ratios (median): mydocker/crun %s, mydocker/runc %s, podman/mydocker %s\n' \
		"$(bench_ratio "${MED[mydocker]}" "${MED[crun]}")" \
		"$(bench_ratio "${MED[mydocker]}" "${MED[runc]}")" \
		"$(bench_ratio "${MED[podman]}" "${MED[mydocker]}")"
}

main() {
	bench_scratch
	BENCH_CLEANUP_HOOKS+=(cleanup_cgroups)
	[ -f "$BUSYBOX_TAR" ] || { echo "run latency: n/a (no $BUSYBOX_TAR: make testdata/busybox.tar)"; return 0; }
	bench_need_pkgs runc crun podman || true
	prepare
	measure
	report
}

main "$@"
