"""Comparisons that produce rows of ``results/metrics.parquet``."""
