"""fame-tf's benchmarks, by purpose: ``quality`` (ranking quality against the paper and a peer),
``performance`` (speed, scale, latency, soak), ``analysis`` (what trained models do), ``report``
(the tables and plots of the docs, from the committed results). ``archive/`` keeps one-off
experiments with their results and conclusions. Run them as ``python -m bench NAME [OPTIONS]``."""
