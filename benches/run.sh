#!/usr/bin/env bash
# The performance benchmark (docs/PERFORMANCE.md). Not a test: it measures and prints.
#
#   benches/run.sh [--users N] [--small-users M] [--backends "sqlite postgres"] [--requests R]
#                  [--concurrency C] [--search PREFIX] [--substring WORD] [--bulk-runs K]
#                  [--group-members G] [--group-add A] [--group-runs J] [--scim-sync S]
#                  [--pool-size P] [--out FILE]
#
# For each backend it loads a large tenant into a fresh database (benches/load_tenant.rs: the
# demo plus N users in Contoso, 20 products, 2 assignments per user; "Bench group" with G of
# them, default N; J groups carrying Bench Product 01, without members) and a small one (M
# users in Fabrikam, default 10,000, the same products and pattern), starts the release server
# on 127.0.0.1 (its connection pool ALLOT_DB_POOL_SIZE=P when given), signs in as
# admin@contoso.example (and admin@fabrikam.example, and support@allot.example for the support
# console) and measures with a load tool (oha when installed, else wrk, else oha built by
# cargo), one client at a time and then C at a time:
#   GET /licenses                the Licenses page
#   GET /users                   the first page of Active users, and its next page by key
#                                (the page's Next page link)
#   GET /users?filter=…          the filters: licensed, unlicensed, blocked
#   GET /users?q=PREFIX          a search of Active users
#   GET /users?q=WORD            a word in the middle of last names (default "ovak": Novak,
#                                about 1 user in 96, more than the trigram index hands over)
#   GET /users?q=nch0…           a rare word in the middle of sign-in names (10 bench users)
#   GET /users?q=contoso         a word every user's sign-in name holds (the total counts all)
#   GET /groups/{id}             Bench group's page (its first page of members)
#   GET /groups/{id}?after_…     its next page of members by key (the page's Next page link)
#   GET /licenses/{id}           a product's page (the bulk product's)
#   GET /users/{id}              a user's page
#   GET /billing/products        Your products
#   GET /settings/audit-log      the audit log's first page
#   GET /support                 the support queue, as Billing support
#   GET /api/v1/users, SCIM      (below)
#   GET /static/app.css          a plain static file, the baseline of the same run: each line
#                                says its requests per second as a share of the file's ("of
#                                static") at the same client count
# and prints the server's memory (VmRSS, and VmHWM, its peak) after them and at the end. Then
# GET /users/export.csv: every user of Contoso as CSV, streamed; its time, its lines (checked:
# the tenant's users and a header) and the server's VmRSS before, the largest sampled every 50
# ms during it, and VmHWM after (before any bulk work, so the peak is the export's or the
# pages'). Then the bulk work, in Contoso and in Fabrikam, side by side in one table so that
# its independence of the tenant's size shows: POST /licenses/{product}/assign of 10,000 users
# who lack the product without confirm (the confirmation page that names them), with
# confirm=yes, then POST /licenses/{product}/unassign of the same users without and with
# confirm=yes, checking each change in the database (up to K runs, on fresh users while the
# tenant has them, while every step takes under 30 s). Last, it adds A users (default 10,000)
# who lack Bench Product 01 to a group carrying it, one POST /groups/{id}/members (Add members)
# to each of the J groups (default 3), and times each from the POST until the background job
# that gives them the product has finished (polling group_jobs), checking in the database that
# A assignments were added and no error recorded.
# With a token of the tenant (users.read and scim, stored as Settings > API access stores one)
# it also measures GET /api/v1/users?$top=100 and a SCIM filter=userName eq "…", and times a
# SCIM sync of S new users (default 10,000), one POST /scim/v2/Users each, C at a time
# (benches/scim_sync.py), checking in the database that S users were added.
# PostgreSQL: a throwaway database on postgres://postgres@127.0.0.1:5432 (ALLOT_BENCH_PG to
# change), dropped on exit. Everything listens on and talks to 127.0.0.1 only.
#
# Other load on the machine skews every figure: before measuring, the script waits (up to
# QUIET_WAIT seconds, default 900) for the 1-minute load average to fall below 1, and prints it.
set -euo pipefail

USERS=100000
BACKENDS="sqlite postgres"
REQUESTS=3000
CONCURRENCY=8
SEARCH=mar
SUBSTRING=ovak
BULK_RUNS=3
BULK_SIZE=10000
SMALL_USERS=10000
POOL_SIZE="" # default: the server's (ALLOT_DB_POOL_SIZE unset)
GROUP_MEMBERS="" # default: USERS
GROUP_ADD=10000
GROUP_RUNS=3
SCIM_SYNC=10000
OUT=""
WRK_SECONDS="${WRK_SECONDS:-20}" # per measurement with wrk
MAX_SECONDS=45 # per measurement: fewer requests when an endpoint is too slow for REQUESTS
QUIET_WAIT="${QUIET_WAIT:-900}"
PG_ADMIN_URL="${ALLOT_BENCH_PG:-postgres://postgres@127.0.0.1:5432}"

