"""The feature cache (sparse codes, per-latent statistics and top tokens) of each SAE; see ``cache``."""

from saegeom.features.cache import (
    LATENTS_SCHEMA,
    TOP_TOKENS_SCHEMA,
    build_feature_cache,
    read_codes,
    read_latents,
    read_top_tokens,
)

__all__ = ["LATENTS_SCHEMA", "TOP_TOKENS_SCHEMA", "build_feature_cache", "read_codes", "read_latents",
           "read_top_tokens"]
