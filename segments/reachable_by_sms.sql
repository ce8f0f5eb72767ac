-- name: reachable_by_sms
-- owner: crm-ops
-- description: People we may text today: SMS address + consent, not unsubscribed, not blacklisted, not test accounts.
-- refresh: daily
SELECT one_id
FROM marts.user_profile
WHERE can_receive_sms = 1
  AND is_sms_unsubscribed = 0
  AND NOT is_blacklisted
  AND NOT is_internal_test_account
