#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A private LXD (or Incus) for tests: its own LXD_DIR (INCUS_DIR), its own
# socket (DIR/unix.socket), a `dir` storage pool, no network, and a busybox
# image built on the spot from Debian's busybox-static. It never touches a
# system LXD or Incus (/var/lib/lxd, the snap, /var/lib/incus): everything
# lives under DIR.
#
# Which server: $LXD_ENV_SERVER, `lxd` (Debian 12's LXD 5.0.2, the
# default) or `incus` (Incus from bookworm-backports, whose daemon is
# /usr/libexec/incus/incusd, not on PATH). `start` writes it to DIR/server;
# every later verb on DIR reads it from there, so a sweep stops each stale
# server with its own tools.
#
#   lxd-env.sh start DIR          start the server in DIR (created; must be empty)
#   lxd-env.sh launch DIR NAME... launch busybox containers
#   lxd-env.sh stop DIR           stop containers and server, unmount, rm -rf DIR
#   lxd-env.sh halt DIR           stop only the daemon (a server restart, part 1)
#   lxd-env.sh resume DIR         start it again; it restarts what ran
#   lxd-env.sh env DIR            print the exports for using `lxc` (`incus`) by hand
#   lxd-env.sh sweep DIR          stop and remove stale private servers beside DIR
#   lxd-env.sh server DIR         print which server DIR holds (lxd or incus)
# and, for tests/lxd/cluster-env.sh, the parts it shares:
#   lxd-env.sh image DIR          build the busybox image into DIR
#   lxd-env.sh subids             add root's subordinate ids if missing
#   lxd-env.sh start-time PID     the start time of PID (owner files)
#
# $LXD_ENV_WAIT: seconds to wait for the server to answer (30; the hardware lab's
# emulated guest on a loaded machine needs more).
#
# A test program that starts one (tests/lxd-harness.c) says so in
# $LXD_ENV_OWNER: its pid. `start` writes it and the pid's start time to
# DIR/owner, and first sweeps: every devpass-lxd.* and devpass-incus.*
# beside DIR whose owner is gone (SIGKILLed: nothing of it could stop its
# server) is stopped and removed. One without an owner file (started by
# hand, by the demo) or whose owner lives (same pid, same start time: a
# reused pid is not taken for it) is never touched.
#
# Incus 6.0.4 needed nothing more: the same preseed, image and busybox
# init, `incus admin waitready|init|shutdown` for `lxd waitready|init|
# shutdown`, INCUS_DIR/INCUS_CONF for LXD_DIR/LXD_CONF.
#
# What it needed here (Debian 12, LXD 5.0.2, no systemd, AppArmor absent
# from the kernel, cgroup v1 hybrid):
# - Unprivileged containers need root ranges in /etc/subuid and
#   /etc/subgid; LXD reads them once at start. Added if missing.
# - DIR must be traversable (0711) by the container's mapped root, or an
#   unprivileged container cannot reach its rootfs; mktemp -d gives 0700.
# - LXD's stdout/stderr must not be the caller's: a test runner waits for
#   EOF on its pipes and would hang on a daemon that inherited them.
# - The image's /sbin/init traps SIGPWR (what `lxc stop` sends), so a clean
#   stop is instant instead of waiting out the 30 s shutdown timeout.
# Nothing else: no AppArmor, no lxcfs, no bridge, no images server.
set -euo pipefail

BUSYBOX=${BUSYBOX:-/bin/busybox}
INCUSD=${INCUSD:-/usr/libexec/incus/incusd}

die() {
	echo "lxd-env.sh: $*" >&2
	exit 1
}

# Sets SERVER (lxd or incus) and CLI (lxc or incus) for DIR: from
# DIR/server once started, else from $LXD_ENV_SERVER.
use_dir() {
	[ -n "${1:-}" ] || die "missing DIR"
	SERVER=${LXD_ENV_SERVER:-lxd}
	[ -f "$1/server" ] && SERVER=$(cat "$1/server")
	case "$SERVER" in
	lxd)
		CLI=lxc
		export LXD_DIR=$1
		# lxc keeps its client config under LXD_CONF; keep it out of $HOME.
		export LXD_CONF=$1/client
		;;
	incus)
		CLI=incus
		export INCUS_DIR=$1 INCUS_CONF=$1/client
		;;
	*) die "unknown server '$SERVER' (lxd or incus)" ;;
	esac
}

