"""Benchmark inputs: synthetic Genesys conversations on disk, as NDJSON, a JSON array or one API envelope.

Files are generated once and kept in the data directory, named by what they hold, so repeated runs
reuse them. They are written one conversation at a time to a temporary name and renamed when
complete, so a 1 GB file never sits in memory and an interrupted run leaves no half file behind.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from genesys.synthetic import Synthesizer, default_start

LAYOUTS = ("ndjson", "array", "envelope")
MAPPINGS = Path(__file__).resolve().parent.parent / "mappings"
_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9}


def parse_size(text: str) -> int:
    """'1GB' -> 1_000_000_000 (decimal units: KB, MB, GB)."""
    cleaned = text.strip().upper()
    digits = cleaned.rstrip("KMGB")
    unit = cleaned[len(digits):]
    if unit not in _UNITS or not digits.replace(".", "", 1).isdigit():
        raise ValueError(f"not a size: {text!r} (examples: 500MB, 1GB)")
    return int(float(digits) * _UNITS[unit])


def default_mapping() -> str:
    """The full Genesys mapping once it exists, else the five-table blueprint."""
    return "conversation" if (MAPPINGS / "conversation.yaml").exists() else "blueprint"


def conversation_lines(seed: int, count: int = sys.maxsize) -> Iterator[str]:
    """JSON lines of conversations as the Genesys API formats them (4.2 KB each on average); endless by default."""
    for conversation in Synthesizer(seed).conversations(count, default_start()):
        yield json.dumps(conversation) + "\n"


def conversations_file(directory: Path, count: int, seed: int) -> Path:
    """NDJSON of `count` conversations."""
    path = directory / f"conversations-{count}-seed{seed}.ndjson"
    if not path.exists():
        _write_atomically(path, conversation_lines(seed, count))
    return path


def sized_file(directory: Path, size: int, seed: int) -> tuple[Path, int]:
    """NDJSON of as many conversations as fill `size` bytes; (path, conversations)."""
    path = directory / f"big-{size}-seed{seed}.ndjson"
    if not path.exists():
        _write_atomically(path, _until_size(conversation_lines(seed), size))
    return path, count_lines(path)


def in_layout(ndjson: Path, layout: str, envelope: str | None) -> Path:
    """The same conversations as `ndjson`, as NDJSON, one JSON array, or one envelope object."""
    if layout == "ndjson":
        return ndjson
    if layout == "envelope" and envelope is None:
        raise ValueError("the mapping declares no envelope key, so there is no envelope layout to test")
    path = ndjson.with_suffix(f".{layout}.json")
    if not path.exists():
        opening = "[\n" if layout == "array" else f'{{"{envelope}": [\n'
        closing = "\n]\n" if layout == "array" else f'\n], "totalHits": {count_lines(ndjson)}}}\n'
        _write_atomically(path, _wrapped(ndjson, opening, closing))
    return path


def count_lines(path: Path) -> int:
    with path.open("rb") as lines:
        return sum(1 for _ in lines)


def _until_size(lines: Iterator[str], size: int) -> Iterator[str]:
    written = 0
    while written < size:
        line = next(lines)
        written += len(line.encode())
        yield line


def _wrapped(ndjson: Path, opening: str, closing: str) -> Iterator[str]:
    yield opening
    with ndjson.open(encoding="utf-8") as lines:
        separator = ""
        for line in lines:
            yield separator + line.rstrip("\n")
            separator = ",\n"
    yield closing


def _write_atomically(path: Path, texts: Iterable[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    with partial.open("w", encoding="utf-8") as out:
        out.writelines(texts)
    partial.rename(path)
