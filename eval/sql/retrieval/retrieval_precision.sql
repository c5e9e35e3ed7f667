-- recommend and similar_to (`measured_intents` measures 'constraints' and 'similar', by GOLD intent):
-- precision_at_10 = mean over queries WITH results of the share of their first 10 titles that satisfy
-- every gold constraint; share_with_results = share of queries with at least one title.
-- A title satisfies a gold constraint when its year lies in the constraint's span, or when it carries
-- the value in the constraint's pool after folding (search_key; one edit allowed from 5 letters,
-- for typo noise in the query); constraints the KG cannot check (platform, audience, unreadable
-- years: kind 'unused') are not judged, and a query with none left is not measured. For similar_to
-- the one test is sharing a genre with the seed title (any KG entry of that name), whatever else the
-- query asks. One row per input and intent. Reads measured_queries, results, gold_constraints,
-- kg_titles, kg_facts.
with source as (select * from results),

judged as (
    select gc.*
    from gold_constraints as gc
    where gc.kind in ('hard', 'soft')
),

queries as (
    select mq.*
    from measured_queries as mq
    where
        (mq.measure = 'constraints' and mq.qid in (select j.qid from judged as j))
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

returned as (
    select
        src.input,
        src.qid,
        src.title_id,
        q.measure
    from source as src
    inner join queries as q on src.input = q.input and src.qid = q.qid
    where src.rank <= 10
),

constraint_checks as (
    select
        r.input,
        r.qid,
        r.title_id,
        case
            when j.pool = 'year' then t.year between j.first_year and j.last_year
            else exists (
                select 1
                from kg_facts as f
                where
                    f.title_id = r.title_id
                    and f.pool = j.pool
                    and (
                        search_key(f.value) = j.value_key
                        or (
                            length(j.value_key) >= 5
                            and damerau_levenshtein(search_key(f.value), j.value_key) <= 1
                        )
                    )
            )
        end as ok
    from returned as r
    inner join judged as j on r.qid = j.qid
    inner join kg_titles as t on r.title_id = t.title_id
    where r.measure = 'constraints'
),

genre_checks as (
    select
        r.input,
        r.qid,
        r.title_id,
        count(sg.genre_key) > 0 as ok
    from returned as r
    left join kg_facts as f on r.title_id = f.title_id and f.pool = 'genre'
    left join seed_genres as sg on r.qid = sg.qid and search_key(f.value) = sg.genre_key
    where r.measure = 'similar'
    group by r.input, r.qid, r.title_id
),

title_ok as (
    select
        c.input,
        c.qid,
        c.title_id,
        bool_and(c.ok) as ok
    from (
        select * from constraint_checks
        union all
        select * from genre_checks
    ) as c
    group by c.input, c.qid, c.title_id
),

per_query as (
    select
        q.input,
        q.intent,
        q.sort_key,
        count(tok.title_id) as n_results,
        avg(cast(tok.ok as double)) as precision_at_10
    from queries as q
    left join title_ok as tok on q.input = tok.input and q.qid = tok.qid
    group by q.input, q.qid, q.intent, q.sort_key
),

final as (
    select
        input,
        intent,
        count(*) as n_queries,
        count(*) filter (where n_results > 0) as n_with_results,
        avg(case when n_results > 0 then 1.0 else 0.0 end) as share_with_results,
        avg(precision_at_10) as precision_at_10
    from per_query
    group by input, intent, sort_key
    order by sort_key
)

select * from final
