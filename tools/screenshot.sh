#!/usr/bin/env bash
# Usage (inside tests/testbed/run.sh's desktop): tools/screenshot.sh OUT.png [HANGAR ARGS...]
# Starts Hangar, waits until its window is drawn, saves the window alone, stops Hangar by PID.
set -euo pipefail
out=$1
shift
binary=${HANGAR_BINARY:-target/debug/hangar}
"$binary" "$@" &
app=$!
trap 'kill "$app" 2>/dev/null || true; wait "$app" 2>/dev/null || true' EXIT
window=""
for _ in $(seq 100); do
  window=$(xdotool search --onlyvisible --pid "$app" 2>/dev/null | head -n1 || true)
  [[ -n $window ]] && break
  sleep 0.1
done
[[ -n $window ]] || { echo "screenshot: no window from Hangar" >&2; exit 1; }
sleep "${SCREENSHOT_DELAY:-2}"
mkdir -p "$(dirname "$out")"
import -window "$window" "$out"
echo "saved $out"
