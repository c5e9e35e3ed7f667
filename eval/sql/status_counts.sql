-- How model outputs ended, one row per pred status ('ok', 'invalid_json', 'schema_violation',
-- 'truncated'; '(missing)' for a query without any pred row): number and share of queries.
-- Reads `predictions`.
with source as (select * from predictions),

per_query as (
    select
        src.id,
        coalesce(max(src.status) filter (where src.source = 'pred'), '(missing)') as status
    from source as src
    group by src.id
),

by_status as (
    select
        status,
        count(*) as n_queries
    from per_query
    group by status
),

final as (
    select
        status,
        n_queries,
        n_queries / sum(n_queries) over () as share_of_queries
    from by_status
    order by n_queries desc, status asc
)

select * from final
