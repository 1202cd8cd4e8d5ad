"""``python -m saegeom.viz.figures workflow/report``: rewrite the Snakemake report's figure captions
(``<name>.rst``) from the figure modules."""

import sys
from pathlib import Path

from saegeom.viz.figures import FIGURES, report_caption

for name in FIGURES:
    (Path(sys.argv[1]) / f"{name}.rst").write_text(report_caption(name))
