"""The hot modules run compiled where they were built, and as Python where their source changed since."""

from __future__ import annotations

import importlib.machinery
import json
import os
import subprocess
import sys

import pytest

from flattener import compiled


@pytest.fixture
def package(tmp_path):
    """A directory with the compiled modules' sources and extensions, as a build leaves them."""
    for name in compiled.COMPILED:
        (tmp_path / f"{name}.py").write_text(f"NAME = {name!r}\n")
        (tmp_path / (name + importlib.machinery.EXTENSION_SUFFIXES[0])).write_bytes(b"\x7fELF")
    compiled.write_manifest(tmp_path)
    return tmp_path


def test_extensions_built_from_the_sources_are_used(package):
    assert compiled.sources_to_prefer(package) == {}


def test_a_source_changed_after_the_build_runs_as_python(package):
    (package / "bulk.py").write_text("NAME = 'bulk, edited'\n")
    assert compiled.sources_to_prefer(package) == {
        "bulk": "bulk.py changed after it was compiled (pip install -e . compiles it again)"}


def test_extensions_without_a_record_of_their_sources_are_not_trusted(package):
    (package / compiled.MANIFEST).unlink()
    assert sorted(compiled.sources_to_prefer(package)) == sorted(compiled.COMPILED)


def test_pure_python_on_request(package):
    assert compiled.sources_to_prefer(package, pure=True) == dict.fromkeys(compiled.COMPILED,
                                                                          "FLATTEN_PURE_PYTHON is set")


def test_modules_without_an_extension_are_python_already(package):
    (package / ("codecs" + importlib.machinery.EXTENSION_SUFFIXES[0])).unlink()
    assert "codecs" not in compiled.sources_to_prefer(package, pure=True)


def _engine_in_a_new_process(**environment) -> dict:
    """Which modules run compiled in a fresh interpreter, and that it flattens a document there."""
    program = ("import json, flattener; from flattener import compiled, Flattener, open_plan; "
               "rows = Flattener(open_plan('blueprint')).flatten({'conversationId': 'c1'}).rows; "
               "print(json.dumps({'status': compiled.status(), 'tables': len(rows)}))")
    result = subprocess.run([sys.executable, "-c", program], env={**os.environ, **environment},
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def test_flatten_pure_python_runs_every_module_from_source():
    report = _engine_in_a_new_process(FLATTEN_PURE_PYTHON="1")
    assert report["status"] == dict.fromkeys(compiled.COMPILED, False)
    assert report["tables"] == 5


@pytest.mark.skipif(os.environ.get("FLATTEN_REQUIRE_COMPILED") != "1",
                    reason="FLATTEN_REQUIRE_COMPILED=1 (as in CI) requires the install to have compiled them")
def test_the_install_compiled_every_hot_module():
    assert _engine_in_a_new_process(FLATTEN_PURE_PYTHON="")["status"] == dict.fromkeys(compiled.COMPILED, True)
