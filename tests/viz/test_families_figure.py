"""The families figure: its table from hand-made validation and metrics tables, and bars equal to the table."""

import numpy as np
import pandas as pd

from saegeom.viz.figures import families as F


def test_table_and_draw(tmp_path):
    v = pd.DataFrame({"level": ["all", "all", "pairs", "pairs", "any"],
                      "statistic": ["recall", "precision", "recall", "false_model_rate", "ari"],
                      "value": [0.9, 0.8, 0.5, 0.1, 0.7], "n": [19, 20, 30, 40, 100],
                      "world": "nested", "sae": "s"})
    v.to_parquet(tmp_path / "v.parquet")
    m = pd.DataFrame({"comparison": ["c", "c", "c"], "world": "w", "sae_a": "s", "representation": "decoder",
                      "pairing": "hungarian", "subspace": ["all", "all", "shared"], "metric": ["cka", "cka", "cka"],
                      "value_vs_ceiling": [0.5, 0.5, np.nan], "n_pairs": 10})
    m.to_parquet(tmp_path / "m.parquet")
    t = F.table([tmp_path / "v.parquet"], tmp_path / "m.parquet")
    assert list(t.columns) == list(F.COLUMNS)
    rec = t[t.panel == "recovery"]
    assert len(rec) == 3 and set(rec.metric) == {"recall", "precision"}  # other statistics left out
    ceil = t[t.panel == "ceiling"]
    assert len(ceil) == 1 and ceil.value.item() == 0.5  # one row per key, rows without a ceiling dropped
    fig = F.draw(t)
    ax_rec, ax_ceil = fig.axes
    heights = sorted(round(p.get_height(), 6) for p in ax_rec.patches if not np.isnan(p.get_height()))
    assert heights == [0.5, 0.8, 0.9]
    assert [round(p.get_width(), 6) for p in ax_ceil.patches] == [0.5]
    assert len(F.draw(pd.DataFrame({c: [] for c in F.COLUMNS})).axes) == 2  # empty: labelled panels
