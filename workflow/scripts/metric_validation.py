"""Rule `metric_validation`: sweep the shared fraction and score how well each metric tracks it."""

from saegeom.compare.validation import VALIDATION_SCHEMA, plot_metric_validation, run_metric_validation
from saegeom.io.tables import write_table
from saegeom.utils import resolve_device
from saegeom.workflow import setup_script

setup_script(snakemake)  # noqa: F821
sm = snakemake  # noqa: F821
df = run_metric_validation(sm.params.cfg, resolve_device(sm.params.device))
write_table(df, sm.output.table, VALIDATION_SCHEMA)
plot_metric_validation(df, sm.output.figure)
