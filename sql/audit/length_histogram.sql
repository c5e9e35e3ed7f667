-- section: length
-- Records per split and query length in whitespace tokens: the histogram behind the length plot.
with source as (select * from records),

lengths as (
    select
        src.split,
        len(string_split(trim(regexp_replace(src.query, '\s+', ' ', 'g')), ' ')) as n_tokens
    from source as src
),

final as (
    select
        lng.split,
        lng.n_tokens,
        count(*) as n_records
    from lengths as lng
    group by lng.split, lng.n_tokens
    order by lng.split, lng.n_tokens
)

select * from final
