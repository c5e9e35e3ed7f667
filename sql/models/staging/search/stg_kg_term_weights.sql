-- BM25 term weights per title, written out (what DuckDB's fts extension computes inside), in
-- Lucene's form (bm25s method 'lucene' gives the same numbers; tests/search check it):
--   weight(t, d) = idf(t) * tf / (tf + k1 * (1 - b + b * len(d) / avg_len)),
--   idf(t) = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5)),
-- N and avg_len over the titles that have text in the document kind (Lucene's docCount).
-- A query's score for a title is the sum of the weights of its distinct tokens. Two documents per
-- title: `soft` (its values of the soft pools: plot, setting, theme, mood by search/config.yml) for
-- soft constraints, and `full` (title, year, media type, language and every fact) for the raw-query
-- baseline. Stopwords are dropped on both sides. Reads kg_titles, kg_facts, pool_kinds, stopwords,
-- search_settings.
with titles as (select * from kg_titles),

facts as (select * from kg_facts),

cfg as (select * from search_settings),

soft_pools as (
    select pk.pool
    from pool_kinds as pk
    where pk.kind = 'soft'
),

soft_text as (
    select
        f.title_id,
        'soft' as doc,
        f.value
    from facts as f
    semi join soft_pools as sp on f.pool = sp.pool
),

full_text as (
    select
        f.title_id,
        'full' as doc,
        f.value
    from facts as f
    union all
    select
        t.title_id,
        'full' as doc,
        t.title || ' ' || t.year as value
    from titles as t
),

tokens as (
    select
        d.doc,
        d.title_id,
        unnest(text_tokens(d.value)) as token
    from (
        select * from soft_text
        union all
        select * from full_text
    ) as d
),

kept as (
    select
        tok.doc,
        tok.title_id,
        tok.token
    from tokens as tok
    anti join stopwords as sw on tok.token = sw.token
),

term_freq as (
    select
        doc,
        title_id,
        token,
        count(*) as tf
    from kept
    group by doc, title_id, token
),

doc_len as (
    select
        doc,
        title_id,
        sum(tf) as len
    from term_freq
    group by doc, title_id
),

corpus as (
    select
        doc,
        avg(len) as avg_len,
        count(*) as n_docs
    from doc_len
    group by doc
),

doc_freq as (
    select
        doc,
        token,
        count(*) as df
    from term_freq
    group by doc, token
),

final as (
    select
        tf.doc,
        tf.title_id,
        tf.token,
        ln(1 + (c.n_docs - df.df + 0.5) / (df.df + 0.5))
        * tf.tf
        / (tf.tf + cfg.bm25_k1 * (1 - cfg.bm25_b + cfg.bm25_b * dl.len / c.avg_len)) as weight
    from term_freq as tf
    inner join doc_len as dl on tf.doc = dl.doc and tf.title_id = dl.title_id
    inner join doc_freq as df on tf.doc = df.doc and tf.token = df.token
    inner join corpus as c on tf.doc = c.doc
    cross join cfg
)

select * from final
