-- Intent accuracy: the share of queries whose predicted intent equals the gold one (sklearn's
-- accuracy_score). No prediction (NULL or missing pred intent) is wrong. With zero queries the rate
-- is NULL: undefined, where sklearn raises. Reads `predictions`.
with source as (select * from predictions),

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
        coalesce(g.gold_intent = p.pred_intent, false) as is_correct
    from queries as q
    left join gold as g on q.id = g.id
    left join pred as p on q.id = p.id
),

totals as (
    select
        count(*) as n_queries,
        count(*) filter (where is_correct) as n_correct
    from pairs
),

final as (
    select
        n_queries,
        n_correct,
        n_correct / nullif(n_queries, 0) as accuracy
    from totals
)

select * from final
