"""What every page shares: the session's workspace, saved choices, error display, small renderers.

Imported only by ``app.py`` and ``pages/``. Like the pages, it never imports TensorFlow or
Keras — every piece of machine-learning work goes through ``tlcore``.

Choices a user makes (the selected dataset, the model settings, the last run) live in
``st.session_state`` for speed *and* in ``<workspace>/app_state.json`` so that a reload, a new
tab on the same link, or a server restart brings them back.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import logging
import math
import re
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import streamlit as st

from tlcore.config import TrainConfig
from tlcore.data import dataset_name
from tlcore.errors import TLCoreError
from tlcore.runfiles import write_json_atomic
from tlcore.workspace import Workspace

log = logging.getLogger("transfer_studio")

APP_TITLE = "Transfer Studio"
SESSION_PARAM = "ws"  # query parameter that keeps a browser on its own workspace
_STATE_FILE = "app_state.json"
_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


# --------------------------------------------------------------------------- pages
@dataclass(frozen=True)
class PageInfo:
    path: str
    title: str
    icon: str
    url_path: str
    step: str


PAGES: list[PageInfo] = [
    PageInfo("pages/1_data.py", "Data", ":material/photo_library:", "data", "Step 1"),
    PageInfo("pages/2_model.py", "Model", ":material/tune:", "model", "Step 2"),
    PageInfo("pages/3_train.py", "Train", ":material/play_circle:", "train", "Step 3"),
    PageInfo("pages/4_evaluate.py", "Evaluate", ":material/insights:", "evaluate", "Step 4"),
    PageInfo("pages/5_predict.py", "Predict", ":material/image_search:", "predict", "Step 5"),
    PageInfo("pages/6_runs.py", "Runs & export", ":material/inventory_2:", "runs", "Step 6"),
]
PAGE_BY_URL = {p.url_path: p for p in PAGES}


FRAMED = "_framed"  # set by frame() just before app.py runs the page


def configure_page() -> None:
    st.set_page_config(
        page_title=APP_TITLE,
        page_icon=":material/model_training:",
        layout="wide",
        initial_sidebar_state="expanded",
    )


def _session_workspace() -> Workspace:
    """Each browser session works in its own folder; the link (``?ws=…``) brings it back."""
    from_url = st.query_params.get(SESSION_PARAM)
    sid = st.session_state.get("ws_id")
    if valid_session_id(from_url) and from_url != sid:
        if sid is not None:  # switching workspaces in this tab: forget everything of the old one
            for key in list(st.session_state.keys()):
                del st.session_state[key]
        sid = from_url  # a reload, a bookmark or a shared link
    if not valid_session_id(sid):
        sid = new_session_id()
    st.session_state["ws_id"] = sid
    if st.query_params.get(SESSION_PARAM) != sid:
        st.query_params[SESSION_PARAM] = sid
    return Workspace.for_session(sid)


@st.cache_resource(show_spinner=False)
def _device_description() -> str:
    """Which device training will use, asked once per server (tlcore knows; pages never touch TF)."""
    device_info = tl_optional("device", "device_info")
    if device_info is None:
        return "unknown"
    try:
        info = device_info()
    except Exception:
        log.exception("device_info failed")
        return "unknown"
    if info.get("kind") == "GPU":
        return f"GPU — {info.get('name') or 'unnamed'}"
    return str(info.get("name") or "CPU")


def device_description() -> str:
    """The training device in words ("CPU name" or "GPU — name")."""
    return _device_description()


def _mark_interrupted_once(ws: Workspace) -> None:
    """After a server restart, runs whose process is gone are shown as interrupted, not running."""
    if st.session_state.get("_checked_interrupted") == ws.root:
        return
    mark_interrupted = tl_optional("jobs", "mark_interrupted")
    if mark_interrupted is not None:
        try:
            mark_interrupted(ws.runs_dir)
        except Exception:
            log.exception("mark_interrupted failed for %s", ws.runs_dir)
    st.session_state["_checked_interrupted"] = ws.root


def _sidebar(ws: Workspace, slot) -> None:
    state = load_state(ws)
    with slot:
        dataset = state.get("dataset")
        if dataset:
            st.markdown(f":material/photo_library: **Images:** {state.get('dataset_name') or dataset_display_name(dataset)}")
        else:
            st.markdown(":material/photo_library: **Images:** none chosen yet")
        last_run = state.get("last_run")
        if last_run:
            st.markdown(f":material/play_circle: **Last run:** `{last_run}`")
        st.markdown(f":material/memory: **Training on:** {_device_description()}",
                    help="Runs train one after another on this device. A GPU is many times faster than a CPU.")
        with st.expander("Your workspace", icon=":material/folder:"):
            st.caption(
                "Everything you upload and train is kept in your own folder on this server. "
                "Bookmark this page's address to come back to it later, even after a restart. "
                "To work together, share this code; to open someone's workspace, paste theirs below."
            )
            st.code(ws.root.name, language=None)
            code = st.text_input("Open a workspace by its code", key="ws_open_code", placeholder="paste a code",
                                 label_visibility="collapsed")
            if st.button("Open", key="ws_open", icon=":material/login:", disabled=not code.strip()):
                if valid_session_id(code.strip()):
                    st.query_params[SESSION_PARAM] = code.strip()
                    st.rerun()
                st.error("That is not a workspace code. Fix: copy the code exactly as shown (letters and digits).")


def frame() -> Workspace:
    """Everything around a page: the session's workspace, the sidebar, pending messages."""
    ws = _session_workspace()
    # Re-read the saved choices on every full run: another tab on the same workspace may have changed them.
    st.session_state.pop("app_state", None)
    _mark_interrupted_once(ws)
    with st.sidebar:
        st.markdown(f"### :material/model_training: {APP_TITLE}")
        st.caption("Teach a computer to sort your pictures — no coding needed.")
        _sidebar(ws, st.container())
    show_flash()
    st.session_state[FRAMED] = True
    return ws


