-- The extractions to search with, in the long `requests` form search/sql reads: one row per intent
-- and entity of each query, for `input` 'gold' (the labels: the ceiling of the search) and 'model'
-- (the system's parsed output; an unparseable one keeps its NULL intent row and so gets no titles).
-- `position` orders a query's entities as the predictions file lists them; `exclude` is the entity's
-- polarity (a value the user rules out is a filter in search); `canonical` is left to the search
-- engine, which fills it from the taxonomy's lexicons. Reads `predictions`.
with source as (select * from predictions),

numbered as (
    select
        src.id as qid,
        src.field,
        src.value,
        src.exclude,
        case when src.source = 'gold' then 'gold' else 'model' end as input,
        row_number() over (partition by src.source, src.id) - 1 as position
    from source as src
    where src.source in ('gold', 'pred')
),

final as (
    select
        input,
        qid,
        position,
        field,
        value,
        null::varchar as canonical,
        coalesce(exclude, false) as exclude
    from numbered
)

select * from final
