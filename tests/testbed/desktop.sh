# shellcheck shell=bash
# Headless desktop for UI tests: private HOME/XDG dirs, a private D-Bus session bus,
# gnome-keyring (Secret Service), Xvfb and the AT-SPI accessibility bus.
#
# Sourced by tests/testbed/run.sh. Needs "$TESTBED_DIR"; appends the PID of everything it
# starts to "$TESTBED_DIR/pids" (run.sh kills them in reverse order). Daemon logs go to
# "$TESTBED_DIR/desktop/logs". Works with `set -euo pipefail` and also without it: every
# step checks its own result, and testbed_start_desktop returns non-zero on failure.

TESTBED_KEYRING_PASSWORD=${TESTBED_KEYRING_PASSWORD:-hangar-testbed}

testbed_start_desktop() {
    _tb_isolate_env &&
        _tb_start_session_bus &&
        _tb_start_keyring &&
        _tb_start_xvfb &&
        _tb_start_atspi &&
        export HANGAR_TEST_DESKTOP=1
}

_tb_log() { printf 'testbed/desktop: %s\n' "$*" >&2; }

# _tb_fail MESSAGE [LOGFILE]: report, show the daemon's last words, return 1.
_tb_fail() {
    _tb_log "$1"
    if [ -n "${2:-}" ] && [ -s "$2" ]; then tail -n 20 "$2" >&2; fi
    return 1
}

_tb_track() { echo "$1" >>"$TESTBED_DIR/pids"; }

# _tb_wait SECONDS PID COMMAND...: poll COMMAND until it succeeds; give up early if PID died.
_tb_wait() {
    local deadline=$((SECONDS + $1)) pid=$2
    shift 2
    until "$@"; do
        kill -0 "$pid" 2>/dev/null || return 1
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.1
    done
}

# _tb_has_name BUS_ADDRESS NAME: is NAME owned on that bus?
_tb_has_name() {
    local reply
    reply=$(dbus-send --bus="$1" --dest=org.freedesktop.DBus --print-reply=literal \
        /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner "string:$2" 2>/dev/null) &&
        [[ $reply == *true* ]]
}

_tb_isolate_env() {
    local d=${TESTBED_DIR:-}/desktop v
    if [ -z "${TESTBED_DIR:-}" ] || [ ! -d "$TESTBED_DIR" ]; then
        _tb_fail "TESTBED_DIR is not set or not a directory"
        return 1
    fi
    # Unix socket paths (bus, keyring control) must fit in sun_path (108 bytes).
    [ "${#d}" -le 70 ] || { _tb_fail "TESTBED_DIR path too long for unix sockets: $d"; return 1; }
    # Forget the real session first: if a later step fails, nothing points at it.
    unset DISPLAY WAYLAND_DISPLAY XAUTHORITY DBUS_SESSION_BUS_ADDRESS AT_SPI_BUS_ADDRESS \
        SESSION_MANAGER DESKTOP_AUTOSTART_ID GNOME_KEYRING_CONTROL SSH_AUTH_SOCK \
        XDG_CURRENT_DESKTOP XDG_SESSION_TYPE XDG_SESSION_DESKTOP LANGUAGE LC_ALL
    for v in $(compgen -e); do
        if [[ $v == LC_* ]]; then unset "$v"; fi
    done
    if ! mkdir -p "$d/home" "$d/config" "$d/data" "$d/cache" "$d/runtime" "$d/logs" ||
        ! chmod 0700 "$d/runtime"; then
        _tb_fail "cannot create $d"
        return 1
    fi
    export HOME=$d/home XDG_CONFIG_HOME=$d/config XDG_DATA_HOME=$d/data \
        XDG_CACHE_HOME=$d/cache XDG_RUNTIME_DIR=$d/runtime
    export LANG=C.UTF-8
    # dconf would need D-Bus activation of dconf-service (disabled on our bus); the keyfile
    # backend persists settings under $XDG_CONFIG_HOME/glib-2.0/settings/ instead.
    export GSETTINGS_BACKEND=keyfile
}

