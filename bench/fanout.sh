#!/usr/bin/env bash
# Fan-out: get-pending over 1,000 and 10,000 things from one process (wall
# time, things/s, peak RSS), beside a bash loop of mosquitto_rr over 100 of
# them (the way one would do it without iotjobs), against the same emulator
# in the same run. Prints a table with the time per thing and the ratio.
#
#   bench/fanout.sh      (needs Go, mosquitto-clients and GNU time)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v mosquitto_rr >/dev/null || { echo "mosquitto_rr not found: apt-get install mosquitto-clients" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time not found: apt-get install time" >&2; exit 1; }

work=$(mktemp -d)
trap 'kill "${emu_pid:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$work/iotjobs" ./cmd/iotjobs
bin=$work/iotjobs
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
mqtt_port=$(free_port)
"$bin" emulator --data :memory: --mqtt "127.0.0.1:$mqtt_port" --http "" >"$work/emu.out" 2>"$work/emu.err" &
emu_pid=$!
for _ in $(seq 100); do grep -q '^mqtt' "$work/emu.out" 2>/dev/null && break; sleep 0.05; done
seq -f 'thing-%05g' 0 9999 >"$work/10000.txt"
head -1000 "$work/10000.txt" >"$work/1000.txt"

fanout() { # things file -> "wall_s rss_kb"
  /usr/bin/time -f '%e %M' -o "$work/time" "$bin" get-pending --things "$1" -e "mqtt://127.0.0.1:$mqtt_port" >"$work/lines"
  [ "$(wc -l <"$work/lines")" -eq "$(wc -l <"$1")" ] || { echo "fan-out printed $(wc -l <"$work/lines") lines for $(wc -l <"$1") things" >&2; exit 1; }
  cat "$work/time"
}
read -r wall1k rss1k <<<"$(fanout "$work/1000.txt")"
read -r wall10k rss10k <<<"$(fanout "$work/10000.txt")"
t0=${EPOCHREALTIME/./}
for i in $(seq -f '%05g' 0 99); do
  mosquitto_rr -h 127.0.0.1 -p "$mqtt_port" -q 1 -W 10 -t "\$aws/things/thing-$i/jobs/get" \
    -e "\$aws/things/thing-$i/jobs/get/accepted" -m '{}' >/dev/null
done
t1=${EPOCHREALTIME/./}
rr_ms=$(awk -v d=$((t1 - t0)) 'BEGIN{printf "%.3f", d/100/1000}')
per() { awk -v w="$1" -v n="$2" 'BEGIN{printf "%.3f", w*1000/n}'; }
printf '\nget-pending over many things, emulator on loopback, default flags (one connection, 64 in flight, unpaced)\n\n'
printf '| %-30s | %8s | %9s | %12s | %9s | %14s |\n' run "wall s" "things/s" "ms per thing" "peak RSS" "vs rr per thing"
printf '|%s|%s|%s|%s|%s|%s|\n' -------------------------------- ---------- ----------- -------------- ----------- -----------------
for row in "iotjobs fan-out, 1,000 things:$wall1k:1000:$rss1k" "iotjobs fan-out, 10,000 things:$wall10k:10000:$rss10k"; do
  IFS=: read -r name wall n rss <<<"$row"
  p=$(per "$wall" "$n")
  printf '| %-30s | %8s | %9.0f | %12s | %6.1f MiB | %13.1fx |\n' "$name" "$wall" "$(awk -v w="$wall" -v n="$n" 'BEGIN{print n/w}')" "$p" "$(awk -v r="$rss" 'BEGIN{print r/1024}')" "$(awk -v a="$rr_ms" -v b="$p" 'BEGIN{print a/b}')"
done
printf '| %-30s | %8s | %9.0f | %12s | %9s | %14s |\n' "mosquitto_rr loop, 100 things" "$(awk -v m="$rr_ms" 'BEGIN{printf "%.2f", m*100/1000}')" "$(awk -v m="$rr_ms" 'BEGIN{print 1000/m}')" "$rr_ms" "-" "1.0x"
