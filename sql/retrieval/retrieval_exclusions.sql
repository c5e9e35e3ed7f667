-- Exclusion violations (`measured_intents` measure 'exclusions', by GOLD intent): over the queries whose
-- gold rules out a value the KG can judge ("not a horror movie", "without Tom Cruise"), the share of
-- the titles in each input's first 10 results that meet a ruled-out value anyway (int_result_checks: the
-- same judgement as the precision measure). Search treats an exclusion as a hard filter, so the gold
-- input gives 0 by construction; the model input shows what a missed or flipped exclusion costs, the
-- raw-query baseline what ignoring negation costs. violation_rate = violating / returned titles (NULL
-- without any), share_of_queries_violating = share of the queries with at least one. One row per
-- input and intent, plus '(all)' per input. Reads int_measured_queries, gold_constraints, results,
-- int_result_checks.
with excluding as (
    select distinct gc.qid
    from gold_constraints as gc
    where gc.is_excluded and gc.kind in ('hard', 'soft')
),

queries as (
    select mq.*
    from int_measured_queries as mq
    semi join excluding as e on mq.qid = e.qid
    where mq.measure = 'exclusions'
),

violating as (
    select
        rc.input,
        rc.qid,
        rc.title_id
    from int_result_checks as rc
    where rc.is_excluded and rc.meets
    group by rc.input, rc.qid, rc.title_id
),

per_query as (
    select
        q.input,
        q.intent,
        q.sort_key,
        count(res.title_id) as n_results,
        count(v.title_id) as n_violating
    from queries as q
    left join results as res on q.input = res.input and q.qid = res.qid and res.rank <= 10
    left join violating as v on res.input = v.input and res.qid = v.qid and res.title_id = v.title_id
    group by q.input, q.qid, q.intent, q.sort_key
),

-- every query once more under '(all)', sorted after its input's intents
per_query_and_all as (
    select
        pq.input,
        pq.intent,
        pq.sort_key,
        pq.n_results,
        pq.n_violating
    from per_query as pq
    union all
    select
        pq.input,
        '(all)' as intent,
        pq.sort_key // 1000 * 1000 + 999 as sort_key,
        pq.n_results,
        pq.n_violating
    from per_query as pq
),

final as (
    select
        input,
        intent,
        count(*) as n_queries,
        sum(n_results) as n_results,
        sum(n_violating) as n_violating,
        sum(n_violating) / nullif(sum(n_results), 0) as violation_rate,
        avg(case when n_violating > 0 then 1.0 else 0.0 end) as share_of_queries_violating
    from per_query_and_all
    group by input, intent, sort_key
    order by sort_key
)

select * from final
