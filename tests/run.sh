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

for t in "$UNIT_DIR"/test_*; do
	[ -x "$t" ] || continue
	out=$(cd /tmp && "$t" 2>&1); rc=$?
	echo "$out" | grep -E '^\[ +(OK|FAILED|PASSED|ERROR) +\]' | grep -v PASSED
	n_ok=$(echo "$out" | grep -cE '^\[ +OK +\]')
	# cmocka names a failed test twice (as it fails, then in its summary
	# list): count distinct names. Skipped tests count as skipped.
	n_bad=$(echo "$out" | sed -nE 's/^\[ +(FAILED|ERROR) +\] ([A-Za-z_0-9]+)$/\2/p' | sort -u | wc -l)
	n_skip=$(echo "$out" | sed -nE 's/^\[ +SKIPPED +\] ([A-Za-z_0-9]+)$/\1/p' | sort -u | wc -l)
	if [ "$rc" != 0 ] && [ "$n_bad" = 0 ]; then
		n_bad=1; echo "$out" | tail -n 20
	fi
	pass=$((pass + n_ok)); fail=$((fail + n_bad)); skip=$((skip + n_skip))
	[ "$n_bad" != 0 ] && failed_names+=("unit:$(basename "$t")")
done

suites=("$here"/integration/*.bats "$here"/integration/security/*.bats)
# shellcheck disable=SC2206 # TESTS is a space-separated list of paths or globs
if [ -n "${TESTS:-}" ]; then suites=($TESTS); fi
for s in "${suites[@]}"; do
	[ -f "$s" ] || continue
	echo "# $(basename "$s")"
	while IFS= read -r line; do
		echo "$line"
		case "$line" in
		"ok "*"# skip"*) skip=$((skip + 1)) ;;
		"ok "*) pass=$((pass + 1)) ;;
		"not ok "*) fail=$((fail + 1)); failed_names+=("${line#not ok }") ;;
		esac
	done < <(bats --tap "$s" 2>&1)
done

if [ "${#failed_names[@]}" -gt 0 ]; then
	echo "# failed:"; printf '#   %s\n' "${failed_names[@]}"
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
