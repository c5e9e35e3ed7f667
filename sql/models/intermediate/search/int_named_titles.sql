-- KG titles that the `title` entity of a request may name (int_constraint_matches: name_match of the
-- folded names ('the matrix' = 'Matrix', 'lord of the rings' in 'The Lord of the Rings: ...', one typo
-- per few letters), with `in_years`: the title's year lies in a year span the same request gives, to
-- pick between a remake and its original. A title the user rules out keeps is_excluded: it names no
-- title to answer with, and int_excluded_titles.sql removes what it names. Reads int_constraint_matches,
-- int_request_constraints, kg_titles.
with constraints as (select * from int_request_constraints),

named as (
    select
        cm.qid,
        cm.position,
        cm.value,
        cm.title_id,
        t.title,
        t.year,
        cm.similarity,
        cm.is_excluded
    from int_constraint_matches as cm
    inner join kg_titles as t on cm.title_id = t.title_id
    where cm.kind = 'title' and cm.similarity > 0
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
