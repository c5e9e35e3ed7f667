-- tp, fp and fn per (kind, observed label), for three kinds of class:
--   intent          one gold and at most one predicted intent per query (stg_queries); a missing or
--                   NULL prediction is a miss for the gold class and a false positive for none;
--   entity          strict set matching of (type, normalized value) (int_entity_matches);
--   relaxed_entity  one-to-one token-overlap matching (int_relaxed_matches): tp = matched pairs,
--                   fp = predicted entities left unmatched, fn = gold entities left unmatched.
-- Labels outside the taxonomy appear here; int_class_scores keeps only the taxonomy's.
create or replace view int_class_counts as

with intent_sides as (
    select
        q.gold_intent as label,
        'gold' as side,
        coalesce(q.gold_intent = q.pred_intent, false) as is_hit
    from stg_queries as q
    where q.gold_intent is not null
    union all
    select
        q.pred_intent as label,
        'pred' as side,
        coalesce(q.gold_intent = q.pred_intent, false) as is_hit
    from stg_queries as q
    where q.pred_intent is not null
),

intents as (
    select
        'intent' as kind,
        label,
        count(*) filter (where side = 'gold' and is_hit) as tp,
        count(*) filter (where side = 'pred' and not is_hit) as fp,
        count(*) filter (where side = 'gold' and not is_hit) as fn
    from intent_sides
    group by label
),

entities as (
    select
        'entity' as kind,
        entity_type as label,
        count(*) filter (where in_gold and in_pred) as tp,
        count(*) filter (where in_pred and not in_gold) as fp,
        count(*) filter (where in_gold and not in_pred) as fn
    from int_entity_matches
    group by entity_type
),

relaxed_sizes as (
    select
        e.entity_type,
        count(*) filter (where e.source = 'gold') as n_gold,
        count(*) filter (where e.source = 'pred') as n_pred
    from stg_entities as e
    group by e.entity_type
),

relaxed_matched as (
    select
        m.entity_type,
        sum(m.n_matched) as n_matched
    from int_relaxed_matches as m
    group by m.entity_type
),

relaxed as (
    select
        'relaxed_entity' as kind,
        s.entity_type as label,
        coalesce(m.n_matched, 0) as tp,
        s.n_pred - coalesce(m.n_matched, 0) as fp,
        s.n_gold - coalesce(m.n_matched, 0) as fn
    from relaxed_sizes as s
    left join relaxed_matched as m on s.entity_type = m.entity_type
),

final as (
    select * from intents
    union all
    select * from entities
    union all
    select * from relaxed
)

select * from final;
