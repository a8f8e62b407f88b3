#!/usr/bin/env bash
# The slice-cache benchmark (issue 9, "Faster than an nginx slice cache"):
#   bash bench/slice-cache.sh [--quick] [--size-mib M] [--duration-s S] [--warm-s S] [--loads LIST] [--servers LIST]
#                             [--stampede-bmcs B] [--stampede-mib M] [--no-stampede] [--no-jit-warmup] [--probes P]
#                             [--jump-every J] [--wrk-threads T] [--cache-size SIZE] [--json PATH] [--keep]
#                             [--client-threads-check] [--gateway-arg ARG]... [--silo-arg ARG]...
#
# IsoCluster against its natural peer, nginx as a slice cache (proxy_cache on tmpfs, slice 1m, cache key
# $uri$slice_range after rewriting every /iso/<mac>/hook.iso to the one upstream file, proxy_cache_lock on), with
# the origin nginx serving the file itself as a reference row. Load generator on the same host: wrk, one keep-alive
# connection per simulated BMC, each BMC with its own MAC path and read position (bench/slice-cache/bmc.lua; the
# BMCs spread over --wrk-threads threads); every response checked for status, Content-Range and length against the
# request it answers, and its bytes sampled against the reference file.
#
# 1. Install wrk, nginx and (for the cluster) redis-server from Debian if missing, with a policy-rc.d that keeps the
#    packages from starting system services; build the gateway, the silo and bench/FleetBoot in Release and copy
#    their output into the temp dir, so a rebuild of src/ during the run cannot change what runs.
# 2. Fixture in the temp dir: a synthetic ISO (seeded random bytes, the HookOS magic string 5 times: across a 1 MiB
#    boundary, inside one 64 KiB request, across a 64 KiB boundary, across a 256 KiB boundary, across a 1 MiB
#    boundary near the end), Hardware YAML with one machine per BMC (the loads' BMCs, then the stampede's), and a
#    small warmup.iso for the gateways' JIT warm-up.
# 3. Servers, each on free loopback ports and started from its own binary so its PID is the server: the origin
#    nginx (serves hook.iso, logs every upstream fetch with its body bytes; also the `direct` peer), the nginx slice
#    cache (`nginx-slice`), bare Kestrel (`kestrel`: bench/KestrelFloor, the gateway's serving transport answering
#    from the ISO in memory with nothing of IsoCluster on the path: the framework's floor under the gateway's rows),
#    the embedded gateway (`iso-embedded`: one process hosting a silo), the cluster
#    (`iso-cluster`: redis-server for membership, one silo process, one gateway in --mode client) and the scaled-out
#    cluster (`iso-scale`: its own redis-server, three silo processes, two client-mode gateways). Waits for nginx to
#    serve, for /health/ready of every gateway and silo, and for iso-scale's gateway to see all three silos.
# 4. JIT warm-up of every gateway (64 BMCs read warmup.iso through it; another source, so no hook.iso chunk is
#    cached), then the cold stampede on each cache but iso-scale: B BMCs with fresh MACs start at once on an empty
#    cache and read the first M MiB in 64 KiB ranges (FleetBoot checks every byte); upstream bytes from the origin's
#    log.
# 5. Warm every server (the whole ISO read once through it), check each gateway's patch for one MAC, carry wrk's load
#    through each .NET server (IsoCluster's and kestrel) for --jit-warmup-s (the JIT's tiering up), wait (at most
#    90 s) until the server processes are idle (the JIT's background recompilation done), then for every load and
#    every server: each BMC's HEAD (curl), a warm pass, the measured wrk run; server CPU from
#    /proc/<pid>/stat, peak RSS from VmHWM (reset before each run through /proc/<pid>/clear_refs), client CPU, and
#    the machine's other CPU use from /proc/stat. iso-scale's BMCs are split over its two gateways (two wrk
#    processes, half the BMCs each, started together); after each of its loads, the cluster's cache report
#    (GET /api/cache on a gateway's admin listener) and each silo's chunk grain activations (its /metrics) give how
#    the chunks spread over the silos.
# 6. Print the load table (ratios against nginx-slice, and iso-scale's against iso-cluster), the spread table and the
#    stampede table, write all figures as JSON, exit non-zero if any response was wrong or missing.
#
# Everything is bounded (`timeout` on every wrk, FleetBoot and curl, deadlines on every wait); a trap kills every
# server by PID and removes the temp dir and the tmpfs cache (the temp dir stays with --keep).
set -euo pipefail

REPO_ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
SIZE_MIB=256
DURATION_S=8
WARM_S=2
LOADS="seq64k@64,seq64k@256,rand64k@64,rand64k@256,seq256k@64,seq256k@256,rand256k@64,rand256k@256"
SERVERS="direct,nginx-slice,kestrel,iso-embedded,iso-cluster,iso-scale"
STAMPEDE_BMCS=200
STAMPEDE_MIB=64
STAMPEDE=1
JIT_WARMUP=1
JIT_WARMUP_S=20
PROBES=4
JUMP_EVERY=64
WRK_THREADS=2
CACHE_SIZE=1GiB
JSON_OUT="$REPO_ROOT/artifacts/bench/slice-cache.json"
KEEP=""
CLIENT_THREADS_CHECK=""
GATEWAY_ARGS=()
SILO_ARGS=()

usage() {
    sed -n '3,6p' "${BASH_SOURCE[0]}" | sed 's/^#   //'
    cat <<EOF

  --quick                 development run: --size-mib 64 --duration-s 3 --warm-s 1 --loads seq64k@64,rand64k@256
                          --stampede-bmcs 50 --stampede-mib 16 (options after it override)
  --size-mib M            synthetic ISO size (default $SIZE_MIB, at least 16)
  --duration-s S          measured seconds per load and server (default $DURATION_S)
  --warm-s S              warm pass before each measured run, not counted except for errors (default $WARM_S)
  --loads LIST            comma-separated MODE<piece KiB>k@<BMCs>, MODE seq or rand (default
                          $LOADS)
  --servers LIST          any of direct,nginx-slice,kestrel,iso-embedded,iso-cluster,iso-scale (default all; ratios
                          need nginx-slice, the vs-kestrel ratio kestrel, iso-scale's vs-cluster ratio iso-cluster)
  --stampede-bmcs B       BMCs of the cold stampede (default $STAMPEDE_BMCS); --stampede-mib M: MiB each reads (default $STAMPEDE_MIB)
  --no-stampede           skip the cold stampede
  --no-jit-warmup         the stampede then also measures the gateways' JIT compilation, and the first load their
                          tiering up
  --jit-warmup-s S        wrk pass through each .NET server before the first load, so that the loads measure
                          code the JIT has finished optimizing (default $JIT_WARMUP_S; 0: none)
  --probes P              random 16-byte probes per response besides the first/last 16 bytes and any magic-string
                          occurrence the body overlaps (default $PROBES)
  --jump-every J          seq loads jump to a random position once every J requests on average (default $JUMP_EVERY; 0: never)
  --wrk-threads T         wrk threads the BMCs of a load spread over; must divide every load's BMC count (default
                          $WRK_THREADS; 0: one thread per BMC, which costs the client about twice the CPU per request)
  --cache-size SIZE       --cache-size of the gateways' silos (default $CACHE_SIZE)
  --json PATH             where the figures go (default artifacts/bench/slice-cache.json)
  --keep                  keep the temp dir (logs, configs, every run's output)
  --client-threads-check  only measure what wrk's thread count costs the client (nginx direct, seq64k@256:
                          -t 256, -t 16 and -t 2, each -c 256), print it, write it next to --json, and stop
  --gateway-arg ARG       extra argument for every gateway process (repeatable), e.g.
                          --gateway-arg --gateway-cache-size --gateway-arg 0
  --silo-arg ARG          extra argument for the silo processes of iso-cluster and iso-scale (repeatable)
EOF
}

for arg in "$@"; do
    if [[ "$arg" == --quick ]]; then
        SIZE_MIB=64 DURATION_S=3 WARM_S=1 LOADS="seq64k@64,rand64k@256" STAMPEDE_BMCS=50 STAMPEDE_MIB=16
    fi
done
while (($# > 0)); do
    case "$1" in
        --quick) shift ;;
        --size-mib) SIZE_MIB="${2:?--size-mib needs a value}"; shift 2 ;;
        --duration-s) DURATION_S="${2:?--duration-s needs a value}"; shift 2 ;;
        --warm-s) WARM_S="${2:?--warm-s needs a value}"; shift 2 ;;
        --loads) LOADS="${2:?--loads needs a value}"; shift 2 ;;
        --servers) SERVERS="${2:?--servers needs a value}"; shift 2 ;;
        --stampede-bmcs) STAMPEDE_BMCS="${2:?--stampede-bmcs needs a value}"; shift 2 ;;
        --stampede-mib) STAMPEDE_MIB="${2:?--stampede-mib needs a value}"; shift 2 ;;
        --no-stampede) STAMPEDE=""; shift ;;
        --no-jit-warmup) JIT_WARMUP=""; shift ;;
        --jit-warmup-s) JIT_WARMUP_S="${2:?--jit-warmup-s needs a value}"; shift 2 ;;
        --probes) PROBES="${2:?--probes needs a value}"; shift 2 ;;
        --jump-every) JUMP_EVERY="${2:?--jump-every needs a value}"; shift 2 ;;
        --wrk-threads) WRK_THREADS="${2:?--wrk-threads needs a value}"; shift 2 ;;
        --cache-size) CACHE_SIZE="${2:?--cache-size needs a value}"; shift 2 ;;
        --json) JSON_OUT="${2:?--json needs a path}"; shift 2 ;;
        --keep) KEEP=1; shift ;;
        --client-threads-check) CLIENT_THREADS_CHECK=1; shift ;;
        --gateway-arg) GATEWAY_ARGS+=("${2?--gateway-arg needs a value}"); shift 2 ;;
        --silo-arg) SILO_ARGS+=("${2?--silo-arg needs a value}"); shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "slice-cache.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
for value in "$SIZE_MIB" "$DURATION_S" "$WARM_S" "$STAMPEDE_BMCS" "$STAMPEDE_MIB"; do
    [[ "$value" =~ ^[1-9][0-9]*$ ]] || { echo "slice-cache.sh: '$value' is not a positive whole number" >&2; exit 2; }
done
for value in "$PROBES" "$JUMP_EVERY" "$WRK_THREADS" "$JIT_WARMUP_S"; do
    [[ "$value" =~ ^[0-9]+$ ]] || { echo "slice-cache.sh: '$value' is not a whole number" >&2; exit 2; }
