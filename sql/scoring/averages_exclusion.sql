-- Excluded-entity averages: 'micro avg' (from the counts summed over every excludable type: the one
-- exclusion F1 of metrics.json and the headline), 'macro avg' over the types present in gold or
-- predictions, 'weighted avg' by support and 'taxonomy macro avg' over every excludable type;
-- definitions in models/intermediate/int_class_averages.sql, counts in per_class_exclusion.sql.
select * exclude (kind, label_group, group_order, average_order)
from int_class_averages
where kind = 'exclusion' and label_group = '(all)'
order by average_order
