#!/bin/bash
# bench/import.sh: `mydocker import` of a large rootfs tar against GNU tar
# extracting the same tar on the same filesystem, cold cache each run.
#
# Env: MYDOCKER (binary), BENCH_DIR (scratch + cached input, default
# /var/tmp/mydocker-bench), BENCH_IMPORT_MB (input size cap, default 500),
# RUNS (per tool, default 3).
set -u
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

: "${BENCH_IMPORT_MB:=500}"
: "${RUNS:=3}"
SRC_TAR=$BENCH_DIR/import-src-${BENCH_IMPORT_MB}mb.tar

# Paths under one tree, in find's pre-order (parents first), until the
# regular files add up to cap bytes: a prefix, so every parent is included.
list_tree() {
	local tree=$1 cap=$2
	(cd / && find "$tree" -xdev -printf '%y %s %p\n') | awk -v cap="$cap" '
		{ p = substr($0, length($1) + length($2) + 3) }
		$1 == "f" { sum += $2; if (sum > cap) exit }
		{ print p }'
}

# The input: half /usr/lib, half /usr/share (big libraries and many small
# files), built once and reused; the entry count is cached beside it.
build_src_tar() {
	local cap=$((BENCH_IMPORT_MB * 1024 * 1024 / 2)) list=$BENCH_DIR/import-src.list rc
	[ -s "$SRC_TAR" ] && [ -s "$SRC_TAR.entries" ] && return 0
	bench_log "building $SRC_TAR (once) from /usr/lib and /usr/share"
	mkdir -p "$BENCH_DIR"
	{ list_tree usr/lib "$cap"; list_tree usr/share "$cap"; } >"$list"
	tar -C / -cf "$SRC_TAR.part" --no-recursion --verbatim-files-from --ignore-failed-read \
		-T "$list" 2>/dev/null
	rc=$?
	# 1 = a file changed while being read: still a valid archive.
	if [ "$rc" -gt 1 ]; then
		rm -f "$SRC_TAR.part" "$list"
		bench_log "tar of /usr failed ($rc)"
		return 1
	fi
	tar -tf "$SRC_TAR.part" | wc -l >"$SRC_TAR.entries"
	mv "$SRC_TAR.part" "$SRC_TAR"
	rm -f "$list"
}

# One timed run; prints microseconds, or nothing on failure (error logged).
run_tar() {
	local dest=$SCRATCH/tar.$1 t0 t1
	mkdir -p "$dest"
	bench_drop_caches
	t0=$(bench_now_us)
	tar -xf "$SRC_TAR" -C "$dest" 2>"$SCRATCH/err" || { bench_log "tar: $(head -n1 "$SCRATCH/err")"; rm -rf "$dest"; return 1; }
	t1=$(bench_now_us)
	echo $((t1 - t0))
	rm -rf "$dest"
}

run_mydocker() {
	local store=$SCRATCH/store.$1 t0 t1
	bench_drop_caches
	t0=$(bench_now_us)
	"$MYDOCKER" --root "$store" import "$SRC_TAR" mydocker-bench-import:latest \
		>/dev/null 2>"$SCRATCH/err" || {
		NOTE="mydocker import failed: $(head -n1 "$SCRATCH/err")"
		bench_log "$NOTE"
		bench_rm_tree "$store"
		return 1
	}
	t1=$(bench_now_us)
	echo $((t1 - t0))
	bench_rm_tree "$store"
}

# "median_s MB/s files/s" from a file of microsecond times.
throughput() {
	local med
	med=$(bench_stats "$1" 1000000 | cut -d' ' -f1)
	awk -v m="$med" -v b="$BYTES" -v n="$ENTRIES" 'BEGIN {
		if (m == "n/a" || m + 0 == 0) { print "n/a n/a n/a"; exit }
		printf "%.2f %.1f %.0f\n", m, b / 1048576 / m, n / m }'
}

row() {
	local name=$1 file=$2 runs
	runs=$(awk '{ printf "%8.2f", $1 / 1e6 }' "$file")
	[ -s "$file" ] || runs=$(printf '%8s' n/a)
	read -r med mbs fps < <(throughput "$file")
	printf '%-10s %-28s %9s %9s %10s\n' "$name" "$runs" "$med" "$mbs" "$fps"
}

main() {
	local i
	bench_scratch
	build_src_tar || { echo "import: n/a (no input tar)"; return 0; }
	BYTES=$(stat -c %s "$SRC_TAR")
	ENTRIES=$(cat "$SRC_TAR.entries")
	: >"$SCRATCH/t.mydocker"
	: >"$SCRATCH/t.tar"
	NOTE=
	bench_have_mydocker || { MYDOCKER="" NOTE="mydocker: n/a, no binary (make)"; }
	# Alternate the order so neither tool always runs after the other's rm.
	for ((i = 1; i <= RUNS; i++)); do
		if ((i % 2)); then order="mydocker tar"; else order="tar mydocker"; fi
		for tool in $order; do
			[ "$tool" = mydocker ] && [ -z "$MYDOCKER" ] && continue
			"run_$tool" "$i" >>"$SCRATCH/t.$tool"
		done
	done
	echo
	printf 'import: %s, %.1f MB, %d entries, %d runs each, cold cache\n' \
		"$SRC_TAR" "$(awk -v b="$BYTES" 'BEGIN { print b / 1048576 }')" "$ENTRIES" "$RUNS"
	printf '%-10s %-28s %9s %9s %10s\n' tool "runs (s)" "median s" "MB/s" "files/s"
	row mydocker "$SCRATCH/t.mydocker"
	[ -n "$NOTE" ] && echo "  ($NOTE)"
	row "GNU tar" "$SCRATCH/t.tar"
	read -r _ md_mbs _ < <(throughput "$SCRATCH/t.mydocker")
	read -r _ tar_mbs _ < <(throughput "$SCRATCH/t.tar")
	printf 'ratio mydocker/tar (throughput): %s (target >= 0.90)\n' "$(bench_ratio "$md_mbs" "$tar_mbs")"
}

main "$@"
