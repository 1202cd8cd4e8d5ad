"""The feature cache (sparse codes, per-latent statistics and top tokens) of each SAE; see ``cache``.

The tables and readers (``saegeom.features.latents``) import no torch; ``build_feature_cache`` does,
and is loaded on first use.
"""

from saegeom.features.latents import (
    LATENTS_SCHEMA,
    TOP_TOKENS_SCHEMA,
    read_codes,
    read_latents,
    read_top_tokens,
    write_latents,
)

__all__ = ["LATENTS_SCHEMA", "TOP_TOKENS_SCHEMA", "build_feature_cache", "read_codes", "read_latents",
           "read_top_tokens", "write_latents"]


def __getattr__(name: str):
    if name == "build_feature_cache":
        from saegeom.features.cache import build_feature_cache

        return build_feature_cache
    raise AttributeError(name)
