-- section: values
-- Exclusions (synth/exclusions.py): per split and entity type, how many mentions rule the value out
-- ("not a horror movie", "without Tom Cruise": exclude true) and their share of the type's mentions,
-- with how many records carry at least one. A type with no exclusions in a split has no row.
with source as (select * from entities),

records_per_split as (
    select
        rec.split,
        count(*) as n_records
    from records as rec
    group by rec.split
),

per_type as (
    select
        src.split,
        src.type,
        count(*) as mentions,
        count(*) filter (where src.exclude) as excluded,
        count(distinct src.id) filter (where src.exclude) as records_with_exclusion,
        count(distinct src.value) filter (where src.exclude) as distinct_excluded
    from source as src
    group by src.split, src.type
),

final as (
    select
        per.split,
        per.type,
        per.excluded,
        per.mentions,
        per.distinct_excluded,
        per.records_with_exclusion,
        round(per.excluded / per.mentions, 4) as excluded_share,
        round(per.records_with_exclusion / rps.n_records, 4) as record_share
    from per_type as per
    inner join records_per_split as rps on per.split = rps.split
    where per.excluded > 0
    order by per.split asc, per.type asc
)

select * from final
