#!/bin/bash
# bench/run.sh: every benchmark, one table each (`make bench`). A part that
# cannot run prints n/a and the reason; the others still run.
#
# Env: MYDOCKER (binary, default build/mydocker), BENCH_DIR (scratch and the
# cached import input, default /var/tmp/mydocker-bench), N (latency runs),
# RUNS (import runs), BENCH_IMPORT_MB, BENCH_ONLY="import run_latency".
set -u
here=$(cd "$(dirname "$0")" && pwd)
export MYDOCKER="${MYDOCKER:-$here/../build/mydocker}"
export BUSYBOX_TAR="${BUSYBOX_TAR:-$here/../testdata/busybox.tar}"

[ "$(id -u)" = 0 ] || echo "# not root: mydocker, runc and podman will report n/a" >&2
ver=$("$MYDOCKER" --version 2>/dev/null) || ver="not built"
echo "# mydocker: $MYDOCKER ($ver)"
echo "# host: $(uname -srm), $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"

rc=0
for part in ${BENCH_ONLY:-import run_latency}; do
	echo
	echo "## $part"
	"$here/$part.sh" || { echo "$part: failed ($?)"; rc=1; }
done
exit $rc
