-- Schema-valid rate: the share of queries whose model output parsed as JSON and validated against
-- the extraction schema, i.e. whose pred rows carry status 'ok'. A query without any pred row is
-- not valid. With zero queries the rate is NULL. Reads `predictions`.
with source as (select * from predictions),

per_query as (
    select
        src.id,
        coalesce(bool_or(src.source = 'pred' and src.status = 'ok'), false) as is_valid
    from source as src
    group by src.id
),

totals as (
    select
        count(*) as n_queries,
        count(*) filter (where is_valid) as n_valid
    from per_query
),

final as (
    select
        n_queries,
        n_valid,
        n_valid / nullif(n_queries, 0) as schema_valid_rate
    from totals
)

select * from final
