-- How often each KG title and person appears in the data: records seeded by the title or mentioning
-- it (entity types whose KG pool is 'title'), records mentioning the person (types whose pool is the
-- person's role), compared after normalize_value (item_key); `item` is the first spelling. Zeros
-- are included. Read by representativeness_item_appearances.sql and _appearance_summary.sql.
create or replace view int_kg_item_appearances as

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
    select
        src.pool,
        normalize_value(src.item) as item_key,
        min(src.item) as item
    from source as src
    group by src.pool, normalize_value(src.item)
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

final as (
    select
        itm.pool,
        itm.item_key,
        itm.item,
        count(distinct mnt.id) as n_records
    from items as itm
    left join mentions as mnt on itm.pool = mnt.pool and itm.item_key = mnt.item_key
    group by itm.pool, itm.item_key, itm.item
)

select * from final;
