#!/usr/bin/env bash
# Checks that every C++ file under src/, bench/ and examples/ (.cc, .h) is formatted as the
# repository's .clang-format says (Google style, 90 columns), with clang-format-14 so that
# every machine gets the same answer. Exits non-zero and names the files that differ.
#   scripts/check_format.sh          check only (scripts/test.sh runs this)
#   scripts/check_format.sh --fix    rewrite the files in place
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
clang_format="${CLANG_FORMAT:-clang-format-14}"
if ! command -v "$clang_format" >/dev/null; then
  echo "check_format: $clang_format not found (scripts/install_deps.sh test installs it)" >&2
  exit 2
fi
mode="check"
case "${1:-}" in
  "") ;;
  --fix) mode="fix" ;;
  *) echo "usage: scripts/check_format.sh [--fix]" >&2; exit 2 ;;
esac

# Tracked and new (not ignored) files, so generated code in build/ is never touched.
mapfile -t files < <(git ls-files --cached --others --exclude-standard -- \
  'src/*.cc' 'src/*.h' 'bench/*.cc' 'bench/*.h' 'examples/*.cc' 'examples/*.h' | sort -u)
if ((${#files[@]} == 0)); then
  echo "check_format: no C++ files found" >&2
  exit 2
fi

if [ "$mode" = fix ]; then
  printf '%s\0' "${files[@]}" | xargs -0 -n 50 "$clang_format" -i --style=file
  echo "check_format: formatted ${#files[@]} files"
  exit 0
fi

# One clang-format process for all files; it names each file that differs in its messages.
report="$(printf '%s\0' "${files[@]}" |
  xargs -0 -n 100 "$clang_format" --dry-run -Werror --style=file 2>&1 || true)"
mapfile -t bad < <(printf '%s\n' "$report" |
  sed -n -E 's/^(.*):[0-9]+:[0-9]+: (error|warning): code should be clang-formatted.*/\1/p' |
  sort -u)
if ((${#bad[@]})); then
  echo "check_format: ${#bad[@]} of ${#files[@]} files are not formatted (run scripts/check_format.sh --fix):" >&2
  printf '  %s\n' "${bad[@]}" >&2
  head -n 12 <<<"$report" >&2
  exit 1
fi
if [ -n "$report" ]; then  # clang-format itself failed (a parse error, a bad .clang-format)
  head -n 20 <<<"$report" >&2
  exit 1
fi
echo "check_format: ${#files[@]} files formatted"
