//! The forecast's running totals: deals counted and their amounts per status, day, owner and
//! probability — the expected close for open deals, the close for won and lost ones — kept by
//! the database as deals are created, moved, changed and deleted, from the API or from SQL
//! alike. The forecast sums a few rows per owner and day instead of every deal in its range
//! (at a million deals, 650,000 open ones on every request).
//!
//! Each change adds to the row of its new state and takes from the row of its old one; a row
//! that reaches no deals is deleted. On PostgreSQL a change locks the two rows in key order,
//! so that two deals moving between the same stages in opposite directions never wait for
//! each other in a circle.

use crate::helpers::execute_all;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Which deals count, and on which day: open ones on their expected close, won and lost ones
/// on the day they closed.
const BACKFILL: &str = "INSERT INTO deal_forecast_days (status, day, owner_id, probability, deals, amount_fen) \
     SELECT status, CASE WHEN status = 'open' THEN expected_close_date ELSE closed_on END, \
       owner_id, probability, COUNT(*), SUM(amount_fen) \
     FROM opportunities \
     WHERE status = 'open' OR (status IN ('won', 'lost') AND closed_on IS NOT NULL) \
     GROUP BY status, CASE WHEN status = 'open' THEN expected_close_date ELSE closed_on END, \
       owner_id, probability";

const SQLITE_UP: &[&str] = &[
    "CREATE TABLE deal_forecast_days (\
       status varchar(16) NOT NULL, \
       day date_text NOT NULL, \
       owner_id uuid_text NOT NULL, \
       probability smallint NOT NULL, \
       deals bigint NOT NULL, \
       amount_fen bigint NOT NULL, \
       PRIMARY KEY (status, day, owner_id, probability)\
     ) WITHOUT ROWID",
    BACKFILL,
    "CREATE TRIGGER opportunities_forecast_insert AFTER INSERT ON opportunities \
     BEGIN \
       INSERT INTO deal_forecast_days (status, day, owner_id, probability, deals, amount_fen) \
       SELECT NEW.status, CASE WHEN NEW.status = 'open' THEN NEW.expected_close_date ELSE NEW.closed_on END, \
         NEW.owner_id, NEW.probability, 1, NEW.amount_fen \
       WHERE NEW.status = 'open' OR (NEW.status IN ('won', 'lost') AND NEW.closed_on IS NOT NULL) \
       ON CONFLICT (status, day, owner_id, probability) DO UPDATE \
         SET deals = deals + 1, amount_fen = amount_fen + excluded.amount_fen; \
     END",
    "CREATE TRIGGER opportunities_forecast_update \
     AFTER UPDATE OF status, probability, amount_fen, owner_id, expected_close_date, closed_on ON opportunities \
     WHEN OLD.status IS NOT NEW.status OR OLD.probability IS NOT NEW.probability \
       OR OLD.amount_fen IS NOT NEW.amount_fen OR OLD.owner_id IS NOT NEW.owner_id \
       OR OLD.expected_close_date IS NOT NEW.expected_close_date OR OLD.closed_on IS NOT NEW.closed_on \
     BEGIN \
       UPDATE deal_forecast_days SET deals = deals - 1, amount_fen = amount_fen - OLD.amount_fen \
       WHERE status = OLD.status \
         AND day = CASE WHEN OLD.status = 'open' THEN OLD.expected_close_date ELSE OLD.closed_on END \
         AND owner_id = OLD.owner_id AND probability = OLD.probability; \
       DELETE FROM deal_forecast_days \
       WHERE status = OLD.status \
         AND day = CASE WHEN OLD.status = 'open' THEN OLD.expected_close_date ELSE OLD.closed_on END \
         AND owner_id = OLD.owner_id AND probability = OLD.probability AND deals = 0; \
       INSERT INTO deal_forecast_days (status, day, owner_id, probability, deals, amount_fen) \
       SELECT NEW.status, CASE WHEN NEW.status = 'open' THEN NEW.expected_close_date ELSE NEW.closed_on END, \
         NEW.owner_id, NEW.probability, 1, NEW.amount_fen \
       WHERE NEW.status = 'open' OR (NEW.status IN ('won', 'lost') AND NEW.closed_on IS NOT NULL) \
       ON CONFLICT (status, day, owner_id, probability) DO UPDATE \
         SET deals = deals + 1, amount_fen = amount_fen + excluded.amount_fen; \
     END",
    "CREATE TRIGGER opportunities_forecast_delete AFTER DELETE ON opportunities \
     BEGIN \
       UPDATE deal_forecast_days SET deals = deals - 1, amount_fen = amount_fen - OLD.amount_fen \
       WHERE status = OLD.status \
         AND day = CASE WHEN OLD.status = 'open' THEN OLD.expected_close_date ELSE OLD.closed_on END \
         AND owner_id = OLD.owner_id AND probability = OLD.probability; \
       DELETE FROM deal_forecast_days \
       WHERE status = OLD.status \
         AND day = CASE WHEN OLD.status = 'open' THEN OLD.expected_close_date ELSE OLD.closed_on END \
         AND owner_id = OLD.owner_id AND probability = OLD.probability AND deals = 0; \
     END",
];

