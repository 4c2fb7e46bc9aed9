#!/usr/bin/env python3
"""Decodes a gzipped pprof profile with Google's own protobuf runtime, independently of
alloc-trace's encoder, and prints it as JSON with every string resolved.

Usage: pprof_decode.py PROFILE.pb.gz

`profile.proto` (google/pprof, vendored beside this script in proto/) is compiled at run
time with grpcio-tools' bundled protoc, so no protoc is needed. Exits with status 3 and a
one-line reason when the `protobuf` or `grpcio-tools` package is missing (the Rust test
then skips), 1 when the profile is not valid.
Install the packages with scripts/install-export-decoders.sh.
"""

import gzip
import importlib
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def load_profile_module():
    try:
        from grpc_tools import protoc
        import google.protobuf  # noqa: F401
    except ImportError as e:
        print(f"missing Python package: {e.name}")
        sys.exit(3)
    out = tempfile.mkdtemp(prefix="pprof-decode-")
    proto_dir = os.path.join(HERE, "proto")
    status = protoc.main(
        ["protoc", f"-I{proto_dir}", f"--python_out={out}", os.path.join(proto_dir, "profile.proto")]
    )
    if status != 0:
        print(f"protoc failed on {proto_dir}/profile.proto (status {status})")
        sys.exit(3)
    sys.path.insert(0, out)
    return importlib.import_module("profile_pb2")


def fail(message):
    print(f"invalid profile: {message}", file=sys.stderr)
    sys.exit(1)


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    pb = load_profile_module()
    with open(sys.argv[1], "rb") as f:
        raw = f.read()
    if raw[:2] != b"\x1f\x8b":
        fail("not gzipped (the format says on-disk profiles are gzip-compressed)")
    profile = pb.Profile()
    profile.ParseFromString(gzip.decompress(raw))

    strings = list(profile.string_table)
    if not strings or strings[0] != "":
        fail("string_table[0] must be the empty string")

    def s(i):
        if not 0 <= i < len(strings):
            fail(f"string index {i} out of range")
        return strings[i]

    functions = {}
    for fn in profile.function:
        if fn.id == 0 or fn.id in functions:
            fail(f"function id {fn.id} is zero or repeated")
        functions[fn.id] = {
            "name": s(fn.name),
            "system_name": s(fn.system_name),
            "filename": s(fn.filename),
            "start_line": fn.start_line,
        }
    locations = {}
    for loc in profile.location:
        if loc.id == 0 or loc.id in locations:
            fail(f"location id {loc.id} is zero or repeated")
        if loc.mapping_id != 0:
            fail(f"location {loc.id} has mapping {loc.mapping_id}, but there are no mappings")
        for line in loc.line:
            if line.function_id not in functions:
                fail(f"location {loc.id} names unknown function {line.function_id}")
        locations[loc.id] = [
            {"function": functions[l.function_id]["name"], "line": l.line} for l in loc.line
        ]

    samples = []
    for sample in profile.sample:
        if len(sample.value) != len(profile.sample_type):
            fail(f"a sample has {len(sample.value)} values for {len(profile.sample_type)} types")
        stack = []
        for loc_id in sample.location_id:
            if loc_id not in locations:
                fail(f"a sample names unknown location {loc_id}")
            stack.extend(line["function"] for line in locations[loc_id])
        samples.append(
            {
                "stack": stack,
                "values": list(sample.value),
                "labels": len(sample.label),
            }
        )

    print(
        json.dumps(
            {
                "sample_type": [[s(t.type), s(t.unit)] for t in profile.sample_type],
                "period_type": [s(profile.period_type.type), s(profile.period_type.unit)],
                "period": profile.period,
                "default_sample_type": s(profile.default_sample_type),
                "comments": [s(c) for c in profile.comment],
                "mappings": len(profile.mapping),
                "time_nanos": profile.time_nanos,
                "functions": list(functions.values()),
                "locations": {str(k): v for k, v in locations.items()},
                "samples": samples,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
