_bt_gh=$(mktemp -d) || exit 1
trap 'rm -rf "$_bt_gh"' EXIT
export GITHUB_ENV="$_bt_gh/env" GITHUB_PATH="$_bt_gh/path" GITHUB_STEP_SUMMARY="${BATON_SUMMARY:-$_bt_gh/summary}" GITHUB_WORKSPACE="$PWD" RUNNER_TEMP="$_bt_gh" CI=true
: > "$_bt_gh/env"; : > "$_bt_gh/path"; : > "$_bt_gh/masks"
# GitHub's default variables: a value the job's env gave (from the params github_*)
# stands; else what this machine and checkout say. Each is data, never evaluated.
: "${GITHUB_ACTOR:=$(id -un 2>/dev/null)}" "${GITHUB_EVENT_NAME:=workflow_dispatch}"
: "${GITHUB_SHA:=$(git rev-parse HEAD 2>/dev/null)}" "${GITHUB_REF:=$(git symbolic-ref -q HEAD 2>/dev/null)}"
: "${GITHUB_REPOSITORY:=$(git remote get-url origin 2>/dev/null | sed -e 's#\.git$##' -e 's#^.*[:/]\([^/:]*/[^/:]*\)$#\1#')}"
: "${GITHUB_RUN_ID:=${BATON_RUN_ID:-1}}" "${GITHUB_RUN_NUMBER:=1}" "${GITHUB_RUN_ATTEMPT:=${BATON_ATTEMPT:-1}}"
: "${GITHUB_SERVER_URL:=https://github.com}" "${GITHUB_API_URL:=https://api.github.com}"
: "${GITHUB_REF_NAME:=${GITHUB_REF##*/}}" "${GITHUB_REPOSITORY_OWNER:=${GITHUB_REPOSITORY%%/*}}"
case $GITHUB_REF in refs/tags/*) _bt_rt=tag ;; *) _bt_rt=branch ;; esac
: "${GITHUB_REF_TYPE:=$_bt_rt}" "${GITHUB_EVENT_PATH:=$_bt_gh/event.json}"
[ -f "$GITHUB_EVENT_PATH" ] || printf '{}\n' > "$GITHUB_EVENT_PATH"
case $(uname -s) in Darwin) _bt_os=macOS ;; *) _bt_os=Linux ;; esac
case $(uname -m) in aarch64|arm64) _bt_ar=ARM64 ;; armv7*) _bt_ar=ARM ;; i?86) _bt_ar=X86 ;; *) _bt_ar=X64 ;; esac
: "${RUNNER_OS:=$_bt_os}" "${RUNNER_ARCH:=$_bt_ar}" "${RUNNER_NAME:=baton}"
export GITHUB_ACTIONS=true GITHUB_ACTOR GITHUB_EVENT_NAME GITHUB_SHA GITHUB_REF GITHUB_REF_NAME \
  GITHUB_REF_TYPE GITHUB_REPOSITORY GITHUB_REPOSITORY_OWNER GITHUB_RUN_ID GITHUB_RUN_NUMBER \
  GITHUB_RUN_ATTEMPT GITHUB_SERVER_URL GITHUB_API_URL GITHUB_EVENT_PATH RUNNER_OS RUNNER_ARCH RUNNER_NAME
# The delimiter of the entries workflow commands write (a step cannot know it).
_bt_delim=ghadelimiter_$(od -An -N16 -tx1 /dev/urandom 2>/dev/null | tr -dc '0-9a-f')_$$
# The last line a step's command writes to its output once it ended: the reader of its
# workflow commands stops there, whatever a process it left behind holds open.
_bt_eot="::$_bt_delim::"
# mawk reads a pipe in blocks unless told otherwise: a step's log would come late.
case $(awk -W version 2>&1) in *mawk*) _bt_awi='-W interactive' ;; *) _bt_awi= ;; esac
# A command file ($GITHUB_ENV, $GITHUB_OUTPUT) read by GitHub's rules: one NAME=value
# a line; a multi-line value only as NAME<<DELIMITER, its lines, DELIMITER. Each entry
# goes to the function "$2" as two words, NAME and VALUE: nothing here evaluates a
# value. A line of neither form, or a delimiter never closed, is said on stderr ("$3"
# names the file) and returns 1, as GitHub fails the step.
_bt_read() {
  _bt_d= _bt_n= _bt_v= _bt_f= _bt_bad=0
  while IFS= read -r _bt_l || [ -n "$_bt_l" ]; do
    if [ -n "$_bt_d" ]; then
      if [ "$_bt_l" = "$_bt_d" ]; then "$2" "$_bt_n" "$_bt_v"; _bt_d=
      elif [ -n "$_bt_f" ]; then _bt_v=$_bt_l _bt_f=
      else _bt_v="$_bt_v
$_bt_l"
      fi
      continue
    fi
    _bt_e=${_bt_l%%=*} _bt_h=${_bt_l%%<<*}
    if [ -z "$_bt_l" ]; then :
    elif [ "$_bt_e" != "$_bt_l" ] && [ ${#_bt_e} -lt ${#_bt_h} ]; then
      "$2" "$_bt_e" "${_bt_l#*=}"
    elif [ "$_bt_h" != "$_bt_l" ] && [ -n "$_bt_h" ] && [ -n "${_bt_l#*<<}" ]; then
      _bt_n=$_bt_h _bt_d=${_bt_l#*<<} _bt_v= _bt_f=1
    else
      printf 'baton import: %s: a line neither NAME=value nor NAME<<DELIMITER: %s\n' "$3" "$_bt_l" >&2
      _bt_bad=1
    fi
  done < "$1"
  if [ -n "$_bt_d" ]; then
    printf 'baton import: %s: %s<<%s is never closed by a line %s\n' "$3" "$_bt_n" "$_bt_d" "$_bt_d" >&2
    _bt_bad=1
  fi
  return "$_bt_bad"
}
# A $GITHUB_ENV entry for the steps after it, as environment (data), unless its name
# changes how a shell or a loader runs, is baton's own, or is no variable name.
_bt_env() {
  case $1 in
    BASH_ENV|ENV|SHELLOPTS|BASHOPTS|PS0|PS1|PS2|PS3|PS4|PROMPT_COMMAND|IFS|CDPATH|\
GLOBIGNORE|EXECIGNORE|BASH_XTRACEFD|BASH_LOADABLES_PATH|BASH_COMPAT|POSIXLY_CORRECT|\
BASH_FUNC_*|LD_*|DYLD_*|GCONV_PATH|GLIBC_TUNABLES|HOSTALIASES|LOCPATH|MALLOC_*|\
NODE_OPTIONS|PYTHONSTARTUP|PYTHONINSPECT|PYTHONHOME|PERL5OPT|PERL5DB|PERLDB_OPTS|\
RUBYOPT|JAVA_TOOL_OPTIONS|_JAVA_OPTIONS|JDK_JAVA_OPTIONS)
      printf 'baton import: $GITHUB_ENV: %s refused: it changes how a shell, a loader or an interpreter runs (docs/import-github.md)\n' "$1" >&2 ;;
    _bt_*|BATON_*|GITHUB_ENV|GITHUB_PATH|GITHUB_OUTPUT|GITHUB_STEP_SUMMARY)
      printf "baton import: \$GITHUB_ENV: %s refused: baton's own\\n" "$1" >&2 ;;
    ''|[0-9]*|*[!A-Za-z0-9_]*)
      printf 'baton import: $GITHUB_ENV: %s refused: not a variable name\n' "$1" >&2 ;;
    *) export "$1=$2" ;;
  esac
}
# $GITHUB_PATH: one absolute directory a line, put first in PATH for the steps after.
_bt_path() {
  while IFS= read -r _bt_p || [ -n "$_bt_p" ]; do
    case $_bt_p in
      '') ;;
      *:*) printf 'baton import: $GITHUB_PATH: %s refused: one directory a line, and this holds a colon\n' "$_bt_p" >&2 ;;
      /*) PATH="$_bt_p:$PATH" ;;
      *) printf 'baton import: $GITHUB_PATH: %s refused: not an absolute directory (a relative one is looked up from wherever a command runs)\n' "$_bt_p" >&2 ;;
    esac
  done < "$_bt_gh/path"
}
# Entries workflow commands wrote ("$1.cmd") first, the step's own file "$1" after: a
# name both set takes the file's value, as GitHub's runner reads the file at the step's end.
# A step that removed its own file keeps the commands' entries.
_bt_join() { if [ -f "$1.cmd" ]; then { [ ! -f "$1" ] || cat "$1"; } >> "$1.cmd" && mv -f "$1.cmd" "$1"; fi; }
# After a step: its $GITHUB_ENV and $GITHUB_PATH reach the steps after it, and its
# $GITHUB_OUTPUT ("$1") is checked. Returns 1 when a file breaks GitHub's rules.
_bt_carry() {
  _bt_ok=0
  _bt_join "$_bt_gh/env"; _bt_join "$_bt_gh/path"; _bt_join "$1"
  _bt_read "$_bt_gh/env" _bt_env '$GITHUB_ENV' || _bt_ok=1
  _bt_path
  _bt_read "$1" : '$GITHUB_OUTPUT' || _bt_ok=1
  : > "$_bt_gh/env"; : > "$_bt_gh/path"
  return "$_bt_ok"
}
# The last value step file "$1" gave output "$2", whole, in $_bt_got (_bt_has set when
# it gave one).
_bt_pick() { if [ "$1" = "$_bt_want" ]; then _bt_got=$2 _bt_has=1; fi; }
_bt_find() { _bt_want=$2 _bt_got= _bt_has=; [ -f "$1" ] && _bt_read "$1" _bt_pick '$GITHUB_OUTPUT' 2>/dev/null; }
# Job output "$1" from output "$3" of step file "$2", to $BATON_OUTPUT: one line, as a
# baton output is (a multi-line value is left unset, said on stderr).
_bt_output() {
  _bt_find "$2" "$3"
  [ -n "$_bt_has" ] || return 0
  case $_bt_got in
    *'
'*) printf 'baton import: job output %s is not set: its value is several lines, a baton output one\n' "$1" >&2 ;;
    *) printf '%s=%s\n' "$1" "$_bt_got" >> "$BATON_OUTPUT" ;;
  esac
}
# A `shell:` a template set, as GitHub reads it, run on the script "$3" (under
# `timeout "$1"` when set): a name GitHub knows, or a command line split into words,
# never evaluated, where {0} is the script (added last when absent).
_bt_shell() {
  _bt_t=$1 _bt_f=$3 _bt_s=$2
  case $_bt_s in
    '') set -- bash -e "$_bt_f" ;;
    bash) set -- bash --noprofile --norc -eo pipefail "$_bt_f" ;;
    sh) set -- sh -e "$_bt_f" ;;
    python) set -- python "$_bt_f" ;;
    pwsh) set -- pwsh -command ". '$_bt_f'" ;;
    *)
      IFS=' 	'; set -f; set -- $_bt_s; set +f; _bt_0=
      for _bt_a do
        shift
        case $_bt_a in *'{0}'*) _bt_a="${_bt_a%%'{0}'*}$_bt_f${_bt_a#*'{0}'}" _bt_0=1 ;; esac
        set -- "$@" "$_bt_a"
      done
      [ -n "$_bt_0" ] || set -- "$@" "$_bt_f" ;;
  esac
  if [ -n "$_bt_t" ]; then timeout "$_bt_t" "$@"; else "$@"; fi
}
# Workflow commands in a step's standard output ("$1": its $GITHUB_OUTPUT), read as
# GitHub's runner reads them: `::set-output name=N::V` an output, `::set-env`/`::add-path`
# entries of $GITHUB_ENV/$GITHUB_PATH (then read by the same rules) only under
# ACTIONS_ALLOW_UNSECURE_COMMANDS=true (else the step fails, as on GitHub),
# `::add-mask::V` masks V in later lines of the job, `::error`/`::warning`/`::notice`
# on stderr (an error or a warning also to $BATON_OUTPUT, masked, as baton's error
# record of the step), `::stop-commands::T` until `::T::`. Every other line passes, masked. awk
# only prints and appends to files: no value is evaluated. Entries go to FILE.cmd, never
# to the file the step appends to at the same time (`_bt_join` puts them together).
_bt_cmds() {
  : > "$1.cmd"; : > "$GITHUB_ENV.cmd"; : > "$GITHUB_PATH.cmd"
  awk $_bt_awi -v out="$1.cmd" -v envf="$GITHUB_ENV.cmd" -v pathf="$GITHUB_PATH.cmd" -v maskf="$_bt_gh/masks" -v d="$_bt_delim" -v eot="$_bt_eot" -v bo="${BATON_OUTPUT-}" '
function esc(s) { gsub(/%/, "%25", s); gsub(/\r/, "%0D", s); gsub(/\n/, "%0A", s); return s }
function unesc(s) { gsub(/%0D/, "\r", s); gsub(/%0A/, "\n", s); gsub(/%3A/, ":", s); gsub(/%2C/, ",", s); gsub(/%25/, "%", s); return s }
function rep(s, t,   r, p) { r = ""; while ((p = index(s, t)) > 0) { r = r substr(s, 1, p - 1) "***"; s = substr(s, p + length(t)) } return r s }
function mask(s,   i) { for (i = 1; i <= nm; i++) s = rep(s, m[i]); return s }
function say(s) { print mask(s); fflush() }
function entry(f, n, v) { printf "%s<<%s\n%s\n%s\n", n, d, v, d >> f; close(f) }
function allowed(c) {
  if (ENVIRON["ACTIONS_ALLOW_UNSECURE_COMMANDS"] == "true") return 1
  printf "baton import: the `%s` command is disabled: write to $GITHUB_%s, or set ACTIONS_ALLOW_UNSECURE_COMMANDS=true (GitHub fails the step too)\n", c, (c == "set-env" ? "ENV" : "PATH") > "/dev/stderr"
  bad = 1; return 0
}
BEGIN { while ((getline l < maskf) > 0) if (l != "") m[++nm] = l; close(maskf) }
{
  line = $0
  e = index(line, eot)
  if (e > 0 && e + length(eot) == length(line) + 1) { if (e > 1) say(substr(line, 1, e - 1)); exit bad }
  if (stop != "") { if (line == "::" stop "::") stop = ""; else say(line); next }
  p = index(substr(line, 3), "::")
  if (substr(line, 1, 2) != "::" || p == 0) { say(line); next }
  head = substr(line, 3, p - 1); v = unesc(substr(line, p + 4))
  sp = index(head, " "); c = sp ? substr(head, 1, sp - 1) : head
  name = ""; loc = ""; np = split(sp ? substr(head, sp + 1) : "", kv, ",")
  for (i = 1; i <= np; i++) {
    e = index(kv[i], "="); k = substr(kv[i], 1, e - 1); x = unesc(substr(kv[i], e + 1))
    if (k == "name") name = x; else if (k == "file") loc = x loc; else if (k == "line" || k == "col") loc = loc ":" x
  }
  if (c == "set-output" && name != "") entry(out, name, v)
  else if (c == "set-env" && name != "") { if (allowed(c)) entry(envf, name, v) }
  else if (c == "add-path") { if (allowed(c)) { print v >> pathf; close(pathf) } }
  else if (c == "add-mask") { if (v != "") { m[++nm] = v; print v >> maskf; close(maskf) } }
  else if (c == "stop-commands") stop = v
  else if (c == "error" || c == "warning" || c == "notice") {
    printf "%s: %s%s\n", toupper(substr(c, 1, 1)) substr(c, 2), (loc == "" ? "" : loc ": "), mask(v) > "/dev/stderr"
    if (c != "notice" && bo != "") { print "::" mask(head) "::" esc(mask(v)) >> bo; close(bo) }
  }
  else if (c == "debug") { if (ENVIRON["ACTIONS_STEP_DEBUG"] == "true") say("Debug: " v) }
  else if (c == "group") say(v)
  else if (c == "endgroup" || c == "save-state" || c == "echo") { }
  else say(line)
}
END { exit bad }'
}
# A step's exit: its command's code ($_bt_gh/rc), else that of its commands' reader ("$1").
_bt_end() { read -r _bt_x < "$_bt_gh/rc" || _bt_x=1; [ "$_bt_x" -eq 0 ] || return "$_bt_x"; return "$1"; }
# After step "$1" (its file name part) ended with "$2" ("$3" = 1: continue-on-error):
# its outcome and conclusion (steps.ID.outcome/conclusion), and the job's code.
_bt_done() {
  if [ "$2" -eq 0 ]; then _bt_o=success; else _bt_o=failure; fi
  printf '%s' "$_bt_o" > "$_bt_gh/outcome-$1"
  if [ "$3" = 1 ]; then printf success > "$_bt_gh/conclusion-$1"; else printf '%s' "$_bt_o" > "$_bt_gh/conclusion-$1"; fi
  [ "$2" -eq 0 ] || [ "$3" = 1 ] || _bt_rc=$2
}
_bt_skip() { printf skipped > "$_bt_gh/outcome-$1"; printf skipped > "$_bt_gh/conclusion-$1"; }
# What steps.ID.outcome (or conclusion: "$2") reads: '' before the step.
_bt_state() { [ -f "$_bt_gh/$2-$1" ] && cat "$_bt_gh/$2-$1"; }
# A step's timeout-minutes "$1" as a duration of `timeout`: empty unless a whole number
# once the blanks and newlines around it are dropped, as GitHub reads a text as a
# number (JavaScript's Number), and its leading zeros (checked before the shell's
# arithmetic reads it, which would take 010 for octal).
_bt_to() {
  _bt_n=$1
  while :; do
    case $_bt_n in [[:space:]]*) _bt_n=${_bt_n#?} ;; *[[:space:]]) _bt_n=${_bt_n%?} ;; *) break ;; esac
  done
  case $_bt_n in ''|*[!0-9]*) return ;; esac
  _bt_n=${_bt_n#"${_bt_n%%[!0]*}"}
  printf '%ss' "$((${_bt_n:-0} * 60))"
}
# Run "$2"… under timeout-minutes "$1" (none when it is not a whole number).
_bt_tm() {
  _bt_t=$(_bt_to "$1"); shift
  if [ -n "$_bt_t" ]; then timeout "$_bt_t" "$@"; else "$@"; fi
}
# "$1" as a JSON string, as GitHub's toJSON writes one: `\`, `"` and control
# characters escaped, lines joined by \n (a trailing newline kept). awk only prints.
_bt_json() {
  printf '%s\n' "$1" | LC_ALL=C awk 'BEGIN { printf "\""; for (i = 1; i < 32; i++) ord[sprintf("%c", i)] = i }
{ o = ""; n = length($0)
  for (i = 1; i <= n; i++) {
    c = substr($0, i, 1)
    if (c == "\\") o = o "\\\\"; else if (c == "\"") o = o "\\\""
    else if (c == "\t") o = o "\\t"; else if (c == "\r") o = o "\\r"
    else if (c == "\b") o = o "\\b"; else if (c == "\f") o = o "\\f"
    else if (c in ord) o = o sprintf("\\u%04x", ord[c]); else o = o c
  }
  printf "%s%s", (NR > 1 ? "\\n" : ""), o }
END { printf "\"" }'
}
# toJSON of a step's outputs (file "$1", lines indented by "$2"), as GitHub writes
# them: each name once, where it was first set, with the last value it was given.
_bt_seen() { case "
$_bt_names
" in *"
$1
"*) ;; *) _bt_names="${_bt_names:+$_bt_names
}$1" ;; esac; }
_bt_outs_json() {
  _bt_names=
  [ -f "$1" ] && _bt_read "$1" _bt_seen '$GITHUB_OUTPUT' 2>/dev/null
  if [ -z "$_bt_names" ]; then printf '{}'; return 0; fi
  printf '{'; _bt_sep=
  while IFS= read -r _bt_k; do
    _bt_find "$1" "$_bt_k"
    printf '%s\n%s  %s: %s' "$_bt_sep" "$2" "$(_bt_json "$_bt_k")" "$(_bt_json "$_bt_got")"
    _bt_sep=,
  done <<_bt_EOF
$_bt_names
_bt_EOF
  printf '\n%s}' "$2"
}
# toJSON(steps.ID): step file part "$1"'s outputs, outcome and conclusion as GitHub
# writes them, its closing brace indented by "$2".
_bt_step_json() {
  _bt_oc=$(_bt_state "$1" outcome) _bt_cc=$(_bt_state "$1" conclusion)
  printf '{\n%s  "outputs": ' "$2"
  _bt_outs_json "$_bt_gh/out-$1" "$2  "
  printf ',\n%s  "outcome": %s,\n%s  "conclusion": %s\n%s}' "$2" "$(_bt_json "${_bt_oc:-skipped}")" "$2" "$(_bt_json "${_bt_cc:-skipped}")" "$2"
}
# toJSON(steps): the steps before this one that have an id ("$1" its file part, "$2"
# the id, and so on), each as _bt_step_json writes it.
_bt_steps_json() {
  if [ $# -lt 2 ]; then printf '{}'; return 0; fi
  printf '{'; _bt_ss=
  while [ $# -ge 2 ]; do
    printf '%s\n  %s: ' "$_bt_ss" "$(_bt_json "$2")"
    _bt_step_json "$1" '  '
    _bt_ss=, ; shift 2
  done
  printf '\n}'
}
# Text compared as GitHub compares it, ignoring case, byte for byte: "$1" and "$2"
# are each a value with an `x` after it, which keeps its trailing newlines.
_bt_lc() { printf '%s' "$1" | tr '[:upper:]' '[:lower:]'; }
_bt_eq() { [ "$(_bt_lc "$1")" = "$(_bt_lc "$2")" ]; }
# startsWith, endsWith or contains ("$1") of "$2" and "$3", each with its `x`.
_bt_has() {
  _bt_ha=$(_bt_lc "$2"); _bt_ha=${_bt_ha%x}; _bt_hb=$(_bt_lc "$3"); _bt_hb=${_bt_hb%x}
  case $1 in
    startswith) case $_bt_ha in "$_bt_hb"*) return 0 ;; esac ;;
    endswith) case $_bt_ha in *"$_bt_hb") return 0 ;; esac ;;
    *) case $_bt_ha in *"$_bt_hb"*) return 0 ;; esac ;;
  esac
  return 1
}
_bt_rc=0
