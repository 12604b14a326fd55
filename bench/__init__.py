"""Benchmarks: temporallite side by side with the real Temporal dev server."""
