"""Commands about backbones: ``tlcore layers`` (where a backbone can be cut) and
``tlcore weights import`` (pretrained weights for machines without internet access)."""

from __future__ import annotations

from pathlib import Path

from ...errors import EXIT_OK


def layers(args) -> int:
    from ...backbones import list_layers

    rows = list_layers(args.backbone, image_size=args.image_size)
    shown = rows if args.all else [r for r in rows if r.recommended or r.default]
    header = ("depth", "name", "type", "output shape", "params", "")
    table = [(str(r.depth), r.name, r.type, r.output_shape, f"{r.params:,}",
              ("★ recommended" if r.recommended else "") + ("  ← default" if r.default else "")) for r in shown]
    widths = [max(len(h), *(len(row[i]) for row in table)) if table else len(h) for i, h in enumerate(header)]

    def line(cells) -> str:  # numbers right-aligned, words left-aligned
        return "  ".join(c.rjust(w) if i in (0, 4) else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    print(line(header))
    print(line(["-" * w for w in widths]))
    for row in table:
        print(line(row))
    default = next((r.name for r in rows if r.default), None)
    print()
    print(f"{len(shown)} of {len(rows)} layers shown"
          + ("" if args.all else " (recommended cut points; --all lists every layer)")
          + (f". Default bottleneck: {default}." if default else "."))
    print("Cut at a layer with: tlcore train DATA --layer NAME")
    return EXIT_OK


def weights_import(args) -> int:
    from ...weights import import_weights

    dest = import_weights(args.file)
    print(f"Imported {Path(args.file).name} into {dest.parent}")
    print("Backbones with weights 'imagenet' now find it there without downloading.")
    return EXIT_OK
