-- Per-intent precision, recall, F1, support and counts: sklearn's precision_recall_fscore_support(
-- y_true, y_pred, labels=<taxonomy intents>, zero_division=0), one row per taxonomy intent in taxonomy
-- order. No prediction (unparseable output) and a label outside the taxonomy count against the gold
-- class only; a gold label outside the taxonomy is in no class's support, and a taxonomy intent
-- predicted for it is a false positive. Definitions: models/intermediate/int_class_counts.sql.
select * exclude (kind, label_order, label_group, is_present)
from int_class_scores
where kind = 'intent'
order by label_order
