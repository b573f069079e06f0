#!/usr/bin/env python3
"""tsan_reports.py against reports recorded from real TSan runs: a race
between two of attest's own accesses fails, gRPC's inline code racing with
locks TSan cannot see does not."""

import io
import os
import sys
import unittest
from contextlib import redirect_stdout

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tsan_reports  # noqa: E402

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "testdata")


def run(*names):
    out = io.StringIO()
    with redirect_stdout(out):
        rc = tsan_reports.main([os.path.join(DATA, n) for n in names])
    return rc, out.getvalue()


class TsanReportsTest(unittest.TestCase):
    def test_a_race_between_two_of_our_accesses_fails_and_is_printed(self):
        # Two threads bumping one counter (g++ -fsanitize=thread, recorded).
        rc, out = run("tsan_attest_race.log")
        self.assertEqual(rc, 1)
        self.assertIn("attest::Bump(attest::Counter&) /tmp/racy/racy.cc:4", out)
        self.assertIn("tsan: 1 data races between attest's own accesses", out)

    def test_races_made_by_grpcs_inline_code_are_counted_not_judged(self):
        # attestd under attest-loadgen: grpcpp's call ops written on the
        # ack thread and read on a gRPC thread, and gRPC calling a reactor
        # that OnDone deletes. The hand-offs are in libgrpc, uninstrumented.
        rc, out = run("tsan_grpc_inline.log")
        self.assertEqual(rc, 0, out)
        self.assertIn("0 data races between attest's own accesses, 0 other reports", out)
        self.assertIn("2 races involving uninstrumented library code", out)
        self.assertIn("/usr/include/grpcpp/impl/call_op_set.h", out)
        self.assertIn("/usr/include/grpcpp/support/server_callback.h", out)

    def test_one_of_ours_among_library_races_still_fails(self):
        rc, out = run("tsan_grpc_inline.log", "tsan_attest_race.log")
        self.assertEqual(rc, 1)
        self.assertIn("1 data races between attest's own accesses", out)

    def test_a_report_cut_off_by_a_kill_is_listed_not_judged(self):
        # A TSan log ending inside a report, as a SIGKILLed attestd leaves it.
        with open(os.path.join(DATA, "tsan_attest_race.log"), encoding="utf-8") as f:
            whole = f.read()
        path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"tsan_cut.{os.getpid()}")
        with open(path, "w", encoding="utf-8") as f:
            f.write(whole[:whole.index("  Previous write")])
        try:
            out = io.StringIO()
            with redirect_stdout(out):
                rc = tsan_reports.main([path])
        finally:
            os.unlink(path)
        self.assertEqual(rc, 0, out.getvalue())
        self.assertIn("0 data races between attest's own accesses", out.getvalue())
        self.assertIn("a report cut off when its process was killed, not judged", out.getvalue())

    def test_other_kinds_of_report_fail_whoever_is_involved(self):
        # Two mutexes taken in both orders (g++ -fsanitize=thread, recorded).
        rc, out = run("tsan_lock_order.log")
        self.assertEqual(rc, 1)
        self.assertIn("lock-order-inversion", out)
        self.assertIn("0 data races between attest's own accesses, 1 other reports", out)
    def test_an_unlock_of_a_prometheus_mutex_is_counted_as_library_code(self):
        # attestd's WalSync histogram under scripts/tsan (recorded): the
        # lock was taken inside Debian's uninstrumented libprometheus-cpp.
        rc, out = run("tsan_prometheus_unlock.log")
        self.assertEqual(rc, 0, out)
        self.assertIn("0 other reports", out)
        self.assertIn("libprometheus-cpp-core.so: a mutex it locked", out)
        # Any other report beside it still fails the run.
        rc, out = run("tsan_lock_order.log", "tsan_prometheus_unlock.log")
        self.assertEqual(rc, 1)


if __name__ == "__main__":
    unittest.main()
