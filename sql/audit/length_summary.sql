-- section: length
-- Query length per split and over all records: whitespace tokens (min, 5th percentile, median,
-- mean, 95th percentile, max) and mean characters.
with source as (select * from records),

lengths as (
    select
        src.split,
        len(string_split(trim(regexp_replace(src.query, '\s+', ' ', 'g')), ' ')) as n_tokens,
        length(src.query) as n_chars
    from source as src
),

final as (
    select
        coalesce(lng.split, 'all') as split,
        count(*) as n_records,
        min(lng.n_tokens) as tokens_min,
        quantile_disc(lng.n_tokens, 0.05) as tokens_p05,
        median(lng.n_tokens) as tokens_median,
        round(avg(lng.n_tokens), 2) as tokens_mean,
        quantile_disc(lng.n_tokens, 0.95) as tokens_p95,
        max(lng.n_tokens) as tokens_max,
        round(avg(lng.n_chars), 1) as chars_mean
    from lengths as lng
    group by grouping sets ((lng.split), ())
    order by lng.split is null, lng.split
)

select * from final
