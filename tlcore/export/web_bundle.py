"""The web page bundle: a folder with ``index.html`` that runs the ONNX model in a browser, offline.

The page must work from a USB stick, opened from disk (``file://``) with no server and no
network, and from any static web host. A browser on a ``file://`` page refuses module files
and ``fetch()``, so nothing is fetched at run time:

- ``index.html`` carries the page, its settings (classes, training size, trust limits) as
  JSON, and ONNX Runtime Web's ES-module build (its WebAssembly glue bundled in) inline in a
  ``<script type="module">``, its ``export`` turned into a global ``ort``;
- ``ort-wasm.js`` and ``model.js`` are classic scripts that set the WebAssembly binary and the
  ONNX model as base64 strings (the page hands them to the runtime as ``wasmBinary`` and as
  the model's bytes, with one thread and no worker);
- ``app.js`` is the page's own code (:file:`web/app.js`): file upload, camera, the answer.

Only the classes, the run's name and the trust limits go into the page, through
:func:`tlcore.export.share.redact`, so no server folder or workspace code can be in it.
"""

from __future__ import annotations

import base64
import html
import json
import re
import shutil
from pathlib import Path

from ..errors import TLCoreError
from .savedmodel import replace_dir, tmp_sibling, zip_dir
from .share import redact
from .web_runtime import VERSION, WebRuntime, require_runtime

TEMPLATE_DIR = Path(__file__).resolve().parent / "web"
INDEX, APP, WASM_SCRIPT, MODEL_SCRIPT, README = "index.html", "app.js", "ort-wasm.js", "model.js", "README.txt"
_EXPORTS = re.compile(r"export\s*\{([^}]*)\}\s*;?\s*(//#\s*sourceMappingURL=\S*\s*)?$")


def runtime_script(module_text: str) -> str:
    """ONNX Runtime Web's ES module with its ``export {a as X, ...}`` made ``globalThis.ort = {X: a, ...}``.

    It stays a module (it reads ``import.meta.url``), inline in the page, where a ``file://``
    page runs it; its exports become one global the page's own script reads.
    """
    match = _EXPORTS.search(module_text)
    if match is None:
        raise TLCoreError("The ONNX Runtime Web module does not end with its list of exports.",
                          "pin an onnxruntime-web release whose ort.wasm.bundle.min.mjs does, in web_runtime.py.")
    names = []
    for part in match.group(1).split(","):
        local, _, exported = (p.strip() for p in part.strip().partition(" as "))
        names.append(f"{json.dumps(exported or local)}:{local}")
    text = module_text[:match.start()] + "globalThis.ort={" + ",".join(names) + "};\n"
    return text.replace("</script", "<\\/script")  # nothing may end the inline script early


def page_settings(classes: list[str], image_size: int | None, onnx_input: str, trust=None) -> dict:
    """What the page's script needs: the classes, the size to resize to, how to read the outputs."""
    settings = {"classes": classes, "image_size": image_size, "input": onnx_input, "runtime": VERSION}
    if trust is not None:
        band = trust.unsure_band()
        settings["trust"] = {
            "positive_index": trust.positive_index if trust.two_classes else None,
            "threshold": trust.cut if trust.two_classes else None,
            "similarity_limit": None if trust.strictness == "off" else trust.similarity_limit,
            "confidence_limit": None if trust.strictness == "off" else trust.confidence_limit,
            "unsure_band": None if band is None or trust.strictness == "off" else list(band),
        }
    return settings


def _decision_text(classes: list[str], trust) -> str:
    """How the page decides, in one or two sentences (as the app decides)."""
    if trust is None:
        return "It answers the most likely class; the bars show the probability of each."
    text = ""
    if trust.two_classes:
        positive = classes[trust.positive_index]
        other = classes[1 - trust.positive_index]
        text = (f"It answers {positive} when the probability of {positive} is at least {trust.cut:.0%} "
                f"(the threshold chosen in Transfer Studio), otherwise {other}. ")
    unknown_on = trust.strictness != "off" and (trust.similarity_limit is not None
                                                or trust.confidence_limit is not None)
    if unknown_on:
        text += "It says \"I don't know\" for a picture unlike its training pictures, or when it is unsure."
    return text.strip() or "It answers the most likely class."


