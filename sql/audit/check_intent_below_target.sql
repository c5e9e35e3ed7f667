-- section: balance
-- check: severity=warn threshold=0.9
-- Intents whose share of records is under threshold x their target share (0.9: more than 10%
-- short). Intents without a target are not checked.
select * exclude (kind, label_order, raw_share, raw_target, mentions)
from int_label_balance
where kind = 'intent' and raw_share < threshold() * raw_target
order by label_order
