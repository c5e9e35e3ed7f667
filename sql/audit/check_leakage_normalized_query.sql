-- section: leakage
-- check: severity=warn threshold=0.0
-- Test and heldout queries equal to a train query after normalize_value (case, ASCII and
-- typographic punctuation, whitespace, a leading article): the same question with cosmetic changes.
-- Listed per evaluation split when the share of its records found in train exceeds threshold.
select
    split,
    id,
    query,
    normalized_train_query as train_query,
    round(normalized_share, 4) as split_leaked_share
from int_query_leakage
where normalized_train_query is not null and normalized_share > threshold()
order by split, id
