-- Per-intent precision, recall, F1 and support: sklearn's precision_recall_fscore_support(y_true,
-- y_pred, labels=<taxonomy intents>, zero_division=0), one row per taxonomy intent in taxonomy order.
-- Reads `predictions` (eval/predictions.py) and `labels` (kind, label, label_order).
-- Each query has one gold and at most one predicted intent. A NULL or missing pred intent
-- (unparseable output) is no prediction: a false negative for the gold class, a false positive for
-- none. A predicted label outside the taxonomy is the same (sklearn ignores labels not in `labels`
-- but still counts the miss); a gold label outside the taxonomy is in no class's support, and a
-- taxonomy intent predicted for it is a false positive. Classes never seen get zeros, not NULLs.
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
        case when tp + fp > 0 then tp / (tp + fp) else 0.0 end as precision,
        case when tp + fn > 0 then tp / (tp + fn) else 0.0 end as recall,
        case when tp + fp + fn > 0 then 2 * tp / (2 * tp + fp + fn) else 0.0 end as f1
    from counts
),

final as (
    select
        label,
        precision,
        recall,
        f1,
        support,
        tp,
        fp,
        fn
    from scores
    order by label_order
)

select * from final
