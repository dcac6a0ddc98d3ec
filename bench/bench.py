"""Measure flatten on realistic Genesys conversations: load, reload and reconstruct, against the floor and dlt.

Generates N synthetic conversations once (genesys.synthetic, about 25 rows and 4.2 KB each) as
NDJSON, then, for each database and each of --repeat runs:

  first load    `flatten load FILE` into empty tables, run as a child process (its wall time and
                peak RSS: what a user waits for and what the machine must hold)
  reload        the same command again, every document already present (delete by key, then write)
  reconstruct   `flatten reconstruct --all`, every document rebuilt from the tables
  floor         the same rows, flattened in advance, written raw into the same empty tables
                (psycopg COPY text and binary on PostgreSQL, sqlite3 executemany on SQLite, one
                transaction): the database's share of a load
  dlt           dlt loading the same file with its defaults, in a virtual environment of its own
                (bench/.dlt-venv, installed on first use)

and prints a Markdown table of medians and the ratios the speed issue sets as targets; the raw
runs go to bench/results/ as JSON. With --big-file it instead loads one large file in each layout
(NDJSON, a JSON array, an API envelope) and reports peak RSS: memory must not grow with the file.

Examples:
  python bench/bench.py --conversations 20000 --databases sqlite,postgresql --repeat 3
  python bench/bench.py --big-file 1GB --databases sqlite,postgresql
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))  # run from a checkout: the engine and the synthesizer come from here

from databases import DEFAULT_POSTGRES, PostgresTarget, SqliteTarget, Target  # noqa: E402
from inputs import LAYOUTS, conversations_file, default_mapping, in_layout, parse_size, sized_file  # noqa: E402
from report import markdown_table, progress  # noqa: E402

from flattener import Flattener, compiled, open_plan  # noqa: E402
from flattener.load import DEFAULT_BATCH_SIZE  # noqa: E402
from flattener.plan import Plan  # noqa: E402

FLATTEN = [sys.executable, "-c", "import sys; from flattener.cli import main; sys.exit(main())"]
DLT_SCRIPT = BENCH / "dlt_load.py"
MEASURE = BENCH / "measure.py"
DLT_REQUIREMENT = "dlt[postgres,sqlalchemy]"
FIRST_LOAD, RELOAD, RECONSTRUCT, FLOOR, DLT = "first load", "reload", "reconstruct", "floor", "dlt"


class BenchError(Exception):
    """A step failed: the benchmark stops rather than report a figure it did not measure."""


# -- running a command ---------------------------------------------------------------------------


@dataclass
class Run:
    seconds: float
    peak_rss_mb: float
    errors: str  # what the command wrote to standard error


def run_measured(command: list[str], stdout: BinaryIO | int = subprocess.DEVNULL) -> Run:
    """Run a command to its end, through bench/measure.py: its wall time and its own peak RSS."""
    with tempfile.TemporaryFile() as errors, tempfile.NamedTemporaryFile("r") as report:
        launcher = subprocess.Popen([sys.executable, str(MEASURE), report.name, *command], stdout=stdout,
                                    stderr=errors, cwd=ROOT)
        try:
            launcher.wait()
        except BaseException:  # interrupted: stop the command rather than leave it writing
            launcher.terminate()
            launcher.wait()
            raise
        errors.seek(0)
        text = errors.read().decode("utf-8", "replace")
        measured = json.loads(report.read() or "{}")
    if launcher.returncode or not measured:
        raise BenchError(f"{shown(command)} exited {measured.get('exit_code', launcher.returncode)}:\n{text[-3000:]}")
    return Run(measured["seconds"], measured["peak_rss_kb"] / 1024, text)


def flatten_command(*arguments: str) -> list[str]:
    return [*FLATTEN, *arguments]


def shown(command: list[str]) -> str:
    """A command as a user would type it: `flatten ...` rather than the interpreter that runs it."""
    if command[: len(FLATTEN)] == FLATTEN:
        command = ["flatten", *command[len(FLATTEN):]]
    return shlex.join(command)


# -- figures --------------------------------------------------------------------------------------


@dataclass
class Figure:
    """One step on one database, measured once per repeat."""

    database: str
    step: str
    method: str = ""  # batch size of a load, the write method of a floor
    conversations: int = 0
    rows: int = 0
    seconds: list[float] = field(default_factory=list)
    peak_rss_mb: list[float] = field(default_factory=list)
    load_average: list[float] = field(default_factory=list)  # the machine's 1-minute load when each run ended
    command: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def conversations_per_second(self) -> float:
        return self.conversations / self.median

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.median

    def summary(self) -> dict:
        return {**asdict(self), "median_seconds": self.median, "conversations_per_second": self.conversations_per_second,
                "rows_per_second": self.rows_per_second, "peak_rss_mb_max": max(self.peak_rss_mb, default=None)}


class Figures:
    def __init__(self):
        self.by_key: dict[tuple, Figure] = {}

    def add(self, database: str, step: str, method: str, seconds: float, conversations: int, rows: int,
            peak_rss_mb: float | None = None, command: str = "") -> Figure:
        figure = self.by_key.setdefault((database, step, method), Figure(database, step, method, conversations, rows,
                                                                        command=command))
        figure.seconds.append(seconds)
        figure.load_average.append(os.getloadavg()[0])
        if peak_rss_mb is not None:
            figure.peak_rss_mb.append(peak_rss_mb)
        rss = f", peak RSS {peak_rss_mb:.0f} MB" if peak_rss_mb is not None else ""
        label = f"{step} ({method})" if method else step
        progress(f"{database}: {label}: {seconds:.2f} s, {conversations / seconds:,.0f} conversations/s{rss}")
        return figure

    def get(self, database: str, step: str, method: str = "") -> Figure | None:
        return self.by_key.get((database, step, method))

    def floor(self, database: str) -> Figure | None:
        """The fastest raw write measured on that database."""
        floors = [figure for figure in self.by_key.values() if figure.database == database and figure.step == FLOOR]
        return min(floors, key=lambda figure: figure.median, default=None)

    def __iter__(self):
        return iter(self.by_key.values())


# -- the benchmark ----------------------------------------------------------------------------------


@dataclass
class Input:
    path: Path
    conversations: int
    rows_by_table: list[list[list]]  # rows[table.number], flattened in advance for the floor

    @property
    def rows(self) -> int:
        return sum(map(len, self.rows_by_table))


def flatten_in_advance(plan: Plan, path: Path) -> Input:
    """The rows a load of `path` writes, made by the engine's own flattener and codecs."""
    flattener = Flattener(plan)
    rows_by_table: list[list[list]] = [[] for _ in plan.tables]
    conversations = 0
    with path.open("rb") as lines:
        for line in lines:
            for table_rows, rows in zip(rows_by_table, flattener.flatten(json.loads(line)).rows):
                table_rows.extend(rows)
            conversations += 1
    return Input(path, conversations, rows_by_table)


