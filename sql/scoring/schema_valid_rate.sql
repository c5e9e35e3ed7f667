-- Schema-valid rate: the share of queries whose output parsed as JSON and validated against the
-- extraction schema (pred status 'ok'); a query without pred rows is not valid; NULL over zero
-- queries. Reads int_query_rates.
select
    n_queries,
    n_valid,
    schema_valid_rate
from int_query_rates
