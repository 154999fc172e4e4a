#!/usr/bin/env bats
# Networking: user networks (ping by IP and by name), published ports from a
# container and from the host (127.0.0.1 and the bridge address), --network
# none, 20 parallel runs, clean-up of veths, nft elements and IPAM entries,
# and one-line errors. Traffic only between the host and our containers.

load helpers

setup() {
	setup_store
	load_busybox
	NET=mdt$$n$BATS_TEST_NUMBER
	PORT=$((20000 + (RANDOM % 20000)))
	mkdir -p "$TEST_TMP/ctl"
	BG=()
}

teardown() {
	touch "$TEST_TMP/ctl/stop" 2>/dev/null || true
	local p
	for p in "${BG[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null || true
	done
	md network rm "$NET" >/dev/null 2>&1 || true
	teardown_store
}

# bg NAME ARGS...: a container on $NET that runs until ctl/stop appears.
bg() {
	local name=$1; shift
	# not through md(): $! must be mydocker itself, not a subshell
	"$MYDOCKER" --root "$ROOT" run --rm --name "$name" --network "$NET" \
		-v "$TEST_TMP/ctl:/ctl" "$@" busybox sh -c \
		'mkdir -p /w; echo hello-from-$HOSTNAME > /w/index.html; httpd -p 80 -h /w;
		 touch /ctl/ready-$HOSTNAME; while [ ! -e /ctl/stop ]; do sleep 0.2; done' &
	BG+=($!)
}

