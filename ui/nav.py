"""The app's pages in order: the one table ``app.py``'s navigation and every "next step" link read."""

from __future__ import annotations

from dataclasses import dataclass

APP_TITLE = "Transfer Studio"


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
    # The classroom's short path over the same steps, with the expert settings hidden.
    PageInfo("pages/7_classroom.py", "Classroom: 3 steps", ":material/school:", "classroom", "Quick start"),
]
STEPS: list[PageInfo] = [p for p in PAGES if p.step.startswith("Step")]  # the expert journey, numbered
PAGE_BY_URL = {p.url_path: p for p in PAGES}
