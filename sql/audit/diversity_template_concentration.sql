-- section: diversity
-- Per intent and over all records: templates used, and the share of records produced by the most
-- used top_template_fraction() of them (ceil, at least one template). Uniform use of 10 templates
-- gives 0.1 at fraction 0.1; one dominant template gives close to 1.
select * replace (round(top_share, 4) as top_share)
from int_template_concentration
order by scope = 'all', scope
