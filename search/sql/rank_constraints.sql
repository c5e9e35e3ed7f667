-- find_title and recommend (route `constraints` in search/config.yml): titles that meet EVERY hard
-- constraint (actor, director, character, year, media type, language, genre: staging/hard_matches.sql),
-- ranked by how many soft ones (plot, setting, theme, mood) they carry verbatim, then by the summed
-- BM25 of the soft ones (staging/soft_scores.sql), then by how closely the hard ones matched (exact
-- before typo). A title must earn something: with no
-- hard constraint it needs a soft score above 0, so a request with only unused constraints (a
-- platform) returns nothing rather than arbitrary titles. For the intents of `partial_intents`
-- (find_title: a half-remembered fragment may be wrong) titles meeting only some hard constraints
-- follow, most met first. `matched` lists every constraint the title met and how. Reads requests,
-- intent_routes, partial_intents, request_constraints, hard_matches, soft_scores, kg_titles.
with routed as (
    select distinct
        rq.qid,
        rq.value in (select pi.intent from partial_intents as pi) as is_partial
    from requests as rq
    inner join intent_routes as ir on rq.field = 'intent' and rq.value = ir.intent
    where ir.route = 'constraints'
),

constraints as (
    select c.*
    from request_constraints as c
    semi join routed as r on c.qid = r.qid
),

n_hard as (
    select
        qid,
        count(*) filter (where kind = 'hard') as n_hard,
        count(*) filter (where kind = 'soft') as n_soft
    from constraints
    group by qid
),

hard as (
    select
        hm.qid,
        hm.title_id,
        count(*) as n_met,
        sum(hm.similarity) as similarity,
        list(
            { 'type': hm.entity_type, 'value': hm.value, 'kg_value': hm.kg_value, 'how': hm.how }
            order by hm.position
        ) as matched
    from hard_matches as hm
    semi join routed as r on hm.qid = r.qid
    group by hm.qid, hm.title_id
),

soft as (
    select
        ss.qid,
        ss.title_id,
        sum(ss.score) as score,
        count(*) filter (where ss.exact) as n_exact,
        count(*) filter (where ss.exact or ss.coverage >= cfg.soft_min_coverage) as n_soft_met,
        list(
            {
                'type': ss.entity_type,
                'value': ss.value,
                'kg_value': null,
                'how': case when ss.exact then 'exact' else 'text ' || round(ss.coverage, 2) end
            }
            order by ss.position
        ) as matched
    from soft_scores as ss
    cross join search_settings as cfg
    semi join routed as r on ss.qid = r.qid
    group by ss.qid, ss.title_id
),

candidates as (
    select
        h.qid,
        h.title_id
    from hard as h
    union
    select
        s.qid,
        s.title_id
    from soft as s
),

scored as (
    select
        c.qid,
        c.title_id,
        coalesce(h.n_met, 0) = coalesce(n.n_hard, 0) as complete,
        coalesce(h.n_met, 0) as n_met,
        coalesce(s.n_exact, 0) as n_exact,
        coalesce(s.score, 0) + coalesce(h.similarity, 0) / 100 as score,
        coalesce(h.matched, []) || coalesce(s.matched, []) as matched
    from candidates as c
    inner join routed as r on c.qid = r.qid
    left join n_hard as n on c.qid = n.qid
    left join hard as h on c.qid = h.qid and c.title_id = h.title_id
    left join soft as s on c.qid = s.qid and c.title_id = s.title_id
    where
        r.is_partial
        or (
            coalesce(h.n_met, 0) = coalesce(n.n_hard, 0)
            and coalesce(s.n_soft_met, 0) = coalesce(n.n_soft, 0)
        )
),

ranked as (
    select
        sc.qid,
        sc.title_id,
        sc.score,
        sc.matched,
        row_number() over (
            partition by sc.qid
            order by sc.complete desc, sc.n_met desc, sc.n_exact desc, sc.score desc, sc.title_id asc
        ) as rank
    from scored as sc
),

final as (
    select
        r.qid,
        r.rank,
        r.title_id,
        t.title,
        t.year,
        r.score,
        r.matched
    from ranked as r
    inner join kg_titles as t on r.title_id = t.title_id
    where r.rank <= (select cfg.top_k from search_settings as cfg)
    order by r.qid, r.rank
)

select * from final
