#!/bin/bash
# bench/net.sh: extra start latency of bridge networking over --network none
# (median of N runs of `run --rm busybox true`), for mydocker and, beside it,
# podman's default network on the same image (private --root). Target:
# mydocker's extra < 15 ms.
#
# Env: MYDOCKER, BUSYBOX_TAR, BENCH_DIR, N (default 50).
set -u
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

: "${N:=50}"

# median_ms CMD...: run CMD N times, print the median wall time in ms.
median_ms() {
	local t0 t1 times=()
	for _ in $(seq "$N"); do
		t0=$(bench_now_us)
		"$@" >/dev/null 2>&1 || { echo "fail"; return 1; }
		t1=$(bench_now_us)
		times+=($((t1 - t0)))
	done
	printf '%s\n' "${times[@]}" | sort -n |
		awk '{ a[NR] = $1 } END { printf "%.1f", (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) / 1000 }'
}

row() { # row TOOL NONE BRIDGE
	printf '%-10s %12s %12s %12s\n' "$1" "$2" "$3" \
		"$(awk -v a="$2" -v b="$3" 'BEGIN { if (a + 0 && b + 0) printf "%.1f", b - a; else print "n/a" }')"
}

bench_scratch
MD_STORE=$SCRATCH/mydocker-store
md() { "$MYDOCKER" --root "$MD_STORE" "$@"; }
md import "$BUSYBOX_TAR" busybox:latest >/dev/null || { echo "import failed" >&2; exit 1; }
md run --rm busybox true >/dev/null # first run creates the default network

printf '%-10s %12s %12s %12s\n' tool "none (ms)" "bridge (ms)" "extra (ms)"
row mydocker "$(median_ms md run --rm --network none busybox true)" \
	"$(median_ms md run --rm busybox true)"

if command -v podman >/dev/null; then
	PD=(podman --root "$SCRATCH/podman-root" --runroot "$SCRATCH/podman-run"
		--cgroup-manager cgroupfs --events-backend file)
	# runc and rlimits within our hard limits: podman's crun fails on this
	# host (setrlimit RLIMIT_NOFILE without CAP_SYS_RESOURCE).
	PDR=(--runtime runc --ulimit nofile=1024:1024 --ulimit nproc=4096:4096)
	pd_cleanup() { "${PD[@]}" system reset -f >/dev/null 2>&1 || true; }
	BENCH_CLEANUP_HOOKS+=(pd_cleanup)
	if "${PD[@]}" load -i "$BUSYBOX_TAR" >/dev/null 2>&1 ||
		"${PD[@]}" import "$BUSYBOX_TAR" localhost/busybox:latest >/dev/null 2>&1; then
		img=$("${PD[@]}" images -q | head -n1)
		row podman "$(median_ms "${PD[@]}" run --rm "${PDR[@]}" --network none "$img" true)" \
			"$(median_ms "${PD[@]}" run --rm "${PDR[@]}" "$img" true)"
	else
		row podman n/a n/a
	fi
else
	row podman "not installed" ""
fi
