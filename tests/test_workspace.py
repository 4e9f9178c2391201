import os
from pathlib import Path

import pytest

from tlcore.errors import TLCoreError
from tlcore.workspace import Workspace, resolve_in_roots, safe_join


def test_sessions_get_separate_folders(tmp_path):
    a = Workspace.for_session("alice1", root=tmp_path)
    b = Workspace.for_session("bob2", root=tmp_path)
    assert a.runs_dir != b.runs_dir and a.runs_dir.is_dir() and b.runs_dir.is_dir()
    for bad in ("../x", "a/b", "", "x" * 65, "é"):
        with pytest.raises(TLCoreError):
            Workspace.for_session(bad, root=tmp_path)


def test_paths_typed_into_a_page_stay_inside_the_data_roots(tmp_path):
    root = tmp_path / "data"
    (root / "set1" / "cats").mkdir(parents=True)
    outside = tmp_path / "secret"
    outside.mkdir()
    os.symlink(outside, root / "link")
    assert resolve_in_roots("set1", [root]) == (root / "set1").resolve()
    assert resolve_in_roots(str(root / "set1"), [root]) == (root / "set1").resolve()
    for attempt in ("../secret", str(outside), "link", "/etc", "set1/../../secret"):
        with pytest.raises(TLCoreError, match="outside the allowed"):
            resolve_in_roots(attempt, [root])
    with pytest.raises(TLCoreError, match="does not exist"):
        resolve_in_roots("nope", [root])
    with pytest.raises(TLCoreError):
        safe_join(root, "..", "secret")


def test_by_default_a_page_may_open_only_sample_data_and_its_own_workspace(tmp_path, monkeypatch):
    from tlcore.workspace import data_roots

    monkeypatch.delenv("TLCORE_DATA_ROOTS", raising=False)
    mine = Workspace.for_session("alice1", root=tmp_path)
    theirs = Workspace.for_session("bob2", root=tmp_path)
    roots = data_roots(mine)
    sample = (Path(__file__).resolve().parent.parent / "sample_data").resolve()
    assert [r.resolve() for r in roots] == [sample, mine.root.resolve()]
    with pytest.raises(TLCoreError, match="outside the allowed"):
        resolve_in_roots(str(theirs.root), roots)
    with pytest.raises(TLCoreError, match="outside the allowed"):
        resolve_in_roots(str(tmp_path), roots)
    monkeypatch.setenv("TLCORE_DATA_ROOTS", os.pathsep.join([str(tmp_path / "a"), str(tmp_path / "b")]))
    assert [r.name for r in data_roots()] == ["a", "b"]
