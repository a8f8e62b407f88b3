#!/usr/bin/env bash
# The test command: `bash scripts/test.sh [extra dotnet test arguments, e.g. --filter Ranges]`.
#
# 1. Install the Debian packages the tests need (only when one is missing, so reruns are fast).
# 2. Run every test project in IsoCluster.sln (Release) with a TRX file per project.
# 3. Sum the TRX counters and print, as the very last line, `N passed, N failed[, N skipped]`.
#
# Exits with dotnet test's exit code; non-zero when no TRX file was produced (e.g. a build error).
set -euo pipefail

# Debian packages the tests need: xorriso builds ISO images; QEMU (with its curl block driver) boots VMs over
# HTTP(S); grub, mtools and busybox build the bootable fixture (scripts/boot-fixture.sh, which also fetches
# the Debian kernel package it unpacks); redis-server holds cluster membership in the multi-process cluster tests;
# kubectl (from the machine image's apt sources) renders deploy/ with its built-in kustomize for the manifest tests;
# chromium runs the boot page's browser test headless (driven over the DevTools protocol, so no chromium-driver).
REQUIRED_PACKAGES=(
    xorriso
    qemu-system-x86
    qemu-block-extra
    grub-pc-bin
    grub-common
    mtools
    busybox-static
    redis-server
    kubectl
    chromium
)

readonly RESULTS_DIR_NAME="artifacts/test-results"

log() {
    printf '[%s] %s\n' "$(date -u '+%Y-%m-%dT%H:%M:%SZ')" "$*"
}

# Installs whichever of REQUIRED_PACKAGES is missing; does nothing (and never touches apt) otherwise.
install_missing_packages() {
    local package missing=()
    for package in "${REQUIRED_PACKAGES[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$package")
        fi
    done

    if ((${#missing[@]} == 0)); then
        log "OS packages: all present (${REQUIRED_PACKAGES[*]})"
        return 0
    fi

    local sudo=()
    if ((EUID != 0)); then
        if ! command -v sudo >/dev/null 2>&1; then
            log "OS packages: missing ${missing[*]}, and not root and no sudo to install them" >&2
            return 1
        fi
        sudo=(sudo)
    fi

    log "OS packages: installing ${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -q </dev/null
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends "${missing[@]}" </dev/null
}

# Reads the first number in attribute $2 of the <Counters .../> element in file $1 (0 when absent).
# The element is flattened first so attribute order and line breaks do not matter.
trx_counter() {
    local value
    value="$(tr '\n\r' '  ' <"$1" | grep -o '<Counters[^>]*>' | head -n 1 |
        sed -n "s/.*[[:space:]]$2=\"\\([0-9]*\\)\".*/\\1/p" || true)"
    printf '%s' "${value:-0}"
}

# Prints "FAILED <test name>: <first line of its message>" for every failed result in TRX file $1 (perl-base is part
# of every Debian system).
report_failed_tests() {
    perl -0777 -ne '
        while (/<UnitTestResult\b([^>]*?)(?:\/>|>(.*?)<\/UnitTestResult>)/sg) {
            my ($attributes, $body) = ($1, $2 // "");
            next unless $attributes =~ /outcome="Failed"/;
            my ($name) = $attributes =~ /testName="([^"]*)"/;
            my ($message) = $body =~ /<Message>\s*([^\r\n]*)/;
            printf "FAILED %s: %s\n", $name // "?", substr($message // "", 0, 400);
        }' "$1" || true
}

# Prints the summary line for every *.trx in directory $1, given dotnet test's exit code $2, and
# returns the exit code the script should end with.
summarize_trx() {
    local results_dir="$1" test_exit_code="$2"
    local files=() file
    local passed=0 failed=0 skipped=0
    local total executed not_executed unrun

    if [[ -d "$results_dir" ]]; then
        while IFS= read -r -d '' file; do
            files+=("$file")
        done < <(find "$results_dir" -type f -name '*.trx' -print0 | sort -z)
    fi

    if ((${#files[@]} == 0)); then
        log "Summary: no TRX file in $results_dir (build failure or no test project ran)"
        echo "0 passed, 1 failed"
        if ((test_exit_code != 0)); then
            return "$test_exit_code"
        fi
        return 1
    fi

    for file in "${files[@]}"; do
        total="$(trx_counter "$file" total)"
        executed="$(trx_counter "$file" executed)"
        not_executed="$(trx_counter "$file" notExecuted)"
        passed=$((passed + $(trx_counter "$file" passed)))
        failed=$((failed + $(trx_counter "$file" failed) + $(trx_counter "$file" error) \
            + $(trx_counter "$file" timeout) + $(trx_counter "$file" aborted)))
        # vstest writes a skipped test as a result with outcome NotExecuted but leaves the
        # notExecuted counter at 0; it shows only as total - executed. Take whichever is larger.
        unrun=$((total - executed))
        if ((not_executed > unrun)); then
            unrun=$not_executed
        fi
        skipped=$((skipped + unrun))
        log "Summary: $(basename "$file"): total=$total executed=$executed skipped=$unrun"
    done

    # Failed tests by name, just above the summary line, so the tail of a CI log says which test failed and why.
    for file in "${files[@]}"; do
        report_failed_tests "$file"
    done

    if ((test_exit_code != 0 && failed == 0)); then
        # A project that failed to build or whose test host crashed leaves no failed result behind;
        # the line must not read as green while the run is red.
        log "Summary: dotnet test exited $test_exit_code with no failed test recorded; counting 1 failure"
        failed=1
    fi

    if ((skipped > 0)); then
        echo "$passed passed, $failed failed, $skipped skipped"
    else
        echo "$passed passed, $failed failed"
    fi

    if ((test_exit_code == 0 && failed > 0)); then
        return 1
    fi
    return "$test_exit_code"
}

main() {
    local repo_root
    repo_root="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
    cd -- "$repo_root"
    local results_dir="$repo_root/$RESULTS_DIR_NAME"

    export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1

    log "Phase 1/3: checking OS packages"
    install_missing_packages

    log "Phase 2/3: dotnet test (results in $RESULTS_DIR_NAME)"
    rm -rf -- "$results_dir"
    mkdir -p -- "$results_dir"
    local test_exit_code=0
    # No fixed LogFileName: with one, every project of the solution would write the same file. The
    # default name is unique per project run (vstest reserves it with an exclusive create).
    dotnet test IsoCluster.sln -c Release \
        --results-directory "$results_dir" \
        --logger "trx" \
        --logger "console;verbosity=normal" \
        "$@" </dev/null || test_exit_code=$?
    log "dotnet test exited with code $test_exit_code"

    log "Phase 3/3: summarizing TRX files"
    local exit_code=0
    summarize_trx "$results_dir" "$test_exit_code" || exit_code=$?
    exit "$exit_code"
}

# Sourcing the file (e.g. to exercise summarize_trx on sample TRX files) defines the functions only.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    main "$@"
fi
