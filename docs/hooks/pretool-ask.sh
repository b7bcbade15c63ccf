#!/bin/sh
# A coding agent's pre-tool permission hook (Claude Code's PreToolUse): shell commands
# that match $BATON_ASK_PATTERN are put to a person with `baton ask`; the rest pass.
# Reads the hook's JSON on stdin ({"tool_name":"Bash","tool_input":{"command":"…"}}),
# prints the hook's decision as JSON and exits 0 (allow, or deny with the reason).
# Needs jq and baton on PATH. Settings (.claude/settings.json):
#   {"hooks":{"PreToolUse":[{"matcher":"Bash","hooks":[{"type":"command",
#     "command":"/path/to/pretool-ask.sh"}]}]}}
set -u
pattern="${BATON_ASK_PATTERN:-DROP TABLE|rm -rf|git push --force|terraform apply}"
input=$(cat)
tool=$(printf '%s' "$input" | jq -r '.tool_name // ""')
command=$(printf '%s' "$input" | jq -r '.tool_input.command // ""')
[ "$tool" = "Bash" ] || exit 0
printf '%s' "$command" | grep -Eq -- "$pattern" || exit 0

decide() { # decision reason
    jq -n --arg d "$1" --arg r "$2" \
        '{hookSpecificOutput:{hookEventName:"PreToolUse",permissionDecision:$d,permissionDecisionReason:$r}}'
    exit 0
}
# The command is the prompt, as data: baton never runs it, and masks secrets it knows.
answer=$(baton ask --json --prompt "the agent wants to run: $command" \
    --timeout "${BATON_ASK_TIMEOUT:-10m}" ${BATON_ASK_APPROVERS:+--approvers "$BATON_ASK_APPROVERS"})
status=$?
reason=$(printf '%s' "$answer" | jq -r '.reason // ""' 2>/dev/null)
by=$(printf '%s' "$answer" | jq -r '.decided_by // ""' 2>/dev/null)
case $status in
    0) decide allow "approved by $by${reason:+: $reason}" ;;
    1) decide deny "rejected by $by${reason:+: $reason}" ;;
    3) decide deny "no decision in time" ;;
    # 5: the store or the system failed (never 1 or 3); 2: bad usage.
    *) decide deny "baton ask failed (exit $status)" ;;
esac
