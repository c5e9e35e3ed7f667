-- BM25 of each soft constraint (plot, setting, theme, mood) against each title's `soft` document
-- (stg_kg_term_weights.sql), with `coverage` = share of the constraint's tokens the title has and
-- `exact` = the title carries the value itself in that pool (after folding), and is_excluded for a
-- constraint the user rules out. Titles without a shared token get no row. Reads int_request_constraints,
-- stg_kg_term_weights, kg_facts, stopwords.
with constraints as (select * from int_request_constraints),

soft as (
    select
        c.qid,
        c.position,
        c.pool,
        c.value_key,
        unnest(list_distinct(text_tokens(c.value))) as token
    from constraints as c
    where c.kind = 'soft'
),

kept as (
    select
        s.qid,
        s.position,
        s.pool,
        s.value_key,
        s.token
    from soft as s
    anti join stopwords as sw on s.token = sw.token
),

n_tokens as (
    select
        qid,
        position,
        count(*) as n
    from kept
    group by qid, position
),

scored as (
    select
        k.qid,
        k.position,
        w.title_id,
        sum(w.weight) as score,
        count(*) as n_hit
    from kept as k
    inner join stg_kg_term_weights as w on w.doc = 'soft' and k.token = w.token
    group by k.qid, k.position, w.title_id
),

final as (
    select
        s.qid,
        s.position,
        c.entity_type,
        c.value,
        s.title_id,
        s.score,
        c.is_excluded,
        s.n_hit / n.n as coverage,
        exists(
            select 1
            from kg_facts as f
            where f.title_id = s.title_id and f.pool = c.pool and search_key(f.value) = c.value_key
        ) as exact
    from scored as s
    inner join n_tokens as n on s.qid = n.qid and s.position = n.position
    inner join constraints as c on s.qid = c.qid and s.position = c.position
)

select * from final
