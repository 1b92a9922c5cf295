#!/bin/bash
# The whole test run, as README.md gives it: install what is needed on a
# fresh Debian 12, build with gcc -Werror and run every suite, build with
# clang + ASan/UBSan and run them again (devpassd itself sanitized in the
# integration tests), boot the hardware lab (QEMU guests, tests/lab/), fuzz
# every target for a bounded time. Ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
# Nothing this run writes may be group-writable: devpass refuses such rules.
umask 022

PACKAGES=(meson ninja-build pkg-config gcc clang clang-format libclang-rt-14-dev python3
	libudev-dev libpci-dev libcurl4-openssl-dev
	libjson-c-dev libcmocka-dev libumockdev-dev umockdev
	lxd lxd-client busybox-static pciutils usbutils
	scdoc bash-completion systemd
	qemu-system-x86 debootstrap cpio e2fsprogs)

FUZZ_SECONDS=${FUZZ_SECONDS:-30}
passed=0
failed=0

note() { printf '\n=== %s\n' "$*"; }

install_packages() {
	if [ "$(id -u)" != 0 ]; then
		echo "ci.sh: run as root (it installs packages and starts a private LXD)" >&2
		exit 2
	fi
	note "installing packages"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null || { echo "apt-get update failed" >&2; exit 2; }
	apt-get install -y -q "${PACKAGES[@]}" >/dev/null ||
		{ echo "apt-get install failed" >&2; exit 2; }
	install_incus
}

# Incus 6.0 (LTS) is in bookworm-backports only: the integration tests run
# devpassd against it beside LXD 5.0.2 (tests/lxd/lxd-env.sh).
install_incus() {
	local src=/etc/apt/sources.list.d/bookworm-backports.sources
	if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
		printf '%s\n' "Types: deb" "URIs: http://deb.debian.org/debian" \
			"Suites: bookworm-backports" "Components: main" >"$src"
		apt-get update -q >/dev/null ||
			{ echo "apt-get update (bookworm-backports) failed" >&2; exit 2; }
	fi
	apt-get install -y -q -t bookworm-backports incus >/dev/null ||
		{ echo "apt-get install -t bookworm-backports incus failed" >&2; exit 2; }
}

# The integration results of each real server side by side: one row per
# test program, a column per server ("OK 13.8s").
show_servers() {
	grep -E ' on (LXD|Incus)( [0-9.]+)? +[A-Z]' "$1" |
		sed -E 's/^ *[0-9]+\/[0-9]+ devpass:integration \/ //;
			s/ on (LXD|Incus)( [0-9.]+)? +([A-Z]+) +([0-9.]+s).*/|\1\2|\3 \4/' |
		awk -F'|' '
			!($1 in row) { order[n++] = $1; row[$1] = "" }
			!($2 in col) { cols[m++] = $2; col[$2] = 1 }
			{ cell[$1, $2] = $3 }
			END {
				if (!n) exit
				printf "\nreal servers, side by side:\n%-72s", ""
				for (j = 0; j < m; j++) printf "  %-16s", cols[j]
				printf "\n"
				for (i = 0; i < n; i++) {
					printf "%-72.72s", order[i]
					for (j = 0; j < m; j++)
						printf "  %-16s", ((order[i], cols[j]) in cell) ? cell[order[i], cols[j]] : "-"
					printf "\n"
				}
			}'
}

# Adds the counts of one `meson test` run (its "Ok:"/"Fail:" summary lines).
count_meson() {
	local log=$1 ok fail timeout
	ok=$(awk '/^Ok:/ {print $2}' "$log" | tail -1)
	fail=$(awk '/^Fail:/ {print $2}' "$log" | tail -1)
	timeout=$(awk '/^Timeout:/ {print $2}' "$log" | tail -1)
	passed=$((passed + ${ok:-0}))
	failed=$((failed + ${fail:-0} + ${timeout:-0}))
	# A leg that failed to build or ran nothing counts as one failure.
	if [ -z "$ok" ]; then failed=$((failed + 1)); fi
}

run_meson_leg() {
	local name=$1 dir=$2; shift 2
	local log
	log=$(mktemp)
	note "$name"
	if ! ninja -C "$dir" >"$log" 2>&1; then
		cat "$log"; echo "$name: build failed"
		failed=$((failed + 1)); rm -f "$log"; return
	fi
	meson test -C "$dir" --print-errorlogs "$@" 2>&1 | tee "$log"
	show_servers "$log"
	count_meson "$log"
	rm -f "$log"
}

leg_gcc() {
	rm -rf build-ci
	CC=gcc meson setup build-ci --prefix=/usr -Dwerror=true -Dtests=enabled \
		-Dumockdev=enabled -Dman=enabled >/dev/null || { failed=$((failed + 1)); return; }
	run_meson_leg "gcc -Werror: all suites" build-ci \
		--suite unit --suite umockdev --suite host --suite integration
}

# The hardware lab: QEMU guests with a real kernel (tests/lab/), devpass
# from build-ci installed in them. The guest image is cached in
# /var/cache/devpass-lab (about 80 s to build when missing or stale).
leg_lab() {
	run_meson_leg "lab: a real kernel, systemd and LXD in a QEMU guest" build-ci \
		--suite lab
}

leg_asan() {
	rm -rf build-asan
	CC=clang meson setup build-asan -Dwerror=true -Dtests=enabled \
		-Db_sanitize=address,undefined -Db_lundef=false \
		>/dev/null || { failed=$((failed + 1)); return; }
	# Its tests run in reverse order: none may rely on an earlier one.
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	DEVPASS_TEST_ORDER=reverse \
		run_meson_leg "clang ASan+UBSan: all suites, tests in reverse order" build-asan \
			--suite unit --suite umockdev --suite host --suite integration
}

leg_fuzz() {
	rm -rf build-fuzz
	note "fuzz: every target (rules, websocket, events, envelope, device), ${FUZZ_SECONDS}s each"
	CC=clang meson setup build-fuzz -Dfuzz=true -Dtests=enabled \
		-Db_sanitize=address,undefined -Db_lundef=false >/dev/null &&
		ninja -C build-fuzz >/dev/null || { failed=$((failed + 1)); return; }
	local t work
	for t in build-fuzz/tests/fuzz/fuzz-*; do
		[ -f "$t" ] && [ -x "$t" ] || continue
		work=$(mktemp -d)
		cp -r "tests/fuzz/corpus/${t##*/fuzz-}/." "$work/" 2>/dev/null
		if "$t" -max_total_time="$FUZZ_SECONDS" -max_len=4096 \
			-timeout=10 -rss_limit_mb=2048 "$work" \
			>"$work.log" 2>&1; then
			echo "${t##*/}: clean ($(grep -o 'Done [0-9]* runs' "$work.log"))"
			passed=$((passed + 1))
		else
			tail -40 "$work.log"; echo "${t##*/}: FAILED"
			failed=$((failed + 1))
		fi
		rm -rf "$work" "$work.log"
	done
}

[ "${DEVPASS_SKIP_INSTALL:-}" = 1 ] || install_packages
leg_gcc
leg_lab
leg_asan
leg_fuzz
echo
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
