"""The app's charts: plotly figures of learning curves, class counts, confusion and guesses.

Figures only; the pages decide where they go. Plotly loads on first use.
"""

from __future__ import annotations

from tlcore import SPLIT_WORDS


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


SPLIT_COLORS = {"train": "#1f77b4", "val": "#ff7f0e", "test": "#2ca02c"}
SPLIT_NAMES = SPLIT_WORDS


def counts_figure(counts: dict[str, dict[str, int]], classes: list[str]):
    """The Data page's bars: images per class, one colour per split (empty splits left out)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for split in ("train", "val", "test"):
        values = [counts.get(split, {}).get(c, 0) for c in classes]
        if any(values):
            fig.add_bar(name=SPLIT_NAMES[split], x=classes, y=values, marker_color=SPLIT_COLORS[split], text=values,
                        textposition="auto")
    fig.update_layout(barmode="group", title="Images per class", yaxis_title="images", height=340,
                      margin=dict(l=10, r=10, t=50, b=10), legend=dict(orientation="h", y=1.1, x=1, xanchor="right"))
    return fig


def confusion_figure(matrix: list[list[int]], classes: list[str], normalized: bool,
                     selected: tuple[str | None, str | None] = (None, None)):
    """The confusion matrix; ``selected`` (true, predicted) is outlined: a cell, a row or a column."""
    import plotly.graph_objects as go

    n = len(classes)
    totals = [sum(row) or 1 for row in matrix]
    z = [[matrix[i][j] / totals[i] if normalized else matrix[i][j] for j in range(n)] for i in range(n)]
    text = [[f"{z[i][j]:.0%}" if normalized else str(matrix[i][j]) for j in range(n)] for i in range(n)]
    fig = go.Figure(go.Heatmap(z=z, x=classes, y=classes, text=text, texttemplate="%{text}", colorscale="Blues",
                               showscale=False, hoverinfo="skip", xgap=2, ygap=2))
    # Heatmaps send no click events to Streamlit, so an invisible marker on every cell takes the click.
    xs, ys, custom, hover = [], [], [], []
    for i, true_cls in enumerate(classes):
        for j, pred_cls in enumerate(classes):
            xs.append(pred_cls)
            ys.append(true_cls)
            custom.append([true_cls, pred_cls])
            hover.append(f"true: {true_cls}<br>predicted: {pred_cls}<br>{matrix[i][j]} picture(s) ({matrix[i][j] / totals[i]:.0%})")
    cell_px = max(16, min(90, int(420 / max(n, 1))))
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="markers", customdata=custom, hovertext=hover, hoverinfo="text",
                             marker=dict(symbol="square", size=cell_px, color="rgba(0,0,0,0)", opacity=0.01),
                             showlegend=False, name="cells"))
    true_cls, pred_cls = selected
    if true_cls in classes or pred_cls in classes:
        rows = [classes.index(true_cls)] * 2 if true_cls in classes else [0, n - 1]
        cols = [classes.index(pred_cls)] * 2 if pred_cls in classes else [0, n - 1]
        fig.add_shape(type="rect", xref="x", yref="y", x0=cols[0] - 0.5, x1=cols[1] + 0.5,
                      y0=rows[0] - 0.5, y1=rows[1] + 0.5, line=dict(color="#d62728", width=4),
                      fillcolor="rgba(0,0,0,0)", name="selected")
    # Fixed ranges: the big invisible markers must not pad the axes.
    fig.update_xaxes(title="predicted class", side="bottom", type="category", range=[-0.5, n - 0.5], fixedrange=True)
    fig.update_yaxes(title="true class", type="category", range=[n - 0.5, -0.5], fixedrange=True)
    height = max(300, min(900, 100 + 70 * n))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=10, b=10), clickmode="event+select", dragmode=False)
    return fig
