-- section: diversity
-- check: severity=warn threshold=0.5
-- Intents (and 'all') where the most used top_template_fraction() of templates produce more than
-- threshold of the records: a few phrasings dominate, so the model sees little variety.
with source as (select * from records),

usage as (
    select
        src.intent,
        src.template_id,
        count(*) as n_records
    from source as src
    group by src.intent, src.template_id
),

scopes as (
    select
        usg.intent as scope,
        usg.template_id,
        usg.n_records
    from usage as usg
    union all
    select
        'all' as scope,
        usg.template_id,
        sum(usg.n_records) as n_records
    from usage as usg
    group by usg.template_id
),

ranked as (
    select
        scp.scope,
        scp.n_records,
        row_number() over (
            partition by scp.scope order by scp.n_records desc, scp.template_id asc
        ) as template_rank,
        count(*) over (partition by scp.scope) as n_templates
    from scopes as scp
),

shares as (
    select
        rnk.scope,
        max(rnk.n_templates) as n_templates,
        sum(rnk.n_records) filter (
            where rnk.template_rank <= greatest(1, ceil(rnk.n_templates * top_template_fraction()))
        ) / sum(rnk.n_records) as top_share
    from ranked as rnk
    group by rnk.scope
),

final as (
    select
        shr.scope,
        shr.n_templates,
        round(shr.top_share, 4) as top_share
    from shares as shr
    where shr.top_share > threshold()
    order by shr.scope = 'all', shr.scope
)

select * from final
