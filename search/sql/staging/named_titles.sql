-- KG titles that the `title` entity of a request may name, by name_match (macros/text.sql) of the
-- folded names ('the matrix' = 'Matrix', 'lord of the rings' in 'The Lord of the Rings: ...', one typo
-- per few letters), with `in_years`: the title's year lies in a year span the same request gives, to
-- pick between a remake and its original. A title the user rules out keeps is_excluded: it names no
-- title to answer with, and staging/excluded_titles.sql removes what it names. Reads request_constraints,
-- kg_titles, search_settings.
with constraints as (select * from request_constraints),

cfg as (select * from search_settings),

titles as (
    select
        t.title_id,
        t.title,
        t.year,
        search_key(t.title) as title_key
    from kg_titles as t
),

keys as (
    select distinct c.value_key
    from constraints as c
    where c.kind = 'title'
),

key_matches as (
    select
        k.value_key,
        t.title_id,
        name_match(k.value_key, t.title_key, cfg.chars_per_edit, cfg.max_edits) as similarity
    from keys as k
    cross join cfg
    cross join titles as t
),

named as (
    select
        c.qid,
        c.position,
        c.value,
        t.title_id,
        t.title,
        t.year,
        km.similarity,
        c.is_excluded
    from constraints as c
    inner join key_matches as km on c.value_key = km.value_key
    inner join titles as t on km.title_id = t.title_id
    where c.kind = 'title' and km.similarity > 0
),

spans as (
    select
        c.qid,
        c.first_year,
        c.last_year
    from constraints as c
    where c.pool = 'year' and c.kind = 'hard' and not c.is_excluded
),

final as (
    select
        n.qid,
        n.position,
        n.value,
        n.title_id,
        n.title,
        n.year,
        n.similarity,
        n.is_excluded,
        coalesce(bool_or(n.year between s.first_year and s.last_year), false) as in_years
    from named as n
    left join spans as s on n.qid = s.qid
    where n.similarity > 0
    group by all
)

select * from final
