-- name: wechat_followers_without_phone
-- owner: growth-analytics
-- description: WeChat official-account followers we cannot reach by phone: candidates for a bind-your-phone campaign.
-- refresh: daily
SELECT one_id
FROM marts.user_profile
WHERE notEmpty(wechat_oa_openid)
  AND can_receive_wechat_oa_template = 1
  AND empty(phone)
