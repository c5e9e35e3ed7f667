-- find_title and recommend (route `constraints` in search/config.yml): titles that meet EVERY hard
-- constraint (actor, director, character, year, media type, language, genre: staging/hard_matches.sql),
-- ranked by how many soft ones (plot, setting, theme, mood) they carry verbatim, then by the summed
-- BM25 of the soft ones (staging/soft_scores.sql), then by how closely the hard ones matched (exact
-- before typo). A title must earn something: with no hard constraint it needs a soft score above 0,
-- so a request with only unused constraints (a platform) returns nothing rather than arbitrary
-- titles. For the intents of `partial_intents` (find_title: a half-remembered fragment may be wrong)
-- titles meeting only some hard constraints follow, most met first. `matched` lists every constraint
-- the title met and how. Reads request_routes, constraint_counts, hard_by_title, soft_by_title,
-- kg_titles, search_settings.
with routed as (
    select rr.*
    from request_routes as rr
    where rr.route = 'constraints'
),

hard as (
    select hbt.*
    from hard_by_title as hbt
    semi join routed as r on hbt.qid = r.qid
),

soft as (
    select sbt.*
    from soft_by_title as sbt
    semi join routed as r on sbt.qid = r.qid
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
    left join constraint_counts as n on c.qid = n.qid
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
