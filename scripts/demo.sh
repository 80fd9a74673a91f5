#!/usr/bin/env bash
# Starts voxd on its defaults in a temp dir, shows what it can do, makes it
# speak into ./demo.wav through LocalTTS, and stops it.
set -euo pipefail
bin=${1:-.build/release}
tmp=$(mktemp -d /tmp/voxd-demo.XXXXXX)
sock="$tmp/voxd.sock"
cleanup() {
    if [ -n "${pid:-}" ] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; wait "$pid" || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT

echo "==> starting voxd (state dir $tmp)"
"$bin/voxd" --state-dir "$tmp" --socket "$sock" >"$tmp/voxd.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
    "$bin/voxctl" --socket "$sock" status >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { cat "$tmp/voxd.log"; echo "voxd exited"; exit 1; }
    sleep 0.1
done

echo "==> voxctl status"
"$bin/voxctl" --socket "$sock" status
echo
echo "==> voxctl caps"
"$bin/voxctl" --socket "$sock" caps
echo
echo "==> voxctl voices --provider localtts --language en"
"$bin/voxctl" --socket "$sock" voices --provider localtts --language en
echo
echo "==> voxctl speak … -o demo.wav"
"$bin/voxctl" --socket "$sock" speak "Hello! This is voxd, the voice daemon, speaking through its offline engine." -o demo.wav
echo
echo "==> voxctl keys create … --scope tts --day-usd 1 (an API key for an app; its secret is shown once)"
secret=$("$bin/voxctl" --socket "$sock" keys create "demo app $(date +%s)" --scope tts --day-usd 1 --rpm 60 | tee /dev/stderr | sed -n 's/^secret[^:]*: //p')
echo
echo "==> VOXD_API_KEY=vx_… voxctl speak … (as the key's holder: its scope, budget and rate apply)"
VOXD_API_KEY="$secret" "$bin/voxctl" --socket "$sock" speak "This one is booked to the demo key." -o demo-key.wav
echo
echo "==> voxctl usage --group-by key (the ledger: characters, audio seconds, cost per caller)"
"$bin/voxctl" --socket "$sock" usage --group-by key
echo
echo "==> stopping voxd"
kill -TERM "$pid"; wait "$pid" || true
pid=
echo "demo.wav is ready: play it with 'aplay demo.wav' (or any audio player)."
