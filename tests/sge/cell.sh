#!/bin/sh
# A private Sun Grid Engine cell for baton's tests: Debian's gridengine packages
# (gridengine-master gridengine-exec gridengine-client), `init_cluster` into a temporary
# SGE_ROOT, private ports, sge_qmaster and sge_execd run by hand (SGE_ND: no daemon
# fork), a host_aliases file where this host's name is `localhost`, a scheduler run
# every second. Needs root; no systemd.
#   tests/sge/cell.sh start [PID]   start it (idempotent); prints the path of a file of
#                                   `export NAME=VALUE` lines (SGE_ROOT, SGE_CELL and
#                                   the ports) that the cell's clients need. With PID
#                                   (the test process), it stops once every PID that
#                                   asked for it has exited.
#   tests/sge/cell.sh stop          stop it (the daemons and any job still running)
# Everything lives in $BATON_SGE_DIR (default /tmp/baton-sge); the ports are
# $BATON_SGE_PORT and the next one (default 16444, 16445).
set -eu
DIR=${BATON_SGE_DIR:-/tmp/baton-sge}
. "$(dirname "$0")/../daemons.sh"
one_at_a_time "$@"
PORT=${BATON_SGE_PORT:-16444}
ENVFILE=$DIR/env
LIB=/usr/lib/gridengine
export SGE_ROOT="$DIR/root" SGE_CELL=baton SGE_QMASTER_PORT=$PORT SGE_EXECD_PORT=$((PORT + 1))

# A daemon of the cell runs (a zombie waiting to be reaped does not).
alive() {
    [ -s "$DIR/$1.pid" ] || return 1
    st=$(sed 's/.*) //' "/proc/$(cat "$DIR/$1.pid")/stat" 2>/dev/null | cut -c1)
    [ -n "$st" ] && [ "$st" != Z ]
}

# The queue takes jobs: the execution daemon has reported (no `u`nknown state).
usable() {
    alive qmaster && alive execd || return 1
    "$LIB/qstat" -f -q all.q 2>/dev/null | awk '$1 == "all.q@localhost" { ok = ($6 == "") } END { exit !ok }'
}


# A daemon in the background of this script's caller: its own session, output to a log.
daemon() {
    SGE_ND=1 setsid "$LIB/$1" </dev/null >"$DIR/$2.log" 2>&1 &
    echo $! > "$DIR/$2.pid"
}

