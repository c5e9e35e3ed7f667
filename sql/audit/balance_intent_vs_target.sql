-- section: balance
-- Records per intent against the recipe's target share (manifest config.intents), one row per
-- taxonomy intent in taxonomy order. ratio = share / target (1.0 = on target; NULL without a target).
select * exclude (kind, label_order, raw_share, raw_target, mentions)
from int_label_balance
where kind = 'intent'
order by label_order
