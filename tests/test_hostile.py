"""Issue 4, the cases no other test file shows: limits as settings, nothing written outside the
workspace, paths typed into the Data page, model files that would run code, torn writes, a run
cancelled before it starts, and a server that dies during a run.

The table in docs/SAFETY.md maps every point of the issue to its test, here or elsewhere.
"""

from __future__ import annotations

import errno
import fcntl
import io
import json
import os
import signal
import stat
import struct
import subprocess
import sys
import time
import uuid
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from test_archive import _set_encrypted_flag
from test_pages import PAGES, SESSION, env, make_dataset, new_app, open_page, zip_folder  # noqa: F401  (env: a fixture)
from streamlit.testing.v1 import AppTest

from browser_helpers import browser  # noqa: F401  (a fixture, for the server-restart test)
from tlcore.archive import extract_zip
from tlcore.data import load_dataset
from tlcore.errors import TLCoreError
from tlcore.images import check_image, load_image
from tlcore.limits import DEFAULT_MAX_IMAGE_PIXELS, ZipLimits, describe_limits, max_image_pixels
from tlcore.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent
LIMIT_SETTINGS = ("TLCORE_MAX_ZIP_FILES", "TLCORE_MAX_ZIP_BYTES", "TLCORE_MAX_ZIP_FILE_BYTES", "TLCORE_MAX_ZIP_RATIO",
                  "TLCORE_MAX_ZIP_DEPTH", "TLCORE_MAX_IMAGE_PIXELS")


@pytest.fixture(autouse=True)
def default_limits(monkeypatch):
    """Every test starts from the defaults, whatever the environment of the test run says."""
    for name in LIMIT_SETTINGS:
        monkeypatch.delenv(name, raising=False)


