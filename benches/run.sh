#!/usr/bin/env bash
# The performance benchmark (docs/PERFORMANCE.md). Not a test: it measures and prints.
#
#   benches/run.sh [--users N] [--backends "sqlite postgres"] [--requests R] [--concurrency C]
#                  [--search PREFIX] [--bulk-runs K] [--out FILE]
#
# For each backend it loads a large tenant into a fresh database (benches/load_tenant.rs: the
# demo plus N users, 20 products, 2 assignments per user), starts the release server on
# 127.0.0.1, signs in as admin@contoso.example, and measures with a load tool (oha; wrk when oha
# is missing and won't install):
#   GET /licenses                the Licenses page
#   GET /users                   the first page of Active users
#   GET /users?q=PREFIX          a search of Active users
#   GET /static/app.css          a plain static file, the baseline of the same run
# then times one POST /licenses/{product}/assign of 10,000 users (K times, on fresh users).
# PostgreSQL: a throwaway database on postgres://postgres@127.0.0.1:5432 (ALLOT_BENCH_PG to
# change), dropped on exit. Everything listens on and talks to 127.0.0.1 only.
set -euo pipefail

USERS=100000
BACKENDS="sqlite postgres"
REQUESTS=3000
CONCURRENCY=8
SEARCH=mar
BULK_RUNS=3
BULK_SIZE=10000
OUT=""
MAX_SECONDS=60 # per endpoint: fewer requests when an endpoint is too slow for REQUESTS in this
PG_ADMIN_URL="${ALLOT_BENCH_PG:-postgres://postgres@127.0.0.1:5432}"

usage() {
    sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
}
while [ $# -gt 0 ]; do
    case "$1" in
    --users) USERS="$2"; shift 2 ;;
    --backends) BACKENDS="$2"; shift 2 ;;
    --requests) REQUESTS="$2"; shift 2 ;;
    --concurrency) CONCURRENCY="$2"; shift 2 ;;
    --search) SEARCH="$2"; shift 2 ;;
    --bulk-runs) BULK_RUNS="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    -h | --help) usage ;;
    *) echo "unknown argument: $1" >&2; usage ;;
    esac
done

cd "$(dirname "$0")/.."
ROOT="$(pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/allot-bench.XXXXXX")"
SERVER_PID=""
PG_DB=""
RESULTS="$WORK/results.md"
: >"$RESULTS"

log() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }
die() { echo "run.sh: $*" >&2; exit 1; }

stop_server() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    fi
}
drop_pg() {
    if [ -n "$PG_DB" ]; then
        psql -q "$PG_ADMIN_URL/postgres" -c "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" \
            >/dev/null 2>&1 || true
        PG_DB=""
    fi
}
cleanup() {
    stop_server
    drop_pg
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ tools
PATH="$HOME/.cargo/bin:$PATH"
TOOL=""
if command -v oha >/dev/null; then
    TOOL=oha
else
    log "installing oha (cargo install oha --locked)"
    if timeout 1800 cargo install oha --locked >"$WORK/oha-install.log" 2>&1; then
        TOOL=oha
    elif command -v wrk >/dev/null || { command -v apt-get >/dev/null &&
        apt-get install -y wrk >/dev/null 2>&1; }; then
        TOOL=wrk
    else
        die "neither oha nor wrk is available"
    fi
fi
for tool in curl jq; do command -v "$tool" >/dev/null || die "$tool is needed"; done
case " $BACKENDS " in *" sqlite "*) command -v sqlite3 >/dev/null || die "sqlite3 is needed" ;; esac
case " $BACKENDS " in *" postgres "*) command -v psql >/dev/null || die "psql is needed" ;; esac
OHA_JSON=(-j)
if [ "$TOOL" = oha ] && oha --help 2>/dev/null | grep -q -- '--output-format'; then
    OHA_JSON=(--output-format json)
fi

log "building (release)"
cargo build --release --bin allot
cargo bench --bench load_tenant --no-run
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/allot"

# ------------------------------------------------------------------ helpers
free_port() {
    local p
    for p in $(seq 18200 18299); do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return
        fi
    done
    die "no free port in 18200-18299"
}

# sql BACKEND QUERY: one value from the bench database.
sql() {
    case "$1" in
    sqlite) sqlite3 "$DATABASE_URL" "$2" ;;
    postgres) psql -qtA "$DATABASE_URL" -c "$2" ;;
    esac
}

