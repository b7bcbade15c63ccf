# What tests/slurm/cluster.sh, tests/ssh/hosts.sh and tests/sge/cell.sh share; sourced
# by each once it has set DIR (its daemons' directory).

# One start or stop at a time: several test processes ask at once. flock -o: the
# daemons the script starts do not inherit (and so never hold) the lock.
one_at_a_time() {
    if [ -z "${BATON_DAEMONS_LOCKED:-}" ]; then
        export BATON_DAEMONS_LOCKED=1
        exec flock -o "$DIR.lock" "$0" "$@"
    fi
}

# Stop the daemons (`$0 stop`) once none of the processes in $DIR/owners runs (one
# watcher at a time). A start without PID (CI's, a developer's) pins them until
# `stop`: no test process's end stops what someone else started.
watch_owners() {
    if [ -z "${1:-}" ]; then : > "$DIR/pinned"; return 0; fi
    [ -e "$DIR/pinned" ] && return 0
    echo "$1" >> "$DIR/owners"
    if [ -s "$DIR/watcher.pid" ] && kill -0 "$(cat "$DIR/watcher.pid")" 2>/dev/null; then return; fi
    (
        trap '' HUP
        # Each look is `$0 unowned`, under the lock: a start meanwhile either comes
        # first (its owner counted) or after the stop (and starts the daemons anew).
        # A directory removed under it (a test's private daemons, its directory gone
        # with the test) leaves nothing to watch: its lock could not be taken again.
        while sleep 1; do
            [ -d "$DIR" ] || break
            env -u BATON_DAEMONS_LOCKED "$0" unowned && break
        done
    ) </dev/null >/dev/null 2>&1 &
    echo $! > "$DIR/watcher.pid"
}

# `$0 unowned` (the watcher's look, under the lock): exit 1 while one of the owners
# runs; otherwise the watcher is done, and the daemons stop unless they are pinned.
unowned() {
    if [ ! -e "$DIR/pinned" ]; then
        for p in $(cat "$DIR/owners" 2>/dev/null); do
            if kill -0 "$p" 2>/dev/null; then return 1; fi
        done
    fi
    rm -f "$DIR/owners" "$DIR/watcher.pid"
    if [ ! -e "$DIR/pinned" ]; then stop >/dev/null; fi
}
