#!/usr/bin/env python3
"""Sorts ThreadSanitizer reports into those attest must answer for and those
it cannot judge, and fails when there is one of the first kind.

Usage: tsan_reports.py LOG...   (files written by TSAN_OPTIONS=log_path=...)

Debian's gRPC, abseil, protobuf and RocksDB are not built with TSan.
scripts/tsan tells TSan to ignore what their shared libraries do
(called_from_lib), but their headers' inline code (grpcpp's call ops and
reactors, protobuf's parser) and RocksDB's static archive are linked into
attest's programs and seen, while the locks and atomics that order them live
where TSan cannot see. A race with such code is a false alarm TSan cannot
tell from a true one.

Each access of a data race is attributed to the code that made it: the
first frame that is not the C++ standard library, a TSan interceptor
(memcpy, free) or protoc's generated message code. A race between two
accesses made by attest's own code fails the run, and is printed with both
stacks: both sides are instrumented, and attest's locks and atomics are
visible, as are the gRPC guarantees attest states with common/tsan.h. An
access whose stack TSan could no longer restore counts as attest's. A race
where one side is library code is counted and listed by that code's
location, not judged; so a misuse of gRPC, such as attest changing a
message gRPC is still sending, is not caught here. A data race on a vptr
(gRPC calling a reactor that attest deletes in OnDone) is sorted the same
way. Any other kind of report (a lock-order inversion, use of a destroyed
mutex, a signal-unsafe call, a thread leak) fails the run whoever is
involved, except one: "unlock of an unlocked mutex" on a mutex inside an
object prometheus-cpp allocated (its metrics and exposer lock inside the
uninstrumented library; TSan sees only the unlock), which is counted as
library code.
"""

import re
import sys
from collections import Counter

ACCESS = re.compile(
    r"^  (Read|Write|Atomic read|Atomic write|Previous read|Previous write|"
    r"Previous atomic read|Previous atomic write) of size")
FRAME = re.compile(r"^    #\d+ (.*?) (\S+?)(?::\d+)?(?::\d+)? \((\S+)\+0x[0-9a-f]+\)$")
# Code that is not the maker of an access but passes it on: the C++
# library, TSan's interceptors, and protoc's generated message code (a
# message serialized inside gRPC's StartWrite is gRPC's access; one parsed
# by attest is attest's).
PASS_THROUGH = ("/usr/include/c++/", "/libsanitizer/", "/bits/", ".pb.cc", ".pb.h")
# Library code compiled into attest from headers, ordered by locks TSan
# cannot see.
LIBRARY_HEADERS = ("/usr/include/grpcpp/", "/usr/include/grpc/", "/usr/include/absl/",
                   "/usr/include/google/protobuf/", "/usr/include/rocksdb/")


def reports(text):
    """Yields each report's lines, from WARNING to its closing rule."""
    current = None
    for line in text.splitlines():
        if line.startswith("WARNING: ThreadSanitizer:"):
            current = [line]
        elif current is not None:
            if line.startswith("=================="):
                yield current
                current = None
            else:
                current.append(line)


def cut_off(text):
    """The start of a report the log ends inside: TSan was writing it when
    the process was killed (the chaos test SIGKILLs attestd at random)."""
    start = text.rfind("WARNING: ThreadSanitizer:")
    if start < 0 or "\n==================" in text[start:]:
        return None
    return text[start:].splitlines()


def accesses(lines):
    """Returns each access's frames as (function, file, module) tuples."""
    out = []
    frames = None
    for line in lines:
        if ACCESS.match(line):
            frames = []
            out.append(frames)
        elif frames is not None:
            m = FRAME.match(line)
            if m:
                frames.append(m.groups())
            elif not line.startswith("    "):
                frames = None
    return out


def maker(frames):
    """Where the access was made: the source file of the first frame that
    does not pass it on, or, for code built without debug information (a
    shared library, or RocksDB's static archive linked into attestd), its
    module and namespace."""
    for function, path, module in frames:
        if path == "<null>":
            return f"{module}: {function.split('::')[0]}"
        if not any(p in path for p in PASS_THROUGH):
            return path
    return frames[0][1]


def prometheus_mutex(lines):
    """The mutex lives in an object prometheus-cpp allocated (a metric, the
    exposer). Debian's libprometheus-cpp-core is not a TSan build: the lock
    is taken inside it, where TSan was told to look away (called_from_lib),
    and only the unlock in its inline header code is seen."""
    try:
        start = next(i for i, l in enumerate(lines) if "Location is heap block" in l)
    except StopIteration:
        return False
    return any("prometheus::" in l for l in lines[start:start + 6])


def is_library(where):
    # attest's own code is built here with debug information, so it always
    # has an absolute source path outside /usr.
    return where.startswith("/usr/") or not where.startswith("/")


def main(paths):
    ours, other, library, incomplete = [], [], Counter(), []
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
            if (cut := cut_off(text)) is not None:
                incomplete.append((path, cut[:3]))
            for lines in reports(text):
                kind = lines[0].split("ThreadSanitizer: ", 1)[1].split(" (pid=")[0]
                if kind.startswith("unlock of an unlocked mutex") and prometheus_mutex(lines):
                    library["libprometheus-cpp-core.so: a mutex it locked"] += 1
                    continue
                if not kind.startswith("data race"):
                    other.append(lines)
                    continue
                makers = [maker(frames) for frames in accesses(lines) if frames]
                lib = [w for w in makers if is_library(w)]
                if lib:
                    library[lib[0]] += 1
                else:
                    ours.append(lines)
    for lines in ours + other:
        print("\n".join(lines))
        print("==================")
    print(f"tsan: {len(ours)} data races between attest's own accesses, "
          f"{len(other)} other reports (both fail the run); "
          f"{sum(library.values())} races involving uninstrumented library code, not judged")
    for where, n in library.most_common():
        print(f"  {n:5d}  {where}")
    # Not judged either: half a report names at most one access. A race
    # that is really attest's shows whole in the other runs.
    for path, head in incomplete:
        print(f"tsan: a report cut off when its process was killed, not judged: {path}")
        for line in head:
            print(f"    {line}")
    return 1 if ours or other else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
