"""Jobs that neither train nor encode start without SAELens, TransformerLens or torch (start under 2 s).

Each check runs in a fresh interpreter, since this test process has imported torch long ago.
"""

import json
import os
import subprocess
import sys

import pytest

# what the scripts of the rules world, metrics, comparison_figure, calibration and
# ground_truth_recovery import before they call their one rule function
NON_SAE_MODULES = ["saegeom.rules.synthetic", "saegeom.rules.compare", "saegeom.workflow", "saegeom.workflow.plan",
                   "saegeom.io", "saegeom.metrics", "saegeom.compare",
                   "saegeom.compare.calibration", "saegeom.viz", "saegeom.synthetic", "saegeom.pairing",
                   "saegeom.sae.load"]
HEAVY = ["sae_lens", "transformer_lens", "torch"]


def _loaded_after(code: str) -> list[str]:
    probe = f"import sys, json\n{code}\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_non_sae_modules_import_no_sae_lens_nor_torch():
    assert _loaded_after("\n".join(f"import {m}" for m in NON_SAE_MODULES)) == []


def test_the_probe_can_fail():
    assert _loaded_after("import saegeom.sae.train") == ["torch"]


def test_lazy_names_still_resolve():
    import saegeom.sae as sae

    assert callable(sae.train_sae) and callable(sae.evaluate_sae) and callable(sae.build_training_sae)
    with pytest.raises(AttributeError):
        sae.no_such_name  # noqa: B018
