#!/bin/bash
# Run one libFuzzer target of build-fuzz/fuzz/ (make fuzz) for SECONDS:
#   tests/fuzz/run.sh unpack|manifest|ref SECONDS [extra libFuzzer flags]
# New inputs go to $FUZZ_WORK/<target>/corpus, crashes to .../crashes; the
# seeds in tests/fuzz/corpus/<target>/ are read, never written. A crash
# worth keeping is copied into tests/fuzz/corpus/<target>/ by hand, where
# the unit test test_fuzz_corpus replays it on every `make test`.
#
# As root, fuzz_unpack creates devices and sets owners: the fuzzer runs in a
# private mount namespace where every host mount is read-only except its
# work directory and a private tmpfs for the layers it unpacks.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
target=${1:?target: unpack, manifest or ref}
secs=${2:?seconds}
shift 2
bin=$here/../../build-fuzz/fuzz/fuzz_$target
seeds=$here/corpus/$target
work=${FUZZ_WORK:-/tmp/mydocker-fuzz}/$target
[ -x "$bin" ] || { echo "no $bin: run make fuzz" >&2; exit 1; }
mkdir -p "$work/corpus" "$work/crashes"

cmd=("$bin" -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1
	-artifact_prefix="$work/crashes/" "$@" "$work/corpus" "$seeds")
if [ "$(id -u)" != 0 ]; then
	exec "${cmd[@]}"
fi
export FUZZ_UNPACK_DIR=$work/scratch
mkdir -p "$FUZZ_UNPACK_DIR"
# shellcheck disable=SC2016 # expanded by the inner shell
exec unshare --mount --propagation private bash -c '
	work=$1 scratch=$2; shift 2
	mount --bind "$work" "$work"
	mount -t tmpfs -o size=1g,mode=0700 mydocker-fuzz "$scratch"
	# Deepest first, so a parent made read-only does not hide a child.
	findmnt -rno TARGET | sort -r | while read -r m; do
		case "$m" in "$work"|"$work"/*) continue ;; esac
		mount -o remount,bind,ro "$m" 2>/dev/null || true
	done
	exec "$@"' fuzz "$work" "$FUZZ_UNPACK_DIR" "${cmd[@]}"
