-- The third shared step (eval/retrieval.py builds it as a table after int_seed_answers): for every title in
-- the first 10 results of each input and measured query, each gold constraint the KG can judge (kind
-- hard or soft; platforms, audiences and unreadable years are not judged), whether the title meets it
-- by the judge's rule of int_constraint_matches (is_folded: its year lies in the constraint's span, or
-- it carries the value in the constraint's pool after folding, one edit allowed from 5 letters),
-- computed over the gold extraction as gold_constraint_matches. is_excluded: the
-- user rules the value out, so meeting it is a violation; is_complete: search listed the title as
-- meeting every wish it asked for (no `unmet`; never for the raw-query baseline, which checks none).
-- The check is search's own matching or narrower, so the gold input can never be judged to break an
-- exclusion search applied. Reads int_measured_queries, results, gold_constraints,
-- gold_constraint_matches.
with queries as (
    select distinct
        mq.input,
        mq.qid
    from int_measured_queries as mq
),

returned as (
    select
        res.input,
        res.qid,
        res.title_id,
        res.rank,
        coalesce(len(res.unmet) = 0, false) as is_complete
    from results as res
    semi join queries as q on res.input = q.input and res.qid = q.qid
    where res.rank <= 10
),

judged as (
    select gc.*
    from gold_constraints as gc
    where gc.kind in ('hard', 'soft')
),

final as (
    select
        r.input,
        r.qid,
        r.title_id,
        r.rank,
        r.is_complete,
        j.position,
        j.is_excluded,
        coalesce(m.is_folded, false) as meets
    from returned as r
    inner join judged as j on r.qid = j.qid
    left join gold_constraint_matches as m
        on j.qid = m.qid and j.position = m.position and r.title_id = m.title_id
)

select * from final
