"""Evaluation: metrics, baselines, the no-skill check, reports and benchmarks of real data."""