done
((SIZE_MIB >= 16)) || { echo "slice-cache.sh: --size-mib must be at least 16" >&2; exit 2; }
((SIZE_MIB <= 1024)) || { echo "slice-cache.sh: --size-mib must be at most 1024" >&2; exit 2; }
((STAMPEDE_MIB <= SIZE_MIB)) || { echo "slice-cache.sh: --stampede-mib must not exceed --size-mib" >&2; exit 2; }
[[ "$JSON_OUT" == /* ]] || JSON_OUT="$PWD/$JSON_OUT"

IFS=',' read -r -a LOAD_LIST <<<"$LOADS"
IFS=',' read -r -a SERVER_LIST <<<"$SERVERS"
MAX_BMCS=1
for load in "${LOAD_LIST[@]}"; do
    [[ "$load" =~ ^(seq|rand)([1-9][0-9]*)k@([1-9][0-9]*)$ ]] ||
        { echo "slice-cache.sh: load '$load' is not seq<KiB>k@<BMCs> or rand<KiB>k@<BMCs>" >&2; exit 2; }
    ((BASH_REMATCH[2] <= 4096)) || { echo "slice-cache.sh: load '$load': pieces up to 4096 KiB" >&2; exit 2; }
    ((BASH_REMATCH[3] <= 1000)) || { echo "slice-cache.sh: load '$load': up to 1000 BMCs" >&2; exit 2; }
    ((BASH_REMATCH[3] > MAX_BMCS)) && MAX_BMCS="${BASH_REMATCH[3]}"
    ((WRK_THREADS == 0 || BASH_REMATCH[3] % WRK_THREADS == 0)) ||
        { echo "slice-cache.sh: load '$load': --wrk-threads $WRK_THREADS does not divide its ${BASH_REMATCH[3]} BMCs" >&2; exit 2; }
done
for server in "${SERVER_LIST[@]}"; do
    case "$server" in
        direct | nginx-slice | kestrel | iso-embedded | iso-cluster | iso-scale) ;;
        *) echo "slice-cache.sh: unknown server '$server' (direct, nginx-slice, kestrel, iso-embedded, iso-cluster, iso-scale)" >&2; exit 2 ;;
    esac
done
if [[ -n "$CLIENT_THREADS_CHECK" ]]; then
    SERVER_LIST=(direct)
    STAMPEDE=""
    MAX_BMCS=256
fi
has_server() {
    local server
    for server in "${SERVER_LIST[@]}"; do
        [[ "$server" == "$1" ]] && return 0
    done
    return 1
}
has_gateway() {
    has_server iso-embedded || has_server iso-cluster || has_server iso-scale
}
has_silo() {
    has_server iso-cluster || has_server iso-scale
}
# iso-scale splits each load's BMCs over its two gateways, one wrk each with half of them and half the threads.
SCALE_GATEWAYS=2
if has_server iso-scale; then
    for load in "${LOAD_LIST[@]}"; do
        [[ "$load" =~ @([0-9]+)$ ]]
        half=$((BASH_REMATCH[1] / SCALE_GATEWAYS))
        ((BASH_REMATCH[1] % SCALE_GATEWAYS == 0 && (WRK_THREADS < SCALE_GATEWAYS || half % (WRK_THREADS / SCALE_GATEWAYS) == 0))) ||
            { echo "slice-cache.sh: load '$load': iso-scale needs an even BMC count whose half --wrk-threads/2 divides" >&2; exit 2; }
    done
fi

WORK=""
CACHE_DIR=""
ORIGIN_PID="" SLICE_PID="" KESTREL_PID="" EMBEDDED_PID="" REDIS_PID="" SILO_PID="" CLUSTER_GATEWAY_PID=""
SCALE_REDIS_PID="" SCALE_SILO_PIDS=() SCALE_GATEWAY_PIDS=() WRK_PIDS=()
POLICY_RC_CREATED=""
SUDO=()
# shellcheck source=bench/lib.sh
source "$REPO_ROOT/bench/lib.sh"
STARTED_UTC="$(date -u '+%Y-%m-%dT%H:%M:%SZ')"

cleanup() {
    local code=$? pid
    for pid in "${WRK_PIDS[@]}"; do
        stop_pid "$pid" 5
    done
    for pid in "${SCALE_GATEWAY_PIDS[@]}"; do
        stop_pid "$pid" 20
    done
    for pid in "${SCALE_SILO_PIDS[@]}"; do
        stop_pid "$pid" 20
    done
    stop_pid "$SCALE_REDIS_PID" 10
    stop_pid "$CLUSTER_GATEWAY_PID" 20
    stop_pid "$EMBEDDED_PID" 20
    stop_pid "$KESTREL_PID" 10
    stop_pid "$SILO_PID" 20
    stop_pid "$REDIS_PID" 10
    stop_pid "$SLICE_PID" 10
    stop_pid "$ORIGIN_PID" 10
    remove_policy_rc
    [[ -n "$CACHE_DIR" && -d "$CACHE_DIR" ]] && rm -rf -- "$CACHE_DIR"
    if [[ -n "$WORK" && -d "$WORK" ]]; then
        if [[ -n "$KEEP" ]]; then
            log "kept $WORK (logs/, nginx-*/, runs/); remove it when done"
        else
            rm -rf -- "$WORK"
        fi
    fi
    exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- 1. Tools and builds ---------------------------------------------------------------------------------------
install_tools() {
    local -a missing=()
    [[ -n "$(find_tool wrk)" ]] || missing+=(wrk)
    [[ -n "$(find_tool nginx)" ]] || missing+=(nginx-light)
    if has_silo; then
        [[ -n "$(find_tool redis-server)" ]] || missing+=(redis-server)
    fi
    if has_server iso-scale; then
        [[ -n "$(find_tool jq)" ]] || missing+=(jq)
    fi
    ((${#missing[@]} > 0)) || return 0
    install_packages "${missing[@]}"
    [[ -n "$(find_tool wrk)" && -n "$(find_tool nginx)" ]] || die "wrk or nginx is still missing after apt-get install"
}

export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
# bash's `time` (of wrk and FleetBoot): user and system CPU seconds.
TIMEFORMAT='%3U %3S'
install_tools
WRK="$(find_tool wrk)"
NGINX="$(find_tool nginx)"
REDIS_SERVER="$(find_tool redis-server)"
WORK="$(mktemp -d /tmp/slice-cache.XXXXXX)"
mkdir -p "$WORK/bin" "$WORK/logs" "$WORK/runs" "$WORK/nginx-origin" "$WORK/nginx-slice"

# Builds project $1 in Release (once more after a pause if it fails: another build of the same tree may hold its
# files) and copies its output dir to $WORK/bin/$2; prints the copied dll's path.
build_and_copy() {
    local project="$1" name="$2" attempt dll
    for attempt in 1 2; do
        if timeout 900 dotnet build "$project" -c Release -nologo -v quiet </dev/null >"$WORK/logs/build-$name.log" 2>&1; then
            dll="$(timeout 300 dotnet msbuild "$project" -nologo -getProperty:TargetPath -p:Configuration=Release)"
            [[ -f "$dll" ]] || die "dotnet build $project: no $dll"
            mkdir -p "$WORK/bin/$name"
            cp -a "$(dirname "$dll")/." "$WORK/bin/$name/"
            echo "$WORK/bin/$name/$(basename "$dll")"
            return 0
        fi
        ((attempt == 1)) && sleep 15
    done
    die "dotnet build $project failed twice; its output ends:
$(tail -n 15 "$WORK/logs/build-$name.log")"
}

log "building (Release) and copying to $WORK/bin: bench/FleetBoot$(has_server kestrel && echo ", bench/KestrelFloor")$(has_gateway && echo ", the gateway")$(has_silo && echo ", the silo")"
FLEETBOOT_DLL="$(build_and_copy "$REPO_ROOT/bench/FleetBoot/IsoCluster.FleetBoot.csproj" fleetboot)"
GATEWAY_DLL="" SILO_DLL="" KESTREL_DLL=""
if has_server kestrel; then
    KESTREL_DLL="$(build_and_copy "$REPO_ROOT/bench/KestrelFloor/IsoCluster.KestrelFloor.csproj" kestrel)"
fi
if has_gateway; then
    GATEWAY_DLL="$(build_and_copy "$REPO_ROOT/src/Gateway/IsoCluster.Gateway.csproj" gateway)"
fi
if has_silo; then
    SILO_DLL="$(build_and_copy "$REPO_ROOT/src/Silo/IsoCluster.Silo.csproj" silo)"
fi
fleetboot() {
    dotnet "$FLEETBOOT_DLL" "$@"
}

# Which code is measured: the commit, and whether (and how) src/ differed from it when the build ran.
COMMIT="$(git -C "$REPO_ROOT" rev-parse HEAD 2>/dev/null || echo unknown)"
SRC_DIRTY=false
SRC_DIFF_SHA=""
if [[ -n "$(git -C "$REPO_ROOT" status --porcelain -- src 2>/dev/null)" ]]; then
    SRC_DIRTY=true
    SRC_DIFF_SHA="$( { git -C "$REPO_ROOT" diff HEAD -- src; git -C "$REPO_ROOT" ls-files --others --exclude-standard -- src; } 2>/dev/null |
        sha256sum | cut -c1-12)"
fi
COMMIT_NOTE="${COMMIT:0:12}"
[[ "$SRC_DIRTY" == true ]] && COMMIT_NOTE="$COMMIT_NOTE with uncommitted changes in src/ (diff sha256 $SRC_DIFF_SHA)"

# ---- 2. Fixture -----------------------------------------------------------------------------------------------
MIB=1048576
WWW="$WORK/www"
mkdir -p "$WWW"
ISO_BYTES=$((SIZE_MIB * MIB))
OCCURRENCES=(
    $((MIB - 300))                          # across the first 1 MiB (chunk and slice) boundary
    $((3 * MIB + 20000))                    # inside one 64 KiB request
    $((5 * MIB + 5 * 65536 - 100))          # across a 64 KiB request boundary
    $((ISO_BYTES / 2 + 768 * 1024 - 512))   # across a 256 KiB (and 64 KiB) request boundary
    $((ISO_BYTES - MIB - 400))              # across a 1 MiB boundary near the end
)
OCCURRENCE_LIST="$(IFS=,; echo "${OCCURRENCES[*]}")"
STAMPEDE_COUNT=0
[[ -n "$STAMPEDE" ]] && STAMPEDE_COUNT="$STAMPEDE_BMCS"
fleetboot prepare --dir "$WWW" --size-mib "$SIZE_MIB" --machines $((MAX_BMCS + STAMPEDE_COUNT)) \
    --occurrences "$OCCURRENCE_LIST" | sed 's/^/  /'
ISO="$WWW/hook.iso"
head -n "$MAX_BMCS" "$WWW/machines.txt" >"$WORK/load-machines.txt"
tail -n +$((MAX_BMCS + 1)) "$WWW/machines.txt" >"$WORK/stampede-machines.txt"
if has_gateway; then
    fleetboot prepare --dir "$WORK/warmup" --size-mib 16 --machines 1 >/dev/null
    mv "$WORK/warmup/hook.iso" "$WWW/warmup.iso"
fi
# The kernel parameters the gateway lays over the magic string for each machine (KernelParams.Build, README
# "Kernel parameters"), given --syslog-host and --tink-server-addr-port below.
SYSLOG_HOST=127.0.0.1
TINK_SERVER=127.0.0.1:42113
PATCH_TEMPLATE="facility={facility} console=ttyAMA0 console=ttyS0 console=tty0 console=tty1 console=ttyS1 vlan_id={vlan} hw_addr={mac} syslog_host=$SYSLOG_HOST grpc_authority=$TINK_SERVER tinkerbell_tls=false worker_id={mac}"
# nginx's workers drop root; they must be able to read the fixture.
chmod 755 "$WORK" "$WWW"

mapfile -t PORTS < <(fleetboot free-ports --count 25)
ORIGIN_PORT="${PORTS[0]}" SLICE_PORT="${PORTS[1]}" EMBEDDED_PORT="${PORTS[2]}" EMBEDDED_SILO_PORT="${PORTS[3]}"
EMBEDDED_ORLEANS_GATEWAY_PORT="${PORTS[4]}" REDIS_PORT="${PORTS[5]}" SILO_HTTP_PORT="${PORTS[6]}"
SILO_PORT="${PORTS[7]}" SILO_GATEWAY_PORT="${PORTS[8]}" CLUSTER_GATEWAY_PORT="${PORTS[9]}"
# iso-scale: Redis; per silo its HTTP (admin), silo and Orleans gateway ports; per gateway its --urls and admin ports.
SCALE_REDIS_PORT="${PORTS[10]}"
SCALE_SILO_HTTP_PORTS=("${PORTS[11]}" "${PORTS[12]}" "${PORTS[13]}")
SCALE_SILO_PORTS=("${PORTS[14]}" "${PORTS[15]}" "${PORTS[16]}")
SCALE_SILO_GATEWAY_PORTS=("${PORTS[17]}" "${PORTS[18]}" "${PORTS[19]}")
SCALE_GATEWAY_PORTS=("${PORTS[20]}" "${PORTS[21]}")
SCALE_ADMIN_PORTS=("${PORTS[22]}" "${PORTS[23]}")
KESTREL_PORT="${PORTS[24]}"

# ---- 3. Servers -----------------------------------------------------------------------------------------------
NGINX_USER=""
if ((EUID == 0)); then
    NGINX_USER="user www-data www-data;"
fi

# nginx_conf NAME: the common part of an nginx.conf in $WORK/nginx-NAME, up to the open http block.
nginx_conf_head() {
    local dir="$WORK/nginx-$1"
    mkdir -p "$dir"
    cat <<EOF
$NGINX_USER
daemon off;
worker_processes 2;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/client_body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    sendfile on;
    # tcp_nopush stays off (nginx's default) on both: with it on, many responses on a keep-alive connection wait about
    # 40 ms for a delayed ACK (the slice cache's after the first few: 24 requests/s on one connection; the origin's
    # random 64 KiB reads by 64 BMCs: 3,100 requests/s instead of 22,000).
    # A BMC keeps one connection for its whole boot; nginx's default would close it every 1000 requests.
    keepalive_requests 1000000;
    keepalive_timeout 65s;
    types { application/x-iso9660-image iso; }
    default_type application/octet-stream;
EOF
}

ACCESS_LOG="$WORK/nginx-origin/access.log"
{
    nginx_conf_head origin
    cat <<EOF
    log_format upstream '\$request_method \$uri \$http_range \$status \$body_bytes_sent';
    server {
        listen 127.0.0.1:$ORIGIN_PORT;
        root $WWW;
        # The caches' fetches: every one logged with the body bytes sent.
        location / {
            access_log $ACCESS_LOG upstream;
        }
        # The direct peer: each BMC its own path, like the caches, all of them the one file; not logged.
        location ~ ^/iso/[^/]+/hook\.iso\$ {
            rewrite ^ /hook.iso break;
        }
    }
}
EOF
} >"$WORK/nginx-origin/nginx.conf"
"$NGINX" -p "$WORK/nginx-origin/" -c "$WORK/nginx-origin/nginx.conf" -e "$WORK/nginx-origin/error.log" </dev/null &
ORIGIN_PID=$!
ORIGIN_URL="http://127.0.0.1:$ORIGIN_PORT"
UPSTREAM_URL="$ORIGIN_URL/hook.iso"
WARMUP_URL="$ORIGIN_URL/warmup.iso"

if has_server nginx-slice; then
    CACHE_DIR="$(mktemp -d /dev/shm/slice-cache.XXXXXX)"
    ((EUID == 0)) && chown www-data:www-data "$CACHE_DIR"
    {
        nginx_conf_head slice
        cat <<EOF
    upstream origin {
        server 127.0.0.1:$ORIGIN_PORT;
        keepalive 64;
    }
    proxy_cache_path $CACHE_DIR levels=1:2 keys_zone=iso:16m max_size=4g inactive=1h use_temp_path=off;
    server {
        listen 127.0.0.1:$SLICE_PORT;
        # Readiness, without touching the cache.
        location = /nginx-health {
            return 200;
        }
        location ~ ^/iso/[^/]+/hook\.iso\$ {
            rewrite ^ /hook.iso break;
            slice 1m;
            proxy_cache iso;
            proxy_cache_key \$uri\$slice_range;
            proxy_set_header Range \$slice_range;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_cache_lock on;
            proxy_cache_valid 200 206 1h;
            proxy_pass http://origin;
        }
    }
}
EOF
    } >"$WORK/nginx-slice/nginx.conf"
    "$NGINX" -p "$WORK/nginx-slice/" -c "$WORK/nginx-slice/nginx.conf" -e "$WORK/nginx-slice/error.log" </dev/null &
    SLICE_PID=$!
fi

if has_server kestrel; then
    dotnet "$KESTREL_DLL" "$ISO" "http://127.0.0.1:$KESTREL_PORT" </dev/null >"$WORK/logs/kestrel.log" 2>&1 &
    KESTREL_PID=$!
fi

# The product flags every silo gets (the embedded gateway hosts one).
SILO_PRODUCT_ARGS=(
    --iso-upstream-url "$UPSTREAM_URL"
    --iso-source-allow "$WARMUP_URL"
    --hardware-file "$WWW/hardware.yaml"
    --cache-size "$CACHE_SIZE"
    --tink-server-addr-port "$TINK_SERVER"
    --syslog-host "$SYSLOG_HOST"
)
if has_server iso-embedded; then
    dotnet "$GATEWAY_DLL" --urls "http://127.0.0.1:$EMBEDDED_PORT" --admin-urls http://127.0.0.1:0 \
        --orleans-silo-port "$EMBEDDED_SILO_PORT" --orleans-gateway-port "$EMBEDDED_ORLEANS_GATEWAY_PORT" \
        --orleans-cluster-id "slice-cache-embedded-$$" \
        "${SILO_PRODUCT_ARGS[@]}" "${GATEWAY_ARGS[@]}" </dev/null >"$WORK/logs/iso-embedded.log" 2>&1 &
    EMBEDDED_PID=$!
fi
# start_redis NAME PORT PID_VAR: a redis-server for one cluster's membership, in $WORK/NAME, its PID in PID_VAR;
# returns when it answers PING.
start_redis() {
    local name="$1" port="$2" deadline pid
    mkdir -p "$WORK/$name"
    "$REDIS_SERVER" --port "$port" --bind 127.0.0.1 --save "" --appendonly no --protected-mode yes \
        --dir "$WORK/$name" --daemonize no </dev/null >"$WORK/logs/$name.log" 2>&1 &
    pid=$!
    printf -v "$3" '%s' "$pid"
    # Redis must answer before a silo asks it for the membership table.
    deadline=$((SECONDS + 20))
    until [[ "$(timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port && printf 'PING\r\n' >&3 && head -c 5 <&3" 2>/dev/null)" == "+PONG" ]]; do
        if ! kill -0 "$pid" 2>/dev/null || ((SECONDS >= deadline)); then
            die "redis-server ($name) did not answer PING; its log ends: $(tail -n 5 "$WORK/logs/$name.log")"
        fi
        sleep 0.2
    done
}
if has_server iso-cluster; then
    start_redis redis "$REDIS_PORT" REDIS_PID
    MEMBERSHIP=(--orleans-clustering redis --orleans-redis "127.0.0.1:$REDIS_PORT"
        --orleans-cluster-id "slice-cache-$$" --orleans-service-id slice-cache)
    dotnet "$SILO_DLL" "${MEMBERSHIP[@]}" --orleans-advertised-ip 127.0.0.1 \
        --orleans-silo-port "$SILO_PORT" --orleans-gateway-port "$SILO_GATEWAY_PORT" \
        --urls "http://127.0.0.1:$SILO_HTTP_PORT" \
        "${SILO_PRODUCT_ARGS[@]}" "${SILO_ARGS[@]}" </dev/null >"$WORK/logs/silo.log" 2>&1 &
    SILO_PID=$!
    dotnet "$GATEWAY_DLL" --mode client "${MEMBERSHIP[@]}" --urls "http://127.0.0.1:$CLUSTER_GATEWAY_PORT" --admin-urls http://127.0.0.1:0 \
        "${GATEWAY_ARGS[@]}" </dev/null >"$WORK/logs/iso-cluster-gateway.log" 2>&1 &
    CLUSTER_GATEWAY_PID=$!
fi
# iso-scale: the same silo and gateway arguments, three silos and two gateways in a cluster of their own. Each gateway's
# admin listener is on a fixed port, for the cache report.
if has_server iso-scale; then
    start_redis redis-scale "$SCALE_REDIS_PORT" SCALE_REDIS_PID
    SCALE_MEMBERSHIP=(--orleans-clustering redis --orleans-redis "127.0.0.1:$SCALE_REDIS_PORT"
        --orleans-cluster-id "slice-cache-scale-$$" --orleans-service-id slice-cache-scale)
    for i in 0 1 2; do
        dotnet "$SILO_DLL" "${SCALE_MEMBERSHIP[@]}" --orleans-advertised-ip 127.0.0.1 \
            --orleans-silo-port "${SCALE_SILO_PORTS[$i]}" --orleans-gateway-port "${SCALE_SILO_GATEWAY_PORTS[$i]}" \
            --urls "http://127.0.0.1:${SCALE_SILO_HTTP_PORTS[$i]}" \
            "${SILO_PRODUCT_ARGS[@]}" "${SILO_ARGS[@]}" </dev/null >"$WORK/logs/iso-scale-silo-$((i + 1)).log" 2>&1 &
        SCALE_SILO_PIDS+=($!)
    done
    for i in 0 1; do
        dotnet "$GATEWAY_DLL" --mode client "${SCALE_MEMBERSHIP[@]}" --urls "http://127.0.0.1:${SCALE_GATEWAY_PORTS[$i]}" \
            --admin-urls "http://127.0.0.1:${SCALE_ADMIN_PORTS[$i]}" \
            "${GATEWAY_ARGS[@]}" </dev/null >"$WORK/logs/iso-scale-gateway-$((i + 1)).log" 2>&1 &
        SCALE_GATEWAY_PIDS+=($!)
    done
fi

wait_for_200 "$ORIGIN_PID" "$UPSTREAM_URL" 20 -I ||
    die "the origin nginx did not serve $UPSTREAM_URL: $(tail -n 5 "$WORK/nginx-origin/error.log" 2>/dev/null)"
log "origin nginx PID $ORIGIN_PID serves $UPSTREAM_URL ($ISO_BYTES bytes; magic string at $OCCURRENCE_LIST)"
if has_server nginx-slice; then
    wait_for_200 "$SLICE_PID" "http://127.0.0.1:$SLICE_PORT/nginx-health" 20 ||
        die "the nginx slice cache did not start: $(tail -n 5 "$WORK/nginx-slice/error.log" 2>/dev/null)"
    log "nginx slice cache PID $SLICE_PID on 127.0.0.1:$SLICE_PORT, cache in $CACHE_DIR (tmpfs)"
fi
if has_server kestrel; then
    wait_for_200 "$KESTREL_PID" "http://127.0.0.1:$KESTREL_PORT/iso/ready/hook.iso" 60 -I ||
        die "bare Kestrel (bench/KestrelFloor) did not start; its log ends: $(tail -n 5 "$WORK/logs/kestrel.log")"
    log "bare Kestrel PID $KESTREL_PID on 127.0.0.1:$KESTREL_PORT, the ISO in its memory"
fi
if has_server iso-embedded; then
    wait_for_200 "$EMBEDDED_PID" "http://127.0.0.1:$EMBEDDED_PORT/health/ready" 120 ||
        die "the embedded gateway is not ready; its log ends:
$(tail -n 20 "$WORK/logs/iso-embedded.log")"
    log "embedded gateway PID $EMBEDDED_PID ready on 127.0.0.1:$EMBEDDED_PORT"
fi
if has_server iso-cluster; then
    wait_for_200 "$SILO_PID" "http://127.0.0.1:$SILO_HTTP_PORT/health/ready" 120 ||
        die "the silo is not ready; its log ends:
$(tail -n 20 "$WORK/logs/silo.log")"
    wait_for_200 "$CLUSTER_GATEWAY_PID" "http://127.0.0.1:$CLUSTER_GATEWAY_PORT/health/ready" 120 ||
        die "the client-mode gateway is not ready; its log ends:
$(tail -n 20 "$WORK/logs/iso-cluster-gateway.log")"
    log "cluster ready: redis-server PID $REDIS_PID :$REDIS_PORT, silo PID $SILO_PID, client-mode gateway PID $CLUSTER_GATEWAY_PID on 127.0.0.1:$CLUSTER_GATEWAY_PORT"
fi
SCALE_CACHE_URL="http://127.0.0.1:${SCALE_ADMIN_PORTS[0]}/api/cache"
if has_server iso-scale; then
    for i in 0 1 2; do
        wait_for_200 "${SCALE_SILO_PIDS[$i]}" "http://127.0.0.1:${SCALE_SILO_HTTP_PORTS[$i]}/health/ready" 120 ||
            die "iso-scale's silo $((i + 1)) is not ready; its log ends:
$(tail -n 20 "$WORK/logs/iso-scale-silo-$((i + 1)).log")"
    done
    for i in 0 1; do
        wait_for_200 "${SCALE_GATEWAY_PIDS[$i]}" "http://127.0.0.1:${SCALE_GATEWAY_PORTS[$i]}/health/ready" 120 ||
            die "iso-scale's gateway $((i + 1)) is not ready; its log ends:
$(tail -n 20 "$WORK/logs/iso-scale-gateway-$((i + 1)).log")"
    done
    # Chunks are placed by a hash over the active silos: all three must be members before the first chunk is.
    deadline=$((SECONDS + 60))
    until [[ "$(timeout 10 curl -s --max-time 8 "$SCALE_CACHE_URL" | jq '[.silos[] | select(.error == null)] | length' 2>/dev/null)" == 3 ]]; do
        ((SECONDS < deadline)) || die "iso-scale's gateway does not see three silos in $SCALE_CACHE_URL: $(timeout 10 curl -s --max-time 8 "$SCALE_CACHE_URL" | head -c 600)"
        sleep 1
    done
    log "iso-scale ready: redis-server PID $SCALE_REDIS_PID :$SCALE_REDIS_PORT, silo PIDs ${SCALE_SILO_PIDS[*]}," \
        "client-mode gateway PIDs ${SCALE_GATEWAY_PIDS[*]} on 127.0.0.1:${SCALE_GATEWAY_PORTS[0]} and :${SCALE_GATEWAY_PORTS[1]}" \
        "(admin :${SCALE_ADMIN_PORTS[0]} and :${SCALE_ADMIN_PORTS[1]})"
fi

# ---- Measurement helpers --------------------------------------------------------------------------------------
# server_url SERVER: where the BMCs of SERVER read; iso-scale's first gateway for one client (the warming read, a
# check), iso-scale-gateway-N for gateway N.
server_url() {
    case "$1" in
        direct) echo "$ORIGIN_URL" ;;
        nginx-slice) echo "http://127.0.0.1:$SLICE_PORT" ;;
        kestrel) echo "http://127.0.0.1:$KESTREL_PORT" ;;
        iso-embedded) echo "http://127.0.0.1:$EMBEDDED_PORT" ;;
        iso-cluster) echo "http://127.0.0.1:$CLUSTER_GATEWAY_PORT" ;;
        iso-scale | iso-scale-gateway-1) echo "http://127.0.0.1:${SCALE_GATEWAY_PORTS[0]}" ;;
        iso-scale-gateway-2) echo "http://127.0.0.1:${SCALE_GATEWAY_PORTS[1]}" ;;
    esac
}

