-- The no-extraction baseline: BM25 of the raw query text (stopwords dropped) against each title's
-- `full` document (title, year, media type, language, people, characters, genres and every soft
-- value: stg_kg_term_weights.sql), the same for every intent. `matched` lists the query words
-- the title shares. Reads request_text (qid, query), stg_kg_term_weights, stopwords, kg_titles.
with source as (select * from request_text),

tokens as (
    select distinct
        src.qid,
        unnest(text_tokens(src.query)) as token
    from source as src
),

kept as (
    select
        tok.qid,
        tok.token
    from tokens as tok
    anti join stopwords as sw on tok.token = sw.token
),

scored as (
    select
        k.qid,
        w.title_id,
        sum(w.weight) as score,
        list({ 'type': 'text', 'value': k.token, 'kg_value': null, 'how': 'bm25' } order by k.token)
            as matched
    from kept as k
    inner join stg_kg_term_weights as w on w.doc = 'full' and k.token = w.token
    group by k.qid, w.title_id
),

-- top_titles (sql/macros/top_titles.sql) reads `ranked` by name, below: the linter cannot see it
ranked as (  -- noqa: ST03
    select
        sc.*,
        row_number() over (partition by sc.qid order by sc.score desc, sc.title_id asc) as rank
    from scored as sc
)

-- the titles ranked within the route's limit, with their KG title and year
select * from top_titles('ranked', (select cfg.top_k from search_settings as cfg))
