"""How each part of a data check is shown: the pictures (or texts) it names, and what the user can do about them.

Every decision (relabel, exclude, keep) goes through :mod:`ui.edits` and never touches the
user's files. Paths in a check are relative to the dataset's folder; for text data they are
row ids (``reviews.tsv#12``), shown as the quoted text with its label and split, never decoded
as pictures.
"""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import streamlit as st

from . import edits as user_edits
from .calls import finding_text, plain
from .charts import SPLIT_NAMES
from .datasets import file_stamp, thumbnail

_PER_ROW = 4
_SHOWN = 24  # pictures (or texts) per list before "show all"
_KINDS = {"leak": "In more than one split (leakage)", "conflict": "Same {item}, different labels",
          "duplicate": "Copies within one class"}
_HOVER_CHARS = 200  # of a text in the map's tooltip
_SPACES = re.compile(r"\s+")  # a text's line breaks and runs of spaces, shown as one space


def _abs(dataset, path: str) -> str:
    return str(Path(dataset.root) / path)


def is_text(result: dict) -> bool:
    """The check looked at texts (``item == "text"``), not pictures."""
    return result.get("item") == "text"


def _noun(result: dict) -> str:
    return "text" if is_text(result) else "picture"


def _text_of(dataset, item: dict | str) -> str:
    """A listed text (the check names it), else the dataset's text of that row id ("" when gone)."""
    if isinstance(item, dict) and item.get("text") is not None:
        return str(item["text"])
    path = item["path"] if isinstance(item, dict) else item
    texts = getattr(dataset, "texts", None)
    return str(texts.get(_abs(dataset, path)) or texts.get(str(path)) or "") if texts else ""


def _quoted(text: str) -> str:
    """A text as markdown that wraps and cannot turn into a heading, a list or a link: “…”."""
    if not text:
        return "*(no longer in the data)*"
    return f"“{plain(_SPACES.sub(' ', text).strip())}”"


def _picture(col, dataset, path: str, caption: str) -> None:
    thumb = thumbnail(_abs(dataset, path), 220, file_stamp(_abs(dataset, path)))
    if thumb is not None:
        col.image(thumb, width="stretch")
    col.caption(caption)


def _sample(col, dataset, item: dict, caption: str, text: bool) -> None:
    """One listed picture (a thumbnail) or text (quoted, wrapped), with its caption."""
    if text:
        col.markdown(_quoted(_text_of(dataset, item)))
        col.caption(caption)
    else:
        _picture(col, dataset, item["path"], caption)


def _decide(items: list[tuple[str, str, str | None]]) -> None:
    user_edits.change(items)
    st.rerun()


def _pct(value) -> str:
    return f"{100 * float(value):.0f} %"


def _split_word(split: str) -> str:
    return SPLIT_NAMES.get(split, split).lower()


def _undecided(result: dict, section: str, key: str, decided: set[str]) -> list[dict]:
    """The pictures (texts) a section lists that the user has not decided about yet."""
    return [item for item in result.get(section, {}).get(key, []) if item["path"] not in decided]


def tab_titles(result: dict, decided: set[str], edits: list[dict]) -> list[str]:
    n_sus = len(_undecided(result, "labels", "suspects", decided))
    n_dup = len(result.get("near_duplicates", []))
    n_out = len(_undecided(result, "outliers", "items", decided))
    n_shift = sum(1 for r in result.get("shift", []) if r.get("flagged"))
    return [f"Wrong labels? ({n_sus})", f"Near-duplicates ({n_dup})", f"Outliers ({n_out})",
            "Splits" + (f" ({n_shift} ⚠)" if n_shift else ""), f"More {_noun(result)}s?", "Map",
            f"Your changes ({len(edits)})"]


