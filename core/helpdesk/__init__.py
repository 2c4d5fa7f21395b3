"""A tenant's helpdesk: the integration contract, connections and their encrypted credentials,
backfill, webhook events stored then applied, write-back, and how every client retries."""
