# Shared set-up for integration tests: a private store per test, cleanup of
# everything a test may leave (mounts, processes) even when it fails.
# MYDOCKER: binary under test (set by tests/run.sh); BUSYBOX_TAR: the image.

: "${MYDOCKER:=$BATS_TEST_DIRNAME/../../build/mydocker}"
: "${BUSYBOX_TAR:=$BATS_TEST_DIRNAME/../../testdata/busybox.tar}"

# shellcheck source=tests/lib/hostnet.sh
. "$BATS_TEST_DIRNAME/../lib/hostnet.sh" 2>/dev/null ||
	. "$BATS_TEST_DIRNAME/../../lib/hostnet.sh"

require_root() {
	if [ "$(id -u)" != 0 ]; then
		[ -n "${MYDOCKER_STRICT:-}" ] && { echo "root required" >&2; return 1; }
		skip "needs root"
	fi
}

setup_store() {
	require_root
	TEST_TMP=$(mktemp -d /tmp/mydocker-test.XXXXXX)
	ROOT=$TEST_TMP/root
	export MYDOCKER_ROOT=$ROOT
}

# md ARGS...: run mydocker on the test's store.
md() {
	"$MYDOCKER" --root "$ROOT" "$@"
}

load_busybox() {
	md import "$BUSYBOX_TAR" busybox:latest >/dev/null
}

# Unmount everything below TEST_TMP (deepest first) and remove it.
teardown_store() {
	[ -n "${TEST_TMP:-}" ] || return 0
	local m
	for m in $(awk -v p="$TEST_TMP" 'index($2, p) == 1 { print $2 }' /proc/self/mounts | sort -r); do
		umount -l "$m" 2>/dev/null || true
	done
	release_test_cgroups
	rm -rf "$TEST_TMP"
	release_host_network
}

# A test that kills a runner with -9 (a simulated crash) leaves its
# container's cgroups for the next command's prune, which only takes them
# once they are 5 s old: remove this store's ones now (they are empty once
# their processes are dead), then the shared parent if it is empty.
release_test_cgroups() {
	local c id d
	[ -d "$ROOT/containers" ] || return 0
	for c in "$ROOT"/containers/*/; do
		id=$(basename "$c")
		for d in /sys/fs/cgroup/*/mydocker/"$id" /sys/fs/cgroup/mydocker/"$id"; do
			[ -d "$d" ] && rmdir "$d" 2>/dev/null
		done
	done
	for d in /sys/fs/cgroup/*/mydocker /sys/fs/cgroup/mydocker; do
		[ -d "$d" ] && rmdir "$d" 2>/dev/null
	done
	return 0
}

# Assert that nothing of the store is still mounted.
assert_no_mounts() {
	! grep -q "$TEST_TMP" /proc/self/mounts
}
