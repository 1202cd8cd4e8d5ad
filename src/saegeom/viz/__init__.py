"""Figures made from the workflow's tables (matplotlib ``Figure`` objects, no pyplot state).

    from saegeom.viz import plot_comparison_summary
    plot_comparison_summary(pd.read_parquet("results/metrics.parquet"), "comparisons.png")
"""

from saegeom.viz.calibration import plot_calibration
from saegeom.viz.summary import effect_sizes, plot_comparison_summary

__all__ = ["effect_sizes", "plot_calibration", "plot_comparison_summary"]
