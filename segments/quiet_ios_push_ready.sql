-- name: quiet_ios_push_ready
-- owner: growth-analytics
-- description: iOS people gone silent or churned who still take app push and are not high-risk (tag combination).
-- refresh: daily
SELECT one_id
FROM marts.user_profile
WHERE lifecycle_stage IN ('silent', 'churned')
  AND device_os = 'ios'
  AND can_receive_app_push = 1
  AND NOT (blacklist_risk_level = 'high')
