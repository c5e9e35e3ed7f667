-- recommend and similar_to (`measured_intents` measures 'constraints' and 'similar', by GOLD intent):
-- precision_at_10 = mean over queries WITH results of the share of their first 10 titles that are
-- right; share_with_results = share of queries with at least one title. complete_precision_at_10 is the
-- same over the titles search listed as complete matches only (meeting every wish; n_with_complete
-- queries have one), apart from the partial matches that follow them. A title is right for a
-- recommend query when it meets every gold wish and no gold exclusion the KG can judge (int_result_checks:
-- years by span, other values among its facts after folding, one edit allowed from 5 letters); a query
-- with nothing to judge is not measured. For similar_to the one test is sharing a genre with the seed
-- title (any KG entry of that name), whatever else the query asks. One row per input and intent.
-- Reads int_measured_queries, results, int_result_checks, gold_constraints, kg_titles, kg_facts.
with source as (select * from results),

judged_queries as (
    select gc.qid
    from gold_constraints as gc
    where gc.kind in ('hard', 'soft')
),

queries as (
    select mq.*
    from int_measured_queries as mq
    where
        (mq.measure = 'constraints' and mq.qid in (select jq.qid from judged_queries as jq))
        or (mq.measure = 'similar' and mq.seed_title is not null)
),

seed_genres as (
    select distinct
        q.qid,
        search_key(f.value) as genre_key
    from queries as q
    inner join kg_titles as t on search_key(q.seed_title) = search_key(t.title)
    inner join kg_facts as f on t.title_id = f.title_id and f.pool = 'genre'
    where q.measure = 'similar'
),

constraint_checks as (
    select
        rc.input,
        rc.qid,
        rc.title_id,
        rc.is_complete,
        -- a wish must be met, an exclusion must not be
        bool_and(rc.meets != rc.is_excluded) as ok
    from int_result_checks as rc
    semi join queries as q on rc.input = q.input and rc.qid = q.qid and q.measure = 'constraints'
    group by rc.input, rc.qid, rc.title_id, rc.is_complete
),

genre_checks as (
    select
        src.input,
        src.qid,
        src.title_id,
        coalesce(len(src.unmet) = 0, false) as is_complete,
        count(sg.genre_key) > 0 as ok
    from source as src
    semi join queries as q on src.input = q.input and src.qid = q.qid and q.measure = 'similar'
    left join kg_facts as f on src.title_id = f.title_id and f.pool = 'genre'
    left join seed_genres as sg on src.qid = sg.qid and search_key(f.value) = sg.genre_key
    where src.rank <= 10
    group by src.input, src.qid, src.title_id, src.unmet
),

title_checks as (
    select * from constraint_checks
    union all
    select * from genre_checks
),

per_query as (
    select
        q.input,
        q.intent,
        q.sort_key,
        count(tok.title_id) as n_results,
        count(tok.title_id) filter (where tok.is_complete) as n_complete,
        avg(cast(tok.ok as double)) as precision_at_10,
        avg(cast(tok.ok as double)) filter (where tok.is_complete) as complete_precision_at_10
    from queries as q
    left join title_checks as tok on q.input = tok.input and q.qid = tok.qid
    group by q.input, q.qid, q.intent, q.sort_key
),

final as (
    select
        input,
        intent,
        count(*) as n_queries,
        count(*) filter (where n_results > 0) as n_with_results,
        avg(case when n_results > 0 then 1.0 else 0.0 end) as share_with_results,
        avg(precision_at_10) as precision_at_10,
        count(*) filter (where n_complete > 0) as n_with_complete,
        avg(complete_precision_at_10) as complete_precision_at_10
    from per_query
    group by input, intent, sort_key
    order by sort_key
)

select * from final
