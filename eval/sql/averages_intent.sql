-- Macro, micro and weighted averages of intent precision, recall and F1, named as in sklearn's
-- classification_report ('macro avg', 'micro avg', 'weighted avg'; support is the summed support of
-- the taxonomy classes). Same counting as per_class_intent.sql, so each equals
-- precision_recall_fscore_support(..., labels=<L>, average=..., zero_division=0) where, for
-- 'macro avg', L = the taxonomy intents present in gold or predictions (sklearn's labels=None when
-- every label is in the taxonomy): a class nobody asked for and nobody predicted is not scored as
-- an F1 of 0. n_classes says how many were averaged, classes_left_out which were not.
-- 'taxonomy macro avg' averages over every taxonomy intent, absent ones as 0 (L = the taxonomy);
-- micro and weighted are the same over either L, absent classes having no counts and no support.
-- Micro averages over the taxonomy classes only: a prediction outside the taxonomy or no prediction
-- lowers micro recall but not micro precision, which is why 'micro avg' can differ from accuracy.
-- Reads `predictions` and `labels` (kind, label, label_order).
with source as (select * from predictions),

taxonomy as (
    select
        lbl.label,
        lbl.label_order
    from labels as lbl
    where lbl.kind = 'intent'
),

queries as (
    select distinct src.id
    from source as src
),

gold as (
    select
        src.id,
        max(src.value) as gold_intent
    from source as src
    where src.source = 'gold' and src.field = 'intent'
    group by src.id
),

pred as (
    select
        src.id,
        max(src.value) as pred_intent
    from source as src
    where src.source = 'pred' and src.field = 'intent'
    group by src.id
),

pairs as (
    select
        q.id,
        g.gold_intent,
        p.pred_intent
    from queries as q
    left join gold as g on q.id = g.id
    left join pred as p on q.id = p.id
),

by_gold as (
    select
        pairs.gold_intent as label,
        count(*) as support,
        count(*) filter (where pairs.pred_intent = pairs.gold_intent) as tp
    from pairs
    group by pairs.gold_intent
),

by_pred as (
    select
        pairs.pred_intent as label,
        count(*) as n_predicted
    from pairs
    group by pairs.pred_intent
),

counts as (
    select
        t.label,
        t.label_order,
        coalesce(g.tp, 0) as tp,
        coalesce(p.n_predicted, 0) - coalesce(g.tp, 0) as fp,
        coalesce(g.support, 0) - coalesce(g.tp, 0) as fn
    from taxonomy as t
    left join by_gold as g on t.label = g.label
    left join by_pred as p on t.label = p.label
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
