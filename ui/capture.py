"""Making a dataset in the browser: name the classes, take pictures (shots, bursts, files), delete bad ones.

Every picture goes straight into the workspace through :class:`tlcore.CaptureFolder`, so a
closed tab or a second browser on the same workspace finds them all. The Data page and the
classroom page both draw this panel; what happens with the finished dataset is theirs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import streamlit as st

from tlcore import MIN_PICTURES, CaptureFolder, capture_folders, new_recording

from .calls import call, error_message
from .datasets import file_stamp, thumbnail
from .state import load_state, save_state, workspace

_SHOWN = 16  # thumbnails of the chosen class, newest first
_STATE = "capture_dataset"  # the dataset being made, saved with the workspace's choices


def current_capture() -> CaptureFolder | None:
    """The dataset this workspace is making with the camera, or None."""
    root = load_state().get(_STATE)
    if not root or not Path(root).is_dir():
        return None
    try:
        return CaptureFolder.open(workspace(), root)
    except Exception:
        return None


def _new_dataset_form(key: str, default_name: str, primary: bool) -> None:
    with st.form(f"{key}_new", clear_on_submit=True, border=False):
        cols = st.columns([3, 1], vertical_alignment="bottom")
        name = cols[0].text_input("Name a new set of pictures", placeholder=default_name, key=f"{key}_new_name")
        if cols[1].form_submit_button("Start", icon=":material/add:", type="primary" if primary else "secondary"):
            made = call(CaptureFolder.create, workspace(), name.strip() or default_name, what="starting the dataset")
            if made is not None:
                save_state(**{_STATE: str(made.root)})
                st.rerun()


def _choose_dataset(key: str, default_name: str) -> CaptureFolder | None:
    folder = current_capture()
    others = [f for f in capture_folders(workspace()) if folder is None or f.root != folder.root]
    if folder is None:
        _new_dataset_form(key, default_name, primary=True)
    else:
        with st.expander("Start another set of pictures, or go on with an earlier one", icon=":material/add:"):
            _new_dataset_form(key, default_name, primary=False)
    if others:
        where = st.container() if folder is None else st.expander("Earlier sets of pictures", icon=":material/history:")
        with where:
            pick = st.selectbox("Go on with one made before", [None, *others], key=f"{key}_pick",
                                format_func=lambda f: "choose…" if f is None else
                                f"{f.name} ({sum(f.counts().values())} pictures)")
        if pick is not None:
            save_state(**{_STATE: str(pick.root)})
            st.session_state.pop(f"{key}_pick", None)
            st.rerun()
    return folder


def _add_class(folder: CaptureFolder, key: str) -> None:
    with st.form(f"{key}_class", clear_on_submit=True, border=False):
        cols = st.columns([3, 1], vertical_alignment="bottom")
        name = cols[0].text_input("Name a class", placeholder="e.g. thumbs up", key=f"{key}_class_name",
                                  help="One class per kind of thing the model should tell apart.")
        if cols[1].form_submit_button("Add class", icon=":material/add:"):
            added = call(folder.add_class, name, what="adding the class")
            if added:
                st.session_state[f"{key}_active"] = added


def _save_widget(folder: CaptureFolder, cls: str, widget: str, key: str) -> None:
    """on_change of a camera or file widget: store what is new in it before the page is drawn again,
    so the counts shown are already right (each widget keeps its last value across reruns)."""
    value = st.session_state.get(widget)
    uploads = value if isinstance(value, list) else [value]
    seen = st.session_state.setdefault(f"{key}_seen", set())
    fresh = [u for u in uploads if u is not None and u.file_id not in seen]
    if not fresh:  # a widget emptied, or told again of what it holds
        return
    problems = []
    for upload in fresh:
        seen.add(upload.file_id)
        try:
            folder.add(cls, [upload.getvalue()])
        except Exception as err:  # shown under the widget on the next run
            problems.append(f"“{upload.name}”: " + error_message(err, f"adding “{upload.name}”"))
    st.session_state[f"{key}_problems"] = (cls, problems)  # shown until this class's next shot or file


def _take_pictures(folder: CaptureFolder, cls: str, key: str) -> None:
    shot_tab, burst_tab, file_tab = st.tabs([":material/photo_camera: One picture", ":material/burst_mode: Record",
                                             ":material/upload: From files"])
    with shot_tab:
        widget = f"{key}_shot_{cls}"
        st.camera_input(f"Take a picture of “{cls}”", key=widget, on_change=_save_widget,
                        args=(folder, cls, widget, key),
                        help="Your browser asks once for the camera. No camera, or it was refused? "
                             "Allow it in the address bar, or use *From files*.")
    with burst_tab:
        st.caption(f"Press **Start** and move the thing a little: about 4 pictures a second go into “{cls}” "
                   "until you press **Stop** (at most 60).")
        from .camera import record_burst  # streamlit-webrtc loads only when this tab is drawn

        # One recording is one script run (record_burst's loop): its pictures are one subject, kept
        # on one side of the validation split and compared with other recordings for "I don't know".
        recording = new_recording()
        record_burst(f"{key}_burst_{cls}", lambda frames: folder.add(cls, frames, recording=recording))
    with file_tab:
        widget = f"{key}_files_{cls}"
        st.file_uploader(f"Add picture files to “{cls}”", accept_multiple_files=True, key=widget,
                         on_change=_save_widget, args=(folder, cls, widget, key),
                         type=["jpg", "jpeg", "png", "gif", "bmp", "tif", "tiff", "webp"])
    shown_for, problems = st.session_state.get(f"{key}_problems") or (None, [])
    for problem in problems if shown_for == cls else []:
        st.error(problem, icon=":material/broken_image:")


def _thumbnails(folder: CaptureFolder, cls: str, key: str) -> int:
    """The class's newest pictures, each with Delete; returns how many pictures the class has."""
    everything = folder.pictures(cls)
    pictures = everything[::-1][:_SHOWN]
    if not pictures:
        st.caption(f"No pictures of “{cls}” yet.")
        return 0
    cols = st.columns(8)
    for i, path in enumerate(pictures):
        with cols[i % 8]:
            thumb = thumbnail(str(path), 120, file_stamp(str(path)))
            if thumb is not None:
                st.image(thumb, width="stretch")
            if st.button("Delete", key=f"{key}_del_{cls}_{path.name}", icon=":material/delete:", type="tertiary",
                         help="A blurred or wrong shot teaches the model the wrong thing: delete it."):
                folder.remove(cls, path.name)
                st.rerun()
    more = len(everything) - len(pictures)
    if more > 0:
        st.caption(f"…and {more} older picture(s).")
    return len(everything)


