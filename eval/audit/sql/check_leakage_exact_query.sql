-- section: leakage
-- check: severity=warn threshold=0.0
-- Test and heldout queries that also occur in train, exactly (after trimming). Listed per
-- evaluation split when the share of its records found in train exceeds threshold (0.0: any).
with source as (
    select *
    from records
    where split in ('test', 'heldout')
),

train_queries as (
    select distinct trim(trn.query) as query
    from train as trn
),

leaked as (
    select
        src.split,
        src.id,
        src.query
    from source as src
    inner join train_queries as trq on trim(src.query) = trq.query
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
        round(shr.leaked_share, 4) as split_leaked_share
    from leaked as lkd
    inner join shares as shr on lkd.split = shr.split
    where shr.leaked_share > threshold()
    order by lkd.split, lkd.id
)

select * from final
