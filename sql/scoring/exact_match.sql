-- Exact match: the share of queries with the right intent AND the gold entity set, entities compared as
-- (type, normalize_value(value)), duplicates once, types outside the taxonomy included; no
-- prediction is never exact; NULL over zero queries. Reads int_query_rates.
select
    n_queries,
    n_exact,
    exact_match
from int_query_rates
