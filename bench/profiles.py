"""Where the time of a load, a reload and a reconstruct goes: phases and top functions, sampled.

Usage: python bench/profiles.py [--conversations 10000] [--database postgresql] [--mapping NAME]

Runs the real `flatten load` (into empty tables, then again as a reload) and `flatten reconstruct
--all` in this process under pyinstrument, a sampling profiler: its overhead is small and even,
where cProfile's per-call cost inflates the many small Python functions of the flattener against
the C of the driver. pyinstrument is installed into the running environment on first use; it is
no dependency of flatten. Imports are done before the profiler starts; mapping compilation,
connecting and committing are in. The engine runs as Python (FLATTEN_PURE_PYTHON=1 unless set
otherwise), so that its functions show. PostgreSQL loads write in a child process (writer.py),
which the sampler does not see: their profile is the loading process's.

Each sample is attributed to the innermost engine function on its stack that a phase rule names
(a codec called by the flattener counts as encode; psycopg's time under the COPY counts as COPY),
and wall time spent waiting for the server shows up under the engine call that waits. Prints
Markdown; the full profiles are written as HTML to bench/results/ for a closer look.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import threading
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
# Compiled modules make no Python frames for a sampler to see: profile the engine as Python
# (about a quarter slower in flattening and formatting; see flattener/compiled.py).
os.environ.setdefault("FLATTEN_PURE_PYTHON", "1")

from databases import DEFAULT_POSTGRES, PostgresTarget, SqliteTarget  # noqa: E402
from inputs import conversations_file, default_mapping  # noqa: E402
from report import markdown_table, progress  # noqa: E402

from flattener.cli import cli  # noqa: E402

# (file, function or None for any, phase): the first rule that names a frame gives its phase
MAPPING_PHASES = [
    ("flattener/mapping.py", None, "mapping: read and validate"),
    ("flattener/plan.py", None, "mapping: compile the plan"),
]
LOAD_PHASES = [
    ("flattener/sources.py", None, "parse: read the file, decode JSON"),
    ("flattener/flatten.py", None, "flatten: walk documents into rows"),
    ("flattener/codecs.py", None, "encode: codecs, extras JSON"),
    ("flattener/bulk.py", None, "format: binary COPY data (PostgreSQL) or row lists of a batch"),
    ("flattener/store.py", "delete", "replace: find and delete documents already present"),
    ("flattener/store.py", "present", "replace: find and delete documents already present"),
    ("flattener/store.py", "_copy", "write: COPY (psycopg + server)"),
    ("flattener/store.py", "_execute_many", "write: executemany (sqlite3)"),
    ("flattener/store.py", "create_tables", "DDL: create and inspect tables"),
    ("flattener/store.py", "commit", "commit"),
    ("flattener/store.py", None, "store: other (gathering rows, connecting)"),
    ("flattener/load.py", None, "loader: batching, handing batches over"),
    ("flattener/workers.py", None, "loader: batching, handing batches over"),
    *MAPPING_PHASES,
]
RECONSTRUCT_PHASES = [
    ("flattener/jsontext.py", "output_bytes", "output: JSON text of documents"),
    ("flattener/codecs.py", None, "decode: codecs"),
    ("flattener/rebuild.py", None, "rebuild: rows into documents, extras JSON"),
    ("flattener/store.py", "keys", "keys: a page of root keys"),
    ("flattener/store.py", None, "read: SELECT, fetch and convert rows"),
    ("flattener/cli.py", "reconstruct", "output: encode and write"),
    *MAPPING_PHASES,
]
OTHER = "other: CLI, engine setup, idle threads"


def profiler_class():
    """pyinstrument's Profiler, installed into this environment on first use."""
    try:
        from pyinstrument import Profiler
    except ImportError:
        progress("installing pyinstrument into this environment (once; not a dependency of flatten)")
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "pyinstrument"], check=True)
        from pyinstrument import Profiler
    return Profiler


def profile(profiler_type, arguments: list[str], interval: float) -> list[tuple[str, object]]:
    """Run one flatten command under the profiler, its standard output discarded.

    Every thread the command starts (the loader writes on a background thread) gets a profiler of
    its own, since a profiler samples one thread; returns (thread name, profiler), main thread first."""
    profilers = [("main thread", profiler_type(interval=interval))]
    original_run = threading.Thread.run

    def profiled_run(thread: threading.Thread) -> None:
        profiler = profiler_type(interval=interval)
        profilers.append((f"thread {thread.name}", profiler))
        profiler.start()
        try:
            original_run(thread)
        finally:
            profiler.stop()

    threading.Thread.run = profiled_run
    with open(os.devnull, "w") as discard, contextlib.redirect_stdout(discard):
        profilers[0][1].start()
        try:
            cli.main(args=arguments, prog_name="flatten", standalone_mode=False)
        finally:
            profilers[0][1].stop()
            threading.Thread.run = original_run
    return profilers