class Bench:
    def __init__(self, arguments: argparse.Namespace, plan: Plan, targets: list[Target], dlt_python: Path | None):
        self.arguments = arguments
        self.plan = plan
        self.targets = targets
        self.dlt_python = dlt_python
        self.figures = Figures()
        self.verified: dict[str, str] = {}
        self.startups: list[Run] = []

    def run(self, data: Input) -> None:
        for repeat in range(1, self.arguments.repeat + 1):
            progress(f"run {repeat} of {self.arguments.repeat}")
            self.startups.append(run_measured(flatten_command("--version")))
            for target in self.targets:
                self.loads(target, data)
                self.reconstruct(target, data)
                if repeat == 1:
                    self.verify(target, data)
                self.floor(target, data)
                if self.dlt_python is not None:
                    self.dlt(target, data)

    def startup(self) -> str:
        """What every flatten figure includes before any work: the interpreter and the imports."""
        seconds = statistics.median(run.seconds for run in self.startups)
        return f"{seconds:.2f} s, {max(run.peak_rss_mb for run in self.startups):.0f} MB"

    def loads(self, target: Target, data: Input) -> None:
        expected = [len(rows) for rows in data.rows_by_table]
        for variant, options in self.arguments.load_variants:
            target.reset()
            command = flatten_command("load", str(data.path), "-m", self.arguments.mapping, "--db", target.url,
                                      *options)
            for step in (FIRST_LOAD, RELOAD):
                run = run_measured(command)
                self.figures.add(target.name, step, variant, run.seconds, data.conversations, data.rows,
                                 run.peak_rss_mb, shown(command))
                found = target.row_counts(self.plan)
                if found != expected:
                    raise BenchError(f"{target.name}: after the {step}, the tables hold {found} rows, not {expected}")

    def reconstruct(self, target: Target, data: Input) -> None:
        command = flatten_command("reconstruct", "--all", "-m", self.arguments.mapping, "--db", target.url)
        with tempfile.TemporaryFile(dir=self.arguments.data_dir) as out:
            run = run_measured(command, stdout=out)
            out.seek(0)
            documents = sum(1 for _ in out)
        if documents != data.conversations:
            raise BenchError(f"{target.name}: reconstruct --all printed {documents} documents, not {data.conversations}")
        self.figures.add(target.name, RECONSTRUCT, "", run.seconds, data.conversations, data.rows, run.peak_rss_mb,
                         shown(command))

    def verify(self, target: Target, data: Input) -> None:
        """Once per database, untimed: the figures are for loads that rebuild every document exactly."""
        command = flatten_command("verify", str(data.path), "-m", self.arguments.mapping, "--db", target.url)
        run = run_measured(command)
        self.verified[target.name] = run.errors.strip().splitlines()[-1]

    def floor(self, target: Target, data: Input) -> None:
        for method, seconds in target.floors(self.plan, data.rows_by_table).items():
            self.figures.add(target.name, FLOOR, method, seconds, data.conversations, data.rows)

    def dlt(self, target: Target, data: Input) -> None:
        target.reset_dlt()
        work = self.arguments.data_dir / f"dlt-work-{os.getpid()}"
        shutil.rmtree(work, ignore_errors=True)
        command = [str(self.dlt_python), str(DLT_SCRIPT), str(data.path), "--database", target.name,
                   "--url", target.dlt_url, "--dataset", target.dlt_dataset, "--work-dir", str(work)]
        try:
            with tempfile.TemporaryFile() as out:
                run = run_measured(command, stdout=out)
                out.seek(0)
                report = json.loads(out.read().splitlines()[-1])
        finally:
            shutil.rmtree(work, ignore_errors=True)
            target.reset_dlt()
        if report["documents"] != data.conversations:
            raise BenchError(f"{target.name}: dlt loaded {report['documents']} documents, not {data.conversations}")
        self.figures.add(target.name, DLT, f"dlt {report['dlt']}", run.seconds, data.conversations, report["rows"],
                         run.peak_rss_mb, shown(command))