# entry_points SERVER: what a client can connect to, one per line: each of iso-scale's gateways, else the server.
entry_points() {
    if [[ "$1" == iso-scale ]]; then
        printf 'iso-scale-gateway-%d\n' $(seq 1 "$SCALE_GATEWAYS")
    else
        echo "$1"
    fi
}

patched() {
    [[ "$1" == iso-* ]]
}

# nginx_pids PID: an nginx master and its workers, "role:pid" per line.
nginx_pids() {
    echo "nginx-master:$1"
    cat /proc/"$1"/task/*/children 2>/dev/null | tr ' ' '\n' | sed '/^$/d; s/^/nginx-worker:/'
}

# server_processes SERVER: "role:pid" of each process that serves it.
server_processes() {
    case "$1" in
        direct) nginx_pids "$ORIGIN_PID" ;;
        nginx-slice) nginx_pids "$SLICE_PID" ;;
        kestrel) echo "kestrel:$KESTREL_PID" ;;
        iso-embedded) echo "gateway:$EMBEDDED_PID" ;;
        iso-cluster) echo "gateway:$CLUSTER_GATEWAY_PID"; echo "silo:$SILO_PID" ;;
        iso-scale)
            for i in "${!SCALE_GATEWAY_PIDS[@]}"; do echo "gateway-$((i + 1)):${SCALE_GATEWAY_PIDS[$i]}"; done
            for i in "${!SCALE_SILO_PIDS[@]}"; do echo "silo-$((i + 1)):${SCALE_SILO_PIDS[$i]}"; done
            ;;
    esac
}

# cpu_ticks PID...: user + system clock ticks the processes have used. The command name in /proc/PID/stat may hold
# spaces, so fields are counted after its closing parenthesis: utime and stime are then the 12th and 13th.
cpu_ticks() {
    local pid
    for pid in "$@"; do
        cat "/proc/$pid/stat" 2>/dev/null || true
    done | awk '{ sub(/^.*\) /, ""); t += $12 + $13 } END { printf "%.0f\n", t }'
}

# machine_ticks: "busy softirq steal" clock ticks of the whole machine. Busy is user + nice + system + irq +
# softirq: interrupt time may be charged to the process it interrupted (the servers' and wrk's loopback traffic), so
# it belongs in the total that their CPU is taken from.
machine_ticks() {
    awk '/^cpu / { printf "%.0f %.0f %.0f\n", $2 + $3 + $4 + $7 + $8, $8, $9 }' /proc/stat
}

CLK_TCK="$(getconf CLK_TCK)"
now_ns() {
    date +%s%N
}

# pct TICKS NS: ticks as a percentage of one core over NS nanoseconds.
pct() {
    awk -v t="$1" -v ns="$2" -v hz="$CLK_TCK" 'BEGIN { if (ns > 0) printf "%.1f\n", t / hz / (ns / 1e9) * 100; else print "" }'
}

# A measurement window over the processes of server $1: begin resets their peak RSS and reads the CPU counters;
# end sets M_* (server CPU %, other CPU %, softirq and steal %, RSS sum and per-process peaks).
M_PIDS=() M_ROLES=() M_CPU0=0 M_MACHINE0="" M_T0=0
measure_begin() {
    M_PIDS=() M_ROLES=()
    while IFS=: read -r role pid; do
        [[ -n "$pid" ]] || continue
        M_ROLES+=("$role") M_PIDS+=("$pid")
        # 5 resets the peak resident set size (VmHWM) to the current one.
        echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || true
    done < <(server_processes "$1")
    M_CPU0="$(cpu_ticks "${M_PIDS[@]}")"
    M_MACHINE0="$(machine_ticks)"
    M_T0="$(now_ns)"
}

# measure_end CLIENT_TICKS: CLIENT_TICKS is what the load generator used during the window.
M_SERVER_CPU="" M_OTHER_CPU="" M_SOFTIRQ="" M_STEAL="" M_RSS_MIB="" M_PROCESSES="" M_WALL_NS=0
measure_end() {
    local client_ticks="$1" cpu1 busy0 soft0 steal0 busy1 soft1 steal1 i hwm total_kib=0 server_ticks
    cpu1="$(cpu_ticks "${M_PIDS[@]}")"
    read -r busy1 soft1 steal1 <<<"$(machine_ticks)"
    M_WALL_NS=$(($(now_ns) - M_T0))
    read -r busy0 soft0 steal0 <<<"$M_MACHINE0"
    server_ticks=$((cpu1 - M_CPU0))
    M_SERVER_CPU="$(pct "$server_ticks" "$M_WALL_NS")"
    M_OTHER_CPU="$(pct $((busy1 - busy0 - server_ticks - client_ticks)) "$M_WALL_NS")"
    M_SOFTIRQ="$(pct $((soft1 - soft0)) "$M_WALL_NS")"
    M_STEAL="$(pct $((steal1 - steal0)) "$M_WALL_NS")"
    M_PROCESSES=""
    for i in "${!M_PIDS[@]}"; do
        hwm="$(awk '/^VmHWM:/ { print $2 }' "/proc/${M_PIDS[$i]}/status" 2>/dev/null || echo 0)"
        total_kib=$((total_kib + ${hwm:-0}))
        M_PROCESSES+="${M_PROCESSES:+,}${M_ROLES[$i]}:${M_PIDS[$i]}:${hwm:-0}"
    done
    M_RSS_MIB="$(awk -v k="$total_kib" 'BEGIN { printf "%.1f\n", k / 1024 }')"
}

# client_ticks_of FILE: the "user system" seconds bash's `time` wrote, as clock ticks.
client_ticks_of() {
    awk -v hz="$CLK_TCK" 'NF >= 2 { printf "%.0f\n", ($1 + $2) * hz; found = 1 } END { if (!found) print 0 }' "$1"
}

# field LINE NAME: the value of NAME=... in a RESULT line.
field() {
    tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p" | head -n 1
}

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print ""; else printf "%.2f\n", a / b }'
}

# upstream_since LINE: "requests bytes" of hook.iso the origin served (to the caches) after log line LINE.
log_lines() {
    if [[ -f "$ACCESS_LOG" ]]; then wc -l <"$ACCESS_LOG"; else echo 0; fi
}
upstream_since() {
    tail -n +$(($1 + 1)) "$ACCESS_LOG" 2>/dev/null |
        awk '$2 == "/hook.iso" { n++; b += $NF } END { printf "%.0f %.0f\n", n, b }'
}

ROWS="$WORK/rows.tsv"
: >"$ROWS"
# row KIND key=value...: one table row, tab-separated key=value pairs (values may hold spaces).
row() {
    local IFS=$'\t'
    printf '%s\n' "kind=$*" >>"$ROWS"
}

TOTAL_ERRORS=0
FAILED=()

# bmc_machines SERVER BMCS: the machines file of each of SERVER's entry points for a load of BMCS, one path per
# line: the first BMCS load machines, iso-scale's split into consecutive, disjoint parts, one per gateway.
bmc_machines() {
    local server="$1" bmcs="$2" parts part per file
    parts="$(entry_points "$server" | wc -l)"
    per=$((bmcs / parts))
    for ((part = 0; part < parts; part++)); do
        file="$WORK/runs/machines-$bmcs-$((part + 1))-of-$parts.txt"
        sed -n "$((part * per + 1)),$(((part + 1) * per))p" "$WORK/load-machines.txt" >"$file"
        echo "$file"
    done
}

# head_check SERVER BMCS: every BMC's HEAD, as a BMC starts a boot, through the entry point its load uses; prints
# the number of wrong answers.
head_check() {
    local server="$1" bmcs="$2" entry machines mac i
    local -a urls=() entries=() files=()
    mapfile -t entries < <(entry_points "$server")
    mapfile -t files < <(bmc_machines "$server" "$bmcs")
    for i in "${!entries[@]}"; do
        entry="$(server_url "${entries[$i]}")" machines="${files[$i]}"
        while read -r mac _; do
            urls+=("$entry/iso/$mac/hook.iso")
        done <"$machines"
    done
    timeout 120 curl -s -I --max-time 30 -w 'HEADCHECK %{http_code} %header{content-length} %header{accept-ranges}\n' \
        "${urls[@]}" 2>/dev/null | { grep '^HEADCHECK' || true; } |
        awk -v size="$ISO_BYTES" -v want="$bmcs" '
            { n++; sub(/\r$/, ""); if ($2 != 200 || $3 != size || $4 != "bytes") bad++ }
            END { print bad + (want - n) }'
}

# wrk_threads BMCS [T]: the wrk threads for BMCS connections (T, default --wrk-threads; 0: one per BMC).
wrk_threads() {
    local threads="${2:-$WRK_THREADS}"
    ((threads == 0 || threads > $1)) && threads="$1"
    echo "$threads"
}

# run_wrk SERVER MODE PIECE BMCS SECONDS OUT [THREADS]: one wrk run per entry point of SERVER, started together, the
# BMCS BMCs and the THREADS threads (default --wrk-threads) split evenly over them; the output in OUT, bash's `time`
# of all of them in OUT.time. With more than one (iso-scale), each wrk's output is in OUT.N and its latency
# distribution in OUT.N.latency, and OUT holds their lines (WRK_RESULT renamed WRK_PART_RESULT) and then one
# WRK_RESULT for all of them (merge_wrk).
run_wrk() {
    local server="$1" mode="$2" piece="$3" bmcs="$4" seconds="$5" out="$6" threads="${7:-$WRK_THREADS}"
    local code=0 is_patched=0 parts per part_threads i part_out latency_file pid
    local -a entries=() files=()
    patched "$server" && is_patched=1
    mapfile -t entries < <(entry_points "$server")
    mapfile -t files < <(bmc_machines "$server" "$bmcs")
    parts=${#entries[@]}
    per=$((bmcs / parts))
    part_threads=$((threads / parts))
    ((threads > 0 && part_threads == 0)) && part_threads=1
    part_threads="$(wrk_threads "$per" "$part_threads")"
    WRK_PIDS=()
    {
        time {
            for i in "${!entries[@]}"; do
                part_out="$out" latency_file=""
                if ((parts > 1)); then
                    part_out="$out.$((i + 1))" latency_file="$out.$((i + 1)).latency"
                fi
                BMC_MACHINES="${files[$i]}" BMC_PATH="/iso/{mac}/hook.iso" BMC_SIZE="$ISO_BYTES" \
                    BMC_PIECE="$piece" BMC_MODE="$mode" BMC_REFERENCE="$ISO" BMC_OCCURRENCES="$OCCURRENCE_LIST" \
                    BMC_PATCHED="$is_patched" BMC_PATCH_TEMPLATE="$PATCH_TEMPLATE" BMC_PROBES="$PROBES" \
                    BMC_JUMP_EVERY="$JUMP_EVERY" BMC_THREADS="$part_threads" BMC_CONNECTIONS="$per" \
                    BMC_SEED="$RANDOM" BMC_LATENCY_FILE="$latency_file" \
                    timeout $((seconds + 60)) "$WRK" -t "$part_threads" -c "$per" -d "${seconds}s" --timeout 10s \
                    -s "$REPO_ROOT/bench/slice-cache/bmc.lua" "$(server_url "${entries[$i]}")/" </dev/null >"$part_out" 2>&1 &
                WRK_PIDS+=($!)
            done
            for pid in "${WRK_PIDS[@]}"; do
                wait "$pid" || code=$?
            done
        }
    } 2>"$out.time"
    WRK_PIDS=()
    ((parts > 1)) && merge_wrk "$out" "$parts"
    return "$code"
}

# merge_wrk OUT N: OUT from OUT.1 ... OUT.N (see run_wrk). The merged WRK_RESULT sums the counts, rates and errors,
# takes the longest duration and the largest max_ms, and its p50/p90/p99 from the N latency distributions merged
# (`latency=merged`): the latency at which the N cumulative distributions, weighted by their request counts, first
# reach the percentile. wrk gives a distribution only as percentiles (bmc.lua writes them at 0.1 % steps, 0.01 %
# above p98, up to p99.99), so a merged percentile is within one step of the exact one. If a distribution is missing, the
# percentiles are the worst of the N and `latency=worst-of-N`; if a wrk printed no WRK_RESULT, OUT has none either
# (the row then counts an error).
merge_wrk() {
    local out="$1" parts="$2" i latency=merged percentiles
    local -a part_files=()
    for ((i = 1; i <= parts; i++)); do
        part_files+=("$out.$i")
        [[ -s "$out.$i.latency" ]] || latency="worst-of-$parts"
    done
    percentiles=""
    if [[ "$latency" == merged ]]; then
        # Lines "microseconds part percentile", by latency; each part's count first (latency -1).
        percentiles="$(for ((i = 1; i <= parts; i++)); do
            awk -v part="$i" '$1 == "count" { print -1, part, $2; next } { print $2, part, $1 }' "$out.$i.latency"
        done | sort -n -k1,1 -k3,3 | awk '
            function reached(us,   j, f) {
                f = 0
                for (j in n) f += n[j] * cdf[j]
                while (t <= 3 && f >= (want[t] / 100 - 1e-9) * total) { printf "p%d_ms=%.3f ", want[t], us / 1000; t++ }
            }
            BEGIN { want[1] = 50; want[2] = 90; want[3] = 99; t = 1 }
            $1 == -1 { n[$2] = $3; total += $3; cdf[$2] = 0; next }
            seen && $1 != last { reached(last) }
            { cdf[$2] = $3 / 100; last = $1; seen = 1 }
            END { if (seen) reached(last); printf "\n" }')"
    fi
    {
        for ((i = 1; i <= parts; i++)); do
            sed "s/^WRK_RESULT /WRK_PART_RESULT gateway=$i /" "$out.$i"
        done
        if (($(grep -c '^WRK_RESULT ' "${part_files[@]}" | awk -F: '$2 > 0 { n++ } END { print n + 0 }') == parts)); then
            grep -h '^WRK_RESULT ' "${part_files[@]}" | awk -v merged="$percentiles" -v latency="$latency" '
                {
                    for (i = 2; i <= NF; i++) {
                        k = substr($i, 1, index($i, "=") - 1); v = substr($i, index($i, "=") + 1) + 0
                        if (!(k in sum)) order[++keys] = k
                        if (k == "seconds" || k ~ /^(p[0-9]+|max)_ms$/) { if (!(k in sum) || v > sum[k]) sum[k] = v }
                        else sum[k] += v
                    }
                }
                END {
                    n = split(merged, m, " ")
                    for (i = 1; i <= n; i++) { k = substr(m[i], 1, index(m[i], "=") - 1); sum[k] = substr(m[i], index(m[i], "=") + 1) + 0 }
                    line = "WRK_RESULT"
                    for (i = 1; i <= keys; i++) {
                        k = order[i]
                        if (k == "seconds" || k ~ /_ms$/) line = line " " k "=" sprintf("%.3f", sum[k])
                        else if (k == "rps" || k == "mib_per_s") line = line " " k "=" sprintf("%.1f", sum[k])
                        else line = line " " k "=" sprintf("%d", sum[k])
                    }
                    print line " latency=" latency
                }'
        fi
    } >"$out"
}

# ---- Client threads check (--client-threads-check) -------------------------------------------------------------
if [[ -n "$CLIENT_THREADS_CHECK" ]]; then
    log "client threads check: nginx direct, seq64k@256, $DURATION_S s each"
    curl -s -o /dev/null --max-time 120 "$ORIGIN_URL/iso/00:00:00:00:00:00/hook.iso"
    check_rows=()
    bmcs=256
    for threads in 256 16 2 256 16 2; do
        out="$WORK/runs/client-threads-t$threads-$RANDOM.out"
        run_wrk direct seq 65536 "$bmcs" 1 "$out.warm" "$threads" || true
        measure_begin direct
        code=0
        run_wrk direct seq 65536 "$bmcs" "$DURATION_S" "$out" "$threads" || code=$?
        client_ticks="$(client_ticks_of "$out.time")"
        measure_end "$client_ticks"
        result="$(grep '^WRK_RESULT' "$out" | tail -n 1 || true)"
        requests="$(field "$result" requests)"
        client_us="$(awk -v t="$client_ticks" -v hz="$CLK_TCK" -v n="$requests" 'BEGIN { if (n > 0) printf "%.1f", t / hz * 1e6 / n }')"
        line="threads=$threads connections=$bmcs rps=$(field "$result" rps) p99_ms=$(field "$result" p99_ms) client_cpu_pct=$(pct "$client_ticks" "$M_WALL_NS") client_cpu_us_per_request=$client_us server_cpu_pct=$M_SERVER_CPU errors=$(field "$result" errors) exit=$code"
        echo "  $line"
        check_rows+=("$line")
    done
    mkdir -p "$(dirname "$JSON_OUT")"
    out_json="${JSON_OUT%.json}-client-threads.json"
    printf '%s\n' "${check_rows[@]}" | awk '
        BEGIN { print "{\"benchmark\": \"slice-cache client threads check\", \"runs\": [" }
        { printf "%s  {", (NR > 1 ? ",\n" : ""); for (i = 1; i <= NF; i++) { split($i, kv, "="); v = kv[2];
            if (v !~ /^-?[0-9]+(\.[0-9]+)?$/) v = "\"" v "\""; printf "%s\"%s\": %s", (i > 1 ? ", " : ""), kv[1], v } printf "}" }
        END { print "\n]}" }' >"$out_json"
    log "wrote $out_json"
    exit 0
fi

# ---- 4. JIT warm-up and cold stampede -------------------------------------------------------------------------
# fleetboot_run LABEL SERVER SOURCE MACHINES CLIENTS [ARGS...]: one FleetBoot pass; its output in runs/LABEL.out.
fleetboot_run() {
    local label="$1" server="$2" source="$3" machines="$4" clients="$5" code=0 url
    local -a extra=("${@:6}")
    url="$(server_url "$server")/iso/{mac}/hook.iso"
    patched "$server" && extra+=(--patched)
    [[ "$source" == "$WWW/warmup.iso" ]] && url="$url?sourceISO=http%3A%2F%2F127.0.0.1%3A$ORIGIN_PORT%2Fwarmup.iso"
    timeout 400 dotnet "$FLEETBOOT_DLL" run --label "$label" --url "$url" --source "$source" --machines "$machines" \
        --clients "$clients" --time-limit-s 300 "${extra[@]}" </dev/null >"$WORK/runs/$label.out" 2>&1 || code=$?
    return "$code"
}

if [[ -n "$JIT_WARMUP" ]]; then
    for server in iso-embedded iso-cluster iso-scale; do
        has_server "$server" || continue
        warm_clients=$((MAX_BMCS < 64 ? MAX_BMCS : 64))
        while read -r entry; do
            log "JIT warm-up of $entry: $warm_clients BMCs read warmup.iso (16 MiB) through it"
            fleetboot_run "jit-warmup-$entry" "$entry" "$WWW/warmup.iso" "$WORK/load-machines.txt" "$warm_clients" ||
                { FAILED+=("jit-warmup-$entry"); grep -E '^(RESULT|   error)' "$WORK/runs/jit-warmup-$entry.out" | sed 's/^/  /' || true; }
        done < <(entry_points "$server")
    done
fi

if [[ -n "$STAMPEDE" ]]; then
    for server in nginx-slice iso-embedded iso-cluster; do
        has_server "$server" || continue
        log "cold stampede on $server: $STAMPEDE_BMCS BMCs at once, each the first $STAMPEDE_MIB MiB in 64 KiB ranges"
        before="$(log_lines)"
        measure_begin "$server"
        code=0
        {
            time fleetboot_run "stampede-$server" "$server" "$ISO" "$WORK/stampede-machines.txt" "$STAMPEDE_BMCS" \
                --read-mib "$STAMPEDE_MIB" || code=$?
        } 2>"$WORK/runs/stampede-$server.time"
        client_ticks="$(client_ticks_of "$WORK/runs/stampede-$server.time")"
        measure_end "$client_ticks"
        # nginx logs a response when it is finished; the caches' fetches are done when their responses are.
        sleep 1
        read -r up_requests up_bytes <<<"$(upstream_since "$before")"
        result="$(grep '^RESULT ' "$WORK/runs/stampede-$server.out" | tail -n 1 || true)"
        errors="$(field "$result" errors)" unfinished="$(field "$result" unfinished)"
        failed=$(( ${errors:-1} + ${unfinished:-0} ))
        if [[ -z "$result" || "$code" != 0 || "$failed" != 0 ]]; then
            FAILED+=("stampede-$server (exit $code, $failed failed reads)")
            sed 's/^/  /' "$WORK/runs/stampede-$server.out" | tail -n 15
        fi
        TOTAL_ERRORS=$((TOTAL_ERRORS + failed))
        unique=$((STAMPEDE_MIB * MIB))
        row stampede "server=$server" "bmcs=$STAMPEDE_BMCS" "read_mib=$STAMPEDE_MIB" \
            "wall_s=$(field "$result" wall_s)" "requests=$(field "$result" requests)" \
            "mb_per_s=$(field "$result" mb_per_s)" "p50_ms=$(field "$result" p50_ms)" "p99_ms=$(field "$result" p99_ms)" \
            "max_ms=$(field "$result" max_ms)" "failed_reads=$failed" "upstream_requests=$up_requests" \
            "upstream_bytes=$up_bytes" "unique_bytes=$unique" "upstream_per_unique=$(ratio "$up_bytes" "$unique")" \
            "server_cpu_pct=$M_SERVER_CPU" "client_cpu_pct=$(pct "$client_ticks" "$M_WALL_NS")" \
            "other_cpu_pct=$M_OTHER_CPU" "softirq_pct=$M_SOFTIRQ" "steal_pct=$M_STEAL" \
            "rss_mib=$M_RSS_MIB" "processes=$M_PROCESSES" "exit=$code"
        log "  wall $(field "$result" wall_s) s, p99 $(field "$result" p99_ms) ms, $failed failed reads," \
            "upstream $up_requests requests / $up_bytes bytes ($(ratio "$up_bytes" "$unique") x unique)"
    done
fi

# ---- 5. Warm caches, patch check, loads -----------------------------------------------------------------------
FIRST_MAC="$(head -n 1 "$WORK/load-machines.txt" | cut -d' ' -f1)"
for server in "${SERVER_LIST[@]}"; do
    got="$(timeout 300 curl -s -o /dev/null -w '%{http_code} %{size_download}' --max-time 290 \
        "$(server_url "$server")/iso/$FIRST_MAC/hook.iso" || true)"
    [[ "$got" == "200 $ISO_BYTES" ]] || die "warming $server: the whole ISO through it gave '$got', not '200 $ISO_BYTES'"
done
log "warmed: the whole ISO read once through each of ${SERVER_LIST[*]}"
# The gateway's bytes at an occurrence are the machine's kernel parameters, exactly as the wrk checks expect them.
read -r _ first_facility first_vlan < <(head -n 1 "$WORK/load-machines.txt")
expected_patch="${PATCH_TEMPLATE//\{mac\}/$FIRST_MAC}"
expected_patch="${expected_patch//\{facility\}/$first_facility}"
expected_patch="${expected_patch//\{vlan\}/$first_vlan}"
expected_patch="$(printf '%-1024s' "$expected_patch")"
for server in iso-embedded iso-cluster iso-scale; do
    has_server "$server" || continue
    at="${OCCURRENCES[0]}"
    while read -r entry; do
        served="$(timeout 60 curl -s --max-time 30 -r "$at-$((at + 1023))" "$(server_url "$entry")/iso/$FIRST_MAC/hook.iso" || true)"
        [[ "$served" == "$expected_patch" ]] ||
            die "$entry serves '${served:0:200}...' at the magic string for $FIRST_MAC, not '${expected_patch:0:200}...'"
    done < <(entry_points "$server")
done

# silo_metric I METRIC [LABEL]: the sum of iso-scale silo I's (from 0) samples of the Prometheus metric METRIC (those
# with LABEL, e.g. grain_type="isochunk", among their labels) on its admin listener's /metrics; empty if it has none.
silo_metric() {
    { timeout 20 curl -s --max-time 15 "http://127.0.0.1:${SCALE_SILO_HTTP_PORTS[$1]}/metrics" 2>/dev/null || true; } |
        awk -v name="$2" -v label="${3:-}" '
            (index($0, name "{") == 1 || index($0, name " ") == 1) && (label == "" || index($0, label) > 0) { n += $NF; found = 1 }
            END { if (found) printf "%.0f\n", n; else print "" }'
}

# silo_chunk_reads: each iso-scale silo's chunk reads so far (hits and misses of its cache), one line per silo.
silo_chunk_reads() {
    local i
    for i in "${!SCALE_SILO_PIDS[@]}"; do
        silo_metric "$i" isocluster_cache_reads_total
    done
}

# scale_spread LOAD READS_BEFORE...: how iso-scale's chunk cache is spread over its silos after LOAD, from the cache
# report of its first gateway's admin listener (GET /api/cache: per silo the cached chunks and bytes, per source ISO
# the sums) and each silo's /metrics (Orleans' orleans_catalog_activations of grain type isochunk: the chunk grains
# active on it; isocluster_cache_reads_total: chunk reads, READS_BEFORE being the counts before the measured run).
# One spread row per silo and one cache_source row per source ISO; prints a line per silo.
scale_spread() {
    local load="$1" report i n total_chunks total_bytes line chunks bytes address activations reads
    local -a before=("${@:2}")
    report="$(timeout 20 curl -s --max-time 15 "$SCALE_CACHE_URL" || true)"
    if ! jq -e '.silos' <<<"$report" >/dev/null 2>&1; then
        FAILED+=("spread after $load: no cache report from $SCALE_CACHE_URL")
        log "  iso-scale spread after $load: no cache report from $SCALE_CACHE_URL: ${report:0:200}"
        return 0
    fi
    total_chunks="$(jq '[.silos[].chunks] | add // 0' <<<"$report")"
    total_bytes="$(jq '[.silos[].cachedBytes] | add // 0' <<<"$report")"
    for i in "${!SCALE_SILO_PIDS[@]}"; do
        n=$((i + 1))
        line="$(jq -r --arg port ":${SCALE_SILO_PORTS[$i]}@" \
            '.silos[] | select(.silo | contains($port)) | "\(.chunks) \(.cachedBytes) \(.silo)"' <<<"$report" | head -n 1)"
        read -r chunks bytes address <<<"${line:-  }"
        activations="$(silo_metric "$i" orleans_catalog_activations 'grain_type="isochunk"')"
        reads="$(silo_metric "$i" isocluster_cache_reads_total)"
        if [[ -n "$reads" && -n "${before[$i]:-}" ]]; then
            reads=$((reads - before[i]))
        else
            reads=""
        fi
        row spread "load=$load" "silo=silo-$n" "pid=${SCALE_SILO_PIDS[$i]}" "address=${address:-}" "chunks=${chunks:-}" \
            "cached_bytes=${bytes:-}" "chunk_share_pct=$(awk -v a="${chunks:-}" -v t="$total_chunks" 'BEGIN { if (a != "" && t > 0) printf "%.1f", a / t * 100 }')" \
            "bytes_share_pct=$(awk -v a="${bytes:-}" -v t="$total_bytes" 'BEGIN { if (a != "" && t > 0) printf "%.1f", a / t * 100 }')" \
            "chunk_activations=$activations" "chunk_reads_in_run=$reads"
        printf '  %-13s %-13s silo-%d: %6s chunks, %8s MiB (%5s%% of the bytes), chunk grains %6s, chunk reads in the run %8s\n' \
            "$load" "spread" "$n" "${chunks:-n/a}" "$(awk -v b="${bytes:-0}" 'BEGIN { printf "%.1f", b / 1048576 }')" \
            "$(awk -v a="${bytes:-}" -v t="$total_bytes" 'BEGIN { if (a != "" && t > 0) printf "%.1f", a / t * 100; else printf "n/a" }')" \
            "${activations:-n/a}" "${reads:-n/a}"
    done
    while IFS=$'\t' read -r chunks bytes hits misses source; do
        row cache_source "load=$load" "source_iso=$source" "chunks=$chunks" "cached_bytes=$bytes" "hits=$hits" "misses=$misses"
    done < <(jq -r '.sources[] | [.chunks, .cachedBytes, .hits, .misses, .sourceIso] | @tsv' <<<"$report")
}

# settle: waits until the server processes have finished their start-up work before the first measured run. After
# the warm-up, .NET recompiles hot methods in the background (tiered compilation) for some 30 s, at 20-35 % of a core
# per process on 2 busy cores; that would count as `other` in the first load's rows of every other server (iso-scale
# alone has five such processes). Waits until all of them together use less than a quarter of one core over 3 s, at
# most 90 s.
settle() {
    local -a pids=()
    local server role pid before after started=$SECONDS
    for server in "${SERVER_LIST[@]}"; do
        while IFS=: read -r role pid; do
            [[ -n "$pid" ]] && pids+=("$pid")
        done < <(server_processes "$server")
    done
    while :; do
        before="$(cpu_ticks "${pids[@]}")"
        sleep 3
        after="$(cpu_ticks "${pids[@]}")"
        if (((after - before) * 4 < 3 * CLK_TCK)); then
            log "settled: the server processes use $(pct $((after - before)) 3000000000)% of a core (waited $((SECONDS - started)) s)"
            return 0
        fi
        if ((SECONDS - started >= 90)); then
            log "not settled after $((SECONDS - started)) s: the server processes still use $(pct $((after - before)) 3000000000)% of a core"
            return 0
        fi
    done
}
# The JIT keeps optimizing for a while after the first reads (tiered compilation: measured, 300-800 methods a second
# for the first ~10 s of load, then a trickle), which a server running for days does not pay; nginx has no JIT. So
# each .NET server (IsoCluster's and bare Kestrel) first carries wrk's load for a while, half sequential with 64 BMCs,
# half random with 256.
if [[ -n "$JIT_WARMUP" ]] && ((JIT_WARMUP_S > 0)); then
    for server in kestrel iso-embedded iso-cluster iso-scale; do
        has_server "$server" || continue
        log "JIT warm-up of $server, second part: ${JIT_WARMUP_S} s of wrk through it"
        for shape in "seq 64" "rand 256"; do
            read -r mode bmcs <<<"$shape"
            bmcs=$((bmcs < MAX_BMCS ? bmcs : MAX_BMCS))
            out="$WORK/runs/jit-warmup-wrk-$server-$mode.out"
            code=0
            run_wrk "$server" "$mode" 65536 "$bmcs" $(((JIT_WARMUP_S + 1) / 2)) "$out" || code=$?
            result="$(grep '^WRK_RESULT' "$out" | tail -n 1 || true)"
            errors="$(field "$result" errors)"
            if ((code != 0 || ${errors:-1} > 0)); then
                FAILED+=("jit-warmup-wrk $server $mode (wrk exit $code, ${errors:-unknown} errors)")
                TOTAL_ERRORS=$((TOTAL_ERRORS + ${errors:-1}))
                log "  JIT warm-up wrk through $server ($mode) had errors; the first:"
                grep -h -E '^WRK_ERROR|rror' "$out"* 2>/dev/null | head -n 5 | sed 's/^/    /' || true
            fi
        done
    done
fi
settle

LOAD_COUNT=${#LOAD_LIST[@]}
SERVER_COUNT=${#SERVER_LIST[@]}
log "loads: $LOAD_COUNT loads x $SERVER_COUNT servers x (${WARM_S} s warm + ${DURATION_S} s measured)," \
    "about $((LOAD_COUNT * SERVER_COUNT * (WARM_S + DURATION_S + 3) / 60 + 1)) min"
for load in "${LOAD_LIST[@]}"; do
    [[ "$load" =~ ^(seq|rand)([0-9]+)k@([0-9]+)$ ]]
    mode="${BASH_REMATCH[1]}" piece_kib="${BASH_REMATCH[2]}" bmcs="${BASH_REMATCH[3]}"
    for server in "${SERVER_LIST[@]}"; do
        out="$WORK/runs/$load-$server"
        out="${out//@/-}"
        head_errors="$(head_check "$server" "$bmcs")"
        warm_code=0
        run_wrk "$server" "$mode" $((piece_kib * 1024)) "$bmcs" "$WARM_S" "$out.warm.out" || warm_code=$?
        warm_result="$(grep '^WRK_RESULT' "$out.warm.out" | tail -n 1 || true)"
        warm_errors="$(field "$warm_result" errors)"
        reads_before=()
        if [[ "$server" == iso-scale ]]; then
            mapfile -t reads_before < <(silo_chunk_reads)
        fi
        measure_begin "$server"
        code=0
        run_wrk "$server" "$mode" $((piece_kib * 1024)) "$bmcs" "$DURATION_S" "$out.out" || code=$?
        client_ticks="$(client_ticks_of "$out.out.time")"
        measure_end "$client_ticks"
        result="$(grep '^WRK_RESULT' "$out.out" | tail -n 1 || true)"
        wrk_errors="$(field "$result" errors)"
        errors=$((${wrk_errors:-1} + ${warm_errors:-1} + head_errors))
        if ((errors > 0 || code != 0 || warm_code != 0)); then
            FAILED+=("$load $server (wrk exit $code/$warm_code, $errors errors)")
            grep -E '^WRK_ERROR|rror' "$out.out" "$out.warm.out" | head -n 5 | sed 's/^/    /' || true
        fi
        TOTAL_ERRORS=$((TOTAL_ERRORS + errors))
        sample="$(grep -h '^WRK_ERROR' "$out.warm.out" "$out.out" 2>/dev/null | head -n 1 | cut -c11- || true)"
        row load "load=$load" "mode=$mode" "piece_kib=$piece_kib" "bmcs=$bmcs" "server=$server" \
            "wrk_threads=$(wrk_threads "$bmcs")" "reissued=$(field "$result" reissued)" \
            "rps=$(field "$result" rps)" "mib_per_s=$(field "$result" mib_per_s)" "p50_ms=$(field "$result" p50_ms)" \
            "p90_ms=$(field "$result" p90_ms)" "p99_ms=$(field "$result" p99_ms)" "max_ms=$(field "$result" max_ms)" \
            "requests=$(field "$result" requests)" "probes=$(field "$result" probes)" \
            "patch_probes=$(field "$result" patch_probes)" "errors=$errors" "head_errors=$head_errors" \
            "warm_errors=${warm_errors:-}" "wrk_processes=$(entry_points "$server" | wc -l)" \
            "latency=$(latency="$(field "$result" latency)"; echo "${latency:-wrk}")" "server_cpu_pct=$M_SERVER_CPU" \
            "client_cpu_pct=$(pct "$client_ticks" "$M_WALL_NS")" "other_cpu_pct=$M_OTHER_CPU" \
            "softirq_pct=$M_SOFTIRQ" "steal_pct=$M_STEAL" "rss_mib=$M_RSS_MIB" "processes=$M_PROCESSES" \
            "error_sample=$sample"
        printf '  %-13s %-13s %9s req/s  p50 %7s ms  p99 %8s ms  server CPU %6s%%  client %6s%%  errors %s\n' \
            "$load" "$server" "$(field "$result" rps)" "$(field "$result" p50_ms)" "$(field "$result" p99_ms)" \
            "$M_SERVER_CPU" "$(pct "$client_ticks" "$M_WALL_NS")" "$errors"
        if [[ "$server" == iso-scale ]]; then
            scale_spread "$load" "${reads_before[@]}"
        fi
    done
done

# ---- 6. Report ------------------------------------------------------------------------------------------------
CACHE_BYTES=0
[[ -n "$CACHE_DIR" ]] && CACHE_BYTES="$(du -sb "$CACHE_DIR" 2>/dev/null | cut -f1 || echo 0)"

# Adds to each load row its server CPU per request (microseconds of one core: the figure that least depends on how
# the client and the server share the cores), its ratios against nginx-slice's row of the same load, IsoCluster's
# against bare Kestrel's and iso-scale's against iso-cluster's, in place.
awk -F'\t' '
    function get(line, key,   i, n, parts) { n = split(line, parts, "\t"); for (i = 1; i <= n; i++) if (index(parts[i], key "=") == 1) return substr(parts[i], length(key) + 2); return "" }
    function ratio(a, b) { return (b + 0 > 0 && a != "") ? sprintf("%.2f", a / b) : "" }
    { lines[NR] = $0 }
    $1 == "kind=load" && get($0, "server") == "nginx-slice" { rps[get($0, "load")] = get($0, "rps"); p99[get($0, "load")] = get($0, "p99_ms") }
    $1 == "kind=load" && get($0, "server") == "iso-cluster" { crps[get($0, "load")] = get($0, "rps"); cp99[get($0, "load")] = get($0, "p99_ms") }
    $1 == "kind=load" && get($0, "server") == "kestrel" { krps[get($0, "load")] = get($0, "rps"); kp99[get($0, "load")] = get($0, "p99_ms") }
    END {
        for (i = 1; i <= NR; i++) {
            line = lines[i]
            if (line ~ /^kind=load\t/) {
                l = get(line, "load"); r = get(line, "rps"); p = get(line, "p99_ms"); c = get(line, "server_cpu_pct")
                line = line "\tserver_cpu_us_per_request=" (r + 0 > 0 && c != "" ? sprintf("%.1f", c * 1e4 / r) : "")
                line = line "\trps_vs_slice=" ratio(r, rps[l]) "\tp99_vs_slice=" ratio(p, p99[l])
                if (get(line, "server") ~ /^iso-/)
                    line = line "\trps_vs_kestrel=" ratio(r, krps[l]) "\tp99_vs_kestrel=" ratio(p, kp99[l])
                if (get(line, "server") == "iso-scale")
                    line = line "\trps_vs_cluster=" ratio(r, crps[l]) "\tp99_vs_cluster=" ratio(p, cp99[l])
            }
            print line
        }
    }' "$ROWS" >"$ROWS.tmp" && mv "$ROWS.tmp" "$ROWS"

echo
echo "== slice-cache: IsoCluster vs an nginx slice cache; ISO $ISO_BYTES bytes ($SIZE_MIB MiB), $(nproc) CPUs"
echo "   built from $COMMIT_NOTE${GATEWAY_ARGS[*]:+; gateway args: ${GATEWAY_ARGS[*]}}${SILO_ARGS[*]:+; silo args: ${SILO_ARGS[*]}}"
echo "   loads: cache warm; wrk, one connection per BMC, ${WRK_THREADS/#0/one per BMC} threads; ${WARM_S} s warm pass + ${DURATION_S} s measured;"
echo "   CPU % is of one core (the machine has $(nproc)), us/req the server's CPU microseconds per request; RSS is the sum of"
echo "   the server processes' peak (VmHWM) in the run"
# IsoCluster's rows add the vs-kestrel column (req/s over bare Kestrel's in the same load), iso-scale's the vs-cluster
# column (over iso-cluster's).
VS_KESTREL="" VS_CLUSTER=""
has_server kestrel && VS_KESTREL=1
has_server iso-scale && VS_CLUSTER=1
[[ -n "$VS_KESTREL" ]] &&
    echo "   kestrel: bare Kestrel, the gateway's transport, the ISO in memory; vs kes: IsoCluster's req/s over bare Kestrel's"
[[ -n "$VS_CLUSTER" ]] &&
    echo "   iso-scale: 3 silos, 2 gateways, half the BMCs (one wrk) on each; req/s summed, latencies merged; vs clu: over iso-cluster"
printf "%-13s %-13s %9s %7s ${VS_KESTREL:+%7s }${VS_CLUSTER:+%7s }%8s %8s %7s %7s %7s %7s %7s %8s %6s\n" load server "req/s" \
    "vs slc" ${VS_KESTREL:+"vs kes"} ${VS_CLUSTER:+"vs clu"} "p50 ms" "p99 ms" "p99 vs" "CPU %" "us/req" "client" "other" "RSS MiB" errors
awk -F'\t' -v vs_kestrel="$VS_KESTREL" -v vs_cluster="$VS_CLUSTER" '
    function get(line, key,   i, n, parts) { n = split(line, parts, "\t"); for (i = 1; i <= n; i++) if (index(parts[i], key "=") == 1) return substr(parts[i], length(key) + 2); return "" }
    function v(x) { return x == "" ? "n/a" : x }
    $1 == "kind=load" {
        printf "%-13s %-13s %9s %7s ", get($0, "load"), get($0, "server"), v(get($0, "rps")), v(get($0, "rps_vs_slice"))
        if (vs_kestrel != "") printf "%7s ", get($0, "server") ~ /^iso-/ ? v(get($0, "rps_vs_kestrel")) : ""
        if (vs_cluster != "") printf "%7s ", get($0, "server") == "iso-scale" ? v(get($0, "rps_vs_cluster")) : ""
        printf "%8s %8s %7s %7s %7s %7s %7s %8s %6s\n", v(get($0, "p50_ms")), v(get($0, "p99_ms")),
            v(get($0, "p99_vs_slice")), v(get($0, "server_cpu_pct")), v(get($0, "server_cpu_us_per_request")), v(get($0, "client_cpu_pct")),
            v(get($0, "other_cpu_pct")), v(get($0, "rss_mib")), get($0, "errors")
    }' "$ROWS"
if [[ -n "$VS_CLUSTER" ]]; then
    echo
    echo "== iso-scale spread: each silo's share of the cluster's chunk cache after each load (every source ISO$([[ -n "$JIT_WARMUP" ]] && echo ", the JIT warm-up's 16 MiB warmup.iso included"))"
    printf '%-13s %-7s %8s %8s %9s %8s %12s %12s\n' load silo chunks "chunks %" "MiB" "bytes %" "chunk grains" "reads in run"
    awk -F'\t' '
        function get(line, key,   i, n, parts) { n = split(line, parts, "\t"); for (i = 1; i <= n; i++) if (index(parts[i], key "=") == 1) return substr(parts[i], length(key) + 2); return "" }
        function v(x) { return x == "" ? "n/a" : x }
        $1 == "kind=spread" {
            printf "%-13s %-7s %8s %8s %9s %8s %12s %12s\n", get($0, "load"), get($0, "silo"), v(get($0, "chunks")),
                v(get($0, "chunk_share_pct")), get($0, "cached_bytes") == "" ? "n/a" : sprintf("%.1f", get($0, "cached_bytes") / 1048576),
                v(get($0, "bytes_share_pct")), v(get($0, "chunk_activations")), v(get($0, "chunk_reads_in_run"))
        }' "$ROWS"
fi
if ((CACHE_BYTES > 0)); then
    echo "nginx-slice also holds $(awk -v b="$CACHE_BYTES" 'BEGIN { printf "%.1f", b / 1048576 }') MiB of cache files on tmpfs (memory, not in its RSS)"
fi
if [[ -n "$STAMPEDE" ]]; then
    echo
    echo "== cold stampede: $STAMPEDE_BMCS BMCs start at once on an empty cache, each reads the first $STAMPEDE_MIB MiB in 64 KiB ranges"
    printf '%-13s %8s %9s %9s %9s %9s %9s %9s %7s %8s\n' server "wall s" "p99 ms" "failed" "up MiB" "up/uniq" \
        "up reqs" "MB/s" "CPU %" "RSS MiB"
    awk -F'\t' '
        function get(line, key,   i, n, parts) { n = split(line, parts, "\t"); for (i = 1; i <= n; i++) if (index(parts[i], key "=") == 1) return substr(parts[i], length(key) + 2); return "" }
        function v(x) { return x == "" ? "n/a" : x }
        $1 == "kind=stampede" {
            printf "%-13s %8s %9s %9s %9.1f %9s %9s %9s %7s %8s\n", get($0, "server"), v(get($0, "wall_s")),
                v(get($0, "p99_ms")), get($0, "failed_reads"), get($0, "upstream_bytes") / 1048576,
                v(get($0, "upstream_per_unique")), v(get($0, "upstream_requests")), v(get($0, "mb_per_s")),
                v(get($0, "server_cpu_pct")), v(get($0, "rss_mib"))
        }' "$ROWS"
fi

# JSON: settings, then the rows (numbers as numbers, empty values as null).
mkdir -p "$(dirname "$JSON_OUT")"
json_rows() {
    awk -F'\t' -v kind="$1" '
        function esc(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); gsub(/\t/, " ", s); return s }
        function val(s) { if (s == "") return "null"; if (s ~ /^-?[0-9]+(\.[0-9]+)?$/ && s !~ /^0[0-9]/) return s; return "\"" esc(s) "\"" }
        $1 == "kind=" kind {
            printf "%s    {", (n++ ? ",\n" : "")
            for (i = 2; i <= NF; i++) {
                k = substr($i, 1, index($i, "=") - 1); x = substr($i, index($i, "=") + 1)
                if (k == "processes") {
                    m = split(x, procs, ","); x = "["
                    for (j = 1; j <= m; j++) { split(procs[j], p, ":"); x = x (j > 1 ? ", " : "") "{\"role\": \"" p[1] "\", \"pid\": " p[2] ", \"peak_rss_kib\": " p[3] "}" }
                    printf "%s\"%s\": %s]", (i > 2 ? ", " : ""), k, x
                } else printf "%s\"%s\": %s", (i > 2 ? ", " : ""), k, val(x)
            }
            printf "}"
        }
        END { if (n) printf "\n" }' "$ROWS"
}
json_string() {
    awk -v s="$1" 'BEGIN { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); printf "\"%s\"", s }'
}
json_list() {
    local first=1 item
    printf '['
    for item in "$@"; do
        ((first)) || printf ', '
        first=0
        json_string "$item"
    done
    printf ']'
}
{
    echo "{"
    echo "  \"benchmark\": \"slice-cache\","
    echo "  \"started_utc\": \"$STARTED_UTC\", \"finished_utc\": \"$(date -u '+%Y-%m-%dT%H:%M:%SZ')\","
    echo "  \"commit\": \"$COMMIT\", \"src_dirty\": $SRC_DIRTY, \"src_diff_sha256_12\": $(json_string "$SRC_DIFF_SHA"),"
    echo "  \"host\": {\"cpus\": $(nproc), \"kernel\": $(json_string "$(uname -r)"), \"nginx\": $(json_string "$("$NGINX" -v 2>&1 | sed 's/^nginx version: //')"), \"wrk\": $(json_string "$("$WRK" -v 2>&1 | head -n 1 | cut -d' ' -f1-2)"), \"dotnet\": $(json_string "$(dotnet --version 2>/dev/null)")},"
    echo "  \"settings\": {\"iso_bytes\": $ISO_BYTES, \"magic_string_at\": [$OCCURRENCE_LIST], \"duration_s\": $DURATION_S, \"warm_s\": $WARM_S, \"probes_per_response\": $PROBES, \"jump_every\": $JUMP_EVERY, \"random_alignment_bytes\": 2048, \"stampede\": $([[ -n "$STAMPEDE" ]] && echo true || echo false), \"stampede_bmcs\": $STAMPEDE_BMCS, \"stampede_mib\": $STAMPEDE_MIB, \"jit_warmup\": $([[ -n "$JIT_WARMUP" ]] && echo true || echo false), \"jit_warmup_s\": $JIT_WARMUP_S, \"gateway_cache_size\": $(json_string "$CACHE_SIZE"), \"servers\": $(json_list "${SERVER_LIST[@]}"), \"loads\": $(json_list "${LOAD_LIST[@]}"), \"gateway_args\": $(json_list "${GATEWAY_ARGS[@]}"), \"silo_args\": $(json_list "${SILO_ARGS[@]}"), \"wrk_threads\": $WRK_THREADS, \"client\": \"wrk, one keep-alive connection per BMC, BMCs spread over wrk_threads threads (0: one thread per BMC)\", \"cpu_pct_of\": \"one core\"},"
    echo "  \"nginx_slice_tmpfs_cache_bytes\": $CACHE_BYTES,"
    echo "  \"loads\": ["
    json_rows load
    echo "  ],"
    echo "  \"stampede\": ["
    json_rows stampede
    echo "  ],"
    echo "  \"spread\": ["
    json_rows spread
    echo "  ],"
    echo "  \"cache_sources\": ["
    json_rows cache_source
    echo "  ],"
    echo "  \"errors\": $TOTAL_ERRORS, \"failed\": $(json_list "${FAILED[@]}")"
    echo "}"
} >"$JSON_OUT"
echo
echo "figures: $JSON_OUT"

if ((${#FAILED[@]} > 0 || TOTAL_ERRORS > 0)); then
    echo "FAILED ($TOTAL_ERRORS errors): ${FAILED[*]}"
    exit 1
fi
echo "all runs: 0 errors (every response's status, Content-Range and length checked, its bytes sampled)"
