"""Figures: plotly figures built from Traces and run metrics. Pure functions; nothing here imports
streamlit or touches a model.

``gates`` (gate heatmaps, prefix curves, pooling, attributions, saturation, updates, diffs, run
curves, exports), ``patterns`` (the Patterns page), ``marks`` (the selected token and unit outlined
on a heatmap).
"""

from sentiment.figures.gates import (  # noqa: F401 (the figures the pages draw)
    EQUATIONS,
    FONT,
    GATE_INFO,
    SORTS,
    accuracy_grid,
    attribution,
    attribution_bar,
    attribution_html,
    compare_pooling,
    compare_prefix,
    confusion_heatmap,
    diff_heatmaps,
    diff_prefix,
    gate_heatmaps,
    gate_title,
    gates_csv,
    gradient_norms,
    layer_choices,
    md_escape,
    pooling_bar,
    prefix_curve,
    recombine,
    run_curves,
    saturation_histogram,
    saturation_shares,
    spread,
    step_values,
    tokens_csv,
    unit_order,
    update_heatmaps,
    update_unit,
)
