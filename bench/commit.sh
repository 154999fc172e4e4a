#!/bin/bash
# bench/commit.sh: `mydocker commit` of a container that wrote ~200 MB in
# many files, beside GNU `tar -cf` of the same upper dir, one run each,
# cold cache. Commit writes the layer tar (hashed) and stores it unpacked.
#
# Env: MYDOCKER (binary), BENCH_DIR (scratch, default /var/tmp/mydocker-bench),
# BENCH_COMMIT_MB (default 200), BENCH_COMMIT_FILE_KB (default 64).
set -u
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

: "${BENCH_COMMIT_MB:=200}"
: "${BENCH_COMMIT_FILE_KB:=64}"

main() {
	local store ctr upper files t0 t1 md_us tar_us bytes
	bench_scratch
	bench_have_mydocker || { echo "commit: n/a (no binary)"; return 0; }
	[ "$(id -u)" = 0 ] || { echo "commit: n/a (needs root)"; return 0; }
	store=$SCRATCH/store
	files=$((BENCH_COMMIT_MB * 1024 / BENCH_COMMIT_FILE_KB))
	"$MYDOCKER" --root "$store" import "$BUSYBOX_TAR" busybox:latest >/dev/null ||
		{ echo "commit: n/a (import failed)"; return 0; }
	# Many files in 100 dirs, random content (incompressible, like real data).
	"$MYDOCKER" --root "$store" run --name mydocker-bench-commit busybox sh -c "
		i=0; while [ \$i -lt $files ]; do
			d=/data/d\$((i % 100)); [ -d \$d ] || mkdir -p \$d
			head -c $((BENCH_COMMIT_FILE_KB * 1024)) /dev/urandom >\$d/f\$i
			i=\$((i + 1))
		done" >/dev/null 2>"$SCRATCH/err" ||
		{ echo "commit: n/a (run failed: $(head -n1 "$SCRATCH/err"))"; return 0; }
	ctr=$("$MYDOCKER" --root "$store" ps -aq --no-trunc | head -n1)
	upper=$store/containers/$ctr/upper
	bytes=$(du -sb "$upper" | cut -f1)

	bench_drop_caches
	t0=$(bench_now_us)
	tar -cf "$SCRATCH/upper.tar" -C "$upper" . || { echo "commit: tar failed"; return 1; }
	t1=$(bench_now_us)
	tar_us=$((t1 - t0))
	rm -f "$SCRATCH/upper.tar"

	bench_drop_caches
	t0=$(bench_now_us)
	"$MYDOCKER" --root "$store" commit mydocker-bench-commit mydocker-bench:commit >/dev/null ||
		{ echo "commit: mydocker commit failed"; return 1; }
	t1=$(bench_now_us)
	md_us=$((t1 - t0))

	printf 'commit: %.1f MB in %d files, one run each, cold cache\n' \
		"$(awk -v b="$bytes" 'BEGIN { print b / 1048576 }')" "$files"
	printf '%-16s %9s %9s\n' tool seconds MB/s
	awk -v b="$bytes" -v u="$md_us" 'BEGIN { printf "%-16s %9.2f %9.1f\n", "mydocker commit", u / 1e6, b / 1048576 / (u / 1e6) }'
	awk -v b="$bytes" -v u="$tar_us" 'BEGIN { printf "%-16s %9.2f %9.1f\n", "tar -cf", u / 1e6, b / 1048576 / (u / 1e6) }'
	printf 'ratio mydocker/tar (throughput): %s (target >= 0.90)\n' \
		"$(bench_ratio "$tar_us" "$md_us")"
}

main "$@"
