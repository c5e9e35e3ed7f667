-- Per intent and over all records ('all'): templates used, how many make up the most used
-- top_template_fraction() of them (ceil, at least one), the records, and the share of records those
-- top templates produce (unrounded). Uniform use of 10 templates gives 0.1 at fraction 0.1; one
-- dominant template gives close to 1. Read by diversity_template_concentration.sql and
-- check_template_concentration.sql.
create or replace view int_template_concentration as

with usage as (
    select
        rec.intent,
        rec.template_id,
        count(*) as n_records
    from records as rec
    group by rec.intent, rec.template_id
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

final as (
    select
        rnk.scope,
        max(rnk.n_templates) as n_templates,
        greatest(1, ceil(max(rnk.n_templates) * top_template_fraction()))::integer as top_templates,
        sum(rnk.n_records) as n_records,
        sum(rnk.n_records) filter (
            where rnk.template_rank <= greatest(1, ceil(rnk.n_templates * top_template_fraction()))
        ) / sum(rnk.n_records) as top_share
    from ranked as rnk
    group by rnk.scope
)

select * from final;
