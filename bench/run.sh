#!/bin/bash
# bench/run.sh: every benchmark, one table each (`make bench`). A part that
# cannot run prints n/a and the reason; the others still run.
#
# Env: MYDOCKER (binary, default build/mydocker), BENCH_DIR (scratch and the
# cached import input, default /var/tmp/mydocker-bench), N (latency runs),
# RUNS (import runs), BENCH_IMPORT_MB, BENCH_ONLY="import run_latency ..."
# (default: every bench/*.sh).
set -u
here=$(cd "$(dirname "$0")" && pwd)
export MYDOCKER="${MYDOCKER:-$here/../mydocker}"
export BUSYBOX_TAR="${BUSYBOX_TAR:-$here/../testdata/busybox.tar}"

[ "$(id -u)" = 0 ] || echo "# not root: mydocker, runc and podman will report n/a" >&2
ver=$("$MYDOCKER" --version 2>/dev/null) || ver="not built"
echo "# mydocker: $MYDOCKER ($ver)"
echo "# host: $(uname -srm), $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"

# The two base parts first, then every other bench/*.sh (each prints its
# own table and sources lib.sh).
parts=(import run_latency)
for f in "$here"/*.sh; do
	p=$(basename "$f" .sh)
	case " ${parts[*]} lib run " in *" $p "*) continue ;; esac
	parts+=("$p")
done
# shellcheck disable=SC2206 # BENCH_ONLY is a space-separated list of names
[ -n "${BENCH_ONLY:-}" ] && parts=($BENCH_ONLY)

rc=0
for part in "${parts[@]}"; do
	echo
	echo "## $part"
	bash "$here/$part.sh" || { echo "$part: failed ($?)"; rc=1; }
done
exit $rc
