# shellcheck shell=bash
# hostnet: shared by the integration tests and the benchmarks (sourced).

# The default bridge mydocker0 and the nft table "ip mydocker" are shared
# by every store on the host and recreated on demand by the next run: once
# nothing is attached to the bridge and no other network is in the table,
# remove both, so that a test run leaves the host as it found it.
release_host_network() {
	command -v ip >/dev/null || return 0
	if ip link show mydocker0 >/dev/null 2>&1; then
		[ -z "$(ip -o link show master mydocker0 2>/dev/null)" ] || return 0
		ip link del mydocker0 2>/dev/null || true
	fi
	command -v nft >/dev/null || return 0
	nft list table ip mydocker >/dev/null 2>&1 || return 0
	local others
	others=$(nft list set ip mydocker bridges 2>/dev/null | tr -d ' \t\n' |
		sed -n 's/.*elements={\([^}]*\)}.*/\1/p' | tr ',' '\n' | grep -v '^"mydocker0"$')
	[ -z "$others" ] || return 0
	nft delete table ip mydocker 2>/dev/null || true
}
