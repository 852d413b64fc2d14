-- Run once, when the postgres volume is first initialised (docker-entrypoint-initdb.d), by psql as
-- the superuser: the role the services connect as, and one database per service, owned by it
-- (DESIGN §1). The names are Settings.database_name(service): XINGCUN_DATABASE_PREFIX (default
-- xingcun_) + the service; tests/unit/test_compose.py checks they match.
-- Its password comes from the container's environment (SERVICES_DB_PASSWORD, docker-compose.yml).

\set ON_ERROR_STOP on

\getenv services_password SERVICES_DB_PASSWORD
\if :{?services_password}
\else
  \set services_password ''
\endif
SELECT :'services_password' = '' AS services_password_missing \gset
\if :services_password_missing
  DO $$ BEGIN RAISE EXCEPTION 'SERVICES_DB_PASSWORD is not set (.env, docs/deploy.md)'; END $$;
\endif

-- Not a superuser: it owns its databases (PostgreSQL 15+ gives the owner the public schema, where
-- the migrations create the tables) and may take advisory locks, nothing more.
CREATE ROLE xingcun LOGIN PASSWORD :'services_password';

-- Each relay reads pg_stat_activity for the transaction ids of sessions in other databases, so
-- that a long transaction elsewhere on the server does not hold it back
-- (shared/messaging/relay.py; without this grant it waits for every transaction on the server).
GRANT pg_read_all_stats TO xingcun;

CREATE DATABASE xingcun_pairing OWNER xingcun;
CREATE DATABASE xingcun_monitoring OWNER xingcun;
CREATE DATABASE xingcun_reporting OWNER xingcun;
CREATE DATABASE xingcun_notification OWNER xingcun;

