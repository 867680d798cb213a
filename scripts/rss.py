#!/usr/bin/env python3
"""Idle RSS of `guardian serve` after connection bursts (issue 10, "idle RSS <= 16 MiB").

Starts a loopback origin (raw sockets, one thread per connection, answers every request with a
BODY-byte response), starts `guardian serve` on a temporary home with a loopback listener, and
reads VmRSS from /proc/PID/status:
  - at start (after one warm-up exchange);
  - after each burst of TOTAL connections, CONCURRENCY at a time (each sends one absolute-form
    GET through the proxy, reads the whole response, closes), once the daemon's counters over
    HOME/control.sock say no client connection is open;
  - while HELD connections are open at once (each has finished one exchange), then again after
    they all closed;
  - while TUNNELS blind CONNECT tunnels to the origin are open at once (each has carried one
    exchange), then again after they all closed.
Nothing sleeps to synchronise: every wait polls the control socket with a deadline.

Usage: scripts/rss.py [--bursts 20,100] [--total 2000] [--held 2000] [--tunnels 0] [--body 16384]
                      [--rounds 1]
                      [--settle SECONDS: wait this long after the close before reading VmRSS]
  GUARDIAN=path/to/guardian (default: $CARGO_TARGET_DIR/release/guardian, else target/release)
Prints one line per figure, and `--json` prints them as one JSON object.
"""

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time

LIMIT = 60.0


def origin(body_len):
    """A loopback origin on its own thread; returns its port."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(4096)
    body = b"x" * body_len
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % body_len

    def conn(c):
        with c:
            buf = b""
            while True:
                while b"\r\n\r\n" not in buf:
                    chunk = c.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                _, buf = buf.split(b"\r\n\r\n", 1)
                c.sendall(head + body)

    def accept():
        while True:
            c, _ = srv.accept()
            threading.Thread(target=conn, args=(c,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return srv.getsockname()[1]


def counters(home):
    try:
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(2)
        s.connect(os.path.join(home, "control.sock"))
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        return json.loads(data)
    except (OSError, ValueError):
        return None


def wait(home, what, cond):
    deadline = time.monotonic() + LIMIT
    while True:
        c = counters(home)
        if c is not None and cond(c):
            return c
        if time.monotonic() > deadline:
            sys.exit(f"timed out waiting for {what}: {c}")
        time.sleep(0.01)


def status(pid):
    """VmRSS and its anonymous part (MiB), and the thread count, from /proc/PID/status."""
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.split()[0] if value.split() else ""
    return {
        "rss": round(int(fields["VmRSS"]) / 1024, 1),
        "anon": round(int(fields["RssAnon"]) / 1024, 1),
        "threads": int(fields["Threads"]),
    }


def exchange(proxy, oport, body_len, keep=None):
    """One GET through the proxy, whole response read; the socket is closed unless `keep`."""
    s = socket.create_connection(proxy, timeout=LIMIT)
    s.sendall(
        b"GET http://127.0.0.1:%d/x HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % (oport, oport)
    )
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise RuntimeError("proxy closed early")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(head[:80])
    while len(rest) < body_len:
        chunk = s.recv(65536)
        if not chunk:
            raise RuntimeError("short body")
        rest += chunk
    if keep is not None:
        keep.append(s)
    else:
        s.close()


def burst(proxy, oport, body_len, total, concurrency):
    """`total` exchanges on new connections, `concurrency` at a time."""
    left = [total]
    lock = threading.Lock()
    errors = []

    def worker():
        while True:
            with lock:
                if left[0] == 0:
                    return
                left[0] -= 1
            try:
                exchange(proxy, oport, body_len)
            except Exception as e:  # noqa: BLE001 -- reported below
                errors.append(e)
                return

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        sys.exit(f"burst failed: {errors[0]!r}")


def tunnel(proxy, oport, body_len, keep):
    """A CONNECT tunnel to the origin, one exchange through it; the socket is kept open."""
    s = socket.create_connection(proxy, timeout=LIMIT)
    s.sendall(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % (oport, oport))
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            raise RuntimeError("proxy closed the CONNECT")
        buf += chunk
    if not buf.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(buf[:80])
    s.sendall(b"GET /x HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % oport)
    got = len(buf.split(b"\r\n\r\n", 1)[1])
    want = len(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % body_len)
    want += body_len
    while got < want:
        chunk = s.recv(65536)
        if not chunk:
            raise RuntimeError("short tunnel response")
        got += len(chunk)
    keep.append(s)


def held(proxy, oport, body_len, n, one=None):
    """`n` connections open at once, each after one finished exchange; returns the sockets."""
    keep = []
    for start in range(0, n, 100):
        threads = [
            threading.Thread(target=one or exchange, args=(proxy, oport, body_len, keep))
            for _ in range(min(100, n - start))
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    if len(keep) != n:
        sys.exit(f"held {len(keep)} of {n}")
    return keep


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bursts", default="20,100")
    ap.add_argument("--total", type=int, default=2000)
    ap.add_argument("--held", type=int, default=2000)
    ap.add_argument("--tunnels", type=int, default=0)
    ap.add_argument("--body", type=int, default=16384)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--settle", type=float, default=0.0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))

    here = os.path.dirname(os.path.abspath(__file__))
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(here, "..", "target"))
    binary = os.environ.get("GUARDIAN", os.path.join(target, "release", "guardian"))
    oport = origin(args.body)
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        home = os.path.join(tmp, "home")
        cfg = os.path.join(tmp, "config.json")
        with open(cfg, "w") as f:
            json.dump({"listen": "127.0.0.1:0", "dedup_window": "0s"}, f)
        proc = subprocess.Popen(
            [binary, "serve", "--home", home, "--config", cfg],
            stdout=subprocess.PIPE,
            stderr=open(os.path.join(tmp, "serve.stderr"), "w"),
            text=True,
        )
        try:
            line = proc.stdout.readline()
            host, port = line.split()[3].rsplit(":", 1)
            proxy = (host, int(port))

            def settled(c):
                return c["active_connections"] == 0

            def figure(name):
                wait(home, "every connection closed", settled)
                # For an allocator that returns memory after a delay: read after --settle s.
                deadline = time.monotonic() + args.settle
                while time.monotonic() < deadline:
                    time.sleep(0.25)
                report(name)

            def report(name):
                figures[name] = status(proc.pid)
                if not args.json:
                    f = figures[name]
                    print(
                        f"{name}: VmRSS {f['rss']} MiB (anonymous {f['anon']} MiB), "
                        f"{f['threads']} threads",
                        flush=True,
                    )

            exchange(proxy, oport, args.body)
            figure("start")
            for r in range(args.rounds):
                tag = f" (round {r + 1})" if r else ""
                for c in [int(x) for x in args.bursts.split(",") if x]:
                    burst(proxy, oport, args.body, args.total, c)
                    figure(f"after {args.total} x{c}{tag}")
                if args.held:
                    keep = held(proxy, oport, args.body, args.held)
                    wait(home, "the held connections", lambda c: c["active_connections"] >= args.held)
                    report(f"{args.held} held open{tag}")
                    for s in keep:
                        s.close()
                    figure(f"after {args.held} held{tag}")
                if args.tunnels:
                    keep = held(proxy, oport, args.body, args.tunnels, one=tunnel)
                    wait(home, "the tunnels", lambda c: c["active_connections"] >= args.tunnels)
                    report(f"{args.tunnels} tunnels open{tag}")
                    for s in keep:
                        s.close()
                    figure(f"after {args.tunnels} tunnels{tag}")
        finally:
            proc.terminate()
            proc.wait(timeout=LIMIT)
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