# -- dlt on demand ---------------------------------------------------------------------------------


def dlt_interpreter(venv: Path) -> Path:
    """The Python of a virtual environment with dlt, made on first use; raises BenchError if dlt cannot be had."""
    python = venv / "bin" / "python"
    if python.exists() and subprocess.run([python, "-c", "import dlt"], capture_output=True).returncode == 0:
        return python
    progress(f"installing {DLT_REQUIREMENT} into {venv} (once)")
    steps = [[sys.executable, "-m", "venv", str(venv)],
             [str(python), "-m", "pip", "install", "--quiet", DLT_REQUIREMENT]]
    for step in steps:
        try:
            done = subprocess.run(step, capture_output=True, text=True, timeout=900)
        except subprocess.TimeoutExpired:
            raise BenchError(f"{shlex.join(step)} did not finish in 15 minutes") from None
        if done.returncode:
            lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
            raise BenchError(f"{shlex.join(step)} failed: {' / '.join(lines[-3:])}")
    return python


# -- the report ---------------------------------------------------------------------------------------


def figures_table(figures: Figures) -> str:
    rows = []
    for figure in figures:
        label = f"{figure.step} ({figure.method})" if figure.step == FLOOR else figure.step
        batch = figure.method if figure.step in (FIRST_LOAD, RELOAD) else ""
        if figure.step == DLT:
            label = figure.method
        rows.append([figure.database, label, batch, str(len(figure.seconds)), f"{figure.median:.2f}",
                     f"{figure.conversations_per_second:,.0f}", f"{figure.rows_per_second:,.0f}",
                     f"{max(figure.peak_rss_mb):.0f}" if figure.peak_rss_mb else "—"])
    return markdown_table(["database", "step", "batch", "runs", "median s", "conversations/s", "rows/s",
                           "peak RSS MB"], rows)


@dataclass
class Verdict:
    database: str
    target: str
    measured: str
    goal: str
    met: str


