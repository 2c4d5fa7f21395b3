"""Reading what customers write: cleaning, entities, sentiment and a tenant's own words."""
