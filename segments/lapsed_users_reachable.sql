-- name: lapsed_users_reachable
-- owner: crm-ops
-- description: No activity for 90 to 365 days and no purchase in the last 90, reachable by SMS or app push.
-- refresh: weekly
SELECT one_id
FROM marts.user_profile
WHERE days_since_last_active BETWEEN 90 AND 365
  AND coalesce(days_since_last_purchase, 9999) >= 90
  AND (can_receive_sms = 1 OR can_receive_app_push = 1)
  AND NOT is_blacklisted