def verdicts(figures: Figures, databases: list[str], variants: list[str], dlt_note: str | None) -> list[Verdict]:
    """The issue's targets. Load/floor and load/dlt are set for PostgreSQL; on SQLite they are shown for information."""
    found = []

    def judge(database, target, value, text, goal, passes, binding=True):
        met = ("yes" if passes(value) else "no") if binding else "(info)"
        found.append(Verdict(database, target, text, goal, met))

    for database in databases:
        binding = database == "postgresql"
        floor = figures.floor(database)
        dlt = next((figure for figure in figures if figure.database == database and figure.step == DLT), None)
        for variant in variants:
            load = figures.get(database, FIRST_LOAD, variant)
            reload = figures.get(database, RELOAD, variant)
            suffix = f" (batch {variant})" if len(variants) > 1 else ""
            if floor:
                ratio = load.median / floor.median
                judge(database, f"load time / floor time{suffix}", ratio, f"{ratio:.2f}×", "≤ 1.5×",
                      lambda value: value <= 1.5, binding)
            if dlt:
                ratio = dlt.median / load.median
                judge(database, f"load throughput / dlt throughput{suffix}", ratio, f"{ratio:.1f}×", "≥ 5×",
                      lambda value: value >= 5, binding)
            elif dlt_note:
                found.append(Verdict(database, f"load throughput / dlt throughput{suffix}", dlt_note, "≥ 5×",
                                     "not measured"))
            ratio = reload.median / load.median
            judge(database, f"reload time / first load time{suffix}", ratio, f"{ratio:.2f}×", "≤ 2×",
                  lambda value: value <= 2)
        reconstruct = figures.get(database, RECONSTRUCT)
        rate = reconstruct.conversations_per_second
        judge(database, "reconstruct", rate, f"{rate:,.0f} conversations/s", "≥ 5,000/s", lambda value: value >= 5000)
    return found


def verdicts_table(found: list[Verdict]) -> str:
    return markdown_table(["database", "target", "measured", "goal", "met"],
                          [[v.database, v.target, v.measured, v.goal, v.met] for v in found])


def busy(figures: Figures) -> str:
    """How busy the machine was. The benchmark alone keeps one to two cores busy (flatten and the
    database server); much more means other work competed with it and slowed its figures down."""
    loads = [load for figure in figures for load in figure.load_average]
    return f"{min(loads):.1f} to {max(loads):.1f} on {os.cpu_count()} cores (the benchmark alone: about 1 to 2)"


def code_revision() -> str:
    """The commit, and a digest of the engine and mapping files as they are on disk: others edit the
    tree while benchmarks run, and a figure says something only about the code it measured."""
    described = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True, cwd=ROOT)
    return f"{described.stdout.strip() or 'unknown'} (engine files {engine_digest()})"


def engine_digest() -> str:
    digest = hashlib.sha1()
    for path in sorted([*(ROOT / "flattener").rglob("*.py"), *(ROOT / "mappings").glob("*.yaml")]):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def engine_form() -> str:
    """Whether the hot modules ran compiled (flattener/compiled.py): figures differ by a quarter."""
    status = compiled.status()
    if all(status.values()):
        return "compiled with Cython"
    ran_compiled = [name for name, is_compiled in status.items() if is_compiled]
    return "pure Python" + (f" but for {', '.join(ran_compiled)}" if ran_compiled else "")


def environment(targets: list[Target], dlt_python: Path | None, revision_at_start: str) -> dict:
    revision = revision_at_start
    if engine_digest() not in revision_at_start:
        revision += f", engine files {engine_digest()} at the end: the engine changed during the run"
    versions = {"revision": revision, "engine": engine_form(), "python": sys.version.split()[0],
                "cores": os.cpu_count()}
    versions.update({target.name: target.version() for target in targets})
    if dlt_python is not None:
        versions["dlt"] = subprocess.run([dlt_python, "-c", "import dlt; print(dlt.__version__)"],
                                         capture_output=True, text=True).stdout.strip()
    return versions


def readable(path: Path) -> str:
    return str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


def save(results_dir: Path, kind: str, results: dict) -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{kind}-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    return path


# -- the two modes ------------------------------------------------------------------------------------


