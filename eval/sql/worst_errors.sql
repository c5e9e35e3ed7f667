-- Queries with mistakes, worst first: mistakes = (1 if the intent is wrong or missing) + gold
-- entities missed + predicted entities not in gold, entities compared as in exact_match.sql. Only
-- queries with at least one mistake appear, ordered by mistakes then id; the report shows the top
-- rows (eval/config.yml report.worst_errors). Entities are shown as 'type: value' with the first
-- spelling seen, joined by '; '.
-- The query text is not in `predictions`: eval/score.py adds a `query` column to every result with an
-- `id` column when it knows the records, so this file runs on `predictions` alone.
-- Reads `predictions`; needs macros/normalize.sql.
with source as (select * from predictions),

queries as (
    select
        src.id,
        coalesce(max(src.status) filter (where src.source = 'pred'), '(missing)') as status
    from source as src
    group by src.id
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
    select
        src.id,
        src.source,
        src.field as entity_type,
        normalize_value(src.value) as entity_value,
        src.field || ': ' || min(src.value) as shown
    from source as src
    where src.field != 'intent' and src.value is not null
    group by src.id, src.source, src.field, normalize_value(src.value)
),

gold_entities as (
    select * from entities
    where source = 'gold'
),

pred_entities as (
    select * from entities
    where source = 'pred'
),

matches as (
    select
        g.shown as gold_shown,
        p.shown as pred_shown,
        coalesce(g.id, p.id) as id,
        g.id is not null and p.id is null as is_missed,
        p.id is not null and g.id is null as is_spurious
    from gold_entities as g
    full outer join pred_entities as p
        on
            g.id = p.id
            and g.entity_type = p.entity_type
            and g.entity_value = p.entity_value
),

entity_lists as (
    select
        id,
        count(*) filter (where is_missed) as n_missed,
        count(*) filter (where is_spurious) as n_spurious,
        string_agg(gold_shown, '; ' order by gold_shown) as gold_entities,
        string_agg(pred_shown, '; ' order by pred_shown) as pred_entities,
        string_agg(gold_shown, '; ' order by gold_shown) filter (where is_missed) as missed,
        string_agg(pred_shown, '; ' order by pred_shown) filter (where is_spurious) as spurious
    from matches
    group by id
),

per_query as (
    select
        q.id,
        q.status,
        g.gold_intent,
        p.pred_intent,
        el.gold_entities,
        el.pred_entities,
        el.missed,
        el.spurious,
        case when coalesce(g.gold_intent = p.pred_intent, false) then 0 else 1 end as intent_wrong,
        coalesce(el.n_missed, 0) as n_missed,
        coalesce(el.n_spurious, 0) as n_spurious
    from queries as q
    left join gold as g on q.id = g.id
    left join pred as p on q.id = p.id
    left join entity_lists as el on q.id = el.id
),

final as (
    select
        id,
        status,
        gold_intent,
        pred_intent,
        gold_entities,
        pred_entities,
        missed,
        spurious,
        intent_wrong + n_missed + n_spurious as n_mistakes
    from per_query
    where intent_wrong + n_missed + n_spurious > 0
    order by n_mistakes desc, id asc
)

select * from final
