"""Adapters behind the Transport port: PostgresTransport (embedded or any Postgres) and SupabaseTransport."""
