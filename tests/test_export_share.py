"""What may be shared (tlcore.export.share; issue 10, items 4 and 9): no download names a server folder or a workspace.

The run is trained as the app trains one (a zip uploaded into a session workspace), then
exported; the 8-bit model's accuracy, measured on that run's own validation images, is
checked here too, because it needs the same trained run.
"""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from export_helpers import CLASSES, CONFIG, fitted_classifier, make_images
from tlcore.config import TrainConfig
from tlcore.runs import RunFolder


@pytest.fixture(scope="module")
def session_run(tmp_path_factory, tiny_dataset):
    """A run trained as the app trains one: a zip uploaded into a session workspace, then exported.

    The dataset is ``my_flowers.zip``; the run's settings point at the folder it was extracted
    to, inside ``<root>/sessions/<code>/datasets/``, as the Data page leaves them.
    """
    import uuid

    from tlcore.data import load_dataset
    from tlcore.export import export_run
    from tlcore.train import train
    from tlcore.workspace import Workspace

    code = "ws" + uuid.uuid4().hex  # a session code that cannot occur by chance
    ws = Workspace.for_session(code, root=tmp_path_factory.mktemp("server"))
    upload = ws.uploads_dir / "my_flowers.zip"
    with zipfile.ZipFile(upload, "w") as zf:
        for image in sorted(tiny_dataset.rglob("*.png")):
            zf.write(image, str(image.relative_to(tiny_dataset)))  # no top folder: only the zip has the name
    dataset = load_dataset(upload, workspace=ws)
    upload.unlink()  # the Data page removes the upload once it is extracted
    config = TrainConfig(data=str(dataset.root), data_name="my_flowers", backbone="VGG16", layer="block2_pool",
                         weights="none", image_size=32, epochs=3, batch_size=8)
    run_dir = ws.runs_dir / "20250101-000000-vgg16-fe"
    result = train(config, run_dir, workspace=ws)
    paths = export_run(run_dir)
    return {"code": code, "ws": ws, "run": run_dir, "paths": paths, "result": result, "dataset": dataset}


def _downloadable_files(run_dir):
    """``(name, bytes)`` of everything the Runs page offers for a run, zips also opened member by member."""
    from tlcore.export import shareable_run_config

    folder = RunFolder(run_dir)
    files = [("model.keras", folder.model_path.read_bytes()),
             ("labels.json", folder.labels_path.read_bytes()),
             ("config.json (shareable)", shareable_run_config(run_dir))]
    files += [(str(p.relative_to(run_dir)), p.read_bytes()) for p in sorted(folder.export_dir.rglob("*"))
              if p.is_file()]
    opened = []
    for name, data in files:
        if data[:2] == b"PK":
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                opened += [(f"{name}!{member}", zf.read(member)) for member in zf.namelist()]
    return files + opened


@pytest.mark.slow
def test_no_downloadable_file_names_the_workspace_or_a_server_folder(session_run):
    run_dir, code, ws = session_run["run"], session_run["code"], session_run["ws"]
    files = _downloadable_files(run_dir)
    names = {name for name, _ in files}
    assert {"model.keras!config.json", "export/model_card.md", "export/config.json", "export/model_info.json",
            "export/saved_model.zip!saved_model/saved_model.pb", "export/model_quant.tflite"} <= names, names
    secrets = [code, str(ws.root), str(ws.root.parent), str(run_dir.resolve()),
               str(session_run["dataset"].root)]
    for name, data in files:
        for secret in secrets:
            for encoding in ("utf-8", "utf-16-le"):  # also as Windows-style wide text inside binaries
                assert secret.encode(encoding) not in data, f"{name} contains {secret!r}"
        assert b"/sessions/" not in data, name
    # ... while the dataset is named as the user named it
    export_dir = RunFolder(run_dir).export_dir
    card = (export_dir / "model_card.md").read_text(encoding="utf-8")
    assert "my_flowers" in card
    shared = json.loads((export_dir / "config.json").read_text(encoding="utf-8"))
    assert shared["data"] == "my_flowers" and shared["data_name"] == "my_flowers"
    assert shared["backbone"] == "VGG16" and shared["image_size"] == 32  # the rest of the settings is kept
    assert json.loads((export_dir / "model_info.json").read_text(encoding="utf-8"))["data"] == "my_flowers"


