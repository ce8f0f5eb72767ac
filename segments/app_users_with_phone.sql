-- name: app_users_with_phone
-- owner: growth-analytics
-- description: App users who have bound a phone number (SMS-addressable once consent is checked).
-- refresh: daily
SELECT one_id
FROM marts.user_profile
WHERE notEmpty(app_user_id)
  AND has_phone
