"""``tlcore threshold``: show or change how a run answers (two-class threshold, "I don't know")."""

from __future__ import annotations

from ...errors import EXIT_OK
from ..common import print_json


def threshold(args) -> int:
    from ...trust.intervals import with_interval
    from ...trust.run import load_trust, set_operating_point

    changing = any(v is not None for v in (args.rule, args.target, args.value, args.strictness))
    if changing:
        trust = set_operating_point(args.run_dir, rule=args.rule, target=args.target, threshold=args.value,
                                    strictness=args.strictness)
    else:
        trust = load_trust(args.run_dir)[0]
        if trust is None:
            from ...errors import TLCoreError

            raise TLCoreError("This run was trained before thresholds and \"I don't know\" existed.",
                              "train it again (same settings) to get them.")
    from ...runs import RunFolder

    evaluation = RunFolder(args.run_dir).evaluation() or {}
    if args.json:
        print_json({"trust": trust.to_dict(), "operating_point": evaluation.get("operating_point"),
                    "unknown": {s: (evaluation if s == "val" else evaluation.get(s) or {}).get("unknown")
                                for s in ("val", "test")}})
        return EXIT_OK
    print("\n".join(trust.describe()))
    point = evaluation.get("operating_point") or {}
    for split in ("val", "test"):
        figures = point.get(split)
        if figures:
            print(f"{'Validation' if split == 'val' else 'Test'} at {figures['threshold']:.3f}: "
                  f"sensitivity {with_interval(figures['sensitivity'], figures['sensitivity_ci'])}, "
                  f"specificity {with_interval(figures['specificity'], figures['specificity_ci'])}, "
                  f"accuracy {with_interval(figures['accuracy'], figures['accuracy_ci'])}")
    for split, figures in (("Validation", evaluation), ("Test", evaluation.get("test") or {})):
        unknown = figures.get("unknown")
        if unknown:
            print(f"{split}: {unknown['count']} of {figures.get('num_images')} pictures answered \"I don't know\" "
                  f"({unknown['share']:.1%})")
    if changing:
        print("Saved. tlcore predict and the app use it now; export again to carry it in the model files.")
    return EXIT_OK