def _ensure_frame() -> None:
    """Make sure the frame (workspace, sidebar) is in place before a page renders.

    Streamlit runs a ``pages/`` script on its own, without app.py, while it still assumes its
    old folder-based page mode: on a fresh server until some session has called
    ``st.navigation`` (the first request being a page's link, say ``/evaluate?ws=…`` right
    after a restart), and in ``AppTest`` on every run. Then the page switches that mode off
    (exactly what ``st.navigation`` does) and either reruns — safe in a session's first run,
    which has no click to lose — or draws the frame itself.
    """
    if st.session_state.pop(FRAMED, False):
        return
    try:
        from streamlit.runtime.pages_manager import PagesManager

        PagesManager.uses_pages_directory = False
    except Exception:  # an internal that moved: drawing the frame below still works
        log.warning("could not switch off Streamlit's pages-folder mode")
    if "ws_id" not in st.session_state and not st.session_state.get("_frame_rerun"):
        st.session_state["_frame_rerun"] = True
        st.rerun()
    configure_page()
    frame()
    st.session_state.pop(FRAMED, None)


def page_header(url_path: str, subtitle: str) -> None:
    """The title block every page starts with: step number, title, one plain sentence."""
    _ensure_frame()
    page = PAGE_BY_URL[url_path]
    st.caption(f"{page.step} of {len(PAGES)}")
    st.title(f"{page.title}")
    st.markdown(subtitle)


def flash(message: str, icon: str = ":material/check_circle:") -> None:
    """A short confirmation shown after the next rerun (for changes that rerun the app)."""
    st.session_state["_flash"] = (message, icon)


def show_flash() -> None:
    pending = st.session_state.pop("_flash", None)
    if pending:
        st.toast(pending[0], icon=pending[1])


def next_step(url_path: str, label: str, *, disabled: bool = False, help: str | None = None) -> None:
    """The "what to do next" link at the bottom of a page."""
    page = PAGE_BY_URL[url_path]
    st.divider()
    st.page_link(
        page.path,
        label=label,
        icon=":material/arrow_forward:",
        disabled=disabled,
        help=help,
        query_params={SESSION_PARAM: session_id()} if session_id() else None,
    )


# --------------------------------------------------------------------------- workspace
def valid_session_id(value: Any) -> bool:
    return isinstance(value, str) and bool(_SESSION_ID.match(value))


def new_session_id() -> str:
    return uuid.uuid4().hex


def session_id() -> str | None:
    return st.session_state.get("ws_id")


def workspace() -> Workspace:
    """This browser session's private workspace (set up by ``app.py``)."""
    sid = session_id()
    if not valid_session_id(sid):  # a page opened without app.py (should not happen)
        sid = new_session_id()
        st.session_state["ws_id"] = sid
    return Workspace.for_session(sid)


def _state_path(ws: Workspace) -> Path:
    return ws.root / _STATE_FILE


def load_state(ws: Workspace | None = None) -> dict[str, Any]:
    """The session's saved choices, read from disk once per browser session."""
    if "app_state" not in st.session_state:
        ws = ws or workspace()
        state: dict[str, Any] = {}
        path = _state_path(ws)
        if path.exists():
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
                if isinstance(loaded, dict):
                    state = loaded
            except (OSError, ValueError):
                log.warning("ignoring unreadable %s", path)
        st.session_state["app_state"] = state
    return st.session_state["app_state"]


def save_state(**updates: Any) -> None:
    """Remember choices in the session and on disk (atomically)."""
    state = load_state()
    state.update(updates)
    try:
        write_json_atomic(_state_path(workspace()), state)
    except OSError as err:  # a full disk must not break the page; the choice still holds in memory
        st.warning(f"Could not save your choices to disk ({err}). They are kept until you close the tab.")


# --------------------------------------------------------------------------- settings
def current_config() -> TrainConfig:
    """The run settings built up across the Data and Model pages."""
    if "config" not in st.session_state:
        saved = load_state().get("config")
        config = TrainConfig()
        if isinstance(saved, dict):
            try:
                config = TrainConfig.from_dict(saved)
            except (TLCoreError, TypeError):
                config = TrainConfig()
        st.session_state["config"] = config
    return st.session_state["config"]


