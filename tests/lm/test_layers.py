"""LM layers and checkpoints end to end on toy models trained here: weight snapshots during training, activation
caches at every layer, SAEs per layer, the layer matrix of a model against itself and against a copy of its
architecture trained from another seed."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import torch

from saegeom import rules as R
from saegeom.compare.layers import best_layers, layer_matrix
from saegeom.lm.corpus import read_stories
from saegeom.lm.hook_points import expand_hooks
from saegeom.lm.models import heldout_loss, load_toy_lm
from saegeom.lm.tokenizer import encode_stories
from saegeom.settings import CompareSettings, PairingSettings

pytestmark = pytest.mark.slow

SPEC = {"source": "toy", "hook": "all", "n_layers": 3, "d_model": 32, "n_heads": 2, "d_mlp": 64, "steps": 400,
        "batch_size": 32}
SAE = {"architecture": "topk", "d_sae": 128, "k": 4, "lr": 0.003, "training_samples": 30000, "batch_size": 256}
HOOKS = expand_hooks(SPEC["hook"], lambda: SPEC["n_layers"])
#: the default run's toy2 (2 layers, d_model 64, 600 steps) and its 256-latent SAE (`topk256`): trained enough
#: for a copy from another LM seed to share features layer by layer (SPEC above is not: see ``deep_run``)
TRAINED = {"source": "toy", "hook": "all", "n_layers": 2, "d_model": 64, "n_heads": 4, "d_mlp": 256, "steps": 600,
           "batch_size": 32}
TRAINED_SAE = {"architecture": "topk", "d_sae": 256, "k": 4, "lr": 0.003, "training_samples": 200000,
               "batch_size": 512}
TRAINED_HOOKS = expand_hooks(TRAINED["hook"], lambda: TRAINED["n_layers"])


def _model_with_saes(root, out, lm_seed: int, sae_seeds: tuple[int, ...], snapshot_steps=(), spec=SPEC,
                     sae=SAE) -> dict:
    """A toy LM of ``spec`` trained into ``out``, its caches at every layer, and SAEs (+ feature caches) per layer."""
    out.mkdir(exist_ok=True)
    metrics = R.train_lm(corpus=root / "corpus", tokenizer=root / "tokenizer.json", spec=spec, seed=lm_seed,
                         device="cpu", out=out / "model", snapshot_steps=list(snapshot_steps))
    for hook in expand_hooks(spec["hook"], lambda: spec["n_layers"]):
        R.lm_activations(corpus=root / "corpus", lm="d", spec=spec, model_dir=out / "model", hook=hook,
                         shard_rows=4096, device="cpu", out=out / f"acts_{hook}")
        info = {"spec": spec, "model_dir": out / "model", "hook": hook}
        for seed in sae_seeds:
            R.train_sae(shards=out / f"acts_{hook}", study="layers", model=f"d.{hook}", sae="topk", spec=sae,
                        seed=seed, device="cpu", out=out / f"sae_{hook}_{seed}", lm=info)
            R.features(sae=out / f"sae_{hook}_{seed}", shards=out / f"acts_{hook}", lm=info, corpus=root / "corpus",
                       groups=None, group_share=0.5, k=8, n_top=10, device="cpu", out=out / f"features_{hook}_{seed}")
    return metrics


@pytest.fixture(scope="module")
def deep_run(tmp_path_factory):
    """A 3-layer toy LM (LM seed 3, snapshot at step 40) with two SAEs per layer (seeds 0, 1).

    Too small for the copy test (``copies``): at this size (400 steps; held-out loss 1.5 nats) a copy from another
    LM seed had its best-matching layers by excess off the diagonal for layers 0 and 1 (decoder linear CKA excess
    0.129 at layer 1 against 0.122 on the diagonal; 0.149 at layer 2 against 0.117)."""
    root = tmp_path_factory.mktemp("layers")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    R.lm_corpus(n_stories=800, heldout_fraction=0.25, seed=0, out=root / "corpus")
    R.lm_tokenizer(corpus=root / "corpus", out=root / "tokenizer.json")
    metrics = _model_with_saes(root, root, 3, (0, 1), snapshot_steps=[40])
    yield dict(root=root, metrics=metrics)
    torch.set_num_threads(threads)


def test_snapshots_do_not_change_training_and_load_as_models(deep_run, tmp_path):
    root = deep_run["root"]
    torch.set_num_threads(1)
    R.train_lm(corpus=root / "corpus", tokenizer=root / "tokenizer.json", spec=SPEC, seed=3, device="cpu",
               out=tmp_path / "plain")
    final, tok = load_toy_lm(root / "model")
    plain, _ = load_toy_lm(tmp_path / "plain")
    for k, v in final.state_dict().items():  # the same final weights with and without snapshots
        assert torch.equal(v, plain.state_dict()[k]), k
    early, _ = load_toy_lm(root / "model" / "steps" / "40")
    held = encode_stories(tok, read_stories(root / "corpus" / "heldout.txt")[:200], 64)
    pad = int(tok.pad_token_id)
    # a snapshot is a model of its own: loadable, and worse on held-out text than the final model (measured, LM
    # seed 3, one run: 4.34 nats at step 40 against 1.47 at step 400)
    assert heldout_loss(early, held, pad) > heldout_loss(final, held, pad) + 0.5
    with pytest.raises(ValueError, match="not inside training"):
        R.train_lm(corpus=root / "corpus", tokenizer=root / "tokenizer.json", spec=SPEC, seed=3, device="cpu",
                   out=tmp_path / "bad", snapshot_steps=[SPEC["steps"]])


def _layer_matrix(root, other: str, sae_seed: int, hooks=HOOKS):
    """Seed-0 SAEs of every layer (``hooks``) of the model against the ``sae_seed`` SAEs of every layer of
    ``other`` (``self``: the same model; else the model in that subfolder)."""
    root_b = root if other == "self" else root / other
    pairing = PairingSettings(pairings=["hungarian"])  # min_corr auto: pairs beating chance, not every latent
    compare = CompareSettings(n_baseline=99, n_tokens=1024, metrics={"decoder": ["linear_cka"],
                                                                     "activations": ["linear_cka"]},
                              baselines={"decoder": ["random_partners"], "activations": ["random_partners"]})
    frames, units = [], []
    for ha, hb in itertools.product(hooks, hooks):
        ua, ub = f"a.{ha}", f"b.{hb}"
        ends = dict(sae_a=root / f"sae_{ha}_0", sae_b=root_b / f"sae_{hb}_{sae_seed}", shards_a=root / f"acts_{ha}",
                    shards_b=root_b / f"acts_{hb}", pairing=pairing, device="cpu")
        out = root / f"cmp_{other}_{ha}_{hb}.parquet"
        R.pair_features(**ends, out=root / "pairs.parquet")
        R.compare_models(**ends, pairs=root / "pairs.parquet", features_a=root / f"features_{ha}_0",
                         features_b=root_b / f"features_{hb}_{sae_seed}", corpus=root / "corpus", groups=None,
                         concept_filter=False, compare=compare, out=out,
                         context={"source": "lm", "world": other, "model_a": ua, "sae_a": "topk", "model_b": ub,
                                  "sae_b": "topk"})
        frames.append(pd.read_parquet(out))
    for side, h in itertools.product("ab", hooks):
        units.append({"unit": f"{side}.{h}", "model": side, "hook": h, "layer": int(h.split(".")[1]), "step": 160,
                      "final_step": 160})
    m = layer_matrix(pd.concat(frames, ignore_index=True), units)
    m = m[m["subspace"] == "all"]
    print(m[["layer_a", "layer_b", "representation", "value", "null_mean", "excess", "z", "n_pairs"]].to_string())
    return m


def _assert_diagonal(m: pd.DataFrame) -> None:
    """Decoder rows: the best layer (excess over the random-partners null) is the diagonal; both representations:
    the best by value is (the activation null cannot separate layers: saegeom.compare.layers doc)."""
    best = best_layers(m[m["representation"] == "decoder"])
    by_value = m[m["best_by_value"]]
    assert len(best) == len(HOOKS) and len(by_value) == 2 * len(HOOKS)  # every layer of A
    for r in [*best.itertuples(), *by_value.itertuples()]:
        assert r.layer_b == r.layer_a, (r.representation, r.layer_a, r.layer_b)
    assert (best["p_value"] < 0.05).all()


def test_layer_matrix_of_a_model_against_itself_has_its_best_match_on_the_diagonal(deep_run):
    """Seed-0 SAEs of every layer against seed-1 SAEs of every layer of the same model (measured z on the
    decoder diagonal 20.3-22.6 against 12.7-19.7 off it)."""
    _assert_diagonal(_layer_matrix(deep_run["root"], "self", 1))


@pytest.fixture(scope="module")
def copies(tmp_path_factory):
    """Two toy LMs of TRAINED (LM seeds 5 and 6, same corpus) with one SAE per layer (SAE seed 0)."""
    root = tmp_path_factory.mktemp("copies")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    R.lm_corpus(n_stories=4000, heldout_fraction=0.25, seed=0, out=root / "corpus")
    R.lm_tokenizer(corpus=root / "corpus", out=root / "tokenizer.json")
    _model_with_saes(root, root, 5, (0,), spec=TRAINED, sae=TRAINED_SAE)
    _model_with_saes(root, root / "copy", 6, (0,), spec=TRAINED, sae=TRAINED_SAE)
    yield root
    torch.set_num_threads(threads)


def test_a_copy_trained_from_another_seed_matches_layer_by_layer(copies):
    """The same architecture trained from another LM seed: on `all`, each layer's activations match its own layer
    of the copy best (highest value: the activation null cannot separate layers, saegeom.compare.layers doc), and
    the decoder's diagonal beats the random-partners null where that null is defined.

    Measured (2026-12-01, 0.5.0 corpus, linear CKA, Hungarian; LM seed pairs (3, 4), (5, 6), (7, 8), (9, 10),
    (11, 12); diagonal minus the best off-diagonal cell, per layer of A): activations by value 10 of 10, by
    +0.03 to +0.27 (+0.23 and +0.16 for this test's seeds 5, 6). Not asserted, because it failed once in 10: the
    decoder's best layer by excess and by z (seeds 7, 8, layer 1; −0.005 in excess) and by value (seeds 5, 6,
    layer 0; −0.005). The random-partners null of one off-diagonal cell (seeds 9, 10) was undefined (the
    256-latent SAE's pairs held nearly every live latent of a frequency bin), hence "where defined" below."""
    m = _layer_matrix(copies, "copy", 0, TRAINED_HOOKS)
    by_value = m[m["best_by_value"] & (m["representation"] == "activations")]
    assert len(by_value) == len(TRAINED_HOOKS)
    for r in by_value.itertuples():
        assert r.layer_b == r.layer_a, (r.layer_a, r.layer_b)
    diag = m[(m["representation"] == "decoder") & (m["layer_a"] == m["layer_b"])]
    defined = diag[diag["p_value"].notna()]
    assert len(diag) == len(TRAINED_HOOKS) and len(defined) >= 1
    assert (defined["excess"] > 0).all() and (defined["p_value"] < 0.05).all()


def test_a_local_model_on_disk_is_cached_at_every_layer(tmp_path, monkeypatch):
    """``hook: all`` on a Hugging Face model saved to disk: the layer count comes from its config.json (plan and
    config check), and each layer's cached rows equal the output of that layer of the Hugging Face model (a forward
    hook on it: its last hidden state in ``hidden_states`` has the final LayerNorm applied)."""
    from pathlib import Path

    import yaml
    from test_lm import _save_tiny_hf_model
    from transformers import AutoModelForCausalLM

    from saegeom.io.shards import ShardSet
    from saegeom.lm.activations import read_tokens
    from saegeom.workflow.plan import Plan

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    R.lm_corpus(n_stories=200, heldout_fraction=0.5, seed=0, out=tmp_path / "corpus")
    R.lm_tokenizer(corpus=tmp_path / "corpus", out=tmp_path / "tokenizer.json")
    _save_tiny_hf_model(tmp_path / "hf", tmp_path / "tokenizer.json", seed=0)
    spec = {"source": "local", "path": str(tmp_path / "hf"), "hook": "all"}
    repo = Path(__file__).resolve().parents[2]
    tiny = yaml.safe_load((repo / "tests" / "data" / "tiny_config.yaml").read_text())
    toy = {"source": "toy", "hook": "blocks.0.hook_resid_post", "n_layers": 1, "d_model": 16, "n_heads": 2,
           "d_mlp": 32}
    lm = {"models": {"loc": spec, "t1": toy}, "saes": {"s": {"architecture": "topk", "d_sae": 32, "k": 4}},
          "comparisons": {"loc": {"models": ["loc", "t1"], "saes": ["s"]}}}
    plan = Plan.from_config({**tiny, "lm": lm}, str(repo / "workflow" / "schemas" / "config.schema.yaml"))
    assert plan.models("loc") == ["loc.L0", "loc.L1", "t1"]
    hf = AutoModelForCausalLM.from_pretrained(tmp_path / "hf")
    for i, unit in enumerate(("loc.L0", "loc.L1")):
        info = plan.lm_info(unit)
        R.lm_activations(corpus=tmp_path / "corpus", lm="loc", spec=spec, model_dir=None, hook=info["hook"],
                         shard_rows=2048, device="cpu", out=tmp_path / f"acts_{i}")
        s = ShardSet(tmp_path / f"acts_{i}")
        t = read_tokens(s)
        seen: list[torch.Tensor] = []

        def keep(mod, args, out, seen=seen):
            seen.append((out[0] if isinstance(out, tuple) else out).detach())

        handle = hf.gpt_neox.layers[i].register_forward_hook(keep)
        with torch.no_grad():
            hf(torch.from_numpy(t["token_ids"][t["doc"] == 0][None]))
        handle.remove()
        np.testing.assert_allclose(s.shard_arrays(0)["activations"][t["doc"][: s.shard_rows] == 0], seen[0][0].numpy(),
                                   atol=1e-4)
