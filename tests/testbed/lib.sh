# shellcheck shell=bash
# Small helpers shared by the test bed scripts (run.sh, libvirtd.sh, desktop.sh).
# Processes are only ever stopped by PID: the machine may run its own libvirtd/QEMU.

# Record a PID for run.sh's teardown (killed in reverse order of recording).
testbed_add_pid() {
  echo "$1" >>"$TESTBED_DIR/pids"
}

# Forget a PID (e.g. a daemon that was stopped on purpose), so a reused PID is never killed.
testbed_forget_pid() {
  sed -i "/^$1\$/d" "$TESTBED_DIR/pids"
}

# True if PID is running. A zombie (exited, not yet reaped by its parent) counts as gone.
testbed_pid_alive() {
  local stat
  kill -0 "$1" 2>/dev/null || return 1
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]]
}

# Stop PIDs: TERM all, wait up to TESTBED_KILL_GRACE seconds (default 5), then KILL the rest.
testbed_kill_pids() {
  local pid deadline
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  deadline=$((SECONDS + ${TESTBED_KILL_GRACE:-5}))
  for pid in "$@"; do
    while testbed_pid_alive "$pid" && ((SECONDS < deadline)); do sleep 0.05; done
    if testbed_pid_alive "$pid"; then
      echo "testbed: PID $pid ignored SIGTERM, sending SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
}

# testbed_wait_for [-p PID] SECONDS WHAT CMD... : poll CMD (quietly) until it succeeds;
# with -p, give up as soon as PID (the process being waited for) has died.
testbed_wait_for() {
  local pid=
  if [[ $1 == -p ]]; then pid=$2; shift 2; fi
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    if [[ -n $pid ]] && ! testbed_pid_alive "$pid"; then
      echo "testbed: PID $pid died while waiting for $what" >&2
      return 1
    fi
    if ((SECONDS >= deadline)); then
      echo "testbed: timed out waiting for $what" >&2
      return 1
    fi
    sleep 0.1
  done
}
