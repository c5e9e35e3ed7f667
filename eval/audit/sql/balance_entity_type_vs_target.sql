-- section: balance
-- Share of records mentioning each entity type at least once, against the recipe's minimum share
-- (manifest config.entity_targets), one row per taxonomy entity type in taxonomy order; mentions
-- counts every span. ratio = share / target (NULL without a target).
with source as (select * from entities),

taxonomy as (
    select
        tgt.label,
        tgt.label_order,
        tgt.target
    from targets as tgt
    where tgt.kind = 'entity_type'
),

total as (
    select count(*) as n_records
    from records
),

counts as (
    select
        src.type as label,
        count(distinct src.id) as n_records,
        count(*) as mentions
    from source as src
    group by src.type
),

final as (
    select
        tax.label,
        coalesce(cnt.n_records, 0) as n_records,
        coalesce(cnt.mentions, 0) as mentions,
        round(coalesce(cnt.n_records, 0) / tot.n_records, 4) as share,
        round(tax.target, 4) as target,
        round(coalesce(cnt.n_records, 0) / tot.n_records / nullif(tax.target, 0), 3) as ratio
    from taxonomy as tax
    cross join total as tot
    left join counts as cnt on tax.label = cnt.label
    order by tax.label_order
)

select * from final
