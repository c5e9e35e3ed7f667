-- The second shared step (eval/retrieval.py builds it as a table after measured_queries): for each
-- seed-title query, whether its seed title is a right answer to the GOLD extraction, i.e. some KG
-- entry of the seed's name satisfies every gold constraint the KG can judge: a named title folds to
-- its name, a year span holds its year, every other hard or soft value is among its facts (names
-- with the search's typo allowance, name_match). Why: a frame keeps its seed title even when open
-- pools (synth/pools.py) fill its title, people or plot slots with made-up values; such a query is
-- about no KG title, and scoring the seed's rank on it measures the data, not the search. A query
-- with nothing to judge keeps its seed. One row per seed-title query. Reads measured_queries,
-- gold_constraints, kg_titles, kg_facts, search_settings.
with seed_queries as (
    select distinct
        mq.qid,
        mq.seed_title
    from measured_queries as mq
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
        case
            when j.kind = 'title'
                then name_match(j.value_key, search_key(e.title), cfg.chars_per_edit, cfg.max_edits) > 0
            when j.pool = 'year' then coalesce(e.year between j.first_year and j.last_year, false)
            else exists (
                select 1
                from kg_facts as f
                where
                    f.title_id = e.title_id
                    and f.pool = j.pool
                    and name_match(j.value_key, search_key(f.value), cfg.chars_per_edit, cfg.max_edits) > 0
            )
        end as ok
    from entries as e
    inner join judged as j on e.qid = j.qid
    cross join search_settings as cfg
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
