"""Figures made from the workflow's tables."""
