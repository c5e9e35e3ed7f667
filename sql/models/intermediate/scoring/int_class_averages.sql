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
-- Support is the summed support of the taxonomy classes. Float sums run in label order, so a rerun
-- gives the same last digit whatever order DuckDB's threads hand the rows in. Reads
-- int_class_scores; needs macros/.
create or replace view int_class_averages as

with totals as (
    select
        kind,
        coalesce(label_group, '(all)') as label_group,
        min(label_order) as group_order,
        sum(support) as support,
        count(*) as n_taxonomy,
        count(*) filter (where is_present) as n_present,
        coalesce(list(label order by label_order) filter (where not is_present), []) as left_out,
        coalesce(avg(precision order by label_order) filter (where is_present), 0.0) as macro_precision,
        coalesce(avg(recall order by label_order) filter (where is_present), 0.0) as macro_recall,
        coalesce(avg(f1 order by label_order) filter (where is_present), 0.0) as macro_f1,
        coalesce(avg(precision order by label_order), 0.0) as taxonomy_precision,
        coalesce(avg(recall order by label_order), 0.0) as taxonomy_recall,
        coalesce(avg(f1 order by label_order), 0.0) as taxonomy_f1,
        safe_div(sum(tp), sum(tp) + sum(fp)) as micro_precision,
        safe_div(sum(tp), sum(tp) + sum(fn)) as micro_recall,
        f1(sum(tp), sum(fp), sum(fn)) as micro_f1,
        safe_div(sum(precision * support order by label_order), sum(support)) as weighted_precision,
        safe_div(sum(recall * support order by label_order), sum(support)) as weighted_recall,
        safe_div(sum(f1 * support order by label_order), sum(support)) as weighted_f1
    from int_class_scores
    -- grouping(label_group) tells the whole-kind row from a group's; intents have no groups
    group by grouping sets ((kind), (kind, label_group))
    having grouping(label_group) = 1 or label_group is not null
),

-- one row per average: the parallel unnests below zip position by position
averages as (
    select
        kind,
        label_group,
        group_order,
        support,
        unnest([1, 2, 3, 4]) as average_order,
        unnest(['macro avg', 'micro avg', 'weighted avg', 'taxonomy macro avg']) as average,
        unnest([macro_precision, micro_precision, weighted_precision, taxonomy_precision]) as precision,
        unnest([macro_recall, micro_recall, weighted_recall, taxonomy_recall]) as recall,
        unnest([macro_f1, micro_f1, weighted_f1, taxonomy_f1]) as f1,
        unnest([n_present, n_taxonomy, n_taxonomy, n_taxonomy]) as n_classes,
        unnest([left_out, [], [], []]) as classes_left_out
    from totals
),

final as (
    select
        kind,
        label_group,
        group_order,
        average_order,
        average,
        precision,
        recall,
        f1,
        support,
        n_classes,
        classes_left_out
    from averages
)

select * from final;
