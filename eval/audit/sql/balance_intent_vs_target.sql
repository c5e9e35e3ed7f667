-- section: balance
-- Records per intent against the recipe's target share (manifest config.intents), one row per
-- taxonomy intent in taxonomy order. ratio = share / target (1.0 = on target; NULL without a target).
with source as (select * from records),

taxonomy as (
    select
        tgt.label,
        tgt.label_order,
        tgt.target
    from targets as tgt
    where tgt.kind = 'intent'
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

final as (
    select
        tax.label,
        coalesce(cnt.n_records, 0) as n_records,
        round(coalesce(cnt.n_records, 0) / tot.n_records, 4) as share,
        round(tax.target, 4) as target,
        round(coalesce(cnt.n_records, 0) / tot.n_records / nullif(tax.target, 0), 3) as ratio
    from taxonomy as tax
    cross join total as tot
    left join counts as cnt on tax.label = cnt.label
    order by tax.label_order
)

select * from final
