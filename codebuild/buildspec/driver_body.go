package buildspec

// driverBody is the fixed part of the driver, in POSIX sh so that dash runs
// it as well as bash. It follows the generated part (driverHeader), which
// defines _pw_sh, _pw_pf, _pw_vf, _pw_iso and the functions _pw_cmd,
// _pw_onfail, _pw_setenv, _pw_refused, _pw_found and _pw_exportvars.
//
// User commands run with eval in this shell, at top level (not inside a
// function), so cd, variables and exports carry on. A command that ends
// the shell (exit, a failure under the user's own set -e, a syntax error
// under dash) fires the EXIT trap, which execs a fresh driver that resumes
// after that command with the exported variables and the working
// directory it left: the command counts as failed (or succeeded, for exit
// 0), and shell variables that were not exported are lost.
//
// Phase file lines (see ReadPhases) are appended with one printf each.
// Times come from bash's EPOCHREALTIME without a fork (bash); else from GNU
// date (+%s%3N), whole seconds from another date, and 0 (no time) when
// date cannot be run at all.
const driverBody = `
_pw_stamp() {
	case ${EPOCHREALTIME-} in
	[0-9]*.[0-9][0-9][0-9][0-9][0-9][0-9])
		_pw_s=${EPOCHREALTIME%.*}
		_pw_us=${EPOCHREALTIME#*.}
		if TZ=UTC0 printf -v _pw_ts '%(%Y/%m/%d %H:%M:%S)T' "$_pw_s" 2>/dev/null; then
			_pw_ms=$_pw_s${_pw_us%???}
			_pw_ts=$_pw_ts.$_pw_us
			return 0
		fi
		;;
	esac
	_pw_now=$(command date -u '+%s%3N %Y/%m/%d %H:%M:%S.%6N')
	_pw_ms=${_pw_now%% *}
	_pw_ts=${_pw_now#* }
	case $_pw_ms in
	'' | *[!0-9]*) _pw_ms=$(command date +%s)000 ;;
	esac
	case $_pw_ms in
	'' | *[!0-9]*) _pw_ms=0 ;;
	esac
}
_pw_log() {
	_pw_stamp
	printf '[Container] %s %s\n' "$_pw_ts" "$1"
}
_pw_after() {
	_pw_in=0
	if [ "$1" -eq 0 ]; then
		_pw_k=$((_pw_k + 1))
		return 0
	fi
	_pw_pfail=1
	_pw_log "Command did not exit successfully $_pw_c exit status $1"
	_pw_why="Error while executing command: $_pw_c. Reason: exit status $1"
	_pw_ewhy="Error while executing command: $_pw_e. Reason: exit status $1"
	if [ "$_pw_blk" = c ]; then
		_pw_blk=f
		_pw_k=0
	else
		_pw_blk=x
	fi
}
_pw_resume() {
	[ "$_pw_in" = 1 ] || return 0
	_pw_in=0
	_PW_RESUME="$_pw_phase $_pw_blk $_pw_k $1 $_pw_start $_pw_failed $_pw_pfail"
	_PW_RESUME_WHY=$_pw_why
	_PW_RESUME_EWHY=$_pw_ewhy
	export _PW_RESUME _PW_RESUME_WHY _PW_RESUME_EWHY
	exec "$_pw_sh" -c "$_pw_driver" pipewright-driver "$_pw_driver"
}
trap '_pw_resume "$?"' EXIT
trap 'trap - EXIT; exit 129' HUP
trap 'trap - EXIT; exit 130' INT
trap 'trap - EXIT; exit 143' TERM

_pw_in=0
_pw_failed=0
_pw_abort=0
_pw_seek=
_pw_top=$PWD
if [ -n "${_PW_RESUME-}" ]; then
	_pw_r=$_PW_RESUME
	_pw_seek=${_pw_r%% *}; _pw_r=${_pw_r#* }
	_pw_blk=${_pw_r%% *}; _pw_r=${_pw_r#* }
	_pw_k=${_pw_r%% *}; _pw_r=${_pw_r#* }
	_pw_st=${_pw_r%% *}; _pw_r=${_pw_r#* }
	_pw_start=${_pw_r%% *}; _pw_r=${_pw_r#* }
	_pw_failed=${_pw_r%% *}; _pw_r=${_pw_r#* }
	_pw_pfail=$_pw_r
	_pw_why=$_PW_RESUME_WHY
	_pw_ewhy=$_PW_RESUME_EWHY
	unset _PW_RESUME _PW_RESUME_WHY _PW_RESUME_EWHY
else
	CODEBUILD_BUILD_SUCCEEDING=1
	export CODEBUILD_BUILD_SUCCEEDING
	_pw_setenv
	_pw_found
fi

for _pw_phase in INSTALL PRE_BUILD BUILD POST_BUILD; do
	if [ -n "$_pw_seek" ]; then
		[ "$_pw_seek" = "$_pw_phase" ] || continue
		_pw_seek=
		_pw_cmd "$_pw_phase" "$_pw_blk" "$_pw_k"
		_pw_after "$_pw_st"
	else
		[ "$_pw_abort" = 1 ] && break
		_pw_log "Entering phase $_pw_phase"
		_pw_start=$_pw_ms
		printf 'start\t%s\t%s\n' "$_pw_phase" "$_pw_start" >> "$_pw_pf"
		_pw_pfail=0
		_pw_why=
		_pw_ewhy=
		_pw_blk=c
		_pw_k=0
		_pw_fcode=
		if _pw_refused "$_pw_phase"; then
			_pw_log "$_pw_why"
			_pw_pfail=1
			_pw_fcode=CLIENT_ERROR
			_pw_blk=x
		fi
	fi
	while [ "$_pw_blk" != x ]; do
		if _pw_cmd "$_pw_phase" "$_pw_blk" "$_pw_k"; then
			_pw_log "Running command $_pw_c"
			_pw_in=1
			if [ "$_pw_iso" = 1 ]; then
				(cd "$_pw_top" && eval "$_pw_c")
			else
				eval "$_pw_c"
			fi
			_pw_after "$?"
		elif [ "$_pw_blk" = c ]; then
			_pw_blk=f
			_pw_k=0
		else
			_pw_blk=x
		fi
	done
	if [ "$_pw_pfail" = 1 ]; then
		_pw_state=FAILED
		_pw_code=${_pw_fcode:-COMMAND_EXECUTION_ERROR}
	else
		_pw_state=SUCCEEDED
		_pw_code=
	fi
	_pw_log "Phase complete: $_pw_phase State: $_pw_state"
	_pw_end=$_pw_ms
	_pw_log "Phase context status code: $_pw_code Message: $_pw_why"
	printf 'end\t%s\t%s\t%s\t%s\t%s\t%s\n' "$_pw_phase" "$_pw_start" "$_pw_end" "$_pw_state" "$_pw_code" "$_pw_ewhy" >> "$_pw_pf"
	if [ "$_pw_pfail" = 1 ]; then
		_pw_failed=1
		CODEBUILD_BUILD_SUCCEEDING=0
		export CODEBUILD_BUILD_SUCCEEDING
		_pw_onfail "$_pw_phase"
		case $_pw_phase:$_pw_of in
		INSTALL:ABORT | PRE_BUILD:ABORT) _pw_abort=1 ;;
		esac
	fi
done

if [ "$_pw_failed" = 0 ] && [ -n "$_pw_vf" ]; then
	if ! _pw_exportvars; then
		_pw_log "Failed to write the exported variables to $_pw_vf"
		_pw_failed=1
	fi
fi
trap - EXIT
exit "$_pw_failed"
`