def speed(arguments: argparse.Namespace, plan: Plan, targets: list[Target]) -> str:
    dlt_python, dlt_note = None, None
    if arguments.dlt:
        try:
            dlt_python = dlt_interpreter(arguments.dlt_venv)
        except BenchError as error:
            dlt_note = f"dlt could not be installed: {error}"
            progress(dlt_note)
    revision_at_start = code_revision()
    progress(f"generating {arguments.conversations} conversations (once; kept in {arguments.data_dir})")
    path = conversations_file(arguments.data_dir, arguments.conversations, arguments.seed)
    data = flatten_in_advance(plan, path)
    bench = Bench(arguments, plan, targets, dlt_python)
    bench.run(data)
    databases = [target.name for target in targets]
    found = verdicts(bench.figures, databases, [variant for variant, _ in arguments.load_variants], dlt_note)
    versions = environment(targets, dlt_python, revision_at_start)
    header = [
        "## flatten benchmark",
        "",
        f"- command: `{arguments.command_line}`",
        f"- mapping: {plan.mapping.name} ({len(plan.tables)} tables)",
        f"- input: {data.conversations:,} conversations, {data.rows:,} rows "
        f"({data.rows / data.conversations:.1f} per conversation), {path.stat().st_size / 1e6:.1f} MB of NDJSON",
        f"- figures: median of {arguments.repeat} run(s) each; peak RSS is the highest of the runs",
        f"- start-up of `flatten --version` (interpreter and imports, part of every flatten figure): "
        f"{bench.startup()}",
        f"- machine load (1-minute average) as the steps ended: {busy(bench.figures)}",
        f"- machine: {', '.join(f'{name} {value}' for name, value in versions.items())}",
        *(f"- verify on {database}: {text}" for database, text in bench.verified.items()),
        *([f"- {dlt_note}"] if dlt_note else []),
    ]
    report = "\n".join(header) + "\n\n" + figures_table(bench.figures) + "\n\n### Targets\n\n" + verdicts_table(found)
    saved = save(arguments.results_dir, "bench", {
        "command": arguments.command_line, "mapping": plan.mapping.name, "conversations": data.conversations,
        "rows": data.rows, "input_bytes": path.stat().st_size, "repeat": arguments.repeat, "environment": versions,
        "verified": bench.verified, "dlt_note": dlt_note,
        "startup": [{"seconds": run.seconds, "peak_rss_mb": run.peak_rss_mb} for run in bench.startups],
        "figures": [figure.summary() for figure in bench.figures], "targets": [asdict(v) for v in found]})
    return report + f"\n\nresults: {readable(saved)}\n"


RSS_LIMIT_MB = 300


def memory(arguments: argparse.Namespace, plan: Plan, targets: list[Target]) -> str:
    """Load one big file in each layout; peak RSS must stay flat however large the file."""
    size = parse_size(arguments.big_file)
    revision_at_start = code_revision()
    progress(f"generating about {size / 1e6:,.0f} MB of conversations (once; kept in {arguments.data_dir})")
    ndjson, conversations = sized_file(arguments.data_dir, size, arguments.seed)
    rows, results = [], []
    for layout in arguments.layouts:
        path = in_layout(ndjson, layout, plan.envelope and plan.envelope.key)
        for target in targets:
            target.reset()
            command = flatten_command("load", str(path), "-m", arguments.mapping, "--db", target.url,
                                      *arguments.load_variants[0][1])
            progress(f"{target.name}: loading {path.name}")
            run = run_measured(command)
            progress(f"{target.name}: {layout}: {run.seconds:.1f} s, peak RSS {run.peak_rss_mb:.0f} MB")
            target.reset()
            met = "yes" if run.peak_rss_mb < RSS_LIMIT_MB else "no"
            rows.append([target.name, layout, f"{path.stat().st_size / 1e6:,.0f}", f"{conversations:,}",
                         f"{run.seconds:.1f}", f"{conversations / run.seconds:,.0f}", f"{run.peak_rss_mb:.0f}", met])
            results.append({"database": target.name, "layout": layout, "bytes": path.stat().st_size,
                            "conversations": conversations, "seconds": run.seconds, "peak_rss_mb": run.peak_rss_mb,
                            "command": shown(command)})
    table = markdown_table(["database", "layout", "file MB", "conversations", "seconds", "conversations/s",
                            "peak RSS MB", f"< {RSS_LIMIT_MB} MB"], rows)
    versions = environment(targets, None, revision_at_start)
    saved = save(arguments.results_dir, "memory", {"command": arguments.command_line, "mapping": plan.mapping.name,
                                                   "environment": versions, "runs": results})
    return (f"## flatten memory check\n\n- command: `{arguments.command_line}`\n- mapping: {plan.mapping.name}\n"
            f"- one run per file; peak memory of the `flatten load` command, its child processes included "
            f"(bench/measure.py)\n"
            f"- machine: {', '.join(f'{name} {value}' for name, value in versions.items())}\n\n"
            f"{table}\n\nresults: {readable(saved)}\n")


