-- Relaxed per-entity-type scores: same type and token F1 >= 0.5, matched one-to-one, greedily from the
-- highest token F1 (models/intermediate/int_relaxed_matches.sql). tp = matched pairs, fp = predicted
-- entities left unmatched, fn = gold ones left unmatched; each relaxed score is >= its strict one.
-- Averages: averages_relaxed_entity.sql.
select * exclude (kind, label_order, label_group, is_present)
from int_class_scores
where kind = 'relaxed_entity'
order by label_order
