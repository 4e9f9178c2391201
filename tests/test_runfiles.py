"""Crash-safe run files (tlcore.runfiles): a failed write keeps the previous file whole."""

import errno
import json

import pytest

from tlcore import runfiles


# ---------------------------------------------------------------- from test_hostile.py (issue 4: faults)
def test_a_failed_write_leaves_the_previous_file_whole(tmp_path, monkeypatch):
    path = tmp_path / "config.json"
    runfiles.write_json_atomic(path, {"epochs": 3})

    def disk_full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(runfiles.os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        runfiles.write_json_atomic(path, {"epochs": 300, "padding": "x" * 100_000})
    assert json.loads(path.read_text()) == {"epochs": 3}
    assert [p.name for p in tmp_path.iterdir()] == ["config.json"], "no temporary file is left behind"
