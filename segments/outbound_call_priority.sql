-- name: outbound_call_priority
-- owner: call-center
-- description: Champions, at-risk customers and new buyers (welcome call) the call centre may phone, in Shanghai time.
-- refresh: daily
SELECT one_id
FROM marts.user_profile
WHERE multiIf(rfm_segment = 'champion', 1, rfm_segment = 'at_risk', 2, rfm_segment = 'new_buyer', 3, 0) > 0
  AND can_receive_outbound_call = 1
  AND has_complaint = 0
  AND lowerUTF8(timezone) = 'asia/shanghai'
