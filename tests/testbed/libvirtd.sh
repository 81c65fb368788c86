# shellcheck shell=bash source-path=SCRIPTDIR
# Hangar test bed: a private libvirtd reachable as qemu+tcp://127.0.0.1:PORT/system with SASL
# (DIGEST-MD5, the only mechanism libvirt accepts on plain TCP), running one small TCG guest
# with VNC, and isolated from the machine's own libvirt.
#
# Sourced by run.sh, which sets TESTBED_DIR and tears everything down. Functions:
#   testbed_start_libvirtd     config + SASL user + namespace + daemon + guest; exports HANGAR_TEST_*
#   testbed_stop_libvirtd      stop the daemon only; guests keep running, as on a real host
#   testbed_launch_libvirtd    start the daemon again (same port, config, state, namespace), wait
#   testbed_restart_libvirtd   stop + launch; prints the new daemon PID
#   testbed_crash_libvirtd     SIGKILL the daemon (no clean shutdown), wait until it is gone
#   testbed_stop_guests        destroy/kill QEMUs (anything in the namespace but holder,
#                              reapers and daemon) and stop the virtual networks tests made
#   testbed_sweep_libvirtd     kill every process still in the namespace, remove the firewall
#                              chains libvirt added for those networks
#   testbed_dump_libvirtd_logs print the log tails to stderr (run.sh does this on a failed start)
#
# polkit: libvirtd's read-write unix socket uses auth "polkit", decided by a private polkitd
# on a private system bus (root clients, such as the admin virsh, bypass polkit). A client
# reaches it as user nobody through HANGAR_TEST_POLKIT_URI (qemu+ext, a proxy that drops to
# nobody before connecting); no polkit agent runs, so its login fails without any question
# (VIR_ERR_AUTH_UNAVAILABLE), as on a desktop without an authentication agent.
#
# Tests running under run.sh can execute this file (TESTBED_DIR comes from their environment):
#   bash tests/testbed/libvirtd.sh restart|stop|launch|crash
# After that the daemon PID is in "$TESTBED_DIR/libvirt/libvirtd.pid" (HANGAR_TEST_LIBVIRTD_PID
# is then stale).
#
# Isolation: a root libvirtd cannot be told to move the QEMU driver's paths, so it runs in a
# private mount namespace where dirs under $TESTBED_DIR/libvirt are bind-mounted over
# /etc/libvirt, /run/libvirt, /var/lib/libvirt, /var/cache/libvirt and /var/log/libvirt.
# A `sleep infinity` holder keeps the namespace alive, so the daemon can be restarted in it
# (nsenter) while its guests keep running. libvirtd runs under a small reaper (see
# _TESTBED_REAPER) that also adopts its QEMUs. Every process in the namespace sees our dir as
# /run/libvirt; teardown finds stray ones (e.g. guests a test created) that way, by PID.
#
# Layout of $TESTBED_DIR/libvirt: etc run lib cache log (the five dirs above), sock/ (unix
# sockets, no auth), sasl/ (SASL_CONF_PATH + sasldb), sasl-password and auth.conf (0600),
# port, holder.pid, reaper.pids, libvirtd.pid, libvirtd.log, namespace.log, images/ (the
# pool $TESTBED_POOL with the guest's data disk), guest.xml (the guest as defined).

_TESTBED_LIBVIRTD_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$_TESTBED_LIBVIRTD_HERE/lib.sh"

TESTBED_GUEST=hangar-guest
TESTBED_SASL_USER=hangar-test
# A directory pool of the test bed's own, holding the guest's data disk.
TESTBED_POOL=hangar-testbed
TESTBED_GUEST_DISK=hangar-guest-data.qcow2

