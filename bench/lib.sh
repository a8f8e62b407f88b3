#!/usr/bin/env bash
# Shared by the benchmark scripts (sourced, not run): logging, stopping the processes a script started, and
# installing the Debian packages a benchmark needs without letting them start system services.
#
# The sourcing script keeps two globals: SUDO (an array, empty when root) and POLICY_RC_CREATED (set while this file's
# policy-rc.d is in place); its cleanup calls remove_policy_rc.

log() {
    printf '[%s] %s\n' "$(date -u '+%H:%M:%S')" "$*"
}

die() {
    log "FAILED: $*" >&2
    exit 1
}

# Stops a process this script started: TERM, up to $2 seconds to exit, then KILL.
stop_pid() {
    local pid="$1" grace="$2" waited=0
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null && ((waited < grace * 10)); do
        sleep 0.1
        waited=$((waited + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "cleanup: PID $pid did not stop within ${grace}s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

# Waits up to $3 seconds for `curl $2` (with any further arguments, e.g. -I) to print HTTP status 200, while process
# $1 lives.
wait_for_200() {
    local pid="$1" url="$2" limit="$3" deadline status
    deadline=$((SECONDS + limit))
    while ((SECONDS < deadline)); do
        kill -0 "$pid" 2>/dev/null || return 1
        status="$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "${@:4}" "$url" || true)"
        [[ "$status" == 200 ]] && return 0
        sleep 0.5
    done
    return 1
}

# Prints the path of program $1 (also looked for in /usr/sbin, which is not on every PATH), or nothing.
find_tool() {
    command -v "$1" 2>/dev/null || { [[ -x "/usr/sbin/$1" ]] && echo "/usr/sbin/$1"; } || true
}

# Removes the policy-rc.d that install_packages put in place, if it is still there.
remove_policy_rc() {
    if [[ -n "${POLICY_RC_CREATED:-}" ]]; then
        "${SUDO[@]}" rm -f /usr/sbin/policy-rc.d
        POLICY_RC_CREATED=""
    fi
}

# Installs Debian packages $@ (all of them missing, as the caller found). Installing must not start a system nginx
# on port 80 or a system Redis: a policy-rc.d that says no (exit 101) keeps invoke-rc.d from starting them while
# apt-get runs. One that is already there is left alone.
install_packages() {
    ((EUID == 0)) || {
        command -v sudo >/dev/null 2>&1 || die "$* missing, and not root and no sudo to install them"
        SUDO=(sudo)
    }
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee /usr/sbin/policy-rc.d >/dev/null
        "${SUDO[@]}" chmod 755 /usr/sbin/policy-rc.d
        POLICY_RC_CREATED=1
    fi
    log "installing $* (Debian packages)"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive timeout 600 apt-get update -q </dev/null >/dev/null
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive timeout 600 \
        apt-get install -y -q --no-install-recommends "$@" </dev/null >/dev/null
    remove_policy_rc
}
