"""What every command shares: JSON output, the workspace flag, user paths.

Exit status: 0 on success (a cancelled training run included), 2 for a problem with the
input (the message says how to fix it), 1 for an unexpected error (with where the details are).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

WEIGHT_KEYWORDS = ("imagenet", "none")  # values of --weights that are not paths


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def workspace_of(args):
    """The workspace named by ``--workspace``, else the default one."""
    from ..workspace import Workspace, default_workspace

    return Workspace(args.workspace) if getattr(args, "workspace", None) else default_workspace()


def absolute_if_path(value: str | None, keywords: tuple[str, ...] = ()) -> str | None:
    """Store user paths absolute in config.json, so a run can be replayed from any folder."""
    if not value or value.lower() in keywords:
        return value
    return str(Path(value).expanduser().resolve())


def apply_flags(config, args, names: Iterable[str]):
    """Copy the settings ``names`` that were given as flags onto ``config`` (flags left unset
    keep the config's value), then make its paths absolute."""
    for name in names:
        value = getattr(args, name, None)
        if value is not None:
            setattr(config, name, value)
    config.weights = absolute_if_path(config.weights, WEIGHT_KEYWORDS)
    config.backbone_file = absolute_if_path(config.backbone_file)
    if str(config.group_by).lower().endswith(".csv"):  # a subject file, not a pattern
        config.group_by = absolute_if_path(config.group_by)
    return config
