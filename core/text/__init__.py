"""Reading what customers write: cleaning, entities, sentiment, the tag taxonomy and a tenant's own words."""
