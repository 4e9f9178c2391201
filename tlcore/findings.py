"""Findings: what checks return, each problem with its fix as data.

A :class:`Finding` says what is wrong, what to do about it and which files it concerns. The
dataset report's warnings are findings (and later model checks will be too). A
:class:`SkippedFile` is one file a check left out, why, what to do about it, and whether it
is clutter that needs nothing at all. A page or the command line decides how to show them;
nobody parses a sentence to get the fix back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FIX_NOTHING = "nothing to do: system files like this are skipped on purpose"


@dataclass(frozen=True)
class Finding:
    """One result of a check.

    Attributes:
        problem: What is wrong, in plain words (no trailing full stop).
        fix: What the user can do about it.
        paths: The files or folders concerned (relative to the dataset), if any.
    """

    problem: str
    fix: str
    paths: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "paths", tuple(self.paths))  # lists from JSON compare equal too

    def __str__(self) -> str:
        """The plain-text form, ``"problem; fix"``, as the text report prints it."""
        return f"{self.problem}; {self.fix}" if self.fix else self.problem

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable copy: ``{"problem", "fix", "paths"}``."""
        return {"problem": self.problem, "fix": self.fix, "paths": list(self.paths)}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "Finding":
        """Read back a finding written by :meth:`to_dict`."""
        return cls(problem=values["problem"], fix=values.get("fix", ""), paths=tuple(values.get("paths", ())))


@dataclass(frozen=True)
class SkippedFile:
    """A file left out of a dataset or an archive, why, and what to do about it.

    Attributes:
        path: The file, relative to the dataset (folders end in ``/``).
        reason: Why it was left out, as the report shows it.
        fix: What the user can do about it.
        ignored: Operating-system clutter (hidden files, ``__MACOSX/``, ``Thumbs.db``, …)
            left out on purpose; it needs no action.
    """

    path: str
    reason: str
    fix: str = ""
    ignored: bool = False

    @classmethod
    def clutter(cls, path: str, reason: str) -> "SkippedFile":
        """Operating-system clutter, left out on purpose."""
        return cls(path, reason, FIX_NOTHING, ignored=True)


__all__ = ["FIX_NOTHING", "Finding", "SkippedFile"]
