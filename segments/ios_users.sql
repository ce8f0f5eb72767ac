-- name: ios_users
-- owner: growth-analytics
-- description: People whose app device runs iOS (catalogue tag `device_os`: ios / android / harmonyos / unknown).
-- refresh: daily
SELECT one_id
FROM marts.user_profile
WHERE device_os = 'ios'
