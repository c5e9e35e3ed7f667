-- Exact match: the share of queries whose predicted intent equals the gold one AND whose predicted
-- entity set equals the gold set, entities compared as (type, normalize_value(value)) and
-- duplicates counted once. Entities of types outside the taxonomy count here (a spurious entity is a
-- mistake whatever its type). No prediction is never exact. With zero queries the rate is NULL.
-- Reads `predictions`; needs macros/normalize.sql.
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

entity_mistakes as (
    select
        coalesce(g.id, p.id) as id,
        count(*) as n_mistakes
    from gold_entities as g
    full outer join pred_entities as p
        on
            g.id = p.id
            and g.entity_type = p.entity_type
            and g.entity_value = p.entity_value
    where g.id is null or p.id is null
    group by coalesce(g.id, p.id)
),

per_query as (
    select
        q.id,
        coalesce(g.gold_intent = p.pred_intent, false) and m.id is null as is_exact
    from queries as q
    left join gold as g on q.id = g.id
    left join pred as p on q.id = p.id
    left join entity_mistakes as m on q.id = m.id
),

totals as (
    select
        count(*) as n_queries,
        count(*) filter (where is_exact) as n_exact
    from per_query
),

final as (
    select
        n_queries,
        n_exact,
        n_exact / nullif(n_queries, 0) as exact_match
    from totals
)

select * from final
