{#-
    Buy-till-you-die RFM on user_profile holds together: recency (first -> last purchase) never exceeds age
    (first purchase -> run date), monetary is 0 exactly when there is no repeat purchase day, and the columns
    are present together (all for buyers, none for non-buyers). Returns the people that break it.
-#}
select one_id, rfm_frequency, rfm_recency_days, rfm_age_days, rfm_monetary, rfm_segment
from {{ ref('user_profile') }}
where rfm_recency_days > rfm_age_days
    or (rfm_frequency = 0 and rfm_monetary != 0)
    or (rfm_frequency > 0 and rfm_recency_days = 0)
    or (isNull(rfm_frequency) != isNull(rfm_age_days))
    or (isNull(rfm_frequency) != (rfm_segment = 'non_buyer'))