# (file part, function or None, layer): whose code the time is spent in, whatever the phase
LAYERS = [
    ("/psycopg/", "wait", "server wait"),  # psycopg blocks here until PostgreSQL answers
    ("/psycopg", None, "psycopg"),
    ("<built-in>", "Cursor.executemany", "sqlite3"),  # SQLite works inside this process, in its driver call
    ("<built-in>", "Connection.executemany", "sqlite3"),
    ("<built-in>", "Cursor.execute", "sqlite3"),
    ("<built-in>", "Cursor.fetchall", "sqlite3"),
    ("/sqlalchemy/", None, "SQLAlchemy"),
    ("/flattener/", None, "engine"),
    ("/json/", None, "json"),
    ("/threading.py", None, "thread wait"),  # one thread waiting for the other to hand over or finish
    ("/queue.py", None, "thread wait"),
    ("/concurrent/futures/", None, "thread wait"),
]
LAYER_NAMES = ["engine", "json", "SQLAlchemy", "psycopg", "server wait", "sqlite3", "thread wait", "other"]


def _first_match(rules, path: str, function: str, default: str) -> str:
    return next((name for part, wanted, name in rules if part in path and wanted in (None, function)), default)


def attribute(root, rules) -> tuple[dict[str, dict[str, float]], dict[tuple, float]]:
    """Own time of every frame -> (seconds by phase and layer, seconds by function).

    A built-in function (no file) counts in the layer of the code that called it, but for the
    sqlite3 driver's calls, inside which SQLite does its work."""
    phases: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    functions: dict[tuple, float] = defaultdict(float)
    stack = [(root, OTHER, "other")]
    while stack:
        frame, outer_phase, outer_layer = stack.pop()
        path = (frame.file_path or "").replace(os.sep, "/")
        phase = _first_match(rules, path, frame.function, outer_phase)
        built_in = path.startswith("<") or not path
        layer = _first_match(LAYERS, path, frame.function, outer_layer if built_in else "other")
        own = frame.total_self_time
        phases[phase][layer] += own
        functions[(frame.function, f"{frame.file_path_short}:{frame.line_no}")] += own
        stack.extend((child, phase, layer) for child in frame.children if not child.is_synthetic)
    return phases, functions


def section(title: str, profiler, rules, top: int) -> str:
    root = profiler.last_session.root_frame()
    total = root.time
    phases, functions = attribute(root, rules)
    phase_rows = []
    for name, layers in sorted(phases.items(), key=lambda item: -sum(item[1].values())):
        seconds = sum(layers.values())
        phase_rows.append([name, f"{seconds:.2f}", f"{seconds / total:.0%}",
                           *(f"{layers[layer]:.2f}" if layers.get(layer) else "" for layer in LAYER_NAMES)])
    function_rows = [[f"`{name}`", f"`{where}`", f"{seconds:.2f}", f"{seconds / total:.1%}"]
                     for (name, where), seconds in sorted(functions.items(), key=lambda item: -item[1])[:top]]
    return (f"### {title}: {total:.2f} s sampled\n\n"
            + "Seconds by phase, and within each phase by whose code ran (server wait: psycopg blocked on "
              "PostgreSQL; sqlite3: SQLite at work in the driver's calls):\n\n"
            + markdown_table(["phase", "seconds", "share", *LAYER_NAMES], phase_rows) + "\n\n"
            + f"Top {top} functions by own time (time in C code they call included):\n\n"
            + markdown_table(["function", "where", "own s", "share"], function_rows) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench/profiles.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=10000, help="how many conversations (default 10000)")
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--mapping", default=default_mapping(),
                        help="mapping name or file (default: conversation if it exists, else blueprint)")
    parser.add_argument("--batch-size", type=int, help="documents per batch (default: the engine's)")
    parser.add_argument("--top", type=int, default=20, help="how many functions to list (default 20)")
    parser.add_argument("--interval", type=float, default=0.001, help="sampling interval in seconds (default 0.001)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    parser.add_argument("--data-dir", type=Path, default=BENCH / "data")
    parser.add_argument("--results-dir", type=Path, default=BENCH / "results")
    arguments = parser.parse_args()

    profiler_type = profiler_class()
    path = conversations_file(arguments.data_dir, arguments.conversations, arguments.seed)
    tag = str(os.getpid())
    target = (PostgresTarget(arguments.postgres_url, tag) if arguments.database == "postgresql"
              else SqliteTarget(arguments.data_dir, tag))
    common = ["-m", arguments.mapping, "--db", target.url]
    load = ["load", str(path), *common, *(["--batch-size", str(arguments.batch_size)] if arguments.batch_size else [])]
    runs = [("first load", load, LOAD_PHASES), ("reload", load, LOAD_PHASES),
            ("reconstruct --all", ["reconstruct", "--all", *common], RECONSTRUCT_PHASES)]
    arguments.results_dir.mkdir(parents=True, exist_ok=True)
    stamp = f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}"
    sections = []
    try:
        target.reset()
        for title, command, rules in runs:
            progress(f"profiling {title} ({arguments.database}, {arguments.conversations} conversations)")
            for thread, profiler in profile(profiler_type, command, arguments.interval):
                sections.append(section(f"{title}, {thread}", profiler, rules, arguments.top))
                name = f"profile-{arguments.database}-{title.split()[0]}-{thread.split()[-1]}-{stamp}.html"
                (arguments.results_dir / name).write_text(profiler.output_html())
    finally:
        target.drop()
    print(f"## Profiles: {arguments.conversations:,} conversations, {arguments.database}, mapping {arguments.mapping}\n\n"
          f"- command: `python bench/profiles.py {' '.join(sys.argv[1:])}`\n"
          f"- HTML profiles: {arguments.results_dir}/profile-{arguments.database}-*-{stamp}.html\n\n"
          + "\n".join(sections))
    return 0


if __name__ == "__main__":
    sys.exit(main())
