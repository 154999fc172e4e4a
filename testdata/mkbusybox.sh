#!/bin/sh
# mkbusybox.sh OUT.tar: build the default busybox image (a flat rootfs tar)
# from the host's busybox-static package, offline and byte-for-byte
# reproducible: sorted entries, fixed mtimes, numeric owners, fixed modes.
#
# Env: BUSYBOX (default /bin/busybox, from Debian's busybox-static; `make deps`
# installs it), SOURCE_DATE_EPOCH (mtime of every entry, default 0).
# No root needed: owners are set by tar, not by chown.
set -eu

die() { echo "mkbusybox: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: mkbusybox.sh OUT.tar"
out=$1
bb=${BUSYBOX:-/bin/busybox}
epoch=${SOURCE_DATE_EPOCH:-0}
export LC_ALL=C
umask 022

[ -x "$bb" ] || die "$bb not found: install busybox-static (make deps)"
# A dynamic busybox would need the host's libc inside the image.
if ldd "$bb" >/dev/null 2>&1; then
	die "$bb is dynamically linked: install busybox-static, not busybox"
fi

outdir=$(dirname -- "$out")
mkdir -p -- "$outdir"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mkbusybox.XXXXXX")
# The partial tar lives beside OUT so the final rename is atomic: a reader
# never sees half an image, and an interrupted run leaves the old one.
part=$(mktemp "$outdir/.mkbusybox.XXXXXX")
trap 'rm -rf "$tmp" "$part"' EXIT
trap 'exit 130' INT TERM
r=$tmp/rootfs

make_dirs() {
	mkdir -p "$r"
	for d in bin sbin usr/bin usr/sbin etc dev proc sys var var/tmp \
		home/user root tmp; do
		mkdir -p "$r/$d"
	done
	chmod 0700 "$r/root"
	chmod 1777 "$r/tmp" "$r/var/tmp"
}

# One symlink per applet, relative so it also resolves when the rootfs is
# inspected from the host ("usr/bin/[" -> "../../bin/busybox").
make_applets() {
	cp "$bb" "$r/bin/busybox"
	chmod 0755 "$r/bin/busybox"
	"$bb" --list-full | while IFS= read -r p; do
		case $p in
		bin/busybox | linuxrc | "") continue ;; # linuxrc: initrd only
		esac
		[ -e "$r/$p" ] || [ -L "$r/$p" ] && continue
		case ${p%/*} in
		bin) target=busybox ;;
		sbin) target=../bin/busybox ;;
		*) target=../../bin/busybox ;;
		esac
		ln -s "$target" "$r/$p"
	done
}

make_etc() {
	cat >"$r/etc/passwd" <<-'EOF'
	root:x:0:0:root:/root:/bin/sh
	daemon:x:1:1:daemon:/usr/sbin:/bin/false
	bin:x:2:2:bin:/bin:/bin/false
	sys:x:3:3:sys:/dev:/bin/false
	sync:x:4:100:sync:/bin:/bin/sync
	nobody:x:65534:65534:nobody:/nonexistent:/bin/false
	user:x:1000:1000:user:/home/user:/bin/sh
	EOF
	cat >"$r/etc/group" <<-'EOF'
	root:x:0:
	daemon:x:1:
	bin:x:2:
	sys:x:3:
	adm:x:4:
	tty:x:5:
	disk:x:6:
	wheel:x:10:root
	staff:x:50:
	users:x:100:
	nogroup:x:65534:
	user:x:1000:
	EOF
	chmod 0644 "$r/etc/passwd" "$r/etc/group"
}

# tar sets one owner per invocation, so the sorted list is cut into runs of
# equal owner, each appended in order: the archive stays globally sorted.
write_tar() {
	(cd "$r" && find . -mindepth 1 | sed 's|^\./||' | sort) >"$tmp/list"
	: >"$part"
	mode=-cf
	cur="" run=$tmp/run
	: >"$run"
	while IFS= read -r p; do
		# Everything is 0:0 but the test user's home.
		case $p in
		home/user | home/user/*) o=1000:1000 ;;
		*) o=0:0 ;;
		esac
		if [ -n "$cur" ] && [ "$o" != "$cur" ]; then
			tar_run "$mode" "$cur" "$run"
			mode=-rf
			: >"$run"
		fi
		cur=$o
		printf '%s\n' "$p" >>"$run"
	done <"$tmp/list"
	tar_run "$mode" "$cur" "$run"
}

tar_run() {
	tar -C "$r" "$1" "$part" --format=gnu --no-recursion --verbatim-files-from \
		--mtime="@$epoch" --numeric-owner --owner="${2%:*}" --group="${2#*:}" \
		-T "$3"
}

make_dirs
make_applets
make_etc
write_tar
chmod 0644 "$part"
mv -f "$part" "$out"
