"""In-tree PEP 517 backend: setuptools plus the cffi extension edge._core.

cffi declares its extension through the `cffi_modules` setup() keyword, which
pyproject.toml cannot express; rather than add a setup.py at the repository's fixed
top level, this backend runs setuptools with that one keyword. Everything else
(metadata, packages, dependencies) stays in pyproject.toml.
"""

from __future__ import annotations

from setuptools import build_meta as _build_meta

CFFI_MODULES = ["firmware_c/build_ffi.py:ffibuilder"]


class _EdgeBackend(_build_meta._BuildMetaBackend):
    def run_setup(self, setup_script: str = "setup.py") -> None:
        import setuptools

        setuptools.setup(cffi_modules=CFFI_MODULES)


_BACKEND = _EdgeBackend()

get_requires_for_build_wheel = _BACKEND.get_requires_for_build_wheel
get_requires_for_build_sdist = _BACKEND.get_requires_for_build_sdist
get_requires_for_build_editable = _BACKEND.get_requires_for_build_editable
prepare_metadata_for_build_wheel = _BACKEND.prepare_metadata_for_build_wheel
prepare_metadata_for_build_editable = _BACKEND.prepare_metadata_for_build_editable
build_wheel = _BACKEND.build_wheel
build_sdist = _BACKEND.build_sdist
build_editable = _BACKEND.build_editable
