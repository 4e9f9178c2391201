"""Three people use one server at once, each in their own browser (issue 4, "Many users").

One `streamlit run app.py`; three Chromium contexts (three users, no shared cookies or storage)
each upload their own zip (different dataset and class names) and start a short run. The runs
queue on the machine-wide training lock, so they train one after another. Checked:

* each user sees only their own dataset, classes and run — never another user's;
* a page in one session still opens quickly while another session's run trains or waits;
* at most one run is "running" at any moment (read live and from the runs' event logs);
* the memory of the server and its job processes together stays bounded.
"""

from __future__ import annotations

import io
import re
import time
import zipfile
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest
from PIL import Image

from browser_helpers import ROOT, browser, go_to, no_exception, start_server, wait_idle  # noqa: F401  (browser: a fixture)
from tlcore.jobs import list_runs, read_events

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

# dataset name -> its two class names; every word here is unique to one user
USERS = {
    "orchard_fruit": ("apple", "pear"),
    "garage_tools": ("hammer", "wrench"),
    "garden_birds": ("robin", "sparrow"),
}
ARTIFACTS = ROOT / "tests" / "artifacts" / "multiuser"
MEMORY_LIMIT_BYTES = 6 * 1024**3
PAGE_OPENS_WITHIN_S = 10.0
ALL_RUNS_DONE_WITHIN_S = 360


def _dataset_zip(name: str, classes: tuple[str, str], per_class: int = 10) -> bytes:
    """A tiny separable dataset: class 0 reddish, class 1 bluish, 32x32 noisy PNGs."""
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for label, cls in enumerate(classes):
            for i in range(per_class):
                pixels = rng.normal(60, 20, (32, 32, 3))
                pixels[..., 0 if label == 0 else 2] += 150
                png = io.BytesIO()
                Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(png, "PNG")
                zf.writestr(f"{name}/{cls}/{cls}_{i:02d}.png", png.getvalue())
    return buffer.getvalue()


