"""``tlcore export``: a finished run's model in the formats asked for, each file explained."""

from __future__ import annotations

from ...errors import EXIT_OK


def _what(key: str) -> str:
    from ...export.formats import DOWNLOADS, EXPORT_FORMATS

    from ...export.formats import TOKENIZER_DETAIL

    entry = EXPORT_FORMATS.get(key) or DOWNLOADS.get(key)
    return entry.detail if entry else (TOKENIZER_DETAIL if key == "tokenizer" else key)


def export(args) -> int:
    from ...export import export_accuracy, export_run

    formats = args.format or ["all"]
    paths = export_run(args.run_dir, formats, out_dir=args.out)
    print(f"Exported to {paths['labels'].parent}:")
    for key, path in paths.items():
        print(f"  {path.name + ('/' if path.is_dir() else ''):<22} {_what(key)}")
    from ...text.export import skipped_formats

    for key, why in skipped_formats(paths["info"].parent).items():  # a text run's "all": what does not apply
        print(f"  skipped {key}: {why}")
    accuracy = export_accuracy(paths["info"].parent)
    if accuracy:
        print(f"Accuracy on {accuracy['images']} {accuracy['split']} images: float {accuracy['float']:.1%}, "
              f"8-bit TFLite {accuracy['tflite_int8']:.1%}")
    return EXIT_OK
