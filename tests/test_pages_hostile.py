"""The pages under attack (moved from test_hostile.py): limits shown and kept, hostile zips
uploaded through the Data page, paths typed into it, another session's files, and a backbone
file that would run code — each refused with a plain message, nothing written outside.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from data_helpers import default_limits  # noqa: F401  (an autouse fixture: every test starts from the default limits)
from test_archive import _hostile_zips, _tree
from test_safety import code_running_model as _code_running_model
from test_pages import PAGES, SESSION, env, make_dataset, open_page, select_dataset, shown, zip_folder  # noqa: F401  (env: a fixture)

ROOT = Path(__file__).resolve().parent.parent


# =========================================================================== limits and hostile uploads
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
    assert at.error and "TLCORE_MAX_ZIP_FILES" in shown(at.error[0].value) and "Fix" in at.error[0].value


@pytest.mark.slow
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


@pytest.mark.slow
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
@pytest.mark.slow
def test_the_model_page_refuses_a_code_running_backbone(env, tmp_path):
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