start() {
    if [ -f "$ENVFILE" ] && usable; then watch_owners "${1:-}"; echo "$ENVFILE"; return; fi
    [ -x "$LIB/sge_qmaster" ] && [ -x "$LIB/sge_execd" ] && [ -x "$LIB/qsub" ] || {
        echo "cell.sh: Grid Engine is not installed (apt-get install gridengine-master gridengine-exec gridengine-client)" >&2; exit 2; }
    [ "$(id -u)" = 0 ] || { echo "cell.sh: must run as root" >&2; exit 2; }
    stop >/dev/null
    rm -rf "$DIR"
    mkdir -p "$SGE_ROOT/$SGE_CELL/common" "$DIR/spooldb" "$DIR/qmaster/job_scripts" "$DIR/execd"
    for d in bin lib utilbin; do ln -s "/var/lib/gridengine/$d" "$SGE_ROOT/$d"; done
    ln -s /usr/share/gridengine/util "$SGE_ROOT/util"
    common=$SGE_ROOT/$SGE_CELL/common
    sed -e "s@^admin_user .*@admin_user root@" \
        -e "s@^spooling_params .*@spooling_params $DIR/spooldb@" \
        -e "s@^qmaster_spool_dir .*@qmaster_spool_dir $DIR/qmaster@" \
        /usr/share/gridengine/default-bootstrap > "$common/bootstrap"
    /usr/share/gridengine/scripts/init_cluster "$SGE_ROOT" "$SGE_CELL" "$DIR/spooldb" root >"$DIR/init.log"
    # The global configuration: jobs of root (the tests'), no mail, a private spool,
    # load reports every few seconds.
    sed -e "s@^execd_spool_dir .*@execd_spool_dir $DIR/execd@" \
        -e "s@^min_uid .*@min_uid 0@" -e "s@^min_gid .*@min_gid 0@" \
        -e "s@^mailer .*@mailer /bin/true@" \
        -e "s@^load_report_time .*@load_report_time 00:00:05@" \
        /usr/share/gridengine/default-configuration > "$DIR/configuration"
    "$LIB/spooldefaults" configuration "$DIR/configuration" >>"$DIR/init.log"
    # This host's name resolves to 127.0.0.1, whose name is `localhost`: one host.
    echo "localhost $(hostname) $(hostname -f 2>/dev/null || hostname)" > "$common/host_aliases"
    echo localhost > "$common/act_qmaster"
    daemon sge_qmaster qmaster
    i=0
    until "$LIB/qconf" -sh >/dev/null 2>&1; do
        i=$((i + 1))
        [ $i -le 200 ] || { echo "cell.sh: sge_qmaster did not answer; see $DIR/qmaster.log" >&2; tail -5 "$DIR/qmaster.log" >&2; exit 1; }
        sleep 0.05
    done
    # A scheduler run every second (and one a second after each submit and end); no
    # load adjustments or thresholds: a loaded test machine still runs jobs.
    "$LIB/qconf" -ssconf | sed \
        -e 's/^schedule_interval .*/schedule_interval 0:0:1/' \
        -e 's/^flush_submit_sec .*/flush_submit_sec 1/' \
        -e 's/^flush_finish_sec .*/flush_finish_sec 1/' \
        -e 's/^job_load_adjustments .*/job_load_adjustments NONE/' \
        -e 's/^load_adjustment_decay_time .*/load_adjustment_decay_time 0:0:0/' \
        -e 's/^schedd_job_info .*/schedd_job_info false/' > "$DIR/sconf"
    "$LIB/qconf" -Msconf "$DIR/sconf" >>"$DIR/init.log" 2>&1
    printf 'hostname localhost\nload_scaling NONE\ncomplex_values NONE\nuser_lists NONE\nxuser_lists NONE\nprojects NONE\nxprojects NONE\nusage_scaling NONE\nreport_variables NONE\n' > "$DIR/exechost"
    "$LIB/qconf" -Ae "$DIR/exechost" >>"$DIR/init.log" 2>&1
    "$LIB/qconf" -as localhost >>"$DIR/init.log" 2>&1
    "$LIB/qconf" -sq | sed \
        -e 's/^qname .*/qname all.q/' -e 's/^hostlist .*/hostlist localhost/' \
        -e 's/^load_thresholds .*/load_thresholds NONE/' -e 's/^pe_list .*/pe_list NONE/' \
        -e "s/^slots .*/slots 16/" -e 's@^shell .*@shell /bin/sh@' > "$DIR/queue"
    "$LIB/qconf" -Aq "$DIR/queue" >>"$DIR/init.log" 2>&1
    daemon sge_execd execd
    i=0
    until usable; do
        i=$((i + 1))
        if [ $i -gt 300 ]; then
            echo "cell.sh: the cell did not come up; see $DIR/qmaster.log and $DIR/execd.log" >&2
            tail -5 "$DIR/qmaster.log" "$DIR/execd.log" >&2 || true
            exit 1
        fi
        sleep 0.05
    done
    cat > "$ENVFILE.new" <<ENV
export SGE_ROOT=$SGE_ROOT
export SGE_CELL=$SGE_CELL
export SGE_QMASTER_PORT=$SGE_QMASTER_PORT
export SGE_EXECD_PORT=$SGE_EXECD_PORT
ENV
    mv "$ENVFILE.new" "$ENVFILE"
    watch_owners "${1:-}"
    echo "$ENVFILE"
}

stop() {
    # Jobs first (their shepherds outlive sge_execd), then the daemons.
    for p in /proc/[0-9]*; do
        case "$(readlink "$p/cwd" 2>/dev/null)" in
            "$DIR/execd/"*/active_jobs/*)
                s=${p#/proc/}
                for c in $(ps -o pid= --ppid "$s" 2>/dev/null); do
                    kill -9 "-$(ps -o pgid= -p "$c" | tr -d ' ')" 2>/dev/null || kill -9 "$c" 2>/dev/null || true
                done
                kill -9 "$s" 2>/dev/null || true ;;
        esac
    done
    # A throwaway cell: nothing in its spool is kept (the next start makes a new one).
    for d in execd qmaster; do
        alive "$d" && kill -9 "$(cat "$DIR/$d.pid")" 2>/dev/null || true
    done
    # A daemon no pid file names (left by an earlier start that lost a race), found
    # by its SGE_ROOT: it would answer on the cell's port in place of the new one.
    # (One pgrep per name: procps takes `a|b` as one name, too long to match any.)
    for p in $(pgrep -x sge_qmaster 2>/dev/null) $(pgrep -x sge_execd 2>/dev/null); do
        { tr '\0' '\n' < "/proc/$p/environ"; } 2>/dev/null | grep -qx "SGE_ROOT=$SGE_ROOT" &&
            kill -9 "$p" 2>/dev/null || true
    done
    i=0
    while alive execd || alive qmaster; do
        i=$((i + 1))
        [ $i -le 100 ] || { echo "cell.sh: the daemons did not stop" >&2; exit 1; }
        sleep 0.05
    done
    rm -f "$DIR/execd.pid" "$DIR/qmaster.pid" "$ENVFILE" "$DIR/pinned"
    echo stopped
}

case "${1:-}" in
    start) start "${2:-}" ;;
    stop) stop ;;
    unowned) unowned ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
