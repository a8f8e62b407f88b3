#!/usr/bin/env bash
# The fleet-boot benchmark:
#   bash bench/fleet-boot.sh [--clients N] [--size-mib M] [--time-limit-s S] [--keep]
#                            [--no-jit-warmup | --jit-warmup-rounds R] [--gateway-env NAME=VALUE]...
#
# A fleet of C machines boots at once from one ~M MiB ISO, each reading it whole in sequential 64 KiB Range
# requests as a BMC does. The same clients boot twice in one run, so the figures compare peers on the same
# (shared, noisy) machine:
#   (a) peer:       straight from nginx, the upstream (what Tinkerbell's caching-free proxy can at best pass on);
#   (b) IsoCluster: through the gateway, each client as its own MAC, cold cache first, then warm.
#
# 1. Install nginx (Debian package) if missing; build the gateway and FleetBoot in Release.
# 2. Make a temp dir with a synthetic ISO (random bytes, the HookOS magic string 3 times, one across a 1 MiB
#    boundary), Hardware YAML for C MACs (each its own facility and VLAN), a machine list, and a small second
#    ISO (warmup.iso) for the JIT warm-up.
# 3. Start nginx on a free loopback port serving that dir, logging method, URI, Range, status and body bytes.
# 4. Start the gateway (embedded silo) from its built dll, so the PID killed at exit is the server itself; wait
#    for a HEAD on a MAC URL to answer 200. warmup.iso is the one URL allowed for ?sourceISO=.
# 5. Unless --no-jit-warmup, boot the fleet twice from warmup.iso through the gateway, so that the cold pass
#    measures a cold cache rather than a freshly started process still compiling its code; those figures are
#    shown, not compared. Then pass nginx, pass gateway-cold, pass gateway-warm (FleetBoot verifies every byte
#    of every response).
# 6. Count upstream requests and bytes per pass from nginx's access log; read the gateway's peak RSS (VmHWM).
# 7. Print the ratios. Exit 0 only when every pass had no errors.
#
# Everything is bounded: each pass by --time-limit-s (and `timeout`), every curl by --max-time, every wait by a
# deadline. The trap kills nginx and the gateway by PID and removes the temp dir (unless --keep).
set -euo pipefail

CLIENTS=32
SIZE_MIB=128
PASS_LIMIT_S=90
KEEP=""
JIT_WARMUP=1
WARMUP_ROUNDS=2
GATEWAY_ENV=()

usage() {
    sed -n '3,4p' "${BASH_SOURCE[0]}" | sed 's/^#   //'
    echo "defaults: --clients $CLIENTS --size-mib $SIZE_MIB --time-limit-s $PASS_LIMIT_S (per pass) --jit-warmup-rounds $WARMUP_ROUNDS"
    echo "--no-jit-warmup skips the warm-up boots of a second, small ISO, so the cold pass also pays for JIT compilation"
    echo "--keep leaves the temp dir (fixture, nginx and gateway logs, each pass's output) for inspection"
    echo "--gateway-env sets an environment variable (configuration key) for the gateway, for experiments such as"
    echo "  --gateway-env Logging__LogLevel__Default=Warning"
}

while (($# > 0)); do
    case "$1" in
        --clients) CLIENTS="${2:?--clients needs a value}"; shift 2 ;;
        --size-mib) SIZE_MIB="${2:?--size-mib needs a value}"; shift 2 ;;
        --time-limit-s) PASS_LIMIT_S="${2:?--time-limit-s needs a value}"; shift 2 ;;
        --keep) KEEP=1; shift ;;
        --no-jit-warmup) JIT_WARMUP=""; shift ;;
        --jit-warmup-rounds) WARMUP_ROUNDS="${2:?--jit-warmup-rounds needs a value}"; shift 2 ;;
        --gateway-env) GATEWAY_ENV+=("${2:?--gateway-env needs NAME=VALUE}"); shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "fleet-boot.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