# measure LABEL PATH: prints "LABEL|requests|p50 ms|p99 ms|req/s|statuses" (ms, 2 decimals).
measure() {
    local label="$1" path="$2" url="http://127.0.0.1:$PORT$2" n
    if [ "$TOOL" = oha ]; then
        # A short probe decides how many requests fit in MAX_SECONDS.
        local probe rps
        probe="$(timeout 120 oha --no-tui "${OHA_JSON[@]}" -n 100 -c "$CONCURRENCY" \
            -H "Cookie: $COOKIE" "$url")"
        rps="$(jq -r '.summary.requestsPerSec' <<<"$probe")"
        n="$(jq -rn --argjson rps "$rps" --argjson max "$REQUESTS" --argjson secs "$MAX_SECONDS" \
            '[$max, ([200, ($rps * $secs | floor)] | max)] | min')"
        local json
        json="$(timeout $((MAX_SECONDS * 3 + 60)) oha --no-tui "${OHA_JSON[@]}" -n "$n" \
            -c "$CONCURRENCY" -H "Cookie: $COOKIE" "$url")"
        jq -r --arg name "$label" '
            [$name,
             ([.statusCodeDistribution[]] | add | tostring),
             (.latencyPercentiles.p50 * 1000 * 100 | round / 100 | tostring),
             (.latencyPercentiles.p99 * 1000 * 100 | round / 100 | tostring),
             (.summary.requestsPerSec * 10 | round / 10 | tostring),
             (.statusCodeDistribution | to_entries | map("\(.key)×\(.value)") | join(" "))]
            | join("|")' <<<"$json"
    else
        local out
        out="$(timeout 120 wrk -t2 -c "$CONCURRENCY" -d20s --latency -H "Cookie: $COOKIE" "$url")"
        awk -v label="$label" '
            function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0;
                             if (v ~ /s$/) return v * 1000; return v }
            $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) }
            /requests in/ { n = $1 } /^Requests\/sec/ { rps = $2 }
            /Non-2xx/ { bad = $NF }
            END { printf "%s|%s|%.2f|%.2f|%.1f|%s\n", label, n, p50, p99, rps,
                  (bad ? "non-2xx×" bad : "2xx") }' <<<"$out"
    fi
}

table_header() {
    printf '| endpoint | requests | p50 ms | p99 ms | req/s | statuses |\n'
    printf '|---|--:|--:|--:|--:|---|\n'
}

