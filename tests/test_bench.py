"""The benchmark script runs end to end on a tiny input and reports every figure.

No timing is asserted: speed is measured by bench/bench.py on a quiet machine, never by tests.
"""

from __future__ import annotations

import json
import subprocess
import sys

from .conftest import ROOT

BENCH = ROOT / "bench" / "bench.py"


def run_bench(tmp_path, *arguments: str) -> str:
    command = [sys.executable, str(BENCH), "--mapping", "blueprint", "--databases", "sqlite", "--no-dlt",
               "--data-dir", str(tmp_path / "data"), "--results-dir", str(tmp_path / "results"), *arguments]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_speed_report_has_every_figure(tmp_path):
    report = run_bench(tmp_path, "--conversations", "50", "--repeat", "1")

    assert "| database | step | batch | runs | median s | conversations/s | rows/s | peak RSS MB |" in report
    for step in ("first load", "reload", "reconstruct", "floor (executemany)"):
        assert f"| sqlite | {step} |" in report
    for target in ("load time / floor time", "reload time / first load time", "reconstruct"):
        assert f"| sqlite | {target} |" in report
    assert "verified 50 documents: 50 identical, 0 different" in report
    assert "median of 1 run(s)" in report
    assert "start-up of `flatten --version`" in report
    (saved,) = (tmp_path / "results").glob("bench-*.json")
    results = json.loads(saved.read_text())
    assert results["conversations"] == 50
    assert {figure["step"] for figure in results["figures"]} == {"first load", "reload", "reconstruct", "floor"}
    assert list((tmp_path / "data").glob("bench-*")) == []  # the bench database is dropped


def test_memory_check_loads_every_layout(tmp_path):
    report = run_bench(tmp_path, "--big-file", "100KB")

    for layout in ("ndjson", "array", "envelope"):
        assert f"| sqlite | {layout} |" in report
    assert "peak RSS MB" in report