testbed_start_libvirtd() {
  local lv=$TESTBED_DIR/libvirt port
  if ((EUID != 0)); then
    echo "testbed: libvirtd needs root (system QEMU driver, mount namespace)" >&2
    return 1
  fi
  mkdir -p "$lv"/{etc,run,lib,cache,log,sock,sasl}
  port=$(_testbed_free_port)
  echo "$port" >"$lv/port"
  _testbed_write_libvirtd_conf "$lv" "$port"
  _testbed_write_qemu_conf "$lv"
  _testbed_write_network_conf "$lv"
  _testbed_note_firewall "$lv"
  _testbed_create_sasl_user "$lv"
  _testbed_start_polkit "$lv"
  _testbed_caps_cache_restore "$lv"
  _testbed_start_namespace "$lv"
  testbed_launch_libvirtd
  _testbed_create_pool "$lv"
  _testbed_start_guest "$lv"
  _testbed_caps_cache_save "$lv"

  export HANGAR_TEST_LIBVIRT_URI="qemu+tcp://127.0.0.1:$port/system"
  export HANGAR_TEST_UNIX_URI
  HANGAR_TEST_UNIX_URI=$(_testbed_unix_uri "$lv")
  export HANGAR_TEST_SASL_USER=$TESTBED_SASL_USER
  export HANGAR_TEST_SASL_PASSWORD_FILE=$lv/sasl-password
  export HANGAR_TEST_AUTH_FILE=$lv/auth.conf
  export HANGAR_TEST_GUEST=$TESTBED_GUEST
  export HANGAR_TEST_POOL=$TESTBED_POOL
  export HANGAR_TEST_POOL_DIR=$lv/images
  export HANGAR_TEST_LIBVIRTD_PID
  HANGAR_TEST_LIBVIRTD_PID=$(<"$lv/libvirtd.pid")
  export HANGAR_TEST_LIBVIRTD_LOG=$lv/libvirtd.log
  export HANGAR_TEST_POLKIT_URI="qemu+ext:///system?command=$lv/polkit/connect-as-nobody"
}

testbed_stop_libvirtd() {
  local pid
  pid=$(<"$TESTBED_DIR/libvirt/libvirtd.pid")
  testbed_kill_pids "$pid"
  testbed_forget_pid "$pid"
}

testbed_crash_libvirtd() {
  local pid
  pid=$(<"$TESTBED_DIR/libvirt/libvirtd.pid")
  kill -KILL "$pid"
  testbed_wait_for 10 "libvirtd to die" _testbed_pid_gone "$pid"
  testbed_forget_pid "$pid"
}

_testbed_pid_gone() {
  ! testbed_pid_alive "$1"
}

testbed_launch_libvirtd() {
  local lv=$TESTBED_DIR/libvirt holder port reaper pid
  holder=$(<"$lv/holder.pid")
  port=$(<"$lv/port")
  if ! testbed_pid_alive "$holder"; then
    echo "testbed: the libvirt mount namespace is gone" >&2
    return 1
  fi
  rm -f "$lv/libvirtd.pid"
  # Stdio goes to a file: a test capturing our output must not wait on the daemon.
  DBUS_SYSTEM_BUS_ADDRESS=$(<"$lv/polkit/bus-address") SASL_CONF_PATH=$lv/sasl \
    nsenter --target "$holder" --mount -- \
    "$(_testbed_python)" -c "$_TESTBED_REAPER" "$lv/libvirtd.pid" \
    libvirtd --listen -f "$lv/etc/libvirtd.conf" -p "$lv/libvirtd-pidfile" \
    </dev/null >>"$lv/libvirtd.log" 2>&1 &
  reaper=$!
  testbed_add_pid "$reaper"
  echo "$reaper" >>"$lv/reaper.pids"
  testbed_wait_for -p "$reaper" 10 "libvirtd to be forked" test -s "$lv/libvirtd.pid"
  pid=$(<"$lv/libvirtd.pid")
  testbed_add_pid "$pid"
  # The unix socket answers only once all listeners are up; then one real TCP+SASL login
  # (rather than a bare connect, which libvirtd logs as an error) proves the port and SASL.
  testbed_wait_for -p "$pid" 30 "libvirtd's unix socket" \
    virsh -q -c "$(_testbed_unix_uri "$lv")" version
  LIBVIRT_AUTH_FILE=$lv/auth.conf virsh -q -c "qemu+tcp://127.0.0.1:$port/system" uri >/dev/null
}