usage() {
    sed -n '2,58p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
}
while [ $# -gt 0 ]; do
    case "$1" in
    --users) USERS="$2"; shift 2 ;;
    --backends) BACKENDS="$2"; shift 2 ;;
    --requests) REQUESTS="$2"; shift 2 ;;
    --concurrency) CONCURRENCY="$2"; shift 2 ;;
    --search) SEARCH="$2"; shift 2 ;;
    --substring) SUBSTRING="$2"; shift 2 ;;
    --bulk-runs) BULK_RUNS="$2"; shift 2 ;;
    --small-users) SMALL_USERS="$2"; shift 2 ;;
    --pool-size) POOL_SIZE="$2"; shift 2 ;;
    --group-members) GROUP_MEMBERS="$2"; shift 2 ;;
    --group-add) GROUP_ADD="$2"; shift 2 ;;
    --group-runs) GROUP_RUNS="$2"; shift 2 ;;
    --scim-sync) SCIM_SYNC="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    -h | --help) usage ;;
    *) echo "unknown argument: $1" >&2; usage ;;
    esac
done
GROUP_MEMBERS="${GROUP_MEMBERS:-$USERS}"

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
# An installed tool first: oha, then wrk (Debian's package installs in seconds); building oha
# with cargo takes long on a small machine, so it is the last resort.
if command -v oha >/dev/null; then
    TOOL=oha
elif command -v wrk >/dev/null || { command -v apt-get >/dev/null &&
    apt-get install -y wrk >/dev/null 2>&1; }; then
    TOOL=wrk
else
    log "installing oha (cargo install oha --locked)"
    timeout 1800 cargo install oha --locked >"$WORK/oha-install.log" 2>&1 ||
        die "neither oha nor wrk is available"
    TOOL=oha
fi
for tool in curl jq python3 sha256sum; do command -v "$tool" >/dev/null || die "$tool is needed"; done
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

load1() { cut -d' ' -f1 /proc/loadavg; }

# Waits for the machine to be quiet (1-minute load average under 1), at most QUIET_WAIT s.
wait_quiet() {
    local waited=0
    while awk -v l="$(load1)" 'BEGIN { exit !(l >= 1.0) }'; do
        if [ "$waited" -ge "$QUIET_WAIT" ]; then
            log "the machine is still busy (load $(load1)); measuring anyway"
            return
        fi
        [ "$waited" = 0 ] && log "waiting for the machine to be quiet (load $(load1))"
        sleep 10
        waited=$((waited + 10))
    done
}

# sql BACKEND QUERY: one value from the bench database.
sql() {
    case "$1" in
    sqlite) sqlite3 "$DATABASE_URL" "$2" ;;
    postgres) psql -qtA "$DATABASE_URL" -c "$2" ;;
    esac
}

# measure LABEL PATH CONCURRENCY [HEADER]: prints "LABEL|C|requests|p50 ms|p99 ms|req/s|statuses".
# HEADER (the admin's session cookie unless given) is sent with every request.
measure() {
    local label="$1" url="http://127.0.0.1:$PORT$2" c="$3" n auth="${4:-Cookie: $COOKIE}"
    if [ "$TOOL" = oha ]; then
        # A short probe decides how many requests fit in MAX_SECONDS.
        local probe rps json
        probe="$(timeout 120 oha --no-tui "${OHA_JSON[@]}" -n 50 -c "$c" \
            -H "$auth" "$url")"
        rps="$(jq -r '.summary.requestsPerSec' <<<"$probe")"
        n="$(jq -rn --argjson rps "$rps" --argjson max "$REQUESTS" --argjson secs "$MAX_SECONDS" \
            '[$max, ([200, ($rps * $secs | floor)] | max)] | min')"
        json="$(timeout $((MAX_SECONDS * 4 + 60)) oha --no-tui "${OHA_JSON[@]}" -n "$n" \
            -c "$c" -H "$auth" "$url")"
        jq -r --arg name "$label" --arg c "$c" '
            [$name, $c,
             ([.statusCodeDistribution[]] | add | tostring),
             (.latencyPercentiles.p50 * 1000 * 100 | round / 100 | tostring),
             (.latencyPercentiles.p99 * 1000 * 100 | round / 100 | tostring),
             (.summary.requestsPerSec * 10 | round / 10 | tostring),
             (.statusCodeDistribution | to_entries | map("\(.key)×\(.value)") | join(" "))]
            | join("|")' <<<"$json"
    else
        local out threads=$((c < 2 ? 1 : 2))
        out="$(timeout 120 wrk -t"$threads" -c "$c" -d"${WRK_SECONDS}s" --latency -H "$auth" "$url")"
        awk -v name="$label" -v c="$c" '
            function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0;
                             if (v ~ /s$/) return v * 1000; return v }
            $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) }
            /requests in/ { n = $1 } /^Requests\/sec/ { rps = $2 }
            /Non-2xx/ { bad = $NF }
            END { printf "%s|%s|%s|%.2f|%.2f|%.1f|%s\n", name, c, n, p50, p99, rps,
                  (bad ? "non-2xx×" bad : "2xx") }' <<<"$out"
    fi
}

# post_body FILE CONFIRM [CSRF]: the form body that chooses the users whose ids are in FILE
# (the bulk assignment's and unassignment's, and Add members'), with the admin's CSRF token
# unless given.
post_body() {
    printf 'csrf_token=%s' "${3:-$CSRF}"
    [ "$2" = yes ] && printf '&confirm=yes'
    awk '{ printf "&users=%s", $1 }' "$1"
}

