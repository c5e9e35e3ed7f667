-- How often each input gets any title back, per GOLD intent of the measured queries (every measure of
-- eval/retrieval.yml; a query measured twice counts once): share_answered = share of the queries with
-- at least one result. For recommend it is the share of requests that do not end in an empty page:
-- search lists the closest partial matches when nothing meets every wish. One row per input and
-- intent. Reads int_measured_queries, results.
with queries as (
    select
        mq.input,
        mq.qid,
        mq.intent,
        min(mq.sort_key) as sort_key
    from int_measured_queries as mq
    group by mq.input, mq.qid, mq.intent
),

answered as (
    select distinct
        res.input,
        res.qid
    from results as res
),

final as (
    select
        q.input,
        q.intent,
        count(*) as n_queries,
        count(a.qid) as n_answered,
        count(a.qid) / count(*) as share_answered
    from queries as q
    left join answered as a on q.input = a.input and q.qid = a.qid
    group by q.input, q.intent
    order by min(q.sort_key)
)

select * from final
