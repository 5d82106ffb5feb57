"""Report benchmarks (see bench/__init__.py)."""
