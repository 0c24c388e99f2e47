#!/bin/sh
# Renders an HTML page (a pprsim report) as a person sees it, with headless Chromium, into a PNG.
# Usage: tools/screenshot.sh PAGE.html OUT.png [WIDTH [HEIGHT]]   (default 1200 x 1600 pixels)
# OUT must be a regular file (or not exist yet); it is replaced only by a complete picture.
# Exit status: 0 written, 1 the browser drew nothing, 2 bad usage or no browser.
set -eu

if [ $# -lt 2 ] || [ $# -gt 4 ]; then
  echo "usage: tools/screenshot.sh PAGE.html OUT.png [WIDTH [HEIGHT]]" >&2
  exit 2
fi
page=$1 out=$2 width=${3:-1200} height=${4:-1600}
case $width$height in *[!0-9]*|'') echo "screenshot.sh: WIDTH and HEIGHT are pixel counts" >&2; exit 2 ;; esac
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
  echo "screenshot.sh: no Chromium found (Debian: apt-get install chromium)" >&2
  exit 2
fi
[ -f "$page" ] || { echo "screenshot.sh: $page: no such page" >&2; exit 2; }
if [ -e "$out" ] && [ ! -f "$out" ]; then
  echo "screenshot.sh: $out: not a regular file; nothing written" >&2
  exit 2
fi
case $page in /*) ;; *) page=$(pwd)/$page ;; esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
# --no-sandbox: root cannot run Chromium's sandbox; the page is self-contained and fetches nothing.
# --run-all-compositor-stages-before-draw: the picture is taken of a frame whose every tile is
# drawn. Without it a busy machine can photograph a frame with tiles not yet rastered, which come
# out white (seen once in CI: the heap map's double allocation white at its centre).
timeout 120 "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
  --run-all-compositor-stages-before-draw \
  --user-data-dir="$tmp/profile" --window-size="$width,$height" --screenshot="$tmp/shot.png" \
  "file://$page" >/dev/null 2>&1 || true
if [ ! -s "$tmp/shot.png" ]; then
  echo "screenshot.sh: $browser drew nothing for $page" >&2
  exit 1
fi
mv "$tmp/shot.png" "$out"
