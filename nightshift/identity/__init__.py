"""OneID identity resolution: edge extraction from the catalog, configuration, daily summary.

The graph work itself runs in Spark (`spark_jobs/identity/`); the stage (`nightshift/stages/identity.py`)
wires the warehouse, the lake and that job together. Scoring the map against the generator's ground truth is a
tool, not part of the product: `bench/identity_evaluate.py`, run end to end by `python -m bench.identity_world`.
"""
