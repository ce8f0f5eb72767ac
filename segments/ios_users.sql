-- name: ios_users
-- owner: growth-analytics
-- description: App users whose registered device runs iOS.
-- refresh: daily
SELECT one_id
FROM marts.user_profile
WHERE lower(os) = 'ios'
