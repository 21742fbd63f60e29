#!/usr/bin/env bash
# Writes the King James text (Debian's bible-kjv) as plain prose, without chapter headings or
# verse numbers, for the fine-tuning benchmark: scripts/prepare-kjv.sh [OUT] (default runs/kjv.txt).
set -euo pipefail
out=${1:-runs/kjv.txt}
command -v bible >/dev/null || { echo "needs Debian's bible-kjv: apt-get install bible-kjv" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
bible -m 8192 gen1:1-rev22:21 \
  | sed -E '/^[1-3]? ?[A-Z][A-Za-z ]+ [0-9]+$/d; s/^ +[0-9]+ //' \
  | cat -s > "$out.tmp"
mv "$out.tmp" "$out"
echo "$out"
