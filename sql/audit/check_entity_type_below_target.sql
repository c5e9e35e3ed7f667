-- section: balance
-- check: severity=warn threshold=1.0
-- Entity types mentioned in a smaller share of records than threshold x their target (targets are
-- minimum shares, so 1.0 flags any shortfall). Types without a target are not checked.
select * exclude (kind, label_order, raw_share, raw_target, mentions)
from int_label_balance
where kind = 'entity_type' and raw_share < threshold() * raw_target
order by label_order
