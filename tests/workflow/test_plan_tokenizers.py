"""The plan of cross-tokenizer LM comparisons: tokenizer files, aligned shard sets, the unit_shuffle null,
the aggregation context, and the config checks that refuse an unaligned comparison."""

from __future__ import annotations

import copy

import pytest
from test_plan import LM, SCHEMA, TINY, TOY

from saegeom.config_checks import ConfigError
from saegeom.workflow.plan import Plan

TOK_LM = {**LM, "models": {**LM["models"], "t1b": {**TOY, "d_model": 16, "tokenizer": "bpe", "seed_from": "t1"}},
          "tokenizers": {"word": {"kind": "word"}, "bpe": {"kind": "bpe", "vocab_size": 60}},
          "comparisons": {**LM["comparisons"],
                          "cross": {"models": ["t1b", "t1"], "saes": ["s"], "alignment": {"aggregation": "mean"}}}}


def plan_of(lm: dict) -> Plan:
    return Plan.from_config(copy.deepcopy({**TINY, "lm": lm}), SCHEMA)


def test_cross_tokenizer_comparison_reads_aligned_units_and_adds_the_alignment_null():
    p = plan_of(TOK_LM)
    assert p.alignment("cross") == {"units": "words", "aggregation": "mean", "length_cap": 3}
    assert not p.is_aligned("toys") and p.aligned_studies() == ["cross"]
    assert p.lm_seed("t1b") == p.lm_seed("t1")
    assert p.lm_tokenizer_file("t1") == "results/lm/tokenizer.json"
    assert p.lm_tokenizer_file("t1b") == "results/lm/tokenizers/bpe.json" and p.named_tokenizers() == ["bpe"]
    # SAEs train on each model's own tokens; pairing and comparison read the aligned units
    assert p.shards("cross", "t1") == p.lm_acts("t1")
    assert p.pair_shards("cross", "t1") == "results/lm/aligned/cross/t1"
    assert p.pair_shards("toys", "t1") == p.shards("toys", "t1")
    assert p.pair_inputs("cross", "s", "t1", "t1b")["aligned"] == "results/lm/aligned/cross"
    assert "aligned" not in p.pair_inputs("toys", "s", "t1", "t2")
    assert set(p.align_inputs("cross")) == {"corpus", "acts_t1", "acts_t1b", "lm_model_t1", "lm_model_t1b"}
    assert "unit_shuffle" in p.compare_settings("cross")["baselines"]["activations"]
    assert "unit_shuffle" not in p.compare_settings("toys").get("baselines", {}).get("activations", [])
    assert p.context("cross", "s", "t1", "t1b")["aggregation"] == "mean"
    assert "aggregation" not in p.context("cross", "s", "t1", "categories")  # recovery: the model's own tokens
    assert "aggregation" not in p.context("toys", "s", "t1", "t2")


def test_word_level_studies_keep_their_hash_when_tokenizers_are_added():
    base, more = plan_of(LM), plan_of(TOK_LM)
    assert base.context("toys", "s", "t1", "t2") == more.context("toys", "s", "t1", "t2")
    other = copy.deepcopy(TOK_LM)
    other["comparisons"]["cross"]["alignment"]["aggregation"] = "last"
    assert plan_of(other).context("cross", "s", "t1", "t1b")["config_hash"] != \
        more.context("cross", "s", "t1", "t1b")["config_hash"]


@pytest.mark.parametrize("change, message", [
    (lambda lm: lm["comparisons"]["cross"].pop("alignment"), "different tokenizers.*alignment"),
    (lambda lm: lm["models"]["t1b"].update(tokenizer="nope"), "'nope' is not in lm.tokenizers"),
    (lambda lm: lm["models"]["t1b"].update(seed_from="t1b"), "seed_from"),
    (lambda lm: lm["tokenizers"].update(word={"kind": "bpe", "vocab_size": 50}), "tokenizers.word"),
    (lambda lm: lm["tokenizers"].update(b={"kind": "byte_bpe", "vocab_size": 100}), "more than 259"),
])
def test_tokenizer_config_problems_are_named(change, message):
    lm = copy.deepcopy(TOK_LM)
    change(lm)
    with pytest.raises(ConfigError, match=message):
        plan_of(lm)
