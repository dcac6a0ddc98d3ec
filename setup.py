"""Compiles the engine's hot modules with Cython where a C compiler is at hand (see flattener/compiled.py).

Each is an optional extension: without a compiler, or with FLATTEN_PURE_PYTHON=1, the install
goes on and those modules run as the Python they are written in.
"""

import os
import runpy

from setuptools import Extension, setup


def extensions() -> list:
    if os.environ.get("FLATTEN_PURE_PYTHON", "") not in ("", "0"):
        return []
    from Cython.Build import cythonize

    compiled = runpy.run_path(os.path.join("flattener", "compiled.py"))
    compiled["write_manifest"]()
    modules = [Extension(f"flattener.{name}", [os.path.join("flattener", f"{name}.py")], optional=True)
               for name in compiled["COMPILED"]]
    return cythonize(modules, compiler_directives={"language_level": 3}, quiet=True)


setup(ext_modules=extensions())
