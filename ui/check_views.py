"""How each part of a data check is shown: the pictures it names, and what the user can do about them.

Every decision (relabel, exclude, keep) goes through :mod:`ui.edits` and never touches the
user's files. Paths in a check are relative to the dataset's folder.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import streamlit as st

from . import edits as user_edits
from .calls import finding_text, plain
from .charts import SPLIT_NAMES
from .datasets import file_stamp, thumbnail

_PER_ROW = 4
_SHOWN = 24  # pictures per list before "show all"
_KINDS = {"leak": "In more than one split (leakage)", "conflict": "Same picture, different labels",
          "duplicate": "Copies within one class"}


def _abs(dataset, path: str) -> str:
    return str(Path(dataset.root) / path)


def _picture(col, dataset, path: str, caption: str) -> None:
    thumb = thumbnail(_abs(dataset, path), 220, file_stamp(_abs(dataset, path)))
    if thumb is not None:
        col.image(thumb, width="stretch")
    col.caption(caption)


def _decide(items: list[tuple[str, str, str | None]]) -> None:
    user_edits.change(items)
    st.rerun()


def _pct(value) -> str:
    return f"{100 * float(value):.0f} %"


def _undecided(result: dict, section: str, key: str, decided: set[str]) -> list[dict]:
    """The pictures a section lists that the user has not decided about yet."""
    return [item for item in result.get(section, {}).get(key, []) if item["path"] not in decided]


def tab_titles(result: dict, decided: set[str], edits: list[dict]) -> list[str]:
    n_sus = len(_undecided(result, "labels", "suspects", decided))
    n_dup = len(result.get("near_duplicates", []))
    n_out = len(_undecided(result, "outliers", "items", decided))
    n_shift = sum(1 for r in result.get("shift", []) if r.get("flagged"))
    return [f"Wrong labels? ({n_sus})", f"Near-duplicates ({n_dup})", f"Outliers ({n_out})",
            "Splits" + (f" ({n_shift} ⚠)" if n_shift else ""), "More pictures?", "Map", f"Your changes ({len(edits)})"]


def header(result: dict, edits: list[dict], config) -> None:
    labels = result.get("labels", {})
    leaks = [g for g in result.get("near_duplicates", []) if g.get("kind") == "leak"]
    m = st.columns(4)
    m[0].metric("Pictures checked", f"{result.get('num_images', 0):,}")
    m[1].metric("May be labelled wrong", labels.get("num_suspects", 0),
                help="Pictures another class fits much better, from a model that never saw them "
                     f"({labels.get('folds')}-fold out-of-fold predictions, ranked by cleanlab's confident learning).")
    m[2].metric("Leaks between splits", len(leaks), help="Groups of near-identical pictures in more than one split.")
    m[3].metric("Outliers", result.get("outliers", {}).get("num_items", 0),
                help="Pictures unlike anything else in their class or the dataset.")
    cached = " (features read from the cache)" if result.get("features_cached") else ""
    st.caption(f"Checked with the features of {result.get('backbone')} cut at `{result.get('layer')}` "
               f"({result.get('image_size')} px) in {result.get('seconds', 0):.1f} s{cached}. Out-of-fold accuracy of "
               f"a simple classifier on them: {_pct(labels.get('oof_accuracy', 0))}.")
    applied = sorted((e["path"], e["action"], e.get("label")) for e in result.get("edits", []))
    now = sorted((e["path"], e["action"], e.get("label")) for e in edits)
    if applied != now:
        st.info("Your changes differ from the ones this check saw. The next run uses your changes; "
                "**check again** to see their effect here.", icon=":material/update:")
    for f in result.get("findings", []):
        st.warning(finding_text(f["problem"], f["fix"]), icon=":material/warning:")
    if not result.get("findings"):
        st.success("The check found nothing that needs your attention.", icon=":material/check_circle:")


def _grid(dataset, items: list[dict], key: str, caption, buttons) -> None:
    show_all = len(items) <= _SHOWN or st.toggle(f"Show all {len(items)}", key=f"{key}_all")
    shown = items if show_all else items[:_SHOWN]
    for start in range(0, len(shown), _PER_ROW):
        cols = st.columns(_PER_ROW)
        for col, item in zip(cols, shown[start:start + _PER_ROW]):
            with col.container(border=True):
                _picture(st, dataset, item["path"], caption(item))
                for label, decision, icon in buttons(item):
                    if st.button(label, key=f"{key}_{decision[1]}_{item['path']}", icon=icon, width="stretch"):
                        _decide([decision])


def suspects(result: dict, dataset, decided: set[str]) -> None:
    items = _undecided(result, "labels", "suspects", decided)
    if not items:
        st.success("No picture looks labelled wrong (or you decided about every one).", icon=":material/check_circle:")
        return
    st.caption("Most likely wrong first. *How sure* is the probability of the suggested class from a model that "
               "never saw the picture. Your files are never changed: decisions are kept in the app.")
    b = st.columns(3)
    if b[0].button(f"Relabel all {len(items)} as suggested", key="sus_all_relabel", icon=":material/label:"):
        _decide([(s["path"], "relabel", s["suggested"]) for s in items])
    if b[1].button(f"Exclude all {len(items)}", key="sus_all_exclude", icon=":material/block:"):
        _decide([(s["path"], "exclude", None) for s in items])
    if b[2].button(f"Keep all {len(items)} as labelled", key="sus_all_keep", icon=":material/done_all:"):
        _decide([(s["path"], "keep", None) for s in items])
    _grid(dataset, items, "sus",
          lambda s: f"**{plain(s['path'])}** ({SPLIT_NAMES.get(s['split'], s['split']).lower()}) · labelled "
                    f"**{plain(s['given'])}**, looks like **{plain(s['suggested'])}** ({_pct(s['confidence'])} sure)",
          lambda s: [(f"Relabel as {s['suggested']}", (s["path"], "relabel", s["suggested"]), ":material/label:"),
                     ("Exclude", (s["path"], "exclude", None), ":material/block:"),
                     ("Keep as is", (s["path"], "keep", None), ":material/check:")])


def duplicates(result: dict, dataset, decided: set[str]) -> None:
    groups = result.get("near_duplicates", [])
    if not groups:
        st.success("No near-duplicates: no picture is a resized, re-encoded or cropped copy of another.",
                   icon=":material/check_circle:")
        return
    st.caption("Pictures that are copies of each other by content (resized, re-encoded, cropped or recoloured "
               "copies count). A copy in another split is leakage: the model is scored on a picture it has seen.")
    for i, group in enumerate(groups[:_SHOWN]):
        members = group["members"]
        with st.container(border=True):
            st.markdown(f"**{_KINDS.get(group['kind'], group['kind'])}** · similarity {group.get('similarity', 0):.2f}")
            cols = st.columns(max(4, min(len(members), 6)))  # small pictures side by side, even for a pair
            for col, m in zip(cols, members):
                mark = " · excluded" if m["path"] in decided else ""
                _picture(col, dataset, m["path"], f"{plain(m['path'])} · {plain(m['label'])} · "
                                                  f"{SPLIT_NAMES.get(m['split'], m['split']).lower()}{mark}")
            extra = [m for m in members if m["split"] == "train"] if group["kind"] == "leak" else members[1:]
            extra = [m for m in extra if m["path"] not in decided]
            what = "the training copies" if group["kind"] == "leak" else "all but the first"
            if extra and st.button(f"Exclude {what} ({len(extra)})", key=f"dup_{i}", icon=":material/block:"):
                _decide([(m["path"], "exclude", None) for m in extra])


def outliers(result: dict, dataset, decided: set[str]) -> None:
    items = _undecided(result, "outliers", "items", decided)
    if not items:
        st.success("No picture stands out as unlike the others.", icon=":material/check_circle:")
        return
    st.caption("Pictures unlike anything else in their class or the dataset: placeholders, wrong files, or rare "
               "kinds of pictures that may need more examples. Most unusual first.")
    _grid(dataset, items, "out", lambda o: f"**{plain(o['path'])}** · {plain(o['label'])} · "
                                          f"{SPLIT_NAMES.get(o['split'], o['split']).lower()}",
          lambda o: [("Exclude", (o["path"], "exclude", None), ":material/block:"),
                     ("Keep", (o["path"], "keep", None), ":material/check:")])


def splits(result: dict, dataset) -> None:
    subjects = result.get("subjects") or {}
    st.subheader("Do validation and test pictures look like training?", anchor=False)
    rows = result.get("shift", [])
    if not rows:
        st.caption("There are no other splits with enough pictures of a class to compare.")
    for r in rows:
        (st.warning if r.get("flagged") else st.caption)(plain(r["message"]))
        if r.get("flagged") and r.get("example_paths"):
            cols = st.columns(8)
            for col, path in zip(cols, r["example_paths"]):
                _picture(col, dataset, path, plain(path))
    if rows:
        st.dataframe([{"class": r["class_name"], "split": SPLIT_NAMES.get(r["split"], r["split"]),
                       "AUC": round(r["auc"], 3), "95 % interval": f"{r['low']:.2f}–{r['high']:.2f}",
                       "control (two halves of train)": round(r["control_auc"], 3),
                       "pictures": f"{r['n_split']} vs {r['n_train']} in training", "looks different": r["flagged"]}
                      for r in rows], hide_index=True, width="stretch")
        st.caption("AUC: how well a classifier tells these pictures from the training pictures of the same class "
                   "(0.5: not at all; 1: always). The control tells two random halves of training apart.")
    st.subheader("Subjects (patients, specimens, sessions)", anchor=False)
    st.markdown(subjects.get("message") or "No subjects were found in the file names.")


def curve(result: dict) -> None:
    import plotly.graph_objects as go

    values = result.get("curve") or {}
    if values.get("skipped") or not values:
        st.caption(values.get("skipped") or "The learning curve was not computed.")
        return
    fig = go.Figure()
    for c in values.get("classes", []):
        fig.add_trace(go.Scatter(x=c["x"], y=c["mean"], name=c["class_name"], mode="lines+markers",
                                 error_y={"type": "data", "array": c["std"]}))
    fig.update_layout(height=360, margin=dict(l=10, r=10, t=30, b=10), yaxis_tickformat=".0%",
                      xaxis_title="training pictures of the class", yaxis_title="validation accuracy of the class")
    st.caption(f"The classifier learns again from part of the training pictures ({values.get('repeats')} times each, "
               "on the cached features), and is scored on the validation pictures. A curve still rising at the right "
               "means more pictures of that class would likely help.")
    st.plotly_chart(fig, width="stretch", key="check_curve")
    for c in values.get("classes", []):
        if c.get("message"):
            (st.info if c.get("verdict") == "more" else st.caption)(plain(c["message"]))


def _data_uri(dataset, path: str) -> str:
    full = _abs(dataset, path)
    return _thumbnail_uri(full, file_stamp(full))


@st.cache_data(max_entries=8192, show_spinner=False)
def _thumbnail_uri(path: str, stamp: float) -> str:
    """A small JPEG of the picture as a data URI, for a tooltip; cached, because every tab of the
    check (the map's too) is drawn again on each rerun of the Data page."""
    thumb = thumbnail(path, 96, stamp)
    if thumb is None:
        return ""
    buf = io.BytesIO()
    thumb.convert("RGB").save(buf, format="JPEG", quality=70)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


def embedding_map(result: dict, dataset) -> None:
    import altair as alt
    import pandas as pd

    projection = result.get("map") or {}
    if not projection.get("x"):
        st.caption("The map was not computed.")
        return
    samples = result["samples"]
    marks = {s["path"]: "may be labelled wrong" for s in result.get("labels", {}).get("suspects", [])}
    marks.update({o["path"]: "outlier" for o in result.get("outliers", {}).get("items", [])})
    predicted = result.get("predicted") or []
    rows = []
    for i, (s, x, y) in enumerate(zip(samples, projection["x"], projection["y"])):
        mark = marks.get(s["path"]) or ("mistake" if predicted and predicted[i] != s["label"] else "fine")
        rows.append({"x": x, "y": y, "label": s["label"], "mark": mark, "path": s["path"], "split": s["split"]})
    frame = pd.DataFrame(rows)
    limit = 1500  # pictures in the tooltips: the chart is sent to the browser whole
    with_pictures = frame[frame["mark"] != "fine"].index.tolist() + frame[frame["mark"] == "fine"].index.tolist()
    frame["image"] = ""
    for i in with_pictures[:limit]:
        frame.at[i, "image"] = _data_uri(dataset, frame.at[i, "path"])
    method = {"tsne": "t-SNE", "pca": "PCA"}.get(projection.get("method"), "a projection")
    st.caption(f"Each dot is a picture, placed by {method} of its features so that "
               "similar pictures sit close. Colour: its label; shape: what the check says. Hover to see it; click to "
               "open it.")
    pick = alt.selection_point(fields=["path"], name="pick")
    chart = alt.Chart(frame).mark_point(filled=True, size=60).encode(
        x=alt.X("x", axis=None), y=alt.Y("y", axis=None), color=alt.Color("label:N", title="label"),
        shape=alt.Shape("mark:N", title="check", scale=alt.Scale(
            domain=["fine", "mistake", "may be labelled wrong", "outlier"],
            range=["circle", "triangle", "diamond", "cross"])),
        opacity=alt.condition(pick, alt.value(0.9), alt.value(0.35)),
        tooltip=["image", "path", "label", "split", "mark"],
    ).add_params(pick).properties(height=480)
    event = st.altair_chart(chart, width="stretch", on_select="rerun", key="check_map")
    chosen = [p.get("path") for p in (event.get("selection", {}).get("pick") or []) if p.get("path")]
    if chosen:
        path = chosen[0]
        col, info = st.columns([1, 2])
        thumb = thumbnail(_abs(dataset, path), 480, file_stamp(_abs(dataset, path)))
        if thumb is not None:
            col.image(thumb, width="stretch")
        row = frame[frame["path"] == path].iloc[0]
        info.markdown(f"**{plain(path)}**  \nlabel **{plain(row['label'])}** · {SPLIT_NAMES.get(row['split'], row['split']).lower()}"
                      f" · {row['mark']}")


def changes(edits: list[dict]) -> None:
    if not edits:
        st.caption("No changes yet. Decisions you make about flagged pictures are listed here; your files are never "
                   "touched, and the next run uses the changes and records them in its settings.")
        return
    words = {"relabel": "relabelled", "exclude": "excluded", "keep": "kept as labelled"}
    st.dataframe([{"picture": e["path"], "change": words.get(e["action"], e["action"]),
                   "new label": e.get("label") or ""} for e in edits], hide_index=True, width="stretch")
    st.caption("Your next training run uses these changes (its config.json records them). Your files are unchanged.")
    c = st.columns(2)
    if c[0].button("Undo the last change", key="edits_undo", icon=":material/undo:"):
        user_edits.undo()
        st.rerun()
    if c[1].button("Drop every change", key="edits_clear", icon=":material/delete_sweep:"):
        user_edits.clear()
        st.rerun()


def score_warnings(check: dict | None, split: str) -> None:
    """Beside a run's scores: what the dataset's latest check says about how far to trust them."""
    if not check:
        st.caption("Tip: the data check on the Data page tells you whether your validation and test pictures look "
                   "different from the training ones, and whether copies leak between splits.")
        return
    for r in check.get("shift", []):
        if r.get("flagged") and r.get("split") == split:
            st.warning(plain(r["message"]), icon=":material/difference:")
    leaks = [g for g in check.get("near_duplicates", []) if g.get("kind") == "leak"
             and any(m["split"] == split for m in g["members"])]
    if leaks:
        n = sum(1 for g in leaks for m in g["members"] if m["split"] == split)
        st.warning(f"{n} of these {SPLIT_NAMES.get(split, split).lower()} pictures have near-copies in another split, "
                   "so this score is optimistic. Fix: exclude the copies on the Data page (Near-duplicates) and train "
                   "again.", icon=":material/content_copy:")
