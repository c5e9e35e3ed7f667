-- Averages of int_class_scores per kind, over all classes (label_group '(all)') and per entity group
-- ('names', 'closed_vocabulary'), named as in sklearn's classification_report:
--   'macro avg'           mean over the classes present in gold or predictions (is_present; sklearn's
--                         labels=None restricted to the taxonomy); n_classes of them, the others in
--                         classes_left_out. 0 when none is present;
--   'micro avg'           from the summed tp/fp/fn; over taxonomy classes only, so for intents a
--                         prediction outside the taxonomy or no prediction lowers micro recall but not
--                         micro precision (which is why it can differ from accuracy);
--   'weighted avg'        per-class scores weighted by support;
--   'taxonomy macro avg'  mean over every taxonomy class, absent ones as 0 (labels=<taxonomy>).
-- Micro and weighted are the same over either class list (absent classes add no counts, no support).
-- Support is the summed support of the taxonomy classes. Reads int_class_scores; needs macros/.
create or replace view int_class_averages as

with totals as (
    select
        kind,
        coalesce(label_group, '(all)') as label_group,
        min(label_order) as group_order,
        sum(tp) as tp,
        sum(fp) as fp,
        sum(fn) as fn,
        sum(support) as support,
        count(*) as n_taxonomy,
        count(*) filter (where is_present) as n_present,
        coalesce(list(label order by label_order) filter (where not is_present), []) as left_out,
        coalesce(avg(precision) filter (where is_present), 0.0) as macro_precision,
        coalesce(avg(recall) filter (where is_present), 0.0) as macro_recall,
        coalesce(avg(f1) filter (where is_present), 0.0) as macro_f1,
        coalesce(avg(precision), 0.0) as taxonomy_precision,
        coalesce(avg(recall), 0.0) as taxonomy_recall,
        coalesce(avg(f1), 0.0) as taxonomy_f1,
        safe_div(sum(precision * support), sum(support)) as weighted_precision,
        safe_div(sum(recall * support), sum(support)) as weighted_recall,
        safe_div(sum(f1 * support), sum(support)) as weighted_f1
    from int_class_scores
    -- grouping(label_group) tells the whole-kind row from a group's; intents have no groups
    group by grouping sets ((kind), (kind, label_group))
    having grouping(label_group) = 1 or label_group is not null
),

averages as (
    select
        kind,
        label_group,
        group_order,
        1 as average_order,
        'macro avg' as average,
        macro_precision as precision,
        macro_recall as recall,
        macro_f1 as f1,
        support,
        n_present as n_classes,
        left_out as classes_left_out
    from totals
    union all
    select
        kind,
        label_group,
        group_order,
        2 as average_order,
        'micro avg' as average,
        safe_div(tp, tp + fp) as precision,
        safe_div(tp, tp + fn) as recall,
        f1(tp, fp, fn) as f1,
        support,
        n_taxonomy as n_classes,
        []::varchar[] as classes_left_out
    from totals
    union all
    select
        kind,
        label_group,
        group_order,
        3 as average_order,
        'weighted avg' as average,
        weighted_precision as precision,
        weighted_recall as recall,
        weighted_f1 as f1,
        support,
        n_taxonomy as n_classes,
        []::varchar[] as classes_left_out
    from totals
    union all
    select
        kind,
        label_group,
        group_order,
        4 as average_order,
        'taxonomy macro avg' as average,
        taxonomy_precision as precision,
        taxonomy_recall as recall,
        taxonomy_f1 as f1,
        support,
        n_taxonomy as n_classes,
        []::varchar[] as classes_left_out
    from totals
)

select * from averages;
