"""``tlcore explain``: Grad-CAM overlays showing where a run's model looks in new images.

One PNG per image is written into ``--out`` (and nowhere else). A file that cannot be read is
reported and skipped; the others are still explained, and the exit status says that something failed.
"""

from __future__ import annotations

import sys

from ...errors import EXIT_OK, EXIT_USER_ERROR
from ..common import print_json
from .predict import expand_images


def explain(args) -> int:
    from ...explain import explain_files

    results: list[dict] = []
    failures = 0
    for result in explain_files(args.run, expand_images(args.images), args.out, args.class_name):
        if result.error is not None:
            failures += 1
            results.append({"path": result.path, "error": str(result.error)})
            if not args.json:
                print(f"error: {result.error}", file=sys.stderr)
            continue
        explanation = result.explanation
        results.append({"path": result.path, "class": explanation.class_name,
                        "probability": explanation.probability, "output": str(result.output)})
        if not args.json:
            print(f"{result.path}: {explanation.class_name} {explanation.probability:.1%} -> {result.output}")
    if args.json:
        print_json(results)
    return EXIT_USER_ERROR if failures else EXIT_OK