_tb_start_session_bus() {
    local conf=$TESTBED_DIR/desktop/session-bus.conf log=$TESTBED_DIR/desktop/logs/dbus.log
    local out pid
    # No <servicedir>: nothing is D-Bus-activated behind our back (untracked PIDs, or a
    # 25 s wait while libadwaita asks xdg-desktop-portal for the colour scheme).
    cat >"$conf" <<EOF || return 1
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=$XDG_RUNTIME_DIR</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
EOF
    out=$(dbus-daemon --config-file="$conf" --fork --print-address=1 --print-pid=1 \
        </dev/null 2>"$log") || { _tb_fail "dbus-daemon failed" "$log"; return 1; }
    pid=${out##*$'\n'}
    [[ $pid =~ ^[0-9]+$ ]] || { _tb_fail "dbus-daemon printed no PID: $out"; return 1; }
    _tb_track "$pid"
    export DBUS_SESSION_BUS_ADDRESS=${out%%$'\n'*}
}

_tb_start_keyring() {
    local log=$TESTBED_DIR/desktop/logs/keyring.log pid
    # --foreground keeps the PID ours. --unlock reads the password from stdin, creating the
    # "login" keyring (which becomes the default collection) on first use.
    printf %s "$TESTBED_KEYRING_PASSWORD" |
        gnome-keyring-daemon --foreground --unlock --components=secrets >"$log" 2>&1 &
    pid=$!
    _tb_track "$pid"
    _tb_wait 15 "$pid" _tb_has_name "$DBUS_SESSION_BUS_ADDRESS" org.freedesktop.secrets ||
        { _tb_fail "gnome-keyring-daemon did not claim org.freedesktop.secrets" "$log"; return 1; }
    _tb_check_keyring ||
        { _tb_fail "Secret Service store/lookup round trip failed" "$log"; return 1; }
}

# A store that needed a prompt would fail here (no prompter can be activated), not hang.
_tb_check_keyring() {
    local attrs=(service hangar-testbed-probe user probe) got
    printf probe | timeout 10 secret-tool store --label=probe "${attrs[@]}" &&
        got=$(timeout 10 secret-tool lookup "${attrs[@]}") &&
        [ "$got" = probe ] &&
        timeout 10 secret-tool clear "${attrs[@]}"
}

_tb_start_xvfb() {
    local d=$TESTBED_DIR/desktop log=$TESTBED_DIR/desktop/logs/xvfb.log pid cookie num
    export XAUTHORITY=$d/Xauthority
    # Wildcard cookie (family ffff, no display number) so it is valid for whichever display
    # Xvfb picks; other local clients cannot connect.
    cookie=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
    if [ "${#cookie}" -ne 32 ] || ! : >"$XAUTHORITY" ||
        ! printf 'ffff 0000  0000  0012 4d49542d4d414749432d434f4f4b49452d31 0010 %s\n' \
            "$cookie" | xauth -q -f "$XAUTHORITY" nmerge -; then
        _tb_fail "cannot write $XAUTHORITY"
        return 1
    fi
    # -displayfd: Xvfb takes a free display number itself (no race with other testbeds) and
    # writes it once it accepts connections.
    Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp -auth "$XAUTHORITY" \
        3>"$d/xvfb-display" </dev/null >"$log" 2>&1 &
    pid=$!
    _tb_track "$pid"
    _tb_wait 20 "$pid" test -s "$d/xvfb-display" ||
        { _tb_fail "Xvfb did not start" "$log"; return 1; }
    num=$(tr -dc 0-9 <"$d/xvfb-display")
    export DISPLAY=:$num
    _tb_wait 10 "$pid" xdpyinfo >/dev/null 2>&1 ||
        { _tb_fail "Xvfb on $DISPLAY does not accept connections" "$log"; return 1; }
}

_tb_start_atspi() {
    local log=$TESTBED_DIR/desktop/logs/atspi.log pid child
    /usr/libexec/at-spi-bus-launcher --launch-immediately </dev/null >"$log" 2>&1 &
    pid=$!
    _tb_track "$pid"
    _tb_wait 15 "$pid" _tb_get_a11y_address ||
        { _tb_fail "at-spi-bus-launcher did not publish the a11y bus" "$log"; return 1; }
    # The launcher's child dbus-daemon serves the a11y bus; listed after the launcher, so
    # it is killed first.
    for child in $(ps -o pid= --ppid "$pid"); do _tb_track "$child"; done
    # Started by hand rather than activated by the a11y bus, so its PID is ours.
    /usr/libexec/at-spi2-registryd </dev/null >>"$log" 2>&1 &
    pid=$!
    _tb_track "$pid"
    _tb_wait 15 "$pid" _tb_has_name "$AT_SPI_BUS_ADDRESS" org.a11y.atspi.Registry ||
        { _tb_fail "at-spi2-registryd did not claim org.a11y.atspi.Registry" "$log"; return 1; }
    # cairo: a software-GL window repaints constantly and starves GTK 4.8's idle-priority
    # AT-SPI registration.
    export GTK_A11Y=atspi GDK_BACKEND=x11 GSK_RENDERER=cairo NO_AT_BRIDGE=0
}

_tb_get_a11y_address() {
    local reply
    reply=$(dbus-send --session --dest=org.a11y.Bus --print-reply=literal \
        /org/a11y/bus org.a11y.Bus.GetAddress 2>/dev/null) || return 1
    reply=${reply//[[:space:]]/}
    [ -n "$reply" ] || return 1
    export AT_SPI_BUS_ADDRESS=$reply
}
