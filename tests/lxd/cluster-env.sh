#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A private cluster for tests: N members (3 by default) of LXD 5.0.2 or of
# Incus, each its own daemon with its own directory (DIR/memberK, its
# LXD_DIR or INCUS_DIR, its socket DIR/memberK/unix.socket) and its own
# loopback address (core.https_address 127.X.Y.K:8443, X.Y picked free per
# cluster so that clusters of parallel tests do not meet). member1
# bootstraps; every other member joins with a token from
# `cluster add memberK` and a preseed with server_address, cluster_token
# and member_config (the dir pool's source ""). A busybox image is built
# and imported as in lxd-env.sh (whose image code this reuses).
#
#   cluster-env.sh start KIND DIR [N]     KIND lxd|incus; DIR is created
#   cluster-env.sh launch DIR K NAME...   launch containers on memberK
#   cluster-env.sh create DIR K NAME...   create (not start) them on memberK
#   cluster-env.sh empty DIR K PREFIX N   create N stopped instances with an
#                                         empty root (PREFIX1..N) on memberK
#   cluster-env.sh client DIR K ARGS...   run lxc/incus ARGS on memberK
#   cluster-env.sh halt DIR K             stop memberK's daemon (offline)
#   cluster-env.sh resume DIR K           start it again, wait until member1
#                                         reaches it
#   cluster-env.sh stop DIR               stop everything, rm -rf DIR
#   cluster-env.sh sweep DIR              remove stale clusters beside DIR
#
# Ownership and sweeping as in lxd-env.sh: `start` writes $LXD_ENV_OWNER
# (the test program's pid) and its start time to DIR/owner, and first
# stops every devpass-cluster.* beside DIR whose owner is gone.
#
# Measured here (Debian 12, LXD 5.0.2, Incus 6.0.4, both cores busy): a
# 3-member cluster forms in 3-10 s; member1's launch takes another 1-3 s.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
BUSYBOX=${BUSYBOX:-/bin/busybox}

die() {
	echo "cluster-env.sh: $*" >&2
	exit 1
}

# The kind's programs: daemon, client, admin prefix, directory variable.
use_kind() {
	case "$1" in
	lxd)
		DAEMON=(lxd)
		CLIENT=lxc
		ADMIN=(lxd)
		DIRVAR=LXD_DIR
		CONFVAR=LXD_CONF
		;;
	incus)
		DAEMON=(/usr/libexec/incus/incusd)
		CLIENT=incus
		ADMIN=(incus admin)
		DIRVAR=INCUS_DIR
		CONFVAR=INCUS_CONF
		;;
	*) die "unknown kind $1 (lxd or incus)" ;;
	esac
}

# Reads DIR/kind and points the environment at member @k of DIR.
use_member() {
	local dir=$1 k=$2
	[ -f "$dir/kind" ] || die "$dir is no cluster"
	use_kind "$(cat "$dir/kind")"
	export "$DIRVAR=$dir/member$k" "$CONFVAR=$dir/member$k/client"
	unset LD_PRELOAD UMOCKDEV_DIR
}

address() {
	echo "$(cat "$1/net").$2"
}

# A 127.X.Y prefix with nothing listening on 127.X.Y.1-9.
pick_net() {
	local net k busy
	for _ in $(seq 50); do
		net=127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1))
		busy=0
		for k in $(seq 9); do
			if ss -Hltn "src $net.$k" 2>/dev/null | grep -q .; then
				busy=1
			fi
		done
		[ $busy = 1 ] || { echo "$net"; return; }
	done
	die "no free loopback prefix"
}

run_daemon() {
	local dir=$1 k=$2 m=$1/member$2
	use_member "$dir" "$k"
	"${DAEMON[@]}" --group root --logfile "$m/daemon.log" \
		</dev/null >>"$m/daemon.out" 2>&1 &
	echo $! >"$m/daemon.pid"
	if ! "${ADMIN[@]}" waitready --timeout=60; then
		tail -20 "$m/daemon.log" "$m/daemon.out" >&2
		die "member$k did not come up in $m"
	fi
}

common_config() {
	cat <<EOF
config:
  core.https_address: $1:8443
  images.auto_update_interval: "0"
EOF
}

