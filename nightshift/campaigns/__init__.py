"""Campaign plans: pydantic models, policy loading, validation, preview, exports and the stage hook.

Plans live in `segments/campaigns/<id>.yml`, the global policy in `segments/policy.yml`. The Spark steps that
turn active plans into audiences are in `spark_jobs/audience.py` (their order is documented there).
"""
