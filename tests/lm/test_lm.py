"""Language models: corpus, tokenizer, toy LM, activation caches, CE-loss splice, feature cache,
semantic subspaces, category recovery and the local (offline) pretrained path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from saegeom import rules as R
from saegeom.features import LATENTS_SCHEMA, TOP_TOKENS_SCHEMA, read_codes, read_latents, read_top_tokens
from saegeom.features.cache import latent_groups
from saegeom.io.shards import ShardSet, ShardWriter, split_shards
from saegeom.lm.activations import TokenizerMismatch, balanced_shard_rows, check_same_tokens, read_tokens
from saegeom.lm.corpus import (
    CATEGORIES,
    ORDERED_CATEGORIES,
    STORY_CATEGORIES,
    make_corpus,
    read_categories,
    read_stories,
    split_corpus,
)
from saegeom.lm.groups import GroupLabels, category_scores
from saegeom.lm.hook_points import expand_hooks
from saegeom.lm.models import ModelUnavailable, load_pretrained_lm, load_toy_lm
from saegeom.lm.runtime import splice_metrics
from saegeom.lm.splice import spliced_loss
from saegeom.lm.tokenizer import encode_stories, load_tokenizer, train_tokenizer
from saegeom.sae.load import load_sae, read_sae_metrics
from saegeom.sae.train import build_training_sae
from saegeom.settings import LM_DEFAULTS, CompareSettings, PairingSettings

REPO = Path(__file__).resolve().parents[2]
SNAKEFILE = str(REPO / "workflow" / "Snakefile")
DEFAULT_LM = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["lm"]


def test_corpus_has_every_category_word_and_is_identical_per_seed():
    stories = make_corpus(LM_DEFAULTS["corpus"]["n_stories"], seed=0)
    words = {w for s in stories for w in s.split()}
    missing = [w for ws in CATEGORIES.values() for w in ws if w not in words]
    assert not missing
    assert make_corpus(300, seed=5) == make_corpus(300, seed=5)
    assert make_corpus(300, seed=5) != make_corpus(300, seed=6)
    train, held = split_corpus(stories, 0.25)
    assert len(held) == 1000 and train + held == stories
    # every category word is one token of the word-level tokenizer
    assert len({w for ws in CATEGORIES.values() for w in ws}) == sum(len(ws) for ws in CATEGORIES.values())


def test_story_words_repeat_and_ordered_words_have_their_successor():
    """Each story uses one word per STORY_CATEGORIES category (checked by counting the distinct category words
    of a story; names: the opening's name is the ending's, a second name may come and go), and every successor
    sentence names the next day/month/number (checked against hand-written successor tables, not the module's lists)."""
    next_day = dict(zip("monday tuesday wednesday thursday friday saturday sunday".split(),
                        "tuesday wednesday thursday friday saturday sunday monday".split(), strict=True))
    next_month = dict(zip("january february march april may june july august september october november december"
                          .split(), "february march april may june july august september october november december "
                          "january".split(), strict=True))
    next_number = dict(zip("two three four five six seven eight nine".split(),
                           "three four five six seven eight nine ten".split(), strict=True))
    assert set(STORY_CATEGORIES) | set(ORDERED_CATEGORIES) == set(CATEGORIES)
    word_cat = {w: c for c, ws in CATEGORIES.items() for w in ws}
    n_successors = 0
    for story in make_corpus(500, seed=3):
        sentences = [s.split() for s in story.split(" . ")]
        for cat in STORY_CATEGORIES:
            if cat == "names":  # the main name opens and ends every story (a second name comes and goes)
                first = {w for w in sentences[0] if word_cat.get(w) == cat}
                assert len(first) == 1 and first <= set(sentences[-1]), story
            else:
                used = {w for s in sentences for w in s if word_cat.get(w) == cat}
                assert len(used) <= 1, (cat, story)
        for s in sentences:
            if s[:3] == ["the", "day", "after"]:
                assert next_day[s[3]] == s[5], story
                n_successors += 1
            elif s[:1] == ["after"]:
                assert next_month[s[1]] == s[3], story
                n_successors += 1
            elif "then" in s and s[1] == "had":
                assert next_number[s[2]] == s[s.index("then") + 1], story
                n_successors += 1
            elif s[1:5] == ["and", "one", "more", "make"]:
                assert next_number[s[0]] == s[5], story
                n_successors += 1
    assert n_successors > 100  # 4 of 20 middles, 3-4 middles per story: ~350 expected


def test_category_words_are_single_known_tokens(tmp_path):
    train_tokenizer(make_corpus(500, seed=0), tmp_path / "tokenizer.json")
    tok = load_tokenizer(tmp_path / "tokenizer.json")
    for w in (w for ws in CATEGORIES.values() for w in ws):
        ids = tok(w, add_special_tokens=False)["input_ids"]
        assert len(ids) == 1 and ids[0] != tok.unk_token_id and tok.decode(ids) == w
    seq = encode_stories(tok, ["the cat sat"], n_ctx=3)[0]
    assert seq[0] == tok.bos_token_id and len(seq) == 3  # BOS first, truncated to n_ctx


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    """The default config's 2-layer toy LM, its activation cache and its default SAE (seed 0)."""
    root = tmp_path_factory.mktemp("lm")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small matrices: one thread is as fast and does not fight the other jobs
    corpus = LM_DEFAULTS["corpus"]
    R.lm_corpus(n_stories=corpus["n_stories"], heldout_fraction=corpus["heldout_fraction"], seed=0, out=root / "corpus")
    R.lm_tokenizer(corpus=root / "corpus", out=root / "tokenizer.json")
    spec = DEFAULT_LM["models"]["toy2"]
    assert spec["n_layers"] == 2
    lm_metrics = R.train_lm(corpus=root / "corpus", tokenizer=root / "tokenizer.json", spec=spec, seed=1, device="cpu",
                            out=root / "model")
    hook = expand_hooks(spec["hook"], lambda: spec["n_layers"])[0]  # the default caches every layer: the first
    R.lm_activations(corpus=root / "corpus", lm="toy2", spec=spec, model_dir=root / "model", hook=hook,
                     shard_rows=LM_DEFAULTS["shard_rows"], device="cpu", out=root / "acts")
    sae_spec = DEFAULT_LM["saes"]["topk"]
    info = {"spec": spec, "model_dir": root / "model", "hook": hook}
    sae_metrics = R.train_sae(shards=root / "acts", study="toys", model="toy2", sae="topk", spec=sae_spec, seed=0,
                              device="cpu", out=root / "sae", lm=info)
    yield dict(root=root, spec=spec, hook=hook, sae_spec=sae_spec, lm=lm_metrics, sae=sae_metrics, info=info)
    torch.set_num_threads(threads)


def test_toy_lm_beats_the_unigram_entropy(toy_run):
    m = toy_run["lm"]
    saved = json.loads((toy_run["root"] / "model" / "metrics.json").read_text())
    assert saved["heldout_loss"] == m["heldout_loss"] and len(saved["loss_curve"]) >= 10
    # measured: held-out loss ~0.87-0.90 nats vs unigram entropy ~4.36 nats (seeds 0-3)
    assert m["heldout_loss"] < 0.5 * m["unigram_entropy"]
    assert m["loss_curve"][-1][1] < m["loss_curve"][0][1]
    # independent reference for the entropy: counts of the training split by hand
    tok = load_tokenizer(toy_run["root"] / "tokenizer.json")
    ids = np.concatenate([s[1:] for s in encode_stories(
        tok, read_stories(toy_run["root"] / "corpus" / "train.txt"), 64)])
    p = np.bincount(ids) / len(ids)
    p = p[p > 0]
    assert m["unigram_entropy"] == pytest.approx(-(p * np.log(p)).sum(), rel=1e-9)


def test_activation_cache_rows_carry_tokens_docs_positions_and_mask(toy_run):
    s = ShardSet(toy_run["root"] / "acts")
    t = read_tokens(s)
    assert s.n_shards >= 2 and s.d == toy_run["spec"]["d_model"]
    assert ((t["pos"] == 0) == (t["mask"] == 0)).all()  # BOS (and only BOS) masked
    tok = load_tokenizer(toy_run["root"] / "tokenizer.json")
    stories = read_stories(toy_run["root"] / "corpus" / "heldout.txt")
    first = t["token_ids"][t["doc"] == 3]
    assert (first == encode_stories(tok, stories[3:4], 64)[0]).all()
    # the cache equals the model's hook output (TransformerLens run_with_cache)
    model, _ = load_toy_lm(toy_run["root"] / "model")
    _, cache = model.run_with_cache(torch.from_numpy(first[None]), names_filter=toy_run["hook"])
    rows = np.flatnonzero(t["doc"] == 3)
    got = np.concatenate([s.shard_arrays(i)["activations"] for i in range(s.n_shards)])[rows]
    np.testing.assert_allclose(got, cache[toy_run["hook"]][0].numpy(), atol=1e-5)
    # shards of near-equal size, so the held-out (last) one is not whatever remainder the cut left
    sizes = [len(s.shard_arrays(i)["activations"]) for i in range(s.n_shards)]
    assert sum(sizes) == s.n_rows and max(sizes) <= LM_DEFAULTS["shard_rows"]
    assert max(sizes) - min(sizes) <= s.n_shards, sizes


@pytest.mark.parametrize("shard_rows", [1, 7, 100, 16384])
def test_balanced_shard_rows_cut_near_equal_shards(shard_rows):
    """Cut n rows at the returned size: as many shards as a cut at shard_rows gives, none larger than shard_rows,
    sizes within n_shards of each other (the old cut at exactly shard_rows left a last shard of n mod shard_rows,
    e.g. 264 of 49 416 rows at 16 384; checked by hand: 49 416 rows -> 4 shards of 12 354)."""
    assert balanced_shard_rows(49_416, 16_384) == 12_354
    for n in [1, 2, 99, 100, 101, 264, 16_385, 49_073, 49_416, 50_046]:
        r = balanced_shard_rows(n, shard_rows)
        sizes = [min(r, n - start) for start in range(0, n, r)]
        assert len(sizes) == -(-n // shard_rows) and max(sizes) <= shard_rows and sum(sizes) == n
        assert max(sizes) - min(sizes) <= len(sizes), (n, sizes)


class _Splice:
    """A stand-in SAE for the splice: reconstruction = ``scale`` × input."""

    def __init__(self, scale: float):
        self.scale, self.device = scale, torch.device("cpu")
        self.cfg = type("cfg", (), {"metadata": type("meta", (), {"hook_head_index": None})()})()

    def eval(self):
        return self

    def encode(self, x):
        return x

    def decode(self, z):
        return self.scale * z


def test_ce_loss_recovered_is_one_for_identity_and_zero_for_ablation(toy_run):
    model, tok = load_toy_lm(toy_run["root"] / "model")
    seqs = encode_stories(tok, read_stories(toy_run["root"] / "corpus" / "heldout.txt")[:16], 64)
    hook = toy_run["hook"]
    perfect = spliced_loss(model, _Splice(1.0), hook, seqs, tok.pad_token_id, tok.bos_token_id)
    zero = spliced_loss(model, _Splice(0.0), hook, seqs, tok.pad_token_id, tok.bos_token_id)
    assert perfect["ce_loss_recovered"] == pytest.approx(1.0, abs=1e-6)
    assert perfect["kl_div_with_sae"] == pytest.approx(0.0, abs=1e-6)
    # SAELens splices only at non-special tokens (BOS keeps its activation), so a zero reconstruction is
    # not quite the full ablation: check it against the model run with every position after BOS zeroed
    from transformer_lens.utils import lm_cross_entropy_loss

    from saegeom.lm.tokenizer import pad_batch

    tokens, mask = (torch.from_numpy(a) for a in pad_batch(seqs, tok.pad_token_id))

    def zero_after_bos(act, hook):
        act = act.clone()
        act[:, 1:] = 0
        return act

    logits = model.run_with_hooks(tokens, fwd_hooks=[(hook, zero_after_bos)])
    expected = lm_cross_entropy_loss(logits, tokens, attention_mask=mask).item()
    assert zero["ce_loss_with_sae"] == pytest.approx(expected, rel=1e-5)
    assert zero["ce_loss_recovered"] < 0.1 and zero["kl_div_with_sae"] > perfect["kl_div_with_sae"]
    # the clean loss equals the toy LM's own held-out loss on the same stories
    from saegeom.lm.models import heldout_loss

    assert perfect["ce_loss_without_sae"] == pytest.approx(heldout_loss(model, seqs, tok.pad_token_id), rel=1e-5)


def test_trained_sae_recovers_ce_loss_better_than_an_untrained_one(toy_run):
    m = toy_run["sae"]
    assert read_sae_metrics(toy_run["root"] / "sae")["ce_loss_recovered"] == m["ce_loss_recovered"]
    # measured over seeds 0-3: 0.985-0.99 trained vs far below for untrained; (0, 1] with margin
    assert 0.5 < m["ce_loss_recovered"] <= 1.0 and m["kl_div_with_sae"] >= 0
    untrained = build_training_sae(toy_run["sae_spec"], toy_run["spec"]["d_model"], "cpu", seed=0)
    u = splice_metrics(**toy_run["info"], shards=toy_run["root"] / "acts", device="cpu")(untrained)
    assert u["ce_loss_recovered"] < m["ce_loss_recovered"] - 0.2


def test_default_sae_recovers_at_least_half_the_categories(toy_run):
    root = toy_run["root"]
    s = ShardSet(root / "acts")
    scores = category_scores(load_sae(root / "sae"), s, load_tokenizer(root / "tokenizer.json"),
                             read_categories(root / "corpus"), split_shards(s)[1],
                             LM_DEFAULTS["recovery"]["fire_fraction"])
    assert list(scores.category) == list(CATEGORIES)
    recovered = (scores.precision >= LM_DEFAULTS["recovery"]["precision"]).sum()
    assert recovered >= len(CATEGORIES) // 2, scores
    # precision/recall by hand for the best latent of the first category
    assert ((scores.precision >= 0) & (scores.precision <= 1) & (scores.recall <= 1)).all()


def test_feature_cache_follows_the_contract(toy_run):
    root = toy_run["root"]
    R.features(sae=root / "sae", shards=root / "acts", lm={"spec": toy_run["spec"], "model_dir": root / "model"},
               corpus=root / "corpus", groups=None, group_share=0.5, k=16, n_top=20, device="cpu",
               out=root / "features")
    lat, top = read_latents(root / "features"), read_top_tokens(root / "features")
    assert list(lat.columns) == LATENTS_SCHEMA.names and list(top.columns) == TOP_TOKENS_SCHEMA.names
    d_sae = toy_run["sae_spec"]["d_sae"]
    assert (lat.latent.to_numpy() == np.arange(d_sae)).all()
    idx, val, meta = read_codes(root / "features")
    s = ShardSet(root / "acts")
    assert idx.shape == (s.n_rows, 16) and meta["d_sae"] == d_sae and meta["k"] == 16
    # frequency, recomputed from the sparse codes (a TopK SAE with k <= 16 keeps every firing)
    mask = read_tokens(s)["mask"].astype(bool)
    counts = np.bincount(idx[mask][val[mask] > 0], minlength=d_sae)
    np.testing.assert_allclose(lat.frequency, counts / mask.sum())
    live = lat[lat.frequency > 0]
    # max ≥ mean up to rounding (a latent firing with one activation value has mean = max up to an ulp)
    assert (live.max_activation >= live.mean_activation * (1 - 1e-6)).all()
    assert lat[lat.frequency == 0].mean_activation.isna().all()
    assert lat.top_tokens.map(len).max() <= 10
    # top_tokens.parquet: ranks ordered by activation, tokens decode their token ids
    tok = load_tokenizer(root / "tokenizer.json")
    one = top[top.latent == live.latent.iloc[0]]
    assert (np.diff(one.activation) <= 0).all() and list(one["rank"]) == list(range(len(one)))
    assert all(tok.decode([i]) == t for i, t in zip(one.token_id, one.token, strict=True))
    assert lat.group.notna().sum() >= 5 and set(lat.group.dropna()) <= set(CATEGORIES)


def test_latent_groups_and_pair_masks_by_the_a_end():
    groups = {"animals": ["cat", "dog"], "colours": ["red"]}
    got = latent_groups([["cat", "dog", "the"], ["cat", "red", ".", "the"], ["Red", "red"], []], groups, 0.5)
    assert got == ["animals", None, "colours", None]
    lat = lambda g, c: pd.DataFrame({"latent": range(len(g)), "group": g, "is_concept": c})  # noqa: E731
    labels = GroupLabels(lat(["animals", "animals", None], [True, True, False]),
                         lat(["animals", "colours", "animals"], [True, True, True]), ["animals", "colours"])
    m = labels.masks(np.array([0, 1, 2, 0]), np.array([0, 0, 2, 1]))
    assert list(m) == ["all", "group:animals", "group:colours"]
    # the A end decides: pair (A0, B1) is in animals although B1 is a colours latent
    assert m["group:animals"].tolist() == [True, True, False, True] and not m["group:colours"].any()
    labels.concept_filter = True
    assert labels.masks(np.array([2, 0]), np.array([2, 0]))["all"].tolist() == [False, True]


def _token_shards(path, fingerprint, n=40):
    ids = np.arange(n) % 7
    return ShardWriter(path, 3, 16, {"tokenizer": fingerprint, "model": path.name}).add(
        np.zeros((n, 3), np.float32), {"token_ids": ids, "mask": (ids > 0).astype(np.uint8)}).close()


def test_models_with_different_tokenizers_are_refused_by_name(tmp_path):
    a, b = _token_shards(tmp_path / "gpt", "abc"), _token_shards(tmp_path / "neox", "xyz")
    with pytest.raises(TokenizerMismatch, match="different tokenizers"):
        check_same_tokens(a, b)
    check_same_tokens(a, _token_shards(tmp_path / "same", "abc"))
    with pytest.raises(TokenizerMismatch, match="different tokenizers"):
        R.pair_features(sae_a="no-sae", sae_b="no-sae", shards_a=a.path, shards_b=b.path, pairing=PairingSettings(),
                        device="cpu", out=tmp_path / "pairs.parquet")


def test_offline_pretrained_model_error_names_the_model_and_the_local_route(monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # fail at once, not after retries
    with pytest.raises(ModelUnavailable, match=r"(?s)roneneldan/TinyStories-1Layer-21M.*source: local"):
        load_pretrained_lm("roneneldan/TinyStories-1Layer-21M")


def _save_tiny_hf_model(path: Path, tokenizer_file: Path, seed: int) -> None:
    """A tiny GPT-NeoX (Pythia architecture) causal LM and its tokenizer, saved with save_pretrained."""
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM

    tok = load_tokenizer(tokenizer_file)
    torch.manual_seed(seed)
    cfg = GPTNeoXConfig(vocab_size=len(tok.get_vocab()), max_position_embeddings=64, hidden_size=32,
                        num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                        bos_token_id=tok.bos_token_id, eos_token_id=tok.bos_token_id)
    GPTNeoXForCausalLM(cfg).save_pretrained(path)
    tok.save_pretrained(path)


def test_local_model_directory_runs_end_to_end(tmp_path, monkeypatch):
    """A Hugging Face model saved to disk: cache → SAE (with CE loss) → feature cache → comparison rows."""
    from transformers import AutoModelForCausalLM

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    R.lm_corpus(n_stories=300, heldout_fraction=0.5, seed=0, out=tmp_path / "corpus")
    R.lm_tokenizer(corpus=tmp_path / "corpus", out=tmp_path / "tokenizer.json")
    hook = "blocks.0.hook_resid_post"
    sae_spec = {"architecture": "topk", "d_sae": 48, "k": 3, "lr": 0.003, "training_samples": 20000, "batch_size": 256}
    for i, name in enumerate(("a", "b")):
        _save_tiny_hf_model(tmp_path / f"hf_{name}", tmp_path / "tokenizer.json", seed=i)
        spec = {"source": "local", "path": str(tmp_path / f"hf_{name}"), "hook": hook}
        R.lm_activations(corpus=tmp_path / "corpus", lm=name, spec=spec, model_dir=None, hook=hook, shard_rows=2048,
                         device="cpu", out=tmp_path / f"acts_{name}")
        info = {"spec": spec, "model_dir": None, "hook": hook}
        m = R.train_sae(shards=tmp_path / f"acts_{name}", study="local", model=name, sae="topk", spec=sae_spec,
                        seed=0, device="cpu", out=tmp_path / f"sae_{name}", lm=info)
        assert {"ce_loss_recovered", "kl_div_with_sae"} <= set(m)
        if name == "a":  # a local SAELens directory used as a pretrained SAE: saved alike, measured alike
            pm = R.pretrained_sae(source={"path": str(tmp_path / "sae_a")}, acts=tmp_path / "acts_a", lm=info,
                                  device="cpu", out=tmp_path / "pretrained_a")
            assert pm["ce_loss_with_sae"] == pytest.approx(m["ce_loss_with_sae"], rel=1e-6)  # random model: gap ~ 0
            assert pm["explained_variance"] == pytest.approx(m["explained_variance"], abs=1e-6)
            assert torch.equal(load_sae(tmp_path / "pretrained_a").W_dec, load_sae(tmp_path / "sae_a").W_dec)
        R.features(sae=tmp_path / f"sae_{name}", shards=tmp_path / f"acts_{name}", lm=info, corpus=tmp_path / "corpus",
                   groups=None, group_share=0.5, k=8, n_top=10, device="cpu", out=tmp_path / f"features_{name}")
    # the cached hook equals the Hugging Face model's hidden state after layer 0 (independent reference)
    s = ShardSet(tmp_path / "acts_a")
    t = read_tokens(s)
    hf = AutoModelForCausalLM.from_pretrained(tmp_path / "hf_a")
    with torch.no_grad():
        hidden = hf(torch.from_numpy(t["token_ids"][t["doc"] == 0][None]), output_hidden_states=True).hidden_states[1]
    np.testing.assert_allclose(s.shard_arrays(0)["activations"][t["doc"][: s.shard_rows] == 0], hidden[0].numpy(),
                               atol=1e-4)
    pairing = {"pairings": ["hungarian"], "min_corr": 0.0}
    compare = {"n_baseline": 10, "n_tokens": 64, "metrics": {"decoder": ["linear_cka"], "activations": ["linear_cka"]}}
    ctx = {"source": "lm", "world": "local", "model_a": "a", "sae_a": "topk", "model_b": "b", "sae_b": "topk"}
    ends = dict(sae_a=tmp_path / "sae_a", sae_b=tmp_path / "sae_b", shards_a=tmp_path / "acts_a",
                shards_b=tmp_path / "acts_b", pairing=PairingSettings(**pairing), device="cpu")
    R.pair_features(**ends, out=tmp_path / "pairs.parquet")
    R.compare_models(**ends, pairs=tmp_path / "pairs.parquet", features_a=tmp_path / "features_a",
                     features_b=tmp_path / "features_b", corpus=tmp_path / "corpus", groups=None, concept_filter=False,
                     compare=CompareSettings(**compare), context=ctx, out=tmp_path / "cmp.parquet")
    df = pd.read_parquet(tmp_path / "cmp.parquet")
    assert set(df.source) == {"lm"} and set(df.comparison) == {"local:a/topk~b/topk"}
    assert {"all", *(f"group:{c}" for c in CATEGORIES)} == set(df.subspace)
    assert df[df.subspace == "all"].value.notna().all()


def test_schema_lm_defaults_equal_the_settings():
    from saegeom.settings import LM_SOURCES

    lm = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())["properties"]["lm"]
    props = lm["properties"]
    for key, default in LM_DEFAULTS.items():
        assert props[key]["default"] == default, key
        if isinstance(default, dict):
            assert {k: v["default"] for k, v in props[key]["properties"].items()} == default, key
    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    assert tuple(schema["$defs"]["lm_model"]["properties"]["source"]["enum"]) == LM_SOURCES


def test_workflow_plans_the_lm_jobs_and_names_a_bad_lm_config():
    """In process (saegeom.workflow.plan): the default LM block on the tiny config goes through the same
    pair/compare/features rules as the synthetic worlds; a bad LM config is named when the plan is made."""
    from saegeom.config_checks import ConfigError
    from saegeom.workflow.plan import Plan

    schema = str(REPO / "workflow" / "schemas" / "config.schema.yaml")
    cfg = yaml.safe_load((REPO / "tests" / "data" / "tiny_config.yaml").read_text())
    cfg["lm"] = DEFAULT_LM
    plan = Plan.from_config({**cfg, "topology": {"worlds": ["toys"]}}, schema)
    tables = plan.metrics_tables()
    # toy2 is cached at both of its layers: units toy2.L0 and toy2.L1, each compared with toy1
    assert {"results/compare/toys/topk/toy1~categories.parquet", "results/compare/toys/topk/toy2.L1~categories.parquet",
            "results/compare/toys/topk/toy1~toy2.L0.parquet", "results/compare/toys/topk/toy1~toy2.L1.parquet"} <= \
        set(tables)
    assert "results/topology/compare/toys/topk/toy1~toy2.L1.parquet" in tables
    # the viewer page and the topology comparison of the LM pair are labelled from the LM feature caches
    assert "results/viewer/toys/topk/toy1~toy2.L1.html" in plan.viewer_pages()
    page = plan.viewer_inputs("toys", "topk", "toy1", "toy2.L1")
    assert page["latents_a"] == "results/features/toys/toy1/topk"
    topo = plan.topology_inputs("toys", "topk", {"_a": "toy1", "_b": "toy2.L1"})
    assert topo["latents_b"] == "results/features/toys/toy2.L1/topk" and "world" not in topo
    assert plan.lm_info("toy1")["model_dir"] == "results/lm/toy1/model"
    bad = {**cfg, "lm": {**DEFAULT_LM, "comparisons": {"toys": {"models": ["toy1", "gpt9"], "saes": ["topk"]}}}}
    with pytest.raises(ConfigError, match="gpt9"):
        Plan.from_config(bad, schema)

