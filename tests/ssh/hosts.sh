#!/bin/sh
# Two real SSH hosts for baton's tests: Debian's sshd on 127.0.0.2 and 127.0.0.3 (one
# private port), each with its own host key, one authorized key, a known_hosts and an
# ssh config that names them. Run as root (sshd's privilege separation); no systemd.
#   tests/ssh/hosts.sh start [PID]   start them (idempotent); prints the ssh config's
#                                    path. With PID (the test process), they stop once
#                                    every PID that asked for them has exited.
#   tests/ssh/hosts.sh stop    stop them (and unmount the full disk)
# Everything lives in $BATON_SSH_DIR (default /tmp/baton-ssh); the port is
# $BATON_SSH_PORT (default 42622). The config names:
#   baton-h2, baton-h3   the two hosts (user root, the authorized key, which every
#                        account of the host may log in with)
#   baton-refused        127.0.0.2 as nobody, with a key it does not authorize
#   baton-down           127.0.0.4, where nothing listens
# and $BATON_SSH_DIR/full is a 64 KiB tmpfs, filled: a full remote disk.
set -eu
DIR=${BATON_SSH_DIR:-/tmp/baton-ssh}
. "$(dirname "$0")/../daemons.sh"
one_at_a_time "$@"
PORT=${BATON_SSH_PORT:-42622}
CONF=$DIR/ssh_config

# sshd writes its pid file once it listens.
up() {
    [ -s "$DIR/h$1/sshd.pid" ] && kill -0 "$(cat "$DIR/h$1/sshd.pid")" 2>/dev/null
}


# sshd reads authorized_keys as the account logging in: the other accounts of the host
# (tests/accounts.sh's, a store of another account, issue 59) pass through $DIR to it
# (0711: nothing listed; the private keys stay 0600, the public one is readable).
let_accounts_in() {
    chmod 0711 "$DIR"
    chmod 0644 "$DIR/authorized_keys"
}

start() {
    if [ -f "$CONF" ] && up 2 && up 3; then let_accounts_in; watch_owners "${1:-}"; echo "$CONF"; return; fi
    [ -x /usr/sbin/sshd ] || { echo "hosts.sh: sshd is not installed (apt-get install openssh-server)" >&2; exit 2; }
    [ "$(id -u)" = 0 ] || { echo "hosts.sh: must run as root" >&2; exit 2; }
    stop >/dev/null
    mkdir -p "$DIR"
    chmod 0700 "$DIR"
    # sshd's privilege-separation directory is compiled in: made if missing (noted, and
    # taken away by `stop` once no sshd runs).
    if [ ! -d /run/sshd ]; then mkdir -p /run/sshd && : > "$DIR/made-run-sshd"; fi
    rm -f "$DIR/id_ed25519" "$DIR/id_ed25519.pub" "$DIR/wrong" "$DIR/wrong.pub"
    ssh-keygen -q -t ed25519 -N '' -C baton-test -f "$DIR/id_ed25519"
    ssh-keygen -q -t ed25519 -N '' -C baton-wrong -f "$DIR/wrong"
    cp "$DIR/id_ed25519.pub" "$DIR/authorized_keys"
    let_accounts_in
    : > "$DIR/known_hosts.new"
    for h in 2 3; do
        hd=$DIR/h$h
        mkdir -p "$hd"
        rm -f "$hd/host_key" "$hd/host_key.pub"
        ssh-keygen -q -t ed25519 -N '' -C "baton-h$h" -f "$hd/host_key"
        echo "[127.0.0.$h]:$PORT $(cut -d' ' -f1,2 "$hd/host_key.pub")" >> "$DIR/known_hosts.new"
        cat > "$hd/sshd_config" <<CONF
ListenAddress 127.0.0.$h:$PORT
HostKey $hd/host_key
PidFile $hd/sshd.pid
AuthorizedKeysFile $DIR/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
MaxStartups 200
MaxSessions 200
LogLevel ERROR
Subsystem sftp internal-sftp
CONF
        /usr/sbin/sshd -f "$hd/sshd_config" -E "$hd/sshd.log"
    done
    mv "$DIR/known_hosts.new" "$DIR/known_hosts"
    cat > "$CONF" <<CONF
Host baton-h2
  HostName 127.0.0.2
  IdentityFile $DIR/id_ed25519
Host baton-h3
  HostName 127.0.0.3
  IdentityFile $DIR/id_ed25519
Host baton-down
  HostName 127.0.0.4
  IdentityFile $DIR/id_ed25519
Host baton-refused
  HostName 127.0.0.2
  IdentityFile $DIR/wrong
  # Another user: a shared connection (ControlMaster) is per host, port and user.
  User nobody
Host *
  Port $PORT
  User root
  IdentitiesOnly yes
  IdentityAgent none
  UserKnownHostsFile $DIR/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  BatchMode yes
  ConnectTimeout 3
  LogLevel ERROR
CONF
    # A full disk: a tiny tmpfs, filled up.
    mkdir -p "$DIR/full"
    if ! mountpoint -q "$DIR/full"; then
        mount -t tmpfs -o size=64k,mode=0755 baton-full "$DIR/full"
    fi
    cat /dev/zero > "$DIR/full/filler" 2>/dev/null || true
    i=0
    until up 2 && up 3; do
        i=$((i + 1))
        if [ $i -gt 250 ]; then
            echo "hosts.sh: the sshds did not start; see $DIR/h*/sshd.log" >&2
            tail -5 "$DIR"/h*/sshd.log >&2 || true
            exit 1
        fi
        sleep 0.02
    done
    watch_owners "${1:-}"
    echo "$CONF"
}

stop() {
    for h in 2 3; do
        pid=$DIR/h$h/sshd.pid
        [ -f "$pid" ] && kill "$(cat "$pid")" 2>/dev/null || true
        rm -f "$pid"
    done
    mountpoint -q "$DIR/full" 2>/dev/null && umount "$DIR/full" || true
    if [ -e "$DIR/made-run-sshd" ]; then
        i=0
        while pgrep -x sshd >/dev/null && [ $i -lt 20 ]; do i=$((i + 1)); sleep 0.05; done
        if ! pgrep -x sshd >/dev/null; then rmdir /run/sshd 2>/dev/null || true; rm -f "$DIR/made-run-sshd"; fi
    fi
    rm -f "$DIR/pinned"
    echo stopped
}

case "${1:-}" in
    start) start "${2:-}" ;;
    stop) stop ;;
    unowned) unowned ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
