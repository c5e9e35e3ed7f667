-- similar_to (route `similar`): each named title resolved as in rank_named_title.sql (best name
-- match, a year given in the request first: "like Solaris from 1972" names the 1972 film), then every
-- OTHER title scored by the facts it shares with them (genres, themes, moods, directors, actors,
-- settings, plot: points per pool in search/config.yml ranking.similar_weights) plus the BM25 of any
-- soft constraint the request adds ("like Dark but with time travel"). Hard constraints other than the
-- year (a language, a media type, an actor) filter, or for the intents of `partial_intents` rank
-- first ("like Children of Men starring Clive Owen": the KG may hold no other Clive Owen film); the
-- year only picks the named title. Titles meeting a constraint the user rules out are removed
-- (int_excluded_titles.sql); `unmet` lists the wishes besides the year a title does not meet.
-- Reads stg_request_routes, stg_kg_values, int_named_titles, int_constraint_counts, int_hard_by_title,
-- int_soft_by_title, int_unmet_by_title, int_excluded_titles, kg_facts, kg_titles, similar_weights,
-- search_settings.
with routed as (
    select rr.*
    from stg_request_routes as rr
    where rr.route = 'similar'
),

named_ref as (
    select
        nt.qid,
        nt.title_id
    from int_named_titles as nt
    semi join routed as r on nt.qid = r.qid
    where not nt.is_excluded
    qualify row_number() over (
        partition by nt.qid, nt.position order by nt.similarity desc, nt.in_years desc, nt.title_id asc
    ) = 1
),

-- each fact with the search key of its value (stg_kg_values: folded once per distinct value)
facts as (
    select
        f.title_id,
        f.pool,
        f.value,
        v.value_key,
        w.weight
    from kg_facts as f
    inner join stg_kg_values as v on f.pool = v.pool and f.value = v.value
    inner join similar_weights as w on f.pool = w.pool
),

shared as (
    select
        nr.qid,
        other.title_id,
        sum(other.weight) as score,
        -- a fact shared with two named titles scores twice but is listed once
        list_distinct(
            list(
                { 'type': other.pool, 'value': mine.value, 'kg_value': other.value, 'how': 'shared' }
                order by other.weight desc, other.pool asc, other.value asc
            )
        ) as matched
    from named_ref as nr
    inner join facts as mine on nr.title_id = mine.title_id
    inner join facts as other
        on
            mine.pool = other.pool
            and mine.value_key = other.value_key
    where
        other.title_id not in (
            select x.title_id
            from named_ref as x
            where x.qid = nr.qid
        )
    group by nr.qid, other.title_id
),

hard as (
    select
        hbt.qid,
        hbt.title_id,
        hbt.n_met_besides_year,
        hbt.matched_besides_year as matched
    from int_hard_by_title as hbt
    semi join routed as r on hbt.qid = r.qid
),

soft as (
    select
        sbt.qid,
        sbt.title_id,
        sbt.score,
        sbt.matched
    from int_soft_by_title as sbt
    semi join routed as r on sbt.qid = r.qid
),

scored as (
    select
        sh.qid,
        sh.title_id,
        coalesce(h.n_met_besides_year, 0) as n_met,
        sh.score + coalesce(s.score, 0) as score,
        coalesce(h.matched, []) || coalesce(s.matched, []) || sh.matched as matched,
        coalesce(u.unmet_besides_year, []) as unmet
    from shared as sh
    inner join routed as r on sh.qid = r.qid
    left join int_constraint_counts as n on sh.qid = n.qid
    left join hard as h on sh.qid = h.qid and sh.title_id = h.title_id
    left join soft as s on sh.qid = s.qid and sh.title_id = s.title_id
    left join int_unmet_by_title as u on sh.qid = u.qid and sh.title_id = u.title_id
    where
        (r.is_partial or coalesce(h.n_met_besides_year, 0) = coalesce(n.n_hard_besides_year, 0))
        and not exists (
            select 1
            from int_excluded_titles as x
            where x.qid = sh.qid and x.title_id = sh.title_id
        )
),

-- top_titles (sql/macros/top_titles.sql) reads `ranked` by name, below: the linter cannot see it
ranked as (  -- noqa: ST03
    select
        sc.* exclude (sc.n_met),
        row_number() over (
            partition by sc.qid order by sc.n_met desc, sc.score desc, sc.title_id asc
        ) as rank
    from scored as sc
)

-- the titles ranked within the route's limit, with their KG title and year
select * from top_titles('ranked', (select cfg.top_k from search_settings as cfg))