for value in "$CLIENTS" "$SIZE_MIB" "$PASS_LIMIT_S" "$WARMUP_ROUNDS"; do
    [[ "$value" =~ ^[1-9][0-9]*$ ]] || { echo "fleet-boot.sh: '$value' is not a positive whole number" >&2; exit 2; }
done

REPO_ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
WORK=""
NGINX_PID=""
GATEWAY_PID=""
POLICY_RC_CREATED=""
SUDO=()
# shellcheck source=bench/lib.sh
source "$REPO_ROOT/bench/lib.sh"

cleanup() {
    local code=$?
    stop_pid "$GATEWAY_PID" 20
    stop_pid "$NGINX_PID" 10
    remove_policy_rc
    if [[ -n "$WORK" && -d "$WORK" ]]; then
        if [[ -n "$KEEP" ]]; then
            log "kept $WORK (gateway.log, nginx/, *.out); remove it when done"
        else
            rm -rf -- "$WORK"
        fi
    fi
    exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- 1. Tools -------------------------------------------------------------------------------------------------
install_nginx() {
    [[ -n "$(find_tool nginx)" ]] && return 0
    install_packages nginx
    [[ -n "$(find_tool nginx)" ]] || die "nginx is still missing after apt-get install"
}

# Prints the path of the Release dll of project $1.
target_path() {
    timeout 300 dotnet msbuild "$1" -nologo -getProperty:TargetPath -p:Configuration=Release
}

export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
install_nginx
NGINX="$(find_tool nginx)"
log "building the gateway and FleetBoot (Release)"
GATEWAY_PROJECT="$REPO_ROOT/src/Gateway/IsoCluster.Gateway.csproj"
FLEETBOOT_PROJECT="$REPO_ROOT/bench/FleetBoot/IsoCluster.FleetBoot.csproj"
for project in "$GATEWAY_PROJECT" "$FLEETBOOT_PROJECT"; do
    timeout 900 dotnet build "$project" -c Release -nologo -v quiet </dev/null >/dev/null ||
        die "dotnet build $project failed (run it by hand to see why)"
done
GATEWAY_DLL="$(target_path "$GATEWAY_PROJECT")"
FLEETBOOT_DLL="$(target_path "$FLEETBOOT_PROJECT")"
fleetboot() {
    dotnet "$FLEETBOOT_DLL" "$@"
}

# ---- 2. Fixture -----------------------------------------------------------------------------------------------
WORK="$(mktemp -d /tmp/fleet-boot.XXXXXX)"
WWW="$WORK/www"
mkdir -p "$WWW" "$WORK/nginx"
fleetboot prepare --dir "$WWW" --size-mib "$SIZE_MIB" --machines "$CLIENTS" | sed 's/^/  /'
# A second, small ISO for the JIT warm-up: another source, so it shares no cached chunk with hook.iso.
fleetboot prepare --dir "$WORK/warmup" --size-mib 16 --machines "$CLIENTS" >/dev/null
mv "$WORK/warmup/hook.iso" "$WWW/warmup.iso"
ISO="$WWW/hook.iso"
ISO_BYTES="$(stat -c %s "$ISO")"
FIRST_MAC="$(head -n 1 "$WWW/machines.txt" | cut -d' ' -f1)"
# nginx's workers drop root; they must be able to read the fixture.
chmod 755 "$WORK" "$WWW"

mapfile -t PORTS < <(fleetboot free-ports --count 4)
NGINX_PORT="${PORTS[0]}" GATEWAY_PORT="${PORTS[1]}" SILO_PORT="${PORTS[2]}" ORLEANS_GATEWAY_PORT="${PORTS[3]}"

# ---- 3. nginx (the upstream, and the peer) --------------------------------------------------------------------
ACCESS_LOG="$WORK/nginx/access.log"
NGINX_USER=""
if ((EUID == 0)); then
    NGINX_USER="user www-data www-data;"
fi
cat >"$WORK/nginx/nginx.conf" <<EOF
$NGINX_USER
daemon off;
worker_processes 2;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 1024; }
http {
    log_format fleetboot '\$request_method \$uri \$http_range \$status \$body_bytes_sent';
    access_log $ACCESS_LOG fleetboot;
    client_body_temp_path $WORK/nginx/client_body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    sendfile on;
    tcp_nopush on;
    # A BMC keeps one connection for its whole boot; nginx's default would close it every 1000 requests.
    keepalive_requests 100000;
    keepalive_timeout 65s;
    types { application/x-iso9660-image iso; }
    default_type application/octet-stream;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $WWW;
    }
}
EOF
"$NGINX" -p "$WORK/nginx/" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/error.log" </dev/null &
NGINX_PID=$!
UPSTREAM_URL="http://127.0.0.1:$NGINX_PORT/hook.iso"
WARMUP_URL="http://127.0.0.1:$NGINX_PORT/warmup.iso"