# The server's own admin verbs: `lxd waitready` is `incus admin waitready`.
admin() {
	if [ "$SERVER" = incus ]; then
		set -- incus admin "$@"
	else
		set -- lxd "$@"
	fi
	"$@"
}

# Root needs subordinate ids for unprivileged containers.
ensure_subids() {
	local f
	for f in /etc/subuid /etc/subgid; do
		grep -q '^root:' "$f" 2>/dev/null ||
			echo "root:1000000:1000000000" >>"$f"
	done
}

preseed() {
	cat <<'EOF'
config:
  images.auto_update_interval: "0"
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
EOF
}

# PID 1 of the container: mounts what a shell needs, then sleeps; exits at
# once on SIGPWR/SIGTERM so `lxc stop` is fast.
init_script() {
	cat <<'EOF'
#!/bin/sh
trap 'exit 0' PWR TERM INT
mount -t proc proc /proc 2>/dev/null
mount -t sysfs sysfs /sys 2>/dev/null
while :; do
	sleep 3600 &
	wait $!
done
EOF
}

build_image() {
	local work=$1 root=$1/rootfs applet
	[ -x "$BUSYBOX" ] || die "$BUSYBOX missing (install busybox-static)"
	mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,etc,root,run,var}
	cp "$BUSYBOX" "$root/bin/busybox"
	for applet in $("$BUSYBOX" --list); do
		[ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
	done
	init_script >"$root/sbin/init"
	chmod 755 "$root/sbin/init"
	echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
	echo "root:x:0:" >"$root/etc/group"
	cat >"$work/metadata.yaml" <<EOF
architecture: $(uname -m)
creation_date: $(date +%s)
properties:
  description: busybox for devpass tests
  os: busybox
  release: static
EOF
	XZ_OPT=-0 tar -C "$work" -cJf "$work/meta.tar.xz" metadata.yaml
	XZ_OPT=-0 tar -C "$root" --numeric-owner --owner=0 --group=0 \
		-cJf "$work/rootfs.tar.xz" .
}

# Starts the daemon of DIR and waits until it answers. Its log file,
# DIR/lxd.log for either server, is how our_lxd_alive() knows it.
run_lxd() {
	local dir=$1 daemon=lxd
	[ "$SERVER" = incus ] && daemon=$INCUSD
	[ -x "$(command -v "$daemon")" ] || die "$daemon missing (install $SERVER)"
	"$daemon" --group root --logfile "$dir/lxd.log" \
		</dev/null >>"$dir/lxd.out" 2>&1 &
	echo $! >"$dir/lxd.pid"
	# (incus prints a first-run greeting: into the log, not the test's output)
	if ! admin waitready --timeout="${LXD_ENV_WAIT:-30}" >>"$dir/lxd.out" 2>&1; then
		tail -n 20 "$dir/lxd.log" "$dir/lxd.out" >&2
		die "$SERVER did not come up in $dir"
	fi
}

# The start time of process @pid (field 22 of its stat, after the
# parenthesised name, which may hold spaces), or nothing when it is gone.
proc_start_time() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	stat=${stat##*) }
	# shellcheck disable=SC2086 # split into fields on purpose
	set -- $stat
	echo "${20}"
}

# Whether the test program named in DIR/owner still runs.
owner_alive() {
	local pid="" start=""
	read -r pid start <"$1/owner" 2>/dev/null || return 1
	[ -n "$pid" ] && [ -n "$start" ] &&
		[ "$(proc_start_time "$pid")" = "$start" ]
}

cmd_sweep() {
	local d srv
	for d in "$(dirname "$1")"/devpass-lxd.* "$(dirname "$1")"/devpass-incus.*; do
		if [ "$d" = "$1" ] || [ ! -f "$d/owner" ] || owner_alive "$d"; then
			continue
		fi
		# Two starts at once: the one whose mkdir wins sweeps.
		mkdir "$d/.sweeping" 2>/dev/null || continue
		echo "lxd-env.sh: stopping the stale private server in $d" \
			"(its test program, pid $(cut -d' ' -f1 "$d/owner"), is gone)" >&2
		# One started before DIR/server existed is an LXD.
		case "$d" in
		*/devpass-incus.*) srv=incus ;;
		*) srv=lxd ;;
		esac
		(LXD_ENV_SERVER=$srv cmd_stop "$d") || {
			echo "lxd-env.sh: could not remove $d" >&2
			rmdir "$d/.sweeping" 2>/dev/null || true
		}
	done
}

