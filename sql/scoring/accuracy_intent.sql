-- Intent accuracy: the share of queries whose predicted intent equals the gold one (sklearn's
-- accuracy_score); no prediction is wrong; NULL over zero queries. Reads int_query_rates.
select
    n_queries,
    n_correct,
    accuracy
from int_query_rates
