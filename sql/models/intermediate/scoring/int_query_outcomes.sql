-- One row per query: its status and intents (stg_queries), whether the intent is right, the entities
-- it missed and invented (strict matching, types outside the taxonomy included: a spurious entity is
-- a mistake whatever its type), whether it is an exact match (right intent, entity sets equal) and
-- n_mistakes = (1 if the intent is wrong or missing) + missed + invented.
-- No prediction is never right. Reads stg_queries and int_entity_matches.
create or replace view int_query_outcomes as

with entity_mistakes as (
    select
        m.id,
        count(*) filter (where m.in_gold and not m.in_pred) as n_missed,
        count(*) filter (where m.in_pred and not m.in_gold) as n_spurious
    from int_entity_matches as m
    group by m.id
),

final as (
    select
        q.id,
        q.status,
        q.is_valid,
        q.gold_intent,
        q.pred_intent,
        coalesce(q.gold_intent = q.pred_intent, false) as is_correct,
        coalesce(e.n_missed, 0) as n_missed,
        coalesce(e.n_spurious, 0) as n_spurious,
        coalesce(q.gold_intent = q.pred_intent, false)
        and coalesce(e.n_missed + e.n_spurious, 0) = 0 as is_exact,
        (not coalesce(q.gold_intent = q.pred_intent, false))::integer
        + coalesce(e.n_missed + e.n_spurious, 0) as n_mistakes
    from stg_queries as q
    left join entity_mistakes as e on q.id = e.id
)

select * from final;
