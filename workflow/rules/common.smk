# Glue between Snakemake and the workflow plan (saegeom.workflow.plan): validation once, wildcard
# constraints, and input/param functions that ask the plan. Paths, settings, contexts and target lists
# live in the plan, where they are unit-tested (tests/workflow/test_plan.py).
from saegeom.settings import NAME_PATTERN
from saegeom.workflow import plan as P

# Every config mistake stops here, before any job (saegeom.config_checks.check_config).
# (workflow.source_path: a local copy also when the workflow runs as a module deployed with snakedeploy)
plan = P.Plan.from_config(
    config,
    workflow.source_path("../schemas/config.schema.yaml"),
    config_files=workflow.configfiles,
)
logfile = P.log_path
ENV = "../envs/saegeom.yaml"  # for `--sdm conda`; the default route is the venv of `make setup`


wildcard_constraints:
    study=NAME_PATTERN,
    model=NAME_PATTERN,
    model_a=NAME_PATTERN,
    model_b=NAME_PATTERN,
    sae=NAME_PATTERN,
    lm=NAME_PATTERN,
    hook=NAME_PATTERN,
    ladder=NAME_PATTERN,
    tokenizer=NAME_PATTERN,


def pair_of(w):
    """The (study, sae, model_a, model_b) of a pairwise job's wildcards."""
    return w.study, w.sae, w.model_a, w.model_b


def shard_params(w):
    """The shard sets of both models of a pairwise job (aligned unit rows in a cross-tokenizer comparison)."""
    return {
        "a": plan.pair_shards(w.study, w.model_a),
        "b": plan.pair_shards(w.study, w.model_b),
    }


def source_param(key, settings):
    """A param holding one key of a study's source-specific settings (None where the source has none)."""
    return lambda w: settings(w.study).get(key)
