# shellcheck shell=bash
# bench/lib.sh: helpers shared by the benchmark scripts (sourced, bash).
# Everything a benchmark creates lives under one scratch dir whose name
# contains "mydocker"; bench_cleanup unmounts and removes it on any exit.

: "${MYDOCKER:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build/mydocker}"
: "${BUSYBOX_TAR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/testdata/busybox.tar}"
: "${BENCH_DIR:=/var/tmp/mydocker-bench}"
export LC_ALL=C

bench_log() { echo "# $*" >&2; }

# A fresh scratch dir for this script's run, removed by bench_cleanup.
bench_scratch() {
	mkdir -p "$BENCH_DIR"
	SCRATCH=$(mktemp -d "$BENCH_DIR/run.XXXXXX")
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
}

# Unmount everything below a dir (deepest first), then remove it.
bench_rm_tree() {
	local d=$1 m
	[ -n "$d" ] && [ -d "$d" ] || return 0
	awk -v p="$d/" 'index($2, p) == 1 { print $2 }' /proc/self/mounts | sort -r |
		while IFS= read -r m; do umount -l "$m" 2>/dev/null || true; done
	rm -rf "$d"
}

# shellcheck source=tests/lib/hostnet.sh
. "$(dirname "${BASH_SOURCE[0]}")/../tests/lib/hostnet.sh"

bench_cleanup() {
	local f
	for f in "${BENCH_CLEANUP_HOOKS[@]:-}"; do [ -n "$f" ] && "$f"; done
	bench_rm_tree "${SCRATCH:-}"
	release_host_network
}
BENCH_CLEANUP_HOOKS=()

# Wall clock in microseconds without a fork (bash 5's EPOCHREALTIME).
bench_now_us() {
	if [ -n "${EPOCHREALTIME:-}" ]; then
		local t=${EPOCHREALTIME/[.,]/}
		echo "$((10#$t))"
	else
		echo $(($(date +%s%N) / 1000))
	fi
}

# Flush dirty pages, then drop the page cache so each run reads from disk.
bench_drop_caches() {
	sync
	if [ -w /proc/sys/vm/drop_caches ]; then
		echo 1 >/proc/sys/vm/drop_caches
	elif [ -z "${BENCH_WARNED_CACHE:-}" ]; then
		bench_log "cannot drop caches (not root): runs are cache-warm"
		BENCH_WARNED_CACHE=1
	fi
}

# Median and p95 (nearest rank) of the numbers in a file, one per line:
# prints "MEDIAN P95" with the input's unit divided by $2 (default 1000).
bench_stats() {
	sort -n "$1" | awk -v div="${2:-1000}" '
		{ v[NR] = $1 }
		END {
			if (NR == 0) { print "n/a n/a"; exit }
			med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			r = int(0.95 * NR); if (r < 0.95 * NR) r++; if (r < 1) r = 1
			printf "%.2f %.2f\n", med / div, v[r] / div
		}'
}

# a/b with two decimals, or n/a when either is missing.
bench_ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "n/a" || b == "n/a" || a == "" || b == "" || b + 0 == 0) print "n/a"
		else printf "%.2f\n", a / b }'
}

# Install Debian packages that are missing (benchmark peers only).
bench_need_pkgs() {
	local p missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ "${#missing[@]}" -eq 0 ] && return 0
	if [ "$(id -u)" != 0 ] || [ -n "${BENCH_NO_INSTALL:-}" ]; then
		bench_log "missing ${missing[*]} (not installing)"
		return 1
	fi
	bench_log "installing ${missing[*]}"
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } \
		>/dev/null 2>&1 || { bench_log "could not install ${missing[*]}"; return 1; }
}

bench_have_mydocker() {
	if [ ! -x "$MYDOCKER" ]; then
		bench_log "no mydocker binary at $MYDOCKER (run make)"
		return 1
	fi
}
