#!/usr/bin/env bash
# Usage (inside tests/testbed/run.sh's desktop): tools/screenshot.sh OUT.png [HANGAR ARGS...]
# Starts Hangar, waits until its window is drawn, saves the window alone, stops Hangar by PID.
# SCREENSHOT_WINDOW names the window to save when Hangar opens several (a details page).
set -euo pipefail
out=$1
shift
binary=${HANGAR_BINARY:-target/debug/hangar}
"$binary" "$@" &
app=$!
trap 'kill "$app" 2>/dev/null || true; wait "$app" 2>/dev/null || true' EXIT
window=""
for _ in $(seq 100); do
  window=$(xdotool search --all --onlyvisible --pid "$app" --name "${SCREENSHOT_WINDOW:-.}" 2>/dev/null | head -n1 || true)
  [[ -n $window ]] && break
  sleep 0.1
done
[[ -n $window ]] || { echo "screenshot: no window from Hangar" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
# Saved once two captures half a second apart are the same: the window has finished drawing
# (list loaded, animations over). At most SCREENSHOT_TIMEOUT seconds (default 20). Compared as
# PPM, which carries no timestamps.
shots=$(mktemp -d)
trap 'rm -rf "$shots"; kill "$app" 2>/dev/null || true; wait "$app" 2>/dev/null || true' EXIT
import -window "$window" "$shots/previous.ppm"
deadline=$((SECONDS + ${SCREENSHOT_TIMEOUT:-20}))
while true; do
  sleep 0.5
  import -window "$window" "$shots/current.ppm"
  if cmp -s "$shots/previous.ppm" "$shots/current.ppm"; then break; fi
  if ((SECONDS >= deadline)); then
    echo "screenshot: the window kept changing; saving the last capture" >&2
    break
  fi
  mv "$shots/current.ppm" "$shots/previous.ppm"
done
import -window "$window" -define png:exclude-chunks=date,time "$out"
echo "saved $out"
