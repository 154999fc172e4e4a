#!/bin/bash
# bench/pull.sh: `mydocker pull` of a large multi-layer image from a local
# registry (Debian's docker-registry on 127.0.0.1) beside `skopeo copy
# docker://... oci:DIR` + `umoci unpack` of the same image, in one run.
#
# Env: MYDOCKER (binary), BENCH_DIR (scratch, default /var/tmp/mydocker-bench),
# BENCH_PULL_LAYERS (default 8), BENCH_PULL_LAYER_MB (per layer, default 32),
# RUNS (per tool, default 3).
set -u
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

: "${BENCH_PULL_LAYERS:=8}"
: "${BENCH_PULL_LAYER_MB:=32}"
: "${RUNS:=3}"
REGISTRY_BIN=/usr/bin/docker-registry
REG_PID=

stop_registry() {
	[ -n "$REG_PID" ] || return 0
	kill "$REG_PID" 2>/dev/null
	wait "$REG_PID" 2>/dev/null
	REG_PID=
}
BENCH_CLEANUP_HOOKS+=(stop_registry)

start_registry() {
	local i
	REG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	REG=127.0.0.1:$REG_PORT
	cat >"$SCRATCH/registry.yml" <<-EOF
	version: 0.1
	log:
	  level: error
	  accesslog:
	    disabled: true
	storage:
	  filesystem:
	    rootdirectory: $SCRATCH/registry
	http:
	  addr: $REG
	EOF
	"$REGISTRY_BIN" serve "$SCRATCH/registry.yml" >"$SCRATCH/registry.log" 2>&1 &
	REG_PID=$!
	for i in $(seq 1 100); do
		curl -s -o /dev/null "http://$REG/v2/" && return 0
		sleep 0.05
	done
	bench_log "registry did not start: $(tail -n1 "$SCRATCH/registry.log")"
	return 1
}

# Layer k: half incompressible noise, half text, plus a few hundred small
# files, so both inflate and file creation cost something.
fill_layer() {
	local dir=$1 k=$2 half=$((BENCH_PULL_LAYER_MB * 512 * 1024)) j
	mkdir -p "$dir/layer$k/small"
	head -c "$half" /dev/urandom >"$dir/layer$k/noise.bin"
	head -c "$((half * 3 / 4))" /dev/urandom | base64 >"$dir/layer$k/text.txt"
	for j in $(seq 1 300); do
		echo "layer $k file $j" >"$dir/layer$k/small/f$j"
	done
}

# The image: busybox then BENCH_PULL_LAYERS layers, built with umoci and
# pushed with skopeo (gzip layers, docker schema 2, like a docker push).
build_image() {
	local oci=$SCRATCH/src-oci bundle=$SCRATCH/bundle k
	umoci init --layout "$oci" && umoci new --image "$oci:big" &&
		umoci unpack --image "$oci:big" "$bundle" >/dev/null || return 1
	tar -xf "$BUSYBOX_TAR" -C "$bundle/rootfs" &&
		umoci repack --refresh-bundle --image "$oci:big" "$bundle" || return 1
	for ((k = 1; k <= BENCH_PULL_LAYERS; k++)); do
		fill_layer "$bundle/rootfs" "$k"
		umoci repack --refresh-bundle --image "$oci:big" "$bundle" || return 1
	done
	umoci config --image "$oci:big" --config.cmd sh || return 1
	rm -rf "$bundle"
	skopeo copy -q --dest-tls-verify=false --format v2s2 "oci:$oci:big" \
		"docker://$REG/bench/big:latest" || return 1
	rm -rf "$oci"
	IMG_BYTES=$(du -sb "$SCRATCH/registry" | cut -f1)
}

run_mydocker() {
	local store=$SCRATCH/store.$1 t0 t1
	bench_drop_caches
	t0=$(bench_now_us)
	"$MYDOCKER" --root "$store" pull -q "$REG/bench/big:latest" >/dev/null 2>"$SCRATCH/err" || {
		bench_log "mydocker pull failed: $(head -n1 "$SCRATCH/err")"
		bench_rm_tree "$store"
		return 1
	}
	t1=$(bench_now_us)
	echo $((t1 - t0))
	bench_rm_tree "$store"
}

run_skopeo() {
	local oci=$SCRATCH/oci.$1 bundle=$SCRATCH/bundle.$1 t0 t1
	bench_drop_caches
	t0=$(bench_now_us)
	{ skopeo copy -q --src-tls-verify=false "docker://$REG/bench/big:latest" "oci:$oci:big" &&
		umoci unpack --image "$oci:big" "$bundle" >/dev/null; } 2>"$SCRATCH/err" || {
		bench_log "skopeo+umoci failed: $(head -n1 "$SCRATCH/err")"
		rm -rf "$oci" "$bundle"
		return 1
	}
	t1=$(bench_now_us)
	echo $((t1 - t0))
	rm -rf "$oci" "$bundle"
}

row() {
	local name=$1 file=$2 runs med
	runs=$(awk '{ printf "%8.2f", $1 / 1e6 }' "$file")
	[ -s "$file" ] || runs=$(printf '%8s' n/a)
	med=$(bench_stats "$file" 1000000 | cut -d' ' -f1)
	printf '%-16s %-28s %9s %9s\n' "$name" "$runs" "$med" \
		"$(awk -v m="$med" -v b="$IMG_BYTES" 'BEGIN {
			if (m == "n/a" || m + 0 == 0) print "n/a"; else printf "%.1f", b / 1048576 / m }')"
}

main() {
	local i tool order
	[ "$(id -u)" = 0 ] || { echo "pull: n/a (needs root: umoci unpack and the store keep owners)"; return 0; }
	bench_have_mydocker || { echo "pull: n/a (no mydocker binary)"; return 0; }
	bench_need_pkgs docker-registry skopeo umoci ||
		{ echo "pull: n/a (docker-registry, skopeo or umoci missing)"; return 0; }
	bench_scratch
	start_registry || { echo "pull: n/a (registry did not start)"; return 0; }
	bench_log "building a $((BENCH_PULL_LAYERS + 1))-layer image (${BENCH_PULL_LAYERS} x ${BENCH_PULL_LAYER_MB} MB)"
	build_image || { echo "pull: n/a (could not build the image)"; return 0; }
	: >"$SCRATCH/t.mydocker"
	: >"$SCRATCH/t.skopeo"
	for ((i = 1; i <= RUNS; i++)); do
		if ((i % 2)); then order="mydocker skopeo"; else order="skopeo mydocker"; fi
		for tool in $order; do
			"run_$tool" "$i" >>"$SCRATCH/t.$tool"
		done
	done
	echo
	printf 'pull: %d layers, %.1f MB compressed in the registry, %d runs each, cold cache\n' \
		"$((BENCH_PULL_LAYERS + 1))" "$(awk -v b="$IMG_BYTES" 'BEGIN { print b / 1048576 }')" "$RUNS"
	printf '%-16s %-28s %9s %9s\n' tool "runs (s)" "median s" "MB/s"
	row "mydocker pull" "$SCRATCH/t.mydocker"
	row "skopeo+umoci" "$SCRATCH/t.skopeo"
	printf 'speedup mydocker vs skopeo+umoci: %s x\n' "$(bench_ratio \
		"$(bench_stats "$SCRATCH/t.skopeo" 1000000 | cut -d' ' -f1)" \
		"$(bench_stats "$SCRATCH/t.mydocker" 1000000 | cut -d' ' -f1)")"
}

main "$@"
