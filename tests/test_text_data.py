"""Text data in: every format, column detection, each refusal's message, splits, leaks (tlcore.text)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from _realdata import DATASETS, require

from tlcore.errors import TLCoreError
from tlcore.text.dataset import load_text_dataset
from tlcore.text.table import is_text_source, read_text_table

POSITIVE = ["I loved this film", "What a great day", "Wonderful food and friendly staff", "Best phone I ever had",
            "Really enjoyed it", "Superb acting, a joy", "Lovely little place", "Works perfectly, great value",
            "Brilliant and moving", "Happy with the purchase"]
NEGATIVE = ["I hated this film", "What an awful day", "Cold food and rude staff", "Worst phone I ever had",
            "Did not enjoy it at all", "Wooden acting, a bore", "Dirty little place", "Broke after a week",
            "Dull and far too long", "Sorry I bought it"]


def _pairs() -> list[tuple[str, str]]:
    return [(t, "positive") for t in POSITIVE] + [(t, "negative") for t in NEGATIVE]


def _write_csv(path: Path, header: list[str] | None, rows: list[list[str]], delimiter: str = ",",
               encoding: str = "utf-8") -> Path:
    with open(path, "w", newline="", encoding=encoding) as f:
        writer = csv.writer(f, delimiter=delimiter)
        if header:
            writer.writerow(header)
        writer.writerows(rows)
    return path


def _refused(path, **kwargs) -> TLCoreError:
    with pytest.raises(TLCoreError) as info:
        read_text_table(path, **kwargs)
    assert info.value.fix, "every refusal says how to fix it"
    return info.value


# ---- formats and detection ---------------------------------------------------------------------

def test_tab_lines_split_on_the_last_tab_and_keep_quotes(tmp_path):
    lines = [f"{t}\t{1 if lab == 'positive' else 0}" for t, lab in _pairs()]
    lines[0] = 'She said "wow"\tand left\t1'  # a tab and quotes inside the text
    path = tmp_path / "reviews.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    table = read_text_table(path)
    assert table.format == "tab-lines"
    assert table.columns == {"text": "text", "label": "label"}
    assert table.rows[0].text == 'She said "wow"\tand left' and table.rows[0].label == "1"
    assert table.rows[0].row_id == str(tmp_path / "reviews.txt#1")
    assert len(table.rows) == 20


@pytest.mark.parametrize("header,text,label", [
    (["review", "sentiment"], "review", "sentiment"),
    (["id", "text", "label"], "text", "label"),
    (["label", "sentence", "source"], "sentence", "label"),
])
def test_csv_columns_are_found_from_the_data(tmp_path, header, text, label):
    rows = []
    for i, (t, lab) in enumerate(_pairs()):
        cells = {"review": t, "text": t, "sentence": t, "sentiment": lab, "label": lab, "id": str(1000 + i),
                 "source": "web" if i % 3 else "shop"}
        rows.append([cells[h] for h in header])
    table = read_text_table(_write_csv(tmp_path / "data.csv", header, rows))
    assert table.format == "csv"
    assert table.columns == {"text": text, "label": label}
    roles = {c.name: c.role for c in table.candidates}
    assert roles[text] == "text" and roles[label] == "label"
    assert all(c.reason for c in table.candidates)
    if "id" in header:
        assert "looks like an id" in next(c.reason for c in table.candidates if c.name == "id")
    assert {r.label for r in table.rows} == {"positive", "negative"}


def test_excel_csv_with_bom_and_semicolons(tmp_path):
    path = tmp_path / "excel.csv"
    rows = [[t.replace(" ", ", ", 1), lab] for t, lab in _pairs()]  # commas inside texts, ';' between columns
    _write_csv(path, ["Text", "Label"], rows, delimiter=";", encoding="utf-8-sig")
    table = read_text_table(path)
    assert table.columns == {"text": "Text", "label": "Label"}
    assert table.rows[0].text == "I, loved this film"


def test_headerless_csv_and_utf16_tsv(tmp_path):
    table = read_text_table(_write_csv(tmp_path / "plain.csv", None, [list(p) for p in _pairs()]))
    assert table.columns == {"text": "column 1", "label": "column 2"} and len(table.rows) == 20
    path = tmp_path / "unicode.tsv"
    _write_csv(path, ["text", "label"], [list(p) for p in _pairs()], delimiter="\t", encoding="utf-16")
    table = read_text_table(path)
    assert table.format == "tsv" and table.rows[0] == table.rows[0]._replace(text=POSITIVE[0], label="positive")


def test_explicit_columns_override_detection(tmp_path):
    rows = [[t, lab, t.split()[0]] for t, lab in _pairs()]
    path = _write_csv(tmp_path / "d.csv", ["body", "tone", "first"], rows)
    table = read_text_table(path, text_column="first", label_column="Tone")  # names match ignoring case
    assert table.columns == {"text": "first", "label": "tone"}
    assert table.rows[0].text == "I"


def test_txt_folders_one_text_per_file(tmp_path):
    for split in ("train", "test"):
        for label, texts in (("pos", POSITIVE), ("neg", NEGATIVE)):
            folder = tmp_path / "imdb" / split / label
            folder.mkdir(parents=True)
            for i, text in enumerate(texts):
                (folder / f"{i}.txt").write_text(text, encoding="utf-8")
    (tmp_path / "imdb" / "train" / "pos" / "notes.md").write_text("x")
    assert is_text_source(tmp_path / "imdb")
    data = load_text_dataset(tmp_path / "imdb")
    assert data.layout == "txt-folders" and data.is_text and data.classes == ["neg", "pos"]
    assert len(data.split("test")) == 20 and data.split("val")  # val held out of train
    assert data.text_of(str(tmp_path / "imdb" / "train" / "pos" / "0.txt")) == POSITIVE[0]
    assert [s.path for s in data.report.skipped] == ["train/pos/notes.md"]


def test_image_folders_and_other_files_are_not_text(tmp_path, tiny_dataset):
    assert not is_text_source(tiny_dataset)
    assert not is_text_source(tmp_path / "photo.jpg")
    assert is_text_source(_write_csv(tmp_path / "a.csv", ["text", "label"], [list(p) for p in _pairs()]))


# ---- refusals ------------------------------------------------------------------------------------

def test_refusals_name_the_problem(tmp_path):
    one = tmp_path / "one.csv"
    one.write_text("text\n" + "\n".join(POSITIVE) + "\n")
    assert "has one column" in _refused(one).problem

    single = _write_csv(tmp_path / "single.csv", ["text", "label"], [[t, "positive"] for t in POSITIVE])
    err = _refused(single)
    assert "same label" in err.problem and "'positive'" in err.problem and "another class" in err.fix

    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"text,label\x00\x01\x02" * 50)
    assert "binary" in _refused(binary).problem
    xlsx = tmp_path / "book.csv"
    xlsx.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    assert "CSV UTF-8" in _refused(xlsx).fix

    cp1252 = tmp_path / "cp1252.csv"
    cp1252.write_bytes("text,label\nnice,pos\nCafé crème – très bon,pos\nbad,neg\n".encode("cp1252"))
    err = _refused(cp1252)
    assert "not UTF-8" in err.problem and "line 3, byte 4 is 0xE9" in err.problem
    assert "Save As → CSV UTF-8" in err.fix

    ids = _write_csv(tmp_path / "ids.csv", ["text", "id"], [[t, str(i)] for i, (t, _) in enumerate(_pairs())])
    err = _refused(ids)
    assert "'id'" in err.problem and "looks like an id" in err.problem and "--label-column" in err.fix
    err = _refused(ids, label_column="id")
    assert "looks like an id" in err.problem

    empty = tmp_path / "empty.csv"
    empty.write_text("  \n")
    assert "is empty" in _refused(empty).problem
    header_only = tmp_path / "header.csv"
    header_only.write_text("text,label\n")
    assert "no texts" in _refused(header_only).problem

    good = _write_csv(tmp_path / "good.csv", ["review", "sentiment"], [list(p) for p in _pairs()])
    err = _refused(good, label_column="stars")
    assert "no column 'stars'" in err.problem and "'review', 'sentiment'" in err.fix
    assert "both 'review'" in _refused(good, text_column="review", label_column="review").problem


def test_a_class_with_one_text_and_rows_with_wrong_columns(tmp_path):
    rows = [list(p) for p in _pairs()] + [["Only one of these", "neutral"]]
    with pytest.raises(TLCoreError, match="'neutral' has only 1 training text"):
        load_text_dataset(_write_csv(tmp_path / "d.csv", ["text", "label"], rows))
    path = tmp_path / "ragged.csv"
    lines = [f"{t.replace(',', '')},{lab}" for t, lab in _pairs()]
    path.write_text("text,label\n" + "\n".join(lines) + "\nfine, but not quoted,pos\n")
    table = read_text_table(path)
    assert len(table.rows) == 20
    assert "line 22" in table.findings[0].problem and "double quotes" in table.findings[0].fix


# ---- dataset: splits, findings -----------------------------------------------------------------

def test_split_column_is_kept(tmp_path):
    rows = [[t, lab, "test" if i % 5 == 0 else "dev" if i % 5 == 1 else "train"] for i, (t, lab) in enumerate(_pairs())]
    data = load_text_dataset(_write_csv(tmp_path / "d.csv", ["text", "label", "fold"], rows))
    assert data.columns == {"text": "text", "label": "label", "split": "fold"}
    assert {s: len(data.split(s)) for s in ("train", "val", "test")} == {"train": 12, "val": 4, "test": 4}
    assert data.has_test and data.report.validation == "from the split column 'fold'"


def test_split_files_are_kept(tmp_path):
    folder = tmp_path / "sst"
    folder.mkdir()
    pairs = _pairs()
    _write_csv(folder / "train.tsv", ["sentence", "label"], [list(p) for p in pairs[2:-2]], delimiter="\t")
    _write_csv(folder / "dev.tsv", ["sentence", "label"], [list(p) for p in pairs[:2] + pairs[-2:]], delimiter="\t")
    (folder / "README.txt").write_text("Stanford sentiment\n")
    assert is_text_source(folder)
    data = load_text_dataset(folder)
    assert data.layout == "split-files" and len(data.split("val")) == 4 and len(data.split("train")) == 16
    assert data.split("val")[0].path == str(folder / "dev.tsv#2")
    assert [s.path for s in data.report.skipped] == ["README.txt"]


def test_random_split_is_stratified_and_reproducible(tmp_path):
    rows = [[f"{t} number {i}", lab] for i in range(3) for t, lab in _pairs()]
    path = _write_csv(tmp_path / "d.csv", ["text", "label"], rows)
    first, again, other = (load_text_dataset(path, seed=s) for s in (1, 1, 2))
    assert first.paths("val") == again.paths("val") != other.paths("val")
    assert first.report.counts["val"] == {"negative": 6, "positive": 6}
    assert first.is_text and first.hashes[first.samples[0].path] and first.fingerprint() == again.fingerprint()
    none = load_text_dataset(path, val_fraction=0)
    assert not none.split("val") and any("No validation" in w.problem for w in none.report.warnings)


def test_near_duplicates_across_splits_are_leaks(tmp_path):
    rows = [[t, lab, "train"] for t, lab in _pairs()] + [["i LOVED this film!!", "positive", "test"],
                                                           ["Dull and far too long.", "negative", "val"],
                                                           ["A fresh test text", "negative", "val"]]
    data = load_text_dataset(_write_csv(tmp_path / "d.csv", ["text", "label", "split"], rows))
    leak = next(w for w in data.report.warnings if "more than one split" in w.problem)
    assert leak.problem.startswith("2 texts are in more than one split")
    assert set(leak.paths) == {"d.csv#2", "d.csv#22", "d.csv#20", "d.csv#23"}
    assert len(data.report.leakage) == 2


def test_random_split_keeps_copies_on_the_training_side(tmp_path):
    rows = [[t, lab] for t, lab in _pairs()] * 2 + [[t.upper(), lab] for t, lab in _pairs()]
    data = load_text_dataset(_write_csv(tmp_path / "d.csv", ["text", "label"], rows))
    assert not any("more than one split" in w.problem for w in data.report.warnings)
    assert "copies of a text are kept on one side" in data.report.validation
    assert any("groups of identical or nearly identical" in w.problem for w in data.report.warnings)


def test_text_findings(tmp_path):
    long = " ".join(["word"] * 80)
    rows = ([[t, "positive"] for t in POSITIVE] * 3 + [[t, "negative"] for t in NEGATIVE[:4]]
            + [["", "negative"], [long, "positive"], ["I loved this film", "negative"]])
    data = load_text_dataset(_write_csv(tmp_path / "d.csv", ["text", "label"], rows), val_fraction=0)
    problems = [w.problem for w in data.report.warnings]
    assert "1 empty text was left out" in problems
    assert "1 text is longer than 64 tokens and will be cut" in problems
    assert any(p.startswith("The same text has the labels 'negative', 'positive'") for p in problems)
    assert not any(p.startswith("Class 'negative'") for p in problems)  # 5 texts: enough
    assert any(p.startswith("The classes are imbalanced: 'positive' has 31") for p in problems)
    assert len(data.samples) == 36
    short = load_text_dataset(tmp_path / "d.csv", val_fraction=0, sequence_length=128)
    assert not any("will be cut" in w.problem for w in short.report.warnings)


def test_small_class_finding(tmp_path):
    rows = [[t, "positive"] for t in POSITIVE] + [[t, "negative"] for t in NEGATIVE[:3]]
    data = load_text_dataset(_write_csv(tmp_path / "d.csv", ["text", "label"], rows), val_fraction=0)
    assert "Class 'negative' has only 3 training texts" in [w.problem for w in data.report.warnings]


# ---- the real sentiment sentences (../shared) ------------------------------------------------------

@pytest.mark.real_data
def test_real_sentiment_files():
    folder = require(DATASETS / "sentiment", "The sentiment sentences (yelp/amazon/imdb)")
    yelp = load_text_dataset(folder / "yelp_labelled.txt")
    assert yelp.layout == "tab-lines" and yelp.classes == ["0", "1"] and len(yelp.samples) == 1000
    assert yelp.text_of(str(folder / "yelp_labelled.txt#1")) == "Wow... Loved this place."
    everything = load_text_dataset(folder)
    assert everything.layout == "files" and len(everything.samples) == 3000
    assert [s.path for s in everything.report.skipped] == ["readme.txt"]
    assert abs(len(everything.split("val")) - 600) <= 10
    quoted = [t for t in everything.texts.values() if '"' in t]
    assert quoted, "texts keep their quotes"


def test_quoted_and_unquoted_tsv_and_multiline_csv(tmp_path):
    texts = ['He said "great"\nand left', "Awful, truly", '"Cute" movie', "ok then"] * 5
    rows = [[str(i), t, str(i % 2)] for i, t in enumerate(texts)]
    for name, delimiter in (("q.csv", ","), ("q.tsv", "\t")):
        table = read_text_table(_write_csv(tmp_path / name, ["id", "text", "label"], rows, delimiter=delimiter))
        assert [r.text for r in table.rows] == texts and table.rows[1].row_id.endswith(f"{name}#4")
    raw = tmp_path / "raw.tsv"  # not quoted: a leading quote is part of the text
    raw.write_text("sentence\tlabel\n" + "\n".join(f'"{w} is fine\t{i % 2}' for i, w in enumerate("abcdefgh")) + "\n")
    table = read_text_table(raw)
    assert len(table.rows) == 8 and table.rows[0].text == '"a is fine'
