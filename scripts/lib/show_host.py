#!/usr/bin/env python3
"""Summarises one host's evidence chain (JSON Lines on stdin) for the demo."""
import json
import sys

last = None
for line in sys.stdin:
    r = json.loads(line)
    kind = r["kind"]
    o = r[kind]
    if kind == "patch":
        security = sum(p["security"] for p in o["pending"])
        print(f"  patch: {o['os']}, kernel {o['kernel_running']}, {len(o['pending'])} pending "
              f"updates ({security} security), reboot required: {o['reboot_required']}")
    elif kind == "access_snapshot":
        print(f"  access: {len(o['users'])} users, {len(o['groups'])} groups, "
              f"{len(o['sudoers'])} sudoers files, {len(o['keys'])} authorized keys")
    elif kind == "collector_error":
        print(f"  collector {o['collector']} failed: {o['error']}")
    last = r
if last:
    print(f"  chain: {last['index']} records, head {last['hash'][:16]}...")
