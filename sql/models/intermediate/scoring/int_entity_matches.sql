-- Strict entity matching: the full outer join of each query's gold and predicted entity sets on
-- (id, type, normalized value, polarity). One row per entity in either set: in_gold and in_pred say
-- where it is (both: a true positive; gold only: missed; pred only: spurious); is_excluded is its
-- polarity, so a value read with the wrong polarity is one missed and one spurious entity.
-- Reads stg_entities.
create or replace view int_entity_matches as

with gold as (
    select * from stg_entities
    where source = 'gold'
),

pred as (
    select * from stg_entities
    where source = 'pred'
),

joined as (
    select
        g.shown as gold_shown,
        p.shown as pred_shown,
        coalesce(g.id, p.id) as id,
        coalesce(g.entity_type, p.entity_type) as entity_type,
        coalesce(g.is_excluded, p.is_excluded) as is_excluded,
        g.id is not null as in_gold,
        p.id is not null as in_pred
    from gold as g
    full outer join pred as p
        on
            g.id = p.id
            and g.entity_type = p.entity_type
            and g.entity_value = p.entity_value
            and g.is_excluded = p.is_excluded
),

final as (
    select
        id,
        entity_type,
        gold_shown,
        pred_shown,
        in_gold,
        in_pred,
        is_excluded
    from joined
)

select * from final;
