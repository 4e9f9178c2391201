"""Numbers and speeds in words that fit a metric box or a table cell.

The wordings tlcore's progress maths also needs (durations, time left, short numbers, what
fine-tuning changes) live in :mod:`tlcore.progress`; this module adds the page-only ones.
"""

from __future__ import annotations

import math
from typing import Any

from tlcore import Progress, compact_number, format_seconds


def format_params(n: Any) -> str:
    """A parameter count for a metric box: ``"2.3 M"``, ``"410 k"``, ``"12,345"``."""
    try:
        n = float(n)
    except (TypeError, ValueError):
        return "—"
    if not math.isfinite(n):
        return "—"
    if n >= 1e6:
        return f"{n / 1e6:.1f} M"
    if n >= 1e5:
        return f"{n / 1e3:.0f} k"
    return f"{int(n):,}"


def speed_metric(progress: Progress) -> tuple[str, str, str]:
    """(label, value, help) of the Train page's speed box, short enough to fit it.

    A head trained on cached features goes through thousands of "images" a second, a number
    that says nothing to a newcomer; there the box shows the time an epoch takes instead.
    """
    if progress.on_cached_features:
        return ("Time per epoch", format_seconds(progress.seconds_per_epoch, precise=True),
                "This stage learns from features computed once and saved, so an epoch takes only a moment.")
    ips = progress.images_per_s
    words = "computing features" if progress.stage == "features" else "training"
    return ("Images per second", f"{compact_number(ips)}/s" if ips else "—",
            f"Pictures processed per second while {words}" + (f": {ips:,.0f}." if ips else "."))
