-- Titles meeting each hard constraint, with how: a year inside the asked span ('year'), or a KG value
-- of the constraint's pool matched by name_match (macros/text.sql): 'exact' after folding case,
-- accents and punctuation, 'words' when the query names part of it, 'typo' within the edit budget
-- of search/config.yml. One row per (request, constraint, title): the title's best-matching value.
-- Reads request_constraints, kg_values, kg_facts, kg_titles, search_settings.
with constraints as (select * from request_constraints),

cfg as (select * from search_settings),

keys as (
    -- each distinct (pool, key) once: 'movie' is asked by many requests
    select distinct
        c.pool,
        c.value_key
    from constraints as c
    where c.kind = 'hard' and c.pool != 'year'
),

key_matches as (
    select
        k.pool,
        k.value_key,
        v.value as kg_value,
        name_match(k.value_key, v.value_key, cfg.chars_per_edit, cfg.max_edits) as similarity
    from keys as k
    cross join cfg
    inner join kg_values as v on k.pool = v.pool
),

named as (
    select
        c.qid,
        c.position,
        km.pool,
        km.kg_value,
        km.similarity
    from constraints as c
    inner join key_matches as km on c.pool = km.pool and c.value_key = km.value_key
    where c.kind = 'hard' and c.pool != 'year' and km.similarity > 0
),

named_titles as (
    select
        n.qid,
        n.position,
        f.title_id,
        n.kg_value,
        n.similarity,
        case when n.similarity = 1 then 'exact' when n.similarity = 0.9 then 'words' else 'typo' end as how
    from named as n
    inner join kg_facts as f on n.pool = f.pool and n.kg_value = f.value
    where n.similarity > 0
),

dated as (
    select
        c.qid,
        c.position,
        t.title_id,
        cast(t.year as varchar) as kg_value,
        1.0 as similarity,
        'year' as how
    from constraints as c
    inner join kg_titles as t on t.year between c.first_year and c.last_year
    where c.kind = 'hard' and c.pool = 'year'
),

best as (
    select *
    from (
        select * from named_titles
        union all
        select * from dated
    ) as m
    qualify row_number() over (
        partition by qid, position, title_id order by similarity desc, kg_value asc
    ) = 1
),

final as (
    select
        b.qid,
        b.position,
        c.entity_type,
        c.value,
        b.title_id,
        b.kg_value,
        b.how,
        b.similarity
    from best as b
    inner join constraints as c on b.qid = c.qid and b.position = c.position
)

select * from final
