-- tp, fp and fn per query and class, for intents and strict entity matches: int_class_counts sums them
-- per class, and eval/uncertainty.py resamples them by template for confidence intervals.
--   intent     one gold and at most one predicted intent per query (stg_queries); a missing or NULL
--              prediction is a miss for the gold class and a false positive for none;
--   entity     strict set matching of (type, normalized value, polarity) (int_entity_matches);
--   exclusion  the same matches restricted to excluded entities (the values a user rules out): tp =
--              an exclusion found as an exclusion, fp = an exclusion the gold does not hold (a wish
--              read as an exclusion included), fn = a gold exclusion not found as one.
-- Labels outside the taxonomy appear here; int_class_scores keeps only the taxonomy's.
create or replace view int_query_class_counts as
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

-- every entity match counts for its type as an entity, and an excluded one again as an exclusion
entity_kinds as (
    select
        'entity' as kind,
        m.*
    from int_entity_matches as m
    union all
    select
        'exclusion' as kind,
        m.*
    from int_entity_matches as m
    where m.is_excluded
),

entities as (
    select
        ek.id,
        ek.kind,
        ek.entity_type as label,
        count(*) filter (where ek.in_gold and ek.in_pred) as tp,
        count(*) filter (where ek.in_pred and not ek.in_gold) as fp,
        count(*) filter (where ek.in_gold and not ek.in_pred) as fn
    from entity_kinds as ek
    group by ek.id, ek.kind, ek.entity_type
),

final as (
    select * from intents
    union all
    select * from entities
)

select * from final;