# ------------------------------------------------------------------ one backend
bench_backend() {
    local backend="$1" data="$WORK/$1"
    mkdir -p "$data"
    export ALLOT_DATA_DIR="$data"
    case "$backend" in
    sqlite)
        export DATABASE_URL="$data/allot.db"
        ;;
    postgres)
        PG_DB="allot_bench_$$"
        psql -q "$PG_ADMIN_URL/postgres" -c "DROP DATABASE IF EXISTS \"$PG_DB\"" >/dev/null
        psql -q "$PG_ADMIN_URL/postgres" -c "CREATE DATABASE \"$PG_DB\"" >/dev/null
        export DATABASE_URL="$PG_ADMIN_URL/$PG_DB"
        ;;
    *) die "unknown backend $backend" ;;
    esac

    log "$backend: loading $USERS users"
    local load_log="$data/load.log"
    cargo bench --bench load_tenant -- --users "$USERS" --bulk-ids "$data/bulk_ids.txt" \
        | tee "$load_log"
    local bulk_product
    bulk_product="$(sed -n 's/^BULK_PRODUCT=//p' "$load_log")"
    [ -n "$bulk_product" ] || die "the loader printed no BULK_PRODUCT"
    local load_line
    load_line="$(grep '^loaded into' "$load_log")"

    PORT="$(free_port)"
    log "$backend: serving on 127.0.0.1:$PORT"
    "$BIN" serve --bind "127.0.0.1:$PORT" >"$data/server.log" 2>&1 &
    SERVER_PID=$!
    local i
    for i in $(seq 1 100); do
        curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$data/server.log" >&2; die "server died"; }
        sleep 0.2
    done
    curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null || die "server did not come up"

    # Sign in: the form's session cookie and CSRF token, then the POST.
    local jar="$data/cookies.txt" csrf status
    csrf="$(curl -fs -c "$jar" -b "$jar" "http://127.0.0.1:$PORT/signin" |
        sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -n1)"
    [ -n "$csrf" ] || die "no csrf_token on /signin"
    status="$(curl -s -o /dev/null -w '%{http_code}' -c "$jar" -b "$jar" \
        --data-urlencode "email=admin@contoso.example" --data-urlencode "password=allot-demo" \
        --data-urlencode "csrf_token=$csrf" "http://127.0.0.1:$PORT/signin")"
    [ "$status" = 303 ] || die "sign-in answered $status, not 303"
    COOKIE="allot_admin=$(awk '$6 == "allot_admin" { v = $7 } END { print v }' "$jar")"
    # The token is rotated at sign-in: read the current one from a signed-in page.
    csrf="$(curl -fs -H "Cookie: $COOKIE" "http://127.0.0.1:$PORT/licenses" |
        sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -n1)"
    [ -n "$csrf" ] || die "signed in, but /licenses shows no csrf_token (not signed in?)"
    status="$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $COOKIE" \
        "http://127.0.0.1:$PORT/users?q=$SEARCH")"
    [ "$status" = 200 ] || die "/users?q=$SEARCH answered $status"

    # Warm up caches and the connection pool.
    local path
    for path in /licenses /users "/users?q=$SEARCH" /static/app.css; do
        for i in $(seq 1 20); do
            curl -s -o /dev/null -H "Cookie: $COOKIE" "http://127.0.0.1:$PORT$path"
        done
    done

    log "$backend: measuring with $TOOL (concurrency $CONCURRENCY)"
    local rows=()
    rows+=("$(measure "GET /licenses (Licenses page)" /licenses)")
    rows+=("$(measure "GET /users (Active users, first page)" /users)")
    rows+=("$(measure "GET /users?q=$SEARCH (search)" "/users?q=$SEARCH")")
    rows+=("$(measure "GET /static/app.css (static baseline)" /static/app.css)")

    # The bulk assignment: 10,000 users who lack the product, in one form POST.
    local lacking runs size before after body code time bulk_rows=()
    lacking="$(wc -l <"$data/bulk_ids.txt")"
    size=$((lacking < BULK_SIZE ? lacking : BULK_SIZE))
    runs=$((lacking / size < BULK_RUNS ? lacking / size : BULK_RUNS))
    log "$backend: bulk assignment of $size users to product $bulk_product, $runs time(s)"
    for i in $(seq 1 "$runs"); do
        body="$data/bulk_$i.txt"
        {
            printf 'csrf_token=%s&confirm=yes' "$csrf"
            sed -n "$(((i - 1) * size + 1)),$((i * size))p" "$data/bulk_ids.txt" |
                awk '{ printf "&users=%s", $1 }'
        } >"$body"
        before="$(sql "$backend" "SELECT count(*) FROM license_assignments WHERE product_id = $bulk_product")"
        read -r code time < <(curl -s -o /dev/null -w '%{http_code} %{time_total}\n' \
            --max-time 600 -H "Cookie: $COOKIE" \
            -H 'Content-Type: application/x-www-form-urlencoded' --data-binary "@$body" \
            "http://127.0.0.1:$PORT/licenses/$bulk_product/assign")
        after="$(sql "$backend" "SELECT count(*) FROM license_assignments WHERE product_id = $bulk_product")"
        local ms
        ms="$(awk -v t="$time" 'BEGIN { printf "%.0f", t * 1000 }')"
        echo "  run $i: HTTP $code in $ms ms; assignments of the product $before → $after" >&2
        [ "$code" = 303 ] || echo "  !! expected 303, got $code" >&2
        [ $((after - before)) = "$size" ] || echo "  !! expected $size new assignments" >&2
        bulk_rows+=("POST /licenses/$bulk_product/assign ($size users), run $i|HTTP $code|$ms ms|$((after - before)) assigned")
    done
    stop_server

    {
        printf '### %s\n\n' "$([ "$backend" = sqlite ] && echo SQLite || echo PostgreSQL)"
        printf '%s\n\n' "$load_line"
        table_header
        local row
        for row in "${rows[@]}"; do printf '| %s |\n' "${row//|/ | }"; done
        printf '\n| bulk assignment | status | wall time | rows |\n|---|---|--:|--:|\n'
        for row in "${bulk_rows[@]}"; do printf '| %s |\n' "${row//|/ | }"; done
        printf '\n'
    } >>"$RESULTS"
    printf '\n' >&2
    cat "$RESULTS" >&2
    drop_pg
}

{
    printf '## %s users, %s, concurrency %s\n\n' "$USERS" "$(date -u +%Y-%m-%dT%H:%MZ)" "$CONCURRENCY"
    printf 'commit %s%s; %s cores; load tool: %s\n\n' \
        "$(git rev-parse --short HEAD 2>/dev/null || echo "${ALLOT_BENCH_COMMIT:-unknown}")" \
        "$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')" \
        "$(nproc)" "$($TOOL --version 2>/dev/null | head -n1)"
} >>"$RESULTS"
for backend in $BACKENDS; do
    bench_backend "$backend"
done

log "results"
cat "$RESULTS"
if [ -n "$OUT" ]; then
    cp "$RESULTS" "$OUT"
fi