# Parent of libvirtd and, as child subreaper, of the QEMUs it daemonizes. Reaping them at
# once matters: libvirt waits for a destroyed QEMU's PID to vanish, and a slow init (as on
# this sandbox, ~1.5 s) makes every destroy that slow. Stays until killed, so its recorded
# PID stays valid. Its own session keeps a Ctrl-C or `timeout`'s group signal from stopping
# libvirtd behind run.sh's ordered teardown. Arguments: PIDFILE CMD... (PIDFILE gets CMD's PID).
_TESTBED_REAPER='
import ctypes, os, signal, sys
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
os.setsid()
child = os.fork()
if child == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d\n" % child)
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    try:
        pid, status = os.wait()
    except ChildProcessError:
        break
    if pid == child and os.WIFSIGNALED(status) and os.WTERMSIG(status) != signal.SIGTERM:
        print("testbed: libvirtd killed by signal %d" % os.WTERMSIG(status), file=sys.stderr)
while True:
    signal.pause()
'

_testbed_python() {
  if [[ -x /usr/bin/python3 ]]; then echo /usr/bin/python3; else echo python3; fi
}

testbed_restart_libvirtd() {
  testbed_stop_libvirtd
  testbed_launch_libvirtd
  cat "$TESTBED_DIR/libvirt/libvirtd.pid"
}

# Destroy through libvirtd while it runs: stopping libvirtd 11.3 shortly after its QEMU was
# killed behind its back sometimes makes it segfault. Then kill whatever is left, by PID.
testbed_stop_guests() {
  local lv=$TESTBED_DIR/libvirt uri name
  uri=$(_testbed_unix_uri "$lv")
  if [[ -f $lv/libvirtd.pid ]] && testbed_pid_alive "$(<"$lv/libvirtd.pid")"; then
    while IFS= read -r name; do
      [[ -z $name ]] || timeout 20 virsh -q -c "$uri" destroy "$name" >/dev/null 2>&1 || true
    done < <(timeout 10 virsh -q -c "$uri" list --name 2>/dev/null || true)
    # A network's bridge, firewall rules and dnsmasq go with it; killed, libvirtd leaves them.
    while IFS= read -r name; do
      [[ -z $name ]] || timeout 20 virsh -q -c "$uri" net-destroy "$name" >/dev/null 2>&1 || true
    done < <(timeout 10 virsh -q -c "$uri" net-list --name 2>/dev/null || true)
  fi
  _testbed_kill_namespace_except "$(cat "$lv/holder.pid" "$lv/reaper.pids" "$lv/libvirtd.pid" 2>/dev/null)"
}

testbed_sweep_libvirtd() {
  _testbed_kill_namespace_except ""
  _testbed_remove_firewall "$TESTBED_DIR/libvirt"
}

