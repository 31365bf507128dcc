"""Metrics and reports: how close, how good, how faithful to the prompt."""
