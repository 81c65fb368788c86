#!/usr/bin/env bash
# Usage: tests/testbed/run.sh CMD [ARGS...]
#
# Runs CMD against a real, private test bed and always tears it down afterwards:
#   libvirtd  a private libvirtd on a free port of 127.0.0.1 (TCP + SASL) with one running
#             TCG guest (libvirtd.sh)
#   desktop   a headless desktop session (desktop.sh; skipped while that file is missing)
# TESTBED_SERVICES picks the services (default "libvirtd desktop").
#
# CMD gets TESTBED_DIR (private 0700 dir under /tmp), HANGAR_TESTBED=1 and the services'
# variables (HANGAR_TEST_LIBVIRT_URI, HANGAR_TEST_AUTH_FILE, ...; see libvirtd.sh).
# Every process started is recorded in "$TESTBED_DIR/pids" and killed by PID, newest first.
# Exit status: CMD's; 125 if the test bed failed to start; 128+N after signal N (a signal is
# acted on once the foreground CMD has returned; CMD itself gets terminal/group signals).
# From CMD, `bash tests/testbed/libvirtd.sh restart` restarts libvirtd; selftest.sh checks all.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

TESTBED_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$TESTBED_HERE/lib.sh"
# shellcheck source=libvirtd.sh
source "$TESTBED_HERE/libvirtd.sh"

phase=setup
started=()

wants() {
  [[ " ${TESTBED_SERVICES:-libvirtd desktop} " == *" $1 "* ]]
}

start_services() {
  if wants libvirtd; then
    started+=(libvirtd)
    testbed_start_libvirtd
  fi
  if wants desktop; then
    if [[ -f $TESTBED_HERE/desktop.sh ]]; then
      # shellcheck source=/dev/null # written separately, may not exist yet
      source "$TESTBED_HERE/desktop.sh"
      started+=(desktop)
      testbed_start_desktop
    else
      echo "testbed: no desktop.sh yet, skipping the desktop" >&2
    fi
  fi
}

# shellcheck disable=SC2317 # used by cleanup, run from the EXIT trap
did_start() {
  [[ " ${started[*]} " == *" $1 "* ]]
}

# Guests first (libvirtd leaves them running), then every recorded PID newest first, then
# anything still inside libvirtd's namespace, then the files.
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
  local rc=$? pid
  set +e
  trap '' INT TERM HUP
  if [[ $phase != running ]]; then
    echo "testbed: failed to start (status $rc)" >&2
    if did_start libvirtd; then testbed_dump_libvirtd_logs; fi
    rc=125
  fi
  if [[ -n ${TESTBED_DIR:-} ]]; then
    if did_start libvirtd; then testbed_stop_guests; fi
    for pid in $(tac "$TESTBED_DIR/pids" 2>/dev/null); do
      [[ $pid =~ ^[0-9]+$ ]] && testbed_kill_pids "$pid"
    done
    if did_start libvirtd; then testbed_sweep_libvirtd; fi
    rm -rf -- "$TESTBED_DIR"
  fi
  exit "$rc"
}

main() {
  if (($# == 0)); then
    sed -n '2,15s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
    exit 2
  fi
  trap cleanup EXIT
  trap 'exit 129' HUP
  trap 'exit 130' INT
  trap 'exit 143' TERM
  TESTBED_DIR=$(mktemp -d /tmp/hangar-testbed.XXXXXX)
  chmod 0700 "$TESTBED_DIR"
  export TESTBED_DIR
  : >"$TESTBED_DIR/pids"

  start_services
  export HANGAR_TESTBED=1
  phase=running

  local rc=0
  "$@" || rc=$?
  exit "$rc"
}

main "$@"
