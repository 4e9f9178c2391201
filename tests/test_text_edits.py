"""The user's edits on top of text data: how load_text_dataset (and load_any) apply relabel,
exclude and keep by row id (``reviews.tsv#12``, as the data check lists texts)."""

from __future__ import annotations

from pathlib import Path

import pytest

from text_samples import write_reviews_tsv
from tlcore.data import Edit, add_edits, load_edits
from tlcore.data.any_source import load_any
from tlcore.errors import TLCoreError
from tlcore.text.dataset import load_text_dataset
from tlcore.workspace import Workspace


@pytest.fixture
def tsv(tmp_path) -> Path:
    """30 positive then 30 negative reviews, a header line, so row ``#2`` is the first review."""
    return write_reviews_tsv(tmp_path / "reviews.tsv", per_class=30)


def _by_row(dataset) -> dict[str, tuple[str, str]]:
    """``{relative row id: (class name, split)}``."""
    return {Path(s.path).name: (dataset.classes[s.label], s.split) for s in dataset.samples}


def test_relabel_exclude_and_keep_change_the_loaded_texts(tsv):
    before = _by_row(load_text_dataset(tsv))
    assert before["reviews.tsv#2"][0] == before["reviews.tsv#3"][0] == before["reviews.tsv#4"][0] == "positive"
    edits = [Edit("reviews.tsv#2", "relabel", "negative"), {"path": "./reviews.tsv#3", "action": "exclude"},
             Edit("reviews.tsv#4", "keep")]
    dataset = load_text_dataset(tsv, edits=edits)
    after = _by_row(dataset)
    assert after["reviews.tsv#2"][0] == "negative"
    assert "reviews.tsv#3" not in after and str(tsv) + "#3" not in dataset.texts
    assert after["reviews.tsv#4"] == before["reviews.tsv#4"]
    assert len(after) == len(before) - 1
    assert dataset.report.edits == [
        {"path": "reviews.tsv#2", "action": "relabel", "label": "negative", "from": "positive"},
        {"path": "reviews.tsv#3", "action": "exclude", "label": None, "from": "positive"},
        {"path": "reviews.tsv#4", "action": "keep", "label": None, "from": "positive"},
    ]
    problems = [f.problem for f in dataset.report.warnings]
    assert any("1 relabelled, 1 excluded" in p for p in problems), problems
    assert "Your changes applied: 3" in dataset.report.to_text()
    assert dataset.fingerprint() != load_text_dataset(tsv).fingerprint()  # a relabel is a different dataset


def test_only_keeping_texts_changes_nothing_but_is_recorded(tsv):
    plain = load_text_dataset(tsv)
    kept = load_text_dataset(tsv, edits=[Edit("reviews.tsv#5", "keep")])
    assert _by_row(kept) == _by_row(plain) and kept.fingerprint() == plain.fingerprint()
    assert [e["action"] for e in kept.report.edits] == ["keep"]


def test_a_relabel_to_an_unknown_class_is_refused_with_a_fix(tsv):
    with pytest.raises(TLCoreError) as err:
        load_text_dataset(tsv, edits=[Edit("reviews.tsv#2", "relabel", "neutral")])
    message = str(err.value)
    assert "'neutral'" in message and "texts" in message and "'negative', 'positive'" in message
    assert "relabel to one of those classes" in err.value.fix and "folder" not in err.value.fix


def test_edits_of_rows_no_longer_in_the_file_are_ignored_with_a_warning(tsv):
    dataset = load_text_dataset(tsv, edits=[Edit("reviews.tsv#999", "exclude")])
    assert len(dataset.samples) == 60 and dataset.report.edits == []
    assert any("no longer in the dataset" in f.problem and "texts" in f.problem for f in dataset.report.warnings)


def test_edits_kept_in_the_workspace_reach_texts_through_load_any(tsv, tmp_path):
    ws = Workspace(tmp_path / "ws")
    add_edits(tsv, [Edit("reviews.tsv#32", "relabel", "positive"), Edit("reviews.tsv#33", "exclude")], ws)
    dataset = load_any(tsv, workspace=ws, edits=[e.to_dict() for e in load_edits(tsv, ws)], group_by="auto")
    assert dataset.is_text
    rows = _by_row(dataset)
    assert rows["reviews.tsv#32"][0] == "positive" and "reviews.tsv#33" not in rows
    assert [e["path"] for e in dataset.report.edits] == ["reviews.tsv#32", "reviews.tsv#33"]