cmd_start() {
	local dir=$1
	cmd_sweep "$dir"
	use_dir "$dir"
	mkdir -p "$dir"
	chmod 0711 "$dir"
	[ -z "$(ls -A "$dir")" ] || die "$dir is not empty"
	echo "$SERVER" >"$dir/server"
	if [ -n "${LXD_ENV_OWNER:-}" ]; then
		echo "$LXD_ENV_OWNER $(proc_start_time "$LXD_ENV_OWNER")" >"$dir/owner"
	fi
	ensure_subids
	run_lxd "$dir"
	preseed | admin init --preseed >"$dir/init.log" 2>&1 ||
		{ cat "$dir/init.log" >&2; die "$SERVER init --preseed failed"; }
	build_image "$dir/image"
	# (lxc's first run also prints a greeting on stderr: keep it in a log.)
	"$CLI" image import "$dir/image/meta.tar.xz" "$dir/image/rootfs.tar.xz" \
		--alias busybox >"$dir/import.log" 2>&1 ||
		{ cat "$dir/import.log" >&2; die "image import failed"; }
	rm -rf "$dir/image"
	[ -S "$dir/unix.socket" ] || die "no socket $dir/unix.socket"
}

cmd_launch() {
	local dir=$1 name
	use_dir "$dir"
	shift
	for name in "$@"; do
		"$CLI" launch busybox "$name" </dev/null >/dev/null 2>"$dir/launch.err" ||
			{ cat "$dir/launch.err" >&2; die "launch $name failed"; }
	done
}

# Unmounts whatever LXD left under DIR, deepest first.
unmount_under() {
	local dir=$1 m
	awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { print $5 }' \
		/proc/self/mountinfo | sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null || true
	done
}

# Whether @pid is still our LXD: alive, not a zombie (PID 1 may not reap
# here), and running with our log file, so a reused pid is never killed.
our_lxd_alive() {
	local pid=$1 dir=$2
	[ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
	[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$dir/lxd.log"
}

# Stops the LXD daemon of DIR (and, with "all", its containers first).
stop_lxd() {
	local dir=$1 what=$2 pid=""
	[ -f "$dir/lxd.pid" ] && pid=$(cat "$dir/lxd.pid")
	our_lxd_alive "$pid" "$dir" || return 0
	if [ "$what" = all ]; then
		"$CLI" stop --all --force </dev/null >/dev/null 2>&1 || true
	fi
	if [ "$SERVER" = incus ]; then
		timeout 20 incus admin shutdown --timeout=15 >/dev/null 2>&1 || true
	else
		timeout 20 lxd shutdown --timeout=15 >/dev/null 2>&1 || true
	fi
	for _ in $(seq 50); do
		our_lxd_alive "$pid" "$dir" || break
		sleep 0.1
	done
	! our_lxd_alive "$pid" "$dir" || kill -9 "$pid" 2>/dev/null || true
}

cmd_stop() {
	local dir=$1
	[ -d "$dir" ] || return 0
	use_dir "$dir"
	stop_lxd "$dir" all
	unmount_under "$dir"
	rm -rf "$dir"
}

# The daemon goes away with its socket, as when LXD is upgraded or crashes;
# its containers are started again by resume (LXD restarts what ran).
cmd_halt() {
	use_dir "$1"
	stop_lxd "$1" daemon
}

cmd_resume() {
	use_dir "$1"
	run_lxd "$1"
}

cmd_env() {
	use_dir "$1"
	if [ "$SERVER" = incus ]; then
		echo "export INCUS_DIR=$1 INCUS_CONF=$1/client INCUS_SOCKET=$1/unix.socket"
	else
		echo "export LXD_DIR=$1 LXD_CONF=$1/client LXD_SOCKET=$1/unix.socket"
	fi
}

cmd_server() {
	use_dir "$1"
	echo "$SERVER"
}

case "${1:-}" in
image)
	[ $# -ge 2 ] || die "usage: $0 image DIR"
	build_image "$2"
	;;
subids) ensure_subids ;;
start-time) proc_start_time "${2:?usage: $0 start-time PID}" ;;
start | launch | stop | halt | resume | env | sweep | server)
	cmd=$1
	shift
	[ $# -ge 1 ] || die "usage: $0 $cmd DIR ..."
	"cmd_$cmd" "$@"
	;;
*)
	echo "usage: [LXD_ENV_SERVER=lxd|incus] $0" \
		"start|launch|stop|halt|resume|env|sweep|server DIR [NAME...]" >&2
	exit 2
	;;
esac
