"""Step 1 — Data: upload a zip, pick a folder or make the pictures with the camera; see the classes,
samples and any problems."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

import ui
from tlcore import (data_roots, dataset_name, describe_limits, is_within, load_any, resolve_in_roots,
                    text_support_problem, write_bytes_atomic)

ui.page_header(
    "data",
    "Give Transfer Studio your labeled pictures: **one folder per class**, named after the class "
    "(for example `cats/` and `dogs/`). Upload them as a zip, or pick a folder that is already on this server. "
    "**Sentences work too:** upload a CSV, TSV or text file with a text column and a label column.",
)

st.page_link(ui.PAGE_BY_URL["classroom"].path, label="Teaching a class? Make a model in 3 steps with the camera",
             icon=":material/school:", query_params={ui.SESSION_PARAM: ui.session_id()} if ui.session_id() else None)
ws = ui.workspace()
config = ui.current_config()
load_failed = False  # a choice just failed: its error shows, and the old report below does not

with st.expander("How should my images be organised?", icon=":material/help:"):
    st.markdown(
        """
```
my_images/                 my_images/
  cats/                      train/
    cat001.jpg                 cats/ …   dogs/ …
    …                  or    val/        (optional: your own validation split)
  dogs/                        cats/ …   dogs/ …
    dog001.jpg               test/       (optional: kept aside for a final check)
```
* Each folder name becomes a class name. JPEG, PNG, GIF, BMP, TIFF and WebP work.
* About 20 or more pictures per class is a good start; more is better.
* If you have no `val/` folder, a share of each class is set aside automatically to check the model
  on pictures it never trained on.
