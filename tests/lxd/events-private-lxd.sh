#!/bin/bash
# Runs a command against a private, throw-away LXD (for test-events-lxd).
#
#   events-private-lxd.sh COMMAND [ARG]...
#
# Starts `lxd` on a fresh LXD_DIR with a `dir` pool and no network, imports
# a busybox image (alias "busybox") built from busybox-static, runs COMMAND
# with LXD_DIR exported, then stops LXD and removes everything. Exits with
# COMMAND's status; 77 (meson's skip) without root or without lxd/lxc.
#
# A stop-gap until the shared tests/lxd/lxd-env.sh exists: same steps.
set -u

if [ "$(id -u)" != 0 ] || ! command -v lxd >/dev/null ||
	! command -v lxc >/dev/null || [ ! -x /bin/busybox ]; then
	echo "events-private-lxd: needs root, lxd, lxc and busybox-static; skipping" >&2
	exit 77
fi

LXD_DIR=$(mktemp -d /tmp/devpass-events-lxd.XXXXXX)
export LXD_DIR
lxd_pid=

cleanup() {
	if [ -n "$lxd_pid" ] && kill -0 "$lxd_pid" 2>/dev/null; then
		timeout 30 lxd shutdown --timeout 20 >/dev/null 2>&1 ||
			kill -9 "$lxd_pid" 2>/dev/null
		wait "$lxd_pid" 2>/dev/null
	fi
	# LXD leaves tmpfs mounts (devlxd, shmounts) under its directory.
	awk -v d="$LXD_DIR" 'index($2, d "/") == 1 {print $2}' /proc/self/mounts |
		sort -r | while read -r m; do umount -l "$m"; done
	rm -rf "$LXD_DIR"
}
trap cleanup EXIT

die() {
	echo "events-private-lxd: $*" >&2
	[ -f "$LXD_DIR/lxd.log" ] && tail -20 "$LXD_DIR/lxd.log" >&2
	exit 1
}

# A busybox rootfs whose init exits on SIGPWR, so `lxc stop` is clean.
build_image() {
	local img=$LXD_DIR/image
	mkdir -p "$img/rootfs/bin" "$img/rootfs/sbin" "$img/rootfs/dev" \
		"$img/rootfs/proc" "$img/rootfs/sys" "$img/rootfs/tmp"
	cp /bin/busybox "$img/rootfs/bin/busybox"
	ln -s busybox "$img/rootfs/bin/sh"
	ln -s busybox "$img/rootfs/bin/sleep"
	printf '#!/bin/sh\ntrap "exit 0" PWR TERM\nwhile :; do sleep 1000 & wait $!; done\n' \
		>"$img/rootfs/sbin/init"
	chmod 755 "$img/rootfs/sbin/init"
	printf 'architecture: %s\ncreation_date: %s\nproperties:\n  os: busybox\n' \
		"$(uname -m)" "$(date +%s)" >"$img/metadata.yaml"
	tar -C "$img" -cf "$img/meta.tar" metadata.yaml &&
		tar -C "$img/rootfs" -cf "$img/rootfs.tar" . &&
		lxc image import "$img/meta.tar" "$img/rootfs.tar" \
			--alias busybox >/dev/null
}

lxd --group root --logfile "$LXD_DIR/lxd.log" >/dev/null 2>&1 &
lxd_pid=$!
lxd waitready --timeout 30 || die "lxd did not become ready"
lxd init --preseed >/dev/null <<'PRESEED' || die "lxd init failed"
storage_pools:
- name: default
  driver: dir
profiles:
- name: default
  devices:
    root:
      path: /
      pool: default
      type: disk
PRESEED
build_image || die "building the busybox image failed"

"$@"
