"""Lazy attributes for a package: a name is imported from its submodule on first use.

This keeps ``import tlcore`` (and ``import tlcore.export``) free of Keras and TensorFlow,
so the app's server and the CLI's ``--help`` start fast; the heavy modules load only when
a name that needs them is used.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable


def lazy_attributes(package: str, table: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package`` from ``{name: submodule}``."""
    namespace = importlib.import_module(package).__dict__

    def __getattr__(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{module}", package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *table})

    return __getattr__, __dir__
