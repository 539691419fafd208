#!/bin/sh
# keepalived's health checker on the benchmark keel-check runs (benches/benches/check.rs):
# N real servers with TCP_CHECK every second (delay_loop 1) against 8 listeners on
# 127.0.0.1, in a fresh network namespace. Prints the CPU time of keepalived's checker
# process per second of wall time, and the checks per second the listeners saw.
#
# keepalived's checker exits at start when the kernel has no IPVS ("IPVS: Can't
# initialize ipvs"), so run this where IPVS exists, e.g. in keel's VM:
#   cargo xtask vm run -t 600 -- sh crates/keel-check/bench/keepalived-checker-cpu.sh
# Optional: KEEL_CHECK_BENCH=<path of the built `check` bench binary> also runs keel's
# checker in the same namespace with the same N and SECS, for a same-run comparison.
#
# Environment: N (default 5000), SECS (measured seconds, default 10), SETTLE (default 5).
# Only 127.0.0.1 is contacted: the real-server addresses (192.0.2.0/24, 198.51.100.0/24,
# 203.0.113.0/24) are only names in IPVS; every TCP_CHECK has connect_ip 127.0.0.1.
set -eu
N=${N:-5000}
SECS=${SECS:-10}
SETTLE=${SETTLE:-5}
NS=keel-kabench-$$
DIR=$(mktemp -d /tmp/keel-kabench.XXXXXX)
KA_PID=""
LS_PID=""

cleanup() {
    [ -n "$KA_PID" ] && kill "$KA_PID" 2>/dev/null || true
    [ -n "$LS_PID" ] && kill "$LS_PID" 2>/dev/null || true
    sleep 1
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$DIR"
}
trap cleanup EXIT INT TERM

command -v keepalived >/dev/null || { echo "keepalived is not installed" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 is needed for the listeners" >&2; exit 2; }

# --- configuration: one virtual server, N real servers (unique address:port pairs)
python3 - "$N" > "$DIR/keepalived.conf" <<'EOF'
import sys
n = int(sys.argv[1])
nets = ["192.0.2", "198.51.100", "203.0.113"]
print("global_defs {\n  router_id keel_kabench\n}")
print("virtual_server 192.0.2.250 80 {\n  delay_loop 1\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP")
i = 0
for net in nets:
    for host in range(1, 250):
        for port in range(1, 11):
            if i >= n:
                break
            print(f"  real_server {net}.{host} {port} {{\n    weight 1\n"
                  f"    TCP_CHECK {{\n      connect_ip 127.0.0.1\n"
                  f"      connect_port {20001 + i % 8}\n      connect_timeout 3\n    }}\n  }}")
            i += 1
print("}")
if i < n:
    sys.exit(f"only {i} unique real servers available")
EOF

ip netns add "$NS"
ip -n "$NS" link set lo up

# --- listeners: accept and close; count accepts per second into $DIR/accepts
ip netns exec "$NS" python3 - "$DIR/accepts" <<'EOF' &
import socket, sys, threading, time
count = [0]
lock = threading.Lock()
def serve(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(4096)
    while True:
        c, _ = s.accept()
        c.close()
        with lock:
            count[0] += 1
for p in range(20001, 20009):
    threading.Thread(target=serve, args=(p,), daemon=True).start()
while True:
    time.sleep(0.5)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(f"{count[0]} {time.monotonic()}\n")
    import os
    os.replace(sys.argv[1] + ".tmp", sys.argv[1])
EOF
LS_PID=$!
i=0
while [ ! -s "$DIR/accepts" ]; do
    i=$((i + 1))
    [ "$i" -gt 100 ] && { echo "listeners did not start" >&2; exit 1; }
    sleep 0.2
done

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

# --- keepalived, checker only
ip netns exec "$NS" keepalived -n -C -l -f "$DIR/keepalived.conf" \
    -p "$DIR/ka.pid" -c "$DIR/kc.pid" > "$DIR/ka.log" 2>&1 &
KA_PID=$!
i=0
while [ ! -s "$DIR/kc.pid" ] && [ "$i" -lt 150 ]; do
    i=$((i + 1))
    sleep 0.2
done
sleep "$SETTLE"
if [ ! -s "$DIR/kc.pid" ] || ! kill -0 "$(cat "$DIR/kc.pid")" 2>/dev/null; then
    echo "keepalived's checker is not running:" >&2
    tail -5 "$DIR/ka.log" >&2
    exit 1
fi
CK=$(cat "$DIR/kc.pid")
t0=$(ticks "$CK"); set -- $(cat "$DIR/accepts"); a0=$1; m0=$2
sleep "$SECS"
t1=$(ticks "$CK"); set -- $(cat "$DIR/accepts"); a1=$1; m1=$2
up=$(grep -c 'success' "$DIR/ka.log" || true)
down=$(grep -c 'failed' "$DIR/ka.log" || true)
echo "keepalived $(keepalived --version 2>&1 | head -1 | awk '{print $2}') checker, $N real servers, TCP_CHECK delay_loop 1"
echo "  success lines: $up, failure lines: $down"
awk -v a0="$a0" -v a1="$a1" -v m0="$m0" -v m1="$m1" -v t0="$t0" -v t1="$t1" -v hz="$hz" -v s="$SECS" 'BEGIN {
    printf "  checks completed: %.0f/s over %.1f s (listener accepts)\n", (a1 - a0) / (m1 - m0), m1 - m0
    printf "  checker process CPU: %.1f ms per wall second (%.1f%% of one core)\n", (t1 - t0) * 1000 / hz / s, (t1 - t0) * 100 / hz / s
}'
kill "$KA_PID"; wait "$KA_PID" 2>/dev/null || true; KA_PID=""

# --- keel-check in the same namespace, same N
if [ -n "${KEEL_CHECK_BENCH:-}" ]; then
    echo
    KEEL_BENCH_CHECKS=$N KEEL_BENCH_SECS=$SECS ip netns exec "$NS" "$KEEL_CHECK_BENCH"
fi
