"""Where a tenant's intents come from: label sources, the chosen one, and intents discovered and proposed."""
