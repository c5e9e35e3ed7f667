-- section: leakage
-- check: severity=warn threshold=0.0
-- Test and heldout queries equal to a train query after normalize_value (case, ASCII and
-- typographic punctuation, whitespace, a leading article): the same question with cosmetic changes.
-- Listed per evaluation split when the share of its records found in train exceeds threshold.
with source as (
    select *
    from records
    where split in ('test', 'heldout')
),

train_queries as (
    select
        normalize_value(trn.query) as query_key,
        min(trn.query) as train_query
    from train as trn
    group by normalize_value(trn.query)
),

leaked as (
    select
        src.split,
        src.id,
        src.query,
        trq.train_query
    from source as src
    inner join train_queries as trq on normalize_value(src.query) = trq.query_key
),

shares as (
    select
        src.split,
        count(lkd.id) / count(*) as leaked_share
    from source as src
    left join leaked as lkd on src.id = lkd.id
    group by src.split
),

final as (
    select
        lkd.split,
        lkd.id,
        lkd.query,
        lkd.train_query,
        round(shr.leaked_share, 4) as split_leaked_share
    from leaked as lkd
    inner join shares as shr on lkd.split = shr.split
    where shr.leaked_share > threshold()
    order by lkd.split, lkd.id
)

select * from final