def update_config(**changes: Any) -> TrainConfig:
    """Change some settings; saved to disk only when something actually changed."""
    old = current_config()
    config = dataclasses.replace(old, **changes)
    if config != old:
        st.session_state["config"] = config
        save_state(config=config.to_dict())
    return config


def widget_default(key: str, value: Any) -> str:
    """Give a keyed widget its saved value when it is (re)created.

    Streamlit forgets a widget's value when its page is not shown; seeding the key from the
    saved settings keeps every choice when the user comes back to a page.
    """
    if key not in st.session_state:
        st.session_state[key] = value
    return key


def clamp_state(key: str, low: float, high: float) -> None:
    """Keep a remembered slider value inside a range that may have shrunk."""
    value = st.session_state.get(key)
    if isinstance(value, (int, float)) and not low <= value <= high:
        st.session_state[key] = type(value)(min(max(value, low), high))


# --------------------------------------------------------------------------- tlcore access
def tl(module: str, *names: str):
    """Import ``tlcore.<module>`` and return the named attributes, or explain and stop the page."""
    try:
        mod = importlib.import_module(f"tlcore.{module}")
    except ImportError as err:
        log.exception("cannot import tlcore.%s", module)
        st.error(
            f"This part of Transfer Studio is not available: `tlcore.{module}` could not be loaded ({err}). "
            "Fix: reinstall the app with `make install`, then reload this page."
        )
        st.stop()
    if not names:
        return mod
    values = []
    for name in names:
        value = getattr(mod, name, None)
        if value is None:
            st.error(
                f"This part of Transfer Studio is not available: `tlcore.{module}.{name}` is missing. "
                "Fix: update the app (`git pull && make install`), then reload this page."
            )
            st.stop()
        values.append(value)
    return values[0] if len(values) == 1 else tuple(values)


def tl_optional(module: str, name: str):
    """Like :func:`tl` but returns None instead of stopping the page."""
    try:
        return getattr(importlib.import_module(f"tlcore.{module}"), name, None)
    except ImportError:
        return None


def error_message(err: BaseException, what: str = "") -> str:
    """The plain-language message a user sees for an error (tlcore's own text when it has one)."""
    doing = f" {what}" if what else ""
    if isinstance(err, TLCoreError):
        return str(err)
    if isinstance(err, MemoryError):
        return f"The computer ran out of memory{doing}. Fix: use a smaller batch size or image size, or close other runs."
    if isinstance(err, (OSError, ValueError)):
        return f"Could not finish{doing}: {err}"
    return (f"Something unexpected went wrong{doing} ({type(err).__name__}: {err}). "
            "Fix: check your settings and try again; if it keeps happening, the server log has the details.")


def call(fn: Callable[..., Any], *args: Any, what: str = "", remember: str | None = None, **kwargs: Any) -> Any:
    """Run a tlcore call; show any error as a plain message (never a traceback) and return None.

    ``remember`` names a session-state key that keeps the message, for pages that show it again
    on later reruns.
    """
    try:
        return fn(*args, **kwargs)
    except Exception as err:  # the last line of defence: a user never sees a traceback
        if not isinstance(err, TLCoreError):
            log.exception("error %s", what)
        message = error_message(err, what)
        if remember:
            st.session_state[remember] = message
        st.error(message, icon=":material/error:")
    return None


def attempt(fn: Callable[..., Any], *args: Any, what: str = "", remember: str | None = None, **kwargs: Any) -> bool:
    """Like :func:`call` for calls that return nothing: True when it worked."""
    marker = object()
    result = call(lambda: (fn(*args, **kwargs), marker)[1], what=what, remember=remember)
    return result is marker


# --------------------------------------------------------------------------- background tasks
# Exports and feature tables take up to a minute. Run inside the page script, they would be
# cut off by the user's next click (Streamlit stops a script run on any new interaction), so
# they run in a server thread instead, one at a time, and the page watches them.
_TASKS: dict[str, dict[str, Any]] = {}
_TASKS_LOCK = threading.Lock()
_TASK_SLOT = threading.Semaphore(1)


def task_key(*parts: str) -> str:
    """A task name private to this browser session's workspace."""
    return "/".join([session_id() or "", *parts])


