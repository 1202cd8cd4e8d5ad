"""Rule `compare_models`: every metric × subspace × representation × pairing for two models' SAEs."""

import pandas as pd

from saegeom.compare.pairwise import CompareSettings, SAEView
from saegeom.compare.rows import Context
from saegeom.compare.synthetic import eval_codes, synthetic_comparison_rows
from saegeom.io.tables import write_metrics
from saegeom.pairing import read_pairs
from saegeom.sae.train import decoder_directions, load_sae
from saegeom.synthetic.world import World
from saegeom.utils import resolve_device
from saegeom.workflow import setup_script

setup_script(snakemake)  # noqa: F821
sm = snakemake  # noqa: F821
w, p = sm.wildcards, sm.params
device = resolve_device(p.device)
settings = CompareSettings(**p.settings)
saes = {m: load_sae(path, device) for m, path in ((w.model_a, sm.input.sae_a), (w.model_b, sm.input.sae_b))}
codes = eval_codes(saes[w.model_a], saes[w.model_b], sm.input.acts, w.model_a, w.model_b, p.n_tokens, device)
views = {m: SAEView(decoder_directions(saes[m]), c) for m, c in zip((w.model_a, w.model_b), codes, strict=True)}
n_tokens = views[w.model_a].codes.shape[0]  # at most p.n_tokens: the held-out shard may be shorter
ctx = Context("synthetic", w.world, w.model_a, w.sae, w.model_b, w.sae, p.seed, p.config_hash, n_samples=n_tokens)
rows = synthetic_comparison_rows(ctx, World.load(sm.input.world), w.model_a, w.model_b, views[w.model_a],
                                 views[w.model_b], read_pairs(sm.input.pairs), settings, p.gt_threshold)
write_metrics(pd.DataFrame(rows), sm.output[0])
