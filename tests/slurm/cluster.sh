#!/bin/sh
# A single-node Slurm cluster for baton's tests: munge + slurmctld + slurmd, run by
# hand (no systemd) with a config in a temporary directory. Needs root and Debian's
# packages (slurmctld slurmd slurm-client munge).
#   tests/slurm/cluster.sh start   start it (idempotent); prints the config's path
#   tests/slurm/cluster.sh stop    stop it
# The config lives in $BATON_SLURM_DIR (default /tmp/baton-slurm).
set -eu
DIR=${BATON_SLURM_DIR:-/tmp/baton-slurm}
. "$(dirname "$0")/../daemons.sh"
one_at_a_time "$@"
CONF=$DIR/slurm.conf

running() { scontrol ping >/dev/null 2>&1 && sinfo -h -o %T 2>/dev/null | grep -qv -e down -e drain; }

start() {
    if [ -f "$CONF" ] && running; then echo "$CONF"; return; fi
    command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null || {
        echo "cluster.sh: slurmctld, slurmd or munged is not installed" >&2; exit 2; }
    [ "$(id -u)" = 0 ] || { echo "cluster.sh: must run as root" >&2; exit 2; }
    mkdir -p "$DIR/state" "$DIR/spool" "$DIR/log" /etc/slurm /run/munge /var/log/munge /var/lib/munge
    host=$(hostname -s)
    cpus=$(nproc)
    mem=$(awk '/MemTotal/ {print int($2/1024/2)}' /proc/meminfo)
    cat > "$CONF.new" <<CONF
ClusterName=baton
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
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
    # Debian's tools read /etc/slurm/slurm.conf unless SLURM_CONF says otherwise; what
    # this script puts under /etc (the link, a munge key) and the munged it starts are
    # noted in $DIR and taken away again by `stop`, so the machine is left as found.
    if [ ! -e /etc/slurm/slurm.conf ] || [ "$(readlink /etc/slurm/slurm.conf)" = "$CONF" ]; then
        ln -sf "$CONF" /etc/slurm/slurm.conf && : > "$DIR/made-link"
    fi
    [ -s /etc/munge/munge.key ] || { mkdir -p /etc/munge; dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 2>/dev/null && : > "$DIR/made-key"; }
    chown -R munge:munge /etc/munge /run/munge /var/log/munge /var/lib/munge 2>/dev/null || true
    chmod 0400 /etc/munge/munge.key
    if ! pgrep -x munged >/dev/null; then
        { su -s /bin/sh munge -c munged 2>/dev/null || munged --force; } && : > "$DIR/started-munged"
    fi
    if ! pgrep -x slurmctld >/dev/null; then slurmctld -f "$CONF"; fi
    if ! pgrep -x slurmd >/dev/null; then slurmd -f "$CONF"; fi
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
    echo "$CONF"
}

stop() {
    for p in slurmd slurmctld; do
        [ -f "$DIR/$p.pid" ] && kill "$(cat "$DIR/$p.pid")" 2>/dev/null || true
    done
    # Gone before this returns: a start right after would see a daemon still exiting
    # (`pgrep`), start none, and wait for a cluster that never comes up.
    i=0
    while pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null; do
        i=$((i + 1))
        [ $i -gt 40 ] && { echo "cluster.sh: slurmctld or slurmd did not stop" >&2; exit 1; }
        sleep 0.25
    done
    if [ -e "$DIR/started-munged" ]; then
        pkill -x munged 2>/dev/null || true
        rm -f "$DIR/started-munged"
    fi
    if [ -e "$DIR/made-link" ] && [ "$(readlink /etc/slurm/slurm.conf)" = "$CONF" ]; then
        rm -f /etc/slurm/slurm.conf
    fi
    rm -f "$DIR/made-link"
    if [ -e "$DIR/made-key" ]; then rm -f /etc/munge/munge.key "$DIR/made-key"; fi
    echo stopped
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
