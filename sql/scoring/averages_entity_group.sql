-- Strict entity macro and micro averages per group of types (labels.label_group): 'names' are the
-- types whose values the heldout split holds out of training (titles and people: title, actor,
-- director, character), 'closed_vocabulary' the types whose values both sides share (genre, mood,
-- ...). On the heldout split the 'names' rows answer "does it work on unseen names".
select * exclude (kind, group_order, average_order)
from int_class_averages
where kind = 'entity' and label_group != '(all)' and average in ('macro avg', 'micro avg')
order by group_order, average_order
