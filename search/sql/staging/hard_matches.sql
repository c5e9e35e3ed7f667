-- Titles meeting each hard constraint, with how: a year inside the asked span ('year'), or a KG value
-- of the constraint's pool matched by name_match (macros/text.sql): 'exact' after folding case,
-- accents and punctuation, 'words' when the query names part of it, 'typo' within the edit budget
-- of search/config.yml. A person's name that matches nobody in its stated role (actor, director,
-- character: `person_pools`) is looked up in the other roles, its similarity times other_role_factor
-- and its how suffixed ('exact as character'): an extraction that calls a character an actor still
-- finds the title, while a director who also acts is not mistaken for an actor. One row per
-- (request, constraint, title): the title's best-matching value; is_excluded for a constraint the user
-- rules out (such a title is removed: staging/excluded_titles.sql). Reads request_constraints, kg_values,
-- kg_facts, kg_titles, person_pools, search_settings.
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

own_role as (
    select
        k.pool,
        k.value_key,
        v.pool as kg_pool,
        v.value as kg_value,
        name_match(k.value_key, v.value_key, cfg.chars_per_edit, cfg.max_edits) as raw_similarity,
        1.0 as factor
    from keys as k
    cross join cfg
    inner join kg_values as v on k.pool = v.pool
),

other_role as (
    -- only for names that match nobody in their own role
    select
        k.pool,
        k.value_key,
        v.pool as kg_pool,
        v.value as kg_value,
        name_match(k.value_key, v.value_key, cfg.chars_per_edit, cfg.max_edits) as raw_similarity,
        cfg.other_role_factor as factor
    from keys as k
    cross join cfg
    inner join kg_values as v on k.pool != v.pool
    where
        k.pool in (select pp.pool from person_pools as pp)
        and v.pool in (select pp.pool from person_pools as pp)
        and not exists (
            select 1
            from own_role as o
            where o.pool = k.pool and o.value_key = k.value_key and o.raw_similarity > 0
        )
),

key_matches as (
    select
        m.pool,
        m.value_key,
        m.kg_pool,
        m.kg_value,
        m.raw_similarity * m.factor as similarity,
        case
            when m.raw_similarity = 1 then 'exact'
            when m.raw_similarity = 0.9 then 'words'
            else 'typo'
        end || case when m.kg_pool != m.pool then ' as ' || m.kg_pool else '' end as how
    from (
        select * from own_role
        union all
        select * from other_role
    ) as m
    where m.raw_similarity > 0
),

named_titles as (
    select
        c.qid,
        c.position,
        f.title_id,
        km.kg_value,
        km.similarity,
        km.how
    from constraints as c
    inner join key_matches as km on c.pool = km.pool and c.value_key = km.value_key
    inner join kg_facts as f on km.kg_pool = f.pool and km.kg_value = f.value
    where c.kind = 'hard' and c.pool != 'year'
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
        b.similarity,
        c.is_excluded
    from best as b
    inner join constraints as c on b.qid = c.qid and b.position = c.position
)

select * from final
