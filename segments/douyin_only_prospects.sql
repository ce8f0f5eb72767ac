-- name: douyin_only_prospects
-- owner: content-marketing
-- description: Known only from Douyin: no WeChat unionid and no app account yet (acquisition retargeting).
-- refresh: daily
SELECT one_id
FROM marts.user_profile
WHERE douyin_open_id != ''
  AND unionid = ''
  AND app_user_id = ''
  AND NOT is_internal_test_account
