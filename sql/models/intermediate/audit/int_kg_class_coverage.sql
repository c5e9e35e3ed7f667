-- What the knowledge graph and the data cover, per facet (genre, language, decade, media_type) and
-- class: KG titles with the class and their share of all KG titles; records seeded from such titles
-- and their share of seeded records; entity mentions of the class (types whose KG pool is the facet,
-- compared after normalize_value; NULL for decades, which queries phrase many ways). Shares are
-- unrounded. Read by representativeness_classes.sql and check_underrepresented_classes.sql.
create or replace view int_kg_class_coverage as

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

mention_counts as (
    select
        tsr.source as facet,
        normalize_value(ent.value) as class_key,
        count(*) as mentions
    from entities as ent
    inner join type_sources as tsr on ent.type = tsr.type
    where tsr.source in ('genre', 'language', 'media_type')
    group by tsr.source, normalize_value(ent.value)
),

final as (
    select
        kgc.facet,
        kgc.class,
        kgc.kg_titles,
        kgc.kg_titles / (select count(*) from source) as kg_share,
        coalesce(sdc.seeded_records, 0) as seeded_records,
        coalesce(sdc.seeded_records, 0) / nullif((select count(*) from seeded), 0) as data_share,
        case when kgc.facet = 'decade' then null else coalesce(mnc.mentions, 0) end as mentions
    from kg_counts as kgc
    left join seeded_counts as sdc on kgc.facet = sdc.facet and kgc.class = sdc.class
    left join mention_counts as mnc on kgc.facet = mnc.facet and normalize_value(kgc.class) = mnc.class_key
)

select * from final;
