-- Per-entity-type precision, recall, F1, support and counts over per-query entity SETS of
-- (type, normalize_value(value)), one row per taxonomy type in taxonomy order, zero_division=0.
-- tp = entities in both sets, fp = predicted only, fn = gold only, support = distinct gold entities.
-- A predicted type outside the taxonomy is scored for no class (it still breaks exact_match); the
-- gold entities of an unparseable output are all false negatives. Definitions: models/.
select * exclude (kind, label_order, label_group, is_present)
from int_class_scores
where kind = 'entity'
order by label_order
