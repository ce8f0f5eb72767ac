"""Synthetic fixtures shared by the benches and the tests; the product (nightshift/, spark_jobs/) never imports them.

- `segment_marts`: synthetic marts (user_profile, user_tags, tag_bitmaps) generated in ClickHouse.
- `campaign_world`: synthetic profiles, memberships and plans for the audience step, small or generated in Spark.
"""