bootstrap_preseed() {
	common_config "$1"
	cat <<'EOF'
cluster:
  server_name: member1
  enabled: true
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

join_preseed() {
	local address=$1 k=$2 token=$3
	cat <<EOF
cluster:
  enabled: true
  server_name: member$k
  server_address: $address:8443
  cluster_token: $token
  member_config:
  - entity: storage-pool
    name: default
    key: source
    value: ""
EOF
}

init_member() {
	local dir=$1 k=$2 seed=$3
	use_member "$dir" "$k"
	echo "$seed" | "${ADMIN[@]}" init --preseed \
		>"$dir/member$k/init.log" 2>&1 ||
		{ cat "$dir/member$k/init.log" >&2; die "member$k: init failed"; }
}

# A join token for member @k, asked of member1.
join_token() {
	use_member "$1" 1
	"$CLIENT" cluster add "member$2" --quiet </dev/null 2>"$1/token.err" ||
		{ cat "$1/token.err" >&2; die "no join token for member$2"; }
}

import_image() {
	local dir=$1
	# shellcheck source=lxd-env.sh
	BUSYBOX=$BUSYBOX "$HERE/lxd-env.sh" image "$dir/image" >/dev/null
	use_member "$dir" 1
	"$CLIENT" image import "$dir/image/meta.tar.xz" \
		"$dir/image/rootfs.tar.xz" --alias busybox \
		>"$dir/import.log" 2>&1 ||
		{ cat "$dir/import.log" >&2; die "image import failed"; }
	rm -rf "$dir/image"
}

cmd_start() {
	local kind=$1 dir=$2 n=${3:-3} k
	use_kind "$kind"
	cmd_sweep "$dir"
	mkdir -p "$dir"
	chmod 0711 "$dir"
	[ -z "$(ls -A "$dir")" ] || die "$dir is not empty"
	if [ -n "${LXD_ENV_OWNER:-}" ]; then
		echo "$LXD_ENV_OWNER $("$HERE/lxd-env.sh" start-time \
			"$LXD_ENV_OWNER")" >"$dir/owner"
	fi
	echo "$kind" >"$dir/kind"
	echo "$n" >"$dir/members"
	pick_net >"$dir/net"
	for k in $(seq "$n"); do
		mkdir -m 0711 "$dir/member$k"
	done
	"$HERE/lxd-env.sh" subids
	run_daemon "$dir" 1
	init_member "$dir" 1 "$(bootstrap_preseed "$(address "$dir" 1)")"
	for k in $(seq 2 "$n"); do
		local token
		token=$(join_token "$dir" "$k")
		run_daemon "$dir" "$k"
		init_member "$dir" "$k" \
			"$(join_preseed "$(address "$dir" "$k")" "$k" "$token")"
	done
	import_image "$dir"
}

# launch|create on member @k.
instances() {
	local verb=$1 dir=$2 k=$3 name
	shift 3
	use_member "$dir" "$k"
	for name in "$@"; do
		"$CLIENT" "$verb" busybox "$name" --target "member$k" \
			</dev/null >/dev/null 2>"$dir/launch.err" ||
			{ cat "$dir/launch.err" >&2; die "$verb $name failed"; }
	done
}

cmd_launch() { instances launch "$@"; }
cmd_create() { instances init "$@"; }

# Creates the instances PREFIX1..N that member @k lacks, four requests at
# a time (`query` waits for each one's operation).
create_missing() {
	local dir=$1 k=$2 prefix=$3 n=$4 i j=0 have
	have=" $("$CLIENT" list -f csv -c n "$prefix" 2>/dev/null | tr '\n' ' ') "
	for i in $(seq "$n"); do
		[[ $have == *" $prefix$i "* ]] && continue
		"$CLIENT" query -X POST "/1.0/instances?target=member$k" \
			--data "{\"name\": \"$prefix$i\", \"source\": {\"type\": \"none\"}}" \
			</dev/null >/dev/null 2>>"$dir/empty.err" &
		j=$((j + 1))
		if [ $((j % 4)) = 0 ]; then wait || true; fi
	done
	wait || true
}

# On a loaded machine a create may fail (a busy database): those are made
# again, up to three passes.
cmd_empty() {
	local dir=$1 k=$2 prefix=$3 n=$4
	use_member "$dir" "$k"
	for _ in 1 2 3; do
		create_missing "$dir" "$k" "$prefix" "$n"
		[ "$("$CLIENT" list -f csv -c n "$prefix" | grep -c "^$prefix")" -lt "$n" ] ||
			return 0
	done
	grep -v "first\|launch\|^$" "$dir/empty.err" | tail -5 >&2
	die "not all $n instances made"
}

cmd_client() {
	local dir=$1 k=$2
	shift 2
	use_member "$dir" "$k"
	exec "$CLIENT" "$@"
}

# Whether @pid is member @k's daemon: alive, no zombie, with its log file
# on its command line (a reused pid is never killed).
daemon_alive() {
	local pid=$1 m=$2
	[ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
	[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$m/daemon.log"
}

member_pid() {
	cat "$1/member$2/daemon.pid" 2>/dev/null || true
}

# Stops member @k's daemon (SIGTERM: it exits, its instances keep running
# under their monitors, as when a host's LXD crashes), SIGKILL after 10 s.
kill_daemon() {
	local dir=$1 k=$2 m=$1/member$2 pid
	pid=$(member_pid "$dir" "$k")
	daemon_alive "$pid" "$m" || return 0
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 100); do
		daemon_alive "$pid" "$m" || return 0
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null || true
}

cmd_halt() {
	kill_daemon "$1" "$2"
}

# Until member1 sees every member online and every instance's state: a
# member's waitready comes before the others reach it again (Incus answers
# "Server isn't ready yet" for its instances a while longer).
wait_healthy() {
	local dir=$1 list
	use_member "$dir" 1
	for _ in $(seq 600); do
		list=$("$CLIENT" cluster list -f csv 2>/dev/null; "$CLIENT" list \
			-f csv -c s 2>/dev/null) || list=ERROR
		grep -qE 'OFFLINE|ERROR|^$' <<<"$list" || return 0
		sleep 0.1
	done
	die "member1 does not see every member again after 60 s"
}

cmd_resume() {
	run_daemon "$1" "$2"
	wait_healthy "$1"
}

# Stops every instance through any member that answers.
stop_instances() {
	local dir=$1 k n
	n=$(cat "$dir/members" 2>/dev/null || echo 0)
	for k in $(seq "$n"); do
		daemon_alive "$(member_pid "$dir" "$k")" "$dir/member$k" || continue
		(
			use_member "$dir" "$k"
			timeout 60 "$CLIENT" stop --all --force </dev/null >/dev/null 2>&1
		) && return 0
	done
	return 0
}

# Whatever still runs from DIR (container monitors and their inits, a
# daemon whose pid file was lost): found by DIR on its command line or as
# its working directory... the monitors name DIR/memberK/containers.
kill_leftovers() {
	local dir=$1 p
	for p in /proc/[0-9]*; do
		tr "\0" " " 2>/dev/null <"$p/cmdline" | grep -qF "$dir/member" ||
			continue
		kill -9 "${p#/proc/}" 2>/dev/null || true
	done
}

unmount_under() {
	local dir=$1 m
	awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { print $5 }' \
		/proc/self/mountinfo | sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null || true
	done
}

cmd_stop() {
	local dir=$1 k n
	[ -d "$dir" ] || return 0
	if [ -f "$dir/kind" ]; then
		stop_instances "$dir"
		n=$(cat "$dir/members")
		for k in $(seq "$n"); do
			kill_daemon "$dir" "$k" &
		done
		wait
	fi
	kill_leftovers "$dir"
	unmount_under "$dir"
	rm -rf "$dir"
}

owner_alive() {
	local pid="" start=""
	read -r pid start <"$1/owner" 2>/dev/null || return 1
	[ -n "$pid" ] && [ -n "$start" ] &&
		[ "$("$HERE/lxd-env.sh" start-time "$pid")" = "$start" ]
}

cmd_sweep() {
	local d
	for d in "$(dirname "$1")"/devpass-cluster.*; do
		if [ "$d" = "$1" ] || [ ! -f "$d/owner" ] || owner_alive "$d"; then
			continue
		fi
		mkdir "$d/.sweeping" 2>/dev/null || continue
		echo "cluster-env.sh: stopping the stale cluster in $d" \
			"(its test program, pid $(cut -d' ' -f1 "$d/owner"), is gone)" >&2
		(cmd_stop "$d") || {
			echo "cluster-env.sh: could not remove $d" >&2
			rmdir "$d/.sweeping" 2>/dev/null || true
		}
	done
}

case "${1:-}" in
start)
	[ $# -ge 3 ] || die "usage: $0 start lxd|incus DIR [N]"
	shift
	cmd_start "$@"
	;;
launch | create | empty | client | halt | resume)
	cmd=$1
	shift
	[ $# -ge 2 ] || die "usage: $0 $cmd DIR K ..."
	"cmd_$cmd" "$@"
	;;
stop | sweep)
	cmd=$1
	shift
	[ $# -ge 1 ] || die "usage: $0 $cmd DIR"
	"cmd_$cmd" "$1"
	;;
*)
	echo "usage: $0 start|launch|create|client|halt|resume|stop|sweep ..." >&2
	exit 2
	;;
esac
