#!/usr/bin/env bash
# The proxy's three throughput ratios of issue 10's "Done when" line, side by side in one run
# (README, Performance "Proxy" and "HTTPS"):
#   - 256 MiB plain download through Guardian / direct from nginx (target >= 0.55);
#   - wrk keep-alive small requests through Guardian / direct nginx (target >= 0.5);
#   - 256 MiB download through Guardian's TLS interception / direct TLS (target >= 0.6).
# nginx serves a temporary directory on loopback (plain and TLS, a throw-away CA made with
# openssl); Guardian runs `serve` on a temporary home with https_inspection on, verifying
# nginx against that CA (upstream_ca_file). Downloads are curl (-o /dev/null, speed_download),
# ROUNDS rounds with direct and proxy interleaved, medians reported; wrk runs are interleaved the
# same way. The load average is printed with the figures (the machine is shared).
#
# Needs nginx, wrk, curl, openssl (Debian: apt-get install -y nginx wrk).
# Usage: scripts/throughput.sh [ROUNDS (default 5)] [WRK_SECONDS (default 5)]
#   GUARDIAN=path/to/guardian (default: $CARGO_TARGET_DIR/release/guardian, else target/release)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-5}"
wrk_secs="${2:-5}"
bin="${GUARDIAN:-${CARGO_TARGET_DIR:-target}/release/guardian}"
bin="$(realpath "$bin")"
tmp="$(mktemp -d)"
nginx_pid=""
guardian_pid=""
cleanup() {
    [ -n "$guardian_pid" ] && kill "$guardian_pid" 2>/dev/null && wait "$guardian_pid" 2>/dev/null
    [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
mib() { awk '{printf "%.0f\n", $1/1048576}'; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

# Content: a 256 MiB file and a small response for wrk.
mkdir -p "$tmp/www" "$tmp/nginx"
chmod 755 "$tmp" "$tmp/www" # nginx started as root serves as an unprivileged user
head -c $((256 * 1024 * 1024)) /dev/urandom >"$tmp/www/big"
printf 'ok\n' >"$tmp/www/small"

# A throw-away CA and a leaf for 127.0.0.1 / localhost.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=throughput test CA" -keyout "$tmp/ca.key" -out "$tmp/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$tmp/leaf.key" -out "$tmp/leaf.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$tmp/ext"
openssl x509 -req -in "$tmp/leaf.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -CAcreateserial \
    -days 2 -extfile "$tmp/ext" -out "$tmp/leaf.pem" 2>/dev/null

plain="$(free_port)"
tls="$(free_port)"
cat >"$tmp/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    keepalive_requests 1000000;
    client_body_temp_path $tmp/nginx;
    proxy_temp_path $tmp/nginx;
    fastcgi_temp_path $tmp/nginx;
    uwsgi_temp_path $tmp/nginx;
    scgi_temp_path $tmp/nginx;
    server {
        listen 127.0.0.1:$plain;
        listen 127.0.0.1:$tls ssl;
        ssl_certificate $tmp/leaf.pem;
        ssl_certificate_key $tmp/leaf.key;
        root $tmp/www;
    }
}
EOF
nginx -c "$tmp/nginx/nginx.conf" -p "$tmp/nginx" &
nginx_pid=$!

mkdir -p "$tmp/home"
printf '{"listen":"127.0.0.1:0","https_inspection":true,"upstream_ca_file":"%s"}\n' \
    "$tmp/ca.pem" >"$tmp/config.json"
"$bin" serve --home "$tmp/home/g" --config "$tmp/config.json" >"$tmp/serve.out" 2>"$tmp/serve.err" &
guardian_pid=$!
for _ in $(seq 1 500); do
    grep -q . "$tmp/serve.out" 2>/dev/null && break
    sleep 0.02
done
proxy="$(awk '{print $4; exit}' "$tmp/serve.out")"
[ -n "$proxy" ] || { cat "$tmp/serve.err"; exit 1; }
for _ in $(seq 1 500); do
    curl -s -o /dev/null "http://127.0.0.1:$plain/small" && break
    sleep 0.02
done
gca="$tmp/home/g/ca/ca.pem"

dl() { curl -sf -o /dev/null -w '%{speed_download}\n' "$@"; }
: >"$tmp/plain_direct"; : >"$tmp/plain_proxy"; : >"$tmp/tls_direct"; : >"$tmp/tls_proxy"
: >"$tmp/wrk_direct"; : >"$tmp/wrk_proxy"
# The absolute-form target for the proxy run, set once: wrk then builds the request once, as it
# does for the direct run (a Lua `request` function is called per request and cost the
# proxy run ~15% of its rate on this 2-core machine, wrk's CPU taken from Guardian's).
cat >"$tmp/abs.lua" <<EOF
wrk.path = "http://127.0.0.1:$plain/small"
EOF
# wrk counts error statuses as requests: a run with any is refused.
wrk_rps() {
    wrk -t2 -c32 -d"${wrk_secs}s" "$@" >"$tmp/wrk.out"
    if grep -q "Non-2xx" "$tmp/wrk.out"; then cat "$tmp/wrk.out" >&2; exit 1; fi
    awk '/Requests\/sec/ {print $2}' "$tmp/wrk.out"
}

echo "load average before: $(load)"
for r in $(seq 1 "$rounds"); do
    dl "http://127.0.0.1:$plain/big" >>"$tmp/plain_direct"
    dl -x "http://$proxy" "http://127.0.0.1:$plain/big" >>"$tmp/plain_proxy"
    dl --cacert "$tmp/ca.pem" "https://localhost:$tls/big" >>"$tmp/tls_direct"
    dl -x "http://$proxy" --cacert "$gca" "https://localhost:$tls/big" >>"$tmp/tls_proxy"
    wrk_rps "http://127.0.0.1:$plain/small" >>"$tmp/wrk_direct"
    wrk_rps -s "$tmp/abs.lua" "http://$proxy/" >>"$tmp/wrk_proxy"
    echo "round $r done, load average $(load)"
done

pd="$(median <"$tmp/plain_direct")"; pp="$(median <"$tmp/plain_proxy")"
td="$(median <"$tmp/tls_direct")"; tp="$(median <"$tmp/tls_proxy")"
wd="$(median <"$tmp/wrk_direct")"; wp="$(median <"$tmp/wrk_proxy")"
echo "256 MiB plain download: direct $(echo "$pd" | mib) MiB/s, Guardian $(echo "$pp" | mib) MiB/s, ratio $(awk -v a="$pp" -v b="$pd" 'BEGIN {printf "%.2f", a/b}') (target >= 0.55)"
echo "wrk keep-alive (32 connections, ${wrk_secs} s): direct $wd req/s, Guardian $wp req/s, ratio $(awk -v a="$wp" -v b="$wd" 'BEGIN {printf "%.2f", a/b}') (target >= 0.5)"
echo "256 MiB TLS download: direct $(echo "$td" | mib) MiB/s, intercepted $(echo "$tp" | mib) MiB/s, ratio $(awk -v a="$tp" -v b="$td" 'BEGIN {printf "%.2f", a/b}') (target >= 0.6)"
echo "load average after: $(load)"
echo "per round (bytes/s or req/s): plain direct $(paste -sd' ' "$tmp/plain_direct"); plain proxy $(paste -sd' ' "$tmp/plain_proxy"); tls direct $(paste -sd' ' "$tmp/tls_direct"); tls proxy $(paste -sd' ' "$tmp/tls_proxy"); wrk direct $(paste -sd' ' "$tmp/wrk_direct"); wrk proxy $(paste -sd' ' "$tmp/wrk_proxy")"
