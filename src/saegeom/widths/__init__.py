"""How features split across SAE widths: family trees of a width ladder and their validation.

    from saegeom.widths import label_latents, ladder_families
    labels = label_latents(dec_wide @ dec_narrow.T, coactivation)      # same / split / merged / novel / dead
    families, validation = ladder_families("acts/a", {64: sae64, 128: sae128}, world="world.safetensors")
"""

from saegeom.widths.families import (
    FAMILIES_SCHEMA,
    LABELS,
    WIDTH_DEFAULTS,
    family_table,
    feature_map,
    label_latents,
    link_scores,
)
from saegeom.widths.ladder import ladder_families
from saegeom.widths.validation import VALIDATION_SCHEMA, recovered_links, validate_links

__all__ = ["FAMILIES_SCHEMA", "LABELS", "VALIDATION_SCHEMA", "WIDTH_DEFAULTS", "family_table", "feature_map",
           "ladder_families", "label_latents", "link_scores", "recovered_links", "validate_links"]