def _png(colour=(200, 30, 30), size=(8, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def _noise_png(seed: int, size: int = 16) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def _dataset_zip(path: Path, classes=("cats", "dogs"), per_class=10, prefix="") -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for c, cls in enumerate(classes):
            for i in range(per_class):
                zf.writestr(f"{prefix}{cls}/{i:03d}.png", _noise_png(1000 * c + i))
    return path


def _huge_png_header(width: int, height: int) -> bytes:
    """A PNG that claims to be width x height pixels but holds a few bytes: a decompression bomb."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


# =========================================================================== limits are settings
def test_limits_have_safe_defaults():
    limits = ZipLimits.from_env({})
    assert limits == ZipLimits()
    assert (limits.max_files, limits.max_total_bytes, limits.max_file_bytes, limits.max_ratio, limits.max_depth) == \
        (50_000, 4 * 1024**3, 512 * 1024**2, 200.0, 32)
    assert max_image_pixels({}) == DEFAULT_MAX_IMAGE_PIXELS == 178_956_970  # Pillow's own refusal point
    assert describe_limits({})["max_image_pixels"] == DEFAULT_MAX_IMAGE_PIXELS


def test_every_limit_is_a_setting():
    env = {"TLCORE_MAX_ZIP_FILES": "1_000", "TLCORE_MAX_ZIP_BYTES": "500M", "TLCORE_MAX_ZIP_FILE_BYTES": "2GiB",
           "TLCORE_MAX_ZIP_RATIO": "50", "TLCORE_MAX_ZIP_DEPTH": "4", "TLCORE_MAX_IMAGE_PIXELS": "40000000"}
    limits = ZipLimits.from_env(env)
    assert limits == ZipLimits(max_files=1000, max_total_bytes=500 * 1024**2, max_file_bytes=2 * 1024**3,
                               max_ratio=50.0, max_depth=4)
    assert max_image_pixels(env) == 40_000_000
    assert ZipLimits.from_env({"TLCORE_MAX_ZIP_BYTES": "123456"}).max_total_bytes == 123456


@pytest.mark.parametrize("name", LIMIT_SETTINGS)
@pytest.mark.parametrize("value", ["0", "-5", "lots", "1.5.2", "4X"])
def test_a_malformed_limit_setting_is_refused_naming_it(name, value):
    with pytest.raises(TLCoreError) as info:
        describe_limits({name: value})
    message = str(info.value)
    assert name in message and repr(value) in message and "Fix:" in message and "default" in message


def test_zip_limits_in_code_are_checked_too():
    with pytest.raises(TLCoreError, match="max_files"):
        ZipLimits(max_files=0)


def test_load_dataset_follows_the_zip_settings(tmp_path, monkeypatch):
    """The same call the app, the jobs and the CLI make: no limits argument, the settings apply."""
    zip_path = _dataset_zip(tmp_path / "upload.zip")  # 20 files
    ws = Workspace(tmp_path / "ws")
    monkeypatch.setenv("TLCORE_MAX_ZIP_FILES", "5")
    with pytest.raises(TLCoreError) as info:
        load_dataset(zip_path, workspace=ws)
    assert "limit of 5 files" in str(info.value) and "TLCORE_MAX_ZIP_FILES" in str(info.value)
    monkeypatch.setenv("TLCORE_MAX_ZIP_FILES", "20")
    monkeypatch.setenv("TLCORE_MAX_ZIP_BYTES", "1K")
    with pytest.raises(TLCoreError, match="1.0 KiB in total"):
        load_dataset(zip_path, workspace=ws)
    monkeypatch.delenv("TLCORE_MAX_ZIP_BYTES")
    assert len(load_dataset(zip_path, workspace=ws).samples) == 20
    assert not [p for p in ws.datasets_dir.iterdir() if p.is_dir() and not p.with_suffix(".json").is_file()], \
        "refused zips leave no half-extracted folder"


def test_the_ratio_setting_decides_what_is_a_zip_bomb(tmp_path, monkeypatch):
    # 2 MiB of 2-bit noise packs about 3.5:1 - ordinary under the default limit of 200:1.
    data = np.random.default_rng(0).integers(0, 4, 2 * 1024 * 1024, dtype=np.uint8).tobytes()
    zip_path = tmp_path / "noise.zip"
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("cats/noise.bin", data)
    extract_zip(zip_path, tmp_path / "default")
    monkeypatch.setenv("TLCORE_MAX_ZIP_RATIO", "2")
    with pytest.raises(TLCoreError, match="compression ratio limit of 2"):
        extract_zip(zip_path, tmp_path / "strict")
    assert not (tmp_path / "strict").exists()


def test_the_pixel_setting_refuses_large_images(tmp_path, monkeypatch):
    path = tmp_path / "big.png"
    Image.new("RGB", (100, 100), (10, 20, 30)).save(path)
    assert check_image(path) is None
    monkeypatch.setenv("TLCORE_MAX_IMAGE_PIXELS", "5000")
    reason = check_image(path)
    assert reason and "too large" in reason and "100 x 100" in reason and "5,000 pixels" in reason
    with pytest.raises(TLCoreError, match="too large"):
        load_image(path, 32)
    monkeypatch.setenv("TLCORE_MAX_IMAGE_PIXELS", "many")
    with pytest.raises(TLCoreError, match="TLCORE_MAX_IMAGE_PIXELS"):
        check_image(path)


def test_large_images_in_a_dataset_are_listed_with_the_reason(tmp_path, monkeypatch):
    for cls in ("cats", "dogs"):
        (tmp_path / cls).mkdir()
        for i in range(6):
            (tmp_path / cls / f"{i}.png").write_bytes(_noise_png(i + (10 if cls == "dogs" else 0)))
    Image.new("RGB", (200, 150)).save(tmp_path / "cats" / "poster.png")
    monkeypatch.setenv("TLCORE_MAX_IMAGE_PIXELS", "10000")
    ds = load_dataset(tmp_path)
    reasons = {s.path: s.reason for s in ds.report.skipped}
    assert "too large" in reasons["cats/poster.png"] and "30,000 pixels" in reasons["cats/poster.png"]
    assert len(ds.samples) == 12


def test_an_image_with_huge_dimensions_is_refused_under_the_default_limit(tmp_path):
    path = tmp_path / "huge.png"
    path.write_bytes(_huge_png_header(60_000, 60_000))  # 3.6 billion pixels in 100 bytes
    reason = check_image(path)
    assert reason is not None and "too large" in reason, reason


def test_raising_the_pixel_setting_lets_larger_images_through(tmp_path):
    """A fresh process (the app, a job, the CLI) started with a higher limit accepts what Pillow alone would refuse."""
    path = tmp_path / "tall.png"
    path.write_bytes(_huge_png_header(20_000, 10_000))  # 200 M pixels: over Pillow's default of 179 M
    code = ("import sys; from tlcore.images import check_image; from PIL import Image; "
            "print(check_image(sys.argv[1])); print(Image.MAX_IMAGE_PIXELS)")
    def run(**extra):
        env = {k: v for k, v in os.environ.items() if k not in LIMIT_SETTINGS} | extra
        out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, env=env,
                             cwd=ROOT, timeout=120)
        assert out.returncode == 0, out.stderr
        return out.stdout.splitlines()

    default_reason, _ = run()
    assert "too large" in default_reason
    raised_reason, pillow_limit = run(TLCORE_MAX_IMAGE_PIXELS="300000000")
    assert "too large" not in raised_reason  # it gets as far as decoding (and the fake pixel data fails there)
    assert float(pillow_limit) * 2 >= 300_000_000


def test_the_command_line_follows_the_settings(tmp_path):
    zip_path = _dataset_zip(tmp_path / "upload.zip")
    env = {k: v for k, v in os.environ.items() if k not in LIMIT_SETTINGS}

    def inspect(**extra):
        return subprocess.run([sys.executable, "-m", "tlcore", "inspect", str(zip_path), "--workspace", str(tmp_path / "ws")],
                              capture_output=True, text=True, env=env | extra, cwd=tmp_path, timeout=300)

    refused = inspect(TLCORE_MAX_ZIP_FILES="5")
    assert refused.returncode == 2, refused.stderr
    assert "limit of 5 files" in refused.stderr and "TLCORE_MAX_ZIP_FILES" in refused.stderr
    assert "Traceback" not in refused.stderr
    malformed = inspect(TLCORE_MAX_ZIP_BYTES="plenty")
    assert malformed.returncode == 2 and "TLCORE_MAX_ZIP_BYTES" in malformed.stderr and "Traceback" not in malformed.stderr
    accepted = inspect()
    assert accepted.returncode == 0, accepted.stderr
    assert "cats" in accepted.stdout


def test_the_data_page_follows_the_settings(env, monkeypatch, tmp_path):
    monkeypatch.setenv("TLCORE_MAX_ZIP_FILES", "5")
    at = open_page(PAGES[0])
    assert any("up to 5 files" in c.value for c in at.caption), "the page tells users the limits"
    at.file_uploader(key="data_upload").set_value(("mine.zip", zip_folder(env["data_root"] / "shapes"), "application/zip"))
    at.run()
    assert not at.exception
    assert at.error and "limit of 5 files" in at.error[0].value
    monkeypatch.setenv("TLCORE_MAX_ZIP_FILES", "five")
    at = open_page(PAGES[0])
    assert not at.exception
    assert at.error and "TLCORE_MAX_ZIP_FILES" in at.error[0].value and "Fix" in at.error[0].value


# =========================================================================== nothing outside the workspace
def _tree(folder: Path, skip: Path | None = None) -> set[str]:
    out = set()
    for current, dirs, files in os.walk(folder):
        if skip is not None and Path(current).resolve().is_relative_to(skip.resolve()):
            dirs[:] = []
            continue
        out.update(os.path.join(current, name) for name in dirs + files)
    return out


def _hostile_zips(folder: Path, tag: str) -> tuple[dict[str, Path], list[str]]:
    """Every kind of bad zip from the issue; each tries to drop a file named escaped_<tag>_* somewhere."""
    folder.mkdir()
    png = _png()
    escape = lambda what: f"escaped_{tag}_{what}.png"  # noqa: E731
    markers = [escape(w) for w in ("dotdot", "deep", "abs", "drive", "backslash", "symlink", "nested", "bomb")]
    zips: dict[str, Path] = {}

    def plain(name: str, entries: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> Path:
        path = folder / f"{name}.zip"
        with zipfile.ZipFile(path, "w", method) as zf:
            for entry, data in entries.items():
                zf.writestr(entry, data)
        zips[name] = path
        return path

    plain("dotdot", {"cats/a.png": png, f"../{escape('dotdot')}": png})
    plain("deep_dotdot", {"cats/a.png": png, f"cats/../../../../{escape('deep')}": png})
    plain("absolute", {"cats/a.png": png, f"/tmp/{escape('abs')}": png})
    plain("drive_letter", {"cats/a.png": png, f"C:/{escape('drive')}": png})
    plain("backslash", {"cats/a.png": png, f"..\\{escape('backslash')}": png})
    with zipfile.ZipFile(folder / "symlink.zip", "w") as zf:  # a link out, then a file written "through" it
        for cls in ("cats", "dogs"):
            for i in range(3):
                zf.writestr(f"{cls}/{i}.png", _noise_png(i + (5 if cls == "dogs" else 0)))
        link = zipfile.ZipInfo("cats/out")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, str(folder.parent))
        zf.writestr(f"cats/out/{escape('symlink')}", png)
    zips["symlink"] = folder / "symlink.zip"
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr(f"../../{escape('nested')}", png)
    plain("nested_zip", {"cats/a.png": png, "dogs/b.png": png, "cats/inner.zip": inner.getvalue()})
    plain("ratio_bomb", {"cats/a.png": png, f"cats/{escape('bomb')}": bytes(8 * 1024 * 1024)})
    plain("too_many_files", {f"cats/{i}.png": png for i in range(60)})  # the test sets the limit to 50
    plain("too_deep", {"/".join(["d"] * 40) + "/a.png": png})
    enc = plain("encrypted", {"cats/a.png": png, "dogs/b.png": png}, zipfile.ZIP_STORED)
    _set_encrypted_flag(enc)
    whole = plain("truncated", {f"cats/{i}.png": _noise_png(i) for i in range(6)})
    whole.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    (folder / "not_a_zip.zip").write_text("I am a text file\n")
    zips["not_a_zip"] = folder / "not_a_zip.zip"
    lying = plain("lying_size", {"cats/a.png": png, "dogs/b.bin": b"z" * 5000})
    data = bytearray(lying.read_bytes())
    central = data.find(b"PK\x01\x02", data.find(b"PK\x01\x02") + 4)
    data[central + 24: central + 28] = (10).to_bytes(4, "little")
    lying.write_bytes(bytes(data))
    plain("duplicate_entries", {"cats/a.png": png, "dogs/b.png": png})
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(zips["duplicate_entries"], "a") as zf:
        zf.writestr("cats/a.png", _png((0, 0, 255)))  # two different files under one name
    _dataset_zip(folder / "good.zip")
    zips["good"] = folder / "good.zip"
    return zips, markers


def test_the_hostile_zip_corpus_never_writes_outside_the_workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("TLCORE_MAX_ZIP_FILES", "50")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)  # relative writes would land here
    tag = uuid.uuid4().hex[:10]
    zips, markers = _hostile_zips(tmp_path / "zips", tag)
    ws = Workspace(tmp_path / "ws")
    ws.datasets_dir  # created on first use; the workspace itself is allowed to appear
    outside_before = _tree(tmp_path.parent, skip=ws.root)
    repo_before = set(os.listdir(ROOT))
    outcomes = {}
    for name, path in zips.items():
        try:
            ds = load_dataset(path, workspace=ws)
            outcomes[name] = f"loaded {len(ds.samples)} images"
        except TLCoreError as err:
            assert "Fix:" in str(err), (name, str(err))
            outcomes[name] = f"refused: {err.problem}"
    print("\n".join(f"{k}: {v}" for k, v in outcomes.items()))
    refused = {name for name, outcome in outcomes.items() if outcome.startswith("refused")}
    assert refused >= {"dotdot", "deep_dotdot", "absolute", "drive_letter", "backslash", "ratio_bomb", "too_many_files",
                       "too_deep", "encrypted", "truncated", "not_a_zip", "lying_size", "duplicate_entries"}
    assert outcomes["good"] == "loaded 20 images" and outcomes["symlink"].startswith("loaded")
    # Nothing appeared outside the workspace: not beside it, not in the current folder, not in /tmp, not in the repo.
    outside_after = _tree(tmp_path.parent, skip=ws.root)
    assert outside_after == outside_before
    assert set(os.listdir(ROOT)) == repo_before
    names_outside = {Path(p).name for p in outside_after}
    for marker in markers:
        assert marker not in names_outside
        assert not (Path("/tmp") / marker).exists() and not (Path.home() / marker).exists()
    # Inside the workspace: only whole extractions (each folder has its completion marker), and no links.
    for entry in ws.datasets_dir.iterdir():
        if entry.is_dir():
            assert entry.with_suffix(".json").is_file(), f"half-extracted {entry.name}"
    assert not [p for p in ws.root.rglob("*") if p.is_symlink()]


def test_uploads_through_the_data_page_stay_in_the_session_workspace(env, monkeypatch, tmp_path):
    monkeypatch.setenv("TLCORE_MAX_ZIP_FILES", "50")
    tag = uuid.uuid4().hex[:10]
    zips, markers = _hostile_zips(tmp_path / "zips", tag)
    session = env["session_dir"]
    at = open_page(PAGES[0])
    before = _tree(tmp_path.parent, skip=session)
    assert session.is_dir()
    errors = {}
    for name, path in zips.items():
        at.file_uploader(key="data_upload").set_value((f"{name}.zip", path.read_bytes(), "application/zip"))
        at.run()
        assert not at.exception, (name, [e.value for e in at.exception])
        errors[name] = [e.value for e in at.error]
    for name in ("dotdot", "absolute", "ratio_bomb", "encrypted", "truncated", "not_a_zip"):
        assert errors[name] and "Fix" in errors[name][0], (name, errors[name])
    assert not errors["good"]
    after = _tree(tmp_path.parent, skip=session)
    assert after == before, f"the page wrote outside the session's workspace: {sorted(after ^ before)[:5]}"
    for marker in markers:
        assert marker not in {Path(p).name for p in after} and not (Path("/tmp") / marker).exists(), marker
    assert not list((session / "uploads").iterdir()), "uploaded zips are removed once extracted"


# =========================================================================== other sessions and data roots
@pytest.fixture
def outside_dataset(env, tmp_path):
    """A usable dataset outside the data roots, and a symlink to it inside the data root."""
    secret = make_dataset(tmp_path / "secret" / "private_set")
    os.symlink(secret, env["data_root"] / "linked_out")
    return secret


@pytest.mark.parametrize("typed", ["../../etc", "/etc", "linked_out", "shapes/../../secret/private_set",
                                   "~/", "../secret/private_set", "{secret}"])
def test_paths_outside_the_data_roots_are_refused_with_a_plain_message(env, outside_dataset, typed):
    at = open_page(PAGES[0])
    at.text_input(key="data_folder_typed").input(typed.format(secret=outside_dataset)).run()
    at.button(key="data_use_folder").click().run()
    assert not at.exception
    assert len(at.error) == 1
    message = at.error[0].value
    assert "outside the allowed data folders" in message and "Fix:" in message, message
    assert "Traceback" not in message
    state = env["session_dir"] / "app_state.json"
    assert not state.exists() or "dataset" not in json.loads(state.read_text())
    assert not any(m.label == "Classes" for m in at.metric), "no dataset was loaded"


def test_the_folder_picker_offers_no_link_out_of_the_data_roots(env, outside_dataset):
    at = open_page(PAGES[0])
    options = at.selectbox(key="data_folder_pick").options
    assert any(o.endswith("shapes") for o in options)
    assert not any("linked_out" in o for o in options), options


def test_another_session_cannot_reach_my_upload(env):
    mine = open_page(PAGES[0])
    mine.file_uploader(key="data_upload").set_value(("shapes.zip", zip_folder(env["data_root"] / "shapes"), "application/zip"))
    mine.run()
    assert not mine.exception and not mine.error
    extracted = next(p for p in (env["session_dir"] / "datasets").iterdir() if p.is_dir())
    other = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    other.query_params["ws"] = "someoneelse2"
    other.run()
    assert not other.exception
    assert not _has(other, "data_earlier"), "another session's uploads are not listed under 'Used before'"
    relative = f"../{SESSION}/datasets/{extracted.name}"
    for typed in (str(extracted), relative, f"../../sessions/{SESSION}"):
        other.text_input(key="data_folder_typed").input(typed).run()
        other.button(key="data_use_folder").click().run()
        assert not other.exception and other.error and "outside" in other.error[0].value, typed
    assert not any("shapes" in m.value for m in other.sidebar.markdown)


def _has(at, key: str) -> bool:
    try:
        at.selectbox(key=key)
        return True
    except KeyError:
        return False


# =========================================================================== hostile model files
def _code_running_model(marker: Path):
    import keras

    # A Lambda layer carries marshalled Python bytecode: loading it unsafely runs this.
    touch = eval(f"lambda x: (open({str(marker)!r}, 'w').write('ran'), x)[1]")  # noqa: S307  (the attack under test)
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(2, 3, name="conv")(inputs)
    x = keras.layers.Lambda(touch, name="innocent_looking")(x)
    return keras.Model(inputs, keras.layers.GlobalAveragePooling2D(name="gap")(x))


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_a_model_file_that_would_run_code_is_refused_without_running_it(tmp_path, suffix):
    import keras

    from tlcore.backbones import build_base
    from tlcore.safety import load_model_safely

    marker = tmp_path / "code_ran.txt"
    path = tmp_path / f"backbone{suffix}"
    _code_running_model(marker).save(path)
    marker.unlink()  # building the model ran the lambda once
    keras.saving.load_model(path, safe_mode=False)  # the control: this file really runs code when loaded blindly
    assert marker.exists()
    marker.unlink()
    with pytest.raises(TLCoreError, match="Lambda"):
        load_model_safely(path)
    with pytest.raises(TLCoreError, match="Lambda"):
        build_base(backbone_file=str(path))
    assert not marker.exists(), "refusing the file must not run its code"


def test_the_model_page_refuses_a_code_running_backbone(env, tmp_path):
    from test_pages import select_dataset

    select_dataset(env)
    marker = tmp_path / "code_ran.txt"
    path = tmp_path / "fancy.keras"
    _code_running_model(marker).save(path)
    marker.unlink()
    at = open_page(PAGES[1])
    at.file_uploader(key="m_backbone_upload").set_value(("fancy.keras", path.read_bytes(), "application/octet-stream"))
    at.run()
    assert not at.exception
    assert at.error and "Lambda" in at.error[0].value and "Fix" in at.error[0].value
    assert not marker.exists()
    saved = json.loads((env["session_dir"] / "app_state.json").read_text())["config"]
    assert not saved.get("backbone_file"), "the refused file is not used"


# =========================================================================== faults
def test_a_failed_write_leaves_the_previous_file_whole(tmp_path, monkeypatch):
    from tlcore import runfiles

    path = tmp_path / "config.json"
    runfiles.write_json_atomic(path, {"epochs": 3})

    def disk_full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(runfiles.os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        runfiles.write_json_atomic(path, {"epochs": 300, "padding": "x" * 100_000})
    assert json.loads(path.read_text()) == {"epochs": 3}
    assert [p.name for p in tmp_path.iterdir()] == ["config.json"], "no temporary file is left behind"


def test_a_torn_last_event_line_is_ignored(tmp_path):
    from tlcore.jobs import run_status
    from tlcore.runfiles import append_jsonl

    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"data": "x", "epochs": 2}))
    gone = subprocess.Popen(["true"])
    gone.wait()
    (run / "job.json").write_text(json.dumps({"pid": gone.pid}))  # the writer, killed
    append_jsonl(run / "events.jsonl", {"t": time.time(), "type": "status", "status": "running"})
    append_jsonl(run / "events.jsonl", {"t": time.time(), "type": "epoch", "stage": "head", "epoch": 1, "epochs": 2})
    with open(run / "events.jsonl", "a") as fh:
        fh.write('{"t": 1, "type": "epoch", "stage": "he')  # the writer was killed mid-line
    st = run_status(run)
    assert st.last_epoch["epoch"] == 1
    assert st.status == "interrupted"  # no process behind it


def test_a_run_cancelled_before_its_process_starts_never_starts(tiny_dataset, tmp_path):
    from tlcore.config import TrainConfig
    from tlcore.jobs import cancel_run, read_events, run_status, start_run

    ws = Workspace(tmp_path / "ws")
    config = TrainConfig(data=str(tiny_dataset), epochs=1, weights="none", image_size=48, batch_size=8)
    run = start_run(config, ws.runs_dir, workspace=ws, lock_path=tmp_path / "free.lock")  # nobody holds the lock
    cancel_run(run)
    deadline = time.time() + 120
    while run_status(run).status in ("queued", "running") and time.time() < deadline:
        time.sleep(0.2)
    st = run_status(run)
    assert st.status == "cancelled" and "before it started" in st.message, (st.status, st.message)
    assert not any(e.get("status") == "running" for e in read_events(run))
    assert not (run / "model.keras").exists()


@pytest.mark.browser
@pytest.mark.timeout(600)
def test_after_the_server_and_the_run_die_the_restarted_app_shows_it_interrupted(browser, tiny_dataset,
                                                                                 tmp_path_factory):
    import h5py

    from browser_helpers import start_server, wait_idle
    from tlcore.config import TrainConfig
    from tlcore.jobs import read_events, run_status, start_run

    workspace = tmp_path_factory.mktemp("workspace")
    sid = "restartsession1"
    ws = Workspace.for_session(sid, root=workspace)
    server = start_server(workspace)
    # The run the Train page would start: this session's runs folder, the server's training lock.
    slow = TrainConfig(data=str(tiny_dataset), epochs=200, early_stopping=False, feature_cache=False,
                       weights="none", image_size=48, batch_size=8)
    run = start_run(slow, ws.runs_dir, workspace=ws, lock_path=workspace / "train.lock")
    try:
        deadline = time.time() + 300
        while True:
            st = run_status(run)
            if st.last_epoch and st.last_epoch["epoch"] >= 2:  # epoch 1's checkpoint is on disk
                break
            assert st.status in ("queued", "running") and time.time() < deadline, (st.status, st.message)
            time.sleep(0.3)
        # The machine goes down: the server and the training process die at once, without a word.
        server.kill()
        os.kill(st.pid, signal.SIGKILL)
        try:
            os.waitpid(st.pid, 0)  # the job is this test's child: reap it
        except ChildProcessError:
            pass
        assert read_events(run)[-1].get("type") != "status", "nobody recorded the end of the run"
        server = start_server(workspace, log_name="streamlit-after-restart.log")
        context = browser.new_context(viewport={"width": 1300, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{server.url}/train?ws={sid}")
        page.get_by_text("Failed: interrupted (its process stopped").first.wait_for()
        page.get_by_text("stopped unexpectedly").first.wait_for()
        wait_idle(page)
        assert "last checkpoint is kept" in page.locator('[data-testid="stMain"]').inner_text()
        assert page.locator('[data-testid="stException"]').count() == 0
        context.close()
    finally:
        server.stop()
    statuses = [e["status"] for e in read_events(run) if e.get("type") == "status"]
    assert statuses[-1] == "interrupted" and statuses.count("interrupted") == 1
    checkpoint = next(p for p in (run / "checkpoint_head.weights.h5", run / "checkpoint.weights.h5") if p.is_file())
    with h5py.File(checkpoint, "r") as h5:  # a whole, readable weights file
        assert len(h5.keys()) > 0
    json.loads((run / "config.json").read_text())
    with open(workspace / "train.lock", "a+") as lock:  # the lock died with the process: a new run can start
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)


# =========================================================================== layouts not shown elsewhere
def test_a_class_with_two_images_loads_with_a_warning_naming_it(tmp_path):
    for cls, count in (("cats", 12), ("dogs", 2)):
        (tmp_path / cls).mkdir()
        for i in range(count):
            (tmp_path / cls / f"{i}.png").write_bytes(_noise_png(100 * len(cls) + i))
    ds = load_dataset(tmp_path)
    assert ds.report.counts["train"]["dogs"] + ds.report.counts["val"]["dogs"] == 2
    assert ds.report.counts["train"]["dogs"] >= 1
    assert any("'dogs'" in w and "add at least 10" in w for w in ds.report.warnings)