testbed_dump_libvirtd_logs() {
  local f
  for f in "$TESTBED_DIR"/libvirt/{namespace.log,libvirtd.log} "$TESTBED_DIR"/libvirt/log/qemu/*.log; do
    [[ -s $f ]] || continue
    echo "---- ${f#"$TESTBED_DIR"/} (tail)" >&2
    tail -n 30 "$f" >&2
  done
}

# A TCP port that is free on 127.0.0.1, below the ephemeral range so that no client socket
# grabs it before libvirtd binds it. Not 16509: the machine may run its own libvirtd.
_testbed_free_port() {
  "$(_testbed_python)" - <<'EOF'
import random, socket
for _ in range(200):
    port = random.randint(20000, 32000)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break
else:
    raise SystemExit("testbed: no free TCP port")
EOF
}

_testbed_unix_uri() {
  echo "qemu+unix:///system?socket=$1/sock/libvirt-sock"
}

_testbed_write_libvirtd_conf() {
  cat >"$1/etc/libvirtd.conf" <<EOF
# listen_tls defaults to 1 and then libvirtd exits for want of a CA certificate.
listen_tls = 0
listen_tcp = 1
tcp_port = "$2"
listen_addr = "127.0.0.1"
auth_tcp = "sasl"
unix_sock_dir = "$1/sock"
auth_unix_ro = "none"
# Root (the test bed's own virsh) bypasses polkit; others need its yes (see the top).
auth_unix_rw = "polkit"
unix_sock_rw_perms = "0777"
EOF
}

# A private system bus with polkitd on it, for libvirtd only (DBUS_SYSTEM_BUS_ADDRESS), and
# the proxy behind HANGAR_TEST_POLKIT_URI.
_testbed_start_polkit() {
  local lv=$1 dir=$1/polkit bus pid
  mkdir -p "$dir"
  # Abstract: polkitd drops to its own user, which cannot enter our 0700 dirs.
  bus="unix:abstract=/hangar-testbed/$(basename "$TESTBED_DIR")"
  echo "$bus" >"$dir/bus-address"
  cat >"$dir/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>$bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="method_return"/>
    <allow send_type="signal"/>
    <allow send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="signal"/>
    <allow receive_type="error"/>
  </policy>
</busconfig>
EOF
  dbus-daemon --config-file="$dir/bus.conf" --nofork --nopidfile </dev/null >>"$dir/bus.log" 2>&1 &
  pid=$!
  testbed_add_pid "$pid"
  testbed_wait_for -p "$pid" 10 "the private system bus" _testbed_bus_has "$bus" org.freedesktop.DBus
  DBUS_SYSTEM_BUS_ADDRESS=$bus /usr/lib/polkit-1/polkitd --no-debug </dev/null >>"$dir/polkitd.log" 2>&1 &
  pid=$!
  testbed_add_pid "$pid"
  testbed_wait_for -p "$pid" 10 "polkitd on the private bus" \
    _testbed_bus_has "$bus" org.freedesktop.PolicyKit1
  _testbed_write_polkit_proxy "$lv"
}

_testbed_bus_has() {
  DBUS_SYSTEM_BUS_ADDRESS=$1 dbus-send --system --print-reply --dest=org.freedesktop.DBus / \
    org.freedesktop.DBus.NameHasOwner "string:$2" | grep -q 'boolean true'
}

# libvirt's ext transport runs this with the connection on its stdin/stdout. It enters the
# socket dir as root (our dirs are 0700), becomes nobody, connects, then copies both ways.
_testbed_write_polkit_proxy() {
  cat >"$1/polkit/connect-as-nobody" <<EOF
#!$(_testbed_python)
import os, selectors, socket, sys
os.chdir("$1/sock")
os.setgroups([])
os.setgid(65534)
os.setuid(65534)
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.connect("libvirt-sock")
sel = selectors.DefaultSelector()
sel.register(0, selectors.EVENT_READ)
sel.register(sock, selectors.EVENT_READ)
while True:
    for key, _ in sel.select():
        if key.fileobj == 0:
            data = os.read(0, 65536)
            if not data:
                sys.exit(0)
            sock.sendall(data)
        else:
            data = sock.recv(65536)
            if not data:
                sys.exit(0)
            os.write(1, data)
EOF
  chmod 0755 "$1/polkit/connect-as-nobody"
}

# Read by the QEMU driver as /etc/libvirt/qemu.conf inside the namespace.
_testbed_write_qemu_conf() {
  cat >"$1/etc/qemu.conf" <<'EOF'
# No virtlogd in the test bed: QEMU writes its log file directly.
stdio_handler = "file"
# Keep the sandbox quiet: no cgroups, per-VM namespaces, labelling or chown.
cgroup_controllers = [ ]
namespaces = [ ]
security_driver = "none"
user = "root"
group = "root"
dynamic_ownership = 0
vnc_listen = "127.0.0.1"
EOF
}

# Read by the network driver as /etc/libvirt/network.conf inside the namespace. Its default
# nftables backend sets DHCP checksums with tc's csum action, a kernel module a container
# often cannot load; the iptables backend needs none.
_testbed_write_network_conf() {
  cat >"$1/etc/network.conf" <<'EOF'
firewall_backend = "iptables"
EOF
}

# The firewall is the machine's, not the namespace's. libvirt adds LIBVIRT_* chains the first
# time a network starts and never removes them: note whether they (and the tables holding
# them) were there before, so teardown removes only what this test bed added.
_testbed_note_firewall() {
  local cmd
  for cmd in iptables ip6tables; do
    command -v "$cmd-save" >/dev/null || continue
    if ! "$cmd-save" 2>/dev/null | grep -q LIBVIRT_; then
      touch "$1/firewall-ours"
    fi
    "$cmd-save" 2>/dev/null | sed -n 's/^\*//p' >"$1/$cmd-tables-before"
  done
}

