#!/bin/sh
# The OS accounts some tests act as, besides root and nobody: two groups of members of
# one group store (tests/it/tamper/group_members.rs, tests/it/approvals/ask_accounts.rs).
# Making an account changes /etc/passwd, /etc/group and /etc/shadow, so the tests never
# do it themselves: this script does, as root, before the suite (.ci/run), and without
# the accounts those tests say `SKIPPED` and which are missing. No home directory is
# made; the tests give each account one under their own directory.
#   tests/accounts.sh add       make the groups and accounts not there yet; prints each
#                               one it made (`group NAME`, `user NAME`)
#   tests/accounts.sh remove [FILE]
#                               remove them all, or only those FILE names (what an
#                               `add` printed: the ones it made)
#   tests/accounts.sh list      print `GROUP USER…` per group
set -eu

list() {
    echo "gmteam gmalice gmbob"
    echo "askteam askann askbo askcy"
}

need_root() {
    [ "$(id -u)" = 0 ] || { echo "accounts.sh: must run as root" >&2; exit 2; }
}

add() {
    need_root
    list | while read -r group users; do
        if ! getent group "$group" >/dev/null; then
            groupadd "$group"
            echo "group $group"
        fi
        for u in $users; do
            if ! getent passwd "$u" >/dev/null; then
                useradd -M -N -g "$group" -s /bin/sh "$u"
                echo "user $u"
            fi
            # No password, not locked (`!`): sshd (UsePAM no) lets a locked account in by
            # no key, and a store of another account is reached as it over ssh (issue 59,
            # tests/ssh/hosts.sh).
            if [ "$(getent shadow "$u" | cut -d: -f2)" = "!" ]; then usermod -p '*' "$u"; fi
        done
    done
}

remove() {
    need_root
    if [ -n "${1:-}" ]; then
        # Users before groups: a group is removed once no account has it as primary.
        awk '$1 == "user" { print $2 }' "$1" | while read -r u; do
            if getent passwd "$u" >/dev/null; then userdel "$u"; fi
        done
        awk '$1 == "group" { print $2 }' "$1" | while read -r g; do
            if getent group "$g" >/dev/null; then groupdel "$g"; fi
        done
        return
    fi
    list | while read -r group users; do
        for u in $users; do
            if getent passwd "$u" >/dev/null; then userdel "$u"; fi
        done
        if getent group "$group" >/dev/null; then groupdel "$group"; fi
    done
}

case "${1:-}" in
    add) add ;;
    remove) remove "${2:-}" ;;
    list) list ;;
    *) echo "usage: $0 add|remove|list" >&2; exit 2 ;;
esac