wait_for_200 "$NGINX_PID" "$UPSTREAM_URL" 20 -I ||
    die "nginx did not serve $UPSTREAM_URL: $(tail -n 5 "$WORK/nginx/error.log" 2>/dev/null)"
log "nginx PID $NGINX_PID serves $UPSTREAM_URL ($ISO_BYTES bytes)"

# ---- 4. The gateway (embedded silo) ---------------------------------------------------------------------------
GATEWAY_LOG="$WORK/gateway.log"
GATEWAY_URL="http://127.0.0.1:$GATEWAY_PORT"
# env execs dotnet, so $! is the gateway process itself.
env "${GATEWAY_ENV[@]}" dotnet "$GATEWAY_DLL" \
    --urls "$GATEWAY_URL" \
    --admin-urls http://127.0.0.1:0 \
    --iso-upstream-url "$UPSTREAM_URL" \
    --iso-source-allow "$WARMUP_URL" \
    --hardware-file "$WWW/hardware.yaml" \
    --cache-size 512MiB \
    --orleans-silo-port "$SILO_PORT" \
    --orleans-gateway-port "$ORLEANS_GATEWAY_PORT" \
    --orleans-cluster-id "fleet-boot-$$" \
    --tink-server-addr-port 127.0.0.1:42113 \
    --syslog-host 127.0.0.1 \
    </dev/null >"$GATEWAY_LOG" 2>&1 &
GATEWAY_PID=$!
wait_for_200 "$GATEWAY_PID" "$GATEWAY_URL/iso/$FIRST_MAC/hook.iso" 90 -I ||
    die "the gateway did not answer HEAD /iso/$FIRST_MAC/hook.iso with 200; its log ends:
$(tail -n 20 "$GATEWAY_LOG")"
log "gateway PID $GATEWAY_PID serves $GATEWAY_URL/iso/<mac>/hook.iso${GATEWAY_ENV[*]:+ (environment: ${GATEWAY_ENV[*]})}"

# ---- 5. Passes ------------------------------------------------------------------------------------------------
log_lines() {
    wc -l <"$ACCESS_LOG"
}

# Prints "requests bytes" that nginx logged after line $1 up to line $2.
upstream_between() {
    sed -n "$(($1 + 1)),$2p" "$ACCESS_LOG" | awk '{ n++; b += $5 } END { printf "%.0f %.0f\n", n, b }'
}

# Prints the CPU time (user + system, in seconds) that processes $@ have used so far. The command name in
# /proc/PID/stat may hold spaces, so fields are counted after its closing parenthesis: utime and stime are then
# the 12th and 13th.
cpu_seconds() {
    local pid
    for pid in "$@"; do
        cat "/proc/$pid/stat" 2>/dev/null || true
    done | awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); t += $12 + $13 } END { printf "%.2f\n", t / hz }'
}

