-- severity: error (threshold: 0 rows). Queries with more than one distinct gold or predicted intent:
-- the long form holds one intent per query and source (eval/predictions.py), so such a file was
-- written wrongly or two runs were concatenated. eval/score.py refuses to score it.
-- Reads `predictions`.
with source as (select * from predictions),

intents as (
    select
        src.id,
        src.source,
        count(distinct src.value) as n_intents,
        string_agg(distinct src.value, ', ' order by src.value) as intents
    from source as src
    where src.field = 'intent' and src.value is not null
    group by src.id, src.source
),

final as (
    select
        id,
        source,
        n_intents,
        intents
    from intents
    where n_intents > 1
    order by id asc, source asc
)

select * from final
