-- section: balance
-- check: severity=warn threshold=0.9
-- Intents whose share of records is under threshold x their target share (0.9: more than 10%
-- short). Intents without a target are not checked.
with source as (select * from records),

taxonomy as (
    select
        tgt.label,
        tgt.label_order,
        tgt.target
    from targets as tgt
    where tgt.kind = 'intent' and tgt.target is not null
),

total as (
    select count(*) as n_records
    from source
),

counts as (
    select
        src.intent as label,
        count(*) as n_records
    from source as src
    group by src.intent
),

shares as (
    select
        tax.label,
        tax.label_order,
        tax.target,
        coalesce(cnt.n_records, 0) as n_records,
        coalesce(cnt.n_records, 0) / tot.n_records as share
    from taxonomy as tax
    cross join total as tot
    left join counts as cnt on tax.label = cnt.label
),

final as (
    select
        shr.label,
        shr.n_records,
        round(shr.share, 4) as share,
        round(shr.target, 4) as target,
        round(shr.share / nullif(shr.target, 0), 3) as ratio
    from shares as shr
    where shr.share < threshold() * shr.target
    order by shr.label_order
)

select * from final
