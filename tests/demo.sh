#!/bin/bash
# devpass, shown end to end on a fresh Debian 12 machine: install what is
# needed, build, start a private LXD with containers, run devpassd with the
# example rules (plus rules generated for two recorded devices), plug and
# unplug devices, and show what went where: `devpass status` and the
# device nodes as the containers see them. Everything it starts it stops.
#
# The machine's real devices are shown with `devpass list` and `iommu`;
# devpassd itself runs under a umockdev testbed holding recorded devices
# (a Canon camera, a USB keyboard) and synthetic ones, since a build
# machine has no USB bus to plug into.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
BUILD=$SRC/build-demo

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# Each code block under README.md's "What it looks like" must appear, as
# consecutive lines, in the demo's output @1: what differs between runs
# (the work directory, times of day, milliseconds) is masked on both sides.
readme_excerpt_matches() {
	awk -v OUT="$1" '
	function norm(s) {
		gsub(/\/tmp\/devpass-demo\.[A-Za-z0-9]+/, "/tmp/devpass-demo.X", s)
		gsub(/[A-Z][a-z][a-z] +[0-9]+ [0-9][0-9]:[0-9][0-9]/, "DATE", s)
		gsub(/ [0-9]+ ms$/, " N ms", s)
		return s
	}
	function check(   i, j, ok) {
		blocks++
		for (i = 1; i + m - 1 <= n; i++) {
			ok = 1
			for (j = 1; j <= m && ok; j++)
				ok = o[i + j - 1] == b[j]
			if (ok) {
				print "block " blocks " (" m " lines): printed as shown"
				return
			}
		}
		bad++
		print "block " blocks " is not what the demo printed:"
		for (j = 1; j <= m; j++)
			print "  " b[j]
	}
	BEGIN { while ((getline l < OUT) > 0) o[++n] = norm(l) }
	/^## What it looks like/ { inside = 1; next }
	/^## / { inside = 0 }
	inside && /^```/ { if (fence) check(); fence = !fence; m = 0; next }
	inside && fence { b[++m] = norm($0) }
	END {
		if (!blocks) { print "no excerpt found in README.md"; exit 1 }
		exit bad > 0
	}' README.md
}

if [ "${DEVPASS_SKIP_INSTALL:-}" != 1 ]; then
	say "installing packages"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	apt-get install -y -q meson ninja-build pkg-config gcc libudev-dev \
		libpci-dev libcurl4-openssl-dev libjson-c-dev \
		libcmocka-dev libumockdev-dev umockdev lxd lxd-client \
		busybox-static >/dev/null
fi

say "building"
[ -d "$BUILD" ] || meson setup "$BUILD" >/dev/null
ninja -C "$BUILD" >/dev/null
PATH=$BUILD/daemon:$PATH

WORK=$(mktemp -d /tmp/devpass-demo.XXXXXX)
chmod 0711 "$WORK" # the containers' mapped root must reach their rootfs
export LXD_DIR=$WORK/lxd LXD_CONF=$WORK/lxd/client
cleanup() {
	"$SRC/tests/lxd/lxd-env.sh" stop "$LXD_DIR" || true
	rm -rf "$WORK"
}
trap cleanup EXIT

say "starting a private LXD with containers kiosk-1, kiosk-2 and lab-1"
"$SRC/tests/lxd/lxd-env.sh" start "$LXD_DIR"
"$SRC/tests/lxd/lxd-env.sh" launch "$LXD_DIR" kiosk-1 kiosk-2 lab-1
lxc list -c ns

say "this machine's real devices"
devpass list
devpass iommu

RULES=$WORK/rules.d
mkdir -p "$RULES"
cp "$SRC"/rules/*.rules "$RULES/"
CAMERA=1-1.5.2.3
KEYBOARD=1-1.5.4.2
say "rules for the recorded devices, written by \`devpass generate\`"
umockdev-run -d "$SRC/tests/data/canon-powershot-sx200.umockdev" -- \
	devpass generate "$CAMERA" --instance lab-1 >"$RULES/30-camera.rules"
umockdev-run -d "$SRC/tests/data/usb-keyboard.umockdev" -- \
	devpass generate "$KEYBOARD" --instance kiosk-2 >"$RULES/30-keyboard.rules"
chmod 0644 "$RULES"/*.rules
cat "$RULES/30-keyboard.rules"
devpass check --rules-dir "$RULES"

CONTROL=$WORK/control
# Every listing says what it lists: `devpass status`, or a command inside
# one container, shown as the command line that runs it.
cat >"$WORK/status" <<STATUS
#!/bin/sh
echo '\$ devpass status'
exec "$BUILD/daemon/devpass" status --control "$CONTROL"
STATUS
cat >"$WORK/in" <<'IN'
#!/bin/sh
c=$1
shift
echo "\$ lxc exec $c -- $*"
lxc exec "$c" -- "$@" 2>&1 || echo "($c: exit $?)"
IN
chmod +x "$WORK/status" "$WORK/in"
STATUS="run $WORK/status"
IN="host $WORK/in"
say "devpassd at work (recorded + synthetic devices in a umockdev testbed)"
LD_PRELOAD=libumockdev-preload.so.0 "$BUILD/tests/testbed-shell" 2>&1 <<SCRIPT | tee "$WORK/demo.out"
load canon-powershot-sx200.umockdev
load usb-keyboard.umockdev
start $BUILD/daemon/devpassd --rules-dir $RULES --socket $LXD_DIR/unix.socket --control $CONTROL --log-level notice
sleep 1500
echo
echo --- coldplug: the camera went to lab-1, the keyboard to kiosk-2
$STATUS
$IN lab-1 ls -l /dev/bus/usb/001
$IN kiosk-2 ls -l /dev/bus/usb/001 /dev/input
echo
echo --- plugging a Logitech webcam (serial A1B2C3D4) and a phone whose instance does not exist
plug 1-2 046d:082d A1B2C3D4
plug 1-3 18d1:4ee7 R58M42ABCDE
sleep 700
$STATUS
$IN kiosk-1 ls -l /dev/bus/usb/001
echo (100 is the webcam: its rule says Gid=44)
echo
echo --- kiosk-1 stops: the webcam falls back to kiosk-2 (its rule says Instance=kiosk-1 kiosk-2)
host lxc stop kiosk-1 --force
sleep 700
$STATUS
$IN kiosk-2 ls -l /dev/bus/usb/001
echo (kiosk-2 now has both: 009 the keyboard, 100 the webcam)
echo
echo --- unplugging the camera and the webcam
unplug $CAMERA
unplug 1-2
sleep 700
$STATUS
$IN lab-1 ls -l /dev/bus/usb/001
$IN kiosk-2 ls -l /dev/bus/usb/001
SCRIPT

say "README.md's excerpt against what this run printed"
readme_excerpt_matches "$WORK/demo.out"
say "done; the private LXD is being removed"
