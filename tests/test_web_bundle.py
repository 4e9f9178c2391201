"""The web page bundle (tlcore.export.web_bundle) and its runtime (tlcore.export.web_runtime), without a browser.

The runtime here is a stand-in with the shape of the real one (an ES module ending in its
exports, a "wasm" file), so these tests need no download; test_browser_web_bundle.py runs
the real runtime in Chromium.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import tarfile
import urllib.error
import zipfile

import pytest

from export_helpers import CLASSES, fitted_classifier, make_images
from tlcore.errors import TLCoreError
from tlcore.export import web_bundle, web_runtime

_MODULE = ('/*! ONNX Runtime Web (stand-in) */\nvar rs=class{},de=class{},Y={wasm:{}},iu={};'
           'const u=import.meta.url;export{rs as InferenceSession,de as Tensor,iu as default,Y as env};\n'
           '//# sourceMappingURL=ort.wasm.bundle.min.mjs.map\n')


def _tarball(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/dist/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


@pytest.fixture()
def stand_in_runtime(tmp_path, monkeypatch):
    """A runtime unpacked from a stand-in tarball whose integrity is pinned for the test."""
    tarball = _tarball({web_runtime.JS_FILE: _MODULE.encode(), web_runtime.WASM_FILE: b"\0asm\1\0\0\0",
                        "ort.node.min.js": b"not needed"})
    monkeypatch.setattr(web_runtime, "INTEGRITY", _integrity(tarball))
    root = tmp_path / "vendor"
    runtime = web_runtime.unpack_runtime(tarball, root)
    monkeypatch.setattr(web_bundle, "require_runtime", lambda: runtime)
    return runtime


def test_the_runtime_is_unpacked_only_when_it_is_the_pinned_file(tmp_path, monkeypatch, stand_in_runtime):
    assert web_runtime.find_runtime(stand_in_runtime.folder.parent) == stand_in_runtime
    assert sorted(p.name for p in stand_in_runtime.folder.iterdir()) == sorted(
        [web_runtime.JS_FILE, web_runtime.WASM_FILE, "manifest.json"])  # only what a page needs
    with pytest.raises(TLCoreError, match="does not match its pinned sha512"):
        web_runtime.unpack_runtime(_tarball({web_runtime.JS_FILE: b"changed"}), tmp_path / "other")
    assert web_runtime.find_runtime(tmp_path / "other") is None
    (stand_in_runtime.wasm).write_bytes(b"cut short")  # a damaged copy is not taken for the runtime
    assert web_runtime.find_runtime(stand_in_runtime.folder.parent) is None
    incomplete = _tarball({web_runtime.JS_FILE: b"x"})
    monkeypatch.setattr(web_runtime, "INTEGRITY", _integrity(incomplete))
    with pytest.raises(TLCoreError, match="has no dist/ort-wasm-simd-threaded.wasm"):
        web_runtime.unpack_runtime(incomplete, tmp_path / "third")


def test_the_pinned_version_is_one_release_with_its_registry_checksum():
    assert re.fullmatch(r"\d+\.\d+\.\d+", web_runtime.VERSION)
    assert re.fullmatch(r"sha512-[A-Za-z0-9+/]{86}==", web_runtime.INTEGRITY)
    assert web_runtime.TARBALL == f"onnxruntime-web/-/onnxruntime-web-{web_runtime.VERSION}.tgz"


def test_without_internet_the_export_says_how_to_get_the_runtime(tmp_path, monkeypatch):
    def offline(url):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(web_runtime, "_download", offline)
    with pytest.raises(TLCoreError, match=r"could not be downloaded.*python -m tlcore\.export\.web_runtime"):
        web_runtime.require_runtime(tmp_path / "empty")
    assert web_runtime.main(["--force"]) == 2  # the command line says so too, without a traceback


def test_the_runtime_module_becomes_one_global_in_an_inline_module():
    script = web_bundle.runtime_script(_MODULE)
    assert 'globalThis.ort={"InferenceSession":rs,"Tensor":de,"default":iu,"env":Y};' in script
    assert "export{" not in script and "sourceMappingURL" not in script
    assert "import.meta.url" in script  # it stays a module
    assert "<\\/script" in web_bundle.runtime_script(_MODULE.replace("var rs", "var s='</script>',rs"))
    with pytest.raises(TLCoreError, match="does not end with its list of exports"):
        web_bundle.runtime_script("var x = 1;")


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    return fitted_classifier(make_images(tmp_path_factory.mktemp("web")))[0]


def test_the_bundle_holds_the_page_the_model_and_the_runtime(classifier, tmp_path, stand_in_runtime):
    from tlcore.export import export_model

    secret = "/srv/ws/sessions/Qx7secretCode42"
    classes = [CLASSES[0], "<b>bold</b>", CLASSES[2]]
    paths = export_model(classifier, tmp_path, classes, formats=["web"],
                         card={"name": "flowers-run", "config": {"data": f"{secret}/datasets/flowers"}})
    assert set(paths) == {"web", "web-zip", "labels", "info", "config", "card"}  # no model.onnx unless asked
    web = paths["web"]
    assert sorted(p.name for p in web.iterdir()) == ["README.txt", "app.js", "index.html", "model.js", "ort-wasm.js"]
    page = (web / "index.html").read_text(encoding="utf-8")
    assert "<title>flowers-run: image classifier</title>" in page
    assert "<li>&lt;b&gt;bold&lt;/b&gt;</li>" in page and "<b>bold</b>" not in page.split("<script")[0]
    assert 'globalThis.ort={"InferenceSession":rs' in page and "{{" not in page
    config = json.loads(re.search(r'<script id="model-config" type="application/json">(.*?)</script>', page).group(1))
    assert config["classes"] == classes and config["image_size"] == 64 and config["input"] == "dynamic"
    model = base64.b64decode((web / "model.js").read_bytes().split(b'"')[1])
    import onnx

    assert onnx.load_from_string(model).graph.output[0].name == "probabilities"
    assert base64.b64decode((web / "ort-wasm.js").read_bytes().split(b'"')[1]) == stand_in_runtime.wasm.read_bytes()
    with zipfile.ZipFile(paths["web-zip"]) as zf:
        assert sorted(zf.namelist()) == sorted(f"web/{p.name}" for p in web.iterdir())
        files = [zf.read(n) for n in zf.namelist()]
    for data in files:  # nothing in the page names the server or the workspace
        assert b"Qx7secretCode42" not in data and b"/sessions/" not in data and b"/srv/" not in data
    card = paths["card"].read_text(encoding="utf-8")
    assert "### Web page (`web/`, also as `web.zip`)" in card and "index.html" in card
    assert "python -m http.server" in card


def test_the_page_says_how_it_decides_with_a_threshold_and_i_dont_know(tmp_path):
    from onnx_helpers import TWO_CLASSES
    from tlcore.trust.settings import Trust

    trust = Trust(classes=TWO_CLASSES, positive_class="sick", threshold=0.3, rule="sensitivity",
                  strictness="normal", similarity_limit=0.6, confidence_limit=0.7)
    settings = web_bundle.page_settings(TWO_CLASSES, 224, "dynamic", trust)
    assert settings["trust"]["positive_index"] == 1 and settings["trust"]["threshold"] == 0.3
    assert settings["trust"]["unsure_band"] == pytest.approx(list(trust.unsure_band()))
    text = web_bundle._decision_text(TWO_CLASSES, trust)
    assert "It answers sick when the probability of sick is at least 30%" in text and "I don't know" in text
    assert "most likely class" in web_bundle._decision_text(TWO_CLASSES, None)
