"""Reconciliation (对账补单) on the warehouse: what the reconcile stage reads, and the campaigns' circuit breakers.

- `inputs`: the normalised plan (contact history), benefit ledger and vendor receipts, each keyed by the contact's
  business key `contact_id`, as the Spark job `spark_jobs.reconcile` reads them;
- `breaker`: which campaigns a critical loss alert has stopped, and `resume` to let one go again.
"""