# nginx's master and its workers.
nginx_pids() {
    echo "$NGINX_PID"
    cat /proc/"$NGINX_PID"/task/*/children 2>/dev/null | tr ' ' '\n' | sed '/^$/d'
}

FAILED_PASSES=()
declare -A RESULT UPSTREAM CPU
# run_pass LABEL URL SOURCE SERVER_PIDS [--patched]: one FleetBoot run of every client reading SOURCE as served at
# URL; its RESULT line, nginx's traffic during it and the CPU time the serving processes (SERVER_PIDS,
# space-separated) used during it are kept.
run_pass() {
    local label="$1" url="$2" source="$3" before after output code=0 cpu_before cpu_after
    local -a servers
    read -r -a servers <<<"$4"
    before="$(log_lines)"
    cpu_before="$(cpu_seconds "${servers[@]}")"
    output="$WORK/$label.out"
    timeout $((PASS_LIMIT_S + 120)) dotnet "$FLEETBOOT_DLL" run --label "$label" --url "$url" \
        --source "$source" --machines "$WWW/machines.txt" --clients "$CLIENTS" \
        --time-limit-s "$PASS_LIMIT_S" "${@:5}" </dev/null >"$output" 2>&1 || code=$?
    cpu_after="$(cpu_seconds "${servers[@]}")"
    if [[ "$label" == jit-warmup-* ]]; then
        grep -E '^(RESULT|   error)' "$output" | sed 's/^/  /' || true
    else
        sed 's/^/  /' "$output"
    fi
    ((code == 0)) || FAILED_PASSES+=("$label (exit $code)")
    # nginx writes a log line when it finishes a response; the gateway's fetches are done when its responses are.
    sleep 1
    after="$(log_lines)"
    RESULT[$label]="$(grep '^RESULT ' "$output" | tail -n 1 || true)"
    UPSTREAM[$label]="$(upstream_between "$before" "$after")"
    CPU[$label]="$(awk -v a="$cpu_before" -v b="$cpu_after" 'BEGIN { printf "%.2f\n", b - a }')"
}

if [[ -n "$JIT_WARMUP" ]]; then
    # WARMUP_URL, percent-encoded as a query value.
    warmup_url="$GATEWAY_URL/iso/{mac}/hook.iso?sourceISO=http%3A%2F%2F127.0.0.1%3A$NGINX_PORT%2Fwarmup.iso"
    for ((round = 1; round <= WARMUP_ROUNDS; round++)); do
        log "JIT warm-up $round/$WARMUP_ROUNDS: $CLIENTS clients boot warmup.iso (16 MiB) through the gateway"
        run_pass "jit-warmup-$round" "$warmup_url" "$WWW/warmup.iso" "$GATEWAY_PID" --patched
    done
fi

log "pass 1/3: $CLIENTS clients boot from nginx directly (the peer)"
run_pass nginx "$UPSTREAM_URL" "$ISO" "$(nginx_pids | tr '\n' ' ')"
log "pass 2/3: $CLIENTS clients boot through the gateway, cold cache"
run_pass gateway-cold "$GATEWAY_URL/iso/{mac}/hook.iso" "$ISO" "$GATEWAY_PID" --patched
log "pass 3/3: $CLIENTS clients boot through the gateway again, warm cache"
run_pass gateway-warm "$GATEWAY_URL/iso/{mac}/hook.iso" "$ISO" "$GATEWAY_PID" --patched

# ---- 6. Upstream traffic and memory ---------------------------------------------------------------------------
HWM_KIB="$(awk '/^VmHWM:/ { print $2 }' "/proc/$GATEWAY_PID/status" 2>/dev/null || echo 0)"
RSS_KIB="$(awk '/^VmRSS:/ { print $2 }' "/proc/$GATEWAY_PID/status" 2>/dev/null || echo 0)"

# field LABEL NAME: a value from a pass's RESULT line (empty when the pass printed none).
field() {
    tr ' ' '\n' <<<"${RESULT[$1]:-}" | sed -n "s/^$2=//p"
}

# ratio A B: A / B with 2 decimals, or n/a.
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "n/a"; else printf "%.2f\n", a / b }'
}

mib() {
    awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'
}

# ---- 7. Summary -----------------------------------------------------------------------------------------------
# cpu_per_gib LABEL: server CPU seconds per GiB the pass served.
cpu_per_gib() {
    ratio "${CPU[$1]:-}" "$(awk -v b="$(field "$1" bytes)" 'BEGIN { if (b != "") print b / 1073741824 }')"
}

echo
echo "== fleet-boot summary: $CLIENTS clients, ISO $ISO_BYTES bytes ($(mib "$ISO_BYTES")), 64 KiB requests"
# Other work changes src/ all the time; say which code was measured.
commit="$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ -n "$(git -C "$REPO_ROOT" status --porcelain -- src 2>/dev/null)" ]]; then
    commit="$commit with uncommitted changes in src/"
fi
warmup_note=""
[[ -n "$JIT_WARMUP" ]] || warmup_note=", no JIT warm-up"
echo "   gateway built from $commit${GATEWAY_ENV[*]:+, environment: ${GATEWAY_ENV[*]}}$warmup_note"
row='  %-13s %9s %9s %9s %9s %7s %11s %9s %12s\n'
# shellcheck disable=SC2059 # the format is the row layout above
printf "$row" pass "MB/s" "p50 ms" "p95 ms" "p99 ms" errors "server CPU" "upstream" "upstream"
# shellcheck disable=SC2059
printf "$row" "" "" "" "" "" "" "s per GiB" requests bytes
for label in nginx gateway-cold gateway-warm; do
    read -r up_requests up_bytes <<<"${UPSTREAM[$label]:-0 0}"
    # shellcheck disable=SC2059
    printf "$row" "$label" "$(field "$label" mb_per_s)" \
        "$(field "$label" p50_ms)" "$(field "$label" p95_ms)" "$(field "$label" p99_ms)" \
        "$(field "$label" errors)" "$(cpu_per_gib "$label")" "$up_requests" "$up_bytes"
done
echo
for pass in cold warm; do
    echo "throughput ratio gateway/nginx ($pass): $(ratio "$(field "gateway-$pass" mb_per_s)" "$(field nginx mb_per_s)")"
done
for pass in cold warm; do
    echo "p99 latency ratio gateway/nginx ($pass): $(ratio "$(field "gateway-$pass" p99_ms)" "$(field nginx p99_ms)")"
done
for pass in cold warm; do
    echo "server CPU per GiB ratio gateway/nginx ($pass): $(ratio "$(cpu_per_gib "gateway-$pass")" "$(cpu_per_gib nginx)")"
done
read -r _ direct_bytes <<<"${UPSTREAM[nginx]:-0 0}"
for pass in cold warm; do
    read -r requests bytes <<<"${UPSTREAM[gateway-$pass]:-0 0}"
    direct_per_boot=$((direct_bytes / CLIENTS))
    gateway_per_boot=$((bytes / CLIENTS))
    echo "upstream bytes per boot ($pass): direct=$direct_per_boot gateway=$gateway_per_boot ($(ratio "$gateway_per_boot" "$direct_per_boot"))," \
        "upstream requests during the pass: $requests"
done
naive_kib=$((ISO_BYTES * CLIENTS / 1024))
echo "gateway peak RSS (VmHWM): $(mib $((HWM_KIB * 1024))) (now $(mib $((RSS_KIB * 1024))));" \
    "ISO size x clients = $(mib $((naive_kib * 1024))) ($(ratio "$HWM_KIB" "$naive_kib")); ISO size = $(mib "$ISO_BYTES" ) ($(ratio "$((HWM_KIB * 1024))" "$ISO_BYTES"))"

if ((${#FAILED_PASSES[@]} > 0)); then
    echo "passes with errors: ${FAILED_PASSES[*]}"
    echo "gateway log tail:"
    tail -n 20 "$GATEWAY_LOG" | sed 's/^/  /'
    exit 1
fi
echo "all passes: 0 errors, every response verified"
