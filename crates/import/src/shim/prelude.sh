_bt_gh=$(mktemp -d) || exit 1
trap 'rm -rf "$_bt_gh"' EXIT
export GITHUB_ENV="$_bt_gh/env" GITHUB_PATH="$_bt_gh/path" GITHUB_STEP_SUMMARY="$_bt_gh/summary" GITHUB_WORKSPACE="$PWD" RUNNER_TEMP="$_bt_gh" CI=true
: > "$_bt_gh/env"; : > "$_bt_gh/path"
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
# After a step: its $GITHUB_ENV and $GITHUB_PATH reach the steps after it, and its
# $GITHUB_OUTPUT ("$1") is checked. Returns 1 when a file breaks GitHub's rules.
_bt_carry() {
  _bt_ok=0
  _bt_read "$_bt_gh/env" _bt_env '$GITHUB_ENV' || _bt_ok=1
  _bt_path
  _bt_read "$1" : '$GITHUB_OUTPUT' || _bt_ok=1
  : > "$_bt_gh/env"; : > "$_bt_gh/path"
  return "$_bt_ok"
}
# The last value step file "$1" gave output "$2" (_bt_has set when it gave one).
_bt_pick() { if [ "$1" = "$_bt_want" ]; then _bt_got=$2 _bt_has=1; fi; }
_bt_find() { _bt_want=$2 _bt_got= _bt_has=; [ -f "$1" ] && _bt_read "$1" _bt_pick '$GITHUB_OUTPUT' 2>/dev/null; }
_bt_get() { _bt_find "$1" "$2"; printf '%s' "$_bt_got"; }
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
# Text compared as GitHub compares it, ignoring case.
lc() { printf '%s' "$1" | tr '[:upper:]' '[:lower:]'; }
_bt_rc=0