"""
    )


def _load(source: str | Path, what: str, name: str | None = None, remember: str | None = None):
    """Load (and for a zip, safely extract) a dataset with a live progress bar."""
    bar = st.progress(0.0, text=f"Reading {what}…")

    def progress(done=0, total=0, message="", *_, **__):
        try:
            fraction = min(1.0, float(done) / float(total)) if total else 0.0
        except (TypeError, ValueError):
            fraction = 0.0
        label = message or "Checking images"
        bar.progress(fraction, text=f"{label}: {done} of {total}" if total else label)

    if str(source) != ui.dataset_source():  # another file's text and label columns mean nothing here
        ui.update_config(text_column=None, label_column=None)
    columns = ui.current_config()
    dataset = ui.call(
        load_any, str(source), val_fraction=float(config.val_fraction), seed=int(config.seed),
        workspace=ws, progress=progress, text_column=columns.text_column, label_column=columns.label_column,
        sequence_length=columns.sequence_length,
        what=f"reading {what}", remember=remember,
    )
    bar.empty()
    if dataset is not None:
        ui.remember_dataset(dataset, name, source if dataset.is_text else None)
        ui.flash(f"Loaded {len(ui.class_names(dataset))} classes from {what}.")
        st.rerun()  # so the sidebar and every page show the new dataset at once
    return dataset


# --------------------------------------------------------------------------- choose the images
st.header("1 · Choose your images", anchor=False)
tab_upload, tab_text, tab_folder, tab_camera, tab_earlier = st.tabs(
    [":material/upload: Upload a zip", ":material/notes: Upload sentences", ":material/folder_open: Folder on this server",
     ":material/photo_camera: Make them with the camera", ":material/history: Used before"]
)

with tab_upload:
    uploaded = st.file_uploader(
        "Drag and drop a .zip of your class folders",
        type=["zip"],
        key="data_upload",
        help="Make the zip from the folder that holds your class folders. Files the app cannot use are listed in the report below.",
    )
    limits = ui.call(describe_limits, what="reading this server's upload limits")
    if limits:
        # Two different limits: the uploader's line above is the zip file itself (server.maxUploadSize
        # in .streamlit/config.toml); tlcore's limits apply to what is inside once unpacked.
        upload_gb = float(st.get_option("server.maxUploadSize")) / 1024
        st.caption(f"Two different limits: the zip file itself may be up to {upload_gb:,.1f} GB; "
                   f"unpacked, it may hold up to {limits['max_files']:,} files and "
                   f"{limits['max_total_bytes'] / 1024**3:,.1f} GB in all, with pictures of up to "
                   f"{limits['max_image_pixels'] / 1e6:,.0f} megapixels each.")
    if uploaded is not None:
        if st.session_state.get("_data_upload_id") != uploaded.file_id:
            st.session_state["_data_upload_id"] = uploaded.file_id
            st.session_state.pop("_data_upload_error", None)
            target = ws.uploads_dir / ui.safe_filename(uploaded.name, "dataset.zip")
            if not target.name.lower().endswith(".zip"):
                target = target.with_name(target.name + ".zip")
            if ui.attempt(write_bytes_atomic, target, uploaded.getvalue(), what="saving the upload",
                          remember="_data_upload_error"):
                try:
                    # tlcore extracts the zip into the workspace; the zip itself is not needed afterwards.
                    _load(target, f"“{uploaded.name}”", Path(uploaded.name).stem, remember="_data_upload_error")
                finally:
                    target.unlink(missing_ok=True)
            load_failed = True  # _load reruns the page when it worked
        elif st.session_state.get("_data_upload_error"):
            st.error(st.session_state["_data_upload_error"], icon=":material/error:")
            load_failed = True

with tab_text:
    text_upload = st.file_uploader(
        "Drag and drop a CSV, TSV or text file of labelled sentences",
        type=[suffix.lstrip(".") for suffix in ui.TEXT_SUFFIXES],
        key="data_text_upload",
        help="One sentence per row, with its label in another column (a header row is optional); or lines of "
        "`sentence<TAB>label`. An optional `split` column (train/val/test) keeps your own split.",
    )
    st.caption("For example a CSV with the columns `text,label` — `great film,positive` — or a TSV without a header. "
               "The columns are found from the file; you can change them below once it is read.")
    if text_upload is not None:
        if st.session_state.get("_data_text_upload_id") != text_upload.file_id:
            st.session_state["_data_text_upload_id"] = text_upload.file_id
            st.session_state.pop("_data_text_upload_error", None)
            saved = ui.call(ui.save_text_upload, text_upload.name, text_upload.getvalue(), what="saving the upload",
                            remember="_data_text_upload_error")
            if saved is not None:
                _load(saved, f"“{text_upload.name}”", Path(text_upload.name).stem, remember="_data_text_upload_error")
            load_failed = True  # _load reruns the page when it worked
        elif st.session_state.get("_data_text_upload_error"):
            st.error(st.session_state["_data_text_upload_error"], icon=":material/error:")
            load_failed = True

with tab_folder:
    roots = data_roots(ws)
    candidates: list[str] = []
    for root in roots:
        if root == ws.root or not root.is_dir():
            continue
        for child in sorted(root.iterdir()):
            # a symlink pointing out of the data folder is not offered (typing it is refused too)
            if ((child.is_dir() or ui.is_text_file(child)) and not child.name.startswith((".", "_"))
                    and is_within(child, root)):
                candidates.append(str(child))  # a folder of pictures, or a file of sentences
    st.caption("Folders you may use: " + ", ".join(f"`{r}`" for r in roots if r != ws.root) + " — and your own uploads.")
    col_pick, col_type = st.columns(2)
    with col_pick:
        picked = st.selectbox(
            "Pick a folder (or a file of sentences)",
            candidates,
            index=None,
            placeholder="choose a folder…" if candidates else "no folders found",
            format_func=lambda p: Path(p).name,
            key="data_folder_pick",
        )
    with col_type:
        typed = st.text_input("…or type its path", key="data_folder_typed", placeholder="e.g. shapes or /data/xrays")
    if st.button("Use this folder", type="primary", icon=":material/check:", disabled=not (picked or typed.strip()), key="data_use_folder"):
        folder = ui.call(resolve_in_roots, typed.strip() or picked, roots, what="finding the folder")
        if folder is not None:
            _load(folder, f"the folder “{folder.name}”", folder.name)
        load_failed = True  # _load reruns the page when it worked

with tab_camera:
    st.caption("Name your classes, then take pictures of each with your webcam — one at a time or a few a second — "
               "or add picture files. Everything is saved as you go; add more later and train again.")
    ui.capture_panel(lambda folder: _load(folder.root, f"“{folder.name}”", folder.name), key="data_capture")
    if st.session_state.get("data_capture_use"):
        load_failed = True  # _load reruns the page when it worked

with tab_earlier:
    earlier = ui.earlier_uploads()  # only uploads that loaded; the one in use first (preselected)
    current_upload = ui.upload_folder(ui.dataset_source())
    if st.session_state.get("_data_earlier_in_use") != current_upload:  # a new dataset in use: preselect it
        st.session_state["_data_earlier_in_use"] = current_upload
        st.session_state.pop("data_earlier", None)
    names = {folder: dataset_name(ui.text_file_in(folder) or folder) + ("  (in use)" if folder == current_upload else "")
             for folder in earlier}
    if not earlier:
        st.caption("Datasets you upload are kept here, so you can come back to them later.")
    else:
        chosen = st.selectbox("Earlier uploads", earlier, index=0, format_func=names.__getitem__, key="data_earlier")
        if st.button("Use this dataset", icon=":material/check:", key="data_use_earlier"):
            chosen_source = ui.text_file_in(chosen) or Path(chosen)  # an upload of sentences is its one file
            chosen_name = dataset_name(chosen_source)
            _load(chosen_source, f"“{chosen_name}”", chosen_name)
            load_failed = True  # _load reruns the page when it worked

with st.expander("Validation settings", icon=":material/tune:"):
    val_fraction = st.slider(
        "Share of each class kept aside for validation",
        0.05, 0.5, step=0.05,
        key=ui.widget_default("data_val_fraction", float(config.val_fraction)),
        help="Only used when your data has no val/ folder. These pictures are never trained on; "
        "they tell you how well the model does on new pictures.",
    )
    if abs(val_fraction - config.val_fraction) > 1e-9:
        config = ui.update_config(val_fraction=float(val_fraction))
    config = ui.subject_setting(config)

# --------------------------------------------------------------------------- what we found
if load_failed:
    # The report of the dataset chosen before would read as the report of the refused one.
    previous = ui.dataset_display_name(ui.dataset_source())
    if previous:
        st.caption(f"Your images are still “{previous}”, chosen before; fix the problem above, or choose them again "
                   "to see their report.")
    st.stop()
dataset = ui.current_dataset()
found_header = f"2 · What we found in “{ui.dataset_display_name(ui.dataset_source())}”"
text_file = ui.is_text_file(ui.dataset_source())
if text_file:  # sentences: which columns hold the texts and the labels, also when the choice fails
    st.header(found_header, anchor=False)
    if (missing := text_support_problem()) is not None:  # the texts can be read and checked, not yet trained on
        st.warning(f"{missing.problem} Training on texts needs it. Fix: {missing.fix}", icon=":material/warning:")
    if not ui.columns_section(ui.dataset_source()):
        st.stop()
if dataset is None and ui.dataset_source():
    st.stop()  # the images are chosen but cannot be read with these settings: the error above says why
if dataset is None:
    st.info("No images chosen yet. Upload a zip or pick a folder above — try the **shapes** sample in *Folder on this server*.",
            icon=":material/arrow_upward:")
    st.stop()

classes = ui.class_names(dataset)
report = dataset.report
samples = ui.samples_of(dataset)
splits = ["train", "val", "test"]
counts: dict[str, dict[str, int]] = {split: {c: 0 for c in classes} for split in splits}
for sample in samples:
    counts.setdefault(sample.split, {c: 0 for c in classes})[classes[sample.label]] += 1
skipped = list(report.skipped)
items = "texts" if dataset.is_text else "images"  # what the samples are, in the page's words

if not text_file:
    st.header(found_header, anchor=False)
m1, m2, m3, m4 = st.columns(4)
m1.metric("Classes", len(classes))
m2.metric(f"Training {items}", sum(counts.get("train", {}).values()))
m3.metric(f"Validation {items}", sum(counts.get("val", {}).values()), help="Checked after each epoch; never trained on.")
m4.metric("Rows left out" if dataset.is_text else "Files left out", len(skipped),
          help=f"Rows or files that are not usable {items}; see the report below.")

st.plotly_chart(ui.counts_figure(counts, classes), width="stretch", key="data_counts_chart")

# --------------------------------------------------------------------------- report
st.header("3 · Texts check" if dataset.is_text else "3 · Files check", anchor=False)


warnings = list(report.warnings)
skipped_real = [s for s in skipped if not s.ignored]
skipped_clutter = [s for s in skipped if s.ignored]
if report.validation:
    st.caption(f"Validation {items}: {report.validation}.")
for warning in warnings:  # each a Finding: the problem, its fix, the files concerned
    st.warning(ui.finding_text(warning.problem, warning.fix), icon=":material/warning:")
if not warnings:
    st.success("No problems with the texts: no empty or repeated texts, none too long, and every class has enough."
               if dataset.is_text else
               "No problems with the files: every picture could be read, no two files are identical, and every class "
               "has enough pictures.",
               icon=":material/check_circle:")
if skipped_real:
    with st.expander(f"Files left out ({len(skipped_real)}), why, and how to fix them", icon=":material/block:"):
        st.dataframe(
            [{"file": s.path, "reason": s.reason, "how to fix": s.fix} for s in skipped_real],
            hide_index=True, width="stretch",
        )
leakage = list(report.leakage)
if leakage:
    with st.expander(f"{items.capitalize() if dataset.is_text else 'Pictures'} in more than one split ({len(leakage)})",
                     icon=":material/content_copy:"):
        st.dataframe(
            [{items if dataset.is_text else "files": " = ".join(
                f"{ui.sample_text(dataset, p)} ({sp})" for p, sp in zip(item.get("paths", []), item.get("splits", [])))}
             for item in leakage],
            hide_index=True, width="stretch",
        )
duplicates = list(report.duplicates)
if duplicates:
    with st.expander(f"Identical {items if dataset.is_text else 'pictures'} ({len(duplicates)} groups)",
                     icon=":material/content_copy:"):
        st.dataframe([{f"identical {'texts' if dataset.is_text else 'files'}": " = ".join(
            ui.sample_text(dataset, p) for p in group)} for group in duplicates], hide_index=True, width="stretch")
if skipped_clutter:
    st.caption(f"{len(skipped_clutter)} system file(s) (like `__MACOSX` or `.DS_Store`) were skipped automatically.")
with st.expander("Full report (text)", icon=":material/description:"):
    st.code(report.to_text(), language=None)

# --------------------------------------------------------------------------- deep check
st.header(f"4 · Can you trust your {'texts' if dataset.is_text else 'pictures'}?", anchor=False)
ui.check_panel(dataset)  # texts too: suspects, near-copies, outliers shown as quoted texts (ui.check_views)

# --------------------------------------------------------------------------- samples
st.header(f"5 · A look at your {'texts' if dataset.is_text else 'pictures'}", anchor=False)
per_class = 8
shown_classes = classes
if len(classes) > 12:
    shown_classes = st.multiselect("Classes to show", classes, default=classes[:12], key="data_show_classes",
                                   help="You have many classes; pick the ones to look at.")
if dataset.is_text:
    ui.text_samples(dataset, classes, shown_classes, counts)
    shown_classes = []  # no thumbnails
for cls in shown_classes:
    paths = [str(s.path) for s in samples if ui.sample_label(s, classes) == cls][:per_class]
    st.markdown(f"**{cls}** · {sum(counts.get(sp, {}).get(cls, 0) for sp in splits)} images")
    cols = st.columns(per_class)
    for col, path in zip(cols, paths):
        thumb = ui.thumbnail(path, 160, ui.file_stamp(path))
        if thumb is not None:
            col.image(thumb, width="stretch")

ui.next_step("model", "Next: choose the model")
