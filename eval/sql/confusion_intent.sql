-- Intent confusion matrix in long form: one row per (gold, pred) cell, zeros included, ordered as the
-- taxonomy. Over the taxonomy intents it equals sklearn's confusion_matrix(y_true, y_pred,
-- labels=<taxonomy intents>). Two extra columns appear only when they are non-empty: '(other)' for a
-- predicted label outside the taxonomy and '(none)' for no prediction (unparseable output); likewise
-- extra rows for a gold label outside the taxonomy or a query without gold. Every query lands in
-- exactly one cell. Reads `predictions` and `labels` (kind, label, label_order).
with source as (select * from predictions),

taxonomy as (
    select
        lbl.label,
        lbl.label_order
    from labels as lbl
    where lbl.kind = 'intent'
),

extra_cells as (
    select
        cell.label,
        cell.rank_after + (select max(t.label_order) from taxonomy as t) as label_order
    from (values ('(other)', 1), ('(none)', 2)) as cell (label, rank_after)
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

cells as (
    select
        case
            when g.gold_intent is null then '(none)'
            when g.gold_intent in (select t.label from taxonomy as t) then g.gold_intent
            else '(other)'
        end as gold,
        case
            when p.pred_intent is null then '(none)'
            when p.pred_intent in (select t.label from taxonomy as t) then p.pred_intent
            else '(other)'
        end as pred
    from queries as q
    left join gold as g on q.id = g.id
    left join pred as p on q.id = p.id
),

observed as (
    select
        gold,
        pred,
        count(*) as n
    from cells
    group by gold, pred
),

gold_axis as (
    select
        label,
        label_order
    from taxonomy
    union all
    select
        e.label,
        e.label_order
    from extra_cells as e
    where e.label in (select o.gold from observed as o)
),

pred_axis as (
    select
        label,
        label_order
    from taxonomy
    union all
    select
        e.label,
        e.label_order
    from extra_cells as e
    where e.label in (select o.pred from observed as o)
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
