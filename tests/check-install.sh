#!/bin/bash
# `meson install --destdir` of this build holds what a system daemon needs,
# where the build was configured to put it, and systemd accepts the unit:
#   check-install.sh BUILD_DIR MAN(true|false) KEY=PATH...
# with the keys bindir sbindir unitdir mandir completiondir rulesdir
# vendorrulesdir examplesdir (absolute, as meson.build computed them).
# `systemd-analyze verify --root` checks the installed unit inside the
# staged tree, so its ExecStart= must name the devpassd installed there;
# the host's own units (the targets the unit pulls in) and the programs
# its other Exec*= lines name are copied in beside it.
set -u
BUILD=$1 MAN=$2
shift 2
declare -A dir
for kv in "$@"; do dir[${kv%%=*}]=${kv#*=}; done

D=$(mktemp -d /tmp/devpass-install.XXXXXX)
trap 'rm -rf "$D" "$D.log"' EXIT
# meson kills a test that runs too long with SIGTERM: clean up then too.
trap 'exit 143' TERM
trap 'exit 130' INT
failed=0
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
ok() { echo "ok: $*"; }

if ! meson install -C "$BUILD" --destdir "$D" --no-rebuild --quiet \
	>"$D.log" 2>&1; then
	cat "$D.log"; rm -f "$D.log"
	echo "FAIL: meson install"; exit 1
fi
rm -f "$D.log"

echo "installed:"
(cd "$D" && find . -mindepth 1 ! -type d | sed 's/^\./  /' | sort)

is_exec() { [ -x "$D$1" ] && [ -f "$D$1" ] && ok "$1" || fail "$1 missing"; }
is_file() { [ -f "$D$1" ] && ok "$1" || fail "$1 missing"; }

is_exec "${dir[bindir]}/devpass"
is_exec "${dir[sbindir]}/devpassd"
unit=${dir[unitdir]}/devpass.service
is_file "$unit"
if [ "$MAN" = true ]; then
	is_file "${dir[mandir]}/man1/devpass.1"
	is_file "${dir[mandir]}/man8/devpassd.8"
	is_file "${dir[mandir]}/man5/devpass.rules.5"
	# roff writes a '-' as "\-", and "\&" where a '.' may end a sentence
	sed 's/\\-/-/g; s/\\&//g' "$D${dir[mandir]}/man5/devpass.rules.5" |
		grep -qF "${dir[rulesdir]}" &&
		ok "devpass.rules(5) names ${dir[rulesdir]}" ||
		fail "devpass.rules(5) does not name ${dir[rulesdir]}"
else
	echo "(man pages not built: no scdoc)"
fi
is_file "${dir[completiondir]}/devpass"
[ "$(readlink "$D${dir[completiondir]}/devpassd")" = devpass ] &&
	ok "${dir[completiondir]}/devpassd -> devpass" ||
	fail "${dir[completiondir]}/devpassd is not a link to devpass"

# The admin's rules directory: there, empty, 0755, root's when installed
# by root (meson cannot chown as another user).
r=$D${dir[rulesdir]}
if [ -d "$r" ] && [ "$(stat -c %a "$r")" = 755 ] &&
	[ -z "$(ls -A "$r")" ]; then
	ok "${dir[rulesdir]}: empty, 0755"
else
	fail "${dir[rulesdir]}: not an empty 0755 directory"
fi
if [ "$(id -u)" = 0 ] && [ "$(stat -c %u:%g "$r")" != 0:0 ]; then
	fail "${dir[rulesdir]} belongs to $(stat -c %U:%G "$r"), not root"
fi

# Every example of the source tree, beside its README, and none of them
# where the daemon reads rules.
src=$(dirname "$0")/../rules
for f in "$src"/*.rules; do
	is_file "${dir[examplesdir]}/${f##*/}"
	for rd in rulesdir vendorrulesdir; do
		[ -e "$D${dir[$rd]}/${f##*/}" ] &&
			fail "${f##*/} installed as a rule in ${dir[$rd]}"
	done
done
is_file "${dir[examplesdir]}/README"
grep -q "cp ${dir[examplesdir]}/.* ${dir[rulesdir]}/" \
	"$D${dir[examplesdir]}/README" &&
	ok "the examples' README says how to enable one" ||
	fail "the examples' README does not say how to enable one"

# The installed programs search the directories this build configured.
help=$("$D${dir[sbindir]}/devpassd" --help)
for rd in rulesdir vendorrulesdir; do
	[[ $help == *"${dir[$rd]}"* ]] && ok "devpassd searches ${dir[$rd]}" ||
		fail "devpassd --help does not name ${dir[$rd]}"
done

# The unit starts the devpassd that was installed.
exec_start=$(sed -n 's/^ExecStart=[-@:+!]*\([^ ]*\).*/\1/p' "$D$unit")
[ "$exec_start" = "${dir[sbindir]}/devpassd" ] &&
	ok "ExecStart=$exec_start" ||
	fail "ExecStart=$exec_start, but devpassd is ${dir[sbindir]}/devpassd"

# systemd-analyze verify, in the staged tree.
mkdir -p "$D/usr/lib/systemd"
cp -a /usr/lib/systemd/system "$D/usr/lib/systemd/" 2>/dev/null ||
	cp -a /lib/systemd/system "$D/usr/lib/systemd/"
sed -n 's/^Exec[A-Za-z]*=[-@:+!]*\(\/[^ ]*\).*/\1/p' "$D$unit" |
	while read -r prog; do
		[ -e "$D$prog" ] && continue
		mkdir -p "$D$(dirname "$prog")" && cp "$prog" "$D$prog"
	done
out=$(systemd-analyze verify --man=no --root="$D" "$D$unit" 2>&1)
rc=$?
if [ $rc = 0 ] && [ -z "$out" ]; then
	ok "systemd-analyze verify $unit: clean"
else
	fail "systemd-analyze verify $unit (exit $rc):"
	echo "$out"
fi

echo "$failed failed"
[ "$failed" = 0 ]
