-- Intent 'macro avg' (over the intents present in gold or predictions, with n_classes and
-- classes_left_out), 'micro avg', 'weighted avg' and 'taxonomy macro avg' (over every taxonomy
-- intent), as sklearn's classification_report names them; definitions in int_class_averages.sql.
select * exclude (kind, label_group, group_order, average_order)
from int_class_averages
where kind = 'intent' and label_group = '(all)'
order by average_order
