"""The simulated world answers Nightshift's exports: benefit grants and delivery results for every exported
contact, with faults injected at known rates, so a reconciliation can be checked against the truth.

`respond(exports_day_dir, landing_root, business_date, seed, rates)` reads business date D's campaign files
(`campaign__<campaign_id>__<channel>.csv`, and `replenishment__<campaign_id>__<benefit_id>.csv` make-up files when
present) and writes, in the shapes the source catalog declares:

| landing file                                              | what                                   | contact_id in   |
|-----------------------------------------------------------|----------------------------------------|-----------------|
| `benefits/<D+1>/grants_responses_<D>.csv`                 | grants of rows with a benefit and cost | `out_request_no`|
| `receipts/<D+1>/aliyun_sms_responses_<D>.jsonl`           | sms (most)                             | `out_id`        |
| `receipts/<D+1>/chuanglan_sms_responses_<D>.csv` (GBK)    | sms (`chuanglan_share`)                | `uid`           |
| `receipts/<D+1>/jpush_responses_<D>.jsonl`                | app_push                               | `cid`           |
| `receipts/<D+1>/wechat_template_responses_<D>.jsonl`      | wechat_oa_template                     | `client_msg_id` |
| `receipts/<D+1>/outbound_call_responses_<D>.csv` (BOM)    | outbound_call                          | `list_row_id`   |
| `orders/<D+1..D+7>/orders_responses_<D>.csv` (+ items)    | extra orders the messages caused       | (app user_id)   |
| `benefits/<D+1..D+7>/redemptions_responses_<D>.csv`       | the granted coupons those orders used  | (grant_id)      |

Late receipts land in the same-named file on D+2 .. D+1+`max_receipt_delay_days`; wecom contacts get no receipt.
Given the channel simulator's ledger (`respond(..., channel_ledger=DIR)`, `nightshift respond --channel-ledger DIR`),
the channels delivered through their APIs are answered from what the simulator accepted: `api_sends`.
Faults and their truth file: `faults`. Conversions (extra orders at `ResponderRates.conversion_rate` per campaign
and variant, 0 for an A/A world) and their truth file `_truth/measurement_uplift.csv`: `conversions`. How contacts
map to the world's people and accounts: `people`. Dates and vendor codes: `answers`.

The world's own grants and receipts (`nightshift generate`) stay: they stand for other systems' sends (self-claimed
coupons, other campaign tools), use campaign ids no plan has, and never carry a contact_id, so a reconciliation
keyed by contact_id sees only the responder's records.
"""

from nightshift.generate.responder.faults import ResponderRates
from nightshift.generate.responder.respond import ResponseSummary, respond

__all__ = ["ResponderRates", "ResponseSummary", "respond"]
