-- The second shared step (eval/retrieval.py builds it as a table after int_measured_queries): for each
-- seed-title query, whether its seed title is a right answer to the GOLD extraction, i.e. some KG
-- entry of the seed's name satisfies every gold constraint the KG can judge: a named title folds to
-- its name, a year span holds its year, every other hard or soft value is among its facts of the
-- constraint's own pool: search's rule of int_constraint_matches without the other-role lookup,
-- computed over the gold extraction as gold_constraint_matches. Why: a frame keeps its seed title
-- even when open pools (synth/pools.py) fill its title, people or plot slots with made-up values; such
-- a query is about no KG title, and scoring the seed's rank on it measures the data, not the search.
-- A query with nothing to judge keeps its seed. One row per seed-title query. Reads int_measured_queries,
-- gold_constraints, gold_constraint_matches, kg_titles.
with seed_queries as (
    select distinct
        mq.qid,
        mq.seed_title
    from int_measured_queries as mq
    where mq.measure = 'seed_title' and mq.seed_title is not null
),

entries as (
    select
        sq.qid,
        t.title_id,
        t.title,
        t.year
    from seed_queries as sq
    inner join kg_titles as t on search_key(sq.seed_title) = search_key(t.title)
),

judged as (
    select gc.*
    from gold_constraints as gc
    where gc.kind in ('hard', 'soft', 'title')
),

checks as (
    select
        e.qid,
        e.title_id,
        j.position,
        coalesce(m.similarity > 0 and not m.is_other_role, false) as ok
    from entries as e
    inner join judged as j on e.qid = j.qid
    left join gold_constraint_matches as m
        on j.qid = m.qid and j.position = m.position and e.title_id = m.title_id
),

entry_ok as (
    select
        e.qid,
        e.title_id,
        coalesce(bool_and(c.ok), true) as ok
    from entries as e
    left join checks as c on e.qid = c.qid and e.title_id = c.title_id
    group by e.qid, e.title_id
),

final as (
    select
        sq.qid,
        coalesce(bool_or(eo.ok), false) as seed_is_answer
    from seed_queries as sq
    left join entry_ok as eo on sq.qid = eo.qid
    group by sq.qid
)

select * from final