def test_the_dataset_name_comes_from_the_zip_when_no_name_was_given(session_run):
    from tlcore.export import shareable_config

    config = RunFolder(session_run["run"]).config_dict()
    assert session_run["code"] in config["data"]  # the run's own settings keep the real folder (to reproduce it)
    config["data_name"] = None
    assert shareable_config(config)["data"] == "my_flowers"  # the zip's name, from the extraction marker
    del config["data_name"]  # a run made before data_name existed
    assert shareable_config(config)["data"] == "my_flowers"
    config = TrainConfig(data=f"/srv/app/sessions/{session_run['code']}", backbone_file="/home/me/My Net.keras",
                         weights="/srv/app/sessions/abc/uploads/w.h5")
    shared = shareable_config(config)
    assert shared["data"] == "dataset" and shared["backbone_file"] == "My Net.keras" and shared["weights"] == "w.h5"
    assert shareable_config(TrainConfig(data="/data/xrays.zip"))["data"] == "xrays"
    assert shareable_config(TrainConfig(data="/data/xrays/", weights="imagenet"))["weights"] == "imagenet"


def test_the_8bit_model_is_measured_against_the_float_model(session_run):
    from tlcore.export import export_accuracy

    accuracy = export_accuracy(session_run["run"])
    evaluation = session_run["result"].evaluation
    val = session_run["dataset"].split("val")
    assert accuracy is not None and accuracy["split"] == "val" and accuracy["images"] == len(val) > 0
    # the float model, measured again at export, scores what training's evaluation scored
    assert accuracy["float"] == pytest.approx(evaluation["accuracy"])
    assert 0 <= accuracy["tflite_int8"] <= 1 and 0 <= accuracy["disagree"] <= len(val)
    info = json.loads(session_run["paths"]["info"].read_text(encoding="utf-8"))
    assert info["accuracy"] == accuracy
    card = session_run["paths"]["card"].read_text(encoding="utf-8")
    line = (f"float: {100 * accuracy['float']:.1f} %, 8-bit TFLite: {100 * accuracy['tflite_int8']:.1f} % "
            f"on {len(val)} validation images")
    assert line in card
    assert "nearly as accurate" not in card


def test_the_features_table_names_no_server_folder(session_run, tmp_path):
    from tlcore.features import featurize

    out = featurize(RunFolder(session_run["run"]).config(), tmp_path / "features.parquet",
                    workspace=session_run["ws"])
    import pandas as pd

    assert session_run["code"].encode() not in out.read_bytes()
    from tlcore.feature_table import sidecar_path

    assert session_run["code"] not in sidecar_path(out).read_text()  # downloaded beside the table
    frame = pd.read_parquet(out)  # the bytes may be compressed: the values too
    text_columns = [c for c in frame.columns if frame[c].dtype == object and c != "features"]
    assert not frame[text_columns].map(lambda v: session_run["code"] in str(v)).any().any()


def test_the_cards_data_report_keeps_its_sentences_but_no_server_folder():
    from tlcore.export.share import shareable_report

    root = "/srv/app/sessions/Secret123/datasets/0f3a/my_flowers"
    report = {"source": "/srv/app/sessions/Secret123/uploads/my_flowers.zip", "root": root,
              "skipped": [{"path": "cats/notes.txt", "reason": "not an image"},
                          {"path": f"{root}/odd.png", "reason": "not a regular file"}],
              "warnings": ["The val folder has no usable images; add images to val/<class name>/ to choose them.",
                           f"Could not read {root}/dogs/3.png."]}
    shared = shareable_report(report, None)
    assert shared["source"] == "my_flowers" and "root" not in shared
    assert shared["warnings"][0] == report["warnings"][0]  # a sentence with a slash is kept whole
    assert shared["warnings"][1] == "Could not read dogs/3.png."
    assert [s["path"] for s in shared["skipped"]] == ["cats/notes.txt", "odd.png"]
    assert "Secret123" not in json.dumps(shared) and "/srv" not in json.dumps(shared)


