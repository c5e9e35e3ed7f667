-- section: leakage
-- check: severity=warn threshold=0.0
-- Test and heldout queries that also occur in train, exactly (after trimming). Listed per
-- evaluation split when the share of its records found in train exceeds threshold (0.0: any).
select
    split,
    id,
    query,
    round(exact_share, 4) as split_leaked_share
from int_query_leakage
where exact_train_query is not null and exact_share > threshold()
order by split, id
