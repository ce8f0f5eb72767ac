"""Campaign audiences on the warehouse: what the audiences stage and `nightshift campaign preview` share.

- `history`: contact history and money spent by earlier nights (caps, budget);
- `preview`: one campaign's funnel from segment to audience, computed like the stage but written nowhere.

The plans themselves are `nightshift.campaigns` (pure models and file loading); the decision steps are the Spark
job `spark_jobs.audience`.
"""
