"""saegeom: how similar are the SAE feature spaces of different models?

Library behind the Snakemake workflow. Conventions used throughout:
rows are items (tokens, samples, features), columns are dimensions.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("saegeom")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
