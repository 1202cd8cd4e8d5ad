"""Rule `pair_features`: pair the latents of two simulated models' SAEs (every configured method)."""

from saegeom.compare.synthetic import PairingSettings, compute_pairs
from saegeom.pairing import write_pairs
from saegeom.sae.train import load_sae
from saegeom.synthetic.world import World
from saegeom.utils import resolve_device
from saegeom.workflow import setup_script

setup_script(snakemake)  # noqa: F821
sm = snakemake  # noqa: F821
w = sm.wildcards
device = resolve_device(sm.params.device)
pairs = compute_pairs(World.load(sm.input.world), w.model_a, w.model_b, load_sae(sm.input.sae_a, device),
                      load_sae(sm.input.sae_b, device), sm.input.acts, PairingSettings(**sm.params.settings), device)
write_pairs(pairs, sm.output[0])
