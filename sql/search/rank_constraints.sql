-- find_title and recommend (route `constraints` in search/config.yml). Titles meeting a constraint the
-- user rules out are gone (int_excluded_titles.sql: a hard filter, never relaxed). The rest rank
-- complete matches first (every hard wish: actor, director, character, year, media type, language,
-- genre, int_hard_matches.sql; every soft one carried verbatim or by soft_min_coverage of its
-- words: plot, setting, theme, mood, int_soft_scores.sql), then partial matches relaxing the wishes
-- in the order of search/config.yml constraints.relax (int_unmet_by_title.sql's relax_key: a title
-- missing only a mood ranks above one missing the genre, which ranks above one missing the year), so a
-- request with no complete match still lists the closest titles. Ties: soft values carried verbatim,
-- then the summed BM25 of the soft ones, then how closely the hard ones matched (exact before typo).
-- A title must meet at least one wish, except for the intents of `partial_intents` (find_title: a
-- half-remembered fragment may be wrong), where any title sharing a word with a soft value may follow;
-- a request whose constraints the KG cannot check (a platform) gets nothing. `matched` lists what each
-- title met and how, `unmet` what it does not meet. Reads stg_request_routes, int_hard_by_title,
-- int_soft_by_title, int_unmet_by_title, int_excluded_titles, kg_titles, search_settings.
with routed as (
    select rr.*
    from stg_request_routes as rr
    where rr.route = 'constraints'
),

hard as (
    select hbt.*
    from int_hard_by_title as hbt
    semi join routed as r on hbt.qid = r.qid
),

soft as (
    select sbt.*
    from int_soft_by_title as sbt
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
        coalesce(u.relax_key, []) as relax_key,
        coalesce(s.n_exact, 0) as n_exact,
        coalesce(s.score, 0) + coalesce(h.similarity, 0) / 100 as score,
        coalesce(h.matched, []) || coalesce(s.matched, []) as matched,
        coalesce(u.unmet, []) as unmet
    from candidates as c
    inner join routed as r on c.qid = r.qid
    left join hard as h on c.qid = h.qid and c.title_id = h.title_id
    left join soft as s on c.qid = s.qid and c.title_id = s.title_id
    left join int_unmet_by_title as u on c.qid = u.qid and c.title_id = u.title_id
    where
        not exists (
            select 1
            from int_excluded_titles as x
            where x.qid = c.qid and x.title_id = c.title_id
        )
        and (r.is_partial or coalesce(h.n_met, 0) + coalesce(s.n_soft_met, 0) > 0)
),

-- top_titles (sql/macros/top_titles.sql) reads `ranked` by name, below: the linter cannot see it
ranked as (  -- noqa: ST03
    select
        sc.* exclude (sc.relax_key, sc.n_exact),
        row_number() over (
            partition by sc.qid
            order by sc.relax_key asc, sc.n_exact desc, sc.score desc, sc.title_id asc
        ) as rank
    from scored as sc
)

-- the titles ranked within the route's limit, with their KG title and year
select * from top_titles('ranked', (select cfg.top_k from search_settings as cfg))