wait_ready() {
	for _ in $(seq 100); do
		[ "$(find "$TEST_TMP/ctl" -name 'ready-*' | wc -l)" -ge "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

ep_field() { # ep_field NETWORK FIELD: values of FIELD of every endpoint
	md network inspect "$1" | grep -o "\"$2\": \"[^\"]*\"" | cut -d'"' -f4
}

@test "network create, ls, inspect, rm; subnet and name errors are one line" {
	run md network create --subnet 10.197.0.0/24 "$NET"
	[ "$status" -eq 0 ]
	run md network ls
	[[ "$output" == *"$NET"* ]] && [[ "$output" == *bridge* ]] && [[ "$output" == *none* ]]
	run md network create "$NET"
	[ "$status" -eq 125 ] && [[ "$output" == *"already exists"* ]] && [ "${#lines[@]}" -eq 1 ]
	run md network create --subnet 10.197.0.128/25 "${NET}x"
	[ "$status" -eq 125 ] && [[ "$output" == *overlaps* ]] && [ "${#lines[@]}" -eq 1 ]
	run md network create --subnet 10.197.1.1/24 "${NET}x"
	[ "$status" -eq 125 ] && [[ "$output" == *"it should be 10.197.1.0/24"* ]]
	br=$(md network inspect "$NET" | grep -o '"Bridge": "[^"]*"' | cut -d'"' -f4)
	ip link show "$br" >/dev/null
	run md network rm bridge
	[ "$status" -ne 0 ] && [[ "$output" == *pre-defined* ]]
	md network rm "$NET"
	! ip link show "$br" 2>/dev/null
	! nft list set ip mydocker subnets | grep -q 10.197.0.0
}

@test "two containers ping each other by IP and by name; hosts updated on join" {
	md network create "$NET" >/dev/null
	bg web1
	wait_ready 1
	run md run --rm --name cli1 --network "$NET" busybox sh -c \
		'ping -c1 -W2 web1 && ping -c1 -W2 $(grep -w web1 /etc/hosts | cut -f1) && wget -qO- http://web1/'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *hello-from-* ]]
	bg web2
	wait_ready 2
	# web1 was running when web2 joined: its /etc/hosts was rewritten in place
	run md run --rm --network "$NET" busybox ping -c1 -W2 web2
	[ "$status" -eq 0 ]
	# (a container's own line carries its hostname, not its name: the only
	# file that can name web2 is web1's)
	grep -qw web2 "$ROOT"/containers/*/hosts
}

@test "published port: from another container, from the host via 127.0.0.1 and the bridge" {
	md network create "$NET" >/dev/null
	bg pweb -p "$PORT:80"
	wait_ready 1
	gw=$(md network inspect "$NET" | grep -o '"Gateway": "[^"]*"' | head -n1 | cut -d'"' -f4)
	run md run --rm --network "$NET" busybox wget -qO- "http://pweb/"
	[ "$status" -eq 0 ] && [[ "$output" == hello-from-* ]]
	run wget -qO- -T 5 "http://127.0.0.1:$PORT/"
	[ "$status" -eq 0 ] && [[ "$output" == hello-from-* ]]
	run wget -qO- -T 5 "http://$gw:$PORT/"
	[ "$status" -eq 0 ] && [[ "$output" == hello-from-* ]]
	# the same host port twice: one line, nothing left of the second run
	run md run --rm --network "$NET" -p "$PORT:80" busybox true
	[ "$status" -eq 125 ] && [[ "$output" == *"port is already allocated"* ]]
	[ "$(ep_field "$NET" IPv4Address | wc -l)" -eq 1 ]
}

@test "--network none has only lo; the default is the bridge network" {
	run md run --rm --network none busybox ip -o link
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | wc -l)" -eq 1 ] && [[ "$output" == *": lo:"* ]]
	run md run --rm busybox ip -o -4 addr show eth0
	[ "$status" -eq 0 ] && [[ "$output" == *"inet "* ]]
	run md run --rm --network nosuchnet busybox true
	[ "$status" -eq 125 ] && [[ "$output" == *"network nosuchnet not found"* ]]
}

@test "--ip, --mac-address, --hostname, --add-host, --dns, --dns-search" {
	md network create --subnet 10.198.0.0/24 "$NET" >/dev/null
	run md run --rm --network "$NET" --ip 10.198.0.77 --mac-address 02:aa:bb:cc:dd:ee \
		-h myhost --add-host db.example:10.1.2.3 --dns 10.0.0.53 --dns-search example.org \
		busybox sh -c 'ip -o addr show eth0; ip -o link show eth0; cat /etc/hosts /etc/resolv.conf; hostname'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"10.198.0.77/24"* ]] && [[ "$output" == *"02:aa:bb:cc:dd:ee"* ]]
	[[ "$output" == *"10.1.2.3"*"db.example"* ]] && [[ "$output" == *"nameserver 10.0.0.53"* ]]
	[[ "$output" == *"search example.org"* ]] && [[ "$output" == *myhost* ]]
	run md run --rm --ip 10.198.0.5 busybox true
	[ "$status" -eq 125 ] && [[ "$output" == *"user defined networks only"* ]]
}

@test "20 parallel runs get 20 distinct addresses; nothing is left afterwards" {
	md network create "$NET" >/dev/null
	br=$(md network inspect "$NET" | grep -o '"Bridge": "[^"]*"' | cut -d'"' -f4)
	# all 20 alive at once (a released address may rightly be reused)
	for i in $(seq 20); do
		md run --rm --network "$NET" -p "$((PORT + i)):80" -v "$TEST_TMP/ctl:/ctl" busybox sh -c \
			'ip -o -4 addr show eth0; touch /ctl/ready-$HOSTNAME;
			 while [ ! -e /ctl/stop ]; do sleep 0.2; done' >"$TEST_TMP/p$i" 2>&1 &
	done
	wait_ready 20
	touch "$TEST_TMP/ctl/stop"
	wait
	cat "$TEST_TMP"/p*
	[ "$(grep -ho 'inet [0-9.]*' "$TEST_TMP"/p* | sort -u | wc -l)" -eq 20 ]
	[ -z "$(ep_field "$NET" IPv4Address)" ]
	[ -z "$(ip -o link show master "$br")" ]
	! nft list map ip mydocker ports_tcp | grep -qE "\b$((PORT + 1))\b"
}

@test "a crashed runner's address and ports are reclaimed" {
	md network create --subnet 10.199.0.0/30 "$NET" >/dev/null # one address only
	"$MYDOCKER" --root "$ROOT" run --rm --network "$NET" -p "$PORT:80" busybox sleep 60 &
	pid=$!
	for _ in $(seq 50); do md network inspect "$NET" | grep -q '"Pid": [1-9]' && break; sleep 0.1; done
	cpid=$(md network inspect "$NET" | grep -o '"Pid": [0-9]*' | grep -o '[0-9]*$')
	# the runner and its container die at once (power loss, OOM killer)
	kill -9 "$pid" "$cpid"
	wait "$pid" || true
	sleep 0.3
	run md run --rm --network "$NET" -p "$PORT:80" busybox ip -o -4 addr show eth0
	echo "$output"
	[ "$status" -eq 0 ] && [[ "$output" == *10.199.0.2* ]]
	run md run --rm --network "$NET" busybox true
	[ "$status" -eq 0 ]
}

@test "endpoints live in networks/NAME.endpoints; a corrupt one (a crash's) counts as none" {
	md network create --subnet 10.196.0.0/24 "$NET" >/dev/null
	run md run --rm --network "$NET" busybox ip -o -4 addr show eth0
	[ "$status" -eq 0 ] && [[ "$output" == *10.196.0.2/24* ]]
	[ "$(cat "$ROOT/networks/$NET.endpoints")" = "{}" ]
	grep -q '"Subnet": *"10.196.0.0/24"' "$ROOT/networks/$NET.json"
	echo '{"Contai' >"$ROOT/networks/$NET.endpoints"
	run md run --rm --network "$NET" busybox ip -o -4 addr show eth0
	[ "$status" -eq 0 ] && [[ "$output" == *10.196.0.2/24* ]]
	md network rm "$NET"
	[ ! -e "$ROOT/networks/$NET.endpoints" ] && [ ! -e "$ROOT/networks/$NET.json" ]
}
