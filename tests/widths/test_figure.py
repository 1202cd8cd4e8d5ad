"""The width-families figure draws a validation table (label shares sum to 1 per width)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from saegeom.viz.figures import width_families as F
from saegeom.widths import VALIDATION_SCHEMA


def table(recall=0.5):
    rows = [dict(zip(VALIDATION_SCHEMA.names, [w, w // 2, w, w // 4, w // 2, w // 8, w // 8, 0, 6, 5, 4, 0.8, recall,
                                               recall, 3, recall, 1.0, 1.0], strict=True)) for w in (16, 32)]
    return pd.DataFrame(rows).assign(ladder="l")


def test_draw_stacks_label_shares_to_one():
    fig = F.draw(table())
    bars = fig.axes[0].patches
    heights = np.array([b.get_height() for b in bars]).reshape(len(F.LABEL_COLOURS), 2)
    assert np.allclose(heights.sum(0), 1.0)  # same + split + merged + novel + dead = every latent
    assert len(fig.axes[1].lines) == 3 and isinstance(F.CAPTION, str)


def test_draw_without_hierarchy_and_empty():
    fig = F.draw(table(recall=np.nan))
    assert not fig.axes[1].lines
    empty = F.draw(table().iloc[:0])  # no ladder in the run: one labelled "no data" panel, no bars
    assert not any(ax.patches for ax in empty.axes)
    assert "no width ladder" in " ".join(t.get_text() for ax in empty.axes for t in ax.texts + [ax.title])


def test_table_concatenates_ladders(tmp_path):
    table().to_parquet(tmp_path / "a.parquet")
    table().assign(ladder="m").to_parquet(tmp_path / "b.parquet")
    t = F.table([tmp_path / "a.parquet", tmp_path / "b.parquet"])
    assert sorted(t.ladder.unique()) == ["l", "m"] and len(t) == 4
