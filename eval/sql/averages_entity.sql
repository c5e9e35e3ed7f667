-- Macro, micro and weighted averages of entity precision, recall and F1 over the taxonomy entity
-- types, named as in sklearn's classification_report ('macro avg', 'micro avg', 'weighted avg').
-- Same set-based counting as per_class_entity.sql: macro = mean of the per-type scores over the
-- types present in gold or predictions (tp + fp + fn > 0; sklearn's labels=None), n_classes of
-- them, the others listed in classes_left_out; micro = from the summed tp/fp/fn, weighted = weighted
-- by support. 'taxonomy macro avg' is the mean over every taxonomy type, absent ones as 0.
-- Reads `predictions` and `labels` (kind, label, label_order); needs macros/normalize.sql.
with source as (select * from predictions),

taxonomy as (
    select
        lbl.label,
        lbl.label_order
    from labels as lbl
    where lbl.kind = 'entity'
),

entities as (
    select distinct
        src.id,
        src.source,
        src.field as entity_type,
        normalize_value(src.value) as entity_value
    from source as src
    where src.field != 'intent' and src.value is not null
),

gold_entities as (
    select
        e.id,
        e.entity_type,
        e.entity_value
    from entities as e
    where e.source = 'gold'
),

pred_entities as (
    select
        e.id,
        e.entity_type,
        e.entity_value
    from entities as e
    where e.source = 'pred'
),

matches as (
    select
        coalesce(g.entity_type, p.entity_type) as entity_type,
        g.id is not null as in_gold,
        p.id is not null as in_pred
    from gold_entities as g
    full outer join pred_entities as p
        on
            g.id = p.id
            and g.entity_type = p.entity_type
            and g.entity_value = p.entity_value
),

by_type as (
    select
        entity_type,
        count(*) filter (where in_gold and in_pred) as tp,
        count(*) filter (where in_pred and not in_gold) as fp,
        count(*) filter (where in_gold and not in_pred) as fn
    from matches
    group by entity_type
),

counts as (
    select
        t.label,
        t.label_order,
        coalesce(b.tp, 0) as tp,
        coalesce(b.fp, 0) as fp,
        coalesce(b.fn, 0) as fn
    from taxonomy as t
    left join by_type as b on t.label = b.entity_type
),

scores as (
    select
        label,
        label_order,
        tp,
        fp,
        fn,
        tp + fn as support,
        tp + fp + fn > 0 as is_present,
        case when tp + fp > 0 then tp / (tp + fp) else 0.0 end as precision,
        case when tp + fn > 0 then tp / (tp + fn) else 0.0 end as recall,
        case when tp + fp + fn > 0 then 2 * tp / (2 * tp + fp + fn) else 0.0 end as f1
    from counts
),

totals as (
    select
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
        coalesce(avg(precision), 0.0) as taxonomy_macro_precision,
        coalesce(avg(recall), 0.0) as taxonomy_macro_recall,
        coalesce(avg(f1), 0.0) as taxonomy_macro_f1,
        sum(precision * support) as weighted_precision_sum,
        sum(recall * support) as weighted_recall_sum,
        sum(f1 * support) as weighted_f1_sum
    from scores
),

averages as (
    select
        'macro avg' as average,
        1 as average_order,
        macro_precision as precision,
        macro_recall as recall,
        macro_f1 as f1,
        support,
        n_present as n_classes,
        left_out as classes_left_out
    from totals
    union all
    select
        'micro avg' as average,
        2 as average_order,
        case when tp + fp > 0 then tp / (tp + fp) else 0.0 end as precision,
        case when tp + fn > 0 then tp / (tp + fn) else 0.0 end as recall,
        case when tp + fp + fn > 0 then 2 * tp / (2 * tp + fp + fn) else 0.0 end as f1,
        support,
        n_taxonomy as n_classes,
        []::varchar[] as classes_left_out
    from totals
    union all
    select
        'weighted avg' as average,
        3 as average_order,
        case when support > 0 then weighted_precision_sum / support else 0.0 end as precision,
        case when support > 0 then weighted_recall_sum / support else 0.0 end as recall,
        case when support > 0 then weighted_f1_sum / support else 0.0 end as f1,
        support,
        n_taxonomy as n_classes,
        []::varchar[] as classes_left_out
    from totals
    union all
    select
        'taxonomy macro avg' as average,
        4 as average_order,
        taxonomy_macro_precision as precision,
        taxonomy_macro_recall as recall,
        taxonomy_macro_f1 as f1,
        support,
        n_taxonomy as n_classes,
        []::varchar[] as classes_left_out
    from totals
),

final as (
    select
        average,
        precision,
        recall,
        f1,
        support,
        n_classes,
        classes_left_out
    from averages
    order by average_order
)

select * from final