def capture_panel(on_use: Callable[[CaptureFolder], None] | None, *, key: str = "capture",
                  default_name: str = "my classes", min_pictures: int = MIN_PICTURES) -> CaptureFolder | None:
    """Draw the dataset maker; returns the dataset being made (None before one is started).

    ``on_use`` is called when the user presses *Use these pictures* (None: no such button,
    the caller decides what to do with :meth:`CaptureFolder.missing`).
    """
    folder = _choose_dataset(key, default_name)
    if folder is None:
        st.caption("Name your set of pictures and press **Start**; then add a class for each kind of thing.")
        return None
    counts = folder.counts()
    st.markdown(f"**{folder.name}** · " + (", ".join(f"{c}: {n}" for c, n in counts.items()) or "no classes yet"))
    _add_class(folder, key)
    classes = folder.classes()
    if not classes:
        return folder
    active = st.radio("Add pictures to", classes, horizontal=True, key=f"{key}_active",
                      format_func=lambda c: f"{c} ({counts.get(c, 0)})")
    with st.container(border=True):
        st.markdown(f"**{active}** · {len(folder.pictures(active))} pictures")
        _take_pictures(folder, active, key)
        has_pictures = _thumbnails(folder, active, key) > 0
        if st.button(f"Delete the class “{active}”", key=f"{key}_drop_{active}", icon=":material/delete_forever:",
                     type="tertiary", disabled=has_pictures):
            folder.remove_class(active)
            st.session_state.pop(f"{key}_active", None)
            st.rerun()
    missing = folder.missing(min_pictures)
    if missing:
        st.info("Still needed: " + "; ".join(missing) + ".", icon=":material/pending:")
    cols = st.columns(2)
    if on_use is not None and cols[0].button("Use these pictures", type="primary", icon=":material/check:",
                                             disabled=bool(missing), key=f"{key}_use"):
        on_use(folder)
    if sum(counts.values()):
        cols[1].download_button("Download as a zip", folder.zip_bytes(), file_name=f"{folder.root.name}.zip",
                                mime="application/zip", icon=":material/download:", key=f"{key}_zip",
                                on_click="ignore")
    return folder


__all__ = ["capture_panel", "current_capture"]
