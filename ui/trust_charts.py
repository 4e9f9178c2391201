"""The figures of "trust your model": reliability diagram, ROC and precision-recall curves.

Figures only; :mod:`ui.trust_views` decides where they go. The numbers come from
``tlcore.trust`` (``reliability``, ``curves``, ``figures_at``); plotly loads on first use.
"""

from __future__ import annotations

_BEFORE, _AFTER, _POINT, _IDEAL = "#ff7f0e", "#1f77b4", "#d62728", "#9e9e9e"


def _layout(fig, title: str, x_title: str, y_title: str, height: int = 380) -> None:
    fig.update_layout(
        title=dict(text=title, x=0, xanchor="left", y=0.98, yanchor="top", yref="container"),
        height=height, margin=dict(l=10, r=10, t=50, b=10),
        legend=dict(orientation="h", yanchor="top", y=-0.22, xanchor="left", x=0),
    )
    fig.update_xaxes(title=x_title, range=[-0.01, 1.01], tickformat=".0%", fixedrange=True)
    fig.update_yaxes(title=y_title, range=[-0.01, 1.02], tickformat=".0%", fixedrange=True)


def reliability_figure(before: dict | None, after: dict | None):
    """How often the model was right against what it said, before and after calibration.

    ``before``/``after`` are ``tlcore.trust.calibration.reliability`` results; the legend names
    each one's expected calibration error (ECE). A model whose percentages can be believed
    follows the dotted diagonal.
    """
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="percentages you can believe",
                             line=dict(color=_IDEAL, dash="dot"), hoverinfo="skip"))
    for label, diagram, color in (("before calibration", before, _BEFORE), ("after calibration", after, _AFTER)):
        bins = [b for b in (diagram or {}).get("bins") or [] if b.get("count")]
        if not bins:
            continue
        ece = diagram.get("ece")
        name = f"{label} (ECE {100 * float(ece):.1f} %)" if ece is not None else label
        counts = [int(b["count"]) for b in bins]
        biggest = max(counts) or 1
        fig.add_trace(go.Scatter(
            x=[float(b["confidence"]) for b in bins], y=[float(b["accuracy"]) for b in bins],
            mode="lines+markers", name=name, line=dict(color=color),
            marker=dict(size=[8 + 14 * (c / biggest) ** 0.5 for c in counts], color=color),
            customdata=counts,
            hovertemplate="the model said %{x:.0%}<br>it was right %{y:.0%} of the time<br>%{customdata} picture(s)"
                          "<extra></extra>",
        ))
    _layout(fig, "When the model says x %, how often is it right?", "what the model said (its probability)",
            "how often it was right")
    return fig


def _point_text(threshold: float) -> str:
    return f"threshold {threshold:.3f}"


def roc_figure(roc: dict, point: dict | None, classes: list[str]):
    """The ROC curve (AUC in the legend) with the chosen threshold marked.

    ``roc`` is ``curves(...)["roc"]``; ``point`` a ``figures_at`` result (its sensitivity and
    specificity place the marker).
    """
    import plotly.graph_objects as go

    negative, positive = classes[0], classes[1]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="guessing", line=dict(color=_IDEAL, dash="dot"),
                             hoverinfo="skip"))
    auc = roc.get("auc")
    fig.add_trace(go.Scatter(
        x=roc.get("fpr") or [], y=roc.get("tpr") or [], mode="lines", line=dict(color=_AFTER),
        name=f"the model (AUC {float(auc):.3f})" if auc is not None else "the model",
        customdata=roc.get("thresholds") or None,
        hovertemplate=f"false alarms %{{x:.1%}} of {negative}<br>finds %{{y:.1%}} of {positive}"
                      + ("<br>threshold %{customdata:.3f}" if roc.get("thresholds") else "") + "<extra></extra>",
    ))
    if point and point.get("sensitivity") is not None and point.get("specificity") is not None:
        fig.add_trace(go.Scatter(
            x=[1 - float(point["specificity"])], y=[float(point["sensitivity"])], mode="markers",
            name=_point_text(float(point["threshold"])), marker=dict(size=14, color=_POINT, symbol="x"),
            hovertemplate=f"{_point_text(float(point['threshold']))}<br>sensitivity %{{y:.1%}}"
                          "<br>false alarms %{x:.1%}<extra></extra>",
        ))
    _layout(fig, "ROC curve: finding more, against false alarms",
            f"false alarms: share of {negative} called {positive} (1 − specificity)",
            f"sensitivity: share of {positive} found")
    return fig


def precision_recall_figure(pr: dict, point: dict | None, classes: list[str]):
    """The precision-recall curve (average precision in the legend) with the chosen threshold marked."""
    import plotly.graph_objects as go

    positive = classes[1]
    fig = go.Figure()
    auc = pr.get("auc")
    fig.add_trace(go.Scatter(
        x=pr.get("recall") or [], y=pr.get("precision") or [], mode="lines", line=dict(color=_AFTER, shape="hv"),
        name=f"the model (AUC {float(auc):.3f})" if auc is not None else "the model",
        hovertemplate=f"finds %{{x:.1%}} of {positive}<br>right %{{y:.1%}} of the times it says {positive}"
                      "<extra></extra>",
    ))
    if point and point.get("sensitivity") is not None and point.get("precision") is not None:
        fig.add_trace(go.Scatter(
            x=[float(point["sensitivity"])], y=[float(point["precision"])], mode="markers",
            name=_point_text(float(point["threshold"])), marker=dict(size=14, color=_POINT, symbol="x"),
            hovertemplate=f"{_point_text(float(point['threshold']))}<br>finds %{{x:.1%}}<br>right %{{y:.1%}}"
                          "<extra></extra>",
        ))
    _layout(fig, f"Precision-recall: how often “{positive}” is right",
            f"sensitivity (recall): share of {positive} found",
            f"precision: right when it says {positive}")
    return fig


__all__ = ["precision_recall_figure", "reliability_figure", "roc_figure"]
