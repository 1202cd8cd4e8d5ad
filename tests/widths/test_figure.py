"""The width-families figure draws a validation table (label shares sum to 1 per width)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

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
    with pytest.raises(ValueError, match="no rows"):
        F.draw(table().iloc[:0])
