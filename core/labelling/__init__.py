"""Where a tenant's labels come from: label sources and the chosen one, the tag taxonomy (aliases
such as ``payments`` -> ``billing``), and intents discovered and proposed."""
