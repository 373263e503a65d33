"""Versioned schema migrations of the embedded store.

Each migration runs once, inside a transaction, and is recorded in
``schema_migrations``. Append new ones at the end; never edit a released one.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from parcours.schema import TABLES
from parcours.store.sql import execute, scalar

#: Columns every canonical table gets on top of the contract: the import that wrote the row.
SYSTEM_COLUMNS = (("import_id", "VARCHAR"),)


#: The canonical tables of the first release: migrations 1 and 2 made these (a table added to
#: the contract later gets its own migration).
FIRST_TABLES = ("persons", "identities", "touchpoints", "cases", "messages", "orders", "responses")


def canonical_ddl(name: str, *, storage: bool = False) -> str:
    """CREATE TABLE of a canonical table; ``storage``: enums as DuckDB ENUM types (as migration 2 left them)."""
    t = TABLES[name]
    cols = [f"{c.name} {c.storage if storage else c.sql}{' NOT NULL' if c.required else ''}" for c in t.columns]
    cols += [f"{n} {typ}" for n, typ in SYSTEM_COLUMNS]
    # No PRIMARY KEY: uniqueness of natural keys is enforced by the importer with
    # set-based anti-joins, which is much cheaper than an ART index on 10M strings.
    return f"CREATE TABLE {name} (\n  " + ",\n  ".join(cols) + "\n)"


def _v1(con: duckdb.DuckDBPyConnection) -> None:
    for name in FIRST_TABLES:
        con.execute(canonical_ddl(name))
    con.execute("""
        CREATE TABLE imports (
          import_id VARCHAR NOT NULL, source VARCHAR NOT NULL, sha256 VARCHAR, table_name VARCHAR,
          started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, rows_read BIGINT, accepted BIGINT,
          updated BIGINT, duplicates BIGINT, quarantined BIGINT, naive_timestamps BIGINT,
          timezone VARCHAR, persons_created BIGINT, persons_merged BIGINT
        )""")
    con.execute("""
        CREATE TABLE quarantine (
          quarantine_id VARCHAR NOT NULL, import_id VARCHAR NOT NULL, table_name VARCHAR NOT NULL,
          source VARCHAR NOT NULL, source_sha256 VARCHAR, row_number BIGINT, field VARCHAR,
          reason VARCHAR NOT NULL, record_key VARCHAR, raw JSON, created_at TIMESTAMPTZ,
          resolved_at TIMESTAMPTZ, resolved_by VARCHAR
        )""")
    con.execute("""
        CREATE TABLE merges (
          merge_id VARCHAR NOT NULL, ts TIMESTAMPTZ NOT NULL, kept_person_id VARCHAR NOT NULL,
          merged_person_id VARCHAR NOT NULL, evidence VARCHAR, import_id VARCHAR, reason VARCHAR
        )""")


def _v2(con: duckdb.DuckDBPyConnection) -> None:
    for name, t in ((n, TABLES[n]) for n in FIRST_TABLES):
        for c in t.columns:
            if c.type == "enum":
                con.execute(f"ALTER TABLE {name} ALTER COLUMN {c.name} SET DATA TYPE {c.storage}")


def _v3(con: duckdb.DuckDBPyConnection) -> None:
    # who may do what: users of the web app (argon2 hashes), API tokens (SHA-256 of a random
    # secret: tokens are long and random, so a slow hash buys nothing), server-side sessions
    con.execute("""
        CREATE TABLE users (
          user_id VARCHAR NOT NULL, email VARCHAR NOT NULL, name VARCHAR, role VARCHAR NOT NULL,
          password_hash VARCHAR NOT NULL, lang VARCHAR, created_at TIMESTAMPTZ NOT NULL,
          disabled_at TIMESTAMPTZ, last_login_at TIMESTAMPTZ
        )""")
    con.execute("""
        CREATE TABLE api_tokens (
          token_id VARCHAR NOT NULL, name VARCHAR NOT NULL, role VARCHAR NOT NULL,
          token_sha256 VARCHAR NOT NULL, created_at TIMESTAMPTZ NOT NULL, created_by VARCHAR,
          last_used_at TIMESTAMPTZ, revoked_at TIMESTAMPTZ
        )""")
    con.execute("""
        CREATE TABLE sessions (
          session_sha256 VARCHAR NOT NULL, user_id VARCHAR NOT NULL, created_at TIMESTAMPTZ NOT NULL,
          expires_at TIMESTAMPTZ NOT NULL
        )""")
    # what people did to data (merge, unmerge, erasure, tokens): who, when, what, why
    con.execute("""
        CREATE TABLE audit_log (
          audit_id VARCHAR NOT NULL, ts TIMESTAMPTZ NOT NULL, actor VARCHAR NOT NULL,
          action VARCHAR NOT NULL, target VARCHAR, detail JSON
        )""")
    con.execute("""
        CREATE TABLE webhooks (
          webhook_id VARCHAR NOT NULL, url VARCHAR NOT NULL, events VARCHAR[] NOT NULL,
          secret VARCHAR NOT NULL, created_at TIMESTAMPTZ NOT NULL, created_by VARCHAR,
          disabled_at TIMESTAMPTZ
        )""")
    con.execute("""
        CREATE TABLE webhook_deliveries (
          delivery_id VARCHAR NOT NULL, webhook_id VARCHAR NOT NULL, event VARCHAR NOT NULL,
          payload JSON NOT NULL, created_at TIMESTAMPTZ NOT NULL, status VARCHAR NOT NULL,
          attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at TIMESTAMPTZ, last_status INTEGER,
          last_error VARCHAR, delivered_at TIMESTAMPTZ
        )""")
    # merges made reversible: the merged person's record and the rows moved to the kept one
    con.execute("ALTER TABLE merges ADD COLUMN record JSON")
    con.execute("""
        CREATE TABLE merge_rows (merge_id VARCHAR NOT NULL, table_name VARCHAR NOT NULL, record_key VARCHAR NOT NULL)""")
    # batches received by the API: queued on disk, then imported (grouped) by the writer
    con.execute("""
        CREATE TABLE ingest_batches (
          batch_id VARCHAR NOT NULL, table_name VARCHAR NOT NULL, received_at TIMESTAMPTZ NOT NULL,
          rows_received BIGINT NOT NULL, rows_invalid BIGINT NOT NULL, actor VARCHAR,
          import_id VARCHAR, first_row BIGINT, stored_at TIMESTAMPTZ
        )""")


def _v4(con: duckdb.DuckDBPyConnection) -> None:
    # The service desk (src/parcours/desk/, docs/desk.md). The canonical `cases`, `messages`
    # and `touchpoints` stay the analytics contract and are written by the desk too; these
    # tables hold what only the desk needs. Written by desk/cases.py alone, in the same
    # transaction as the canonical rows.
    con.execute("CREATE SEQUENCE desk_case_seq START 1")
    con.execute("CREATE SEQUENCE case_event_seq START 1")
    con.execute("""
        CREATE TABLE teams (
          team_id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, strategy VARCHAR NOT NULL,
          topics VARCHAR[] NOT NULL, created_at TIMESTAMPTZ NOT NULL
        )""")
    con.execute("""
        CREATE TABLE agents (
          agent_id VARCHAR PRIMARY KEY, user_id VARCHAR, name VARCHAR NOT NULL, email VARCHAR,
          teams VARCHAR[] NOT NULL, skills VARCHAR[] NOT NULL, languages VARCHAR[] NOT NULL,
          capacity INTEGER NOT NULL, status VARCHAR NOT NULL, last_assigned_at TIMESTAMPTZ,
          created_at TIMESTAMPTZ NOT NULL, disabled_at TIMESTAMPTZ
        )""")
    # one row per case the desk knows; `version` is bumped by every change (optimistic concurrency)
    con.execute("""
        CREATE TABLE desk_cases (
          case_id VARCHAR PRIMARY KEY, version INTEGER NOT NULL, team_id VARCHAR, language VARCHAR,
          skills VARCHAR[] NOT NULL, waiting_since TIMESTAMPTZ, last_customer_at TIMESTAMPTZ,
          last_customer_channel VARCHAR, last_agent_at TIMESTAMPTZ, link_terms VARCHAR,
          suggested_link VARCHAR, follow_up_of VARCHAR, disposition VARCHAR, anything_else_asked BOOLEAN,
          sla_snapshot JSON, updated_at TIMESTAMPTZ NOT NULL, updated_by VARCHAR, merged_into VARCHAR
        )""")
    # the active cases (new, open, pending) with what the inbox filters, sorts and shows: the
    # inbox reads a table the size of today's workload, not of the whole history
    con.execute("""
        CREATE TABLE desk_inbox (
          case_id VARCHAR PRIMARY KEY, person_id VARCHAR, status VARCHAR NOT NULL, priority VARCHAR NOT NULL,
          priority_rank TINYINT NOT NULL, team_id VARCHAR, assignee VARCHAR, channel VARCHAR, subject VARCHAR,
          topic VARCHAR, language VARCHAR, skills VARCHAR[] NOT NULL, waiting_since TIMESTAMPTZ,
          opened_at TIMESTAMPTZ, updated_at TIMESTAMPTZ NOT NULL, version INTEGER NOT NULL
        )""")
    con.execute("""
        CREATE TABLE case_events (
          seq BIGINT NOT NULL DEFAULT nextval('case_event_seq'), case_id VARCHAR NOT NULL, version INTEGER,
          ts TIMESTAMPTZ NOT NULL, actor VARCHAR NOT NULL, kind VARCHAR NOT NULL, detail JSON
        )""")
    con.execute("CREATE INDEX case_events_case_id ON case_events (case_id)")
    con.execute("""
        CREATE TABLE message_refs (
          message_id VARCHAR NOT NULL, case_id VARCHAR NOT NULL, kind VARCHAR NOT NULL,
          external_id VARCHAR NOT NULL, direction VARCHAR NOT NULL, created_at TIMESTAMPTZ NOT NULL
        )""")
    con.execute("CREATE INDEX message_refs_external_id ON message_refs (external_id)")
    con.execute("""
        CREATE TABLE attachments (
          attachment_id VARCHAR PRIMARY KEY, message_id VARCHAR NOT NULL, filename VARCHAR NOT NULL,
          content_type VARCHAR, size BIGINT NOT NULL, sha256 VARCHAR, storage_path VARCHAR, refused VARCHAR,
          created_at TIMESTAMPTZ NOT NULL
        )""")
    con.execute("CREATE INDEX attachments_message_id ON attachments (message_id)")
    # point lookups of the canonical cases by id and by person (0.5 ms instead of 2-11 ms at
    # 1M cases). NB: DuckDB refuses ALTER TABLE on an indexed table: a later migration that
    # alters `cases` drops these two indexes first and creates them again after.
    con.execute("CREATE INDEX cases_case_id ON cases (case_id)")
    con.execute("CREATE INDEX cases_person_id ON cases (person_id)")


def _v5(con: duckdb.DuckDBPyConnection) -> None:
    # web chat conversations, so a server restart does not end them; the visitor's token is
    # their only credential, so only its SHA-256 is kept
    con.execute("""
        CREATE TABLE chat_sessions (
          token_sha256 VARCHAR PRIMARY KEY, chat_id VARCHAR NOT NULL, state JSON NOT NULL,
          updated_at TIMESTAMPTZ NOT NULL
        )""")


def _v6(con: duckdb.DuckDBPyConnection) -> None:
    # secrets the server signs with (survey links); made once per store, never leave it
    con.execute("""
        CREATE TABLE store_secrets (
          name VARCHAR PRIMARY KEY, value VARCHAR NOT NULL, created_at TIMESTAMPTZ NOT NULL
        )""")
    execute(con, "INSERT INTO store_secrets VALUES ('survey_links', ?, now())", [secrets.token_hex(32)])
    # survey definitions: what is asked, when (trigger) and how (channel); docs/surveys.md
    con.execute("""
        CREATE TABLE surveys (
          survey_id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, metric VARCHAR NOT NULL,
          scale_min INTEGER NOT NULL, scale_max INTEGER NOT NULL, question JSON NOT NULL, why JSON NOT NULL,
          trigger VARCHAR NOT NULL, trigger_kind VARCHAR, channel VARCHAR NOT NULL, delay_minutes INTEGER NOT NULL,
          expires_days INTEGER NOT NULL, period_days INTEGER, ask_during_open_case BOOLEAN NOT NULL,
          active BOOLEAN NOT NULL, created_at TIMESTAMPTZ NOT NULL, created_by VARCHAR
        )""")
    # one row per survey a person was (or was not: status skipped, with the rule that held) sent;
    # the link's token is the invitation id signed with the store's secret (never stored)
    con.execute("""
        CREATE TABLE survey_invitations (
          invitation_id VARCHAR PRIMARY KEY, survey_id VARCHAR NOT NULL, trigger_key VARCHAR NOT NULL,
          person_id VARCHAR NOT NULL, language VARCHAR NOT NULL, channel VARCHAR NOT NULL,
          address VARCHAR, case_id VARCHAR, event_id VARCHAR, agent_id VARCHAR, touch_channel VARCHAR,
          status VARCHAR NOT NULL, reason VARCHAR, created_at TIMESTAMPTZ NOT NULL, expires_at TIMESTAMPTZ,
          sent_at TIMESTAMPTZ, opened_at TIMESTAMPTZ, answered_at TIMESTAMPTZ, response_id VARCHAR,
          UNIQUE (survey_id, trigger_key)
        )""")
    con.execute("CREATE INDEX survey_invitations_person ON survey_invitations (person_id)")
    # people who asked not to be surveyed (unsubscribe) or whom the company keeps out
    con.execute("""
        CREATE TABLE survey_quiet (
          person_id VARCHAR PRIMARY KEY, reason VARCHAR NOT NULL, created_at TIMESTAMPTZ NOT NULL,
          created_by VARCHAR
        )""")
    # what the text analytics read in each comment (parcours.text.verbatims)
    con.execute("""
        CREATE TABLE verbatim_analysis (
          response_id VARCHAR PRIMARY KEY, language VARCHAR NOT NULL, sentiment DOUBLE NOT NULL,
          label VARCHAR NOT NULL, intensity DOUBLE NOT NULL, themes VARCHAR[] NOT NULL, aspects JSON,
          analysed_at TIMESTAMPTZ NOT NULL
        )""")
    # close the loop: inner (an answer that opened a case) and outer (a theme tracked as a problem)
    con.execute("""
        CREATE TABLE voice_loops (
          response_id VARCHAR PRIMARY KEY, case_id VARCHAR NOT NULL, reason VARCHAR NOT NULL,
          opened_at TIMESTAMPTZ NOT NULL
        )""")
    con.execute("""
        CREATE TABLE problems (
          problem_id VARCHAR PRIMARY KEY, theme VARCHAR NOT NULL, title VARCHAR NOT NULL, root_cause VARCHAR,
          action VARCHAR, status VARCHAR NOT NULL, owner VARCHAR, created_at TIMESTAMPTZ NOT NULL,
          updated_at TIMESTAMPTZ NOT NULL, resolved_at TIMESTAMPTZ, updated_by VARCHAR
        )""")
    # the employees' voice: an anonymous eNPS and suggestions (the voter's hash only stops a
    # second answer in the same period)
    con.execute("""
        CREATE TABLE employee_answers (
          answer_id VARCHAR PRIMARY KEY, ts TIMESTAMPTZ NOT NULL, period VARCHAR NOT NULL,
          voter_sha256 VARCHAR NOT NULL, team_id VARCHAR, score INTEGER, suggestion VARCHAR, language VARCHAR,
          UNIQUE (period, voter_sha256)
        )""")


def _v7(con: duckdb.DuckDBPyConnection) -> None:
    # promises made to customers: a canonical table (imported, generated, written by the desk)
    con.execute(canonical_ddl("promises", storage=True))
    # managers' rules: a condition on a subject (an event as it is stored, or a state swept in
    # time) and an action; ``source`` 'file' for rules loaded from a TOML file under version control
    con.execute("""
        CREATE TABLE rules (
          rule_id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, subject VARCHAR NOT NULL, condition VARCHAR NOT NULL,
          action VARCHAR NOT NULL, params JSON, practice VARCHAR, enabled BOOLEAN NOT NULL DEFAULT false,
          enabled_at TIMESTAMPTZ, repeat_after_s DOUBLE, source VARCHAR NOT NULL, created_by VARCHAR,
          created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL, version INTEGER NOT NULL DEFAULT 1,
          last_error VARCHAR, last_error_at TIMESTAMPTZ
        )""")
    # every firing with its reason; (rule, subject, round) unique: a subject fires a rule once per
    # round (a repeat rule's round is the period it fired in)
    con.execute("""
        CREATE TABLE rule_firings (
          firing_id VARCHAR PRIMARY KEY, rule_id VARCHAR NOT NULL, subject_key VARCHAR NOT NULL, round BIGINT NOT NULL,
          person_id VARCHAR, case_id VARCHAR, event_ts TIMESTAMPTZ, stored_at TIMESTAMPTZ, fired_at TIMESTAMPTZ NOT NULL,
          reason VARCHAR, action VARCHAR NOT NULL, status VARCHAR NOT NULL, result VARCHAR, error VARCHAR,
          UNIQUE (rule_id, subject_key, round)
        )""")
    # the imports and desk writes the rules have judged (so a restart judges what it missed, once)
    con.execute("""
        CREATE TABLE rule_batches (
          batch VARCHAR PRIMARY KEY, table_name VARCHAR NOT NULL, judged_at TIMESTAMPTZ NOT NULL, matched BIGINT
        )""")
    # settings of acting (the contact-pressure budget…), one JSON value per key
    con.execute("CREATE TABLE act_settings (key VARCHAR PRIMARY KEY, value JSON NOT NULL, updated_at TIMESTAMPTZ)")
    # a team told by a rule (shown in the desk)
    con.execute("""
        CREATE TABLE notifications (
          notification_id VARCHAR PRIMARY KEY, team_id VARCHAR, rule_id VARCHAR, firing_id VARCHAR,
          person_id VARCHAR, case_id VARCHAR, message VARCHAR NOT NULL, created_at TIMESTAMPTZ NOT NULL,
          read_at TIMESTAMPTZ, read_by VARCHAR
        )""")
    # proactive contacts: queued by rules, sent or held back by the contact-pressure budget
    con.execute("""
        CREATE TABLE outreach (
          outreach_id VARCHAR PRIMARY KEY, person_id VARCHAR NOT NULL, practice VARCHAR NOT NULL,
          rating DOUBLE NOT NULL, channel VARCHAR NOT NULL, rule_id VARCHAR, firing_id VARCHAR, body VARCHAR,
          created_at TIMESTAMPTZ NOT NULL, status VARCHAR NOT NULL, reason VARCHAR, decided_at TIMESTAMPTZ
        )""")
    # churn risk: trained models (the fitted object, pickled) and each person's latest score
    con.execute("""
        CREATE TABLE churn_models (
          model_id VARCHAR PRIMARY KEY, trained_at TIMESTAMPTZ NOT NULL, as_of TIMESTAMPTZ, horizon_days INTEGER,
          persons BIGINT, metrics JSON, model BLOB NOT NULL
        )""")
    con.execute("""
        CREATE TABLE churn_scores (
          person_id VARCHAR PRIMARY KEY, model_id VARCHAR NOT NULL, scored_at TIMESTAMPTZ NOT NULL,
          risk DOUBLE NOT NULL, reasons JSON, clv DOUBLE
        )""")
    # the Temkin self-assessment: one row per answer to a statement
    con.execute("""
        CREATE TABLE maturity_answers (
          assessment_id VARCHAR NOT NULL, answered_at TIMESTAMPTZ NOT NULL, answered_by VARCHAR,
          statement VARCHAR NOT NULL, competency VARCHAR NOT NULL, score INTEGER NOT NULL
        )""")


def _v8(con: duckdb.DuckDBPyConnection) -> None:
    # when a firing's action was carried out (fired_at is the judging's clock); stored_at was never filled
    con.execute("ALTER TABLE rule_firings RENAME COLUMN stored_at TO done_at")


def _v9(con: duckdb.DuckDBPyConnection) -> None:
    # the one reminder an unopened survey invitation may get (voice.delivery)
    con.execute("ALTER TABLE survey_invitations ADD COLUMN reminded_at TIMESTAMPTZ")


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[duckdb.DuckDBPyConnection], None]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "canonical tables, imports journal, quarantine, merge audit", _v1),
    Migration(2, "enum columns stored as DuckDB ENUM types", _v2),
    Migration(3, "users, API tokens, sessions, audit log, webhooks, API ingest batches, reversible merges", _v3),
    Migration(4, "service desk: desk cases, inbox, case events, teams, agents, message refs, attachments", _v4),
    Migration(5, "web chat conversations kept across restarts", _v5),
    Migration(6, "voice of the customer: surveys, invitations, quiet list, verbatim analysis, loops, problems, "
                 "employee answers", _v6),
    Migration(7, "acting before the problem: promises, rules and their firings, notifications, outreach, "
                 "churn models and scores, maturity self-assessment", _v7),
    Migration(8, "rule firings record when their action was carried out (done_at)", _v8),
    Migration(9, "survey invitations record their reminder (reminded_at)", _v9),
)

#: the schema version this code writes and reads
LATEST = MIGRATIONS[-1].version


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply pending migrations; returns the versions applied."""
    con.execute("""CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER NOT NULL, description VARCHAR, applied_at TIMESTAMPTZ DEFAULT now())""")
    done = {v for (v,) in con.execute("SELECT version FROM schema_migrations").fetchall()}
    applied = []
    for m in MIGRATIONS:
        if m.version in done:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            m.apply(con)
            execute(con, "INSERT INTO schema_migrations (version, description) VALUES (?, ?)",
                         [m.version, m.description])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        applied.append(m.version)
    return applied


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    """The newest migration applied; 0 for a DuckDB file that is not a Parcours store."""
    if not scalar(con, "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'schema_migrations'"):
        return 0
    return scalar(con, "SELECT coalesce(max(version), 0) FROM schema_migrations")
