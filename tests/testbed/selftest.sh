#!/usr/bin/env bash
# Self-test of the test bed: tests/testbed/selftest.sh
# Checks TCP+SASL login, the guest, VNC, a daemon restart, exit-status propagation and that
# nothing started is left running. TESTBED_SERVICES is passed through to run.sh.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
failures=0

fail() {
  echo "selftest: FAIL: $*" >&2
  failures=$((failures + 1))
}

# Runs under run.sh: everything a Hangar test relies on.
inside() {
  local list greeting pid
  echo "startup took $((($(date +%s%N) - t0) / 1000000)) ms"
  list=$(LIBVIRT_AUTH_FILE=$HANGAR_TEST_AUTH_FILE virsh -q -c "$HANGAR_TEST_LIBVIRT_URI" list --all)
  echo "$list"
  [[ $list =~ ${HANGAR_TEST_GUEST}[[:space:]]+running ]] || { echo "guest not running" >&2; return 1; }
  [[ $(stat -c %a "$HANGAR_TEST_SASL_PASSWORD_FILE") == 600 ]] || { echo "password file not 0600" >&2; return 1; }
  exec 3<>"/dev/tcp/127.0.0.1/$HANGAR_TEST_VNC_PORT"
  read -r -t 5 -n 12 greeting <&3
  exec 3<&-
  echo "VNC greeting: $greeting"
  [[ $greeting == "RFB 003.008" ]] || { echo "bad VNC greeting" >&2; return 1; }
  pid=$(bash "$here/libvirtd.sh" restart)
  [[ $pid != "$HANGAR_TEST_LIBVIRTD_PID" ]] || { echo "restart kept the PID" >&2; return 1; }
  list=$(LIBVIRT_AUTH_FILE=$HANGAR_TEST_AUTH_FILE virsh -q -c "$HANGAR_TEST_LIBVIRT_URI" list)
  [[ $list =~ ${HANGAR_TEST_GUEST}[[:space:]]+running ]] || { echo "guest lost on restart" >&2; return 1; }
  echo "restarted libvirtd: $pid, guest still running"
}

# PIDs of everything run.sh recorded, plus the test bed dir, saved by the command itself.
run_and_check() {
  local want=$1 rc=0 dir pids pid state
  shift
  state=$(mktemp)
  # shellcheck disable=SC2016 # expanded by the inner shell
  "$here/run.sh" bash -c 'echo "$TESTBED_DIR" >"$0"; "$@"; rc=$?; cat "$TESTBED_DIR/pids" >>"$0"; exit $rc' \
    "$state" "$@" || rc=$?
  [[ $rc == "$want" ]] || fail "run.sh $* exited $rc, wanted $want"
  dir=$(head -n 1 "$state")
  pids=$(tail -n +2 "$state")
  rm -f "$state"
  [[ ! -e $dir ]] || fail "$dir was not removed"
  for pid in $pids; do
    if testbed_pid_alive "$pid"; then fail "PID $pid survived: $(ps -o cmd= -p "$pid")"; fi
  done
}

main() {
  local t0
  t0=$(date +%s%N)
  export -f inside
  export here t0
  run_and_check 0 bash -c inside
  echo "selftest: full run took $((($(date +%s%N) - t0) / 1000000)) ms"
  run_and_check 3 bash -c 'exit 3'
  if ((failures)); then
    echo "selftest: $failures failure(s)" >&2
    exit 1
  fi
  echo "selftest: OK"
}

main "$@"
