"""The figures of ui.charts: readable learning curves, honest probability bars, class counts."""

from __future__ import annotations

from ui.charts import confusion_figure, counts_figure, curves_figure, probability_figure


# --------------------------------------------------------------------------- charts
def _rows(epochs: int, fine_tune_from: int | None = None):
    return [{"epoch": e, "stage": "fine-tune" if fine_tune_from and e >= fine_tune_from else "head",
             "loss": 1 / e, "val_loss": 1.1 / e, "accuracy": 0.5, "val_accuracy": 0.45} for e in range(1, epochs + 1)]


def test_a_30_epoch_run_is_labelled_every_few_epochs_flat_and_readable():
    fig = curves_figure({"run": _rows(30, fine_tune_from=21)}, "accuracy", "Accuracy")
    dtick = fig.layout.xaxis.dtick
    assert dtick is not None and 30 / dtick <= 10, "at most about ten epoch labels"
    assert fig.layout.xaxis.tickangle == 0
    short = curves_figure({"run": _rows(5)}, "loss", "Loss")
    assert short.layout.xaxis.dtick == 1


def test_fine_tuning_label_sits_above_the_curves_and_the_legend_below_the_title():
    fig = curves_figure({"run": _rows(30, fine_tune_from=21)}, "accuracy", "Accuracy")
    notes = [a for a in fig.layout.annotations]
    assert [a.text for a in notes] == ["fine-tuning starts"]
    assert notes[0].yref == "paper" and notes[0].y >= 1 and notes[0].yanchor == "bottom"
    assert fig.layout.legend.y < 0, "the legend is under the chart, not over its title"


def test_overlaid_runs_have_no_placeholder_annotations():
    fig = curves_figure({"a": _rows(6, fine_tune_from=4), "b": _rows(8, fine_tune_from=5)}, "loss", "Loss")
    assert all(a.text for a in fig.layout.annotations), "an annotation without text shows as 'new text'"
    assert len([s for s in fig.layout.shapes if s.type == "line"]) == 2, "one fine-tuning marker per run"
    assert fig.layout.legend.y < 0


def test_probability_axis_runs_from_0_to_100_percent():
    fig = probability_figure([("cat", 0.62), ("dog", 0.3), ("fox", 0.08)])
    assert tuple(fig.layout.xaxis.range) == (0, 1)
    assert 1.0 in tuple(fig.layout.xaxis.tickvals)
    assert fig.layout.margin.r >= 30, "room for the 100 % label at the right edge"
    assert list(fig.data[0].y) == ["fox", "dog", "cat"]  # best guess on top


def test_class_counts_leave_out_empty_splits():
    fig = counts_figure({"train": {"a": 3, "b": 2}, "val": {"a": 1, "b": 1}, "test": {"a": 0, "b": 0}}, ["a", "b"])
    assert [bar.name for bar in fig.data] == ["training", "validation"]
    assert list(fig.data[0].y) == [3, 2]


def test_confusion_matrix_outlines_the_chosen_cell_and_takes_clicks():
    fig = confusion_figure([[3, 0], [1, 2]], ["cat", "dog"], normalized=True, selected=("dog", "cat"))
    heat, cells = fig.data
    assert heat.text[1][0] == "33%", "shares of each true class"
    assert [list(c) for c in cells.customdata][2] == ["dog", "cat"], "a click names (true, predicted)"
    (outline,) = [s for s in fig.layout.shapes if s.type == "rect"]
    assert (outline.x0, outline.x1, outline.y0, outline.y1) == (-0.5, 0.5, 0.5, 1.5)
