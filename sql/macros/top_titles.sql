-- top_titles(ranked_name, k): the result of a search route (sql/search/rank_<route>.sql). Reads the
-- relation named `ranked_name` (a CTE of the calling query will do): one row per request and title
-- with qid, title_id, rank (1 = best) and the route's own columns (score, matched, ...). Returns the
-- titles ranked k or better with their KG title and year, in rank order per request: qid, rank,
-- title_id, title, year, then the route's own columns in their order. A table macro: it reads
-- kg_titles when called, so it loads everywhere but runs in search only.
create or replace macro top_titles(ranked_name, k) as table
    with top_ranked as (
        select *
        from query_table(ranked_name)
        where rank <= k
    )

    -- the route's own columns come last, in their order (the wildcard after the fixed ones)
    select  -- noqa: ST06
        tr.qid,
        tr.rank,
        tr.title_id,
        t.title,
        t.year,
        tr.* exclude (tr.qid, tr.rank, tr.title_id)
    from top_ranked as tr
    inner join kg_titles as t on tr.title_id = t.title_id
    order by tr.qid, tr.rank;
