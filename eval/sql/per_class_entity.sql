-- Per-entity-type precision, recall, F1 and support over entity SETS, one row per taxonomy entity
-- type in taxonomy order, zero_division=0 semantics as in sklearn.
-- An entity is (type, normalize_value(value)) within one query (macros/normalize.sql), and a query's
-- gold and predicted entities are sets: duplicate rows count once. Per type: tp = entities in both
-- sets, fp = predicted only, fn = gold only, support = distinct gold entities. A predicted type
-- outside the taxonomy is scored for no class (as sklearn ignores labels outside `labels`); it
-- still breaks exact_match. Pred rows of unparseable outputs carry no entities, so their gold
-- entities are all false negatives. Reads `predictions` and `labels` (kind, label, label_order).
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
