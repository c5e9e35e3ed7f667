-- section: values
-- Open pools (synth/pools.py): per split and seed type (titles and people), how many mentions name
-- a knowledge-graph value and how many a value from nowhere in the KG (an open-pool name, or a KG
-- name respelled by a typo), compared after normalize_value. open_share is what the data recipe's
-- open_pools.share buys; 0 means the model only ever sees our KG's names.
with source as (
    select
        ent.split,
        ent.type,
        normalize_value(ent.value) as value_key
    from entities as ent
    inner join seed_types as sdt on ent.type = sdt.type
),

kg_values as (
    select distinct
        tsr.type,
        normalize_value(kgp.name) as value_key
    from kg_people as kgp
    inner join type_sources as tsr on kgp.pool = tsr.source
    union
    select distinct
        tsr.type,
        normalize_value(kgt.title) as value_key
    from kg_titles as kgt
    inner join type_sources as tsr on tsr.source = 'title'
),

marked as (
    select
        src.split,
        src.type,
        src.value_key,
        kgv.value_key is not null as in_kg
    from source as src
    left join kg_values as kgv on src.type = kgv.type and src.value_key = kgv.value_key
),

final as (
    select
        mrk.split,
        mrk.type,
        count(*) as mentions,
        count(*) filter (where mrk.in_kg) as kg_mentions,
        count(*) filter (where not mrk.in_kg) as open_mentions,
        count(distinct mrk.value_key) filter (where not mrk.in_kg) as open_distinct,
        round(count(*) filter (where not mrk.in_kg) / count(*), 4) as open_share
    from marked as mrk
    group by mrk.split, mrk.type
    order by mrk.split asc, mrk.type asc
)

select * from final
