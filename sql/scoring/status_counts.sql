-- How model outputs ended, one row per pred status ('ok', 'invalid_json', 'schema_violation',
-- 'truncated'; '(missing)' for a query without any pred row): number and share of queries.
-- Reads stg_queries.
select
    status,
    count(*) as n_queries,
    count(*) / sum(count(*)) over () as share_of_queries
from stg_queries
group by status
order by n_queries desc, status asc
