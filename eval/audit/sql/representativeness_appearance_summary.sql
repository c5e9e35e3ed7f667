-- section: representativeness
-- Per KG pool (title, actor, director, character): items in the KG, items that appear in at least
-- one record, the share never seen, and records per item (min, median, mean, max) over all KG items.
-- Same matching as representativeness_item_appearances.
with source as (
    select
        'title' as pool,
        kgt.title as item
    from kg_titles as kgt
    union
    select
        kgp.pool,
        kgp.name as item
    from kg_people as kgp
),

items as (
    select distinct
        src.pool,
        normalize_value(src.item) as item_key
    from source as src
),

mentions as (
    select
        tsr.source as pool,
        normalize_value(ent.value) as item_key,
        ent.id
    from entities as ent
    inner join type_sources as tsr on ent.type = tsr.type
    union
    select
        'title' as pool,
        normalize_value(rec.seed_title) as item_key,
        rec.id
    from records as rec
    where rec.seed_title is not null
),

per_item as (
    select
        itm.pool,
        itm.item_key,
        count(distinct mnt.id) as n_records
    from items as itm
    left join mentions as mnt on itm.pool = mnt.pool and itm.item_key = mnt.item_key
    group by itm.pool, itm.item_key
),

final as (
    select
        pit.pool,
        count(*) as kg_items,
        count(*) filter (where pit.n_records > 0) as items_in_data,
        round(count(*) filter (where pit.n_records = 0) / count(*), 4) as never_seen_share,
        min(pit.n_records) as records_min,
        median(pit.n_records) as records_median,
        round(avg(pit.n_records), 2) as records_mean,
        max(pit.n_records) as records_max
    from per_item as pit
    group by pit.pool
    order by pit.pool
)

select * from final
