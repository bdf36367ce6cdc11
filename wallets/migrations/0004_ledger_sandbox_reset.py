"""The ledger stays append-only, per store world: the one DELETE the trigger lets through is of a
*sandbox's* rows, inside the sandbox reset's transaction (integrations/sandbox.py sets the
transaction-local `nuvlyx.sandbox_reset` to that sandbox's id). A live store's ledger can never be
deleted or updated."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION wallets_ledger_append_only() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE'
     AND current_setting('nuvlyx.sandbox_reset', true) = OLD.store_id::text
     AND EXISTS (SELECT 1 FROM core_store s WHERE s.id = OLD.store_id AND s.sandbox_of_id IS NOT NULL) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'wallets_ledgerentry is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
"""
REVERT = """
CREATE OR REPLACE FUNCTION wallets_ledger_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'wallets_ledgerentry is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
"""


class Migration(migrations.Migration):
    dependencies = [("wallets", "0003_owner_labels"), ("core", "0006_store_sandbox")]
    operations = [migrations.RunSQL(CREATE, REVERT)]
