"""edge: the supervisor of a home battery-inverter system."""

import os as _os

__version__ = "0.1.0"

# EDGE_CORE_DIR names a folder holding another build of the C core (edge/_core*.so), such
# as the sanitizer build of `.ci/check`; it is searched before the installed one.
if _core_dir := _os.environ.get("EDGE_CORE_DIR"):
    __path__.insert(0, _core_dir)
