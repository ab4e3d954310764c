"""Sources kept in sync: feeds, folders and files fetched, read and ingested again."""
