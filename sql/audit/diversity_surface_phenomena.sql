-- section: diversity
-- Per split, the share of records showing each surface phenomenon real users produce: all
-- lowercase, no punctuation, a long plot told as one span (6+ words), a year said in words or as an
-- era rather than four digits, several constraints (4+ entities), and a long query (15+ words).
with source as (select * from records),

entity_flags as (
    select
        ent.id,
        bool_or(tsr.source = 'plot' and length(string_split(trim(ent.value), ' ')) >= 6) as long_plot,
        bool_or(tsr.source = 'year' and not regexp_full_match(trim(ent.value), '[0-9]{4}')) as spoken_year,
        count(*) as n_entities
    from entities as ent
    inner join type_sources as tsr on ent.type = tsr.type
    group by ent.id
),

flags as (
    select
        src.split,
        src.query = lower(src.query) and src.query != upper(src.query) as all_lowercase,
        not regexp_matches(src.query, '[.,?!;:"''’]') as no_punctuation,
        coalesce(efl.long_plot, false) as long_plot,
        coalesce(efl.spoken_year, false) as spoken_year,
        coalesce(efl.n_entities, 0) >= 4 as many_constraints,
        length(string_split(trim(src.query), ' ')) >= 15 as long_query
    from source as src
    left join entity_flags as efl on src.id = efl.id
),

final as (
    select
        flg.split,
        count(*) as n_records,
        round(avg(flg.all_lowercase::integer), 4) as all_lowercase,
        round(avg(flg.no_punctuation::integer), 4) as no_punctuation,
        round(avg(flg.long_plot::integer), 4) as long_plot,
        round(avg(flg.spoken_year::integer), 4) as spoken_year,
        round(avg(flg.many_constraints::integer), 4) as many_constraints,
        round(avg(flg.long_query::integer), 4) as long_query
    from flags as flg
    group by flg.split
    order by flg.split asc
)

select * from final
