-- name: high_value_customers
-- owner: crm-ops
-- description: RFM champions and loyal customers, and any buyer in the top two spend quintiles (rfm_m_score 4-5).
-- refresh: daily
SELECT one_id
FROM marts.user_profile
WHERE rfm_segment IN ('champion', 'loyal')
   OR rfm_m_score IN (4, 5)
