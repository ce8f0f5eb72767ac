"""Campaign plans: pydantic models (`models`) and loading and validating the plan files (`plans`); the business key
of a planned contact, `contact_id`, written once per engine side by side (`contact_id`).

Plans live in `segments/campaigns/<id>.yml`, the global policy in `segments/policy.yml`. Pure: nothing here reads
the warehouse or starts Spark, so the Spark job that turns active plans into audiences (`spark_jobs/audience.py`,
step order documented there) can use these models. The audiences stage and `campaign preview` live above it
(`nightshift/stages/audiences.py`, `nightshift/audiences/`).
"""