def header(result: dict, edits: list[dict], config) -> None:
    labels = result.get("labels", {})
    leaks = [g for g in result.get("near_duplicates", []) if g.get("kind") == "leak"]
    many = _noun(result).capitalize() + "s"
    m = st.columns(4)
    m[0].metric(f"{many} checked", f"{result.get('num_images', 0):,}")
    m[1].metric("May be labelled wrong", labels.get("num_suspects", 0),
                help=f"{many} another class fits much better, from a model that never saw them "
                     f"({labels.get('folds')}-fold out-of-fold predictions, ranked by cleanlab's confident learning).")
    m[2].metric("Leaks between splits", len(leaks), help=f"Groups of near-identical {many.lower()} in more than one split.")
    m[3].metric("Outliers", result.get("outliers", {}).get("num_items", 0),
                help=f"{many} unlike anything else in their class or the dataset.")
    cached = " (features read from the cache)" if result.get("features_cached") else ""
    how = (f"the sentence features of {result.get('backbone')} (texts cut to {result.get('image_size')} tokens)"
           if is_text(result) else
           f"the features of {result.get('backbone')} cut at `{result.get('layer')}` ({result.get('image_size')} px)")
    st.caption(f"Checked with {how} in {result.get('seconds', 0):.1f} s{cached}. Out-of-fold accuracy of "
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


def _grid(result: dict, dataset, items: list[dict], key: str, caption, buttons) -> None:
    """Pictures four to a row, each with its buttons below; texts one to a row, buttons beside each other."""
    text = is_text(result)
    show_all = len(items) <= _SHOWN or st.toggle(f"Show all {len(items)}", key=f"{key}_all")
    shown = items if show_all else items[:_SHOWN]
    per_row = 1 if text else _PER_ROW
    for start in range(0, len(shown), per_row):
        for col, item in zip([st] if text else st.columns(per_row), shown[start:start + per_row]):
            with col.container(border=True):
                _sample(st, dataset, item, caption(item), text)
                choices = buttons(item)
                places = st.columns(len(choices)) if text else [st] * len(choices)
                for place, (label, decision, icon) in zip(places, choices):
                    if place.button(label, key=f"{key}_{decision[1]}_{item['path']}", icon=icon, width="stretch"):
                        _decide([decision])


def _named(item: dict, text: bool) -> str:
    """The start of a caption: a picture's file name in bold; a text's row id, plain (the text is above)."""
    return f"{plain(item['path'])} " if text else f"**{plain(item['path'])}** "


def suspects(result: dict, dataset, decided: set[str]) -> None:
    items, noun, text = _undecided(result, "labels", "suspects", decided), _noun(result), is_text(result)
    if not items:
        st.success(f"No {noun} looks labelled wrong (or you decided about every one).", icon=":material/check_circle:")
        return
    st.caption(f"Most likely wrong first. *How sure* is the probability of the suggested class from a model that "
               f"never saw the {noun}. Your files are never changed: decisions are kept in the app.")
    b = st.columns(3)
    if b[0].button(f"Relabel all {len(items)} as suggested", key="sus_all_relabel", icon=":material/label:"):
        _decide([(s["path"], "relabel", s["suggested"]) for s in items])
    if b[1].button(f"Exclude all {len(items)}", key="sus_all_exclude", icon=":material/block:"):
        _decide([(s["path"], "exclude", None) for s in items])
    if b[2].button(f"Keep all {len(items)} as labelled", key="sus_all_keep", icon=":material/done_all:"):
        _decide([(s["path"], "keep", None) for s in items])
    _grid(result, dataset, items, "sus",
          lambda s: f"{_named(s, text)}({_split_word(s['split'])}) · labelled **{plain(s['given'])}**, looks like "
                    f"**{plain(s['suggested'])}** ({_pct(s['confidence'])} sure)",
          lambda s: [(f"Relabel as {s['suggested']}", (s["path"], "relabel", s["suggested"]), ":material/label:"),
                     ("Exclude", (s["path"], "exclude", None), ":material/block:"),
                     ("Keep as is", (s["path"], "keep", None), ":material/check:")])


def duplicates(result: dict, dataset, decided: set[str]) -> None:
    groups, noun, text = result.get("near_duplicates", []), _noun(result), is_text(result)
    if not groups:
        st.success("No near-duplicates: no text says the same as another in other words." if text else
                   "No near-duplicates: no picture is a resized, re-encoded or cropped copy of another.",
                   icon=":material/check_circle:")
        return
    st.caption(("Texts that say the same thing, in the same or nearly the same words (case, punctuation and small "
                "rewordings count)." if text else
                "Pictures that are copies of each other by content (resized, re-encoded, cropped or recoloured "
                "copies count).") + f" A copy in another split is leakage: the model is scored on a {noun} it has seen.")
    for i, group in enumerate(groups[:_SHOWN]):
        members = group["members"]
        with st.container(border=True):
            kind = _KINDS.get(group["kind"], group["kind"]).format(item=noun)
            st.markdown(f"**{kind}** · similarity {group.get('similarity', 0):.2f}")
            # small pictures side by side, even for a pair; texts one under the other
            cols = [st] * len(members) if text else st.columns(max(4, min(len(members), 6)))
            for col, m in zip(cols, members):
                mark = " · excluded" if m["path"] in decided else ""
                _sample(col, dataset, m, f"{plain(m['path'])} · {plain(m['label'])} · {_split_word(m['split'])}{mark}",
                        text)
            extra = [m for m in members if m["split"] == "train"] if group["kind"] == "leak" else members[1:]
            extra = [m for m in extra if m["path"] not in decided]
            what = "the training copies" if group["kind"] == "leak" else "all but the first"
            if extra and st.button(f"Exclude {what} ({len(extra)})", key=f"dup_{i}", icon=":material/block:"):
                _decide([(m["path"], "exclude", None) for m in extra])


def outliers(result: dict, dataset, decided: set[str]) -> None:
    items, noun, text = _undecided(result, "outliers", "items", decided), _noun(result), is_text(result)
    if not items:
        st.success(f"No {noun} stands out as unlike the others.", icon=":material/check_circle:")
        return
    st.caption("Texts unlike anything else in their class or the dataset: placeholders, text in another language "
               "or format, or rare kinds of texts that may need more examples. Most unusual first." if text else
               "Pictures unlike anything else in their class or the dataset: placeholders, wrong files, or rare "
               "kinds of pictures that may need more examples. Most unusual first.")
    _grid(result, dataset, items, "out",
          lambda o: f"{_named(o, text)}· {plain(o['label'])} · {_split_word(o['split'])}",
          lambda o: [("Exclude", (o["path"], "exclude", None), ":material/block:"),
                     ("Keep", (o["path"], "keep", None), ":material/check:")])


def splits(result: dict, dataset) -> None:
    subjects, noun, text = result.get("subjects") or {}, _noun(result), is_text(result)
    st.subheader(f"Do validation and test {noun}s {'read' if text else 'look'} like training?", anchor=False)
    rows = result.get("shift", [])
    if not rows:
        st.caption(f"There are no other splits with enough {noun}s of a class to compare.")
    for r in rows:
        (st.warning if r.get("flagged") else st.caption)(plain(r["message"]))
        if r.get("flagged") and r.get("example_paths"):
            if text:  # the texts most unlike training, as a list
                st.markdown("\n".join(f"- {_quoted(_text_of(dataset, path))} · {plain(path)}"
                                      for path in r["example_paths"]))
                continue
            cols = st.columns(8)
            for col, path in zip(cols, r["example_paths"]):
                _picture(col, dataset, path, plain(path))
    if rows:
        st.dataframe([{"class": r["class_name"], "split": SPLIT_NAMES.get(r["split"], r["split"]),
                       "AUC": round(r["auc"], 3), "95 % interval": f"{r['low']:.2f}–{r['high']:.2f}",
                       "control (two halves of train)": round(r["control_auc"], 3),
                       f"{noun}s": f"{r['n_split']} vs {r['n_train']} in training", "looks different": r["flagged"]}
                      for r in rows], hide_index=True, width="stretch")
        st.caption(f"AUC: how well a classifier tells these {noun}s from the training {noun}s of the same class "
                   "(0.5: not at all; 1: always). The control tells two random halves of training apart.")
    if text:
        return  # subjects (patients, sessions) are found in picture file names
    st.subheader("Subjects (patients, specimens, sessions)", anchor=False)
    st.markdown(subjects.get("message") or "No subjects were found in the file names.")


def curve(result: dict) -> None:
    import plotly.graph_objects as go

    values, noun = result.get("curve") or {}, _noun(result)
    if values.get("skipped") or not values:
        st.caption(values.get("skipped") or "The learning curve was not computed.")
        return
    fig = go.Figure()
    for c in values.get("classes", []):
        fig.add_trace(go.Scatter(x=c["x"], y=c["mean"], name=c["class_name"], mode="lines+markers",
                                 error_y={"type": "data", "array": c["std"]}))
    fig.update_layout(height=360, margin=dict(l=10, r=10, t=30, b=10), yaxis_tickformat=".0%",
                      xaxis_title=f"training {noun}s of the class", yaxis_title="validation accuracy of the class")
    st.caption(f"The classifier learns again from part of the training {noun}s ({values.get('repeats')} times each, "
               f"on the cached features), and is scored on the validation {noun}s. A curve still rising at the right "
               f"means more {noun}s of that class would likely help.")
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


def _map_frame(result: dict, dataset):
    """One row per dot: place, label, split, what the check says, and the hover (a thumbnail or the text)."""
    import pandas as pd

    projection, text = result["map"], is_text(result)
    marks = {s["path"]: "may be labelled wrong" for s in result.get("labels", {}).get("suspects", [])}
    marks.update({o["path"]: "outlier" for o in result.get("outliers", {}).get("items", [])})
    predicted = result.get("predicted") or []
    rows = []
    for i, (s, x, y) in enumerate(zip(result["samples"], projection["x"], projection["y"])):
        mark = marks.get(s["path"]) or ("mistake" if predicted and predicted[i] != s["label"] else "fine")
        rows.append({"x": x, "y": y, "label": s["label"], "mark": mark, "path": s["path"], "split": s["split"]})
    frame = pd.DataFrame(rows)
    if text:  # the text itself is the hover; nothing to decode
        full = frame["path"].map(lambda path: _SPACES.sub(" ", _text_of(dataset, path)))
        frame["text"] = full.map(lambda t: t if len(t) <= _HOVER_CHARS else t[:_HOVER_CHARS - 1] + "…")
        return frame
    limit = 1500  # pictures in the tooltips: the chart is sent to the browser whole
    with_pictures = frame[frame["mark"] != "fine"].index.tolist() + frame[frame["mark"] == "fine"].index.tolist()
    frame["image"] = ""
    for i in with_pictures[:limit]:
        frame.at[i, "image"] = _data_uri(dataset, frame.at[i, "path"])
    return frame


def embedding_map(result: dict, dataset) -> None:
    import altair as alt

    projection, noun, text = result.get("map") or {}, _noun(result), is_text(result)
    if not projection.get("x"):
        st.caption("The map was not computed.")
        return
    frame = _map_frame(result, dataset)
    method = {"tsne": "t-SNE", "pca": "PCA"}.get(projection.get("method"), "a projection")
    st.caption(f"Each dot is a {noun}, placed by {method} of its features so that "
               f"similar {noun}s sit close. Colour: its label; shape: what the check says. Hover to "
               f"{'read' if text else 'see'} it; click to open it.")
    pick = alt.selection_point(fields=["path"], name="pick")
    chart = alt.Chart(frame).mark_point(filled=True, size=60).encode(
        x=alt.X("x", axis=None), y=alt.Y("y", axis=None), color=alt.Color("label:N", title="label"),
        shape=alt.Shape("mark:N", title="check", scale=alt.Scale(
            domain=["fine", "mistake", "may be labelled wrong", "outlier"],
            range=["circle", "triangle", "diamond", "cross"])),
        opacity=alt.condition(pick, alt.value(0.9), alt.value(0.35)),
        tooltip=["text" if text else "image", "path", "label", "split", "mark"],
    ).add_params(pick).properties(height=480)
    event = st.altair_chart(chart, width="stretch", on_select="rerun", key="check_map")
    chosen = [p.get("path") for p in (event.get("selection", {}).get("pick") or []) if p.get("path")]
    if chosen:
        path = chosen[0]
        col, info = st.columns([1, 2])
        if text:
            col.markdown(_quoted(_text_of(dataset, path)))
        else:
            thumb = thumbnail(_abs(dataset, path), 480, file_stamp(_abs(dataset, path)))
            if thumb is not None:
                col.image(thumb, width="stretch")
        row = frame[frame["path"] == path].iloc[0]
        info.markdown(f"**{plain(path)}**  \nlabel **{plain(row['label'])}** · {_split_word(row['split'])}"
                      f" · {row['mark']}")


def changes(edits: list[dict], result: dict | None = None, dataset=None) -> None:
    """The user's changes as a table (for texts, with each text), and undo / drop them all."""
    text = is_text(result or {}) or bool(getattr(dataset, "is_text", False))
    noun = "text" if text else "picture"
    if not edits:
        st.caption(f"No changes yet. Decisions you make about flagged {noun}s are listed here; your files are never "
                   "touched, and the next run uses the changes and records them in its settings.")
        return
    words = {"relabel": "relabelled", "exclude": "excluded", "keep": "kept as labelled"}
    listed = {i["path"]: i for section, key in (("labels", "suspects"), ("outliers", "items"))
              for i in (result or {}).get(section, {}).get(key, [])}
    listed.update({m["path"]: m for g in (result or {}).get("near_duplicates", []) for m in g["members"]})
    rows = [{"row" if text else "picture": e["path"], "change": words.get(e["action"], e["action"]),
             "new label": e.get("label") or ""} for e in edits]
    if text:  # an excluded text is gone from the data: the check still names it
        for row, e in zip(rows, edits):
            row["text"] = _SPACES.sub(" ", _text_of(dataset, listed.get(e["path"], e["path"])))
    st.dataframe(rows, hide_index=True, width="stretch",
                 column_config={"text": st.column_config.TextColumn("text", width="large")} if text else None)
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
    noun = _noun(check)
    for r in check.get("shift", []):
        if r.get("flagged") and r.get("split") == split:
            st.warning(plain(r["message"]), icon=":material/difference:")
    leaks = [g for g in check.get("near_duplicates", []) if g.get("kind") == "leak"
             and any(m["split"] == split for m in g["members"])]
    if leaks:
        n = sum(1 for g in leaks for m in g["members"] if m["split"] == split)
        st.warning(f"{n} of these {_split_word(split)} {noun}s have near-copies in another split, "
                   "so this score is optimistic. Fix: exclude the copies on the Data page (Near-duplicates) and train "
                   "again.", icon=":material/content_copy:")
