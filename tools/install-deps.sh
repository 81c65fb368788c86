#!/usr/bin/env bash
# Installs the Debian packages Hangar needs to build, run and test, only when something is missing.
# libvirt and QEMU come from bookworm-backports (the image's qemu-utils 10 conflicts with bookworm's 7.2).
set -euo pipefail

BUILD_PKGS=(pkg-config libgtk-4-dev libadwaita-1-dev libgtksourceview-5-dev libvirt-dev gettext)
# The storage and network drivers: the wizards create pools and networks on the host.
# openssh-client: consoles of qemu+ssh hosts go through `ssh -W`. qemu-utils: qemu-img, which
# the storage driver runs to create and resize qcow2 volumes (and the test bed for its disk).
RUNTIME_PKGS=(libvirt-daemon libvirt-daemon-driver-qemu libvirt-daemon-driver-storage
  libvirt-daemon-driver-network libvirt-clients qemu-system-x86 qemu-utils openssh-client)
# Every program the code runs must come from one of these (tests/install_deps.rs checks):
# x11-xserver-utils has xsetroot, x11-utils xdpyinfo and xev, xorriso makes test ISOs, gdb
# prints a hung app's threads in failure messages.
TEST_PKGS=(sasl2-bin libsasl2-modules xvfb xauth gnome-keyring libsecret-tools dbus dbus-x11
  desktop-file-utils appstream imagemagick xdotool at-spi2-core python3-pyatspi python3-gi
  gir1.2-atspi-2.0 util-linux iproute2 fonts-cantarell fonts-noto-cjk adwaita-icon-theme
  tigervnc-standalone-server tigervnc-tools tigervnc-viewer osinfo-db iptables ipxe
  x11-xserver-utils x11-utils xorriso gdb polkitd)
BACKPORTS=(qemu-system-x86 qemu-utils libvirt-daemon libvirt-daemon-driver-qemu
  libvirt-daemon-driver-storage libvirt-daemon-driver-network libvirt-clients libvirt-dev)

missing=()
for pkg in "${BUILD_PKGS[@]}" "${RUNTIME_PKGS[@]}" "${TEST_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo "Adding bookworm-backports (libvirt 11 and QEMU 10)"
  $SUDO tee /etc/apt/sources.list.d/backports.sources >/dev/null <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi

echo "Installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends -t bookworm-backports "${BACKPORTS[@]}"
# The rest from bookworm itself (the backports are installed above).
others=()
for pkg in "${BUILD_PKGS[@]}" "${RUNTIME_PKGS[@]}" "${TEST_PKGS[@]}"; do
  [[ " ${BACKPORTS[*]} " == *" $pkg "* ]] || others+=("$pkg")
done
$SUDO apt-get install -y -qq --no-install-recommends "${others[@]}"
