-- Relaxed entity averages (one-to-one token-overlap matching), the same four rows as
-- averages_entity.sql; definitions in models/intermediate/int_class_averages.sql.
select * exclude (kind, label_group, group_order, average_order)
from int_class_averages
where kind = 'relaxed_entity' and label_group = '(all)'
order by average_order
