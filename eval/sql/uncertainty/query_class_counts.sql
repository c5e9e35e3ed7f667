-- tp, fp and fn per query and class, for intents and strict entity matches: the unit that
-- eval/uncertainty.py resamples (by template) for confidence intervals. Summed over all queries they
-- equal int_class_counts' 'intent' and 'entity' rows, which per_class_*.sql turn into the report.
-- Reads stg_queries and int_entity_matches (run eval/score.py's setup.sql first in the DuckDB CLI).
with intent_sides as (
    select
        q.id,
        q.gold_intent as label,
        'gold' as side,
        coalesce(q.gold_intent = q.pred_intent, false) as is_hit
    from stg_queries as q
    where q.gold_intent is not null
    union all
    select
        q.id,
        q.pred_intent as label,
        'pred' as side,
        coalesce(q.gold_intent = q.pred_intent, false) as is_hit
    from stg_queries as q
    where q.pred_intent is not null
),

intents as (
    select
        s.id,
        'intent' as kind,
        s.label,
        count(*) filter (where s.side = 'gold' and s.is_hit) as tp,
        count(*) filter (where s.side = 'pred' and not s.is_hit) as fp,
        count(*) filter (where s.side = 'gold' and not s.is_hit) as fn
    from intent_sides as s
    group by s.id, s.label
),

entities as (
    select
        m.id,
        'entity' as kind,
        m.entity_type as label,
        count(*) filter (where m.in_gold and m.in_pred) as tp,
        count(*) filter (where m.in_pred and not m.in_gold) as fp,
        count(*) filter (where m.in_gold and not m.in_pred) as fn
    from int_entity_matches as m
    group by m.id, m.entity_type
),

final as (
    select * from intents
    union all
    select * from entities
)

select * from final
order by kind, label, id
