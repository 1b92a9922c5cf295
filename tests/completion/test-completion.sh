#!/bin/bash
# The bash completion of devpass and devpassd, as bash-completion loads it:
# each case fills COMP_WORDS as bash splits the line (at blanks and at the
# characters of COMP_WORDBREAKS, ':' and '=' among them), calls the
# completion function and compares COMPREPLY.
#
# Run by meson (suite umockdev) as:
#   umockdev-run -d RECORDING... -- test-completion.sh COMPLETION BUILD_DIR
# so that the built `devpass list --json` sees the recorded keyboard and two
# PCI functions. LXD is a stub `lxc` on PATH printing what
# `lxc list --format csv --columns n` prints (one name a line), and one
# that hangs, to show a server that does not answer costs at most ~2 s.
set -u
COMPLETION=$1 BUILD=$2
WORK=$(mktemp -d /tmp/devpass-completion.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
# meson kills a test that runs too long with SIGTERM: clean up then too.
trap 'exit 143' TERM
trap 'exit 130' INT

# shellcheck source=/dev/null
. /usr/share/bash-completion/bash_completion || exit 1
# shellcheck source=/dev/null
. "$COMPLETION" || exit 1

mkdir "$WORK/bin" "$WORK/rules" "$WORK/rules2"
ln -s "$BUILD/daemon/devpass" "$WORK/bin/devpass"
cat >"$WORK/bin/lxc" <<'EOF'
#!/bin/sh
[ "$*" = "list --format csv --columns n" ] || exit 1
printf 'kiosk-1\nkiosk-2\nlab-1\n'
EOF
# Incus is tried after LXD; here it has no server, as the real client
# says when its socket is absent.
printf '#!/bin/sh\necho "Error: no server" >&2\nexit 1\n' >"$WORK/bin/incus"
chmod +x "$WORK/bin/lxc" "$WORK/bin/incus"
PATH=$WORK/bin:$PATH
cd "$WORK" || exit 1

failed=0

# Splits @1 into COMP_WORDS as bash does for completion.
split_line() {
	local line=$1 word="" c i
	COMP_WORDS=()
	for ((i = 0; i < ${#line}; i++)); do
		c=${line:i:1}
		if [[ $c == " " ]]; then
			[[ -n $word ]] && COMP_WORDS+=("$word")
			word=""
		elif [[ $COMP_WORDBREAKS == *"$c"* ]]; then
			[[ -n $word ]] && COMP_WORDS+=("$word")
			COMP_WORDS+=("$c")
			word=""
		else
			word+=$c
		fi
	done
	COMP_WORDS+=("$word") # the word being completed, maybe empty
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE=$line COMP_POINT=${#line}
}

# complete LINE WANT...: COMPREPLY for LINE (completed at its end) must be
# exactly WANT (in any order).
complete_is() {
	local line=$1 fn got want
	shift
	split_line "$line"
	fn=$(complete -p "${COMP_WORDS[0]}" | sed 's/.* -F \([^ ]*\) .*/\1/')
	COMPREPLY=()
	"$fn" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" \
		"${COMP_WORDS[COMP_CWORD - 1]}"
	got=$(printf '%s\n' "${COMPREPLY[@]}" | sort | xargs)
	want=$(printf '%s\n' "$@" | sort | xargs)
	if [[ $got == "$want" ]]; then
		echo "ok: '$line' -> $got"
	else
		echo "FAIL: '$line': got '$got', want '$want'"
		failed=$((failed + 1))
	fi
}

complete_is "devpass " list check explain generate iommu status
complete_is "devpass ex" explain
complete_is "devpass --" --help --version
complete_is "devpass list --" --json --rules-dir --help
complete_is "devpass status --" --json --control --help
complete_is "devpass generate --" --instance --allow-host-device --help
complete_is "devpass explain --" --rules-dir --socket --help
complete_is "devpass check --" --rules-dir --help
complete_is "devpass iommu --" --json --help
complete_is "devpass explain 1-1.5.4.2 --socket ru" rules rules2
# --socket takes a value (not the command), --allow-host-device does not.
complete_is "devpass --socket rules explain 1-1.5.4." 1-1.5.4.2
complete_is "devpass generate --allow-host-device 0000:00:0" 02.0 05.0
complete_is "devpass generate --allow-host-device 1-1.5.4.2 " # one DEVICE only
complete_is "devpass list --rules-dir ru" rules rules2
complete_is "devpass explain 1-1.5" 1-1.5 1-1.5.4 1-1.5.4.2
# bash replaces only the text after the last ':' (a word break): "0".
complete_is "devpass explain 0000:00:0" 02.0 05.0
complete_is "devpass explain 0000:00:1" 1a.0
complete_is "devpass --rules-dir rules explain 1-1.5.4." 1-1.5.4.2
complete_is "devpass explain 1-1.5.4.2 " # one DEVICE only
complete_is "devpass list 1-" # list takes no DEVICE
complete_is "devpass generate 1-1.5.4.2 --instance " kiosk-1 kiosk-2 lab-1
complete_is "devpass generate 1-1.5.4.2 --instance=k" kiosk-1 kiosk-2
complete_is "devpassd --log-level " debug info notice warning err
complete_is "devpassd --d" --dry-run
complete_is "devpassd --rules-dir rules --o" --once

# No LXD: no names, no error text. A client that hangs is given up on.
cp "$WORK/bin/incus" "$WORK/bin/lxc"
complete_is "devpass generate 1-1 --instance " # nothing to offer
printf '#!/bin/sh\nexec sleep 30\n' >"$WORK/bin/lxc"
chmod +x "$WORK/bin/lxc"
start=$(date +%s%N)
complete_is "devpass generate 1-1 --instance "
ms=$((($(date +%s%N) - start) / 1000000))
# timeout 2 in the completion; 3 s of margin for a loaded machine.
if ((ms > 5000)); then
	echo "FAIL: a hanging lxc held completion for $ms ms"
	failed=$((failed + 1))
else
	echo "ok: a hanging lxc held completion for $ms ms"
fi

echo "$failed failed"
[ "$failed" = 0 ]
