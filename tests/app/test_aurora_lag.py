"""Replica lag on Aurora readers: their own lag function, since the standby query gives NULL.

An Aurora reader has no WAL receiver and no replay timestamp, so the streaming-standby query
returns NULL and the gauge (and TestAppReplicaLagHigh) would stay silent forever. The app then
reads the instance's row of `aurora_replica_status()`. Aurora is stood in for by two functions
of the same names on a plain PostgreSQL primary, which the reader endpoint points at (a primary
gives NULL to the standby query, as an Aurora reader does).
"""

from __future__ import annotations

import re
import time

import pytest


pytestmark = pytest.mark.integration

AURORA = """
CREATE FUNCTION aurora_db_instance_identifier() RETURNS text LANGUAGE sql
  AS $$ SELECT 'test-app-staging-reader-1' $$;
CREATE FUNCTION aurora_replica_status()
  RETURNS TABLE (server_id text, session_id text, replica_lag_in_msec real) LANGUAGE sql
  AS $$ VALUES ('test-app-staging-writer', 'MASTER_SESSION_ID', NULL::real),
               ('test-app-staging-reader-1', '4d5e6f70-aaaa-bbbb-cccc-0123456789ab', 1500) $$;
"""
DROP = "DROP FUNCTION aurora_replica_status(); DROP FUNCTION aurora_db_instance_identifier();"


def test_an_aurora_reader_reports_its_own_lag(postgres, run_app):
    postgres.primary.sql(AURORA)
    try:
        env = {
            **postgres.env(),
            # The "reader" is the primary under another name: a separate endpoint, no standby.
            "POSTGRESQL_READ_HOST": "localhost",
            "POSTGRESQL_READ_PORT": str(postgres.port),
            "REPLICA_LAG_INTERVAL_SECONDS": "0.2",
        }
        app = run_app(env)
        lag = None
        for _ in range(50):
            found = re.search(
                r"^test_app_db_replica_lag_seconds ([\d.e+-]+)$",
                app.get("/metrics").text,
                re.MULTILINE,
            )
            if found:
                lag = float(found[1])
                break
            time.sleep(0.1)
        assert lag == 1.5
    finally:
        postgres.primary.sql(DROP)
