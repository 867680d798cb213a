#!/usr/bin/env bash
# Noise on real text (issue 12, part 4): findings per MB, per pattern and direction, on text
# nobody on the team wrote -- the crate sources of the local cargo registry.
#
# Every text file (valid UTF-8, below 4 MiB; cut into pieces of at most 512 KiB so that
# max_scan_bytes never truncates) is sent through the real core twice, with `guardian scan`
# on generated raw HTTP/1.1 streams:
#   outbound: as a JSON chat body (source pasted to a model), POST to a model API;
#   inbound:  as a text/plain response.
# The corpus and the streams live in a temporary directory that is removed afterwards; nothing
# of it enters the repository.
#
# Usage: scripts/noise.sh [--show] [--limit-mb N] [REGISTRY_SRC_DIR]
#   GUARDIAN=path/to/guardian (default: target/release/guardian under $CARGO_TARGET_DIR or ./target)
#   --show prints every finding (pattern, snippet) as well as the table.
set -euo pipefail
cd "$(dirname "$0")/.."
show=0
limit_mb=0
src=""
while [ $# -gt 0 ]; do
    case "$1" in
        --show) show=1 ;;
        --limit-mb) shift; limit_mb="$1" ;;
        *) src="$1" ;;
    esac
    shift
done
src="${src:-${CARGO_HOME:-$HOME/.cargo}/registry/src}"
bin="${GUARDIAN:-${CARGO_TARGET_DIR:-target}/release/guardian}"
if [ ! -x "$bin" ]; then
    echo "noise.sh: no guardian binary at $bin (cargo build --release, or set GUARDIAN=)" >&2
    exit 2
fi
if [ ! -d "$src" ]; then
    echo "noise.sh: no cargo registry sources at $src (pass a directory)" >&2
    exit 2
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
printf '{"dedup_window":"0s","platform":"generic"}\n' >"$work/config.json"

python3 - "$src" "$work" "$limit_mb" <<'PY'
import json, os, sys
src, work, limit_mb = sys.argv[1], sys.argv[2], int(sys.argv[3])
PIECE = 512 * 1024
total = 0
files = 0
out = {d: open(os.path.join(work, d + ".http"), "wb") for d in ("outbound", "inbound")}
for root, dirs, names in os.walk(src):
    dirs.sort()
    for name in sorted(names):
        path = os.path.join(root, name)
        try:
            if os.path.islink(path) or os.path.getsize(path) > 4 << 20:
                continue
            data = open(path, "rb").read()
            text = data.decode("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if not data or b"\0" in data:
            continue
        files += 1
        for at in range(0, len(data), PIECE):
            piece = data[at:at + PIECE]
            # Cut on a character boundary so the JSON body is valid.
            content = piece.decode("utf-8", "ignore")
            body = json.dumps({"model": "m", "messages": [{"role": "user", "content": content}]}).encode()
            out["outbound"].write(
                b"POST http://api.model.example/v1/chat/completions HTTP/1.1\r\nHost: api.model.example\r\n"
                b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            out["inbound"].write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n\r\n" % len(piece) + piece)
            total += len(piece)
        if limit_mb and total >= limit_mb << 20:
            break
    if limit_mb and total >= limit_mb << 20:
        break
for f in out.values():
    f.close()
with open(os.path.join(work, "size"), "w") as f:
    f.write("%d %d\n" % (total, files))
PY

read -r bytes files <"$work/size"
for dir in outbound inbound; do
    # The inbound stream holds responses only: scan needs the matching requests to frame them,
    # so the direction is given explicitly and each response stands alone.
    "$bin" scan --home "$work/home" --config "$work/config.json" --direction "$dir" --json \
        "$work/$dir.http" >"$work/$dir.jsonl"
done
python3 - "$work" "$bytes" "$files" "$show" <<'PY'
import collections, json, os, sys
work, size, files, show = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
mb = size / 1e6
print(f"corpus: {files} files, {mb:.1f} MB of text, each sent once per direction")
for d in ("outbound", "inbound"):
    rows = [json.loads(l) for l in open(os.path.join(work, d + ".jsonl")) if l.strip()]
    per = collections.Counter(r["pattern"] for r in rows)
    print(f"{d}: {len(rows)} findings, {len(rows) / mb:.3f} per MB")
    for p, n in per.most_common():
        print(f"  {p:32} {n:6} {n / mb:.3f}/MB")
    if show:
        for r in rows:
            print(f"    {r['pattern']}: {r['snippet']}")
PY