_testbed_remove_firewall() {
  local lv=$1 cmd table rule chain family
  [[ -f $lv/firewall-ours ]] || return 0
  for cmd in iptables ip6tables; do
    command -v "$cmd" >/dev/null || continue
    family=ip
    [[ $cmd == ip6tables ]] && family=ip6
    for table in filter nat mangle; do
      while IFS= read -r rule; do
        # shellcheck disable=SC2086 # a rule is words: -A CHAIN -j TARGET
        "$cmd" -t "$table" -D ${rule#-A } 2>/dev/null || true
      done < <("$cmd" -t "$table" -S 2>/dev/null | grep -- '-j LIBVIRT_' || true)
      for chain in $("$cmd" -t "$table" -S 2>/dev/null | sed -n 's/^-N \(LIBVIRT_[A-Z]*\)$/\1/p'); do
        "$cmd" -t "$table" -F "$chain" 2>/dev/null || true
        "$cmd" -t "$table" -X "$chain" 2>/dev/null || true
      done
      # iptables-nft made the table for libvirt: drop it again once nothing else is in it.
      if ! grep -qx "$table" "$lv/$cmd-tables-before" 2>/dev/null && command -v nft >/dev/null &&
        ! "$cmd" -t "$table" -S 2>/dev/null | grep -qv '^-P '; then
        nft delete table "$family" "$table" 2>/dev/null || true
      fi
    done
  done
}

# The password lives only in 0600 files: never in argv, the environment or a log.
_testbed_create_sasl_user() {
  local lv=$1
  cat >"$lv/sasl/libvirt.conf" <<EOF
mech_list: digest-md5
sasldb_path: $lv/sasl/passwd.db
EOF
  (
    umask 077
    head -c 18 /dev/urandom | base64 | tr -d '+/=\n' >"$lv/sasl-password"
    saslpasswd2 -p -a libvirt -f "$lv/sasl/passwd.db" "$TESTBED_SASL_USER" <"$lv/sasl-password"
    {
      printf '[credentials-hangar]\nauthname=%s\npassword=' "$TESTBED_SASL_USER"
      cat "$lv/sasl-password"
      printf '\n\n[auth-libvirt-127.0.0.1]\ncredentials=hangar\n'
    } >"$lv/auth.conf"
  )
}

_testbed_start_namespace() {
  local lv=$1 holder
  unshare --mount --propagation private -- bash -c "$_TESTBED_NAMESPACE_SCRIPT" testbed-ns "$lv" \
    </dev/null >>"$lv/namespace.log" 2>&1 &
  holder=$!
  testbed_add_pid "$holder"
  echo "$holder" >"$lv/holder.pid"
  testbed_wait_for -p "$holder" 10 "the libvirt mount namespace" test -e "$lv/ns-ready"
}

# Runs inside the new namespace (argument: $lv), then becomes the holder process.
# shellcheck disable=SC2016 # expanded by the inner shell
_TESTBED_NAMESPACE_SCRIPT='
set -eu
lv=$1
# -n and a private utab: libmount would otherwise create /run/mount on the host.
export LIBMOUNT_UTAB=$lv/utab
# Show SRC at DST. A missing DST (this machine has no /run/libvirt) is created inside an
# overlay of its parent, so the host directory itself is never written.
show() {
  if [ ! -d "$2" ]; then
    up=$lv/overlay/$(basename "$1")
    mkdir -p "$up/upper" "$up/work"
    mount -n -t overlay overlay -o "lowerdir=$(dirname "$2"),upperdir=$up/upper,workdir=$up/work" \
      "$(dirname "$2")"
    mkdir "$2"
  fi
  mount -n --bind "$1" "$2"
}
show "$lv/etc" /etc/libvirt
show "$lv/run" /run/libvirt
show "$lv/lib" /var/lib/libvirt
show "$lv/cache" /var/cache/libvirt
show "$lv/log" /var/log/libvirt
touch "$lv/ns-ready"
exec sleep infinity
'

# The pool's directory is outside the five bind-mounted dirs, so its paths are the same
# inside the namespace (for libvirtd and QEMU) and outside (for tests and qemu-img).
_testbed_create_pool() {
  local lv=$1 uri
  uri=$(_testbed_unix_uri "$lv")
  mkdir -p "$lv/images"
  qemu-img create -q -f qcow2 "$lv/images/$TESTBED_GUEST_DISK" 64M
  virsh -q -c "$uri" pool-define-as "$TESTBED_POOL" dir --target "$lv/images" >/dev/null
  virsh -q -c "$uri" pool-start "$TESTBED_POOL" >/dev/null
  virsh -q -c "$uri" pool-autostart "$TESTBED_POOL" >/dev/null
}

_testbed_start_guest() {
  local lv=$1 uri pid
  uri=$(_testbed_unix_uri "$lv")
  sed "s|@IMAGES@|$lv/images|" "$_TESTBED_LIBVIRTD_HERE/guest.xml" >"$lv/guest.xml"
  virsh -q -c "$uri" define "$lv/guest.xml" >/dev/null
  virsh -q -c "$uri" start "$TESTBED_GUEST" >/dev/null
  # libvirtd does not kill guests when it exits: record QEMU for teardown.
  pid=$(<"$lv/run/qemu/$TESTBED_GUEST.pid")
  testbed_add_pid "$pid"
  export HANGAR_TEST_QEMU_PID=$pid
  export HANGAR_TEST_VNC_PORT
  HANGAR_TEST_VNC_PORT=$(virsh -q -c "$uri" dumpxml "$TESTBED_GUEST" |
    sed -n "s/.*<graphics type='vnc' port='\([0-9]*\)'.*/\1/p")
  [[ -n $HANGAR_TEST_VNC_PORT ]]
}

# A fresh libvirtd probes every QEMU binary (about 1.3 s here with the reaper, 8 s without).
# libvirt validates the cache itself (binary ctimes, kernel, ...), so a stale copy only costs
# the probe it would anyway. TESTBED_CACHE_DIR="" disables the copy.
_testbed_caps_cache_dir() {
  echo "${TESTBED_CACHE_DIR-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/hangar-testbed}"
}

_testbed_caps_cache_restore() {
  local src
  src=$(_testbed_caps_cache_dir)/qemu-capabilities
  if [[ $src != /qemu-capabilities && -d $src ]]; then
    mkdir -p "$1/cache/qemu"
    cp -rp "$src" "$1/cache/qemu/capabilities"
  fi
}

_testbed_caps_cache_save() {
  local dir new caps=$1/cache/qemu/capabilities
  dir=$(_testbed_caps_cache_dir)
  [[ -n $dir && -d $caps ]] || return 0
  if diff -rq "$caps" "$dir/qemu-capabilities" >/dev/null 2>&1; then return 0; fi
  mkdir -p "$dir"
  new=$(mktemp -d "$dir/.new.XXXXXX")
  cp -rp "$caps/." "$new"
  rm -rf "$dir/qemu-capabilities"
  mv "$new" "$dir/qemu-capabilities"
}

# PIDs of processes inside our namespace: they see $TESTBED_DIR/libvirt/run as /run/libvirt.
# (Compared by device and inode, so another namespace can never match.)
_testbed_namespace_pids() {
  local p run=$TESTBED_DIR/libvirt/run
  [[ -d $run ]] || return 0
  for p in /proc/[0-9]*; do
    if [[ $p/root/run/libvirt -ef $run ]]; then echo "${p#/proc/}"; fi
  done
}

# Kill every process in the namespace except the PIDs listed (whitespace separated) in $1.
_testbed_kill_namespace_except() {
  local keep=" ${1//$'\n'/ } " pids=() p
  for p in $(_testbed_namespace_pids); do
    [[ $keep == *" $p "* ]] || pids+=("$p")
  done
  if ((${#pids[@]})); then testbed_kill_pids "${pids[@]}"; fi
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  set -euo pipefail
  : "${TESTBED_DIR:?run this from a command started by tests/testbed/run.sh}"
  case ${1:-} in
    restart) testbed_restart_libvirtd ;;
    stop) testbed_stop_libvirtd ;;
    launch) testbed_launch_libvirtd && cat "$TESTBED_DIR/libvirt/libvirtd.pid" ;;
    crash) testbed_crash_libvirtd ;;
    *)
      echo "usage: $0 restart|stop|launch|crash" >&2
      exit 2
      ;;
  esac
fi
