#!/bin/bash
# Fails when a source file of daemon/ or include/ differs from what
# clang-format makes of it (.clang-format). Skips (77) without clang-format.
set -u
root=${1:-$(dirname "$0")/..}
cd "$root" || exit 2
command -v clang-format >/dev/null || { echo "no clang-format: skipped"; exit 77; }

bad=0
files=(daemon/*.c daemon/*/*.[ch] include/devpass/*/*.h)
for f in "${files[@]}"; do
	if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
		echo "$f: not clang-formatted (clang-format -i $f)" >&2
		bad=$((bad + 1))
	fi
done
echo "format: ${#files[@]} files checked, $bad unformatted"
[ "$bad" = 0 ]
