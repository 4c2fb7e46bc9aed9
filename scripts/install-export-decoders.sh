#!/usr/bin/env bash
# Installs the independent decoders that tests/export_pprof.rs checks alloc-trace's pprof
# profiles with (the tests skip, saying why, when these are absent):
# - Python: Google's `protobuf` runtime and `grpcio-tools` (for its bundled protoc), from
#   PyPI, in a virtualenv at target/export-decoders/venv;
# - Go: Debian's `golang-go`, for `go tool pprof` (only as root with apt-get).
# Every step is optional: a failure prints why and the script goes on. Idempotent.
set -uo pipefail
cd "$(dirname "$0")/.."

venv=target/export-decoders/venv
if "$venv/bin/python" -c 'import google.protobuf, grpc_tools' 2>/dev/null; then
    echo "export decoders: Python protobuf already in $venv"
elif command -v python3 >/dev/null; then
    echo "export decoders: installing protobuf and grpcio-tools into $venv"
    if python3 -m venv "$venv" &&
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check protobuf grpcio-tools; then
        echo "export decoders: Python protobuf installed"
    else
        echo "export decoders: could not install the Python packages; the Python decoder check will be skipped"
    fi
else
    echo "export decoders: no python3; the Python decoder check will be skipped"
fi

if command -v go >/dev/null && go tool pprof -h >/dev/null 2>&1; then
    echo "export decoders: go tool pprof already installed"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "export decoders: installing Debian's golang-go for go tool pprof"
    if { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go; } >/dev/null 2>&1; then
        echo "export decoders: go tool pprof installed"
    else
        echo "export decoders: could not install golang-go; the go tool pprof check will be skipped"
    fi
else
    echo "export decoders: no go and no apt-get as root; the go tool pprof check will be skipped"
fi
exit 0
