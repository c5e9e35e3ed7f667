-- section: representativeness
-- What the knowledge graph and the data cover, per facet (genre, language, decade, media_type) and
-- class: KG titles with the class and their share of all KG titles; records seeded from such titles
-- and their share of seeded records; entity mentions of the class (types whose KG pool is the facet,
-- compared after normalize_value; NULL for decades, which queries phrase many ways).
select * replace (round(kg_share, 4) as kg_share, round(data_share, 4) as data_share)
from int_kg_class_coverage
order by facet asc, kg_titles desc, class asc
