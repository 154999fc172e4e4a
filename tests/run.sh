#!/bin/bash
# Runs every unit test binary and every bats integration suite; ends with
# one closing line "N passed, N failed[, N skipped]" that CI reads.
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${MYDOCKER:=$here/../build/mydocker}"
: "${UNIT_DIR:=$here/../build/tests}"
export MYDOCKER BUSYBOX_TAR="${BUSYBOX_TAR:-$here/../testdata/busybox.tar}"
pass=0 fail=0 skip=0
failed_names=()

# run_units DIR LABEL: every cmocka binary in DIR.
run_units() {
	local t out rc n_ok n_bad n_skip
	for t in "$1"/test_*; do
		[ -x "$t" ] || continue
		out=$(cd /tmp && "$t" 2>&1); rc=$?
		echo "$out" | grep -E '^\[ +(OK|FAILED|PASSED|ERROR) +\]' | grep -v PASSED | sed "s/^/$2/"
		n_ok=$(echo "$out" | grep -cE '^\[ +OK +\]')
		# cmocka names a failed test twice (as it fails, then in its summary
		# list): count distinct names. Skipped tests count as skipped.
		n_bad=$(echo "$out" | sed -nE 's/^\[ +(FAILED|ERROR) +\] ([A-Za-z_0-9]+)$/\2/p' | sort -u | wc -l)
		n_skip=$(echo "$out" | sed -nE 's/^\[ +SKIPPED +\] ([A-Za-z_0-9]+)$/\1/p' | sort -u | wc -l)
		if [ "$rc" != 0 ] && [ "$n_bad" = 0 ]; then
			n_bad=1; echo "$out" | tail -n 20
		fi
		pass=$((pass + n_ok)); fail=$((fail + n_bad)); skip=$((skip + n_skip))
		[ "$n_bad" != 0 ] && failed_names+=("$2unit:$(basename "$t")")
	done
}

# run_suites LABEL SUITE...: bats files against $MYDOCKER.
run_suites() {
	local label=$1 s line
	shift
	for s in "$@"; do
		[ -f "$s" ] || continue
		echo "# $label$(basename "$s")"
		while IFS= read -r line; do
			echo "$line"
			case "$line" in
			"ok "*"# skip"*) skip=$((skip + 1)) ;;
			"ok "*) pass=$((pass + 1)) ;;
			"not ok "*) fail=$((fail + 1)); failed_names+=("$label${line#not ok }") ;;
			esac
		done < <(bats --tap "$s" 2>&1)
	done
}

run_units "$UNIT_DIR" ""
suites=("$here"/integration/*.bats "$here"/integration/security/*.bats)
# shellcheck disable=SC2206 # TESTS is a space-separated list of paths or globs
if [ -n "${TESTS:-}" ]; then suites=($TESTS); fi
run_suites "" "${suites[@]}"

# The ASan+UBSan build (make asan): every unit test, and the image and run
# suites end to end. Leak reports stay on for unit tests only: a CLI
# process's exit-time leaks would add lines to the one-line errors tested.
if [ -n "${ASAN_MYDOCKER:-}" ]; then
	export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
	run_units "${ASAN_UNIT_DIR:-$here/../build-asan/tests}" "asan:"
	: "${ASAN_TESTS:=$here/integration/images.bats $here/integration/import.bats $here/integration/load.bats $here/integration/run.bats $here/integration/volumes.bats}"
	# shellcheck disable=SC2086 # a space-separated list
	ASAN_OPTIONS=${ASAN_OPTIONS/detect_leaks=1/detect_leaks=0} MYDOCKER=$ASAN_MYDOCKER \
		run_suites "asan:" $ASAN_TESTS
fi

if [ "${#failed_names[@]}" -gt 0 ]; then
	echo "# failed:"; printf '#   %s\n' "${failed_names[@]}"
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
