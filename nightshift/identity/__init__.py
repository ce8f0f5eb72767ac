"""OneID identity resolution: edge extraction from the catalog, configuration, evaluation, daily summary.

The graph work itself runs in Spark (`spark_jobs/identity/`); the stage (`nightshift/stages/identity.py`)
wires the warehouse, the lake and that job together.
"""
