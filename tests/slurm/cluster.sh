#!/bin/sh
# A single-node Slurm cluster for baton's tests: its own munged, slurmctld and slurmd,
# run by hand (no systemd) on private ports, everything in one directory. Nothing
# outside it is created or replaced: the daemons get their configuration with `-f`,
# the clients through SLURM_CONF (Debian's /etc/slurm/slurm.conf is never read or
# written), and munged runs with a key, socket, pid, seed and log file of its own.
# A Slurm or munged the machine runs itself is left alone. Needs root and Debian's
# packages (slurmctld slurmd slurm-client munge).
#   tests/slurm/cluster.sh start [PID]   start it (idempotent); prints the config's
#                                        path (give it to Slurm's commands as
#                                        SLURM_CONF). With PID (the test process), it
#                                        stops once every PID that asked for it has
#                                        exited; without, it runs until `stop`.
#   tests/slurm/cluster.sh stop          stop it (its jobs, then its daemons)
# Everything lives in $BATON_SLURM_DIR (default /tmp/baton-slurm); slurmctld listens
# on $BATON_SLURM_PORT (default 16817), slurmd on the next port.
set -eu
DIR=${BATON_SLURM_DIR:-/tmp/baton-slurm}
. "$(dirname "$0")/../daemons.sh"
one_at_a_time "$@"
PORT=${BATON_SLURM_PORT:-16817}
CONF=$DIR/slurm.conf
MUNGE=$DIR/munge
export SLURM_CONF="$CONF"

# A daemon of the cluster runs: its pid file names a live process of that name (not
# a zombie, nor one that took over the number after it ended).
alive() {
    [ -s "$DIR/$1.pid" ] || return 1
    st=$(cat "/proc/$(cat "$DIR/$1.pid")/stat" 2>/dev/null) || return 1
    case "$st" in *"(${1##*/}) "[!Z]*) return 0 ;; esac
    return 1
}

# One of PID:NAME... is still that process, alive (not a zombie, nor a new process
# that took over the number).
still() {
    for e in $1; do
        st=$(cat "/proc/${e%%:*}/stat" 2>/dev/null) || continue
        case "$st" in *"(${e#*:}) "[!Z]*) return 0 ;; esac
    done
    return 1
}

running() {
    alive slurmctld && alive slurmd && scontrol ping >/dev/null 2>&1 &&
        sinfo -h -o %T 2>/dev/null | grep -qv -e down -e drain
}

start() {
    if [ -f "$CONF" ] && running; then watch_owners "${1:-}"; echo "$CONF"; return; fi
    command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null || {
        echo "cluster.sh: slurmctld, slurmd or munged is not installed" >&2; exit 2; }
    [ "$(id -u)" = 0 ] || { echo "cluster.sh: must run as root" >&2; exit 2; }
    stop >/dev/null
    mkdir -p "$DIR/state" "$DIR/spool" "$DIR/log" "$MUNGE"
    # munged refuses a socket directory others can write.
    chmod 0755 "$DIR" "$MUNGE"
    if [ ! -s "$MUNGE/munge.key" ]; then
        dd if=/dev/urandom of="$MUNGE/munge.key.new" bs=1024 count=1 2>/dev/null
        chmod 0400 "$MUNGE/munge.key.new"
        mv "$MUNGE/munge.key.new" "$MUNGE/munge.key"
    fi
    host=$(hostname -s)
    cpus=$(nproc)
    mem=$(awk '/MemTotal/ {print int($2/1024/2)}' /proc/meminfo)
    cat > "$CONF.new" <<CONF
ClusterName=baton
SlurmctldHost=$host
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$MUNGE/munge.socket
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
ReturnToService=2
MinJobAge=300
KillWait=2
InactiveLimit=0
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:8
CONF
    mv "$CONF.new" "$CONF"
    # As root (--force): no account's files to own, nothing under /run or /var.
    munged --force --key-file="$MUNGE/munge.key" --socket="$MUNGE/munge.socket" \
        --pid-file="$MUNGE/munged.pid" --seed-file="$MUNGE/munged.seed" \
        --log-file="$MUNGE/munged.log"
    slurmctld -f "$CONF"
    slurmd -f "$CONF"
    i=0
    until running; do
        i=$((i + 1))
        if [ $i -gt 60 ]; then
            echo "cluster.sh: the cluster did not come up; see $DIR/log" >&2
            tail -n 5 "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" >&2 || true
            exit 1
        fi
        scontrol update nodename="$host" state=resume >/dev/null 2>&1 || true
        sleep 0.5
    done
    watch_owners "${1:-}"
    echo "$CONF"
}

stop() {
    # Its jobs first: slurmstepd and a job's processes outlive slurmd.
    if alive slurmctld; then
        scancel --quiet --partition=debug >/dev/null 2>&1 || true
        i=0
        while [ -n "$(squeue -h -o %i 2>/dev/null)" ] && [ $i -lt 40 ]; do
            i=$((i + 1))
            sleep 0.25
        done
    fi
    # A job step left anyway (a slurmd already gone): found by the cluster's config in
    # its environment, which slurmd passed on.
    for p in $(pgrep -x slurmstepd 2>/dev/null); do
        { tr '\0' '\n' < "/proc/$p/environ"; } 2>/dev/null | grep -qx "SLURM_CONF=$CONF" &&
            kill -9 "$p" 2>/dev/null || true
    done
    # The pids are read before the kill: slurmd removes its pid file as it starts to
    # shut down, well before it exits, so a wait on the file returned too early.
    pids=
    for p in slurmd slurmctld munge/munged; do
        alive "$p" && pids="$pids $(cat "$DIR/$p.pid"):${p##*/}"
    done
    for e in $pids; do kill "${e%%:*}" 2>/dev/null || true; done
    # Gone before this returns: a start right after would find the ports taken.
    i=0
    while still "$pids"; do
        i=$((i + 1))
        [ $i -gt 40 ] && { echo "cluster.sh: a daemon of $DIR did not stop" >&2; exit 1; }
        sleep 0.25
    done
    # What an earlier version of this script put under /etc (and noted here) goes too.
    if [ -e "$DIR/made-link" ] && [ "$(readlink /etc/slurm/slurm.conf)" = "$CONF" ]; then
        rm -f /etc/slurm/slurm.conf
    fi
    if [ -e "$DIR/made-key" ]; then rm -f /etc/munge/munge.key; fi
    rm -f "$DIR/slurmd.pid" "$DIR/slurmctld.pid" "$MUNGE/munged.pid" "$DIR/pinned" \
        "$DIR/made-link" "$DIR/made-key"
    echo stopped
}

case "${1:-}" in
    start) start "${2:-}" ;;
    stop) stop ;;
    unowned) unowned ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