# post BODYFILE PATH [COOKIE]: "HTTP-status milliseconds", as the admin unless COOKIE is given.
post() {
    curl -s -o /dev/null -w '%{http_code} %{time_total}\n' --max-time 900 \
        -H "Cookie: ${3:-$COOKIE}" -H 'Content-Type: application/x-www-form-urlencoded' \
        --data-binary "@$1" "http://127.0.0.1:$PORT$2" |
        awk '{ printf "%s %.0f\n", $1, $2 * 1000 }'
}

# status PATH [HEADER]: the HTTP status of a GET, with the admin's session unless HEADER.
status_of() {
    curl -s -o /dev/null -w '%{http_code}' -H "${2:-Cookie: $COOKIE}" "http://127.0.0.1:$PORT$1"
}

# csrf_of COOKIE PATH: the CSRF token a signed-in page shows.
csrf_of() {
    curl -fs -H "Cookie: $1" "http://127.0.0.1:$PORT$2" |
        sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -n1
}

# sign_in EMAIL JAR: signs in at /signin (the admin center's and the support console's) with
# the demo password; prints the session cookie ("allot_admin=…").
sign_in() {
    local csrf status
    csrf="$(curl -fs -c "$2" -b "$2" "http://127.0.0.1:$PORT/signin" |
        sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -n1)"
    [ -n "$csrf" ] || die "no csrf_token on /signin"
    status="$(curl -s -o /dev/null -w '%{http_code}' -c "$2" -b "$2" \
        --data-urlencode "email=$1" --data-urlencode "password=allot-demo" \
        --data-urlencode "csrf_token=$csrf" "http://127.0.0.1:$PORT/signin")"
    [ "$status" = 303 ] || die "sign-in of $1 answered $status, not 303"
    echo "allot_admin=$(awk '$6 == "allot_admin" { v = $7 } END { print v }' "$2")"
}

# next_link PATH: the page's "Next page" link (a later page by key), unescaped.
next_link() {
    curl -fs -H "Cookie: $COOKIE" "http://127.0.0.1:$PORT$1" |
        sed -n 's|.*href="\('"${1%%\?*}"'?[^"]*after_id=[^"]*\)">Next page<.*|\1|p' |
        head -n1 | sed 's/&amp;/\&/g'
}

# mem FIELD: the server's VmRSS or VmHWM (peak RSS) in MiB.
mem() {
    awk -v f="$1:" '$1 == f { printf "%.1f", $2 / 1024 }' "/proc/$SERVER_PID/status"
}

# sample_rss FILE: writes the server's largest VmRSS seen (kB), every 50 ms, until killed.
sample_rss() {
    local max=0 v
    while :; do
        v="$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$SERVER_PID/status" 2>/dev/null || echo 0)"
        if [ "${v:-0}" -gt "$max" ]; then
            max="$v"
            echo "$max" >"$1"
        fi
        sleep 0.05
    done
}

# assignments BACKEND TENANT PRODUCT: how many users of the tenant hold the product.
assignments() {
    sql "$1" "SELECT count(*) FROM license_assignments WHERE tenant_id = $2 AND product_id = $3"
}

# bulk_step BACKEND TENANT COOKIE CSRF PRODUCT IDS ROUTE CONFIRM: one form POST of the users in
# IDS to /licenses/PRODUCT/ROUTE (assign or unassign), with confirm=yes or without (the
# confirmation page that names them); prints "HTTP code|N ms|change of the tenant's
# assignments of the product", and a warning when the status or the change is not the one
# expected.
bulk_step() {
    local backend="$1" tenant="$2" cookie="$3" csrf="$4" product="$5" ids="$6" route="$7"
    local confirm="$8" size before after code ms want_code=200 want=0 body
    size="$(wc -l <"$ids")"
    body="$ids.$route.$confirm.body"
    post_body "$ids" "$confirm" "$csrf" >"$body"
    before="$(assignments "$backend" "$tenant" "$product")"
    read -r code ms < <(post "$body" "/licenses/$product/$route" "$cookie")
    after="$(assignments "$backend" "$tenant" "$product")"
    if [ "$confirm" = yes ]; then
        want_code=303
        want="$([ "$route" = assign ] && echo "$size" || echo "-$size")"
    fi
    echo "  POST /licenses/$product/$route, $size users, confirm=${confirm}: HTTP $code in" \
        "$ms ms; the tenant's assignments of the product $before → $after" >&2
    [ "$code" = "$want_code" ] || echo "  !! expected $want_code, got $code" >&2
    [ $((after - before)) = "$want" ] || echo "  !! expected a change of $want" >&2
    printf 'HTTP %s|%s ms|%+d\n' "$code" "$ms" $((after - before))
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# wait_job BACKEND GROUP: waits until the group's last background job has finished (or there
# is none: the licenses were given in the request); prints its state, "timeout" after 900 s.
wait_job() {
    local state started
    started="$(now_ms)"
    while :; do
        state="$(sql "$1" "SELECT state FROM group_jobs WHERE group_id = $2 ORDER BY id DESC LIMIT 1")"
        case "$state" in
        finished | "") echo "${state:-none}"; return ;;
        esac
        if [ $(($(now_ms) - started)) -gt 900000 ]; then
            echo timeout
            return
        fi
        sleep 0.02
    done
}

