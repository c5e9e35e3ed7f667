-- section: diversity
-- check: severity=warn threshold=0.5
-- Intents (and 'all') where the most used top_template_fraction() of templates produce more than
-- threshold of the records: a few phrasings dominate, so the model sees little variety.
select
    scope,
    n_templates,
    round(top_share, 4) as top_share
from int_template_concentration
where top_share > threshold()
order by scope = 'all', scope
