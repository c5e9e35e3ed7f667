-- section: representativeness
-- check: severity=warn threshold=0.02
-- Classes of a facet (genre, language, decade, media_type) held by fewer than threshold of the KG's
-- titles, or seeding fewer than threshold of the seeded records: the model sees little of them.
-- `below` says where: kg, data or both. The threshold lives in eval/audit/config.yml.
with final as (
    select
        facet,
        class,
        round(kg_share, 4) as kg_share,
        round(data_share, 4) as data_share,
        case
            when kg_share < threshold() and data_share < threshold() then 'both'
            when kg_share < threshold() then 'kg'
            else 'data'
        end as below
    from int_kg_class_coverage
    where kg_share < threshold() or data_share < threshold()
    order by facet, kg_share, class
)

select * from final
