-- section: balance
-- Share of records mentioning each entity type at least once, against the recipe's minimum share
-- (manifest config.entity_targets), one row per taxonomy entity type in taxonomy order; mentions
-- counts every span. ratio = share / target (NULL without a target).
select * exclude (kind, label_order, raw_share, raw_target)
from int_label_balance
where kind = 'entity_type'
order by label_order
