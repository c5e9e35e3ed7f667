-- section: duplicates
-- check: severity=warn threshold=0.0
-- Queries that occur more than once (identical text after trimming, any split), listed when the
-- share of records that repeat an earlier one exceeds threshold (0.0: any repeat). A query labelled
-- two ways is the worse case: n_labelings > 1.
with source as (select * from records),

groups as (
    select
        trim(src.query) as query,
        count(*) as n_records,
        count(distinct src.intent || '|' || cast(src.entities as varchar)) as n_labelings,
        string_agg(distinct src.split, ',' order by src.split) as splits,
        min(src.id) as first_id
    from source as src
    group by trim(src.query)
    having count(*) > 1
),

total as (
    select count(*) as n_records
    from source
),

excess as (
    select coalesce(sum(grp.n_records - 1), 0) as n_repeats
    from groups as grp
),

final as (
    select
        grp.query,
        grp.n_records,
        grp.n_labelings,
        grp.splits,
        grp.first_id
    from groups as grp
    cross join excess as exc
    cross join total as tot
    where exc.n_repeats / tot.n_records > threshold()
    order by grp.n_records desc, grp.query asc
)

select * from final