# -- command line -----------------------------------------------------------------------------------


def comma_list(choices: tuple[str, ...]):
    def parse(text: str) -> list[str]:
        items = [item.strip() for item in text.split(",") if item.strip()]
        unknown = [item for item in items if item not in choices]
        if unknown or not items:
            raise argparse.ArgumentTypeError(f"choose from {', '.join(choices)}")
        return items
    return parse


def numbers(text: str) -> list[int]:
    try:
        return [int(item) for item in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError("give integers, e.g. 2 or 0,2") from None


def batch_sizes(text: str) -> list[int]:
    try:
        sizes = [int(item) for item in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError("batch sizes are integers, e.g. 1000 or 500,1000,5000") from None
    if not sizes or not all(1 <= size <= 10000 for size in sizes):
        raise argparse.ArgumentTypeError("batch sizes go from 1 to 10000")
    return sizes


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/bench.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=20000, help="how many conversations (default 20000)")
    parser.add_argument("--databases", type=comma_list(("sqlite", "postgresql")), default=["sqlite", "postgresql"],
                        help="comma-separated: sqlite, postgresql (default both)")
    parser.add_argument("--batch-size", dest="batch_sizes", type=batch_sizes, default=[DEFAULT_BATCH_SIZE],
                        help=f"documents per batch for loads; several, comma-separated, are each measured "
                             f"(default {DEFAULT_BATCH_SIZE}, the engine's default)")
    parser.add_argument("--workers", type=numbers, default=[0],
                        help="flatten load --workers for loads; several, comma-separated, are each measured (default 0)")
    parser.add_argument("--mapping", default=default_mapping(),
                        help="mapping name or file (default: conversation if it exists, else blueprint)")
    parser.add_argument("--dlt", action=argparse.BooleanOptionalAction, default=True,
                        help="also load the same documents with dlt, installed on demand (default on)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the median is reported (default 3)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the synthetic conversations (default 1)")
    parser.add_argument("--big-file", metavar="SIZE",
                        help="memory check instead: load one file of about SIZE (e.g. 1GB) in each layout")
    parser.add_argument("--layouts", type=comma_list(LAYOUTS), default=list(LAYOUTS),
                        help="layouts for --big-file: ndjson, array, envelope (default all)")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES,
                        help="PostgreSQL server; the bench works in schemas of its own and drops them "
                             "(default $FLATTEN_BENCH_POSTGRES or postgresql://postgres@127.0.0.1:5432/test)")
    parser.add_argument("--data-dir", type=Path, default=BENCH / "data", help="generated inputs (default bench/data)")
    parser.add_argument("--results-dir", type=Path, default=BENCH / "results", help="JSON results (default bench/results)")
    parser.add_argument("--dlt-venv", type=Path, default=BENCH / ".dlt-venv", help="dlt's own virtual environment")
    arguments = parser.parse_args(argv)
    if arguments.conversations < 1 or arguments.repeat < 1:
        parser.error("--conversations and --repeat must be at least 1")
    arguments.command_line = shlex.join(["python", "bench/bench.py", *argv])
    arguments.load_variants = [  # (the report's label, the load options)
        (f"{size}, {workers} workers" if workers else str(size), ["--batch-size", str(size), "--workers", str(workers)])
        for size in arguments.batch_sizes for workers in arguments.workers]
    return arguments


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that the bench schemas and files are dropped
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    plan = open_plan(arguments.mapping)
    arguments.data_dir.mkdir(parents=True, exist_ok=True)
    tag = str(os.getpid())
    targets = [PostgresTarget(arguments.postgres_url, tag) if name == "postgresql"
               else SqliteTarget(arguments.data_dir, tag) for name in arguments.databases]
    try:
        report = memory(arguments, plan, targets) if arguments.big_file else speed(arguments, plan, targets)
    except (BenchError, ValueError) as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    finally:
        for target in targets:
            target.drop()
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
