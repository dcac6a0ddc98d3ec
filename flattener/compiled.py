"""The engine's hot modules, compiled with Cython where the install had a C compiler.

They stay plain Python source: `setup.py` compiles these files as they are into extension modules
beside them, which Python imports instead of the source. Measured on 20,000 conversations, that
takes flattening from 1.28 s to 0.95 s and COPY formatting from 0.67 s to 0.56 s, without a
line of their code written for it. Without a compiler they simply run as Python.

An extension module built from another version of its source (edited, or checked out, since the
build) would run code that is no longer there: the build records a digest of each source it
compiled (compiled.json), and where the source differs Python imports it instead, with a warning.
FLATTEN_PURE_PYTHON=1 does that for all of them, for profilers that see only Python frames.
This module must import nothing but the standard library: `setup.py` runs it.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import os
import sys
import warnings
from pathlib import Path

COMPILED = ("flatten", "codecs", "bulk", "rebuild")  # modules of this package, by their share of a load
PACKAGE = Path(__file__).resolve().parent
MANIFEST = "compiled.json"  # {module: digest of the source it was compiled from}, written by setup.py


def digest(source: Path) -> str:
    return hashlib.sha256(source.read_bytes()).hexdigest()


def write_manifest(directory: Path = PACKAGE) -> None:
    """Record what the build compiles (setup.py calls it)."""
    digests = {name: digest(directory / f"{name}.py") for name in COMPILED}
    (directory / MANIFEST).write_text(json.dumps(digests, indent=1) + "\n")


def extension_of(name: str, directory: Path = PACKAGE) -> Path | None:
    """The compiled module beside `name`.py, if there is one."""
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = directory / (name + suffix)
        if path.exists():
            return path
    return None


def sources_to_prefer(directory: Path = PACKAGE, pure: bool = False) -> dict[str, str]:
    """{module name: why} for the modules whose source must be imported instead of their extension."""
    reasons = {}
    try:
        compiled_from = json.loads((directory / MANIFEST).read_text())
    except (OSError, ValueError):
        compiled_from = {}
    for name in COMPILED:
        if extension_of(name, directory) is None:
            continue
        if pure:
            reasons[name] = "FLATTEN_PURE_PYTHON is set"
        elif compiled_from.get(name) != digest(directory / f"{name}.py"):
            reasons[name] = f"{name}.py changed after it was compiled (pip install -e . compiles it again)"
    return reasons


class _SourceFirst:
    """An import finder that gives these modules of the package from their source files."""

    def __init__(self, names):
        self.names = {f"{__package__}.{name}" for name in names}

    def find_spec(self, fullname, _path=None, _target=None):
        if fullname not in self.names:
            return None
        return importlib.util.spec_from_file_location(fullname, PACKAGE / (fullname.rsplit(".", 1)[1] + ".py"))


def prefer_current_sources() -> None:
    """Run stale extension modules (or all, with FLATTEN_PURE_PYTHON=1) from their source."""
    pure = os.environ.get("FLATTEN_PURE_PYTHON", "") not in ("", "0")
    reasons = sources_to_prefer(pure=pure)
    if not reasons:
        return
    sys.meta_path.insert(0, _SourceFirst(reasons))
    stale = [reason for reason in reasons.values() if not pure]
    if stale:
        warnings.warn("running as Python, not compiled: " + "; ".join(stale), stacklevel=2)


def status() -> dict[str, bool]:
    """{module: whether it runs compiled}, for reports; the modules must be imported already."""
    return {name: not sys.modules[f"{__package__}.{name}"].__file__.endswith(".py") for name in COMPILED}
