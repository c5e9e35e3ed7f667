-- Strict entity averages: 'macro avg' over the types present in gold or predictions (n_classes,
-- classes_left_out), 'micro avg' from the summed counts, 'weighted avg' by support, and 'taxonomy
-- macro avg' over every taxonomy type; definitions in models/intermediate/int_class_averages.sql.
select * exclude (kind, label_group, group_order, average_order)
from int_class_averages
where kind = 'entity' and label_group = '(all)'
order by average_order