# ------------------------------------------------------------------ one backend
bench_backend() {
    local backend="$1" data="$WORK/$1" name
    name="$([ "$backend" = sqlite ] && echo SQLite || echo PostgreSQL)"
    mkdir -p "$data"
    export ALLOT_DATA_DIR="$data"
    case "$backend" in
    sqlite)
        export DATABASE_URL="$data/allot.db"
        ;;
    postgres)
        PG_DB="allot_bench_$$"
        psql -q "$PG_ADMIN_URL/postgres" -c "DROP DATABASE IF EXISTS \"$PG_DB\"" >/dev/null 2>&1
        psql -q "$PG_ADMIN_URL/postgres" -c "CREATE DATABASE \"$PG_DB\"" >/dev/null
        export DATABASE_URL="$PG_ADMIN_URL/$PG_DB"
        ;;
    *) die "unknown backend $backend" ;;
    esac

    log "$backend: loading $USERS users"
    local load_log="$data/load.log" group_args=()
    [ "$GROUP_MEMBERS" -gt 0 ] && group_args+=(--group-members "$GROUP_MEMBERS")
    [ "$GROUP_ADD" -gt 0 ] && [ "$GROUP_RUNS" -gt 0 ] &&
        group_args+=(--group-add "$GROUP_ADD" --group-runs "$GROUP_RUNS"
            --group-add-ids "$data/group_add_ids.txt")
    [ "$SMALL_USERS" -gt 0 ] &&
        group_args+=(--small-users "$SMALL_USERS" --small-bulk-ids "$data/small_bulk_ids.txt")
    cargo bench --bench load_tenant -- --users "$USERS" --bulk-ids "$data/bulk_ids.txt" \
        "${group_args[@]}" | tee "$load_log" >&2
    local bulk_product load_line bench_group group_product group_size
    bulk_product="$(sed -n 's/^BULK_PRODUCT=//p' "$load_log")"
    [ -n "$bulk_product" ] || die "the loader printed no BULK_PRODUCT"
    load_line="$(grep '^loaded into' "$load_log")"
    bench_group="$(sed -n 's/^GROUP=//p' "$load_log")"
    group_product="$(sed -n 's/^GROUP_PRODUCT=//p' "$load_log")"
    group_size="$(sed -n 's/^GROUP_ADD_SIZE=//p' "$load_log")"
    local contoso small_tenant small_product
    contoso="$(sql "$backend" "SELECT id FROM tenants WHERE domain = 'contoso.example'")"
    small_tenant="$(sed -n 's/^SMALL_TENANT=//p' "$load_log")"
    small_product="$(sed -n 's/^SMALL_BULK_PRODUCT=//p' "$load_log")"

    PORT="$(free_port)"
    log "$backend: serving on 127.0.0.1:$PORT"
    # The API's per-token limit would stop a load tool after 600 calls a minute.
    local server_env=(ALLOT_API_REQUESTS_PER_MINUTE=1000000)
    [ -n "$POOL_SIZE" ] && server_env+=(ALLOT_DB_POOL_SIZE="$POOL_SIZE")
    env "${server_env[@]}" "$BIN" serve --bind "127.0.0.1:$PORT" >"$data/server.log" 2>&1 &
    SERVER_PID=$!
    local i
    for i in $(seq 1 100); do
        curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$data/server.log" >&2; die "server died"; }
        sleep 0.2
    done
    curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null || die "server did not come up"

    # Sign in: the form's session cookie and CSRF token, then the POST. The token is rotated
    # at sign-in: read the current one from a signed-in page. Fabrikam's admin does the small
    # tenant's bulk work; Billing support (the support console, the same sign-in) reads the queue.
    local status
    COOKIE="$(sign_in admin@contoso.example "$data/cookies.txt")"
    CSRF="$(csrf_of "$COOKIE" /licenses)"
    [ -n "$CSRF" ] || die "signed in, but /licenses shows no csrf_token (not signed in?)"
    local support_cookie small_cookie="" small_csrf=""
    support_cookie="$(sign_in support@allot.example "$data/cookies-support.txt")"
    status="$(status_of /support "Cookie: $support_cookie")"
    [ "$status" = 200 ] || die "/support answered $status to Billing support"
    if [ -n "$small_tenant" ]; then
        small_cookie="$(sign_in admin@fabrikam.example "$data/cookies-fabrikam.txt")"
        small_csrf="$(csrf_of "$small_cookie" /licenses)"
        [ -n "$small_csrf" ] || die "Fabrikam's admin is signed in, but /licenses shows no csrf_token"
    fi
    status="$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $COOKIE" \
        "http://127.0.0.1:$PORT/users?q=$SEARCH")"
    [ "$status" = 200 ] || die "/users?q=$SEARCH answered $status"

    # An API token of Contoso with users.read and scim, stored as Settings > API access stores
    # one: only the SHA-256 of its secret.
    local secret secret_hash created expires
    secret="allot_$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
    secret_hash="$(printf '%s' "$secret" | sha256sum | cut -d' ' -f1)"
    case "$backend" in
    sqlite) created="datetime('now')" expires="datetime('now', '+30 days')" ;;
    postgres) created="(now() AT TIME ZONE 'UTC')" expires="(now() AT TIME ZONE 'UTC') + interval '30 days'" ;;
    esac
    sql "$backend" "INSERT INTO api_tokens (tenant_id, name, name_key, scopes, secret_hash,
        created_by, created_at, expires_at) SELECT id, 'Bench', 'bench', 'users.read scim',
        '$secret_hash', 'benches/run.sh', $created, $expires FROM tenants
        WHERE domain = 'contoso.example'" >/dev/null
    BEARER="Authorization: Bearer $secret"
    local probe_user api_paths
    probe_user="bench$(printf '%06d' $((USERS / 2)))@contoso.example"
    api_paths=('/api/v1/users?$top=100'
        "/scim/v2/Users?filter=userName%20eq%20%22${probe_user/@/%40}%22")
    for path in "${api_paths[@]}"; do
        status="$(curl -s -o "$data/api_probe.json" -w '%{http_code}' -H "$BEARER" \
            "http://127.0.0.1:$PORT$path")"
        [ "$status" = 200 ] || die "$path answered $status: $(head -c 300 "$data/api_probe.json")"
    done
    # Substring searches of Active users: a common word, a rare one (bench050000's "nch05000"
    # at 100,000 users: ten sign-in names), and one that every user matches.
    local search_paths=("/users?q=$SUBSTRING" "/users?q=${probe_user:2:8}" "/users?q=contoso")
    for path in "${search_paths[@]}"; do
        status="$(curl -s -o "$data/search_probe.html" -w '%{http_code}' -H "Cookie: $COOKIE" \
            "http://127.0.0.1:$PORT$path")"
        [ "$status" = 200 ] || die "$path answered $status"
        grep -q 'class="list-total"' "$data/search_probe.html" || die "$path shows no total"
    done
    [ "$(jq -r '.totalResults' "$data/api_probe.json")" = 1 ] ||
        die "the SCIM filter did not find $probe_user"

    # Bench group's page, and its next page of members as the page's Next page link has it.
    local group_paths=() group_page next_page
    if [ -n "$bench_group" ]; then
        group_page="/groups/$bench_group"
        next_page="$(curl -fs -H "Cookie: $COOKIE" "http://127.0.0.1:$PORT$group_page" |
            sed -n 's|.*href="\('"$group_page"'?[^"]*after_id=[^"]*\)">Next page<.*|\1|p' |
            head -n1 | sed 's/&amp;/\&/g')"
        [ -n "$next_page" ] || die "$group_page shows no Next page link"
        status="$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $COOKIE" \
            "http://127.0.0.1:$PORT$next_page")"
        [ "$status" = 200 ] || die "$next_page answered $status"
        group_paths=("$group_page" "$next_page")
    fi

    # More pages (issue 17): Active users' next page by key (its Next page link), its filters,
    # a product's page, a user's page (the probe user), Your products, the audit log's first
    # page; the support queue as Billing support.
    local users_next probe_id page_paths
    users_next="$(next_link /users)"
    [ -n "$users_next" ] || die "/users shows no Next page link"
    probe_id="$(sql "$backend" "SELECT id FROM users WHERE email = '$probe_user'")"
    page_paths=("$users_next" "/users?filter=licensed" "/users?filter=unlicensed"
        "/users?filter=blocked" "/licenses/$bulk_product" "/users/$probe_id" /billing/products
        /settings/audit-log)
    for path in "${page_paths[@]}"; do
        status="$(status_of "$path")"
        [ "$status" = 200 ] || die "$path answered $status"
    done

    # Warm up caches and the connection pool.
    local path
    for path in /licenses /users "/users?q=$SEARCH" "${search_paths[@]}" "${group_paths[@]}" \
        "${page_paths[@]}" /static/app.css; do
        for i in $(seq 1 10); do
            curl -s -o /dev/null -H "Cookie: $COOKIE" "http://127.0.0.1:$PORT$path"
        done
    done
    for i in $(seq 1 10); do
        curl -s -o /dev/null -H "Cookie: $support_cookie" "http://127.0.0.1:$PORT/support"
    done
    for path in "${api_paths[@]}"; do
        for i in $(seq 1 10); do
            curl -s -o /dev/null -H "$BEARER" "http://127.0.0.1:$PORT$path"
        done
    done

    wait_quiet
    local load_before
    load_before="$(load1)"
    log "$backend: measuring with $TOOL (load average $load_before)"
    local rows=() c first
    for c in 1 "$CONCURRENCY"; do
        first=${#rows[@]}
        rows+=("$(measure "GET /licenses (Licenses page)" /licenses "$c")")
        rows+=("$(measure "GET /users (Active users, first page)" /users "$c")")
        rows+=("$(measure "GET /users?after_… (Active users, its next page by key)" \
            "$users_next" "$c")")
        rows+=("$(measure "GET /users?filter=licensed (Licensed users)" "${page_paths[1]}" "$c")")
        rows+=("$(measure "GET /users?filter=unlicensed (Unlicensed users)" \
            "${page_paths[2]}" "$c")")
        rows+=("$(measure "GET /users?filter=blocked (Sign-in blocked)" "${page_paths[3]}" "$c")")
        rows+=("$(measure "GET /users?q=$SEARCH (search)" "/users?q=$SEARCH" "$c")")
        rows+=("$(measure "GET ${search_paths[0]} (a word inside names)" "${search_paths[0]}" "$c")")
        rows+=("$(measure "GET ${search_paths[1]} (a rare word inside sign-in names)" \
            "${search_paths[1]}" "$c")")
        rows+=("$(measure "GET ${search_paths[2]} (a word every user matches)" \
            "${search_paths[2]}" "$c")")
        if [ -n "$bench_group" ]; then
            rows+=("$(measure "GET $group_page (Bench group, $GROUP_MEMBERS members, first page)" \
                "$group_page" "$c")")
            rows+=("$(measure "GET $group_page?after_… (its next page by key)" "$next_page" "$c")")
        fi
        rows+=("$(measure "GET /licenses/$bulk_product (a product's page)" "${page_paths[4]}" "$c")")
        rows+=("$(measure "GET /users/$probe_id (a user's page)" "${page_paths[5]}" "$c")")
        rows+=("$(measure "GET /billing/products (Your products)" /billing/products "$c")")
        rows+=("$(measure "GET /settings/audit-log (Audit log, first page)" \
            /settings/audit-log "$c")")
        rows+=("$(measure "GET /support (the support queue, as Billing support)" /support "$c" \
            "Cookie: $support_cookie")")
        rows+=("$(measure 'GET /api/v1/users?$top=100 (API, first page)' "${api_paths[0]}" "$c" "$BEARER")")
        rows+=("$(measure 'GET /scim/v2/Users?filter=userName eq "…" (SCIM)' "${api_paths[1]}" "$c" "$BEARER")")
        rows+=("$(measure "GET /static/app.css (static baseline)" /static/app.css "$c")")
        printf '  %s\n' "${rows[@]:$first}" >&2
    done
    # Peak memory after the pages: the export below must not be what sets it.
    local mem_pages
    mem_pages="VmRSS $(mem VmRSS) MiB, VmHWM $(mem VmHWM) MiB"
    echo "  server memory after the GET measurements: $mem_pages" >&2

    # The export (issue 15): every user of Contoso as CSV, streamed, before the bulk work so
    # that the memory it takes is its own. VmRSS is sampled every 50 ms while it runs.
    local export_rows=() expected lines size rss_before rss_max sampler secs before after code ms
    wait_quiet
    expected="$(sql "$backend" "SELECT count(*) FROM users WHERE tenant_id = $contoso
        AND state <> 'deleted'")"
    rss_before="$(mem VmRSS)"
    rm -f "$data/rss_max"
    sample_rss "$data/rss_max" &
    sampler=$!
    log "$backend: GET /users/export.csv ($expected users)"
    read -r code secs size < <(curl -s -o "$data/export.csv" --max-time 900 \
        -w '%{http_code} %{time_total} %{size_download}\n' -H "Cookie: $COOKIE" \
        "http://127.0.0.1:$PORT/users/export.csv")
    sleep 0.1
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    rss_max="$(awk '{ printf "%.1f", $1 / 1024 }' "$data/rss_max" 2>/dev/null || echo "?")"
    lines="$(wc -l <"$data/export.csv")"
    ms="$(awk -v s="$secs" 'BEGIN { printf "%.0f", s * 1000 }')"
    size="$(awk -v b="$size" 'BEGIN { printf "%.1f", b / 1048576 }')"
    echo "  HTTP $code in $ms ms, $lines lines ($size MiB); VmRSS $rss_before MiB before," \
        "at most $rss_max MiB during it; VmHWM $(mem VmHWM) MiB" >&2
    [ "$code" = 200 ] || echo "  !! expected 200, got $code" >&2
    [ "$lines" = $((expected + 1)) ] ||
        echo "  !! expected $((expected + 1)) lines (the users and a header)" >&2
    export_rows+=("GET /users/export.csv ($expected users)|HTTP $code|$ms ms|$lines of $((expected + 1))|$size MiB|$rss_before MiB|$rss_max MiB|$(mem VmHWM) MiB")
    rm -f "$data/export.csv"

    # Bulk work (issue 17), in Contoso and in the small tenant (Fabrikam) side by side, so its
    # independence of the tenant's size shows: the confirmation page of assigning 10,000 users
    # who lack the product, the assignment (confirm=yes), the unassignment's confirmation page
    # and the unassignment of the same users. Each run takes fresh users while the tenant has
    # them (the small one's come round again: they lack the product after the unassignment).
    local tenants=(big) lacking size runs cells_big=() cells_small=() steps=() t ids chunks
    local n_ids small_size=0 b_tenant b_cookie b_csrf b_product
    [ -n "$small_tenant" ] && tenants+=(small)
    lacking="$(wc -l <"$data/bulk_ids.txt")"
    size=$((lacking < BULK_SIZE ? lacking : BULK_SIZE))
    if [ -n "$small_tenant" ]; then
        n_ids="$(wc -l <"$data/small_bulk_ids.txt")"
        small_size=$((n_ids < BULK_SIZE ? n_ids : BULK_SIZE))
    fi
    runs=$((lacking / size < BULK_RUNS ? lacking / size : BULK_RUNS))
    for i in $(seq 1 "$runs"); do
        steps+=("assign: confirmation page (run $i)" "assign, confirm=yes (run $i)"
            "unassign: confirmation page (run $i)" "unassign, confirm=yes (run $i)")
        local slowest=0 cell
        for t in "${tenants[@]}"; do
            wait_quiet
            if [ "$t" = big ]; then
                ids="$data/ids_$i.txt"
                sed -n "$(((i - 1) * size + 1)),$((i * size))p" "$data/bulk_ids.txt" >"$ids"
                b_tenant="$contoso" b_cookie="$COOKIE" b_csrf="$CSRF" b_product="$bulk_product"
            else
                chunks=$((n_ids / small_size))
                ids="$data/small_ids_$i.txt"
                sed -n "$((((i - 1) % chunks) * small_size + 1)),$((((i - 1) % chunks + 1) * small_size))p" \
                    "$data/small_bulk_ids.txt" >"$ids"
                b_tenant="$small_tenant" b_cookie="$small_cookie" b_csrf="$small_csrf"
                b_product="$small_product"
            fi
            log "$backend: bulk work $i in $([ "$t" = big ] && echo Contoso || echo Fabrikam)" \
                "($(wc -l <"$ids") users)"
            local step
            for step in "assign no" "assign yes" "unassign no" "unassign yes"; do
                # shellcheck disable=SC2086
                cell="$(bulk_step "$backend" "$b_tenant" "$b_cookie" "$b_csrf" "$b_product" \
                    "$ids" $step)"
                if [ "$t" = big ]; then cells_big+=("$cell"); else cells_small+=("$cell"); fi
                ms="$(cut -d'|' -f2 <<<"$cell" | tr -dc 0-9)"
                [ "$ms" -gt "$slowest" ] && slowest="$ms"
            done
        done
        # A run is not cheap when a step takes 30 s; one is then enough.
        [ "$slowest" -lt 30000 ] || break
    done

    # Add members: users who lack the product join a group that carries it, in one form POST;
    # a background job gives them the product. Timed from the POST until the job has finished.
    local group_rows=() group t0 done_ms state errors page_says gaction
    for i in $(seq 1 "$GROUP_RUNS"); do
        [ -n "$group_product" ] && [ "${group_size:-0}" -gt 0 ] || break
        group="$(sed -n "s/^LICENSED_GROUP_$i=//p" "$load_log")"
        [ -n "$group" ] || break
        gaction="/groups/$group/members"
        wait_quiet
        sed -n "$(((i - 1) * group_size + 1)),$((i * group_size))p" "$data/group_add_ids.txt" \
            >"$data/group_ids_$i.txt"
        post_body "$data/group_ids_$i.txt" no >"$data/group_add_$i.txt"
        before="$(assignments "$backend" "$contoso" "$group_product")"
        log "$backend: add members $i: POST $gaction of $group_size users who lack product $group_product"
        t0="$(now_ms)"
        read -r code ms < <(post "$data/group_add_$i.txt" "$gaction")
        state="$(wait_job "$backend" "$group")"
        done_ms=$(($(now_ms) - t0))
        after="$(assignments "$backend" "$contoso" "$group_product")"
        errors="$(sql "$backend" "SELECT count(*) FROM group_license_errors WHERE group_id = $group")"
        page_says="$(curl -fs -H "Cookie: $COOKIE" "http://127.0.0.1:$PORT/groups/$group" |
            grep -o -e 'All licenses assigned' -e 'Assigning: [0-9]* of [0-9]*' \
                -e 'Errors &amp; issues ([0-9]*)' | head -n1 | sed 's/&amp;/\&/' || true)"
        echo "  HTTP $code in $ms ms; job $state after $done_ms ms; assignments of the product" \
            "$before → $after; $errors errors; the page says: ${page_says:-nothing}" >&2
        [ "$code" = 303 ] || echo "  !! expected 303, got $code" >&2
        # "none": no job, as when the licenses were given in the request (small adds).
        case "$state" in finished | none) ;; *) echo "  !! the job did not finish: $state" >&2 ;; esac
        [ $((after - before)) = "$group_size" ] || echo "  !! expected $group_size new assignments" >&2
        [ "$errors" = 0 ] || echo "  !! expected no errors" >&2
        group_rows+=("POST $gaction, $group_size users (run $i)|HTTP $code|$ms ms|$done_ms ms ($state)|$((after - before))|$errors|${page_says:-–}")
    done

    # A SCIM sync: SCIM_SYNC new users, one POST each, CONCURRENCY at a time.
    local sync_rows=() made failed seconds
    if [ "$SCIM_SYNC" -gt 0 ]; then
        wait_quiet
        before="$(sql "$backend" "SELECT count(*) FROM users WHERE email LIKE 'scimsync%'")"
        log "$backend: SCIM sync of $SCIM_SYNC new users, $CONCURRENCY at a time"
        read -r made failed seconds < <(python3 "$ROOT/benches/scim_sync.py" \
            "http://127.0.0.1:$PORT/scim/v2" "$secret" "$SCIM_SYNC" "$CONCURRENCY" scimsync)
        after="$(sql "$backend" "SELECT count(*) FROM users WHERE email LIKE 'scimsync%'")"
        echo "  $made created, $failed failed in $seconds s; users $before → $after" >&2
        [ $((after - before)) = "$SCIM_SYNC" ] || echo "  !! expected $SCIM_SYNC new users" >&2
        sync_rows+=("POST /scim/v2/Users × $SCIM_SYNC, $CONCURRENCY at a time|$made|$failed|$seconds s|$((after - before))")
    fi

    local load_after mem_end
    load_after="$(load1)"
    mem_end="VmRSS $(mem VmRSS) MiB, VmHWM $(mem VmHWM) MiB"
    echo "  server memory at the end: $mem_end" >&2
    stop_server

    # Each page's requests per second as a share of the static file's, at the same client
    # count in the same run.
    local -A static_rps=()
    local row label n p50 p99 rps statuses share pool="the default (ALLOT_DB_POOL_SIZE unset)"
    [ -n "$POOL_SIZE" ] && pool="ALLOT_DB_POOL_SIZE=$POOL_SIZE"
    for row in "${rows[@]}"; do
        IFS='|' read -r label c _ _ _ rps _ <<<"$row"
        case "$label" in "GET /static/app.css"*) static_rps[$c]="$rps" ;; esac
    done
    {
        printf '### %s\n\n' "$name"
        printf '%s. Load average %s before measuring, %s after. Connection pool: %s.\n\n' \
            "$load_line" "$load_before" "$load_after" "$pool"
        printf '| endpoint | clients | requests | p50 ms | p99 ms | req/s | of static | statuses |\n'
        printf '|---|--:|--:|--:|--:|--:|--:|---|\n'
        for row in "${rows[@]}"; do
            IFS='|' read -r label c n p50 p99 rps statuses <<<"$row"
            share="$(awk -v r="$rps" -v s="${static_rps[$c]:-0}" \
                'BEGIN { if (s > 0) printf "%.1f%%", 100 * r / s; else printf "–" }')"
            printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' \
                "$label" "$c" "$n" "$p50" "$p99" "$rps" "$share" "$statuses"
        done
        printf '\nServer memory after the GET measurements: %s; at the end: %s.\n' \
            "$mem_pages" "$mem_end"
        printf '\n| export | status | wall time | lines | size | VmRSS before | max VmRSS during | VmHWM after |\n'
        printf '|---|---|--:|--:|--:|--:|--:|--:|\n'
        for row in "${export_rows[@]}"; do printf '| %s |\n' "${row//|/ | }"; done
        printf '\n| bulk work | Contoso (%s users), %s chosen | wall time | assignments |' \
            "$USERS" "$size"
        [ -n "$small_tenant" ] &&
            printf ' Fabrikam (%s users), %s chosen | wall time | assignments |' \
                "$SMALL_USERS" "$small_size"
        printf '\n|---|---|--:|--:|'
        [ -n "$small_tenant" ] && printf -- '---|--:|--:|'
        printf '\n'
        for i in "${!cells_big[@]}"; do
            printf '| %s | %s |' "${steps[$i]}" "${cells_big[$i]//|/ | }"
            [ -n "$small_tenant" ] && printf ' %s |' "${cells_small[$i]//|/ | }"
            printf '\n'
        done
        if [ ${#group_rows[@]} -gt 0 ]; then
            printf '\n| add members to a group carrying a product | status | POST | until the job finished | new assignments | errors | the group page says |\n'
            printf '|---|---|--:|--:|--:|--:|---|\n'
            for row in "${group_rows[@]}"; do printf '| %s |\n' "${row//|/ | }"; done
        fi
        if [ ${#sync_rows[@]} -gt 0 ]; then
            printf '\n| SCIM sync | 201 | failed | wall time | new users |\n|---|--:|--:|--:|--:|\n'
            for row in "${sync_rows[@]}"; do printf '| %s |\n' "${row//|/ | }"; done
        fi
        printf '\n'
    } >>"$RESULTS"
    drop_pg
}

{
    local_changes=""
    if commit="$(git rev-parse --short HEAD 2>/dev/null)"; then
        git diff --quiet HEAD -- src templates migrations static 2>/dev/null ||
            local_changes=" (with uncommitted changes to the app)"
    else
        commit="${ALLOT_BENCH_COMMIT:-unknown}"
    fi
    printf '## %s users, %s\n\n' "$USERS" "$(date -u +%Y-%m-%dT%H:%MZ)"
    if [ "$TOOL" = oha ]; then
        how="$REQUESTS requests per measurement at most (fewer when $MAX_SECONDS s would not do), after a probe of 50"
    else
        how="each measurement runs $WRK_SECONDS s"
    fi
    printf 'Commit %s%s; %s cores, %s GiB RAM; %s; %s.\n\n' \
        "$commit" "$local_changes" "$(nproc)" \
        "$(awk '/MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)" \
        "$($TOOL --version 2>/dev/null | head -n1 | cut -d' ' -f1-2)" "$how"
} >>"$RESULTS"
for backend in $BACKENDS; do
    bench_backend "$backend"
done

log "results"
cat "$RESULTS"
if [ -n "$OUT" ]; then
    cp "$RESULTS" "$OUT"
fi
