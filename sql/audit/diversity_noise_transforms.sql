-- section: diversity
-- Per split, the share of records each surface transform of the grammar backend changed (the data
-- recipe's grammar.noise: typo, entity_typo, filler, disfluency, chatter, strip_punctuation,
-- lowercase_all, uppercase_all), and the share with none. Read from the records' `noise` column
-- (meta.noise in the JSONL); records of other backends carry none and count as untouched.
with source as (select * from records),

per_record as (
    select
        src.split,
        src.id,
        coalesce(src.noise, []) as noise
    from source as src
),

split_sizes as (
    select
        per.split,
        count(*) as n_records,
        count(*) filter (where len(per.noise) = 0) as n_untouched
    from per_record as per
    group by per.split
),

applied as (
    select
        per.split,
        unnest(per.noise) as noise_kind
    from per_record as per
),

counts as (
    select
        app.split,
        app.noise_kind,
        count(*) as n
    from applied as app
    group by app.split, app.noise_kind
),

final as (
    select
        cnt.split,
        cnt.noise_kind,
        cnt.n as n_records,
        round(cnt.n / siz.n_records, 4) as share
    from counts as cnt
    inner join split_sizes as siz on cnt.split = siz.split
    union all
    select
        siz.split,
        '(none)' as noise_kind,
        siz.n_untouched as n_records,
        round(siz.n_untouched / siz.n_records, 4) as share
    from split_sizes as siz
)

select * from final
order by split asc, noise_kind asc
