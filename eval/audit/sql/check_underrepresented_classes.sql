-- section: representativeness
-- check: severity=warn threshold=0.02
-- Classes of a facet (genre, language, decade, media_type) held by fewer than threshold of the KG's
-- titles, or seeding fewer than threshold of the seeded records: the model sees little of them.
-- `below` says where: kg, data or both. The threshold lives in eval/audit/config.yml.
with source as (select * from kg_titles),

title_classes as (
    select
        src.title,
        'genre' as facet,
        unnest(src.genres) as class
    from source as src
    union all
    select
        src.title,
        'language' as facet,
        src.language as class
    from source as src
    where src.language is not null
    union all
    select
        src.title,
        'decade' as facet,
        cast(src.decade as varchar) || 's' as class
    from source as src
    where src.decade is not null
    union all
    select
        src.title,
        'media_type' as facet,
        src.media_type as class
    from source as src
    where src.media_type is not null
),

kg_counts as (
    select
        tcl.facet,
        tcl.class,
        count(distinct tcl.title) as kg_titles
    from title_classes as tcl
    group by tcl.facet, tcl.class
),

seeded as (
    select
        rec.id,
        rec.seed_title
    from records as rec
    where rec.seed_title in (select kgt.title from source as kgt)
),

seeded_counts as (
    select
        tcl.facet,
        tcl.class,
        count(distinct sdd.id) as seeded_records
    from seeded as sdd
    inner join title_classes as tcl on sdd.seed_title = tcl.title
    group by tcl.facet, tcl.class
),

shares as (
    select
        kgc.facet,
        kgc.class,
        kgc.kg_titles / (select count(*) from source) as kg_share,
        coalesce(sdc.seeded_records, 0) / nullif((select count(*) from seeded), 0) as data_share
    from kg_counts as kgc
    left join seeded_counts as sdc on kgc.facet = sdc.facet and kgc.class = sdc.class
),

final as (
    select
        shr.facet,
        shr.class,
        round(shr.kg_share, 4) as kg_share,
        round(shr.data_share, 4) as data_share,
        case
            when shr.kg_share < threshold() and shr.data_share < threshold() then 'both'
            when shr.kg_share < threshold() then 'kg'
            else 'data'
        end as below
    from shares as shr
    where shr.kg_share < threshold() or shr.data_share < threshold()
    order by shr.facet, shr.kg_share, shr.class
)

select * from final
