-- name: trade_in_prospects_push_ready
-- owner: c2b-operations
-- description: Tagged as trade-in prospects (searches to sell, or asked a valuation) and reachable by app push.
-- refresh: daily
WITH trade_in_signals AS (
    SELECT DISTINCT one_id
    FROM marts.user_tags
    WHERE (tag_code = 'search_intent' AND tag_value IN ('sell', 'mixed'))
       OR (tag_code = 'c2b_funnel_stage' AND tag_value = 'valued')
)
SELECT profile.one_id AS one_id
FROM marts.user_profile AS profile
INNER JOIN trade_in_signals ON trade_in_signals.one_id = profile.one_id
WHERE profile.can_receive_app_push = 1
  AND profile.has_complaint = 0