const SQLITE_DOWN: &[&str] = &[
    "DROP TRIGGER opportunities_forecast_delete",
    "DROP TRIGGER opportunities_forecast_update",
    "DROP TRIGGER opportunities_forecast_insert",
    "DROP TABLE deal_forecast_days",
];

const POSTGRES_UP: &[&str] = &[
    "CREATE TABLE deal_forecast_days (\
       status varchar(16) NOT NULL, \
       day date NOT NULL, \
       owner_id uuid NOT NULL, \
       probability smallint NOT NULL, \
       deals bigint NOT NULL, \
       amount_fen bigint NOT NULL, \
       PRIMARY KEY (status, day, owner_id, probability)\
     )",
    BACKFILL,
    // Adds `n` deals worth `fen` to one row (or takes them, when negative), if the deal
    // counts at all (`d` is its day: none for a won or lost deal without a close).
    "CREATE FUNCTION crm_deal_forecast_add(s text, d date, o uuid, p smallint, n bigint, fen bigint) \
     RETURNS void LANGUAGE plpgsql AS $$ \
     BEGIN \
       IF d IS NULL OR s NOT IN ('open', 'won', 'lost') THEN RETURN; END IF; \
       INSERT INTO deal_forecast_days AS f (status, day, owner_id, probability, deals, amount_fen) \
       VALUES (s, d, o, p, n, fen) \
       ON CONFLICT (status, day, owner_id, probability) DO UPDATE \
         SET deals = f.deals + excluded.deals, amount_fen = f.amount_fen + excluded.amount_fen; \
       IF n < 0 THEN \
         DELETE FROM deal_forecast_days \
         WHERE status = s AND day = d AND owner_id = o AND probability = p AND deals = 0; \
       END IF; \
     END $$",
    "CREATE FUNCTION crm_deal_forecast_track() RETURNS trigger LANGUAGE plpgsql AS $$ \
     DECLARE \
       old_day date; \
       new_day date; \
     BEGIN \
       IF TG_OP <> 'INSERT' THEN \
         old_day := CASE WHEN OLD.status = 'open' THEN OLD.expected_close_date ELSE OLD.closed_on END; \
       END IF; \
       IF TG_OP <> 'DELETE' THEN \
         new_day := CASE WHEN NEW.status = 'open' THEN NEW.expected_close_date ELSE NEW.closed_on END; \
       END IF; \
       IF TG_OP = 'INSERT' THEN \
         PERFORM crm_deal_forecast_add(NEW.status, new_day, NEW.owner_id, NEW.probability, 1, NEW.amount_fen); \
       ELSIF TG_OP = 'DELETE' THEN \
         PERFORM crm_deal_forecast_add(OLD.status, old_day, OLD.owner_id, OLD.probability, -1, -OLD.amount_fen); \
       ELSIF (OLD.status, old_day, OLD.owner_id, OLD.probability) \
           < (NEW.status, new_day, NEW.owner_id, NEW.probability) THEN \
         PERFORM crm_deal_forecast_add(OLD.status, old_day, OLD.owner_id, OLD.probability, -1, -OLD.amount_fen); \
         PERFORM crm_deal_forecast_add(NEW.status, new_day, NEW.owner_id, NEW.probability, 1, NEW.amount_fen); \
       ELSE \
         PERFORM crm_deal_forecast_add(NEW.status, new_day, NEW.owner_id, NEW.probability, 1, NEW.amount_fen); \
         PERFORM crm_deal_forecast_add(OLD.status, old_day, OLD.owner_id, OLD.probability, -1, -OLD.amount_fen); \
       END IF; \
       RETURN NULL; \
     END $$",
    "CREATE TRIGGER opportunities_forecast AFTER INSERT OR DELETE ON opportunities \
     FOR EACH ROW EXECUTE FUNCTION crm_deal_forecast_track()",
    "CREATE TRIGGER opportunities_forecast_update \
     AFTER UPDATE OF status, probability, amount_fen, owner_id, expected_close_date, closed_on ON opportunities \
     FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status \
       OR OLD.probability IS DISTINCT FROM NEW.probability \
       OR OLD.amount_fen IS DISTINCT FROM NEW.amount_fen \
       OR OLD.owner_id IS DISTINCT FROM NEW.owner_id \
       OR OLD.expected_close_date IS DISTINCT FROM NEW.expected_close_date \
       OR OLD.closed_on IS DISTINCT FROM NEW.closed_on) \
     EXECUTE FUNCTION crm_deal_forecast_track()",
];

const POSTGRES_DOWN: &[&str] = &[
    "DROP TRIGGER opportunities_forecast_update ON opportunities",
    "DROP TRIGGER opportunities_forecast ON opportunities",
    "DROP FUNCTION crm_deal_forecast_track()",
    "DROP FUNCTION crm_deal_forecast_add(text, date, uuid, smallint, bigint, bigint)",
    "DROP TABLE deal_forecast_days",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            DbBackend::Postgres => execute_all(manager, POSTGRES_UP).await,
            _ => execute_all(manager, SQLITE_UP).await,
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            DbBackend::Postgres => execute_all(manager, POSTGRES_DOWN).await,
            _ => execute_all(manager, SQLITE_DOWN).await,
        }
    }
}
