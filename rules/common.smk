# Config validation, wildcard constraints and helpers shared by every rule.
import itertools

from snakemake.utils import validate

validate(config, "../workflow/schemas/config.schema.yaml", set_default=True)


def _check_metric_names():
    """Metric names are a registry, not a schema enum: check them here, before any job."""
    from saegeom.metrics import METRICS

    for block in ("compare", "validation"):
        for rep, names in config[block]["metrics"].items():
            unknown = [n for n in names if n not in METRICS]
            if unknown:
                raise ValueError(f"config {block}.metrics.{rep}: unknown metrics {unknown}; "
                                 f"registered: {sorted(METRICS)}")


_check_metric_names()

NAME = r"[A-Za-z0-9_\-]+"


wildcard_constraints:
    world=NAME,
    model=NAME,
    model_a=NAME,
    model_b=NAME,
    sae=NAME,


def canonical(obj):
    """Recursively key-sorted copy: Snakemake compares params by value *and* order,
    so params built from YAML must not depend on the key order of the file."""
    if isinstance(obj, dict):
        return {k: canonical(obj[k]) for k in sorted(obj)}
    if isinstance(obj, list):
        return [canonical(v) for v in obj]
    return obj


def world_cfg(world):
    return canonical(config["worlds"][world])


def sae_spec(sae):
    return canonical(config["saes"][sae])


def model_pairs(world):
    """Pairs (a, b) of a world's simulated models, a < b by name."""
    return list(itertools.combinations(world_cfg(world)["models"], 2))


def hash_of(*parts):
    from saegeom.utils import config_hash

    return config_hash([config["seed"], *parts])


def compare_settings():
    """The `compare` block as keyword arguments of saegeom.compare.pairwise.CompareSettings."""
    c = config["compare"]
    return canonical(dict(metrics=c["metrics"], baselines=c["baselines"], metric_options=c["metric_options"],
                          n_baseline=config["n_baseline"], min_pairs=c["min_pairs"]))


def pairing_settings():
    """The `compare` block as keyword arguments of saegeom.compare.synthetic.PairingSettings."""
    c = config["compare"]
    return dict(methods=list(c["pairings"]), min_corr=c["min_corr"], max_rows=c["pairing_rows"],
                gt_threshold=c["gt_threshold"])
