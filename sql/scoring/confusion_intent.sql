-- Intent confusion matrix in long form: one row per (gold, pred) cell, zeros included, ordered as the
-- taxonomy. Over the taxonomy intents it equals sklearn's confusion_matrix(y_true, y_pred,
-- labels=<taxonomy intents>). Two extra columns appear only when they are non-empty: '(other)' for a
-- predicted label outside the taxonomy and '(none)' for no prediction (unparseable output); likewise
-- extra rows for a gold label outside the taxonomy or a query without gold. Every query lands in
-- exactly one cell. Reads stg_queries and `labels`.
with taxonomy as (
    select
        lbl.label,
        lbl.label_order
    from labels as lbl
    where lbl.kind = 'intent'
),

-- '(other)' and '(none)' come after the taxonomy, on either axis
axis as (
    select
        label,
        label_order
    from taxonomy
    union all
    select
        cell.label,
        cell.rank_after + (select max(t.label_order) from taxonomy as t) as label_order
    from (values ('(other)', 1), ('(none)', 2)) as cell (label, rank_after)
),

cells as (
    select
        case
            when q.gold_intent is null then '(none)'
            when q.gold_intent in (select t.label from taxonomy as t) then q.gold_intent
            else '(other)'
        end as gold,
        case
            when q.pred_intent is null then '(none)'
            when q.pred_intent in (select t.label from taxonomy as t) then q.pred_intent
            else '(other)'
        end as pred
    from stg_queries as q
),

observed as (
    select
        gold,
        pred,
        count(*) as n
    from cells
    group by gold, pred
),

-- taxonomy labels always; an extra label only on the axis where it was observed
gold_axis as (
    select
        a.label,
        a.label_order
    from axis as a
    where a.label in (select t.label from taxonomy as t) or a.label in (select o.gold from observed as o)
),

pred_axis as (
    select
        a.label,
        a.label_order
    from axis as a
    where a.label in (select t.label from taxonomy as t) or a.label in (select o.pred from observed as o)
),

grid as (
    select
        ga.label as gold,
        pa.label as pred,
        ga.label_order as gold_order,
        pa.label_order as pred_order
    from gold_axis as ga
    cross join pred_axis as pa
),

final as (
    select
        grid.gold,
        grid.pred,
        coalesce(o.n, 0) as n
    from grid
    left join observed as o on grid.gold = o.gold and grid.pred = o.pred
    order by grid.gold_order, grid.pred_order
)

select * from final
