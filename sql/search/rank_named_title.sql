-- title_info, play and where_to_watch (route `named_title`): the title the request names, resolved
-- to KG entries (int_named_titles.sql) ranked by name similarity, then by a year the request
-- gives (a remake vs its original), then by how many of its other hard constraints the entry meets
-- ("who played Kolya in Leviathan"); at most `disambiguation` candidates. `linked` is true on a lone
-- best candidate: the answer is one KG entry rather than a disambiguation list. An entry meeting a
-- constraint the user rules out ("Dune, not the 1984 one") is removed (int_excluded_titles.sql);
-- `unmet` lists the other wishes an entry does not meet. Reads stg_request_routes, int_named_titles,
-- int_hard_by_title, int_unmet_by_title, int_excluded_titles, kg_titles, search_settings.
with routed as (
    select rr.*
    from stg_request_routes as rr
    where rr.route = 'named_title'
),

named as (
    select
        nt.qid,
        nt.title_id,
        max(nt.similarity) as similarity,
        bool_or(nt.in_years) as in_years,
        arg_max(nt.value, nt.similarity) as value
    from int_named_titles as nt
    semi join routed as r on nt.qid = r.qid
    where
        not nt.is_excluded
        and not exists (
            select 1
            from int_excluded_titles as x
            where x.qid = nt.qid and x.title_id = nt.title_id
        )
    group by nt.qid, nt.title_id
),

others as (
    select
        hbt.qid,
        hbt.title_id,
        hbt.n_met,
        hbt.matched
    from int_hard_by_title as hbt
    semi join routed as r on hbt.qid = r.qid
),

scored as (
    select
        n.qid,
        n.title_id,
        n.similarity + case when n.in_years then 0.01 else 0 end + coalesce(o.n_met, 0) / 1000 as score,
        [{
            'type': 'title',
            'value': n.value,
            'kg_value': t.title,
            'how': case
                when n.similarity = 1 then 'exact' when n.similarity = 0.9 then 'words' else 'typo'
            end
        }] || coalesce(o.matched, []) as matched,
        coalesce(u.unmet, []) as unmet
    from named as n
    inner join kg_titles as t on n.title_id = t.title_id
    left join others as o on n.qid = o.qid and n.title_id = o.title_id
    left join int_unmet_by_title as u on n.qid = u.qid and n.title_id = u.title_id
),

-- top_titles (sql/macros/top_titles.sql) reads `ranked` by name, below: the linter cannot see it
ranked as (  -- noqa: ST03
    select
        sc.*,
        row_number() over (partition by sc.qid order by sc.score desc, sc.title_id asc) as rank,
        -- a lone best candidate: first, and scoring above the next
        row_number() over (partition by sc.qid order by sc.score desc, sc.title_id asc) = 1
        and sc.score > coalesce(
            lead(sc.score) over (partition by sc.qid order by sc.score desc, sc.title_id asc), -1
        ) as linked
    from scored as sc
)

-- the titles ranked within the route's limit, with their KG title and year
select * from top_titles('ranked', (select cfg.disambiguation from search_settings as cfg))