def test_a_findings_problem_fix_and_paths_lose_the_server_folders_too():
    from tlcore.export.share import shareable_report

    root = "/srv/app/sessions/Secret123/datasets/0f3a/my_flowers"
    report = {"source": f"{root}.zip", "root": root,
              "warnings": [{"problem": f"Could not read {root}/dogs/3.png", "fix": f"replace {root}/dogs/3.png",
                            "paths": [f"{root}/dogs/3.png", "cats/1.png"]}]}
    shared = shareable_report(report, "my_flowers")
    assert shared["warnings"] == [{"problem": "Could not read dogs/3.png", "fix": "replace dogs/3.png",
                                   "paths": ["dogs/3.png", "cats/1.png"]}]
    assert "Secret123" not in json.dumps(shared)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return fitted_classifier(make_images(tmp_path_factory.mktemp("share")))[0]


def test_a_workspace_code_left_in_any_setting_is_cut_from_the_shared_files(model, tmp_path):
    from tlcore.export import export_model

    code = "Qx7secretCode42"
    where = f"/srv/app/sessions/{code}"
    config = dict(CONFIG.to_dict(), data=f"{where}/datasets/0f3a", fine_tune_from=f"layer named after {where}/x")
    report = {"source": f"{where}/uploads/shapes.zip", "root": f"{where}/datasets/0f3a",
              "warnings": [f"A note naming {where}/cache/features (made up)."]}
    paths = export_model(model, tmp_path, CLASSES, formats=["keras"],
                         card={"config": config, "data_report": report})
    for key in ("card", "info", "config"):
        text = paths[key].read_text(encoding="utf-8")
        assert code not in text and "/sessions/" not in text, (key, text)
    assert "A note naming cache/features (made up)." in paths["card"].read_text(encoding="utf-8")


def test_a_subject_pattern_and_the_edits_are_shared_as_written_but_a_subject_file_by_its_name():
    from tlcore.export.share import shareable_config, shareable_report

    secret = "/srv/ws/sessions/abc123SECRET"
    pattern = TrainConfig(data=f"{secret}/datasets/x", group_by=r"^(patient\d+)_",
                          edits=[{"path": "train/a/1.png", "action": "relabel", "label": "b"}])
    shared = shareable_config(pattern)
    assert shared["group_by"] == r"^(patient\d+)_"  # backslashes are no path: the pattern stays usable
    assert shared["edits"] == [{"path": "train/a/1.png", "action": "relabel", "label": "b"}]
    csv = shareable_config(TrainConfig(data="x", group_by=f"{secret}/uploads/groups-p.csv"))
    assert csv["group_by"] == "groups-p.csv"
    report = shareable_report({"source": f"{secret}/datasets/x", "root": f"{secret}/datasets/x",
                               "subjects": {"method": "csv", "file": f"{secret}/uploads/groups-p.csv"}}, "x")
    assert "SECRET" not in json.dumps(report) and report["subjects"]["file"] == "groups-p.csv"


def test_a_config_saved_before_subject_splits_replays_with_a_random_split():
    old = {k: v for k, v in TrainConfig(data="x").to_dict().items() if k not in ("group_by", "edits")}
    replayed = TrainConfig.from_dict(old)
    assert replayed.group_by == "none" and replayed.edits == []
    assert TrainConfig.from_dict(TrainConfig(data="x").to_dict()).group_by == "auto"