def _js_string_script(variable: str, data: bytes) -> bytes:
    return b"window." + variable.encode("ascii") + b'="' + base64.b64encode(data) + b'";\n'


def _readme(name: str) -> str:
    return (f"{name}: a web page that runs the image classifier in the browser\n\n"
            "Open index.html in Chrome, Edge, Firefox or Safari (double-click it, or drag it into the browser).\n"
            "It needs no internet and no server, so the folder works from a USB stick; it also works on any\n"
            "static web host. Choose a picture, or press Start camera. Pictures never leave the computer.\n\n"
            "If the camera is refused on a page opened from disk, serve the folder instead:\n"
            "    python -m http.server 8000   (in this folder), then open http://localhost:8000/\n\n"
            "Files: index.html (the page; ONNX Runtime Web inline), app.js (the page's code),\n"
            "model.js (the ONNX model, base64), ort-wasm.js (ONNX Runtime's WebAssembly, base64).\n\n"
            f"ONNX Runtime Web {VERSION}: Copyright (c) Microsoft Corporation, MIT License\n"
            "(https://github.com/microsoft/onnxruntime).\n")


def build_page(runtime: WebRuntime, *, name: str, classes: list[str], settings: dict, trust=None) -> str:
    """``index.html``: the template with the model's name, classes, settings and the runtime filled in."""
    template = (TEMPLATE_DIR / INDEX).read_text(encoding="utf-8")
    config = json.dumps({"name": name, **settings}, ensure_ascii=False).replace("<", "\\u003c")
    values = {
        "{{TITLE}}": html.escape(f"{name}: image classifier"),
        "{{NAME}}": html.escape(name),
        "{{CLASSES}}": "".join(f"<li>{html.escape(c)}</li>" for c in classes),
        "{{DECISION}}": html.escape(_decision_text(classes, trust)),
        "{{ABOUT}}": html.escape(f"Runs with ONNX Runtime Web {VERSION} (MIT License, Copyright (c) Microsoft "
                                 "Corporation). Works offline: open index.html from disk or any static web host."),
        "{{CONFIG}}": config,
    }
    for key, value in values.items():
        template = template.replace(key, value)
    # the runtime last: its minified text is never searched for the markers above
    return template.replace("{{RUNTIME}}", runtime_script(runtime.js.read_text(encoding="utf-8")))


def write_web_bundle(onnx_content: bytes, dest: Path, zip_dest: Path, *, classes: list[str], name: str | None,
                     image_size: int | None, onnx_input: str, trust=None, secrets=()) -> tuple[Path, Path]:
    """Write the bundle folder ``dest`` (replacing an old one whole) and its zip ``zip_dest``.

    Args:
        onnx_content: The checked ONNX model (:func:`tlcore.export.onnx_export.export_onnx`).
        dest: The bundle folder (``web/`` in the export folder).
        zip_dest: The bundle as one zip file, for downloading.
        classes: Class names in output order.
        name: The model's name for the page's title (the run's name).
        image_size: The training size the page resizes pictures to (None: passed at their own size).
        onnx_input: ``"dynamic"`` or ``"fixed"``: the ONNX model's input size.
        trust: The run's :class:`tlcore.trust.settings.Trust`, when the model is the trusted one.
        secrets: Workspace folders and codes that must not appear (see :func:`session_secrets`).

    Raises:
        TLCoreError: The runtime is missing and cannot be downloaded.
    """
    runtime = require_runtime()
    name = redact(str(name or "Image classifier"), secrets)
    classes = [redact(c, secrets) for c in classes]
    settings = page_settings(classes, image_size, onnx_input, trust)
    work = tmp_sibling(dest)
    work.mkdir()
    try:
        page = build_page(runtime, name=name, classes=classes, settings=settings, trust=trust)
        (work / INDEX).write_text(page, encoding="utf-8")
        shutil.copyfile(TEMPLATE_DIR / APP, work / APP)
        (work / WASM_SCRIPT).write_bytes(_js_string_script("TS_ORT_WASM", runtime.wasm.read_bytes()))
        (work / MODEL_SCRIPT).write_bytes(_js_string_script("TS_MODEL", onnx_content))
        (work / README).write_text(_readme(name), encoding="utf-8")
        replace_dir(work, dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dest, zip_dir(dest, zip_dest)


__all__ = ["build_page", "page_settings", "runtime_script", "write_web_bundle"]
