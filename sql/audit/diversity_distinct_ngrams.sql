-- section: diversity
-- distinct-n for n = 1, 2, 3 per split and over all records: distinct n-grams / all n-grams, on
-- lowercased queries with ASCII punctuation removed (1.0 = no n-gram repeats; templated text is low).
with source as (select * from records),

tokens as (
    select
        src.split,
        string_split(
            trim(regexp_replace(
                regexp_replace(lower(src.query), '[!-/:-@\[-`{-~]', ' ', 'g'), '\s+', ' ', 'g'
            )),
            ' '
        ) as toks
    from source as src
),

orders as (
    select unnest([1, 2, 3]) as n
),

ngrams as (
    select
        tok.split,
        ord.n,
        array_to_string(tok.toks[pos.i:pos.i + ord.n - 1], ' ') as gram
    from tokens as tok
    cross join orders as ord
    cross join unnest(range(1, len(tok.toks) - ord.n + 2)) as pos (i)
),

scoped as (
    select
        ngr.split,
        ngr.n,
        ngr.gram
    from ngrams as ngr
    union all
    select
        'all' as split,
        ngr.n,
        ngr.gram
    from ngrams as ngr
),

final as (
    select
        scp.split,
        scp.n,
        count(*) as n_ngrams,
        count(distinct scp.gram) as distinct_ngrams,
        round(count(distinct scp.gram) / count(*), 4) as distinct_ratio
    from scoped as scp
    group by scp.split, scp.n
    order by scp.split = 'all', scp.split, scp.n
)

select * from final
