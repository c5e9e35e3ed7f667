-- Does this title satisfy this constraint? The one answer, read by search's rankings and by the
-- retrieval metrics (which judge result titles against the gold extraction's constraints). One row per
-- (request, hard / soft / title constraint, title) that holds under either of two rules:
--   similarity, kg_value, how (search's rule, 0 when only is_folded holds): a year inside the asked
--     span ('year', 1.0); else the best-matching KG value of the constraint's pool (for a title
--     constraint, the title's name) by name_match (sql/macros/text.sql): 'exact' after folding,
--     'words' when the query names part of it, 'typo' within the edit budget of search/config.yml. A
--     person's name that matches nobody in its stated role (actor, director, character:
--     `person_pools`) is looked up in the other roles, its similarity times other_role_factor, its
--     how suffixed ('exact as character') and is_other_role set: an extraction that calls a character
--     an actor still finds the title, while a director who also acts is not mistaken for an actor.
--   is_folded (the retrieval judge's rule, narrower so that the gold input can never be judged to
--     break an exclusion search applied): a year inside the span, or a value of the constraint's own
--     pool equal after folding, one edit allowed from 5 letters (typo noise in the query).
-- Reads int_request_constraints, stg_kg_values, kg_facts, kg_titles, person_pools, search_settings.
with constraints as (
    select
        rc.*,
        case when rc.kind = 'title' then 'title' else rc.pool end as match_pool
    from int_request_constraints as rc
    where rc.kind in ('hard', 'soft', 'title')
),

cfg as (select * from search_settings),

-- what a constraint may name: KG values of each pool, and titles by their names
candidates as (
    select
        v.pool,
        v.value,
        v.value_key
    from stg_kg_values as v
    union all
    select distinct
        'title' as pool,
        t.title as value,
        search_key(t.title) as value_key
    from kg_titles as t
),

facts as (
    select
        f.title_id,
        f.pool,
        f.value
    from kg_facts as f
    union all
    select
        t.title_id,
        'title' as pool,
        t.title as value
    from kg_titles as t
),

keys as (
    -- each distinct (pool, key) once: 'movie' is asked by many requests
    select distinct
        c.match_pool as pool,
        c.value_key
    from constraints as c
    where c.pool != 'year'
),

own_role as (
    select
        k.pool,
        k.value_key,
        v.pool as kg_pool,
        v.value as kg_value,
        name_match(k.value_key, v.value_key, cfg.chars_per_edit, cfg.max_edits) as raw_similarity,
        1.0 as factor,
        case
            when v.value_key = k.value_key then true
            when length(k.value_key) >= 5 and abs(length(k.value_key) - length(v.value_key)) <= 1
                then damerau_levenshtein(v.value_key, k.value_key) <= 1
            else false
        end as is_folded
    from keys as k
    cross join cfg
    inner join candidates as v on k.pool = v.pool
),

other_role as (
    -- only for names that match nobody in their own role
    select
        k.pool,
        k.value_key,
        v.pool as kg_pool,
        v.value as kg_value,
        name_match(k.value_key, v.value_key, cfg.chars_per_edit, cfg.max_edits) as raw_similarity,
        cfg.other_role_factor as factor,
        false as is_folded
    from keys as k
    cross join cfg
    inner join stg_kg_values as v on k.pool != v.pool
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
        m.is_folded,
        m.raw_similarity * m.factor as similarity,
        m.kg_pool != m.pool as is_other_role,
        case
            when m.raw_similarity = 0 then 'folded'
            when m.raw_similarity = 1 then 'exact'
            when m.raw_similarity = 0.9 then 'words'
            else 'typo'
        end || case when m.kg_pool != m.pool then ' as ' || m.kg_pool else '' end as how
    from (
        select * from own_role
        union all
        select * from other_role
    ) as m
    where m.raw_similarity > 0 or m.is_folded
),

valued as (
    select
        c.qid,
        c.position,
        f.title_id,
        km.kg_value,
        km.similarity,
        km.how,
        km.is_other_role,
        km.is_folded
    from constraints as c
    inner join key_matches as km on c.match_pool = km.pool and c.value_key = km.value_key
    inner join facts as f on km.kg_pool = f.pool and km.kg_value = f.value
    where c.pool != 'year'
),

dated as (
    select
        c.qid,
        c.position,
        t.title_id,
        cast(t.year as varchar) as kg_value,
        1.0 as similarity,
        'year' as how,
        false as is_other_role,
        true as is_folded
    from constraints as c
    inner join kg_titles as t on t.year between c.first_year and c.last_year
    where c.pool = 'year' and c.kind != 'title'
),

matched as (
    select * from valued
    union all
    select * from dated
),

-- the best-matching value by search's rule; the judge's rule holds when any value meets it
best as (
    select
        m.*,
        bool_or(m.is_folded) over (partition by m.qid, m.position, m.title_id) as any_folded
    from matched as m
    qualify row_number() over (
        partition by m.qid, m.position, m.title_id order by m.similarity desc, m.kg_value asc
    ) = 1
),

final as (
    select
        b.qid,
        b.position,
        c.entity_type,
        c.value,
        c.kind,
        b.title_id,
        b.kg_value,
        b.how,
        b.similarity,
        b.is_other_role,
        b.any_folded as is_folded,
        c.is_excluded
    from best as b
    inner join constraints as c on b.qid = c.qid and b.position = c.position
)

select * from final
