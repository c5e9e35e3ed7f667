-- section: balance
-- check: severity=warn threshold=1.0
-- Entity types mentioned in a smaller share of records than threshold x their target (targets are
-- minimum shares, so 1.0 flags any shortfall). Types without a target are not checked.
with source as (select * from entities),

taxonomy as (
    select
        tgt.label,
        tgt.label_order,
        tgt.target
    from targets as tgt
    where tgt.kind = 'entity_type' and tgt.target is not null
),

total as (
    select count(*) as n_records
    from records
),

counts as (
    select
        src.type as label,
        count(distinct src.id) as n_records
    from source as src
    group by src.type
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
