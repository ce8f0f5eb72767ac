-- name: app_users_with_phone
-- owner: growth-analytics
-- description: App users who have bound a phone number (reachable by SMS once consent is checked).
-- refresh: daily
SELECT one_id
FROM marts.user_profile
WHERE has_phone
