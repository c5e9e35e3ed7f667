-- Entity precision, recall and F1 per group of entity types (labels.label_group): 'names' are the
-- types whose values the heldout split holds out of training (titles and people: title, actor,
-- director, character), 'closed_vocabulary' the types whose values both sides share (genre, mood,
-- ...). On the heldout split the 'names' row is the one number for "works on unseen names".
-- Same set-based counting as per_class_entity.sql. Per group: macro over the group's types present
-- in gold or predictions (n_classes of n_types), micro from the group's summed tp/fp/fn.
-- Reads `predictions` and `labels` (kind, label, label_order, label_group); needs macros/normalize.sql.
with source as (select * from predictions),

taxonomy as (
    select
        lbl.label,
        lbl.label_order,
        lbl.label_group
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

scores as (
    select
        t.label_group,
        t.label_order,
        coalesce(b.tp, 0) as tp,
        coalesce(b.fp, 0) as fp,
        coalesce(b.fn, 0) as fn,
        coalesce(b.tp + b.fp + b.fn, 0) > 0 as is_present,
        case when b.tp + b.fp > 0 then b.tp / (b.tp + b.fp) else 0.0 end as precision,
        case when b.tp + b.fn > 0 then b.tp / (b.tp + b.fn) else 0.0 end as recall,
        case when b.tp + b.fp + b.fn > 0 then 2 * b.tp / (2 * b.tp + b.fp + b.fn) else 0.0 end as f1
    from taxonomy as t
    left join by_type as b on t.label = b.entity_type
),

groups as (
    select
        label_group,
        min(label_order) as group_order,
        count(*) as n_types,
        count(*) filter (where is_present) as n_classes,
        sum(tp) as tp,
        sum(fp) as fp,
        sum(fn) as fn,
        coalesce(avg(precision) filter (where is_present), 0.0) as macro_precision,
        coalesce(avg(recall) filter (where is_present), 0.0) as macro_recall,
        coalesce(avg(f1) filter (where is_present), 0.0) as macro_f1
    from scores
    group by label_group
),

final as (
    select
        label_group,
        n_types,
        n_classes,
        macro_precision,
        macro_recall,
        macro_f1,
        case when tp + fp > 0 then tp / (tp + fp) else 0.0 end as micro_precision,
        case when tp + fn > 0 then tp / (tp + fn) else 0.0 end as micro_recall,
        case when tp + fp + fn > 0 then 2 * tp / (2 * tp + fp + fn) else 0.0 end as micro_f1,
        tp + fn as support
    from groups
    order by group_order
)

select * from final