def start_task(key: str, label: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Start ``fn`` in a background thread unless the same task is already waiting or running."""
    with _TASKS_LOCK:
        if _TASKS.get(key, {}).get("state") in ("waiting", "running"):
            return
        task = _TASKS[key] = {"state": "waiting", "label": label, "error": None, "started": time.time()}

    def work() -> None:
        with _TASK_SLOT:
            task["state"] = "running"
            try:
                fn(*args, **kwargs)
                task["state"] = "done"
            except TLCoreError as err:
                task.update(state="failed", error=str(err))
            except MemoryError:
                task.update(state="failed", error="The computer ran out of memory. Fix: close other runs and try again.")
            except Exception as err:  # reported on the page, never as a traceback
                log.exception("background task %s failed", key)
                task.update(state="failed", error=f"{type(err).__name__}: {err}")
            task["ended"] = time.time()

    threading.Thread(target=work, name=f"task:{key}", daemon=True).start()


def task_state(key: str) -> dict[str, Any] | None:
    with _TASKS_LOCK:
        task = _TASKS.get(key)
        return dict(task) if task else None


# --------------------------------------------------------------------------- dataset
def dataset_source() -> str | None:
    return load_state().get("dataset")


def file_stamp(path: str) -> float:
    """The file's modification time (0 when missing): part of cache keys, so edits are seen."""
    try:
        return Path(path).stat().st_mtime
    except OSError:
        return 0.0


@st.cache_resource(max_entries=16, show_spinner=False)
def _cached_dataset(source: str, val_fraction: float, seed: int, workspace_root: str, stamp: float, _loaded=None):
    """Loaded datasets, shared by the pages (arguments starting with ``_`` are not part of the key)."""
    if _loaded is not None:
        return _loaded
    load_dataset = tl("data", "load_dataset")
    return load_dataset(source, val_fraction=val_fraction, seed=seed, workspace=Workspace(workspace_root))


def _dataset_key(source: str) -> tuple:
    config = current_config()
    return (source, float(config.val_fraction), int(config.seed), str(workspace().root), file_stamp(source))


def current_dataset(*, quiet: bool = False):
    """The selected Dataset, or None. Reloads it from disk after a restart (cached)."""
    source = dataset_source()
    if not source:
        return None
    if not Path(source).exists():
        if not quiet:
            st.warning(f"The dataset folder `{source}` no longer exists. Choose your images again on the Data page.")
        return None
    try:
        with st.spinner("Reading your images…"):
            return _cached_dataset(*_dataset_key(source))
    except TLCoreError as err:
        if not quiet:
            st.error(str(err))
    except Exception as err:
        log.exception("cannot reload dataset %s", source)
        if not quiet:
            st.error(f"Could not read the dataset `{source}` ({err}). Fix: choose it again on the Data page.")
    return None


def upload_folder(root: str | None) -> str | None:
    """The ``datasets/<digest>`` folder an extracted upload lives in; None for any other folder."""
    if not root:
        return None
    datasets = workspace().datasets_dir.resolve()
    try:
        parts = Path(root).resolve().relative_to(datasets).parts
    except (ValueError, OSError):
        return None
    return str(datasets / parts[0]) if parts else None


def earlier_uploads() -> list[str]:
    """This workspace's uploads that loaded, the one in use first, then the latest used.

    Only datasets that loaded are listed: a zip that was refused (one class, no pictures…)
    is extracted before it is checked, so its folder exists but is never offered again.
    Runs' datasets count too (workspaces from before this list was kept).
    """
    state = load_state()
    found = [upload_folder(state.get("dataset")), *state.get("loaded_uploads", [])]
    list_runs = tl_optional("jobs", "list_runs")
    if list_runs is not None:
        try:
            found += [upload_folder((r.config or {}).get("data")) for r in list_runs(workspace().runs_dir)]
        except Exception:
            log.exception("listing runs for earlier uploads")
    unique = []
    for folder in found:
        if folder and folder not in unique and Path(folder).is_dir():
            unique.append(folder)
    return unique


def remember_dataset(dataset, name: str | None = None) -> None:
    """Select a freshly loaded dataset in this session and on disk (and keep it in the cache)."""
    root = str(Path(dataset.root).resolve())
    folder = upload_folder(root)
    loaded = [f for f in load_state().get("loaded_uploads", []) if f != folder]
    shown = name or Path(root).name
    save_state(dataset=root, dataset_name=shown, loaded_uploads=([folder] if folder else []) + loaded)
    update_config(data=root, data_name=dataset_name(root, shown))  # what shared files call it
    key = _dataset_key(root)
    _cached_dataset.clear(*key)  # a folder loaded again may have changed inside
    _cached_dataset(*key, _loaded=dataset)


def dataset_display_name(root: str | None) -> str:
    """A short name for the selected dataset (the upload's name when it came from a zip)."""
    if not root:
        return ""
    state = st.session_state.get("app_state") or {}
    if state.get("dataset") == root and state.get("dataset_name"):
        return str(state["dataset_name"])
    return Path(root).name or str(root)


def require_dataset():
    """Return the dataset, or show how to pick one and stop the page."""
    dataset = current_dataset()
    if dataset is None:
        st.info("No images chosen yet. Start on the **Data** page: upload a zip or pick a folder.", icon=":material/info:")
        st.page_link(PAGES[0].path, label="Go to Data", icon=":material/photo_library:")
        st.stop()
    return dataset


def class_names(dataset) -> list[str]:
    return [str(c) for c in dataset.classes]


def sample_label(sample, classes: list[str]) -> str:
    """The class name of a tlcore ``Sample`` (whose ``label`` is the class index)."""
    return classes[sample.label]


def samples_of(dataset, split: str | None = None) -> list:
    return list(dataset.samples) if split is None else list(dataset.split(split))


def first_image(dataset) -> str | None:
    samples = samples_of(dataset, "train") or samples_of(dataset)
    return str(samples[0].path) if samples else None


def picture_thumbnail(source, size: int = 160):
    """A thumbnail of a picture given as a file object (an upload), or None when unreadable."""
    open_image = tl_optional("images", "open_image")
    try:
        image = open_image(source)
        image.thumbnail((size, size))
        return image
    except Exception:
        return None


@st.cache_data(max_entries=512, show_spinner=False)
def thumbnail(path: str, size: int = 160, stamp: float = 0.0):
    """A small RGB thumbnail (aspect kept, EXIF orientation applied) or None when unreadable."""
    open_image = tl_optional("images", "open_image")
    try:
        if open_image is None:
            return path
        image = open_image(path)
        image.thumbnail((size, size))
        return image
    except Exception:
        return None


# --------------------------------------------------------------------------- runs
FINISHED = "finished"
STATUS_ICON = {
    "queued": ":material/hourglass_empty:",
    "running": ":material/autorenew:",
    "finished": ":material/check_circle:",
    "failed": ":material/error:",
    "cancelled": ":material/cancel:",
    "interrupted": ":material/pause_circle:",
}
STATUS_WORDS = {
    "queued": "Waiting for its turn",
    "running": "Training",
    "finished": "Finished",
    "failed": "Failed",
    "cancelled": "Cancelled",
    "interrupted": "Failed: interrupted (its process stopped; the last checkpoint is kept)",
}


def run_dir(run_id: str) -> Path:
    """The folder of one of this session's runs (a run id can never point outside runs/)."""
    from tlcore.workspace import safe_join

    return safe_join(workspace().runs_dir, run_id)


def run_config(run_id: str) -> TrainConfig | None:
    load_config = tl_optional("config", "load_config")
    try:
        return load_config(run_dir(run_id) / "config.json")
    except Exception:
        return None


def run_label(run_id: str) -> str:
    config = run_config(run_id)
    if config is None:
        return run_id
    backbone = Path(config.backbone_file).name if config.backbone_file else config.backbone
    return f"{run_id}  —  {backbone} · {config.mode}"


def finished_run_ids() -> list[str]:
    """This session's finished runs that have a model, newest first."""
    list_runs = tl("jobs", "list_runs")
    runs = call(list_runs, workspace().runs_dir, what="listing your runs") or []
    return [r.run_id for r in runs if r.status == FINISHED and (r.run_dir / "model.keras").is_file()]


def pick_finished_run(key: str, label: str = "Which trained model?") -> str | None:
    """A selectbox of finished runs, defaulting to the last run; None (with a hint) when there are none."""
    ids = finished_run_ids()
    if not ids:
        st.info("No finished training run yet. Train a model on the **Train** page first.", icon=":material/info:")
        st.page_link(PAGE_BY_URL["train"].path, label="Go to Train", icon=":material/play_circle:")
        return None
    last = load_state().get("last_run")
    if key not in st.session_state or st.session_state[key] not in ids:
        st.session_state[key] = last if last in ids else ids[0]
    labels = {rid: run_label(rid) for rid in ids}  # computed here: format_func must not touch session state
    return st.selectbox(label, ids, key=key, format_func=labels.__getitem__)


# --------------------------------------------------------------------------- progress
def _num(value: Any) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def epoch_rows(events: list[dict]) -> list[dict]:
    """One row per finished epoch, numbered across both stages (head, then fine-tune)."""
    rows = []
    for ev in events:
        if ev.get("type") != "epoch":
            continue
        row = {
            "epoch": len(rows) + 1,
            "stage": ev.get("stage", "head"),
            "loss": _num(ev.get("loss")),
            "val_loss": _num(ev.get("val_loss")),
            "accuracy": _num(ev.get("accuracy")),
            "val_accuracy": _num(ev.get("val_accuracy")),
            "seconds": _num(ev.get("seconds")),
        }
        rows.append(row)
    return rows


@dataclass
class Progress:
    """Where a run stands, in the words and numbers the Train page shows."""

    fraction: float
    text: str
    phase: str  # what the run is doing now, in plain words
    images_per_s: float | None
    seconds_left: float | None
    stage: str = ""  # what the bar measures: "features", "head", "fine-tune" (or "" before any)
    on_cached_features: bool = False  # that training stage learns from features computed once
    seconds_per_epoch: float | None = None  # mean epoch time of that training stage


def format_seconds(seconds: float | None, *, precise: bool = False) -> str:
    """A duration for a metric box or a table: ``"< 1 s"``, ``"12 s"``, ``"3 min 05 s"``.

    ``precise`` keeps one decimal under 10 s (``"1.3 s"``), for times per epoch.
    """
    if seconds is None:
        return "—"
    if precise and seconds < 10:
        return f"{seconds:.1f} s" if seconds >= 0.05 else "< 0.1 s"
    if seconds < 1:
        return "< 1 s"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, sec = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {sec:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def time_left_words(seconds: float) -> str:
    """Time left in a sentence: ``"less than a second left"``, ``"about 12 s left"``."""
    if seconds < 1:
        return "less than a second left"
    return f"about {format_seconds(seconds)} left"


def compact_number(value: float) -> str:
    """A short number for a metric box: ``7.9k`` for 7,876, ``31`` for 31.2, ``1.2M``."""
    if value < 10:
        return f"{value:.1f}"
    if value < 1000:
        return f"{value:.0f}"
    if value < 100_000:
        return f"{value / 1e3:.1f}k"
    if value < 1e6:
        return f"{value / 1e3:.0f}k"
    return f"{value / 1e6:.1f}M"


def fine_tune_words(layers: int) -> str:
    """What fine-tuning changes, worded the same on every page (the number is ``fine_tune_layers``).

    tlcore counts only layers with weights and always keeps BatchNormalization frozen.
    """
    return f"the top {int(layers)} layers with weights (BatchNorm kept frozen)"


def speed_metric(progress: Progress) -> tuple[str, str, str]:
    """(label, value, help) of the Train page's speed box, short enough to fit it.

    A head trained on cached features goes through thousands of "images" a second, a number
    that says nothing to a newcomer; there the box shows the time an epoch takes instead.
    """
    if progress.on_cached_features:
        return ("Time per epoch", format_seconds(progress.seconds_per_epoch, precise=True),
                "This stage learns from features computed once and saved, so an epoch takes only a moment.")
    ips = progress.images_per_s
    words = "computing features" if progress.stage == "features" else "training"
    return ("Images per second", f"{compact_number(ips)}/s" if ips else "—",
            f"Pictures processed per second while {words}" + (f": {ips:,.0f}." if ips else "."))


_TRAIN_STAGES = ("head", "fine-tune")
_SPLIT_WORDS = {"train": "training", "val": "validation", "test": "test"}


@dataclass
class _FeaturePass:
    """The feature batches seen since the last stage began (counts summed over splits)."""

    key: tuple
    start: tuple[float | None, float]  # (time, images done) when the stage began
    first: tuple[float | None, float]  # at the first batch: later ones give a steady rate
    base: float = 0.0  # work of the splits already finished (counts restart for each split)
    done: float = 0.0
    total: float = 0.0
    counts_images: bool = True  # False: an old event stream with batch numbers only
    split: str = ""
    view: int = 0
    t: float | None = None

    def units_per_s(self) -> float | None:
        cumulative = self.base + self.done
        for t0, done0 in (self.first, self.start):
            if t0 is not None and self.t is not None and self.t > t0 and cumulative > done0:
                return (cumulative - done0) / (self.t - t0)
        return None


def _feature_pass(ev: dict, current: _FeaturePass | None, stage_t: float | None) -> _FeaturePass:
    """Fold one ``{"type": "batch", "stage": "features"}`` event into the pass it belongs to."""
    counts_images = ev.get("images_done") is not None and bool(_num(ev.get("images_total")))
    done = _num(ev.get("images_done") if counts_images else ev.get("batch")) or 0.0
    total = _num(ev.get("images_total") if counts_images else ev.get("batches")) or 0.0
    key = (str(ev.get("split", "")), int(_num(ev.get("view")) or 0))
    t = _num(ev.get("t"))
    if current is None:
        current = _FeaturePass(key=key, start=(stage_t, 0.0), first=(t, done))
    elif key != current.key:
        if done < current.done:  # a new split starts counting from 0
            current.base += current.done
        current.key = key
    current.done, current.total, current.counts_images, current.t = done, total, counts_images, t
    current.split, current.view = key
    return current


@dataclass
class _Tally:
    """What a run's event stream says so far, folded one event at a time (see progress_of)."""

    totals: dict[str, int]
    layers: int | None  # layers with weights fine-tuning unfreezes
    done: dict[str, int] = dataclasses.field(default_factory=lambda: {"head": 0, "fine-tune": 0})
    state: str = "queued"
    stage: str = ""  # the last stage event
    showing: str = ""  # what the bar measures now: a stage, or "features" inside any stage
    phase: str = "Waiting to start"
    stage_t: float | None = None  # when the stage began
    train_t: float | None = None  # when its training began (after any feature pass in it)
    batch_frac: float = 0.0
    features: _FeaturePass | None = None
    pending_features: bool = False  # a feature pass ran since the last training stage began
    last_train: str = ""
    rates: dict[str, float] = dataclasses.field(default_factory=dict)
    cached: dict[str, bool] = dataclasses.field(default_factory=dict)  # stage -> trains on cached features
    epoch_seconds: dict[str, list[float]] = dataclasses.field(default_factory=dict)

    def feed(self, ev: dict) -> None:
        kind = ev.get("type")
        if kind == "status":
            self.state = str(ev.get("status", self.state))
            self.phase = str(ev.get("message") or self.phase)
        elif kind == "stage":
            self._stage(ev)
        elif kind == "batch" and ev.get("stage") == "features":
            self.features = _feature_pass(ev, self.features if self.showing == "features" else None, self.stage_t)
            self.showing, self.pending_features = "features", True
            self.train_t = self.features.t  # training (if any follows in this stage) starts after it
        elif kind == "batch" and ev.get("stage") in _TRAIN_STAGES:
            self._training(str(ev["stage"]), ev)
            batches = _num(ev.get("batches")) or 0
            self.batch_frac = min(1.0, (_num(ev.get("batch")) or 0) / batches) if batches else 0.0
        elif kind == "epoch":
            stage = str(ev.get("stage", "head"))
            self._training(stage, ev)
            self.done[stage] = self.done.get(stage, 0) + 1
            self.batch_frac = 0.0
            seconds = _num(ev.get("seconds"))
            if seconds is not None:
                self.epoch_seconds.setdefault(stage, []).append(seconds)

    def _stage(self, ev: dict) -> None:
        new_stage = str(ev.get("stage", ""))
        if new_stage != self.stage:
            self.stage_t = self.train_t = _num(ev.get("t"))
            self.batch_frac, self.features = 0.0, None
        self.stage = self.showing = new_stage
        self.pending_features = self.pending_features or new_stage == "features"
        self.phase = str(ev.get("message") or self.phase)
        if new_stage == "fine-tune":
            self.layers = int(_num(ev.get("layers")) or self.layers or 0) or None
            if self.layers:  # the Model page's words, whatever the event's message says
                self.phase = "Fine-tuning " + fine_tune_words(self.layers) + (
                    " on augmented copies of your pictures" if "augment" in str(ev.get("message", "")) else "")

    def _training(self, stage: str, ev: dict) -> None:
        if stage not in self.cached:  # the stage's first batch: it trains on what a feature pass made
            self.cached[stage], self.pending_features = self.pending_features, False
        self.showing = self.last_train = stage
        self.totals[stage] = int(ev.get("epochs") or self.totals.get(stage, 0))
        rate = _num(ev.get("images_per_s"))
        if rate:
            self.rates[stage] = rate

    def progress(self, fraction: float, text: str, ips: float | None, seconds_left: float | None,
                 what: str) -> Progress:
        spe = self.epoch_seconds.get(what)
        return Progress(min(1.0, max(0.0, fraction)), text, self.phase, ips, seconds_left, what,
                        bool(self.cached.get(what)), sum(spe) / len(spe) if spe else None)


def progress_of(events: list[dict], config: TrainConfig | None, *, now: float | None = None) -> Progress:
    """Where a run stands, from its event stream (see docs/ARCHITECTURE.md).

    The bar shows what runs now: the feature pass (images done of the current split, with
    images per second and time left from the batch timestamps), or a training stage
    (finished epochs plus the share of the current one, time left extrapolated from the time
    the stage has trained so far).
    """
    tally = _Tally(
        totals={"head": int(config.epochs) if config else 0,
                "fine-tune": int(config.fine_tune_epochs) if (config and config.mode == "fine-tune") else 0},
        layers=int(config.fine_tune_layers) if config else None,
    )
    for ev in events:
        tally.feed(ev)
    if tally.state in ("finished", "failed", "cancelled", "interrupted"):
        stage = tally.last_train
        fraction = 1.0 if tally.state == "finished" else _stage_fraction(stage, tally.done, tally.totals,
                                                                         tally.batch_frac)
        return tally.progress(fraction, STATUS_WORDS.get(tally.state, tally.state), tally.rates.get(stage), None,
                              stage)
    now = time.time() if now is None else now
    if tally.showing == "features" and tally.features is not None:
        return _feature_progress(tally, tally.features, config, now)
    if tally.showing in _TRAIN_STAGES:
        return _training_progress(tally, now)
    return tally.progress(0.0, tally.phase, None, None, tally.showing)


def _feature_progress(tally: _Tally, features: _FeaturePass, config: TrainConfig | None, now: float) -> Progress:
    """The feature pass: pictures done of this split, images per second, time left for them."""
    fraction = min(1.0, features.done / features.total) if features.total else 0.0
    rate = features.units_per_s()
    ips = rate if features.counts_images else (rate * config.batch_size if rate and config else None)
    seconds_left = None
    if rate:
        waited = max(0.0, now - features.t) if features.t is not None else 0.0
        seconds_left = max(0.0, (features.total - features.done) / rate - waited)
    what = _SPLIT_WORDS.get(features.split, features.split or "your")
    copy = f", augmented copy {features.view}" if features.view else ""
    unit = "pictures" if features.counts_images else "batches"
    text = f"Computing features of the {what} pictures{copy}: {features.done:,.0f} of {features.total:,.0f} {unit}"
    if ips:
        text += f" · {compact_number(ips)} images/s"
    if seconds_left is not None:
        text += f" · {time_left_words(seconds_left)} for these pictures"
    return tally.progress(fraction, text, ips, seconds_left, "features")


def _training_progress(tally: _Tally, now: float) -> Progress:
    """A training stage: epochs done plus the current one's share, and its speed in words that fit."""
    stage = tally.showing
    fraction = _stage_fraction(stage, tally.done, tally.totals, tally.batch_frac)
    epoch_no = min(tally.done.get(stage, 0) + 1, max(tally.totals.get(stage, 0), 1))
    on_cache = bool(tally.cached.get(stage, tally.pending_features))
    if stage == "fine-tune":
        word = "fine-tuning " + fine_tune_words(tally.layers) if tally.layers else "fine-tuning"
    else:
        word = "training the classifier" + (" on the saved features" if on_cache else "")
    text = f"Epoch {epoch_no} of {tally.totals.get(stage) or '?'} ({word})"
    seconds_left = None
    if tally.train_t is not None and fraction > 0.01:
        elapsed = max(0.0, now - tally.train_t)
        seconds_left = max(0.0, elapsed / fraction - elapsed)
    progress = tally.progress(fraction, text, tally.rates.get(stage), seconds_left, stage)
    progress.on_cached_features = on_cache
    if on_cache and progress.seconds_per_epoch is not None:
        progress.text += f" · {format_seconds(progress.seconds_per_epoch, precise=True)} per epoch"
    elif not on_cache and progress.images_per_s:
        progress.text += f" · {compact_number(progress.images_per_s)} images/s"
    if seconds_left is not None:
        more = stage == "head" and tally.totals.get("fine-tune")
        progress.text += f" · {time_left_words(seconds_left)}" + (" in this stage" if more else "")
    return progress


def _stage_fraction(stage: str, done: dict, totals: dict, batch_frac: float) -> float:
    total = totals.get(stage) or 0
    if stage not in _TRAIN_STAGES or not total:
        return 0.0
    return min(1.0, (done.get(stage, 0) + batch_frac) / total)


# --------------------------------------------------------------------------- charts
def _epoch_step(epochs: int) -> int:
    """Label every epoch up to 12, then every 2nd, 5th, 10th… so at most about 10 labels show."""
    if epochs <= 12:
        return 1
    for step in (2, 5, 10, 20, 25, 50, 100, 200, 500):
        if epochs / step <= 10:
            return step
    return max(1, epochs // 10)


def curves_figure(series: dict[str, list[dict]], metric: str, title: str):
    """Loss or accuracy per epoch; ``series`` maps a run name to its epoch rows.

    The legend sits under the chart and the "fine-tuning starts" label above the plotting
    area, so neither covers the title or the curves.
    """
    import plotly.graph_objects as go

    fig = go.Figure()
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"]
    single = len(series) == 1
    for i, (name, rows) in enumerate(series.items()):
        prefix = "" if single else f"{name} · "
        color = palette[i % len(palette)]
        for which, dash in (("", "solid"), ("val_", "dot")):
            ys = [r.get(which + metric) for r in rows]
            if not any(y is not None for y in ys):
                continue
            fig.add_trace(
                go.Scatter(
                    x=[r["epoch"] for r in rows],
                    y=ys,
                    mode="lines+markers",
                    name=prefix + ("validation" if which else "training"),
                    line=dict(color=(palette[1] if which else palette[0]) if single else color,
                              dash="solid" if single else dash),
                    marker=dict(size=5),
                )
            )
        start = next((r["epoch"] for r in rows if r.get("stage") == "fine-tune"), None)
        if start is not None:
            # No annotation_* arguments: add_vline would add a text-less annotation, which
            # Plotly draws as its "new text" placeholder.
            fig.add_vline(x=start - 0.5, line_dash="dash", line_width=1, line_color="gray" if single else color)
            if single:
                fig.add_annotation(x=start - 0.5, xref="x", y=1, yref="paper", yanchor="bottom", xanchor="left",
                                   text="fine-tuning starts", showarrow=False, font=dict(size=11, color="gray"))
    epochs = max((len(rows) for rows in series.values()), default=0)
    fig.update_xaxes(dtick=_epoch_step(epochs), tickangle=0, title="epoch (one pass over all training images)")
    legend_rows = 1 if single else len(series)
    fig.update_layout(
        title=dict(text=title, x=0, xanchor="left", y=0.98, yanchor="top", yref="container"),
        yaxis_title=metric,
        height=340 + 22 * (legend_rows - 1),
        margin=dict(l=10, r=10, t=64, b=10),
        legend=dict(orientation="h", yanchor="top", y=-0.3, xanchor="left", x=0),
    )
    if metric == "accuracy":
        fig.update_yaxes(range=[0, 1.02], tickformat=".0%")
    return fig


def probability_figure(guesses: list[tuple[str, float]]):
    """The Predict page's bars: the model's best guesses on a 0–100 % axis (best at the top)."""
    import plotly.graph_objects as go

    names = [c for c, _ in guesses][::-1]
    probs = [p for _, p in guesses][::-1]
    fig = go.Figure(go.Bar(
        x=probs, y=names, orientation="h", text=[f"{p:.1%}" for p in probs], textposition="auto",
        marker_color=["#1f77b4"] * (len(guesses) - 1) + ["#2ca02c"], cliponaxis=False,
    ))
    # The 100 % label sits on the right edge: the margin leaves it room (without it Plotly
    # drops the label and the axis seems to stop at 80 %).
    fig.update_layout(height=80 + 40 * len(guesses), margin=dict(l=10, r=40, t=10, b=10),
                      xaxis=dict(range=[0, 1], tickvals=[0, 0.2, 0.4, 0.6, 0.8, 1.0], tickformat=".0%",
                                 title="probability", automargin=True))
    return fig


def format_params(n: Any) -> str:
    n = _num(n)
    if n is None:
        return "—"
    if n >= 1e6:
        return f"{n / 1e6:.1f} M"
    if n >= 1e5:
        return f"{n / 1e3:.0f} k"
    return f"{int(n):,}"


def safe_filename(name: str, default: str = "upload") -> str:
    """A plain file name for an uploaded file (no folders, no odd characters)."""
    base = Path(str(name or "")).name
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._")
    return base[:100] or default
