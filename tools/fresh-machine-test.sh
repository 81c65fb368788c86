#!/usr/bin/env bash
# Usage: tools/fresh-machine-test.sh [REV]
#
# What a new user meets: removes every Debian package that tools/install-deps.sh installs
# (and what they pulled in), plus the X and test tools that are often installed by hand, then
# clones this repository at REV (default HEAD) into a temporary folder and runs `make test`
# there, timing it. Only for a throw-away machine or a CI box: it purges packages.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rev=${1:-HEAD}
[ "$(id -u)" -eq 0 ] || { echo "run as root: it removes packages" >&2; exit 2; }

# The package names install-deps.sh lists, read from its arrays.
listed=$(sed -n '/^[A-Z_]*_PKGS=(/,/)/p; /^BACKPORTS=(/,/)/p' "$here/tools/install-deps.sh" |
  sed 's/^[A-Z_]*=(//; s/)//' | tr ' ' '\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$' | sort -u)
# Tools that earlier machines had by hand; a fresh image has none of them.
by_hand="x11-xserver-utils x11-apps python3-numpy locales-all"

installed=()
for pkg in $listed $by_hand; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' && installed+=("$pkg")
done
# Keep what the Debian 12 machine image itself ships (removing dbus or util-linux would break it),
# and the ssh client the machine may be reached or cloned through.
keep="adwaita-icon-theme appstream at-spi2-core dbus gettext iproute2 python3-gi util-linux xauth"
keep+=" openssh-client"
remove=()
for pkg in "${installed[@]}"; do
  [[ " $keep " == *" $pkg "* ]] || remove+=("$pkg")
done

export DEBIAN_FRONTEND=noninteractive
if ((${#remove[@]})); then
  echo "Removing ${#remove[@]} packages: ${remove[*]}"
  apt-get purge -y -qq "${remove[@]}" >/dev/null
  apt-get autoremove --purge -y -qq >/dev/null
fi
for prog in virsh libvirtd qemu-system-x86_64 Xvfb xsetroot xdotool import gnome-keyring-daemon; do
  if command -v "$prog" >/dev/null; then echo "still installed: $prog" >&2; exit 1; fi
done

work=$(mktemp -d /tmp/hangar-fresh.XXXXXX)
trap 'rm -rf -- "$work"' EXIT
git clone -q "$here" "$work/hangar"
git -C "$work/hangar" checkout -q "$rev"
start=$(date +%s)
rc=0
make -C "$work/hangar" test || rc=$?
echo "fresh machine: make test exited $rc after $(( $(date +%s) - start )) s"
exit "$rc"