def _process_tree_rss(root_pid: int) -> tuple[int, int]:
    """(total resident memory in bytes, number of processes) of ``root_pid`` and all its descendants."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    tree, frontier = {root_pid}, [root_pid]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in tree:
                tree.add(child)
                frontier.append(child)
    total = 0
    for pid in tree:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
        total += int(match.group(1)) * 1024 if match else 0
    return total, len(tree)


def _session_id(page) -> str:
    return parse_qs(urlparse(page.url).query)["ws"][0]


def _sidebar(page) -> str:
    return page.locator('[data-testid="stSidebar"]').inner_text()


def _main(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def _others(name: str) -> list[str]:
    """Every word that belongs to the other users."""
    return [word for other, classes in USERS.items() if other != name for word in (other, *classes)]


def test_three_users_at_once_each_see_only_their_own_work(browser, tmp_path_factory, tmp_path):
    workspace = tmp_path_factory.mktemp("workspace")
    server = start_server(workspace)
    peak = {"rss": 0, "processes": 0}

    def sample_memory() -> None:
        rss, count = _process_tree_rss(server.proc.pid)
        if rss > peak["rss"]:
            peak.update(rss=rss, processes=count)

    pages = {}
    try:
        for name in USERS:
            context = browser.new_context(viewport={"width": 1300, "height": 1000})
            page = context.new_page()
            page.set_default_timeout(120_000)
            # "/" and not "/data": the Data page is the default page, whose only address is "/"
            # (a typed /data shows Streamlit's "Page not found" once the server has run st.navigation).
            page.goto(server.url + "/")
            page.get_by_text("Choose your images").first.wait_for()
            wait_idle(page)
            pages[name] = page
        sessions = {name: _session_id(page) for name, page in pages.items()}
        assert len(set(sessions.values())) == 3, "each browser gets its own workspace"

        # ---- each user uploads their own zip
        for name, classes in USERS.items():
            page = pages[name]
            zip_path = tmp_path / f"{name}.zip"
            zip_path.write_bytes(_dataset_zip(name, classes))
            page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(zip_path))
            page.get_by_text(f"What we found in “{name}”").first.wait_for()
            wait_idle(page)
            no_exception(page)
            sample_memory()

        # ---- small, quick settings through the Model page, as a user would set them
        for name, page in pages.items():
            go_to(page, "Model")
            page.get_by_text("Where to cut the network").first.wait_for()
            page.get_by_text("Random start (no pretraining").click()
            wait_idle(page)
            for label, value in (("Image size (pixels)", "32"), ("Epochs", "2")):
                box = page.get_by_role("spinbutton", name=label, exact=True)
                box.fill(value)
                box.press("Enter")
                wait_idle(page)
            page.get_by_text("Trainable parameters").first.wait_for()
            no_exception(page)
            sample_memory()

        # ---- all three start a run, one right after the other
        for name, page in pages.items():
            go_to(page, "Train")
            page.get_by_label("Name this run (optional)").fill(f"{name} run")
            page.get_by_role("button", name="Start training").click()
            page.get_by_text(f"{name.replace('_', '-')}-run").first.wait_for()
            wait_idle(page)
            no_exception(page)
        runs_dirs = {name: workspace / "sessions" / sid / "runs" for name, sid in sessions.items()}

        # ---- while they queue and train: one runs at a time, other pages still open quickly
        page_times: list[tuple[str, str, float]] = []
        max_running = 0
        deadline = time.time() + ALL_RUNS_DONE_WITHIN_S
        while True:
            statuses = {name: [r.status for r in list_runs(d)] for name, d in runs_dirs.items()}
            running = [name for name, st in statuses.items() if "running" in st]
            waiting = [name for name, st in statuses.items() if "queued" in st]
            max_running = max(max_running, len(running))
            assert len(running) <= 1, f"two runs train at once: {statuses}"
            sample_memory()
            if running and len(page_times) < 2:
                # A user whose run is not the one training opens the Data page.
                visitor = next(name for name in pages if name not in running and name not in {v for v, _, _ in page_times})
                state = "queued" if waiting else "done"
                started = time.time()
                page = pages[visitor]
                page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Data", exact=True).click()
                page.get_by_text(f"What we found in “{visitor}”").first.wait_for(timeout=60_000)
                page.locator('[data-testid="stMetric"]').filter(has_text="Classes").first.wait_for(timeout=60_000)
                page_times.append((visitor, f"while {running[0]} trains (own run {state})", time.time() - started))
                wait_idle(page)
                no_exception(page)
            if all(st and not set(st) & {"queued", "running"} for st in statuses.values()):
                break
            assert time.time() < deadline, f"runs did not finish in time: {statuses}"
            time.sleep(0.5)

        for visitor, when, seconds in page_times:
            print(f"Data page of {visitor} opened in {seconds:.1f} s {when}")
        print(f"peak memory of the server and its jobs: {peak['rss'] / 1024**3:.2f} GiB "
              f"over {peak['processes']} processes")
        assert page_times, "no page was opened while a run trained"
        assert all(seconds < PAGE_OPENS_WITHIN_S for _, _, seconds in page_times), page_times
        assert peak["rss"] < MEMORY_LIMIT_BYTES, f"{peak['rss'] / 1024**3:.2f} GiB"
        assert max_running == 1, "a run was seen training"

        # ---- every run finished, and they trained one after another (from the event logs)
        spans = []
        for name, runs_dir in runs_dirs.items():
            runs = list_runs(runs_dir)
            assert [r.status for r in runs] == ["finished"], (name, [(r.status, r.message) for r in runs])
            assert runs[0].run_id.endswith(f"{name.replace('_', '-')}-run")
            events = read_events(runs[0].run_dir)
            start = next(e["t"] for e in events if e.get("status") == "running")
            end = next(e["t"] for e in events if e.get("status") == "finished")
            spans.append((start, end, name))
            # the run trained on this user's own upload, kept in this user's own workspace
            data = Path(runs[0].config["data"]).resolve()
            assert data.is_relative_to(runs_dir.parent.resolve()), data
            assert sorted(p.name for p in data.iterdir()) == sorted(USERS[name])
        spans.sort()
        for (_, end, first), (start, _, second) in zip(spans, spans[1:]):
            assert start >= end - 0.5, f"{second} started training before {first} had finished"

        # ---- each user sees only their own work on every page
        for name, page in pages.items():
            run_word = f"{name.replace('_', '-')}-run"
            go_to(page, "Train")
            page.get_by_text("Training finished").first.wait_for()
            seen = _sidebar(page) + _main(page)
            assert name in _sidebar(page) and run_word in seen
            go_to(page, "Data")
            page.get_by_text(f"What we found in “{name}”").first.wait_for()
            for cls in USERS[name]:
                # the page is drawn top to bottom: wait for the samples section, not for a status
                # widget that a loaded machine may show late
                page.get_by_text(re.compile(rf"^{cls} · \d+ images$")).first.wait_for(timeout=60_000)
            wait_idle(page)
            seen += _sidebar(page) + _main(page)
            go_to(page, "Runs & export")
            page.get_by_text("Download a model").first.wait_for()
            wait_idle(page)
            seen += _main(page)
            no_exception(page)
            leaked = [word for word in _others(name) if re.search(rf"\b{word}\b", seen)]
            leaked += [other for other in USERS if other != name and other.replace("_", "-") in seen]
            assert not leaked, f"{name}'s pages show another user's {leaked}"
        for page in pages.values():
            page.context.close()
    except BaseException:
        # what each user saw when it went wrong (CI artifacts)
        for name, page in pages.items():
            try:
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
            except Exception:
                pass
        print(server.log_tail())
        raise
    finally:
        sample_memory()
        server.stop()
