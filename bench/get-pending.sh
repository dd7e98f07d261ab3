#!/usr/bin/env bash
# Wall time of one get-pending exchange, iotjobs against mosquitto_rr doing the
# same exchange (connect, subscribe to .../get/accepted, publish, wait for the
# reply, disconnect) against the same emulator, interleaved so that both see
# the same machine load. Prints a table of medians and the ratio, and the
# start-up time and page faults of the iotjobs process alone, which most of
# the gap is, beside those of a Go hello world, the floor of any Go process.
#
#   bench/get-pending.sh [RUNS] [DELAY_MS]
#
# RUNS defaults to 100. With DELAY_MS both tools reach the emulator through
# bench/delayproxy, which holds every chunk back DELAY_MS in each direction:
# a link with a round trip of twice that, where round trips are what counts.
# Needs Go, mosquitto-clients and GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-100}
delay_ms=${2:-0}
command -v mosquitto_rr >/dev/null || { echo "mosquitto_rr not found: apt-get install mosquitto-clients" >&2; exit 1; }

work=$(mktemp -d)
trap 'kill "${emu_pid:-}" "${proxy_pid:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
# Built as the releases are (.goreleaser.yaml): static, trimmed, stripped.
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$work/iotjobs" ./cmd/iotjobs
bin=$work/iotjobs
# The floor of a Go process's start-up: a program that prints one line,
# built the same way.
mkdir "$work/hello-src"
printf 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello") }\n' >"$work/hello-src/main.go"
printf 'module hello\n\ngo 1.24\n' >"$work/hello-src/go.mod"
(cd "$work/hello-src" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$work/hello" .)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
mqtt_port=$(free_port); http_port=$(free_port)
"$bin" emulator --data :memory: --mqtt "127.0.0.1:$mqtt_port" --http "127.0.0.1:$http_port" >"$work/emu.out" 2>"$work/emu.err" &
emu_pid=$!
for _ in $(seq 100); do grep -q '^http' "$work/emu.out" 2>/dev/null && break; sleep 0.05; done
export IOTJOBS_EMULATOR=http://127.0.0.1:$http_port
port=$mqtt_port
if [ "$delay_ms" -gt 0 ]; then
  go build -o "$work/delayproxy" ./bench/delayproxy
  "$work/delayproxy" -target "127.0.0.1:$mqtt_port" -delay "${delay_ms}ms" >"$work/proxy.out" &
  proxy_pid=$!
  for _ in $(seq 100); do [ -s "$work/proxy.out" ] && break; sleep 0.05; done
  proxy_addr=$(head -1 "$work/proxy.out"); port=${proxy_addr##*:}
fi
thing=bench-thing
for j in 1 2 3; do
  "$bin" emulator create-job "bench-job-$j" --target "$thing" --document '{"operation":"bench"}' >/dev/null
done

# EPOCHREALTIME (bash 5) reads the clock without starting a process, so the
# timings hold only the commands measured.
iot=() rr=() boot=() floor=()
for _ in $(seq "$runs"); do
  t0=${EPOCHREALTIME/./}
  "$bin" get-pending -t "$thing" -e "mqtt://127.0.0.1:$port" --client-id bench-iotjobs -o json >"$work/iot.out"
  t1=${EPOCHREALTIME/./}
  mosquitto_rr -h 127.0.0.1 -p "$port" -i bench-rr -q 1 -W 10 \
    -t "\$aws/things/$thing/jobs/get" -e "\$aws/things/$thing/jobs/get/accepted" \
    -m '{"clientToken":"bench-rr"}' >"$work/rr.out"
  t2=${EPOCHREALTIME/./}
  "$bin" version >/dev/null
  t3=${EPOCHREALTIME/./}
  "$work/hello" >/dev/null
  t4=${EPOCHREALTIME/./}
  iot+=($((t1 - t0))) rr+=($((t2 - t1))) boot+=($((t3 - t2))) floor+=($((t4 - t3)))
done
# Page faults (minor) of one start-up each, GNU time's %R, median of 20.
faults() { for _ in $(seq 20); do /usr/bin/time -f %R "$@" 2>&1 >/dev/null | tail -1; done | sort -n | sed -n 10p; }
boot_faults=$(faults "$bin" version); floor_faults=$(faults "$work/hello")
# Both must have received the same reply (three queued jobs), or the timing means nothing.
for f in iot rr; do
  grep -q '"queuedJobs":\[{"jobId":"bench-job-1"' "$work/$f.out" || { echo "$f got no proper reply:" >&2; cat "$work/$f.out" >&2; exit 1; }
done

summary() { # prints median and p90 in ms of the microsecond values given
  printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {m=v[int((NR+1)/2)]; p=v[int(NR*0.9+0.5)]; printf "%.2f %.2f", m/1000, p/1000}'
}
read -r iot_med iot_p90 <<<"$(summary "${iot[@]}")"
read -r rr_med rr_p90 <<<"$(summary "${rr[@]}")"
read -r boot_med boot_p90 <<<"$(summary "${boot[@]}")"
read -r floor_med floor_p90 <<<"$(summary "${floor[@]}")"
size=$(stat -c %s "$bin" 2>/dev/null || wc -c <"$bin")
link="loopback"
[ "$delay_ms" -gt 0 ] && link="a link of ${delay_ms} ms each way (bench/delayproxy)"
printf '\nget-pending against iotjobs emulator over %s, %d runs each, interleaved\n\n' "$link" "$runs"
printf '| %-13s | %10s | %10s | %12s |\n' tool "median ms" "p90 ms" "vs rr median"
printf '|%s|%s|%s|%s|\n' --------------- ------------ ------------ --------------
printf '| %-13s | %10s | %10s | %12s |\n' iotjobs "$iot_med" "$iot_p90" "$(awk -v a="$iot_med" -v b="$rr_med" 'BEGIN{printf "%.2fx", a/b}')"
printf '| %-13s | %10s | %10s | %12s |\n' mosquitto_rr "$rr_med" "$rr_p90" "1.00x"
printf '\nProcess start-up, no network, interleaved with the above:\n\n'
printf '| %-30s | %10s | %10s | %12s |\n' program "median ms" "p90 ms" "page faults"
printf '|%s|%s|%s|%s|\n' -------------------------------- ------------ ------------ --------------
printf '| %-30s | %10s | %10s | %12s |\n' "iotjobs version" "$boot_med" "$boot_p90" "$boot_faults"
printf '| %-30s | %10s | %10s | %12s |\n' "Go hello world (the floor)" "$floor_med" "$floor_p90" "$floor_faults"
printf '\nbinary: %s bytes (%.1f MiB), CGO_ENABLED=0 go build -trimpath -ldflags "-s -w", %s\n' "$size" "$(awk -v s="$size" 'BEGIN{print s/1048576}')" "$(go version | cut -d' ' -f3-)"
