#!/bin/bash
# Fails when an #include crosses a layer the wrong way. The folders under
# daemon/ and include/devpass/ are the layers; each may include only those
# it sits on (CONTRIBUTING.md, "Layout"):
#   util <- model <- rules <- plan <- service <- cli
#   util <- lxd <- service
# A header private to a folder (daemon/LAYER/x.h) is included by name from
# that folder only; nothing reaches another folder with "../".
set -u
root=${1:-$(dirname "$0")/..}
cd "$root" || exit 2

declare -A allowed=(
	[util]="util"
	[model]="util model"
	[rules]="util model rules"
	[plan]="util model rules plan"
	[lxd]="util lxd"
	[service]="util model rules plan lxd service"
	[cli]="util model rules plan lxd service cli"
)

bad=0
checked=0
complain() {
	echo "$1:$2: $3" >&2
	bad=$((bad + 1))
}

for layer in "${!allowed[@]}"; do
	for f in daemon/"$layer"/*.[ch] include/devpass/"$layer"/*.h; do
		[ -f "$f" ] || continue
		checked=$((checked + 1))
		while IFS=: read -r line target; do
			case $target in
			devpass/*/*)
				to=${target#devpass/}
				to=${to%%/*}
				[[ " ${allowed[$layer]} " == *" $to "* ]] ||
					complain "$f" "$line" "$layer/ must not include $target ($layer sits on: ${allowed[$layer]})"
				;;
			*/* | ../*)
				complain "$f" "$line" "\"$target\" reaches outside its folder"
				;;
			config.h) ;;
			*)
				[ -f "$(dirname "$f")/$target" ] ||
					complain "$f" "$line" "\"$target\" is no header of $(dirname "$f")/"
				;;
			esac
		done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" |
			sed 's/^\([0-9]*\):[^"]*"\([^"]*\)".*/\1:\2/')
	done
done

# Every folder is a layer: a new one needs a line above.
for d in daemon/*/ include/devpass/*/; do
	layer=$(basename "$d")
	[ -n "${allowed[$layer]+x}" ] ||
		complain "$d" 0 "folder $layer is no layer of tests/check-layers.sh"
done

echo "layers: $checked files checked, $bad crossing(s)"
[ "$bad" = 0 ]
