#!/usr/bin/env python3
"""Independent check of attest's evidence chain, exactly as documented in
docs/evidence-format.md, using only Python's standard library.

usage: verify_chain.py FILE.jsonl   (one host's records, in chain order)
Prints "verified N" and exits 0, or names the first bad record and exits 1.
"""
import hashlib
import json
import sys


def main(path):
    prev = bytes(32)
    count = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            digest, prev_hex = record.pop("hash"), record.pop("prev_hash")
            if bytes.fromhex(prev_hex) != prev:
                print(f"record {record.get('index')}: prev_hash does not link")
                return 1
            body = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            prev = hashlib.sha256(prev + body.encode("utf-8")).digest()
            if prev.hex() != digest:
                print(f"record {record.get('index')}: content does not match its hash")
                return 1
            count += 1
    print(f"verified {count}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
