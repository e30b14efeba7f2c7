#!/usr/bin/env bash
# clang-format over the C sources and headers of decoder/, shim/ and
# tests/, with the style in .clang-format.
#
#   scripts/format.sh           rewrite the files in place (make format)
#   scripts/format.sh --check   change nothing; print the files that differ
#                               and how many, exit 1 if any does
set -u
cd "$(dirname "$0")/.."
CLANG_FORMAT=${CLANG_FORMAT:-clang-format}

if ! command -v "$CLANG_FORMAT" >/dev/null; then
	echo "format: $CLANG_FORMAT not found (bash scripts/deps.sh installs it)" >&2
	exit 2
fi
mapfile -t files < <(find decoder shim tests -name '*.[ch]' -type f | LC_ALL=C sort)

case ${1:-} in
'')
	exec "$CLANG_FORMAT" -i --style=file "${files[@]}"
	;;
--check)
	differ=0
	for f in "${files[@]}"; do
		if ! "$CLANG_FORMAT" --dry-run -Werror --style=file "$f" >/dev/null 2>&1; then
			echo "format: $f differs"
			differ=$((differ + 1))
		fi
	done
	echo "format: $differ of ${#files[@]} files differ from .clang-format (make format rewrites them)"
	[ "$differ" -eq 0 ]
	;;
*)
	echo "usage: $0 [--check]" >&2
	exit 2
	;;
esac
